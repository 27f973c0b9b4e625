//! Keys: generation, PKCS#8 in and out, signing and verification.
//!
//! RSA-2048 is the default everywhere (every S/MIME client reads it); RSA-3072 and P-256 are
//! options. P-384 and RSA up to 4096 bits are accepted when *verifying* what others made.
//! Private keys are zeroized on drop by the underlying RustCrypto types, and every encoding of
//! one this module returns is wrapped in [`Zeroizing`].

use alloc::{string::String, vec::Vec};
use der::{Decode, Encode, asn1::ObjectIdentifier, pem::LineEnding};
use pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rand_core::CryptoRng;
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::hazmat::PrehashVerifier;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

use crate::{Error, Result, oid};

/// The kinds of key this crate can generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA, 2048-bit modulus, e = 65537. The default: every client reads it.
    Rsa2048,
    /// RSA, 3072-bit modulus.
    Rsa3072,
    /// ECDSA / ECDH on NIST P-256.
    P256,
}

impl KeyAlgorithm {
    /// Parses `rsa2048`, `rsa3072` or `p256`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "rsa2048" | "rsa-2048" | "rsa" => Some(Self::Rsa2048),
            "rsa3072" | "rsa-3072" => Some(Self::Rsa3072),
            "p256" | "p-256" | "ec" | "secp256r1" => Some(Self::P256),
            _ => None,
        }
    }
}

/// A private key. Its secret material is zeroized when it is dropped.
pub struct PrivateKey(Inner);

enum Inner {
    Rsa(alloc::boxed::Box<rsa::PrivateKey>),
    P256(alloc::boxed::Box<P256Key>),
}

/// A P-256 key with its signing key (and so its public point) computed once.
struct P256Key {
    secret: p256::SecretKey,
    signing: p256::ecdsa::SigningKey,
}

impl P256Key {
    fn inner(secret: p256::SecretKey) -> Inner {
        let signing = p256::ecdsa::SigningKey::from(&secret);
        Inner::P256(alloc::boxed::Box::new(P256Key { secret, signing }))
    }
}

