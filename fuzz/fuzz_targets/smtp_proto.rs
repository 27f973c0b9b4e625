#![no_main]
//! The SMTP front on arbitrary bytes: the sans-IO receivers of `relay_server::smtp::proto`, and a
//! whole `Session` (with `STARTTLS` offered on every other input) over an in-memory duplex.
//!
//! The first byte of the input is a knob (line cap, size cap, how the rest is split into reads,
//! TLS or not); the rest is what the client sends. Invariants checked, besides "no panic, no
//! hang":
//!
//! - `CommandReceiver`: every call takes at least one byte; the result does not depend on how
//!   the input was split into reads; a parsed command came from a line within the cap; an
//!   over-long line is reported with its true length; every error's reply is well-formed.
//! - `DataReceiver`: the same split-independence; a message is within the size cap, is empty or
//!   ends in CRLF, has no bare CR or LF, and dot-stuffed again it reads back as itself; a
//!   `TooBig` error really was too big.
//! - `Session`: its output, up to a `220 2.0.0` to `STARTTLS` (TLS records follow), is a
//!   sequence of well-formed replies, starting with the greeting; every message handed to the
//!   handler is within the size cap; the session ends without an I/O error.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use relay_engine::address::{Address, RelayDomains};
use relay_server::smtp::proto::{CommandError, CommandReceiver, DataError, DataReceiver, Receive};
use relay_server::smtp::{Destination, Handler, Limits, Reply, Session};
use relay_server::tls::TlsAcceptor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fuzz_target!(|data: &[u8]| {
    let Some((&knob, input)) = data.split_first() else { return };
    commands(knob, input);
    message(knob, input);
    session(knob, input);
});

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

// ---- commands ------------------------------------------------------------------------------

type CommandResult = Result<relay_server::smtp::proto::Command, CommandError>;

fn commands(knob: u8, input: &[u8]) {
    let max_line = 16 + usize::from(knob % 64);
    let whole = run_commands(max_line, &[input]);
    let split = run_commands(max_line, &reads(knob, input));
    assert_eq!(whole, split, "command results depend on how the input was split");
}

fn run_commands(max_line: usize, parts: &[&[u8]]) -> Vec<CommandResult> {
    let mut rx = CommandReceiver::new(max_line);
    let mut out = Vec::new();
    let mut line_len = 0;
    for part in parts {
        let mut rest = *part;
        while !rest.is_empty() {
            let before = rest.len();
            let result = rx.ingest(&mut rest);
            assert!(rest.len() < before, "the command receiver took nothing");
            line_len += before - rest.len();
            match result {
                Receive::NeedsMoreData => assert!(rest.is_empty(), "NeedsMoreData with input left"),
                Receive::Ready(result) => {
                    match &result {
                        Ok(_) => assert!(line_len <= max_line, "a {line_len}-octet line passed a {max_line} cap"),
                        Err(CommandError::LineTooLong { len, max }) => {
                            assert_eq!((*len, *max), (line_len, max_line));
                            assert!(len > max);
                        }
                        Err(_) => {}
                    }
                    if let Err(e) = &result {
                        check_wire(&e.reply().to_wire());
                    }
                    line_len = 0;
                    out.push(result);
                }
            }
        }
    }
    out
}

/// A reply in wire form: lines of `ddd-text` then one `ddd text`, CRLF each, at most 512
/// octets a line.
fn check_wire(wire: &[u8]) {
    assert!(wire.ends_with(b"\r\n"), "{wire:?}");
    let lines: Vec<&[u8]> = wire.strip_suffix(b"\r\n").unwrap_or(wire).split(|&b| b == b'\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        assert!(line.len() + 2 <= 512, "reply line of {} octets", line.len());
        assert!(!line.contains(&b'\r'), "CR inside a reply line: {line:?}");
        assert!(line.len() >= 3 && line[..3].iter().all(u8::is_ascii_digit), "{line:?}");
        let code = (u16::from(line[0] - b'0') * 100) + u16::from(line[1] - b'0') * 10 + u16::from(line[2] - b'0');
        assert!((200..600).contains(&code), "{line:?}");
        assert_eq!(&line[..3], &lines[0][..3], "one code per reply");
        let last = i + 1 == lines.len();
        match line.get(3) {
            None => assert!(last, "{line:?}"),
            Some(b'-') => assert!(!last, "{line:?}"),
            Some(b' ') => assert!(last, "{line:?}"),
            Some(_) => panic!("bad separator: {line:?}"),
        }
    }
}

// ---- message -------------------------------------------------------------------------------

type DataOutcome = Option<(Result<Vec<u8>, DataError>, usize)>;

fn message(knob: u8, input: &[u8]) {
    let max = usize::from(knob) * 16;
    let whole = run_data(max, &[input]);
    let split = run_data(max, &reads(knob, input));
    assert_eq!(whole, split, "the message depends on how the input was split");
    match whole {
        Some((Ok(msg), _)) => {
            assert!(msg.len() <= max, "{} octets passed a {max} cap", msg.len());
            assert!(msg.is_empty() || msg.ends_with(b"\r\n"), "{msg:?}");
            for (i, &b) in msg.iter().enumerate() {
                match b {
                    b'\n' => assert!(i > 0 && msg[i - 1] == b'\r', "bare LF at {i}"),
                    b'\r' => assert!(msg.get(i + 1) == Some(&b'\n'), "bare CR at {i}"),
                    _ => {}
                }
            }
            let stuffed = stuff(&msg);
            assert_eq!(run_data(max, &[&stuffed]), Some((Ok(msg), stuffed.len())), "dot-stuffed again, read back");
        }
        Some((Err(DataError::TooBig { size, max: cap }), _)) => assert!(size > cap && cap == max),
        _ => {}
    }
}

/// Feeds the parts until the message ends: the result and the octets taken.
fn run_data(max: usize, parts: &[&[u8]]) -> DataOutcome {
    let mut rx = DataReceiver::new(max);
    let mut taken = 0;
    for part in parts {
        let mut rest = *part;
        let before = rest.len();
        let result = rx.ingest(&mut rest);
        taken += before - rest.len();
        match result {
            Receive::NeedsMoreData => assert!(rest.is_empty(), "NeedsMoreData with input left"),
            Receive::Ready(result) => return Some((result, taken)),
        }
    }
    None
}

/// A message as a client sends it after `DATA`: dot-stuffed, ending in `.` CRLF.
fn stuff(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 8);
    let mut line_start = true;
    for &b in msg {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    out.extend_from_slice(b".\r\n");
    out
}

// ---- session -------------------------------------------------------------------------------

const MAX_MESSAGE: usize = 2048;

fn session(knob: u8, input: &[u8]) {
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
    for size in handler.sizes.lock().expect("no poisoned lock").iter() {
        assert!(*size <= MAX_MESSAGE, "a {size}-octet message reached the handler");
    }
    let _ = reason;
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
