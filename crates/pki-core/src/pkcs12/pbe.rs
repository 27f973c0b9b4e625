//! Password-based encryption of bags and `SafeContents`: PBES2 ([RFC 8018 §6.2]) and the
//! PKCS#12 PBE schemes ([RFC 7292 Appendix C]).
//!
//! Decryption reads PBES2 with PBKDF2 (HMAC-SHA-1/224/256/384/512) and AES-128/192/256-CBC or
//! 3DES-CBC, and the `pbeWithSHAAnd3-KeyTripleDES-CBC`, `...2-KeyTripleDES-CBC`,
//! `...128BitRC2-CBC` and `...40BitRC2-CBC` schemes. Encryption writes PBES2 with
//! PBKDF2-HMAC-SHA256 and AES-256-CBC ([`Flavour::Modern`]) or
//! `pbeWithSHAAnd3-KeyTripleDES-CBC` ([`Flavour::Compatible`]).
//!
//! [RFC 8018 §6.2]: https://www.rfc-editor.org/rfc/rfc8018#section-6.2
//! [RFC 7292 Appendix C]: https://www.rfc-editor.org/rfc/rfc7292#appendix-C

use alloc::vec::Vec;
use cbc::cipher::{
    BlockCipherDecrypt, BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit,
    block_padding::Pkcs7,
};
use der::{
    Any, Tag,
    asn1::{ObjectIdentifier, OctetString},
};
use rand_core::CryptoRng;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::{
    Error, Flavour,
    asn1::{self, Pbes2Params, Pbkdf2Params, Pkcs12PbeParams},
    der_err,
    kdf::{self, HashAlg, Password},
};

/// Length of the random PBKDF2 salt we write (128 bits, as NIST SP 800-132 asks).
const PBES2_SALT_LEN: usize = 16;
/// How many salts are drawn at most to find one that gpgsm reads right (each fails with a
/// probability of about 1/128).
const GNUPG_SALT_TRIES: usize = 16;
/// Length of the random salt of the PKCS#12 PBE schemes (OpenSSL's `PKCS5_SALT_LEN`).
const PKCS12_PBE_SALT_LEN: usize = 8;
/// AES block / IV length.
const AES_IV_LEN: usize = 16;
/// DES and RC2 block / IV length.
const DES_IV_LEN: usize = 8;

/// The block ciphers of the PKCS#12 PBE schemes.
#[derive(Clone, Copy)]
enum Pkcs12Cipher {
    TdesEde3,
    TdesEde2,
    /// RC2 with this key length in bytes (5 or 16); the effective key length is the same.
    Rc2(usize),
}

/// The block ciphers PBES2 may name.
#[derive(Clone, Copy)]
enum Pbes2Cipher {
    Aes128,
    Aes192,
    Aes256,
    TdesEde3,
}

/// Decrypts `ciphertext` encrypted with the scheme `alg` under `password`.
///
/// # Errors
/// [`Error::UnsupportedAlgorithm`] for RC4, scrypt, PBES1 and anything else not listed in the
/// module docs; [`Error::Der`] / [`Error::InvalidParameters`] for malformed parameters;
/// [`Error::IterationCount`]; [`Error::DecryptionFailed`] for bad padding (a wrong password
/// or a corrupted ciphertext).
pub(super) fn decrypt(
    alg: &AlgorithmIdentifierOwned,
    password: &Password,
    ciphertext: &[u8],
    budget: &kdf::Budget,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let cipher = match alg.oid {
        asn1::PBES2 => return pbes2_decrypt(params(alg)?, &password.utf8, ciphertext, budget),
        asn1::PBE_SHA1_3DES => Pkcs12Cipher::TdesEde3,
        asn1::PBE_SHA1_2DES => Pkcs12Cipher::TdesEde2,
        asn1::PBE_SHA1_RC2_128 => Pkcs12Cipher::Rc2(16),
        asn1::PBE_SHA1_RC2_40 => Pkcs12Cipher::Rc2(5),
        oid @ (asn1::PBE_SHA1_RC4_128 | asn1::PBE_SHA1_RC4_40) => {
            return Err(Error::UnsupportedAlgorithm { context: "encryption (RC4)", oid });
        }
        // PBES1 (RFC 8018 §6.1), anything else.
        oid => {
            return Err(Error::UnsupportedAlgorithm { context: "encryption", oid });
        }
    };
    let p: Pkcs12PbeParams = params(alg)?.decode_as().map_err(der_err("pkcs-12PbeParams"))?;
    let key_len = match cipher {
        Pkcs12Cipher::TdesEde3 => 24,
        Pkcs12Cipher::TdesEde2 => 16,
        Pkcs12Cipher::Rc2(len) => len,
    };
    let salt = p.salt.as_bytes();
    let bmp = &password.bmp;
    kdf::check_iterations(p.iterations)?;
    budget.charge(p.iterations, 2)?;
    let key = kdf::pkcs12_kdf(HashAlg::Sha1, kdf::ID_KEY, bmp, salt, p.iterations, key_len)?;
    let iv = kdf::pkcs12_kdf(HashAlg::Sha1, kdf::ID_IV, bmp, salt, p.iterations, DES_IV_LEN)?;
    match cipher {
        Pkcs12Cipher::TdesEde3 => cbc_decrypt::<des::TdesEde3>(alg.oid, &key, &iv, ciphertext),
        Pkcs12Cipher::TdesEde2 => cbc_decrypt::<des::TdesEde2>(alg.oid, &key, &iv, ciphertext),
        Pkcs12Cipher::Rc2(_) => cbc_decrypt::<rc2::Rc2>(alg.oid, &key, &iv, ciphertext),
    }
}

