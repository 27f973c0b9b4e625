//! `Content-Type` parsing: quoting, comments, leniency, RFC 2231.

#![allow(clippy::unwrap_used)]

use super::super::*;

type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

fn check(cases: &[Case<'_>]) {
    for (value, media_type, params) in cases {
        let ct = ContentType::parse(value).unwrap();
        assert_eq!(ct.media_type, *media_type, "{value}");
        assert_eq!(ct.params.len(), params.len(), "{value}: {:?}", ct.params);
        for (name, expected) in *params {
            assert_eq!(ct.param(name), Some(*expected), "{value}: {name}");
            assert_eq!(ct.param(&name.to_ascii_uppercase()), Some(*expected));
        }
    }
}

#[test]
fn content_type_table() {
    check(&[
        (
            "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; \
             boundary=\"----=_x\"",
            "multipart/signed",
            &[("protocol", "application/pkcs7-signature"), ("micalg", "sha-256"), ("boundary", "----=_x")],
        ),
        ("Multipart/Signed ; BOUNDARY=abc", "multipart/signed", &[("boundary", "abc")]),
        ("text/plain; name=\"a \\\"q\\\" \\\\b\"", "text/plain", &[("name", "a \"q\" \\b")]),
        ("text/plain (comment (nested) \\) ) ; charset = \"utf-8\" (trailing)", "text/plain", &[("charset", "utf-8")]),
        ("multipart/mixed; boundary=----=_Part_1_2.3", "multipart/mixed", &[("boundary", "----=_Part_1_2.3")]),
        ("text/plain; garbage; charset=utf-8;", "text/plain", &[("charset", "utf-8")]),
        ("text/plain; a=\"unterminated", "text/plain", &[("a", "unterminated")]),
        ("text / html", "text/html", &[]),
        ("text/plain; a=1; A=2", "text/plain", &[("a", "1"), ("a", "1")]),
    ]);
}

#[test]
fn content_type_rfc2231() {
    check(&[
        (
            "application/octet-stream; name*0=\"smime\"; name*1=\".p7m\"",
            "application/octet-stream",
            &[("name", "smime.p7m")],
        ),
        (
            "application/octet-stream; name*1=\".p7m\"; name*0=smime",
            "application/octet-stream",
            &[("name", "smime.p7m")],
        ),
        (
            "application/octet-stream; name*=utf-8''%E2%82%AC.p7m",
            "application/octet-stream",
            &[("name", "\u{20ac}.p7m")],
        ),
        (
            "text/plain; title*0*=iso-8859-1'en'caf%E9%20is; title*1*=%20fun; title*3=lost",
            "text/plain",
            &[("title", "caf\u{e9} is fun")],
        ),
        ("text/plain; x*=%zz%4", "text/plain", &[("x", "%zz%4")]),
    ]);
}

#[test]
fn content_type_errors() {
    for bad in ["", "text", "/plain", "text/", "; charset=x", "(only a comment)", "\"text\"/plain"] {
        assert!(matches!(ContentType::parse(bad), Err(Error::InvalidContentType { .. })), "{bad:?}");
    }
}
