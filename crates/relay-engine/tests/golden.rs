//! The golden corpus: every case under fixtures/eml/{forward,reply}/ runs with CRLF and with LF
//! line endings, and its result is compared with the `.expected` file beside it
//! (`UPDATE_GOLDEN=1 cargo test -p relay-engine --test golden` rewrites them).
//!
//! Beyond the golden text, each forward checks that the owner can decrypt and verify it and
//! that every body part came through byte-identical; each reply checks that the owner's real
//! address appears nowhere, in any form (see `leak_forms`).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use mail_parser::{MessageParser, MimeHeaders, PartType};
use pki_core::{KeyAlgorithm, UnixTime, smime};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use relay_engine::{
    Envelope, Outcome,
    address::Address,
    model::{NewContact, RecipientCert},
    seal::KeyOwner,
    store::Store,
    testkit::{ALIAS, OWNER, World, WorldOptions},
};

const NOW: UnixTime = UnixTime(1_795_910_400);
const BOB_RA: &str = "bob.example.k7m2q9x4v8p3t@pportal.io";
const CAROL_RA: &str = "carol.example.q3w8e5r2t7y4u@pportal.io";

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/eml").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
}

fn with_eol(raw: &[u8], crlf: bool) -> Vec<u8> {
    let lf: Vec<u8> = raw
        .iter()
        .enumerate()
        .filter(|(i, b)| !(**b == b'\r' && raw.get(i + 1) == Some(&b'\n')))
        .map(|(_, b)| *b)
        .collect();
    if !crlf {
        return lf;
    }
    let mut out = Vec::with_capacity(lf.len() + lf.len() / 20);
    for b in lf {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn lf(text: &[u8]) -> String {
    String::from_utf8_lossy(&with_eol(text, false)).into_owned()
}

fn check_golden(case: &Path, actual: &str) {
    let expected_path = case.with_extension("expected");
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&expected_path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|_| panic!("{} is missing: run with UPDATE_GOLDEN=1", expected_path.display()));
    assert_eq!(expected, actual, "{}: result differs from the golden file", case.display());
}

fn head_of(msg: &[u8]) -> &[u8] {
    let end = msg.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 2).unwrap_or(msg.len());
    &msg[..end]
}

/// Every part's decoded contents and canonical raw body, in order.
fn parts(msg: &[u8]) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let m = MessageParser::default().parse(msg).unwrap();
    m.parts
        .iter()
        .filter(|p| !matches!(p.body, PartType::Multipart(_)))
        .map(|p| {
            let ct =
                p.content_type().map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or(""))).unwrap_or_default();
            let raw = msg.get(p.offset_body as usize..p.offset_end as usize).unwrap_or_default();
            (ct.to_ascii_lowercase(), p.contents().to_vec(), with_eol(raw, true))
        })
        .collect()
}

#[tokio::test]
async fn forward_corpus() {
    let cases = corpus("forward");
    assert!(!cases.is_empty(), "no forward cases ran");
    for case in &cases {
        let mut results = Vec::new();
        for crlf in [true, false] {
            let input = with_eol(&std::fs::read(case).unwrap(), crlf);
            let w = World::new(
                WorldOptions { key: KeyAlgorithm::P256, ..Default::default() },
                NOW,
                &mut ChaCha20Rng::from_seed([1; 32]),
            )
            .unwrap();
            let env =
                Envelope::new(Some(Address::parse("bounces@sender.example").unwrap()), Address::parse(ALIAS).unwrap());
            let outcome = w.engine.forward(&input, &env, NOW, &mut ChaCha20Rng::from_seed([2; 32])).await;
            results.push(describe_forward(case, &w, &input, outcome));
        }
        assert_eq!(results[0], results[1], "{}: CRLF and LF give different results", case.display());
        check_golden(case, &results[0]);
    }
    eprintln!("{} forward cases, each with CRLF and LF", cases.len());
}

