//! Key derivation: the PKCS#12 KDF ([RFC 7292 Appendix B]), PBKDF2 ([RFC 8018 §5.2]), HMAC,
//! and the two ways a password is turned into bytes.
//!
//! [RFC 7292 Appendix B]: https://www.rfc-editor.org/rfc/rfc7292#appendix-B
//! [RFC 8018 §5.2]: https://www.rfc-editor.org/rfc/rfc8018#section-5.2

use alloc::{string::String, vec::Vec};
use const_oid::ObjectIdentifier;
use hmac::{EagerHash, Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};
use zeroize::{Zeroize, Zeroizing};

use super::{Error, MAX_ITERATIONS, asn1};

/// `ID` byte of the PKCS#12 KDF for an encryption key ([RFC 7292 §B.3]).
///
/// [RFC 7292 §B.3]: https://www.rfc-editor.org/rfc/rfc7292#appendix-B.3
pub(super) const ID_KEY: u8 = 1;
/// `ID` byte of the PKCS#12 KDF for an IV.
pub(super) const ID_IV: u8 = 2;
/// `ID` byte of the PKCS#12 KDF for a MAC key.
pub(super) const ID_MAC: u8 = 3;

/// The hash functions this module can use for the MAC, the PKCS#12 KDF and PBKDF2's PRF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HashAlg {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    /// From a digest OID (as found in `MacData.mac.digestAlgorithm`).
    pub(super) fn from_digest_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Some(match *oid {
            asn1::SHA1 => Self::Sha1,
            asn1::SHA224 => Self::Sha224,
            asn1::SHA256 => Self::Sha256,
            asn1::SHA384 => Self::Sha384,
            asn1::SHA512 => Self::Sha512,
            _ => return None,
        })
    }

    /// From an HMAC OID (as found in `PBKDF2-params.prf`).
    pub(super) fn from_hmac_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Some(match *oid {
            asn1::HMAC_SHA1 => Self::Sha1,
            asn1::HMAC_SHA224 => Self::Sha224,
            asn1::HMAC_SHA256 => Self::Sha256,
            asn1::HMAC_SHA384 => Self::Sha384,
            asn1::HMAC_SHA512 => Self::Sha512,
            _ => return None,
        })
    }

    /// The digest OID.
    pub(super) fn digest_oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => asn1::SHA1,
            Self::Sha224 => asn1::SHA224,
            Self::Sha256 => asn1::SHA256,
            Self::Sha384 => asn1::SHA384,
            Self::Sha512 => asn1::SHA512,
        }
    }

    /// The HMAC OID.
    pub(super) fn hmac_oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => asn1::HMAC_SHA1,
            Self::Sha224 => asn1::HMAC_SHA224,
            Self::Sha256 => asn1::HMAC_SHA256,
            Self::Sha384 => asn1::HMAC_SHA384,
            Self::Sha512 => asn1::HMAC_SHA512,
        }
    }

    /// Output length in bytes.
    pub(super) fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// The most key-derivation iterations one [`super::import`] may spend in all (MAC under every
/// password encoding tried, and every encrypted container), so that a small hostile file cannot
/// keep a server busy: 4,000,000 is about a second of SHA-512 on a slow core, and 13 times what
/// the largest legitimate files (three derivations of 100,000 iterations, or OpenSSL's 2,048)
/// need.
pub(super) const IMPORT_BUDGET: u64 = 4_000_000;

/// A work budget shared by every derivation of one import.
pub(super) struct Budget(core::cell::Cell<u64>);

impl Budget {
    pub(super) fn new() -> Self {
        Budget(core::cell::Cell::new(IMPORT_BUDGET))
    }

    /// Spends `iterations` (times `derivations`), or fails before any work is done.
    ///
    /// # Errors
    /// [`Error::WorkLimit`] once the budget is exhausted.
    pub(super) fn charge(&self, iterations: u32, derivations: u64) -> Result<(), Error> {
        let cost = u64::from(iterations).saturating_mul(derivations);
        let left = self.0.get().checked_sub(cost).ok_or(Error::WorkLimit { budget: IMPORT_BUDGET })?;
        self.0.set(left);
        Ok(())
    }
}

/// Rejects an iteration count of zero or one above [`MAX_ITERATIONS`] before any work is done.
///
/// # Errors
/// [`Error::IterationCount`].
pub(super) fn check_iterations(count: u32) -> Result<u32, Error> {
    if count == 0 || count > MAX_ITERATIONS {
        return Err(Error::IterationCount { count });
    }
    Ok(count)
}

