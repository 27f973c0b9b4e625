//! The pki-core side of the benchmark, and the run itself: one hierarchy per key type, the
//! relay's three hot operations measured against OpenSSL doing the same work, then the
//! microbenchmarks and the implicit-rejection timing.

use std::{
    hint::black_box,
    time::{SystemTime, UNIX_EPOCH},
};

use der::Encode;
use pki_core::{
    KeyAlgorithm, PrivateKey, UnixTime,
    address::{Domain, Mailbox},
    cert::{self, Issuer, Lifetime, Permitted},
    cms::{self, ContentCipher, Envelope, SignOptions, Signer},
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use x509_cert::Certificate;

use super::{Config, Table, measure_pair, message, micro, ossl::OsslSide, rejection};
use crate::Result;

/// The user's real mailbox (their end-entity certificate) and a contact's reverse alias (a
/// recipient certificate).
pub(crate) const USER: &str = "alice@example.com";
pub(crate) const REVERSE_ALIAS: &str = "quiet.otter.42@pportal.io";

/// The key type of a whole hierarchy: root, intermediate, recipient and end-entity keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Rsa2048,
    P256,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Rsa2048 => "RSA-2048",
            Kind::P256 => "P-256",
        }
    }

    pub(crate) fn alg(self) -> KeyAlgorithm {
        match self {
            Kind::Rsa2048 => KeyAlgorithm::Rsa2048,
            Kind::P256 => KeyAlgorithm::P256,
        }
    }
}

pub(crate) fn run(cfg: Config) -> Result {
    let now = UnixTime(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs());
    let entity = message::entity();
    let mut rng = ChaCha20Rng::from_seed([42; 32]);
    println!("pki-core vs {} (dynamically linked), single thread", openssl::version::version());
    println!(
        "message: {} bytes of multipart/mixed; at least {:.1} s per cell and library, in alternating rounds",
        entity.len(),
        cfg.per_cell.as_secs_f64()
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", load.trim());
    }

    let mut sides = Vec::new();
    for kind in [Kind::Rsa2048, Kind::P256] {
        eprintln!("setting up the {} hierarchy (pki-core makes the keys; OpenSSL gets the same ones)", kind.name());
        let ours = PkiSide::new(kind, now, &mut rng)?;
        let theirs = OsslSide::from_pki(&ours)?;
        sides.push((ours, theirs));
    }

    if cfg.main {
        let table = Table::start("Relay operations (messages or certificates per second)", "pki-core", "OpenSSL");
        for (ours, theirs) in &sides {
            main_rows(&cfg, &table, ours, theirs, &entity, &mut rng)?;
        }
        table.note();
        println!(
            "sign+encrypt: detached SignedData over the entity by the recipient cert (+ intermediate), multipart/signed,\n\
             \x20 EnvelopedData AES-256-CBC to the user's EE cert. decrypt+verify: the reverse, chain checked to the root.\n\
             issuance: key generation + recipient certificate signed by the intermediate, DER-encoded."
        );
    }
    if cfg.micro {
        micro::run(&cfg, &sides, &mut rng)?;
    }
    if cfg.rejection {
        let (rsa, _) = sides.iter().find(|(s, _)| s.kind == Kind::Rsa2048).ok_or("no RSA-2048 hierarchy")?;
        rejection::run(&cfg, rsa, &mut rng)?;
    }
    Ok(())
}

fn main_rows(
    cfg: &Config,
    table: &Table,
    ours: &PkiSide,
    theirs: &OsslSide,
    entity: &[u8],
    rng: &mut ChaCha20Rng,
) -> Result {
    let name = ours.kind.name();
    // Both libraries must read their own output and each other's before anything is timed.
    let our_msg = ours.sign_encrypt(entity, rng)?;
    let their_msg = theirs.sign_encrypt(entity)?;
    check_same(entity, &ours.decrypt_verify(&our_msg, rng)?, "pki-core opening its own message")?;
    check_same(entity, &theirs.decrypt_verify(&their_msg)?, "OpenSSL opening its own message")?;
    let cross_a =
        theirs.decrypt_verify(&our_msg).and_then(|c| check_same(entity, &c, "OpenSSL opening pki-core's message"));
    let cross_b =
        ours.decrypt_verify(&their_msg, rng).and_then(|c| check_same(entity, &c, "pki-core opening OpenSSL's message"));
    let shared = match (&cross_a, &cross_b) {
        (Ok(()), Ok(())) => true,
        _ => {
            for e in [cross_a.err(), cross_b.err()].into_iter().flatten() {
                eprintln!("warning ({name}): interop check failed: {e}");
            }
            false
        }
    };
    theirs.check_issued(&ours.issue(rng)?, "pki-core")?;
    theirs.check_issued(&theirs.issue()?, "OpenSSL")?;

    let (a, b) = measure_pair(cfg, 1, &mut || ours.sign_encrypt(entity, rng).map(|m| drop(black_box(m))), &mut || {
        theirs.sign_encrypt(entity).map(|m| drop(black_box(m)))
    })?;
    table.row(&format!("{name}  sign+encrypt, 70 KB message"), a, b);

    // Both open the same bytes (pki-core's message) when they can read each other's.
    let their_input = if shared { &our_msg } else { &their_msg };
    let (a, b) =
        measure_pair(cfg, 1, &mut || ours.decrypt_verify(&our_msg, rng).map(|m| drop(black_box(m))), &mut || {
            theirs.decrypt_verify(their_input).map(|m| drop(black_box(m)))
        })?;
    let suffix = if shared { "" } else { " (own messages)" };
    table.row(&format!("{name}  decrypt+verify, 70 KB message{suffix}"), a, b);

    let (a, b) = measure_pair(cfg, 10, &mut || ours.issue(rng).map(|c| drop(black_box(c))), &mut || {
        theirs.issue().map(|c| drop(black_box(c)))
    })?;
    table.row(&format!("{name}  recipient-cert issuance (keygen + sign)"), a, b);
    Ok(())
}

