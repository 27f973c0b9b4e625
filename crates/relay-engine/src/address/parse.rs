//! The grammar: RFC 5321 §4.1.2 `Mailbox` and `Path`, extended by RFC 6531 §3.3 for UTF-8.
//!
//! ```text
//! Reverse-path   = Path / "<>"
//! Forward-path   = Path
//! Path           = "<" [ A-d-l ":" ] Mailbox ">"
//! A-d-l          = At-domain *( "," At-domain )
//! At-domain      = "@" Domain
//! Mailbox        = Local-part "@" ( Domain / address-literal )
//! Local-part     = Dot-string / Quoted-string
//! Dot-string     = Atom *("."  Atom)
//! Atom           = 1*atext                       ; RFC 6531: atext =/ UTF8-non-ascii
//! Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
//! QcontentSMTP   = qtextSMTP / quoted-pairSMTP
//! quoted-pairSMTP  = %d92 %d32-126
//! qtextSMTP      = %d32-33 / %d35-91 / %d93-126   ; RFC 6531: qtextSMTP =/ UTF8-non-ascii
//! Domain         = sub-domain *("." sub-domain)
//! sub-domain     = Let-dig [Ldh-str]              ; RFC 6531: sub-domain =/ U-label
//! address-literal  = "[" ( IPv4-address-literal / IPv6-address-literal /
//!                          General-address-literal ) "]"
//! ```
//!
//! Every step reads through [`Cursor`], which only ever moves by whole characters and reads with
//! `str::get`, so no input can make the parser index out of bounds or split a character.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{AddressError, Component, LabelFault, LiteralFault};

/// Longest raw input looked at, in octets. Anything longer cannot canonicalise to an address of at
/// most 254 octets except through absurd escaping or source routes, and the cap bounds the work a
/// hostile peer can cause.
pub(super) const MAX_INPUT_LEN: usize = 1024;

/// A mailbox split into its canonical local part (quoted only if needed) and canonical domain.
pub(super) struct Mailbox {
    pub(super) local: String,
    pub(super) domain: String,
}

/// A read position in the input, always on a character boundary.
pub(super) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Starts at the beginning of `s`, refusing empty and oversized input.
    pub(super) fn new(s: &'a str, component: Component) -> Result<Self, AddressError> {
        if s.is_empty() {
            return Err(AddressError::Empty { component });
        }
        if s.len() > MAX_INPUT_LEN {
            return Err(AddressError::TooLong { component, len: s.len(), max: MAX_INPUT_LEN });
        }
        Ok(Self { s, pos: 0 })
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or_default()
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(super) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    pub(super) fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += c.len_utf8();
        }
        hit
    }

    fn slice(&self, from: usize) -> &'a str {
        self.s.get(from..self.pos).unwrap_or_default()
    }

    /// Fails unless the whole input has been consumed.
    pub(super) fn expect_end(&self, component: Component) -> Result<(), AddressError> {
        match self.peek() {
            None => Ok(()),
            Some(ch) => Err(AddressError::UnexpectedChar { component, ch, offset: self.pos }),
        }
    }

    fn unexpected(&self, component: Component) -> AddressError {
        match self.peek() {
            None => AddressError::UnexpectedEnd { component },
            Some(ch) => AddressError::UnexpectedChar { component, ch, offset: self.pos },
        }
    }
}

/// `Mailbox`: local part, `@`, domain or address literal. Stops after the domain.
pub(super) fn mailbox(cur: &mut Cursor<'_>) -> Result<Mailbox, AddressError> {
    let content = local_part(cur)?;
    match cur.peek() {
        Some('@') => {
            cur.bump();
        }
        None | Some('>') => return Err(AddressError::MissingAt { offset: cur.pos }),
        Some(_) => return Err(cur.unexpected(Component::LocalPart)),
    }
    let domain = domain(cur)?;
    Ok(Mailbox { local: canonical_local(&content), domain })
}

/// `Local-part`, returned as its content: a dot-string as given, a quoted string unquoted.
fn local_part<'a>(cur: &mut Cursor<'a>) -> Result<Cow<'a, str>, AddressError> {
    if cur.peek() == Some('"') { quoted_string(cur).map(Cow::Owned) } else { dot_string(cur).map(Cow::Borrowed) }
}

fn dot_string<'a>(cur: &mut Cursor<'a>) -> Result<&'a str, AddressError> {
    let start = cur.pos;
    loop {
        let atom_start = cur.pos;
        while cur.peek().is_some_and(is_atext) {
            cur.bump();
        }
        if cur.pos == atom_start {
            // An empty atom: right after a dot, or at the very start.
            return Err(if cur.pos > start {
                AddressError::DotPlacement { component: Component::LocalPart, offset: cur.pos - 1 }
            } else {
                match cur.peek() {
                    Some('.') => AddressError::DotPlacement { component: Component::LocalPart, offset: cur.pos },
                    Some('@') => AddressError::Empty { component: Component::LocalPart },
                    _ => cur.unexpected(Component::LocalPart),
                }
            });
        }
        if !cur.eat('.') {
            return Ok(cur.slice(start));
        }
    }
}

