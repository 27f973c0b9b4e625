//! The benchmark's message and its S/MIME framing, shared by both libraries so that they do
//! exactly the same non-cryptographic work.
//!
//! The message is a `multipart/mixed` entity of about 70 KB: a short text part and a base64
//! attachment. Signing wraps it in `multipart/signed` (RFC 8551 §3.5.3) with the detached
//! SignedData in base64; that whole entity is then enveloped.
//!
//! The engine benchmark forwards a whole message of the same size ([`mail_headers`] +
//! [`mail_entity`]), with an HTML alternative as well.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::Result;

/// The entity's target size: 70 KB.
pub(crate) const ENTITY_SIZE: usize = 70 * 1024;

const SIGNED_BOUNDARY: &str = "----=_smime_bench_5f3c1e";

/// A deterministic `multipart/mixed` entity of about [`ENTITY_SIZE`] bytes, CRLF line endings.
pub(crate) fn entity() -> Vec<u8> {
    let text = "Hello,\r\n\r\nplease find the quarterly report attached. The figures for the \
                third quarter are\r\nbelow what we planned; details are on page 4.\r\n\r\nRegards,\r\nB.\r\n";
    let head = format!(
        "Content-Type: multipart/mixed; boundary=\"mix-7a1\"\r\n\r\n\
         --mix-7a1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{text}\r\n\
         --mix-7a1\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"report.pdf\"\r\n\r\n"
    );
    let tail = "\r\n--mix-7a1--\r\n";
    // base64 with 76-character lines: 57 raw bytes per 78 output bytes.
    let room = ENTITY_SIZE.saturating_sub(head.len() + tail.len());
    let mut attachment = vec![0u8; room / 78 * 57];
    ChaCha20Rng::from_seed([0x70; 32]).fill_bytes(&mut attachment);
    let mut out = head.into_bytes();
    out.extend_from_slice(&base64_lines(&attachment));
    // base64_lines ends with CRLF; the tail's CRLF belongs to the boundary delimiter.
    out.truncate(out.len() - 2);
    out.extend_from_slice(tail.as_bytes());
    out
}

/// The MIME entity of the engine benchmark's message (its `Content-Type` field, a blank line and
/// the body): `multipart/mixed` with a `multipart/alternative` (plain text and HTML) and a
/// base64 PDF attachment, sized so that [`mail_headers`] plus this make about
/// [`ENTITY_SIZE`] bytes. Put the headers in front of it to get a whole RFC 5322 message.
pub(crate) fn mail_entity() -> Vec<u8> {
    let text = "Hello Alice,\r\n\r\nplease find the quarterly report attached. The figures for the third \
                quarter are\r\nbelow what we planned; details are on page 4.\r\n\r\nRegards,\r\nBob\r\n";
    let html = "<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\"><title>Quarterly report</title></head>\r\n\
                <body style=\"font-family: sans-serif\">\r\n<p>Hello Alice,</p>\r\n\
                <p>please find the <b>quarterly report</b> attached. The figures for the third quarter are\r\n\
                below what we planned; details are on <a href=\"https://example.org/q3#p4\">page 4</a>.</p>\r\n\
                <p>Regards,<br>Bob</p>\r\n</body></html>\r\n";
    let head = format!(
        "Content-Type: multipart/mixed; boundary=\"mix-7a1\"\r\n\r\n\
         This is a multi-part message in MIME format.\r\n\
         --mix-7a1\r\nContent-Type: multipart/alternative; boundary=\"alt-3c9\"\r\n\r\n\
         --alt-3c9\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{text}\r\n\
         --alt-3c9\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{html}\r\n\
         --alt-3c9--\r\n\r\n\
         --mix-7a1\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"report.pdf\"\r\n\r\n"
    );
    let tail = "\r\n--mix-7a1--\r\n";
    let headers = mail_headers("sender0@example.org", 0).len();
    let room = ENTITY_SIZE.saturating_sub(headers + head.len() + tail.len());
    let mut attachment = vec![0u8; room / 78 * 57];
    ChaCha20Rng::from_seed([0x71; 32]).fill_bytes(&mut attachment);
    let mut out = head.into_bytes();
    out.extend_from_slice(&base64_lines(&attachment));
    out.truncate(out.len() - 2);
    out.extend_from_slice(tail.as_bytes());
    out
}

