//! Scrub tests: the fixtures in `fixtures/eml/scrub/` (each run with LF and with CRLF line
//! endings), edge cases, and hostile input (`robust`).

use mail_parser::{MessageParser, MimeHeaders, PartType};

use super::*;

mod robust;

const REAL: &str = "alice@real.example";
const ALIAS: &str = "quiet.otter.42@pportal.io";
const SCRUB: Scrub<'static> = Scrub { real: &[REAL], alias: ALIAS };

/// A fixture, as stored (LF line endings).
fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../fixtures/eml/scrub/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `raw` with LF and with CRLF line endings.
fn variants(raw: &[u8]) -> [Vec<u8>; 2] {
    let mut crlf = Vec::with_capacity(raw.len() + raw.len() / 40);
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            crlf.push(b'\r');
        }
        crlf.push(b);
    }
    [raw.to_vec(), crlf]
}

/// Scrubs `raw`, checks that no leak is left and that scrubbing again changes nothing.
fn check(raw: &[u8]) -> Scrubbed {
    assert!(!leaks(raw, REAL).is_empty(), "the fixture should leak before scrubbing");
    let out = scrub_message(raw, &SCRUB).unwrap();
    let left = leaks(&out.message, REAL);
    assert!(left.is_empty(), "leaks left: {left:?}\n{}", String::from_utf8_lossy(&out.message));
    let again = scrub_message(&out.message, &SCRUB).unwrap();
    assert_eq!(again.replacements, 0);
    assert!(again.removed_parts.is_empty());
    assert_eq!(again.message, out.message, "scrubbing is idempotent");
    out
}

/// Every leaf part as (media type, decoded text or binary as lossy text), nested messages
/// included, as mail-parser reads them.
fn parts(raw: &[u8]) -> Vec<(String, String)> {
    fn walk(msg: &mail_parser::Message<'_>, out: &mut Vec<(String, String)>) {
        for part in &msg.parts {
            let ct = part.content_type().map_or("text/plain".to_owned(), |c| {
                format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default()).to_ascii_lowercase()
            });
            match &part.body {
                PartType::Text(t) | PartType::Html(t) => out.push((ct, t.to_string())),
                PartType::Binary(b) | PartType::InlineBinary(b) => {
                    out.push((ct, String::from_utf8_lossy(b).into_owned()))
                }
                PartType::Message(m) => walk(m, out),
                PartType::Multipart(_) => {}
            }
        }
    }
    let msg = MessageParser::default().parse(raw).unwrap();
    let mut out = Vec::new();
    walk(&msg, &mut out);
    out
}

/// The decoded text of the first part of type `media`.
fn part(raw: &[u8], media: &str) -> String {
    parts(raw).into_iter().find(|(ct, _)| ct == media).unwrap_or_else(|| panic!("no {media} part")).1
}

/// The header block of `raw`.
fn header_block(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let end = text.find("\r\n\r\n").or_else(|| text.find("\n\n")).unwrap_or(text.len());
    text[..end].to_owned()
}

#[test]
fn every_fixture_runs() {
    let dir = format!("{}/../../fixtures/eml/scrub", env!("CARGO_MANIFEST_DIR"));
    let mut ran = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "eml") {
            for raw in variants(&std::fs::read(&path).unwrap()) {
                check(&raw);
                ran += 1;
            }
        }
    }
    assert!(ran >= 22, "only {ran} fixture runs");
}

#[test]
fn thunderbird_plain_reply_changes_only_the_address() {
    for raw in variants(&fixture("001-thunderbird-plain-flowed.eml")) {
        let out = check(&raw);
        let want = String::from_utf8(raw.clone()).unwrap().replace(REAL, ALIAS);
        assert_eq!(String::from_utf8(out.message.clone()).unwrap(), want);
        assert_eq!(out.replacements, 7);
        let body = part(&out.message, "text/plain");
        assert!(body.contains(&format!("Alice Example <{ALIAS}> wrote:")));
        assert!(body.contains(&format!("> Hi Alice ({ALIAS}),")));
        assert!(body.contains("Thanks a lot – I'll bake"));
    }
}

