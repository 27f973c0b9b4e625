//! Opening EnvelopedData and AuthEnvelopedData.
//!
//! Reads what this crate writes and what OpenSSL, gpgsm and NSS write: DER or BER (OpenSSL's
//! `-stream`), RSA PKCS#1 v1.5 and RSA-OAEP (SHA-1 or SHA-256) key transport, ECDH with the
//! SHA-1, SHA-256, SHA-384 or SHA-512 KDF and AES key wrap, AES-CBC and AES-GCM content.
//!
//! # No padding oracle
//! RSA PKCS#1 v1.5 decryption uses implicit rejection (the `rsa` crate's): a bad padding yields
//! a deterministic synthetic key instead of an error. A synthetic key of the wrong length is
//! replaced by one of the right length derived from it, and the content is decrypted with it
//! all the same. The failure then surfaces where a wrong key would, in the content padding or
//! the GCM tag, as the one error [`Error::DecryptionFailed`], after the same work.

use aes::{Aes128, Aes192, Aes256};
use alloc::vec::Vec;
use cms::{
    authenveloped_data::AuthEnvelopedData,
    enveloped_data::{
        EncryptedContentInfo, EnvelopedData, KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo, KeyTransRecipientInfo,
        OriginatorIdentifierOrKey, RecipientIdentifier, RecipientInfo, RecipientInfos,
    },
};
use der::{Encode, asn1::OctetString};
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use super::primitives::{GcmParameters, KdfHash, aes_unwrap, decryption_failed, derive_kek};
use crate::{Error, PrivateKey, Result, oid};

/// What [`open`] found. `Debug` shows the content's length and the algorithms by name.
#[non_exhaustive]
pub struct Opened {
    /// The decrypted content (for S/MIME, a MIME entity).
    pub content: Vec<u8>,
    /// True for AuthEnvelopedData (authenticated encryption).
    pub authenticated: bool,
    /// The content-encryption algorithm.
    pub content_cipher: der::asn1::ObjectIdentifier,
    /// The key-transport or key-agreement algorithm used for our RecipientInfo.
    pub key_algorithm: der::asn1::ObjectIdentifier,
}

impl core::fmt::Debug for Opened {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names = crate::oid_names(&[self.content_cipher, self.key_algorithm]);
        f.debug_struct("Opened")
            .field("content", &format_args!("<{} bytes>", self.content.len()))
            .field("authenticated", &self.authenticated)
            .field("content_cipher", &names[0])
            .field("key_algorithm", &names[1])
            .finish()
    }
}

/// Decrypts a CMS EnvelopedData or AuthEnvelopedData (DER or BER `ContentInfo`) with the
/// recipient's certificate and private key. `rng` blinds the RSA operation.
///
/// # Errors
/// [`Error::NoMatchingRecipient`] if no RecipientInfo names `cert`; [`Error::DecryptionFailed`]
/// for a wrong key, tampered ciphertext or bad padding (deliberately indistinguishable);
/// [`Error::UnsupportedAlgorithm`], [`Error::Der`] for inputs this crate cannot read.
pub fn open<R: CryptoRng + ?Sized>(input: &[u8], cert: &Certificate, key: &PrivateKey, rng: &mut R) -> Result<Opened> {
    let mut content = input.to_vec();
    let info = open_in_place(&mut content, cert, key, rng)?;
    Ok(Opened { content, ..info })
}

/// As [`open`], in `buf` itself: the encrypted content is decrypted where it lies and moved to
/// the front, so that a large message costs no second copy. On success `buf` holds the content;
/// the returned [`Opened`]'s own `content` is empty.
///
/// # Errors
/// As [`open`]. After [`Error::NoMatchingRecipient`] or an unreadable input, `buf` is as it
/// was and another key can be tried; after [`Error::DecryptionFailed`] it is not.
pub fn open_in_place<R: CryptoRng + ?Sized>(
    buf: &mut Vec<u8>,
    cert: &Certificate,
    key: &PrivateKey,
    rng: &mut R,
) -> Result<Opened> {
    open_at(buf, 0, cert, key, rng)
}

