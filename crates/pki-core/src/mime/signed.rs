//! `multipart/signed` (RFC 1847, RFC 8551 §3.5): building, parsing, and the
//! RFC 2046 §5.1.1 body-part framing it relies on.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::codec::{canonicalize, decode_base64, excerpt, has_bare_lf, lf_to_crlf, line_at, push_base64_lines};
use super::header::Entity;
use super::{Error, MAX_BOUNDARY_LEN};

/// Prefix of the boundaries made by [`boundary_from_bytes`].
const BOUNDARY_PREFIX: &str = "----=_smime_";

/// Preamble written before the first body part (ignored by MIME readers).
const PREAMBLE: &[u8] = b"This is an S/MIME signed message\r\n";

/// Headers of the signature part written by [`build_multipart_signed`].
const SIGNATURE_PART_HEADERS: &[u8] = b"Content-Type: application/pkcs7-signature; \
name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n";

/// Whether `media_type` names a CMS detached signature.
pub(super) fn is_pkcs7_signature(media_type: &str) -> bool {
    media_type.eq_ignore_ascii_case("application/pkcs7-signature")
        || media_type.eq_ignore_ascii_case("application/x-pkcs7-signature")
}

/// Makes a multipart boundary from 16 random bytes: `----=_smime_` followed by
/// 32 lowercase hex digits.
///
/// No base64 line can contain it (`-` and `_` are outside the base64
/// alphabet), nor can quoted-printable text (there `=` is followed by two hex
/// digits or a line break, never `_`), so it never collides with
/// transfer-encoded content; 128 random bits make a collision with anything
/// else negligible. The result is 44 characters, within RFC 2046's 70.
#[must_use]
pub fn boundary_from_bytes(random: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(BOUNDARY_PREFIX.len() + 32);
    out.push_str(BOUNDARY_PREFIX);
    for &b in random {
        for nibble in [b >> 4, b & 0x0f] {
            out.extend(HEX.get(usize::from(nibble)).map(|&h| char::from(h)));
        }
    }
    out
}

/// Returns the exact bytes to sign for a MIME `entity`: its canonical CRLF form.
///
/// Put the result verbatim into [`build_multipart_signed`]. The signed bytes
/// keep whatever final line break the entity has: with one, the last CRLF of the
/// entity is signed and the message gets an extra CRLF before the next
/// delimiter (which belongs to the delimiter, RFC 2046 §5.1.1); without one,
/// nothing after the last character is signed. Either way
/// [`parse_multipart_signed`] gives back exactly these bytes, as OpenSSL does.
///
/// Content that is not 7-bit should be given a transfer encoding before
/// signing (RFC 8551 §3.1.2); this function does not change the content
/// besides line endings.
#[must_use]
pub fn signed_content_for(entity: &[u8]) -> Vec<u8> {
    canonicalize(entity)
}

/// Builds a `multipart/signed` MIME entity (header block and body, all CRLF).
///
/// The `Content-Type` field is folded after the `protocol` parameter so that
/// lines stay within the 78 characters recommended by RFC 5322 §2.1.1.
///
/// `signed_entity` must be exactly the bytes that were signed (the output of
/// [`signed_content_for`]); it is copied verbatim as the first body part.
/// `signature_der` is the detached CMS `SignedData` (`ContentInfo`) in DER;
/// it becomes the base64 `application/pkcs7-signature` second part.
/// `micalg` is the RFC 8551 §3.5.3.2 name of the digest (for example
/// `sha-256`), `boundary` should come from [`boundary_from_bytes`] and must not
/// occur at the start of a line of `signed_entity`. CR and LF are removed from
/// `micalg` and `boundary`, so they cannot inject header lines.
#[must_use]
pub fn build_multipart_signed(signed_entity: &[u8], signature_der: &[u8], micalg: &str, boundary: &str) -> Vec<u8> {
    let capacity = signed_entity.len().saturating_add(signature_der.len().saturating_mul(3) / 2).saturating_add(512);
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(signed_entity);
    build_multipart_signed_in_place(&mut out, signature_der, micalg, boundary);
    out
}

