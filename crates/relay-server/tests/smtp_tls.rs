#![allow(clippy::unwrap_used)]
//! `STARTTLS` on the SMTP front (RFC 3207) over real loopback sockets: a tokio-rustls client
//! that trusts the test's self-signed certificate (made by `relay_server::tls::self_signed_pair`,
//! as the demo makes its own), against [`serve_tls`] with the recording fake handler.
//!
//! Sessions whose [`CloseReason`] matters run one [`Session`] on an accepted loopback socket
//! ([`one_session`]); the rest run the whole server ([`start_tls`]).

mod smtp_support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use relay_server::config::{Config, ConfigError};
use relay_server::smtp::{CloseReason, Limits, Session};
use relay_server::tls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use smtp_support::{Fake, start_tls};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector, client};

/// How long the client waits for any one reply before failing the test.
const REPLY_WAIT: Duration = Duration::from_secs(10);

/// A self-signed pair in a temporary directory, with the server's acceptor and a client
/// connector that trusts the certificate.
struct Pair {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    acceptor: TlsAcceptor,
    connector: TlsConnector,
}

fn pair() -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, made) = tls::self_signed_pair(dir.path(), &["localhost".into()]).unwrap();
    assert!(made);
    let acceptor = tls::acceptor(&cert, &key).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_file_iter(&cert).unwrap() {
        roots.add(der.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Pair { _dir: dir, cert, key, acceptor, connector: TlsConnector::from(Arc::new(config)) }
}

/// A line-based SMTP client over any stream: plaintext TCP, then TLS.
struct Conn<S> {
    io: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    async fn send_raw(&mut self, bytes: &[u8]) {
        let io = self.io.get_mut();
        io.write_all(bytes).await.unwrap();
        io.flush().await.unwrap();
    }

    async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// One whole reply, its lines joined with `\n`, without CRLF.
    async fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(REPLY_WAIT, self.io.read_line(&mut line))
                .await
                .expect("no reply in time")
                .unwrap();
            assert!(n > 0, "connection closed while waiting for a reply (got {lines:?})");
            let line = line.trim_end_matches("\r\n").to_owned();
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                return lines.join("\n");
            }
        }
    }

    async fn cmd(&mut self, line: &str, expected: &str) -> String {
        self.send(line).await;
        let reply = self.reply().await;
        assert!(reply.starts_with(expected), "{line}: expected {expected:?}, got {reply:?}");
        reply
    }

    /// Whether the server closes the connection, within `REPLY_WAIT`, with no SMTP reply
    /// (a TLS alert or a reset is fine).
    async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match tokio::time::timeout(REPLY_WAIT, self.io.read_to_end(&mut rest)).await {
            Ok(Ok(_)) => !rest.windows(2).any(|w| w == b"\r\n"),
            Ok(Err(_)) => true,
            Err(_) => false,
        }
    }
}

impl Conn<TcpStream> {
    /// Connects and checks the greeting.
    async fn connect(addr: SocketAddr) -> Self {
        let mut conn = Conn { io: BufReader::new(TcpStream::connect(addr).await.unwrap()) };
        let greeting = conn.reply().await;
        assert_eq!(greeting, "220 mx.pportal.io ESMTP");
        conn
    }

    /// `STARTTLS`, its 220, and the handshake.
    async fn starttls(mut self, pair: &Pair) -> Conn<client::TlsStream<TcpStream>> {
        self.cmd("STARTTLS", "220 2.0.0 Ready to start TLS").await;
        self.upgrade(pair).await
    }

    /// The handshake, after the 220 was read.
    async fn upgrade(self, pair: &Pair) -> Conn<client::TlsStream<TcpStream>> {
        assert!(self.io.buffer().is_empty(), "the server sent something after its 220");
        let name = ServerName::try_from("localhost").unwrap();
        let tls = tokio::time::timeout(REPLY_WAIT, pair.connector.connect(name, self.io.into_inner()))
            .await
            .expect("handshake in time")
            .unwrap();
        Conn { io: BufReader::new(tls) }
    }
}

/// One [`Session`] offering `STARTTLS`, on the first connection accepted on a loopback port: its
/// address, and the task that returns how the session ended.
async fn one_session(limits: Limits, acceptor: TlsAcceptor) -> (SocketAddr, Arc<Fake>, JoinHandle<CloseReason>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(Fake::new());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let session_handler = Arc::clone(&handler);
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let reason = Session::new(stream, session_handler, limits, stopped).with_tls(acceptor).run().await;
        drop(stop);
        reason.unwrap()
    });
    (addr, handler, task)
}

