//! Does this PKCS#8 private key belong to that certificate's public key?
//!
//! Used to pick the end-entity certificate on import when no `localKeyId` links key and
//! certificate, and to refuse to export a key with somebody else's certificate.

use der::{Decode, Encode};
use pkcs8::{DecodePrivateKey, EncodePublicKey, PrivateKeyInfoRef};
use spki::SubjectPublicKeyInfoRef;

use const_oid::ObjectIdentifier as Oid;

/// `rsaEncryption` (RFC 8017).
const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey` (RFC 5480).
const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");

/// Whether `key_der` (a PKCS#8 `PrivateKeyInfo`) is the private half of `spki_der` (a DER
/// `SubjectPublicKeyInfo`): `Some(true)` or `Some(false)` when that can be told, `None` for
/// key types this crate cannot derive a public key for.
///
/// RSA keys are compared by modulus and exponent; P-256 and P-384 keys by their public
/// point; a PKCS#8 v2 (`OneAsymmetricKey`) carrying its public key is compared directly.
pub(super) fn key_matches_spki(key_der: &[u8], spki_der: &[u8]) -> Option<bool> {
    let info = PrivateKeyInfoRef::from_der(key_der).ok()?;
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    if info.algorithm.oid != spki.algorithm.oid {
        return Some(false);
    }
    if let Some(public) = info.public_key {
        return Some(public.raw_bytes() == spki.subject_public_key.raw_bytes());
    }
    match info.algorithm.oid {
        RSA_ENCRYPTION => {
            let key = pkcs1::RsaPrivateKeyRef::try_from(info.private_key.as_bytes()).ok()?;
            let public = key.public_key().to_der().ok()?;
            Some(public.as_slice() == spki.subject_public_key.raw_bytes())
        }
        EC_PUBLIC_KEY => {
            let derived = if let Ok(k) = p256::SecretKey::from_pkcs8_der(key_der) {
                k.public_key().to_public_key_der().ok()?
            } else if let Ok(k) = p384::SecretKey::from_pkcs8_der(key_der) {
                k.public_key().to_public_key_der().ok()?
            } else {
                return None;
            };
            Some(derived.as_bytes() == spki_der)
        }
        _ => None,
    }
}
