//! Finding an address in every form a client would show as that address.
//!
//! A match is the address compared ASCII case-insensitively, where each character may also be
//! written as a percent escape (`%40`) or an HTML character reference (`&#64;`, `&#x40;`,
//! `&commat;`). In HTML, tags between the characters (`alice<wbr>@…`, `<span>alice</span>@…`)
//! are skipped; in iCalendar and vCard, line folds are; in `format=flowed; delsp=yes` text,
//! soft line breaks are. A match must not be preceded by a letter, digit, `.`, `_`, `+` or `-`
//! (`malice@…` is another mailbox) nor followed by a letter, digit, `-` or `_`.

use std::ops::Range;

use super::codec::hex_val;
use super::words::{SegKind, encode_words, segments};

/// Line folds that a client removes before showing the text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Fold {
    /// None.
    #[default]
    None,
    /// iCalendar / vCard folding: a line break followed by one space or tab (RFC 5545 §3.1).
    Ical,
    /// `format=flowed; delsp=yes`: space, line break, quote marks, stuffed space (RFC 3676).
    FlowedDelSp,
}

/// What may sit between the characters of an address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Skips {
    /// HTML tags.
    pub(super) html: bool,
    /// Line folds.
    pub(super) fold: Fold,
}

impl Skips {
    /// HTML tags skipped, no folds: used everywhere except where a fold style applies.
    /// (Skipping tags in plain text too keeps the scrub and the leak check in step.)
    pub(super) const ANY: Skips = Skips { html: true, fold: Fold::None };
}

/// How the `@` of a match was written, so the replacement uses the same form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AtForm {
    Literal,
    Percent,
    Entity,
}

/// One occurrence of an address.
#[derive(Clone, Debug)]
pub(super) struct Hit {
    /// The bytes of the occurrence.
    pub(super) range: Range<usize>,
    /// Whether some character was escaped or something was skipped inside it.
    pub(super) escaped: bool,
    at: AtForm,
    /// HTML tags inside the occurrence (kept after the replacement).
    tags: Vec<Range<usize>>,
}

/// The addresses to find and the alias that replaces them.
#[derive(Clone, Debug)]
pub(super) struct Matcher {
    needles: Vec<Vec<u8>>,
    alias: Vec<u8>,
    first: [bool; 256],
}

/// The longest tag skipped inside an address, and how many skips one character may take.
const MAX_TAG: usize = 512;
const MAX_SKIPS: usize = 8;

impl Matcher {
    /// A matcher for `needles` (the real addresses), replacing them with `alias`.
    pub(super) fn new(needles: &[&str], alias: &str) -> Self {
        let mut m = Self::from_bytes(needles.iter().map(|n| n.as_bytes().to_vec()).collect());
        m.alias = alias.as_bytes().to_vec();
        m
    }

    /// A matcher for byte strings (UTF-16 forms of an address), used only to find.
    pub(super) fn from_bytes(needles: Vec<Vec<u8>>) -> Self {
        let mut first = [false; 256];
        first[usize::from(b'%')] = true;
        first[usize::from(b'&')] = true;
        let needles: Vec<Vec<u8>> =
            needles.into_iter().filter(|n| !n.is_empty()).map(|n| n.to_ascii_lowercase()).collect();
        for n in &needles {
            if let Some(&c) = n.first() {
                first[usize::from(c)] = true;
                first[usize::from(c.to_ascii_uppercase())] = true;
            }
        }
        Matcher { needles, alias: Vec::new(), first }
    }

    /// A matcher for the UTF-16 (little- and big-endian) forms of the addresses, to look
    /// into binary content.
    pub(super) fn utf16(&self) -> Self {
        let mut needles = Vec::with_capacity(self.needles.len() * 2);
        for n in &self.needles {
            let text = String::from_utf8_lossy(n);
            needles.push(text.encode_utf16().flat_map(u16::to_le_bytes).collect());
            needles.push(text.encode_utf16().flat_map(u16::to_be_bytes).collect());
        }
        Self::from_bytes(needles)
    }

    /// Whether every address is ASCII.
    pub(super) fn ascii(&self) -> bool {
        self.needles.iter().all(|n| n.is_ascii())
    }

    /// All non-overlapping occurrences, leftmost first, the longest address winning.
    pub(super) fn find(&self, hay: &[u8], skips: Skips) -> Vec<Hit> {
        self.find_with(hay, skips, true)
    }

