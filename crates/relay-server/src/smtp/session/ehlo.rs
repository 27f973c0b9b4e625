//! `EHLO` and `HELO` (RFC 5321 §4.1.1.1).

use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;

use super::{CloseReason, Session, State};
use crate::smtp::{Handler, Reply};

impl<T, H> Session<T, H>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    /// Answers `EHLO` with the extensions, or `HELO` with the name alone. Either one ends any
    /// open transaction (§4.1.4), and may be repeated.
    pub(super) fn ehlo(&mut self, host: &str, esmtp: bool) -> Option<CloseReason> {
        debug!(esmtp, helo = host.escape_debug().to_string(), "hello");
        self.state = State::Ready;
        self.esmtp = esmtp;
        let hostname = self.handler.hostname();
        let reply = if esmtp { Reply::ehlo(hostname, &self.extensions()) } else { Reply::helo(hostname) };
        self.reply(&reply);
        None
    }

    /// The extensions `EHLO` advertises: `STARTTLS` too while a TLS acceptor is configured and
    /// the connection is not under TLS yet (RFC 3207 §4.2).
    fn extensions(&self) -> Vec<String> {
        let mut extensions = vec![
            "PIPELINING".into(),
            format!("SIZE {}", self.limits.max_message_size),
            "8BITMIME".into(),
            "SMTPUTF8".into(),
            "ENHANCEDSTATUSCODES".into(),
        ];
        if self.acceptor.is_some() && self.tls.is_none() {
            extensions.push("STARTTLS".into());
        }
        if self.submission && self.tls.is_some() {
            extensions.push("AUTH PLAIN LOGIN".into());
        }
        extensions
    }
}
