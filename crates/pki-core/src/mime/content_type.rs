//! `Content-Type` values (RFC 2045 §5.1) with RFC 2231 parameter continuations.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use super::Error;
use super::codec::excerpt;

/// Highest RFC 2231 section number accepted (`name*999`).
const MAX_SECTION: u32 = 999;

/// A parsed `Content-Type` header value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentType {
    /// `type/subtype`, lowercased, comments and whitespace removed.
    pub media_type: String,
    /// Parameters in order of appearance: lowercased names, unquoted values.
    /// RFC 2231 sections (`name*0`, `name*1*`, …) and extended values
    /// (`name*=charset'lang'text`) are merged and decoded into one `name` entry.
    pub params: Vec<(String, String)>,
}

impl ContentType {
    /// Parses a `Content-Type` value (the text after the colon, unfolded).
    ///
    /// Quoted strings with backslash escapes, comments in parentheses and free
    /// whitespace are handled. Parameter parsing is best effort: a malformed
    /// parameter is skipped up to the next `;`, and unquoted values are read
    /// leniently (up to `;`, whitespace or a comment) because mailers often
    /// leave characters such as `=` unquoted.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidContentType`] when the value does not start with a
    /// `type/subtype` pair.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let mut cur = Cursor::new(value.as_bytes());
        let invalid = || Error::InvalidContentType { value: excerpt(value.as_bytes()) };
        cur.skip_cfws();
        let main = cur.token();
        cur.skip_cfws();
        if main.is_empty() || !cur.eat(b'/') {
            return Err(invalid());
        }
        cur.skip_cfws();
        let sub = cur.token();
        if sub.is_empty() {
            return Err(invalid());
        }
        let mut media_type = String::from_utf8_lossy(main).to_ascii_lowercase();
        media_type.push('/');
        media_type.push_str(&String::from_utf8_lossy(sub).to_ascii_lowercase());
        let params = merge_rfc2231(cur.params());
        Ok(ContentType { media_type, params })
    }

    /// The value of parameter `name` (case-insensitive); the first one wins if
    /// the parameter is repeated.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the media type is `media_type` (case-insensitive).
    #[must_use]
    pub fn is(&self, media_type: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type)
    }

    /// The RFC 2045 §5.2 default, `text/plain; charset=us-ascii`.
    pub(super) fn default_text() -> Self {
        ContentType {
            media_type: "text/plain".to_owned(),
            params: alloc::vec![("charset".to_owned(), "us-ascii".to_owned())],
        }
    }
}

/// RFC 2045 `token` character: visible ASCII except tspecials (bytes above
/// 127 are accepted too, leniently).
fn is_token_byte(b: u8) -> bool {
    b > 32 && b != 127 && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// Byte cursor over a header value.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a [u8]) -> Self {
        Cursor { s, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Skips whitespace and (nested) comments.
    fn skip_cfws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'(' => self.skip_comment(),
                _ => break,
            }
        }
    }

    /// Skips a comment starting at `(`; an unterminated one runs to the end.
    fn skip_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'\\' => self.pos = self.pos.saturating_add(1).min(self.s.len()),
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// Takes a run of bytes satisfying `pred`.
    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or_default()
    }

    fn token(&mut self) -> &'a [u8] {
        self.take_while(is_token_byte)
    }

    /// Reads a quoted string starting at `"`, resolving backslash escapes; an
    /// unterminated one runs to the end.
    fn quoted(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.pos += 1;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        out.push(escaped);
                        self.pos += 1;
                    }
                }
                b'\r' | b'\n' => {}
                _ => out.push(b),
            }
        }
        out
    }

    /// Skips to the next `;` that is not inside a quoted string or comment.
    fn skip_junk(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b';' => break,
                b'"' => {
                    self.quoted();
                }
                b'(' => self.skip_comment(),
                _ => self.pos += 1,
            }
        }
    }

    /// Parses `; name=value` pairs up to the end of the input.
    fn params(&mut self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        loop {
            self.skip_cfws();
            match self.peek() {
                None => break,
                Some(b';') => self.pos += 1,
                Some(_) => {
                    self.skip_junk();
                    continue;
                }
            }
            self.skip_cfws();
            let name = self.token();
            self.skip_cfws();
            if name.is_empty() || !self.eat(b'=') {
                self.skip_junk();
                continue;
            }
            self.skip_cfws();
            let value = if self.peek() == Some(b'"') {
                self.quoted()
            } else {
                self.take_while(|b| b > 32 && b != 127 && b != b';' && b != b'(' && b != b'"').to_vec()
            };
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            out.push((name, value));
        }
        out
    }
}