    /// Whether an address occurs in binary content (DER, OpenPGP packets, …), where the
    /// bytes around it say nothing about where an address ends: no boundary checks.
    pub(super) fn in_binary(&self, hay: &[u8]) -> bool {
        !self.find_with(hay, Skips::default(), false).is_empty()
    }

    fn find_with(&self, hay: &[u8], skips: Skips, bounded: bool) -> Vec<Hit> {
        let mut hits = Vec::new();
        let mut i = 0;
        while i < hay.len() {
            let candidate =
                hay.get(i).is_some_and(|&b| self.first[usize::from(b)]) && !(bounded && blocked_before(hay, i));
            let best = if candidate {
                self.needles.iter().filter_map(|n| match_at(hay, i, n, skips, bounded)).max_by_key(|h| h.range.end)
            } else {
                None
            };
            match best {
                Some(hit) => {
                    i = hit.range.end.max(i + 1);
                    hits.push(hit);
                }
                None => i += 1,
            }
        }
        hits
    }

    /// The replacement for one hit: the alias, `@` written as in the hit, then the hit's tags.
    fn render(&self, hay: &[u8], hit: &Hit, out: &mut Vec<u8>) {
        for &b in &self.alias {
            match (b, hit.at) {
                (b'@', AtForm::Percent) => out.extend_from_slice(b"%40"),
                (b'@', AtForm::Entity) => out.extend_from_slice(b"&#64;"),
                _ => out.push(b),
            }
        }
        for tag in &hit.tags {
            out.extend_from_slice(hay.get(tag.clone()).unwrap_or_default());
        }
    }

    /// `hay` with `hits` (sorted, inside `hay`) replaced.
    fn splice(&self, hay: &[u8], hits: &[Hit], offset: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(hay.len() + hits.len() * self.alias.len());
        let mut pos = 0;
        for hit in hits {
            let (start, end) = (hit.range.start - offset, hit.range.end - offset);
            out.extend_from_slice(hay.get(pos..start).unwrap_or_default());
            let shifted = Hit {
                range: start..end,
                tags: hit.tags.iter().map(|t| t.start - offset..t.end - offset).collect(),
                ..hit.clone()
            };
            self.render(hay, &shifted, &mut out);
            pos = end;
        }
        out.extend_from_slice(hay.get(pos..).unwrap_or_default());
        out
    }

    /// Replaces every occurrence in `hay`, encoded words included when `words` is set.
    /// Returns the new bytes and the number of replacements, or `None` when nothing matched.
    pub(super) fn scrub(&self, hay: &[u8], skips: Skips, words: bool) -> Option<(Vec<u8>, usize)> {
        if words && hay.windows(2).any(|w| w == b"=?") {
            return self.scrub_words(hay, skips);
        }
        let hits = self.find(hay, skips);
        (!hits.is_empty()).then(|| (self.splice(hay, &hits, 0), hits.len()))
    }

    /// [`Self::scrub`] over text holding RFC 2047 encoded words: occurrences inside words are
    /// replaced in the decoded text, which is then encoded again as UTF-8 words.
    fn scrub_words(&self, hay: &[u8], skips: Skips) -> Option<(Vec<u8>, usize)> {
        let segs = segments(hay);
        let mut view = Vec::with_capacity(hay.len());
        let mut ranges = Vec::with_capacity(segs.len());
        for seg in &segs {
            let start = view.len();
            match &seg.kind {
                SegKind::Raw => view.extend_from_slice(hay.get(seg.raw.clone()).unwrap_or_default()),
                SegKind::Word(text) => view.extend_from_slice(text),
                SegKind::Gap => {}
            }
            ranges.push(start..view.len());
        }
        let hits = self.find(&view, skips);
        if hits.is_empty() {
            return None;
        }
        let mut dirty = vec![false; segs.len()];
        for hit in &hits {
            let first = ranges.partition_point(|r| r.end <= hit.range.start);
            let last = ranges.partition_point(|r| r.start < hit.range.end);
            let inside_raw = last == first + 1 && segs.get(first).is_some_and(|s| s.kind == SegKind::Raw);
            if !inside_raw {
                dirty.iter_mut().take(last).skip(first).for_each(|d| *d = true);
            }
        }
        let mut out = Vec::with_capacity(hay.len());
        let mut i = 0;
        while let (Some(seg), Some(range)) = (segs.get(i), ranges.get(i)) {
            let mut k = i;
            while dirty.get(i).copied().unwrap_or(false) && dirty.get(k + 1).copied().unwrap_or(false) {
                k += 1;
            }
            let end = ranges.get(k).map_or(range.end, |r| r.end);
            let inner: Vec<Hit> =
                hits.iter().filter(|h| h.range.start >= range.start && h.range.end <= end).cloned().collect();
            let text = self.splice(view.get(range.start..end).unwrap_or_default(), &inner, range.start);
            if dirty.get(i).copied().unwrap_or(false) {
                out.extend_from_slice(&encode_words(&text));
            } else if seg.kind == SegKind::Raw {
                out.extend_from_slice(&text);
            } else {
                out.extend_from_slice(hay.get(seg.raw.clone()).unwrap_or_default());
            }
            i = k + 1;
        }
        Some((out, hits.len()))
    }
}

