//! The rewrite: walks the entity tree and rebuilds only what changes.

use std::borrow::Cow;

use pki_core::mime::ContentType;

use super::armor::{blocks, keydata, payload, strip};
use super::classify::{BodyKind, Verdict, body_kind, filename, verdict};
use super::codec::{Cte, ascii_safe, decode, decode_charset, encode, fix_meta_charset};
use super::matcher::{Fold, Matcher, Skips};
use super::tree::{Entity, Multipart, parse_entity, split_multipart, unfold};
use super::words::{content_type_field, fold, fold_ical};
use super::{MAX_DEPTH, MAX_PARTS, RemovalReason, RemovedPart, ScrubError};

/// Header fields dropped everywhere: they carry an OpenPGP key or its id. (Any other field
/// whose `keydata=` holds the address is dropped too.)
const DROPPED_FIELDS: &[&str] = &["autocrypt", "autocrypt-gossip", "autocrypt-draft-state", "openpgp"];

/// Room kept in front of a rewritten part's body for the fields of a `multipart/signed` wrapper
/// that it replaces, so that they go in without a second copy of the body.
const HEAD_SLACK: usize = 16 * 1024;

/// How much of a body is decoded to recognise keys and certificates.
const SNIFF_LEN: usize = 2048;

/// The longest boundary accepted (RFC 2046 allows 70).
const MAX_BOUNDARY: usize = 200;

/// What became of an entity.
#[derive(Debug)]
pub(super) enum Out {
    /// Unchanged: copy its bytes.
    Keep,
    /// Rewritten.
    Replace(Vec<u8>),
    /// Removed.
    Drop,
}

/// What became of one header field.
#[derive(Debug)]
enum FieldOut {
    Keep,
    Replace(Vec<u8>),
    Drop,
}

/// The header fields of an entity after scrubbing.
#[derive(Debug)]
struct Headers {
    fields: Vec<FieldOut>,
    /// Fields added at the end of the header block.
    extra: Vec<u8>,
}

impl Headers {
    fn changed(&self) -> bool {
        !self.extra.is_empty() || self.fields.iter().any(|f| !matches!(f, FieldOut::Keep))
    }
}

/// The state of one scrub.
pub(super) struct Ctx<'m> {
    matcher: &'m Matcher,
    utf16: Matcher,
    eol: &'static [u8],
    budget: usize,
    pub(super) removed_parts: Vec<RemovedPart>,
    pub(super) removed_headers: Vec<String>,
    pub(super) replacements: usize,
}

/// Whether an opaque part (unknown or generic type) is text all the same: not a media or
/// document type, and quoted-printable or free of control characters once decoded. Such parts are
/// scrubbed as text; other opaque parts are never modified.
pub(super) fn looks_textual(media: &str, buf: &[u8], ent: &Entity) -> bool {
    let top = media.split('/').next().unwrap_or_default();
    if matches!(top, "image" | "audio" | "video" | "font" | "model") || media == "application/pdf" {
        return false;
    }
    let cte = Cte::parse(&ent.transfer_encoding(buf));
    if cte == Cte::QuotedPrintable {
        return true;
    }
    let decoded = decode(buf.get(ent.body.clone()).unwrap_or_default(), cte);
    !decoded.iter().any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n' | 0x0c | 0x1b)) || b == 0x7f)
}

/// Whether the part is HTML.
fn media_is_html(ct: Option<&ContentType>) -> bool {
    ct.is_some_and(|c| c.is("text/html") || c.is("application/xhtml+xml"))
}

/// The part number of child `i` (0-based) of `path`.
fn child_path(path: &str, i: usize) -> String {
    if path.is_empty() { (i + 1).to_string() } else { format!("{path}.{}", i + 1) }
}

