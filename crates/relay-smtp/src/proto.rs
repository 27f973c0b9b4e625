//! The sans-IO SMTP core: bytes in, typed commands and messages out.
//!
//! Nothing here reads a socket or waits. A receiver is handed whatever bytes arrived, takes what
//! it needs from the front of them, and answers [`Receive::NeedsMoreData`] when the input ran out
//! first (it keeps the partial line or message itself) or [`Receive::Ready`] with a result; the
//! bytes it did not take are left in the input for the next receiver. That is what pipelining
//! (RFC 2920) needs: one read may hold several commands, or the end of a message and the next
//! command.
//!
//! - [`CommandReceiver`]: one command line at a time, with a line cap, parsed into a [`Command`]
//!   or a [`CommandError`] that knows its [`Reply`](crate::Reply).
//! - [`DataReceiver`]: the message after `DATA`: un-dot-stuffing, the end marker `CRLF.CRLF`
//!   (also across reads), the size cap, and the bare-LF policy.
//! - [`DotStuffer`]: the other direction, a message made ready to send after `DATA`, a chunk
//!   at a time.
//!
//! # Line endings (the policy)
//!
//! - Command lines end in CRLF. A bare LF is accepted as the end of a command line too (many
//!   hand-driven and scripted clients send it, and a command carries no message content, so this
//!   opens no smuggling hole). A CR anywhere else in a command line, or any other control
//!   character but TAB, is a syntax error.
//! - Message content is strict. The message ends only at `CRLF.CRLF`, so `LF.LF`, `LF.CRLF` and
//!   `CRLF.LF` never end it (SMTP smuggling, CVE-2023-51764/51765/51766). A bare LF or a bare CR
//!   anywhere in the content makes the whole message fail with
//!   [`Reply::BARE_LINE_ENDING`](crate::Reply::BARE_LINE_ENDING) (554 5.6.0), answered only at
//!   the real end of the data so the session stays in step. This is what sendmail 8.18 does by
//!   default; RFC 5321 §2.3.8 says lines end in CRLF and a receiver need not guess otherwise.
//!
//! # Line length (the cap)
//!
//! RFC 5321 §4.5.3.1.4 gives command lines 512 octets, CRLF included, and lets extensions add
//! to that; `SIZE=`, `BODY=8BITMIME` and `SMTPUTF8` on `MAIL FROM` with a 256-octet path fit in
//! well under 1000 octets, so [`DEFAULT_MAX_LINE`] is 1000 (the limit RFC 5321 §4.5.3.1.6 sets
//! for text lines). Longer lines are read to their end, discarded and answered with
//! [`Reply::LINE_TOO_LONG`](crate::Reply::LINE_TOO_LONG). Lines of message content have no cap
//! of their own; the message size cap bounds them.

mod command;
mod data;
mod line;
mod stuff;

pub use command::{Body, Command, CommandError, ForwardPath, MailParams};
pub use data::{DataError, DataReceiver, LARGE_MESSAGE};
pub use line::CommandReceiver;
pub use stuff::{DotStuffer, dot_stuff};

/// Longest command line accepted by default, in octets including CRLF.
pub const DEFAULT_MAX_LINE: usize = 1000;

/// What a receiver made of the input it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Receive<T> {
    /// The input ran out before the end of the line or message. The receiver kept what it read;
    /// call it again with more bytes.
    NeedsMoreData,
    /// A complete item; any bytes after it are still in the input.
    Ready(T),
}

#[cfg(test)]
mod tests;
