//! Server-side TLS for the SMTP front's `STARTTLS`: the configured certificate chain and key
//! loaded into a rustls [`ServerConfig`], and the demo's self-signed pair.
//!
//! ```text
//! [smtp.tls] cert = "….pem", key = "….pem"        (or MAILRELAY_SMTP_TLS_CERT / _KEY)
//!      │  server_config: PEM chain (leaf first) + PKCS#8/PKCS#1/SEC1 key, checked to match
//!      ▼
//! rustls ServerConfig (ring provider, TLS 1.2 and 1.3) ──> TlsAcceptor ──> smtp::serve_tls
//! ```
//!
//! The crypto provider is always ring, passed explicitly: nothing here depends on a
//! process-wide default provider. `mailrelay check-config` loads the pair, so a missing or
//! unparseable file is reported before the server starts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
/// What [`acceptor`] returns and [`serve_tls`](crate::smtp::serve_tls) and
/// [`Session::with_tls`](crate::smtp::Session::with_tls) take.
pub use tokio_rustls::TlsAcceptor;

/// The demo's certificate file in its data directory.
pub const DEMO_CERT_FILE: &str = "smtp-cert.pem";
/// The demo's private key file in its data directory (mode 0600).
pub const DEMO_KEY_FILE: &str = "smtp-key.pem";

/// Why the TLS certificate or key cannot be used. Each variant names the file.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate file cannot be read or is not PEM.
    Certificate {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The certificate file holds no `CERTIFICATE` block.
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file cannot be read, is not PEM, or holds no private key.
    Key {
        /// The file.
        path: PathBuf,
        /// Why (never the key itself).
        reason: String,
    },
    /// rustls refused the pair (the key does not match the certificate, an unsupported key
    /// type).
    Rejected(String),
    /// The self-signed pair could not be made or written.
    SelfSigned(String),
}

impl core::fmt::Display for TlsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TlsError::Certificate { path, reason } => write!(f, "TLS certificate {}: {reason}", path.display()),
            TlsError::NoCertificate { path } => {
                write!(f, "TLS certificate {}: no PEM CERTIFICATE block in it", path.display())
            }
            TlsError::Key { path, reason } => write!(f, "TLS key {}: {reason}", path.display()),
            TlsError::Rejected(reason) => write!(f, "TLS certificate and key not usable: {reason}"),
            TlsError::SelfSigned(reason) => write!(f, "self-signed TLS certificate: {reason}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// A `STARTTLS` acceptor for the certificate chain in `cert` and the key in `key` (PEM).
///
/// # Errors
/// [`TlsError`] naming the file that is missing or unparseable, or saying why rustls refused
/// the pair.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    Ok(TlsAcceptor::from(server_config(cert, key)?))
}

/// The rustls server configuration for the chain in `cert` (leaf first) and the key in `key`.
///
/// # Errors
/// As [`acceptor`].
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let certificate = |reason: String| TlsError::Certificate { path: cert.to_path_buf(), reason };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| certificate(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| certificate(e.to_string()))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: cert.to_path_buf() });
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::Key { path: key.to_path_buf(), reason: e.to_string() })?;
    config_from(chain, key)
}

/// The rustls server configuration for a chain and key already in memory.
///
/// # Errors
/// [`TlsError::Rejected`] if the key does not match the leaf or is of an unsupported type.
pub fn config_from(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rejected(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Rejected(e.to_string()))?;
    Ok(Arc::new(config))
}

/// The demo's pair in `dir`: [`DEMO_CERT_FILE`] and [`DEMO_KEY_FILE`], made with rcgen for
/// `names` (DNS names or IP addresses) unless both files are there already. Returns the two
/// paths and whether they were made now.
///
/// The key is written readable by its owner only; the certificate is self-signed, so a client
/// that checks certificates has to be given it as a trust anchor (the SMTP tests do that).
///
/// # Errors
/// [`TlsError::SelfSigned`] if rcgen fails or a file cannot be written (one of the two exists
/// without the other, say).
pub fn self_signed_pair(dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf, bool), TlsError> {
    let cert_path = dir.join(DEMO_CERT_FILE);
    let key_path = dir.join(DEMO_KEY_FILE);
    if cert_path.is_file() && key_path.is_file() {
        return Ok((cert_path, key_path, false));
    }
    let pair = rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    crate::app::write_private(&key_path, pair.signing_key.serialize_pem().as_bytes())
        .map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    std::fs::write(&cert_path, pair.cert.pem())
        .map_err(|e| TlsError::SelfSigned(format!("cannot write {}: {e}", cert_path.display())))?;
    Ok((cert_path, key_path, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["localhost".into(), "127.0.0.1".into()]
    }

    #[test]
    fn self_signed_pair_loads_and_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, made) = self_signed_pair(dir.path(), &names()).unwrap();
        assert!(made);
        assert!(server_config(&cert, &key).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let before = std::fs::read(&cert).unwrap();
        let (_, _, made) = self_signed_pair(dir.path(), &names()).unwrap();
        assert!(!made, "an existing pair is kept");
        assert_eq!(std::fs::read(&cert).unwrap(), before);
    }

    #[test]
    fn bad_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, _) = self_signed_pair(dir.path(), &names()).unwrap();
        let missing = dir.path().join("missing.pem");
        let err = server_config(&missing, &key).unwrap_err();
        assert!(matches!(err, TlsError::Certificate { .. }), "{err:?}");
        assert!(err.to_string().contains("missing.pem"), "{err}");

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        let err = server_config(&garbage, &key).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err:?}");

        // The certificate file holds no key.
        let err = server_config(&cert, &cert).unwrap_err();
        assert!(matches!(err, TlsError::Key { .. }), "{err:?}");
        assert!(err.to_string().contains(DEMO_CERT_FILE), "{err}");

        // A key of another pair does not match the certificate.
        let other = tempfile::tempdir().unwrap();
        let (_, other_key, _) = self_signed_pair(other.path(), &names()).unwrap();
        let err = server_config(&cert, &other_key).unwrap_err();
        assert!(matches!(err, TlsError::Rejected(_)), "{err:?}");
    }
}
