#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod mime;
pub mod pkcs12;
mod error;
pub mod key;
pub mod address;
pub mod cert;
pub mod cms;
pub(crate) mod oid;
pub mod path;
pub mod sign;
pub mod time;

pub use error::{Error, Result};
pub use key::{KeyAlgorithm, PrivateKey, PublicKey, SignatureFormat};
pub use time::UnixTime;
