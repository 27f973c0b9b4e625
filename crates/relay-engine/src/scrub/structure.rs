//! Identifiers in a reply's MIME structure that name the owner's client or host: multipart
//! boundaries (`Apple-Mail=_…`, `_000_…namprd…_`, `------------…` differ by client) and
//! `Content-ID`s (`<part1.x@owner.example>`, with their `cid:` references).

use std::ops::Range;

use super::{
    MAX_DEPTH,
    tree::{Entity, parse_entity, split_multipart},
};

/// Replaces every multipart boundary with one from `fresh` and every `Content-ID` that `map_cid`
/// maps (with its `cid:` references anywhere in the message). Everything else is copied byte for
/// byte. A structure nested deeper than [`MAX_DEPTH`] is left as it is below that depth.
pub(crate) fn anonymize(
    raw: &[u8],
    fresh: &mut dyn FnMut() -> String,
    map_cid: &dyn Fn(&str) -> Option<String>,
) -> Vec<u8> {
    let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    let mut cids: Vec<(String, String)> = Vec::new();
    walk(raw, 0..raw.len(), 0, fresh, map_cid, &mut edits, &mut cids);
    for (old, new) in &cids {
        let needle = format!("cid:{old}");
        let mut from = 0;
        while let Some(at) = find(&raw[from..], needle.as_bytes()).map(|i| i + from) {
            edits.push((at + 4..at + needle.len(), new.as_bytes().to_vec()));
            from = at + needle.len();
        }
    }
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::with_capacity(raw.len() + 64);
    let mut last = 0;
    for (range, with) in edits {
        if range.start < last {
            continue; // overlapping edits cannot happen; never apply one twice
        }
        out.extend_from_slice(&raw[last..range.start]);
        out.extend_from_slice(&with);
        last = range.end;
    }
    out.extend_from_slice(&raw[last..]);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

#[allow(clippy::too_many_arguments)]
fn walk(
    raw: &[u8],
    range: Range<usize>,
    depth: usize,
    fresh: &mut dyn FnMut() -> String,
    map_cid: &dyn Fn(&str) -> Option<String>,
    edits: &mut Vec<(Range<usize>, Vec<u8>)>,
    cids: &mut Vec<(String, String)>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let ent: Entity = parse_entity(raw, range);
    for f in ent.fields.iter().filter(|f| f.is(raw, "content-id")) {
        let text = f.text(raw);
        let id = text.trim().trim_start_matches('<').trim_end_matches('>').trim();
        if let Some(new) = map_cid(id) {
            edits.push((f.value.clone(), format!(" <{new}>").into_bytes()));
            cids.push((id.to_owned(), new));
        }
    }
    let Some(ct) = ent.content_type(raw) else { return };
    if ct.media_type.starts_with("multipart/") {
        let Some(boundary) = ct.param("boundary").map(str::as_bytes).filter(|b| !b.is_empty()) else { return };
        let Some(field) = ent.fields.iter().find(|f| f.is(raw, "content-type")) else { return };
        let new = fresh();
        let Some(at) = find(&raw[field.value.clone()], boundary).map(|i| i + field.value.start) else { return };
        edits.push((at..at + boundary.len(), new.as_bytes().to_vec()));
        let mp = split_multipart(raw, ent.body.clone(), boundary);
        for child in &mp.children {
            if let Some(at) = find(&raw[child.delim.clone()], boundary).map(|i| i + child.delim.start) {
                edits.push((at..at + boundary.len(), new.as_bytes().to_vec()));
            }
            walk(raw, child.content.clone(), depth + 1, fresh, map_cid, edits, cids);
        }
        if let Some(at) = find(&raw[mp.tail.clone()], boundary).map(|i| i + mp.tail.start) {
            edits.push((at..at + boundary.len(), new.as_bytes().to_vec()));
        }
    } else if ct.is("message/rfc822") || ct.is("message/global") {
        walk(raw, ent.body.clone(), depth + 1, fresh, map_cid, edits, cids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_and_content_ids_are_replaced() {
        let raw = b"Content-Type: multipart/related;\r\n boundary=\"Apple-Mail=_1F2E\"\r\n\r\n\
preamble\r\n--Apple-Mail=_1F2E\r\nContent-Type: text/html\r\n\r\n<img src=\"cid:part1.AB@mac.owner.example\">\r\n\
--Apple-Mail=_1F2E\r\nContent-Type: image/png\r\nContent-ID: <part1.AB@mac.owner.example>\r\n\r\nPNG\r\n\
--Apple-Mail=_1F2E--\r\nepilogue\r\n";
        let mut n = 0;
        let mut fresh = || {
            n += 1;
            format!("=_b{n}")
        };
        let map = |id: &str| id.ends_with("owner.example").then(|| "c1@pportal.io".to_owned());
        let out = String::from_utf8(anonymize(raw, &mut fresh, &map)).unwrap();
        assert!(!out.contains("Apple-Mail") && !out.contains("owner.example"), "{out}");
        assert_eq!(out.matches("=_b1").count(), 4, "{out}");
        assert!(out.contains("cid:c1@pportal.io") && out.contains("Content-ID: <c1@pportal.io>"), "{out}");
        assert!(out.contains("\r\n--=_b1--\r\nepilogue"), "{out}");
        // The structure still parses the same way.
        let m = mail_parser::MessageParser::default().parse(out.as_bytes()).unwrap();
        assert_eq!(m.parts.len(), 3);
        // Nothing to change: the same bytes.
        let plain = b"Content-Type: text/plain\r\n\r\nhi\r\n";
        assert_eq!(anonymize(plain, &mut fresh, &map), plain);
    }
}
