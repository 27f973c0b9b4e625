//! Fixed keys, certificates and time shared by the fuzz targets.
//!
//! Everything comes from the checked-in OpenSSL fixtures in `fixtures/pki/pkcs12/` (see
//! `fixtures/pki/NOTES.md`): a P-256 test CA and two end entities it issued, one RSA-2048 and
//! one P-256, each with its private key. The seeds in `fuzz/seeds/` were made with the same
//! files (`fuzz/make-seeds.sh`), so seed inputs decrypt and verify, and the fuzzer starts
//! from the deep paths instead of the first parse error. Nothing is generated at run time:
//! no RSA key generation in the fuzz loop.

use std::sync::OnceLock;

use der::Decode;
use pki_core::{PrivateKey, UnixTime};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use x509_cert::Certificate;

mod remac;
pub use remac::remac;

/// 2027-01-15T08:00:00Z, inside the validity of every fixture certificate.
pub const NOW: UnixTime = UnixTime(1_800_000_000);

/// The password the `pkcs12_import` seeds were exported with.
pub const P12_PASSWORD: &str = "password";

/// The content the detached `cms_verify` seeds were signed over.
pub const DETACHED_CONTENT: &[u8] = b"detached content";

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/pki/pkcs12/", $name))
    };
}

/// A certificate and its private key.
pub struct Identity {
    /// The certificate.
    pub cert: Certificate,
    /// Its key.
    pub key: PrivateKey,
}

fn cert(der: &[u8]) -> Certificate {
    Certificate::from_der(der).expect("fixture certificate parses")
}

fn identity(cert_der: &[u8], key_der: &[u8]) -> Identity {
    Identity { cert: cert(cert_der), key: PrivateKey::from_pkcs8_der(key_der).expect("fixture key parses") }
}

/// The test CA (`CN=pki-core PKCS12 Test CA`, P-256, self-signed): the trust anchor and the
/// CRL issuer.
pub fn ca() -> &'static Certificate {
    static CA: OnceLock<Certificate> = OnceLock::new();
    CA.get_or_init(|| cert(fixture!("ca.crt.der")))
}

/// `CN=Alice rsa`: an RSA-2048 end entity issued by [`ca`], with its key.
pub fn rsa() -> &'static Identity {
    static RSA: OnceLock<Identity> = OnceLock::new();
    RSA.get_or_init(|| identity(fixture!("rsa.crt.der"), fixture!("rsa.key.der")))
}

/// `CN=Alice ec`: a P-256 end entity issued by [`ca`], with its key.
pub fn ec() -> &'static Identity {
    static EC: OnceLock<Identity> = OnceLock::new();
    EC.get_or_init(|| identity(fixture!("ec.crt.der"), fixture!("ec.key.der")))
}

/// A deterministic RNG, so that a crash reproduces.
pub fn rng() -> ChaCha20Rng {
    ChaCha20Rng::from_seed([0x5a; 32])
}
pub mod engine;
