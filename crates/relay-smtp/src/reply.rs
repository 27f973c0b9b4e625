//! SMTP replies: the [`Reply`] type and the one table of every reply the server gives.
//!
//! A reply is a three-digit code (RFC 5321 §4.2), an optional enhanced status code (RFC 3463,
//! advertised as `ENHANCEDSTATUSCODES`, RFC 2034) and text. RFC 2034 §4 leaves the enhanced code
//! out of the greeting, the answers to `EHLO`/`HELO`, and `354` (its class would be `3`, which
//! RFC 3463 does not have); every other reply carries one whose class matches the code's first
//! digit.
//!
//! ```text
//! Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
//!                  Reply-code [ SP textstring ] CRLF        ; RFC 5321 §4.2
//! status-code    = class "." subject "." detail             ; RFC 3463 §2
//! ```
//!
//! Replies from the `Handler` (in `relay_server::smtp`) (and from the engine, through
//! `From<relay_engine::Reply>`) go through the same writer, which makes multi-line replies from
//! `\n` in the text and replaces every other control character with a space, so no text can
//! inject a line into the session.

use std::borrow::Cow;

use core::fmt;

/// An SMTP reply: code, enhanced status code and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code (RFC 5321 §4.2.2).
    pub code: u16,
    /// The enhanced status code (RFC 3463), e.g. `(5, 1, 1)`; `None` where RFC 2034 leaves it out.
    pub enhanced: Option<(u8, u16, u16)>,
    /// Human-readable text. A `\n` starts a new line of a multi-line reply.
    pub text: Cow<'static, str>,
}

/// Longest text written on one reply line, in octets (RFC 5321 §4.5.3.1.5 allows 512 octets for
/// a whole reply line, code and CRLF included).
const MAX_TEXT_LINE: usize = 480;

impl Reply {
    const fn fixed(code: u16, enhanced: (u8, u16, u16), text: &'static str) -> Self {
        Reply { code, enhanced: Some(enhanced), text: Cow::Borrowed(text) }
    }

    /// A reply with its code, enhanced code and text.
    #[must_use]
    pub fn new(code: u16, enhanced: Option<(u8, u16, u16)>, text: impl Into<Cow<'static, str>>) -> Self {
        Reply { code, enhanced, text: text.into() }
    }

    // ---- 2xx -----------------------------------------------------------------------------

    /// 221 2.0.0: answer to `QUIT`; the server closes the connection.
    pub const BYE: Reply = Reply::fixed(221, (2, 0, 0), "bye");
    /// 250 2.0.0: `NOOP`, `RSET`.
    pub const OK: Reply = Reply::fixed(250, (2, 0, 0), "ok");
    /// 250 2.1.0: `MAIL FROM` accepted.
    pub const SENDER_OK: Reply = Reply::fixed(250, (2, 1, 0), "sender ok");
    /// 250 2.1.5: `RCPT TO` accepted.
    pub const RECIPIENT_OK: Reply = Reply::fixed(250, (2, 1, 5), "recipient ok");
    /// 250 2.0.0: the message was delivered to the next hop (delivery is synchronous).
    pub const DELIVERED: Reply = Reply::fixed(250, (2, 0, 0), "message accepted and delivered");
    /// 252 2.5.0: answer to every `VRFY`, which discloses nothing about the address.
    pub const CANNOT_VRFY: Reply =
        Reply::fixed(252, (2, 5, 0), "cannot verify addresses; send the message and delivery will be attempted");

    /// 235 2.7.0: SMTP AUTH succeeded (RFC 4954).
    pub const AUTH_OK: Reply = Reply::fixed(235, (2, 7, 0), "authentication succeeded");
    /// 220 2.0.0: answer to `STARTTLS` (RFC 3207 §4); the TLS handshake starts right after it.
    pub const READY_TLS: Reply = Reply::fixed(220, (2, 0, 0), "Ready to start TLS");

    // ---- 3xx -----------------------------------------------------------------------------

    /// 354: go ahead with the message (no enhanced code: RFC 3463 has no class 3).
    pub const START_DATA: Reply =
        Reply { code: 354, enhanced: None, text: Cow::Borrowed("end data with <CR><LF>.<CR><LF>") };

    // ---- 4xx -----------------------------------------------------------------------------

