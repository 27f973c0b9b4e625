//! Two-step signing: build the to-be-signed bytes, have anyone sign them, assemble.
//!
//! This is what lets a browser's WebCrypto key (which never leaves WebCrypto) sign a
//! certificate that this crate builds: [`ToBeSigned::bytes`] goes to `crypto.subtle.sign`, and
//! the signature comes back to [`ToBeSigned::assemble`]. WebCrypto's ECDSA output is raw
//! `r || s`; say so with [`SignatureFormat::RawEcdsa`] and it is converted to DER.
//!
//! `assemble` verifies the signature against the expected signer's public key before it hands
//! anything back, so a wrong key or a corrupted signature never becomes a certificate.

use alloc::vec::Vec;
use core::marker::PhantomData;
use der::{
    Decode, Encode, Sequence,
    asn1::{AnyRef, BitString},
};
use rand_core::CryptoRng;
use spki::AlgorithmIdentifierOwned;
use x509_cert::{Certificate, crl::CertificateList, request::CertReq};

use crate::{Error, PrivateKey, PublicKey, Result, SignatureFormat};

/// Something made of `SEQUENCE { tbs, signatureAlgorithm, signature BIT STRING }`:
/// a certificate, a CSR or a CRL.
pub trait Signable: Sized + sealed::Sealed {
    /// What it is, for error messages.
    const WHAT: &'static str;
    /// Decodes the assembled DER.
    ///
    /// # Errors
    /// If the DER is malformed.
    fn decode(der: &[u8]) -> Result<Self>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for x509_cert::Certificate {}
    impl Sealed for x509_cert::request::CertReq {}
    impl Sealed for x509_cert::crl::CertificateList {}
}

impl Signable for Certificate {
    const WHAT: &'static str = "certificate";
    fn decode(der: &[u8]) -> Result<Self> {
        Certificate::from_der(der).map_err(Error::der("Certificate"))
    }
}

impl Signable for CertReq {
    const WHAT: &'static str = "CSR";
    fn decode(der: &[u8]) -> Result<Self> {
        CertReq::from_der(der).map_err(Error::der("CertificationRequest"))
    }
}

impl Signable for CertificateList {
    const WHAT: &'static str = "CRL";
    fn decode(der: &[u8]) -> Result<Self> {
        CertificateList::from_der(der).map_err(Error::der("CertificateList"))
    }
}

/// The outer `SEQUENCE` shared by certificates, CSRs and CRLs, with the TBS part kept as the
/// exact bytes that were signed.
#[derive(Sequence)]
struct SignedEnvelope<'a> {
    tbs: AnyRef<'a>,
    algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// To-be-signed bytes of a `T`, waiting for a signature from a known key.
#[derive(Debug, Clone)]
pub struct ToBeSigned<T> {
    tbs: Vec<u8>,
    algorithm: AlgorithmIdentifierOwned,
    signer: PublicKey,
    _kind: PhantomData<fn() -> T>,
}

impl<T: Signable> ToBeSigned<T> {
    pub(crate) fn new(tbs: Vec<u8>, signer: PublicKey) -> Self {
        let algorithm = signer.signature_algorithm();
        ToBeSigned { tbs, algorithm, signer, _kind: PhantomData }
    }

    /// The DER bytes to sign (the whole `TBSCertificate`, `CertificationRequestInfo` or
    /// `TBSCertList`). Sign them with SHA-256: RSASSA-PKCS1-v1_5 or ECDSA.
    pub fn bytes(&self) -> &[u8] {
        &self.tbs
    }

    /// The signature algorithm written inside the TBS bytes.
    pub fn algorithm(&self) -> &AlgorithmIdentifierOwned {
        &self.algorithm
    }

    /// The public key whose signature [`Self::assemble`] expects.
    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }

    /// Attaches a signature, after checking it against the expected signer key.
    ///
    /// # Errors
    /// [`Error::MalformedSignature`] if a raw ECDSA signature has the wrong size,
    /// [`Error::BadSignature`] if it does not verify.
    pub fn assemble(self, signature: &[u8], format: SignatureFormat) -> Result<T> {
        let sig = self.signer.normalize_signature(signature, format, T::WHAT)?;
        self.signer.verify(&self.algorithm.oid, None, &self.tbs, &sig, T::WHAT)?;
        let envelope = SignedEnvelope {
            tbs: AnyRef::from_der(&self.tbs).map_err(Error::der("to-be-signed data"))?,
            algorithm: self.algorithm.clone(),
            signature: BitString::from_bytes(&sig).map_err(Error::der("signature"))?,
        };
        T::decode(&envelope.to_der().map_err(Error::der(T::WHAT))?)
    }

    /// Signs with a key held here and assembles: the one-step path.
    ///
    /// # Errors
    /// As [`Self::assemble`]; [`Error::BadSignature`] if `key` is not the expected signer.
    pub fn sign<R: CryptoRng + ?Sized>(self, key: &PrivateKey, rng: &mut R) -> Result<T> {
        let sig = key.sign(&self.tbs, rng)?;
        self.assemble(&sig, SignatureFormat::Der)
    }
}

/// Verifies the signature on a certificate, CSR or CRL's DER encoding against `key`.
pub(crate) fn verify_signed_der(der: &[u8], key: &PublicKey, what: &'static str) -> Result<()> {
    let env = SignedEnvelope::from_der(der).map_err(Error::der(what))?;
    let tbs = env.tbs.to_der().map_err(Error::der(what))?;
    let sig = env.signature.as_bytes().ok_or(Error::MalformedSignature { what })?;
    key.verify(&env.algorithm.oid, None, &tbs, sig, what)
}
