//! RFC 5322 header blocks: scanning fields, looking values up, and moving the
//! `Content-*` fields between a message and its MIME entity.

use alloc::string::String;
use alloc::vec::Vec;

use super::codec::{canonicalize, line_at, trim_wsp};
use super::content_type::ContentType;
use super::{Error, MAX_HEADER_FIELD_LEN};

/// `Content-Type` added by [`split_message`] when a message has none
/// (the RFC 2045 §5.2 default, made explicit).
const DEFAULT_CONTENT_TYPE: &[u8] = b"Content-Type: text/plain; charset=us-ascii\r\n";

/// One header field as it appears in the input.
#[derive(Clone, Copy, Debug)]
pub(super) struct Field<'a> {
    /// Field name, without the colon and trailing whitespace.
    pub(super) name: &'a [u8],
    /// The whole field: name, value, continuation lines and line endings.
    pub(super) raw: &'a [u8],
    /// Everything after the colon, continuation lines and line endings included.
    pub(super) value: &'a [u8],
}

impl Field<'_> {
    /// Case-insensitive name comparison.
    pub(super) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The unfolded value (RFC 5322 §2.2.3), trimmed, lossily decoded as UTF-8.
    pub(super) fn unfolded(&self) -> String {
        let bytes: Vec<u8> = trim_wsp(self.value).iter().copied().filter(|&b| b != b'\r' && b != b'\n').collect();
        String::from_utf8_lossy(trim_wsp(&bytes)).into_owned()
    }
}

/// Iterator over the fields of a header block; stops at the first empty line.
///
/// Yields `Err` for malformed lines and skips past them, so callers choose
/// between strict (stop at the first error) and lenient (ignore errors) use.
pub(super) struct Fields<'a> {
    input: &'a [u8],
    pos: usize,
    line: usize,
    /// Set once the iterator is exhausted: `Some(start of body)` when an empty
    /// line ended the header block, `None` when the input ended first.
    body_start: Option<usize>,
    /// Length of the header block (up to the empty line, exclusive).
    header_end: usize,
    done: bool,
}

impl<'a> Fields<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Fields { input, pos: 0, line: 1, body_start: None, header_end: 0, done: false }
    }

    /// The body after the empty line, once the iterator is exhausted.
    pub(super) fn body(&self) -> Option<&'a [u8]> {
        self.body_start.and_then(|start| self.input.get(start..))
    }

    /// Extends a field whose first line ends just before `next` over its
    /// continuation lines; returns the end of the field (start of the next
    /// line) and the number of lines in the field.
    fn continuation_end(&self, mut next: usize) -> (usize, usize) {
        let mut lines = 1usize;
        while matches!(self.input.get(next), Some(b' ' | b'\t')) {
            next = line_at(self.input, next).1;
            lines = lines.saturating_add(1);
        }
        (next, lines)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let input = self.input;
        if self.pos >= input.len() {
            self.done = true;
            self.header_end = input.len();
            return None;
        }
        let start = self.pos;
        let line = self.line;
        let (content_end, next) = line_at(input, start);
        let content = input.get(start..content_end).unwrap_or_default();
        if content.is_empty() {
            self.done = true;
            self.header_end = start;
            self.body_start = Some(next);
            return None;
        }
        let (end, lines) = self.continuation_end(next);
        self.pos = end;
        self.line = self.line.saturating_add(lines);
        let Some(colon) = content.iter().position(|&b| b == b':') else {
            return Some(Err(Error::MalformedHeader { line }));
        };
        let name = trim_wsp(content.get(..colon).unwrap_or_default());
        let name_ok = !name.is_empty()
            && content.first().is_some_and(|&b| b != b' ' && b != b'\t')
            && name.iter().all(|&b| (33..=126).contains(&b));
        if !name_ok {
            return Some(Err(Error::MalformedHeader { line }));
        }
        if end - start > MAX_HEADER_FIELD_LEN {
            return Some(Err(Error::HeaderTooLong { line }));
        }
        Some(Ok(Field {
            name,
            raw: input.get(start..end).unwrap_or_default(),
            value: input.get(start + colon + 1..end).unwrap_or_default(),
        }))
    }
}

/// A MIME entity (or whole message) split at its empty line, with a header block
/// that was checked strictly.
#[derive(Clone, Copy, Debug)]
pub(super) struct Entity<'a> {
    pub(super) header: &'a [u8],
    pub(super) body: &'a [u8],
}

impl Entity<'_> {
    /// Parses `input`, requiring well-formed header fields and an empty line.
    pub(super) fn parse(input: &[u8]) -> Result<Entity<'_>, Error> {
        let mut fields = Fields::new(input);
        for field in fields.by_ref() {
            field?;
        }
        let body = fields.body().ok_or(Error::NoHeaderBodySeparator)?;
        let header = input.get(..fields.header_end).unwrap_or_default();
        Ok(Entity { header, body })
    }

    /// The unfolded value of the first field called `name`.
    pub(super) fn get(&self, name: &str) -> Option<String> {
        header_value(self.header, name)
    }

    /// The parsed `Content-Type`, or the RFC 2045 default `text/plain;
    /// charset=us-ascii` when the field is absent.
    pub(super) fn content_type(&self) -> Result<ContentType, Error> {
        match self.get("content-type") {
            Some(value) => ContentType::parse(&value),
            None => Ok(ContentType::default_text()),
        }
    }

    /// The lowercased `Content-Transfer-Encoding`, if present.
    pub(super) fn transfer_encoding(&self) -> Option<String> {
        self.get("content-transfer-encoding").map(|v| v.to_ascii_lowercase())
    }
}

