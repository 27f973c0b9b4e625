//! PKCS#12 ([RFC 7292]) export and import: a private key, its certificate and the CA chain in
//! one password-protected `.p12` / `.pfx` file, the format every mail client imports.
//!
//! # Export
//!
//! [`export`] writes the layout OpenSSL's `PKCS12_create` writes ([RFC 7292 §4]):
//!
//! ```text
//! PFX (version 3)
//! ├── authSafe: ContentInfo (id-data) → AuthenticatedSafe
//! │   ├── ContentInfo (id-encryptedData) → SafeContents
//! │   │   ├── certBag (x509Certificate) — end-entity cert, with localKeyId [+ friendlyName]
//! │   │   └── certBag (x509Certificate) — each chain cert, in the order given
//! │   └── ContentInfo (id-data) → SafeContents
//! │       └── pkcs8ShroudedKeyBag — the key, with localKeyId [+ friendlyName]
//! └── macData: HMAC over the AuthenticatedSafe, key from the PKCS#12 KDF (ID = 3)
//! ```
//!
//! The `localKeyId` is the SHA-1 of the certificate's DER, as OpenSSL computes it. Two
//! [`Flavour`]s choose the algorithms:
//!
//! | | [`Flavour::Modern`] | [`Flavour::Compatible`] |
//! |---|---|---|
//! | key bag and certificates | PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC, 16-byte salt | `pbeWithSHAAnd3-KeyTripleDES-CBC`, 8-byte salt |
//! | MAC | HMAC-SHA256, 16-byte salt | HMAC-SHA1, 8-byte salt |
//! | default iterations | [`ExportOptions::MODERN_ITERATIONS`] | [`ExportOptions::COMPATIBLE_ITERATIONS`] |
//! | same as | `openssl pkcs12 -export` (OpenSSL 3) | `openssl pkcs12 -export -legacy -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1` |
//! | for | OpenSSL 1.1 and 3, NSS (Thunderbird), Windows 10 1709 and later | macOS Keychain, gpgsm 2.2, older Windows and Java |
//!
//! # Import
//!
//! [`import`] reads both flavours and what OpenSSL 3 writes with and without `-legacy`, i.e.
//! PBES2 (PBKDF2 with HMAC-SHA-1/224/256/384/512; AES-128/192/256-CBC or 3DES-CBC), the
//! PKCS#12 PBE schemes with 3DES, 2-key 3DES, 128-bit RC2 and 40-bit RC2, unencrypted
//! `keyBag`s and `SafeContents`, and MACs with SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512.
//! RC4, PBMAC1 ([RFC 9579]) and the public-key integrity/privacy modes give an error that
//! names them; BER (indefinite-length) encodings are not read ([`Error::Der`]).
//!
//! The MAC is checked, in constant time, before anything is decrypted, so a wrong password
//! is always [`Error::MacMismatch`]. A file without a MAC is refused ([`Error::MissingMac`]).
//! Every iteration count is checked against [`MAX_ITERATIONS`] before any key derivation.
//! Passwords are tried in each encoding OpenSSL tries (see [`import`]).
//!
//! Derived keys, decrypted key material and the returned key are zeroized on drop.
//!
//! [RFC 7292]: https://www.rfc-editor.org/rfc/rfc7292
//! [RFC 7292 §4]: https://www.rfc-editor.org/rfc/rfc7292#section-4
//! [RFC 9579]: https://www.rfc-editor.org/rfc/rfc9579

mod asn1;
mod error;
mod kdf;
mod pbe;
mod pfx;

pub use error::Error;
use error::der_err;

use alloc::{string::String, vec::Vec};
use core::fmt;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

/// The highest iteration count [`import`] accepts for any key derivation (MAC or encryption),
/// and [`export`] writes. A file asking for more is refused with [`Error::IterationCount`]
/// instead of keeping the caller busy for minutes (RFC 8018 §4.2 calls 10,000,000 suitable
/// "for especially critical keys").
pub const MAX_ITERATIONS: u32 = 2_000_000;

