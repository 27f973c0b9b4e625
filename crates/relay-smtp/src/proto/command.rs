//! Command lines (RFC 5321 §4.1) parsed into [`Command`].
//!
//! ```text
//! ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
//! helo = "HELO" SP Domain CRLF
//! mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
//! rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
//!        [SP Rcpt-parameters] CRLF
//! Mail-parameters = esmtp-param *(SP esmtp-param)
//! esmtp-param     = esmtp-keyword ["=" esmtp-value]
//! ```
//!
//! Verbs and parameter keywords are case-insensitive. Paths are parsed by
//! [`Address::parse_path`], so a [`Command`] only ever holds valid addresses. Two common
//! deviations are accepted: spaces after `FROM:`/`TO:`, and trailing spaces on the line.
//!
//! `MAIL` parameters (RFC 1870 `SIZE`, RFC 6152 `BODY`, RFC 6531 `SMTPUTF8`) are the ones `EHLO`
//! advertises; any other `MAIL` or `RCPT` parameter is answered `555 5.5.4` (RFC 5321 §4.1.1.11).

use core::fmt;

use relay_engine::address::{Address, AddressError};

use crate::Reply;

/// A parsed SMTP command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `EHLO domain`: an ESMTP client.
    Ehlo {
        /// The client's name for itself, as sent (not verified).
        host: String,
    },
    /// `HELO domain`: a plain SMTP client.
    Helo {
        /// The client's name for itself, as sent (not verified).
        host: String,
    },
    /// `MAIL FROM:<path> [params]`.
    Mail {
        /// The reverse path; `None` for the null sender `<>`.
        from: Option<Address>,
        /// ESMTP parameters.
        params: MailParams,
    },
    /// `RCPT TO:<path>`.
    Rcpt {
        /// The forward path.
        to: ForwardPath,
    },
    /// `DATA`.
    Data,
    /// `RSET`.
    Rset,
    /// `NOOP [string]`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY string`: always answered 252, whatever the argument.
    Vrfy,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954).
    Auth {
        /// The SASL mechanism, upper-cased (`PLAIN`, `LOGIN`, …).
        mechanism: String,
        /// The initial response, base64 as sent (`=` for an empty one), if given.
        initial: Option<String>,
    },
}

/// The argument of `RCPT TO:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardPath {
    /// `<Postmaster>` without a domain (any case): the postmaster of the primary relay domain
    /// (RFC 5321 §4.1.1.3).
    Postmaster,
    /// A mailbox.
    Mailbox(Address),
}

/// The `MAIL FROM` parameters the server supports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailParams {
    /// `SIZE=n`: the client's estimate of the message size in octets (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=7BIT` or `BODY=8BITMIME` (RFC 6152).
    pub body: Option<Body>,
    /// `SMTPUTF8`: addresses and headers may hold UTF-8 (RFC 6531).
    pub smtputf8: bool,
}

impl MailParams {
    /// True if no parameter was given.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The `BODY=` parameter (RFC 6152).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// `BODY=7BIT`.
    SevenBit,
    /// `BODY=8BITMIME`.
    EightBitMime,
}

/// Why a command line was refused. Each one knows its reply ([`reply`](Self::reply)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// The line is longer than the cap (500 5.5.2).
    LineTooLong {
        /// Octets of the line, up to its LF.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The line is not UTF-8 (500 5.5.2).
    NotUtf8,
    /// The line holds a control character: a CR before its end, NUL, … (500 5.5.2).
    ControlChar {
        /// The offending byte.
        byte: u8,
    },
    /// No such command (500 5.5.2).
    Unrecognized,
    /// A command this server does not implement, such as `EXPN` or `AUTH` (502 5.5.1).
    NotImplemented {
        /// The command, upper-cased.
        verb: &'static str,
    },
    /// `EHLO`/`HELO` without a domain (501 5.5.4).
    MissingDomain,
    /// A command that takes no argument got one, or one that needs one got none, or `MAIL`/`RCPT`
    /// without `FROM:`/`TO:` (501 5.5.4).
    BadArguments {
        /// The command, upper-cased.
        verb: &'static str,
    },
    /// The `MAIL FROM` path does not parse (501 5.1.7).
    BadSender(AddressError),
    /// The `RCPT TO` path does not parse, or is `<>` (501 5.1.3).
    BadRecipient(AddressError),
    /// A supported parameter with a bad or missing value, or given twice (501 5.5.4).
    BadParameter {
        /// The keyword, upper-cased.
        keyword: &'static str,
    },
    /// A parameter the server does not support (555 5.5.4).
    UnknownParameter {
        /// The keyword as sent, at most 32 characters, control characters escaped.
        keyword: String,
    },
}

