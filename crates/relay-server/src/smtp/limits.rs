//! The limits of the SMTP front, with their defaults.

use std::time::Duration;

use relay_engine::rate::Rate;

use super::proto::DEFAULT_MAX_LINE;

/// Limits of one server: sizes, counts and timeouts. Every breach has its reply.
///
/// | limit | default | on breach |
/// |---|---|---|
/// | `max_message_size` | 20 MiB | `SIZE=` too large: 552 5.3.4 at `MAIL`; data too large: 552 5.3.4 after the end of the data |
/// | `max_recipients` | 100 (the RFC 5321 §4.5.3.1.8 minimum) | 452 4.5.3 |
/// | `max_line_length` | 1000 octets with CRLF ([`DEFAULT_MAX_LINE`]) | 500 5.5.2 |
/// | `command_timeout` | 5 min (RFC 5321 §4.5.3.2.7) | 421 4.4.2, then close; during the TLS handshake after `STARTTLS`, close without a reply |
/// | `data_timeout` | 10 min for the whole message, from `354` to `CRLF.CRLF` | 421 4.4.2, then close |
/// | `max_errors` | 10 | the reply to the error, then 421 4.7.0, then close |
/// | `max_session_time` | 30 min for the whole connection, however busy | 421 4.7.0 at the next wait for input (a message being received is cut off), then close |
/// | `max_transactions` | 100 `MAIL` commands per connection | 421 4.7.0 instead of the next `MAIL`, then close |
/// | `memory_budget` | 256 MiB of message data in flight across all sessions, each message counted at its destination's memory cost (twice its size, for forwards and replies alike) | 452 4.3.1 at `MAIL` for a `SIZE=` that does not fit; otherwise the message stops being kept when it no longer fits, and is answered 452 4.3.1 after its end |
/// | `max_connections` | 100 | 421 4.7.0, then close |
/// | `max_connections_per_ip` | 10 (per IPv4 address, per IPv6 /64) | 421 4.7.0, then close |
/// | `connection_rate_per_ip` | burst 60, 1,200 an hour, per IPv4 address or IPv6 /64 | 421 4.7.0, then close |
/// | `message_rate_per_ip` | burst 100, 3,600 an hour (`MAIL` commands), per IPv4 address or IPv6 /64 | 450 4.7.1 to the `MAIL` |
///
/// The message size is counted after un-dot-stuffing, CRLFs included, as RFC 1870 counts it. A
/// message is held in memory while it is received and delivered, so the worst case is about
/// `max_connections × max_message_size`. The default leaves room below the 25–50 MB that
/// common mailbox providers take, for the third that base64 adds when the relay encrypts.
///
/// Errors are replies to client mistakes: syntax (500, 501, 555), commands out of sequence
/// (503, 554 no valid recipients), unimplemented commands (502), non-ASCII addresses without
/// `SMTPUTF8` (553), and recipients the handler refuses permanently (5xx), which also bounds
/// how many aliases one connection can probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, in octets.
    pub max_message_size: usize,
    /// Most recipients in one transaction.
    pub max_recipients: usize,
    /// Longest command line, in octets including CRLF.
    pub max_line_length: usize,
    /// How long the server waits for each command (and for the client to take its replies, and
    /// for the TLS handshake after `STARTTLS`).
    pub command_timeout: Duration,
    /// How long the whole message may take, from `354` to the final `.`.
    pub data_timeout: Duration,
    /// Errors after which the server says 421 and closes.
    pub max_errors: usize,
    /// How long one connection may last, whatever it does: idle timeouts alone let a client
    /// that sends a byte every few minutes hold a slot forever.
    pub max_session_time: Duration,
    /// Transactions (`MAIL` commands) one connection may open.
    pub max_transactions: usize,
    /// Octets of message data in flight across all sessions ([`MemoryBudget`](super::MemoryBudget)).
    pub memory_budget: usize,
    /// New connections per client network (token bucket).
    pub connection_rate_per_ip: Rate,
    /// Transactions (`MAIL` commands) per client network (token bucket), over all its
    /// connections.
    pub message_rate_per_ip: Rate,
    /// Most concurrent connections.
    pub max_connections: usize,
    /// Most concurrent connections from one IPv4 address or IPv6 /64.
    pub max_connections_per_ip: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 20 * 1024 * 1024,
            max_recipients: 100,
            max_line_length: DEFAULT_MAX_LINE,
            command_timeout: Duration::from_secs(5 * 60),
            data_timeout: Duration::from_secs(10 * 60),
            max_errors: 10,
            max_session_time: Duration::from_secs(30 * 60),
            max_transactions: 100,
            memory_budget: 256 * 1024 * 1024,
            connection_rate_per_ip: Rate { burst: 60, per_hour: 1200 },
            message_rate_per_ip: Rate { burst: 100, per_hour: 3600 },
            max_connections: 100,
            max_connections_per_ip: 10,
        }
    }
}
