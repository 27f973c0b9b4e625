//! MIME scrubbing: the surgery the reply pipeline needs before a reply leaves from the alias.
//!
//! When the owner of an alias replies to a contact, everything in the reply that would reveal
//! the owner's real mailbox address is stripped ([`scrub_message`]):
//!
//! - **Signatures.** A `multipart/signed` (S/MIME or PGP/MIME), at any depth, is replaced by
//!   its first part, the signed content; the signature part is dropped. Any other
//!   `application/pkcs7-signature`, `application/pgp-signature` or `*.p7s` part is dropped.
//! - **Keys and certificates.** Parts typed as keys or certificates (`application/pgp-keys`,
//!   `smime-type=certs-only`, `application/pkix-cert`, PKCS#8/#12, …), parts named `*.cer`,
//!   `*.crt`, `*.pem`, `*.der`, `*.p7c`, `*.p12`, `*.pfx`, `*.key`, …, and parts whose content
//!   starts with a PEM certificate or key, or an OpenPGP key (armored, or binary in `*.asc`,
//!   `*.gpg`, `*.pgp`) are dropped. An encrypted OpenPGP message (`*.asc` holding
//!   `BEGIN PGP MESSAGE`) is kept. `Autocrypt`, `Autocrypt-Gossip` and `OpenPGP` header fields
//!   (which carry the key or its id) are dropped too.
//! - **The address.** Every occurrence of a real address becomes the alias: in every header
//!   field (inside RFC 2047 encoded words too), in every text body whatever its transfer
//!   encoding and charset, in nested `message/rfc822` parts, in percent-escaped
//!   (`alice%40real.example`) and HTML-escaped (`alice&#64;real.example`) forms, across HTML
//!   tags, and across iCalendar/vCard and `format=flowed; delsp=yes` line folds. Display
//!   names are left alone (the reply pipeline sets `From` itself).
//!
//! [`leaks`] is the independent check: it looks for an address in every form a client could
//! show, and the reply pipeline refuses to send when it finds anything.
//!
//! # Byte ranges, not re-serialization
//!
//! The input is parsed into a model that keeps byte offsets (header fields, delimiter lines,
//! bodies). Only what must change is rewritten; every other byte is copied, so an untouched part
//! comes out byte for byte identical.
//!
//! # Decisions
//!
//! - **Charsets.** A text part in a charset where every byte below 0x80 is ASCII (UTF-8,
//!   US-ASCII, ISO-8859-*, windows-125x, KOI8, EUC-*, …) is scrubbed in its own charset: only
//!   the address bytes change and the charset stays. A part in another charset (UTF-16,
//!   Shift_JIS, Big5, GBK, ISO-2022-JP, …) is decoded, scrubbed, and re-emitted as UTF-8, with
//!   `charset=utf-8` in its `Content-Type` (and in an HTML `<meta>` charset declaration).
//! - **Re-encoding.** A changed part keeps its transfer encoding (base64 stays base64,
//!   quoted-printable stays quoted-printable). A 7bit part that becomes non-ASCII is re-emitted
//!   as quoted-printable. An unchanged part is never re-encoded.
//! - **Multiparts.** A multipart left with one part stays a multipart with one part (valid
//!   MIME, and the bytes of the surviving part and the framing are unchanged). A multipart left
//!   with no part is removed; if that is the whole message, scrubbing fails with
//!   [`ScrubError::NothingLeft`] rather than send an empty message.
//! - **Fail closed.** [`scrub_message`] checks its own output with [`leaks`] for every real
//!   address and returns [`ScrubError::Residual`] rather than a message that still shows one.
//!   Content that cannot be scrubbed is an error, not a pass: nesting deeper
//!   than [`MAX_DEPTH`], more than [`MAX_PARTS`] parts, an opaque-signed
//!   (`smime-type=signed-data`) part, a part with two different `Content-Type` (or
//!   `Content-Transfer-Encoding`) fields, a multipart boundary that contains the address, a
//!   binary part (PDF, image, …) that holds the address: binary content is never modified.
//!
//! # Example
//!
//! ```
//! use relay_engine::scrub::{Scrub, leaks, scrub_message};
//!
//! let reply = b"From: Alice <alice@real.example>\r\nTo: r1@relay.example\r\nSubject: Re: hi\r\n\r\n\
//!               Sure.\r\n\r\nOn Sun, Bob wrote to <alice@real.example>:\r\n> hi\r\n";
//! let s = Scrub { real: &["alice@real.example"], alias: "a1b2@alias.example" };
//! let out = scrub_message(reply, &s)?;
//! assert!(leaks(&out.message, "alice@real.example").is_empty());
//! assert_eq!(out.replacements, 2);
//! # Ok::<(), relay_engine::scrub::ScrubError>(())
//! ```

use std::fmt;

mod armor;
mod classify;
mod codec;
mod detect;
mod matcher;
mod rewrite;
pub(crate) mod structure;
mod tree;
mod words;

