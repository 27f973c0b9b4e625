//! What [`verify`](super::verify) found, readable by people: `Display` gives a verdict in
//! words, `Debug` summarises certificates instead of printing them byte by byte.

use alloc::vec::Vec;
use core::fmt;
use der::asn1::ObjectIdentifier;
use x509_cert::Certificate;

use crate::{UnixTime, cert::Brief, path::Verdict};

/// The outcome of checking one SignerInfo's signature (apart from its certificate chain).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureStatus {
    /// The signature verifies and the message digest matches the content.
    Valid,
    /// The content does not match the messageDigest attribute (the message was changed).
    DigestMismatch,
    /// The signature value does not verify under the signer's key.
    BadSignature,
    /// The signer's certificate is not in the SignedData.
    SignerCertificateMissing,
    /// The contentType attribute is missing or differs from eContentType.
    ContentTypeMismatch,
    /// An algorithm this crate cannot check.
    Unsupported {
        /// The algorithm.
        oid: ObjectIdentifier,
    },
}

/// One signer's result. `{}` prints one line ("CN=bob: signature valid; chain valid"), `{:#?}`
/// the fields with certificates summarised by subject, issuer and serial.
#[derive(Clone)]
#[non_exhaustive]
pub struct SignerReport {
    /// The signer's certificate, if it was found in the SignedData.
    pub cert: Option<Certificate>,
    /// Whether the signature itself holds.
    pub signature: SignatureStatus,
    /// The signer certificate's chain to the trust anchor, for signing use.
    pub chain: Verdict,
    /// The signingTime attribute.
    pub signing_time: Option<UnixTime>,
    /// The SMIMECapabilities attribute's algorithms, in the signer's order of preference.
    pub capabilities: Vec<ObjectIdentifier>,
}

impl SignerReport {
    /// True if the signature holds and the chain is valid.
    pub fn is_valid(&self) -> bool {
        self.signature_valid() && self.chain.is_valid()
    }

    /// True if the signature holds, whatever the certificate's chain: the content is what
    /// the holder of [`cert`](Self::cert)'s key signed. Whether that certificate is trusted is
    /// [`chain`](Self::chain)'s verdict.
    pub fn signature_valid(&self) -> bool {
        self.signature == SignatureStatus::Valid
    }
}

/// The result of [`verify`](super::verify). `{}` prints one line per signer; `{:#?}` shows the
/// content's length and summarises certificates instead of printing their bytes.
#[derive(Clone)]
#[non_exhaustive]
pub struct SignedReport {
    /// The signed content: the encapsulated content, or the detached content passed in.
    pub content: Vec<u8>,
    /// One report per SignerInfo.
    pub signers: Vec<SignerReport>,
    /// Every certificate the SignedData carried.
    pub certificates: Vec<Certificate>,
}

impl SignedReport {
    /// True if there is at least one signer and every signer is valid.
    pub fn is_valid(&self) -> bool {
        !self.signers.is_empty() && self.signers.iter().all(SignerReport::is_valid)
    }

    /// True if there is at least one signer and every signature holds, whatever the chains
    /// (see [`SignerReport::signature_valid`]).
    pub fn signatures_valid(&self) -> bool {
        !self.signers.is_empty() && self.signers.iter().all(SignerReport::signature_valid)
    }
}

impl fmt::Display for SignatureStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureStatus::Valid => f.write_str("signature valid"),
            SignatureStatus::DigestMismatch => {
                f.write_str("content does not match the signed digest (the message was changed)")
            }
            SignatureStatus::BadSignature => f.write_str("bad signature (it does not verify under the signer's key)"),
            SignatureStatus::SignerCertificateMissing => {
                f.write_str("the signer's certificate is not in the message (pass it as an intermediate)")
            }
            SignatureStatus::ContentTypeMismatch => f.write_str("contentType attribute missing or wrong"),
            SignatureStatus::Unsupported { oid } => {
                write!(f, "unsupported algorithm {}", crate::oid_names(core::slice::from_ref(oid)).join(""))
            }
        }
    }
}

impl fmt::Display for SignerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cert {
            Some(c) => write!(f, "{}: ", c.tbs_certificate().subject())?,
            None => f.write_str("unknown signer: ")?,
        }
        write!(f, "{}; ", self.signature)?;
        match &self.chain {
            Verdict::Valid { .. } => f.write_str("chain valid")?,
            invalid => write!(f, "chain invalid: {invalid}")?,
        }
        if let Some(t) = self.signing_time {
            write!(f, " (signed at {t})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SignerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerReport")
            .field("cert", &self.cert.as_ref().map(Brief))
            .field("signature", &self.signature)
            .field("chain", &self.chain)
            .field("signing_time", &self.signing_time)
            .field("capabilities", &crate::oid_names(&self.capabilities))
            .finish()
    }
}

impl fmt::Display for SignedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.signers.is_empty() {
            return f.write_str("no signers");
        }
        for (i, s) in self.signers.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SignedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedReport")
            .field("content", &format_args!("<{} bytes>", self.content.len()))
            .field("signers", &self.signers)
            .field("certificates", &self.certificates.iter().map(Brief).collect::<Vec<_>>())
            .finish()
    }
}