fn check_same(expected: &[u8], got: &[u8], what: &str) -> Result {
    if expected == got { Ok(()) } else { Err(format!("{what}: the content differs from what was signed").into()) }
}

/// A user's hierarchy made by pki-core, with a recipient certificate for one contact.
pub(crate) struct PkiSide {
    pub(crate) kind: Kind,
    pub(crate) now: UnixTime,
    pub(crate) root: Certificate,
    pub(crate) inter: Certificate,
    pub(crate) inter_key: PrivateKey,
    pub(crate) contact: Certificate,
    pub(crate) contact_key: PrivateKey,
    pub(crate) user: Certificate,
    pub(crate) user_key: PrivateKey,
    issuer: Issuer,
    reverse_alias: Mailbox,
}

impl PkiSide {
    /// Root → intermediate → {the user's EE cert, a recipient cert}, all keys of `kind`.
    pub(crate) fn new(kind: Kind, now: UnixTime, rng: &mut ChaCha20Rng) -> Result<Self> {
        let life = Lifetime { now, days: 825 };
        let root_key = PrivateKey::generate(kind.alg(), rng)?;
        let root = cert::root("Mail Relay bench root", &root_key.public_key(), life, rng)?.sign(&root_key, rng)?;
        let inter_key = PrivateKey::generate(kind.alg(), rng)?;
        let permitted =
            Permitted { domains: vec![Domain::parse("pportal.io")?], mailboxes: vec![Mailbox::parse(USER)?] };
        let root_issuer = Issuer::from_certificate(&root)?;
        let inter =
            cert::intermediate("Mail Relay issuing CA", &inter_key.public_key(), &root_issuer, &permitted, life, rng)?
                .sign(&root_key, rng)?;
        let issuer = Issuer::from_certificate(&inter)?;
        let reverse_alias = Mailbox::parse(REVERSE_ALIAS)?;
        let ee_life = Lifetime { now, days: 365 };
        let contact_key = PrivateKey::generate(kind.alg(), rng)?;
        let contact =
            cert::recipient(&reverse_alias, &contact_key.public_key(), &issuer, ee_life, rng)?.sign(&inter_key, rng)?;
        let user_key = PrivateKey::generate(kind.alg(), rng)?;
        let user = cert::end_entity(&Mailbox::parse(USER)?, &user_key.public_key(), &issuer, ee_life, rng)?
            .sign(&inter_key, rng)?;
        Ok(PkiSide { kind, now, root, inter, inter_key, contact, contact_key, user, user_key, issuer, reverse_alias })
    }

    /// Signs `entity` as the contact (detached), wraps it in multipart/signed and envelopes
    /// that to the user. Returns the EnvelopedData DER.
    pub(crate) fn sign_encrypt(&self, entity: &[u8], rng: &mut ChaCha20Rng) -> Result<Vec<u8>> {
        let chain = std::slice::from_ref(&self.inter);
        let signer = Signer { cert: &self.contact, key: &self.contact_key, chain };
        let sig = cms::sign(entity, signer, SignOptions { signing_time: self.now, detached: true }, rng)?;
        let signed = message::multipart_signed(entity, &sig);
        Ok(Envelope::new(ContentCipher::default()).recipient(&self.user)?.seal(&signed, rng)?)
    }

    /// Opens an envelope as the user and verifies the signature inside against the root.
    /// Returns the signed entity.
    pub(crate) fn decrypt_verify(&self, der: &[u8], rng: &mut ChaCha20Rng) -> Result<Vec<u8>> {
        let opened = cms::open(der, &self.user, &self.user_key, rng)?;
        let (entity, sig) = message::split_signed(&opened.content)?;
        let report = cms::verify(&sig, Some(entity), &self.root, self.now)?;
        if !report.is_valid() {
            return Err(format!("pki-core: the signature does not verify: {:?}", report.signers).into());
        }
        Ok(entity.to_vec())
    }

    /// Issues a recipient certificate with a fresh key: what the relay does for a new contact.
    pub(crate) fn issue(&self, rng: &mut ChaCha20Rng) -> Result<Vec<u8>> {
        let key = PrivateKey::generate(self.kind.alg(), rng)?;
        self.issue_with(&key, rng)
    }

    /// Issues a recipient certificate for a key made beforehand (a key pool).
    pub(crate) fn issue_with(&self, key: &PrivateKey, rng: &mut ChaCha20Rng) -> Result<Vec<u8>> {
        let life = Lifetime { now: self.now, days: 365 };
        let cert = cert::recipient(&self.reverse_alias, &key.public_key(), &self.issuer, life, rng)?
            .sign(&self.inter_key, rng)?;
        Ok(cert.to_der()?)
    }
}
