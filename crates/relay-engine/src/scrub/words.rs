//! RFC 2047 encoded words, header folding and `Content-Type` serialization.

use std::ops::Range;

use pki_core::mime::ContentType;

use super::codec::{b64_decode, decode_charset, hex_val};

/// What a stretch of header text is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum SegKind {
    /// Plain text.
    Raw,
    /// An encoded word, with its decoded text (UTF-8).
    Word(Vec<u8>),
    /// Whitespace between two encoded words (dropped when decoding, RFC 2047 §6.2).
    Gap,
}

/// A stretch of header text.
#[derive(Clone, Debug)]
pub(super) struct Seg {
    /// Its bytes in the input.
    pub(super) raw: Range<usize>,
    /// What it is.
    pub(super) kind: SegKind,
}

/// The longest charset name and encoded text accepted in an encoded word.
const MAX_CHARSET: usize = 75;
const MAX_WORD_TEXT: usize = 4096;

/// Parses the encoded word at `at` (which starts with `=?`): its end and decoded text.
fn parse_word(input: &[u8], at: usize) -> Option<(usize, Vec<u8>)> {
    let rest = input.get(at + 2..)?;
    let q1 = rest.iter().take(MAX_CHARSET).position(|&b| b == b'?')?;
    let charset = rest.get(..q1)?;
    if charset.is_empty() || charset.iter().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let enc = rest.get(q1 + 1)?.to_ascii_lowercase();
    if (enc != b'b' && enc != b'q') || rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let len = rest.get(text_start..)?.iter().take(MAX_WORD_TEXT).position(|&b| b == b'?' || b.is_ascii_whitespace())?;
    let text = rest.get(text_start..text_start + len)?;
    if rest.get(text_start + len..text_start + len + 2) != Some(b"?=".as_slice()) {
        return None;
    }
    let bytes = if enc == b'b' { b64_decode(text) } else { q_decode(text) };
    let charset = String::from_utf8_lossy(charset);
    let charset = charset.split('*').next().unwrap_or_default();
    let decoded = decode_charset(&bytes, Some(charset)).into_owned().into_bytes();
    Some((at + 2 + text_start + len + 2, decoded))
}

/// RFC 2047 "Q" decoding.
fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                if let (Some(h), Some(l)) =
                    (text.get(i + 1).and_then(|&c| hex_val(c)), text.get(i + 2).and_then(|&c| hex_val(c)))
                {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

/// Cuts text into plain stretches, encoded words and the whitespace between words.
pub(super) fn segments(input: &[u8]) -> Vec<Seg> {
    let mut segs: Vec<Seg> = Vec::new();
    let mut pos = 0;
    let mut search = 0;
    while let Some(rel) = input.get(search..).and_then(|s| s.windows(2).position(|w| w == b"=?")) {
        let at = search + rel;
        let Some((end, text)) = parse_word(input, at) else {
            search = at + 1;
            continue;
        };
        if at > pos {
            let ws = input.get(pos..at).unwrap_or_default().iter().all(|b| b.is_ascii_whitespace());
            let after_word = segs.last().is_some_and(|s| matches!(s.kind, SegKind::Word(_)));
            let kind = if ws && after_word { SegKind::Gap } else { SegKind::Raw };
            segs.push(Seg { raw: pos..at, kind });
        }
        segs.push(Seg { raw: at..end, kind: SegKind::Word(text) });
        pos = end;
        search = end;
    }
    if pos < input.len() {
        segs.push(Seg { raw: pos..input.len(), kind: SegKind::Raw });
    }
    segs
}

/// Decodes every encoded word of `input` (the text a client shows).
pub(super) fn decode_words(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    for seg in segments(input) {
        match seg.kind {
            SegKind::Raw => out.extend_from_slice(input.get(seg.raw).unwrap_or_default()),
            SegKind::Word(text) => out.extend_from_slice(&text),
            SegKind::Gap => {}
        }
    }
    out
}

/// Encodes text as UTF-8 "Q" encoded words of at most 75 characters, separated by spaces.
pub(super) fn encode_words(text: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    const MAX_PAYLOAD: usize = 75 - "=?utf-8?q??=".len();
    let text = String::from_utf8_lossy(text);
    let mut out = Vec::with_capacity(text.len() * 2);
    let mut word: Vec<u8> = Vec::new();
    let flush = |out: &mut Vec<u8>, word: &mut Vec<u8>| {
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(b"=?utf-8?q?");
        out.append(word);
        out.extend_from_slice(b"?=");
    };
    let mut buf = [0u8; 4];
    for ch in text.chars() {
        let mut piece = Vec::with_capacity(12);
        for &b in ch.encode_utf8(&mut buf).as_bytes() {
            match b {
                b' ' => piece.push(b'_'),
                b if b.is_ascii_alphanumeric() || b"!*+-/".contains(&b) => piece.push(b),
                b => piece.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
            }
        }
        if !word.is_empty() && word.len() + piece.len() > MAX_PAYLOAD {
            flush(&mut out, &mut word);
        }
        word.extend_from_slice(&piece);
    }
    if !word.is_empty() || out.is_empty() {
        flush(&mut out, &mut word);
    }
    out
}

/// Folds an unfolded header value so lines stay within 78 columns where whitespace allows.
/// `col` is the width already used on the first line (`Name:`). Lines break only before
/// whitespace that is followed by text, so no line is whitespace alone.
pub(super) fn fold(col: usize, value: &[u8], eol: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + value.len() / 60 * 3);
    let mut col = col;
    let mut piece_start = 0;
    let breaks =
        value.windows(2).enumerate().filter(|(_, w)| (w[0] == b' ' || w[0] == b'\t') && !w[1].is_ascii_whitespace());
    for b in breaks.map(|(i, _)| i).chain([value.len()]) {
        let piece = value.get(piece_start..b).unwrap_or_default();
        let starts_ws = piece.first().is_some_and(|&c| c == b' ' || c == b'\t');
        if starts_ws && col + piece.len() > 78 {
            out.extend_from_slice(eol);
            col = 0;
        }
        out.extend_from_slice(piece);
        col += piece.len();
        piece_start = b;
    }
    out
}

