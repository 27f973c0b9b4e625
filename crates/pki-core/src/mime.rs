//! MIME framing for S/MIME (RFC 8551): canonicalization, multipart/signed, application/pkcs7-mime.
//!
//! This module is the MIME layer only: it never encodes or decodes CMS. Its
//! functions take and return DER bytes, which the CMS layer produces or consumes.
//! It is a small byte-oriented parser of exactly what S/MIME needs (RFC 5322
//! header blocks, RFC 2045 `Content-Type` parameters, RFC 2046/1847 multipart
//! framing, RFC 2045 base64), built to be fed hostile bytes: every function
//! returns an [`Error`] (or a neutral value) instead of panicking, and every scan
//! is linear in the input size.
//!
//! # Signing (multipart/signed, RFC 8551 §3.5, RFC 1847)
//!
//! 1. [`split_message`] separates the outer header fields (`From`, `To`,
//!    `Subject`, …, and `MIME-Version`) from the MIME entity (the `Content-*`
//!    fields plus the body) — see [`SplitMessage::entity`].
//! 2. [`signed_content_for`] turns that entity into the exact bytes to sign
//!    (canonical CRLF form, RFC 8551 §3.1.1).
//! 3. The CMS layer signs those bytes (detached signature) and returns DER.
//! 4. [`build_multipart_signed`] frames the signed bytes and the signature with a
//!    boundary from [`boundary_from_bytes`], and [`join_message`] puts the outer
//!    header fields back in front.
//!
//! ```
//! use pki_core::mime;
//!
//! let msg = b"From: a@example.org\nTo: b@example.org\nSubject: Hi\n\
//!             Content-Type: text/plain\n\nHello\n";
//! let split = mime::split_message(msg)?;
//! let to_sign = mime::signed_content_for(&split.entity());
//! let signature_der = [0x30, 0x00]; // the CMS layer's detached signature of `to_sign`
//! let boundary = mime::boundary_from_bytes(&[42; 16]); // 16 bytes from an RNG
//! let entity = mime::build_multipart_signed(&to_sign, &signature_der, "sha-256", &boundary);
//! let signed_msg = mime::join_message(&split.outer_headers, &entity);
//!
//! assert_eq!(mime::classify(&signed_msg), mime::Kind::MultipartSigned);
//! let parsed = mime::parse_multipart_signed(&signed_msg)?;
//! assert_eq!(parsed.signed_content().as_ref(), to_sign.as_slice());
//! assert_eq!(parsed.signature, signature_der);
//! # Ok::<(), mime::Error>(())
//! ```
//!
//! ## Which bytes are signed
//!
//! RFC 2046 §5.1.1 states that the CRLF preceding a boundary delimiter line is
//! conceptually attached to the boundary. Hence the signed bytes are exactly the
//! bytes between the CRLF ending the opening `--boundary` line and the CRLF
//! that precedes the next `--boundary` line. [`build_multipart_signed`] writes
//! `--boundary CRLF`, the signed bytes verbatim, then `CRLF --boundary`; so an
//! entity that ends with CRLF is followed by a blank-looking line in the message
//! and its final CRLF *is* part of the signed bytes, while an entity without a
//! final line break is signed without one. [`parse_multipart_signed`] strips
//! exactly one line break (CRLF or a bare LF) before the delimiter, so build and
//! parse round-trip byte for byte. This is also what OpenSSL does
//! (`SMIME_crlf_copy` keeps the final line break of the content when signing, and
//! `multi_split` drops exactly one line break before a delimiter when verifying);
//! the fixtures in `fixtures/pki/mime/` check it against `openssl cms`.
//!
//! # Encryption (application/pkcs7-mime, RFC 8551 §3.3/§3.4)
//!
//! The entity (again from [`SplitMessage::entity`], canonicalized with
//! [`canonicalize`]) is encrypted by the CMS layer; [`build_pkcs7_mime`] wraps the
//! resulting DER and [`join_message`] adds the outer header fields.
//! [`parse_pkcs7_mime`] does the reverse, and [`classify`] tells what kind of
//! S/MIME (or PGP/MIME) entity a message carries.
//!
//! # Not covered
//!
//! RFC 2047 encoded words are not decoded ([`header_value`] returns the raw
//! unfolded text), and content transfer encodings other than base64 and binary
//! are not decoded (only the CMS parts need decoding here).

use alloc::string::String;
use core::fmt;

mod codec;
mod content_type;
mod header;
mod pkcs7;
mod signed;

pub(crate) use codec::is_canonical;
pub use codec::{canonicalize, canonicalize_in_place};
pub use content_type::ContentType;
pub use header::{SplitMessage, header_value, join_message, split_message};
pub(crate) use pkcs7::decode_pkcs7_mime_in_place;
pub use pkcs7::{Kind, Pkcs7Mime, SmimeType, build_pkcs7_mime, build_pkcs7_mime_in_place, classify, parse_pkcs7_mime};
pub use signed::{
    MultipartSigned, boundary_from_bytes, build_multipart_signed, build_multipart_signed_in_place,
    parse_multipart_signed, signed_content_for,
};