/// Deepest nesting of multiparts and messages that is scrubbed; deeper input is an error.
pub const MAX_DEPTH: usize = 32;

/// Most MIME parts (at all depths) that one message may have.
pub const MAX_PARTS: usize = 10_000;

/// What to scrub: every address in `real` (the owner's verified mailboxes) becomes `alias`.
#[derive(Clone, Copy, Debug)]
pub struct Scrub<'a> {
    /// The owner's real mailbox addresses.
    pub real: &'a [&'a str],
    /// The alias that replaces them.
    pub alias: &'a str,
}

/// A scrubbed message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Scrubbed {
    /// The message, ready to be sent on (its line endings are those of the input).
    pub message: Vec<u8>,
    /// The parts that were removed, in order.
    pub removed_parts: Vec<RemovedPart>,
    /// Header fields that were removed (`Autocrypt`, `OpenPGP`, …), by name.
    pub removed_headers: Vec<String>,
    /// How many occurrences of a real address were replaced.
    pub replacements: usize,
}

/// A part that [`scrub_message`] removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemovedPart {
    /// Where it was: its MIME part number (`"2"`, `"1.3"`; `""` for the message itself).
    pub part: String,
    /// Why it was removed.
    pub reason: RemovalReason,
    /// Its media type, lowercased (`application/pkcs7-signature`).
    pub content_type: String,
    /// Its file name, if it had one.
    pub filename: Option<String>,
}

/// Why a part was removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemovalReason {
    /// An S/MIME or OpenPGP signature (it names the signer's certificate or key).
    Signature,
    /// An OpenPGP public key (its user ids hold the address).
    PublicKey,
    /// A private key or a key store (PKCS#8, PKCS#12, `BEGIN PGP PRIVATE KEY BLOCK`).
    PrivateKey,
    /// An X.509 certificate, certificate bundle or request (its subject holds the address).
    Certificate,
    /// A multipart whose parts were all removed.
    Emptied,
}

/// Why a message could not be scrubbed. The reply must then not be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScrubError {
    /// A real address or the alias is not a plausible address (empty, no `@`, whitespace or
    /// control characters, longer than 254 bytes), or the alias contains a real address.
    InvalidAddress {
        /// `"real"` or `"alias"`.
        which: &'static str,
        /// Its position in [`Scrub::real`] (0 for the alias).
        index: usize,
    },
    /// [`Scrub::real`] is empty.
    NoRealAddress,
    /// Multiparts and messages nest deeper than [`MAX_DEPTH`].
    TooDeep {
        /// The part where the limit was reached.
        part: String,
    },
    /// The message has more than [`MAX_PARTS`] parts.
    TooManyParts,
    /// Every part was removed: nothing would be left to send.
    NothingLeft,
    /// An opaque-signed part (`application/pkcs7-mime; smime-type=signed-data`): its content
    /// is inside the signature and must be unwrapped before scrubbing.
    OpaqueSigned {
        /// The part.
        part: String,
    },
    /// A part has two different `Content-Type` or `Content-Transfer-Encoding` fields: clients
    /// disagree on which one counts, so no single reading can be scrubbed safely.
    AmbiguousHeader {
        /// The part.
        part: String,
        /// The field name, lowercased.
        field: &'static str,
    },
    /// A binary part (a PDF, an image, an unknown type) holds a real address (as ASCII or
    /// UTF-16) once decoded: it cannot be changed without breaking it.
    AddressInBinary {
        /// The part.
        part: String,
        /// Its media type.
        content_type: String,
    },
    /// The scrubbed message still shows a real address to [`leaks`] (typically a malformed
    /// message that mail-parser reads differently from the scrubber). `scrub_message` never
    /// returns a message that [`leaks`] objects to.
    Residual {
        /// What [`leaks`] found.
        leaks: Vec<Leak>,
    },
    /// A multipart boundary contains a real address; it cannot be replaced without rewriting
    /// the framing.
    BoundaryContainsAddress {
        /// The part.
        part: String,
    },
}

impl fmt::Display for ScrubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |p: &str| if p.is_empty() { "the message".to_owned() } else { format!("part {p}") };
        match self {
            ScrubError::InvalidAddress { which, index } => write!(f, "invalid {which} address (#{index})"),
            ScrubError::NoRealAddress => f.write_str("no real address to scrub"),
            ScrubError::TooDeep { part: p } => write!(f, "MIME nesting deeper than {MAX_DEPTH} at {}", part(p)),
            ScrubError::TooManyParts => write!(f, "more than {MAX_PARTS} MIME parts"),
            ScrubError::NothingLeft => f.write_str("nothing left after removing signatures and keys"),
            ScrubError::OpaqueSigned { part: p } => write!(f, "opaque-signed S/MIME content in {}", part(p)),
            ScrubError::AmbiguousHeader { part: p, field } => write!(f, "two different {field} fields in {}", part(p)),
            ScrubError::AddressInBinary { part: p, content_type } => {
                write!(f, "the address is inside binary content ({content_type}) in {}", part(p))
            }
            ScrubError::Residual { leaks } => write!(f, "{} leak(s) left after scrubbing", leaks.len()),
            ScrubError::BoundaryContainsAddress { part: p } => {
                write!(f, "multipart boundary of {} contains the address", part(p))
            }
        }
    }
}

