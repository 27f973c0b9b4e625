//! The `mailrelay` server: SMTP front, synchronous delivery, HTTP API, SQL stores.

pub mod delivery;
pub mod smtp;
pub mod store;