/// The parameters of an algorithm identifier, which every scheme here requires.
fn params(alg: &AlgorithmIdentifierOwned) -> Result<&Any, Error> {
    alg.parameters.as_ref().ok_or(Error::InvalidParameters { oid: alg.oid, reason: "parameters missing" })
}

/// PBES2 decryption ([RFC 8018 §6.2.2](https://www.rfc-editor.org/rfc/rfc8018#section-6.2.2)).
fn pbes2_decrypt(
    params: &Any,
    password: &[u8],
    ciphertext: &[u8],
    budget: &kdf::Budget,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let p: Pbes2Params = params.decode_as().map_err(der_err("PBES2-params"))?;
    let enc = &p.encryption_scheme;
    let (cipher, key_len) = match enc.oid {
        asn1::AES_128_CBC => (Pbes2Cipher::Aes128, 16),
        asn1::AES_192_CBC => (Pbes2Cipher::Aes192, 24),
        asn1::AES_256_CBC => (Pbes2Cipher::Aes256, 32),
        asn1::DES_EDE3_CBC => (Pbes2Cipher::TdesEde3, 24),
        oid => {
            return Err(Error::UnsupportedAlgorithm { context: "PBES2 cipher", oid });
        }
    };
    let iv: OctetString = self::params(enc)?.decode_as().map_err(der_err("PBES2 IV"))?;
    let key = pbes2_key(&p.key_derivation_func, password, key_len, budget)?;
    let iv = iv.as_bytes();
    match cipher {
        Pbes2Cipher::Aes128 => cbc_decrypt::<aes::Aes128Dec>(enc.oid, &key, iv, ciphertext),
        Pbes2Cipher::Aes192 => cbc_decrypt::<aes::Aes192Dec>(enc.oid, &key, iv, ciphertext),
        Pbes2Cipher::Aes256 => cbc_decrypt::<aes::Aes256Dec>(enc.oid, &key, iv, ciphertext),
        Pbes2Cipher::TdesEde3 => cbc_decrypt::<des::TdesEde3>(enc.oid, &key, iv, ciphertext),
    }
}

/// Runs the PBES2 key derivation function (PBKDF2 only) for a `key_len`-byte key.
fn pbes2_key(
    kdf_alg: &AlgorithmIdentifierOwned,
    password: &[u8],
    key_len: usize,
    budget: &kdf::Budget,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    if kdf_alg.oid != asn1::PBKDF2 {
        return Err(Error::UnsupportedAlgorithm { context: "PBES2 KDF", oid: kdf_alg.oid });
    }
    let p: Pbkdf2Params = params(kdf_alg)?.decode_as().map_err(der_err("PBKDF2-params"))?;
    if p.key_length.is_some_and(|declared| usize::try_from(declared).ok() != Some(key_len)) {
        return Err(Error::InvalidParameters { oid: asn1::PBKDF2, reason: "keyLength does not match the cipher" });
    }
    let prf = match &p.prf {
        None => HashAlg::Sha1,
        Some(prf) => HashAlg::from_hmac_oid(&prf.oid)
            .ok_or(Error::UnsupportedAlgorithm { context: "PBKDF2 PRF", oid: prf.oid })?,
    };
    let mut key = Zeroizing::new(alloc::vec![0u8; key_len]);
    kdf::check_iterations(p.iteration_count)?;
    budget.charge(p.iteration_count, 1)?;
    kdf::pbkdf2(prf, password, p.salt.as_bytes(), p.iteration_count, &mut key)?;
    Ok(key)
}

