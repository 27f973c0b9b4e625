//! Unit tests of the MIME layer (OpenSSL fixtures and robustness checks are in
//! the submodules).

#![allow(clippy::unwrap_used)]

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::codec::is_canonical;
use super::*;

mod content_type;
mod openssl;
mod pkcs7;
mod robustness;
mod signed;

pub(super) const BOUNDARY: &str = "----=_smime_00112233445566778899aabbccddeeff";

/// A fake DER signature long enough for several base64 lines.
pub(super) fn fake_der(len: usize) -> Vec<u8> {
    let mut der = vec![0x30, 0x82];
    der.extend((0..len).map(|i| u8::try_from(i % 251).unwrap()));
    der
}

/// Every line of `msg` ends in CRLF, no line exceeds RFC 5322's 998
/// characters, and base64 lines are at most 76 characters.
pub(super) fn assert_crlf_and_short_lines(msg: &[u8]) {
    assert!(is_canonical(msg), "not all CRLF: {:?}", String::from_utf8_lossy(msg));
    assert!(msg.ends_with(b"\r\n"));
    let is_base64 =
        |line: &[u8]| !line.is_empty() && line.iter().all(|&b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
    let mut base64_lines = 0;
    for line in msg.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        assert!(line.len() <= 78, "line too long: {}", line.len());
        if is_base64(line) {
            base64_lines += 1;
            assert!(line.len() <= 76, "base64 line too long: {}", line.len());
        }
    }
    assert!(base64_lines > 1);
}

#[test]
fn canonicalize_table() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"", b""),
        (b"abc", b"abc"),
        (b"a\nb", b"a\r\nb"),
        (b"a\r\nb", b"a\r\nb"),
        (b"a\rb", b"a\r\nb"),
        (b"a\n\r\n", b"a\r\n\r\n"),
        (b"\r\r\n\n", b"\r\n\r\n\r\n"),
        (b"\n\n", b"\r\n\r\n"),
        (b"end\r", b"end\r\n"),
    ];
    for (input, expected) in cases {
        let out = canonicalize(input);
        assert_eq!(&out, expected, "input {input:?}");
        assert_eq!(canonicalize(&out), out, "idempotent on {input:?}");
        assert!(is_canonical(&out));
        assert_eq!(is_canonical(input), input == expected, "{input:?}");
    }
}

#[test]
fn header_value_table() {
    let headers = b"From: a@example.org\r\nSUBJECT: hello\r\n  folded\tworld \r\n\
Content-Type: text/plain;\n charset=\"utf-8\"\nX-Spaced : yes\n\nBody: not a header\n";
    let cases: &[(&str, Option<&str>)] = &[
        ("from", Some("a@example.org")),
        ("Subject", Some("hello  folded\tworld")),
        ("content-type", Some("text/plain; charset=\"utf-8\"")),
        ("x-spaced", Some("yes")),
        ("body", None),
        ("to", None),
    ];
    for (name, expected) in cases {
        assert_eq!(header_value(headers, name).as_deref(), *expected, "{name}");
    }
}

#[test]
fn split_and_join_message() {
    let msg = b"Received: from x\n\tby y\nFrom: Alice <a@example.org>\nTo: b@example.org\n\
Subject: Hi\nMIME-Version: 1.0\nContent-Type: text/plain;\n  charset=utf-8\n\
Content-Transfer-Encoding: 7bit\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nBody line\n";
    let split = split_message(msg).unwrap();
    assert_eq!(
        split.outer_headers,
        b"Received: from x\r\n\tby y\r\nFrom: Alice <a@example.org>\r\nTo: b@example.org\r\n\
Subject: Hi\r\nMIME-Version: 1.0\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    );
    assert_eq!(
        split.content_headers,
        b"Content-Type: text/plain;\r\n  charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n"
    );
    assert_eq!(split.body, b"Body line\n");
    let entity = split.entity();
    assert_eq!(header_value(&entity, "content-type").unwrap(), "text/plain;  charset=utf-8");

    let joined = join_message(&split.outer_headers, &entity);
    // The outer fields keep their order; the entity follows them.
    let expected: &[u8] = b"Received: from x\r\n\tby y\r\nFrom: Alice <a@example.org>\r\n\
To: b@example.org\r\nSubject: Hi\r\nMIME-Version: 1.0\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\
Content-Type: text/plain;\r\n  charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nBody line\r\n";
    assert_eq!(joined, expected);
}

#[test]
fn split_message_edge_cases() {
    // No body, no empty line; no Content-Type: the default is added.
    let split = split_message(b"From: a\nSubject: b").unwrap();
    assert_eq!(split.outer_headers, b"From: a\r\nSubject: b\r\n");
    assert_eq!(split.content_headers, b"Content-Type: text/plain; charset=us-ascii\r\n");
    assert_eq!(split.body, b"");
    // Empty line but empty body.
    let split = split_message(b"From: a\r\nContent-Type: text/html\r\n\r\n").unwrap();
    assert_eq!(split.content_headers, b"Content-Type: text/html\r\n");
    assert_eq!(split.body, b"");
    // Empty input is an empty message.
    let split = split_message(b"").unwrap();
    assert!(split.outer_headers.is_empty());
    // Malformed lines.
    for bad in [&b"From a\n\nbody"[..], b" leading continuation: x\n\n", b": no name\n\n"] {
        assert!(matches!(split_message(bad), Err(Error::MalformedHeader { line: 1 })));
    }
    assert_eq!(split_message(b"A: 1\n\tcont\nB 2\n\n").unwrap_err(), Error::MalformedHeader { line: 3 });
}

#[test]
fn join_message_adds_version_and_drops_content_fields() {
    let joined = join_message(b"From: a\nContent-Type: text/html\nTo: b", b"Content-Type: x/y\n\nz");
    assert_eq!(joined, b"From: a\r\nTo: b\r\nMIME-Version: 1.0\r\nContent-Type: x/y\r\n\r\nz");
    let joined = join_message(b"mime-version: 1.0\r\n\r\n", b"Content-Type: x/y\r\n\r\n");
    assert_eq!(joined, b"mime-version: 1.0\r\nContent-Type: x/y\r\n\r\n");
}

#[test]
fn errors_display() {
    let errors = [
        Error::NoHeaderBodySeparator,
        Error::MalformedHeader { line: 3 },
        Error::HeaderTooLong { line: 1 },
        Error::Base64 { line: 7 },
        Error::UnexpectedSmimeType { expected: SmimeType::EnvelopedData, found: None },
        Error::NotMultipartSigned { content_type: "text/plain".into() },
    ];
    for error in errors {
        let text = alloc::string::ToString::to_string(&error);
        assert!(!text.is_empty());
        let _: &dyn core::error::Error = &error;
    }
    assert_eq!(alloc::string::ToString::to_string(&Error::Base64 { line: 7 }), "invalid base64 at line 7");
}
