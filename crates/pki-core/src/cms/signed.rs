//! SignedData: detached (for `multipart/signed`) and encapsulated (opaque) signatures.
//!
//! Signatures made here use SHA-256 and carry the signed attributes RFC 8551 §2.5 expects:
//! contentType, messageDigest, signingTime, SMIMECapabilities and
//! SMIMEEncryptionKeyPreference, plus the signer's certificate and its chain, so that a mail
//! client that receives the message learns the certificate and can encrypt a reply to it.

use alloc::{vec, vec::Vec};
use cms::{
    cert::CertificateChoices,
    content_info::CmsVersion,
    signed_data::{CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos},
};
use der::{
    Any, Decode, Encode, Sequence, Tagged,
    asn1::{ObjectIdentifier, OctetString, SetOfVec},
};
use rand_core::CryptoRng;
use spki::AlgorithmIdentifierOwned;
use x509_cert::{Certificate, attr::Attribute};

use super::report::{SignatureStatus, SignedReport, SignerReport};
use crate::{
    Error, PrivateKey, PublicKey, Result, UnixTime,
    key::DigestAlg,
    oid,
    path::{self, Usage, Verdict},
};

/// Who signs: the certificate, its private key, and the CA certificates to include.
#[derive(Clone, Copy)]
pub struct Signer<'a> {
    /// The signer's certificate.
    pub cert: &'a Certificate,
    /// Its private key.
    pub key: &'a PrivateKey,
    /// The intermediate (and optionally root) certificates to carry along.
    pub chain: &'a [Certificate],
}

/// Options for [`sign`].
#[derive(Clone, Copy, Debug)]
pub struct SignOptions {
    /// The signingTime attribute.
    pub signing_time: UnixTime,
    /// Detached (for multipart/signed; the default) or encapsulated (opaque signed-data).
    pub detached: bool,
}

/// `SMIMECapability` ([RFC 8551 §2.5.2](https://www.rfc-editor.org/rfc/rfc8551#section-2.5.2)):
/// ```text
/// SMIMECapability ::= SEQUENCE {
///    capabilityID OBJECT IDENTIFIER,
///    parameters ANY DEFINED BY capabilityID OPTIONAL }
/// SMIMECapabilities ::= SEQUENCE OF SMIMECapability
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct SmimeCapability {
    /// The algorithm.
    pub capability_id: ObjectIdentifier,
    /// Its parameters, if any.
    pub parameters: Option<Any>,
}

/// What this crate can decrypt, in order of preference. CBC first: it is what every client
/// can produce and what the relay has been measured with; GCM and OAEP follow so that clients
/// which prefer them know they may use them.
const CAPABILITIES: [ObjectIdentifier; 6] =
    [oid::AES256_CBC, oid::AES128_CBC, oid::AES256_GCM, oid::AES128_GCM, oid::RSA_ENCRYPTION, oid::RSAES_OAEP];

/// Signs `content` (for S/MIME: the canonical MIME entity) and returns a DER `ContentInfo`
/// holding SignedData.
///
/// # Errors
/// If the key does not match the certificate, or encoding fails.
pub fn sign<R: CryptoRng + ?Sized>(
    content: &[u8],
    signer: Signer<'_>,
    opts: SignOptions,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let cert_key = PublicKey::from_spki(signer.cert.tbs_certificate().subject_public_key_info())?;
    if cert_key != signer.key.public_key() {
        return Err(Error::InvalidKey { reason: "the private key does not match the signer certificate" });
    }
    let sha256 = AlgorithmIdentifierOwned { oid: oid::SHA256, parameters: None };
    let digest = DigestAlg::Sha256.hash(content);
    let attrs = signed_attributes(&digest, signer.cert, opts.signing_time)?;
    let to_sign = attrs.to_der().map_err(Error::der("signed attributes"))?;
    let signature = signer.key.sign(&to_sign, rng)?;
    let signature_algorithm = match cert_key {
        // What OpenSSL, gpgsm and NSS write for RSA: rsaEncryption, the digest given apart.
        PublicKey::Rsa(_) => {
            AlgorithmIdentifierOwned { oid: oid::RSA_ENCRYPTION, parameters: Some(der::asn1::Null.into()) }
        }
        _ => AlgorithmIdentifierOwned { oid: oid::ECDSA_WITH_SHA256, parameters: None },
    };
    let info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(super::issuer_and_serial(signer.cert)),
        digest_alg: sha256.clone(),
        signed_attrs: Some(attrs),
        signature_algorithm,
        signature: octets(&signature)?,
        unsigned_attrs: None,
    };
    let mut certs = vec![CertificateChoices::Certificate(signer.cert.clone())];
    certs.extend(signer.chain.iter().cloned().map(CertificateChoices::Certificate));
    let econtent =
        if opts.detached { None } else { Some(Any::encode_from(&octets(content)?).map_err(Error::der("eContent"))?) };
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha256]).map_err(Error::der("digestAlgorithms"))?,
        encap_content_info: EncapsulatedContentInfo { econtent_type: oid::CT_DATA, econtent },
        certificates: Some(CertificateSet(SetOfVec::try_from(certs).map_err(Error::der("certificates"))?)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![info]).map_err(Error::der("signerInfos"))?),
    };
    super::content_info(oid::CT_SIGNED_DATA, &sd)
}