fn quoted_string(cur: &mut Cursor<'_>) -> Result<String, AddressError> {
    cur.bump(); // the opening DQUOTE
    let mut content = String::new();
    loop {
        let offset = cur.pos;
        match cur.bump() {
            None => return Err(AddressError::UnexpectedEnd { component: Component::LocalPart }),
            Some('"') => break,
            Some('\\') => match cur.bump() {
                Some(c @ ' '..='~') => content.push(c),
                Some(ch) => {
                    return Err(AddressError::UnexpectedChar {
                        component: Component::LocalPart,
                        ch,
                        offset: offset + 1,
                    });
                }
                None => return Err(AddressError::UnexpectedEnd { component: Component::LocalPart }),
            },
            Some(c) if is_qtext(c) => content.push(c),
            Some(ch) => return Err(AddressError::UnexpectedChar { component: Component::LocalPart, ch, offset }),
        }
    }
    if content.is_empty() {
        return Err(AddressError::Empty { component: Component::LocalPart });
    }
    Ok(content)
}

/// The canonical local part: the content as a dot-string if it is one, else a quoted string with
/// only `"` and `\` escaped (RFC 5321 §4.1.2: a quoted form equivalent to a dot-string is the same
/// mailbox, and senders SHOULD use the unquoted form).
pub(super) fn canonical_local(content: &str) -> String {
    if is_dot_string(content) {
        return content.to_owned();
    }
    let mut out = String::with_capacity(content.len() + 2);
    out.push('"');
    for c in content.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

pub(super) fn is_dot_string(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// `Domain / address-literal`, canonicalised.
pub(super) fn domain(cur: &mut Cursor<'_>) -> Result<String, AddressError> {
    if cur.peek() == Some('[') { address_literal(cur) } else { domain_name(cur) }
}

/// `Domain`, lower-cased. Labels are LDH ASCII or U-labels (any permitted non-ASCII character,
/// mixed with ASCII letters, digits and inner hyphens). U-labels are lower-cased with Unicode's
/// `to_lowercase`, which approximates IDNA's mapping; NFC, bidi and contextual rules are not
/// checked, and A-labels (`xn--…`) are not decoded, so `bücher.de` and `xn--bcher-kva.de` are
/// different domains here.
pub(super) fn domain_name(cur: &mut Cursor<'_>) -> Result<String, AddressError> {
    let start = cur.pos;
    while cur.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || is_domain_non_ascii(c)) {
        cur.bump();
    }
    let raw = cur.slice(start);
    if raw.is_empty() {
        return Err(match cur.peek() {
            None | Some('>') => AddressError::Empty { component: Component::Domain },
            Some(_) => cur.unexpected(Component::Domain),
        });
    }
    let lower = raw.to_lowercase();
    let mut offset = start;
    for (raw_label, label) in raw.split('.').zip(lower.split('.')) {
        let fault = if raw_label.is_empty() {
            Some(LabelFault::Empty)
        } else if raw_label.starts_with('-') || raw_label.ends_with('-') {
            Some(LabelFault::Hyphen)
        } else if label.len() > 63 {
            Some(LabelFault::TooLong { len: label.len() })
        } else {
            None
        };
        if let Some(fault) = fault {
            return Err(AddressError::Label { offset, fault });
        }
        offset += raw_label.len() + 1;
    }
    Ok(lower)
}

/// `address-literal`, canonicalised to `[a.b.c.d]` or `[IPv6:…]` in the standard text form of
/// the address (RFC 5952 for IPv6), so equal addresses compare equal.
fn address_literal(cur: &mut Cursor<'_>) -> Result<String, AddressError> {
    let offset = cur.pos;
    cur.bump(); // '['
    let inner_start = cur.pos;
    // dcontent = %d33-90 / %d94-126
    while cur.peek().is_some_and(|c| matches!(c, '!'..='Z' | '^'..='~')) {
        cur.bump();
    }
    let inner = cur.slice(inner_start);
    if !cur.eat(']') {
        return Err(cur.unexpected(Component::AddressLiteral));
    }
    let tag = inner.get(..5).filter(|t| t.eq_ignore_ascii_case("IPv6:"));
    if tag.is_some() {
        return match inner.get(5..).and_then(|v6| v6.parse::<Ipv6Addr>().ok()) {
            Some(v6) => Ok(format!("[IPv6:{v6}]")),
            None => Err(AddressError::AddressLiteral { offset, fault: LiteralFault::Ipv6 }),
        };
    }
    match inner.parse::<Ipv4Addr>() {
        Ok(v4) => Ok(format!("[{v4}]")),
        Err(_) if inner.contains(':') => {
            Err(AddressError::AddressLiteral { offset, fault: LiteralFault::UnsupportedTag })
        }
        Err(_) => Err(AddressError::AddressLiteral { offset, fault: LiteralFault::Ipv4 }),
    }
}

/// `"<" [ A-d-l ":" ] Mailbox ">"` or `"<>"`. Returns `None` for the null path. The source
/// route is checked and dropped (RFC 5321 §4.1.1.3 and Appendix C: it MUST be accepted and
/// SHOULD be ignored).
pub(super) fn path(cur: &mut Cursor<'_>) -> Result<Option<Mailbox>, AddressError> {
    if !cur.eat('<') {
        return Err(cur.unexpected(Component::Path));
    }
    if cur.eat('>') {
        cur.expect_end(Component::Path)?;
        return Ok(None);
    }
    if cur.peek() == Some('@') {
        source_route(cur)?;
    }
    let mailbox = mailbox(cur)?;
    if !cur.eat('>') {
        return Err(cur.unexpected(Component::Path));
    }
    cur.expect_end(Component::Path)?;
    Ok(Some(mailbox))
}

/// `A-d-l ":"`: one or more `@domain`, comma-separated, then a colon.
fn source_route(cur: &mut Cursor<'_>) -> Result<(), AddressError> {
    loop {
        if !cur.eat('@') {
            return Err(cur.unexpected(Component::Path));
        }
        domain_name(cur)?;
        if cur.eat(':') {
            return Ok(());
        }
        if !cur.eat(',') {
            return Err(cur.unexpected(Component::Path));
        }
    }
}

/// Splits an SMTP `MAIL`/`RCPT` argument into the path (up to and including the `>` that closes
/// it, honouring quoted strings) and the ESMTP parameters after it.
pub(super) fn split_path(arg: &str) -> Result<(&str, &str), AddressError> {
    if !arg.starts_with('<') {
        return Err(match arg.chars().next() {
            None => AddressError::Empty { component: Component::Path },
            Some(ch) => AddressError::UnexpectedChar { component: Component::Path, ch, offset: 0 },
        });
    }
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, b) in arg.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if in_quotes => escaped = true,
            b'"' => in_quotes = !in_quotes,
            b'>' if !in_quotes => {
                let (path, rest) = (arg.get(..=i).unwrap_or_default(), arg.get(i + 1..).unwrap_or_default());
                return match rest.strip_prefix(' ') {
                    Some(params) => Ok((path, params.trim_start_matches(' '))),
                    None if rest.is_empty() => Ok((path, rest)),
                    None => Err(AddressError::UnexpectedChar {
                        component: Component::Path,
                        ch: rest.chars().next().unwrap_or(' '),
                        offset: i + 1,
                    }),
                };
            }
            _ => {}
        }
    }
    Err(AddressError::UnexpectedEnd { component: Component::Path })
}