fn describe_forward(case: &Path, w: &World, input: &[u8], outcome: Outcome) -> String {
    let d = match outcome {
        Outcome::Deliver(d) => d,
        other => return format!("outcome: {other:?}\n"),
    };
    let mut text = format!(
        "outcome: deliver to {} from {} (encrypted: {})\n--- outer headers ---\n",
        d.rcpt, d.mail_from, d.encrypted
    );
    text.push_str(&lf(head_of(&d.data)));
    let input_parts = parts(&with_eol(input, true));
    let s = w.smime.as_ref().unwrap();
    let is_smime = String::from_utf8_lossy(head_of(&d.data)).contains("application/pkcs7-mime");
    let already = input_is_encrypted(input);
    if is_smime && !already {
        let mut g = ChaCha20Rng::from_seed([3; 32]);
        let opened = smime::decrypt_message(&d.data, &s.end_entity, &s.key, &mut g).unwrap();
        let v = smime::verify_message(&opened, &s.root, NOW).unwrap();
        assert!(v.report.is_valid(), "{}: the inner signature must verify against the root", case.display());
        let signer = v.report.signers[0].cert.as_ref().unwrap().tbs_certificate().subject().to_string();
        text.push_str(&format!("--- inner ---\nsignature: valid, signer {signer}\n"));
        let inner_parts = parts(&v.message);
        assert_eq!(inner_parts.len(), input_parts.len(), "{}: part count", case.display());
        for (i, (a, b)) in input_parts.iter().zip(&inner_parts).enumerate() {
            assert_eq!(a.1, b.1, "{}: part {i} ({}) decoded contents differ", case.display(), a.0);
            assert_eq!(a.2, b.2, "{}: part {i} ({}) raw body differs", case.display(), a.0);
        }
        text.push_str(&format!("parts: {} identical to the original\n", inner_parts.len()));
    } else if already {
        let body_at = |m: &[u8]| m.windows(4).position(|x| x == b"\r\n\r\n").map(|i| i + 4).unwrap_or(m.len());
        let crlf_in = with_eol(input, true);
        assert_eq!(
            &d.data[body_at(&d.data)..],
            &crlf_in[body_at(&crlf_in)..],
            "{}: encrypted body must pass through",
            case.display()
        );
        text.push_str("--- body ---\npassed through untouched\n");
    }
    text
}

/// Encrypted already: S/MIME enveloped (by smime-type or, without one, by the CMS content
/// type), PGP/MIME, or inline PGP.
fn input_is_encrypted(input: &[u8]) -> bool {
    use pki_core::mime::{Kind, SmimeType};
    let crlf = with_eol(input, true);
    let Ok(split) = pki_core::mime::split_message(&crlf) else { return false };
    let entity = split.entity();
    match pki_core::mime::classify(&entity) {
        Kind::Pkcs7Mime(Some(SmimeType::EnvelopedData | SmimeType::AuthEnvelopedData)) | Kind::PgpMime => true,
        Kind::Pkcs7Mime(None) => pki_core::mime::parse_pkcs7_mime(&entity)
            .ok()
            .and_then(|p| pki_core::cms::content_type(&p.der).ok())
            .is_some_and(|t| t.to_string() != "1.2.840.113549.1.7.2"),
        _ => String::from_utf8_lossy(split.body).trim_start().starts_with("-----BEGIN PGP MESSAGE-----"),
    }
}

/// The real address in every form a client could show: plain, any case, as an RFC 2047
/// encoded word (decoded by mail-parser), quoted-printable and base64 (decoded per part),
/// HTML entities and percent-encoding.
fn leak_forms(msg: &[u8]) -> Vec<String> {
    let needle = OWNER.to_ascii_lowercase();
    let mut found = Vec::new();
    let hay = |label: &str, text: &str, found: &mut Vec<String>| {
        let t = text
            .to_ascii_lowercase()
            .replace("&#64;", "@")
            .replace("&#x40;", "@")
            .replace("%40", "@")
            .replace("=40", "@");
        if t.contains(&needle) {
            found.push(label.to_owned());
        }
    };
    hay("raw bytes", &String::from_utf8_lossy(msg), &mut found);
    let Some(m) = MessageParser::default().parse(msg) else { return found };
    for (name, value) in m.headers_raw() {
        hay(&format!("raw header {name}"), value, &mut found);
    }
    for h in m.headers() {
        hay(&format!("decoded header {}", h.name.as_str()), &format!("{:?}", h.value), &mut found);
    }
    for (i, p) in m.parts.iter().enumerate() {
        hay(&format!("decoded part {i}"), &String::from_utf8_lossy(p.contents()), &mut found);
        for h in &p.headers {
            hay(&format!("part {i} header {}", h.name.as_str()), &format!("{:?}", h.value), &mut found);
        }
        if let PartType::Message(inner) = &p.body {
            for (j, q) in inner.parts.iter().enumerate() {
                hay(&format!("nested part {i}.{j}"), &String::from_utf8_lossy(q.contents()), &mut found);
            }
        }
    }
    found
}