#[test]
fn gmail_quoted_printable_alternative() {
    for raw in variants(&fixture("002-gmail-alternative-qp.eml")) {
        let out = check(&raw);
        let text = part(&out.message, "text/plain");
        assert!(text.contains("attendee=quiet.otter.42%40pportal.io&id=42"));
        assert!(text.contains(&format!("something like {ALIAS}?")));
        let html = part(&out.message, "text/html");
        assert!(html.contains(&format!("<a href=\"mailto:{ALIAS}\">{ALIAS}</a>")));
        assert!(html.contains("quiet.otter.42&#64;pportal.io"));
        let message = String::from_utf8_lossy(&out.message);
        assert_eq!(message.matches("Content-Transfer-Encoding: quoted-printable").count(), 2);
        assert!(message.lines().all(|l| l.len() <= 998));
    }
}

#[test]
fn outlook_base64_latin1_and_cp1252_keep_their_text() {
    for raw in variants(&fixture("003-outlook-base64-latin1-cp1252.eml")) {
        let out = check(&raw);
        let text = part(&out.message, "text/plain");
        assert!(text.contains("Grüße aus Köln, Straße 5."), "{text}");
        assert!(text.contains(&format!("Rückfragen bitte an {ALIAS}.")));
        assert!(text.contains(&format!("An: Alice Example <{ALIAS}>")));
        let html = part(&out.message, "text/html");
        assert!(html.contains("über 120 € – „Grüße“ aus Köln"), "{html}");
        assert!(html.contains(&format!("mailto:{ALIAS}")));
        // ISO-8859-1 and windows-1252 are ASCII-compatible: the charsets stay, only the bytes of the address change.
        let message = String::from_utf8_lossy(&out.message);
        assert!(message.contains("charset=\"iso-8859-1\"") && message.contains("charset=\"Windows-1252\""));
        assert_eq!(message.matches("Content-Transfer-Encoding: base64").count(), 2);
    }
}

#[test]
fn apple_mail_encoded_words() {
    for raw in variants(&fixture("004-apple-mail-encoded-words.eml")) {
        let out = check(&raw);
        let msg = MessageParser::default().parse(&out.message).unwrap();
        let from = msg.from().and_then(|a| a.first()).unwrap();
        assert_eq!(from.name(), Some(format!("Alice Müller ({ALIAS})").as_str()));
        assert_eq!(from.address(), Some(ALIAS));
        assert_eq!(msg.subject(), Some(format!("Re: Fwd: note for {ALIAS} ✓").as_str()));
        let reply_to = msg.reply_to().and_then(|a| a.first()).unwrap();
        assert_eq!(reply_to.name(), Some(format!("Alice Müller <{ALIAS}>").as_str()));
        let org = msg.header("Organization").and_then(|h| h.as_text()).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&super::words::decode_words(org.as_bytes())),
            format!("Müller GmbH <{ALIAS}>")
        );
        let long: Vec<_> = header_block(&out.message).lines().filter(|l| l.len() > 78).map(str::to_owned).collect();
        assert!(long.is_empty(), "{long:?}");
        assert!(part(&out.message, "text/plain").contains(&format!("It says “for {ALIAS}”.")));
    }
}

#[test]
fn smime_signature_is_removed() {
    for raw in variants(&fixture("005-thunderbird-smime-signed.eml")) {
        let out = check(&raw);
        assert_eq!(out.removed_parts.len(), 1);
        let removed = &out.removed_parts[0];
        assert_eq!(removed.reason, RemovalReason::Signature);
        assert_eq!(removed.content_type, "application/pkcs7-signature");
        assert_eq!(removed.filename.as_deref(), Some("smime.p7s"));
        assert_eq!(removed.part, "2");
        let message = String::from_utf8_lossy(&out.message);
        assert!(!message.contains("application/pkcs7-signature") && !message.contains("MII"));
        let msg = MessageParser::default().parse(&out.message).unwrap();
        assert_eq!(msg.parts.len(), 1);
        assert!(msg.content_type().is_some_and(|c| c.ctype() == "text" && c.subtype() == Some("plain")));
        assert_eq!(msg.subject(), Some("Re: Contract draft"));
        assert!(part(&out.message, "text/plain").contains(&format!("My address is {ALIAS}.")));
    }
}

