//! The hybrid CA built with pki-core alone: keys, profiles, two-step signing, path validation,
//! CMS round trips and their failure modes. (Interop with other implementations lives in the
//! `interop` crate; OpenSSL/gpgsm/NSS-made vectors in `tests/fixtures.rs`.)

#![allow(clippy::unwrap_used)]

use der::{Decode, Encode};
use pki_core::{
    Error, KeyAlgorithm, PrivateKey, PublicKey, SignatureFormat, UnixTime,
    address::{Domain, Mailbox},
    cert::{self, Issuer, Lifetime, Permitted},
    cms::{self, ContentCipher, Envelope, KeyTransport, SignOptions, SignatureStatus, Signer},
    path::{self, Failure, Usage, Verdict},
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use x509_cert::{
    Certificate,
    ext::pkix::{BasicConstraints, NameConstraints},
};

const NOW: UnixTime = UnixTime(1_795_910_400);
const DAY: u64 = 86_400;

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

struct Ca {
    root: Certificate,
    inter: Certificate,
    inter_key: PrivateKey,
    alice: Certificate,
    alice_key: PrivateKey,
}

fn ca(alg: KeyAlgorithm, seed: u8) -> Ca {
    let mut g = rng(seed);
    let life = Lifetime { now: NOW, days: 825 };
    let root_key = PrivateKey::generate(alg, &mut g).unwrap();
    let root = cert::root("Root", &root_key.public_key(), life, &mut g).unwrap().sign(&root_key, &mut g).unwrap();
    let inter_key = PrivateKey::generate(alg, &mut g).unwrap();
    let permitted = Permitted {
        domains: vec![Domain::parse("pportal.io").unwrap()],
        mailboxes: vec![Mailbox::parse("alice@example.com").unwrap()],
    };
    let inter = cert::intermediate(
        "Issuing",
        &inter_key.public_key(),
        &Issuer::from_certificate(&root).unwrap(),
        &permitted,
        life,
        &mut g,
    )
    .unwrap()
    .sign(&root_key, &mut g)
    .unwrap();
    let alice_key = PrivateKey::generate(alg, &mut g).unwrap();
    let alice = mailbox_cert(&inter, &inter_key, &alice_key, "alice@example.com", 365, &mut g);
    Ca { root, inter, inter_key, alice, alice_key }
}

fn mailbox_cert(
    inter: &Certificate,
    inter_key: &PrivateKey,
    key: &PrivateKey,
    addr: &str,
    days: u32,
    g: &mut ChaCha20Rng,
) -> Certificate {
    let issuer = Issuer::from_certificate(inter).unwrap();
    cert::end_entity(&Mailbox::parse(addr).unwrap(), &key.public_key(), &issuer, Lifetime { now: NOW, days }, g)
        .unwrap()
        .sign(inter_key, g)
        .unwrap()
}

fn failure(v: Verdict) -> (usize, Failure) {
    match v {
        Verdict::Invalid { position, failure, .. } => (position, failure),
        other => panic!("expected an invalid verdict, got {other:?}"),
    }
}

#[test]
fn pkcs8_round_trips_and_rejects_other_keys() {
    let mut g = rng(1);
    for alg in [KeyAlgorithm::Rsa2048, KeyAlgorithm::P256] {
        let k = PrivateKey::generate(alg, &mut g).unwrap();
        let der = k.to_pkcs8_der().unwrap();
        assert_eq!(PrivateKey::from_pkcs8_der(&der).unwrap().public_key(), k.public_key());
        let pem = k.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(PrivateKey::from_pkcs8_pem(&pem).unwrap().public_key(), k.public_key());
        let spki = k.public_key().to_spki().unwrap().to_der().unwrap();
        assert_eq!(PublicKey::from_spki_der(&spki).unwrap(), k.public_key());
    }
    // An Ed25519 PKCS#8 key (RFC 8410 example) is refused with the OID named.
    let ed25519 = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20, 0xd4, 0xee,
        0x72, 0xdb, 0xf9, 0x13, 0x58, 0x4a, 0xd5, 0xb6, 0xd8, 0xf1, 0xf7, 0x69, 0xf8, 0xad, 0x3a, 0xfe, 0x7c, 0x28,
        0xcb, 0xf1, 0xd4, 0xfb, 0xe0, 0x97, 0xa8, 0x8f, 0x44, 0x75, 0x58, 0x42,
    ];
    assert!(matches!(PrivateKey::from_pkcs8_der(&ed25519), Err(Error::UnsupportedAlgorithm { .. })));
    assert!(matches!(PrivateKey::from_pkcs8_der(b"\x30\x03\x02\x01"), Err(Error::Der { .. })));
    assert!(PrivateKey::from_pkcs8_pem("-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n").is_err());
}

