//! Mail addresses, relay domains, alias and reverse-alias generation, and RCPT classification.
//!
//! - [`Address`]: a mailbox as SMTP carries it (RFC 5321 §4.1.2 `Mailbox`, with RFC 6531 UTF-8),
//!   which is also the RFC 5322 §3.4.1 `addr-spec` without comments, folding white space or
//!   obsolete forms (a header parser strips those first). Built only by parsing, so every value
//!   is valid and canonical.
//! - [`RelayDomain`] and [`RelayDomains`]: the domains the relay serves, from configuration.
//! - [`random_alias`], [`custom_alias`] and [`reverse_alias`] make new addresses at a relay
//!   domain; [`looks_like_reverse_alias`] recognises the shape of the last.
//! - [`role`] and [`classify`] decide what an `RCPT TO` is: an alias, a reverse alias, a role
//!   address such as `postmaster`, or nothing the relay accepts.
//!
//! # Case
//!
//! Domains are case-insensitive and are lower-cased when parsed, so `a@Example.COM` and
//! `a@example.com` are the same [`Address`]. Local parts are case-sensitive in general (RFC 5321
//! §2.4), so `Bob@x` and `bob@x` are different addresses of a *contact*; the relay's own addresses
//! are all generated lowercase and looked up with [`Address::normalized`], which makes them
//! case-insensitive.
//!
//! # Example
//!
//! ```
//! use relay_engine::address::{Address, RelayDomains, classify, role, Role, RcptClass};
//!
//! let domains = RelayDomains::new(["pportal.io"])?;
//! let rcpt = Address::parse_forward_path("<PostMaster@PPortal.io>", &domains)?;
//! assert_eq!(rcpt.as_str(), "PostMaster@pportal.io");
//! assert_eq!(role(&rcpt, &domains), Some(Role::Postmaster));
//!
//! let quoted = Address::parse(r#""john \"jd\" doe"@Example.com"#)?;
//! assert_eq!(quoted.local_content(), r#"john "jd" doe"#);
//! assert_eq!(Address::parse(r#""john"@example.com"#)?.as_str(), "john@example.com");
//!
//! let outside = Address::parse("bob@example.com")?;
//! assert_eq!(classify(&outside, &domains, |_| None), RcptClass::NotRelayDomain);
//! # Ok::<(), relay_engine::address::AddressError>(())
//! ```

mod alias;
mod domains;
mod error;
mod parse;
mod rcpt;
mod scan;
mod words;

use core::fmt;
use core::str::FromStr;
use std::borrow::Cow;
use std::net::IpAddr;

pub use alias::{
    CUSTOM_SUFFIX_CHARS, CustomAlias, REVERSE_ALIAS_HINT_MAX, REVERSE_ALIAS_RANDOM_CHARS, custom_alias,
    looks_like_reverse_alias, random_alias, reverse_alias,
};
pub use domains::{RelayDomain, RelayDomains};
pub use error::{AddressError, Component, LabelFault, LiteralFault};
pub use rcpt::{AliasKind, RESERVED, RcptClass, Role, classify, is_reserved, role};
pub use scan::find_at_domains;

/// Longest local part, in octets (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_LEN: usize = 64;
/// Longest domain, in octets (RFC 5321 §4.5.3.1.2).
pub const MAX_DOMAIN_LEN: usize = 255;
/// Longest address, in octets: a path is at most 256 octets including `<` and `>`
/// (RFC 5321 §4.5.3.1.3, RFC 3696 errata 1690).
pub const MAX_ADDRESS_LEN: usize = 254;

