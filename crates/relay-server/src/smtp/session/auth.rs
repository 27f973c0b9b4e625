//! `AUTH` (RFC 4954) on the submission listener: `PLAIN` and `LOGIN`, only over TLS, checked by
//! [`Handler::authenticate`].
//!
//! On the MX (port 25) `AUTH` is not offered and is answered 502. On the submission listener
//! ([`Session::submission`]) it is advertised only once the connection is encrypted; before
//! that it gets 538 5.7.11, and `MAIL` before a successful `AUTH` gets 530 5.7.0. A wrong
//! password is one answer whatever was wrong (535 5.7.8), and counts as an error: after
//! [`Limits::max_errors`](crate::smtp::Limits) the connection closes.

use base64ct::{Base64, Encoding};
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;

use super::{CloseReason, Session, State};
use crate::smtp::{Handler, Reply};

/// Where a SASL exchange is, between the server's challenge and the client's answer.
#[derive(Debug)]
pub(super) enum Sasl {
    /// `AUTH PLAIN` without an initial response: the credentials come next.
    Plain,
    /// `AUTH LOGIN`: the user name comes next.
    LoginUser,
    /// `AUTH LOGIN`: the password of this user comes next.
    LoginPassword(String),
}

/// `Username:` and `Password:`, base64, as every client expects them.
const USERNAME: &str = "VXNlcm5hbWU6";
const PASSWORD: &str = "UGFzc3dvcmQ6";

impl<T, H> Session<T, H>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    /// `AUTH mechanism [initial-response]`.
    pub(super) async fn auth(&mut self, mechanism: &str, initial: Option<&str>) -> Option<CloseReason> {
        if !self.submission {
            return self.error(&Reply::NOT_IMPLEMENTED);
        }
        if self.tls.is_none() {
            return self.error(&Reply::ENCRYPTION_REQUIRED);
        }
        match self.state {
            State::Connected => return self.error(&Reply::HELO_FIRST),
            State::Mail(_) | State::Data(..) => return self.error(&Reply::AUTH_NOT_NOW),
            State::Ready if self.submitter.is_some() => return self.error(&Reply::AUTH_NOT_NOW),
            State::Ready => {}
        }
        match (mechanism, initial) {
            ("PLAIN", None) => {
                self.sasl = Some(Sasl::Plain);
                self.reply(&Reply::challenge(""));
                None
            }
            ("PLAIN", Some(response)) => self.plain(response).await,
            ("LOGIN", None) => {
                self.sasl = Some(Sasl::LoginUser);
                self.reply(&Reply::challenge(USERNAME));
                None
            }
            ("LOGIN", Some(user)) => match decode(user) {
                Some(user) => {
                    self.sasl = Some(Sasl::LoginPassword(user));
                    self.reply(&Reply::challenge(PASSWORD));
                    None
                }
                None => self.error(&Reply::AUTH_CANCELLED),
            },
            _ => self.error(&Reply::AUTH_MECHANISM),
        }
    }

    /// The client's answer to a challenge (one line, without its line break).
    pub(super) async fn sasl_line(&mut self, step: Sasl, line: &[u8]) -> Option<CloseReason> {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line == "*" {
            return self.error(&Reply::AUTH_CANCELLED);
        }
        match step {
            Sasl::Plain => self.plain(line).await,
            Sasl::LoginUser => match decode(line) {
                Some(user) => {
                    self.sasl = Some(Sasl::LoginPassword(user));
                    self.reply(&Reply::challenge(PASSWORD));
                    None
                }
                None => self.error(&Reply::AUTH_CANCELLED),
            },
            Sasl::LoginPassword(user) => match decode(line) {
                Some(password) => self.check(&user, &password).await,
                None => self.error(&Reply::AUTH_CANCELLED),
            },
        }
    }

    /// `authzid NUL authcid NUL password` (RFC 4616); an authorization identity other than the
    /// user is not supported.
    async fn plain(&mut self, response: &str) -> Option<CloseReason> {
        let Some(decoded) = decode(response) else { return self.error(&Reply::AUTH_CANCELLED) };
        let mut parts = decoded.split('\0');
        let (Some(authz), Some(user), Some(password), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return self.error(&Reply::AUTH_CANCELLED);
        };
        if !authz.is_empty() && authz != user {
            return self.error(&Reply::AUTH_FAILED);
        }
        self.check(user, password).await
    }

    async fn check(&mut self, user: &str, password: &str) -> Option<CloseReason> {
        if !self.message_allowed() {
            // Guessing passwords spends the client network's message rate too.
            self.reply(&Reply::TOO_MANY_MESSAGES_FROM_IP);
            return None;
        }
        let handler = std::sync::Arc::clone(&self.handler);
        match handler.authenticate(user, password).await {
            Ok(Some(submitter)) => {
                debug!(account = submitter.account.0, "authenticated");
                self.submitter = Some(submitter);
                self.reply(&Reply::AUTH_OK);
                None
            }
            Ok(None) => {
                debug!("authentication failed");
                self.error(&Reply::AUTH_FAILED)
            }
            Err(()) => {
                self.reply(&Reply::AUTH_TEMPORARY);
                None
            }
        }
    }
}

/// Base64 to UTF-8 text; `None` if it is neither. `=` alone is the empty response.
fn decode(b64: &str) -> Option<String> {
    let b64 = b64.trim();
    if b64 == "=" {
        return Some(String::new());
    }
    String::from_utf8(Base64::decode_vec(b64).ok()?).ok()
}
