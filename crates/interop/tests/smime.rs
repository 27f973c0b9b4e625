//! Whole S/MIME messages: ours read by OpenSSL (its S/MIME parser, not just the CMS), gpgsm
//! and NSS, and theirs read by us.

#![allow(clippy::unwrap_used)]

use interop::{
    Gpgsm, Hierarchy, KeyKind, NssDb, Work, openssl,
    pki::{NOW, rng},
    require,
};
use pki_core::{
    cms::{ContentCipher, Signer},
    oid_names, smime,
};

const MSG: &[u8] = b"From: Quiet Otter <quiet.otter.42@pportal.io>\nTo: alice@example.com\nSubject: S/MIME test\nDate: Sun, 29 Nov 2026 10:00:00 +0000\nMessage-ID: <t1@pportal.io>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nHello Alice,\n=E2=9C=93 line two.\n\n-- \nsignature block\n";

fn body_of(msg: &[u8]) -> &[u8] {
    let i = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| msg.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
        .unwrap();
    &msg[i..]
}

#[test]
fn openssl_reads_our_messages() {
    if !require("openssl") {
        return;
    }
    let h = Hierarchy::new(KeyKind::Rsa, KeyKind::Rsa);
    let w = Work::new();
    h.write(&w);
    let mut g = rng(20);
    let signer = Signer { cert: &h.contact, key: &h.contact_key, chain: std::slice::from_ref(&h.inter) };
    let sealed = smime::sign_and_encrypt_message(
        MSG,
        signer,
        std::slice::from_ref(&h.alice),
        ContentCipher::default(),
        NOW,
        &mut g,
    )
    .unwrap();
    let text = String::from_utf8(sealed.clone()).unwrap();
    assert!(text.starts_with("From: Quiet Otter"), "outer headers stay outside:\n{text}");
    assert!(text.contains("Subject: S/MIME test\r\n") && text.contains("smime-type=enveloped-data"));
    assert!(text.lines().all(|l| l.len() <= 76), "base64 lines are at most 76 columns");
    assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
    let sealed_path = w.write("sealed.eml", &sealed);
    let out = openssl(&[
        "cms",
        "-decrypt",
        "-in",
        &sealed_path,
        "-recip",
        &w.p("alice.pem"),
        "-inkey",
        &w.p("alice.key"),
        "-out",
        &w.p("signed.eml"),
    ]);
    assert!(out.ok, "openssl cms -decrypt (S/MIME input): {}", out.all());
    let out = openssl(&[
        "cms",
        "-verify",
        "-in",
        &w.p("signed.eml"),
        "-CAfile",
        &w.p("root.pem"),
        "-purpose",
        "smimesign",
        "-attime",
        "1796000000",
        "-out",
        &w.p("inner.eml"),
    ]);
    assert!(out.ok && out.stderr.contains("Verification successful"), "openssl cms -verify: {}", out.all());
    let inner = w.read("inner.eml");
    assert!(inner.starts_with(b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello Alice,\r\n"), "{}", String::from_utf8_lossy(&inner));

    // Signed only, then read back by us too.
    let signed = smime::sign_message(MSG, signer, NOW, &mut g).unwrap();
    let p = w.write("signed-only.eml", &signed);
    let out = openssl(&[
        "cms",
        "-verify",
        "-in",
        &p,
        "-CAfile",
        &w.p("root.pem"),
        "-attime",
        "1796000000",
        "-out",
        &w.p("x"),
    ]);
    assert!(out.ok, "{}", out.all());
    let v = smime::verify_message(&signed, &h.root, NOW).unwrap();
    assert!(v.report.is_valid());
    assert!(v.message.ends_with(b"signature block\r\n"));
    let caps = smime::capabilities(&signed).unwrap();
    assert_eq!(oid_names(&caps[..2]), ["aes256-CBC", "aes128-CBC"]);
}

#[test]
fn gpgsm_and_nss_read_our_messages() {
    if !require("gpgsm") || !require("cmsutil") {
        return;
    }
    let h = Hierarchy::new(KeyKind::Rsa, KeyKind::Rsa);
    let w = Work::new();
    h.write(&w);
    let mut g = rng(21);
    let signer = Signer { cert: &h.contact, key: &h.contact_key, chain: std::slice::from_ref(&h.inter) };
    let signed = smime::sign_message(MSG, signer, NOW, &mut g).unwrap();
    // Split the multipart/signed the way a mail client does, with our parser's output checked
    // by the tools: the signed part and the signature.
    let ms = pki_core::mime::parse_multipart_signed(&signed).unwrap();
    let part = w.write("part.txt", ms.signed_content());
    let sig = w.write("sig.p7s", &ms.signature);
    let gpg = Gpgsm::new(&w);
    gpg.run(&["--import", &w.p("root.pem"), &w.p("inter.pem")], None).expect_ok("import");
    gpg.trust_root(&w.p("root.pem"));
    let out = gpg.run(&["--verify", &sig, &part], None);
    assert!(out.ok && out.stderr.contains("Good signature"), "gpgsm: {}", out.all());
    let db = NssDb::new(&w, "nss");
    db.add_cert("root", "C,C,", &w.p("root.pem"));
    let out = db.cmsutil(&["-D", "-u", "4", "-i", &sig, "-c", &part, "-n", "-h", "2"]);
    assert!(out.stdout.contains("signer0.status=GoodSignature"), "cmsutil: {}", out.all());
    // The encrypted message body, as base64, decrypts in gpgsm.
    let sealed = smime::encrypt_message(MSG, std::slice::from_ref(&h.alice), ContentCipher::default(), &mut g).unwrap();
    let b64 = w.write("sealed.b64", body_of(&sealed));
    let p12 = w.p("alice.p12");
    gpg.import_openssl_p12(&w.p("alice.key"), &w.p("alice.pem"), None, &p12).expect_ok("import p12");
    let out = gpg.run(&["--passphrase-fd", "0", "--assume-base64", "--decrypt", &b64], Some(b"pw\n"));
    assert!(out.ok && out.stdout.contains("Hello Alice,\r\n"), "gpgsm decrypt: {}", out.all());
}

#[test]
fn we_read_openssl_messages() {
    if !require("openssl") {
        return;
    }
    let h = Hierarchy::new(KeyKind::Rsa, KeyKind::Rsa);
    let w = Work::new();
    h.write(&w);
    let inner = w.write("inner.txt", b"Content-Type: text/plain\r\n\r\nfrom openssl\r\n");
    let (alice, key, inter) = (w.p("alice.pem"), w.p("alice.key"), w.p("inter.pem"));
    openssl(&[
        "cms",
        "-sign",
        "-in",
        &inner,
        "-signer",
        &alice,
        "-inkey",
        &key,
        "-certfile",
        &inter,
        "-from",
        "alice@example.com",
        "-to",
        "x@pportal.io",
        "-subject",
        "signed",
        "-out",
        &w.p("signed.eml"),
    ])
    .expect_ok("sign");
    openssl(&[
        "cms",
        "-sign",
        "-nodetach",
        "-in",
        &inner,
        "-signer",
        &alice,
        "-inkey",
        &key,
        "-certfile",
        &inter,
        "-out",
        &w.p("opaque.eml"),
    ])
    .expect_ok("sign opaque");
    openssl(&["cms", "-encrypt", "-aes256", "-in", &inner, "-subject", "enc", "-out", &w.p("enc.eml"), &alice])
        .expect_ok("encrypt");
    for f in ["signed.eml", "opaque.eml"] {
        let v = smime::verify_message(&w.read(f), &h.root, NOW).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(
            v.report.is_valid(),
            "{f}: {:?}",
            v.report.signers.iter().map(|s| (&s.signature, s.chain.to_string())).collect::<Vec<_>>()
        );
        assert!(v.message.ends_with(b"from openssl\r\n"), "{f}");
    }
    let caps = smime::capabilities(&w.read("signed.eml")).unwrap();
    assert!(!caps.is_empty(), "OpenSSL advertises SMIMECapabilities");
    let d = smime::decrypt_message(&w.read("enc.eml"), &h.alice, &h.alice_key, &mut rng(22)).unwrap();
    assert!(String::from_utf8_lossy(&d).contains("Subject: enc\r\n") && d.ends_with(b"from openssl\r\n"));
}
