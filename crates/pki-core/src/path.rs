//! Certification path validation for S/MIME
//! ([RFC 5280 §6](https://www.rfc-editor.org/rfc/rfc5280#section-6), the parts mail needs).
//!
//! [`validate`] builds a path from an end-entity certificate through the certificates it is
//! given up to a trust anchor, and checks, for every certificate on it: the signature, the
//! validity period, basicConstraints and pathLenConstraint, keyUsage and extendedKeyUsage (for
//! signing or for encryption), rfc822Name nameConstraints (in the subjectAltName and in
//! emailAddress attributes of the subject), and that no unknown extension is critical.
//!
//! The outcome is a [`Verdict`], a value that says which rule failed for which certificate,
//! and that certificate's [`Role`] on the path; it is not an error.
//!
//! # Trust anchors
//!
//! The anchor is usually a CA (a root): then it must be one, with `CA:TRUE` and, if it has a
//! keyUsage, keyCertSign, as RFC 5280 asks of every issuer. A certificate can also be trusted
//! *directly*, as OpenSSL does when it is given a self-signed end-entity certificate as
//! `-CAfile`: pass the same certificate as `leaf` and `anchor`. Then no issuer checks apply;
//! its validity, its critical extensions, and its keyUsage and extendedKeyUsage for the
//! [`Usage`] are still checked.
//!
//! ```
//! # let pem = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pki/ossl/alice-rsa.pem"));
//! use pki_core::{UnixTime, cert, path::{self, Usage}};
//! let alice = cert::from_pem(pem)?;
//! let verdict = path::validate(&alice, &[], &alice, UnixTime::from_secs(1_800_000_000), Usage::Encrypt);
//! assert!(verdict.is_valid(), "{verdict}"); // pinned: no CA needed
//! # Ok::<(), pki_core::Error>(())
//! ```

use alloc::{
    string::{String, ToString},
    vec::Vec,
};
use core::fmt;
use der::{Encode, asn1::ObjectIdentifier};
use x509_cert::{
    Certificate,
    ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, NameConstraints, SubjectAltName, name::GeneralName},
};

use crate::{PublicKey, UnixTime, address::rfc822_constraint_matches, oid};

/// What the end-entity certificate is going to be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// Signing mail: keyUsage digitalSignature or nonRepudiation.
    Sign,
    /// Receiving encrypted mail: keyUsage keyEncipherment (RSA) or keyAgreement (EC).
    Encrypt,
    /// Only the chain itself (used for a CA certificate or when the use is not yet known).
    Chain,
}

/// The longest path (end entity and intermediates) that will be considered.
const MAX_PATH: usize = 8;

/// The outcome of [`validate`]. `Debug` summarises certificates rather than printing their bytes.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Every check passed; `path` lists the certificates from the end entity up to (not
    /// including) the trust anchor. When the end entity is itself the anchor (direct trust),
    /// `path` holds it alone.
    Valid {
        /// The validated path, end entity first.
        path: Vec<Certificate>,
    },
    /// A rule failed.
    Invalid {
        /// Position of the failing certificate: 0 is the end entity; the anchor is `path.len()`.
        position: usize,
        /// What that certificate is on the path.
        role: Role,
        /// The subject of that certificate, as text.
        subject: String,
        /// The rule that failed.
        failure: Failure,
    },
}

/// What a certificate is on a path, named in a [`Verdict`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// The certificate being validated (position 0).
    EndEntity,
    /// A CA certificate between the end entity and the anchor.
    Intermediate,
    /// The trust anchor, which issued the top of the path: it must be a CA.
    TrustAnchor,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::EndEntity => "end-entity certificate",
            Role::Intermediate => "intermediate certificate",
            Role::TrustAnchor => "trust anchor",
        })
    }
}

impl Verdict {
    /// True for [`Verdict::Valid`].
    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid { .. })
    }
}