impl CommandError {
    /// The reply for this error.
    #[must_use]
    pub fn reply(&self) -> Reply {
        match self {
            Self::LineTooLong { .. } => Reply::LINE_TOO_LONG,
            Self::NotUtf8 | Self::ControlChar { .. } => Reply::SYNTAX,
            Self::Unrecognized => Reply::UNRECOGNIZED,
            Self::NotImplemented { .. } => Reply::NOT_IMPLEMENTED,
            Self::MissingDomain => Reply::HELO_NEEDS_DOMAIN,
            Self::BadArguments { .. } | Self::BadParameter { .. } => Reply::BAD_ARGUMENTS,
            Self::BadSender(e) => Reply::BAD_SENDER_SYNTAX.with_detail(e),
            Self::BadRecipient(e) => Reply::BAD_RECIPIENT_SYNTAX.with_detail(e),
            Self::UnknownParameter { .. } => Reply::UNKNOWN_PARAMETER,
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LineTooLong { len, max } => write!(f, "command line of {len} octets, more than {max}"),
            Self::NotUtf8 => f.write_str("command line is not UTF-8"),
            Self::ControlChar { byte } => write!(f, "control character 0x{byte:02x} in command line"),
            Self::Unrecognized => f.write_str("unrecognized command"),
            Self::NotImplemented { verb } => write!(f, "{verb} is not implemented"),
            Self::MissingDomain => f.write_str("EHLO/HELO without a domain"),
            Self::BadArguments { verb } => write!(f, "bad arguments to {verb}"),
            Self::BadSender(e) => write!(f, "bad MAIL FROM path: {e}"),
            Self::BadRecipient(e) => write!(f, "bad RCPT TO path: {e}"),
            Self::BadParameter { keyword } => write!(f, "bad value for parameter {keyword}"),
            Self::UnknownParameter { keyword } => write!(f, "unknown parameter {keyword}"),
        }
    }
}

impl std::error::Error for CommandError {}

/// Commands that exist (RFC 5321 and common extensions) but that this server does not offer.
const NOT_IMPLEMENTED: &[&str] =
    &["EXPN", "HELP", "TURN", "ETRN", "ATRN", "BDAT", "SEND", "SOML", "SAML", "XCLIENT", "XFORWARD"];

impl Command {
    /// Parses one command line, without its CRLF.
    ///
    /// # Errors
    ///
    /// [`CommandError`] for an unknown or unimplemented command, bad arguments, a bad path or
    /// a bad or unknown parameter. (Line-level errors come from
    /// [`CommandReceiver`](super::CommandReceiver).)
    pub fn parse(line: &str) -> Result<Self, CommandError> {
        let line = line.trim_end_matches([' ', '\t']);
        let (verb, arg) = match line.split_once(' ') {
            Some((verb, arg)) => (verb, arg.trim_start_matches(' ')),
            None => (line, ""),
        };
        let is = |name: &str| verb.eq_ignore_ascii_case(name);
        let no_arg = |cmd: Command, verb: &'static str| {
            if arg.is_empty() { Ok(cmd) } else { Err(CommandError::BadArguments { verb }) }
        };
        if is("EHLO") || is("HELO") {
            let host = arg.split(' ').next().unwrap_or_default();
            if host.is_empty() {
                return Err(CommandError::MissingDomain);
            }
            let host = host.to_owned();
            return Ok(if is("EHLO") { Command::Ehlo { host } } else { Command::Helo { host } });
        }
        if is("MAIL") {
            return parse_mail(arg);
        }
        if is("RCPT") {
            return parse_rcpt(arg);
        }
        if is("DATA") {
            return no_arg(Command::Data, "DATA");
        }
        if is("RSET") {
            return no_arg(Command::Rset, "RSET");
        }
        if is("QUIT") {
            return no_arg(Command::Quit, "QUIT");
        }
        if is("STARTTLS") {
            return no_arg(Command::StartTls, "STARTTLS");
        }
        if is("NOOP") {
            return Ok(Command::Noop);
        }
        if is("AUTH") {
            let mut words = arg.split(' ').filter(|w| !w.is_empty());
            let mechanism = words.next().ok_or(CommandError::BadArguments { verb: "AUTH" })?.to_ascii_uppercase();
            let initial = words.next().map(str::to_owned);
            if words.next().is_some() || mechanism.len() > 20 {
                return Err(CommandError::BadArguments { verb: "AUTH" });
            }
            return Ok(Command::Auth { mechanism, initial });
        }
        if is("VRFY") {
            return if arg.is_empty() { Err(CommandError::BadArguments { verb: "VRFY" }) } else { Ok(Command::Vrfy) };
        }
        match NOT_IMPLEMENTED.iter().find(|name| is(name)) {
            Some(verb) => Err(CommandError::NotImplemented { verb }),
            None => Err(CommandError::Unrecognized),
        }
    }
}

