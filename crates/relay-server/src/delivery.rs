//! The next hop: an SMTP client that hands the engine's output to a smarthost, synchronously,
//! while the sending MTA waits for our answer to its DATA.
//!
//! The next hop's verdict becomes ours (DESIGN.md, "Delivery model"): 2xx → 250; 4xx → 451;
//! 5xx → 550 with its reason; a timeout or a broken connection → 451. The relay never queues
//! and never bounces: the sender's MTA keeps the message until we say 250.
//!
//! Connections to the smarthost are kept open and reused (`RSET` between transactions).

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    time::timeout,
};

/// Where to send.
#[derive(Clone, Debug)]
pub struct NextHop {
    /// `host:port` of the smarthost.
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

struct Conn {
    reader: BufReader<TcpStream>,
    last_used: Instant,
}

/// An SMTP client for one smarthost, with a small pool of open connections.
pub struct Smarthost {
    hop: NextHop,
    idle: Mutex<Vec<Conn>>,
}

/// A reply: code and the text of its last line.
struct HopReply {
    code: u16,
    text: String,
}

impl Smarthost {
    /// A client for `hop`.
    pub fn new(hop: NextHop) -> Self {
        Smarthost { hop, idle: Mutex::new(Vec::new()) }
    }

    /// Delivers one message to `rcpt`, from `mail_from`, and returns once the next hop has
    /// accepted it.
    ///
    /// # Errors
    /// [`HopError`] with the next hop's reason.
    pub async fn deliver(&self, mail_from: &str, rcpt: &str, data: &[u8]) -> Result<(), HopError> {
        // A reused connection starts with RSET; if it went stale, open a fresh one.
        let reused = match self.take_idle() {
            Some(mut c) => self.command(&mut c, "RSET", 250).await.ok().map(|()| c),
            None => None,
        };
        let mut conn = match reused {
            Some(c) => c,
            None => self.connect().await?,
        };
        match self.transaction(&mut conn, mail_from, rcpt, data).await {
            Ok(()) => {
                conn.last_used = Instant::now();
                if let Ok(mut idle) = self.idle.lock() {
                    idle.push(conn);
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn take_idle(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(c) = idle.pop() {
            if c.last_used.elapsed() < self.hop.idle_max {
                return Some(c);
            }
        }
        None
    }

    async fn connect(&self) -> Result<Conn, HopError> {
        let t = self.hop.reply_timeout;
        let stream = timeout(t, TcpStream::connect(&self.hop.address))
            .await
            .map_err(|_| HopError::Temporary("next hop: connection timed out".into()))?
            .map_err(|e| HopError::Temporary(format!("next hop: cannot connect: {e}")))?;
        let mut conn = Conn { reader: BufReader::new(stream), last_used: Instant::now() };
        expect(self.read_reply(&mut conn).await?, 220)?;
        self.command(&mut conn, &format!("EHLO {}", self.hop.helo), 250).await?;
        Ok(conn)
    }

    async fn transaction(&self, conn: &mut Conn, mail_from: &str, rcpt: &str, data: &[u8]) -> Result<(), HopError> {
        self.command(conn, &format!("MAIL FROM:<{mail_from}>"), 250).await?;
        self.command(conn, &format!("RCPT TO:<{rcpt}>"), 250).await?;
        self.command(conn, "DATA", 354).await?;
        let mut body = dot_stuff(data);
        body.extend_from_slice(b".\r\n");
        self.write(conn, &body).await?;
        expect(self.read_reply(conn).await?, 250)
    }

    async fn command(&self, conn: &mut Conn, line: &str, want: u16) -> Result<(), HopError> {
        self.write(conn, format!("{line}\r\n").as_bytes()).await?;
        expect(self.read_reply(conn).await?, want)
    }

    async fn write(&self, conn: &mut Conn, bytes: &[u8]) -> Result<(), HopError> {
        timeout(self.hop.reply_timeout, conn.reader.get_mut().write_all(bytes))
            .await
            .map_err(|_| HopError::Temporary("next hop: write timed out".into()))?
            .map_err(|e| HopError::Temporary(format!("next hop: write failed: {e}")))
    }

    async fn read_reply(&self, conn: &mut Conn) -> Result<HopReply, HopError> {
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
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(HopReply { code, text: line.get(4..).unwrap_or_default().trim_end().to_owned() });
            }
        }
    }
}

fn expect(reply: HopReply, want: u16) -> Result<(), HopError> {
    match reply.code {
        c if c / 100 == want / 100 => Ok(()),
        c if (400..500).contains(&c) => Err(HopError::Temporary(format!("{c} {}", reply.text))),
        c => Err(HopError::Permanent(format!("{c} {}", reply.text))),
    }
}

/// CRLF line endings and a leading dot doubled on every line (RFC 5321 §4.5.2).
fn dot_stuff(data: &[u8]) -> Vec<u8> {
    let canonical = pki_core::mime::canonicalize(data);
    let mut out = Vec::with_capacity(canonical.len() + 64);
    let mut at_line_start = true;
    for &b in &canonical {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing() {
        assert_eq!(dot_stuff(b".a\n..b\nc"), b"..a\r\n...b\r\nc\r\n");
        assert_eq!(dot_stuff(b"x\r\n.\r\n"), b"x\r\n..\r\n");
    }
}
