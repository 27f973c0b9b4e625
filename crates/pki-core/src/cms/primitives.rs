//! The pieces [`Envelope`](super::Envelope) (building) and [`open`](super::open) (opening)
//! share: the ECDH key-derivation function of RFC 5753, AES key wrap (RFC 3394) and the
//! AES-GCM parameters of RFC 5084. Both sides import from here, and neither from the other.

use aes::{Aes128, Aes192, Aes256};
use alloc::vec::Vec;
use der::{Encode, Sequence, asn1::OctetString};
use sha2::Sha256;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// KDF hash functions of `dhSinglePass-stdDH-*kdf-scheme`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum KdfHash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

/// `ECC-CMS-SharedInfo` ([RFC 5753 §7.2](https://www.rfc-editor.org/rfc/rfc5753#section-7.2)):
/// ```text
/// ECC-CMS-SharedInfo ::= SEQUENCE {
///     keyInfo         AlgorithmIdentifier,
///     entityUInfo [0] EXPLICIT OCTET STRING OPTIONAL,
///     suppPubInfo [2] EXPLICIT OCTET STRING }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EccCmsSharedInfo {
    pub(crate) key_info: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) entity_u_info: Option<OctetString>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    pub(crate) supp_pub_info: OctetString,
}

/// `GCMParameters` ([RFC 5084 §3.2](https://www.rfc-editor.org/rfc/rfc5084#section-3.2)):
/// ```text
/// GCMParameters ::= SEQUENCE {
///     aes-nonce        OCTET STRING, -- recommended size is 12 octets
///     aes-ICVlen       AES-GCM-ICVlen DEFAULT 12 }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct GcmParameters {
    pub(crate) nonce: OctetString,
    #[asn1(default = "default_icv_len")]
    pub(crate) icv_len: u8,
}

fn default_icv_len() -> u8 {
    12
}

/// X9.63 KDF over `ECC-CMS-SharedInfo`, producing a KEK of `kek_len` octets.
pub(super) fn derive_kek(
    z: &[u8],
    wrap_alg: &AlgorithmIdentifierOwned,
    ukm: Option<OctetString>,
    hash: KdfHash,
    kek_len: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    let bits = u32::try_from(kek_len * 8).map_err(|_| Error::Cms { reason: "KEK length" })?;
    let shared_info = EccCmsSharedInfo {
        key_info: wrap_alg.clone(),
        entity_u_info: ukm,
        supp_pub_info: octets(&bits.to_be_bytes())?,
    }
    .to_der()
    .map_err(Error::der("ECC-CMS-SharedInfo"))?;
    let mut kek = Zeroizing::new(alloc::vec![0u8; kek_len]);
    let r = match hash {
        KdfHash::Sha1 => ansi_x963_kdf::derive_key_into::<sha1::Sha1>(z, &shared_info, &mut kek),
        KdfHash::Sha256 => ansi_x963_kdf::derive_key_into::<Sha256>(z, &shared_info, &mut kek),
        KdfHash::Sha384 => ansi_x963_kdf::derive_key_into::<sha2::Sha384>(z, &shared_info, &mut kek),
        KdfHash::Sha512 => ansi_x963_kdf::derive_key_into::<sha2::Sha512>(z, &shared_info, &mut kek),
    };
    r.map_err(|_| Error::Cms { reason: "KDF failed" })?;
    Ok(kek)
}

pub(super) fn aes_wrap(kek: &[u8], cek: &[u8]) -> Result<Vec<u8>> {
    use aes_kw::{AesKw, KeyInit};
    let mut out = alloc::vec![0u8; cek.len() + 8];
    let e = |_| Error::Cms { reason: "AES key wrap failed" };
    AesKw::<Aes256>::new_from_slice(kek)
        .map_err(|_| Error::Cms { reason: "KEK length" })?
        .wrap_key(cek, &mut out)
        .map_err(e)?;
    Ok(out)
}

pub(super) fn aes_unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    use aes_kw::{AesKw, KeyInit};
    if wrapped.len() < 24 || !wrapped.len().is_multiple_of(8) {
        return Err(Error::DecryptionFailed);
    }
    let mut out = Zeroizing::new(alloc::vec![0u8; wrapped.len() - 8]);
    match kek.len() {
        16 => AesKw::<Aes128>::new_from_slice(kek)
            .map_err(decryption_failed)?
            .unwrap_key(wrapped, &mut out)
            .map_err(decryption_failed)?,
        24 => AesKw::<Aes192>::new_from_slice(kek)
            .map_err(decryption_failed)?
            .unwrap_key(wrapped, &mut out)
            .map_err(decryption_failed)?,
        _ => AesKw::<Aes256>::new_from_slice(kek)
            .map_err(decryption_failed)?
            .unwrap_key(wrapped, &mut out)
            .map_err(decryption_failed)?,
    };
    Ok(out)
}

pub(super) fn octets(b: &[u8]) -> Result<OctetString> {
    OctetString::new(b).map_err(Error::der("OCTET STRING"))
}

/// Every failure after the key is in hand looks the same: see [`crate::Error::DecryptionFailed`].
pub(super) fn decryption_failed<E>(_: E) -> Error {
    Error::DecryptionFailed
}
