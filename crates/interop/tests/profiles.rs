//! Every certificate profile, judged by OpenSSL, NSS and gpgsm.

#![allow(clippy::unwrap_used)]

use interop::{Hierarchy, KeyKind, NssDb, Work, openssl, require};

fn hierarchies() -> Vec<(&'static str, Hierarchy)> {
    vec![
        ("rsa", Hierarchy::new(KeyKind::Rsa, KeyKind::Rsa)),
        ("p256", Hierarchy::new(KeyKind::P256, KeyKind::P256)),
        ("rsa-ca/p256-ee", Hierarchy::new(KeyKind::Rsa, KeyKind::P256)),
    ]
}

fn verify(w: &Work, purpose: &str, leaf: &str, email: Option<&str>) -> interop::Out {
    let (root, inter, leaf) = (w.p("root.pem"), w.p("inter.pem"), w.p(leaf));
    let mut args = vec![
        "verify",
        "-x509_strict",
        "-check_ss_sig",
        "-attime",
        "1796000000",
        "-CAfile",
        &root,
        "-untrusted",
        &inter,
        "-purpose",
        purpose,
    ];
    if let Some(e) = email {
        args.extend_from_slice(&["-verify_email", e]);
    }
    args.push(&leaf);
    openssl(&args)
}

#[test]
fn openssl_accepts_every_profile_and_rejects_the_outsider() {
    if !require("openssl") {
        return;
    }
    for (label, h) in hierarchies() {
        let w = Work::new();
        h.write(&w);
        for purpose in ["smimesign", "smimeencrypt"] {
            for leaf in ["alice.pem", "contact.pem"] {
                let out = verify(&w, purpose, leaf, None);
                assert!(out.ok && out.stdout.contains(": OK"), "{label} {purpose} {leaf}: {}", out.all());
            }
        }
        let out = verify(&w, "smimesign", "alice.pem", Some("alice@example.com"));
        assert!(out.ok, "{label}: -verify_email: {}", out.all());
        let out = verify(&w, "smimeencrypt", "outsider.pem", None);
        assert!(!out.ok, "{label}: a cert outside the name constraints must be rejected: {}", out.all());
        assert!(out.all().contains("permitted subtree violation"), "{label}: wrong reason: {}", out.all());
        // The intermediate itself is a valid CA under the root.
        let out = openssl(&[
            "verify",
            "-x509_strict",
            "-check_ss_sig",
            "-attime",
            "1796000000",
            "-CAfile",
            &w.p("root.pem"),
            &w.p("inter.pem"),
        ]);
        assert!(out.ok, "{label}: intermediate: {}", out.all());
    }
}

#[test]
fn nss_accepts_every_profile_and_rejects_the_outsider() {
    if !require("vfychain") || !require("certutil") {
        return;
    }
    for (label, h) in hierarchies() {
        let w = Work::new();
        h.write(&w);
        let db = NssDb::new(&w, "nss");
        db.add_cert("root", "C,C,", &w.p("root.pem"));
        db.add_cert("inter", ",,", &w.p("inter.pem"));
        // usage 4 = email signer, 5 = email recipient; -b pins the validation time. Both NSS
        // engines: the classic one and libpkix (-pp).
        let vfy = |engine: &[&str], usage: &str, leaf: &str| {
            let mut args = vec!["-d", db.dir.as_str(), "-b", "261201000000Z", "-u", usage];
            args.extend_from_slice(engine);
            let leaf = w.p(leaf);
            args.extend_from_slice(&["-a", &leaf]);
            interop::tools::run("vfychain", &args, None, &[])
        };
        for engine in [&[][..], &["-pp"][..]] {
            for (usage, leaf) in [("4", "alice.pem"), ("5", "alice.pem"), ("4", "contact.pem"), ("5", "contact.pem")] {
                let out = vfy(engine, usage, leaf);
                assert!(
                    out.ok && out.all().contains("Chain is good!"),
                    "{label} {engine:?} usage {usage} {leaf}: {}",
                    out.all()
                );
            }
            let out = vfy(engine, "5", "outsider.pem");
            assert!(
                !out.ok && out.all().contains("Chain is bad!"),
                "{label} {engine:?}: NSS accepted the outsider: {}",
                out.all()
            );
        }
        // The classic engine names the reason; libpkix reports a generic extension error.
        let out = vfy(&[], "5", "outsider.pem");
        assert!(
            out.all().contains("not permitted to issue a certificate with this name"),
            "{label}: wrong reason: {}",
            out.all()
        );
    }
}
