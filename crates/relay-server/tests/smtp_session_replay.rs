//! The SMTP `Session` on hostile input, in CI: every seed of the `smtp_proto` fuzz target
//! (`fuzz/seeds/smtp_proto/`) and 1,000 deterministic mutations of each of them (flipped,
//! dropped, repeated and spliced octets; every other input with `STARTTLS` offered), each
//! driven through a whole session over an in-memory duplex with a fake handler. (The fuzz
//! target itself covers the sans-IO receivers; keeping the session here keeps the fuzz build
//! free of tokio, rustls and the server crate.)
//!
//! Invariants: no panic and no hang; the output, up to a `220 2.0.0` to `STARTTLS`, is a
//! sequence of well-formed replies starting with the greeting; every message handed to the
//! handler is within the size cap; the session ends without an I/O error.

#![allow(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation)]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use relay_engine::address::{Address, RelayDomains};
use relay_server::smtp::{Destination, Handler, Limits, Reply, Session};
use relay_server::tls::TlsAcceptor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn seeds_and_their_mutations_keep_the_session_well_formed() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/seeds/smtp_proto");
    let mut seeds: Vec<Vec<u8>> =
        std::fs::read_dir(dir).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect();
    seeds.sort();
    assert!(seeds.len() >= 9, "the fuzz seeds are missing from {dir}");
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let (mut runs, mut delivered, mut upgraded) = (0, 0, 0);
    for seed in &seeds {
        for round in 0..1000 {
            let input = if round == 0 { seed.clone() } else { mutate(seed, &seeds, &mut rng) };
            let Some((&knob, rest)) = input.split_first() else { continue };
            let (messages, tls) = session(knob, rest);
            delivered += messages;
            upgraded += usize::from(tls);
            runs += 1;
        }
    }
    println!("{runs} sessions, {delivered} messages delivered, {upgraded} STARTTLS upgrades begun");
    // The mutations must still reach the interesting states, or the test proves little.
    assert!(runs >= seeds.len() * 990, "{runs} sessions ran");
    assert!(delivered > runs / 25, "only {delivered} messages in {runs} sessions");
    assert!(upgraded > runs / 50, "only {upgraded} STARTTLS upgrades in {runs} sessions");
}

fn next(rng: &mut u64) -> u64 {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    *rng
}

/// One to four edits: flip a bit, drop a run, repeat a run, insert an SMTP-significant octet,
/// or splice in a piece of another seed.
fn mutate(seed: &[u8], seeds: &[Vec<u8>], rng: &mut u64) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=(next(rng) % 4) {
        let len = out.len().max(1);
        let at = (next(rng) as usize) % len;
        match next(rng) % 5 {
            0 if !out.is_empty() => out[at] ^= 1 << (next(rng) % 8),
            1 if !out.is_empty() => {
                let end = (at + 1 + (next(rng) as usize) % 16).min(out.len());
                out.drain(at..end);
            }
            2 if !out.is_empty() => {
                let end = (at + 1 + (next(rng) as usize) % 64).min(out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece);
            }
            3 => {
                let octets = [b'\r', b'\n', b'.', b':', b'<', b'>', b' ', 0, 0xff];
                out.insert(at.min(out.len()), octets[(next(rng) as usize) % octets.len()]);
            }
            _ => {
                let other = &seeds[(next(rng) as usize) % seeds.len()];
                if !other.is_empty() {
                    let from = (next(rng) as usize) % other.len();
                    let end = (from + 1 + (next(rng) as usize) % 80).min(other.len());
                    out.splice(at.min(out.len())..at.min(out.len()), other[from..end].iter().copied());
                }
            }
        }
    }
    out
}

/// The input cut into reads of 1 to 23 octets, in a pattern set by the knob.
fn reads(knob: u8, input: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = input;
    let mut i = usize::from(knob);
    while !rest.is_empty() {
        let n = (1 + (i * 31) % 23).min(rest.len());
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
        i += 1;
    }
    out
}

/// Panics unless `wire` is one well-formed reply.
fn check_wire(wire: &[u8]) {
    if let Err(e) = relay_smtp::check_reply_wire(wire) {
        panic!("{e}");
    }
}

const MAX_MESSAGE: usize = 2048;