impl core::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = match &self.0 {
            Inner::Rsa(_) => "Rsa",
            Inner::P256(_) => "P256",
        };
        f.debug_struct("PrivateKey").field("kind", &kind).finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Generates a key with the caller's RNG.
    ///
    /// # Errors
    /// [`Error::KeyGeneration`] if the RNG fails or no prime is found.
    pub fn generate<R: CryptoRng + ?Sized>(alg: KeyAlgorithm, rng: &mut R) -> Result<Self> {
        use elliptic_curve::Generate;
        Ok(match alg {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 => {
                let bits = if alg == KeyAlgorithm::Rsa2048 { 2048 } else { 3072 };
                let key = rsa::PrivateKey::new(rng, bits).map_err(|_| Error::KeyGeneration)?;
                PrivateKey(Inner::Rsa(alloc::boxed::Box::new(key)))
            }
            KeyAlgorithm::P256 => PrivateKey(P256Key::inner(p256::SecretKey::generate_from_rng(rng))),
        })
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (RSA or P-256), DER.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if it is neither an RSA nor a P-256 key, or is malformed.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(Error::der("PrivateKeyInfo"))?;
        match info.algorithm.oid {
            oid::RSA_ENCRYPTION => {
                let key = rsa::PrivateKey::from_pkcs8_der(der)
                    .map_err(|_| Error::InvalidKey { reason: "malformed RSA private key" })?;
                let bits = key_bits(&key);
                if !(2048..=4096).contains(&bits) {
                    return Err(Error::InvalidKey { reason: "RSA keys must be 2048 to 4096 bits" });
                }
                Ok(PrivateKey(Inner::Rsa(alloc::boxed::Box::new(key))))
            }
            oid::EC_PUBLIC_KEY => p256::SecretKey::from_pkcs8_der(der)
                .map(|k| PrivateKey(P256Key::inner(k)))
                .map_err(|_| Error::InvalidKey { reason: "EC key is not a valid P-256 key" }),
            oid => Err(Error::UnsupportedAlgorithm { context: "private key", oid }),
        }
    }

    /// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    ///
    /// # Errors
    /// [`Error::Pem`], naming the label found (e.g. `RSA PRIVATE KEY`), or any error of
    /// [`Self::from_pkcs8_der`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        match pkcs8::SecretDocument::from_pem(pem) {
            Ok(("PRIVATE KEY", doc)) => Self::from_pkcs8_der(doc.as_bytes()),
            _ => Err(crate::pem::mismatch(pem.as_bytes(), "PRIVATE KEY")),
        }
    }

    /// Writes PKCS#8 DER.
    ///
    /// # Errors
    /// Only if encoding fails, which does not happen for keys this type holds.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = match &self.0 {
            Inner::Rsa(k) => k.to_pkcs8_der(),
            Inner::P256(k) => k.secret.to_pkcs8_der(),
        }
        .map_err(|_| Error::InvalidKey { reason: "cannot encode key" })?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// Writes PKCS#8 PEM with LF line endings.
    ///
    /// # Errors
    /// Only if encoding fails.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let doc = match &self.0 {
            Inner::Rsa(k) => k.to_pkcs8_pem(LineEnding::LF),
            Inner::P256(k) => k.secret.to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|_| Error::InvalidKey { reason: "cannot encode key" })?;
        Ok(doc)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match &self.0 {
            Inner::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
            Inner::P256(k) => PublicKey::P256(p256::PublicKey::from(k.signing.verifying_key())),
        }
    }

    /// The algorithm identifier of the signatures [`Self::sign`] makes
    /// (sha256WithRSAEncryption or ecdsa-with-SHA256).
    pub fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        self.public_key().signature_algorithm()
    }

    /// Signs `msg` with SHA-256: PKCS#1 v1.5 for RSA (blinded with `rng`), deterministic ECDSA
    /// (RFC 6979) for P-256, DER-encoded.
    ///
    /// # Errors
    /// Only if the RSA operation fails (e.g. the RNG fails).
    pub fn sign<R: CryptoRng + ?Sized>(&self, msg: &[u8], rng: &mut R) -> Result<Vec<u8>> {
        match &self.0 {
            Inner::Rsa(k) => k
                .pkcs1v15_sign_with_rng::<Sha256, _>(rng, msg)
                .map_err(|_| Error::InvalidKey { reason: "RSA signing failed" }),
            Inner::P256(k) => {
                let sig: p256::ecdsa::Signature = signature::Signer::sign(&k.signing, msg);
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }

    pub(crate) fn rsa(&self) -> Option<&rsa::PrivateKey> {
        match &self.0 {
            Inner::Rsa(k) => Some(k),
            Inner::P256(_) => None,
        }
    }

    pub(crate) fn p256(&self) -> Option<&p256::SecretKey> {
        match &self.0 {
            Inner::P256(k) => Some(&k.secret),
            Inner::Rsa(_) => None,
        }
    }
}

fn key_bits(key: &rsa::PrivateKey) -> u32 {
    use rsa::traits::PublicKeyParts;
    key.n().bit_width_vartime()
}

/// A public key read from a `SubjectPublicKeyInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// RSA, 2048 to 4096 bits.
    Rsa(rsa::PublicKey),
    /// NIST P-256.
    P256(p256::PublicKey),
    /// NIST P-384 (verification only).
    P384(p384::PublicKey),
}