fn signed_attributes(digest: &[u8], cert: &Certificate, time: UnixTime) -> Result<SetOfVec<Attribute>> {
    let caps = CAPABILITIES.iter().map(|o| SmimeCapability { capability_id: *o, parameters: None }).collect::<Vec<_>>();
    // SMIMEEncryptionKeyPreference ::= CHOICE { issuerAndSerialNumber [0] IMPLICIT ... }
    let pref = {
        let ias = super::issuer_and_serial(cert).to_der().map_err(Error::der("IssuerAndSerialNumber"))?;
        let mut tagged = ias;
        if let Some(first) = tagged.first_mut() {
            *first = 0xa0; // [0] constructed, replacing the SEQUENCE tag
        }
        Any::from_der(&tagged).map_err(Error::der("SMIMEEncryptionKeyPreference"))?
    };
    let attrs = vec![
        attribute(oid::AT_CONTENT_TYPE, Any::encode_from(&oid::CT_DATA))?,
        attribute(oid::AT_SIGNING_TIME, Any::encode_from(&time.to_x509()?))?,
        attribute(oid::AT_MESSAGE_DIGEST, Any::encode_from(&octets(digest)?))?,
        attribute(oid::AT_SMIME_CAPABILITIES, Any::encode_from(&caps))?,
        attribute(oid::AT_ENCRYPT_KEY_PREF, Ok(pref))?,
    ];
    SetOfVec::try_from(attrs).map_err(Error::der("signed attributes"))
}

fn attribute(id: ObjectIdentifier, value: der::Result<Any>) -> Result<Attribute> {
    let value = value.map_err(Error::der("attribute value"))?;
    Ok(Attribute { oid: id, values: SetOfVec::try_from(vec![value]).map_err(Error::der("attribute"))? })
}

fn octets(b: &[u8]) -> Result<OctetString> {
    OctetString::new(b).map_err(Error::der("OCTET STRING"))
}

/// Verifies a SignedData `ContentInfo` (DER or BER). For a detached signature pass the signed
/// content; for an opaque one pass `None`. Each signer's certificate is validated against
/// `anchor` at `time`, for signing.
///
/// # Errors
/// Only for structural problems (not a SignedData, no content); a signature that does not hold
/// is reported in [`SignerReport::signature`], not as an error.
pub fn verify(input: &[u8], detached: Option<&[u8]>, anchor: &Certificate, time: UnixTime) -> Result<SignedReport> {
    verify_with(input, detached, anchor, &[], time)
}

/// As [`verify`], with intermediates the verifier already holds (senders often leave them out
/// of the SignedData) added to the ones the SignedData carries.
///
/// # Errors
/// As [`verify`].
pub fn verify_with(
    input: &[u8],
    detached: Option<&[u8]>,
    anchor: &Certificate,
    intermediates: &[Certificate],
    time: UnixTime,
) -> Result<SignedReport> {
    verify_inner(input, detached, anchor, intermediates, time, true)
}

/// As [`verify_with`]; with `keep_detached` false, the report's `content` is left empty for
/// detached content (the caller holds it), so a large message is not copied.
pub(crate) fn verify_inner(
    input: &[u8],
    detached: Option<&[u8]>,
    anchor: &Certificate,
    intermediates: &[Certificate],
    time: UnixTime,
    keep_detached: bool,
) -> Result<SignedReport> {
    let (ct, sd, ber): (_, SignedData, _) = super::read_content_info_ber(input)?;
    if ct != oid::CT_SIGNED_DATA {
        return Err(Error::UnexpectedContentType { found: ct });
    }
    let content: alloc::borrow::Cow<'_, [u8]> = match (&sd.encap_content_info.econtent, detached) {
        (Some(any), _) => encapsulated_octets(any, ber.then_some(input))?.into(),
        (None, Some(c)) => c.into(),
        (None, None) => return Err(Error::Cms { reason: "detached signature without the signed content" }),
    };
    let certificates: Vec<Certificate> = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let mut pool = certificates.clone();
    pool.extend(intermediates.iter().filter(|c| !certificates.contains(c)).cloned());
    let signers = sd
        .signer_infos
        .0
        .iter()
        .map(|si| check_signer(si, &sd.encap_content_info.econtent_type, &content, &pool, anchor, time))
        .collect();
    // Detached content is the caller's own: it is copied only for a caller that keeps it.
    let content =
        if keep_detached || sd.encap_content_info.econtent.is_some() { content.into_owned() } else { Vec::new() };
    Ok(SignedReport { content, signers, certificates })
}

