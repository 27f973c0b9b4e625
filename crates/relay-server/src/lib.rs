//! The `mailrelay` server: SMTP front, synchronous delivery, HTTP API, SQL stores.

pub mod app;
pub mod app_password;
pub mod ceremony;
pub mod config;
pub mod delivery;
pub mod demo;
pub mod http;
pub mod malloc;
pub mod outcomes;
pub mod relay;
pub mod smtp;
pub mod store;
pub mod tls;
