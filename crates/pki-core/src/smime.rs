//! S/MIME messages ([RFC 8551](https://www.rfc-editor.org/rfc/rfc8551)): whole RFC 5322
//! messages signed, encrypted, decrypted and verified.
//!
//! Mail clients expect the routing headers (From, To, Subject, Date, Message-ID, …) outside
//! the CMS, and the MIME entity (its `Content-*` headers and body) inside. These functions
//! split a message accordingly, work on the entity in canonical CRLF form, and put the outer
//! headers back on the result.

use alloc::vec::Vec;
use der::asn1::ObjectIdentifier;
use rand_core::CryptoRng;
use x509_cert::Certificate;

use crate::{
    Error, PrivateKey, Result, UnixTime,
    cms::{self, ContentCipher, Envelope, SignOptions, SignedReport, Signer},
    mime::{self, SmimeType},
    oid,
};

/// Signs a message: its entity becomes the first part of a `multipart/signed` with a detached
/// SHA-256 SignedData (`micalg=sha-256`) carrying the signer's chain.
///
/// # Errors
/// If the message has no header block, or signing fails.
pub fn sign_message<R: CryptoRng + ?Sized>(
    msg: &[u8],
    signer: Signer<'_>,
    time: UnixTime,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let split = mime::split_message(msg)?;
    let entity = sign_entity(&split.entity(), signer, time, rng)?;
    Ok(mime::join_message(&split.outer_headers, &entity))
}

/// Signs a MIME entity and returns the `multipart/signed` entity.
///
/// # Errors
/// If signing fails.
pub fn sign_entity<R: CryptoRng + ?Sized>(
    entity: &[u8],
    signer: Signer<'_>,
    time: UnixTime,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(entity.len().saturating_add(8192));
    out.extend_from_slice(entity);
    sign_entity_in_place(&mut out, signer, time, rng)?;
    Ok(out)
}

/// As [`sign_entity`], in place: `entity` becomes the `multipart/signed` entity. Canonical
/// input (CRLF line ends, as mail comes over SMTP) is signed where it lies, so a large message
/// is never held twice.
///
/// # Errors
/// If signing fails; `entity` is then left canonicalized but not signed.
pub fn sign_entity_in_place<R: CryptoRng + ?Sized>(
    entity: &mut Vec<u8>,
    signer: Signer<'_>,
    time: UnixTime,
    rng: &mut R,
) -> Result<()> {
    mime::canonicalize_in_place(entity);
    let der = cms::sign(entity, signer, SignOptions { signing_time: time, detached: true }, rng)?;
    let mut random = [0u8; 16];
    rng.fill_bytes(&mut random);
    let boundary = mime::boundary_from_bytes(&random);
    mime::build_multipart_signed_in_place(entity, &der, "sha-256", &boundary);
    Ok(())
}

/// Encrypts a message to `recipients`: the entity becomes an `application/pkcs7-mime`
/// (`smime-type=enveloped-data`, or `authEnveloped-data` for AES-GCM), base64 in 76-column
/// CRLF lines.
///
/// # Errors
/// If there are no recipients, a recipient key is unsupported, or the message has no header
/// block.
pub fn encrypt_message<R: CryptoRng + ?Sized>(
    msg: &[u8],
    recipients: &[Certificate],
    cipher: ContentCipher,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let split = mime::split_message(msg)?;
    let entity = encrypt_entity(&split.entity(), recipients, cipher, rng)?;
    Ok(mime::join_message(&split.outer_headers, &entity))
}

/// Encrypts a MIME entity and returns the `application/pkcs7-mime` entity.
///
/// # Errors
/// As [`encrypt_message`].
pub fn encrypt_entity<R: CryptoRng + ?Sized>(
    entity: &[u8],
    recipients: &[Certificate],
    cipher: ContentCipher,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(entity.len().saturating_add(4096));
    out.extend_from_slice(entity);
    encrypt_entity_in_place(&mut out, recipients, cipher, rng)?;
    Ok(out)
}

