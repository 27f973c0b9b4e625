//! What a new user of the crate meets first: loading what OpenSSL wrote, trusting a
//! self-signed certificate directly, reading a verdict, using an imported PKCS#12 file, and the
//! errors of the usual first mistakes. The inputs are files OpenSSL made (`fixtures/pki/ossl`).

#![allow(clippy::unwrap_used)]

use pki_core::{
    Error, KeyAlgorithm, PrivateKey, UnixTime,
    address::Mailbox,
    cert::{self, Issuer, Lifetime},
    cms::{self, ContentCipher, SignOptions, SignatureStatus, Signer},
    path::{self, Failure, Role, Usage, Verdict},
    pkcs12::{self, ExportOptions},
    smime,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use x509_cert::Certificate;

const NOW: UnixTime = UnixTime(1_795_910_400);

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../fixtures/pki/ossl/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

/// A self-signed end-entity certificate, as `openssl req -x509 -addext basicConstraints=CA:FALSE`
/// makes: not a CA, no keyCertSign.
fn self_signed(addr: &str, days: u32, g: &mut ChaCha20Rng) -> (Certificate, PrivateKey) {
    let key = PrivateKey::generate(KeyAlgorithm::P256, g).unwrap();
    let mailbox = Mailbox::parse(addr).unwrap();
    let me = Issuer::planned(cert::common_name_only(addr).unwrap(), key.public_key(), None).unwrap();
    let cert = cert::end_entity(&mailbox, &key.public_key(), &me, Lifetime { now: NOW, days }, g)
        .unwrap()
        .sign(&key, g)
        .unwrap();
    (cert, key)
}

#[test]
fn loads_certificates_and_says_what_it_found_instead() {
    let alice = cert::from_pem(fixture("alice-rsa.pem")).unwrap();
    assert_eq!(alice.tbs_certificate().subject().to_string(), "CN=alice@example.com");
    let der = der::Encode::to_der(&alice).unwrap();
    assert_eq!(cert::from_der(&der).unwrap(), alice);
    assert_eq!(cert::from_pem(cert::to_pem(&alice).unwrap()).unwrap(), alice);

    // A chain file, leaf first, with the text `openssl x509 -text` puts around a block.
    let bundle = format!(
        "{}{}Certificate:\n    Data: (text)\n{}",
        fixture("alice-rsa.pem"),
        fixture("inter.pem"),
        fixture("root.pem")
    );
    let chain = cert::chain_from_pem(&bundle).unwrap();
    let subjects: Vec<String> = chain.iter().map(|c| c.tbs_certificate().subject().to_string()).collect();
    assert_eq!(subjects.len(), 3);
    assert_eq!(subjects[0], "CN=alice@example.com");
    assert_eq!(chain[1], cert::from_pem(fixture("inter.pem")).unwrap());
    assert_eq!(chain[2], cert::from_pem(fixture("root.pem")).unwrap());

    let key_pem = fixture("alice-rsa.key");
    let cases: [(&[u8], &str); 5] = [
        (key_pem.as_bytes(), "PEM: expected CERTIFICATE, found label \"PRIVATE KEY\""),
        (bundle.as_bytes(), "PEM: expected CERTIFICATE, found 3 PEM blocks (CERTIFICATE, CERTIFICATE, CERTIFICATE)"),
        (&der, "PEM: expected CERTIFICATE, found DER (binary), not PEM: use the DER reader"),
        (b"", "PEM: expected CERTIFICATE, found empty input"),
        (b"hello", "PEM: expected CERTIFICATE, found no -----BEGIN line"),
    ];
    for (input, want) in cases {
        assert_eq!(cert::from_pem(input).unwrap_err().to_string(), want);
    }
    let mixed = format!("{}{key_pem}", fixture("alice-rsa.pem"));
    assert_eq!(
        cert::chain_from_pem(&mixed).unwrap_err().to_string(),
        "PEM: expected CERTIFICATE, found label \"PRIVATE KEY\""
    );
    assert!(matches!(cert::chain_from_pem("no pem here"), Err(Error::Pem { .. })));

    // And the other way round: a certificate where a key was expected.
    let e = PrivateKey::from_pkcs8_pem(&fixture("alice-rsa.pem")).unwrap_err().to_string();
    assert_eq!(e, "PEM: expected PRIVATE KEY, found label \"CERTIFICATE\"");
    assert!(PrivateKey::from_pkcs8_pem(&key_pem).is_ok());
}

#[test]
fn a_self_signed_certificate_can_be_its_own_anchor() {
    let mut g = rng(1);
    let (bob, bob_key) = self_signed("bob@example.org", 365, &mut g);
    for usage in [Usage::Sign, Usage::Encrypt, Usage::Chain] {
        assert_eq!(path::validate(&bob, &[], &bob, NOW, usage), Verdict::Valid { path: vec![bob.clone()] });
    }
    // Pinned, but expired: the leaf's own rules still hold.
    let late = NOW.plus_secs(400 * 86_400);
    let v = path::validate(&bob, &[], &bob, late, Usage::Sign);
    assert!(
        matches!(&v, Verdict::Invalid { position: 0, role: Role::EndEntity, failure: Failure::Expired { .. }, .. }),
        "{v:?}"
    );
    assert!(v.to_string().starts_with("end-entity certificate (CN=bob@example.org, position 0): expired at 20"), "{v}");

    // As the issuer of another certificate, bob is not a CA, and the verdict says it is the anchor.
    let carol_key = PrivateKey::generate(KeyAlgorithm::P256, &mut g).unwrap();
    let carol = cert::end_entity(
        &Mailbox::parse("carol@example.org").unwrap(),
        &carol_key.public_key(),
        &Issuer::from_certificate(&bob).unwrap(),
        Lifetime { now: NOW, days: 30 },
        &mut g,
    )
    .unwrap()
    .sign(&bob_key, &mut g)
    .unwrap();
    let v = path::validate(&carol, &[], &bob, NOW, Usage::Sign);
    assert!(matches!(&v, Verdict::Invalid { position: 1, role: Role::TrustAnchor, .. }), "{v:?}");
    assert_eq!(
        v.to_string(),
        "trust anchor (CN=bob@example.org, position 1): issuer is not a CA (an anchor that issues the path must \
         be a CA; to trust a certificate by itself, pass it as both leaf and anchor)"
    );
}

#[test]
fn a_signature_report_reads_as_words() {
    let mut g = rng(2);
    let (bob, bob_key) = self_signed("bob@example.org", 365, &mut g);
    let (other, _) = self_signed("other@example.org", 365, &mut g);
    let content = b"Content-Type: text/plain\r\n\r\nhello\r\n";
    let signer = Signer { cert: &bob, key: &bob_key, chain: &[] };
    let der = cms::sign(content, signer, SignOptions { signing_time: NOW, detached: true }, &mut g).unwrap();

    let good = cms::verify(&der, Some(content), &bob, NOW).unwrap();
    assert!(good.is_valid() && good.signatures_valid());
    assert_eq!(good.to_string(), "CN=bob@example.org: signature valid; chain valid (signed at 2026-11-29T00:00:00Z)");

    // Right signature, untrusted signer: the signature-only verdict tells them apart.
    let untrusted = cms::verify(&der, Some(content), &other, NOW).unwrap();
    assert!(!untrusted.is_valid());
    assert!(untrusted.signatures_valid() && untrusted.signers[0].signature_valid());
    assert!(
        untrusted.to_string().starts_with(
            "CN=bob@example.org: signature valid; chain invalid: end-entity certificate (CN=bob@example.org, \
             position 0): issuer not found"
        ),
        "{untrusted}"
    );

    let changed = cms::verify(&der, Some(b"Content-Type: text/plain\r\n\r\nHELLO\r\n"), &bob, NOW).unwrap();
    assert_eq!(changed.signers[0].signature, SignatureStatus::DigestMismatch);
    assert!(!changed.signatures_valid());
    assert!(changed.to_string().contains("content does not match the signed digest"), "{changed}");

    // `{:#?}` summarises certificates and content instead of printing them byte by byte.
    let debug = format!("{good:#?}");
    assert!(debug.contains("subject: CN=bob@example.org"), "{debug}");
    assert!(debug.contains(&format!("content: <{} bytes>", content.len())), "{debug}");
    assert!(debug.contains("\"aes256-CBC\""), "{debug}");
    assert!(debug.len() < 3000, "{} characters:\n{debug}", debug.len());
    let verdict = format!("{:?}", good.signers[0].chain);
    assert!(verdict.starts_with("Valid { path: [Certificate { subject: CN=bob@example.org"), "{verdict}");
}

#[test]
fn an_imported_pkcs12_file_hands_back_typed_values() {
    let mut g = rng(3);
    let root_key = PrivateKey::generate(KeyAlgorithm::P256, &mut g).unwrap();
    let life = Lifetime { now: NOW, days: 365 };
    let root = cert::root("Root", &root_key.public_key(), life, &mut g).unwrap().sign(&root_key, &mut g).unwrap();
    let (bob, bob_key) = self_signed("bob@example.org", 365, &mut g);
    let root_der = der::Encode::to_der(&root).unwrap();
    let p12 = pkcs12::export(
        &bob_key.to_pkcs8_der().unwrap(),
        &der::Encode::to_der(&bob).unwrap(),
        &[&root_der],
        "secret",
        &ExportOptions::default().with_iterations(1000),
        &mut g,
    )
    .unwrap();

    let imported = pkcs12::import(&p12, "secret").unwrap();
    assert_eq!(imported.certificate().unwrap(), bob);
    assert_eq!(imported.chain().unwrap(), vec![root]);
    let key = imported.key().unwrap();
    assert_eq!(key.public_key(), bob_key.public_key());
    // The typed values work together: encrypt to the certificate, decrypt with the key.
    let msg = b"From: a@example.org\r\nTo: bob@example.org\r\n\r\nhi\r\n";
    let sealed = smime::encrypt_message(msg, std::slice::from_ref(&bob), ContentCipher::default(), &mut g).unwrap();
    assert!(
        smime::decrypt_message(&sealed, &imported.certificate().unwrap(), &key, &mut g).unwrap().ends_with(b"hi\r\n")
    );

    // A wrong password says "PKCS#12" once, whichever error type prints it.
    let wrong = pkcs12::import(&p12, "Secret").unwrap_err();
    assert_eq!(wrong.to_string(), "PKCS#12: MAC mismatch: wrong password or modified file");
    assert_eq!(Error::from(wrong).to_string(), "PKCS#12: MAC mismatch: wrong password or modified file");
}

#[test]
fn a_body_without_headers_points_to_the_entity_functions() {
    let mut g = rng(4);
    let (bob, _) = self_signed("bob@example.org", 365, &mut g);
    let hint = ": expected a whole message (header fields, an empty line, the body); to encrypt or sign a MIME \
                entity on its own use smime::encrypt_entity or smime::sign_entity";
    let body = b"just a line of text";
    let e = smime::encrypt_message(body, std::slice::from_ref(&bob), ContentCipher::default(), &mut g).unwrap_err();
    assert_eq!(e.to_string(), format!("MIME: malformed header field at line 1{hint}"));
    // The entity function takes the same bytes as they are.
    assert!(smime::encrypt_entity(body, &[bob], ContentCipher::default(), &mut g).is_ok());
}

#[cfg(feature = "std")]
#[test]
fn now_reads_the_system_clock() {
    let now = UnixTime::now();
    assert!(now > UnixTime::from_secs(1_735_689_600), "{now}"); // after 2025-01-01
    assert!(now < UnixTime::from_secs(4_102_444_800), "{now}"); // before 2100
}
