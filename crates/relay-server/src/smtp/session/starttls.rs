//! `STARTTLS` (RFC 3207): the upgrade of the connection to TLS, and [`Stream`], the connection
//! before and after it.
//!
//! ```text
//! C: STARTTLS            S: 220 2.0.0 Ready to start TLS      (flushed in plaintext)
//!    ── TLS handshake (rustls), bounded by the command timeout ──
//! C: EHLO …              S: 250-… (no STARTTLS any more)     (everything before is forgotten)
//! ```
//!
//! Pipelining past `STARTTLS` is refused (RFC 3207 §4.2, §6; the command-injection attack of
//! CVE-2011-0411): whatever plaintext arrived after the `STARTTLS` line in the same read is
//! discarded, never parsed, and the upgrade goes ahead, as Postfix does since 2.8.4. The
//! client that sent it is either broken or being attacked by someone on the path; in both cases
//! the honest client still gets its TLS session, and the injected commands are gone. Plaintext
//! that arrives later is read by rustls as TLS records and fails the handshake.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, timeout_at};
use tokio_rustls::server::TlsStream;
use tracing::{debug, info};

use super::{CloseReason, Session, State};
use crate::smtp::proto::CommandReceiver;
use crate::smtp::{Handler, Reply, TlsInfo};

/// The connection under a session: plaintext, TLS after `STARTTLS`, or gone after a failed
/// handshake (reads see the end of the stream, writes fail).
pub(super) enum Stream<T> {
    /// Before `STARTTLS`.
    Plain(T),
    /// After a successful handshake.
    Tls(Box<TlsStream<T>>),
    /// The handshake took the connection and failed (or timed out); it is closed.
    Gone,
}

impl<T, H> Session<T, H>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    /// Answers `STARTTLS` and runs the handshake; `rest` is what the same read held after the
    /// command line, which is discarded (see the module docs).
    ///
    /// Refused with 502 when no acceptor is configured and 503 under TLS already. After a
    /// handshake the session is back in [`State::Connected`] with nothing kept from before
    /// (RFC 3207 §4.2) except its error count. A failed handshake ends the session with
    /// [`CloseReason::TlsFailed`], one that does not finish within the command timeout with
    /// [`CloseReason::Timeout`]; neither can send a reply, since no TLS session carries it.
    pub(super) async fn starttls(&mut self, rest: &mut &[u8]) -> io::Result<Option<CloseReason>> {
        if self.tls.is_some() {
            return Ok(self.error(&Reply::TLS_ALREADY_ACTIVE));
        }
        let Some(acceptor) = self.acceptor.clone() else {
            return Ok(self.error(&Reply::TLS_NOT_AVAILABLE));
        };
        if !rest.is_empty() || self.commands.has_partial_line() {
            info!(octets = rest.len(), "discarding input pipelined after STARTTLS");
            *rest = &[];
        }
        self.reply(&Reply::READY_TLS);
        self.flush().await?;
        let Stream::Plain(io) = std::mem::replace(&mut self.io, Stream::Gone) else {
            return Ok(Some(CloseReason::TlsFailed));
        };
        let stream = match timeout_at(self.deadline, acceptor.accept(io)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                debug!(error = %e, "TLS handshake failed");
                return Ok(Some(CloseReason::TlsFailed));
            }
            Err(_elapsed) => {
                debug!("TLS handshake timed out");
                return Ok(Some(CloseReason::Timeout));
            }
        };
        let (_, conn) = stream.get_ref();
        let info = TlsInfo {
            version: conn.protocol_version().and_then(|v| v.as_str()).unwrap_or("unknown"),
            cipher: conn.negotiated_cipher_suite().and_then(|s| s.suite().as_str()).unwrap_or("unknown"),
        };
        debug!(version = info.version, cipher = info.cipher, "TLS started");
        self.io = Stream::Tls(Box::new(stream));
        self.tls = Some(info);
        // RFC 3207 §4.2: forget EHLO, MAIL and RCPT; the client starts again with EHLO.
        self.state = State::Connected;
        self.esmtp = false;
        self.submitter = None;
        self.sasl = None;
        self.commands = CommandReceiver::new(self.limits.max_line_length);
        self.deadline = Instant::now() + self.limits.command_timeout;
        Ok(None)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(io) => Pin::new(io).poll_read(cx, buf),
            Stream::Tls(io) => Pin::new(io.as_mut()).poll_read(cx, buf),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(io) => Pin::new(io).poll_write(cx, buf),
            Stream::Tls(io) => Pin::new(io.as_mut()).poll_write(cx, buf),
            Stream::Gone => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(io) => Pin::new(io).poll_flush(cx),
            Stream::Tls(io) => Pin::new(io.as_mut()).poll_flush(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(io) => Pin::new(io).poll_shutdown(cx),
            Stream::Tls(io) => Pin::new(io.as_mut()).poll_shutdown(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }
}