/// As [`encrypt_entity`], in place: `entity` becomes the `application/pkcs7-mime` entity. It is
/// encrypted where it lies, and its base64 is written over the ciphertext, so a large message
/// is never held twice; at the end the vector holds about 1.37 times the entity.
///
/// # Errors
/// As [`encrypt_message`]. On an error, `entity` may hold a partial result; discard it.
pub fn encrypt_entity_in_place<R: CryptoRng + ?Sized>(
    entity: &mut Vec<u8>,
    recipients: &[Certificate],
    cipher: ContentCipher,
    rng: &mut R,
) -> Result<()> {
    let mut envelope = Envelope::new(cipher);
    for r in recipients {
        envelope = envelope.recipient(r)?;
    }
    mime::canonicalize_in_place(entity);
    // Room for the padding, the CMS structure and the base64 at once: growing in steps would
    // copy the data at each step.
    let der_len = entity.len().saturating_add(512).saturating_add(recipients.len().saturating_mul(1024));
    let target = (der_len / 57).saturating_add(1).saturating_mul(78).saturating_add(512);
    entity.reserve_exact(target.saturating_sub(entity.len()));
    envelope.seal_in_place(entity, rng)?;
    let kind = if cipher == ContentCipher::Aes256Gcm { SmimeType::AuthEnvelopedData } else { SmimeType::EnvelopedData };
    mime::build_pkcs7_mime_in_place(entity, kind);
    Ok(())
}

/// Signs, then encrypts (RFC 8551 §3.7): the usual order, so the signature is hidden too.
///
/// # Errors
/// As [`sign_message`] and [`encrypt_message`].
pub fn sign_and_encrypt_message<R: CryptoRng + ?Sized>(
    msg: &[u8],
    signer: Signer<'_>,
    recipients: &[Certificate],
    cipher: ContentCipher,
    time: UnixTime,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let split = mime::split_message(msg)?;
    let signed = sign_entity(&split.entity(), signer, time, rng)?;
    let encrypted = encrypt_entity(&signed, recipients, cipher, rng)?;
    Ok(mime::join_message(&split.outer_headers, &encrypted))
}

/// Decrypts an `application/pkcs7-mime` enveloped (or authEnveloped) message and returns the
/// message with its outer headers and the decrypted entity.
///
/// # Errors
/// [`Error::Mime`] if it is not an encrypted S/MIME message; the errors of [`cms::open`].
pub fn decrypt_message<R: CryptoRng + ?Sized>(
    msg: &[u8],
    cert: &Certificate,
    key: &PrivateKey,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let mut out = msg.to_vec();
    decrypt_message_in_place(&mut out, &[(cert, key)], rng)?;
    Ok(out)
}

/// As [`decrypt_message`], in `msg` itself, with the first of `keys` that a RecipientInfo
/// names: the body is base64-decoded and decrypted where it lies, so that a large message costs
/// no second copy. On success `msg` holds what [`decrypt_message`] returns.
///
/// # Errors
/// As [`decrypt_message`]; [`Error::NoMatchingRecipient`] if no RecipientInfo names any of
/// `keys`. On error `msg` is unspecified.
pub fn decrypt_message_in_place<R: CryptoRng + ?Sized>(
    msg: &mut Vec<u8>,
    keys: &[(&Certificate, &PrivateKey)],
    rng: &mut R,
) -> Result<()> {
    let (outer, content_headers, body_start) = {
        let split = mime::split_message(msg)?;
        (split.outer_headers, split.content_headers, msg.len() - split.body.len())
    };
    let smime_type = mime::decode_pkcs7_mime_in_place(&content_headers, msg, body_start)?;
    if matches!(smime_type, Some(SmimeType::SignedData | SmimeType::CertsOnly | SmimeType::CompressedData)) {
        return Err(Error::Cms { reason: "the message is not encrypted" });
    }
    let mut result = Err(Error::NoMatchingRecipient);
    for (cert, key) in keys {
        result = cms::open_at(msg, body_start, cert, key, rng);
        if !matches!(result, Err(Error::NoMatchingRecipient)) {
            break;
        }
    }
    result?;
    // As `mime::join_message`: the outer fields (no `Content-*`), a MIME-Version, the entity
    // in canonical form.
    let head = mime::join_message(&outer, b"");
    let entity_start = head.len();
    msg.splice(..body_start, head);
    if !mime::is_canonical(&msg[entity_start..]) {
        let canonical = mime::canonicalize(&msg[entity_start..]);
        msg.truncate(entity_start);
        msg.extend_from_slice(&canonical);
    }
    Ok(())
}