    /// 421 4.4.2: no command (or no message data) within the timeout; the server closes.
    pub const TIMEOUT: Reply = Reply::fixed(421, (4, 4, 2), "timeout exceeded, closing connection");
    /// 421 4.7.0: the server has as many connections as it takes; the server closes.
    pub const TOO_MANY_CONNECTIONS: Reply = Reply::fixed(421, (4, 7, 0), "too many connections, try again later");
    /// 421 4.7.0: the client's address has as many connections as it may; the server closes.
    pub const TOO_MANY_CONNECTIONS_FROM_IP: Reply =
        Reply::fixed(421, (4, 7, 0), "too many connections from your address, try again later");
    /// 421 4.7.0: the client made too many errors; the server closes.
    pub const TOO_MANY_ERRORS: Reply = Reply::fixed(421, (4, 7, 0), "too many errors, closing connection");
    /// 421 4.7.0: the session has lasted as long as one may; the server closes.
    pub const SESSION_TOO_LONG: Reply = Reply::fixed(421, (4, 7, 0), "session time limit reached, closing connection");
    /// 421 4.7.0: the session has had as many transactions as one may; the server closes.
    pub const TOO_MANY_TRANSACTIONS: Reply =
        Reply::fixed(421, (4, 7, 0), "too many messages in one session, closing connection");
    /// 421 4.3.2: the server is shutting down; the client retries later.
    pub const SHUTTING_DOWN: Reply = Reply::fixed(421, (4, 3, 2), "service shutting down, try again later");
    /// 451 4.3.0: a temporary failure on our side; the client retries.
    pub const TEMPORARY: Reply = Reply::fixed(451, (4, 3, 0), "temporary failure, please try again later");
    /// 450 4.7.1: the client's address sent more messages than its rate allows; it retries later.
    pub const TOO_MANY_MESSAGES_FROM_IP: Reply =
        Reply::fixed(450, (4, 7, 1), "too many messages from your address, try again later");
    /// 452 4.3.1: the server has no room for more message data in flight; the client retries.
    pub const INSUFFICIENT_STORAGE: Reply =
        Reply::fixed(452, (4, 3, 1), "insufficient system storage, try again later");
    /// 452 4.5.3: more recipients than the server takes in one transaction.
    pub const TOO_MANY_RECIPIENTS: Reply = Reply::fixed(452, (4, 5, 3), "too many recipients");
    /// 452 4.5.3: the recipient needs another delivery than the transaction's first recipient;
    /// the client sends it in a new transaction (RFC 5321 §4.5.3.1.10).
    pub const ONE_DESTINATION: Reply =
        Reply::fixed(452, (4, 5, 3), "one destination per transaction; send this recipient in a new transaction");

    /// 454 4.7.0: the credentials could not be checked now (RFC 4954 §6); the client retries.
    pub const AUTH_TEMPORARY: Reply = Reply::fixed(454, (4, 7, 0), "temporary authentication failure");

    // ---- 5xx: protocol -------------------------------------------------------------------

