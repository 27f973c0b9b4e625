//! CMS ([RFC 5652](https://www.rfc-editor.org/rfc/rfc5652)): EnvelopedData and
//! AuthEnvelopedData (encryption) and SignedData (signatures), built and opened here on top of
//! the `cms` crate's ASN.1 types.
//!
//! Defaults follow what mail clients read, as measured against OpenSSL, gpgsm, NSS/Thunderbird
//! and Outlook: EnvelopedData with
//! AES-256-CBC, RSA PKCS#1 v1.5 key transport, ECDH `dhSinglePass-stdDH-sha256kdf` with
//! AES-256 key wrap for P-256 recipients. AES-GCM AuthEnvelopedData and RSA-OAEP are options
//! for recipients that advertised them: gpgsm, NSS and Outlook cannot open AES-GCM.
//!
//! The `cms` crate's own KARI builder wraps the content key under an all-zero KEK; it is never
//! used here. Its ECDH code is replaced by this module's ([`Envelope`]).
//!
//! | task | items |
//! |---|---|
//! | encrypt | [`Envelope`], [`ContentCipher`], [`KeyTransport`] |
//! | decrypt | [`open()`], [`Opened`] |
//! | sign | [`sign`], [`Signer`], [`SignOptions`] |
//! | verify | [`verify`], [`verify_with`], [`SignedReport`], [`SignerReport`], [`SignatureStatus`] |

use alloc::vec::Vec;
use cms::{cert::IssuerAndSerialNumber, content_info::ContentInfo};
use der::{Any, Decode, Encode, asn1::ObjectIdentifier};
use x509_cert::Certificate;

use crate::{Error, Result};

mod ber;
mod envelope;
mod open;
mod primitives;
mod report;
// `pub(crate)` for `smime`; everything public in it is re-exported below.
pub(crate) mod signed;

pub use envelope::{ContentCipher, Envelope, KeyTransport};
pub(crate) use open::open_at;
pub use open::{Opened, open, open_in_place};
pub use report::{SignatureStatus, SignedReport, SignerReport};
pub use signed::{SignOptions, Signer, SmimeCapability, sign, signer_capabilities, verify, verify_with};

/// Wraps an inner structure in a `ContentInfo` and encodes it as DER.
pub(crate) fn content_info<T: Encode>(content_type: ObjectIdentifier, inner: &T) -> Result<Vec<u8>> {
    let der = inner.to_der().map_err(Error::der("CMS content"))?;
    let ci = ContentInfo { content_type, content: Any::from_der(&der).map_err(Error::der("CMS content"))? };
    ci.to_der().map_err(Error::der("ContentInfo"))
}

/// Reads a `ContentInfo` given as DER or as BER (OpenSSL's `-stream` output uses indefinite
/// lengths and constructed OCTET STRINGs), returning its type and the inner structure decoded
/// as `T`.
pub(crate) fn read_content_info<T: for<'a> Decode<'a, Error = der::Error>>(
    input: &[u8],
) -> Result<(ObjectIdentifier, T)> {
    read_content_info_ber(input).map(|(t, v, _)| (t, v))
}

/// As [`read_content_info`], also telling whether the input needed BER rules.
pub(crate) fn read_content_info_ber<T: for<'a> Decode<'a, Error = der::Error>>(
    input: &[u8],
) -> Result<(ObjectIdentifier, T, bool)> {
    let (ci, ber) = match ContentInfo::from_der(input) {
        Ok(ci) => (ci, false),
        Err(_) => (ContentInfo::from_ber(input).map_err(Error::der("ContentInfo"))?, true),
    };
    let inner = ci.content.to_der().map_err(Error::der("ContentInfo"))?;
    let value = T::from_der(&inner).or_else(|_| T::from_ber(&inner)).map_err(Error::der("CMS content"))?;
    Ok((ci.content_type, value, ber))
}

/// The content type of a `ContentInfo`, without decoding the rest.
///
/// # Errors
/// If the input is not a ContentInfo.
pub fn content_type(input: &[u8]) -> Result<ObjectIdentifier> {
    let ci =
        ContentInfo::from_der(input).or_else(|_| ContentInfo::from_ber(input)).map_err(Error::der("ContentInfo"))?;
    Ok(ci.content_type)
}

pub(crate) fn issuer_and_serial(cert: &Certificate) -> IssuerAndSerialNumber {
    IssuerAndSerialNumber {
        issuer: cert.tbs_certificate().issuer().clone(),
        serial_number: cert.tbs_certificate().serial_number().clone(),
    }
}
