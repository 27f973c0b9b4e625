//! CMS interop: every EnvelopedData variant and our SignedData, judged by OpenSSL, gpgsm and
//! NSS; and what those tools make, opened and verified by pki-core.

#![allow(clippy::unwrap_used)]

use der::Encode;
use interop::{Gpgsm, Hierarchy, KeyKind, NssDb, Work, openssl, pki::rng, require};
use pki_core::{
    UnixTime,
    cms::{self, ContentCipher, Envelope, KeyTransport, SignOptions, SignatureStatus, Signer},
};

const ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\n\r\nHello from pki-core.\r\nSecond line.\r\n";
const LATER: UnixTime = UnixTime(1_796_000_000);

fn rsa() -> Hierarchy {
    Hierarchy::new(KeyKind::Rsa, KeyKind::Rsa)
}

/// Every variant we build, each opened by `openssl cms -decrypt` and by pki-core itself.
#[test]
fn openssl_decrypts_every_enveloped_variant() {
    if !require("openssl") {
        return;
    }
    let (r, e) = (rsa(), Hierarchy::new(KeyKind::Rsa, KeyKind::P256));
    let mut g = rng(1);
    let variants: Vec<(&str, Vec<u8>, &Hierarchy, bool)> = vec![
        (
            "rsa v1.5 aes256-cbc",
            Envelope::new(ContentCipher::Aes256Cbc).recipient(&r.alice).unwrap().seal(ENTITY, &mut g).unwrap(),
            &r,
            true,
        ),
        (
            "rsa v1.5 aes128-cbc",
            Envelope::new(ContentCipher::Aes128Cbc).recipient(&r.alice).unwrap().seal(ENTITY, &mut g).unwrap(),
            &r,
            true,
        ),
        (
            "rsa oaep-sha256",
            Envelope::new(ContentCipher::Aes256Cbc)
                .recipient_with(&r.alice, KeyTransport::RsaOaepSha256)
                .unwrap()
                .seal(ENTITY, &mut g)
                .unwrap(),
            &r,
            true,
        ),
        (
            "ecdh p-256 sha256kdf",
            Envelope::new(ContentCipher::Aes256Cbc).recipient(&e.alice).unwrap().seal(ENTITY, &mut g).unwrap(),
            &e,
            true,
        ),
        (
            "rsa aes256-gcm",
            Envelope::new(ContentCipher::Aes256Gcm).recipient(&r.alice).unwrap().seal(ENTITY, &mut g).unwrap(),
            &r,
            true,
        ),
        (
            "ecdh aes256-gcm",
            Envelope::new(ContentCipher::Aes256Gcm).recipient(&e.alice).unwrap().seal(ENTITY, &mut g).unwrap(),
            &e,
            true,
        ),
    ];
    for (label, der, h, _) in &variants {
        let w = Work::new();
        h.write(&w);
        let input = w.write("msg.p7m", der);
        let out = openssl(&[
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &input,
            "-recip",
            &w.p("alice.pem"),
            "-inkey",
            &w.p("alice.key"),
        ]);
        assert!(out.ok, "{label}: openssl refused: {}", out.all());
        assert_eq!(out.stdout_bytes, ENTITY, "{label}: openssl decrypted something else");
        let opened = cms::open(der, &h.alice, &h.alice_key, &mut g).unwrap();
        assert_eq!(opened.content, ENTITY, "{label}: pki-core round trip");
    }
    // Several recipients in one message: RSA and P-256, each can open it with its own key.
    let multi = Envelope::new(ContentCipher::default())
        .recipient(&r.alice)
        .unwrap()
        .recipient(&e.alice)
        .unwrap()
        .recipient(&e.contact)
        .unwrap()
        .seal(ENTITY, &mut g)
        .unwrap();
    for (h, cert, key) in [(&r, "alice", &r.alice_key), (&e, "alice", &e.alice_key), (&e, "contact", &e.contact_key)] {
        let w = Work::new();
        h.write(&w);
        let input = w.write("multi.p7m", &multi);
        let out = openssl(&[
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &input,
            "-recip",
            &w.p(&format!("{cert}.pem")),
            "-inkey",
            &w.p(&format!("{cert}.key")),
        ]);
        assert!(out.ok && out.stdout_bytes == ENTITY, "multi-recipient, {cert}: {}", out.all());
        let c = if cert == "alice" { &h.alice } else { &h.contact };
        assert_eq!(cms::open(&multi, c, key, &mut g).unwrap().content, ENTITY);
    }
}