/// CBC decryption with PKCS#7 padding, in a zeroizing buffer.
fn cbc_decrypt<C: BlockCipherDecrypt + KeyInit>(
    oid: ObjectIdentifier,
    key: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let cipher = C::new_from_slice(key).map_err(|_| Error::DecryptionFailed)?;
    let mode = cbc::Decryptor::<C>::inner_iv_slice_init(cipher, iv)
        .map_err(|_| Error::InvalidParameters { oid, reason: "wrong IV length" })?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let len = mode.decrypt_padded::<Pkcs7>(&mut buf).map_err(|_| Error::DecryptionFailed)?.len();
    buf.truncate(len);
    Ok(buf)
}

/// CBC encryption with PKCS#7 padding.
fn cbc_encrypt<C: BlockCipherEncrypt + KeyInit>(key: &[u8], iv: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
    let cipher = C::new_from_slice(key).map_err(|_| Error::EncryptionFailed)?;
    let mode = cbc::Encryptor::<C>::inner_iv_slice_init(cipher, iv).map_err(|_| Error::EncryptionFailed)?;
    Ok(mode.encrypt_padded_vec::<Pkcs7>(plaintext))
}

/// Encrypts `plaintext` with the scheme of `flavour` and fresh random salt and IV, returning the
/// algorithm identifier to store with it and the ciphertext.
///
/// # Errors
/// [`Error::IterationCount`]; [`Error::Der`] only if encoding the parameters fails.
pub(super) fn encrypt<R: CryptoRng + ?Sized>(
    flavour: Flavour,
    password: &Password,
    iterations: u32,
    rng: &mut R,
    plaintext: &[u8],
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), Error> {
    match flavour {
        Flavour::Modern => encrypt_pbes2(&password.utf8, iterations, rng, plaintext),
        Flavour::Compatible => encrypt_pkcs12_3des(&password.bmp, iterations, rng, plaintext),
    }
}

/// PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, laid out as OpenSSL 3 writes it (PRF with
/// NULL parameters, no `keyLength`).
fn encrypt_pbes2<R: CryptoRng + ?Sized>(
    password: &[u8],
    iterations: u32,
    rng: &mut R,
    plaintext: &[u8],
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), Error> {
    let mut salt = [0u8; PBES2_SALT_LEN];
    rng.fill_bytes(&mut salt);
    let mut iv = [0u8; AES_IV_LEN];
    rng.fill_bytes(&mut iv);
    let mut key = Zeroizing::new([0u8; 32]);
    kdf::pbkdf2(HashAlg::Sha256, password, &salt, iterations, key.as_mut_slice())?;
    let ciphertext = cbc_encrypt::<aes::Aes256Enc>(key.as_slice(), &iv, plaintext)?;

    let enc = der_err("PBES2-params");
    let pbkdf2_params = Pbkdf2Params {
        salt: OctetString::new(salt).map_err(enc)?,
        iteration_count: iterations,
        key_length: None,
        prf: Some(asn1::alg_with_null(HashAlg::Sha256.hmac_oid())),
    };
    let params = Pbes2Params {
        key_derivation_func: AlgorithmIdentifierOwned {
            oid: asn1::PBKDF2,
            parameters: Some(Any::encode_from(&pbkdf2_params).map_err(der_err("PBKDF2-params"))?),
        },
        encryption_scheme: AlgorithmIdentifierOwned {
            oid: asn1::AES_256_CBC,
            parameters: Some(Any::new(Tag::OctetString, iv).map_err(der_err("PBES2 IV"))?),
        },
    };
    let alg = AlgorithmIdentifierOwned {
        oid: asn1::PBES2,
        parameters: Some(Any::encode_from(&params).map_err(der_err("PBES2-params"))?),
    };
    Ok((alg, ciphertext))
}