#[test]
fn profiles_carry_the_promised_extensions() {
    let c = ca(KeyAlgorithm::P256, 2);
    let bc = |cert: &Certificate| cert.tbs_certificate().get_extension::<BasicConstraints>().unwrap().unwrap();
    assert_eq!(bc(&c.root).1.path_len_constraint, Some(1));
    assert_eq!(bc(&c.inter).1.path_len_constraint, Some(0));
    assert!(!bc(&c.alice).1.ca);
    let (critical, nc) = c.inter.tbs_certificate().get_extension::<NameConstraints>().unwrap().unwrap();
    assert!(critical, "nameConstraints must be critical");
    assert_eq!(nc.permitted_subtrees.unwrap().len(), 2);
    // Validity: one hour of backdating, never past the issuer, serials random and distinct.
    let v = c.alice.tbs_certificate().validity();
    assert_eq!(UnixTime::from_x509(&v.not_before), NOW.minus_secs(3600));
    assert_eq!(UnixTime::from_x509(&v.not_after), NOW.minus_secs(3600).plus_secs(365 * DAY));
    assert_ne!(c.alice.tbs_certificate().serial_number(), c.inter.tbs_certificate().serial_number());
    assert_eq!(c.alice.tbs_certificate().serial_number().as_bytes().len(), 16);
    // The root's subject names no address.
    assert!(!c.root.tbs_certificate().subject().to_string().contains('@'));
}

#[test]
fn lifetimes_are_bounded() {
    let c = ca(KeyAlgorithm::P256, 3);
    let mut g = rng(3);
    let key = PrivateKey::generate(KeyAlgorithm::P256, &mut g).unwrap();
    let issuer = Issuer::from_certificate(&c.inter).unwrap();
    let mb = Mailbox::parse("x@pportal.io").unwrap();
    for days in [0, 826] {
        let r = cert::recipient(&mb, &key.public_key(), &issuer, Lifetime { now: NOW, days }, &mut g);
        assert!(matches!(r, Err(Error::Profile { .. })), "{days} days");
    }
    // 825 days asked from an issuer with less left: cut at the issuer's notAfter.
    let late = Lifetime { now: NOW.plus_secs(700 * DAY), days: 825 };
    let cert =
        cert::recipient(&mb, &key.public_key(), &issuer, late, &mut g).unwrap().sign(&c.inter_key, &mut g).unwrap();
    assert_eq!(cert.tbs_certificate().validity().not_after, c.inter.tbs_certificate().validity().not_after);
    // An expired issuer issues nothing.
    let after = Lifetime { now: NOW.plus_secs(900 * DAY), days: 30 };
    assert!(matches!(cert::recipient(&mb, &key.public_key(), &issuer, after, &mut g), Err(Error::Profile { .. })));
    assert!(
        cert::root("a@b.example", &key.public_key(), Lifetime { now: NOW, days: 30 }, &mut g).is_err(),
        "no address in a root"
    );
}

