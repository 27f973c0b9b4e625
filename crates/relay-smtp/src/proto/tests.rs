//! Table tests of the sans-IO core: `(input, expected)`.

use relay_engine::address::{Address, AddressError};

use super::*;
use crate::Reply;

fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

fn mail(from: Option<&str>, params: MailParams) -> Result<Command, CommandError> {
    Ok(Command::Mail { from: from.map(addr), params })
}

fn rcpt(to: &str) -> Result<Command, CommandError> {
    Ok(Command::Rcpt { to: ForwardPath::Mailbox(addr(to)) })
}

const NONE: MailParams = MailParams { size: None, body: None, smtputf8: false };

#[test]
fn commands() {
    let ehlo = |h: &str| Ok(Command::Ehlo { host: h.into() });
    let bad_args = |verb| Err(CommandError::BadArguments { verb });
    let unknown = |k: &str| Err(CommandError::UnknownParameter { keyword: k.into() });
    let bad_param = |keyword| Err(CommandError::BadParameter { keyword });
    let cases: Vec<(&str, Result<Command, CommandError>)> = vec![
        ("EHLO client.example", ehlo("client.example")),
        ("ehlo [192.0.2.1]", ehlo("[192.0.2.1]")),
        ("EHLO   spaced.example  ", ehlo("spaced.example")),
        ("HELO client.example", Ok(Command::Helo { host: "client.example".into() })),
        ("EHLO", Err(CommandError::MissingDomain)),
        ("HELO ", Err(CommandError::MissingDomain)),
        ("MAIL FROM:<a@example.com>", mail(Some("a@example.com"), NONE)),
        ("mail from:<a@Example.COM>", mail(Some("a@example.com"), NONE)),
        ("MAIL FROM: <a@example.com>", mail(Some("a@example.com"), NONE)),
        ("MAIL FROM:<>", mail(None, NONE)),
        ("MAIL FROM:<@relay.example:a@example.com>", mail(Some("a@example.com"), NONE)),
        ("MAIL FROM:<a@example.com> SIZE=1000", mail(Some("a@example.com"), MailParams { size: Some(1000), ..NONE })),
        (
            "MAIL FROM:<a@example.com> size=5 body=8bitmime smtputf8",
            mail(Some("a@example.com"), MailParams { size: Some(5), body: Some(Body::EightBitMime), smtputf8: true }),
        ),
        (
            "MAIL FROM:<a@example.com> BODY=7BIT",
            mail(Some("a@example.com"), MailParams { body: Some(Body::SevenBit), ..NONE }),
        ),
        ("MAIL FROM:<用户@例子.广告> SMTPUTF8", mail(Some("用户@例子.广告"), MailParams { smtputf8: true, ..NONE })),
        ("MAIL FROM:<a@example.com> SIZE=", bad_param("SIZE")),
        ("MAIL FROM:<a@example.com> SIZE=12x", bad_param("SIZE")),
        ("MAIL FROM:<a@example.com> SIZE=1 SIZE=2", bad_param("SIZE")),
        ("MAIL FROM:<a@example.com> BODY=BINARYMIME", bad_param("BODY")),
        ("MAIL FROM:<a@example.com> SMTPUTF8=yes", bad_param("SMTPUTF8")),
        ("MAIL FROM:<a@example.com> RET=HDRS", unknown("RET")),
        ("MAIL FROM:<a@example.com> AUTH=<>", unknown("AUTH")),
        (
            "MAIL FROM:a@example.com",
            Err(CommandError::BadSender(AddressError::UnexpectedChar {
                component: relay_engine::address::Component::Path,
                ch: 'a',
                offset: 0,
            })),
        ),
        ("MAIL TO:<a@example.com>", bad_args("MAIL")),
        ("MAIL", bad_args("MAIL")),
        ("RCPT TO:<b@pportal.io>", rcpt("b@pportal.io")),
        ("rcpt to: <B@PPortal.io>", rcpt("B@pportal.io")),
        ("RCPT TO:<Postmaster>", Ok(Command::Rcpt { to: ForwardPath::Postmaster })),
        ("RCPT TO:<postmaster>", Ok(Command::Rcpt { to: ForwardPath::Postmaster })),
        ("RCPT TO:<postmaster@pportal.io>", rcpt("postmaster@pportal.io")),
        ("RCPT TO:<>", Err(CommandError::BadRecipient(AddressError::NullPath))),
        ("RCPT TO:<b@pportal.io> NOTIFY=NEVER", unknown("NOTIFY")),
        ("RCPT FROM:<b@pportal.io>", bad_args("RCPT")),
        ("DATA", Ok(Command::Data)),
        ("data  ", Ok(Command::Data)),
        ("DATA now", bad_args("DATA")),
        ("RSET", Ok(Command::Rset)),
        ("RSET x", bad_args("RSET")),
        ("NOOP", Ok(Command::Noop)),
        ("NOOP anything at all", Ok(Command::Noop)),
        ("QUIT", Ok(Command::Quit)),
        ("QUIT now", bad_args("QUIT")),
        ("VRFY bob", Ok(Command::Vrfy)),
        ("VRFY", bad_args("VRFY")),
        ("STARTTLS", Ok(Command::StartTls)),
        ("EXPN staff", Err(CommandError::NotImplemented { verb: "EXPN" })),
        ("help", Err(CommandError::NotImplemented { verb: "HELP" })),
        ("AUTH PLAIN AGFAAGI=", Ok(Command::Auth { mechanism: "PLAIN".into(), initial: Some("AGFAAGI=".into()) })),
        ("auth login", Ok(Command::Auth { mechanism: "LOGIN".into(), initial: None })),
        ("AUTH", Err(CommandError::BadArguments { verb: "AUTH" })),
        ("AUTH PLAIN a b", Err(CommandError::BadArguments { verb: "AUTH" })),
        ("EXPN x", Err(CommandError::NotImplemented { verb: "EXPN" })),
        ("BDAT 10 LAST", Err(CommandError::NotImplemented { verb: "BDAT" })),
        ("GET / HTTP/1.1", Err(CommandError::Unrecognized)),
        ("", Err(CommandError::Unrecognized)),
        ("MAILFROM:<a@example.com>", Err(CommandError::Unrecognized)),
    ];
    for (input, expected) in cases {
        assert_eq!(Command::parse(input), expected, "{input:?}");
    }
}