    /// 500 5.5.2: not a command the server knows.
    pub const UNRECOGNIZED: Reply = Reply::fixed(500, (5, 5, 2), "command not recognized");
    /// 500 5.5.2: the command line is malformed (not UTF-8, a bare CR, no argument separator).
    pub const SYNTAX: Reply = Reply::fixed(500, (5, 5, 2), "syntax error");
    /// 500 5.5.2: the command line is longer than the line limit.
    pub const LINE_TOO_LONG: Reply = Reply::fixed(500, (5, 5, 2), "line too long");
    /// 501 5.5.4: bad arguments.
    pub const BAD_ARGUMENTS: Reply = Reply::fixed(501, (5, 5, 4), "syntax error in parameters or arguments");
    /// 501 5.5.4: `EHLO`/`HELO` without a domain.
    pub const HELO_NEEDS_DOMAIN: Reply = Reply::fixed(501, (5, 5, 4), "EHLO and HELO need a domain or address literal");
    /// 501 5.1.7: the `MAIL FROM` path does not parse.
    pub const BAD_SENDER_SYNTAX: Reply = Reply::fixed(501, (5, 1, 7), "bad sender address syntax");
    /// 501 5.1.3: the `RCPT TO` path does not parse (or is `<>`).
    pub const BAD_RECIPIENT_SYNTAX: Reply = Reply::fixed(501, (5, 1, 3), "bad recipient address syntax");
    /// 502 5.5.1: a known command the server does not implement (`EXPN`, `HELP`, `AUTH`, …).
    pub const NOT_IMPLEMENTED: Reply = Reply::fixed(502, (5, 5, 1), "command not implemented");
    /// 502 5.5.1: `STARTTLS` while no TLS acceptor is configured (it is not advertised then).
    pub const TLS_NOT_AVAILABLE: Reply = Reply::fixed(502, (5, 5, 1), "STARTTLS not available");
    /// 503 5.5.1: `STARTTLS` on a connection that is already under TLS (RFC 3207 §4.2).
    pub const TLS_ALREADY_ACTIVE: Reply = Reply::fixed(503, (5, 5, 1), "TLS already active");
    /// 501 5.0.0: the client cancelled the SASL exchange with `*`, or its answer was not base64.
    pub const AUTH_CANCELLED: Reply = Reply::fixed(501, (5, 0, 0), "authentication cancelled or malformed");
    /// 503 5.5.1: `AUTH` after a successful `AUTH`, or during a transaction.
    pub const AUTH_NOT_NOW: Reply = Reply::fixed(503, (5, 5, 1), "already authenticated, or inside a transaction");
    /// 504 5.5.4: a SASL mechanism the server does not offer.
    pub const AUTH_MECHANISM: Reply = Reply::fixed(504, (5, 5, 4), "unrecognized authentication type");
    /// 530 5.7.0: the submission listener takes mail only after `AUTH`.
    pub const AUTH_REQUIRED: Reply = Reply::fixed(530, (5, 7, 0), "authentication required");
    /// 535 5.7.8: the credentials are wrong (RFC 4954 §6), whatever was wrong with them.
    pub const AUTH_FAILED: Reply = Reply::fixed(535, (5, 7, 8), "authentication credentials invalid");
    /// 538 5.7.11: `AUTH` over a connection that is not encrypted (RFC 4954 §6).
    pub const ENCRYPTION_REQUIRED: Reply =
        Reply::fixed(538, (5, 7, 11), "encryption required for requested authentication mechanism");
    /// 503 5.5.1: `MAIL` before `EHLO`/`HELO`.
    pub const HELO_FIRST: Reply = Reply::fixed(503, (5, 5, 1), "send EHLO or HELO first");
    /// 503 5.5.1: `MAIL` inside a transaction.
    pub const NESTED_MAIL: Reply = Reply::fixed(503, (5, 5, 1), "nested MAIL command");
    /// 503 5.5.1: `RCPT` or `DATA` before `MAIL`.
    pub const MAIL_FIRST: Reply = Reply::fixed(503, (5, 5, 1), "send MAIL first");
    /// 554 5.5.1: `DATA` while no recipient was accepted.
    pub const NO_VALID_RECIPIENTS: Reply = Reply::fixed(554, (5, 5, 1), "no valid recipients");
    /// 555 5.5.4: a `MAIL`/`RCPT` parameter the server does not know or does not implement.
    pub const UNKNOWN_PARAMETER: Reply =
        Reply::fixed(555, (5, 5, 4), "MAIL FROM/RCPT TO parameter not recognized or not implemented");

    // ---- 5xx: policy and content ---------------------------------------------------------

    /// 550 5.1.1: no such user at a relay domain.
    pub const UNKNOWN_USER: Reply = Reply::fixed(550, (5, 1, 1), "no such user");
    /// 550 5.7.1: the recipient is not at a relay domain; the relay is not an open relay.
    pub const RELAY_DENIED: Reply = Reply::fixed(550, (5, 7, 1), "relaying denied");
    /// 552 5.3.4: the message (or its declared `SIZE`) is larger than the limit.
    pub const MESSAGE_TOO_BIG: Reply = Reply::fixed(552, (5, 3, 4), "message size exceeds fixed maximum message size");
    /// 553 5.6.7: a non-ASCII address without `SMTPUTF8` on `MAIL FROM` (RFC 6531 §3.5).
    pub const NEEDS_SMTPUTF8: Reply =
        Reply::fixed(553, (5, 6, 7), "non-ASCII address needs the SMTPUTF8 parameter on MAIL FROM");
    /// 554 5.6.0: the message has a bare CR or LF; lines must end in CRLF (see
    /// [`DataReceiver`](crate::proto::DataReceiver)).
    pub const BARE_LINE_ENDING: Reply =
        Reply::fixed(554, (5, 6, 0), "message contains a bare CR or LF; lines must end in CRLF");