/// Returns the unfolded value of the first header field called `name`.
///
/// `headers` is a header block; scanning stops at the first empty line, so a
/// whole message may be passed too. The name comparison is case-insensitive.
/// The value is unfolded (RFC 5322 §2.2.3: line breaks before whitespace are
/// removed), trimmed, and decoded as UTF-8 with invalid bytes replaced; RFC 2047
/// encoded words are left as they are. Malformed lines are skipped.
#[must_use]
pub fn header_value(headers: &[u8], name: &str) -> Option<String> {
    Fields::new(headers).filter_map(Result::ok).find(|field| field.is(name)).map(|field| field.unfolded())
}

/// A message split into its outer header fields and its MIME entity.
///
/// Produced by [`split_message`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SplitMessage<'a> {
    /// Every header field that is not a `Content-*` field (`From`, `To`,
    /// `Subject`, `MIME-Version`, …), in the original order with the original
    /// folding, each line ending in CRLF.
    pub outer_headers: Vec<u8>,
    /// The `Content-*` fields, in the original order with the original folding,
    /// each line ending in CRLF. When the message has no `Content-Type`, the
    /// RFC 2045 default `Content-Type: text/plain; charset=us-ascii` is added
    /// first.
    pub content_headers: Vec<u8>,
    /// The body, verbatim (empty when the message has none).
    pub body: &'a [u8],
}

impl SplitMessage<'_> {
    /// The MIME entity: [`Self::content_headers`], an empty line, the body.
    ///
    /// The body is copied verbatim; pass the result through
    /// [`signed_content_for`](super::signed_content_for) (or
    /// [`canonicalize`](super::canonicalize) before encryption) to get canonical
    /// CRLF form.
    #[must_use]
    pub fn entity(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.content_headers.len().saturating_add(self.body.len()).saturating_add(2));
        out.extend_from_slice(&self.content_headers);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(self.body);
        out
    }

    /// What the entity is, read from its `Content-*` fields alone (the body is not copied):
    /// [`classify`](super::classify) of [`Self::entity`].
    #[must_use]
    pub fn kind(&self) -> super::Kind {
        super::classify(&self.content_headers)
    }
}

/// Splits an RFC 5322 message into outer header fields and the MIME entity.
///
/// `Content-*` fields go to the entity, every other field (`MIME-Version`
/// included) stays outer; see [`SplitMessage`]. LF and CRLF line endings are
/// both accepted (header lines come out as CRLF, the body is untouched), and so
/// is a message without a body (with or without the empty line).
///
/// # Errors
///
/// [`Error::MalformedHeader`] for a header line that is neither a field nor a
/// continuation line, [`Error::HeaderTooLong`] for an oversized field.
pub fn split_message(msg: &[u8]) -> Result<SplitMessage<'_>, Error> {
    let mut outer = Vec::new();
    let mut content = Vec::new();
    let mut has_content_type = false;
    let mut fields = Fields::new(msg);
    for field in fields.by_ref() {
        let field = field?;
        if is_content_field(field.name) {
            has_content_type |= field.is("content-type");
            push_field(&mut content, field.raw);
        } else {
            push_field(&mut outer, field.raw);
        }
    }
    if !has_content_type {
        let mut with_default = DEFAULT_CONTENT_TYPE.to_vec();
        with_default.extend_from_slice(&content);
        content = with_default;
    }
    Ok(SplitMessage { outer_headers: outer, content_headers: content, body: fields.body().unwrap_or_default() })
}

/// Joins outer header fields and a MIME entity into a message, all CRLF.
///
/// The result is `outer_headers` (without any `Content-*` field, which would
/// clash with the entity's), `MIME-Version: 1.0` unless `outer_headers` has a
/// `MIME-Version` field, then `entity` in canonical form ([`canonicalize`]).
/// Only well-formed fields of `outer_headers` are kept, and it is read up to its
/// first empty line.
#[must_use]
pub fn join_message(outer_headers: &[u8], entity: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        outer_headers.len().saturating_add(entity.len()).saturating_add(entity.len() / 16).saturating_add(32),
    );
    let mut has_version = false;
    for field in Fields::new(outer_headers).filter_map(Result::ok) {
        if is_content_field(field.name) {
            continue;
        }
        has_version |= field.is("mime-version");
        push_field(&mut out, field.raw);
    }
    if !has_version {
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    }
    out.extend_from_slice(&canonicalize(entity));
    out
}

/// Whether a field name starts with `Content-` (case-insensitive).
fn is_content_field(name: &[u8]) -> bool {
    name.get(..8).is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"content-"))
}

/// Appends a raw field in CRLF form, making sure it ends with CRLF.
fn push_field(out: &mut Vec<u8>, raw: &[u8]) {
    out.extend_from_slice(&canonicalize(raw));
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
}
