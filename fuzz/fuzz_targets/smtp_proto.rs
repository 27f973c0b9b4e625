#![no_main]
//! The SMTP front on arbitrary bytes: the sans-IO receivers of `relay_smtp::proto` (what
//! `relay_server::smtp` re-exports). The whole `Session` over an in-memory duplex, which needs
//! tokio, rustls and the server crate, is driven with these seeds and mutations of them by
//! `crates/relay-server/tests/smtp_session_replay.rs` instead, so this target builds in seconds.
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

use libfuzzer_sys::fuzz_target;
use relay_smtp::proto::{CommandError, CommandReceiver, DataError, DataReceiver, Receive};

fuzz_target!(|data: &[u8]| {
    let Some((&knob, input)) = data.split_first() else { return };
    commands(knob, input);
    message(knob, input);
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

type CommandResult = Result<relay_smtp::proto::Command, CommandError>;

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

/// Panics unless `wire` is one well-formed reply.
fn check_wire(wire: &[u8]) {
    if let Err(e) = relay_smtp::check_reply_wire(wire) {
        panic!("{e}");
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