/// Whether the byte before `i` (percent or quoted-printable escape decoded, quoted-printable
/// soft line break skipped) would make a match part of a longer local part.
fn blocked_before(hay: &[u8], mut i: usize) -> bool {
    // Seen through a quoted-printable soft line break (`=` CRLF), as in raw message bytes.
    if i >= 2 && hay.get(i - 2..i) == Some(b"=\n".as_slice()) {
        i -= 2;
    } else if i >= 3 && hay.get(i - 3..i) == Some(b"=\r\n".as_slice()) {
        i -= 3;
    }
    let Some(mut prev) = i.checked_sub(1).and_then(|p| hay.get(p).copied()) else {
        return false;
    };
    if i >= 3
        && matches!(hay.get(i - 3), Some(b'%' | b'='))
        && let (Some(h), Some(l)) = (hay.get(i - 2).and_then(|&c| hex_val(c)), hay.get(i - 1).and_then(|&c| hex_val(c)))
    {
        prev = h << 4 | l;
    }
    prev.is_ascii_alphanumeric() || matches!(prev, b'.' | b'_' | b'+' | b'-')
}

/// Matches `needle` at `i`.
fn match_at(hay: &[u8], i: usize, needle: &[u8], skips: Skips, bounded: bool) -> Option<Hit> {
    let mut j = i;
    let mut hit = Hit { range: i..i, escaped: false, at: AtForm::Literal, tags: Vec::new() };
    for (k, &c) in needle.iter().enumerate() {
        if k > 0 {
            j = skip(hay, j, skips, &mut hit);
        }
        let (next, form) = step(hay, j, c)?;
        if form != AtForm::Literal {
            hit.escaped = true;
        }
        if c == b'@' {
            hit.at = form;
        }
        j = next;
    }
    let rest = hay.get(j..).unwrap_or_default();
    let soft = if rest.starts_with(b"=\n") {
        2
    } else if rest.starts_with(b"=\r\n") {
        3
    } else {
        0
    };
    let after = hay.get(j + soft).copied().unwrap_or(b' ');
    if bounded && (after.is_ascii_alphanumeric() || after == b'-' || after == b'_') {
        return None;
    }
    hit.range = i..j;
    Some(hit)
}

/// Skips tags and folds at `j`.
fn skip(hay: &[u8], mut j: usize, skips: Skips, hit: &mut Hit) -> usize {
    for _ in 0..MAX_SKIPS {
        let rest = hay.get(j..).unwrap_or_default();
        let tag_start = rest.first() == Some(&b'<')
            && rest.get(1).is_some_and(|&b| b.is_ascii_alphabetic() || b == b'/' || b == b'!');
        let len = if skips.html && tag_start {
            match rest.iter().take(MAX_TAG).position(|&b| b == b'>') {
                Some(p) => {
                    hit.tags.push(j..j + p + 1);
                    p + 1
                }
                None => 0,
            }
        } else {
            fold_len(rest, skips.fold)
        };
        if len == 0 {
            break;
        }
        hit.escaped = true;
        j += len;
    }
    j
}

/// The length of a fold at the start of `rest`.
fn fold_len(rest: &[u8], fold: Fold) -> usize {
    let line_break = |s: &[u8]| {
        if s.starts_with(b"\r\n") { 2 } else { usize::from(s.first() == Some(&b'\n')) }
    };
    match fold {
        Fold::None => 0,
        Fold::Ical => {
            let n = line_break(rest);
            if n > 0 && matches!(rest.get(n), Some(b' ' | b'\t')) { n + 1 } else { 0 }
        }
        Fold::FlowedDelSp => {
            if rest.first() != Some(&b' ') {
                return 0;
            }
            let n = line_break(rest.get(1..).unwrap_or_default());
            if n == 0 {
                return 0;
            }
            let mut len = 1 + n;
            while rest.get(len) == Some(&b'>') {
                len += 1;
            }
            if rest.get(len) == Some(&b' ') {
                len += 1;
            }
            len
        }
    }
}