/// The rule that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// No path to the trust anchor: the issuer of this certificate was not found.
    IssuerNotFound,
    /// The signature does not verify under the issuer's key.
    BadSignature,
    /// The issuer's key (or the certificate's own) is of a kind this crate cannot check.
    UnsupportedKey,
    /// Expired at `not_after`.
    Expired {
        /// End of validity.
        not_after: UnixTime,
    },
    /// Not valid before `not_before`.
    NotYetValid {
        /// Start of validity.
        not_before: UnixTime,
    },
    /// A certificate that issues another is not a CA (basicConstraints).
    NotACa,
    /// More CA certificates below this one than its pathLenConstraint allows.
    PathLenExceeded {
        /// The certificate's pathLenConstraint.
        path_len: u8,
    },
    /// keyUsage lacks what the use needs.
    KeyUsage {
        /// The bit that is missing.
        missing: &'static str,
    },
    /// extendedKeyUsage is absent or lacks emailProtection.
    ExtendedKeyUsage,
    /// A mail address is outside the permitted, or inside an excluded, rfc822Name subtree.
    NameConstraint {
        /// The address.
        address: String,
    },
    /// A name constraint of a form this crate does not process applies to a name present in a
    /// certificate below it (RFC 5280 says: reject).
    UnsupportedNameConstraint,
    /// A critical extension this crate does not understand.
    UnknownCriticalExtension {
        /// Its OID.
        oid: ObjectIdentifier,
    },
    /// An extension is present twice or does not parse.
    MalformedExtension {
        /// Its OID.
        oid: ObjectIdentifier,
    },
    /// The path would be longer than this crate considers.
    PathTooLong,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::IssuerNotFound => f.write_str("issuer not found (no path to the trust anchor)"),
            Failure::BadSignature => f.write_str("bad signature"),
            Failure::UnsupportedKey => f.write_str("unsupported key"),
            Failure::Expired { not_after } => write!(f, "expired at {not_after}"),
            Failure::NotYetValid { not_before } => write!(f, "not valid before {not_before}"),
            Failure::NotACa => f.write_str("issuer is not a CA"),
            Failure::PathLenExceeded { path_len } => write!(f, "pathLenConstraint {path_len} exceeded"),
            Failure::KeyUsage { missing } => write!(f, "keyUsage lacks {missing}"),
            Failure::ExtendedKeyUsage => f.write_str("extendedKeyUsage lacks emailProtection"),
            Failure::NameConstraint { address } => write!(f, "{address} violates the name constraints"),
            Failure::UnsupportedNameConstraint => f.write_str("unsupported name constraint form"),
            Failure::UnknownCriticalExtension { oid } => write!(f, "unknown critical extension {oid}"),
            Failure::MalformedExtension { oid } => write!(f, "malformed extension {oid}"),
            Failure::PathTooLong => f.write_str("path too long"),
        }
    }
}

