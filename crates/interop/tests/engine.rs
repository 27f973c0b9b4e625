//! Every message of the forward corpus, forwarded by the relay engine, judged by OpenSSL: it
//! opens with `openssl cms -decrypt` and the owner's key, its inner signature verifies with
//! `openssl cms -verify` against the owner's root, and the reverse alias's certificate chains
//! to that root for S/MIME signing and encryption (so the owner's client can reply encrypted).

#![allow(clippy::unwrap_used)]

use der::{EncodePem, pem::LineEnding};
use interop::{Work, openssl, pki::rng, require};
use pki_core::UnixTime;
use relay_engine::{
    Envelope, Outcome,
    address::Address,
    testkit::{ALIAS, World, WorldOptions},
};

const NOW: UnixTime = UnixTime(1_795_910_400);

#[tokio::test]
async fn openssl_opens_and_verifies_every_forward() {
    if !require("openssl") {
        return;
    }
    let w = World::new(WorldOptions { pool: 4, ..Default::default() }, NOW, &mut rng(40)).unwrap();
    let s = w.smime.as_ref().unwrap();
    let work = Work::new();
    let root = work.write("root.pem", s.root.to_pem(LineEnding::LF).unwrap());
    let ee = work.write("ee.pem", s.end_entity.to_pem(LineEnding::LF).unwrap());
    let key = work.write("ee.key", s.key.to_pkcs8_pem().unwrap().as_bytes());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/eml/forward");
    let mut cases: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    cases.sort();
    let mut checked = 0;
    for (i, case) in cases.iter().enumerate() {
        let input = std::fs::read(case).unwrap();
        let env =
            Envelope::new(Some(Address::parse("bounces@sender.example").unwrap()), Address::parse(ALIAS).unwrap());
        let Outcome::Deliver(d) = w.engine.forward(&input, &env, NOW, &mut rng(41)).await else {
            panic!("{}: not delivered", case.display());
        };
        let text = String::from_utf8_lossy(&d.data);
        let name = case.file_name().unwrap().to_string_lossy();
        if !text.contains("smime-type=enveloped-data")
            || name.contains("smime-enveloped")
            || name.contains("x-pkcs7-mime")
        {
            continue; // passed through (already encrypted to someone else)
        }
        let msg = work.write(&format!("{i}.eml"), &d.data);
        let inner = work.p(&format!("{i}.inner.eml"));
        let out = openssl(&["cms", "-decrypt", "-in", &msg, "-recip", &ee, "-inkey", &key, "-out", &inner]);
        assert!(out.ok, "{name}: openssl cms -decrypt: {}", out.all());
        let signer = work.p(&format!("{i}.signer.pem"));
        let content = work.p(&format!("{i}.content"));
        let out = openssl(&[
            "cms",
            "-verify",
            "-in",
            &inner,
            "-CAfile",
            &root,
            "-purpose",
            "smimesign",
            "-attime",
            "1796000000",
            "-signer",
            &signer,
            "-out",
            &content,
        ]);
        assert!(out.ok && out.stderr.contains("Verification successful"), "{name}: openssl cms -verify: {}", out.all());
        // The signer is the reverse alias's recipient certificate, and it chains to the root
        // (the intermediate comes from the SignedData, as a client would take it).
        let subject = openssl(&["x509", "-in", &signer, "-noout", "-ext", "subjectAltName"]).stdout;
        assert!(subject.contains(&format!("email:{}", d.mail_from)), "{name}: signer is {subject}");
        let chain = work.p(&format!("{i}.chain.pem"));
        openssl(&["cms", "-verify", "-in", &inner, "-noverify", "-certsout", &chain, "-out", "/dev/null"])
            .expect_ok("certsout");
        for purpose in ["smimesign", "smimeencrypt"] {
            let out = openssl(&[
                "verify",
                "-x509_strict",
                "-purpose",
                purpose,
                "-attime",
                "1796000000",
                "-CAfile",
                &root,
                "-untrusted",
                &chain,
                &signer,
            ]);
            assert!(out.ok && out.stdout.contains(": OK"), "{name}: recipient cert for {purpose}: {}", out.all());
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} forwards were checked");
    eprintln!("{checked} forwarded messages opened and verified by OpenSSL");
}
