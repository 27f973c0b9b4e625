//! Transfer encodings (quoted-printable, base64) and charsets.
//!
//! The decoders are lenient in the way mail clients are: a stray `=` in quoted-printable stays
//! literal, and base64 skips bytes outside its alphabet and restarts after padding. This matters
//! for [`super::leaks`]: it must see what a client would show.

use std::borrow::Cow;

use base64ct::{Base64, Encoding};
use mail_parser::decoders::charsets::map::charset_decoder;

/// A `Content-Transfer-Encoding`, reduced to what changes the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cte {
    /// `7bit`, `8bit`, `binary`, absent or unknown: the body is the content.
    Identity,
    /// `quoted-printable` (RFC 2045 §6.7).
    QuotedPrintable,
    /// `base64` (RFC 2045 §6.8).
    Base64,
}

impl Cte {
    /// Reads a lowercased `Content-Transfer-Encoding` token.
    pub(super) fn parse(token: &str) -> Self {
        match token {
            "base64" => Cte::Base64,
            "quoted-printable" => Cte::QuotedPrintable,
            _ => Cte::Identity,
        }
    }

    /// The header token for this encoding.
    pub(super) fn token(self) -> &'static str {
        match self {
            Cte::Identity => "8bit",
            Cte::QuotedPrintable => "quoted-printable",
            Cte::Base64 => "base64",
        }
    }
}

/// The value of one hexadecimal digit.
pub(super) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes a body according to its transfer encoding.
pub(super) fn decode(body: &[u8], cte: Cte) -> Cow<'_, [u8]> {
    match cte {
        Cte::Identity => Cow::Borrowed(body),
        Cte::QuotedPrintable => Cow::Owned(qp_decode(body)),
        Cte::Base64 => Cow::Owned(b64_decode(body)),
    }
}

/// Encodes content with a transfer encoding, lines ending in `eol`.
pub(super) fn encode(data: &[u8], cte: Cte, eol: &[u8]) -> Vec<u8> {
    match cte {
        Cte::Identity => data.to_vec(),
        Cte::QuotedPrintable => qp_encode(data, eol),
        Cte::Base64 => b64_encode(data, eol),
    }
}

/// Lenient quoted-printable decoding: invalid escapes stay literal.
pub(super) fn qp_decode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while let Some(&b) = data.get(i) {
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        if let (Some(h), Some(l)) =
            (data.get(i + 1).and_then(|&c| hex_val(c)), data.get(i + 2).and_then(|&c| hex_val(c)))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        let mut j = i + 1;
        while matches!(data.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        match (data.get(j), data.get(j + 1)) {
            (Some(b'\r'), Some(b'\n')) => i = j + 2,
            (Some(b'\n'), _) => i = j + 1,
            (None, _) => i = j,
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out
}

/// Whether the bytes at `i` start a line break (and its length).
fn line_break_at(data: &[u8], i: usize) -> Option<usize> {
    match (data.get(i), data.get(i + 1)) {
        (Some(b'\n'), _) => Some(1),
        (Some(b'\r'), Some(b'\n')) => Some(2),
        _ => None,
    }
}

/// Quoted-printable encoding with lines of at most 76 characters.
pub(super) fn qp_encode(data: &[u8], eol: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    let mut line = 0usize;
    let mut i = 0;
    while let Some(&b) = data.get(i) {
        if let Some(n) = line_break_at(data, i) {
            out.extend_from_slice(eol);
            line = 0;
            i += n;
            continue;
        }
        let at_line_end = line_break_at(data, i + 1).is_some() || i + 1 == data.len();
        let from_line = line == 0 && data.get(i..i + 5) == Some(b"From ".as_slice());
        let escape = b == b'='
            || (b < 32 && b != b'\t')
            || b >= 127
            || ((b == b' ' || b == b'\t') && at_line_end)
            || from_line
            || (line == 0 && b == b'.');
        let width = if escape { 3 } else { 1 };
        if line + width > 75 {
            out.push(b'=');
            out.extend_from_slice(eol);
            line = 0;
        }
        if escape {
            out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            out.push(b);
        }
        line += width;
        i += 1;
    }
    out
}

/// The value of a base64 alphabet byte.
fn b64_val(b: u8) -> Option<u32> {
    match b {
        b'A'..=b'Z' => Some(u32::from(b - b'A')),
        b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Lenient base64 decoding: bytes outside the alphabet are skipped, padding ends a group.
pub(super) fn b64_decode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 3);
    let mut acc = 0u32;
    let mut n = 0u32;
    let flush = |out: &mut Vec<u8>, acc: u32, n: u32| {
        let bytes = (acc << (6 * (4 - n))).to_be_bytes();
        let keep = match n {
            2 => 1,
            3 => 2,
            _ => 0,
        };
        out.extend_from_slice(bytes.get(1..1 + keep).unwrap_or_default());
    };
    for &b in data {
        if b == b'=' {
            flush(&mut out, acc, n);
            acc = 0;
            n = 0;
            continue;
        }
        let Some(v) = b64_val(b) else { continue };
        acc = acc << 6 | v;
        n += 1;
        if n == 4 {
            out.extend_from_slice(acc.to_be_bytes().get(1..4).unwrap_or_default());
            acc = 0;
            n = 0;
        }
    }
    flush(&mut out, acc, n);
    out
}

/// Base64 encoding in lines of 76 characters, separated by `eol` (no final line break).
pub(super) fn b64_encode(data: &[u8], eol: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 4 / 3 + data.len() / 57 * eol.len() + 4);
    for (i, chunk) in data.chunks(57).enumerate() {
        if i > 0 {
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(Base64::encode_string(chunk).as_bytes());
    }
    out
}

/// Whether every byte below 0x80 in this charset is the ASCII character (so an ASCII address
/// can be found and replaced in the encoded bytes without decoding them).
pub(super) fn ascii_safe(label: &str) -> bool {
    const UNSAFE: &[&str] = &[
        "utf-16",
        "utf16",
        "utf-32",
        "utf32",
        "ucs-",
        "ucs2",
        "unicode",
        "utf-7",
        "utf7",
        "shift",
        "sjis",
        "x-sjis",
        "ms-kanji",
        "ms_kanji",
        "windows-31j",
        "cp932",
        "ms932",
        "csshiftjis",
        "big5",
        "cn-big5",
        "x-x-big5",
        "csbig5",
        "gbk",
        "x-gbk",
        "gb18030",
        "gb2312",
        "csgb",
        "cp936",
        "iso-2022",
        "iso2022",
        "csiso2022",
        "hz",
        "x-mac-japanese",
    ];
    let label = label.trim().to_ascii_lowercase().replace('_', "-");
    !UNSAFE.iter().any(|p| label.starts_with(p))
}

/// Decodes text in `charset` (absent: UTF-8, falling back to windows-1252).
pub(super) fn decode_charset<'b>(bytes: &'b [u8], charset: Option<&str>) -> Cow<'b, str> {
    let label = charset.map(|c| c.trim().to_ascii_lowercase()).unwrap_or_default();
    let plain = matches!(label.as_str(), "" | "utf-8" | "utf8" | "us-ascii" | "ascii");
    if plain || charset_decoder(label.as_bytes()).is_none() {
        return match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) if label.starts_with("utf") => String::from_utf8_lossy(bytes),
            Err(_) => charset_decoder(b"windows-1252")
                .map_or_else(|| String::from_utf8_lossy(bytes), |f| Cow::Owned(f(bytes))),
        };
    }
    match charset_decoder(label.as_bytes()) {
        Some(f) => Cow::Owned(f(bytes)),
        None => String::from_utf8_lossy(bytes),
    }
}