#[tokio::test]
async fn ehlo_advertises_starttls_only_before_tls_and_mail_goes_through() {
    let pair = pair();
    let server = start_tls(Limits::default(), Some(pair.acceptor.clone())).await;
    let mut c = Conn::connect(server.addr).await;
    let ehlo = c.cmd("EHLO client.example", "250").await;
    assert_eq!(ehlo.lines().last(), Some("250 STARTTLS"), "{ehlo}");
    // A transaction opened before STARTTLS is forgotten by it (RFC 3207 §4.2).
    c.cmd("MAIL FROM:<before@example.com>", "250 2.1.0").await;
    let mut c = c.starttls(&pair).await;
    c.cmd("MAIL FROM:<s@example.com>", "503 5.5.1 send EHLO or HELO first").await;
    let ehlo = c.cmd("EHLO client.example", "250").await;
    assert!(!ehlo.contains("STARTTLS"), "STARTTLS is not offered under TLS: {ehlo}");
    assert!(ehlo.contains("250-PIPELINING") && ehlo.ends_with("250 ENHANCEDSTATUSCODES"), "{ehlo}");
    c.cmd("RCPT TO:<alice@pportal.io>", "503 5.5.1 send MAIL first").await;
    c.cmd("MAIL FROM:<s@example.com>", "250 2.1.0").await;
    c.cmd("RCPT TO:<alice@pportal.io>", "250 2.1.5").await;
    c.cmd("DATA", "354").await;
    c.send_raw(b"Subject: over TLS\r\n\r\nsecret\r\n").await;
    c.cmd(".", "250 2.0.0").await;
    c.cmd("QUIT", "221 2.0.0").await;
    assert!(c.closed().await);
    let delivered = server.handler.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].from.as_deref(), Some("s@example.com"));
    assert_eq!(delivered[0].data, b"Subject: over TLS\r\n\r\nsecret\r\n");
    let info = delivered[0].tls.expect("the handler was told the message came over TLS");
    assert_eq!(info.version, "TLSv1_3");
    assert!(info.cipher.starts_with("TLS13_"), "{info:?}");

    // A plaintext session on the same server: the handler is told so.
    let mut c = Conn::connect(server.addr).await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("MAIL FROM:<s@example.com>", "250 2.1.0").await;
    c.cmd("RCPT TO:<alice@pportal.io>", "250 2.1.5").await;
    c.cmd("DATA", "354").await;
    c.send_raw(b"Subject: plain\r\n\r\n.\r\n").await;
    c.reply().await;
    assert_eq!(server.handler.delivered()[1].tls, None);
    server.stop().await;
}