/// Which algorithms [`export`] uses; see the [module documentation](self) for the full table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flavour {
    /// PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for key and certificates, HMAC-SHA256 MAC:
    /// what OpenSSL 3 writes by default.
    #[default]
    Modern,
    /// `pbeWithSHAAnd3-KeyTripleDES-CBC` for key and certificates, HMAC-SHA1 MAC: what
    /// importers that predate PBES2 in PKCS#12 read, such as the macOS Keychain and gpgsm 2.2.
    Compatible,
}

/// Options of [`export`]. Start from [`ExportOptions::new`] (or `default()`, which is
/// [`Flavour::Modern`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportOptions<'a> {
    /// The algorithms.
    pub flavour: Flavour,
    /// A `friendlyName` for the key and end-entity certificate bags (shown by Keychain,
    /// Windows and Thunderbird as the certificate's label).
    pub friendly_name: Option<&'a str>,
    /// The iteration count of every key derivation in the file (key bag, certificates, MAC).
    pub iterations: u32,
}

impl<'a> ExportOptions<'a> {
    /// Default iterations for [`Flavour::Modern`].
    ///
    /// 100,000 PBKDF2-HMAC-SHA256 iterations is about 50 times OpenSSL's 2,048, costs some
    /// 30 ms per derivation, and keeps the three derivations of a file (300,000 in all) within
    /// the limits importers put on files they read, such as the default
    /// `Pkcs12LoaderLimits` of .NET. OWASP's 600,000 is meant for stored password hashes; a
    /// PKCS#12 file is usually protected by a one-off transport password.
    pub const MODERN_ITERATIONS: u32 = 100_000;

    /// Default iterations for [`Flavour::Compatible`]: 2,048, what OpenSSL, macOS and Windows
    /// write, and which every importer of that flavour accepts.
    pub const COMPATIBLE_ITERATIONS: u32 = 2_048;

    /// Options for `flavour` with its default iteration count and no friendly name.
    #[must_use]
    pub const fn new(flavour: Flavour) -> Self {
        let iterations = match flavour {
            Flavour::Modern => Self::MODERN_ITERATIONS,
            Flavour::Compatible => Self::COMPATIBLE_ITERATIONS,
        };
        Self { flavour, friendly_name: None, iterations }
    }

    /// Sets the friendly name.
    #[must_use]
    pub const fn with_friendly_name(mut self, name: &'a str) -> Self {
        self.friendly_name = Some(name);
        self
    }

    /// Sets the iteration count (1 ..= [`MAX_ITERATIONS`]).
    #[must_use]
    pub const fn with_iterations(mut self, iterations: u32) -> Self {
        self.iterations = iterations;
        self
    }
}

impl Default for ExportOptions<'_> {
    fn default() -> Self {
        Self::new(Flavour::Modern)
    }
}

/// Writes a PKCS#12 file holding `key_pkcs8_der` (a DER PKCS#8 `PrivateKeyInfo`, RSA or EC),
/// its certificate `cert_der` and the CA certificates `chain` (intermediates first, root
/// last; may be empty), protected by `password`.
///
/// The password is used as UTF-8 for PBES2 and as a BMPString for the PKCS#12 KDF; an empty
/// password is allowed (then the PKCS#12 KDF gets the two bytes `00 00`, as from OpenSSL).
/// Salts and IVs come from `rng`.
///
/// # Errors
/// [`Error::Der`] if the key or a certificate is not well-formed DER;
/// [`Error::KeyCertificateMismatch`] if the certificate is not the key's;
/// [`Error::IterationCount`] or [`Error::EmptyFriendlyName`] for bad options.
pub fn export<R: CryptoRng + ?Sized>(
    key_pkcs8_der: &[u8],
    cert_der: &[u8],
    chain: &[&[u8]],
    password: &str,
    opts: &ExportOptions<'_>,
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    pfx::export(key_pkcs8_der, cert_der, chain, password, opts, rng)
}