/// A parsed, canonical mailbox address.
///
/// The canonical form ([`as_str`](Self::as_str)) is the local part as given, unquoted if the
/// quotes were not needed and otherwise quoted with only `"` and `\` escaped, then `@`, then the
/// lower-cased domain or canonical address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`). The
/// limits (local part 64, domain 255, whole 254 octets) apply to the canonical form.
///
/// Equality, hashing and ordering compare the canonical form: domains case-insensitively, local
/// parts exactly. Use [`eq_ignore_case`](Self::eq_ignore_case) or
/// [`normalized`](Self::normalized) for the relay's own, case-insensitive addresses. Unicode is
/// not normalised (NFC and NFD spellings of `jöran` differ).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    /// `local@domain`, canonical.
    full: String,
    /// Byte index of the `@` that separates local part and domain.
    at: usize,
}

impl Address {
    /// Parses a bare address: `user@example.com`, `"john doe"@example.com`, `user@[192.0.2.1]`,
    /// `用户@例子.广告`. No angle brackets, display names, comments or surrounding white space.
    ///
    /// # Errors
    ///
    /// [`AddressError`] saying what is wrong and where: bad characters (including CR, LF and other
    /// controls), misplaced dots, bad labels or literals, a missing `@`, or a length limit.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let mut cur = parse::Cursor::new(s, Component::Address)?;
        let mailbox = parse::mailbox(&mut cur)?;
        cur.expect_end(Component::Domain)?;
        Self::from_mailbox(mailbox)
    }

    /// Parses the argument of `MAIL FROM:` (RFC 5321 `Reverse-path`): `<user@example.com>`, the
    /// null path `<>` (returned as `None`, used by bounces), or a path with a source route,
    /// `<@a.example,@b.example:user@example.com>`, whose route is checked and dropped.
    ///
    /// The input is the path alone; split ESMTP parameters off with
    /// [`split_path`](Self::split_path) first. `<Postmaster>` is not a reverse path; for `RCPT`
    /// use [`parse_forward_path`](Self::parse_forward_path).
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse), plus a missing `<` or `>` or a bad source route.
    pub fn parse_path(s: &str) -> Result<Option<Self>, AddressError> {
        let mut cur = parse::Cursor::new(s, Component::Path)?;
        parse::path(&mut cur)?.map(Self::from_mailbox).transpose()
    }

    /// Parses the argument of `RCPT TO:` (RFC 5321 `Forward-path`). Like
    /// [`parse_path`](Self::parse_path), but `<>` is refused and `<Postmaster>` without a domain
    /// (any case) is accepted as `postmaster@` the primary relay domain, as §4.1.1.3 requires.
    ///
    /// # Errors
    ///
    /// As [`parse_path`](Self::parse_path), and [`AddressError::NullPath`] for `<>`.
    pub fn parse_forward_path(s: &str, domains: &RelayDomains) -> Result<Self, AddressError> {
        if s.eq_ignore_ascii_case("<postmaster>") {
            return Ok(Self::postmaster(domains.primary()));
        }
        Self::parse_path(s)?.ok_or(AddressError::NullPath)
    }

    /// Splits a `MAIL FROM:`/`RCPT TO:` argument into the path and its ESMTP parameters:
    /// `<"a b"@x> SIZE=10` gives `("<\"a b\"@x>", "SIZE=10")`. Quoted strings are honoured, so a
    /// `>` or space inside quotes does not end the path. The path is not validated here.
    ///
    /// # Errors
    ///
    /// No leading `<`, no closing `>`, or something other than a space after it.
    pub fn split_path(arg: &str) -> Result<(&str, &str), AddressError> {
        parse::split_path(arg)
    }

    /// `postmaster@domain`, the address every relay domain must accept (RFC 5321 §4.5.1).
    #[must_use]
    pub fn postmaster(domain: &RelayDomain) -> Self {
        Self::from_trusted("postmaster", domain)
    }

    /// Builds an address from a local part made by this module and a relay domain, both known
    /// valid: a lowercase ASCII dot-string of at most 64 octets and a domain of at most 189.
    fn from_trusted(local: &str, domain: &RelayDomain) -> Self {
        let full = format!("{local}@{}", domain.as_str());
        debug_assert!(Self::parse(&full).is_ok_and(|a| a.full == full), "generated address {full:?} is invalid");
        Self { at: local.len(), full }
    }

    fn from_mailbox(mailbox: parse::Mailbox) -> Result<Self, AddressError> {
        let parse::Mailbox { local, domain } = mailbox;
        let too_long = |component, len, max| Err(AddressError::TooLong { component, len, max });
        if local.len() > MAX_LOCAL_LEN {
            return too_long(Component::LocalPart, local.len(), MAX_LOCAL_LEN);
        }
        if domain.len() > MAX_DOMAIN_LEN {
            return too_long(Component::Domain, domain.len(), MAX_DOMAIN_LEN);
        }
        let len = local.len() + 1 + domain.len();
        if len > MAX_ADDRESS_LEN {
            return too_long(Component::Address, len, MAX_ADDRESS_LEN);
        }
        let at = local.len();
        let mut full = local;
        full.push('@');
        full.push_str(&domain);
        Ok(Self { full, at })
    }

    /// The canonical address, `local@domain`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The local part as it appears in [`as_str`](Self::as_str): a dot-string, or a quoted string
    /// with its quotes and escapes (`"john doe"`).
    #[must_use]
    pub fn local(&self) -> &str {
        self.full.get(..self.at).unwrap_or_default()
    }

    /// The local part's content, with quotes and escapes removed (`john doe`).
    #[must_use]
    pub fn local_content(&self) -> Cow<'_, str> {
        let local = self.local();
        match local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
            None => Cow::Borrowed(local),
            Some(inner) => {
                let mut out = String::with_capacity(inner.len());
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    out.extend(if c == '\\' { chars.next() } else { Some(c) });
                }
                Cow::Owned(out)
            }
        }
    }

    /// The domain: lower-cased (ASCII and U-labels alike, with Unicode lower-casing; no IDNA
    /// mapping or A-label conversion), or a canonical address literal such as `[192.0.2.1]` or
    /// `[IPv6:2001:db8::1]`.
    #[must_use]
    pub fn domain(&self) -> &str {
        self.full.get(self.at + 1..).unwrap_or_default()
    }

    /// The IP address of an address-literal domain, `None` for a domain name.
    #[must_use]
    pub fn ip_literal(&self) -> Option<IpAddr> {
        let inner = self.domain().strip_prefix('[')?.strip_suffix(']')?;
        inner.strip_prefix("IPv6:").unwrap_or(inner).parse().ok()
    }

    /// Whether the local part is a quoted string.
    #[must_use]
    pub fn is_quoted(&self) -> bool {
        self.full.starts_with('"')
    }

    /// `false` if the address contains UTF-8 and so needs the SMTPUTF8 extension (RFC 6531).
    #[must_use]
    pub fn is_ascii(&self) -> bool {
        self.full.is_ascii()
    }

    /// The whole address lower-cased (Unicode lower-casing): the key for looking up the relay's
    /// own aliases and reverse aliases, which are case-insensitive.
    #[must_use]
    pub fn normalized(&self) -> String {
        if self.is_ascii() { self.full.to_ascii_lowercase() } else { self.full.to_lowercase() }
    }

    /// Compares ignoring the case of the local part too (domains are already lower-cased).
    #[must_use]
    pub fn eq_ignore_case(&self, other: &Self) -> bool {
        if self.is_ascii() && other.is_ascii() {
            self.full.eq_ignore_ascii_case(&other.full)
        } else {
            self.normalized() == other.normalized()
        }
    }

    /// The canonical address as an owned string.
    #[must_use]
    pub fn into_string(self) -> String {
        self.full
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Address").field(&self.full).finish()
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Address {
    fn as_ref(&self) -> &str {
        &self.full
    }
}

impl From<Address> for String {
    fn from(address: Address) -> Self {
        address.full
    }
}

#[cfg(test)]
mod tests;
