//! STARTTLS on the client side (RFC 3207): the policy, the two rustls configurations it needs,
//! and the stream that is plaintext before the upgrade and TLS after it.
//!
//! ```text
//!   TlsMode::Required       STARTTLS must be offered and the handshake must verify the
//!                           certificate against the roots (tls_ca, else the system's) and the
//!                           host's name; otherwise a temporary failure. Never plaintext.
//!   TlsMode::Opportunistic  STARTTLS if offered, any certificate accepted (RFC 7435: encryption
//!                           against passive eavesdroppers; an MX's certificate is routinely
//!                           unverifiable). Not offered → plaintext. Handshake failed → one retry
//!                           on a new connection in plaintext, as Postfix does at level "may".
//!   TlsMode::Disabled       plaintext (a smarthost on loopback).
//! ```
//!
//! Both configurations use rustls with the ring provider, passed in explicitly: the relay never
//! depends on a process-default provider.

use std::{
    path::Path,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature},
    pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject},
};
use serde::Deserialize;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_rustls::{TlsConnector, client::TlsStream};

use super::SetupError;

/// When the connection to the next hop is encrypted. See the module docs.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// STARTTLS with a verified certificate, or no delivery (451).
    Required,
    /// STARTTLS when offered, with any certificate; plaintext otherwise.
    Opportunistic,
    /// Plaintext only (`none` in the configuration).
    #[serde(rename = "none")]
    Disabled,
}

impl core::str::FromStr for TlsMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "required" => Ok(TlsMode::Required),
            "opportunistic" => Ok(TlsMode::Opportunistic),
            "none" => Ok(TlsMode::Disabled),
            other => Err(format!("{other:?} is not one of required, opportunistic, none")),
        }
    }
}

/// The TLS side of the client: the mode and the rustls configuration it needs.
#[derive(Clone)]
pub struct TlsSettings {
    mode: TlsMode,
    /// Verifies against the roots (for [`TlsMode::Required`]); accepts anything otherwise.
    connector: Option<TlsConnector>,
}

impl core::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TlsSettings").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl TlsSettings {
    /// Settings for `mode`. For [`TlsMode::Required`] the roots are the certificates in the PEM
    /// file `ca` if given (only those, like Postfix's `smtp_tls_CAfile`: a private smarthost's
    /// CA), else the system's trust store.
    ///
    /// # Errors
    /// [`SetupError::Tls`] if the CA file cannot be read or holds no certificate, or if the
    /// system has no roots.
    pub fn new(mode: TlsMode, ca: Option<&Path>) -> Result<Self, SetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| SetupError::Tls(format!("TLS versions: {e}")))?;
        let connector = match mode {
            TlsMode::Disabled => None,
            TlsMode::Opportunistic => {
                let config = builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
                    .with_no_client_auth();
                Some(TlsConnector::from(Arc::new(config)))
            }
            TlsMode::Required => {
                let roots = match ca {
                    Some(path) => roots_from_file(path)?,
                    None => system_roots()?,
                };
                let config = builder.with_root_certificates(roots).with_no_client_auth();
                Some(TlsConnector::from(Arc::new(config)))
            }
        };
        Ok(TlsSettings { mode, connector })
    }

    /// Plaintext only.
    pub fn disabled() -> Self {
        TlsSettings { mode: TlsMode::Disabled, connector: None }
    }

    /// The mode.
    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    pub(super) fn connector(&self) -> Option<&TlsConnector> {
        self.connector.as_ref()
    }
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, SetupError> {
    let pem = std::fs::read(path).map_err(|e| SetupError::Tls(format!("cannot read {}: {e}", path.display())))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| SetupError::Tls(format!("{}: {e}", path.display())))?;
        roots.add(cert).map_err(|e| SetupError::Tls(format!("{}: {e}", path.display())))?;
    }
    if roots.is_empty() {
        return Err(SetupError::Tls(format!("{} holds no certificate", path.display())));
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, SetupError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (_added, _ignored) = roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found.errors.first().map(ToString::to_string).unwrap_or_else(|| "none found".into());
        return Err(SetupError::Tls(format!("no system root certificates ({why}); set next_hop.tls_ca")));
    }
    Ok(roots)
}

/// The name to send in SNI and, in [`TlsMode::Required`], to verify: a DNS name or an IP.
pub(super) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.');
    ServerName::try_from(host.to_owned()).map_err(|_| "not a valid TLS server name".into())
}

/// RFC 7435 opportunistic security: any certificate is accepted, but the handshake's own
/// signatures are still checked, so the session is encrypted to whoever holds the key.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A connection to the next hop: plaintext, or TLS after STARTTLS.
pub(super) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_names() {
        assert_eq!("none".parse::<TlsMode>(), Ok(TlsMode::Disabled));
        assert!("maybe".parse::<TlsMode>().is_err());
        assert!(matches!(server_name("127.0.0.1"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name("mx1.example.org."), Ok(ServerName::DnsName(_))));
        assert!(server_name("bad name").is_err());
        let missing = TlsSettings::new(TlsMode::Required, Some(Path::new("/nonexistent/ca.pem")));
        assert!(matches!(missing, Err(SetupError::Tls(m)) if m.contains("cannot read")));
    }
}