/// A verified message. `Debug` shows the message's length, not its bytes; `report`'s `Display`
/// is the verdict in words.
#[non_exhaustive]
pub struct VerifiedMessage {
    /// The message with its outer headers and the signed entity (without the signature).
    pub message: Vec<u8>,
    /// The signature report.
    pub report: SignedReport,
}

impl core::fmt::Debug for VerifiedMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VerifiedMessage")
            .field("message", &format_args!("<{} bytes>", self.message.len()))
            .field("report", &self.report)
            .finish()
    }
}

/// Verifies a signed message, `multipart/signed` or opaque `application/pkcs7-mime;
/// smime-type=signed-data`, against `anchor` at `time`.
///
/// # Errors
/// If it is not a signed S/MIME message or is malformed. A signature that does not hold is
/// reported in [`VerifiedMessage::report`], not as an error.
pub fn verify_message(msg: &[u8], anchor: &Certificate, time: UnixTime) -> Result<VerifiedMessage> {
    verify_message_with(msg, anchor, &[], time)
}

/// As [`verify_message`], with intermediates the verifier already holds.
///
/// # Errors
/// As [`verify_message`].
pub fn verify_message_with(
    msg: &[u8],
    anchor: &Certificate,
    intermediates: &[Certificate],
    time: UnixTime,
) -> Result<VerifiedMessage> {
    let split = mime::split_message(msg)?;
    let entity = split.entity();
    let report = match mime::classify(&entity) {
        mime::Kind::MultipartSigned => {
            let ms = mime::parse_multipart_signed(&entity)?;
            cms::signed::verify_with(&ms.signature, Some(&ms.signed_content()), anchor, intermediates, time)?
        }
        mime::Kind::Pkcs7Mime(_) => {
            let p7 = mime::parse_pkcs7_mime(&entity)?;
            if cms::content_type(&p7.der)? != oid::CT_SIGNED_DATA {
                return Err(Error::Cms { reason: "the message is not signed" });
            }
            cms::signed::verify_with(&p7.der, None, anchor, intermediates, time)?
        }
        _ => return Err(Error::Cms { reason: "the message is not signed" }),
    };
    let message = mime::join_message(&split.outer_headers, &report.content);
    Ok(VerifiedMessage { message, report })
}

/// As [`verify_message_with`], for a caller that needs only the verdict: the message is not
/// copied. For a `multipart/signed` message the report's `content` is empty (the signed part
/// is the caller's own, in `msg`); for an opaque signed one it holds the encapsulated content.
///
/// # Errors
/// As [`verify_message_with`].
pub fn verify_signature_with(
    msg: &[u8],
    anchor: &Certificate,
    intermediates: &[Certificate],
    time: UnixTime,
) -> Result<SignedReport> {
    match mime::split_message(msg)?.kind() {
        mime::Kind::MultipartSigned => {
            let ms = mime::parse_multipart_signed(msg)?;
            cms::signed::verify_inner(&ms.signature, Some(&ms.signed_content()), anchor, intermediates, time, false)
        }
        mime::Kind::Pkcs7Mime(_) => verify_message_with(msg, anchor, intermediates, time).map(|v| v.report),
        _ => Err(Error::Cms { reason: "the message is not signed" }),
    }
}

/// Reads the SMIMECapabilities a sender advertised in a signed message (in their order of
/// preference), without judging the signature or its chain.
///
/// # Errors
/// If the message is not a signed S/MIME message.
pub fn capabilities(msg: &[u8]) -> Result<Vec<ObjectIdentifier>> {
    let split = mime::split_message(msg)?;
    let entity = split.entity();
    let der = match mime::classify(&entity) {
        mime::Kind::MultipartSigned => mime::parse_multipart_signed(&entity)?.signature,
        mime::Kind::Pkcs7Mime(_) => mime::parse_pkcs7_mime(&entity)?.der,
        _ => return Err(Error::Cms { reason: "the message is not signed" }),
    };
    cms::signed::signer_capabilities(&der)
}
