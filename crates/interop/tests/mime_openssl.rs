//! The MIME layer against OpenSSL's own S/MIME output (fixtures/pki/mime, made by `openssl cms`,
//! see its NOTES.md): the bytes `parse_multipart_signed` says were signed verify in OpenSSL's
//! binary mode (no re-canonicalization), one CRLF too few or too many does not, and what
//! `build_multipart_signed` / `build_pkcs7_mime` wrap around OpenSSL's CMS opens in OpenSSL.

#![allow(clippy::unwrap_used)]

use interop::{Work, openssl, require};
use pki_core::mime::{
    SmimeType, boundary_from_bytes, build_multipart_signed, build_pkcs7_mime, join_message, parse_multipart_signed,
    parse_pkcs7_mime, signed_content_for,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pki/mime").join(name)).unwrap()
}

fn verify_binary(w: &Work, p7s: &[u8], content: &[u8]) -> interop::Out {
    let sig = w.write("x.p7s", p7s);
    let content = w.write("x.content", content);
    openssl(&[
        "cms",
        "-verify",
        "-noverify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        &sig,
        "-content",
        &content,
        "-out",
        "/dev/null",
    ])
}

#[test]
fn openssl_verifies_exactly_the_bytes_we_extract() {
    if !require("openssl") {
        return;
    }
    let w = Work::new();
    for name in ["signed.eml", "signed-crlf.eml", "signed-lf.eml", "signed-noeol.eml", "signed-headers.eml"] {
        let eml = fixture(name);
        let ms = parse_multipart_signed(&eml).unwrap();
        let out = verify_binary(&w, &ms.signature, &ms.signed_content());
        assert!(out.ok && out.stderr.contains("Verification successful"), "{name}: {}", out.all());
    }
    // Negative controls: the CRLF before a delimiter is not signed; a final CRLF of the
    // content is.
    let ms_eml = fixture("signed.eml");
    let ms = parse_multipart_signed(&ms_eml).unwrap();
    let content = ms.signed_content();
    let out = verify_binary(&w, &ms.signature, &content[..content.len() - 2]);
    assert!(!out.ok && out.stderr.contains("content verify error"), "one CRLF too few: {}", out.all());
    let noeol_eml = fixture("signed-noeol.eml");
    let noeol = parse_multipart_signed(&noeol_eml).unwrap();
    let out = verify_binary(&w, &noeol.signature, &[&noeol.signed_content()[..], b"\r\n"].concat());
    assert!(!out.ok && out.stderr.contains("content verify error"), "one CRLF too many: {}", out.all());
}

#[test]
fn openssl_reads_what_we_wrap_around_its_cms() {
    if !require("openssl") {
        return;
    }
    let w = Work::new();
    let msg = fixture("msg.txt");
    let signed_crlf = fixture("signed-crlf.eml");
    let signature = parse_multipart_signed(&signed_crlf).unwrap().signature;
    let built =
        build_multipart_signed(&signed_content_for(&msg), &signature, "sha-256", &boundary_from_bytes(&[7; 16]));
    let eml = w.write("built-signed.eml", join_message(b"From: fixture@example.org\nSubject: built\n", &built));
    let out = openssl(&["cms", "-verify", "-noverify", "-in", &eml, "-out", &w.p("out.txt")]);
    assert!(out.ok, "built multipart/signed: {}", out.all());
    assert_eq!(w.read("out.txt"), signed_content_for(&msg), "OpenSSL outputs msg.txt in CRLF form");
    let (cert, key) = (w.write("c.pem", fixture("fixture-cert.pem")), w.write("k.pem", fixture("fixture-key.pem")));
    for (name, kind) in
        [("enveloped.eml", SmimeType::EnvelopedData), ("authenveloped.eml", SmimeType::AuthEnvelopedData)]
    {
        let der = parse_pkcs7_mime(&fixture(name)).unwrap().der;
        let built = w.write("built.eml", join_message(b"Subject: built\n", &build_pkcs7_mime(&der, kind)));
        let out = openssl(&["cms", "-decrypt", "-in", &built, "-recip", &cert, "-inkey", &key]);
        assert!(out.ok && out.stdout_bytes == signed_content_for(&msg), "{name}: {}", out.all());
    }
}
