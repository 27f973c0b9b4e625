//! The leak check: the address in every form a client could show.
//!
//! Three passes: the raw bytes (tolerant match, HTML tags skipped), this module's own MIME walk
//! (encoded words, RFC 2231 parameters, decoded bodies in their charsets, nested messages,
//! Autocrypt key data, OpenPGP armor), and mail-parser's reading of the same bytes (decoded
//! header values and bodies), so a structure the two parsers read differently is checked both
//! ways.

use std::borrow::Cow;

use mail_parser::{Address, HeaderValue, MessageParser, PartType};
use pki_core::mime::ContentType;

use super::classify::{BodyKind, body_kind};
use super::codec::{Cte, ascii_safe, decode, decode_charset};
use super::matcher::{Matcher, Skips};
use super::tree::{Entity, parse_entity, split_multipart, unfold};
use super::words::decode_words;
use super::{Leak, LeakForm, LeakPlace, MAX_DEPTH, MAX_PARTS};

/// At most this many leaks are reported.
const MAX_LEAKS: usize = 256;

/// At most this many nested messages are handed to mail-parser (its message tree is recursive).
const MAX_NESTED_FOR_MAIL_PARSER: usize = 64;

/// Looks for `real` in `raw`. See [`super::leaks`].
pub(super) fn leaks(raw: &[u8], real: &str) -> Vec<Leak> {
    let m = Matcher::new(&[real], "");
    let mut d = Detector { utf16: m.utf16(), m, found: Vec::new(), budget: MAX_PARTS, too_deep: false };
    for hit in d.m.find(raw, Skips::ANY).into_iter().take(MAX_LEAKS / 4) {
        let form = if hit.escaped { LeakForm::Escaped } else { LeakForm::Plain };
        d.push("", LeakPlace::Raw { offset: hit.range.start }, form);
    }
    d.message(raw, 0, "", None);
    let nested = ["message/rfc822", "message/global"].iter().map(|t| count(raw, t.as_bytes())).sum::<usize>();
    if d.too_deep || nested > MAX_NESTED_FOR_MAIL_PARSER {
        d.push("", LeakPlace::Body, LeakForm::Uninspected);
    } else if let Some(msg) = MessageParser::default().parse(raw) {
        d.mail_parser(&msg, 0);
    }
    d.found
}

/// How many times `needle` (lowercase) occurs in `hay`, ignoring ASCII case (without a
/// lowercased copy of `hay`, which may be a whole large message).
fn count(hay: &[u8], needle: &[u8]) -> usize {
    let Some((&first, _)) = needle.split_first() else { return 0 };
    let mut n = 0;
    let mut pos = 0;
    while pos + needle.len() <= hay.len() {
        let starts = hay[pos].to_ascii_lowercase() == first;
        if starts && hay[pos..pos + needle.len()].eq_ignore_ascii_case(needle) {
            n += 1;
            pos += needle.len();
        } else {
            pos += 1;
        }
    }
    n
}

/// The leak form a transfer encoding stands for.
fn cte_form(cte: Cte) -> Option<LeakForm> {
    match cte {
        Cte::Identity => None,
        Cte::QuotedPrintable => Some(LeakForm::QuotedPrintable),
        Cte::Base64 => Some(LeakForm::Base64),
    }
}

struct Detector {
    m: Matcher,
    utf16: Matcher,
    found: Vec<Leak>,
    budget: usize,
    too_deep: bool,
}

impl Detector {
    fn push(&mut self, part: &str, place: LeakPlace, form: LeakForm) {
        let leak = Leak { part: part.to_owned(), place, form };
        let room = self.found.len() < MAX_LEAKS || form == LeakForm::Uninspected;
        if room && !self.found.contains(&leak) {
            self.found.push(leak);
        }
    }

    /// Walks the message in `buf`; `via` is how `buf` was decoded (`None`: the raw input).
    fn message(&mut self, buf: &[u8], depth: usize, path: &str, via: Option<LeakForm>) {
        let ent = parse_entity(buf, 0..buf.len());
        self.entity(buf, &ent, depth, path, via, false);
    }