/// The PKCS#12 KDF of [RFC 7292 Appendix B.2](https://www.rfc-editor.org/rfc/rfc7292#appendix-B.2),
/// writing `out_len` bytes of key material for purpose `id`.
///
/// `password` is already the BMPString form (see [`Password::bmp`]).
///
/// # Errors
/// [`Error::IterationCount`] for a count of zero or above the limit.
pub(super) fn pkcs12_kdf(
    alg: HashAlg,
    id: u8,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out_len: usize,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let rounds = check_iterations(iterations)?;
    let mut out = Zeroizing::new(alloc::vec![0u8; out_len]);
    match alg {
        HashAlg::Sha1 => kdf::<Sha1>(id, password, salt, rounds, &mut out),
        HashAlg::Sha224 => kdf::<Sha224>(id, password, salt, rounds, &mut out),
        HashAlg::Sha256 => kdf::<Sha256>(id, password, salt, rounds, &mut out),
        HashAlg::Sha384 => kdf::<Sha384>(id, password, salt, rounds, &mut out),
        HashAlg::Sha512 => kdf::<Sha512>(id, password, salt, rounds, &mut out),
    }
    Ok(out)
}

/// The body of the PKCS#12 KDF for one hash function. `rounds >= 1`.
fn kdf<D: EagerHash>(id: u8, password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
    let v = D::block_size();
    let u = <D as hmac::digest::Digest>::output_size();
    // Steps 1-4: D = ID repeated v times; I = S || P, each stretched to a multiple of v bytes.
    let diversifier = alloc::vec![id; v];
    let s_len = salt.len().div_ceil(v).saturating_mul(v);
    let p_len = password.len().div_ceil(v).saturating_mul(v);
    let mut i = Zeroizing::new(Vec::with_capacity(s_len.saturating_add(p_len)));
    i.extend(salt.iter().cycle().take(s_len));
    i.extend(password.iter().cycle().take(p_len));
    let mut b = Zeroizing::new(alloc::vec![0u8; v]);
    for chunk in out.chunks_mut(u) {
        // Step 6a: A_i = H^r(D || I).
        let mut a = D::new().chain_update(&diversifier).chain_update(i.as_slice()).finalize();
        for _ in 1..rounds {
            let next = D::digest(&a);
            a.as_mut_slice().zeroize();
            a = next;
        }
        if let Some(src) = a.get(..chunk.len()) {
            chunk.copy_from_slice(src);
        }
        // Steps 6b-6c: B = A stretched to v bytes; every v-byte block I_j += B + 1 (mod 2^8v).
        for (dst, src) in b.iter_mut().zip(a.iter().cycle()) {
            *dst = *src;
        }
        a.as_mut_slice().zeroize();
        add_one_plus(&mut i, &b);
    }
}

/// Step 6c: every block `I_j` of `i` becomes `I_j + B + 1 (mod 2^8v)`, `v = b.len()`.
fn add_one_plus(i: &mut [u8], b: &[u8]) {
    for block in i.chunks_mut(b.len()) {
        let mut carry = 1u16;
        for (x, y) in block.iter_mut().rev().zip(b.iter().rev()) {
            let [lo, hi] = (u16::from(*x) + u16::from(*y) + carry).to_le_bytes();
            *x = lo;
            carry = u16::from(hi);
        }
    }
}

/// Whether GnuPG's PKCS#12 reader (gpgsm's `minip12.c`) derives another key than RFC 7292
/// from `salt` and `password` (BMP) with SHA-1, for a key longer than one hash (3DES: 24
/// octets). It writes each updated 64-octet block of `I` as a number without leading zero
/// octets, so a block whose first octet becomes 0 is shifted and the second hash differs:
/// about one salt in 128, and gpgsm then cannot open the bag.
pub(super) fn gnupg_misderives(id: u8, password: &[u8], salt: &[u8], rounds: u32) -> bool {
    use sha1::Digest;
    const V: usize = 64;
    let mut i = Zeroizing::new(Vec::with_capacity(2 * V));
    i.extend(salt.iter().cycle().take(salt.len().div_ceil(V) * V));
    i.extend(password.iter().cycle().take(password.len().div_ceil(V) * V));
    let mut a = Sha1::new().chain_update([id; V]).chain_update(i.as_slice()).finalize();
    for _ in 1..rounds.max(1) {
        a = Sha1::digest(a);
    }
    let b: Zeroizing<Vec<u8>> = Zeroizing::new(a.iter().cycle().take(V).copied().collect());
    add_one_plus(&mut i, &b);
    i.chunks(V).any(|block| block.first() == Some(&0))
}

