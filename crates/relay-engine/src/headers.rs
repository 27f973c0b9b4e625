//! Header-level helpers shared by the pipelines: raw header fields by byte range, address
//! formatting with RFC 2047 encoded words, and the whitelists.

use base64ct::{Base64, Encoding};
use mail_parser::{Message, MessagePart};

/// One raw header field of a parsed message: its lower-cased name and its exact bytes
/// (name, colon, value, folding and final line break).
pub(crate) struct RawField<'a> {
    pub(crate) name: String,
    pub(crate) bytes: &'a [u8],
}

/// The top-level header fields of `msg`, in order, as raw bytes.
pub(crate) fn raw_fields<'a>(msg: &Message<'_>, raw: &'a [u8]) -> Vec<RawField<'a>> {
    part_fields(msg.root_part(), raw)
}

pub(crate) fn part_fields<'a>(part: &MessagePart<'_>, raw: &'a [u8]) -> Vec<RawField<'a>> {
    part.headers
        .iter()
        .filter_map(|h| {
            let bytes = raw.get(usize::try_from(h.offset_field).ok()?..usize::try_from(h.offset_end).ok()?)?;
            let colon = bytes.iter().position(|b| *b == b':')?;
            let name = String::from_utf8_lossy(&bytes[..colon]).trim().to_ascii_lowercase();
            Some(RawField { name, bytes })
        })
        .collect()
}

/// The value of a raw field (after the colon), lossily decoded.
pub(crate) fn field_value(bytes: &[u8]) -> String {
    let start = bytes.iter().position(|b| *b == b':').map_or(0, |c| c + 1);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// The body of the top-level part, raw.
pub(crate) fn raw_body<'a>(msg: &Message<'_>, raw: &'a [u8]) -> &'a [u8] {
    raw.get(body_start(msg, raw)..).unwrap_or_default()
}

/// Where the top-level body starts: after the last header field and the blank line. Works for
/// a message parsed with `parse_headers` too, where the root part's `offset_body` is the end.
pub(crate) fn body_start(msg: &Message<'_>, raw: &[u8]) -> usize {
    let end_of_fields = msg.root_part().headers.iter().map(|h| h.offset_end).max().unwrap_or(0);
    let at = usize::try_from(end_of_fields).unwrap_or(raw.len()).min(raw.len());
    let rest = raw.get(at..).unwrap_or_default();
    at + if rest.starts_with(b"\r\n") { 2 } else { usize::from(rest.starts_with(b"\n")) }
}

/// Appends a field, making sure it ends with CRLF.
pub(crate) fn push_raw(out: &mut Vec<u8>, bytes: &[u8]) {
    let trimmed = trim_line_end(bytes);
    for (i, line) in split_lines(trimmed).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b"\r\n");
}

fn trim_line_end(b: &[u8]) -> &[u8] {
    let mut end = b.len();
    while end > 0 && (b[end - 1] == b'\n' || b[end - 1] == b'\r') {
        end -= 1;
    }
    &b[..end]
}

fn split_lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|c| *c == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// Appends `Name: value` with CRLF; `value` must already be a valid, single-line field body
/// or pre-folded with CRLF + whitespace.
pub(crate) fn push_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A mailbox with a display name, `"Name" <addr>` or `=?utf-8?b?...?= <addr>`.
pub(crate) fn mailbox(display: Option<&str>, addr: &str) -> String {
    match display.map(str::trim).filter(|d| !d.is_empty()) {
        None => format!("<{addr}>"),
        Some(d) => format!("{} <{addr}>", phrase(d)),
    }
}

/// A display name as an RFC 5322 phrase: a quoted-string if ASCII, else UTF-8 encoded words.
pub(crate) fn phrase(text: &str) -> String {
    let clean: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if clean.is_ascii() {
        let escaped = clean.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\"")
    } else {
        encoded_words(&clean)
    }
}

/// RFC 2047 B-encoded words of at most 75 characters, joined by folding whitespace.
pub(crate) fn encoded_words(text: &str) -> String {
    // 75 - len("=?utf-8?b??=") = 63 base64 characters = 45 bytes, cut on char boundaries.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?utf-8?b?{}?=", Base64::encode_string(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?utf-8?b?{}?=", Base64::encode_string(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

/// Header fields of a forwarded message that are kept as they are (lower-case names).
/// From, To, Cc and Reply-To are rewritten; everything not listed is dropped.
pub(crate) const FORWARD_KEEP: &[&str] = &[
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-post",
    "list-help",
    "list-subscribe",
    "list-owner",
    "list-archive",
    "precedence",
    "auto-submitted",
    "importance",
    "priority",
    "x-priority",
    "keywords",
    "comments",
    "thread-topic",
    "thread-index",
    "accept-language",
];

/// The outer headers of an encrypted forward: what a client needs to file and thread it.
pub(crate) const FORWARD_ENCRYPTED_OUTER: &[&str] =
    &["subject", "date", "message-id", "in-reply-to", "references", "list-id", "auto-submitted"];

/// Header fields of a reply that are kept (besides the MIME ones). Everything else, Received,
/// User-Agent, X-Mailer, X-Originating-IP and friends included, is dropped.
pub(crate) const REPLY_KEEP: &[&str] =
    &["subject", "date", "in-reply-to", "references", "mime-version", "importance", "priority", "x-priority"];

/// Is this a MIME header of the entity (`Content-*`)?
pub(crate) fn is_content_field(name: &str) -> bool {
    name.starts_with("content-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names() {
        assert_eq!(mailbox(Some("Bob (bob@x.org)"), "r@p.io"), "\"Bob (bob@x.org)\" <r@p.io>");
        assert_eq!(mailbox(Some("a \"q\" \\"), "r@p.io"), "\"a \\\"q\\\" \\\\\" <r@p.io>");
        assert_eq!(mailbox(None, "r@p.io"), "<r@p.io>");
        let w = mailbox(Some("Jöran Bücher (j@b.de)"), "r@p.io");
        assert!(w.starts_with("=?utf-8?b?") && w.ends_with("?= <r@p.io>"), "{w}");
        let long = encoded_words(&"ä".repeat(100));
        assert!(long.split("\r\n ").all(|word| word.len() <= 75));
    }
}