/// As [`open_in_place`] for the `ContentInfo` at `buf[start..]`; `buf[..start]` stays.
pub(crate) fn open_at<R: CryptoRng + ?Sized>(
    buf: &mut Vec<u8>,
    start: usize,
    cert: &Certificate,
    key: &PrivateKey,
    rng: &mut R,
) -> Result<Opened> {
    let input = buf.get(start..).ok_or(Error::Cms { reason: "no content" })?;
    // Inputs the walker does not follow (multi-octet tags, detached content) are decoded whole,
    // and fail or succeed as `der` decides.
    let Some(layout) = super::ber::enveloped_layout(input) else {
        let opened = open_decoded(input, cert, key, rng)?;
        buf.truncate(start);
        buf.extend_from_slice(&opened.content);
        return Ok(Opened { content: Vec::new(), ..opened });
    };
    let Unlocked { eci, cek, key_algorithm, mac, aad } = unlock(&layout.skeleton, cert, key, rng)?;
    // The chunks of a constructed encoding are moved together at `start`: each lies after
    // where it goes, so nothing is overwritten before it is read.
    let mut len = 0;
    for range in &layout.content {
        let (from, n) = (start + range.start, range.len());
        buf.copy_within(from..from + n, start + len);
        len += n;
    }
    let mac = mac.as_ref().map(OctetString::as_bytes);
    let n = decrypt_content_in_place(&eci.content_enc_alg, &cek, &mut buf[start..start + len], mac, aad.as_deref())?;
    buf.truncate(start + n);
    Ok(Opened {
        content: Vec::new(),
        authenticated: mac.is_some(),
        content_cipher: eci.content_enc_alg.oid,
        key_algorithm,
    })
}

/// What opening needs besides the ciphertext: its cipher, the content key, and for
/// AuthEnvelopedData the MAC and the AAD.
struct Unlocked {
    eci: EncryptedContentInfo,
    cek: Zeroizing<Vec<u8>>,
    key_algorithm: der::asn1::ObjectIdentifier,
    mac: Option<OctetString>,
    aad: Option<Vec<u8>>,
}

/// Decodes an EnvelopedData or AuthEnvelopedData `ContentInfo` and recovers the content key
/// from the RecipientInfo that names `cert`.
fn unlock<R: CryptoRng + ?Sized>(input: &[u8], cert: &Certificate, key: &PrivateKey, rng: &mut R) -> Result<Unlocked> {
    match super::content_type(input)? {
        oid::CT_ENVELOPED_DATA => {
            let (_, ed): (_, EnvelopedData) = super::read_content_info(input)?;
            let (cek, key_algorithm) = recover_cek(&ed.recip_infos, &ed.encrypted_content, cert, key, rng)?;
            Ok(Unlocked { eci: ed.encrypted_content, cek, key_algorithm, mac: None, aad: None })
        }
        oid::CT_AUTH_ENVELOPED_DATA => {
            let (_, aed): (_, AuthEnvelopedData) = super::read_content_info(input)?;
            let (cek, key_algorithm) = recover_cek(&aed.recip_infos, &aed.auth_encrypted_content_info, cert, key, rng)?;
            // RFC 5083 §2.2: authenticated attributes are the AAD, DER-encoded with a SET OF tag.
            let aad = match &aed.auth_attrs {
                Some(attrs) => Some(attrs.to_der().map_err(Error::der("authAttrs"))?),
                None => None,
            };
            Ok(Unlocked { eci: aed.auth_encrypted_content_info, cek, key_algorithm, mac: Some(aed.mac), aad })
        }
        found => Err(Error::UnexpectedContentType { found }),
    }
}

/// Opens an input that [`super::ber::enveloped_layout`] does not walk, decoding it whole.
fn open_decoded<R: CryptoRng + ?Sized>(
    input: &[u8],
    cert: &Certificate,
    key: &PrivateKey,
    rng: &mut R,
) -> Result<Opened> {
    let Unlocked { eci, cek, key_algorithm, mac, aad } = unlock(input, cert, key, rng)?;
    let mut content = eci
        .encrypted_content
        .as_ref()
        .ok_or(Error::Cms { reason: "detached encrypted content is not supported" })?
        .as_bytes()
        .to_vec();
    let mac = mac.as_ref().map(OctetString::as_bytes);
    let n = decrypt_content_in_place(&eci.content_enc_alg, &cek, &mut content, mac, aad.as_deref())?;
    content.truncate(n);
    Ok(Opened { content, authenticated: mac.is_some(), content_cipher: eci.content_enc_alg.oid, key_algorithm })
}

