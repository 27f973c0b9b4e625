//! One SMTP connection: [`Session`], its [`State`], reading, writing and timeouts.
//!
//! The session is a loop around the sans-IO receivers of [`proto`](super::proto): read whatever
//! arrived, take every complete command (or the message) out of it, queue the replies in order,
//! and send them all when the input runs dry, before waiting for more. That is PIPELINING
//! (RFC 2920 §3.2): the client may send a whole group of commands in one write and the replies
//! come back in order, without one round trip per command. Replies are also sent before a
//! delivery starts, since that can take a while.
//!
//! Each verb with more to it than one line has its own file: `session/ehlo.rs`, `mail.rs`,
//! `rcpt.rs`, `data.rs` and `starttls.rs`.
//!
//! # STARTTLS
//!
//! With a [`TlsAcceptor`] ([`Session::with_tls`]), `EHLO` advertises `STARTTLS` until the
//! connection is under TLS, and `STARTTLS` upgrades it in place (`session/starttls.rs`): the
//! session answers `220 2.0.0`, runs the rustls handshake within the command timeout, and goes
//! on over the TLS stream in [`State::Connected`], having forgotten everything from before
//! (RFC 3207 §4.2). Input pipelined after `STARTTLS` is discarded, never executed. Without an
//! acceptor `STARTTLS` is not advertised and is answered
//! [`Reply::TLS_NOT_AVAILABLE`](super::Reply::TLS_NOT_AVAILABLE) (502 5.5.1).

mod auth;
mod data;
mod ehlo;
mod mail;
mod rcpt;
mod starttls;

use std::io;
use std::mem;
use std::sync::Arc;

use std::net::IpAddr;

use relay_engine::{Submitter, address::Address, rate::TokenBuckets};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::TlsAcceptor;
use tracing::debug;

use self::starttls::Stream;
use super::proto::{Command, CommandReceiver, DataReceiver, MailParams, Receive};
use super::server::shutdown_requested;
use super::{Destination, Handler, Limits, MemoryBudget, Reply, SessionInfo, TlsInfo};

/// Milliseconds on a clock that does not go back, for the rate buckets.
pub(super) fn monotonic_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    u64::try_from(START.get_or_init(std::time::Instant::now).elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Octets read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// How long the server waits for its side of the connection to close cleanly.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a session ended (after sending its last reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client said `QUIT` (answered 221).
    Quit,
    /// The client closed the connection (any transaction is dropped, nothing is delivered).
    ClientClosed,
    /// No command or message in time (answered 421 4.4.2).
    Timeout,
    /// Too many errors (answered 421 4.7.0).
    TooManyErrors,
    /// The server is shutting down (answered 421 4.3.2).
    Shutdown,
    /// The session reached its time or transaction limit (answered 421 4.7.0).
    SessionLimit,
    /// The TLS handshake after `STARTTLS` failed (nothing can be answered; the connection is
    /// closed).
    TlsFailed,
}

/// Where a session is in the dialogue (RFC 5321 §4.1.4, §4.3.2).
#[derive(Debug)]
enum State {
    /// The greeting was sent; `EHLO`/`HELO` has not come yet.
    Connected,
    /// After `EHLO`/`HELO`, `RSET`, or the end of a transaction: no transaction open.
    Ready,
    /// `MAIL` was accepted; recipients are being collected.
    Mail(Transaction),
    /// `354` was sent; the message is being received.
    Data(Transaction, DataReceiver),
}

/// One mail transaction: the envelope so far.
#[derive(Debug)]
struct Transaction {
    /// The reverse path (`None` for `<>`).
    from: Option<Address>,
    /// The `MAIL FROM` parameters.
    params: MailParams,
    /// Accepted recipients, without duplicates.
    rcpts: Vec<Address>,
    /// The destination of the first accepted recipient; every other one must match it.
    destination: Option<Destination>,
}

