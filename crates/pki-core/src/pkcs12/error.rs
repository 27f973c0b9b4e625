//! The errors of [`export`](super::export) and [`import`](super::import).

use const_oid::ObjectIdentifier;
use core::fmt;

use super::MAX_ITERATIONS;

/// What went wrong in [`export`] or [`import`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A structure (named by `what`) is not valid DER.
    Der {
        /// The structure being decoded or encoded, e.g. `"PFX"`, `"SafeContents"`.
        what: &'static str,
        /// The underlying ASN.1 error.
        source: der::Error,
    },
    /// The PFX `version` is not 3.
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// A `ContentInfo` of a type this module does not read: `signedData` (public-key integrity
    /// mode) or `envelopedData` (public-key privacy mode).
    UnsupportedContentType {
        /// The content type found.
        oid: ObjectIdentifier,
    },
    /// An algorithm this module does not implement (RC4, PBMAC1, scrypt, an unknown digest).
    UnsupportedAlgorithm {
        /// Where it was found: `"MAC"`, `"encryption"`, `"PBES2 KDF"`, ...
        context: &'static str,
        /// The algorithm's OID.
        oid: ObjectIdentifier,
    },
    /// The parameters of an algorithm are missing or inconsistent.
    InvalidParameters {
        /// The algorithm.
        oid: ObjectIdentifier,
        /// What is wrong.
        reason: &'static str,
    },
    /// The file asks for more key-derivation work in all than one import may spend.
    WorkLimit {
        /// The budget, in iterations.
        budget: u64,
    },
    /// An iteration count is zero or above [`MAX_ITERATIONS`].
    IterationCount {
        /// The count found (or asked for in [`ExportOptions`]).
        count: u32,
    },
    /// The file has no `MacData`, so its integrity cannot be checked.
    MissingMac,
    /// The MAC does not verify: the password is wrong or the file was modified.
    MacMismatch,
    /// The MAC verified but a bag did not decrypt to well-formed data: the file uses a second,
    /// different password for encryption, or was corrupted before its MAC was computed.
    DecryptionFailed,
    /// Encryption failed (does not happen with the parameters [`export`] uses).
    EncryptionFailed,
    /// The file contains no private key.
    NoPrivateKey,
    /// No certificate in the file carries the key's `localKeyId` or its public key.
    NoMatchingCertificate,
    /// [`export`] was given a certificate whose public key is not the key's.
    KeyCertificateMismatch,
    /// [`ExportOptions::friendly_name`] is empty.
    EmptyFriendlyName,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Der { what, source } => write!(f, "PKCS#12: malformed {what}: {source}"),
            Error::UnsupportedVersion { version } => {
                write!(f, "PKCS#12: unsupported PFX version {version} (expected 3)")
            }
            Error::UnsupportedContentType { oid } => {
                write!(f, "PKCS#12: unsupported content type {oid} (public-key modes are not supported)")
            }
            Error::UnsupportedAlgorithm { context, oid } => {
                write!(f, "PKCS#12: unsupported {context} algorithm {oid}")
            }
            Error::InvalidParameters { oid, reason } => {
                write!(f, "PKCS#12: invalid parameters for {oid}: {reason}")
            }
            Error::WorkLimit { budget } => {
                write!(f, "PKCS#12: the file needs more than {budget} key-derivation iterations in all")
            }
            Error::IterationCount { count } => {
                write!(f, "PKCS#12: iteration count {count} is outside 1..={MAX_ITERATIONS}")
            }
            Error::MissingMac => f.write_str("PKCS#12: file has no MAC, its integrity cannot be checked"),
            Error::MacMismatch => f.write_str("PKCS#12: MAC mismatch: wrong password or modified file"),
            Error::DecryptionFailed => f.write_str("PKCS#12: a bag does not decrypt with this password"),
            Error::EncryptionFailed => f.write_str("PKCS#12: encryption failed"),
            Error::NoPrivateKey => f.write_str("PKCS#12: file contains no private key"),
            Error::NoMatchingCertificate => f.write_str("PKCS#12: no certificate in the file matches the private key"),
            Error::KeyCertificateMismatch => {
                f.write_str("PKCS#12: the certificate's public key does not match the private key")
            }
            Error::EmptyFriendlyName => f.write_str("PKCS#12: friendly name is empty"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Der { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Wraps a `der` error with the name of the structure involved.
pub(super) fn der_err(what: &'static str) -> impl Fn(der::Error) -> Error + Copy {
    move |source| Error::Der { what, source }
}
