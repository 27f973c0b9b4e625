//! Just enough BER walking to read the encapsulated content of a BER SignedData exactly, and
//! to find where an EnvelopedData's encrypted content lies so that it can be opened in place.
//!
//! `der`'s BER support hands a constructed OCTET STRING back as if it were primitive, with
//! its chunks' headers still inside, which cannot be told apart from primitive content that
//! happens to look like chunks. This walker looks at the original encoding instead.

use alloc::vec::Vec;
use core::ops::Range;

const MAX_DEPTH: usize = 32;

struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    /// The whole encoding: tag, length, content (and end-of-contents octets).
    raw: &'a [u8],
}

/// Reads one TLV with a single-octet tag; returns it and the rest of the input.
fn read(input: &[u8], depth: usize) -> Option<(Tlv<'_>, &[u8])> {
    if depth > MAX_DEPTH {
        return None;
    }
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-octet tags do not occur on the path we walk
    }
    let (&len0, rest) = rest.split_first()?;
    if len0 == 0x80 {
        if tag & 0x20 == 0 {
            return None; // indefinite length needs a constructed encoding
        }
        let mut cursor = rest;
        loop {
            if cursor.starts_with(&[0, 0]) {
                let used = rest.len() - cursor.len();
                let after = cursor.get(2..)?;
                let raw = &input[..input.len() - after.len()];
                return Some((Tlv { tag, content: &rest[..used], raw }, after));
            }
            let (_, next) = read(cursor, depth + 1)?;
            cursor = next;
        }
    }
    let len = if len0 < 0x80 {
        usize::from(len0)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let header = if len0 < 0x80 { 0 } else { usize::from(len0 & 0x7f) };
    let body = rest.get(header..)?;
    let content = body.get(..len)?;
    let after = body.get(len..)?;
    Some((Tlv { tag, content, raw: &input[..input.len() - after.len()] }, after))
}

/// The children of a constructed TLV's content.
fn children(content: &[u8], depth: usize) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    let mut cursor = content;
    while !cursor.is_empty() {
        let (tlv, rest) = read(cursor, depth)?;
        out.push(tlv);
        cursor = rest;
    }
    Some(out)
}

/// Concatenates an OCTET STRING's content, primitive (0x04) or constructed (0x24).
fn octets(tlv: &Tlv<'_>, depth: usize, out: &mut Vec<u8>) -> Option<()> {
    match tlv.tag {
        0x04 => out.extend_from_slice(tlv.content),
        0x24 if depth < MAX_DEPTH => {
            for chunk in children(tlv.content, depth + 1)? {
                octets(&chunk, depth + 1, out)?;
            }
        }
        _ => return None,
    }
    Some(())
}

/// The eContent octets of a SignedData ContentInfo, or `None` if absent or not walkable.
///
/// `ContentInfo { OID, [0] SignedData { INTEGER, SET, EncapsulatedContentInfo { OID, [0] OCTET STRING } ... } }`
pub(crate) fn signed_data_econtent(input: &[u8]) -> Option<Vec<u8>> {
    let (ci, _) = read(input, 0)?;
    let ci = children(ci.content, 1)?;
    let explicit = ci.get(1).filter(|t| t.tag == 0xa0)?;
    let sd = children(explicit.content, 2)?;
    let sd = children(sd.first().filter(|t| t.tag == 0x30)?.content, 3)?;
    let eci = children(sd.get(2).filter(|t| t.tag == 0x30)?.content, 4)?;
    let wrapper = eci.get(1).filter(|t| t.tag == 0xa0)?;
    let inner = children(wrapper.content, 5)?;
    let mut out = Vec::new();
    octets(inner.first()?, 6, &mut out)?;
    Some(out)
}

/// Where an EnvelopedData's or AuthEnvelopedData's encrypted content lies, and the rest of it.
pub(crate) struct EnvelopedLayout {
    /// The `ContentInfo` without the encrypted content (DER outside, the original encoding
    /// inside): small, for `der` to decode.
    pub(crate) skeleton: Vec<u8>,
    /// The ranges of the input that hold the encrypted content, in order: one for a primitive
    /// encoding, one per chunk for a constructed one.
    pub(crate) content: Vec<Range<usize>>,
}

/// Walks `ContentInfo { OID, [0] { SEQUENCE { version, [0] originatorInfo OPTIONAL,
/// RecipientInfos SET, EncryptedContentInfo { OID, AlgorithmIdentifier, [0] content }, … } } }`.
/// `None` if `input` is not laid out so (the caller then decodes it whole); the skeleton is
/// checked by `der` all the same.
pub(crate) fn enveloped_layout(input: &[u8]) -> Option<EnvelopedLayout> {
    let (ci, rest) = read(input, 0)?;
    if ci.tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let [oid, explicit] = children(ci.content, 1)?.try_into().ok()?;
    let [data] = children(explicit.content, 2)?.try_into().ok()?;
    if oid.tag != 0x06 || explicit.tag != 0xa0 || data.tag != 0x30 {
        return None;
    }
    let fields = children(data.content, 3)?;
    let eci_at = fields.iter().position(|t| t.tag == 0x31)? + 1;
    let eci = fields.get(eci_at).filter(|t| t.tag == 0x30)?;
    let [content_type, algorithm, encrypted] = children(eci.content, 4)?.try_into().ok()?;
    let mut content = Vec::new();
    match encrypted.tag {
        0x80 => content.push(range_of(input, encrypted.content)),
        0xa0 => {
            for chunk in children(encrypted.content, 5)? {
                chunk_ranges(input, &chunk, 5, &mut content)?;
            }
        }
        _ => return None,
    }
    let eci = der_tlv(0x30, &[content_type.raw, algorithm.raw])?;
    let parts: Vec<&[u8]> =
        fields.iter().enumerate().map(|(i, f)| if i == eci_at { &eci[..] } else { f.raw }).collect();
    let data = der_tlv(0x30, &parts)?;
    let explicit = der_tlv(0xa0, &[&data])?;
    Some(EnvelopedLayout { skeleton: der_tlv(0x30, &[oid.raw, &explicit])?, content })
}

