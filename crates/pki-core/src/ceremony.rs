//! The hybrid CA's ceremony (see the [crate documentation](crate)): what a user's root is
//! asked to sign, read and checked before it signs. This is the mail relay's own protocol, not
//! a general X.509 tool; a library user who is not building such a CA does not need it.
//!
//! In the ceremony the relay prepares the intermediate's `TBSCertificate` and the user's side
//! (the browser page, or `mailrelay ceremony`) signs it with the root key. The root signs
//! exactly once, so it must know what it signs: [`review_intermediate`] decodes the bytes,
//! refuses anything but the intermediate profile of [`crate::cert::intermediate`], and returns
//! a plain description to show the user together with a [`ToBeSigned`] ready for the root's
//! signature.
//!
//! ```text
//! relay ── TBS bytes ──> review_intermediate(tbs, root, now)
//!                          ├─ Err: not an intermediate for this root → nothing is signed
//!                          └─ Ok((IntermediateReview, ToBeSigned<Certificate>))
//!                                  shown to the user     └─ .bytes() → root key → .assemble()
//! ```
//!
//! The checks: version 3; issued by this root (name, signature algorithm, authority key id);
//! a key that is not the root's own; `CA:TRUE` with `pathLen 0` (critical); key usage exactly
//! keyCertSign and cRLSign (critical); extended key usage exactly emailProtection; critical
//! name constraints permitting only `rfc822Name`s, at least one, and excluding nothing; no other
//! extension than the subject key identifier; a validity that has started (up to a day of clock
//! skew), has not ended and does not outlive the root.

use alloc::{
    format,
    string::{String, ToString},
    vec::Vec,
};
use der::{Decode, Encode};
use x509_cert::{
    Certificate, TbsCertificate,
    certificate::Version,
    ext::pkix::{
        AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, NameConstraints,
        name::GeneralName,
    },
};

use crate::{Error, PublicKey, Result, UnixTime, cert::Issuer, oid, sign::ToBeSigned, time::DAY};

/// The intermediate a root is about to sign, as a person should see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntermediateReview {
    /// The intermediate's subject (RFC 4514 string).
    pub subject: String,
    /// The issuer it names: the root's subject.
    pub issuer: String,
    /// Its key: "RSA-2048", "P-256", …
    pub key: String,
    /// `pathLenConstraint`: always 0 (it may issue end-entity certificates only).
    pub path_len: u8,
    /// Extended key usages, by name: always `["emailProtection"]`.
    pub extended_key_usage: Vec<String>,
    /// The names it may issue for: relay domains (`pportal.io`) and mailboxes (`you@example.com`).
    pub permitted: Vec<String>,
    /// Start of validity.
    pub not_before: UnixTime,
    /// End of validity.
    pub not_after: UnixTime,
}

impl IntermediateReview {
    /// Whether the name constraints let the intermediate issue for `address` (a mailbox, or
    /// any mailbox at a domain when `address` is a bare domain), compared case-insensitively.
    pub fn permits(&self, address: &str) -> bool {
        let address = address.to_ascii_lowercase();
        self.permitted.iter().any(|p| {
            let p = p.to_ascii_lowercase();
            p == address || address.rsplit_once('@').is_some_and(|(_, host)| host == p)
        })
    }
}

impl core::fmt::Display for IntermediateReview {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        writeln!(f, "subject:        {}", self.subject)?;
        writeln!(f, "issued by:      {}", self.issuer)?;
        writeln!(f, "key:            {}", self.key)?;
        writeln!(f, "CA, pathLen:    {} (may issue end-entity certificates only)", self.path_len)?;
        writeln!(f, "key usage:      {}", self.extended_key_usage.join(", "))?;
        writeln!(f, "may issue for:  {}", self.permitted.join(", "))?;
        write!(f, "valid:          {} to {} (Unix time)", self.not_before.0, self.not_after.0)
    }
}

