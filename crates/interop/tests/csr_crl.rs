//! CSRs and CRLs, both directions with OpenSSL.

#![allow(clippy::unwrap_used)]

use der::{EncodePem, pem::LineEnding};
use interop::{Hierarchy, KeyKind, Work, openssl, pki::rng, require};
use pki_core::{PrivateKey, UnixTime, address::Mailbox, cert::Issuer, crl, csr};

#[test]
fn openssl_accepts_our_csrs_and_we_read_its_csrs() {
    if !require("openssl") {
        return;
    }
    let mut g = rng(10);
    for alg in [pki_core::KeyAlgorithm::Rsa2048, pki_core::KeyAlgorithm::P256] {
        let key = PrivateKey::generate(alg, &mut g).unwrap();
        let req = csr::build(&Mailbox::parse("alice@example.com").unwrap(), &key.public_key())
            .unwrap()
            .sign(&key, &mut g)
            .unwrap();
        let w = Work::new();
        let path = w.write("req.pem", req.to_pem(LineEnding::LF).unwrap());
        let out = openssl(&["req", "-in", &path, "-verify", "-noout", "-text"]);
        assert!(
            out.ok && out.all().contains("verify OK") && out.stdout.contains("email:alice@example.com"),
            "{alg:?}: {}",
            out.all()
        );
    }
    // OpenSSL-made CSR with a SAN and a subject emailAddress.
    let w = Work::new();
    let key = w.p("k.pem");
    let req = w.p("r.pem");
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &req,
        "-subj",
        "/CN=Bob/emailAddress=bob@example.org",
        "-addext",
        "subjectAltName=email:bob@example.org,email:bob2@example.org",
    ])
    .expect_ok("openssl req");
    let pem = std::fs::read_to_string(&req).unwrap();
    let v = csr::VerifiedCsr::from_pem(&pem).unwrap();
    assert_eq!(v.mailboxes, vec!["bob@example.org".to_string(), "bob2@example.org".to_string()]);
    // A tampered CSR fails its proof of possession.
    let der = openssl(&["req", "-in", &req, "-outform", "DER"]).expect_ok("to DER").stdout_bytes;
    let mut bad = der.clone();
    let i = bad.windows(3).position(|x| x == b"Bob").unwrap();
    bad[i] = b'R';
    assert!(matches!(csr::VerifiedCsr::from_der(&bad), Err(pki_core::Error::BadSignature { .. })));
}

#[test]
fn openssl_honours_our_crl() {
    if !require("openssl") {
        return;
    }
    for kind in [KeyKind::Rsa, KeyKind::P256] {
        let h = Hierarchy::new(kind, kind);
        let w = Work::new();
        h.write(&w);
        let now = interop::pki::NOW.plus_secs(3600);
        let issuer = Issuer::from_certificate(&h.inter).unwrap();
        let list = crl::build(&issuer, &[crl::Revoked::certificate(&h.contact, now)], 1, now, now.plus_secs(7 * 86400))
            .unwrap()
            .sign(&h.inter_key, &mut rng(11))
            .unwrap();
        let crl_path = w.write("crl.pem", list.to_pem(LineEnding::LF).unwrap());
        let out = openssl(&["crl", "-in", &crl_path, "-CAfile", &w.p("inter.pem"), "-noout", "-text"]);
        assert!(out.ok && out.all().contains("verify OK"), "{kind:?} crl: {}", out.all());
        // Checked at the leaf: the contact is revoked, alice is not. The root has no CRL.
        let chain = w.write(
            "chain.pem",
            [std::fs::read(w.p("root.pem")).unwrap(), std::fs::read(w.p("inter.pem")).unwrap()].concat(),
        );
        let at = (now.as_secs() + 60).to_string();
        let verify = |leaf: &str| {
            openssl(&["verify", "-crl_check", "-CAfile", &chain, "-CRLfile", &crl_path, "-attime", &at, &w.p(leaf)])
        };
        let out = verify("contact.pem");
        assert!(!out.ok && out.all().contains("certificate revoked"), "{kind:?}: {}", out.all());
        let out = verify("alice.pem");
        assert!(out.ok, "{kind:?}: {}", out.all());
        // Our own reading agrees.
        let parsed = crl::verify(&der::Encode::to_der(&list).unwrap(), &h.inter).unwrap();
        assert!(crl::is_revoked(&parsed, &h.contact) && !crl::is_revoked(&parsed, &h.alice));
        assert!(crl::verify(&der::Encode::to_der(&list).unwrap(), &h.root).is_err());
    }
    let _ = UnixTime(0);
}