impl std::error::Error for ScrubError {}

/// Where [`leaks`] found an address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Leak {
    /// The MIME part number (`""` for the whole input; `mp:N` for part N as mail-parser
    /// numbers them).
    pub part: String,
    /// Where in the part.
    pub place: LeakPlace,
    /// In what form.
    pub form: LeakForm,
}

/// Where in a part a leak is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeakPlace {
    /// In the raw input, at this byte offset.
    Raw {
        /// Offset of the first byte.
        offset: usize,
    },
    /// In the header field of this name.
    Header(String),
    /// In the body.
    Body,
}

/// In what form a leak was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeakForm {
    /// As it is (ASCII case-insensitive).
    Plain,
    /// Percent- or HTML-escaped, or split by HTML tags or line folds.
    Escaped,
    /// Inside an RFC 2047 encoded word.
    EncodedWord,
    /// Inside an RFC 2231 encoded parameter.
    Parameter,
    /// In a quoted-printable body, once decoded.
    QuotedPrintable,
    /// In a base64 body (or base64 key data), once decoded.
    Base64,
    /// Only once the charset is decoded (UTF-16, ISO-2022-JP, …).
    Charset,
    /// A part that could not be inspected (nesting or size limits): counted as a leak.
    Uninspected,
}

/// Checks one address for [`Scrub`].
fn valid_address(a: &str) -> bool {
    let (local, domain) = a.rsplit_once('@').unwrap_or_default();
    !local.is_empty()
        && !domain.is_empty()
        && a.len() <= 254
        && !a.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"".contains(c))
}

/// Scrubs a reply: removes signatures, keys and certificates, and replaces every real address
/// with the alias (see the [module documentation](self)).
///
/// # Errors
///
/// [`ScrubError`]: invalid addresses, input nested too deep or with too many parts, nothing
/// left to send, content that cannot be scrubbed (opaque-signed, the address inside binary
/// content, ambiguous headers), or output in which [`leaks`] still finds an address. The reply
/// must not be sent.
pub fn scrub_message(raw: &[u8], s: &Scrub<'_>) -> Result<Scrubbed, ScrubError> {
    let scrubbed = rewrite_owned(raw.to_vec(), s)?;
    for real in s.real {
        let found = leaks(&scrubbed.message, real);
        if !found.is_empty() {
            return Err(ScrubError::Residual { leaks: found });
        }
    }
    Ok(scrubbed)
}

/// As [`scrub_message`], taking the message (handed back when it needs no change) and without
/// the final look for residual leaks, for a caller that looks at what it finally sends instead
/// (the reply pipeline): a large reply is then held at most twice.
pub(crate) fn rewrite_owned(raw: Vec<u8>, s: &Scrub<'_>) -> Result<Scrubbed, ScrubError> {
    if s.real.is_empty() {
        return Err(ScrubError::NoRealAddress);
    }
    if let Some(index) = s.real.iter().position(|a| !valid_address(a)) {
        return Err(ScrubError::InvalidAddress { which: "real", index });
    }
    let matcher = matcher::Matcher::new(s.real, s.alias);
    let alias_leaks = !matcher.find(s.alias.as_bytes(), matcher::Skips::default()).is_empty();
    if !valid_address(s.alias) || !s.alias.is_ascii() || alias_leaks {
        return Err(ScrubError::InvalidAddress { which: "alias", index: 0 });
    }
    let mut ctx = rewrite::Ctx::new(&matcher, &raw);
    let out = ctx.message(&raw, 0, "")?;
    let (removed_parts, removed_headers, replacements) = (ctx.removed_parts, ctx.removed_headers, ctx.replacements);
    let message = match out {
        rewrite::Out::Keep => raw,
        rewrite::Out::Replace(bytes) => {
            drop(raw);
            bytes
        }
        rewrite::Out::Drop => return Err(ScrubError::NothingLeft),
    };
    Ok(Scrubbed { message, removed_parts, removed_headers, replacements })
}

/// Looks for `real` in `raw` in every form a client could show: as it is (case-insensitive),
/// percent- and HTML-escaped or split by tags, inside RFC 2047 and RFC 2231 encoded header
/// text, and in the decoded body of every part (quoted-printable, base64, any charset; binary
/// parts as ASCII and UTF-16 too), in nested messages, and in `Autocrypt` key data. The MIME
/// structure is read twice, by this module's parser and by mail-parser, so a message that the
/// two read differently is still checked both ways. A part that cannot be inspected counts as
/// a leak ([`LeakForm::Uninspected`]).
///
/// Returns where the address was found (empty: no leak).
#[must_use]
pub fn leaks(raw: &[u8], real: &str) -> Vec<Leak> {
    detect::leaks(raw, real)
}

#[cfg(test)]
mod tests;
