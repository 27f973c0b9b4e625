//! ASCII-armored blocks inside text: OpenPGP (RFC 9580 §6.2) and PEM (RFC 7468).
//!
//! A public key, a signature or a certificate pasted into a text body carries the address in
//! binary form (an OpenPGP user id, a certificate subject), which no text search can see: the
//! scrub removes such blocks and the leak check decodes them.

use std::ops::Range;

use super::RemovalReason;
use super::codec::{b64_decode, find_bytes};

/// One armored block.
#[derive(Clone, Debug)]
pub(super) struct Block {
    /// From `-----BEGIN` to the end of the `-----END …-----` line (or of the text).
    pub(super) range: Range<usize>,
    /// Why it would be removed (`None`: kept, such as an encrypted `PGP MESSAGE`).
    pub(super) reason: Option<RemovalReason>,
}

/// The key data of an `Autocrypt`-style header value (`…; keydata=BASE64`), decoded.
pub(super) fn keydata(value: &[u8]) -> Option<Vec<u8>> {
    let at = value.windows(8).position(|w| w.eq_ignore_ascii_case(b"keydata="))?;
    let rest = value.get(at + 8..)?;
    let end = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
    Some(b64_decode(rest.get(..end)?))
}

/// The longest armor label looked at.
pub(super) const MAX_LABEL: usize = 64;

/// What an armor label holds: the one table of key and signature labels, for armored blocks in
/// text and for parts that start with one (`classify`).
pub(super) fn reason(label: &[u8]) -> Option<RemovalReason> {
    let label = String::from_utf8_lossy(label).to_ascii_uppercase();
    match label.as_str() {
        "PGP PUBLIC KEY BLOCK" => Some(RemovalReason::PublicKey),
        "PGP PRIVATE KEY BLOCK" | "PGP SECRET KEY BLOCK" => Some(RemovalReason::PrivateKey),
        "PGP SIGNATURE" => Some(RemovalReason::Signature),
        l if l.contains("PRIVATE KEY") => Some(RemovalReason::PrivateKey),
        l if l.contains("CERTIFICATE") || l == "PKCS7" || l == "CMS" => Some(RemovalReason::Certificate),
        _ => None,
    }
}

/// The armored blocks of `text`, in order.
pub(super) fn blocks(text: &[u8]) -> Vec<Block> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = text.get(pos..).and_then(|t| find_bytes(t, b"-----BEGIN ")) {
        let start = pos + i;
        let after = start + b"-----BEGIN ".len();
        let label_len = text.get(after..).unwrap_or_default().iter().take(MAX_LABEL).position(|&b| b == b'-');
        let Some(label_len) = label_len else {
            pos = after;
            continue;
        };
        let label = text.get(after..after + label_len).unwrap_or_default();
        let mut end_marker = b"-----END ".to_vec();
        end_marker.extend_from_slice(label);
        let end = match text.get(after..).and_then(|t| find_bytes(t, &end_marker)) {
            Some(e) => {
                let e = after + e;
                text.get(e..).and_then(|t| t.iter().position(|&b| b == b'\n')).map_or(text.len(), |n| e + n + 1)
            }
            None => text.len(),
        };
        out.push(Block { range: start..end, reason: reason(label) });
        pos = end.max(after);
    }
    out
}

/// The decoded payload of an armored block (armor headers and checksum left out, quote
/// marks skipped).
pub(super) fn payload(block: &[u8]) -> Vec<u8> {
    let mut lines = block.split(|&b| b == b'\n').skip(1).map(|l| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        let start = l.iter().position(|&b| b != b'>' && b != b' ' && b != b'\t').unwrap_or(l.len());
        l.get(start..).unwrap_or_default()
    });
    let mut body = Vec::with_capacity(block.len());
    let mut pending: Vec<&[u8]> = Vec::new();
    let mut in_headers = true;
    for line in lines.by_ref() {
        if line.starts_with(b"-----") {
            break;
        }
        if in_headers {
            if line.is_empty() {
                in_headers = false;
                pending.clear();
                continue;
            }
            if find_bytes(line, b": ").is_some() {
                continue;
            }
            in_headers = false;
        }
        if line.first() == Some(&b'=') {
            continue;
        }
        pending.push(line);
    }
    for line in pending {
        body.extend_from_slice(line);
    }
    b64_decode(&body)
}

/// `text` without the blocks that carry keys, certificates or signatures, or whose payload
/// `reveals` something (whatever their label), and why each was removed; `None` when there is
/// none.
pub(super) fn strip(text: &[u8], reveals: impl Fn(&[u8]) -> bool) -> Option<(Vec<u8>, Vec<RemovalReason>)> {
    let mut found: Vec<Block> = blocks(text);
    for b in &mut found {
        if b.reason.is_none() && reveals(&payload(text.get(b.range.clone()).unwrap_or_default())) {
            b.reason = Some(RemovalReason::Certificate);
        }
    }
    found.retain(|b| b.reason.is_some());
    if found.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut pos = 0;
    for b in &found {
        out.extend_from_slice(text.get(pos..b.range.start).unwrap_or_default());
        pos = b.range.end;
    }
    out.extend_from_slice(text.get(pos..).unwrap_or_default());
    Some((out, found.iter().filter_map(|b| b.reason).collect()))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn blocks_and_payload() {
        let text = b"Hi\n> -----BEGIN PGP PUBLIC KEY BLOCK-----\n> Comment: x\n>\n> aGVsbG8=\n> =abcd\n> \
                     -----END PGP PUBLIC KEY BLOCK-----\nBye\n-----BEGIN PGP MESSAGE-----\n\nhQ==\n-----END PGP MESSAGE-----\n";
        let found = blocks(text);
        assert_eq!(found.len(), 2);
        assert_eq!(payload(&text[found[0].range.clone()]), b"hello");
        let (stripped, why) = strip(text, |_| false).unwrap();
        assert_eq!(why, [RemovalReason::PublicKey]);
        assert!(stripped.starts_with(b"Hi\n> Bye\n-----BEGIN PGP MESSAGE"));
        assert_eq!(payload(b"-----BEGIN CERTIFICATE-----\r\naGk=\r\n-----END CERTIFICATE-----"), b"hi");
    }
}