#[test]
fn two_step_signing_accepts_webcrypto_signatures_and_checks_them() {
    let mut g = rng(4);
    let key = PrivateKey::generate(KeyAlgorithm::P256, &mut g).unwrap();
    let tbs = cert::root("WebCrypto root", &key.public_key(), Lifetime { now: NOW, days: 30 }, &mut g).unwrap();
    // WebCrypto returns r||s: emulate it with the same key.
    let pkcs8 = key.to_pkcs8_der().unwrap();
    let sk = <p256::SecretKey as pkcs8::DecodePrivateKey>::from_pkcs8_der(&pkcs8).unwrap();
    let sig: p256::ecdsa::Signature = signature::Signer::sign(&p256::ecdsa::SigningKey::from(&sk), tbs.bytes());
    let raw = sig.to_bytes();
    assert_eq!(raw.len(), 64);
    assert!(matches!(
        tbs.clone().assemble(&raw[..63], SignatureFormat::RawEcdsa),
        Err(Error::MalformedSignature { .. })
    ));
    assert!(
        matches!(tbs.clone().assemble(&raw, SignatureFormat::Der), Err(Error::BadSignature { .. })),
        "raw bytes are not DER"
    );
    let other = PrivateKey::generate(KeyAlgorithm::P256, &mut g).unwrap();
    let wrong = other.sign(tbs.bytes(), &mut g).unwrap();
    assert!(
        matches!(tbs.clone().assemble(&wrong, SignatureFormat::Der), Err(Error::BadSignature { .. })),
        "a signature by another key"
    );
    let root = tbs.assemble(&raw, SignatureFormat::RawEcdsa).unwrap();
    assert!(path::validate(&root, &[], &root, NOW, Usage::Chain).is_valid());
}

#[test]
fn path_validation_names_the_rule_and_the_certificate() {
    for alg in [KeyAlgorithm::P256, KeyAlgorithm::Rsa2048] {
        let c = ca(alg, 5);
        let pool = [c.inter.clone()];
        let mut g = rng(6);
        for usage in [Usage::Sign, Usage::Encrypt] {
            assert!(path::validate(&c.alice, &pool, &c.root, NOW, usage).is_valid());
        }
        // Expired, and not yet valid, at the leaf.
        let (pos, f) = failure(path::validate(&c.alice, &pool, &c.root, NOW.plus_secs(400 * DAY), Usage::Sign));
        assert_eq!(pos, 0);
        assert!(matches!(f, Failure::Expired { .. }));
        assert!(matches!(
            failure(path::validate(&c.alice, &pool, &c.root, NOW.minus_secs(2 * DAY), Usage::Sign)).1,
            Failure::NotYetValid { .. }
        ));
        // The whole chain expired: the intermediate and root are checked too.
        let (pos, f) = failure(path::validate(&c.alice, &pool, &c.root, NOW.plus_secs(900 * DAY), Usage::Sign));
        assert!(matches!(f, Failure::Expired { .. }) && pos == 2, "the anchor expires first from the top: {pos} {f:?}");
        // Outside the name constraints.
        let key = PrivateKey::generate(alg, &mut g).unwrap();
        let outsider = mailbox_cert(&c.inter, &c.inter_key, &key, "bob@bank.example", 30, &mut g);
        assert_eq!(
            failure(path::validate(&outsider, &pool, &c.root, NOW, Usage::Encrypt)),
            (0, Failure::NameConstraint { address: "bob@bank.example".into() })
        );
        // pathLen: the intermediate (pathLen 0) makes another CA, which issues a leaf.
        let sub_key = PrivateKey::generate(alg, &mut g).unwrap();
        let permitted = Permitted { domains: vec![Domain::parse("pportal.io").unwrap()], mailboxes: vec![] };
        let sub = cert::intermediate(
            "Sub",
            &sub_key.public_key(),
            &Issuer::from_certificate(&c.inter).unwrap(),
            &permitted,
            Lifetime { now: NOW, days: 30 },
            &mut g,
        )
        .unwrap()
        .sign(&c.inter_key, &mut g)
        .unwrap();
        let leaf = mailbox_cert(&sub, &sub_key, &key, "x@pportal.io", 30, &mut g);
        let (pos, f) = failure(path::validate(&leaf, &[sub.clone(), c.inter.clone()], &c.root, NOW, Usage::Sign));
        assert_eq!((pos, f), (2, Failure::PathLenExceeded { path_len: 0 }));
        // A leaf used as an issuer is not a CA.
        let fake = mailbox_cert(&c.alice, &c.alice_key, &key, "alice@example.com", 30, &mut g);
        assert_eq!(
            failure(path::validate(&fake, &[c.alice.clone(), c.inter.clone()], &c.root, NOW, Usage::Sign)).1,
            Failure::NotACa
        );
        // Another root by the same name: the intermediate's signature does not hold under it.
        let other = ca(alg, 7);
        assert_eq!(failure(path::validate(&c.alice, &pool, &other.root, NOW, Usage::Sign)), (1, Failure::BadSignature));
        // No intermediate given: no path.
        assert_eq!(failure(path::validate(&c.alice, &[], &c.root, NOW, Usage::Sign)), (0, Failure::IssuerNotFound));
        // A corrupted signature on the leaf.
        let forged = {
            let mut der = c.alice.to_der().unwrap();
            let n = der.len();
            der[n - 5] ^= 1;
            Certificate::from_der(&der).unwrap()
        };
        assert_eq!(failure(path::validate(&forged, &pool, &c.root, NOW, Usage::Sign)), (0, Failure::BadSignature));
    }
}