/// The encapsulated content's octets. For BER input (OpenSSL's `-stream`) they are read from
/// the original encoding, where a constructed OCTET STRING's chunks are joined.
fn encapsulated_octets(any: &Any, ber: Option<&[u8]>) -> Result<Vec<u8>> {
    if any.tag() != der::Tag::OctetString {
        return Err(Error::Cms { reason: "eContent is not an OCTET STRING" });
    }
    match ber {
        Some(input) => super::ber::signed_data_econtent(input).ok_or(Error::Cms { reason: "unreadable BER eContent" }),
        None => Ok(any.value().to_vec()),
    }
}

fn check_signer(
    si: &SignerInfo,
    econtent_type: &ObjectIdentifier,
    content: &[u8],
    certs: &[Certificate],
    anchor: &Certificate,
    time: UnixTime,
) -> SignerReport {
    let cert = certs.iter().find(|c| sid_matches(&si.sid, c)).cloned();
    let (signing_time, capabilities) = read_attributes(si);
    let chain = match &cert {
        Some(c) => path::validate(c, certs, anchor, time, Usage::Sign),
        None => Verdict::Invalid {
            position: 0,
            role: path::Role::EndEntity,
            subject: alloc::string::String::new(),
            failure: path::Failure::IssuerNotFound,
        },
    };
    let signature = match &cert {
        Some(c) => signature_status(si, econtent_type, content, c),
        None => SignatureStatus::SignerCertificateMissing,
    };
    SignerReport { cert, signature, chain, signing_time, capabilities }
}

fn sid_matches(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => *ias == super::issuer_and_serial(cert),
        SignerIdentifier::SubjectKeyIdentifier(ski) => cert
            .tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .is_some_and(|(_, own)| own.0.as_bytes() == ski.0.as_bytes()),
    }
}

fn signature_status(
    si: &SignerInfo,
    econtent_type: &ObjectIdentifier,
    content: &[u8],
    cert: &Certificate,
) -> SignatureStatus {
    let Ok(digest_alg) = DigestAlg::from_oid(&si.digest_alg.oid) else {
        return SignatureStatus::Unsupported { oid: si.digest_alg.oid };
    };
    let Ok(key) = PublicKey::from_spki(cert.tbs_certificate().subject_public_key_info()) else {
        return SignatureStatus::Unsupported { oid: cert.tbs_certificate().subject_public_key_info().algorithm.oid };
    };
    let digest = digest_alg.hash(content);
    let signed_bytes = match &si.signed_attrs {
        Some(attrs) => {
            match single_value::<OctetString>(attrs, oid::AT_MESSAGE_DIGEST) {
                Some(md) if md.as_bytes() == digest.as_slice() => {}
                _ => return SignatureStatus::DigestMismatch,
            }
            match single_value::<ObjectIdentifier>(attrs, oid::AT_CONTENT_TYPE) {
                Some(t) if t == *econtent_type => {}
                _ => return SignatureStatus::ContentTypeMismatch,
            }
            match attrs.to_der() {
                Ok(d) => d,
                Err(_) => return SignatureStatus::BadSignature,
            }
        }
        None => content.to_vec(),
    };
    match key.verify(
        &si.signature_algorithm.oid,
        Some(si.digest_alg.oid),
        &signed_bytes,
        si.signature.as_bytes(),
        "SignedData",
    ) {
        Ok(()) => SignatureStatus::Valid,
        Err(Error::UnsupportedAlgorithm { oid, .. }) => SignatureStatus::Unsupported { oid },
        Err(_) => SignatureStatus::BadSignature,
    }
}

fn single_value<T: for<'a> Decode<'a, Error = der::Error>>(
    attrs: &SetOfVec<Attribute>,
    id: ObjectIdentifier,
) -> Option<T> {
    let mut found = attrs.iter().filter(|a| a.oid == id);
    let attr = found.next()?;
    if found.next().is_some() || attr.values.len() != 1 {
        return None;
    }
    T::from_der(&attr.values.iter().next()?.to_der().ok()?).ok()
}

fn read_attributes(si: &SignerInfo) -> (Option<UnixTime>, Vec<ObjectIdentifier>) {
    let Some(attrs) = &si.signed_attrs else { return (None, Vec::new()) };
    let time = single_value::<x509_cert::time::Time>(attrs, oid::AT_SIGNING_TIME).map(|t| UnixTime::from_x509(&t));
    let caps = single_value::<Vec<SmimeCapability>>(attrs, oid::AT_SMIME_CAPABILITIES)
        .map(|c| c.into_iter().map(|c| c.capability_id).collect())
        .unwrap_or_default();
    (time, caps)
}

/// The SMIMECapabilities of the first signer of a SignedData, unverified.
///
/// # Errors
/// If the input is not a SignedData.
pub fn signer_capabilities(input: &[u8]) -> Result<Vec<ObjectIdentifier>> {
    let (ct, sd): (_, SignedData) = super::read_content_info(input)?;
    if ct != oid::CT_SIGNED_DATA {
        return Err(Error::UnexpectedContentType { found: ct });
    }
    Ok(sd.signer_infos.0.iter().next().map(|si| read_attributes(si).1).unwrap_or_default())
}
