//! The crate's error type.

use alloc::string::String;
use const_oid::ObjectIdentifier;
use core::fmt;

/// What went wrong. Each variant names the object or algorithm involved, so a caller can tell a
/// caller bug (a profile that cannot be issued) from hostile input (garbage DER) from a
/// cryptographic failure (a bad signature, a key that does not open the message).
///
/// A *verification outcome* (is this chain valid?) is not an error: see [`crate::path::Verdict`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The input is not valid DER/BER for the structure named in `what`.
    Der {
        /// The structure that was being decoded or encoded.
        what: &'static str,
        /// The underlying ASN.1 error.
        source: der::Error,
    },
    /// PEM armour was malformed, missing, or had another label than the one expected.
    Pem {
        /// What was expected, e.g. the label `CERTIFICATE`.
        expected: &'static str,
        /// What was found instead: another label, DER, no PEM block at all, several blocks.
        found: String,
    },
    /// An algorithm this crate does not implement.
    UnsupportedAlgorithm {
        /// Where it was found (e.g. "signature", "key transport", "content encryption").
        context: &'static str,
        /// The algorithm's OID.
        oid: ObjectIdentifier,
    },
    /// Key generation failed (the RNG or the prime search).
    KeyGeneration,
    /// A key is unusable: wrong size, wrong curve, malformed encoding.
    InvalidKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signature did not verify.
    BadSignature {
        /// What was signed: "certificate", "CSR", "CRL", "SignedData", ...
        what: &'static str,
    },
    /// A signature value could not be parsed (wrong length, not an ECDSA-Sig-Value, ...).
    MalformedSignature {
        /// What the signature was for.
        what: &'static str,
    },
    /// A certificate profile cannot be issued as asked.
    Profile {
        /// The rule that was broken.
        reason: String,
    },
    /// An address is not a valid mailbox or domain for a certificate.
    InvalidAddress {
        /// The offending address.
        address: String,
    },
    /// No RecipientInfo in an EnvelopedData matched the given certificate.
    NoMatchingRecipient,
    /// Decryption failed. Bad RSA padding, a wrong key, a corrupted ciphertext and a failed
    /// AES-GCM tag all give this one error, on purpose: telling them apart would be an oracle.
    DecryptionFailed,
    /// The CMS structure is well-formed but not usable (e.g. detached ciphertext, missing
    /// parameters, no signer).
    Cms {
        /// What is missing or inconsistent.
        reason: &'static str,
    },
    /// The content type of a ContentInfo was not the one expected.
    UnexpectedContentType {
        /// The OID found.
        found: ObjectIdentifier,
    },
    /// A MIME framing error.
    Mime(crate::mime::Error),
    /// A PKCS#12 error.
    Pkcs12(crate::pkcs12::Error),
}

/// Shorthand used throughout the crate.
pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// Wraps a DER error with the name of the structure being processed.
    pub(crate) fn der(what: &'static str) -> impl FnOnce(der::Error) -> Error {
        move |source| Error::Der { what, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Der { what, source } => write!(f, "malformed {what}: {source}"),
            Error::Pem { expected, found } => write!(f, "PEM: expected {expected}, found {found}"),
            Error::UnsupportedAlgorithm { context, oid } => {
                write!(f, "unsupported {context} algorithm {oid}")
            }
            Error::KeyGeneration => f.write_str("key generation failed"),
            Error::InvalidKey { reason } => write!(f, "invalid key: {reason}"),
            Error::BadSignature { what } => write!(f, "{what} signature does not verify"),
            Error::MalformedSignature { what } => write!(f, "malformed {what} signature value"),
            Error::Profile { reason } => write!(f, "certificate profile: {reason}"),
            Error::InvalidAddress { address } => write!(f, "invalid mail address {address:?}"),
            Error::NoMatchingRecipient => f.write_str("no recipient info in the message matches this certificate"),
            Error::DecryptionFailed => f.write_str("decryption failed"),
            Error::Cms { reason } => write!(f, "CMS: {reason}"),
            Error::UnexpectedContentType { found } => write!(f, "unexpected content type {found}"),
            Error::Mime(
                e @ (crate::mime::Error::NoHeaderBodySeparator | crate::mime::Error::MalformedHeader { line: 1 }),
            ) => write!(
                f,
                "MIME: {e}: expected a whole message (header fields, an empty line, the body); \
                 to encrypt or sign a MIME entity on its own use smime::encrypt_entity or smime::sign_entity"
            ),
            Error::Mime(e) => write!(f, "MIME: {e}"),
            // The PKCS#12 error names PKCS#12 itself.
            Error::Pkcs12(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Der { source, .. } => Some(source),
            Error::Mime(e) => Some(e),
            Error::Pkcs12(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::mime::Error> for Error {
    fn from(e: crate::mime::Error) -> Self {
        Error::Mime(e)
    }
}

impl From<crate::pkcs12::Error> for Error {
    fn from(e: crate::pkcs12::Error) -> Self {
        Error::Pkcs12(e)
    }
}