#[test]
fn cms_round_trips_and_fails_closed() {
    let (r, e) = (ca(KeyAlgorithm::Rsa2048, 8), ca(KeyAlgorithm::P256, 9));
    let mut g = rng(10);
    let content = b"Content-Type: text/plain\r\n\r\nsecret\r\n";
    for (c, cipher, kt) in [
        (&r, ContentCipher::Aes256Cbc, KeyTransport::Default),
        (&r, ContentCipher::Aes128Cbc, KeyTransport::RsaOaepSha256),
        (&r, ContentCipher::Aes256Gcm, KeyTransport::Default),
        (&e, ContentCipher::Aes256Cbc, KeyTransport::Default),
        (&e, ContentCipher::Aes256Gcm, KeyTransport::Default),
    ] {
        let der = Envelope::new(cipher).recipient_with(&c.alice, kt).unwrap().seal(content, &mut g).unwrap();
        assert_eq!(cms::open(&der, &c.alice, &c.alice_key, &mut g).unwrap().content, content);
        // Another recipient's certificate: not addressed to it.
        assert!(matches!(cms::open(&der, &c.inter, &c.alice_key, &mut g), Err(Error::NoMatchingRecipient)));
        // Tampered ciphertext: the last block of the content (CBC padding / GCM tag).
        let mut bad = der.clone();
        let n = bad.len();
        bad[n - 3] ^= 0x55;
        let got = cms::open(&bad, &c.alice, &c.alice_key, &mut g);
        assert!(
            matches!(got, Err(Error::DecryptionFailed)) || got.is_ok_and(|o| o.content != content),
            "{cipher:?}: tampering must not go unnoticed silently"
        );
        // Truncated and garbage input: an error, never a panic.
        for cut in [0, 1, 10, n / 2, n - 1] {
            assert!(cms::open(&der[..cut], &c.alice, &c.alice_key, &mut g).is_err());
        }
    }
    // Implicit rejection: a wrong RSA key (with the right certificate) and a mangled
    // encrypted key both end in the same DecryptionFailed.
    let der = Envelope::new(ContentCipher::Aes256Cbc).recipient(&r.alice).unwrap().seal(content, &mut g).unwrap();
    let wrong = ca(KeyAlgorithm::Rsa2048, 11).alice_key;
    let e1 = cms::open(&der, &r.alice, &wrong, &mut g).unwrap_err();
    assert!(matches!(e1, Error::DecryptionFailed), "{e1:?}");
    let ek = find_encrypted_key(&der);
    let mut mangled = der.clone();
    mangled[ek + 10] ^= 0xff;
    let e2 = cms::open(&mangled, &r.alice, &r.alice_key, &mut g).unwrap_err();
    assert_eq!(e1.to_string(), e2.to_string());
}