impl PublicKey {
    /// Reads a DER `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for other key types or curves, [`Error::InvalidKey`] for
    /// malformed keys or RSA keys outside 2048..=4096 bits.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der).map_err(Error::der("SubjectPublicKeyInfo"))?;
        match spki.algorithm.oid {
            oid::RSA_ENCRYPTION => {
                let key = rsa::PublicKey::from_public_key_der(der)
                    .map_err(|_| Error::InvalidKey { reason: "malformed or out-of-range RSA key" })?;
                use rsa::traits::PublicKeyParts;
                if key.n().bit_width_vartime() < 2048 {
                    return Err(Error::InvalidKey { reason: "RSA keys below 2048 bits" });
                }
                Ok(PublicKey::Rsa(key))
            }
            oid::EC_PUBLIC_KEY => {
                let curve: ObjectIdentifier = spki
                    .algorithm
                    .parameters
                    .ok_or(Error::InvalidKey { reason: "EC key without named curve" })?
                    .decode_as()
                    .map_err(Error::der("EC curve"))?;
                match curve {
                    oid::SECP256R1 => p256::PublicKey::from_public_key_der(der)
                        .map(PublicKey::P256)
                        .map_err(|_| Error::InvalidKey { reason: "malformed P-256 point" }),
                    oid::SECP384R1 => p384::PublicKey::from_public_key_der(der)
                        .map(PublicKey::P384)
                        .map_err(|_| Error::InvalidKey { reason: "malformed P-384 point" }),
                    oid => Err(Error::UnsupportedAlgorithm { context: "elliptic curve", oid }),
                }
            }
            oid => Err(Error::UnsupportedAlgorithm { context: "public key", oid }),
        }
    }

    /// Reads the key of a parsed `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// As [`Self::from_spki_der`].
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self> {
        Self::from_spki_der(&spki.to_der().map_err(Error::der("SubjectPublicKeyInfo"))?)
    }

    /// Encodes as a `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// Only if encoding fails.
    pub fn to_spki(&self) -> Result<SubjectPublicKeyInfoOwned> {
        let doc = match self {
            PublicKey::Rsa(k) => k.to_public_key_der(),
            PublicKey::P256(k) => k.to_public_key_der(),
            PublicKey::P384(k) => k.to_public_key_der(),
        }
        .map_err(|_| Error::InvalidKey { reason: "cannot encode public key" })?;
        SubjectPublicKeyInfoOwned::from_der(doc.as_bytes()).map_err(Error::der("SubjectPublicKeyInfo"))
    }

    /// The signature algorithm this crate uses with this key: SHA-256 with PKCS#1 v1.5 for RSA,
    /// ecdsa-with-SHA256 for P-256, ecdsa-with-SHA384 for P-384.
    pub fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        match self {
            PublicKey::Rsa(_) => {
                AlgorithmIdentifierOwned { oid: oid::SHA256_WITH_RSA, parameters: Some(der::asn1::Null.into()) }
            }
            PublicKey::P256(_) => AlgorithmIdentifierOwned { oid: oid::ECDSA_WITH_SHA256, parameters: None },
            PublicKey::P384(_) => AlgorithmIdentifierOwned { oid: oid::ECDSA_WITH_SHA384, parameters: None },
        }
    }

    /// A short description: "RSA-2048", "P-256" or "P-384".
    pub fn describe(&self) -> alloc::string::String {
        match self {
            PublicKey::Rsa(k) => alloc::format!("RSA-{}", rsa::traits::PublicKeyParts::size(k) * 8),
            PublicKey::P256(_) => "P-256".into(),
            PublicKey::P384(_) => "P-384".into(),
        }
    }

    /// Size in octets of a raw ECDSA `r || s` signature for this key (WebCrypto's format), or
    /// `None` for RSA.
    pub fn raw_ecdsa_len(&self) -> Option<usize> {
        match self {
            PublicKey::Rsa(_) => None,
            PublicKey::P256(_) => Some(64),
            PublicKey::P384(_) => Some(96),
        }
    }

    /// Verifies a signature made with `alg` over `msg`. ECDSA signatures are DER
    /// `ECDSA-Sig-Value`s, as in X.509 and CMS.
    ///
    /// Accepts sha{256,384,512}WithRSAEncryption, rsaEncryption (as CMS writes it, with the
    /// digest given by `digest_hint`), and ecdsa-with-SHA{256,384,512}.
    ///
    /// # Errors
    /// [`Error::BadSignature`] if it does not verify, [`Error::UnsupportedAlgorithm`] if the
    /// algorithm does not fit the key.
    pub fn verify(
        &self,
        alg: &ObjectIdentifier,
        digest_hint: Option<ObjectIdentifier>,
        msg: &[u8],
        sig: &[u8],
        what: &'static str,
    ) -> Result<()> {
        let digest = signature_digest(alg, digest_hint)?;
        let hash = digest.hash(msg);
        self.verify_prehash(alg, digest, &hash, sig, what)
    }

    /// As [`Self::verify`], with the message already hashed by `digest`.
    pub(crate) fn verify_prehash(
        &self,
        alg: &ObjectIdentifier,
        digest: DigestAlg,
        hash: &[u8],
        sig: &[u8],
        what: &'static str,
    ) -> Result<()> {
        let bad = || Error::BadSignature { what };
        let is_rsa_alg =
            matches!(*alg, oid::RSA_ENCRYPTION | oid::SHA256_WITH_RSA | oid::SHA384_WITH_RSA | oid::SHA512_WITH_RSA);
        let is_ec_alg = matches!(
            *alg,
            oid::ECDSA_WITH_SHA256 | oid::ECDSA_WITH_SHA384 | oid::ECDSA_WITH_SHA512 | oid::EC_PUBLIC_KEY
        );
        match self {
            PublicKey::Rsa(k) if is_rsa_alg => {
                let r = match digest {
                    DigestAlg::Sha1 => k.pkcs1v15_verify_prehash::<sha1::Sha1>(hash, sig),
                    DigestAlg::Sha256 => k.pkcs1v15_verify_prehash::<Sha256>(hash, sig),
                    DigestAlg::Sha384 => k.pkcs1v15_verify_prehash::<Sha384>(hash, sig),
                    DigestAlg::Sha512 => k.pkcs1v15_verify_prehash::<Sha512>(hash, sig),
                };
                r.map_err(|_| bad())
            }
            PublicKey::P256(k) if is_ec_alg => {
                let s = p256::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
                p256::ecdsa::VerifyingKey::from(k).verify_prehash(hash, &s).map_err(|_| bad())
            }
            PublicKey::P384(k) if is_ec_alg => {
                let s = p384::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
                p384::ecdsa::VerifyingKey::from(k).verify_prehash(hash, &s).map_err(|_| bad())
            }
            _ => Err(Error::UnsupportedAlgorithm { context: "signature (for this key type)", oid: *alg }),
        }
    }

    /// Converts a raw ECDSA `r || s` signature (WebCrypto's output) to DER. RSA signatures and
    /// DER input are returned unchanged when `format` says so.
    ///
    /// # Errors
    /// [`Error::MalformedSignature`] if a raw signature has the wrong length or is zero.
    pub fn normalize_signature(&self, sig: &[u8], format: SignatureFormat, what: &'static str) -> Result<Vec<u8>> {
        let bad = || Error::MalformedSignature { what };
        match (self, format) {
            (_, SignatureFormat::Der) | (PublicKey::Rsa(_), SignatureFormat::RawEcdsa) => Ok(sig.to_vec()),
            (PublicKey::P256(_), SignatureFormat::RawEcdsa) => {
                let s = p256::ecdsa::Signature::from_slice(sig).map_err(|_| bad())?;
                Ok(s.to_der().as_bytes().to_vec())
            }
            (PublicKey::P384(_), SignatureFormat::RawEcdsa) => {
                let s = p384::ecdsa::Signature::from_slice(sig).map_err(|_| bad())?;
                Ok(s.to_der().as_bytes().to_vec())
            }
        }
    }
}

