//! application/pkcs7-mime and classification.

#![allow(clippy::unwrap_used)]

use alloc::vec::Vec;

use super::super::*;
use super::{assert_crlf_and_short_lines, fake_der};

#[test]
fn pkcs7_mime_round_trip() {
    let der = fake_der(300);
    let types = [
        (SmimeType::EnvelopedData, "enveloped-data", "smime.p7m"),
        (SmimeType::AuthEnvelopedData, "authEnveloped-data", "smime.p7m"),
        (SmimeType::SignedData, "signed-data", "smime.p7m"),
        (SmimeType::CertsOnly, "certs-only", "smime.p7c"),
        (SmimeType::CompressedData, "compressed-data", "smime.p7z"),
    ];
    for (smime_type, param, file) in types {
        let built = build_pkcs7_mime(&der, smime_type);
        assert_crlf_and_short_lines(&built);
        let head = alloc::format!(
            "Content-Type: application/pkcs7-mime; smime-type={param};\r\n name=\"{file}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"{file}\"\r\n\r\n"
        );
        assert!(built.starts_with(head.as_bytes()), "{param}");
        assert!(built.split(|&b| b == b'\n').any(|l| l.len() == 77), "full 76-char lines");
        assert_eq!(classify(&built), Kind::Pkcs7Mime(Some(smime_type)));

        let message = join_message(b"Subject: x\r\n", &built);
        let lf: Vec<u8> = message.iter().copied().filter(|&b| b != b'\r').collect();
        for input in [&built, &message, &lf] {
            let parsed = parse_pkcs7_mime(input).unwrap();
            assert_eq!(parsed.smime_type, Some(smime_type));
            assert_eq!(parsed.der, der);
        }
        assert_eq!(parse_pkcs7_mime(&built).unwrap().expect(smime_type).unwrap(), der);
    }
    let enveloped = parse_pkcs7_mime(&build_pkcs7_mime(&der, SmimeType::EnvelopedData)).unwrap();
    assert_eq!(
        enveloped.expect(SmimeType::SignedData).unwrap_err(),
        Error::UnexpectedSmimeType { expected: SmimeType::SignedData, found: Some(SmimeType::EnvelopedData) }
    );
}

#[test]
fn pkcs7_mime_variants() {
    let cases: &[(&str, Option<SmimeType>)] = &[
        (
            "Content-Type: application/x-pkcs7-mime; smime-type=\"Enveloped-Data\"\r\n\r\nMAA=",
            Some(SmimeType::EnvelopedData),
        ),
        ("Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: BASE64\r\n\r\nMAA=", None),
        ("Content-Type: application/pkcs7-mime; smime-type=foo-data\r\n\r\nMAA", None),
        ("Content-Type: application/octet-stream; name=\"SMIME.P7M\"\r\n\r\nMAA=", None),
        (
            "Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n filename*=utf-8''smime.p7m\r\n\r\nMAA=",
            None,
        ),
        (
            "Content-Type: application/pkcs7-mime; smime-type=certs-only\nContent-Transfer-Encoding: binary\n\n\x30\x00",
            Some(SmimeType::CertsOnly),
        ),
    ];
    for (input, smime_type) in cases {
        let parsed = parse_pkcs7_mime(input.as_bytes()).unwrap();
        assert_eq!(parsed.smime_type, *smime_type, "{input}");
        assert_eq!(parsed.der, [0x30, 0x00], "{input}");
        assert_eq!(classify(input.as_bytes()), Kind::Pkcs7Mime(*smime_type), "{input}");
    }
    let errors: &[(&str, Error)] = &[
        (
            "Content-Type: application/octet-stream; name=x.bin\r\n\r\nMAA=",
            Error::NotPkcs7Mime { content_type: "application/octet-stream".into() },
        ),
        (
            "Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n0=00",
            Error::UnsupportedTransferEncoding { encoding: "quoted-printable".into() },
        ),
        ("Content-Type: application/pkcs7-mime\r\n\r\nMAA=\r\n\r\nMAA=\r\n", Error::Base64 { line: 3 }),
        ("Content-Type: application/pkcs7-mime\r\n\r\nM", Error::Base64 { line: 1 }),
        ("Content-Type: application/pkcs7-mime\r\n\r\n", Error::EmptyPayload),
        ("Content-Type: application/pkcs7-mime", Error::NoHeaderBodySeparator),
    ];
    for (input, expected) in errors {
        assert_eq!(parse_pkcs7_mime(input.as_bytes()).unwrap_err(), *expected, "{input}");
    }
}