/// The envelope is written around content encrypted in place: its headers must be the DER the
/// `cms` crate itself would write for the same structure. Sizes cross each length-of-length
/// boundary (127/128, 255/256, 65535/65536 octets), where a hand-made header would go wrong.
#[test]
fn sealed_envelopes_are_strict_der_at_every_length_boundary() {
    use ::cms::{authenveloped_data::AuthEnvelopedData, content_info::ContentInfo, enveloped_data::EnvelopedData};
    let (r, e) = (ca(KeyAlgorithm::Rsa2048, 8), ca(KeyAlgorithm::P256, 9));
    let mut g = rng(14);
    for size in [0usize, 1, 100, 111, 112, 127, 128, 200, 239, 240, 255, 256, 65_500, 65_535, 65_536, 70_000] {
        let content: Vec<u8> = (0..size).map(|i| u8::try_from(i % 253).unwrap()).collect();
        for (c, cipher) in
            [(&r, ContentCipher::Aes256Cbc), (&e, ContentCipher::Aes128Cbc), (&r, ContentCipher::Aes256Gcm)]
        {
            let der = Envelope::new(cipher).recipient(&c.alice).unwrap().seal(&content, &mut g).unwrap();
            let ci = ContentInfo::from_der(&der).unwrap_or_else(|e| panic!("{size} {cipher:?}: {e}"));
            let inner = ci.content.to_der().unwrap();
            let reencoded = if cipher == ContentCipher::Aes256Gcm {
                AuthEnvelopedData::from_der(&inner).unwrap().to_der().unwrap()
            } else {
                EnvelopedData::from_der(&inner).unwrap().to_der().unwrap()
            };
            assert_eq!(inner, reencoded, "{size} {cipher:?}: the inner structure re-encodes to the same DER");
            assert_eq!(ci.to_der().unwrap(), der, "{size} {cipher:?}: ContentInfo re-encodes to the same DER");
            assert_eq!(cms::open(&der, &c.alice, &c.alice_key, &mut g).unwrap().content, content, "{size} {cipher:?}");
        }
    }
}

/// A message is decrypted where it lies, with whichever of the offered keys its RecipientInfos
/// name; a key that none names leaves the message as it was for the next one.
#[test]
fn messages_are_decrypted_in_place_with_the_named_key() {
    use pki_core::smime;
    let (r, e) = (ca(KeyAlgorithm::Rsa2048, 8), ca(KeyAlgorithm::P256, 9));
    let mut g = rng(15);
    let mut body = String::new();
    for i in 0..5_000 {
        body.push_str(&format!("line {i}: some text to make the entity longer than one base64 line\r\n"));
    }
    let msg = format!("From: <a@example.org>\r\nSubject: hi\r\nContent-Type: text/plain\r\n\r\n{body}");
    for cipher in [ContentCipher::Aes256Cbc, ContentCipher::Aes256Gcm] {
        let sealed = smime::encrypt_message(msg.as_bytes(), std::slice::from_ref(&r.alice), cipher, &mut g).unwrap();
        let copied = smime::decrypt_message(&sealed, &r.alice, &r.alice_key, &mut g).unwrap();
        assert!(
            copied.starts_with(
                b"From: <a@example.org>\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
            )
        );
        assert!(copied.ends_with(body.as_bytes()), "{cipher:?}");
        let mut in_place = sealed.clone();
        smime::decrypt_message_in_place(&mut in_place, &[(&e.alice, &e.alice_key), (&r.alice, &r.alice_key)], &mut g)
            .unwrap();
        assert_eq!(in_place, copied, "{cipher:?}: in place equals the copying decryption");
        let mut unnamed = sealed.clone();
        assert!(matches!(
            smime::decrypt_message_in_place(&mut unnamed, &[(&e.alice, &e.alice_key)], &mut g),
            Err(Error::NoMatchingRecipient)
        ));
    }
}

