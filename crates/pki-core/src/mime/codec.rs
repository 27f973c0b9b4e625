//! Line-ending canonicalization (RFC 8551 §3.1.1), MIME base64 (RFC 2045 §6.8)
//! and small byte helpers shared by the MIME submodules.

use alloc::string::String;
use alloc::vec::Vec;
use base64ct::{Base64, Encoding};

use super::Error;

/// Line length of the base64 bodies written by this module (RFC 2045 §6.8).
pub(super) const BASE64_LINE_LEN: usize = 76;

/// Longest excerpt of input data copied into an [`Error`].
const EXCERPT_LEN: usize = 128;

/// Converts `entity` to canonical form: every line ending becomes CRLF.
///
/// A bare LF and a bare CR each become CRLF; an existing CRLF is kept as is.
/// Nothing else changes (no trailing line break is added, no whitespace is
/// touched). This is the canonical form that S/MIME signs and encrypts
/// (RFC 8551 §3.1.1); it is idempotent.
#[must_use]
pub fn canonicalize(entity: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entity.len().saturating_add(entity.len() / 16));
    let mut rest = entity;
    while let Some(pos) = rest.iter().position(|&b| b == b'\r' || b == b'\n') {
        let (text, tail) = rest.split_at(pos);
        out.extend_from_slice(text);
        out.extend_from_slice(b"\r\n");
        rest = match tail {
            [b'\r', b'\n', after @ ..] => after,
            [_, after @ ..] => after,
            [] => tail,
        };
    }
    out.extend_from_slice(rest);
    out
}

/// As [`canonicalize`], in place: an entity that is already canonical (as mail received over
/// SMTP is) is left where it is, without a copy.
pub fn canonicalize_in_place(entity: &mut Vec<u8>) {
    if !is_canonical(entity) {
        *entity = canonicalize(entity);
    }
}

/// Whether every CR in `data` is followed by LF and every LF preceded by CR.
pub(crate) fn is_canonical(data: &[u8]) -> bool {
    let mut prev_cr = false;
    for &b in data {
        match b {
            b'\n' if !prev_cr => return false,
            _ if prev_cr && b != b'\n' => return false,
            _ => {}
        }
        prev_cr = b == b'\r';
    }
    !prev_cr
}

/// Turns every LF that is not preceded by CR into CRLF; CR is left alone.
///
/// Undoes the CRLF-to-LF conversion of mail stores without touching a bare CR
/// that a signer kept inside a line (OpenSSL does keep them).
pub(super) fn lf_to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().saturating_add(data.len() / 16));
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// Whether `data` has an LF not preceded by CR.
pub(super) fn has_bare_lf(data: &[u8]) -> bool {
    data.first() == Some(&b'\n') || data.windows(2).any(|w| matches!(w, [a, b'\n'] if *a != b'\r'))
}

/// Appends `data` base64-encoded in lines of [`BASE64_LINE_LEN`] characters,
/// each followed by CRLF.
pub(super) fn push_base64_lines(out: &mut Vec<u8>, data: &[u8]) {
    let start = out.len();
    out.reserve(base64_lines_len(data.len()));
    out.extend_from_slice(data);
    base64_lines_in_place(out, start);
}

/// Input bytes per base64 line.
const BASE64_LINE_INPUT: usize = BASE64_LINE_LEN / 4 * 3;

/// The length of [`push_base64_lines`]' output for `n` bytes of data.
pub(super) fn base64_lines_len(n: usize) -> usize {
    let chars = n.div_ceil(3).saturating_mul(4);
    chars.saturating_add(chars.div_ceil(BASE64_LINE_LEN).saturating_mul(2))
}

