//! Hostile input: garbage, deep nesting, large bodies, broken framing. The scrub must return
//! an error or clean output, never panic, and finish in bounded time.

use std::time::{Duration, Instant};

use super::*;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

/// Scrubs and checks the outcome; returns how long it took. A successful scrub must leave no
/// leak (`scrub_message` checks its own output, and this checks it again).
fn run(raw: &[u8]) -> Duration {
    let start = Instant::now();
    if let Ok(out) = scrub_message(raw, &SCRUB) {
        let left = leaks(&out.message, REAL);
        let shown = String::from_utf8_lossy(&out.message[..out.message.len().min(4000)]).into_owned();
        assert!(left.is_empty(), "{left:?}\n{shown}");
    }
    let _ = leaks(raw, REAL);
    start.elapsed()
}

/// Mutations per fixture (`SCRUB_FUZZ_ROUNDS` raises it for a longer local run).
fn rounds() -> usize {
    std::env::var("SCRUB_FUZZ_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(60)
}

#[test]
fn garbage_and_mutated_fixtures() {
    let seed = std::env::var("SCRUB_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5EED_1234_ABCD_0001);
    let mut rng = Rng(seed);
    let alphabet: &[u8] = b"alice@real.example=?utf-8?q?b?\r\n--b-- <>&#64;%40:;\"\t Content-Type: multipart/mixed; \
                            boundary=b message/rfc822 base64 quoted-printable charset=utf-16 \xff\xfe\x00";
    for _ in 0..rounds() * 5 {
        let len = rng.below(3000);
        let raw: Vec<u8> = (0..len)
            .map(|_| if rng.below(4) == 0 { rng.byte() } else { alphabet[rng.below(alphabet.len())] })
            .collect();
        run(&raw);
    }
    let dir = format!("{}/../../fixtures/eml/scrub", env!("CARGO_MANIFEST_DIR"));
    let mut fixtures: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    fixtures.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    fixtures.sort();
    for path in fixtures {
        let base = std::fs::read(&path).unwrap();
        for _ in 0..rounds() {
            let mut raw = base.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(raw.len());
                match rng.below(4) {
                    0 => raw[at] = rng.byte(),
                    1 => raw.truncate(at),
                    2 => {
                        raw.remove(at);
                    }
                    _ => raw.insert(at, alphabet[rng.below(alphabet.len())]),
                }
                if raw.is_empty() {
                    break;
                }
            }
            run(&raw);
        }
    }
}

#[test]
fn ten_thousand_nested_multiparts() {
    let mut raw = String::from("From: alice@real.example\r\n");
    for i in 0..10_000 {
        raw.push_str(&format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"));
    }
    raw.push_str("Content-Type: text/plain\r\n\r\nalice@real.example\r\n");
    for i in (0..10_000).rev() {
        raw.push_str(&format!("--b{i}--\r\n"));
    }
    let start = Instant::now();
    assert!(matches!(scrub_message(raw.as_bytes(), &SCRUB), Err(ScrubError::TooDeep { .. })));
    assert!(leaks(raw.as_bytes(), REAL).iter().any(|l| l.form == LeakForm::Uninspected));
    assert!(start.elapsed() < Duration::from_secs(20), "{:?}", start.elapsed());
}

#[test]
fn ten_thousand_nested_messages() {
    let mut raw = String::new();
    for _ in 0..10_000 {
        raw.push_str("From: alice@real.example\r\nContent-Type: message/rfc822\r\n\r\n");
    }
    raw.push_str("Subject: deep\r\n\r\nalice@real.example\r\n");
    let start = Instant::now();
    assert!(matches!(scrub_message(raw.as_bytes(), &SCRUB), Err(ScrubError::TooDeep { .. })));
    assert!(leaks(raw.as_bytes(), REAL).iter().any(|l| l.form == LeakForm::Uninspected));
    assert!(start.elapsed() < Duration::from_secs(20), "{:?}", start.elapsed());
}

#[test]
fn many_parts_are_capped() {
    let mut raw = String::from("Content-Type: multipart/mixed; boundary=b\r\n\r\n");
    raw.push_str(&"--b\r\n\r\nx\r\n".repeat(MAX_PARTS + 10));
    assert_eq!(scrub_message(raw.as_bytes(), &SCRUB), Err(ScrubError::TooManyParts));
}

#[test]
fn five_megabyte_bodies() {
    let filler = "Lorem ipsum dolor sit amet, alice@real.exampl consectetur <b>adipiscing</b> %40 &#6 =? elit.\n";
    let body = filler.repeat(5 * 1024 * 1024 / filler.len());
    let cases = [
        format!("From: alice@real.example\nContent-Type: text/plain\n\nalice@real.example\n{body}alice@real.example\n"),
        format!(
            "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n{}\n",
            <base64ct::Base64 as base64ct::Encoding>::encode_string(
                format!("{body}<a href=\"mailto:alice@real.example\">x</a>").as_bytes()
            )
        ),
        format!(
            "Content-Type: text/plain; charset=shift_jis\nContent-Transfer-Encoding: quoted-printable\n\n{}\n",
            super::super::codec::qp_encode(format!("{body}alice@real.example").as_bytes(), b"\n")
                .into_iter()
                .map(char::from)
                .collect::<String>()
        ),
        "<<<<<<<<<<".repeat(500_000),
        "=?=?=?utf-8?q?".repeat(400_000),
        format!("Subject: {}\n\n", "alice@real.ex ".repeat(300_000)),
        "aaaaa".repeat(1_000_000),
    ];
    for raw in &cases {
        let took = run(raw.as_bytes());
        assert!(took < Duration::from_secs(30), "{took:?}");
    }
    let out = scrub_message(cases[0].as_bytes(), &SCRUB).unwrap();
    assert_eq!(out.replacements, 3);
    assert_eq!(scrub_message(cases[1].as_bytes(), &SCRUB).unwrap().replacements, 1);
}

#[test]
fn unterminated_and_odd_framing() {
    let cases: [&[u8]; 9] = [
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nalice@real.example\n",
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n--b\nalice@real.example",
        b"Content-Type: multipart/mixed; boundary=b\n\nno delimiter at all alice@real.example\n",
        b"Content-Type: multipart/mixed\n\n--b\n\nalice@real.example\n",
        b"Content-Type: multipart/signed; boundary=s\n\n--s--\nalice@real.example\n",
        b"Content-Type: message/rfc822\n\n",
        b"From: alice@real.example",
        b"\n\nalice@real.example",
        b" folded first line alice@real.example\n\nbody",
    ];
    for raw in cases {
        let out = scrub_message(raw, &SCRUB).unwrap();
        assert!(leaks(&out.message, REAL).is_empty(), "{}", String::from_utf8_lossy(&out.message));
    }
    assert!(scrub_message(b"", &SCRUB).unwrap().message.is_empty());
}
