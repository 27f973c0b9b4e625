//! What the session asks of the rest of the server: the [`Handler`] trait, [`Destination`], and
//! what the session tells it about the connection ([`SessionInfo`]).

use core::fmt;
use std::future::Future;

use relay_engine::{
    Submitter,
    address::{Address, RelayDomains},
};

use super::Reply;

/// The next hop a recipient needs: an opaque key that the session only compares.
///
/// The session keeps one destination per transaction (DESIGN.md, "Delivery model"): a `RCPT`
/// whose destination differs from the first accepted recipient's is answered
/// [`Reply::ONE_DESTINATION`] (452 4.5.3), and the client sends it in a new transaction
/// (RFC 5321 §4.5.3.1.10). What the key holds is the handler's business: the alias, the
/// owner's mailbox, a next-hop domain. Its `Debug` form does not show it, since it may be a
/// real address.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    key: String,
    memory_cost: usize,
}

impl Destination {
    /// A destination with this key, whose delivery costs [`MemoryBudget::COST`] octets of
    /// memory per octet of message.
    ///
    /// [`MemoryBudget::COST`]: super::MemoryBudget::COST
    #[must_use]
    pub fn new(key: impl Into<String>) -> Self {
        Destination { key: key.into(), memory_cost: super::MemoryBudget::COST }
    }

    /// What delivering to this destination costs, in octets of memory per octet of message
    /// (the message and the copies its pipeline makes); the memory budget counts each message
    /// this many times.
    #[must_use]
    pub fn with_memory_cost(mut self, cost: usize) -> Self {
        self.memory_cost = cost.max(1);
        self
    }

    /// The key.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// Octets of memory per octet of message ([`with_memory_cost`](Self::with_memory_cost)).
    #[must_use]
    pub fn memory_cost(&self) -> usize {
        self.memory_cost
    }
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Destination(<{} octets>, memory cost {})", self.key.len(), self.memory_cost)
    }
}

/// What the session knows about the connection a message came over, given to
/// [`Handler::deliver_with`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The TLS parameters, if the client said `STARTTLS` and the handshake succeeded.
    pub tls: Option<TlsInfo>,
    /// Who the client authenticated as on the submission listener.
    pub submitter: Option<Submitter>,
}

/// The parameters of a TLS session negotiated after `STARTTLS` (RFC 3207).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The protocol version, as rustls names it: `TLSv1_3`, `TLSv1_2`.
    pub version: &'static str,
    /// The cipher suite, as rustls names it: `TLS13_AES_256_GCM_SHA384`, ….
    pub cipher: &'static str,
}

/// The policy and delivery behind an SMTP session. The server implements it with the relay
/// engine; tests implement it with a recording fake.
///
/// The session calls the handler only with parsed, valid addresses, and only in a valid
/// sequence: `check_rcpt` after an accepted `MAIL`, `deliver` after a complete message with at
/// least one accepted recipient. A refusal is a [`Reply`] with a 4xx or 5xx code; the session
/// sends it as it is (anything else is a bug and becomes [`Reply::TEMPORARY`]).
pub trait Handler: Send + Sync {
    /// The relay's domains: `RCPT TO:<Postmaster>` means `postmaster@` the primary one.
    fn domains(&self) -> &RelayDomains;

    /// The name the server gives in its greeting and `EHLO` answer. By default the primary
    /// relay domain; an MX usually has a host name of its own.
    fn hostname(&self) -> &str {
        self.domains().primary().as_str()
    }

    /// `RCPT` time: is this recipient acceptable, and which destination does it need?
    ///
    /// Refuse unknown recipients at a relay domain with [`Reply::UNKNOWN_USER`] (550 5.1.1) and
    /// recipients elsewhere with [`Reply::RELAY_DENIED`] (550 5.7.1): the relay is never an open
    /// relay. A temporary failure (database down) is [`Reply::TEMPORARY`] (451 4.3.0).
    ///
    /// # Errors
    ///
    /// The reply that refuses the recipient.
    fn check_rcpt(
        &self,
        mail_from: Option<&Address>,
        rcpt: &Address,
    ) -> impl Future<Output = Result<Destination, Reply>> + Send;

    /// `DATA` time: deliver the message to the next hop, synchronously. `Ok(())` is answered
    /// [`Reply::DELIVERED`] (250); `Err(reply)` is answered with that 4xx or 5xx reply.
    ///
    /// `rcpts` are the accepted recipients, all with the same [`Destination`], without
    /// duplicates; `data` is the message as received (CRLF lines, un-dot-stuffed, within the
    /// size limit).
    ///
    /// # Errors
    ///
    /// The reply that refuses or defers the message.
    fn deliver(
        &self,
        mail_from: Option<&Address>,
        rcpts: &[Address],
        data: &[u8],
    ) -> impl Future<Output = Result<(), Reply>> + Send;

    /// `AUTH` on the submission listener: the account and mailbox whose app password this is;
    /// `Ok(None)` for wrong credentials (whatever is wrong with them), `Err(())` if they cannot
    /// be checked now. By default nobody authenticates.
    ///
    /// # Errors
    ///
    /// `Err(())` for a temporary failure (answered 454 4.7.0).
    fn authenticate(&self, user: &str, password: &str) -> impl Future<Output = Result<Option<Submitter>, ()>> + Send {
        let _ = (user, password);
        async { Ok(None) }
    }

    /// `DATA` time, with what the session knows about the connection: this is what the session
    /// calls. By default it ignores `session` and calls [`deliver`](Self::deliver); a handler
    /// that records or passes on how a message arrived (over TLS or not) overrides it.
    ///
    /// # Errors
    ///
    /// The reply that refuses or defers the message.
    ///
    /// `data` is handed over: a handler may work in it rather than copy it (the relay signs
    /// and encrypts a forward where it lies).
    fn deliver_with(
        &self,
        session: &SessionInfo,
        mail_from: Option<&Address>,
        rcpts: &[Address],
        data: Vec<u8>,
    ) -> impl Future<Output = Result<(), Reply>> + Send {
        let _ = session;
        async move { self.deliver(mail_from, rcpts, &data).await }
    }
}