/// Folds iCalendar / vCard content lines longer than 75 octets (RFC 5545 §3.1), at character
/// boundaries; shorter lines are left alone.
pub(super) fn fold_ical(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 64 * 3);
    for line in text.split_inclusive(|&b| b == b'\n') {
        let eol: &[u8] = if line.ends_with(b"\r\n") {
            b"\r\n"
        } else if line.ends_with(b"\n") {
            b"\n"
        } else {
            b""
        };
        let content = line.get(..line.len() - eol.len()).unwrap_or_default();
        let mut rest = content;
        let mut limit = 75;
        while rest.len() > limit {
            let mut cut = limit;
            while cut > 1 && rest.get(cut).is_some_and(|&b| b & 0xC0 == 0x80) {
                cut -= 1;
            }
            out.extend_from_slice(rest.get(..cut).unwrap_or_default());
            out.extend_from_slice(if eol.is_empty() { b"\r\n" } else { eol });
            out.push(b' ');
            rest = rest.get(cut..).unwrap_or_default();
            limit = 74;
        }
        out.extend_from_slice(rest);
        out.extend_from_slice(eol);
    }
    out
}

/// Whether `v` can be written as an RFC 2045 token.
fn is_token(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// A complete `Content-Type` field (line break included) for `ct`.
pub(super) fn content_type_field(name: &[u8], ct: &ContentType, eol: &[u8]) -> Vec<u8> {
    let mut out = name.to_vec();
    out.extend_from_slice(b": ");
    out.extend_from_slice(ct.media_type.as_bytes());
    let mut col = out.len();
    for (n, v) in &ct.params {
        let param = if is_token(v) {
            format!("{n}={v}")
        } else if v.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            format!("{n}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
        } else {
            let mut p = format!("{n}*=utf-8''");
            for b in v.bytes() {
                if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                    p.push(char::from(b));
                } else {
                    p.push_str(&format!("%{b:02X}"));
                }
            }
            p
        };
        if col + param.len() + 2 > 78 {
            out.push(b';');
            out.extend_from_slice(eol);
            out.push(b'\t');
            col = 8;
        } else {
            out.extend_from_slice(b"; ");
            col += 2;
        }
        out.extend_from_slice(param.as_bytes());
        col += param.len();
    }
    out.extend_from_slice(eol);
    out
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn words_round_trip() {
        let text = "Ünïcödé ".repeat(20);
        let enc = encode_words(text.as_bytes());
        assert!(enc.split(|&b| b == b' ').all(|w| w.len() <= 75));
        assert_eq!(decode_words(&enc), text.as_bytes());
        assert_eq!(decode_words(b"=?ISO-8859-1?Q?caf=E9?= =?utf-8?b?IGF0?= x"), "café at x".as_bytes());
    }

    #[test]
    fn folding() {
        let value = b" word".repeat(40);
        let folded = fold(8, &value, b"\r\n");
        assert!(folded.split(|&b| b == b'\n').all(|l| l.len() <= 80));
        assert_eq!(super::super::tree::unfold(&folded), value.as_slice());
    }
}