#[test]
fn gpgsm_and_nss_decrypt_the_default_envelope() {
    if !require("gpgsm") || !require("cmsutil") {
        return;
    }
    let h = rsa();
    let w = Work::new();
    h.write(&w);
    let der = Envelope::new(ContentCipher::default()).recipient(&h.alice).unwrap().seal(ENTITY, &mut rng(2)).unwrap();
    let input = w.write("msg.p7m", &der);
    // gpgsm: import the key through a compat PKCS#12 made by openssl (the tool under test here
    // is gpgsm's CMS code, not our PKCS#12).
    let p12 = w.p("alice.p12");
    let gpg = Gpgsm::new(&w);
    gpg.import_openssl_p12(&w.p("alice.key"), &w.p("alice.pem"), Some(&w.p("inter.pem")), &p12)
        .expect_ok("gpgsm --import");
    let out = gpg.run(&["--passphrase-fd", "0", "--decrypt", &input], Some(b"pw\n"));
    assert!(out.ok && out.stdout_bytes == ENTITY, "gpgsm --decrypt: {}", out.all());
    // NSS: cmsutil -D with the key in the database.
    let db = NssDb::new(&w, "nss");
    db.pk12util(&["-i", &p12, "-W", "pw", "-K", ""]).expect_ok("pk12util -i");
    let out = db.cmsutil(&["-D", "-p", "", "-i", &input]);
    assert!(out.ok && out.stdout_bytes == ENTITY, "cmsutil -D: {}", out.all());
}

fn our_signature(h: &Hierarchy, detached: bool) -> Vec<u8> {
    let signer = Signer { cert: &h.contact, key: &h.contact_key, chain: std::slice::from_ref(&h.inter) };
    cms::sign(ENTITY, signer, SignOptions { signing_time: interop::pki::NOW, detached }, &mut rng(3)).unwrap()
}

