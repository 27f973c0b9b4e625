//! The sans-IO core of the relay's SMTP front, apart from everything that does I/O so that it
//! builds small and fuzzes fast (`fuzz/fuzz_targets/smtp_proto.rs`).
//!
//! - [`proto`]: command lines with a length cap, the `DATA` receiver (un-dot-stuffing,
//!   `CRLF.CRLF`, size cap, the bare-LF policy), typed errors.
//! - [`Reply`]: every reply the server gives, from one table ([`Reply::TABLE`]).
//!
//! The session, the accept loop and TLS live in `relay-server` (`relay_server::smtp`), which
//! re-exports both modules.

pub mod proto;
mod reply;

pub use reply::{Reply, check_reply_wire};