impl<'m> Ctx<'m> {
    /// A scrub of `raw`, writing new lines with its line ending.
    pub(super) fn new(matcher: &'m Matcher, raw: &[u8]) -> Self {
        let crlf = raw.iter().position(|&b| b == b'\n').is_none_or(|i| i > 0 && raw.get(i - 1) == Some(&b'\r'));
        Ctx {
            matcher,
            utf16: matcher.utf16(),
            eol: if crlf { b"\r\n" } else { b"\n" },
            budget: MAX_PARTS,
            removed_parts: Vec::new(),
            removed_headers: Vec::new(),
            replacements: 0,
        }
    }

    /// Scrubs the message in `buf`.
    pub(super) fn message(&mut self, buf: &[u8], depth: usize, path: &str) -> Result<Out, ScrubError> {
        let ent = parse_entity(buf, 0..buf.len());
        self.entity(buf, &ent, depth, path, false)
    }

    /// Scrubs one entity.
    fn entity(&mut self, buf: &[u8], ent: &Entity, depth: usize, path: &str, digest: bool) -> Result<Out, ScrubError> {
        if depth > MAX_DEPTH {
            return Err(ScrubError::TooDeep { part: path.to_owned() });
        }
        self.budget = self.budget.checked_sub(1).ok_or(ScrubError::TooManyParts)?;
        if let Some(field) = ent.ambiguous(buf) {
            return Err(ScrubError::AmbiguousHeader { part: path.to_owned(), field });
        }
        let ct = ent.content_type(buf);
        let default = if digest { "message/rfc822" } else { "text/plain" };
        let media = ct.as_ref().map_or(default, |c| c.media_type.as_str()).to_owned();
        let name = filename(buf, ent, ct.as_ref());
        let kind = body_kind(&media, ct.as_ref(), name.as_deref());
        if !matches!(kind, BodyKind::Multipart | BodyKind::Message) {
            let cte = Cte::parse(&ent.transfer_encoding(buf));
            let body = buf.get(ent.body.clone()).unwrap_or_default();
            let prefix = decode(body.get(..SNIFF_LEN.min(body.len())).unwrap_or_default(), cte);
            match verdict(&media, ct.as_ref(), name.as_deref(), &prefix) {
                Verdict::Keep => {}
                Verdict::Remove(reason) => {
                    self.removed(path, reason, media, name);
                    return Ok(Out::Drop);
                }
                Verdict::OpaqueSigned => return Err(ScrubError::OpaqueSigned { part: path.to_owned() }),
            }
        }
        let headers = self.headers(buf, ent);
        match kind {
            BodyKind::Multipart => self.multipart(buf, ent, ct.as_ref(), headers, depth, path),
            BodyKind::Message => self.nested(buf, ent, headers, depth, path),
            BodyKind::Text(skips) => Ok(self.text(buf, ent, ct.as_ref(), headers, skips, path)),
            BodyKind::Opaque if looks_textual(&media, buf, ent) => {
                Ok(self.text(buf, ent, None, headers, Skips::ANY, path))
            }
            BodyKind::Opaque => {
                let cte = Cte::parse(&ent.transfer_encoding(buf));
                let decoded = decode(buf.get(ent.body.clone()).unwrap_or_default(), cte);
                let armored = blocks(&decoded)
                    .into_iter()
                    .any(|b| self.matcher.in_binary(&payload(decoded.get(b.range).unwrap_or_default())));
                if armored || self.matcher.in_binary(&decoded) || self.utf16.in_binary(&decoded) {
                    return Err(ScrubError::AddressInBinary { part: path.to_owned(), content_type: media });
                }
                Ok(self.assemble(buf, ent, &headers, None))
            }
        }
    }

    fn removed(&mut self, path: &str, reason: RemovalReason, content_type: String, filename: Option<String>) {
        self.removed_parts.push(RemovedPart { part: path.to_owned(), reason, content_type, filename });
    }