/// The position of `needle` in `hay`.
pub(super) fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Sets the charset declared by HTML `<meta charset=…>` and `<meta http-equiv=…
/// content="text/html; charset=…">` tags to `utf-8`.
pub(super) fn fix_meta_charset(html: &[u8]) -> Vec<u8> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::with_capacity(html.len());
    let mut pos = 0;
    let mut search = 0;
    while let Some(rel) = lower.get(search..).and_then(|s| find_bytes(s, b"<meta")) {
        let start = search + rel;
        let window = lower.get(start..).unwrap_or_default();
        let end = start + window.iter().take(1024).position(|&b| b == b'>').unwrap_or(window.len().min(1024));
        if let Some(cs) = lower.get(start..end).and_then(|t| find_bytes(t, b"charset")) {
            let mut i = start + cs + 7;
            let skip_ws = |i: &mut usize| {
                while lower.get(*i).is_some_and(|b| b.is_ascii_whitespace()) {
                    *i += 1;
                }
            };
            skip_ws(&mut i);
            if lower.get(i) == Some(&b'=') {
                i += 1;
                skip_ws(&mut i);
                if matches!(lower.get(i), Some(b'"' | b'\'')) {
                    i += 1;
                }
                let vstart = i;
                while i < end && lower.get(i).is_some_and(|&b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b)) {
                    i += 1;
                }
                if i > vstart {
                    out.extend_from_slice(html.get(pos..vstart).unwrap_or_default());
                    out.extend_from_slice(b"utf-8");
                    pos = i;
                }
            }
        }
        search = end.max(start + 1);
    }
    out.extend_from_slice(html.get(pos..).unwrap_or_default());
    out
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn qp_round_trip() {
        let text = "Grüße, alice@real.example = ok \r\n\r\nFrom here. \r\n".repeat(5);
        let enc = qp_encode(text.as_bytes(), b"\r\n");
        assert!(enc.split(|&b| b == b'\n').all(|l| l.len() <= 77));
        assert_eq!(qp_decode(&enc), text.as_bytes());
        assert_eq!(qp_decode(b"a=3Db=\r\nc =zz"), b"a=bc =zz");
    }

    #[test]
    fn base64_round_trip_and_leniency() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        assert_eq!(b64_decode(&b64_encode(&data, b"\n")), data);
        assert_eq!(b64_decode(b"aGk=aGk="), b"hihi");
        assert_eq!(b64_decode(b"a G\r\n k"), b"hi");
    }

    #[test]
    fn charsets() {
        assert_eq!(decode_charset(b"caf\xe9", Some("iso-8859-1")), "café");
        assert_eq!(decode_charset(b"\x80", Some("windows-1252")), "€");
        assert_eq!(decode_charset(b"caf\xe9", None), "café");
        assert!(ascii_safe("ISO-8859-15") && !ascii_safe("Shift_JIS") && !ascii_safe("utf-16le"));
    }

    #[test]
    fn meta_charset() {
        let html =
            b"<HTML><META http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\"><meta charset='gbk'>";
        let want =
            b"<HTML><META http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"><meta charset='utf-8'>";
        assert_eq!(fix_meta_charset(html), want);
    }
}
