//! The next hop: an SMTP client that hands the engine's output on, synchronously, while the
//! sending MTA waits for our answer to its DATA.
//!
//! The next hop's verdict becomes ours (DESIGN.md, "Delivery model"): 2xx → 250; 4xx → 451;
//! 5xx → 550 with its reason; a timeout or a broken connection → 451. The relay never queues
//! and never bounces: the sender's MTA keeps the message until we say 250.
//!
//! ```text
//!   deliver(mail_from, rcpt, data)
//!     │
//!     ├─ smarthost: the one configured host:port
//!     └─ MX: rcpt's domain ─► MX hosts by preference, or the domain's A/AAAA  (mx.rs)
//!     │
//!     ▼  for each host, in order, until one gets as far as MAIL:
//!   pooled connection to that host? ── RSET ─────────────────────────────┐
//!   else connect ─ 220 ─ EHLO ─ [STARTTLS ─ TLS ─ EHLO] ─ [AUTH]  (tls.rs, auth.rs)
//!     │   connection refused, 4xx/5xx before MAIL, TLS required but failed → next host
//!     ▼                                                                  │
//!   MAIL ─ RCPT ─ DATA ─ 250 ◄───────────────────────────────────────────┘
//!     └─ the connection goes back to the pool of its host (TLS state and all)
//! ```
//!
//! Decisions (documented in docs/mailrelay.example.toml as well):
//! - Required TLS that cannot be had (no STARTTLS, refused, handshake or certificate failure)
//!   is a temporary failure (451): the sender retries, and nothing is ever sent in clear.
//! - Opportunistic TLS takes any certificate (RFC 7435). STARTTLS not offered or refused →
//!   plaintext on the same connection; handshake failed → one new connection in plaintext
//!   (Postfix does the same at level "may": a broken TLS stack must not block mail).
//! - AUTH is sent only on a TLS connection; without one it is a temporary failure. A refused
//!   AUTH (535) is temporary too: it is our configuration that is wrong, and the sender's
//!   retry succeeds once the operator fixes it, where a 550 would lose the message.
//! - Connections are pooled per host (the smarthost, or each MX host by name and port), so
//!   domains sharing an MX share connections; idle ones expire after [`NextHop::idle_max`].

mod auth;
mod mx;
mod tls;

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    time::timeout,
};

pub use auth::Credentials;
pub use mx::{MxLookup, SMTP_PORT};
pub use tls::{TlsMode, TlsSettings};

use crate::config::{NextHopConfig, NextHopMode};
use relay_smtp::proto::DotStuffer;

/// Idle connections kept per host.
const MAX_IDLE_PER_HOST: usize = 32;
/// Each DNS query of MX delivery waits this long (twice).
const DNS_TIMEOUT: Duration = Duration::from_secs(5);
/// Reply lines kept of one reply (an EHLO reply is the longest we expect).
const MAX_REPLY_LINES: usize = 64;

/// Where to send.
#[derive(Clone, Debug)]
pub struct NextHop {
    /// `host:port` of the smarthost (unused in MX mode).
    pub address: String,
    /// The name we give in EHLO.
    pub helo: String,
    /// How long to wait for each reply (RFC 5321 §4.5.3.2 suggests minutes; the sending MTA is
    /// waiting on us, so keep it well under its own DATA timeout).
    pub reply_timeout: Duration,
    /// Idle connections older than this are not reused.
    pub idle_max: Duration,
}

/// The next hop's answer, as ours to give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HopError {
    /// 4xx, a timeout, or a connection failure: the sender should retry (we answer 451).
    Temporary(String),
    /// 5xx: the next hop refuses (we answer 550 with its reason).
    Permanent(String),
}

impl core::fmt::Display for HopError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HopError::Temporary(m) => write!(f, "temporary: {m}"),
            HopError::Permanent(m) => write!(f, "permanent: {m}"),
        }
    }
}

impl std::error::Error for HopError {}

/// Why a next-hop client cannot be built from its configuration.
#[derive(Debug)]
#[non_exhaustive]
pub enum SetupError {
    /// The TLS configuration: the CA file, or no system roots.
    Tls(String),
    /// The resolver for MX delivery.
    Dns(String),
}