/// Matches one character `c` (lowercase) at `j`: literally, percent-escaped or as an HTML
/// character reference.
fn step(hay: &[u8], j: usize, c: u8) -> Option<(usize, AtForm)> {
    let &b = hay.get(j)?;
    if b.to_ascii_lowercase() == c {
        return Some((j + 1, AtForm::Literal));
    }
    if !c.is_ascii() {
        return None;
    }
    if b == b'%' {
        let h = hex_val(*hay.get(j + 1)?)?;
        let l = hex_val(*hay.get(j + 2)?)?;
        return ((h << 4 | l).to_ascii_lowercase() == c).then_some((j + 3, AtForm::Percent));
    }
    if b == b'&' {
        let (value, len) = char_ref(hay.get(j + 1..).unwrap_or_default())?;
        let v = u8::try_from(value).ok()?;
        return (v.to_ascii_lowercase() == c).then_some((j + 1 + len, AtForm::Entity));
    }
    None
}

/// An HTML character reference after `&`: its code point and length.
fn char_ref(rest: &[u8]) -> Option<(u32, usize)> {
    const NAMED: &[(&[u8], u32)] = &[
        (b"commat;", 0x40),
        (b"period;", 0x2e),
        (b"hyphen;", 0x2d),
        (b"dash;", 0x2d),
        (b"lowbar;", 0x5f),
        (b"plus;", 0x2b),
        (b"equals;", 0x3d),
    ];
    if rest.first() != Some(&b'#') {
        return NAMED.iter().find(|(n, _)| rest.starts_with(n)).map(|&(n, v)| (v, n.len()));
    }
    let hex = matches!(rest.get(1), Some(b'x' | b'X'));
    let mut i = if hex { 2 } else { 1 };
    let mut value = 0u32;
    let start = i;
    while let Some(&d) = rest.get(i) {
        let digit = if hex { hex_val(d) } else { d.is_ascii_digit().then(|| d - b'0') };
        let Some(digit) = digit else { break };
        value = value.saturating_mul(if hex { 16 } else { 10 }).saturating_add(u32::from(digit));
        i += 1;
        if i - start > 8 {
            return None;
        }
    }
    if i == start {
        return None;
    }
    if rest.get(i) == Some(&b';') {
        i += 1;
    }
    Some((value, i))
}

#[cfg(test)]
mod unit {
    use super::*;

    fn scrub(text: &str, skips: Skips) -> String {
        let m = Matcher::new(&["alice@real.example"], "r1@relay.example");
        m.scrub(text.as_bytes(), skips, true).map_or(text.to_owned(), |(v, _)| String::from_utf8(v).unwrap())
    }

    #[test]
    fn forms() {
        let html = Skips { html: true, fold: Fold::None };
        let cases = [
            ("<ALICE@Real.Example>", "<r1@relay.example>", Skips::default()),
            ("mailto:alice%40real.example?x", "mailto:r1%40relay.example?x", Skips::default()),
            ("&lt;alice&#64;real&#x2E;example&gt;", "&lt;r1&#64;relay.example&gt;", Skips::default()),
            ("<span>alice</span>@real.example", "<span>r1@relay.example</span>", html),
            ("malice@real.example", "malice@real.example", Skips::default()),
            ("alice@real.examples", "alice@real.examples", Skips::default()),
            ("x=alice@real.example.", "x=r1@relay.example.", Skips::default()),
            (
                "ORGANIZER:mailto:alice@real.ex\r\n ample",
                "ORGANIZER:mailto:r1@relay.example",
                Skips { html: false, fold: Fold::Ical },
            ),
            ("=?utf-8?q?alice=40real.example?=", "=?utf-8?q?r1=40relay=2Eexample?=", Skips::default()),
            (
                "Re: =?utf-8?B?w6kgYWxpY2VAcmVhbC5leGFtcGxl?= x",
                "Re: =?utf-8?q?=C3=A9_r1=40relay=2Eexample?= x",
                Skips::default(),
            ),
        ];
        for (input, want, skips) in cases {
            assert_eq!(scrub(input, skips), want, "{input}");
        }
    }
}
