//! Test support for the SMTP tests: a recording fake [`Handler`], a server on a loopback port
//! (with or without `STARTTLS`), and a line-based client. Included by `smtp.rs`,
//! `smtp_interop.rs` and `smtp_tls.rs` as a module; built on its own it is an empty test crate.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use relay_engine::address::{Address, RelayDomains};
use relay_server::smtp::{Destination, Handler, Limits, Reply, SessionInfo, TlsInfo, serve, serve_tls};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// How long the client waits for any one reply before failing the test.
const REPLY_WAIT: Duration = Duration::from_secs(10);

/// One message as the handler received it.
#[derive(Clone, Debug)]
pub(crate) struct Delivered {
    pub(crate) from: Option<String>,
    pub(crate) rcpts: Vec<String>,
    pub(crate) data: Vec<u8>,
    /// The TLS session the message came over, as the session told the handler.
    pub(crate) tls: Option<TlsInfo>,
}

/// A handler with fixed rules, keyed on the local part at `pportal.io`:
///
/// - not at `pportal.io` → 550 5.7.1; `nobody`, `guess*` → 550 5.1.1; `tempfail` → 451 4.3.0;
/// - anything else is accepted, its destination being the local part up to a `+`
///   (`alice` and `alice+tag` share one);
/// - delivery to `hoptemp` → 451 4.4.1, to `hopfail` → 550 5.7.1, otherwise recorded.
pub(crate) struct Fake {
    domains: RelayDomains,
    delivered: Mutex<Vec<Delivered>>,
}

impl Fake {
    pub(crate) fn new() -> Self {
        Fake { domains: RelayDomains::new(["pportal.io"]).unwrap(), delivered: Mutex::new(Vec::new()) }
    }

    pub(crate) fn delivered(&self) -> Vec<Delivered> {
        self.delivered.lock().unwrap().clone()
    }
}

impl Handler for Fake {
    fn domains(&self) -> &RelayDomains {
        &self.domains
    }

    fn hostname(&self) -> &str {
        "mx.pportal.io"
    }

    async fn check_rcpt(&self, _mail_from: Option<&Address>, rcpt: &Address) -> Result<Destination, Reply> {
        if !self.domains.contains(rcpt.domain()) {
            return Err(Reply::RELAY_DENIED);
        }
        let local = rcpt.local_content().into_owned();
        match local.as_str() {
            "nobody" => Err(Reply::UNKNOWN_USER),
            l if l.starts_with("guess") => Err(Reply::UNKNOWN_USER),
            "tempfail" => Err(Reply::TEMPORARY),
            l => Ok(Destination::new(l.split('+').next().unwrap_or(l))),
        }
    }

    async fn deliver(&self, mail_from: Option<&Address>, rcpts: &[Address], data: &[u8]) -> Result<(), Reply> {
        self.record(None, mail_from, rcpts, data).await
    }

    async fn deliver_with(
        &self,
        session: &SessionInfo,
        mail_from: Option<&Address>,
        rcpts: &[Address],
        data: Vec<u8>,
    ) -> Result<(), Reply> {
        self.record(session.tls, mail_from, rcpts, &data).await
    }
}

impl Fake {
    async fn record(
        &self,
        tls: Option<TlsInfo>,
        mail_from: Option<&Address>,
        rcpts: &[Address],
        data: &[u8],
    ) -> Result<(), Reply> {
        tokio::task::yield_now().await;
        match rcpts.first().map(|r| r.local()) {
            Some("hoptemp") => return Err(Reply::new(451, Some((4, 4, 1)), "next hop did not answer")),
            Some("hopfail") => return Err(Reply::new(550, Some((5, 7, 1)), "next hop refused")),
            _ => {}
        }
        self.delivered.lock().unwrap().push(Delivered {
            from: mail_from.map(|a| a.to_string()),
            rcpts: rcpts.iter().map(ToString::to_string).collect(),
            data: data.to_vec(),
            tls,
        });
        Ok(())
    }
}

/// A running server.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) handler: Arc<Fake>,
    pub(crate) stop: watch::Sender<bool>,
    pub(crate) task: JoinHandle<()>,
}

impl Server {
    /// Shuts the server down and waits for it.
    pub(crate) async fn stop(self) {
        self.stop.send_replace(true);
        tokio::time::timeout(REPLY_WAIT, self.task).await.expect("serve returns").expect("no panic");
    }
}

/// Starts [`serve`] with a [`Fake`] on `127.0.0.1:0`: no TLS.
pub(crate) async fn start(limits: Limits) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(Fake::new());
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(serve(listener, Arc::clone(&handler), limits, stopped));
    Server { addr, handler, stop, task }
}

/// Starts [`serve_tls`] with a [`Fake`] on `127.0.0.1:0`, offering `STARTTLS` with `tls`.
pub(crate) async fn start_tls(limits: Limits, tls: Option<TlsAcceptor>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(Fake::new());
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(serve_tls(listener, Arc::clone(&handler), limits, tls, stopped));
    Server { addr, handler, stop, task }
}

/// A line-based SMTP client for tests.
pub(crate) struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Client {
    /// Connects and reads the greeting (or the 421 of a refused connection).
    pub(crate) async fn connect(addr: SocketAddr) -> (Self, String) {
        let (read, writer) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut client = Client { reader: BufReader::new(read), writer };
        let greeting = client.reply().await;
        (client, greeting)
    }

    /// Sends a line, adding CRLF.
    pub(crate) async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// Sends bytes as they are.
    pub(crate) async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    /// Reads one whole reply (all lines of a multi-line one), joined with `\n`, without CRLF.
    pub(crate) async fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(REPLY_WAIT, self.reader.read_line(&mut line))
                .await
                .expect("no reply in time")
                .unwrap();
            assert!(n > 0, "connection closed while waiting for a reply (got {lines:?})");
            assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
            let line = line.trim_end_matches("\r\n").to_owned();
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                return lines.join("\n");
            }
        }
    }

    /// Reads a reply and checks that it starts with `expected` (or, for a multi-line reply,
    /// contains it).
    pub(crate) async fn expect(&mut self, expected: &str) -> String {
        let reply = self.reply().await;
        assert!(
            reply.starts_with(expected) || (reply.contains('\n') && reply.contains(expected)),
            "expected {expected:?}, got {reply:?}"
        );
        reply
    }

    /// Sends a command and checks its reply: `cmd("RCPT TO:<x@y>", "550 5.1.1")`.
    pub(crate) async fn cmd(&mut self, line: &str, expected: &str) -> String {
        self.send(line).await;
        self.expect(expected).await
    }

    /// EHLO, `MAIL FROM:<s@example.com>`, one recipient, DATA: ready for the message.
    pub(crate) async fn transaction_start(&mut self, rcpt: &str) {
        self.cmd("EHLO client.example", "250").await;
        self.cmd("MAIL FROM:<s@example.com>", "250 2.1.0").await;
        self.cmd(&format!("RCPT TO:<{rcpt}>"), "250 2.1.5").await;
        self.cmd("DATA", "354").await;
    }

    /// Whether the server closed the connection (EOF, or a reset) with nothing more to say.
    pub(crate) async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match tokio::time::timeout(REPLY_WAIT, self.reader.read_to_end(&mut rest)).await {
            Ok(Ok(_)) | Ok(Err(_)) => rest.is_empty(),
            Err(_) => false,
        }
    }
}