impl core::fmt::Display for SetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SetupError::Tls(m) => write!(f, "next hop TLS: {m}"),
            SetupError::Dns(m) => write!(f, "next hop DNS: {m}"),
        }
    }
}

impl std::error::Error for SetupError {}

/// An open SMTP session with a host, between transactions.
struct Conn {
    reader: BufReader<tls::Stream>,
    tls: bool,
    last_used: Instant,
}

impl Conn {
    fn new(stream: tls::Stream, tls: bool) -> Self {
        Conn { reader: BufReader::new(stream), tls, last_used: Instant::now() }
    }
}

/// How hosts are found.
enum Route {
    Smarthost,
    Mx(Box<MxLookup>),
}

/// One host to try.
struct Target {
    /// The TLS server name.
    name: String,
    /// The pool's key.
    key: String,
    dial: Dial,
}

enum Dial {
    Address(String),
    Mx(mx::MxHost),
}

/// A failure before MAIL. A failed TLS handshake is kept apart: in opportunistic mode it earns
/// one plaintext retry.
enum Failure {
    Handshake(HopError),
    Other(HopError),
}

impl From<HopError> for Failure {
    fn from(e: HopError) -> Self {
        Failure::Other(e)
    }
}

impl Failure {
    fn into_hop(self) -> HopError {
        match self {
            Failure::Handshake(e) | Failure::Other(e) => e,
        }
    }
}

/// A reply: its code and the text of each line.
struct HopReply {
    code: u16,
    lines: Vec<String>,
}

impl HopReply {
    fn text(&self) -> &str {
        self.lines.last().map(String::as_str).unwrap_or_default()
    }
}

/// The SMTP client of the next hop (a smarthost or MX delivery), with pools of open
/// connections.
pub struct Client {
    hop: NextHop,
    route: Route,
    tls: TlsSettings,
    auth: Option<Credentials>,
    idle: Mutex<HashMap<String, Vec<Conn>>>,
}

impl Client {
    /// A plaintext client for the smarthost at `hop.address`, as for one on loopback; see
    /// [`Client::with_tls`] and [`Client::with_auth`].
    pub fn new(hop: NextHop) -> Self {
        Client { hop, route: Route::Smarthost, tls: TlsSettings::disabled(), auth: None, idle: Mutex::default() }
    }

    /// A client delivering to the MX hosts of each recipient's domain (plaintext until
    /// [`Client::with_tls`]).
    pub fn mx(hop: NextHop, lookup: MxLookup) -> Self {
        Client { route: Route::Mx(Box::new(lookup)), ..Client::new(hop) }
    }

    /// The client the configuration describes, saying `helo` in EHLO.
    ///
    /// # Errors
    /// [`SetupError`] if the CA file or the resolver configuration is unusable.
    pub fn from_config(cfg: &NextHopConfig, helo: &str) -> Result<Self, SetupError> {
        let hop = NextHop {
            address: cfg.smarthost.clone(),
            helo: helo.to_owned(),
            reply_timeout: Duration::from_secs(cfg.reply_timeout_secs),
            idle_max: Duration::from_secs(60),
        };
        let tls = TlsSettings::new(cfg.tls_mode(), cfg.tls_ca.as_deref())?;
        let client = match cfg.mode {
            NextHopMode::Smarthost => Client::new(hop),
            NextHopMode::Mx => Client::mx(hop, MxLookup::new(cfg.dns_server, cfg.mx_port, DNS_TIMEOUT)?),
        };
        let client = client.with_tls(tls);
        Ok(match (&cfg.auth_user, &cfg.auth_password) {
            (Some(user), Some(password)) => client.with_auth(Credentials::new(user.clone(), password.clone())),
            _ => client,
        })
    }

    /// Uses `tls` for every new connection.
    #[must_use]
    pub fn with_tls(mut self, tls: TlsSettings) -> Self {
        self.tls = tls;
        self
    }

    /// Authenticates with `credentials` on every new connection (over TLS only).
    #[must_use]
    pub fn with_auth(mut self, credentials: Credentials) -> Self {
        self.auth = Some(credentials);
        self
    }