/// Encodes `buf[start..]` as [`push_base64_lines`] would, where it lies: the vector grows to
/// the encoded length, and the lines are written from the last backwards. Line `i` lands at or
/// after where its input began (78 output bytes per 57 input bytes), so writing it never
/// overwrites input still to be read, and the data never exists twice.
pub(super) fn base64_lines_in_place(buf: &mut Vec<u8>, start: usize) {
    let n = buf.len().saturating_sub(start);
    buf.resize(start.saturating_add(base64_lines_len(n)), 0);
    let Some(region) = buf.get_mut(start..) else { return };
    for line in (0..n.div_ceil(BASE64_LINE_INPUT)).rev() {
        let from = line * BASE64_LINE_INPUT;
        let len = BASE64_LINE_INPUT.min(n - from);
        let mut input = [0u8; BASE64_LINE_INPUT];
        input[..len].copy_from_slice(&region[from..from + len]);
        let mut text = [0u8; BASE64_LINE_LEN];
        let Ok(encoded) = Base64::encode(&input[..len], &mut text) else { return };
        let at = line * (BASE64_LINE_LEN + 2);
        let end = at + encoded.len();
        region[at..end].copy_from_slice(encoded.as_bytes());
        region[end..end + 2].copy_from_slice(b"\r\n");
    }
}

/// Decodes a MIME base64 body.
///
/// Whitespace (including CR and LF) is ignored and missing trailing padding is
/// tolerated; any other character outside the base64 alphabet is an error, as is
/// data after the padding. Line numbers in errors are 1-based within `body`.
pub(super) fn decode_base64(body: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = body.to_vec();
    decode_base64_in_place(&mut out, 0)?;
    Ok(out)
}

/// As [`decode_base64`], for the body at `buf[start..]`, in place: on success `buf[start..]`
/// holds the decoded octets. Every output octet is written where input has already been read,
/// so the message costs no second buffer. On error `buf[start..]` is unspecified.
pub(super) fn decode_base64_in_place(buf: &mut Vec<u8>, start: usize) -> Result<(), Error> {
    let mut line = 1usize;
    let mut last_data_line = 1usize;
    let mut padding = 0usize;
    let mut w = start;
    for r in start..buf.len() {
        let b = buf[r];
        match b {
            b'\n' => line = line.saturating_add(1),
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => {}
            b'=' => {
                padding = padding.saturating_add(1);
                if padding > 2 {
                    return Err(Error::Base64 { line });
                }
                buf[w] = b;
                w += 1;
                last_data_line = line;
            }
            _ if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' => {
                if padding > 0 {
                    return Err(Error::Base64 { line });
                }
                buf[w] = b;
                w += 1;
                last_data_line = line;
            }
            _ => return Err(Error::Base64 { line }),
        }
    }
    buf.truncate(w);
    match (w - start) % 4 {
        0 => {}
        1 => return Err(Error::Base64 { line: last_data_line }),
        rem => buf.resize(w + 4 - rem, b'='),
    }
    let n = Base64::decode_in_place(&mut buf[start..]).map_err(|_| Error::Base64 { line: last_data_line })?.len();
    buf.truncate(start + n);
    Ok(())
}

/// A short, lossily decoded excerpt of `bytes` for error messages.
pub(super) fn excerpt(bytes: &[u8]) -> String {
    let cut = bytes.get(..EXCERPT_LEN).unwrap_or(bytes);
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if cut.len() < bytes.len() {
        s.push('…');
    }
    s
}

/// Strips leading and trailing spaces and tabs.
pub(super) fn trim_wsp(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Finds the line starting at `pos`: returns the end of its content (before
/// CRLF or LF) and the start of the next line (`data.len()` at end of input).
///
/// A CR directly before the LF belongs to the line ending; a CR at the very end
/// of the input is treated as a (truncated) line ending too.
pub(super) fn line_at(data: &[u8], pos: usize) -> (usize, usize) {
    let rest = data.get(pos..).unwrap_or_default();
    match rest.iter().position(|&b| b == b'\n') {
        Some(off) => {
            let nl = pos.saturating_add(off);
            let end = if off > 0 && rest.get(off - 1) == Some(&b'\r') { nl - 1 } else { nl };
            (end, nl.saturating_add(1))
        }
        None if rest.last() == Some(&b'\r') => (data.len() - 1, data.len()),
        None => (data.len(), data.len()),
    }
}
