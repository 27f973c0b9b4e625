//! The ceremony's certificate work on the user's side, as plain functions over DER bytes.
//!
//! The one judgement made here is [`describe_intermediate`]: before the root key signs anything,
//! the to-be-signed intermediate the relay sent is parsed and held against what this user's
//! intermediate must be. The checks mirror what `cert::intermediate` builds and what the relay
//! itself checks when the ceremony completes:
//!
//! | field | required |
//! |---|---|
//! | version, signature | v3; the root key's algorithm (SHA-256 with RSA, or ECDSA with SHA-256) |
//! | issuer, AKI | `CN=Mail relay user root`; the root key's identifier |
//! | subject | no mail address |
//! | basicConstraints | critical, CA, pathLen 0 |
//! | keyUsage | critical, keyCertSign + cRLSign only |
//! | EKU | emailProtection only |
//! | nameConstraints | critical; permitted rfc822Names only, each a relay domain or one of the user's verified mailboxes; nothing excluded |
//! | other extensions | SKI only; anything else is refused |
//! | validity | starts within a day of now, ends in the future, at most 825 days |

use der::{Decode, Encode, oid::AssociatedOid};
use pki_core::{
    PublicKey, SignatureFormat, UnixTime,
    address::Mailbox,
    cert::{self, Issuer, Lifetime},
    csr,
    pkcs12::{self, ExportOptions, Flavour},
    sign::ToBeSigned,
};
use rand_core::CryptoRng;
use x509_cert::{
    Certificate, TbsCertificate,
    certificate::Version,
    ext::pkix::{
        AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, NameConstraints,
        SubjectKeyIdentifier, name::GeneralName,
    },
    request::CertReq,
};

use crate::json::Object;

/// The root's subject common name: the relay names its issuer so (`ceremony.rs` in
/// relay-server).
pub const ROOT_CN: &str = "Mail relay user root";

/// Seconds in a day.
const DAY: u64 = 86_400;

/// Why a step failed: a stable code for the page and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind of failure.
    pub code: Code,
    /// What happened, in words.
    pub message: String,
}

/// The failure codes the exports return (non-zero; `0` is success).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Code {
    /// Malformed input: not DER, not UTF-8, an unknown buffer, a bad address.
    BadInput = 1,
    /// The RNG was not seeded.
    NotSeeded = 2,
    /// The intermediate is not one this user's root may sign.
    Refused = 3,
    /// A signature did not verify, or the key does not match the certificate.
    Crypto = 4,
    /// A step was called before the one it follows.
    OutOfOrder = 5,
}

impl Failure {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }
}

fn bad(what: &str) -> impl Fn(pki_core::Error) -> Failure + '_ {
    move |e| Failure::new(Code::BadInput, format!("{what}: {e}"))
}

fn refuse(message: impl Into<String>) -> Failure {
    Failure::new(Code::Refused, message)
}

/// The to-be-signed CSR for `mailbox` with the end-entity key `spki` (DER
/// `SubjectPublicKeyInfo`, as from `crypto.subtle.exportKey("spki", …)`).
///
/// # Errors
/// [`Code::BadInput`] for an unsupported key or an invalid address.
pub fn csr_tbs(spki: &[u8], mailbox: &str) -> Result<ToBeSigned<CertReq>, Failure> {
    let key = PublicKey::from_spki_der(spki).map_err(bad("end-entity key"))?;
    let mailbox = Mailbox::parse(mailbox).map_err(bad("mailbox"))?;
    csr::build(&mailbox, &key).map_err(bad("CSR"))
}

/// The to-be-signed self-signed root for the root key `spki`, valid from `now` for the longest
/// lifetime pki-core issues.
///
/// # Errors
/// [`Code::BadInput`] for an unsupported key.
pub fn root_tbs<R: CryptoRng + ?Sized>(
    spki: &[u8],
    now: UnixTime,
    rng: &mut R,
) -> Result<ToBeSigned<Certificate>, Failure> {
    let key = PublicKey::from_spki_der(spki).map_err(bad("root key"))?;
    cert::root(ROOT_CN, &key, Lifetime { now, days: cert::MAX_VALIDITY_DAYS }, rng).map_err(bad("root"))
}