/// RFC 5322 `atext`, plus RFC 6531 `UTF8-non-ascii`.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || is_local_non_ascii(c)
}

/// RFC 5321 `qtextSMTP`, plus RFC 6531 `UTF8-non-ascii`.
fn is_qtext(c: char) -> bool {
    matches!(c, ' ' | '!' | '#'..='[' | ']'..='~') || is_local_non_ascii(c)
}

fn is_local_non_ascii(c: char) -> bool {
    // Fullwidth and small commercial at: they make `a＠bank.example@evil.example` look like a
    // different address when displayed.
    is_permitted_non_ascii(c) && !matches!(c, '\u{FF20}' | '\u{FE6B}')
}

fn is_domain_non_ascii(c: char) -> bool {
    // The dots IDNA maps to '.'; refused rather than mapped, so that one name has one spelling.
    is_permitted_non_ascii(c) && !matches!(c, '\u{3002}' | '\u{FF0E}' | '\u{FF61}' | '\u{FF20}' | '\u{FE6B}')
}

/// Non-ASCII characters we accept under RFC 6531. Refused: controls (C1 included), white space,
/// default-ignorable and format characters (bidi overrides, zero-width characters, variation
/// selectors, tag characters), noncharacters and U+FFFD, which only appears after lossy decoding.
/// Without a Unicode table this list is an approximation of `Default_Ignorable_Code_Point`.
fn is_permitted_non_ascii(c: char) -> bool {
    !c.is_ascii()
        && !c.is_control()
        && !c.is_whitespace()
        && !matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FDD0}'..='\u{FDEF}' | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFD}' | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
        && (u32::from(c) & 0xFFFE) != 0xFFFE
}