    /// Every fixed reply of the table, by name: for documentation and tests.
    pub const TABLE: &'static [(&'static str, Reply)] = &[
        ("BYE", Reply::BYE),
        ("OK", Reply::OK),
        ("SENDER_OK", Reply::SENDER_OK),
        ("RECIPIENT_OK", Reply::RECIPIENT_OK),
        ("DELIVERED", Reply::DELIVERED),
        ("CANNOT_VRFY", Reply::CANNOT_VRFY),
        ("READY_TLS", Reply::READY_TLS),
        ("START_DATA", Reply::START_DATA),
        ("TIMEOUT", Reply::TIMEOUT),
        ("TOO_MANY_CONNECTIONS", Reply::TOO_MANY_CONNECTIONS),
        ("TOO_MANY_CONNECTIONS_FROM_IP", Reply::TOO_MANY_CONNECTIONS_FROM_IP),
        ("TOO_MANY_ERRORS", Reply::TOO_MANY_ERRORS),
        ("AUTH_OK", Reply::AUTH_OK),
        ("AUTH_TEMPORARY", Reply::AUTH_TEMPORARY),
        ("AUTH_CANCELLED", Reply::AUTH_CANCELLED),
        ("AUTH_NOT_NOW", Reply::AUTH_NOT_NOW),
        ("AUTH_MECHANISM", Reply::AUTH_MECHANISM),
        ("AUTH_REQUIRED", Reply::AUTH_REQUIRED),
        ("AUTH_FAILED", Reply::AUTH_FAILED),
        ("ENCRYPTION_REQUIRED", Reply::ENCRYPTION_REQUIRED),
        ("SESSION_TOO_LONG", Reply::SESSION_TOO_LONG),
        ("TOO_MANY_TRANSACTIONS", Reply::TOO_MANY_TRANSACTIONS),
        ("SHUTTING_DOWN", Reply::SHUTTING_DOWN),
        ("TEMPORARY", Reply::TEMPORARY),
        ("TOO_MANY_MESSAGES_FROM_IP", Reply::TOO_MANY_MESSAGES_FROM_IP),
        ("INSUFFICIENT_STORAGE", Reply::INSUFFICIENT_STORAGE),
        ("TOO_MANY_RECIPIENTS", Reply::TOO_MANY_RECIPIENTS),
        ("ONE_DESTINATION", Reply::ONE_DESTINATION),
        ("UNRECOGNIZED", Reply::UNRECOGNIZED),
        ("SYNTAX", Reply::SYNTAX),
        ("LINE_TOO_LONG", Reply::LINE_TOO_LONG),
        ("BAD_ARGUMENTS", Reply::BAD_ARGUMENTS),
        ("HELO_NEEDS_DOMAIN", Reply::HELO_NEEDS_DOMAIN),
        ("BAD_SENDER_SYNTAX", Reply::BAD_SENDER_SYNTAX),
        ("BAD_RECIPIENT_SYNTAX", Reply::BAD_RECIPIENT_SYNTAX),
        ("NOT_IMPLEMENTED", Reply::NOT_IMPLEMENTED),
        ("TLS_NOT_AVAILABLE", Reply::TLS_NOT_AVAILABLE),
        ("TLS_ALREADY_ACTIVE", Reply::TLS_ALREADY_ACTIVE),
        ("HELO_FIRST", Reply::HELO_FIRST),
        ("NESTED_MAIL", Reply::NESTED_MAIL),
        ("MAIL_FIRST", Reply::MAIL_FIRST),
        ("NO_VALID_RECIPIENTS", Reply::NO_VALID_RECIPIENTS),
        ("UNKNOWN_PARAMETER", Reply::UNKNOWN_PARAMETER),
        ("UNKNOWN_USER", Reply::UNKNOWN_USER),
        ("RELAY_DENIED", Reply::RELAY_DENIED),
        ("MESSAGE_TOO_BIG", Reply::MESSAGE_TOO_BIG),
        ("NEEDS_SMTPUTF8", Reply::NEEDS_SMTPUTF8),
        ("BARE_LINE_ENDING", Reply::BARE_LINE_ENDING),
    ];

    /// 334: a SASL challenge, base64 (RFC 4954 §4; no enhanced code).
    #[must_use]
    pub fn challenge(base64: &str) -> Self {
        Reply { code: 334, enhanced: None, text: Cow::Owned(base64.to_owned()) }
    }

    /// 220: the greeting, `220 <hostname> ESMTP` (no enhanced code).
    #[must_use]
    pub fn greeting(hostname: &str) -> Self {
        Reply { code: 220, enhanced: None, text: Cow::Owned(format!("{hostname} ESMTP")) }
    }

    /// 250: the answer to `HELO` (no enhanced code).
    #[must_use]
    pub fn helo(hostname: &str) -> Self {
        Reply { code: 250, enhanced: None, text: Cow::Owned(hostname.to_owned()) }
    }

    /// 250: the multi-line answer to `EHLO`, the hostname then one extension per line (no
    /// enhanced code).
    #[must_use]
    pub fn ehlo<S: AsRef<str>>(hostname: &str, extensions: &[S]) -> Self {
        let mut text = hostname.to_owned();
        for ext in extensions {
            text.push('\n');
            text.push_str(ext.as_ref());
        }
        Reply { code: 250, enhanced: None, text: Cow::Owned(text) }
    }

    /// This reply with a reason appended (`501 5.1.3 bad recipient address syntax: …`).
    /// Characters outside printable ASCII in the reason become `?`, so the reply is plain
    /// ASCII whether or not the client asked for `SMTPUTF8`.
    #[must_use]
    pub fn with_detail(&self, detail: &dyn fmt::Display) -> Self {
        let detail: String =
            detail.to_string().chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).collect();
        Reply { code: self.code, enhanced: self.enhanced, text: Cow::Owned(format!("{}: {detail}", self.text)) }
    }

    /// True for 2xx.
    #[must_use]
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// True for 4xx.
    #[must_use]
    pub fn is_temporary(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// True for 5xx.
    #[must_use]
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// True for the 4xx and 5xx codes a `Handler` (in `relay_server::smtp`) may refuse with. Anything
    /// else from a handler's `Err` is a bug, and the session answers [`Reply::TEMPORARY`].
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        (400..600).contains(&self.code)
    }

    /// Appends the reply in wire form: one `code-text` line per line of text, the last one
    /// `code text`, each with the enhanced code if there is one, each ending in CRLF. Control
    /// characters in the text become spaces and over-long lines are cut, so the output is
    /// always well-formed.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let code = if (200..600).contains(&self.code) { self.code } else { 451 };
        let mut lines = self.text.split('\n').peekable();
        while let Some(line) = lines.next() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let sep = if lines.peek().is_some() { '-' } else { ' ' };
            let mut head = format!("{code}{sep}");
            if let Some((a, b, c)) = self.enhanced {
                head.push_str(&format!("{a}.{b}.{c} "));
            }
            out.extend_from_slice(head.as_bytes());
            let mut len = 0;
            for ch in line.chars() {
                if len + ch.len_utf8() > MAX_TEXT_LINE {
                    break;
                }
                len += ch.len_utf8();
                let ch = if ch.is_control() { ' ' } else { ch };
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            if self.enhanced.is_none() && line.is_empty() && sep == ' ' {
                // `250 ` with nothing after it is valid, but drop the trailing space.
                out.pop();
            }
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The reply in wire form (see [`write_to`](Self::write_to)).
    #[must_use]
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

/// Checks that `wire` is one reply in RFC 5321 §4.2 wire form: lines of `ddd-text` and a last
/// `ddd text` (or bare `ddd`), one code from 200 to 599 throughout, each line CRLF-terminated,
/// without a CR inside and at most 512 octets with its CRLF. What a session writes, and what
/// the fuzz target and the session tests check it against.
///
/// # Errors
/// A description of the first line that breaks the form.
pub fn check_reply_wire(wire: &[u8]) -> Result<(), String> {
    let show = |l: &[u8]| String::from_utf8_lossy(l).into_owned();
    let Some(body) = wire.strip_suffix(b"\r\n") else {
        return Err(format!("reply does not end in CRLF: {:?}", show(wire)));
    };
    let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    for (i, raw) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        let line =
            if last { raw } else { raw.strip_suffix(b"\r").ok_or_else(|| format!("bare LF in {:?}", show(raw)))? };
        if line.len() + 2 > 512 {
            return Err(format!("reply line of {} octets", line.len()));
        }
        if line.contains(&b'\r') {
            return Err(format!("CR inside a reply line: {:?}", show(line)));
        }
        let code = line.get(..3).filter(|c| c.iter().all(u8::is_ascii_digit));
        let code = code.ok_or_else(|| format!("no reply code: {:?}", show(line)))?;
        if code < b"200".as_slice() || code > b"599".as_slice() {
            return Err(format!("reply code out of range: {:?}", show(line)));
        }
        if lines[0].get(..3) != Some(code) {
            return Err(format!("two codes in one reply: {:?}", show(line)));
        }
        match (line.get(3), last) {
            (None | Some(b' '), true) | (Some(b'-'), false) => {}
            _ => return Err(format!("bad continuation or separator: {:?}", show(line))),
        }
    }
    Ok(())
}