    /// Delivers one message to `rcpt`, from `mail_from`, and returns once the next hop has
    /// accepted it.
    ///
    /// # Errors
    /// [`HopError`] with the next hop's reason.
    pub async fn deliver(&self, mail_from: &str, rcpt: &str, data: &[u8]) -> Result<(), HopError> {
        let targets = self.targets(rcpt).await?;
        let mut last = None;
        for target in &targets {
            let mut conn = match self.session(target).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(host = %target.name, "next hop host unusable: {e}");
                    last = Some(e);
                    continue;
                }
            };
            let result = self.transaction(&mut conn, mail_from, rcpt, data).await;
            if result.is_ok() {
                self.park(&target.key, conn);
            }
            return result;
        }
        Err(last.unwrap_or_else(|| HopError::Temporary("next hop: no host to try".into())))
    }

    async fn targets(&self, rcpt: &str) -> Result<Vec<Target>, HopError> {
        match &self.route {
            Route::Smarthost => {
                let a = &self.hop.address;
                let host = a.rsplit_once(':').map_or(a.as_str(), |(h, _)| h);
                Ok(vec![Target { name: host.to_owned(), key: a.clone(), dial: Dial::Address(a.clone()) }])
            }
            Route::Mx(lookup) => {
                let domain = rcpt
                    .rsplit_once('@')
                    .map(|(_, d)| d)
                    .filter(|d| !d.is_empty())
                    .ok_or_else(|| HopError::Permanent("550 5.1.3 recipient address has no domain".into()))?;
                let hosts = lookup.hosts(domain).await?;
                Ok(hosts
                    .into_iter()
                    .map(|h| Target {
                        key: format!("{}:{}", h.name.to_ascii_lowercase(), lookup.port()),
                        name: h.name.clone(),
                        dial: Dial::Mx(h),
                    })
                    .collect())
            }
        }
    }

    /// A session ready for MAIL: a pooled one that answers RSET, or a new one.
    async fn session(&self, target: &Target) -> Result<Conn, HopError> {
        if let Some(mut c) = self.take_idle(&target.key)
            && self.command(&mut c, "RSET", 250).await.is_ok()
        {
            return Ok(c);
        }
        match self.open(target, true).await {
            Ok(c) => Ok(c),
            Err(Failure::Handshake(e)) if self.tls.mode() == TlsMode::Opportunistic => {
                tracing::debug!(host = %target.name, "{e}; retrying once in plaintext");
                self.open(target, false).await.map_err(Failure::into_hop)
            }
            Err(f) => Err(f.into_hop()),
        }
    }

    /// Connects, reads the greeting, says EHLO, and does STARTTLS and AUTH as configured.
    async fn open(&self, target: &Target, try_tls: bool) -> Result<Conn, Failure> {
        let stream = self.dial(target).await?;
        let mut conn = Conn::new(tls::Stream::Plain(stream), false);
        expect(&self.read_reply(&mut conn).await?, 220)?;
        let mut ehlo = self.ehlo(&mut conn).await?;
        let mode = self.tls.mode();
        if mode != TlsMode::Disabled && try_tls {
            if offers(&ehlo, "STARTTLS") {
                self.write(&mut conn, b"STARTTLS\r\n").await?;
                let reply = self.read_reply(&mut conn).await?;
                if reply.code == 220 {
                    conn = self.handshake(conn, &target.name).await?;
                    ehlo = self.ehlo(&mut conn).await?;
                } else if mode == TlsMode::Required {
                    return Err(Failure::Other(HopError::Temporary(format!(
                        "next hop refused STARTTLS ({} {}) and TLS is required",
                        reply.code,
                        reply.text()
                    ))));
                }
            } else if mode == TlsMode::Required {
                return Err(Failure::Other(HopError::Temporary(
                    "next hop does not offer STARTTLS and TLS is required".into(),
                )));
            }
        }
        if let Some(credentials) = &self.auth {
            self.authenticate(&mut conn, &ehlo, credentials).await?;
        }
        Ok(conn)
    }

    async fn dial(&self, target: &Target) -> Result<TcpStream, HopError> {
        let t = self.hop.reply_timeout;
        match (&target.dial, &self.route) {
            (Dial::Address(a), _) => connect(a.as_str(), t).await,
            (Dial::Mx(host), Route::Mx(lookup)) => {
                let mut last = HopError::Temporary("next hop: mail exchanger has no address".into());
                for addr in lookup.resolve(host).await? {
                    match connect(addr, t).await {
                        Ok(s) => return Ok(s),
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
            (Dial::Mx(_), Route::Smarthost) => Err(HopError::Temporary("next hop: no resolver".into())),
        }
    }

    /// The TLS handshake after `220` to STARTTLS, then a fresh session state (RFC 3207 §4.2).
    async fn handshake(&self, conn: Conn, name: &str) -> Result<Conn, Failure> {
        let fail = |m: String| Failure::Handshake(HopError::Temporary(format!("next hop: {m}")));
        // Anything the server sent after its 220 would be read as if it came over TLS
        // (the STARTTLS command-injection attack, CVE-2011-0411): refuse.
        if !conn.reader.buffer().is_empty() {
            return Err(Failure::Other(HopError::Temporary("next hop: data pipelined after STARTTLS reply".into())));
        }
        let connector = self.tls.connector().ok_or_else(|| fail("TLS is disabled".into()))?;
        let server_name = tls::server_name(name).map_err(fail)?;
        let tls::Stream::Plain(tcp) = conn.reader.into_inner() else {
            return Err(fail("STARTTLS on a TLS connection".into()));
        };
        let stream = timeout(self.hop.reply_timeout, connector.connect(server_name, tcp))
            .await
            .map_err(|_| fail("TLS handshake timed out".into()))?
            .map_err(|e| fail(format!("TLS handshake failed: {e}")))?;
        Ok(Conn::new(tls::Stream::Tls(Box::new(stream)), true))
    }

    async fn ehlo(&self, conn: &mut Conn) -> Result<Vec<String>, HopError> {
        self.write(conn, format!("EHLO {}\r\n", self.hop.helo).as_bytes()).await?;
        let reply = self.read_reply(conn).await?;
        expect(&reply, 250)?;
        Ok(reply.lines.into_iter().skip(1).collect())
    }

    /// AUTH PLAIN or LOGIN; only over TLS. Every failure is temporary (module docs).
    async fn authenticate(&self, conn: &mut Conn, ehlo: &[String], c: &Credentials) -> Result<(), HopError> {
        if !conn.tls {
            return Err(HopError::Temporary(
                "next hop: credentials are configured but the connection is not encrypted (no STARTTLS); \
                 not sending them in clear"
                    .into(),
            ));
        }
        let mechanism = auth::choose(ehlo.iter().map(String::as_str))
            .ok_or_else(|| HopError::Temporary("next hop offers no AUTH mechanism we speak (PLAIN, LOGIN)".into()))?;
        let refused = |r: &HopReply| {
            HopError::Temporary(format!(
                "next hop refused our credentials ({} {}); check next_hop.auth_user and auth_password",
                r.code,
                r.text()
            ))
        };
        let lines: Vec<(String, u16)> = match mechanism {
            auth::Mechanism::Plain => vec![(auth::plain_command(c), 235)],
            auth::Mechanism::Login => {
                let [user, password] = auth::login_lines(c);
                vec![("AUTH LOGIN".into(), 334), (user, 334), (password, 235)]
            }
        };
        for (line, want) in lines {
            self.write(conn, format!("{line}\r\n").as_bytes()).await?;
            let reply = self.read_reply(conn).await?;
            if reply.code != want {
                return Err(refused(&reply));
            }
        }
        Ok(())
    }

    fn take_idle(&self, key: &str) -> Option<Conn> {
        let mut idle = self.idle.lock().ok()?;
        let conns = idle.get_mut(key)?;
        while let Some(c) = conns.pop() {
            if c.last_used.elapsed() < self.hop.idle_max {
                return Some(c);
            }
        }
        None
    }

    fn park(&self, key: &str, mut conn: Conn) {
        conn.last_used = Instant::now();
        let Ok(mut idle) = self.idle.lock() else { return };
        let max = self.hop.idle_max;
        idle.retain(|_, conns| {
            conns.retain(|c| c.last_used.elapsed() < max);
            !conns.is_empty()
        });
        let conns = idle.entry(key.to_owned()).or_default();
        if conns.len() < MAX_IDLE_PER_HOST {
            conns.push(conn);
        }
    }

    async fn transaction(&self, conn: &mut Conn, mail_from: &str, rcpt: &str, data: &[u8]) -> Result<(), HopError> {
        self.command(conn, &format!("MAIL FROM:<{mail_from}>"), 250).await?;
        self.command(conn, &format!("RCPT TO:<{rcpt}>"), 250).await?;
        self.command(conn, "DATA", 354).await?;
        self.write_message(conn, data).await?;
        expect(&self.read_reply(conn).await?, 250)
    }

    /// Sends `data` dot-stuffed, [`STUFF_CHUNK`] bytes at a time: a large message is never
    /// copied whole. One timeout for all of it, as for any other write.
    async fn write_message(&self, conn: &mut Conn, data: &[u8]) -> Result<(), HopError> {
        let stream = conn.reader.get_mut();
        timeout(self.hop.reply_timeout, async {
            let mut stuffer = DotStuffer::new();
            let mut chunk = Vec::with_capacity(STUFF_CHUNK + STUFF_CHUNK / 32);
            for part in data.chunks(STUFF_CHUNK) {
                stuffer.push(part, &mut chunk);
                stream.write_all(&chunk).await?;
                chunk.clear();
            }
            stuffer.finish(&mut chunk);
            stream.write_all(&chunk).await?;
            stream.flush().await
        })
        .await
        .map_err(|_| HopError::Temporary("next hop: write timed out".into()))?
        .map_err(|e| HopError::Temporary(format!("next hop: write failed: {e}")))
    }

    async fn command(&self, conn: &mut Conn, line: &str, want: u16) -> Result<(), HopError> {
        self.write(conn, format!("{line}\r\n").as_bytes()).await?;
        expect(&self.read_reply(conn).await?, want)
    }

    async fn write(&self, conn: &mut Conn, bytes: &[u8]) -> Result<(), HopError> {
        let stream = conn.reader.get_mut();
        timeout(self.hop.reply_timeout, async {
            stream.write_all(bytes).await?;
            stream.flush().await
        })
        .await
        .map_err(|_| HopError::Temporary("next hop: write timed out".into()))?
        .map_err(|e| HopError::Temporary(format!("next hop: write failed: {e}")))
    }

    async fn read_reply(&self, conn: &mut Conn) -> Result<HopReply, HopError> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = timeout(self.hop.reply_timeout, conn.reader.read_line(&mut line))
                .await
                .map_err(|_| HopError::Temporary("next hop: no reply in time".into()))?
                .map_err(|e| HopError::Temporary(format!("next hop: read failed: {e}")))?;
            if n == 0 || line.len() < 4 || line.len() > 2048 {
                return Err(HopError::Temporary("next hop: connection closed or malformed reply".into()));
            }
            let malformed = || HopError::Temporary("next hop: malformed reply".into());
            let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).ok_or_else(malformed)?;
            if lines.len() < MAX_REPLY_LINES {
                lines.push(line.get(4..).unwrap_or_default().trim_end().to_owned());
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(HopReply { code, lines });
            }
        }
    }
}