fn recover_cek<R: CryptoRng + ?Sized>(
    infos: &RecipientInfos,
    eci: &EncryptedContentInfo,
    cert: &Certificate,
    key: &PrivateKey,
    rng: &mut R,
) -> Result<(Zeroizing<Vec<u8>>, der::asn1::ObjectIdentifier)> {
    let want = content_key_len(&eci.content_enc_alg.oid)?;
    for ri in infos.0.iter() {
        match ri {
            RecipientInfo::Ktri(k) if ktri_matches(k, cert) => {
                let rsa = key.rsa().ok_or(Error::InvalidKey { reason: "an RSA recipient needs an RSA key" })?;
                let cek = ktri_decrypt(k, rsa, want, rng)?;
                return Ok((cek, k.key_enc_alg.oid));
            }
            RecipientInfo::Kari(k) => {
                if let Some(wrapped) = kari_encrypted_key(k, cert) {
                    let ec = key.p256().ok_or(Error::InvalidKey { reason: "an ECDH recipient needs a P-256 key" })?;
                    let cek = kari_decrypt(k, wrapped, ec)?;
                    return Ok((cek, k.key_enc_alg.oid));
                }
            }
            _ => {}
        }
    }
    Err(Error::NoMatchingRecipient)
}

fn ktri_matches(k: &KeyTransRecipientInfo, cert: &Certificate) -> bool {
    match &k.rid {
        RecipientIdentifier::IssuerAndSerialNumber(ias) => *ias == super::issuer_and_serial(cert),
        RecipientIdentifier::SubjectKeyIdentifier(ski) => cert_ski(cert).is_some_and(|own| own == ski.0.as_bytes()),
    }
}

fn kari_encrypted_key<'a>(k: &'a KeyAgreeRecipientInfo, cert: &Certificate) -> Option<&'a OctetString> {
    k.recipient_enc_keys.iter().find_map(|rek| {
        let hit = match &rek.rid {
            KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(ias) => *ias == super::issuer_and_serial(cert),
            KeyAgreeRecipientIdentifier::RKeyId(r) => {
                cert_ski(cert).is_some_and(|own| own == r.subject_key_identifier.0.as_bytes())
            }
        };
        hit.then_some(&rek.enc_key)
    })
}

fn cert_ski(cert: &Certificate) -> Option<Vec<u8>> {
    let ski = cert.tbs_certificate().get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>().ok()??;
    Some(ski.1.0.as_bytes().to_vec())
}

/// RSA key transport. Every failure after the RSA operation looks like a wrong content key.
fn ktri_decrypt<R: CryptoRng + ?Sized>(
    k: &KeyTransRecipientInfo,
    rsa: &rsa::PrivateKey,
    want: usize,
    rng: &mut R,
) -> Result<Zeroizing<Vec<u8>>> {
    let ct = k.enc_key.as_bytes();
    let raw = match k.key_enc_alg.oid {
        oid::RSA_ENCRYPTION => rsa.pkcs1v15_decrypt_with_rng(rng, ct),
        oid::RSAES_OAEP => {
            let hash = oaep_hash(k.key_enc_alg.parameters.as_ref())?;
            match hash {
                KdfHash::Sha1 => rsa.oaep_decrypt_with_rng::<sha1::Sha1, _>(rng, ct),
                KdfHash::Sha256 => rsa.oaep_decrypt_with_rng::<Sha256, _>(rng, ct),
                KdfHash::Sha384 => rsa.oaep_decrypt_with_rng::<sha2::Sha384, _>(rng, ct),
                KdfHash::Sha512 => rsa.oaep_decrypt_with_rng::<sha2::Sha512, _>(rng, ct),
            }
        }
        oid => return Err(Error::UnsupportedAlgorithm { context: "key transport", oid }),
    };
    // A ciphertext of the wrong size or an OAEP failure: continue with a key derived from the
    // private key and the ciphertext (secret, deterministic), so that the failure surfaces in
    // the content, like every other wrong key, and no attacker can predict the substitute.
    let secret = rejection_secret(rsa);
    let raw = Zeroizing::new(raw.unwrap_or_else(|_| keyed_hash(&secret, ct)));
    Ok(fit_key_len(&raw, want, &secret))
}