impl fmt::Debug for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Valid { path } => {
                f.debug_struct("Valid").field("path", &path.iter().map(crate::cert::Brief).collect::<Vec<_>>()).finish()
            }
            Verdict::Invalid { position, role, subject, failure } => f
                .debug_struct("Invalid")
                .field("position", position)
                .field("role", role)
                .field("subject", subject)
                .field("failure", failure)
                .finish(),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Valid { .. } => f.write_str("valid"),
            Verdict::Invalid { position, role, subject, failure } => {
                write!(f, "{role} ({subject}, position {position}): {failure}")?;
                if *role == Role::TrustAnchor && matches!(failure, Failure::NotACa | Failure::KeyUsage { .. }) {
                    f.write_str(
                        " (an anchor that issues the path must be a CA; to trust a certificate by itself, \
                         pass it as both leaf and anchor)",
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// Validates `leaf` up to `anchor` at `time`, for `usage`. `pool` holds candidate intermediates
/// (in any order; extra certificates are ignored).
pub fn validate(
    leaf: &Certificate,
    pool: &[Certificate],
    anchor: &Certificate,
    time: UnixTime,
    usage: Usage,
) -> Verdict {
    if leaf == anchor {
        return match check_pinned(leaf, time, usage) {
            Ok(()) => Verdict::Valid { path: alloc::vec![leaf.clone()] },
            Err(failure) => invalid(0, Role::EndEntity, leaf, failure),
        };
    }
    let path = match build_path(leaf, pool, anchor) {
        Ok(p) => p,
        Err((position, failure, subject)) => {
            let role = if position == 0 { Role::EndEntity } else { Role::Intermediate };
            return Verdict::Invalid { position, role, subject, failure };
        }
    };
    match check_path(&path, anchor, time, usage) {
        Ok(()) => Verdict::Valid { path },
        Err((position, failure)) => {
            let role = match position {
                0 => Role::EndEntity,
                p if p >= path.len() => Role::TrustAnchor,
                _ => Role::Intermediate,
            };
            invalid(position, role, path.get(position).unwrap_or(anchor), failure)
        }
    }
}

/// Direct trust: the leaf is the anchor. What the leaf itself says still holds.
fn check_pinned(cert: &Certificate, time: UnixTime, usage: Usage) -> Result<(), Failure> {
    check_validity(cert, time)?;
    check_critical(cert)?;
    check_leaf(cert, usage)
}

fn invalid(position: usize, role: Role, cert: &Certificate, failure: Failure) -> Verdict {
    Verdict::Invalid { position, role, subject: subject_of(cert), failure }
}

fn subject_of(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

type Fail = (usize, Failure);

/// Walks up from `leaf` by issuer name until a certificate issued by `anchor` is reached.
fn build_path(
    leaf: &Certificate,
    pool: &[Certificate],
    anchor: &Certificate,
) -> Result<Vec<Certificate>, (usize, Failure, String)> {
    let anchor_name = anchor.tbs_certificate().subject();
    let mut path = alloc::vec![leaf.clone()];
    loop {
        let Some(current) = path.last() else { return Err((0, Failure::IssuerNotFound, subject_of(leaf))) };
        let issuer = current.tbs_certificate().issuer();
        if issuer == anchor_name {
            return Ok(path);
        }
        if path.len() >= MAX_PATH {
            return Err((path.len() - 1, Failure::PathTooLong, subject_of(current)));
        }
        let mut candidates = pool
            .iter()
            .filter(|c| c.tbs_certificate().subject() == issuer && !path.contains(c) && *c != anchor)
            .peekable();
        // A certificate by the right name whose key did not make the signature: say so.
        let failure = if candidates.peek().is_some() { Failure::BadSignature } else { Failure::IssuerNotFound };
        match candidates.find(|c| signed_by(current, c)) {
            Some(c) => path.push(c.clone()),
            None => return Err((path.len() - 1, failure, subject_of(current))),
        }
    }
}

fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    let Ok(key) = PublicKey::from_spki(issuer.tbs_certificate().subject_public_key_info()) else { return false };
    verify_cert_signature(cert, &key).is_ok()
}

fn verify_cert_signature(cert: &Certificate, key: &PublicKey) -> Result<(), Failure> {
    let der = cert.to_der().map_err(|_| Failure::BadSignature)?;
    crate::sign::verify_signed_der(&der, key, "certificate").map_err(|e| match e {
        crate::Error::UnsupportedAlgorithm { .. } | crate::Error::InvalidKey { .. } => Failure::UnsupportedKey,
        _ => Failure::BadSignature,
    })
}

/// Checks the built path top-down, from the certificate the anchor issued to the leaf.
fn check_path(path: &[Certificate], anchor: &Certificate, time: UnixTime, usage: Usage) -> Result<(), Fail> {
    let n = path.len();
    let anchor_pos = n;
    check_validity(anchor, time).map_err(|f| (anchor_pos, f))?;
    let mut constraints = Constraints::default();
    // The tightest pathLenConstraint so far: (CA certificates still allowed below, who set it, its value).
    let mut limit: Option<(usize, usize, u8)> =
        ca_constraints(anchor).map_err(|f| (anchor_pos, f))?.map(|p| (usize::from(p), anchor_pos, p));
    constraints.add(anchor).map_err(|f| (anchor_pos, f))?;
    let mut issuer_key = PublicKey::from_spki(anchor.tbs_certificate().subject_public_key_info())
        .map_err(|_| (anchor_pos, Failure::UnsupportedKey))?;
    for pos in (0..n).rev() {
        let cert = &path[pos];
        let f = |failure| (pos, failure);
        verify_cert_signature(cert, &issuer_key).map_err(f)?;
        check_validity(cert, time).map_err(f)?;
        check_critical(cert).map_err(f)?;
        constraints.check(cert).map_err(f)?;
        if pos > 0 {
            // An intermediate (RFC 5280 §6.1.4 (k), (l), (m)): it must be a CA, it uses up one
            // step of the pathLen above it, and its own pathLen may tighten the limit.
            let own = ca_constraints(cert).map_err(f)?;
            if let Some((remaining, setter, path_len)) = limit {
                if remaining == 0 {
                    return Err((setter, Failure::PathLenExceeded { path_len }));
                }
                limit = Some((remaining - 1, setter, path_len));
            }
            if let Some(p) = own
                && limit.is_none_or(|(remaining, _, _)| usize::from(p) <= remaining)
            {
                limit = Some((usize::from(p), pos, p));
            }
            check_eku(cert, false).map_err(f)?;
            constraints.add(cert).map_err(f)?;
            issuer_key = PublicKey::from_spki(cert.tbs_certificate().subject_public_key_info())
                .map_err(|_| f(Failure::UnsupportedKey))?;
        } else {
            check_leaf(cert, usage).map_err(f)?;
        }
    }
    Ok(())
}

fn check_validity(cert: &Certificate, time: UnixTime) -> Result<(), Failure> {
    let v = cert.tbs_certificate().validity();
    let (nb, na) = (UnixTime::from_x509(&v.not_before), UnixTime::from_x509(&v.not_after));
    if time < nb {
        return Err(Failure::NotYetValid { not_before: nb });
    }
    if time > na {
        return Err(Failure::Expired { not_after: na });
    }
    Ok(())
}

/// For a certificate that issues others: CA must be true, keyCertSign set if keyUsage is
/// present. Returns its pathLenConstraint.
fn ca_constraints(cert: &Certificate) -> Result<Option<u8>, Failure> {
    let bc = ext::<BasicConstraints>(cert, oid::CE_BASIC_CONSTRAINTS)?;
    let Some(bc) = bc.filter(|b| b.ca) else { return Err(Failure::NotACa) };
    if let Some(ku) = ext::<KeyUsage>(cert, oid::CE_KEY_USAGE)?
        && !ku.key_cert_sign()
    {
        return Err(Failure::KeyUsage { missing: "keyCertSign" });
    }
    Ok(bc.path_len_constraint)
}

fn check_leaf(cert: &Certificate, usage: Usage) -> Result<(), Failure> {
    if usage == Usage::Chain {
        return Ok(());
    }
    if let Some(ku) = ext::<KeyUsage>(cert, oid::CE_KEY_USAGE)? {
        let is_rsa = cert.tbs_certificate().subject_public_key_info().algorithm.oid == oid::RSA_ENCRYPTION;
        match usage {
            Usage::Sign if !(ku.digital_signature() || ku.non_repudiation()) => {
                return Err(Failure::KeyUsage { missing: "digitalSignature" });
            }
            Usage::Encrypt if is_rsa && !ku.key_encipherment() => {
                return Err(Failure::KeyUsage { missing: "keyEncipherment" });
            }
            Usage::Encrypt if !is_rsa && !ku.key_agreement() && !ku.key_encipherment() => {
                return Err(Failure::KeyUsage { missing: "keyAgreement" });
            }
            _ => {}
        }
    }
    check_eku(cert, true)
}

/// The end entity must assert emailProtection; a CA may omit EKU (no restriction) but, if it
/// has one, it must allow emailProtection.
fn check_eku(cert: &Certificate, required: bool) -> Result<(), Failure> {
    match ext::<ExtendedKeyUsage>(cert, oid::CE_EXT_KEY_USAGE)? {
        Some(eku) if eku.0.iter().any(|o| *o == oid::KP_EMAIL_PROTECTION || *o == oid::ANY_EXTENDED_KEY_USAGE) => {
            Ok(())
        }
        None if !required => Ok(()),
        _ => Err(Failure::ExtendedKeyUsage),
    }
}

const UNDERSTOOD: [ObjectIdentifier; 9] = [
    oid::CE_BASIC_CONSTRAINTS,
    oid::CE_KEY_USAGE,
    oid::CE_EXT_KEY_USAGE,
    oid::CE_SUBJECT_ALT_NAME,
    oid::CE_NAME_CONSTRAINTS,
    oid::CE_CERTIFICATE_POLICIES,
    oid::CE_SUBJECT_KEY_ID,
    oid::CE_AUTHORITY_KEY_ID,
    oid::CE_CRL_NUMBER,
];

fn check_critical(cert: &Certificate) -> Result<(), Failure> {
    let exts = cert.tbs_certificate().extensions().map(|e| e.as_slice()).unwrap_or_default();
    for (i, e) in exts.iter().enumerate() {
        if e.critical && !UNDERSTOOD.contains(&e.extn_id) {
            return Err(Failure::UnknownCriticalExtension { oid: e.extn_id });
        }
        if exts[..i].iter().any(|p| p.extn_id == e.extn_id) {
            return Err(Failure::MalformedExtension { oid: e.extn_id });
        }
    }
    Ok(())
}

fn ext<T: for<'a> der::Decode<'a> + der::oid::AssociatedOid>(
    cert: &Certificate,
    id: ObjectIdentifier,
) -> Result<Option<T>, Failure> {
    let exts = cert.tbs_certificate().extensions().map(|e| e.as_slice()).unwrap_or_default();
    let mut found = exts.iter().filter(|e| e.extn_id == id);
    let Some(e) = found.next() else { return Ok(None) };
    if found.next().is_some() {
        return Err(Failure::MalformedExtension { oid: id });
    }
    T::from_der(e.extn_value.as_bytes()).map(Some).map_err(|_| Failure::MalformedExtension { oid: id })
}

/// rfc822Name subtrees collected from the CAs above the certificate being checked.
#[derive(Default)]
struct Constraints {
    /// Each CA with permitted rfc822 subtrees adds one set; an address must fit every set.
    permitted: Vec<Vec<String>>,
    excluded: Vec<String>,
    /// A constraint of another name form (dNSName, directoryName, ...) was seen.
    other_forms: bool,
}

impl Constraints {
    fn add(&mut self, ca: &Certificate) -> Result<(), Failure> {
        let Some(nc) = ext::<NameConstraints>(ca, oid::CE_NAME_CONSTRAINTS)? else { return Ok(()) };
        let mut split = |subtrees: &[x509_cert::ext::pkix::constraints::name::GeneralSubtree]| {
            let mut mails = Vec::new();
            for s in subtrees {
                match &s.base {
                    GeneralName::Rfc822Name(n) => mails.push(n.to_string()),
                    _ => self.other_forms = true,
                }
            }
            mails
        };
        let permitted = nc.permitted_subtrees.as_deref().map(&mut split);
        let excluded = nc.excluded_subtrees.as_deref().map(&mut split).unwrap_or_default();
        if let Some(p) = permitted {
            self.permitted.push(p);
        }
        self.excluded.extend(excluded);
        Ok(())
    }

    fn check(&self, cert: &Certificate) -> Result<(), Failure> {
        let tbs = cert.tbs_certificate();
        if tbs.subject() == tbs.issuer() && !self.permitted.is_empty() {
            // Self-issued intermediates are exempt (RFC 5280 §6.1.3 (b)); our paths have none.
        }
        let mut addresses: Vec<String> = Vec::new();
        let mut other_names = false;
        if let Some(san) = ext::<SubjectAltName>(cert, oid::CE_SUBJECT_ALT_NAME)? {
            for n in &san.0 {
                match n {
                    GeneralName::Rfc822Name(m) => addresses.push(m.to_string()),
                    _ => other_names = true,
                }
            }
        }
        for atv in tbs.subject().iter() {
            if atv.oid == oid::AT_EMAIL_ADDRESS {
                let v = atv
                    .value
                    .decode_as::<der::asn1::Ia5String>()
                    .map_err(|_| Failure::MalformedExtension { oid: oid::AT_EMAIL_ADDRESS })?;
                addresses.push(v.to_string());
            }
        }
        if self.other_forms && (other_names || !tbs.subject().is_empty()) {
            return Err(Failure::UnsupportedNameConstraint);
        }
        for a in addresses {
            let allowed = self.permitted.iter().all(|set| set.iter().any(|c| rfc822_constraint_matches(c, &a)));
            let excluded = self.excluded.iter().any(|c| rfc822_constraint_matches(c, &a));
            if !allowed || excluded {
                return Err(Failure::NameConstraint { address: a });
            }
        }
        Ok(())
    }
}