/// Attaches a WebCrypto signature (raw `r‖s` for ECDSA, PKCS#1 v1.5 for RSA) after checking it.
///
/// # Errors
/// [`Code::Crypto`] if it does not verify under the expected key.
pub fn assemble<T: pki_core::sign::Signable + Encode>(
    tbs: ToBeSigned<T>,
    signature: &[u8],
) -> Result<Vec<u8>, Failure> {
    let format = format(tbs.signer(), signature);
    let signed = tbs.assemble(signature, format).map_err(|e| Failure::new(Code::Crypto, format!("signature: {e}")))?;
    signed.to_der().map_err(|e| Failure::new(Code::BadInput, format!("encoding: {e}")))
}

/// WebCrypto's raw `r‖s` when the length says so (a DER ECDSA signature is never exactly that
/// long), DER otherwise (RSA signatures are the same in both).
fn format(key: &PublicKey, signature: &[u8]) -> SignatureFormat {
    if key.raw_ecdsa_len() == Some(signature.len()) { SignatureFormat::RawEcdsa } else { SignatureFormat::Der }
}

/// What the page expects of the intermediate: the relay's domains and the user's verified
/// mailboxes, the only names it may permit.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// Relay domains (from the server's `/app/config.json`).
    pub domains: Vec<String>,
    /// The account's verified mailboxes.
    pub mailboxes: Vec<String>,
}

impl Expected {
    /// Reads lines `domain NAME` and `mailbox ADDRESS`; other lines are an error.
    ///
    /// # Errors
    /// [`Code::BadInput`] for an unknown line.
    pub fn parse(text: &str) -> Result<Self, Failure> {
        let mut out = Expected::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.split_once(' ') {
                Some(("domain", d)) => out.domains.push(d.trim().to_ascii_lowercase()),
                Some(("mailbox", m)) => out.mailboxes.push(m.trim().to_ascii_lowercase()),
                _ => return Err(Failure::new(Code::BadInput, format!("expectations: unknown line {line:?}"))),
            }
        }
        Ok(out)
    }
}

/// An intermediate the user's root may sign: the TBS bytes and the root key they name.
#[derive(Debug, Clone)]
pub struct Approved {
    tbs: Vec<u8>,
    root: PublicKey,
}

/// Parses the intermediate's TBS bytes, checks them against the table in the [module
/// documentation](self), and describes them as JSON for the page:
/// `{"subject", "issuer", "serial", "key", "ca", "path_len", "key_usage", "eku", "permitted",
/// "not_before", "not_after", "days"}`.
///
/// # Errors
/// [`Code::BadInput`] for malformed DER or root key; [`Code::Refused`] for anything that is not
/// the intermediate this user's root may sign.
pub fn describe_intermediate(
    tbs_der: &[u8],
    root_spki: &[u8],
    expected: &Expected,
    now: UnixTime,
) -> Result<(String, Approved), Failure> {
    let root = PublicKey::from_spki_der(root_spki).map_err(bad("root key"))?;
    let tbs = TbsCertificate::from_der(tbs_der)
        .map_err(|e| Failure::new(Code::BadInput, format!("intermediate: not a TBSCertificate: {e}")))?;
    let planned = Issuer::planned(cert::common_name_only(ROOT_CN).map_err(bad("root name"))?, root.clone(), None)
        .map_err(bad("root key"))?;
    if tbs.version() != Version::V3 {
        return Err(refuse("not an X.509 v3 certificate"));
    }
    if *tbs.signature() != root.signature_algorithm() {
        return Err(refuse("its signature algorithm is not the root key's"));
    }
    if tbs.issuer() != planned.name() {
        return Err(refuse(format!("its issuer is {}, not CN={ROOT_CN}", tbs.issuer())));
    }
    let subject = tbs.subject().to_string();
    if subject.contains('@') {
        return Err(refuse("its subject holds a mail address: it is not a CA"));
    }
    let key = PublicKey::from_spki(tbs.subject_public_key_info()).map_err(bad("intermediate key"))?;
    let exts = check_extensions(&tbs, planned.key_id(), expected)?;
    let not_before = UnixTime::from_x509(&tbs.validity().not_before).as_secs();
    let not_after = UnixTime::from_x509(&tbs.validity().not_after).as_secs();
    let now = now.as_secs();
    if not_before > now + DAY || not_before + 2 * DAY < now {
        return Err(refuse("its validity does not start now"));
    }
    if not_after <= now || not_after <= not_before {
        return Err(refuse("it has already expired"));
    }
    let days = (not_after - not_before) / DAY;
    if days > u64::from(cert::MAX_VALIDITY_DAYS) {
        return Err(refuse(format!("it is valid for {days} days, more than {}", cert::MAX_VALIDITY_DAYS)));
    }
    let key_name = match key {
        PublicKey::Rsa(_) => "RSA",
        PublicKey::P256(_) => "ECDSA P-256",
        _ => "ECDSA P-384",
    };
    let json = Object::new()
        .str("subject", &subject)
        .str("issuer", &tbs.issuer().to_string())
        .str("serial", &tbs.serial_number().to_string())
        .str("key", key_name)
        .bool("ca", true)
        .num("path_len", 0)
        .strs("key_usage", &["keyCertSign".into(), "cRLSign".into()])
        .strs("eku", &["emailProtection".into()])
        .strs("permitted", &exts.permitted)
        .num("not_before", not_before)
        .num("not_after", not_after)
        .num("days", days)
        .finish();
    Ok((json, Approved { tbs: tbs_der.to_vec(), root }))
}