#[test]
fn classify_table() {
    let cases: &[(&str, Kind)] = &[
        (
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=x\n\n",
            Kind::MultipartSigned,
        ),
        ("content-type: multipart/signed; boundary=x\n\n", Kind::MultipartSigned),
        ("Content-Type: multipart/signed; protocol=\"application/pgp-signature\"\n\n", Kind::Other),
        ("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=x\n\n", Kind::PgpMime),
        ("Content-Type: multipart/encrypted; protocol=\"application/other\"\n\n", Kind::Other),
        (
            "Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data\n\n",
            Kind::Pkcs7Mime(Some(SmimeType::AuthEnvelopedData)),
        ),
        ("Content-Type: text/plain\n\nContent-Type: application/pkcs7-mime\n", Kind::Other),
        ("Subject: none\n\n", Kind::Other),
        ("Content-Type: garbage\n\n", Kind::Other),
        ("", Kind::Other),
    ];
    for (input, kind) in cases {
        assert_eq!(classify(input.as_bytes()), *kind, "{input}");
    }
}

/// The in-place base64 writes each line over input it has already read: every length around
/// the line size (57 input bytes) and a large one give exactly base64ct's text in 76-column
/// CRLF lines, the reference written out the plain way.
#[test]
fn base64_in_place_matches_the_plain_encoding() {
    use base64ct::{Base64, Encoding};
    let reference = |data: &[u8]| {
        let text = Base64::encode_string(data);
        let mut out = Vec::new();
        for line in text.as_bytes().chunks(76) {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        out
    };
    let lengths = (0..=200).chain([569, 570, 571, 57 * 1000, 57 * 1000 + 1, 1_000_003]);
    for n in lengths {
        let data = fake_der(n);
        let mut buf = b"prefix".to_vec();
        buf.extend_from_slice(&data);
        super::super::codec::base64_lines_in_place(&mut buf, 6);
        assert_eq!(&buf[..6], b"prefix");
        assert!(buf[6..] == reference(&data)[..], "length {n}");
        assert_eq!(buf.len() - 6, super::super::codec::base64_lines_len(data.len()), "length {n}");
    }
}

#[test]
fn in_place_builders_match_the_copying_ones() {
    let der = fake_der(5000);
    let mut buf = der.clone();
    build_pkcs7_mime_in_place(&mut buf, SmimeType::EnvelopedData);
    assert_eq!(buf, build_pkcs7_mime(&der, SmimeType::EnvelopedData));

    let entity = b"Content-Type: text/plain\r\n\r\nhello\r\n".to_vec();
    let mut buf = entity.clone();
    build_multipart_signed_in_place(&mut buf, &der, "sha-256", "b0undary");
    assert_eq!(buf, build_multipart_signed(&entity, &der, "sha-256", "b0undary"));

    let mut lf = b"a\nb\r\nc\rd".to_vec();
    canonicalize_in_place(&mut lf);
    assert_eq!(lf, b"a\r\nb\r\nc\r\nd");
    let mut crlf = b"a\r\nb\r\n".to_vec();
    let before = crlf.as_ptr();
    canonicalize_in_place(&mut crlf);
    assert_eq!((crlf.as_slice(), crlf.as_ptr()), (&b"a\r\nb\r\n"[..], before), "canonical input stays where it is");
}