/// The header block (without the `Content-*` fields, which start [`mail_entity`]) of a message
/// from `sender` to the test world's alias, as it arrives from the Internet: trace fields, a
/// DKIM signature, the usual originator fields. `n` makes the Message-ID unique.
pub(crate) fn mail_headers(sender: &str, n: u64) -> String {
    format!(
        "Return-Path: <{sender}>\r\n\
         Received: from mx.example.org (mx.example.org [192.0.2.7])\r\n\tby mx.pportal.io with ESMTPS id 4f2a9c;\r\n\
         \tTue, 03 Mar 2026 09:59:58 +0000\r\n\
         DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1;\r\n\
         \th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\
         \tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSwganVzdCBhIHBsYWNlaG9sZGVyIG9mIGEgbGlrZWx5IHNpemU=\r\n\
         From: Sender {n} <{sender}>\r\n\
         To: Alice <quiet.otter.42@pportal.io>\r\n\
         Subject: Quarterly report (Q3)\r\n\
         Date: Tue, 03 Mar 2026 10:00:00 +0000\r\n\
         Message-ID: <{n}.q3-report@example.org>\r\n\
         User-Agent: Bench Mailer 1.0\r\n\
         MIME-Version: 1.0\r\n"
    )
}

/// `multipart/signed` around `entity`, carrying the detached SignedData `sig` (DER).
pub(crate) fn multipart_signed(entity: &[u8], sig: &[u8]) -> Vec<u8> {
    let b = SIGNED_BOUNDARY;
    let mut out = Vec::with_capacity(entity.len() + sig.len() * 2 + 512);
    out.extend_from_slice(
        format!(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;\r\n \
             boundary=\"{b}\"\r\n\r\nThis is an S/MIME signed message\r\n\r\n--{b}\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(entity);
    out.extend_from_slice(
        format!(
            "\r\n--{b}\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
             Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(&base64_lines(sig));
    out.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    out
}

/// Splits what [`multipart_signed`] made into the signed entity and the SignedData DER.
pub(crate) fn split_signed(msg: &[u8]) -> Result<(&[u8], Vec<u8>)> {
    let delimiter = format!("\r\n--{SIGNED_BOUNDARY}\r\n");
    let delimiter = delimiter.as_bytes();
    let first = find(msg, delimiter, 0).ok_or("multipart/signed: no first part")?;
    let start = first + delimiter.len();
    let end = find(msg, delimiter, start).ok_or("multipart/signed: no signature part")?;
    let sig_headers = end + delimiter.len();
    let body = find(msg, b"\r\n\r\n", sig_headers).ok_or("multipart/signed: signature part has no body")? + 4;
    let close = format!("\r\n--{SIGNED_BOUNDARY}--");
    let body_end = find(msg, close.as_bytes(), body).ok_or("multipart/signed: no closing delimiter")?;
    Ok((&msg[start..end], base64_decode(&msg[body..body_end])?))
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= haystack.len() {
        let rel = haystack[i..].iter().position(|&c| c == first)?;
        i += rel;
        if haystack.get(i..i + needle.len()) == Some(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 in lines of 76 characters, each ending with CRLF.
fn base64_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 57 * 78 + 80);
    for line in data.chunks(57) {
        for chunk in line.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
            let sextet = |shift: u32| ALPHABET[usize::from((n >> shift).to_le_bytes()[0] & 63)];
            out.push(sextet(18));
            out.push(sextet(12));
            out.push(if chunk.len() > 1 { sextet(6) } else { b'=' });
            out.push(if chunk.len() > 2 { sextet(0) } else { b'=' });
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn base64_decode(text: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b'\r' | b'\n' | b' ' | b'\t' => continue,
            _ => return Err(format!("bad base64 byte 0x{c:02x}").into()),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits).to_le_bytes()[0]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_round_trips() {
        let e = entity();
        assert!(e.len() <= ENTITY_SIZE && e.len() > ENTITY_SIZE - 200, "{}", e.len());
        let sig: Vec<u8> = (0..=255).collect();
        let msg = multipart_signed(&e, &sig);
        let (got, got_sig) = split_signed(&msg).expect("splits");
        assert_eq!(got, &e[..]);
        assert_eq!(got_sig, sig);
        for n in 0..5 {
            let data = &sig[..n];
            assert_eq!(base64_decode(&base64_lines(data)).expect("decodes"), data);
        }
    }

    #[test]
    fn engine_message_is_about_70_kb() {
        let msg = [mail_headers("sender12345@example.org", 12345).into_bytes(), mail_entity()].concat();
        assert!(msg.len() <= ENTITY_SIZE + 64 && msg.len() > ENTITY_SIZE - 200, "{}", msg.len());
        let text = String::from_utf8(msg).expect("ASCII");
        assert!(text.contains("\r\nFrom: Sender 12345 <sender12345@example.org>\r\n"));
        assert!(text.contains("text/html") && text.ends_with("\r\n--mix-7a1--\r\n"));
    }
}