/// What [`check_extensions`] read.
struct Extensions {
    permitted: Vec<String>,
}

fn check_extensions(tbs: &TbsCertificate, root_key_id: &[u8], expected: &Expected) -> Result<Extensions, Failure> {
    let exts = tbs.extensions().ok_or_else(|| refuse("it has no extensions"))?;
    let mut seen = Vec::new();
    let mut permitted = None;
    for ext in exts {
        if seen.contains(&ext.extn_id) {
            return Err(refuse(format!("extension {} appears twice", ext.extn_id)));
        }
        seen.push(ext.extn_id);
        let value = ext.extn_value.as_bytes();
        let malformed = |what: &str| refuse(format!("malformed {what}"));
        match ext.extn_id {
            BasicConstraints::OID => {
                let bc = BasicConstraints::from_der(value).map_err(|_| malformed("basicConstraints"))?;
                if !ext.critical || !bc.ca || bc.path_len_constraint != Some(0) {
                    return Err(refuse("basicConstraints must be critical, CA, pathLen 0"));
                }
            }
            KeyUsage::OID => {
                let ku = KeyUsage::from_der(value).map_err(|_| malformed("keyUsage"))?;
                if !ext.critical || ku.0 != (KeyUsages::KeyCertSign | KeyUsages::CRLSign) {
                    return Err(refuse("keyUsage must be critical, keyCertSign and cRLSign only"));
                }
            }
            ExtendedKeyUsage::OID => {
                let eku = ExtendedKeyUsage::from_der(value).map_err(|_| malformed("extendedKeyUsage"))?;
                if eku.0 != [const_oid::db::rfc5280::ID_KP_EMAIL_PROTECTION] {
                    return Err(refuse("extendedKeyUsage must be emailProtection only"));
                }
            }
            AuthorityKeyIdentifier::OID => {
                let aki = AuthorityKeyIdentifier::from_der(value).map_err(|_| malformed("authorityKeyIdentifier"))?;
                if aki.key_identifier.as_ref().map(|k| k.as_bytes()) != Some(root_key_id) {
                    return Err(refuse("its authorityKeyIdentifier is not the root key's"));
                }
            }
            SubjectKeyIdentifier::OID => {
                SubjectKeyIdentifier::from_der(value).map_err(|_| malformed("subjectKeyIdentifier"))?;
            }
            NameConstraints::OID => {
                let nc = NameConstraints::from_der(value).map_err(|_| malformed("nameConstraints"))?;
                if !ext.critical {
                    return Err(refuse("nameConstraints must be critical"));
                }
                permitted = Some(check_names(&nc, expected)?);
            }
            other => return Err(refuse(format!("unexpected extension {other}"))),
        }
    }
    for (oid, name) in [
        (BasicConstraints::OID, "basicConstraints"),
        (KeyUsage::OID, "keyUsage"),
        (ExtendedKeyUsage::OID, "extendedKeyUsage"),
        (AuthorityKeyIdentifier::OID, "authorityKeyIdentifier"),
    ] {
        if !seen.contains(&oid) {
            return Err(refuse(format!("{name} is missing")));
        }
    }
    let permitted = permitted.ok_or_else(|| refuse("nameConstraints are missing"))?;
    Ok(Extensions { permitted })
}