/// The ranges of an OCTET STRING chunk's content, primitive (0x04) or constructed (0x24).
fn chunk_ranges(base: &[u8], tlv: &Tlv<'_>, depth: usize, out: &mut Vec<Range<usize>>) -> Option<()> {
    match tlv.tag {
        0x04 => out.push(range_of(base, tlv.content)),
        0x24 if depth < MAX_DEPTH => {
            for chunk in children(tlv.content, depth + 1)? {
                chunk_ranges(base, &chunk, depth + 1, out)?;
            }
        }
        _ => return None,
    }
    Some(())
}

/// Where `part`, a subslice of `base`, lies in it.
fn range_of(base: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - base.as_ptr() as usize;
    start..start + part.len()
}

/// A definite-length TLV with a single-octet tag around `parts`.
fn der_tlv(tag: u8, parts: &[&[u8]]) -> Option<Vec<u8>> {
    use der::Encode;
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    der::Length::try_from(len).ok()?.encode_to_vec(&mut out).ok()?;
    for p in parts {
        out.extend_from_slice(p);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructed_and_primitive_econtent() {
        // ContentInfo(indef) { OID, [0](indef) { SEQ(indef) { INT 1, SET {}, SEQ(indef) { OID, [0](indef) { 24 80 04 02 "he" 04 03 "llo" 00 00 } } } } }
        let oid = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
        let data_oid = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
        let build = |econtent: &[u8]| {
            let mut v = alloc::vec![0x30, 0x80];
            v.extend_from_slice(&oid);
            v.extend_from_slice(&[0xa0, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0x31, 0x00, 0x30, 0x80]);
            v.extend_from_slice(&data_oid);
            v.extend_from_slice(&[0xa0, 0x80]);
            v.extend_from_slice(econtent);
            v.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            v
        };
        let chunked = build(&[0x24, 0x80, 0x04, 0x02, b'h', b'e', 0x04, 0x03, b'l', b'l', b'o', 0, 0]);
        assert_eq!(signed_data_econtent(&chunked).as_deref(), Some(&b"hello"[..]));
        // Primitive content that looks like chunks stays as it is.
        let looks_chunked = build(&[0x04, 0x07, 0x04, 0x05, b'h', b'e', b'l', b'l', b'o']);
        assert_eq!(
            signed_data_econtent(&looks_chunked).as_deref(),
            Some(&[0x04, 0x05, b'h', b'e', b'l', b'l', b'o'][..])
        );
        assert_eq!(signed_data_econtent(&[0x30, 0x80, 0x00]), None);
        assert_eq!(signed_data_econtent(&[]), None);
    }

    #[test]
    fn enveloped_content_is_found_in_every_chunk() {
        // ContentInfo(indef) { OID, [0](indef) { SEQ(indef) { INT 0, SET { 30 00 }, SEQ(indef) {
        //   OID, SEQ { OID }, [0](indef) { 04 02 "ab" 24 80 { 04 01 "c" } 00 00 } } } } }
        let oid = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03];
        let data_oid = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
        let mut v = alloc::vec![0x30, 0x80];
        v.extend_from_slice(&oid);
        v.extend_from_slice(&[0xa0, 0x80, 0x30, 0x80, 0x02, 0x01, 0x00, 0x31, 0x02, 0x30, 0x00, 0x30, 0x80]);
        v.extend_from_slice(&data_oid);
        v.extend_from_slice(&[0x30, 0x03, 0x06, 0x01, 0x2a]);
        v.extend_from_slice(&[0xa0, 0x80, 0x04, 0x02, b'a', b'b', 0x24, 0x80, 0x04, 0x01, b'c', 0, 0, 0, 0]);
        v.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        let layout = enveloped_layout(&v).unwrap();
        let content: Vec<u8> = layout.content.iter().flat_map(|r| v[r.clone()].iter().copied()).collect();
        assert_eq!(content, b"abc");
        // The skeleton is the same structure, definite lengths outside, without the content.
        let mut want = alloc::vec![0x30, 0x28];
        want.extend_from_slice(&oid);
        want.extend_from_slice(&[0xa0, 0x1b, 0x30, 0x19, 0x02, 0x01, 0x00, 0x31, 0x02, 0x30, 0x00, 0x30, 0x10]);
        want.extend_from_slice(&data_oid);
        want.extend_from_slice(&[0x30, 0x03, 0x06, 0x01, 0x2a]);
        assert_eq!(layout.skeleton, want);
        // Trailing octets, a missing content and a wrong content tag are not walked.
        let mut trailing = v.clone();
        trailing.push(0);
        assert!(enveloped_layout(&trailing).is_none());
        assert!(enveloped_layout(&v[..v.len() - 1]).is_none());
    }
}