/// What one read brought.
enum Input {
    Bytes(usize),
    Closed,
    TimedOut,
    Shutdown,
}

/// One SMTP session over any byte stream: a TCP connection, a TLS stream, or an in-memory pipe
/// in tests.
pub struct Session<T, H> {
    io: Stream<T>,
    handler: Arc<H>,
    /// Offers `STARTTLS` when set.
    acceptor: Option<TlsAcceptor>,
    /// The TLS session's parameters, once `STARTTLS` succeeded.
    tls: Option<TlsInfo>,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
    state: State,
    /// Whether the client said `EHLO` (not `HELO`): only then may it use ESMTP parameters.
    esmtp: bool,
    commands: CommandReceiver,
    /// Replies waiting to be sent.
    out: Vec<u8>,
    errors: usize,
    /// When the current wait for a command (or for the whole message) runs out.
    deadline: Instant,
    /// When the whole session runs out ([`Limits::max_session_time`]).
    end_of_session: Instant,
    /// Transactions opened so far.
    transactions: usize,
    /// The memory budget for message data, shared with the server's other sessions.
    budget: Arc<MemoryBudget>,
    /// What this session holds of it.
    reserved: usize,
    /// The per-client message rate and this client's key in it (set by the server).
    message_rate: Option<(Arc<TokenBuckets<IpAddr>>, IpAddr)>,
    /// The submission listener: `AUTH` over TLS, and no `MAIL` without it.
    submission: bool,
    /// Who the client authenticated as.
    submitter: Option<Submitter>,
    /// A SASL exchange under way.
    sasl: Option<auth::Sasl>,
}

