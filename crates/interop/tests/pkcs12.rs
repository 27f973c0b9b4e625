//! Our PKCS#12 files, imported by OpenSSL, NSS (pk12util) and gpgsm, and then used: each tool
//! decrypts a message with the key it imported.

#![allow(clippy::unwrap_used)]

use der::Encode;
use interop::{Gpgsm, Hierarchy, KeyKind, NssDb, Work, openssl, pki::rng, require};
use pki_core::{
    cms::{ContentCipher, Envelope},
    pkcs12::{self, ExportOptions, Flavour},
};

const ENTITY: &[u8] = b"Content-Type: text/plain\r\n\r\nopened with the imported key\r\n";
const PW: &str = "s3cret pass";

fn p12(h: &Hierarchy, flavour: Flavour) -> Vec<u8> {
    let key = h.alice_key.to_pkcs8_der().unwrap();
    let chain = [h.inter.to_der().unwrap(), h.root.to_der().unwrap()];
    let chain: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    let opts = ExportOptions::new(flavour).with_friendly_name("alice@example.com");
    pkcs12::export(&key, &h.alice.to_der().unwrap(), &chain, PW, &opts, &mut rng(30)).unwrap()
}

#[test]
fn openssl_and_nss_import_both_flavours_and_use_the_key() {
    if !require("openssl") || !require("pk12util") || !require("cmsutil") {
        return;
    }
    for kind in [KeyKind::Rsa, KeyKind::P256] {
        let h = Hierarchy::new(kind, kind);
        let w = Work::new();
        h.write(&w);
        let msg = w.write(
            "msg.p7m",
            Envelope::new(ContentCipher::default()).recipient(&h.alice).unwrap().seal(ENTITY, &mut rng(31)).unwrap(),
        );
        for (name, flavour) in [("modern", Flavour::Modern), ("compat", Flavour::Compatible)] {
            let file = w.write(&format!("{name}.p12"), p12(&h, flavour));
            // OpenSSL: the key it extracts opens the message.
            let legacy: &[&str] = if flavour == Flavour::Compatible { &["-legacy"] } else { &[] };
            let mut args = vec!["pkcs12", "-in", &file, "-passin"];
            let pass = format!("pass:{PW}");
            args.push(&pass);
            args.extend_from_slice(&["-nocerts", "-nodes", "-out"]);
            let key_out = w.p(&format!("{name}.key"));
            args.push(&key_out);
            args.extend_from_slice(legacy);
            openssl(&args).expect_ok("openssl pkcs12");
            let out = openssl(&[
                "cms",
                "-decrypt",
                "-binary",
                "-inform",
                "DER",
                "-in",
                &msg,
                "-recip",
                &w.p("alice.pem"),
                "-inkey",
                &key_out,
            ]);
            assert!(
                out.ok && out.stdout_bytes == ENTITY,
                "{kind:?} {name}: openssl with the imported key: {}",
                out.all()
            );
            // NSS: pk12util imports it, the chain validates, cmsutil opens the message.
            let db = NssDb::new(&w, &format!("nss-{name}"));
            db.add_cert("root", "C,C,", &w.p("root.pem"));
            let out = db.pk12util(&["-i", &file, "-W", PW, "-K", ""]);
            assert!(
                out.ok && out.all().contains("PKCS12 IMPORT SUCCESSFUL"),
                "{kind:?} {name}: pk12util: {}",
                out.all()
            );
            let keys = db.certutil(&["-K"]);
            assert!(
                keys.stdout.contains("alice@example.com"),
                "{kind:?} {name}: key listed under its friendly name: {}",
                keys.all()
            );
            let out = db.certutil(&["-V", "-n", "alice@example.com", "-u", "R", "-e"]);
            assert!(out.all().contains("certificate is valid"), "{kind:?} {name}: NSS validation: {}", out.all());
            let out = db.cmsutil(&["-D", "-p", "", "-i", &msg]);
            if kind == KeyKind::Rsa {
                assert!(
                    out.ok && out.stdout_bytes == ENTITY,
                    "{kind:?} {name}: cmsutil with the imported key: {}",
                    out.all()
                );
            } else {
                // Debian 12's NSS 3.87 cannot decode ECDH (KeyAgreeRecipientInfo) EnvelopedData at
                // all, OpenSSL's included; if this starts to pass, NSS has learnt it.
                assert!(out.all().contains("SEC_ERROR_BAD_DER"), "{kind:?} {name}: NSS and ECDH: {}", out.all());
            }
        }
    }
}

#[test]
fn gpgsm_imports_the_compatible_flavour_and_decrypts() {
    if !require("gpgsm") {
        return;
    }
    let h = Hierarchy::new(KeyKind::Rsa, KeyKind::Rsa);
    let w = Work::new();
    h.write(&w);
    let file = w.write("compat.p12", p12(&h, Flavour::Compatible));
    let msg = w.write(
        "msg.p7m",
        Envelope::new(ContentCipher::default()).recipient(&h.alice).unwrap().seal(ENTITY, &mut rng(32)).unwrap(),
    );
    let gpg = Gpgsm::new(&w);
    let pw = format!("{PW}\n");
    let out = gpg.run(&["--passphrase-fd", "0", "--import", &file], Some(pw.as_bytes()));
    assert!(out.ok && out.stderr.contains("secret keys imported: 1"), "gpgsm --import: {}", out.all());
    gpg.trust_root(&w.p("root.pem"));
    let out = gpg.run(&["--list-secret-keys", "--with-validation"], None);
    assert!(out.stdout.contains("alice@example.com"), "{}", out.all());
    let out = gpg.run(&["--passphrase-fd", "0", "--decrypt", &msg], Some(pw.as_bytes()));
    assert!(out.ok && out.stdout_bytes == ENTITY, "gpgsm --decrypt: {}", out.all());
}