    fn entity(&mut self, buf: &[u8], ent: &Entity, depth: usize, path: &str, via: Option<LeakForm>, digest: bool) {
        if depth > MAX_DEPTH || self.budget == 0 {
            self.too_deep = true;
            self.push(path, LeakPlace::Body, LeakForm::Uninspected);
            return;
        }
        self.budget -= 1;
        self.headers(buf, ent, path, via);
        let ct = ent.content_type(buf);
        let default = if digest { "message/rfc822" } else { "text/plain" };
        let media = ct.as_ref().map_or(default, |c| c.media_type.as_str()).to_owned();
        let name = super::classify::filename(buf, ent, ct.as_ref());
        let cte = Cte::parse(&ent.transfer_encoding(buf));
        let body = buf.get(ent.body.clone()).unwrap_or_default();
        match body_kind(&media, ct.as_ref(), name.as_deref()) {
            BodyKind::Multipart => {
                let boundary = ct.as_ref().and_then(|c| c.param("boundary")).unwrap_or_default().as_bytes();
                let mp = (!boundary.is_empty()).then(|| split_multipart(buf, ent.body.clone(), boundary));
                let children = mp.map(|m| m.children).unwrap_or_default();
                for (i, child) in children.iter().enumerate() {
                    let cent = parse_entity(buf, child.content.clone());
                    let p = if path.is_empty() { (i + 1).to_string() } else { format!("{path}.{}", i + 1) };
                    self.entity(buf, &cent, depth + 1, &p, via, media == "multipart/digest");
                }
                if children.is_empty() {
                    self.text(body, None, Skips::ANY, path, via);
                }
            }
            BodyKind::Message => {
                let inner = decode(body, cte);
                self.message(&inner, depth + 1, path, cte_form(cte).or(via));
            }
            BodyKind::Text(skips) => {
                let charset = ct.as_ref().and_then(|c| c.param("charset"));
                let decoded = decode(body, cte);
                self.text(&decoded, charset, skips, path, cte_form(cte).or(via));
            }
            BodyKind::Opaque if super::rewrite::looks_textual(&media, buf, ent) => {
                let decoded = decode(body, cte);
                self.text(&decoded, None, Skips::ANY, path, cte_form(cte).or(via));
            }
            BodyKind::Opaque => {
                let decoded = decode(body, cte);
                let via = cte_form(cte).or(via);
                if self.m.in_binary(&decoded) {
                    self.push(path, LeakPlace::Body, via.unwrap_or(LeakForm::Plain));
                }
                if self.utf16.in_binary(&decoded) {
                    self.push(path, LeakPlace::Body, LeakForm::Charset);
                }
                self.armor(&decoded, path);
            }
        }
    }

    /// Header fields: encoded words, RFC 2231 parameters, Autocrypt key data.
    fn headers(&mut self, buf: &[u8], ent: &Entity, path: &str, via: Option<LeakForm>) {
        for f in &ent.fields {
            let name = String::from_utf8_lossy(f.name(buf)).into_owned();
            let value = unfold(buf.get(f.value.clone()).unwrap_or_default()).into_owned();
            let plain = self.m.find(&value, Skips::ANY).len();
            if let (Some(form), true) = (via, plain > 0) {
                self.push(path, LeakPlace::Header(name.clone()), form);
            }
            let decoded = decode_words(&value);
            if self.m.find(&decoded, Skips::ANY).len() > plain {
                self.push(path, LeakPlace::Header(name.clone()), LeakForm::EncodedWord);
            }
            let lower = String::from_utf8_lossy(&f.key(buf)).into_owned();
            if lower == "content-type" || lower == "content-disposition" {
                let text = String::from_utf8_lossy(&value);
                let text = if lower == "content-type" { text.into_owned() } else { format!("x/{}", text.trim_start()) };
                let params = ContentType::parse(&text).map(|c| c.params).unwrap_or_default();
                let hidden =
                    params.iter().any(|(_, v)| !self.m.find(&decode_words(v.as_bytes()), Skips::ANY).is_empty());
                if hidden && plain == 0 {
                    self.push(path, LeakPlace::Header(name.clone()), LeakForm::Parameter);
                }
            }
            if super::armor::keydata(&value).is_some_and(|k| self.m.in_binary(&k)) {
                {
                    self.push(path, LeakPlace::Header(name), LeakForm::Base64);
                }
            }
        }
    }

    /// A text body, decoded from its transfer encoding (`via` says how).
    fn text(&mut self, decoded: &[u8], charset: Option<&str>, skips: Skips, path: &str, via: Option<LeakForm>) {
        let label = charset.unwrap_or_default();
        let text = decode_charset(decoded, charset);
        let hits = self.m.find(text.as_bytes(), skips);
        let safe = ascii_safe(label);
        for hit in &hits {
            let form = match (safe, via) {
                (false, _) => Some(LeakForm::Charset),
                (true, Some(form)) => Some(form),
                (true, None) if skips.fold != super::matcher::Fold::None && hit.escaped => Some(LeakForm::Escaped),
                (true, None) => None,
            };
            if let Some(form) = form {
                self.push(path, LeakPlace::Body, form);
            }
        }
        if self.m.find(&decode_words(text.as_bytes()), skips).len() > hits.len() {
            self.push(path, LeakPlace::Body, LeakForm::EncodedWord);
        }
        self.armor(text.as_bytes(), path);
    }

