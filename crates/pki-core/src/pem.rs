//! Finding PEM blocks ([RFC 7468](https://www.rfc-editor.org/rfc/rfc7468)) in text that may hold
//! several, with explanatory text around them (as `openssl x509 -text` and `openssl pkcs12`
//! write), so that an error can say which label was found instead of the one expected.

use alloc::{format, string::String, vec::Vec};

use crate::{Error, Result};

/// One decoded PEM block.
pub(crate) struct Block {
    /// The label, e.g. `CERTIFICATE`.
    pub(crate) label: String,
    /// The decoded DER.
    pub(crate) der: Vec<u8>,
}

const BEGIN: &[u8] = b"-----BEGIN ";
const DASHES: &[u8] = b"-----";

/// Every PEM block of `input`, in order. Text outside the blocks is ignored.
///
/// # Errors
/// [`Error::Pem`] naming `expected` and what was found, if a block is malformed.
pub(crate) fn blocks(input: &[u8], expected: &'static str) -> Result<Vec<Block>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(start) = find(&input[pos..], BEGIN).map(|i| pos + i) {
        let label_start = start + BEGIN.len();
        let Some(label_len) = find(&input[label_start..], DASHES) else {
            return Err(Error::Pem { expected, found: String::from("a BEGIN line without its closing dashes") });
        };
        let label = String::from_utf8_lossy(&input[label_start..label_start + label_len]).into_owned();
        let end_marker = format!("-----END {label}-----");
        let Some(end) = find(&input[label_start..], end_marker.as_bytes()).map(|i| label_start + i) else {
            return Err(Error::Pem { expected, found: format!("a {label} block without its END line") });
        };
        let block_end = end + end_marker.len();
        let (_, der) = der::pem::decode_vec(&input[start..block_end])
            .map_err(|e| Error::Pem { expected, found: format!("a malformed {label} block ({e})") })?;
        out.push(Block { label, der });
        pos = block_end;
    }
    Ok(out)
}

/// Describes input that held no PEM block at all.
pub(crate) fn describe_non_pem(input: &[u8]) -> String {
    match input.first() {
        None => String::from("empty input"),
        Some(0x30) => String::from("DER (binary), not PEM: use the DER reader"),
        Some(_) => String::from("no -----BEGIN line"),
    }
}

/// Exactly one block labelled `expected`.
///
/// # Errors
/// [`Error::Pem`] if there is no block, more than one, or one with another label.
pub(crate) fn single(input: &[u8], expected: &'static str) -> Result<Vec<u8>> {
    let mut found = blocks(input, expected)?;
    match found.len() {
        0 => Err(Error::Pem { expected, found: describe_non_pem(input) }),
        1 => {
            let block = found.remove(0);
            if block.label == expected {
                Ok(block.der)
            } else {
                Err(Error::Pem { expected, found: format!("label {:?}", block.label) })
            }
        }
        n => Err(Error::Pem {
            expected,
            found: format!(
                "{n} PEM blocks ({})",
                found.iter().map(|b| b.label.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

/// The error for input that is not one well-formed `expected` block, found from the labels
/// alone (nothing is decoded: the input may hold a private key).
pub(crate) fn mismatch(input: &[u8], expected: &'static str) -> Error {
    let mut labels = Vec::new();
    let mut pos = 0;
    while let Some(start) = find(&input[pos..], BEGIN).map(|i| pos + i + BEGIN.len()) {
        let len = find(&input[start..], DASHES).unwrap_or(0);
        labels.push(String::from_utf8_lossy(&input[start..start + len]).into_owned());
        pos = start + len;
    }
    let found = match labels.as_slice() {
        [] => describe_non_pem(input),
        [one] if one == expected => format!("a malformed {one} block"),
        [one] if one.ends_with("PRIVATE KEY") => {
            format!("label {one:?} (convert it with `openssl pkcs8 -topk8 -nocrypt`)")
        }
        [one] => format!("label {one:?}"),
        many => format!("{} PEM blocks ({})", many.len(), many.join(", ")),
    };
    Error::Pem { expected, found }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const ONE: &str = "-----BEGIN THING-----\nMAA=\n-----END THING-----\n";

    #[test]
    fn finds_blocks_among_text() {
        let input = format!("subject=CN=x\n{ONE}issuer=CN=y\n{}", ONE.replace("THING", "OTHER"));
        let b = blocks(input.as_bytes(), "THING").unwrap();
        assert_eq!(b.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(), ["THING", "OTHER"]);
        assert_eq!(b[0].der, [0x30, 0x00]);
    }

    #[test]
    fn single_names_what_it_found() {
        assert_eq!(single(ONE.as_bytes(), "THING").unwrap(), [0x30, 0x00]);
        let wrong = single(ONE.as_bytes(), "CERTIFICATE").unwrap_err().to_string();
        assert_eq!(wrong, "PEM: expected CERTIFICATE, found label \"THING\"");
        let two = single(format!("{ONE}{ONE}").as_bytes(), "THING").unwrap_err().to_string();
        assert!(two.contains("2 PEM blocks (THING, THING)"), "{two}");
        let der = single(&[0x30, 0x03, 0x02, 0x01, 0x05], "THING").unwrap_err().to_string();
        assert!(der.contains("DER (binary), not PEM"), "{der}");
        let cut = single(b"-----BEGIN THING-----\nMAA=\n", "THING").unwrap_err().to_string();
        assert!(cut.contains("without its END line"), "{cut}");
        let rsa = mismatch(b"-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n", "PRIVATE KEY");
        assert!(rsa.to_string().contains("found label \"RSA PRIVATE KEY\" (convert it with `openssl pkcs8"), "{rsa}");
        let bad = single(b"-----BEGIN THING-----\n!!!\n-----END THING-----\n", "THING").unwrap_err().to_string();
        assert!(bad.contains("malformed THING block"), "{bad}");
    }
}