/// How a signature value handed to an `assemble` step is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureFormat {
    /// As X.509 stores it: PKCS#1 v1.5 bytes for RSA, a DER `ECDSA-Sig-Value` for ECDSA.
    Der,
    /// WebCrypto's ECDSA output: `r || s`, each left-padded to the field size. For RSA keys this
    /// is the same as [`SignatureFormat::Der`].
    RawEcdsa,
}

/// Digest algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DigestAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlg {
    pub(crate) fn from_oid(o: &ObjectIdentifier) -> Result<Self> {
        Ok(match *o {
            oid::SHA1 => DigestAlg::Sha1,
            oid::SHA256 => DigestAlg::Sha256,
            oid::SHA384 => DigestAlg::Sha384,
            oid::SHA512 => DigestAlg::Sha512,
            oid => return Err(Error::UnsupportedAlgorithm { context: "digest", oid }),
        })
    }

    pub(crate) fn hash(self, msg: &[u8]) -> Vec<u8> {
        match self {
            DigestAlg::Sha1 => sha1::Sha1::digest(msg).to_vec(),
            DigestAlg::Sha256 => Sha256::digest(msg).to_vec(),
            DigestAlg::Sha384 => Sha384::digest(msg).to_vec(),
            DigestAlg::Sha512 => Sha512::digest(msg).to_vec(),
        }
    }
}

fn signature_digest(alg: &ObjectIdentifier, hint: Option<ObjectIdentifier>) -> Result<DigestAlg> {
    Ok(match *alg {
        oid::SHA256_WITH_RSA | oid::ECDSA_WITH_SHA256 => DigestAlg::Sha256,
        oid::SHA384_WITH_RSA | oid::ECDSA_WITH_SHA384 => DigestAlg::Sha384,
        oid::SHA512_WITH_RSA | oid::ECDSA_WITH_SHA512 => DigestAlg::Sha512,
        oid::RSA_ENCRYPTION | oid::EC_PUBLIC_KEY => match hint {
            Some(h) => DigestAlg::from_oid(&h)?,
            None => return Err(Error::UnsupportedAlgorithm { context: "signature without digest", oid: *alg }),
        },
        oid => return Err(Error::UnsupportedAlgorithm { context: "signature", oid }),
    })
}