    /// Scrubs every header field of `ent`.
    fn headers(&mut self, buf: &[u8], ent: &Entity) -> Headers {
        let mut fields = Vec::with_capacity(ent.fields.len());
        for f in &ent.fields {
            let name = f.name(buf);
            let value = unfold(buf.get(f.value.clone()).unwrap_or_default());
            let key_data = keydata(&value).is_some_and(|k| self.matcher.in_binary(&k));
            if key_data || DROPPED_FIELDS.iter().any(|d| f.key(buf) == d.as_bytes()) {
                self.removed_headers.push(String::from_utf8_lossy(name).into_owned());
                fields.push(FieldOut::Drop);
                continue;
            }
            // The whole field, name included (a mangled line can hold the address before
            // its first colon).
            let whole = unfold(buf.get(f.range.start..f.value.end).unwrap_or_default());
            match self.matcher.scrub(&whole, Skips::ANY, true) {
                Some((new, n)) => {
                    self.replacements += n;
                    let mut out = fold(0, &new, self.eol);
                    out.extend_from_slice(self.eol);
                    fields.push(FieldOut::Replace(out));
                }
                None => fields.push(FieldOut::Keep),
            }
        }
        Headers { fields, extra: Vec::new() }
    }

    /// The header block as rewritten (fields whose name starts with `content-` left out if
    /// `skip_content`).
    fn header_bytes(&self, buf: &[u8], ent: &Entity, headers: &Headers, skip_content: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(ent.header_end().saturating_sub(ent.start) + headers.extra.len());
        for (f, o) in ent.fields.iter().zip(&headers.fields) {
            if skip_content && f.key(buf).starts_with(b"content-") {
                continue;
            }
            match o {
                FieldOut::Keep => out.extend_from_slice(buf.get(f.range.clone()).unwrap_or_default()),
                FieldOut::Replace(bytes) => out.extend_from_slice(bytes),
                FieldOut::Drop => {}
            }
        }
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(self.eol);
        }
        out.extend_from_slice(&headers.extra);
        out
    }

    /// The entity with its new header fields and, if given, its new body.
    fn assemble(&self, buf: &[u8], ent: &Entity, headers: &Headers, body: Option<Vec<u8>>) -> Out {
        if body.is_none() && !headers.changed() {
            return Out::Keep;
        }
        let has_body = body.as_ref().is_some_and(|b| !b.is_empty());
        let mut out = self.head(buf, ent, headers, has_body, body.as_ref().map_or(ent.body.len(), Vec::len));
        match body {
            Some(b) => out.extend_from_slice(&b),
            None => out.extend_from_slice(buf.get(ent.body.clone()).unwrap_or_default()),
        }
        Out::Replace(out)
    }

    /// The entity's scrubbed header block and the empty line, with room reserved for a body
    /// of `body_len` octets (and some slack for a wrapper's fields, see [`Self::signed`]), so
    /// that a large part is written once, where it ends up.
    fn head(&self, buf: &[u8], ent: &Entity, headers: &Headers, has_body: bool, body_len: usize) -> Vec<u8> {
        let mut out = self.header_bytes(buf, ent, headers, false);
        out.reserve(body_len.saturating_add(HEAD_SLACK));
        let mut sep = buf.get(ent.sep.clone()).unwrap_or_default();
        if sep.is_empty() && (has_body || !ent.body.is_empty()) {
            sep = self.eol;
        }
        out.extend_from_slice(sep);
        out
    }

    /// Scrubs plain bytes (a preamble or epilogue) in place.
    fn scrub_raw<'b>(&mut self, bytes: &'b [u8]) -> Cow<'b, [u8]> {
        match self.matcher.scrub(bytes, Skips::ANY, false) {
            Some((new, n)) => {
                self.replacements += n;
                Cow::Owned(new)
            }
            None => Cow::Borrowed(bytes),
        }
    }

    /// Scrubs a multipart: its parts, preamble and epilogue; drops removed parts' delimiters.
    fn multipart(
        &mut self,
        buf: &[u8],
        ent: &Entity,
        ct: Option<&ContentType>,
        headers: Headers,
        depth: usize,
        path: &str,
    ) -> Result<Out, ScrubError> {
        let boundary = ct.and_then(|c| c.param("boundary")).unwrap_or_default().as_bytes();
        if boundary.is_empty() || boundary.len() > MAX_BOUNDARY {
            return Ok(self.text(buf, ent, None, headers, Skips::ANY, path));
        }
        if !self.matcher.find(boundary, Skips::ANY).is_empty() {
            return Err(ScrubError::BoundaryContainsAddress { part: path.to_owned() });
        }
        let mp = split_multipart(buf, ent.body.clone(), boundary);
        if mp.children.is_empty() {
            return Ok(self.text(buf, ent, None, headers, Skips::ANY, path));
        }
        let media = ct.map(|c| c.media_type.as_str()).unwrap_or_default();
        if media == "multipart/signed" {
            return self.signed(buf, ent, &headers, &mp, depth, path);
        }
        let digest = media == "multipart/digest";
        let mut outs = Vec::with_capacity(mp.children.len());
        for (i, child) in mp.children.iter().enumerate() {
            let cent = parse_entity(buf, child.content.clone());
            outs.push(self.entity(buf, &cent, depth + 1, &child_path(path, i), digest)?);
        }
        if outs.iter().all(|o| matches!(o, Out::Drop)) {
            self.removed(path, RemovalReason::Emptied, media.to_owned(), None);
            return Ok(Out::Drop);
        }
        let preamble = self.scrub_raw(buf.get(mp.preamble.clone()).unwrap_or_default());
        let tail = self.scrub_raw(buf.get(mp.tail.clone()).unwrap_or_default());
        let untouched = outs.iter().all(|o| matches!(o, Out::Keep));
        if untouched && matches!(preamble, Cow::Borrowed(_)) && matches!(tail, Cow::Borrowed(_)) {
            return Ok(self.assemble(buf, ent, &headers, None));
        }
        // Written straight after the scrubbed header: kept parts are copied once, from `buf`.
        let mut out = self.head(buf, ent, &headers, true, ent.body.len());
        out.extend_from_slice(&preamble);
        for (child, part) in mp.children.iter().zip(outs) {
            let kept: &[u8] = match &part {
                Out::Drop => continue,
                Out::Keep => buf.get(child.content.clone()).unwrap_or_default(),
                Out::Replace(bytes) => bytes,
            };
            out.extend_from_slice(buf.get(child.delim.clone()).unwrap_or_default());
            out.extend_from_slice(kept);
        }
        out.extend_from_slice(&tail);
        Ok(Out::Replace(out))
    }

    /// Replaces a `multipart/signed` by its first part: the wrapper's fields other than
    /// `Content-*` (for a message: `From`, `Subject`, …) followed by the first part's fields
    /// (less those the wrapper already has, such as protected-header copies of `From`).
    fn signed(
        &mut self,
        buf: &[u8],
        ent: &Entity,
        headers: &Headers,
        mp: &Multipart,
        depth: usize,
        path: &str,
    ) -> Result<Out, ScrubError> {
        for (i, sig) in mp.children.iter().enumerate().skip(1) {
            let sent = parse_entity(buf, sig.content.clone());
            let ct = sent.content_type(buf);
            let name = filename(buf, &sent, ct.as_ref());
            let media = ct.map_or_else(|| "text/plain".to_owned(), |c| c.media_type);
            self.removed(&child_path(path, i), RemovalReason::Signature, media, name);
        }
        let Some(first) = mp.children.first() else { return Ok(Out::Drop) };
        let cent = parse_entity(buf, first.content.clone());
        let inner: Cow<'_, [u8]> = match self.entity(buf, &cent, depth + 1, &child_path(path, 0), false)? {
            Out::Drop => return Ok(Out::Drop),
            Out::Keep => Cow::Borrowed(buf.get(first.content.clone()).unwrap_or_default()),
            Out::Replace(bytes) => Cow::Owned(bytes),
        };
        let mut out = self.header_bytes(buf, ent, headers, true);
        let outer: Vec<Vec<u8>> = ent
            .fields
            .iter()
            .zip(&headers.fields)
            .filter(|(_, o)| !matches!(o, FieldOut::Drop))
            .map(|(f, _)| f.key(buf))
            .collect();
        let ient = parse_entity(&inner, 0..inner.len());
        for f in &ient.fields {
            let name = f.key(&inner);
            if name.starts_with(b"content-") || !outer.contains(&name) {
                out.extend_from_slice(inner.get(f.range.clone()).unwrap_or_default());
            }
        }
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(self.eol);
        }
        let sep = inner.get(ient.sep.clone()).unwrap_or_default();
        out.extend_from_slice(if sep.is_empty() { self.eol } else { sep });
        // A scrubbed first part gets the new header in front of its body where it lies
        // (`head` left room for it); a kept one is copied once, from `buf`.
        match inner {
            Cow::Owned(mut inner) => {
                let body_start = ient.body.start.min(inner.len());
                inner.splice(..body_start, out);
                Ok(Out::Replace(inner))
            }
            Cow::Borrowed(inner) => {
                out.extend_from_slice(inner.get(ient.body.clone()).unwrap_or_default());
                Ok(Out::Replace(out))
            }
        }
    }

    /// Scrubs a nested message (decoding and re-encoding its transfer encoding if any).
    fn nested(
        &mut self,
        buf: &[u8],
        ent: &Entity,
        headers: Headers,
        depth: usize,
        path: &str,
    ) -> Result<Out, ScrubError> {
        let cte = Cte::parse(&ent.transfer_encoding(buf));
        let raw = buf.get(ent.body.clone()).unwrap_or_default();
        let inner = decode(raw, cte);
        match self.message(&inner, depth + 1, path)? {
            Out::Drop => Ok(Out::Drop),
            Out::Keep => Ok(self.assemble(buf, ent, &headers, None)),
            Out::Replace(bytes) => {
                let body = self.reencode(&bytes, cte, raw);
                Ok(self.assemble(buf, ent, &headers, Some(body)))
            }
        }
    }

    /// Encodes new content with `cte`, keeping a final line break if the old body had one.
    fn reencode(&self, data: &[u8], cte: Cte, old: &[u8]) -> Vec<u8> {
        let mut out = encode(data, cte, self.eol);
        if cte != Cte::Identity && old.ends_with(b"\n") && !out.ends_with(b"\n") {
            out.extend_from_slice(self.eol);
        }
        out
    }

    /// Scrubs a text body. See the module documentation for the charset decision.
    fn text(
        &mut self,
        buf: &[u8],
        ent: &Entity,
        ct: Option<&ContentType>,
        headers: Headers,
        skips: Skips,
        path: &str,
    ) -> Out {
        let cte = Cte::parse(&ent.transfer_encoding(buf));
        let raw = buf.get(ent.body.clone()).unwrap_or_default();
        let decoded = decode(raw, cte);
        let charset = ct.and_then(|c| c.param("charset"));
        let label = charset.unwrap_or_default().trim().to_ascii_lowercase();
        let utf8 = matches!(label.as_str(), "" | "utf-8" | "utf8");
        if !ascii_safe(&label) || !(utf8 || self.matcher.ascii()) {
            let text = decode_charset(&decoded, charset);
            if let Some(new) = self.scrub_text(text.as_bytes(), ct, path, skips) {
                return self.text_utf8(buf, ent, ct, headers, new, cte);
            }
        }
        // In its own charset: for ASCII-compatible charsets, and for the others the bytes a
        // lenient client might still show as the address (say, after a broken ISO-2022 escape).
        match self.scrub_text(&decoded, ct, path, skips) {
            None => self.assemble(buf, ent, &headers, None),
            Some(new) => {
                let body = self.reencode(&new, cte, raw);
                self.assemble(buf, ent, &headers, Some(body))
            }
        }
    }

    /// Removes armored keys and replaces the address in text; `None` if nothing changed.
    fn scrub_text(&mut self, text: &[u8], ct: Option<&ContentType>, path: &str, skips: Skips) -> Option<Vec<u8>> {
        let stripped = self.strip_armor(text, ct, path);
        let text = stripped.as_deref().unwrap_or(text);
        let (mut new, n) = self.matcher.scrub(text, skips, true).or_else(|| stripped.map(|s| (s, 0)))?;
        self.replacements += n;
        if skips.fold == Fold::Ical {
            new = fold_ical(&new);
        }
        Some(new)
    }

    /// Emits scrubbed text, decoded from another charset, as UTF-8.
    fn text_utf8(
        &mut self,
        buf: &[u8],
        ent: &Entity,
        ct: Option<&ContentType>,
        mut headers: Headers,
        mut new: Vec<u8>,
        cte: Cte,
    ) -> Out {
        if media_is_html(ct) {
            new = fix_meta_charset(&new);
        }
        let token = ent.transfer_encoding(buf);
        let out_cte = match cte {
            Cte::Identity if new.is_ascii() || matches!(token.as_str(), "8bit" | "binary") => Cte::Identity,
            Cte::Identity => Cte::QuotedPrintable,
            other => other,
        };
        self.set_utf8(buf, ent, ct, &mut headers, (out_cte != cte).then_some(out_cte));
        let body = self.reencode(&new, out_cte, buf.get(ent.body.clone()).unwrap_or_default());
        self.assemble(buf, ent, &headers, Some(body))
    }

    /// Removes armored keys, certificates and signatures from a text body, recording them.
    fn strip_armor(&mut self, text: &[u8], ct: Option<&ContentType>, path: &str) -> Option<Vec<u8>> {
        let (stripped, reasons) = strip(text, |payload| self.matcher.in_binary(payload))?;
        let media = ct.map_or("text/plain", |c| c.media_type.as_str());
        for reason in reasons {
            self.removed(path, reason, media.to_owned(), None);
        }
        Some(stripped)
    }

    /// Sets `charset=utf-8` in the `Content-Type` field (adding the field if there is none),
    /// and the transfer encoding if it changed.
    fn set_utf8(
        &mut self,
        buf: &[u8],
        ent: &Entity,
        ct: Option<&ContentType>,
        headers: &mut Headers,
        cte: Option<Cte>,
    ) {
        let mut new_ct = ct.cloned().unwrap_or_else(|| ContentType { media_type: "text/plain".into(), params: vec![] });
        new_ct.params.retain(|(n, _)| n != "charset");
        for (_, v) in &mut new_ct.params {
            if let Some((new, _)) = self.matcher.scrub(v.as_bytes(), Skips::ANY, false) {
                *v = String::from_utf8_lossy(&new).into_owned();
            }
        }
        new_ct.params.insert(0, ("charset".into(), "utf-8".into()));
        let mut ct_done = false;
        let mut cte_done = cte.is_none();
        for (f, o) in ent.fields.iter().zip(headers.fields.iter_mut()) {
            if f.is(buf, "content-type") && !ct_done {
                *o = FieldOut::Replace(content_type_field(f.name(buf), &new_ct, self.eol));
                ct_done = true;
            } else if let (true, Some(c)) = (f.is(buf, "content-transfer-encoding") && !cte_done, cte) {
                *o = FieldOut::Replace(format!("{}: {}", String::from_utf8_lossy(f.name(buf)), c.token()).into_bytes());
                if let FieldOut::Replace(bytes) = o {
                    bytes.extend_from_slice(self.eol);
                }
                cte_done = true;
            }
        }
        if !ct_done {
            headers.extra.extend_from_slice(&content_type_field(b"Content-Type", &new_ct, self.eol));
        }
        if let (false, Some(c)) = (cte_done, cte) {
            headers.extra.extend_from_slice(format!("Content-Transfer-Encoding: {}", c.token()).as_bytes());
            headers.extra.extend_from_slice(self.eol);
        }
    }
}