async fn reply_world() -> World {
    let w = World::new(
        WorldOptions { key: KeyAlgorithm::P256, ..Default::default() },
        NOW,
        &mut ChaCha20Rng::from_seed([4; 32]),
    )
    .unwrap();
    // The corpus replies are mostly unsigned: authorise them by the (opt-in) envelope check.
    w.engine.store().set_reply_auth(w.account, relay_engine::model::ReplyAuth::Envelope).unwrap();
    for (ext, ra, name) in [("bob@example.org", BOB_RA, "Bob Builder"), ("carol@example.net", CAROL_RA, "Carol")] {
        let new = NewContact {
            alias: w.alias,
            external: Address::parse(ext).unwrap(),
            display_name: Some(name.into()),
            reverse_alias: Address::parse(ra).unwrap(),
        };
        w.engine.store().insert_contact(new).await.unwrap();
    }
    // Bob's recipient certificate as the corpus's encrypted reply used it (a throwaway
    // self-signed one from fixtures/eml/keys), sealed like any other.
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/eml/keys");
    let cert =
        x509_cert::Certificate::load_pem_chain(&std::fs::read(keys.join("bob-ra.pem")).unwrap()).unwrap().remove(0);
    let key = pki_core::PrivateKey::from_pkcs8_pem(&std::fs::read_to_string(keys.join("bob-ra.key")).unwrap()).unwrap();
    let bob = w.engine.store().contact_by_reverse_alias(BOB_RA).await.unwrap().unwrap();
    let profile = w.smime.as_ref().unwrap().profile;
    let owner = KeyOwner::Recipient { account: w.account, contact: bob.id, profile };
    let sealed_key =
        w.engine.master_key().seal(&key.to_pkcs8_der().unwrap(), &owner, &mut ChaCha20Rng::from_seed([6; 32])).unwrap();
    let record = RecipientCert {
        contact: bob.id,
        profile,
        cert: der::Encode::to_der(&cert).unwrap(),
        sealed_key,
        not_after: UnixTime::from_x509(&cert.tbs_certificate().validity().not_after),
    };
    w.engine.store().insert_recipient_cert(record).await.unwrap();
    w
}

#[tokio::test]
async fn reply_corpus_and_leak_test() {
    let cases = corpus("reply");
    assert!(!cases.is_empty(), "no reply cases ran");
    let mut delivered = 0;
    for case in &cases {
        let mut results = Vec::new();
        for crlf in [true, false] {
            let input = with_eol(&std::fs::read(case).unwrap(), crlf);
            let w = reply_world().await;
            let env = Envelope::new(Some(Address::parse(OWNER).unwrap()), Address::parse(BOB_RA).unwrap());
            let (outcome, proof) =
                w.engine.reply_with_proof(&input, &env, NOW, &mut ChaCha20Rng::from_seed([5; 32])).await;
            let text = match outcome {
                Outcome::Deliver(d) => {
                    let leaks = leak_forms(&d.data);
                    assert!(leaks.is_empty(), "{}: the real address leaks in {leaks:?}", case.display());
                    delivered += 1;
                    format!(
                        "outcome: deliver to {} from {} (proof: {proof:?})\n--- message ---\n{}",
                        d.rcpt,
                        d.mail_from,
                        lf(&d.data)
                    )
                }
                other => format!("outcome: {other:?}\n"),
            };
            results.push(text);
        }
        assert_eq!(results[0], results[1], "{}: CRLF and LF give different results", case.display());
        check_golden(case, &results[0]);
    }
    assert!(delivered > 0, "at least one reply must be delivered for the leak test to mean anything");
    eprintln!("{} reply cases ({delivered} deliveries checked for leaks)", cases.len());
}

#[test]
fn the_leak_detector_detects() {
    let forms: [&[u8]; 5] = [
        b"From: x@y.z\r\nSubject: hi\r\n\r\nwrite to ALICE@real.example\r\n",
        b"From: x@y.z\r\nSubject: =?utf-8?q?alice=40real=2Eexample?=\r\n\r\nbody\r\n",
        b"From: x@y.z\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nalice@real.exa=\r\nmple\r\n",
        b"From: x@y.z\r\nContent-Transfer-Encoding: base64\r\n\r\nYWxpY2VAcmVhbC5leGFtcGxl\r\n",
        b"From: x@y.z\r\nContent-Type: text/html\r\n\r\n<a href=\"mailto:alice%40real.example\">me</a>\r\n",
    ];
    for f in forms {
        assert!(!leak_forms(f).is_empty(), "not detected: {}", String::from_utf8_lossy(f));
    }
    assert!(leak_forms(b"From: x@y.z\r\n\r\nnothing here\r\n").is_empty());
}