#[test]
fn openssl_verifies_our_signatures_and_sees_tampering() {
    if !require("openssl") {
        return;
    }
    for h in [rsa(), Hierarchy::new(KeyKind::P256, KeyKind::P256)] {
        let w = Work::new();
        h.write(&w);
        let content = w.write("content.txt", ENTITY);
        let sig = w.write("sig.p7s", our_signature(&h, true));
        let out = openssl(&[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &sig,
            "-content",
            &content,
            "-CAfile",
            &w.p("root.pem"),
            "-purpose",
            "smimesign",
            "-attime",
            "1796000000",
            "-out",
            &w.p("out.txt"),
        ]);
        assert!(out.ok && out.stderr.contains("Verification successful"), "openssl detached: {}", out.all());
        let tampered = w.write("tampered.txt", [ENTITY, b"x"].concat());
        let out = openssl(&[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &sig,
            "-content",
            &tampered,
            "-CAfile",
            &w.p("root.pem"),
            "-attime",
            "1796000000",
            "-out",
            &w.p("out.txt"),
        ]);
        assert!(!out.ok && out.stderr.contains("content verify error"), "openssl must see tampering: {}", out.all());
        let opaque = w.write("opaque.p7m", our_signature(&h, false));
        let out = openssl(&[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &opaque,
            "-CAfile",
            &w.p("root.pem"),
            "-attime",
            "1796000000",
        ]);
        assert!(out.ok && out.stdout_bytes == ENTITY, "openssl opaque: {}", out.all());
        // The signed attributes we promise are there.
        let out = openssl(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", &sig]);
        for attr in [
            "contentType (",
            "messageDigest (",
            "signingTime (",
            "S/MIME Capabilities (",
            "(1.2.840.113549.1.9.16.2.11)",
        ] {
            assert!(out.stdout.contains(attr), "attribute {attr} missing:\n{}", out.stdout);
        }
        assert_eq!(
            out.stdout.matches("subject:").count(),
            2,
            "signer and intermediate certificates expected:\n{}",
            out.stdout
        );
    }
}

#[test]
fn gpgsm_and_nss_verify_our_signatures() {
    if !require("gpgsm") || !require("cmsutil") {
        return;
    }
    let h = rsa();
    let w = Work::new();
    h.write(&w);
    let content = w.write("content.txt", ENTITY);
    let sig = w.write("sig.p7s", our_signature(&h, true));
    let bad = w.write("bad.txt", b"tampered\r\n");
    let gpg = Gpgsm::new(&w);
    gpg.run(&["--import", &w.p("root.pem"), &w.p("inter.pem")], None).expect_ok("gpgsm import");
    gpg.trust_root(&w.p("root.pem"));
    let out = gpg.run(&["--verify", &sig, &content], None);
    assert!(out.ok && out.stderr.contains("Good signature"), "gpgsm --verify: {}", out.all());
    let out = gpg.run(&["--verify", &sig, &bad], None);
    assert!(
        !out.ok && out.stderr.contains("invalid signature: message digest attribute does not match"),
        "gpgsm must see tampering: {}",
        out.all()
    );

    let db = NssDb::new(&w, "nss");
    db.add_cert("root", "C,C,", &w.p("root.pem"));
    let out = db.cmsutil(&["-D", "-u", "4", "-i", &sig, "-c", &content, "-n", "-h", "2"]);
    assert!(out.stdout.contains("signer0.status=GoodSignature"), "cmsutil verify: {}", out.all());
    let out = db.cmsutil(&["-D", "-u", "4", "-i", &sig, "-c", &bad, "-n", "-h", "2"]);
    assert!(
        !out.stdout.contains("signer0.status=GoodSignature") && out.stdout.contains("signer0.status="),
        "cmsutil must see tampering: {}",
        out.all()
    );
}

/// OpenSSL's default output (-stream BER included), OAEP, GCM and ECDH (SHA-1 KDF by default),
/// opened by pki-core.
#[test]
fn we_open_what_openssl_encrypts() {
    if !require("openssl") {
        return;
    }
    let (r, e) = (rsa(), Hierarchy::new(KeyKind::P256, KeyKind::P256));
    let cases: Vec<(&str, &Hierarchy, Vec<&str>)> = vec![
        ("aes256 DER", &r, vec!["-aes256", "-outform", "DER"]),
        ("aes256 -stream BER", &r, vec!["-aes256", "-stream", "-outform", "DER"]),
        ("aes128 OAEP", &r, vec!["-aes128", "-outform", "DER", "-recip", "ALICE", "-keyopt", "rsa_padding_mode:oaep"]),
        ("aes256-gcm", &r, vec!["-aes-256-gcm", "-outform", "DER"]),
        ("ecdh default (sha1 kdf)", &e, vec!["-aes256", "-outform", "DER"]),
        ("ecdh -stream", &e, vec!["-aes128", "-stream", "-outform", "DER"]),
    ];
    let mut g = rng(4);
    for (label, h, opts) in cases {
        let w = Work::new();
        h.write(&w);
        let input = w.write("in.txt", ENTITY);
        let out_path = w.p("out.p7m");
        let alice = w.p("alice.pem");
        let mut args = vec!["cms", "-encrypt", "-binary", "-in", &input, "-out", &out_path];
        let explicit = opts.contains(&"-recip");
        args.extend(opts.iter().map(|o| if *o == "ALICE" { alice.as_str() } else { o }));
        if !explicit {
            args.push(&alice);
        }
        openssl(&args).expect_ok(label);
        let der = w.read("out.p7m");
        let opened = cms::open(&der, &h.alice, &h.alice_key, &mut g).unwrap_or_else(|err| panic!("{label}: {err}"));
        assert_eq!(opened.content, ENTITY, "{label}");
    }
}

#[test]
fn we_open_what_gpgsm_and_nss_encrypt() {
    if !require("gpgsm") || !require("cmsutil") {
        return;
    }
    let h = rsa();
    let w = Work::new();
    h.write(&w);
    let input = w.write("in.txt", ENTITY);
    let gpg = Gpgsm::new(&w);
    gpg.run(&["--import", &w.p("root.pem"), &w.p("inter.pem"), &w.p("alice.pem")], None).expect_ok("gpgsm import");
    gpg.trust_root(&w.p("root.pem"));
    gpg.run(&["--encrypt", "-r", "alice@example.com", "--output", &w.p("gpg.p7m"), &input], None)
        .expect_ok("gpgsm --encrypt");
    let opened = cms::open(&w.read("gpg.p7m"), &h.alice, &h.alice_key, &mut rng(5)).unwrap();
    assert_eq!(opened.content, ENTITY, "gpgsm-made EnvelopedData");

    let db = NssDb::new(&w, "nss");
    db.add_cert("root", "C,C,", &w.p("root.pem"));
    db.add_cert("inter", ",,", &w.p("inter.pem"));
    db.add_cert("alice", ",,", &w.p("alice.pem"));
    db.cmsutil(&["-E", "-r", "alice@example.com", "-i", &input, "-o", &w.p("nss.p7m")]).expect_ok("cmsutil -E");
    let opened = cms::open(&w.read("nss.p7m"), &h.alice, &h.alice_key, &mut rng(6)).unwrap();
    assert_eq!(opened.content, ENTITY, "NSS-made EnvelopedData");
}

/// Signatures from each tool, detached and opaque, verified by pki-core against the root.
#[test]
fn we_verify_what_the_tools_sign() {
    if !require("openssl") || !require("gpgsm") || !require("cmsutil") {
        return;
    }
    let h = rsa();
    let w = Work::new();
    h.write(&w);
    let input = w.write("in.txt", ENTITY);
    let (alice, key, inter) = (w.p("alice.pem"), w.p("alice.key"), w.p("inter.pem"));
    openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-md",
        "sha256",
        "-in",
        &input,
        "-signer",
        &alice,
        "-inkey",
        &key,
        "-certfile",
        &inter,
        "-outform",
        "DER",
        "-out",
        &w.p("ossl-detached.p7s"),
    ])
    .expect_ok("openssl sign");
    openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-stream",
        "-in",
        &input,
        "-signer",
        &alice,
        "-inkey",
        &key,
        "-certfile",
        &inter,
        "-outform",
        "DER",
        "-out",
        &w.p("ossl-opaque.p7m"),
    ])
    .expect_ok("openssl sign opaque");
    let p12 = w.p("alice.p12");
    let gpg = Gpgsm::new(&w);
    gpg.run(&["--import", &w.p("root.pem")], None).expect_ok("import root");
    gpg.trust_root(&w.p("root.pem"));
    gpg.import_openssl_p12(&key, &alice, Some(&inter), &p12).expect_ok("gpgsm import p12");
    gpg.run(
        &[
            "--passphrase-fd",
            "0",
            "--include-certs",
            "-1",
            "--detach-sign",
            "-u",
            "alice@example.com",
            "--output",
            &w.p("gpg-detached.p7s"),
            &input,
        ],
        Some(b"pw\n"),
    )
    .expect_ok("gpgsm sign");
    gpg.run(
        &[
            "--passphrase-fd",
            "0",
            "--include-certs",
            "-1",
            "--sign",
            "-u",
            "alice@example.com",
            "--output",
            &w.p("gpg-opaque.p7m"),
            &input,
        ],
        Some(b"pw\n"),
    )
    .expect_ok("gpgsm sign opaque");
    let db = NssDb::new(&w, "nss");
    db.add_cert("root", "C,C,", &w.p("root.pem"));
    db.pk12util(&["-i", &p12, "-W", "pw", "-K", ""]).expect_ok("pk12util");
    let nick = db
        .certutil(&["-L"])
        .stdout
        .lines()
        .find(|l| l.contains("u,u,u"))
        .map(|l| l.split("  ").next().unwrap().trim().to_string())
        .expect("alice's nickname");
    db.cmsutil(&["-S", "-N", &nick, "-T", "-G", "-P", "-H", "SHA256", "-i", &input, "-o", &w.p("nss-detached.p7s")])
        .expect_ok("cmsutil -S -T");
    db.cmsutil(&["-S", "-N", &nick, "-G", "-P", "-H", "SHA256", "-i", &input, "-o", &w.p("nss-opaque.p7m")])
        .expect_ok("cmsutil -S");
    for (file, detached) in [
        ("ossl-detached.p7s", true),
        ("ossl-opaque.p7m", false),
        ("gpg-detached.p7s", true),
        ("gpg-opaque.p7m", false),
        ("nss-detached.p7s", true),
        ("nss-opaque.p7m", false),
    ] {
        let der = w.read(file);
        let report =
            cms::verify(&der, detached.then_some(ENTITY), &h.root, LATER).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(report.is_valid(), "{file}: {:?}", report.signers);
        assert_eq!(report.content, ENTITY, "{file}");
        assert_eq!(
            report.signers[0].cert.as_ref().unwrap().to_der().unwrap(),
            h.alice.to_der().unwrap(),
            "{file}: signer"
        );
        if detached {
            let tampered = cms::verify(&der, Some(b"other content"), &h.root, LATER).unwrap();
            assert_eq!(tampered.signers[0].signature, SignatureStatus::DigestMismatch, "{file}: tampering");
        }
    }
}