/// What [`import`] found in a PKCS#12 file. (No `PartialEq`: comparing key material should be
/// a deliberate, constant-time act.)
#[derive(Clone)]
#[non_exhaustive]
pub struct Imported {
    /// The private key as a DER PKCS#8 `PrivateKeyInfo`, zeroized on drop. If the file holds
    /// several keys, this is the first one.
    pub key_pkcs8_der: Zeroizing<Vec<u8>>,
    /// The key's certificate, as stored in the file: the one with the key's `localKeyId`, or
    /// else the first whose public key is the key's.
    pub cert_der: Vec<u8>,
    /// The other certificates, in file order (for files from [`export`] and OpenSSL: the chain
    /// as given, intermediates first).
    pub chain_der: Vec<Vec<u8>>,
    /// The key bag's `friendlyName`, or else the certificate bag's.
    pub friendly_name: Option<String>,
}

impl fmt::Debug for Imported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imported")
            .field("key_pkcs8_der", &"<redacted>")
            .field("cert_der", &self.cert_der.len())
            .field("chain_der", &self.chain_der.len())
            .field("friendly_name", &self.friendly_name)
            .finish()
    }
}

impl Imported {
    /// The private key, ready to sign and decrypt.
    ///
    /// # Errors
    /// The errors of [`PrivateKey::from_pkcs8_der`](crate::PrivateKey::from_pkcs8_der), for a key
    /// this crate does not use (such as P-384).
    pub fn key(&self) -> crate::Result<crate::PrivateKey> {
        crate::PrivateKey::from_pkcs8_der(&self.key_pkcs8_der)
    }

    /// The key's certificate.
    ///
    /// # Errors
    /// [`crate::Error::Der`] if it does not decode (the file's MAC held, so it was written so).
    pub fn certificate(&self) -> crate::Result<x509_cert::Certificate> {
        crate::cert::from_der(&self.cert_der)
    }

    /// The other certificates (the chain), in file order.
    ///
    /// # Errors
    /// As [`Self::certificate`].
    pub fn chain(&self) -> crate::Result<Vec<x509_cert::Certificate>> {
        self.chain_der.iter().map(|c| crate::cert::from_der(c)).collect()
    }
}