/// Runs one session; returns how many messages reached the handler and whether a STARTTLS
/// upgrade began.
fn session(knob: u8, input: &[u8]) -> (usize, bool) {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let rt = RUNTIME
        .get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a tokio runtime"));
    let limits = Limits {
        max_message_size: MAX_MESSAGE,
        max_recipients: 3,
        max_line_length: 128,
        max_errors: 20,
        command_timeout: Duration::from_secs(30),
        data_timeout: Duration::from_secs(30),
        ..Limits::default()
    };
    let handler = Arc::new(Fake::new());
    let (reason, output) = rt.block_on(async {
        let (client, server) = tokio::io::duplex(4096);
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let mut session = Session::new(server, Arc::clone(&handler), limits, stopped);
        let tls = knob & 1 == 1;
        if tls {
            session = session.with_tls(acceptor());
        }
        let (mut from_server, mut to_server) = tokio::io::split(client);
        let write = async {
            for part in reads(knob, input) {
                if to_server.write_all(part).await.is_err() {
                    return;
                }
            }
            let _ = to_server.shutdown().await;
        };
        let read = async {
            let mut out = Vec::new();
            let _ = from_server.read_to_end(&mut out).await;
            out
        };
        let (reason, (), output) = tokio::join!(session.run(), write, read);
        (reason, output)
    });
    let reason = reason.expect("the session ends without an I/O error");
    let upgraded = find(&output, b"220 2.0.0 Ready to start TLS\r\n").is_some();
    let plaintext = match find(&output, b"220 2.0.0 Ready to start TLS\r\n") {
        Some(at) => &output[..at + 30],
        None => &output[..],
    };
    assert!(plaintext.starts_with(b"220 mx.pportal.io ESMTP\r\n"), "{:?}", String::from_utf8_lossy(plaintext));
    // Reply by reply: a reply ends at a line whose fourth octet is not `-`.
    let (mut reply_start, mut line_start) = (0, 0);
    for (end, _) in plaintext.iter().enumerate().filter(|&(_, &b)| b == b'\n') {
        let continued = plaintext.get(line_start + 3) == Some(&b'-') && line_start + 3 < end;
        line_start = end + 1;
        if !continued {
            check_wire(&plaintext[reply_start..=end]);
            reply_start = end + 1;
        }
    }
    assert_eq!(reply_start, plaintext.len(), "the output ends inside a reply");
    let sizes = handler.sizes.lock().expect("no poisoned lock");
    for size in sizes.iter() {
        assert!(*size <= MAX_MESSAGE, "a {size}-octet message reached the handler");
    }
    let _ = reason;
    (sizes.len(), upgraded)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A `STARTTLS` acceptor with a self-signed pair made once per process (in a temporary
/// directory that is removed again).
fn acceptor() -> TlsAcceptor {
    static ACCEPTOR: OnceLock<TlsAcceptor> = OnceLock::new();
    ACCEPTOR
        .get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("smtp_proto-fuzz-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("a temporary directory");
            let (cert, key, _) =
                relay_server::tls::self_signed_pair(&dir, &["localhost".into()]).expect("a self-signed pair");
            let acceptor = relay_server::tls::acceptor(&cert, &key).expect("the pair loads");
            let _ = std::fs::remove_dir_all(&dir);
            acceptor
        })
        .clone()
}

/// Accepts recipients at `pportal.io` (the destination is the local part's first octet, so a
/// transaction can meet `452 4.5.3`), refuses `tempfail` temporarily and `nobody` permanently,
/// and records the size of every message.
struct Fake {
    domains: RelayDomains,
    sizes: Mutex<Vec<usize>>,
}

impl Fake {
    fn new() -> Self {
        Fake { domains: RelayDomains::new(["pportal.io"]).expect("a domain"), sizes: Mutex::new(Vec::new()) }
    }
}

impl Handler for Fake {
    fn domains(&self) -> &RelayDomains {
        &self.domains
    }

    fn hostname(&self) -> &str {
        "mx.pportal.io"
    }

    async fn check_rcpt(&self, _mail_from: Option<&Address>, rcpt: &Address) -> Result<Destination, Reply> {
        if !self.domains.contains(rcpt.domain()) {
            return Err(Reply::RELAY_DENIED);
        }
        match rcpt.local() {
            "tempfail" => Err(Reply::TEMPORARY),
            "nobody" => Err(Reply::UNKNOWN_USER),
            local => Ok(Destination::new(local.get(..1).unwrap_or_default())),
        }
    }

    async fn deliver(&self, _mail_from: Option<&Address>, rcpts: &[Address], data: &[u8]) -> Result<(), Reply> {
        self.sizes.lock().expect("no poisoned lock").push(data.len());
        match rcpts.first().map(Address::local) {
            Some("hopfail") => Err(Reply::new(550, Some((5, 7, 1)), "refused")),
            _ => Ok(()),
        }
    }
}
