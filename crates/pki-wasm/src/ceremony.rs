//! The ceremony's certificate work on the user's side, as plain functions over DER bytes.
//!
//! The one judgement made here is [`describe_intermediate`]: before the root key signs anything,
//! the to-be-signed intermediate the relay sent is parsed and held against what this user's
//! intermediate must be: pki-core's [`review_intermediate`] (shared with `mailrelay ceremony`)
//! checks the profile, and this module adds what only the page knows, the user's mailboxes and
//! the relay's domains:
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

use der::{Decode, Encode};
use pki_core::{
    PublicKey, SignatureFormat, UnixTime,
    address::Mailbox,
    ceremony::review_intermediate,
    cert::{self, Issuer, Lifetime},
    csr,
    pkcs12::{self, ExportOptions, Flavour},
    sign::ToBeSigned,
};
use rand_core::CryptoRng;
use x509_cert::{Certificate, TbsCertificate, request::CertReq};

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

/// An intermediate the user's root may sign: its to-be-signed form, waiting for the root key.
#[derive(Debug, Clone)]
pub struct Approved(ToBeSigned<Certificate>);

/// Checks the intermediate's TBS bytes with pki-core's [`review_intermediate`] (the profile of
/// the table in the [module documentation](self)), then against this user: every permitted
/// name must be a relay domain or one of their verified mailboxes, the validity must start
/// within two days of `now` and last at most 825 days. Describes it as JSON for the page:
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
    let planned = Issuer::planned(cert::common_name_only(ROOT_CN).map_err(bad("root name"))?, root, None)
        .map_err(bad("root key"))?;
    let (review, tbs) = review_intermediate(tbs_der, &planned, now).map_err(|e| match e {
        pki_core::Error::Der { .. } => Failure::new(Code::BadInput, format!("intermediate: {e}")),
        e => refuse(e.to_string()),
    })?;
    for name in &review.permitted {
        let name = name.to_ascii_lowercase();
        let ok = if name.contains('@') { expected.mailboxes.contains(&name) } else { expected.domains.contains(&name) };
        if !ok {
            return Err(refuse(format!(
                "refusing to sign: its name constraints permit {name}, which is neither a relay domain nor your mailbox"
            )));
        }
    }
    let (not_before, not_after) = (review.not_before.as_secs(), review.not_after.as_secs());
    if not_before.saturating_add(2 * DAY) < now.as_secs() {
        return Err(refuse("refusing to sign: its validity started more than two days ago"));
    }
    let days = not_after.saturating_sub(not_before) / DAY;
    if days > u64::from(cert::MAX_VALIDITY_DAYS) {
        return Err(refuse(format!(
            "refusing to sign: it is valid for {days} days, more than {}",
            cert::MAX_VALIDITY_DAYS
        )));
    }
    let serial = TbsCertificate::from_der(tbs_der).map(|t| t.serial_number().to_string()).unwrap_or_default();
    let json = Object::new()
        .str("subject", &review.subject)
        .str("issuer", &review.issuer)
        .str("serial", &serial)
        .str("key", &review.key)
        .bool("ca", true)
        .num("path_len", u64::from(review.path_len))
        .strs("key_usage", &["keyCertSign".into(), "cRLSign".into()])
        .strs("eku", &review.extended_key_usage)
        .strs("permitted", &review.permitted)
        .num("not_before", not_before)
        .num("not_after", not_after)
        .num("days", days)
        .finish();
    Ok((json, Approved(tbs)))
}

/// The intermediate certificate from its approved TBS bytes and the root key's WebCrypto
/// signature over them.
///
/// # Errors
/// [`Code::Crypto`] if the signature does not verify under the root key.
pub fn assemble_intermediate(approved: &Approved, signature: &[u8]) -> Result<Vec<u8>, Failure> {
    assemble(approved.0.clone(), signature)
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
        e => Failure::new(Code::BadInput, e.to_string()),
    })
}

#[cfg(test)]
mod tests;
