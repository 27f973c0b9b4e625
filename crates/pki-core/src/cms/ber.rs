//! Just enough BER walking to read the encapsulated content of a BER SignedData exactly.
//!
//! `der`'s BER support hands a constructed OCTET STRING back as if it were primitive, with
//! its chunks' headers still inside, which cannot be told apart from primitive content that
//! happens to look like chunks. This walker looks at the original encoding instead.

use alloc::vec::Vec;

const MAX_DEPTH: usize = 32;

struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
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
                return Some((Tlv { tag, content: &rest[..used] }, cursor.get(2..)?));
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
    Some((Tlv { tag, content }, body.get(len..)?))
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
}