/// A TCP connection within `t`.
async fn connect(addr: impl tokio::net::ToSocketAddrs, t: Duration) -> Result<TcpStream, HopError> {
    timeout(t, TcpStream::connect(addr))
        .await
        .map_err(|_| HopError::Temporary("next hop: connection timed out".into()))?
        .map_err(|e| HopError::Temporary(format!("next hop: cannot connect: {e}")))
}

/// True if the EHLO keywords include `keyword`.
fn offers(ehlo: &[String], keyword: &str) -> bool {
    ehlo.iter().any(|l| l.split_ascii_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case(keyword)))
}

fn expect(reply: &HopReply, want: u16) -> Result<(), HopError> {
    match reply.code {
        c if c / 100 == want / 100 => Ok(()),
        c if (400..500).contains(&c) => Err(HopError::Temporary(format!("{c} {}", reply.text()))),
        c => Err(HopError::Permanent(format!("{c} {}", reply.text()))),
    }
}

/// Bytes of a message stuffed and written at a time.
const STUFF_CHUNK: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ehlo_keywords() {
        let ehlo = vec!["PIPELINING".to_string(), "starttls".into(), "AUTH PLAIN".into()];
        assert!(offers(&ehlo, "STARTTLS"));
        assert!(!offers(&ehlo, "SMTPUTF8"));
    }
}
