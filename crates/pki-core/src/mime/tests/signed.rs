//! multipart/signed: boundaries, signed bytes, framing and errors.

#![allow(clippy::unwrap_used)]

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::super::*;
use super::{BOUNDARY, assert_crlf_and_short_lines, fake_der};

#[test]
fn boundary_format() {
    let boundary = boundary_from_bytes(&[0xab; 16]);
    assert_eq!(boundary.len(), 44);
    assert!(boundary.starts_with("----=_smime_abab"));
    assert!(boundary.contains("=_"), "not valid quoted-printable");
    assert!(boundary.contains('_'), "not in the base64 alphabet");
    assert_eq!(
        boundary_from_bytes(&core::array::from_fn(|i| u8::try_from(i).unwrap())),
        "----=_smime_000102030405060708090a0b0c0d0e0f"
    );
}

/// Entities to sign: (description, entity, expected signed bytes).
fn signing_cases() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let tricky = alloc::format!(
        "Content-Type: text/plain\r\n\r\n--{BOUNDARY}-extra\r\n--{BOUNDARY}x\r\n\
         --{BOUNDARY}--x\r\n -- {BOUNDARY}\r\nend\r\n"
    );
    vec![
        (
            "crlf with final crlf",
            b"Content-Type: text/plain\r\n\r\nhi\r\n".to_vec(),
            b"Content-Type: text/plain\r\n\r\nhi\r\n".to_vec(),
        ),
        (
            "crlf without final crlf",
            b"Content-Type: text/plain\r\n\r\nhi".to_vec(),
            b"Content-Type: text/plain\r\n\r\nhi".to_vec(),
        ),
        (
            "lf input",
            b"Content-Type: text/plain\n\nhi\n\nthere\n".to_vec(),
            b"Content-Type: text/plain\r\n\r\nhi\r\n\r\nthere\r\n".to_vec(),
        ),
        (
            "ends with empty lines",
            b"Content-Type: text/plain\n\nx\n\n\n".to_vec(),
            b"Content-Type: text/plain\r\n\r\nx\r\n\r\n\r\n".to_vec(),
        ),
        ("empty entity", Vec::new(), Vec::new()),
        ("boundary prefixes in body", tricky.clone().into_bytes(), tricky.into_bytes()),
    ]
}

#[test]
fn multipart_signed_round_trip() {
    let der = fake_der(700);
    for (name, entity, expected) in signing_cases() {
        let signed = signed_content_for(&entity);
        assert_eq!(signed, expected, "{name}");
        let built = build_multipart_signed(&signed, &der, "sha-256", BOUNDARY);
        assert_crlf_and_short_lines(&built);
        let header_line = alloc::format!(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n \
             micalg=sha-256; boundary=\"{BOUNDARY}\"\r\n\r\nThis is an S/MIME signed message\r\n\
             --{BOUNDARY}\r\n"
        );
        assert!(built.starts_with(header_line.as_bytes()), "{name}");
        assert_eq!(classify(&built), Kind::MultipartSigned);

        let message = join_message(b"From: a@example.org\nSubject: s\n", &built);
        let lf_message: Vec<u8> = message.iter().copied().filter(|&b| b != b'\r').collect();
        for (variant, input) in [("entity", &built), ("message", &message), ("lf", &lf_message)] {
            let parsed = parse_multipart_signed(input).unwrap();
            assert_eq!(parsed.signed_content().as_ref(), signed.as_slice(), "{name} {variant}");
            assert_eq!(parsed.signature, der, "{name} {variant}");
            assert_eq!(parsed.protocol.as_deref(), Some("application/pkcs7-signature"));
            assert_eq!(parsed.micalg.as_deref(), Some("sha-256"));
            if variant != "lf" {
                assert_eq!(parsed.signed, signed.as_slice(), "{name} {variant}");
                assert!(matches!(parsed.signed_content(), alloc::borrow::Cow::Borrowed(_)));
            }
        }
    }
}

#[test]
fn multipart_signed_framing_variants() {
    let sig = "MAMCAQE=";
    // Preamble, transport padding, x- types, epilogue, unquoted boundary.
    let msg = alloc::format!(
        "CONTENT-TYPE: Multipart/Signed; boundary=b1;\r\n protocol=\"application/x-pkcs7-signature\"\r\n\
         \r\npreamble\r\n--b1 \t\r\nsigned\r\n--b1x\r\n--b1\r\n\
         Content-Type: application/x-pkcs7-signature\r\n\r\n{sig}\r\n--b1--  \r\nepilogue\r\n--b1\r\n"
    );
    let parsed = parse_multipart_signed(msg.as_bytes()).unwrap();
    assert_eq!(parsed.signed, b"signed\r\n--b1x");
    assert_eq!(parsed.signature, [0x30, 0x03, 0x02, 0x01, 0x01]);
    assert_eq!(parsed.protocol.as_deref(), Some("application/x-pkcs7-signature"));
    assert_eq!(parsed.micalg, None);

    // An empty first part and a close delimiter without a final line break.
    let msg = alloc::format!(
        "Content-Type: multipart/signed; boundary=\"b\"\n\n--b\n--b\n\
         Content-Type: application/pkcs7-signature\nContent-Transfer-Encoding: base64\n\n{sig}\n--b--"
    );
    assert_eq!(parse_multipart_signed(msg.as_bytes()).unwrap().signed, b"");
}