impl fmt::Display for Reply {
    /// The first line, as the client sees it, without CRLF: `550 5.1.1 no such user`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.text.split('\n').next().unwrap_or_default();
        match self.enhanced {
            Some((a, b, c)) => write!(f, "{} {a}.{b}.{c} {first}", self.code),
            None => write!(f, "{} {first}", self.code),
        }
    }
}

impl From<relay_engine::Reply> for Reply {
    /// The engine's replies (`NO_SUCH_USER`, `TEMPORARY`, `LOOP`, …) as SMTP replies.
    fn from(reply: relay_engine::Reply) -> Self {
        Reply { code: reply.code, enhanced: Some(reply.enhanced), text: reply.text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (name, reply) in Reply::TABLE {
            assert!((200..600).contains(&reply.code), "{name}");
            match reply.enhanced {
                Some((class, _, _)) => assert_eq!(u16::from(class), reply.code / 100, "{name}: class"),
                None => assert_eq!(reply.code, 354, "{name}: only 354 goes without an enhanced code"),
            }
            assert!(!reply.text.is_empty() && reply.text.chars().all(|c| !c.is_control()), "{name}");
            check_reply_wire(&reply.to_wire()).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let mut names: Vec<_> = Reply::TABLE.iter().map(|(n, _)| n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Reply::TABLE.len());
    }

    #[test]
    fn the_wire_check_refuses_what_is_not_one_reply() {
        assert_eq!(check_reply_wire(b"250-first\r\n250 second\r\n"), Ok(()));
        assert_eq!(check_reply_wire(b"354\r\n"), Ok(()));
        for bad in [
            &b"250 no crlf"[..],
            b"250-open continuation\r\n",
            b"250-a\r\n451 b\r\n",
            b"250 a\r\n250 b\r\n",
            b"25x text\r\n",
            b"199 low\r\n",
            b"250 bare\nlf\r\n",
            b"250 cr\rinside\r\n",
            b"250_sep\r\n",
        ] {
            assert!(check_reply_wire(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let long = [b"250 ".as_slice(), &[b'x'; 507], b"\r\n"].concat();
        assert!(check_reply_wire(&long).is_err());
    }

    #[test]
    fn wire_form() {
        let cases: &[(Reply, &str)] = &[
            (Reply::UNKNOWN_USER, "550 5.1.1 no such user\r\n"),
            (Reply::START_DATA, "354 end data with <CR><LF>.<CR><LF>\r\n"),
            (Reply::greeting("mx.example"), "220 mx.example ESMTP\r\n"),
            (Reply::ehlo("mx", &["PIPELINING", "SIZE 10"]), "250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n"),
            (Reply::new(550, Some((5, 7, 1)), "a\r\nb\x00c"), "550-5.7.1 a\r\n550 5.7.1 b c\r\n"),
            (Reply::new(250, None, ""), "250\r\n"),
            (Reply::new(99, None, "odd"), "451 odd\r\n"),
        ];
        for (reply, wire) in cases {
            assert_eq!(String::from_utf8_lossy(&reply.to_wire()), *wire);
        }
        let long = Reply::new(550, Some((5, 0, 0)), "x".repeat(2000));
        assert!(long.to_wire().len() <= 512);
        assert_eq!(Reply::UNKNOWN_USER.to_string(), "550 5.1.1 no such user");
    }

    #[test]
    fn engine_replies_convert() {
        let r = Reply::from(relay_engine::Reply::UNPARSEABLE);
        assert_eq!(r.to_string(), "554 5.6.0 message cannot be parsed");
        assert_eq!(Reply::from(relay_engine::Reply::NO_SUCH_USER).code, Reply::UNKNOWN_USER.code);
    }
}
