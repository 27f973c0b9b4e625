//! PKCS#10 certification requests ([RFC 2986](https://www.rfc-editor.org/rfc/rfc2986)).
//!
//! During the ceremony the user's side makes the end-entity key pair and sends a CSR; the relay
//! checks the proof of possession (the CSR's self-signature) and reads the mailboxes it asks
//! for, from the subjectAltName of the extensionRequest attribute and from emailAddress
//! attributes of the subject.

use alloc::{
    string::{String, ToString},
    vec,
    vec::Vec,
};
use der::{
    Decode, Encode,
    asn1::{Ia5String, SetOfVec},
};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::{
    attr::Attribute,
    ext::pkix::{SubjectAltName, name::GeneralName},
    name::Name,
    request::{CertReq, CertReqInfo, Version},
};

use crate::{Error, PublicKey, Result, address::Mailbox, cert, oid, sign::ToBeSigned};

/// Builds the to-be-signed part of a CSR for `mailbox`: subject `CN=mailbox`, and an
/// extensionRequest with a subjectAltName rfc822Name. Sign it with the key itself
/// ([`ToBeSigned::sign`], or WebCrypto and [`ToBeSigned::assemble`]).
///
/// # Errors
/// If encoding fails.
pub fn build(mailbox: &Mailbox, key: &PublicKey) -> Result<ToBeSigned<CertReq>> {
    let san = SubjectAltName(vec![GeneralName::Rfc822Name(
        Ia5String::new(mailbox.as_str()).map_err(|_| Error::InvalidAddress { address: mailbox.to_string() })?,
    )]);
    let exts = vec![cert::ext(oid::CE_SUBJECT_ALT_NAME, false, &san)?];
    let value = der::Any::encode_from(&exts).map_err(Error::der("extensionRequest"))?;
    let attr = Attribute {
        oid: oid::AT_EXTENSION_REQUEST,
        values: SetOfVec::try_from(vec![value]).map_err(Error::der("attribute"))?,
    };
    let info = CertReqInfo {
        version: Version::V1,
        subject: cert::common_name_only(mailbox.as_str())?,
        public_key: key.to_spki()?,
        attributes: SetOfVec::try_from(vec![attr]).map_err(Error::der("attributes"))?,
    };
    let der = info.to_der().map_err(Error::der("CertificationRequestInfo"))?;
    Ok(ToBeSigned::new(der, key.clone()))
}

/// A CSR whose proof of possession has been checked.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifiedCsr {
    /// The requested subject.
    pub subject: Name,
    /// The public key (proven: the CSR is signed with it).
    pub public_key: PublicKey,
    /// The same key as a SubjectPublicKeyInfo.
    pub spki: SubjectPublicKeyInfoOwned,
    /// Requested mail addresses, as written (SAN rfc822Names first, then emailAddress
    /// attributes of the subject); duplicates removed.
    pub mailboxes: Vec<String>,
}

impl VerifiedCsr {
    /// Parses a DER CSR and verifies its self-signature.
    ///
    /// # Errors
    /// [`Error::Der`] for malformed input, [`Error::BadSignature`] if the proof of possession
    /// fails, [`Error::UnsupportedAlgorithm`] / [`Error::InvalidKey`] for keys this crate does
    /// not handle.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let req = CertReq::from_der(der).map_err(Error::der("CertificationRequest"))?;
        let public_key = PublicKey::from_spki(&req.info.public_key)?;
        crate::sign::verify_signed_der(der, &public_key, "CSR")?;
        let mut mailboxes: Vec<String> = Vec::new();
        for attr in req.info.attributes.iter().filter(|a| a.oid == oid::AT_EXTENSION_REQUEST) {
            for value in attr.values.iter() {
                let exts: Vec<x509_cert::ext::Extension> = value.decode_as().map_err(Error::der("extensionRequest"))?;
                for e in exts.iter().filter(|e| e.extn_id == oid::CE_SUBJECT_ALT_NAME) {
                    let san =
                        SubjectAltName::from_der(e.extn_value.as_bytes()).map_err(Error::der("subjectAltName"))?;
                    mailboxes.extend(san.0.iter().filter_map(|n| match n {
                        GeneralName::Rfc822Name(m) => Some(m.to_string()),
                        _ => None,
                    }));
                }
            }
        }
        for atv in req.info.subject.iter().filter(|a| a.oid == oid::AT_EMAIL_ADDRESS) {
            let v: Ia5String = atv.value.decode_as().map_err(Error::der("emailAddress"))?;
            mailboxes.push(v.to_string());
        }
        let mut seen = Vec::new();
        mailboxes.retain(|m| {
            let fresh = !seen.contains(m);
            seen.push(m.clone());
            fresh
        });
        Ok(VerifiedCsr { subject: req.info.subject.clone(), public_key, spki: req.info.public_key.clone(), mailboxes })
    }

    /// Parses a PEM CSR (`-----BEGIN CERTIFICATE REQUEST-----`) and verifies it.
    ///
    /// # Errors
    /// As [`Self::from_der`], and [`Error::Pem`].
    pub fn from_pem(pem: &str) -> Result<Self> {
        Self::from_der(&crate::pem::single(pem.as_bytes(), "CERTIFICATE REQUEST")?)
    }
}