/// A secret of the private key, for deriving substitute content keys.
fn rejection_secret(rsa: &rsa::PrivateKey) -> Zeroizing<Vec<u8>> {
    use rsa::traits::PrivateKeyParts;
    let d = Zeroizing::new(rsa.d().to_be_bytes());
    Zeroizing::new(Sha256::new_with_prefix(b"pki-core implicit rejection key").chain_update(&d[..]).finalize().to_vec())
}

fn keyed_hash(secret: &[u8], data: &[u8]) -> Vec<u8> {
    Sha256::new_with_prefix(secret).chain_update(data).finalize().to_vec()
}

/// Returns `raw` if it has the expected length, else a key of that length derived from it.
fn fit_key_len(raw: &[u8], want: usize, secret: &[u8]) -> Zeroizing<Vec<u8>> {
    let derived = Zeroizing::new(keyed_hash(secret, raw));
    let mut out = Zeroizing::new(alloc::vec![0u8; want]);
    let ok = raw.len() == want;
    for (i, o) in out.iter_mut().enumerate() {
        let r = raw.get(i).copied().unwrap_or(0);
        let d = derived.get(i % derived.len()).copied().unwrap_or(0);
        *o = if ok { r } else { d };
    }
    out
}

/// RSAES-OAEP-params: hash and MGF1 hash must agree (SHA-1 default, or SHA-256/384/512).
fn oaep_hash(params: Option<&der::Any>) -> Result<KdfHash> {
    let Some(p) = params else { return Ok(KdfHash::Sha1) };
    let params: pkcs1::RsaOaepParamsOwned = p.decode_as().map_err(Error::der("RSAES-OAEP-params"))?;
    // Only the empty label (pSpecifiedEmpty) is supported.
    let label_empty = params
        .p_source
        .parameters
        .as_ref()
        .is_none_or(|l| l.decode_as::<OctetString>().is_ok_and(|o| o.as_bytes().is_empty()));
    if !label_empty {
        return Err(Error::Cms { reason: "RSA-OAEP with a non-empty label" });
    }
    let h = params.hash.oid;
    let mgf_hash = params.mask_gen.parameters.as_ref().map(|a| a.oid).unwrap_or(oid::SHA1);
    if params.mask_gen.oid != oid::MGF1 || mgf_hash != h {
        return Err(Error::UnsupportedAlgorithm { context: "RSA-OAEP mask generation", oid: mgf_hash });
    }
    kdf_hash(h)
}

fn kdf_hash(h: der::asn1::ObjectIdentifier) -> Result<KdfHash> {
    Ok(match h {
        oid::SHA1 => KdfHash::Sha1,
        oid::SHA256 => KdfHash::Sha256,
        oid::SHA384 => KdfHash::Sha384,
        oid::SHA512 => KdfHash::Sha512,
        oid => return Err(Error::UnsupportedAlgorithm { context: "hash", oid }),
    })
}

/// ECDH key agreement (RFC 5753), ephemeral-static.
fn kari_decrypt(k: &KeyAgreeRecipientInfo, wrapped: &OctetString, key: &p256::SecretKey) -> Result<Zeroizing<Vec<u8>>> {
    let hash = match k.key_enc_alg.oid {
        oid::DH_SINGLE_PASS_STD_DH_SHA1KDF => KdfHash::Sha1,
        oid::DH_SINGLE_PASS_STD_DH_SHA256KDF => KdfHash::Sha256,
        oid::DH_SINGLE_PASS_STD_DH_SHA384KDF => KdfHash::Sha384,
        oid::DH_SINGLE_PASS_STD_DH_SHA512KDF => KdfHash::Sha512,
        oid => return Err(Error::UnsupportedAlgorithm { context: "key agreement", oid }),
    };
    let OriginatorIdentifierOrKey::OriginatorKey(opk) = &k.originator else {
        return Err(Error::Cms { reason: "only ephemeral-static ECDH (originatorKey) is supported" });
    };
    let eph = p256::PublicKey::from_sec1_bytes(opk.public_key.raw_bytes())
        .map_err(|_| Error::InvalidKey { reason: "originator key is not a P-256 point" })?;
    let shared = elliptic_curve::ecdh::diffie_hellman(key.to_nonzero_scalar(), eph.as_affine());
    let wrap_alg: AlgorithmIdentifierOwned = k
        .key_enc_alg
        .parameters
        .as_ref()
        .ok_or(Error::Cms { reason: "key agreement without a key-wrap algorithm" })?
        .decode_as()
        .map_err(Error::der("key-wrap algorithm"))?;
    let kek_len = match wrap_alg.oid {
        oid::AES128_WRAP => 16,
        oid::AES192_WRAP => 24,
        oid::AES256_WRAP => 32,
        oid => return Err(Error::UnsupportedAlgorithm { context: "key wrap", oid }),
    };
    let kek = derive_kek(shared.raw_secret_bytes(), &wrap_alg, k.ukm.clone(), hash, kek_len)?;
    aes_unwrap(&kek, wrapped.as_bytes())
}