#[test]
fn multipart_signed_errors() {
    let sig_part = "Content-Type: application/pkcs7-signature\r\n\r\nMAMCAQE=\r\n";
    let ct = "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b";
    let cases: Vec<(String, Error)> = vec![
        (alloc::format!("{ct}\r\n\r\n--b\r\nx\r\n--b\r\n{sig_part}"), Error::MissingClosingDelimiter),
        (alloc::format!("{ct}\r\n\r\n--bb\r\nx\r\n--b--\r\n"), Error::MissingOpeningDelimiter),
        (alloc::format!("{ct}\r\n\r\nno delimiters at all\r\n"), Error::MissingOpeningDelimiter),
        (alloc::format!("{ct}\r\n\r\n--b\r\nx\r\n--b--\r\n"), Error::WrongPartCount { found: 1 }),
        (
            alloc::format!("{ct}\r\n\r\n--b\r\nx\r\n--b\r\ny\r\n--b\r\n{sig_part}--b--\r\n"),
            Error::WrongPartCount { found: 3 },
        ),
        (
            alloc::format!("{ct}\r\n\r\n--b\r\nx\r\n--b\r\nContent-Type: text/plain\r\n\r\nMA==\r\n--b--\r\n"),
            Error::UnexpectedSignatureType { content_type: "text/plain".into() },
        ),
        (alloc::format!("{ct}\r\n\r\n--b\r\nx\r\n--b\r\n{}!!\r\n--b--\r\n", sig_part), Error::Base64 { line: 2 }),
        (
            alloc::format!(
                "{ct}\r\n\r\n--b\r\nx\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n\r\n\r\n--b--\r\n"
            ),
            Error::EmptyPayload,
        ),
        (
            "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=b\r\n\r\n".into(),
            Error::UnsupportedProtocol { protocol: "application/pgp-signature".into() },
        ),
        ("Content-Type: multipart/signed\r\n\r\n".into(), Error::MissingBoundary),
        ("Content-Type: multipart/signed; boundary=\"\"\r\n\r\n".into(), Error::InvalidBoundary { len: 0 }),
        (
            alloc::format!("Content-Type: multipart/signed; boundary={}\r\n\r\n", "b".repeat(201)),
            Error::InvalidBoundary { len: 201 },
        ),
        (
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n".into(),
            Error::NotMultipartSigned { content_type: "multipart/mixed".into() },
        ),
        (
            "Subject: no content type\r\n\r\nbody".into(),
            Error::NotMultipartSigned { content_type: "text/plain".into() },
        ),
        (alloc::format!("{ct}\r\n"), Error::NoHeaderBodySeparator),
        (String::new(), Error::NoHeaderBodySeparator),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_multipart_signed(input.as_bytes()).unwrap_err(), expected, "{input:?}");
    }
}

#[test]
fn signed_content_line_endings() {
    let sig = "Content-Type: application/pkcs7-signature\n\nMAA=\n";
    // (first part as transmitted, expected signed content)
    let cases: &[(&[u8], &[u8])] = &[
        (b"a\r\nb", b"a\r\nb"),
        (b"a\nb\n", b"a\r\nb\r\n"),
        (b"\nmixed\r\nlf\n", b"\r\nmixed\r\nlf\r\n"),
        (b"bare\rcr\r\n", b"bare\rcr\r\n"),
        (b"bare\rcr\nlf", b"bare\rcr\r\nlf"),
    ];
    for (part, expected) in cases {
        let mut msg = b"Content-Type: multipart/signed; boundary=b\n\n--b\n".to_vec();
        msg.extend_from_slice(part);
        msg.extend_from_slice(alloc::format!("\n--b\n{sig}--b--\n").as_bytes());
        let parsed = parse_multipart_signed(&msg).unwrap();
        assert_eq!(parsed.signed, *part);
        assert_eq!(parsed.signed_content().as_ref(), *expected, "{part:?}");
        let borrowed = matches!(parsed.signed_content(), alloc::borrow::Cow::Borrowed(_));
        assert_eq!(borrowed, part == expected, "{part:?}");
    }
}
