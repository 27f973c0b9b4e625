//! Interoperability with OpenSSL 3.0 (`openssl cms`): fixtures generated as
//! described in `fixtures/pki/mime/NOTES.md`.

use super::super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pki/mime/", $name))
    };
}

const MSG: &[u8] = fixture!("msg.txt");
const MSG_NOEOL: &[u8] = fixture!("msg-noeol.txt");

/// (file name, contents, content that `openssl cms -sign` was given).
const SIGNED: [(&str, &[u8], &[u8]); 5] = [
    ("signed.eml", fixture!("signed.eml"), MSG),
    ("signed-crlf.eml", fixture!("signed-crlf.eml"), MSG),
    ("signed-lf.eml", fixture!("signed-lf.eml"), MSG),
    ("signed-noeol.eml", fixture!("signed-noeol.eml"), MSG_NOEOL),
    ("signed-headers.eml", fixture!("signed-headers.eml"), MSG),
];

/// (file name, contents, expected smime-type).
const PKCS7: [(&str, &[u8], SmimeType); 3] = [
    ("enveloped.eml", fixture!("enveloped.eml"), SmimeType::EnvelopedData),
    ("authenveloped.eml", fixture!("authenveloped.eml"), SmimeType::AuthEnvelopedData),
    ("opaque-signed.eml", fixture!("opaque-signed.eml"), SmimeType::SignedData),
];

#[test]
fn openssl_multipart_signed_gives_back_signed_bytes() {
    for (name, eml, content) in SIGNED {
        assert_eq!(classify(eml), Kind::MultipartSigned, "{name}");
        let parsed = parse_multipart_signed(eml).unwrap();
        // OpenSSL signs the canonical form of its input, final line break kept.
        let expected = signed_content_for(content);
        assert_eq!(parsed.signed_content().as_ref(), expected.as_slice(), "{name}");
        if name != "signed-lf.eml" {
            assert_eq!(parsed.signed, expected.as_slice(), "{name}: raw slice");
        }
        assert_eq!(parsed.signature.first(), Some(&0x30), "{name}");
        assert!(parsed.signature.len() > 1000, "{name}");
        assert_eq!(parsed.micalg.as_deref(), Some("sha-256"), "{name}");
        assert_eq!(parsed.protocol.as_deref(), Some("application/pkcs7-signature"));
    }
    // All five carry a signature over the same certificate; the LF copy of
    // signed.eml decodes to the very same signature.
    let sig = |i: usize| parse_multipart_signed(SIGNED[i].1).unwrap().signature;
    assert_eq!(sig(0), sig(2));
}

#[test]
fn openssl_signed_message_splits() {
    let eml = fixture!("signed-headers.eml");
    let split = split_message(eml).unwrap();
    assert_eq!(
        split.outer_headers,
        b"To: rcpt@example.org\r\nFrom: fixture@example.org\r\nSubject: Signed fixture\r\n\
MIME-Version: 1.0\r\n"
    );
    let entity = split.entity();
    let from_entity = parse_multipart_signed(&entity).unwrap();
    let from_message = parse_multipart_signed(eml).unwrap();
    assert_eq!(from_entity.signed_content(), from_message.signed_content());
    assert_eq!(from_entity.signature, from_message.signature);
}

#[test]
fn openssl_pkcs7_mime() {
    for (name, eml, smime_type) in PKCS7 {
        assert_eq!(classify(eml), Kind::Pkcs7Mime(Some(smime_type)), "{name}");
        let parsed = parse_pkcs7_mime(eml).unwrap();
        assert_eq!(parsed.smime_type, Some(smime_type), "{name}");
        assert_eq!(parsed.der.first(), Some(&0x30), "{name}");
        // Rebuilding gives the same DER back.
        let rebuilt = build_pkcs7_mime(&parsed.der, smime_type);
        assert_eq!(parse_pkcs7_mime(&rebuilt).unwrap().der, parsed.der, "{name}");
    }
}