#[test]
fn command_errors_have_their_replies() {
    let cases: Vec<(&str, &str)> = vec![
        ("FOO", "500 5.5.2"),
        ("EXPN x", "502 5.5.1"),
        ("EHLO", "501 5.5.4"),
        ("DATA x", "501 5.5.4"),
        ("MAIL FROM:<a@@b>", "501 5.1.7"),
        ("RCPT TO:<>", "501 5.1.3"),
        ("RCPT TO:<a b@c>", "501 5.1.3"),
        ("MAIL FROM:<a@b> SIZE=x", "501 5.5.4"),
        ("MAIL FROM:<a@b> ENVID=1", "555 5.5.4"),
    ];
    for (input, code) in cases {
        let reply = Command::parse(input).unwrap_err().reply();
        assert!(reply.to_string().starts_with(code), "{input:?}: {reply}");
    }
}

/// Feeds `input` to a fresh receiver in one piece, returning every result and what is left.
fn lines(max: usize, input: &[u8]) -> (Vec<Result<Command, CommandError>>, bool) {
    let mut rx = CommandReceiver::new(max);
    let mut input = input;
    let mut out = Vec::new();
    while let Receive::Ready(r) = rx.ingest(&mut input) {
        out.push(r);
    }
    assert!(input.is_empty());
    (out, rx.has_partial_line())
}

