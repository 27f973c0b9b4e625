#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

// The versions of the RustCrypto crates this crate's API speaks: `Certificate` is
// `x509_cert::Certificate`, OIDs are `der::asn1::ObjectIdentifier`, keys travel as
// `spki::SubjectPublicKeyInfoOwned`, and every RNG is a `rand_core::CryptoRng`.
pub use der;
pub use rand_core;
pub use spki;
pub use x509_cert;

pub mod address;
pub mod ceremony;
pub mod cert;
pub mod cms;
pub mod crl;
pub mod csr;
mod error;
pub mod key;
pub mod mime;
pub(crate) mod oid;
pub mod path;
mod pem;
pub mod pkcs12;
pub mod sign;
pub mod smime;
pub mod time;

pub use error::{Error, Result};
pub use key::{KeyAlgorithm, PrivateKey, PublicKey, SignatureFormat};
pub use time::UnixTime;

/// Short names of algorithm OIDs this crate knows ("aes256-CBC", …), or the dotted OID.
pub fn oid_names(oids: &[der::asn1::ObjectIdentifier]) -> alloc::vec::Vec<alloc::string::String> {
    use alloc::string::ToString;
    oids.iter().map(|o| oid::name(o).map_or_else(|| o.to_string(), ToString::to_string)).collect()
}