/// HMAC of `data` under `key`.
pub(super) fn hmac(alg: HashAlg, key: &[u8], data: &[u8]) -> Vec<u8> {
    match alg {
        HashAlg::Sha1 => hmac_with::<Sha1>(key, data),
        HashAlg::Sha224 => hmac_with::<Sha224>(key, data),
        HashAlg::Sha256 => hmac_with::<Sha256>(key, data),
        HashAlg::Sha384 => hmac_with::<Sha384>(key, data),
        HashAlg::Sha512 => hmac_with::<Sha512>(key, data),
    }
}

fn hmac_with<D: EagerHash>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail; an empty tag would
    // simply never match.
    match <Hmac<D> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac.chain_update(data).finalize().into_bytes().to_vec(),
        Err(_) => Vec::new(),
    }
}

/// The PKCS#12 MAC ([RFC 7292 §5](https://www.rfc-editor.org/rfc/rfc7292#section-5)): HMAC over
/// `data` with a key from the PKCS#12 KDF (ID = 3, key length = hash length).
///
/// # Errors
/// [`Error::IterationCount`].
pub(super) fn pkcs12_mac(
    alg: HashAlg,
    password_bmp: &[u8],
    salt: &[u8],
    iterations: u32,
    data: &[u8],
) -> Result<Vec<u8>, Error> {
    let key = pkcs12_kdf(alg, ID_MAC, password_bmp, salt, iterations, alg.output_len())?;
    Ok(hmac(alg, &key, data))
}

/// PBKDF2 ([RFC 8018 §5.2](https://www.rfc-editor.org/rfc/rfc8018#section-5.2)) with
/// HMAC-`alg` as PRF, filling `out`.
///
/// # Errors
/// [`Error::IterationCount`].
pub(super) fn pbkdf2(alg: HashAlg, password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) -> Result<(), Error> {
    let rounds = check_iterations(iterations)?;
    match alg {
        HashAlg::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, rounds, out),
        HashAlg::Sha224 => pbkdf2::pbkdf2_hmac::<Sha224>(password, salt, rounds, out),
        HashAlg::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, rounds, out),
        HashAlg::Sha384 => pbkdf2::pbkdf2_hmac::<Sha384>(password, salt, rounds, out),
        HashAlg::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, rounds, out),
    }
    Ok(())
}

/// A password in the two encodings PKCS#12 needs.
///
/// * The PKCS#12 KDF (MAC key, `pbeWithSHAAnd...` ciphers) takes a BMPString: UTF-16BE with a
///   terminating U+0000 ([RFC 7292 §B.1](https://www.rfc-editor.org/rfc/rfc7292#appendix-B.1)).
///   The empty password is therefore the two bytes `00 00`.
/// * PBES2 (PBKDF2) takes the UTF-8 bytes as they are, as OpenSSL does.
pub(super) struct Password {
    /// Input of the PKCS#12 KDF.
    pub(super) bmp: Zeroizing<Vec<u8>>,
    /// Input of PBKDF2.
    pub(super) utf8: Zeroizing<Vec<u8>>,
}

impl Password {
    /// The standard encoding, used for export and tried first on import.
    pub(super) fn new(password: &str) -> Self {
        let mut bmp = Zeroizing::new(asn1::bmp_bytes(password));
        bmp.extend_from_slice(&[0, 0]);
        Self { bmp, utf8: Zeroizing::new(password.as_bytes().to_vec()) }
    }