/// As [`build_multipart_signed`], in place: `signed_entity` becomes the `multipart/signed`
/// entity (the header block and first delimiter go in front of it, the signature part after),
/// so a large message is never held twice.
pub fn build_multipart_signed_in_place(
    signed_entity: &mut Vec<u8>,
    signature_der: &[u8],
    micalg: &str,
    boundary: &str,
) {
    let boundary: Vec<u8> = boundary.bytes().filter(|&b| b != b'\r' && b != b'\n').collect();
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n micalg=");
    push_param_value(&mut head, micalg.as_bytes());
    head.extend_from_slice(b"; boundary=");
    push_quoted(&mut head, &boundary);
    head.extend_from_slice(b"\r\n\r\n");
    head.extend_from_slice(PREAMBLE);
    push_delimiter(&mut head, &boundary, false);
    let mut tail = Vec::with_capacity(signature_der.len().saturating_mul(3) / 2 + 256);
    tail.extend_from_slice(b"\r\n");
    push_delimiter(&mut tail, &boundary, false);
    tail.extend_from_slice(SIGNATURE_PART_HEADERS);
    push_base64_lines(&mut tail, signature_der);
    push_delimiter(&mut tail, &boundary, true);
    signed_entity.reserve_exact(head.len() + tail.len());
    signed_entity.splice(0..0, head);
    signed_entity.extend_from_slice(&tail);
}

/// Writes `--boundary CRLF` (or `--boundary-- CRLF` when `close`).
fn push_delimiter(out: &mut Vec<u8>, boundary: &[u8], close: bool) {
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary);
    if close {
        out.extend_from_slice(b"--");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes a parameter value as a token when possible, else as a quoted string.
fn push_param_value(out: &mut Vec<u8>, value: &[u8]) {
    let is_token =
        !value.is_empty() && value.iter().all(|&b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b));
    if is_token {
        out.extend_from_slice(value);
    } else {
        push_quoted(out, value);
    }
}

/// Writes a quoted string, escaping `"` and `\` and dropping CR and LF.
fn push_quoted(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'"');
    for &b in value {
        match b {
            b'\r' | b'\n' => {}
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// A parsed `multipart/signed` entity.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultipartSigned<'a> {
    /// The first body part exactly as it appears in the input: everything
    /// between the line break ending the opening delimiter line and the line
    /// break preceding the second delimiter. For CRLF input these are the
    /// signed bytes; use [`Self::signed_content`] to get the canonical form
    /// whatever the input's line endings.
    pub signed: &'a [u8],
    /// The decoded detached signature (CMS `ContentInfo`, DER or BER).
    pub signature: Vec<u8>,
    /// The `protocol` parameter, lowercased, if present.
    pub protocol: Option<String>,
    /// The `micalg` parameter, lowercased, if present.
    pub micalg: Option<String>,
}

impl<'a> MultipartSigned<'a> {
    /// The signed bytes with CRLF line endings: borrowed when [`Self::signed`]
    /// has no bare LF, otherwise a copy with every bare LF turned into CRLF
    /// (undoing mail stores that rewrite line endings to LF). This is what the
    /// signature must be verified against. A bare CR is kept as it is, as
    /// OpenSSL does when verifying; content signed through
    /// [`signed_content_for`] never has one.
    #[must_use]
    pub fn signed_content(&self) -> Cow<'a, [u8]> {
        if has_bare_lf(self.signed) { Cow::Owned(lf_to_crlf(self.signed)) } else { Cow::Borrowed(self.signed) }
    }
}

/// Parses a `multipart/signed` S/MIME entity.
///
/// `entity` may be a whole message (outer header fields and body) or just the
/// MIME entity; the `Content-Type` of its header block must be
/// `multipart/signed`, with a `protocol` of `application/pkcs7-signature` or
/// `application/x-pkcs7-signature` (or none), and the second body part must be
/// of one of these types, base64 (or binary) encoded. Preamble, epilogue,
/// transport padding after delimiters and LF-only line endings are accepted; a
/// line that merely starts with the boundary is not a delimiter.
///
/// # Errors
///
/// Header errors ([`Error::NoHeaderBodySeparator`], [`Error::MalformedHeader`],
/// …), [`Error::NotMultipartSigned`], [`Error::UnsupportedProtocol`],
/// [`Error::MissingBoundary`], [`Error::InvalidBoundary`], delimiter errors,
/// [`Error::WrongPartCount`], [`Error::UnexpectedSignatureType`], and the
/// signature decoding errors ([`Error::Base64`], [`Error::EmptyPayload`], …).
pub fn parse_multipart_signed(entity: &[u8]) -> Result<MultipartSigned<'_>, Error> {
    let parsed = Entity::parse(entity)?;
    let content_type = parsed.content_type()?;
    if !content_type.is("multipart/signed") {
        return Err(Error::NotMultipartSigned { content_type: excerpt(content_type.media_type.as_bytes()) });
    }
    let protocol = content_type.param("protocol").map(str::to_ascii_lowercase);
    if let Some(protocol) = protocol.as_deref().filter(|p| !is_pkcs7_signature(p)) {
        return Err(Error::UnsupportedProtocol { protocol: excerpt(protocol.as_bytes()) });
    }
    let boundary = content_type.param("boundary").ok_or(Error::MissingBoundary)?;
    let parts = split_parts(parsed.body, boundary.as_bytes())?;
    let [signed, signature_part] = parts[..] else {
        return Err(Error::WrongPartCount { found: parts.len() });
    };
    Ok(MultipartSigned {
        signed,
        signature: decode_signature_part(signature_part)?,
        protocol,
        micalg: content_type.param("micalg").map(str::to_ascii_lowercase),
    })
}