/// Strips a case-insensitive `prefix` (`FROM:`, `TO:`) and any spaces after it.
fn strip_keyword<'a>(arg: &'a str, prefix: &str) -> Option<&'a str> {
    let head = arg.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| arg.get(prefix.len()..).unwrap_or_default().trim_start_matches(' '))
}

fn parse_mail(arg: &str) -> Result<Command, CommandError> {
    let rest = strip_keyword(arg, "FROM:").ok_or(CommandError::BadArguments { verb: "MAIL" })?;
    let (path, params) = Address::split_path(rest).map_err(CommandError::BadSender)?;
    let from = Address::parse_path(path).map_err(CommandError::BadSender)?;
    let mut out = MailParams::default();
    for (keyword, value) in esmtp_params(params) {
        let bad = |keyword| Err(CommandError::BadParameter { keyword });
        if keyword.eq_ignore_ascii_case("SIZE") {
            match value.filter(|v| (1..=20).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit())) {
                Some(v) if out.size.is_none() => out.size = Some(v.parse().unwrap_or(u64::MAX)),
                _ => return bad("SIZE"),
            }
        } else if keyword.eq_ignore_ascii_case("BODY") {
            let body = match value {
                Some(v) if v.eq_ignore_ascii_case("7BIT") => Body::SevenBit,
                Some(v) if v.eq_ignore_ascii_case("8BITMIME") => Body::EightBitMime,
                _ => return bad("BODY"),
            };
            if out.body.replace(body).is_some() {
                return bad("BODY");
            }
        } else if keyword.eq_ignore_ascii_case("SMTPUTF8") {
            if value.is_some() || out.smtputf8 {
                return bad("SMTPUTF8");
            }
            out.smtputf8 = true;
        } else {
            return Err(unknown(keyword));
        }
    }
    Ok(Command::Mail { from, params: out })
}

fn parse_rcpt(arg: &str) -> Result<Command, CommandError> {
    let rest = strip_keyword(arg, "TO:").ok_or(CommandError::BadArguments { verb: "RCPT" })?;
    let (path, params) = Address::split_path(rest).map_err(CommandError::BadRecipient)?;
    if let Some((keyword, _)) = esmtp_params(params).next() {
        return Err(unknown(keyword));
    }
    if path.eq_ignore_ascii_case("<postmaster>") {
        return Ok(Command::Rcpt { to: ForwardPath::Postmaster });
    }
    match Address::parse_path(path) {
        Ok(Some(address)) => Ok(Command::Rcpt { to: ForwardPath::Mailbox(address) }),
        Ok(None) => Err(CommandError::BadRecipient(AddressError::NullPath)),
        Err(e) => Err(CommandError::BadRecipient(e)),
    }
}

/// `KEYWORD[=value]` pairs, separated by one or more spaces.
fn esmtp_params(params: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    params.split(' ').filter(|p| !p.is_empty()).map(|p| match p.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (p, None),
    })
}

fn unknown(keyword: &str) -> CommandError {
    CommandError::UnknownParameter { keyword: keyword.chars().take(32).flat_map(char::escape_debug).collect() }
}
