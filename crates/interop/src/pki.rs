//! A complete hybrid-CA hierarchy made by pki-core, written out for the tools.

use der::{EncodePem, pem::LineEnding};
use pki_core::{
    KeyAlgorithm, PrivateKey, UnixTime,
    address::{Domain, Mailbox},
    cert::{self, Issuer, Lifetime, Permitted},
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use x509_cert::Certificate;

use crate::Work;

/// 2026-11-29T00:00:00Z: tests pin the time.
pub const NOW: UnixTime = UnixTime(1_795_910_400);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    P256,
}

impl KeyKind {
    pub fn alg(self) -> KeyAlgorithm {
        match self {
            KeyKind::Rsa => KeyAlgorithm::Rsa2048,
            KeyKind::P256 => KeyAlgorithm::P256,
        }
    }
}

/// Root → intermediate → {alice's EE, a recipient cert, a cert outside the name constraints}.
pub struct Hierarchy {
    pub root: Certificate,
    pub inter: Certificate,
    pub inter_key: PrivateKey,
    pub alice: Certificate,
    pub alice_key: PrivateKey,
    pub contact: Certificate,
    pub contact_key: PrivateKey,
    pub outsider: Certificate,
    pub outsider_key: PrivateKey,
}

pub fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

pub const ALICE: &str = "alice@example.com";
pub const CONTACT: &str = "quiet.otter.42@pportal.io";
pub const OUTSIDER: &str = "bob@bank.example";

impl Hierarchy {
    /// CA keys and end-entity keys of the given kinds.
    pub fn new(ca: KeyKind, ee: KeyKind) -> Self {
        let mut rng = rng(7 + ca as u8 * 2 + ee as u8);
        let life = Lifetime { now: NOW, days: 825 };
        let root_key = PrivateKey::generate(ca.alg(), &mut rng).unwrap();
        let root = cert::root("Mail Relay user root", &root_key.public_key(), life, &mut rng)
            .unwrap()
            .sign(&root_key, &mut rng)
            .unwrap();
        let inter_key = PrivateKey::generate(ca.alg(), &mut rng).unwrap();
        let permitted = Permitted {
            domains: vec![Domain::parse("pportal.io").unwrap()],
            mailboxes: vec![Mailbox::parse(ALICE).unwrap()],
        };
        let root_issuer = Issuer::from_certificate(&root).unwrap();
        let inter = cert::intermediate(
            "Mail Relay issuing CA",
            &inter_key.public_key(),
            &root_issuer,
            &permitted,
            life,
            &mut rng,
        )
        .unwrap()
        .sign(&root_key, &mut rng)
        .unwrap();
        drop(root_key); // as in the ceremony: the root key signs twice and is gone
        let issuer = Issuer::from_certificate(&inter).unwrap();
        let mut mailbox_cert = |addr: &str, recipient: bool| {
            let key = PrivateKey::generate(ee.alg(), &mut rng).unwrap();
            let mb = Mailbox::parse(addr).unwrap();
            let tbs = if recipient {
                cert::recipient(&mb, &key.public_key(), &issuer, Lifetime { now: NOW, days: 365 }, &mut rng)
            } else {
                cert::end_entity(&mb, &key.public_key(), &issuer, Lifetime { now: NOW, days: 365 }, &mut rng)
            };
            (tbs.unwrap().sign(&inter_key, &mut rng).unwrap(), key)
        };
        let (alice, alice_key) = mailbox_cert(ALICE, false);
        let (contact, contact_key) = mailbox_cert(CONTACT, true);
        let (outsider, outsider_key) = mailbox_cert(OUTSIDER, false);
        Hierarchy { root, inter, inter_key, alice, alice_key, contact, contact_key, outsider, outsider_key }
    }

    /// Writes root.pem, inter.pem, {alice,contact,outsider}.{pem,key} into `work`.
    pub fn write(&self, work: &Work) {
        let pem = |c: &Certificate| c.to_pem(LineEnding::LF).unwrap();
        work.write("root.pem", pem(&self.root));
        work.write("inter.pem", pem(&self.inter));
        for (name, c, k) in [
            ("alice", &self.alice, &self.alice_key),
            ("contact", &self.contact, &self.contact_key),
            ("outsider", &self.outsider, &self.outsider_key),
        ] {
            work.write(&format!("{name}.pem"), pem(c));
            work.write(&format!("{name}.key"), k.to_pkcs8_pem().unwrap().as_bytes());
        }
        work.write("inter.key", self.inter_key.to_pkcs8_pem().unwrap().as_bytes());
    }
}