#[tokio::test]
async fn commands_pipelined_after_starttls_are_discarded() {
    let pair = pair();
    let server = start_tls(Limits::default(), Some(pair.acceptor.clone())).await;
    // Whole lines, and a partial one, injected after STARTTLS in the same write (the
    // CVE-2011-0411 attack): none of them may run once TLS is up.
    for injected in ["EHLO evil.example\r\nMAIL FROM:<evil@example.com>\r\n", "MAIL FROM:<evil@exa"] {
        let mut c = Conn::connect(server.addr).await;
        c.cmd("EHLO client.example", "250").await;
        c.send_raw(format!("STARTTLS\r\n{injected}").as_bytes()).await;
        let reply = c.reply().await;
        assert_eq!(reply, "220 2.0.0 Ready to start TLS");
        let mut c = c.upgrade(&pair).await;
        // The first reply under TLS answers our EHLO, not an injected command.
        let ehlo = c.cmd("EHLO client.example", "250-mx.pportal.io").await;
        assert!(!ehlo.contains("2.1.0"), "{ehlo}");
        // Had the injected MAIL run, this RCPT would be accepted.
        c.cmd("RCPT TO:<alice@pportal.io>", "503 5.5.1 send MAIL first").await;
        c.cmd("QUIT", "221").await;
    }
    assert!(server.handler.delivered().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn starttls_with_argument_twice_and_without_a_certificate() {
    let pair = pair();
    let server = start_tls(Limits::default(), Some(pair.acceptor.clone())).await;
    let mut c = Conn::connect(server.addr).await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("STARTTLS now", "501 5.5.4").await;
    let mut c = c.starttls(&pair).await;
    c.cmd("STARTTLS", "503 5.5.1 TLS already active").await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("STARTTLS", "503 5.5.1 TLS already active").await;
    c.cmd("NOOP", "250 2.0.0").await;
    server.stop().await;

    // No acceptor: not advertised, and refused with 502.
    let server = start_tls(Limits::default(), None).await;
    let mut c = Conn::connect(server.addr).await;
    let ehlo = c.cmd("EHLO client.example", "250").await;
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    c.cmd("STARTTLS", "502 5.5.1 STARTTLS not available").await;
    server.stop().await;
}

#[tokio::test]
async fn garbage_instead_of_a_client_hello_closes_and_the_server_keeps_serving() {
    let pair = pair();
    let (addr, _, session) = one_session(Limits::default(), pair.acceptor.clone()).await;
    let mut c = Conn::connect(addr).await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("STARTTLS", "220 2.0.0").await;
    c.send_raw(b"EHLO still plaintext\r\n").await;
    assert!(c.closed().await, "the server closes the connection, with no SMTP reply");
    let reason = tokio::time::timeout(REPLY_WAIT, session).await.expect("the session ends").unwrap();
    assert_eq!(reason, CloseReason::TlsFailed);

    // Under serve, with one connection allowed per address: the failed one gives its place
    // back, and the next client is served.
    let server =
        start_tls(Limits { max_connections_per_ip: 1, ..Limits::default() }, Some(pair.acceptor.clone())).await;
    let mut c = Conn::connect(server.addr).await;
    c.cmd("STARTTLS", "220 2.0.0").await;
    c.send_raw(&[0u8; 64]).await;
    assert!(c.closed().await);
    let deadline = Instant::now() + REPLY_WAIT;
    let mut c = loop {
        let mut conn = Conn { io: BufReader::new(TcpStream::connect(server.addr).await.unwrap()) };
        let greeting = conn.reply().await;
        if greeting.starts_with("220 ") {
            break conn;
        }
        assert!(greeting.starts_with("421 4.7.0") && Instant::now() < deadline, "{greeting}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    c.cmd("EHLO client.example", "250").await;
    let mut c = c.starttls(&pair).await;
    c.cmd("EHLO client.example", "250").await;
    c.cmd("QUIT", "221").await;
    server.stop().await;
}

#[tokio::test]
async fn slow_handshake_times_out() {
    let pair = pair();
    let limits = Limits { command_timeout: Duration::from_millis(300), ..Limits::default() };
    // Nothing after the 220, then half a ClientHello (a record header announcing 512 octets that
    // never come): both are bounded by the command timeout.
    for stall in [&b""[..], b"\x16\x03\x01\x02\x00"] {
        let (addr, _, session) = one_session(limits.clone(), pair.acceptor.clone()).await;
        let mut c = Conn::connect(addr).await;
        c.cmd("STARTTLS", "220 2.0.0").await;
        let start = Instant::now();
        c.send_raw(stall).await;
        assert!(c.closed().await);
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(5), "{waited:?}");
        let reason = tokio::time::timeout(REPLY_WAIT, session).await.expect("the session ends").unwrap();
        assert_eq!(reason, CloseReason::Timeout);
    }
}

#[test]
fn config_tls_from_file_and_environment() {
    let pair = pair();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mailrelay.toml");
    std::fs::write(
        &file,
        format!(
            "[smtp.tls]\ncert = {:?}\nkey = {:?}\n",
            pair.cert.display().to_string(),
            pair.key.display().to_string()
        ),
    )
    .unwrap();
    let cfg = Config::load(Some(&file), |_| None).unwrap();
    let tls = cfg.smtp.tls.as_ref().expect("[smtp.tls] is read");
    assert_eq!((&tls.cert, &tls.key), (&pair.cert, &pair.key));
    assert_eq!(Config::load(None, |_| None).unwrap().smtp.tls, None, "no TLS by default");

    // The environment replaces paths one by one; a missing file is an error naming it.
    let missing = dir.path().join("nowhere-key.pem");
    let env = |k: &str| (k == "MAILRELAY_SMTP_TLS_KEY").then(|| missing.display().to_string());
    let err = Config::load(Some(&file), env).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("nowhere-key.pem"), "{err}");

    // Both variables without a file section.
    let env = |k: &str| match k {
        "MAILRELAY_SMTP_TLS_CERT" => Some(pair.cert.display().to_string()),
        "MAILRELAY_SMTP_TLS_KEY" => Some(pair.key.display().to_string()),
        _ => None,
    };
    assert_eq!(Config::load(None, env).unwrap().smtp.tls.unwrap().cert, pair.cert);
    // Only one of them, and no file section: an error naming the other.
    let env = |k: &str| (k == "MAILRELAY_SMTP_TLS_CERT").then(|| pair.cert.display().to_string());
    let err = Config::load(None, env).unwrap_err();
    assert!(matches!(&err, ConfigError::Env { var, .. } if var == "MAILRELAY_SMTP_TLS_KEY"), "{err:?}");

    // A certificate file that is not PEM.
    std::fs::write(dir.path().join("cert.pem"), "garbage\n").unwrap();
    std::fs::write(
        &file,
        format!("[smtp.tls]\ncert = {:?}\nkey = {:?}\n", dir.path().join("cert.pem"), pair.key.display().to_string()),
    )
    .unwrap();
    let err = Config::load(Some(&file), |_| None).unwrap_err();
    assert!(err.to_string().contains("cert.pem") && err.to_string().contains("[smtp.tls]"), "{err}");
}
