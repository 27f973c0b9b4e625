//! The ceremony's steps natively, with pki-core keys standing in for WebCrypto's, and the
//! relay's own `cert::intermediate` making what the server would send.
#![allow(clippy::unwrap_used, reason = "tests")]

use der::{Decode, Encode};
use pki_core::{
    KeyAlgorithm, PrivateKey, UnixTime,
    address::{Domain, Mailbox},
    cert::{self, Issuer, Lifetime, Permitted},
    csr::VerifiedCsr,
    path::{self, Usage},
    pkcs12,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use x509_cert::Certificate;

use super::*;

const NOW: UnixTime = UnixTime::from_secs(1_790_000_000);

fn expected() -> Expected {
    Expected::parse("domain pportal.io\nmailbox alice@example.org\n").unwrap()
}

fn permitted(domain: &str) -> Permitted {
    Permitted {
        domains: vec![Domain::parse(domain).unwrap()],
        mailboxes: vec![Mailbox::parse("alice@example.org").unwrap()],
    }
}

/// The relay's step 1 for `root`: the intermediate key and its TBS bytes.
fn relay_tbs(root: &PrivateKey, permitted: &Permitted, rng: &mut ChaCha20Rng) -> (PrivateKey, Vec<u8>) {
    let planned = Issuer::planned(cert::common_name_only(ROOT_CN).unwrap(), root.public_key(), None).unwrap();
    let inter = PrivateKey::generate(KeyAlgorithm::P256, rng).unwrap();
    let life = Lifetime { now: NOW, days: cert::MAX_VALIDITY_DAYS };
    let tbs = cert::intermediate("Mail relay issuing CA", &inter.public_key(), &planned, permitted, life, rng).unwrap();
    (inter, tbs.bytes().to_vec())
}

fn spki(key: &PrivateKey) -> Vec<u8> {
    key.public_key().to_spki().unwrap().to_der().unwrap()
}

#[test]
fn the_whole_ceremony_gives_a_chain_that_validates_and_a_p12_that_imports() {
    let rng = &mut ChaCha20Rng::from_seed([7; 32]);
    let ee = PrivateKey::generate(KeyAlgorithm::P256, rng).unwrap();
    let root = PrivateKey::generate(KeyAlgorithm::P256, rng).unwrap();

    let tbs = csr_tbs(&spki(&ee), "alice@example.org").unwrap();
    let sig = ee.sign(tbs.bytes(), rng).unwrap();
    let csr = VerifiedCsr::from_der(&assemble(tbs, &sig).unwrap()).unwrap();
    assert_eq!(csr.public_key, ee.public_key());

    let (inter_key, inter_tbs) = relay_tbs(&root, &permitted("pportal.io"), rng);
    let (json, approved) = describe_intermediate(&inter_tbs, &spki(&root), &expected(), NOW).unwrap();
    assert!(json.contains(r#""path_len":0"#), "{json}");
    assert!(json.contains(r#""permitted":["pportal.io","alice@example.org"]"#), "{json}");
    assert!(json.contains(r#""subject":"CN=Mail relay issuing CA""#), "{json}");

    let root_tbs = root_tbs(&spki(&root), NOW, rng).unwrap();
    let sig = root.sign(root_tbs.bytes(), rng).unwrap();
    let root_der = assemble(root_tbs, &sig).unwrap();
    let sig = root.sign(&inter_tbs, rng).unwrap();
    let inter_der = assemble_intermediate(&approved, &sig).unwrap();
    // A signature by another key is refused.
    let wrong = inter_key.sign(&inter_tbs, rng).unwrap();
    assert_eq!(assemble_intermediate(&approved, &wrong).unwrap_err().code, Code::Crypto);

    let inter_cert = Certificate::from_der(&inter_der).unwrap();
    let issuer = Issuer::from_certificate(&inter_cert).unwrap();
    let ee_cert = cert::end_entity(
        &Mailbox::parse("alice@example.org").unwrap(),
        &ee.public_key(),
        &issuer,
        Lifetime { now: NOW, days: 365 },
        rng,
    )
    .unwrap()
    .sign(&inter_key, rng)
    .unwrap();
    let root_cert = Certificate::from_der(&root_der).unwrap();
    let verdict = path::validate(&ee_cert, &[inter_cert], &root_cert, NOW.plus_secs(60), Usage::Encrypt);
    assert!(verdict.is_valid(), "{verdict}");

    let ee_der = ee_cert.to_der().unwrap();
    for compatible in [false, true] {
        let p12 = pkcs12(&ee.to_pkcs8_der().unwrap(), &ee_der, &inter_der, &root_der, "pw", compatible, "alice", rng)
            .unwrap();
        let imported = pkcs12::import(&p12, "pw").unwrap();
        assert_eq!(imported.cert_der, ee_der);
        assert_eq!(imported.chain_der, vec![inter_der.clone(), root_der.clone()]);
    }
    // The root's key is not the EE certificate's.
    let err = pkcs12(&root.to_pkcs8_der().unwrap(), &ee_der, &inter_der, &root_der, "pw", true, "x", rng).unwrap_err();
    assert_eq!(err.code, Code::Crypto);
}

#[test]
fn refuses_what_is_not_this_users_intermediate() {
    let rng = &mut ChaCha20Rng::from_seed([9; 32]);
    let root = PrivateKey::generate(KeyAlgorithm::P256, rng).unwrap();
    let planned = Issuer::planned(cert::common_name_only(ROOT_CN).unwrap(), root.public_key(), None).unwrap();
    let life = Lifetime { now: NOW, days: 400 };
    let refused = |tbs: &[u8], now: UnixTime| {
        let err = describe_intermediate(tbs, &spki(&root), &expected(), now).unwrap_err();
        assert_eq!(err.code, Code::Refused, "{}", err.message);
        err.message
    };

    // A name constraint for a domain that is not the relay's.
    let (_, tbs) = relay_tbs(&root, &permitted("bank.example"), rng);
    assert!(refused(&tbs, NOW).contains("bank.example"));
    // The right one, but a year from now (validity does not start now) or for another root key.
    let (_, tbs) = relay_tbs(&root, &permitted("pportal.io"), rng);
    refused(&tbs, NOW.plus_secs(400 * 86_400));
    let other = PrivateKey::generate(KeyAlgorithm::P256, rng).unwrap();
    assert!(describe_intermediate(&tbs, &spki(&other), &expected(), NOW).is_err());
    // An end-entity certificate (CA false) under the planned root.
    let key = PrivateKey::generate(KeyAlgorithm::P256, rng).unwrap();
    let ee = cert::end_entity(&Mailbox::parse("alice@example.org").unwrap(), &key.public_key(), &planned, life, rng)
        .unwrap();
    refused(ee.bytes(), NOW);
    // A CA with pathLen 1 (a root's profile).
    let ca = cert::root(ROOT_CN, &key.public_key(), life, rng).unwrap();
    refused(ca.bytes(), NOW);
    // Garbage.
    let err = describe_intermediate(b"\x30\x03\x02\x01\x01", &spki(&root), &expected(), NOW).unwrap_err();
    assert_eq!(err.code, Code::BadInput);
}

#[test]
fn expectations_are_lines() {
    assert!(Expected::parse("domain a.example\nmailbox B@x.example").is_ok());
    assert_eq!(Expected::parse("root x").unwrap_err().code, Code::BadInput);
}