/// The verdict alone, without a copy of the message, is the verdict of the full verification.
#[test]
fn a_signature_is_judged_without_copying_the_message() {
    use pki_core::smime;
    let c = ca(KeyAlgorithm::P256, 12);
    let mut g = rng(16);
    let signer = Signer { cert: &c.alice, key: &c.alice_key, chain: std::slice::from_ref(&c.inter) };
    let msg = b"From: <a@example.org>\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n";
    let signed = smime::sign_message(msg, signer, NOW, &mut g).unwrap();
    let full = smime::verify_message_with(&signed, &c.root, &[], NOW).unwrap().report;
    let brief = smime::verify_signature_with(&signed, &c.root, &[], NOW).unwrap();
    assert!(full.is_valid() && brief.is_valid());
    assert_eq!(brief.signers.len(), full.signers.len());
    assert_eq!(brief.signers[0].signature, full.signers[0].signature);
    assert!(brief.content.is_empty(), "the signed part is the caller's, not copied");
    let tampered = String::from_utf8(signed).unwrap().replace("signed text", "signed t3xt");
    let brief = smime::verify_signature_with(tampered.as_bytes(), &c.root, &[], NOW).unwrap();
    assert_eq!(brief.signers[0].signature, SignatureStatus::DigestMismatch);
    assert!(smime::verify_signature_with(msg, &c.root, &[], NOW).is_err(), "not signed");
}

/// Offset of the 256-byte RSA encrypted key (OCTET STRING, length 0x0100) in an EnvelopedData.
fn find_encrypted_key(der: &[u8]) -> usize {
    der.windows(4).position(|w| w == [0x04, 0x82, 0x01, 0x00]).expect("encrypted key") + 4
}

#[test]
fn signed_data_round_trips_and_reports_tampering() {
    let c = ca(KeyAlgorithm::P256, 12);
    let mut g = rng(13);
    let signer = Signer { cert: &c.alice, key: &c.alice_key, chain: std::slice::from_ref(&c.inter) };
    let content = b"Content-Type: text/plain\r\n\r\nsigned\r\n";
    let der = cms::sign(content, signer, SignOptions { signing_time: NOW, detached: true }, &mut g).unwrap();
    let ok = cms::verify(&der, Some(content), &c.root, NOW).unwrap();
    assert!(ok.is_valid());
    assert_eq!(ok.signers[0].signing_time, Some(NOW));
    assert_eq!(pki_core::oid_names(&ok.signers[0].capabilities)[0], "aes256-CBC");
    assert_eq!(
        cms::verify(&der, Some(b"other"), &c.root, NOW).unwrap().signers[0].signature,
        SignatureStatus::DigestMismatch
    );
    // Flip a bit in the signature value (the last bytes of the DER).
    let mut bad = der.clone();
    let n = bad.len();
    bad[n - 2] ^= 1;
    let status = cms::verify(&bad, Some(content), &c.root, NOW).map(|r| r.signers[0].signature.clone());
    assert!(matches!(status, Ok(SignatureStatus::BadSignature) | Err(_)), "{status:?}");
    // A wrong trust anchor: the signature holds, the chain does not.
    let other = ca(KeyAlgorithm::P256, 14);
    let r = cms::verify(&der, Some(content), &other.root, NOW).unwrap();
    assert_eq!(r.signers[0].signature, SignatureStatus::Valid);
    assert!(!r.is_valid());
    // The key must match the certificate.
    let mismatched = Signer { cert: &c.alice, key: &other.alice_key, chain: &[] };
    assert!(matches!(
        cms::sign(content, mismatched, SignOptions { signing_time: NOW, detached: true }, &mut g),
        Err(Error::InvalidKey { .. })
    ));
    // Opaque.
    let opaque = cms::sign(content, signer, SignOptions { signing_time: NOW, detached: false }, &mut g).unwrap();
    let r = cms::verify(&opaque, None, &c.root, NOW).unwrap();
    assert!(r.is_valid() && r.content == content);
    assert!(cms::verify(&der, None, &c.root, NOW).is_err(), "detached without content");
}