    /// Armored blocks (OpenPGP keys and signatures, PEM certificates) inside a body: the
    /// address in them is binary.
    fn armor(&mut self, data: &[u8], path: &str) {
        for block in super::armor::blocks(data) {
            let payload = super::armor::payload(data.get(block.range).unwrap_or_default());
            if self.m.in_binary(&payload) {
                self.push(path, LeakPlace::Body, LeakForm::Base64);
            }
        }
    }

    /// mail-parser's reading: header values and bodies it decoded, where the raw bytes of
    /// that header or body do not already show the address.
    fn mail_parser(&mut self, msg: &mail_parser::Message<'_>, depth: usize) {
        if depth > MAX_DEPTH {
            self.push("mp", LeakPlace::Body, LeakForm::Uninspected);
            return;
        }
        let raw: &[u8] = msg.raw_message.as_ref();
        for (id, part) in msg.parts.iter().enumerate() {
            let p = format!("mp:{depth}.{id}");
            for h in &part.headers {
                let span = usize::try_from(h.offset_start).ok().zip(usize::try_from(h.offset_end).ok());
                let raw_value = span.and_then(|(s, e)| raw.get(s..e)).unwrap_or_default();
                let seen = !self.m.find(raw_value, Skips::ANY).is_empty();
                if !seen && header_strings(&h.value).iter().any(|s| !self.m.find(s.as_bytes(), Skips::ANY).is_empty()) {
                    self.push(&p, LeakPlace::Header(h.name.as_str().to_owned()), LeakForm::EncodedWord);
                }
            }
            let span = usize::try_from(part.offset_body).ok().zip(usize::try_from(part.offset_end).ok());
            let raw_body = span.and_then(|(s, e)| raw.get(s..e)).unwrap_or_default();
            let seen = !self.m.find(raw_body, Skips::ANY).is_empty();
            let form = match part.encoding {
                mail_parser::Encoding::Base64 => LeakForm::Base64,
                mail_parser::Encoding::QuotedPrintable => LeakForm::QuotedPrintable,
                mail_parser::Encoding::None => LeakForm::Charset,
            };
            if let PartType::Binary(b) | PartType::InlineBinary(b) = &part.body
                && (self.m.in_binary(b) || self.utf16.in_binary(b))
            {
                self.push(&p, LeakPlace::Body, form);
            }
            let body: Option<Cow<'_, [u8]>> = match &part.body {
                PartType::Text(t) | PartType::Html(t) => Some(Cow::Borrowed(t.as_bytes())),
                PartType::Binary(_) | PartType::InlineBinary(_) => None,
                PartType::Message(m) => {
                    self.mail_parser(m, depth + 1);
                    None
                }
                PartType::Multipart(_) => None,
            };
            if let Some(body) = body
                && !seen
                && !self.m.find(&body, Skips::ANY).is_empty()
            {
                self.push(&p, LeakPlace::Body, form);
            }
        }
    }
}

/// The text of a header value as mail-parser decoded it.
fn header_strings<'a>(value: &'a HeaderValue<'_>) -> Vec<Cow<'a, str>> {
    let addrs = |list: &'a [mail_parser::Addr<'_>], out: &mut Vec<Cow<'a, str>>| {
        for a in list {
            out.extend(a.name.as_deref().map(Cow::Borrowed));
            out.extend(a.address.as_deref().map(Cow::Borrowed));
        }
    };
    let mut out = Vec::new();
    match value {
        HeaderValue::Address(Address::List(list)) => addrs(list, &mut out),
        HeaderValue::Address(Address::Group(groups)) => {
            for g in groups {
                out.extend(g.name.as_deref().map(Cow::Borrowed));
                addrs(&g.addresses, &mut out);
            }
        }
        HeaderValue::Text(t) => out.push(Cow::Borrowed(t.as_ref())),
        HeaderValue::TextList(l) => out.extend(l.iter().map(|t| Cow::Borrowed(t.as_ref()))),
        HeaderValue::ContentType(ct) => {
            out.extend(ct.attributes().unwrap_or_default().iter().map(|a| Cow::Borrowed(a.value.as_ref())));
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn count_ignores_case_and_does_not_overlap() {
        assert_eq!(super::count(b"Message/RFC822 x message/rfc822message/rfc822", b"message/rfc822"), 3);
        assert_eq!(super::count(b"aaaa", b"aa"), 2);
        assert_eq!(super::count(b"message/rfc82", b"message/rfc822"), 0);
        assert_eq!(super::count(b"", b"x"), 0);
        assert_eq!(super::count(b"abc", b""), 0);
    }
}