/// `pbeWithSHAAnd3-KeyTripleDES-CBC`.
fn encrypt_pkcs12_3des<R: CryptoRng + ?Sized>(
    password_bmp: &[u8],
    iterations: u32,
    rng: &mut R,
    plaintext: &[u8],
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), Error> {
    let pw = password_bmp;
    // A salt that gpgsm would misread is drawn again (about one in 128; see
    // `kdf::gnupg_misderives`), so that the compatible flavour opens in gpgsm too.
    let mut salt = [0u8; PKCS12_PBE_SALT_LEN];
    for _ in 0..GNUPG_SALT_TRIES {
        rng.fill_bytes(&mut salt);
        if !kdf::gnupg_misderives(kdf::ID_KEY, pw, &salt, iterations) {
            break;
        }
    }
    let key = kdf::pkcs12_kdf(HashAlg::Sha1, kdf::ID_KEY, pw, &salt, iterations, 24)?;
    let iv = kdf::pkcs12_kdf(HashAlg::Sha1, kdf::ID_IV, pw, &salt, iterations, DES_IV_LEN)?;
    let ciphertext = cbc_encrypt::<des::TdesEde3>(&key, &iv, plaintext)?;
    let params = Pkcs12PbeParams { salt: OctetString::new(salt).map_err(der_err("pkcs-12PbeParams"))?, iterations };
    let alg = AlgorithmIdentifierOwned {
        oid: asn1::PBE_SHA1_3DES,
        parameters: Some(Any::encode_from(&params).map_err(der_err("pkcs-12PbeParams"))?),
    };
    Ok((alg, ciphertext))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// The compatible flavour never writes a salt that gpgsm misreads. Without the redraw,
    /// about 1 in 128 would be (99% of runs of this test would find one).
    #[test]
    fn compatible_salts_are_ones_gpgsm_reads() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let password = Password::new("pw");
        for _ in 0..600 {
            let (alg, _) = encrypt(Flavour::Compatible, &password, 1, &mut rng, b"x").unwrap();
            let params: Pkcs12PbeParams = alg.parameters.unwrap().decode_as().unwrap();
            assert!(!kdf::gnupg_misderives(kdf::ID_KEY, &password.bmp, params.salt.as_bytes(), 1));
        }
    }

    fn round_trip(flavour: Flavour, pw: &str) {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let password = Password::new(pw);
        for len in [0usize, 1, 7, 8, 15, 16, 17, 100] {
            let msg: Vec<u8> = (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect();
            let (alg, ct) = encrypt(flavour, &password, 3, &mut rng, &msg).unwrap();
            assert_ne!(ct, msg);
            let pt = decrypt(&alg, &password, &ct, &kdf::Budget::new()).unwrap();
            assert_eq!(pt.as_slice(), msg.as_slice());
            let wrong = Password::new("not it");
            // A wrong key almost always breaks the padding; if it happens to parse, the
            // plaintext differs.
            if let Ok(pt) = decrypt(&alg, &wrong, &ct, &kdf::Budget::new()) {
                assert_ne!(pt.as_slice(), msg.as_slice());
            }
        }
    }

    #[test]
    fn pbes2_round_trip() {
        round_trip(Flavour::Modern, "pässwörd");
    }

    #[test]
    fn pkcs12_3des_round_trip() {
        round_trip(Flavour::Compatible, "");
    }

    #[test]
    fn rc4_is_unsupported() {
        let alg = AlgorithmIdentifierOwned { oid: asn1::PBE_SHA1_RC4_128, parameters: None };
        let err = decrypt(&alg, &Password::new("x"), &[0; 16], &kdf::Budget::new()).unwrap_err();
        assert!(matches!(err, Error::UnsupportedAlgorithm { oid: asn1::PBE_SHA1_RC4_128, .. }));
    }

    #[test]
    fn bad_ciphertext_length_is_an_error() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let pw = Password::new("pw");
        for flavour in [Flavour::Modern, Flavour::Compatible] {
            let (alg, ct) = encrypt(flavour, &pw, 1, &mut rng, b"hello").unwrap();
            for cut in 0..ct.len() {
                assert!(decrypt(&alg, &pw, &ct[..cut], &kdf::Budget::new()).is_err());
            }
        }
    }
}