fn content_key_len(alg: &der::asn1::ObjectIdentifier) -> Result<usize> {
    Ok(match *alg {
        oid::AES128_CBC | oid::AES128_GCM => 16,
        oid::AES192_CBC => 24,
        oid::AES256_CBC | oid::AES256_GCM => 32,
        oid => return Err(Error::UnsupportedAlgorithm { context: "content encryption", oid }),
    })
}

/// Decrypts `buf` in place with the content cipher `alg`; returns the plaintext's length.
fn decrypt_content_in_place(
    alg: &AlgorithmIdentifierOwned,
    cek: &[u8],
    buf: &mut [u8],
    mac: Option<&[u8]>,
    aad: Option<&[u8]>,
) -> Result<usize> {
    use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
    let params = alg.parameters.as_ref().ok_or(Error::Cms { reason: "content cipher without parameters" })?;
    macro_rules! cbc_decrypt {
        ($c:ty) => {{
            let iv: OctetString = params.decode_as().map_err(Error::der("IV"))?;
            if iv.as_bytes().len() != 16 {
                return Err(Error::Cms { reason: "AES-CBC IV must be 16 octets" });
            }
            cbc::Decryptor::<$c>::new_from_slices(cek, iv.as_bytes())
                .map_err(decryption_failed)?
                .decrypt_padded::<Pkcs7>(buf)
                .map(<[u8]>::len)
                .map_err(decryption_failed)
        }};
    }
    match alg.oid {
        oid::AES128_CBC if mac.is_none() => cbc_decrypt!(Aes128),
        oid::AES192_CBC if mac.is_none() => cbc_decrypt!(Aes192),
        oid::AES256_CBC if mac.is_none() => cbc_decrypt!(Aes256),
        oid::AES128_GCM | oid::AES256_GCM => {
            let tag = mac.ok_or(Error::Cms { reason: "AES-GCM outside AuthEnvelopedData" })?;
            gcm_decrypt_in_place(alg.oid, params, cek, buf, tag, aad.unwrap_or_default())?;
            Ok(buf.len())
        }
        oid => Err(Error::UnsupportedAlgorithm { context: "content encryption", oid }),
    }
}

fn gcm_decrypt_in_place(
    alg: der::asn1::ObjectIdentifier,
    params: &der::Any,
    cek: &[u8],
    buf: &mut [u8],
    tag: &[u8],
    aad: &[u8],
) -> Result<()> {
    use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit, aead::AeadInOut};
    let gp: GcmParameters = params.decode_as().map_err(Error::der("GCMParameters"))?;
    let nonce: [u8; 12] = gp
        .nonce
        .as_bytes()
        .try_into()
        .map_err(|_| Error::Cms { reason: "only 12-octet AES-GCM nonces are supported" })?;
    let tag: [u8; 16] = match tag.try_into() {
        Ok(t) if usize::from(gp.icv_len) == 16 => t,
        _ => return Err(Error::Cms { reason: "only 16-octet AES-GCM tags are supported" }),
    };
    if alg == oid::AES256_GCM {
        Aes256Gcm::new_from_slice(cek)
            .map_err(decryption_failed)?
            .decrypt_inout_detached(&nonce.into(), aad, buf.into(), &tag.into())
            .map_err(decryption_failed)
    } else {
        Aes128Gcm::new_from_slice(cek)
            .map_err(decryption_failed)?
            .decrypt_inout_detached(&nonce.into(), aad, buf.into(), &tag.into())
            .map_err(decryption_failed)
    }
}