#[test]
fn attachments_keys_removed_pdf_untouched_vcard_scrubbed() {
    for raw in variants(&fixture("006-thunderbird-attachments.eml")) {
        let out = check(&raw);
        let removed: Vec<_> = out.removed_parts.iter().map(|r| (r.reason, r.filename.as_deref())).collect();
        assert_eq!(
            removed,
            [(RemovalReason::PublicKey, Some("alice.asc")), (RemovalReason::Certificate, Some("alice.cer"))]
        );
        assert_eq!(out.removed_headers, ["Autocrypt"]);
        // The PDF part, headers and base64 body, is the same bytes before and after.
        let before = MessageParser::default().parse(&raw).unwrap();
        let pdf = before.parts.iter().find(|p| p.attachment_name() == Some("invoice.pdf")).unwrap();
        let bytes = &raw[pdf.offset_header as usize..pdf.offset_end as usize];
        assert!(out.message.windows(bytes.len()).any(|w| w == bytes));
        assert_eq!(part(&out.message, "application/pdf"), part(&raw, "application/pdf"));
        let vcard = part(&out.message, "text/vcard");
        assert!(
            vcard.contains(&format!("EMAIL;TYPE=INTERNET,pref:{ALIAS}\n"))
                || vcard.contains(&format!("pref:{ALIAS}\r\n"))
        );
        assert!(vcard.contains(&format!("friends and family only: {ALIAS}")), "{vcard}");
        let kinds: Vec<String> = parts(&out.message).into_iter().map(|(ct, _)| ct).collect();
        assert_eq!(kinds, ["text/plain", "application/pdf", "text/vcard"]);
    }
}

#[test]
fn forwarded_message_is_scrubbed_recursively() {
    for raw in variants(&fixture("007-apple-mail-forward-rfc822.eml")) {
        let out = check(&raw);
        let msg = MessageParser::default().parse(&out.message).unwrap();
        let nested = msg.attachment(0).and_then(|a| a.message()).unwrap();
        assert_eq!(nested.from().and_then(|a| a.first()).and_then(|a| a.address()), Some(ALIAS));
        assert_eq!(nested.cc().and_then(|a| a.first()).and_then(|a| a.address()), Some(ALIAS));
        assert_eq!(nested.to().and_then(|a| a.first()).and_then(|a| a.address()), Some("landlord@housing.example"));
        assert!(nested.body_text(0).unwrap().contains(&format!("send the contract to {ALIAS}.")));
        assert!(nested.body_html(0).unwrap().contains(&format!("mailto:{ALIAS}")));
        assert_eq!(out.replacements, 7);
    }
}

#[test]
fn uppercase_variants() {
    for raw in variants(&fixture("008-outlook-uppercase.eml")) {
        let out = check(&raw);
        let message = String::from_utf8_lossy(&out.message);
        assert!(!message.to_ascii_lowercase().contains(REAL));
        assert!(message.contains(&format!("Please unsubscribe {ALIAS}, and also {ALIAS} if")));
        assert!(message.contains(&format!("From: \"{ALIAS}\" <{ALIAS}>")));
        assert!(message.contains(&format!("To: {ALIAS}")));
    }
}

