//! `review_intermediate`: what the root signs in the ceremony is read and checked first.

#![allow(clippy::unwrap_used)]

use der::Encode;
use pki_core::{
    Error, KeyAlgorithm, PrivateKey, SignatureFormat, UnixTime,
    address::{Domain, Mailbox},
    ceremony::review_intermediate,
    cert::{self, Issuer, Lifetime, Permitted},
    path::{self, Usage},
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use x509_cert::Certificate;

const NOW: UnixTime = UnixTime(1_795_910_400);
const DAY: u64 = 86_400;

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

fn permitted() -> Permitted {
    Permitted {
        domains: vec![Domain::parse("pportal.io").unwrap()],
        mailboxes: vec![Mailbox::parse("alice@example.com").unwrap()],
    }
}

struct Root {
    key: PrivateKey,
    cert: Certificate,
    issuer: Issuer,
}

fn make_root(alg: KeyAlgorithm, seed: u8, days: u32) -> Root {
    let mut g = rng(seed);
    let key = PrivateKey::generate(alg, &mut g).unwrap();
    let cert = cert::root("Mail relay user root", &key.public_key(), Lifetime { now: NOW, days }, &mut g)
        .unwrap()
        .sign(&key, &mut g)
        .unwrap();
    let issuer = Issuer::from_certificate(&cert).unwrap();
    Root { key, cert, issuer }
}

fn intermediate_tbs(root: &Root, seed: u8) -> (Vec<u8>, PrivateKey) {
    let mut g = rng(seed);
    let key = PrivateKey::generate(KeyAlgorithm::P256, &mut g).unwrap();
    let tbs = cert::intermediate(
        "Mail relay issuing CA",
        &key.public_key(),
        &root.issuer,
        &permitted(),
        Lifetime { now: NOW, days: 825 },
        &mut g,
    )
    .unwrap();
    (tbs.bytes().to_vec(), key)
}

fn refusal(result: Result<impl Sized, Error>) -> String {
    match result {
        Err(Error::Profile { reason }) => reason,
        Err(other) => panic!("expected a profile refusal, got {other}"),
        Ok(_) => panic!("expected a refusal"),
    }
}

#[test]
fn describes_the_intermediate_and_the_signature_makes_a_valid_chain() {
    for alg in [KeyAlgorithm::P256, KeyAlgorithm::Rsa2048] {
        let root = make_root(alg, 1, 825);
        let (tbs, inter_key) = intermediate_tbs(&root, 2);
        let (review, to_sign) = review_intermediate(&tbs, &root.issuer, NOW).unwrap();
        assert_eq!(review.subject, "CN=Mail relay issuing CA");
        assert_eq!(review.issuer, "CN=Mail relay user root");
        assert_eq!(review.key, "P-256");
        assert_eq!(review.path_len, 0);
        assert_eq!(review.extended_key_usage, ["emailProtection"]);
        assert_eq!(review.permitted, ["pportal.io", "alice@example.com"]);
        assert!(review.not_before <= NOW && review.not_after > NOW.plus_secs(800 * DAY));
        assert!(review.permits("alice@example.com") && review.permits("Quiet.Otter.42@PPortal.io"));
        assert!(!review.permits("mallory@example.com") && !review.permits("x@sub.pportal.io"));
        let shown = review.to_string();
        assert!(shown.contains("pathLen:    0") && shown.contains("alice@example.com"), "{shown}");

        // The root signs the reviewed bytes the way WebCrypto would (raw r||s for ECDSA).
        let mut g = rng(3);
        let sig = root.key.sign(to_sign.bytes(), &mut g).unwrap();
        let inter = to_sign.assemble(&sig, SignatureFormat::Der).unwrap();
        assert_eq!(inter.tbs_certificate().to_der().unwrap(), tbs);

        // A leaf under it validates up to the root.
        let issuer = Issuer::from_certificate(&inter).unwrap();
        let alice_key = PrivateKey::generate(KeyAlgorithm::P256, &mut g).unwrap();
        let alice = cert::end_entity(
            &Mailbox::parse("alice@example.com").unwrap(),
            &alice_key.public_key(),
            &issuer,
            Lifetime { now: NOW, days: 365 },
            &mut g,
        )
        .unwrap()
        .sign(&inter_key, &mut g)
        .unwrap();
        let verdict = path::validate(&alice, &[inter], &root.cert, NOW, Usage::Encrypt);
        assert!(verdict.is_valid(), "{verdict:?}");
    }
}

#[test]
fn refuses_what_is_not_an_intermediate_for_this_root() {
    let root = make_root(KeyAlgorithm::P256, 1, 825);
    let (tbs, _) = intermediate_tbs(&root, 2);

    // Prepared for another root with the same name: the key identifier gives it away; with
    // another kind of key, the signature algorithm does.
    let other = make_root(KeyAlgorithm::P256, 7, 825);
    assert!(refusal(review_intermediate(&tbs, &other.issuer, NOW)).contains("authority key identifier"));
    let rsa = make_root(KeyAlgorithm::Rsa2048, 8, 825);
    assert!(refusal(review_intermediate(&tbs, &rsa.issuer, NOW)).contains("signature algorithm"));

    // The root's own TBS (pathLen 1, no EKU, its own key).
    let mut g = rng(9);
    let self_tbs = cert::root("Mail relay user root", &root.key.public_key(), Lifetime { now: NOW, days: 30 }, &mut g)
        .unwrap()
        .bytes()
        .to_vec();
    assert!(refusal(review_intermediate(&self_tbs, &root.issuer, NOW)).contains("root's own key"));

    // An end-entity certificate (CA:FALSE) issued straight by the root.
    let ee_key = PrivateKey::generate(KeyAlgorithm::P256, &mut g).unwrap();
    let ee_tbs = cert::end_entity(
        &Mailbox::parse("alice@example.com").unwrap(),
        &ee_key.public_key(),
        &root.issuer,
        Lifetime { now: NOW, days: 30 },
        &mut g,
    )
    .unwrap()
    .bytes()
    .to_vec();
    assert!(refusal(review_intermediate(&ee_tbs, &root.issuer, NOW)).contains("CA:TRUE"));

    // Out of its validity.
    let later = NOW.plus_secs(900 * DAY);
    assert!(refusal(review_intermediate(&tbs, &root.issuer, later)).contains("validity"));
    let earlier = UnixTime(NOW.0 - 3 * DAY);
    assert!(refusal(review_intermediate(&tbs, &root.issuer, earlier)).contains("validity"));

    // Longer-lived than a short root (built for a long-lived one with the same key).
    let short =
        Issuer::planned(root.issuer.name().clone(), root.key.public_key(), Some(NOW.plus_secs(10 * DAY))).unwrap();
    assert!(refusal(review_intermediate(&tbs, &short, NOW)).contains("outlive"));
}

#[test]
fn hostile_bytes_are_errors_not_panics() {
    let root = make_root(KeyAlgorithm::P256, 1, 825);
    let (tbs, _) = intermediate_tbs(&root, 2);
    for len in 0..tbs.len() {
        assert!(review_intermediate(&tbs[..len], &root.issuer, NOW).is_err(), "prefix of {len} accepted");
    }
    let mut accepted = 0;
    for i in 0..tbs.len() {
        for bit in [0x01, 0x80] {
            let mut t = tbs.clone();
            t[i] ^= bit;
            if let Ok((review, _)) = review_intermediate(&t, &root.issuer, NOW) {
                // A flipped bit can only land in a field the review shows (serial, key, subject,
                // validity or a permitted name's letters); the rules still hold.
                assert_eq!(review.path_len, 0);
                assert!(!review.permitted.is_empty());
                accepted += 1;
            }
        }
    }
    assert!(accepted < tbs.len(), "most mutations must be refused ({accepted} accepted)");
}