impl<T, H> Session<T, H>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    /// A session on `io`. Nothing happens until [`run`](Self::run).
    ///
    /// When `shutdown` becomes `true` (or its sender is dropped), a session waiting for a
    /// command answers 421 4.3.2 and closes; one receiving a message finishes it first.
    pub fn new(io: T, handler: Arc<H>, limits: Limits, shutdown: watch::Receiver<bool>) -> Self {
        let commands = CommandReceiver::new(limits.max_line_length);
        let deadline = Instant::now() + limits.command_timeout;
        let end_of_session = Instant::now() + limits.max_session_time;
        Session {
            end_of_session,
            transactions: 0,
            budget: Arc::new(MemoryBudget::new(limits.memory_budget)),
            reserved: 0,
            message_rate: None,
            submission: false,
            submitter: None,
            sasl: None,
            io: Stream::Plain(io),
            handler,
            acceptor: None,
            tls: None,
            limits,
            shutdown,
            state: State::Connected,
            esmtp: false,
            commands,
            out: Vec::new(),
            errors: 0,
            deadline,
        }
    }

    /// Offers `STARTTLS` with this acceptor (RFC 3207). The handshake counts against the
    /// command timeout.
    #[must_use]
    pub fn with_tls(mut self, acceptor: TlsAcceptor) -> Self {
        self.acceptor = Some(acceptor);
        self
    }

    /// Shares `budget` with other sessions (the server gives every session the same one).
    #[must_use]
    pub fn with_budget(mut self, budget: Arc<MemoryBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// Makes this a session of the submission listener (RFC 6409): `AUTH` is offered once the
    /// connection is under TLS, and mail is taken only after it (see `session/auth.rs`).
    #[must_use]
    pub fn submission(mut self) -> Self {
        self.submission = true;
        self
    }

    /// Counts this session's transactions in `rate` under `client` (its IPv4 address or IPv6
    /// /64), shared with the client's other sessions.
    #[must_use]
    pub fn with_message_rate(mut self, rate: Arc<TokenBuckets<IpAddr>>, client: IpAddr) -> Self {
        self.message_rate = Some((rate, client));
        self
    }

    /// Takes a transaction from the client's rate; `false` if it is spent.
    fn message_allowed(&self) -> bool {
        self.message_rate.as_ref().is_none_or(|(rate, client)| rate.take(client, monotonic_ms()))
    }

    /// Reserves `cost` (the destination's [`memory_cost`](Destination::memory_cost)) times what
    /// has come of the message so far; `false` if it does not fit.
    fn reserve_for(&mut self, received: usize, cost: usize) -> bool {
        let want = received.saturating_mul(cost);
        if want <= self.reserved {
            return true;
        }
        if self.budget.try_reserve(want - self.reserved) {
            self.reserved = want;
            true
        } else {
            false
        }
    }

    /// Gives the message's reservation back.
    fn release_budget(&mut self) {
        self.budget.release(std::mem::take(&mut self.reserved));
    }

    /// What the handler is told about the connection.
    fn info(&self) -> SessionInfo {
        SessionInfo { tls: self.tls, submitter: self.submitter.clone() }
    }

    /// Greets the client and runs the dialogue to its end, then closes the connection.
    ///
    /// # Errors
    ///
    /// An I/O error of the connection (reset, or the client not reading its replies within the
    /// command timeout). The session is over either way.
    pub async fn run(mut self) -> io::Result<CloseReason> {
        let reason = self.dialogue().await;
        let flushed = self.flush().await;
        // Best effort: the client may already be gone.
        let _closed = timeout(CLOSE_TIMEOUT, self.io.shutdown()).await;
        let reason = reason?;
        flushed?;
        Ok(reason)
    }

    async fn dialogue(&mut self) -> io::Result<CloseReason> {
        let greeting = Reply::greeting(self.handler.hostname());
        self.reply(&greeting);
        let mut buf = vec![0; READ_CHUNK];
        loop {
            self.flush().await?;
            let n = match self.read(&mut buf).await? {
                Input::Bytes(n) => n,
                Input::Closed => return Ok(CloseReason::ClientClosed),
                Input::TimedOut if Instant::now() >= self.end_of_session => {
                    debug!("session time limit");
                    self.reply(&Reply::SESSION_TOO_LONG);
                    return Ok(CloseReason::SessionLimit);
                }
                Input::TimedOut => {
                    debug!(in_data = matches!(self.state, State::Data(..)), "timeout");
                    self.reply(&Reply::TIMEOUT);
                    return Ok(CloseReason::Timeout);
                }
                Input::Shutdown => {
                    self.reply(&Reply::SHUTTING_DOWN);
                    return Ok(CloseReason::Shutdown);
                }
            };
            let mut input = buf.get(..n).unwrap_or_default();
            while !input.is_empty() {
                if let Some(reason) = self.step(&mut input).await? {
                    return Ok(reason);
                }
            }
        }
    }

    /// Waits for input until the deadline. Between commands a shutdown ends the wait; while a
    /// message is coming in it does not.
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<Input> {
        let in_data = matches!(self.state, State::Data(..));
        let read = timeout_at(self.deadline.min(self.end_of_session), self.io.read(buf));
        let result = if in_data {
            read.await
        } else {
            tokio::select! {
                biased;
                () = shutdown_requested(&mut self.shutdown) => return Ok(Input::Shutdown),
                result = read => result,
            }
        };
        match result {
            Err(_elapsed) => Ok(Input::TimedOut),
            Ok(Ok(0)) => Ok(Input::Closed),
            Ok(Ok(n)) => Ok(Input::Bytes(n)),
            Ok(Err(e)) => Err(e),
        }
    }

    /// Takes one command, or the message (or as much of it as there is), from the input.
    async fn step(&mut self, input: &mut &[u8]) -> io::Result<Option<CloseReason>> {
        match mem::replace(&mut self.state, State::Ready) {
            State::Data(txn, mut receiver) => {
                let received = receiver.ingest(input);
                let cost = txn.destination.as_ref().map_or(MemoryBudget::COST, Destination::memory_cost);
                let fits = self.reserve_for(receiver.size(), cost);
                if !fits {
                    debug!(size = receiver.size(), "memory budget exhausted: the message is no longer kept");
                    receiver.abandon();
                    self.release_budget();
                }
                match received {
                    Receive::NeedsMoreData => {
                        self.state = State::Data(txn, receiver);
                        Ok(None)
                    }
                    Receive::Ready(message) => {
                        // The message may have ended in the very input that did not fit.
                        let message =
                            if fits { message } else { message.and(Err(super::proto::DataError::OverBudget)) };
                        let done = self.end_of_data(txn, message).await;
                        self.release_budget();
                        done
                    }
                }
            }
            state => {
                self.state = state;
                if let Some(step) = self.sasl.take() {
                    return match self.commands.ingest_line(input) {
                        Receive::NeedsMoreData => {
                            self.sasl = Some(step);
                            Ok(None)
                        }
                        Receive::Ready(Ok(line)) => {
                            self.deadline = Instant::now() + self.limits.command_timeout;
                            Ok(self.sasl_line(step, &line).await)
                        }
                        Receive::Ready(Err(e)) => Ok(self.error(&e.reply())),
                    };
                }
                match self.commands.ingest(input) {
                    Receive::NeedsMoreData => Ok(None),
                    Receive::Ready(Ok(Command::StartTls)) => {
                        self.deadline = Instant::now() + self.limits.command_timeout;
                        self.starttls(input).await
                    }
                    Receive::Ready(Ok(command)) => {
                        self.deadline = Instant::now() + self.limits.command_timeout;
                        self.command(command).await
                    }
                    Receive::Ready(Err(e)) => {
                        debug!(error = %e, "bad command");
                        self.deadline = Instant::now() + self.limits.command_timeout;
                        Ok(self.error(&e.reply()))
                    }
                }
            }
        }
    }

    async fn command(&mut self, command: Command) -> io::Result<Option<CloseReason>> {
        Ok(match command {
            Command::Ehlo { host } => self.ehlo(&host, true),
            Command::Helo { host } => self.ehlo(&host, false),
            Command::Mail { from, params } => self.mail(from, params),
            Command::Rcpt { to } => self.rcpt(to).await,
            Command::Data => self.data(),
            Command::Rset => {
                if !matches!(self.state, State::Connected) {
                    self.state = State::Ready;
                }
                self.reply(&Reply::OK);
                None
            }
            Command::Noop => {
                self.reply(&Reply::OK);
                None
            }
            Command::Vrfy => {
                self.reply(&Reply::CANNOT_VRFY);
                None
            }
            Command::Quit => {
                self.reply(&Reply::BYE);
                Some(CloseReason::Quit)
            }
            // Handled in `step`, which has the rest of the input (`session/starttls.rs`).
            Command::StartTls => self.error(&Reply::TLS_NOT_AVAILABLE),
            Command::Auth { mechanism, initial } => self.auth(&mechanism, initial.as_deref()).await,
        })
    }

    /// Queues a reply.
    fn reply(&mut self, reply: &Reply) {
        reply.write_to(&mut self.out);
    }

    /// Queues a reply to a client error and counts it; past the limit, also 421 and the end.
    fn error(&mut self, reply: &Reply) -> Option<CloseReason> {
        self.reply(reply);
        self.errors += 1;
        if self.errors >= self.limits.max_errors {
            debug!(errors = self.errors, "too many errors");
            self.reply(&Reply::TOO_MANY_ERRORS);
            return Some(CloseReason::TooManyErrors);
        }
        None
    }

    /// Sends the queued replies. A client that does not take them within the command timeout
    /// is an error.
    async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let io = &mut self.io;
        let out = &self.out;
        let sent = timeout(self.limits.command_timeout, async move {
            io.write_all(out).await?;
            io.flush().await
        })
        .await;
        self.out.clear();
        match sent {
            Ok(result) => result,
            Err(_elapsed) => Err(io::Error::new(io::ErrorKind::TimedOut, "the client does not read its replies")),
        }
    }
}
