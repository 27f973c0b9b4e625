//! `application/pkcs7-mime` (RFC 8551 §3.2–§3.4) and entity classification.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::Error;
use super::codec::{base64_lines_in_place, base64_lines_len, decode_base64_in_place, excerpt};
use super::content_type::ContentType;
use super::header::{Entity, header_value};
use super::signed::{decode_cms_body, is_pkcs7_signature};

/// File extensions that mark an `application/octet-stream` part as S/MIME
/// (RFC 8551 §3.2.1).
const SMIME_EXTENSIONS: [&str; 3] = [".p7m", ".p7c", ".p7z"];

/// The `smime-type` parameter of `application/pkcs7-mime` (RFC 8551 §3.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SmimeType {
    /// `enveloped-data`: CMS `EnvelopedData`.
    EnvelopedData,
    /// `authEnveloped-data`: CMS `AuthEnvelopedData` (RFC 8551 §3.4).
    AuthEnvelopedData,
    /// `signed-data`: CMS `SignedData` with encapsulated content.
    SignedData,
    /// `certs-only`: degenerate `SignedData` carrying certificates.
    CertsOnly,
    /// `compressed-data`: CMS `CompressedData` (RFC 3274).
    CompressedData,
}

impl SmimeType {
    /// The parameter value, as written by [`build_pkcs7_mime`].
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EnvelopedData => "enveloped-data",
            Self::AuthEnvelopedData => "authEnveloped-data",
            Self::SignedData => "signed-data",
            Self::CertsOnly => "certs-only",
            Self::CompressedData => "compressed-data",
        }
    }

    /// Parses a parameter value (case-insensitive); `None` if unknown.
    #[must_use]
    pub fn from_param(value: &str) -> Option<Self> {
        [Self::EnvelopedData, Self::AuthEnvelopedData, Self::SignedData, Self::CertsOnly, Self::CompressedData]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(value.trim()))
    }

    /// The file name for the `name` and `filename` parameters (RFC 8551 §3.2.1).
    #[must_use]
    pub const fn file_name(self) -> &'static str {
        match self {
            Self::CertsOnly => "smime.p7c",
            Self::CompressedData => "smime.p7z",
            _ => "smime.p7m",
        }
    }
}

impl fmt::Display for SmimeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Builds an `application/pkcs7-mime` MIME entity (all CRLF) around CMS `der`.
///
/// The header block is `Content-Type: application/pkcs7-mime;
/// smime-type=…; name="smime.p7m"` (folded before `name`, to keep lines within
/// 78 characters), `Content-Transfer-Encoding: base64` and
/// `Content-Disposition: attachment; filename="smime.p7m"` (`smime.p7c` for
/// certs-only, `smime.p7z` for compressed data); the body is base64 in lines of
/// 76 characters.
#[must_use]
pub fn build_pkcs7_mime(der: &[u8], smime_type: SmimeType) -> Vec<u8> {
    let mut out = Vec::with_capacity(base64_lines_len(der.len()).saturating_add(256));
    out.extend_from_slice(der);
    build_pkcs7_mime_in_place(&mut out, smime_type);
    out
}

/// As [`build_pkcs7_mime`], in place: `der` becomes the entity. The base64 is written over the
/// DER, and the header block in front of it, so a large message is never held twice.
pub fn build_pkcs7_mime_in_place(der: &mut Vec<u8>, smime_type: SmimeType) {
    let name = smime_type.file_name().as_bytes();
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"Content-Type: application/pkcs7-mime; smime-type=");
    head.extend_from_slice(smime_type.as_str().as_bytes());
    head.extend_from_slice(b";\r\n name=\"");
    head.extend_from_slice(name);
    head.extend_from_slice(b"\"\r\nContent-Transfer-Encoding: base64\r\n");
    head.extend_from_slice(b"Content-Disposition: attachment; filename=\"");
    head.extend_from_slice(name);
    head.extend_from_slice(b"\"\r\n\r\n");
    der.reserve_exact(base64_lines_len(der.len()).saturating_sub(der.len()).saturating_add(head.len()));
    base64_lines_in_place(der, 0);
    der.splice(0..0, head);
}

/// A parsed `application/pkcs7-mime` entity.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pkcs7Mime {
    /// The `smime-type` parameter; `None` when absent or unknown.
    pub smime_type: Option<SmimeType>,
    /// The decoded CMS `ContentInfo` (DER, or BER from some senders). For a
    /// binary transfer encoding this is the body verbatim.
    pub der: Vec<u8>,
}

