//! Certificate revocation lists ([RFC 5280 §5](https://www.rfc-editor.org/rfc/rfc5280#section-5)).
//!
//! The relay's intermediate signs a CRL listing the recipient certificates it has revoked
//! (a blocked contact, a retired profile), with a CRL number and an AuthorityKeyIdentifier.

use alloc::{vec, vec::Vec};
use der::{Decode, Encode, asn1::OctetString};
use x509_cert::{
    Certificate,
    certificate::Version,
    crl::{CertificateList, RevokedCert, TbsCertList},
    ext::pkix::{AuthorityKeyIdentifier, CrlNumber},
    serial_number::SerialNumber,
};

use crate::{
    Error, PublicKey, Result, UnixTime,
    cert::{self, Issuer},
    oid,
    sign::ToBeSigned,
};

/// One revoked certificate.
#[derive(Clone, Debug)]
pub struct Revoked {
    /// Its serial number.
    pub serial: SerialNumber,
    /// When it was revoked.
    pub at: UnixTime,
}

impl Revoked {
    /// The entry for a certificate, revoked at `at`.
    pub fn certificate(cert: &Certificate, at: UnixTime) -> Self {
        Revoked { serial: cert.tbs_certificate().serial_number().clone(), at }
    }
}

/// Builds a v2 CRL issued by `issuer`, valid from `this_update` to `next_update`.
///
/// # Errors
/// If `next_update` is not after `this_update`, or encoding fails.
pub fn build(
    issuer: &Issuer,
    revoked: &[Revoked],
    crl_number: u64,
    this_update: UnixTime,
    next_update: UnixTime,
) -> Result<ToBeSigned<CertificateList>> {
    if next_update <= this_update {
        return Err(Error::Profile { reason: "CRL nextUpdate must follow thisUpdate".into() });
    }
    let entries = revoked
        .iter()
        .map(|r| {
            Ok(RevokedCert {
                serial_number: r.serial.clone(),
                revocation_date: r.at.to_x509()?,
                crl_entry_extensions: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let number = der::asn1::Uint::new(&crl_number.to_be_bytes()).map_err(Error::der("CRL number"))?;
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(issuer.key_id()).map_err(Error::der("key identifier"))?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let tbs = TbsCertList {
        version: Version::V2,
        signature: issuer.public_key().signature_algorithm(),
        issuer: issuer.name().clone(),
        this_update: this_update.to_x509()?,
        next_update: Some(next_update.to_x509()?),
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(vec![
            cert::ext(oid::CE_AUTHORITY_KEY_ID, false, &aki)?,
            cert::ext(oid::CE_CRL_NUMBER, false, &CrlNumber(number))?,
        ]),
    };
    let der = tbs.to_der().map_err(Error::der("TBSCertList"))?;
    Ok(ToBeSigned::new(der, issuer.public_key().clone()))
}

/// Parses a DER CRL and checks its signature against the issuer's certificate.
///
/// # Errors
/// [`Error::Der`] if malformed, [`Error::BadSignature`] if not signed by `issuer`.
pub fn verify(der: &[u8], issuer: &Certificate) -> Result<CertificateList> {
    let crl = CertificateList::from_der(der).map_err(Error::der("CertificateList"))?;
    if crl.tbs_cert_list.issuer != *issuer.tbs_certificate().subject() {
        return Err(Error::BadSignature { what: "CRL (issuer name differs)" });
    }
    let key = PublicKey::from_spki(issuer.tbs_certificate().subject_public_key_info())?;
    crate::sign::verify_signed_der(der, &key, "CRL")?;
    Ok(crl)
}

/// Is `cert` listed in `crl`?
pub fn is_revoked(crl: &CertificateList, cert: &Certificate) -> bool {
    crl.tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .any(|r| r.serial_number == *cert.tbs_certificate().serial_number())
}