/// Checks the type of the signature body part and decodes its content.
fn decode_signature_part(part: &[u8]) -> Result<Vec<u8>, Error> {
    let entity = Entity::parse(part)?;
    let content_type = entity.content_type()?;
    if !is_pkcs7_signature(&content_type.media_type) {
        return Err(Error::UnexpectedSignatureType { content_type: excerpt(content_type.media_type.as_bytes()) });
    }
    decode_cms_body(&entity)
}

/// Decodes the body of a part carrying CMS data according to its
/// `Content-Transfer-Encoding`: base64 (also assumed when the field is absent
/// or says 7bit, as no DER can be 7-bit text) or binary/8bit (taken verbatim).
pub(super) fn decode_cms_body(entity: &Entity<'_>) -> Result<Vec<u8>, Error> {
    let decoded = match entity.transfer_encoding().as_deref() {
        None | Some("base64" | "7bit") => decode_base64(entity.body)?,
        Some("binary" | "8bit") => entity.body.to_vec(),
        Some(other) => {
            return Err(Error::UnsupportedTransferEncoding { encoding: excerpt(other.as_bytes()) });
        }
    };
    if decoded.is_empty() {
        return Err(Error::EmptyPayload);
    }
    Ok(decoded)
}

/// What a line is with respect to a boundary.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delimiter {
    Open,
    Close,
}

/// Classifies a line (without its line ending): `--boundary` or
/// `--boundary--`, optionally followed by transport padding (spaces, tabs).
fn delimiter_kind(line: &[u8], boundary: &[u8]) -> Option<Delimiter> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    let (kind, rest) = match rest.strip_prefix(b"--") {
        Some(rest) => (Delimiter::Close, rest),
        None => (Delimiter::Open, rest),
    };
    rest.iter().all(|&b| b == b' ' || b == b'\t').then_some(kind)
}

/// Start of the line break (CRLF or LF) that ends just before `pos`, or `pos`
/// if there is none (at the start of the body).
fn before_line_break(body: &[u8], pos: usize) -> usize {
    let head = body.get(..pos).unwrap_or_default();
    if head.ends_with(b"\r\n") {
        pos - 2
    } else if head.ends_with(b"\n") {
        pos - 1
    } else {
        pos
    }
}

/// Splits a multipart body into its body parts (RFC 2046 §5.1.1).
///
/// Each part runs from after the line break of its opening delimiter line to
/// the line break preceding the next delimiter line (which belongs to that
/// delimiter). The preamble and the epilogue are discarded.
pub(super) fn split_parts<'a>(body: &'a [u8], boundary: &[u8]) -> Result<Vec<&'a [u8]>, Error> {
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY_LEN {
        return Err(Error::InvalidBoundary { len: boundary.len() });
    }
    let mut parts = Vec::new();
    let mut part_start: Option<usize> = None;
    let mut pos = 0;
    while pos < body.len() {
        let (content_end, next) = line_at(body, pos);
        let line = body.get(pos..content_end).unwrap_or_default();
        if let Some(kind) = delimiter_kind(line, boundary) {
            if let Some(start) = part_start {
                let end = before_line_break(body, pos).max(start);
                parts.push(body.get(start..end).unwrap_or_default());
            }
            if kind == Delimiter::Close {
                return if part_start.is_some() { Ok(parts) } else { Err(Error::MissingOpeningDelimiter) };
            }
            part_start = Some(next);
        }
        pos = next;
    }
    Err(if part_start.is_some() { Error::MissingClosingDelimiter } else { Error::MissingOpeningDelimiter })
}