impl Pkcs7Mime {
    /// Returns the CMS bytes if the `smime-type` is `expected` or absent
    /// (senders such as Outlook may omit it; the CMS content type is then
    /// authoritative and must be checked by the CMS layer anyway).
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedSmimeType`] when another known type is declared (an
    /// unknown value reads as absent).
    pub fn expect(self, expected: SmimeType) -> Result<Vec<u8>, Error> {
        match self.smime_type {
            Some(found) if found != expected => Err(Error::UnexpectedSmimeType { expected, found: Some(found) }),
            _ => Ok(self.der),
        }
    }
}

/// Parses an `application/pkcs7-mime` S/MIME entity.
///
/// `entity` may be a whole message or just the MIME entity. Accepted types are
/// `application/pkcs7-mime`, `application/x-pkcs7-mime`, and
/// `application/octet-stream` whose `name` or `filename` ends in `.p7m`, `.p7c`
/// or `.p7z` (as some clients send). The body may be base64 (also assumed when
/// no `Content-Transfer-Encoding` is given) or binary.
///
/// # Errors
///
/// Header errors ([`Error::NoHeaderBodySeparator`], [`Error::MalformedHeader`],
/// …), [`Error::NotPkcs7Mime`], [`Error::UnsupportedTransferEncoding`],
/// [`Error::Base64`] and [`Error::EmptyPayload`].
pub fn parse_pkcs7_mime(entity: &[u8]) -> Result<Pkcs7Mime, Error> {
    let parsed = Entity::parse(entity)?;
    let content_type = parsed.content_type()?;
    let Some(smime_type) = pkcs7_type(&content_type, parsed.header) else {
        return Err(Error::NotPkcs7Mime { content_type: excerpt(content_type.media_type.as_bytes()) });
    };
    Ok(Pkcs7Mime { smime_type, der: decode_cms_body(&parsed)? })
}

/// As [`parse_pkcs7_mime`], for an entity whose header fields are `content_headers` and whose
/// body is `buf[body_start..]`: the body is decoded where it lies, so that `buf[body_start..]`
/// then holds the CMS object. On error, `buf[body_start..]` is unspecified.
pub(crate) fn decode_pkcs7_mime_in_place(
    content_headers: &[u8],
    buf: &mut Vec<u8>,
    body_start: usize,
) -> Result<Option<SmimeType>, Error> {
    let mut head = Vec::with_capacity(content_headers.len() + 2);
    head.extend_from_slice(content_headers);
    head.extend_from_slice(b"\r\n");
    let parsed = Entity::parse(&head)?;
    let content_type = parsed.content_type()?;
    let Some(smime_type) = pkcs7_type(&content_type, parsed.header) else {
        return Err(Error::NotPkcs7Mime { content_type: excerpt(content_type.media_type.as_bytes()) });
    };
    match parsed.transfer_encoding().as_deref() {
        None | Some("base64" | "7bit") => decode_base64_in_place(buf, body_start)?,
        Some("binary" | "8bit") => {}
        Some(other) => return Err(Error::UnsupportedTransferEncoding { encoding: excerpt(other.as_bytes()) }),
    }
    if buf.len() <= body_start {
        return Err(Error::EmptyPayload);
    }
    Ok(smime_type)
}

/// `Some(smime-type)` when the content type denotes a CMS object.
fn pkcs7_type(content_type: &ContentType, header: &[u8]) -> Option<Option<SmimeType>> {
    let smime_type = || content_type.param("smime-type").and_then(SmimeType::from_param);
    if content_type.is("application/pkcs7-mime") || content_type.is("application/x-pkcs7-mime") {
        return Some(smime_type());
    }
    if !content_type.is("application/octet-stream") {
        return None;
    }
    let disposition_name = header_value(header, "content-disposition").and_then(|value| disposition_filename(&value));
    let has_smime_name = content_type
        .param("name")
        .map(String::from)
        .into_iter()
        .chain(disposition_name)
        .any(|name| has_smime_extension(&name));
    has_smime_name.then(smime_type)
}

/// The `filename` parameter of a `Content-Disposition` value.
fn disposition_filename(value: &str) -> Option<String> {
    // The disposition has the same `token; param=value` syntax as a content
    // type except that the first item has no subtype; give it one to reuse the
    // parser.
    let (_, params) = value.split_once(';')?;
    let mut fake = String::from("x/x;");
    fake.push_str(params);
    ContentType::parse(&fake).ok()?.param("filename").map(String::from)
}

fn has_smime_extension(name: &str) -> bool {
    let name = name.trim_end();
    SMIME_EXTENSIONS.iter().any(|ext| {
        name.len() >= ext.len() && name.get(name.len() - ext.len()..).is_some_and(|tail| tail.eq_ignore_ascii_case(ext))
    })
}

/// What kind of entity [`classify`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// `multipart/signed` with a CMS signature protocol (or none given).
    MultipartSigned,
    /// `application/pkcs7-mime` or an alias, with its `smime-type` if known.
    Pkcs7Mime(Option<SmimeType>),
    /// PGP/MIME encrypted: `multipart/encrypted;
    /// protocol="application/pgp-encrypted"` (RFC 3156).
    PgpMime,
    /// Anything else, including input whose header block cannot be read.
    Other,
}

/// Classifies a message or MIME entity by its `Content-Type`.
///
/// Never fails: unreadable input is [`Kind::Other`]. Only the header block is
/// looked at (leniently), not the body, so [`parse_multipart_signed`] or
/// [`parse_pkcs7_mime`] can still fail on an entity classified as S/MIME.
///
/// [`parse_multipart_signed`]: super::parse_multipart_signed
#[must_use]
pub fn classify(entity: &[u8]) -> Kind {
    let Some(content_type) = header_value(entity, "content-type").and_then(|v| ContentType::parse(&v).ok()) else {
        return Kind::Other;
    };
    let protocol = content_type.param("protocol").unwrap_or_default();
    if content_type.is("multipart/signed") {
        if protocol.is_empty() || is_pkcs7_signature(protocol) {
            return Kind::MultipartSigned;
        }
        return Kind::Other;
    }
    if content_type.is("multipart/encrypted") {
        if protocol.eq_ignore_ascii_case("application/pgp-encrypted") {
            return Kind::PgpMime;
        }
        return Kind::Other;
    }
    match pkcs7_type(&content_type, entity) {
        Some(smime_type) => Kind::Pkcs7Mime(smime_type),
        None => Kind::Other,
    }
}