    /// Every encoding OpenSSL's `pkcs12` command tries when reading a file, in its order:
    ///
    /// 1. the standard one;
    /// 2. for the empty password, the "absent" password (no bytes at all), which some
    ///    producers write;
    /// 3. for a non-ASCII password, each UTF-8 *byte* widened to 16 bits, which is what
    ///    OpenSSL before 1.1.0 wrote. OpenSSL then uses the UTF-8 of those widened characters
    ///    for PBES2 too, and so do we.
    pub(super) fn candidates(password: &str) -> Vec<Self> {
        let mut out = alloc::vec![Self::new(password)];
        if password.is_empty() {
            out.push(Self { bmp: Zeroizing::new(Vec::new()), utf8: Zeroizing::new(Vec::new()) });
        } else if !password.is_ascii() {
            let widened: Zeroizing<String> = Zeroizing::new(password.bytes().map(char::from).collect());
            out.push(Self::new(&widened));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// Password "smeg" as BMPString, from the test vectors widely used for the PKCS#12 KDF
    /// (they come from Dr Stephen Henson's original OpenSSL implementation and are repeated in
    /// BouncyCastle's `PKCS12Test` and the Go `x/crypto/pkcs12` tests).
    const SMEG: &[u8] = &[0, b's', 0, b'm', 0, b'e', 0, b'g', 0, 0];
    const SALT: [u8; 8] = [0x0A, 0x58, 0xCF, 0x64, 0x53, 0x0D, 0x82, 0x3F];

    #[test]
    fn kdf_sha1_key_vector() {
        let key = pkcs12_kdf(HashAlg::Sha1, ID_KEY, SMEG, &SALT, 1, 24).unwrap();
        let expected: [u8; 24] = [
            0x8A, 0xAA, 0xE6, 0x29, 0x7B, 0x6C, 0xB0, 0x46, 0x42, 0xAB, 0x5B, 0x07, 0x78, 0x51, 0x28, 0x4E, 0xB7, 0x12,
            0x8F, 0x1A, 0x2A, 0x7F, 0xBC, 0xA3,
        ];
        assert_eq!(key.as_slice(), &expected);
    }

    #[test]
    fn kdf_sha1_iv_vector() {
        let iv = pkcs12_kdf(HashAlg::Sha1, ID_IV, SMEG, &SALT, 1, 8).unwrap();
        assert_eq!(iv.as_slice(), &[0x79, 0x99, 0x3D, 0xFE, 0x04, 0x8D, 0x3B, 0x76]);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// Vectors made with OpenSSL 3.0: `openssl kdf -keylen N -kdfopt digest:D
    /// -kdfopt hexpass:P -kdfopt hexsalt:05DEC959ACFF72F7 -kdfopt iter:I -kdfopt id:ID PKCS12KDF`.
    #[test]
    fn kdf_matches_openssl() {
        let salt = hex("05DEC959ACFF72F7");
        let pw = hex("0071007500650065006700000000");
        let cases = [
            (
                HashAlg::Sha256,
                ID_MAC,
                &pw[..],
                1000,
                32,
                "C71C595C8A19B9B6920B9E8E8CB26B43555BA24D3BF4C3027C3A3DBC5386B81C",
            ),
            (
                HashAlg::Sha512,
                ID_KEY,
                &pw[..],
                1000,
                64,
                "FD26BA9C01788ED1F5B9216190285DB22FBEBEC772AC73FCBE3425350026FEAE57344E61AC44AE977DCE6CECA4AB817556E359D6BBDD29A34202086A233EA812",
            ),
            // Empty password, two output blocks (exercises the I_j update).
            (
                HashAlg::Sha1,
                ID_KEY,
                &[0u8, 0][..],
                3,
                40,
                "B3974CC42283E938241D58003CF825027076CA831048CAE69B0A361056780C781EE22DEBFA3825C4",
            ),
        ];
        for (alg, id, pw, iter, len, expected) in cases {
            let out = pkcs12_kdf(alg, id, pw, &salt, iter, len).unwrap();
            assert_eq!(out.as_slice(), hex(expected).as_slice(), "{alg:?}");
        }
    }

    #[test]
    fn gnupg_misderives_the_salt_of_a_file_gpgsm_could_not_open() {
        // The key bag of an OpenSSL-made file (password "pw", 2048 iterations) that gpgsm 2.2
        // failed to decrypt every time ("data error at shrouded_key_bag.decrypted-text"), and
        // the certificate bag of the same file, which it opened.
        let pw = [0, b'p', 0, b'w', 0, 0];
        assert!(gnupg_misderives(ID_KEY, &pw, &hex("9D2566ED6E6F654E"), 2048));
        assert!(!gnupg_misderives(ID_KEY, &pw, &hex("24BD1A66FF535772"), 2048));
    }

    #[test]
    fn kdf_rejects_absurd_iterations() {
        assert!(matches!(
            pkcs12_kdf(HashAlg::Sha256, ID_MAC, SMEG, &SALT, MAX_ITERATIONS + 1, 32),
            Err(Error::IterationCount { .. })
        ));
        assert!(matches!(
            pkcs12_kdf(HashAlg::Sha256, ID_MAC, SMEG, &SALT, 0, 32),
            Err(Error::IterationCount { count: 0 })
        ));
    }

    #[test]
    fn password_encodings() {
        assert_eq!(Password::new("").bmp.as_slice(), &[0, 0]);
        assert_eq!(Password::new("ab").bmp.as_slice(), &[0, b'a', 0, b'b', 0, 0]);
        let c = Password::candidates("");
        assert_eq!(c.len(), 2);
        assert!(c[1].bmp.is_empty());
        let c = Password::candidates("ä");
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].bmp.as_slice(), &[0, 0xE4, 0, 0]);
        assert_eq!(c[1].bmp.as_slice(), &[0, 0xC3, 0, 0xA4, 0, 0]);
        assert_eq!(Password::candidates("plain").len(), 1);
    }
}