#[test]
fn command_lines() {
    type Case = (&'static [u8], Vec<Result<Command, CommandError>>, bool);
    let cases: Vec<Case> = vec![
        (b"NOOP\r\n", vec![Ok(Command::Noop)], false),
        (b"NOOP\n", vec![Ok(Command::Noop)], false),
        (b"NOOP\r\nQUIT\r\n", vec![Ok(Command::Noop), Ok(Command::Quit)], false),
        (b"NOOP\r\nQU", vec![Ok(Command::Noop)], true),
        (b"NO\rOP\r\n", vec![Err(CommandError::ControlChar { byte: b'\r' })], false),
        (b"NOOP \x00\r\n", vec![Err(CommandError::ControlChar { byte: 0 })], false),
        (b"NOOP \xff\r\n", vec![Err(CommandError::NotUtf8)], false),
        (b"NOOP\tx\r\n", vec![Err(CommandError::Unrecognized)], false),
        (b"\r\n", vec![Err(CommandError::Unrecognized)], false),
    ];
    for (input, expected, partial) in cases {
        assert_eq!(lines(64, input), (expected, partial), "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn line_cap() {
    // 16 octets with CRLF is the most a cap of 16 takes.
    let ok = format!("NOOP {}\r\n", "x".repeat(9));
    assert_eq!(ok.len(), 16);
    assert_eq!(lines(16, ok.as_bytes()).0, vec![Ok(Command::Noop)]);
    let long = format!("NOOP {}\r\nQUIT\r\n", "x".repeat(10));
    assert_eq!(
        lines(16, long.as_bytes()).0,
        vec![Err(CommandError::LineTooLong { len: 17, max: 16 }), Ok(Command::Quit)]
    );
    // Byte by byte, the over-long line is discarded and the next one still parses.
    let mut rx = CommandReceiver::new(16);
    let mut results = Vec::new();
    for b in long.as_bytes() {
        let mut input: &[u8] = std::slice::from_ref(b);
        if let Receive::Ready(r) = rx.ingest(&mut input) {
            results.push(r);
        }
    }
    assert_eq!(results, vec![Err(CommandError::LineTooLong { len: 17, max: 16 }), Ok(Command::Quit)]);
    assert_eq!(CommandError::LineTooLong { len: 17, max: 16 }.reply(), Reply::LINE_TOO_LONG);
}

/// Runs `input` through a DataReceiver split at every position (and byte by byte), checking
/// that the result and the leftover are the same each way.
fn data(max: usize, input: &[u8]) -> (Receive<Result<Vec<u8>, DataError>>, Vec<u8>) {
    let whole = {
        let mut rx = DataReceiver::new(max);
        let mut rest = input;
        (rx.ingest(&mut rest), rest.to_vec())
    };
    for split in 0..=input.len() {
        let (a, b) = input.split_at(split);
        let mut rx = DataReceiver::new(max);
        let mut rest = a;
        let mut got = rx.ingest(&mut rest);
        let mut left = rest.to_vec();
        if got == Receive::NeedsMoreData {
            assert!(left.is_empty());
            let mut rest = b;
            got = rx.ingest(&mut rest);
            left = rest.to_vec();
        } else {
            left.extend_from_slice(b);
        }
        assert_eq!((&got, &left), (&whole.0, &whole.1), "split at {split} of {:?}", String::from_utf8_lossy(input));
    }
    let mut rx = DataReceiver::new(max);
    let mut got = Receive::NeedsMoreData;
    let mut i = 0;
    while got == Receive::NeedsMoreData && i < input.len() {
        let mut one = input.get(i..=i).unwrap();
        got = rx.ingest(&mut one);
        i += 1;
    }
    assert_eq!((&got, input.get(i..).unwrap()), (&whole.0, whole.1.as_slice()), "byte by byte");
    whole
}

#[test]
fn data_receiver() {
    let ok = |m: &[u8]| Receive::Ready(Ok(m.to_vec()));
    type Case = (&'static [u8], Receive<Result<Vec<u8>, DataError>>, &'static [u8]);
    let cases: Vec<Case> = vec![
        (b".\r\n", ok(b""), b""),
        (b"a\r\n.\r\n", ok(b"a\r\n"), b""),
        (b"a\r\n.\r\nQUIT\r\n", ok(b"a\r\n"), b"QUIT\r\n"),
        (b"Subject: x\r\n\r\nbody\r\n.\r\n", ok(b"Subject: x\r\n\r\nbody\r\n"), b""),
        // Dot-stuffing comes off; a dot elsewhere stays.
        (b"..\r\n.\r\n", ok(b".\r\n"), b""),
        (b"...x\r\n.a\r\na.b\r\n.\r\n", ok(b"..x\r\na\r\na.b\r\n"), b""),
        (b"..\r\n..\r\n.\r\n", ok(b".\r\n.\r\n"), b""),
        // Not the end: the terminator must be CRLF.CRLF exactly.
        (b"a\r\n. \r\n.\r\n", ok(b"a\r\n \r\n"), b""),
        (b"a\r\n.\r\r\n.\r\n", Receive::Ready(Err(DataError::BareLineEnding)), b""),
        (b"a\n.\n", Receive::NeedsMoreData, b""),
        (b"a\n.\r\n", Receive::NeedsMoreData, b""),
        (b"a\r\n.\n", Receive::NeedsMoreData, b""),
        (b"a\n.\r\n.\r\n", Receive::Ready(Err(DataError::BareLineEnding)), b""),
        (b"a\r\n.\nb\r\n.\r\n", Receive::Ready(Err(DataError::BareLineEnding)), b""),
        (b"a\rb\r\n.\r\nNOOP\r\n", Receive::Ready(Err(DataError::BareLineEnding)), b"NOOP\r\n"),
        (b"a\r\n", Receive::NeedsMoreData, b""),
        (b"", Receive::NeedsMoreData, b""),
        // 8-bit and UTF-8 content passes untouched.
        ("Ünïcödé\r\n\x00\x7f\r\n.\r\n".as_bytes(), ok("Ünïcödé\r\n\x00\x7f\r\n".as_bytes()), b""),
    ];
    for (input, expected, left) in cases {
        assert_eq!(data(100, input), (expected, left.to_vec()), "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn data_size_cap() {
    // 10 octets exactly fit; the dot-stuffing dot does not count.
    assert_eq!(data(10, b"..2345678\r\n.\r\n").0, Receive::Ready(Ok(b".2345678\r\n".to_vec())));
    assert_eq!(data(10, b"12345678\r\n.\r\n").0, Receive::Ready(Ok(b"12345678\r\n".to_vec())));
    // One more is too big, but the receiver reads on to the end and leaves what follows.
    let (got, left) = data(10, b"123456789\r\nmore\r\n.\r\nNOOP\r\n");
    assert_eq!(got, Receive::Ready(Err(DataError::TooBig { size: 17, max: 10 })));
    assert_eq!(left, b"NOOP\r\n");
    assert_eq!(DataError::TooBig { size: 17, max: 10 }.reply(), Reply::MESSAGE_TOO_BIG);
    // Too big wins over a bare LF.
    assert_eq!(data(3, b"12345\n\r\n.\r\n").0, Receive::Ready(Err(DataError::TooBig { size: 8, max: 3 })));
}

#[test]
fn data_large_message_in_chunks() {
    let mut message = Vec::new();
    for i in 0..2000 {
        message.extend_from_slice(format!("{}line {i}\r\n", if i % 7 == 0 { "." } else { "" }).as_bytes());
    }
    let mut stuffed = Vec::new();
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            stuffed.push(b'.');
        }
        stuffed.extend_from_slice(line);
    }
    stuffed.extend_from_slice(b".\r\n");
    let mut rx = DataReceiver::new(1 << 20);
    let mut result = Receive::NeedsMoreData;
    for chunk in stuffed.chunks(997) {
        let mut input = chunk;
        assert_eq!(result, Receive::NeedsMoreData);
        result = rx.ingest(&mut input);
    }
    assert_eq!(result, Receive::Ready(Ok(message)));
}

/// A small deterministic generator (xorshift64*), so the randomized tests need no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

/// Dot-stuffs a message of CRLF lines and ends it, as a client does.
fn stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[test]
fn data_round_trip_random_messages() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let pieces: [&[u8]; 6] = [b".", b"..", b"a", b"\r\n", b"\r\n.\r\n", b" "];
    for _ in 0..2000 {
        let mut message = Vec::new();
        for _ in 0..rng.below(30) {
            message.extend_from_slice(pieces[rng.below(pieces.len())]);
        }
        message.extend_from_slice(b"\r\n");
        let wire = stuff(&message);
        let mut rx = DataReceiver::new(1 << 16);
        let mut rest: &[u8] = &wire;
        let result = loop {
            let take = (1 + rng.below(8)).min(rest.len());
            let (mut chunk, tail) = rest.split_at(take);
            match rx.ingest(&mut chunk) {
                Receive::NeedsMoreData => assert!(chunk.is_empty()),
                Receive::Ready(r) => {
                    assert!(chunk.is_empty() && tail.is_empty(), "the end marker is the last thing sent");
                    break r;
                }
            }
            rest = tail;
        };
        assert_eq!(result, Ok(message.clone()), "{:?}", String::from_utf8_lossy(&wire));
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = Rng(42);
    let alphabet = b".\r\n aAMDQ:<>@\x00\xff";
    for _ in 0..3000 {
        let input: Vec<u8> = (0..rng.below(200)).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        let mut commands = CommandReceiver::new(1 + rng.below(40));
        let mut data = DataReceiver::new(rng.below(100));
        let mut rest: &[u8] = &input;
        while !rest.is_empty() {
            let before = rest.len();
            if rng.below(2) == 0 {
                let _ = commands.ingest(&mut rest);
            } else if let Receive::Ready(_) = data.ingest(&mut rest) {
                data = DataReceiver::new(rng.below(100));
            }
            assert!(rest.len() < before, "every call takes at least one byte");
        }
    }
}

#[test]
fn an_abandoned_message_is_read_to_its_end_and_not_kept() {
    let mut rx = DataReceiver::new(1000);
    let mut first: &[u8] = b"Subject: big\r\n\r\nline one\r\n";
    assert_eq!(rx.ingest(&mut first), Receive::NeedsMoreData);
    rx.abandon();
    let mut rest: &[u8] = b"line two\r\n.\r\nQUIT\r\n";
    assert_eq!(rx.ingest(&mut rest), Receive::Ready(Err(DataError::OverBudget)));
    assert_eq!(rest, b"QUIT\r\n", "the client and server stay in step");
    assert_eq!(DataError::OverBudget.reply(), Reply::INSUFFICIENT_STORAGE);
    assert_eq!(Reply::INSUFFICIENT_STORAGE.to_string(), "452 4.3.1 insufficient system storage, try again later");
    // Too big wins over the budget: that one is permanent.
    let mut rx = DataReceiver::new(4);
    rx.abandon();
    let mut input: &[u8] = b"12345\r\n.\r\n";
    assert!(matches!(rx.ingest(&mut input), Receive::Ready(Err(DataError::TooBig { .. }))));
}

/// A large message is given its full room once, past `LARGE_MESSAGE`: it does not move again
/// however it grows, and the one who takes it finds the headroom there.
#[test]
fn a_large_message_reserves_its_room_once() {
    let max = 8 * LARGE_MESSAGE;
    let mut r = DataReceiver::new(max).with_headroom(max / 2);
    let line = [b'x'; 998];
    let mut moved = 0;
    let mut last = None;
    let mut fed = 0;
    while fed < 5 * LARGE_MESSAGE {
        let mut chunk = Vec::with_capacity(line.len() + 2);
        chunk.extend_from_slice(&line);
        chunk.extend_from_slice(b"\r\n");
        let mut input = chunk.as_slice();
        assert_eq!(r.ingest(&mut input), Receive::NeedsMoreData);
        fed += chunk.len();
        if fed > 2 * LARGE_MESSAGE {
            let ptr = r.buffer_ptr();
            if last.is_some_and(|p| p != ptr) {
                moved += 1;
            }
            last = Some(ptr);
        }
    }
    let mut end = &b".\r\n"[..];
    let Receive::Ready(Ok(message)) = r.ingest(&mut end) else { panic!("the message ends") };
    assert_eq!(moved, 0, "the message moved while it grew");
    assert!(message.capacity() >= max + max / 2, "capacity {} for room {}", message.capacity(), max + max / 2);
    assert_eq!(message.len(), fed);
}