/// Reads a DER PKCS#12 file protected by `password`.
///
/// The MAC is verified first. The password is tried in the encodings OpenSSL's `pkcs12`
/// command tries: the standard BMPString; for the empty password also the absent password
/// (no bytes); for a non-ASCII password also each UTF-8 byte widened to 16 bits (files from
/// OpenSSL before 1.1.0). The encoding that verifies the MAC is used to decrypt.
///
/// # Errors
/// [`Error::MacMismatch`] for a wrong password or a modified file; [`Error::Der`] for
/// malformed input; [`Error::UnsupportedAlgorithm`], [`Error::UnsupportedContentType`],
/// [`Error::UnsupportedVersion`] or [`Error::MissingMac`] for files outside what the
/// [module](self) reads; [`Error::IterationCount`]; [`Error::DecryptionFailed`];
/// [`Error::NoPrivateKey`] or [`Error::NoMatchingCertificate`].
pub fn import(pfx_der: &[u8], password: &str) -> Result<Imported, Error> {
    pfx::import(pfx_der, password)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use alloc::{borrow::ToOwned, vec};
    use der::{Decode, Encode};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../../fixtures/pki/pkcs12/", $name)).as_slice()
        };
    }

    const PW: &str = "s3cret-PW";
    const RSA_KEY: &[u8] = fixture!("rsa.key.der");
    const RSA_CERT: &[u8] = fixture!("rsa.crt.der");
    const EC_KEY: &[u8] = fixture!("ec.key.der");
    const EC_CERT: &[u8] = fixture!("ec.crt.der");
    const CA_CERT: &[u8] = fixture!("ca.crt.der");

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(0x7292)
    }

    fn check(imported: &Imported, key: &[u8], cert: &[u8], chain: &[&[u8]], name: Option<&str>) {
        assert_eq!(imported.key_pkcs8_der.as_slice(), key);
        assert_eq!(imported.cert_der, cert);
        assert_eq!(imported.chain_der, chain.iter().map(|c| c.to_vec()).collect::<Vec<_>>());
        assert_eq!(imported.friendly_name.as_deref(), name);
    }

    /// Imports an OpenSSL-made fixture and checks every field, and that a wrong password is
    /// a MAC mismatch.
    fn import_fixture(pfx: &[u8], pw: &str, expected: (&[u8], &[u8]), chain: &[&[u8]], name: Option<&str>) {
        let imported = import(pfx, pw).unwrap();
        check(&imported, expected.0, expected.1, chain, name);
        assert!(matches!(import(pfx, "wrong"), Err(Error::MacMismatch)));
    }

    #[test]
    fn imports_openssl_default() {
        let name = Some("Alice RSA");
        import_fixture(fixture!("openssl-default-rsa.p12"), PW, (RSA_KEY, RSA_CERT), &[CA_CERT], name);
        let name = Some("Alice EC");
        import_fixture(fixture!("openssl-default-ec.p12"), PW, (EC_KEY, EC_CERT), &[CA_CERT], name);
    }

    #[test]
    fn imports_openssl_legacy_rc2_and_3des() {
        let name = Some("Alice RSA");
        import_fixture(fixture!("openssl-legacy-rsa.p12"), PW, (RSA_KEY, RSA_CERT), &[CA_CERT], name);
        let name = Some("Alice EC");
        import_fixture(fixture!("openssl-3des-ec.p12"), PW, (EC_KEY, EC_CERT), &[CA_CERT], name);
    }

    #[test]
    fn imports_openssl_empty_and_unicode_passwords() {
        import_fixture(fixture!("openssl-emptypass-ec.p12"), "", (EC_KEY, EC_CERT), &[], None);
        let name = Some("Ålice Ünïcode");
        import_fixture(fixture!("openssl-unicode-rsa.p12"), "pässwörd€", (RSA_KEY, RSA_CERT), &[], name);
    }

    #[test]
    fn imports_openssl_unencrypted_and_sha512_mac() {
        import_fixture(fixture!("openssl-nocrypt-ec.p12"), PW, (EC_KEY, EC_CERT), &[], None);
        import_fixture(fixture!("openssl-sha512mac-ec.p12"), PW, (EC_KEY, EC_CERT), &[], None);
    }

    #[test]
    fn round_trips() {
        let mut rng = rng();
        for flavour in [Flavour::Modern, Flavour::Compatible] {
            for (key, cert) in [(RSA_KEY, RSA_CERT), (EC_KEY, EC_CERT)] {
                let opts = ExportOptions::new(flavour).with_friendly_name("Alice 😀 Ü");
                let pfx = export(key, cert, &[CA_CERT], PW, &opts, &mut rng).unwrap();
                let imported = import(&pfx, PW).unwrap();
                check(&imported, key, cert, &[CA_CERT], Some("Alice 😀 Ü"));
                assert!(matches!(import(&pfx, "s3cret-pw"), Err(Error::MacMismatch)));
            }
        }
    }

    #[test]
    fn round_trips_odd_passwords_and_no_chain() {
        let mut rng = rng();
        for flavour in [Flavour::Modern, Flavour::Compatible] {
            for pw in ["", "pässwörd€", "𝄞 outside the BMP"] {
                let opts = ExportOptions::new(flavour).with_iterations(1);
                let pfx = export(EC_KEY, EC_CERT, &[], pw, &opts, &mut rng).unwrap();
                check(&import(&pfx, pw).unwrap(), EC_KEY, EC_CERT, &[], None);
                assert!(matches!(import(&pfx, "x"), Err(Error::MacMismatch)));
            }
        }
    }

    #[test]
    fn modern_layout_is_what_openssl_writes() {
        let pfx = export(EC_KEY, EC_CERT, &[], PW, &ExportOptions::default(), &mut rng()).unwrap();
        let parsed = asn1::Pfx::from_der(&pfx).unwrap();
        let mac = parsed.mac_data.unwrap();
        assert_eq!(mac.mac.digest_algorithm.oid, asn1::SHA256);
        assert_eq!(mac.iterations, Some(ExportOptions::MODERN_ITERATIONS));
        let compat = ExportOptions::new(Flavour::Compatible);
        let pfx = export(EC_KEY, EC_CERT, &[], PW, &compat, &mut rng()).unwrap();
        let mac = asn1::Pfx::from_der(&pfx).unwrap().mac_data.unwrap();
        assert_eq!(mac.mac.digest_algorithm.oid, asn1::SHA1);
        assert_eq!(mac.iterations, Some(2048));
    }

    #[test]
    fn export_rejects_bad_input() {
        let mut rng = rng();
        let opts = ExportOptions::default().with_iterations(1);
        let err = export(RSA_KEY, EC_CERT, &[], PW, &opts, &mut rng).unwrap_err();
        assert!(matches!(err, Error::KeyCertificateMismatch), "{err}");
        let err = export(b"garbage", EC_CERT, &[], PW, &opts, &mut rng).unwrap_err();
        assert!(matches!(err, Error::Der { what: "PrivateKeyInfo", .. }), "{err}");
        let err = export(EC_KEY, EC_CERT, &[b"nope"], PW, &opts, &mut rng).unwrap_err();
        assert!(matches!(err, Error::Der { .. }), "{err}");
        for n in [0, MAX_ITERATIONS + 1] {
            let opts = ExportOptions::default().with_iterations(n);
            let err = export(EC_KEY, EC_CERT, &[], PW, &opts, &mut rng).unwrap_err();
            assert!(matches!(err, Error::IterationCount { count } if count == n));
        }
        let opts = ExportOptions::default().with_friendly_name("");
        assert!(matches!(export(EC_KEY, EC_CERT, &[], PW, &opts, &mut rng), Err(Error::EmptyFriendlyName)));
    }

    #[test]
    fn truncated_input_is_an_error() {
        for pfx in [fixture!("openssl-3des-ec.p12"), fixture!("openssl-default-rsa.p12")] {
            for len in 0..pfx.len() {
                assert!(import(&pfx[..len], PW).is_err(), "prefix {len}");
            }
            let mut longer = pfx.to_vec();
            longer.push(0);
            assert!(matches!(import(&longer, PW), Err(Error::Der { .. })));
        }
    }

    #[test]
    fn flipped_bytes_never_panic() {
        let pfx = fixture!("openssl-nocrypt-ec.p12");
        for i in 0..pfx.len() {
            for mask in [0x01, 0x80, 0xFF] {
                let mut bad = pfx.to_vec();
                bad[i] ^= mask;
                // Every byte is covered by the MAC, is the MAC, or is DER structure: a flip
                // must give an error, never a panic and never a success.
                assert!(import(&bad, PW).is_err(), "byte {i} ^ {mask:#x}");
            }
        }
    }

    #[test]
    fn garbage_is_an_error() {
        for junk in [&b""[..], b"\x30", b"\x30\x80\x00\x00", b"\x30\x03\x02\x01\x03", &[0xFF; 64]] {
            assert!(import(junk, PW).is_err());
        }
    }

    /// Re-encodes `pfx` after `edit` changed its `AuthenticatedSafe`, with a MAC recomputed
    /// under `pw` so the change is "authenticated".
    fn re_mac(pfx: &[u8], pw: &str, edit: impl FnOnce(&mut Vec<cms::content_info::ContentInfo>)) -> Vec<u8> {
        let mut parsed = asn1::Pfx::from_der(pfx).unwrap();
        let data = parsed.auth_safe.content.value().to_owned();
        let mut cis = Vec::<cms::content_info::ContentInfo>::from_der(&data).unwrap();
        edit(&mut cis);
        let data = cis.to_der().unwrap();
        let mut mac = parsed.mac_data.take().unwrap();
        let alg = kdf::HashAlg::from_digest_oid(&mac.mac.digest_algorithm.oid).unwrap();
        let tag = kdf::pkcs12_mac(
            alg,
            &kdf::Password::new(pw).bmp,
            mac.mac_salt.as_bytes(),
            mac.iterations.unwrap_or(1),
            &data,
        )
        .unwrap();
        mac.mac.digest = der::asn1::OctetString::new(tag).unwrap();
        parsed.mac_data = Some(mac);
        parsed.auth_safe.content = der::Any::new(der::Tag::OctetString, data).unwrap();
        parsed.to_der().unwrap()
    }

    #[test]
    fn tampered_encrypted_bag_is_an_error() {
        let opts = ExportOptions::new(Flavour::Compatible).with_iterations(16);
        let pfx = export(EC_KEY, EC_CERT, &[], PW, &opts, &mut rng()).unwrap();
        // Without fixing up the MAC: the MAC catches it.
        let mut bad = pfx.clone();
        let n = bad.len();
        bad[n / 2] ^= 1;
        assert!(matches!(import(&bad, PW), Err(Error::MacMismatch | Error::Der { .. })));
        // With the MAC recomputed: the decryption or the parse of the bag catches it.
        let bad = re_mac(&pfx, PW, |cis| {
            let mut ed: cms::encrypted_data::EncryptedData = cis[0].content.decode_as().unwrap();
            let ct = ed.enc_content_info.encrypted_content.take().unwrap();
            let mut ct = ct.as_bytes().to_vec();
            let last = ct.len() - 1;
            ct[last] ^= 0x55;
            ed.enc_content_info.encrypted_content = Some(der::asn1::OctetString::new(ct).unwrap());
            cis[0].content = der::Any::encode_from(&ed).unwrap();
        });
        let err = import(&bad, PW).unwrap_err();
        assert!(matches!(err, Error::DecryptionFailed | Error::Der { .. }), "{err}");
        // A key bag that cannot be decrypted: drop the certificates, keep the key.
        let only_key = re_mac(&pfx, PW, |cis| {
            cis.remove(0);
        });
        assert!(matches!(import(&only_key, PW), Err(Error::NoMatchingCertificate)));
        let only_certs = re_mac(&pfx, PW, |cis| {
            cis.truncate(1);
        });
        assert!(matches!(import(&only_certs, PW), Err(Error::NoPrivateKey)));
    }

    #[test]
    fn absurd_iteration_counts_are_refused_quickly() {
        let pfx = fixture!("openssl-3des-ec.p12");
        let mut parsed = asn1::Pfx::from_der(pfx).unwrap();
        parsed.mac_data.as_mut().unwrap().iterations = Some(u32::MAX);
        let bad = parsed.to_der().unwrap();
        assert!(matches!(import(&bad, PW), Err(Error::IterationCount { count: u32::MAX })));
        // Behind a valid MAC, an encryption iteration count is checked too.
        let opts = ExportOptions::new(Flavour::Compatible).with_iterations(1);
        let ours = export(EC_KEY, EC_CERT, &[], PW, &opts, &mut rng()).unwrap();
        let bad = re_mac(&ours, PW, |cis| {
            let mut ed: cms::encrypted_data::EncryptedData = cis[0].content.decode_as().unwrap();
            let params = asn1::Pkcs12PbeParams {
                salt: der::asn1::OctetString::new(vec![0u8; 8]).unwrap(),
                iterations: MAX_ITERATIONS + 1,
            };
            ed.enc_content_info.content_enc_alg.parameters = Some(der::Any::encode_from(&params).unwrap());
            cis[0].content = der::Any::encode_from(&ed).unwrap();
        });
        let err = import(&bad, PW).unwrap_err();
        assert!(matches!(err, Error::IterationCount { count } if count == MAX_ITERATIONS + 1));
    }

    #[test]
    fn missing_mac_is_refused() {
        let mut parsed = asn1::Pfx::from_der(fixture!("openssl-nocrypt-ec.p12")).unwrap();
        parsed.mac_data = None;
        assert!(matches!(import(&parsed.to_der().unwrap(), PW), Err(Error::MissingMac)));
        parsed.version = 2;
        let err = import(&parsed.to_der().unwrap(), PW).unwrap_err();
        assert!(matches!(err, Error::UnsupportedVersion { version: 2 }));
    }

    #[test]
    fn errors_display() {
        let e = Error::UnsupportedAlgorithm { context: "MAC", oid: asn1::PBMAC1 };
        assert_eq!(alloc::format!("{e}"), "PKCS#12: unsupported MAC algorithm 1.2.840.113549.1.5.14");
        assert!(alloc::format!("{}", Error::MacMismatch).contains("wrong password"));
        let imported = import(fixture!("openssl-nocrypt-ec.p12"), PW).unwrap();
        assert!(!alloc::format!("{imported:?}").contains(&alloc::format!("{:?}", EC_KEY[0..8].to_vec())));
    }
}