#[test]
fn pgp_mime_signature_and_key_removed() {
    for raw in variants(&fixture("009-thunderbird-pgp-mime-signed.eml")) {
        let out = check(&raw);
        let reasons: Vec<_> = out.removed_parts.iter().map(|r| (r.part.as_str(), r.reason)).collect();
        assert_eq!(reasons, [("2", RemovalReason::Signature), ("1.2", RemovalReason::PublicKey)]);
        let msg = MessageParser::default().parse(&out.message).unwrap();
        assert!(msg.content_type().is_some_and(|c| c.subtype() == Some("mixed")));
        // The protected-header copies of From, To, Subject, Message-ID do not become duplicates.
        let headers = header_block(&out.message);
        for name in ["From:", "To:", "Subject:", "Message-ID:"] {
            assert_eq!(headers.lines().filter(|l| l.starts_with(name)).count(), 1, "{name}\n{headers}");
        }
        assert_eq!(msg.from().and_then(|a| a.first()).and_then(|a| a.address()), Some(ALIAS));
        assert_eq!(parts(&out.message).len(), 1);
        assert!(part(&out.message, "text/plain").contains(&format!("Alice <{ALIAS}>")));
    }
}

#[test]
fn calendar_fold_inside_the_address() {
    for raw in variants(&fixture("010-outlook-calendar-reply.eml")) {
        let out = check(&raw);
        let ics = part(&out.message, "text/calendar").replace("\r\n ", "");
        assert!(ics.contains(&format!("CN=Alice Example:mailto:{ALIAS}\r\n")), "{ics}");
        assert!(part(&out.message, "text/calendar").lines().all(|l| l.len() <= 75));
    }
}