fn check_names(nc: &NameConstraints, expected: &Expected) -> Result<Vec<String>, Failure> {
    if nc.excluded_subtrees.as_ref().is_some_and(|e| !e.is_empty()) {
        return Err(refuse("nameConstraints exclude names (only permitted names are expected)"));
    }
    let subtrees = nc.permitted_subtrees.as_ref().filter(|p| !p.is_empty());
    let subtrees = subtrees.ok_or_else(|| refuse("nameConstraints permit nothing"))?;
    let mut names = Vec::new();
    for tree in subtrees {
        let GeneralName::Rfc822Name(name) = &tree.base else {
            return Err(refuse("nameConstraints permit a name that is not a mail address or domain"));
        };
        if tree.minimum != 0 || tree.maximum.is_some() {
            return Err(refuse("nameConstraints with minimum/maximum"));
        }
        let name = name.as_str().to_ascii_lowercase();
        let ok = if name.contains('@') { expected.mailboxes.contains(&name) } else { expected.domains.contains(&name) };
        if !ok {
            return Err(refuse(format!(
                "nameConstraints permit {name}, which is neither a relay domain nor your mailbox"
            )));
        }
        names.push(name);
    }
    Ok(names)
}

/// The intermediate certificate from its approved TBS bytes and the root key's WebCrypto
/// signature over them.
///
/// # Errors
/// [`Code::Crypto`] if the signature does not verify under the root key.
pub fn assemble_intermediate(approved: &Approved, signature: &[u8]) -> Result<Vec<u8>, Failure> {
    let crypto = |m: String| Failure::new(Code::Crypto, m);
    let sig = approved
        .root
        .normalize_signature(signature, format(&approved.root, signature), "intermediate")
        .map_err(|e| crypto(format!("intermediate signature: {e}")))?;
    let alg = approved.root.signature_algorithm();
    approved
        .root
        .verify(&alg.oid, None, &approved.tbs, &sig, "intermediate")
        .map_err(|e| crypto(format!("intermediate signature: {e}")))?;
    let mut content = approved.tbs.clone();
    content.extend(alg.to_der().map_err(|e| crypto(format!("algorithm: {e}")))?);
    let bits = der::asn1::BitString::from_bytes(&sig).and_then(|b| b.to_der());
    content.extend(bits.map_err(|e| crypto(format!("signature: {e}")))?);
    let cert = der::asn1::AnyRef::new(der::Tag::Sequence, &content)
        .and_then(|a| a.to_der())
        .map_err(|e| crypto(format!("certificate: {e}")))?;
    Certificate::from_der(&cert).map_err(|e| crypto(format!("certificate: {e}")))?;
    Ok(cert)
}

/// A PKCS#12 file with the end-entity key (`pkcs8`, from `exportKey("pkcs8", …)`), its
/// certificate and the chain, protected by `password`. `compatible` picks 3DES with a SHA-1
/// MAC (Keychain, iOS, gpgsm) over AES-256 with a SHA-256 MAC.
///
/// # Errors
/// [`Code::Crypto`] if the key is not the certificate's; [`Code::BadInput`] otherwise.
#[allow(clippy::too_many_arguments, reason = "the parts of one file")]
pub fn pkcs12<R: CryptoRng + ?Sized>(
    pkcs8: &[u8],
    end_entity: &[u8],
    intermediate: &[u8],
    root: &[u8],
    password: &str,
    compatible: bool,
    friendly_name: &str,
    rng: &mut R,
) -> Result<Vec<u8>, Failure> {
    let flavour = if compatible { Flavour::Compatible } else { Flavour::Modern };
    let opts = ExportOptions::new(flavour).with_friendly_name(friendly_name);
    pkcs12::export(pkcs8, end_entity, &[intermediate, root], password, &opts, rng).map_err(|e| match e {
        pkcs12::Error::KeyCertificateMismatch => Failure::new(Code::Crypto, "the key is not the certificate's"),
        e => Failure::new(Code::BadInput, format!("PKCS#12: {e}")),
    })
}

#[cfg(test)]
mod tests;
