//! Header blocks and multipart framing, kept as byte ranges into the input.
//!
//! The parser is lenient (it never fails) and linear: a header block ends at the first empty
//! line, or at the first line that is neither a `name: value` field nor a continuation line;
//! a multipart body is cut at lines that start with `--boundary` (RFC 2046 §5.1.1, with the
//! line break before a delimiter belonging to the delimiter).

use std::borrow::Cow;
use std::ops::Range;

use pki_core::mime::ContentType;

/// One header field: `name: value` plus its continuation lines.
#[derive(Debug, Clone)]
pub(super) struct Field {
    /// The whole field, continuation lines and final line break included.
    pub(super) range: Range<usize>,
    /// The field name (without the colon).
    pub(super) name: Range<usize>,
    /// From just after the colon to the end of the field, final line break excluded.
    pub(super) value: Range<usize>,
}

/// A MIME entity (a message or a body part): its header fields and its body.
#[derive(Debug, Clone)]
pub(super) struct Entity {
    /// Where the entity starts (the first field, or the body when there are none).
    pub(super) start: usize,
    /// The header fields, in order.
    pub(super) fields: Vec<Field>,
    /// The empty line between header and body (empty when there was none).
    pub(super) sep: Range<usize>,
    /// The body.
    pub(super) body: Range<usize>,
}

/// One body part of a multipart: its delimiter line and its content.
#[derive(Debug, Clone)]
pub(super) struct Child {
    /// The line break before `--boundary`, the delimiter line and its line break.
    pub(super) delim: Range<usize>,
    /// The body part itself (header fields and body).
    pub(super) content: Range<usize>,
}

/// A multipart body cut at its delimiters.
#[derive(Debug, Clone)]
pub(super) struct Multipart {
    /// The preamble, before the first delimiter.
    pub(super) preamble: Range<usize>,
    /// The body parts, in order.
    pub(super) children: Vec<Child>,
    /// The close delimiter (with the line break before it) and the epilogue, if there is one.
    pub(super) tail: Range<usize>,
}

/// The end of the line starting at `pos` (after its `\n`), bounded by `end`.
fn line_end(buf: &[u8], pos: usize, end: usize) -> usize {
    buf.get(pos..end).and_then(|s| s.iter().position(|&b| b == b'\n')).map_or(end, |i| pos + i + 1)
}

/// The length of the line break at the end of `line` (0, 1 or 2).
fn eol_len(line: &[u8]) -> usize {
    if line.ends_with(b"\r\n") { 2 } else { usize::from(line.ends_with(b"\n")) }
}

/// Where the name starts, where the colon is and how long the name is, if `line` starts a
/// header field: a non-empty name (any bytes but controls and `:`), optional whitespace, a
/// colon. Like mail-parser, leading colons are skipped and whitespace inside a name is
/// ignored when names are compared ([`Field::is`]).
fn field_colon(line: &[u8]) -> Option<(usize, usize, usize)> {
    let lead = line.iter().position(|&b| b != b':' && b != b' ' && b != b'\t')?;
    let colon = lead + line.get(lead..)?.iter().position(|&b| b == b':')?;
    let name = line.get(lead..colon)?;
    let len = name.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(0, |i| i + 1);
    let control = |b: &u8| b.is_ascii_control() && *b != b' ' && *b != b'\t';
    let valid = len > 0 && !name.iter().take(len).any(control);
    valid.then_some((lead, colon, len))
}

/// Parses the entity in `buf[range]`.
pub(super) fn parse_entity(buf: &[u8], range: Range<usize>) -> Entity {
    let end = range.end.min(buf.len());
    let start = range.start.min(end);
    let mut fields: Vec<Field> = Vec::new();
    let mut pos = start;
    loop {
        if pos >= end {
            return Entity { start, fields, sep: end..end, body: end..end };
        }
        let next = line_end(buf, pos, end);
        let line = buf.get(pos..next).unwrap_or_default();
        let content_len = line.len() - eol_len(line);
        if content_len == 0 {
            return Entity { start, fields, sep: pos..next, body: next..end };
        }
        let first = line.first().copied().unwrap_or_default();
        if first == b' ' || first == b'\t' {
            let Some(last) = fields.last_mut() else {
                return Entity { start, fields, sep: pos..pos, body: pos..end };
            };
            last.range.end = next;
            last.value.end = pos + content_len;
        } else if let Some((lead, colon, len)) = field_colon(&line[..content_len]) {
            fields.push(Field {
                range: pos..next,
                name: pos + lead..pos + lead + len,
                value: pos + colon + 1..pos + content_len,
            });
        } else {
            // A line that is not a field (mail-parser skips it and reads on): kept as a
            // nameless field, so the fields after it still count.
            fields.push(Field { range: pos..next, name: pos..pos, value: pos..pos + content_len });
        }
        pos = next;
    }
}

/// Removes the line breaks of a folded header value (the whitespace after them stays).
pub(super) fn unfold(value: &[u8]) -> Cow<'_, [u8]> {
    if !value.contains(&b'\n') {
        return Cow::Borrowed(value);
    }
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        if b == b'\r' && value.get(i + 1) == Some(&b'\n') {
            i += 2;
            continue;
        }
        if b != b'\n' {
            out.push(b);
        }
        i += 1;
    }
    Cow::Owned(out)
}