#[test]
fn japanese_charsets_become_utf8() {
    for raw in variants(&fixture("011-japanese-iso2022jp-shiftjis.eml")) {
        let out = check(&raw);
        let text = part(&out.message, "text/plain");
        assert!(text.contains(&format!("了解です。連絡は {ALIAS} までお願いします。")), "{text}");
        let html = part(&out.message, "text/html");
        assert!(html.contains(&format!("<a href=\"mailto:{ALIAS}\">アリス</a>")), "{html}");
        assert!(html.contains("charset=utf-8\">"));
        let message = String::from_utf8_lossy(&out.message);
        assert!(message.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(message.contains("Content-Transfer-Encoding: quoted-printable"));
        assert!(message.contains("Content-Type: text/html; charset=utf-8"));
        assert!(!message.lines().any(|l| l.starts_with("Content-Type") && (l.contains("JIS") || l.contains("2022"))));
    }
}

#[test]
fn message_without_the_address_is_byte_identical() {
    let raw = fixture("006-thunderbird-attachments.eml");
    let out = scrub_message(&raw, &Scrub { real: &["carol@elsewhere.example"], alias: ALIAS }).unwrap();
    assert_eq!(out.replacements, 0);
    // Keys are still removed (they are removed whoever they belong to).
    assert_eq!(out.removed_parts.len(), 2);
    let plain = fixture("001-thunderbird-plain-flowed.eml");
    let out = scrub_message(&plain, &Scrub { real: &["carol@elsewhere.example"], alias: ALIAS }).unwrap();
    assert_eq!(out.message, plain);
}

#[test]
fn several_real_addresses() {
    let raw = b"From: A <alice@real.example>\nCc: alice.work@corp.example\nSubject: x\n\nalice@real.example \
                and ALICE.WORK@CORP.EXAMPLE\n";
    let s = Scrub { real: &[REAL, "alice.work@corp.example"], alias: ALIAS };
    let out = scrub_message(raw, &s).unwrap();
    assert_eq!(out.replacements, 4);
    assert!(leaks(&out.message, "alice.work@corp.example").is_empty() && leaks(&out.message, REAL).is_empty());
}

#[test]
fn base64_encoded_rfc822_is_decoded_and_reencoded() {
    let inner = "From: Alice <alice@real.example>\r\nSubject: old\r\n\r\nmail me: alice@real.example\r\n";
    let b64 = <base64ct::Base64 as base64ct::Encoding>::encode_string(inner.as_bytes());
    let raw = format!(
        "From: x@y.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
         hi\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
    );
    assert!(leaks(raw.as_bytes(), REAL).iter().any(|l| l.form == LeakForm::Base64));
    let out = check(raw.as_bytes());
    assert_eq!(out.replacements, 2);
    assert!(part(&out.message, "text/plain").contains("hi"));
}

#[test]
fn errors_fail_closed() {
    let only_key = b"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: \
                     application/pgp-keys\n\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n--b--\n";
    assert_eq!(scrub_message(only_key, &SCRUB), Err(ScrubError::NothingLeft));
    let opaque = b"Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\n\nMIIB\n";
    assert_eq!(scrub_message(opaque, &SCRUB), Err(ScrubError::OpaqueSigned { part: String::new() }));
    let boundary =
        b"Content-Type: multipart/mixed; boundary=\"alice@real.example/x\"\n\n--alice@real.example/x\n\nhi\n";
    assert!(matches!(scrub_message(boundary, &SCRUB), Err(ScrubError::BoundaryContainsAddress { .. })));
    assert_eq!(scrub_message(b"", &Scrub { real: &[], alias: ALIAS }), Err(ScrubError::NoRealAddress));
    let pdf = b"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0gYWxpY2VAcmVhbC5leGFtcGxl\n";
    assert!(matches!(scrub_message(pdf, &SCRUB), Err(ScrubError::AddressInBinary { .. })));
    let two = b"Content-Type: text/plain\nContent-Type: text/html\n\nhi\n";
    assert!(matches!(scrub_message(two, &SCRUB), Err(ScrubError::AmbiguousHeader { field: "content-type", .. })));
    // mail-parser reads an unknown type as binary, where the leak check has no word boundaries.
    let residual = b"Content-Type: application/x-notes\n\nid=alice@real.example0\n";
    assert!(matches!(scrub_message(residual, &SCRUB), Err(ScrubError::Residual { .. })));
    for bad in ["", "alice", "a b@c", "@x", "x@"] {
        let err = scrub_message(b"", &Scrub { real: &[bad], alias: ALIAS });
        assert_eq!(err, Err(ScrubError::InvalidAddress { which: "real", index: 0 }), "{bad:?}");
    }
    let err = scrub_message(b"", &Scrub { real: &[REAL], alias: "x.alice@real.example" });
    assert!(err.is_ok(), "x.alice@… is another mailbox");
    let err = scrub_message(b"", &Scrub { real: &[REAL], alias: "<alice@real.example>" });
    assert_eq!(err, Err(ScrubError::InvalidAddress { which: "alias", index: 0 }));
}

#[test]
fn multipart_left_with_one_part_stays_multipart() {
    let raw = b"From: alice@real.example\nContent-Type: multipart/mixed; boundary=b\n\npre\n--b\n\
                Content-Type: text/plain\n\nhello\n--b\nContent-Type: application/x-pem-file; name=a.pem\n\n\
                -----BEGIN CERTIFICATE-----\n--b--\nepi\n";
    let out = scrub_message(raw, &SCRUB).unwrap();
    let want = format!(
        "From: {ALIAS}\nContent-Type: multipart/mixed; boundary=b\n\npre\n--b\nContent-Type: text/plain\n\nhello\n--b--\nepi\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.message), want);
}

#[test]
fn leaks_reports_forms() {
    let raw = b"Subject: =?utf-8?b?YWxpY2VAcmVhbC5leGFtcGxl?=\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\
                Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nalice@real.exa=\nmple\n\
                --b\nContent-Type: text/html\n\n<p>alice<wbr>@real.example</p>\n--b\nContent-Type: text/plain; \
                charset=utf-16le\nContent-Transfer-Encoding: base64\n\nYQBsAGkAYwBlAEAAcgBlAGEAbAAuAGUAeABhAG0AcABsAGUA\n--b--\n";
    let found = leaks(raw, REAL);
    let has = |form| found.iter().any(|l| l.form == form);
    assert!(has(LeakForm::EncodedWord) && has(LeakForm::QuotedPrintable) && has(LeakForm::Escaped), "{found:?}");
    assert!(has(LeakForm::Charset), "{found:?}");
    assert!(found.iter().any(|l| l.place == LeakPlace::Header("Subject".into())));
    let out = check(raw);
    assert_eq!(out.replacements, 4);
}
