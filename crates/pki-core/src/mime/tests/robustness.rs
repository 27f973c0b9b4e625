//! Hostile input: garbage, truncation, oversized lines, pathological sizes.

use alloc::vec;
use alloc::vec::Vec;

use super::super::*;
use super::{BOUNDARY, fake_der};

/// Runs every parser on `input`; only absence of panics is checked.
fn run_all(input: &[u8]) {
    let _ = canonicalize(input);
    let _ = split_message(input).map(|split| join_message(&split.outer_headers, &split.entity()));
    let _ = header_value(input, "content-type");
    let _ = classify(input);
    if let Ok(parsed) = parse_multipart_signed(input) {
        let _ = parsed.signed_content();
    }
    let _ = parse_pkcs7_mime(input);
    if let Ok(text) = core::str::from_utf8(input) {
        let _ = ContentType::parse(text);
    }
}

#[test]
fn garbage_is_an_error() {
    let inputs: &[&[u8]] = &[
        b"",
        b"\0\xff\xfe garbage \x80",
        b"\n",
        b"\r",
        b"\r\n\r\n",
        b"no header here",
        b":",
        b"Content-Type: multipart/signed; boundary=b\n\n--b",
        b"Content-Type: multipart/signed; boundary=b\n\n--b\n--b--",
        b"Content-Type: multipart/signed; boundary=\"\\",
        b"Content-Type: (((((((((\n\n",
        b"Content-Type: a/b; x*0*=%; x*1=%%%; y*=''; z*999=q; w*9999=q\n\n",
        b"Content-Type: application/pkcs7-mime\n\n====",
    ];
    for input in inputs {
        run_all(input);
        assert!(parse_multipart_signed(input).is_err(), "{input:?}");
        assert!(parse_pkcs7_mime(input).is_err(), "{input:?}");
    }
}

#[test]
fn no_blank_line_is_an_error() {
    let input = b"Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: base64\r\n";
    assert_eq!(parse_pkcs7_mime(input), Err(Error::NoHeaderBodySeparator));
    assert_eq!(parse_multipart_signed(input).unwrap_err(), Error::NoHeaderBodySeparator);
}

#[test]
fn huge_header_line_is_an_error() {
    let mut input = b"Subject: ".to_vec();
    input.resize(MAX_HEADER_FIELD_LEN + 10, b'x');
    input.extend_from_slice(b"\r\nContent-Type: application/pkcs7-mime\r\n\r\nMAA=\r\n");
    assert_eq!(split_message(&input), Err(Error::HeaderTooLong { line: 1 }));
    assert_eq!(parse_pkcs7_mime(&input), Err(Error::HeaderTooLong { line: 1 }));
    // A folded field counts as a whole.
    let mut folded = b"Content-Type: a/b".to_vec();
    for _ in 0..(MAX_HEADER_FIELD_LEN / 8) {
        folded.extend_from_slice(b"\r\n ; a=b");
    }
    folded.extend_from_slice(b"\r\n\r\n");
    assert_eq!(parse_pkcs7_mime(&folded), Err(Error::HeaderTooLong { line: 1 }));
    // Lookups skip it instead.
    assert_eq!(header_value(&input, "content-type").as_deref(), Some("application/pkcs7-mime"));
    run_all(&input);
}

/// Mutates valid messages with a deterministic generator and feeds them to all
/// parsers (a cheap stand-in for the fuzzer).
#[test]
fn mutated_messages_do_not_panic() {
    let signed = build_multipart_signed(b"Content-Type: text/plain\r\n\r\nhi\r\n", &fake_der(200), "sha-256", BOUNDARY);
    let enveloped = build_pkcs7_mime(&fake_der(200), SmimeType::EnvelopedData);
    let alphabet = b"\r\n-;=\"\\( )/:*%'aZ0+\t\x00\xff";
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let as_index = |value: u64, len: usize| usize::try_from(value % u64::try_from(len).unwrap()).unwrap();
    for round in 0..3000 {
        let mut input = if round % 2 == 0 { signed.clone() } else { enveloped.clone() };
        for _ in 0..1 + round % 8 {
            let pos = as_index(next(), input.len());
            let byte = alphabet[as_index(next(), alphabet.len())];
            match next() % 3 {
                0 => input[pos] = byte,
                1 => input.insert(pos, byte),
                _ => input.truncate(pos),
            }
            if input.is_empty() {
                input.push(byte);
            }
        }
        run_all(&input);
    }
}

/// Inputs built to trigger quadratic behaviour finish quickly (each would take
/// minutes if a scan restarted from the beginning for every line).
#[test]
fn large_inputs_are_linear() {
    let size = 4 << 20;
    let mut many_lines = b"Content-Type: multipart/signed; boundary=\"b\"\n\n".to_vec();
    many_lines.resize(size, b'\n');
    let mut prefixes = b"Content-Type: multipart/signed; boundary=\"bbbbbbbb\"\n\n".to_vec();
    while prefixes.len() < size {
        prefixes.extend_from_slice(b"--bbbbbbb\n--bbbbbbbbx\n");
    }
    let mut headers = Vec::new();
    while headers.len() < size {
        headers.extend_from_slice(b"X: y\n z\n");
    }
    let mut params = b"Content-Type: a/b".to_vec();
    while params.len() < MAX_HEADER_FIELD_LEN - 32 {
        params.extend_from_slice(b";p*1=v;q=\"(\"(");
    }
    params.extend_from_slice(b"\n\n");
    let start = std::time::Instant::now();
    for input in [&many_lines, &prefixes, &headers, &params, &vec![b'\r'; size]] {
        run_all(input);
    }
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
}
