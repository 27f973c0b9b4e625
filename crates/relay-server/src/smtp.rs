//! The SMTP front: receives mail for the relay domains and hands it to the engine.
//!
//! ```text
//! TcpListener ── serve_tls ──> Session (one per connection, enum State)
//!                                 │  TCP, or TLS after STARTTLS (rustls, in place: session/starttls.rs)
//!                                 │  bytes ──> proto::CommandReceiver ──> Command
//!                                 │  bytes ──> proto::DataReceiver ──> message
//!                                 └─ Handler::check_rcpt (RCPT time), Handler::deliver_with (DATA time)
//! ```
//!
//! - [`proto`]: the sans-IO core. Command lines with a length cap, the `DATA` receiver
//!   (un-dot-stuffing, `CRLF.CRLF`, size cap, the bare-LF policy), typed errors.
//! - [`Reply`]: every reply the server gives, from one table ([`Reply::TABLE`]).
//! - [`Session`]: one connection, with PIPELINING and the [`Limits`].
//! - [`Handler`]: what the session asks of the server: recipient checks and delivery. The
//!   server implements it with the engine.
//! - [`serve`], [`serve_tls`]: the accept loop, with connection limits and graceful shutdown.
//!
//! Delivery is synchronous (DESIGN.md, "Delivery model"): `250` after `DATA` means the next hop
//! took the message, and a transaction has one destination; a recipient that needs another one
//! gets `452 4.5.3` and comes again in a new transaction. Nothing is queued or written to disk.
//!
//! The server advertises `PIPELINING`, `SIZE`, `8BITMIME`, `SMTPUTF8` and
//! `ENHANCEDSTATUSCODES`, and `STARTTLS` (RFC 3207, rustls) when it has a certificate: see
//! [`serve_tls`] and [`Session::with_tls`]. TLS on port 25 is opportunistic: a client that does
//! not ask for it is served in plaintext. Commands pipelined after `STARTTLS` are discarded,
//! never executed.
//!
//! Privacy: message content is never logged; addresses only at `debug` level.
//!
//! ```no_run
//! # async fn run<H: relay_server::smtp::Handler + 'static>(handler: std::sync::Arc<H>) -> std::io::Result<()> {
//! use relay_server::smtp::{Limits, serve};
//!
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:25").await?;
//! let (stop, stopped) = tokio::sync::watch::channel(false);
//! let server = tokio::spawn(serve(listener, handler, Limits::default(), stopped));
//! tokio::signal::ctrl_c().await?;
//! stop.send_replace(true); // stop accepting; sessions finish their messages
//! server.await?;
//! # Ok(()) }
//! ```

mod budget;
mod handler;
mod limits;
pub use relay_smtp::proto;
mod server;
mod session;

pub use budget::MemoryBudget;
pub use handler::{Destination, Handler, SessionInfo, TlsInfo};
pub use limits::Limits;
pub use relay_smtp::Reply;
pub use server::{serve, serve_submission, serve_tls};
pub use session::{CloseReason, Session};
