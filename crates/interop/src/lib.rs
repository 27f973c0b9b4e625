//! The interop oracle: drives OpenSSL, GnuPG's gpgsm and NSS (certutil, vfychain, cmsutil,
//! pk12util) through temporary files, so that what pki-core makes is judged by independent
//! implementations, and what they make is read by pki-core.
//!
//! The tools' *output* is checked, not only their exit codes: `cmsutil` exits 0 on a bad
//! signature. When a tool is missing the test is skipped with a message, unless
//! `INTEROP_REQUIRED=1` (set by `.ci/run`), which turns a missing tool into a failure.
#![allow(clippy::unwrap_used, missing_docs)]

pub mod pki;
pub mod tools;

pub use pki::{Hierarchy, KeyKind};
pub use tools::{Gpgsm, NssDb, Out, Work, openssl, require};
