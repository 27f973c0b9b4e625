//! The relay engine: everything the relay does to a message, without sockets or SQL.
//!
//! - [`address`]: parsed mail addresses, relay domains, alias and reverse-alias generation,
//!   classification of an RCPT.
//! - [`store`]: the storage traits (implemented by relay-server on SQLite/PostgreSQL) and
//!   [`memory::MemoryStore`] for tests.
//! - [`forward`]: mail to an alias, rewritten, signed and encrypted for the owner.
//! - [`reply`]: mail from the owner to a reverse alias, decrypted and scrubbed of the real
//!   address, sent on from the alias.
//! - [`scrub`]: the MIME surgery the reply pipeline needs.
//! - [`seal`]: private keys at rest, sealed under the master key.

pub mod address;
pub mod engine;
pub mod forward;
mod headers;
pub mod memory;
pub mod model;
pub mod msgid;
pub mod outcome;
pub mod profile;
pub mod rate;
pub mod reply;
pub mod scrub;
pub mod seal;
pub mod store;
pub mod testkit;

pub use engine::{Config, Engine, EngineError, KeyPool};
pub use forward::{Envelope, Submitter};
pub use outcome::{DeferReason, Delivery, DropReason, Outcome, RefusalReason, Reply};