/// Largest accepted header field, continuation lines included, in bytes.
///
/// Longer fields are rejected with [`Error::HeaderTooLong`]. The value matches
/// Postfix's default `header_size_limit` (100 KiB), far above the 998-character
/// line limit of RFC 5322 §2.1.1.
pub const MAX_HEADER_FIELD_LEN: usize = 100 * 1024;

/// Longest accepted multipart boundary, in bytes (RFC 2046 allows 70; some
/// generators go beyond, so a little slack is given).
pub const MAX_BOUNDARY_LEN: usize = 200;

/// Errors of the MIME layer.
///
/// Strings carried by the variants come from the input and are truncated to a
/// short excerpt, so an error never holds a large part of a hostile message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input has no empty line separating the header block from the body.
    NoHeaderBodySeparator,
    /// A header line is neither a `name: value` field nor a continuation line.
    MalformedHeader {
        /// 1-based line number within the header block being parsed.
        line: usize,
    },
    /// A header field, continuation lines included, exceeds
    /// [`MAX_HEADER_FIELD_LEN`].
    HeaderTooLong {
        /// 1-based line number where the field starts.
        line: usize,
    },
    /// The `Content-Type` value is not `type/subtype` followed by parameters.
    InvalidContentType {
        /// Excerpt of the offending value.
        value: String,
    },
    /// The entity is not `multipart/signed`.
    NotMultipartSigned {
        /// The media type found (lowercased).
        content_type: String,
    },
    /// The `protocol` parameter of `multipart/signed` is not
    /// `application/pkcs7-signature` (or its `x-` variant).
    UnsupportedProtocol {
        /// The protocol found (lowercased).
        protocol: String,
    },
    /// The multipart `Content-Type` has no `boundary` parameter.
    MissingBoundary,
    /// The `boundary` parameter is empty or longer than [`MAX_BOUNDARY_LEN`].
    InvalidBoundary {
        /// Length of the boundary in bytes.
        len: usize,
    },
    /// No opening `--boundary` delimiter line was found in the body.
    MissingOpeningDelimiter,
    /// The body has no closing `--boundary--` delimiter line.
    MissingClosingDelimiter,
    /// `multipart/signed` must have exactly two body parts.
    WrongPartCount {
        /// Number of body parts found.
        found: usize,
    },
    /// The second part of `multipart/signed` is not
    /// `application/pkcs7-signature` (or its `x-` variant).
    UnexpectedSignatureType {
        /// The media type found (lowercased).
        content_type: String,
    },
    /// The entity is not `application/pkcs7-mime` (nor an accepted alias).
    NotPkcs7Mime {
        /// The media type found (lowercased).
        content_type: String,
    },
    /// The `Content-Transfer-Encoding` of a CMS part is neither base64 nor binary.
    UnsupportedTransferEncoding {
        /// The encoding found (lowercased).
        encoding: String,
    },
    /// Invalid base64 data.
    Base64 {
        /// 1-based line number within the encoded body where the problem was found.
        line: usize,
    },
    /// The CMS payload (signature or `application/pkcs7-mime` body) is empty.
    EmptyPayload,
    /// The `smime-type` parameter is not the one the caller expected.
    UnexpectedSmimeType {
        /// The type the caller asked for.
        expected: SmimeType,
        /// The type found, `None` if absent or unknown.
        found: Option<SmimeType>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoHeaderBodySeparator => f.write_str("no empty line between the header block and the body"),
            Self::MalformedHeader { line } => write!(f, "malformed header field at line {line}"),
            Self::HeaderTooLong { line } => {
                write!(f, "header field at line {line} exceeds {MAX_HEADER_FIELD_LEN} bytes")
            }
            Self::InvalidContentType { value } => write!(f, "invalid Content-Type {value:?}"),
            Self::NotMultipartSigned { content_type } => {
                write!(f, "expected multipart/signed, found {content_type:?}")
            }
            Self::UnsupportedProtocol { protocol } => {
                write!(f, "unsupported multipart/signed protocol {protocol:?}")
            }
            Self::MissingBoundary => f.write_str("multipart Content-Type has no boundary parameter"),
            Self::InvalidBoundary { len } => {
                write!(f, "invalid boundary length {len} (must be 1..={MAX_BOUNDARY_LEN})")
            }
            Self::MissingOpeningDelimiter => f.write_str("no opening boundary delimiter line"),
            Self::MissingClosingDelimiter => f.write_str("no closing boundary delimiter line"),
            Self::WrongPartCount { found } => {
                write!(f, "multipart/signed has {found} body parts, expected 2")
            }
            Self::UnexpectedSignatureType { content_type } => {
                write!(f, "expected application/pkcs7-signature part, found {content_type:?}")
            }
            Self::NotPkcs7Mime { content_type } => {
                write!(f, "expected application/pkcs7-mime, found {content_type:?}")
            }
            Self::UnsupportedTransferEncoding { encoding } => {
                write!(f, "unsupported Content-Transfer-Encoding {encoding:?} for CMS data")
            }
            Self::Base64 { line } => write!(f, "invalid base64 at line {line}"),
            Self::EmptyPayload => f.write_str("empty CMS payload"),
            Self::UnexpectedSmimeType { expected, found } => match found {
                Some(found) => write!(f, "expected smime-type={expected}, found {found}"),
                None => write!(f, "expected smime-type={expected}, found none"),
            },
        }
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests;