/// Decodes and checks an intermediate's to-be-signed certificate for `root` at `now`.
///
/// # Errors
/// [`Error::Der`] if `tbs` is not a `TBSCertificate`; [`Error::Profile`] naming the first
/// rule it breaks.
pub fn review_intermediate(
    tbs: &[u8],
    root: &Issuer,
    now: UnixTime,
) -> Result<(IntermediateReview, ToBeSigned<Certificate>)> {
    let cert = TbsCertificate::from_der(tbs).map_err(Error::der("TBSCertificate"))?;
    let refuse = |reason: &str| Err(Error::Profile { reason: format!("refusing to sign: {reason}") });

    if cert.version() != Version::V3 {
        return refuse("not a version 3 certificate");
    }
    if cert.issuer() != root.name() {
        return refuse("its issuer is not this root");
    }
    if *cert.signature() != root.public_key().signature_algorithm() {
        return refuse("its signature algorithm does not match the root's key");
    }
    let key = PublicKey::from_spki(cert.subject_public_key_info())?;
    if cert.subject_public_key_info() == &root.public_key().to_spki()? {
        return refuse("it certifies the root's own key");
    }

    let mut seen = Vec::new();
    let mut path_len = None;
    let mut eku_ok = false;
    let mut ku_ok = false;
    let mut aki_ok = false;
    let mut permitted = Vec::new();
    for ext in cert.extensions().map(|e| e.as_slice()).unwrap_or_default() {
        if seen.contains(&ext.extn_id) {
            return refuse("an extension appears twice");
        }
        seen.push(ext.extn_id);
        let value = ext.extn_value.as_bytes();
        match ext.extn_id {
            oid::CE_BASIC_CONSTRAINTS => {
                let bc = BasicConstraints::from_der(value).map_err(Error::der("basicConstraints"))?;
                if !ext.critical || !bc.ca || bc.path_len_constraint != Some(0) {
                    return refuse("it is not a critical CA:TRUE with pathLen 0");
                }
                path_len = Some(0);
            }
            oid::CE_KEY_USAGE => {
                let ku = KeyUsage::from_der(value).map_err(Error::der("keyUsage"))?;
                ku_ok = ext.critical && ku.0 == (KeyUsages::KeyCertSign | KeyUsages::CRLSign);
            }
            oid::CE_EXT_KEY_USAGE => {
                let eku = ExtendedKeyUsage::from_der(value).map_err(Error::der("extKeyUsage"))?;
                eku_ok = eku.0.as_slice() == [oid::KP_EMAIL_PROTECTION];
            }
            oid::CE_AUTHORITY_KEY_ID => {
                let aki = AuthorityKeyIdentifier::from_der(value).map_err(Error::der("authorityKeyIdentifier"))?;
                aki_ok = aki.key_identifier.is_some_and(|id| id.as_bytes() == root.key_id());
            }
            oid::CE_NAME_CONSTRAINTS => {
                let nc = NameConstraints::from_der(value).map_err(Error::der("nameConstraints"))?;
                if !ext.critical || nc.excluded_subtrees.is_some() {
                    return refuse("its name constraints are not critical, or exclude names");
                }
                for subtree in nc.permitted_subtrees.unwrap_or_default() {
                    match subtree.base {
                        GeneralName::Rfc822Name(name) if subtree.minimum == 0 && subtree.maximum.is_none() => {
                            permitted.push(name.to_string());
                        }
                        _ => return refuse("its name constraints permit something other than mail addresses"),
                    }
                }
            }
            oid::CE_SUBJECT_KEY_ID => {}
            _ => return refuse(&format!("unexpected extension {}", ext.extn_id)),
        }
    }
    let Some(path_len) = path_len else { return refuse("it has no basicConstraints") };
    if !ku_ok {
        return refuse("its key usage is not exactly keyCertSign and cRLSign (critical)");
    }
    if !eku_ok {
        return refuse("its extended key usage is not exactly emailProtection");
    }
    if !aki_ok {
        return refuse("its authority key identifier does not name the root's key");
    }
    if permitted.is_empty() {
        return refuse("it has no name constraints: it could issue for any address");
    }

    let not_before = UnixTime::from_x509(&cert.validity().not_before);
    let not_after = UnixTime::from_x509(&cert.validity().not_after);
    if not_before > now.plus_secs(DAY) || not_after <= now || not_after <= not_before {
        return refuse("its validity is not current");
    }
    if root.not_after().is_some_and(|limit| not_after > limit) {
        return refuse("it would outlive the root");
    }

    let review = IntermediateReview {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        key: key.describe(),
        path_len,
        extended_key_usage: crate::oid_names(&[oid::KP_EMAIL_PROTECTION]),
        permitted,
        not_before,
        not_after,
    };
    let der = cert.to_der().map_err(Error::der("TBSCertificate"))?;
    if der != tbs {
        return refuse("its encoding is not canonical DER");
    }
    Ok((review, ToBeSigned::new(der, root.public_key().clone())))
}
