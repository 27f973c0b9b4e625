//! The one error type of [`crate::address`].
//!
//! Every variant says where the problem is (which component, which byte offset of the input) and
//! what it is. Characters are shown with [`char::escape_debug`], so an error that ends up in an
//! SMTP reply or a log line can never carry a raw CR, LF or control character.

use core::fmt;

/// Which part of an input an [`AddressError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Component {
    /// The whole address (for length limits and empty input).
    Address,
    /// The local part, before the `@`.
    LocalPart,
    /// The domain, after the `@`.
    Domain,
    /// An address literal such as `[192.0.2.1]`.
    AddressLiteral,
    /// An SMTP path such as `<user@example.com>`.
    Path,
    /// A relay domain from configuration.
    RelayDomain,
    /// A user-chosen alias prefix.
    AliasPrefix,
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Address => "address",
            Self::LocalPart => "local part",
            Self::Domain => "domain",
            Self::AddressLiteral => "address literal",
            Self::Path => "path",
            Self::RelayDomain => "relay domain",
            Self::AliasPrefix => "alias prefix",
        })
    }
}

/// What is wrong with one label of a domain name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LabelFault {
    /// Two dots in a row, or a leading or trailing dot.
    Empty,
    /// The label starts or ends with `-` (RFC 5321 `sub-domain = Let-dig [Ldh-str]`).
    Hyphen,
    /// The label is longer than 63 octets (RFC 1035 §2.3.4), measured after lower-casing.
    TooLong {
        /// The label's length in octets.
        len: usize,
    },
}

/// What is wrong with an address literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LiteralFault {
    /// Not a dotted-quad IPv4 address.
    Ipv4,
    /// The text after `IPv6:` is not an IPv6 address.
    Ipv6,
    /// A `General-address-literal` (`[tag:content]`): no tag other than `IPv6` is registered, so
    /// none is accepted.
    UnsupportedTag,
}

/// Why an address, path, relay domain or alias prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressError {
    /// The component is empty (`""`, `@b`, `a@`, `""@b`, an empty alias prefix).
    Empty {
        /// The empty component.
        component: Component,
    },
    /// The component is longer than its limit (local part 64, domain 255, address 254 octets,
    /// relay domain 189 octets, alias prefix 40 characters, raw input 1024 octets).
    TooLong {
        /// The component that is too long.
        component: Component,
        /// Its length in octets.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input has no `@` where one was expected (`abc`, `<Postmaster>` outside `RCPT`).
    MissingAt {
        /// Byte offset where the `@` was expected.
        offset: usize,
    },
    /// A character that is not allowed at this place.
    UnexpectedChar {
        /// Where it was found.
        component: Component,
        /// The character.
        ch: char,
        /// Its byte offset in the input.
        offset: usize,
    },
    /// The input ended too early (an unterminated quoted string, a missing `>` or `]`).
    UnexpectedEnd {
        /// The component that was cut short.
        component: Component,
    },
    /// A leading, trailing or doubled dot in a local part or alias prefix.
    DotPlacement {
        /// The component.
        component: Component,
        /// Byte offset of the offending dot.
        offset: usize,
    },
    /// A bad label in a domain name.
    Label {
        /// Byte offset of the label's first octet in the input.
        offset: usize,
        /// What is wrong with it.
        fault: LabelFault,
    },
    /// A bad address literal.
    AddressLiteral {
        /// Byte offset of the `[`.
        offset: usize,
        /// What is wrong with it.
        fault: LiteralFault,
    },
    /// The null path `<>` where a mailbox is required (`RCPT TO:<>`).
    NullPath,
    /// An empty list of relay domains.
    NoRelayDomains,
    /// The same relay domain twice (compared after lower-casing).
    DuplicateRelayDomain {
        /// Position of the second occurrence in the configured list.
        index: usize,
    },
    /// The alias prefix is, or folds to, a reserved name (see [`RESERVED`](super::RESERVED)).
    Reserved {
        /// The reserved name it matched.
        name: &'static str,
    },
    /// The alias prefix has the shape of a reverse alias, which would confuse
    /// [`looks_like_reverse_alias`](super::looks_like_reverse_alias).
    ReverseAliasShape,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty { component } => write!(f, "empty {component}"),
            Self::TooLong { component, len, max } => {
                write!(f, "{component} is {len} octets long, the limit is {max}")
            }
            Self::MissingAt { offset } => write!(f, "missing '@' at offset {offset}"),
            Self::UnexpectedChar { component, ch, offset } => {
                write!(f, "unexpected character '{}' in {component} at offset {offset}", ch.escape_debug())
            }
            Self::UnexpectedEnd { component } => write!(f, "{component} ends unexpectedly"),
            Self::DotPlacement { component, offset } => {
                write!(f, "leading, trailing or double dot in {component} at offset {offset}")
            }
            Self::Label { offset, fault } => match fault {
                LabelFault::Empty => write!(f, "empty domain label at offset {offset}"),
                LabelFault::Hyphen => write!(f, "domain label at offset {offset} starts or ends with '-'"),
                LabelFault::TooLong { len } => {
                    write!(f, "domain label at offset {offset} is {len} octets long, the limit is 63")
                }
            },
            Self::AddressLiteral { offset, fault } => match fault {
                LiteralFault::Ipv4 => write!(f, "address literal at offset {offset} is not an IPv4 address"),
                LiteralFault::Ipv6 => write!(f, "address literal at offset {offset} is not an IPv6 address"),
                LiteralFault::UnsupportedTag => {
                    write!(f, "address literal at offset {offset} has an unsupported tag")
                }
            },
            Self::NullPath => f.write_str("the null path <> is not allowed here"),
            Self::NoRelayDomains => f.write_str("no relay domains configured"),
            Self::DuplicateRelayDomain { index } => write!(f, "relay domain #{index} is a duplicate"),
            Self::Reserved { name } => write!(f, "alias prefix is reserved (matches {name:?})"),
            Self::ReverseAliasShape => f.write_str("alias prefix looks like a reverse alias"),
        }
    }
}

impl std::error::Error for AddressError {}