/// One RFC 2231 section (`name*N` or `name*N*`).
struct Section {
    base: String,
    index: u32,
    extended: bool,
    value: Vec<u8>,
}

/// Merges RFC 2231 sections and decodes extended values; other parameters
/// pass through unchanged. Merged parameters are appended after the others.
fn merge_rfc2231(raw: Vec<(String, Vec<u8>)>) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(raw.len());
    let mut sections = Vec::new();
    for (name, value) in raw {
        let (stem, extended) = match name.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (name.as_str(), false),
        };
        if let Some((base, index)) = split_section(stem) {
            sections.push(Section { base: base.to_owned(), index, extended, value });
        } else if extended {
            let (charset, text) = split_charset(&value);
            let decoded = percent_decode(text);
            out.push((stem.to_owned(), decode_charset(charset, &decoded)));
        } else {
            out.push((name, lossy(&value)));
        }
    }
    sections.sort_by(|a, b| a.base.cmp(&b.base).then(a.index.cmp(&b.index)));
    let mut iter = sections.iter().peekable();
    while let Some(first) = iter.next() {
        let mut group = alloc::vec![first];
        while let Some(next) = iter.next_if(|s| s.base == first.base) {
            group.push(next);
        }
        out.push((first.base.clone(), join_sections(&group)));
    }
    out
}

/// Concatenates the sections of one parameter, in order, stopping at the first
/// missing or duplicate section number (RFC 2231 §3).
fn join_sections(group: &[&Section]) -> String {
    let mut bytes = Vec::new();
    let mut charset: &[u8] = b"";
    let mut expected = 0u32;
    for section in group {
        if section.index != expected {
            break;
        }
        expected = expected.saturating_add(1);
        if !section.extended {
            bytes.extend_from_slice(&section.value);
        } else if section.index == 0 {
            let (cs, text) = split_charset(&section.value);
            charset = cs;
            bytes.extend(percent_decode(text));
        } else {
            bytes.extend(percent_decode(&section.value));
        }
    }
    decode_charset(charset, &bytes)
}

/// Splits `name*N` into `(name, N)`.
fn split_section(stem: &str) -> Option<(&str, u32)> {
    let (base, digits) = stem.rsplit_once('*')?;
    if base.is_empty() || digits.is_empty() || digits.len() > 3 {
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let index = digits.parse().ok()?;
    (index <= MAX_SECTION).then_some((base, index))
}

/// Splits an extended value `charset'language'text` into charset and text.
fn split_charset(value: &[u8]) -> (&[u8], &[u8]) {
    let mut parts = value.splitn(3, |&b| b == b'\'');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(charset), Some(_lang), Some(text)) => (charset, text),
        _ => (b"", value),
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits is kept.
fn percent_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        let hex = |off: usize| text.get(i + off).and_then(|&h| char::from(h).to_digit(16));
        match (b, hex(1), hex(2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.extend(u8::try_from(hi * 16 + lo).ok());
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Decodes bytes in `charset`: ISO-8859-1 is mapped exactly, anything else is
/// treated as UTF-8 (US-ASCII being a subset), with invalid bytes replaced.
fn decode_charset(charset: &[u8], bytes: &[u8]) -> String {
    let latin1 = [&b"iso-8859-1"[..], b"latin1", b"iso8859-1"].iter().any(|name| charset.eq_ignore_ascii_case(name));
    if latin1 { bytes.iter().map(|&b| char::from(b)).collect() } else { lossy(bytes) }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