impl Field {
    /// The field name.
    pub(super) fn name<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        buf.get(self.name.clone()).unwrap_or_default()
    }

    /// The name as compared: lowercased, whitespace removed.
    pub(super) fn key(&self, buf: &[u8]) -> Vec<u8> {
        self.name(buf).iter().filter(|b| !b.is_ascii_whitespace()).map(u8::to_ascii_lowercase).collect()
    }

    /// Whether the field is called `name` (ASCII case-insensitive, whitespace inside the
    /// field name ignored as mail-parser does).
    pub(super) fn is(&self, buf: &[u8], name: &str) -> bool {
        let mut own = self.name(buf).iter().filter(|b| !b.is_ascii_whitespace());
        let mut want = name.as_bytes().iter();
        loop {
            match (own.next(), want.next()) {
                (None, None) => return true,
                (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {}
                _ => return false,
            }
        }
    }

    /// The unfolded value, as text (invalid UTF-8 replaced).
    pub(super) fn text(&self, buf: &[u8]) -> String {
        String::from_utf8_lossy(&unfold(buf.get(self.value.clone()).unwrap_or_default())).into_owned()
    }
}

impl Entity {
    /// The first field called `name`.
    pub(super) fn field(&self, buf: &[u8], name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.is(buf, name))
    }

    /// The name of a field among `Content-Type` and `Content-Transfer-Encoding` that occurs
    /// twice with different values.
    pub(super) fn ambiguous(&self, buf: &[u8]) -> Option<&'static str> {
        ["content-type", "content-transfer-encoding"].into_iter().find(|name| {
            let mut values = self
                .fields
                .iter()
                .filter(|f| f.is(buf, name))
                .map(|f| f.text(buf).split_whitespace().collect::<String>().to_ascii_lowercase());
            let first = values.next();
            values.any(|v| Some(v) != first)
        })
    }

    /// The parsed `Content-Type`, if present and valid.
    pub(super) fn content_type(&self, buf: &[u8]) -> Option<ContentType> {
        ContentType::parse(&self.field(buf, "content-type")?.text(buf)).ok()
    }

    /// The lowercased `Content-Transfer-Encoding` token.
    pub(super) fn transfer_encoding(&self, buf: &[u8]) -> String {
        self.field(buf, "content-transfer-encoding")
            .map(|f| f.text(buf).trim().trim_matches('"').to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// The parsed `Content-Disposition` (its disposition type in place of a media type).
    pub(super) fn disposition(&self, buf: &[u8]) -> Option<ContentType> {
        let text = self.field(buf, "content-disposition")?.text(buf);
        ContentType::parse(&format!("x/{}", text.trim_start())).ok()
    }

    /// The end of the header block, before the empty line.
    pub(super) fn header_end(&self) -> usize {
        self.fields.last().map_or(self.start, |f| f.range.end)
    }
}

/// Cuts a multipart body at lines that start with `--boundary`.
pub(super) fn split_multipart(buf: &[u8], body: Range<usize>, boundary: &[u8]) -> Multipart {
    let end = body.end.min(buf.len());
    let mut pos = body.start.min(end);
    let mut children: Vec<Child> = Vec::new();
    let mut preamble_end = None;
    while pos < end {
        let next = line_end(buf, pos, end);
        let line = buf.get(pos..next).unwrap_or_default();
        let is_delim = line.starts_with(b"--") && line.get(2..).is_some_and(|l| l.starts_with(boundary));
        if is_delim {
            let floor = children.last().map_or(body.start, |c| c.content.start);
            let mut lb = pos;
            if pos > floor && buf.get(pos - 1) == Some(&b'\n') {
                lb -= 1;
                if lb > floor && buf.get(lb - 1) == Some(&b'\r') {
                    lb -= 1;
                }
            }
            if let Some(last) = children.last_mut() {
                last.content.end = lb;
            }
            preamble_end.get_or_insert(lb);
            let rest = line.get(2 + boundary.len()..).unwrap_or_default();
            if rest.starts_with(b"--") {
                return Multipart { preamble: body.start..preamble_end.unwrap_or(lb), children, tail: lb..end };
            }
            children.push(Child { delim: lb..next, content: next..end });
        }
        pos = next;
    }
    Multipart { preamble: body.start..preamble_end.unwrap_or(end), children, tail: end..end }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn header_block_and_folding() {
        let msg = b"From: A <a@b.c>\r\nSubject: x\r\n  y\r\n\r\nbody";
        let e = parse_entity(msg, 0..msg.len());
        assert_eq!(e.fields.len(), 2);
        assert_eq!(e.fields[1].text(msg), " x  y");
        assert_eq!(&msg[e.body.clone()], b"body");
        assert_eq!(&msg[e.sep.clone()], b"\r\n");
    }

    #[test]
    fn multipart_ranges_round_trip() {
        let body = b"pre\r\n--b\r\nA\r\n--b \r\nB\r\n--b--\r\nepi";
        let m = split_multipart(body, 0..body.len(), b"b");
        assert_eq!(m.children.len(), 2);
        assert_eq!(&body[m.children[0].content.clone()], b"A");
        assert_eq!(&body[m.children[1].content.clone()], b"B");
        let mut out = body[m.preamble.clone()].to_vec();
        for c in &m.children {
            out.extend_from_slice(&body[c.delim.clone()]);
            out.extend_from_slice(&body[c.content.clone()]);
        }
        out.extend_from_slice(&body[m.tail.clone()]);
        assert_eq!(out, body);
    }
}
