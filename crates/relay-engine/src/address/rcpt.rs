//! Reserved names, role addresses, and classification of an `RCPT TO`.

use super::{Address, RelayDomains};

/// Local parts no alias may take, at any relay domain.
///
/// Matching ignores ASCII case and the separators `.`, `-` and `_`, so `Post.Master`,
/// `no_reply` and `NOREPLY` are all reserved. The list holds:
/// - RFC 2142 mailbox names (`postmaster`, `abuse`, `security`, `hostmaster`, `webmaster`, `noc`,
///   `info`, `marketing`, `sales`, `support`, `usenet`, `news`, `www`, `uucp`, `ftp`);
/// - the addresses certificate authorities mail to prove control of a domain (CA/Browser Forum
///   Baseline Requirements §3.2.2.4.4: `admin`, `administrator`, `webmaster`, `hostmaster`,
///   `postmaster`), so no user can obtain a TLS certificate for a relay domain;
/// - system and mail-machinery names (`root`, `mailer-daemon`, `noreply`, `bounce`, `dmarc`, …);
/// - names people trust as coming from the operator (`help`, `billing`, `legal`, `privacy`, …).
pub const RESERVED: &[&str] = &[
    // RFC 2142 and RFC 5321 §4.5.1
    "postmaster",
    "abuse",
    "security",
    "hostmaster",
    "webmaster",
    "noc",
    "info",
    "marketing",
    "sales",
    "support",
    "usenet",
    "news",
    "www",
    "uucp",
    "ftp",
    // CA/B Forum domain validation, system accounts
    "admin",
    "administrator",
    "root",
    "sysadmin",
    "ssladmin",
    "ssladministrator",
    "it",
    "dns",
    // mail machinery
    "mailer-daemon",
    "daemon",
    "bounce",
    "bounces",
    "noreply",
    "no-reply",
    "donotreply",
    "do-not-reply",
    "nobody",
    "system",
    "mail",
    "mailer",
    "smtp",
    "imap",
    "pop",
    "relay",
    "localhost",
    "dmarc",
    "tlsrpt",
    "mta-sts",
    "dkim",
    "spf",
    "arf",
    "fbl",
    "feedback",
    "unsubscribe",
    "autoconfig",
    "autodiscover",
    "wpad",
    "openpgpkey",
    "list",
    "listmaster",
    "majordomo",
    "owner",
    "undisclosed-recipients",
    // names that look like the operator
    "help",
    "contact",
    "privacy",
    "legal",
    "billing",
    "staff",
    "team",
    "everyone",
    "all",
];

/// What a reserved local part at a relay domain means to the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// `postmaster`: MUST be accepted (RFC 5321 §4.5.1), also as `<Postmaster>` without a domain.
    Postmaster,
    /// `abuse` (RFC 2142).
    Abuse,
    /// `security` (RFC 2142).
    Security,
    /// `hostmaster`, `dns` (RFC 2142).
    Hostmaster,
    /// `webmaster`, `www` (RFC 2142).
    Webmaster,
    /// `noc` (RFC 2142).
    Noc,
    /// `admin`, `administrator`, `root`, `sysadmin`, `ssladmin`, `ssladministrator`, `it`: the
    /// operator; CAs mail some of these to validate a domain.
    Admin,
    /// `mailer-daemon`, `daemon`, `bounce`, `bounces`: the relay's own bounce identity.
    MailerDaemon,
    /// `noreply`, `no-reply`, `donotreply`, `do-not-reply`.
    NoReply,
    /// Any other [`RESERVED`] name: nobody may own it and the relay has no special use for it.
    Other,
}

impl Role {
    /// The role of a local part (its content, unquoted), matched like [`RESERVED`].
    #[must_use]
    pub fn from_local(local: &str) -> Option<Self> {
        let name = is_reserved(local)?;
        Some(match name {
            "postmaster" => Self::Postmaster,
            "abuse" => Self::Abuse,
            "security" => Self::Security,
            "hostmaster" | "dns" => Self::Hostmaster,
            "webmaster" | "www" => Self::Webmaster,
            "noc" => Self::Noc,
            "admin" | "administrator" | "root" | "sysadmin" | "ssladmin" | "ssladministrator" | "it" => Self::Admin,
            "mailer-daemon" | "daemon" | "bounce" | "bounces" => Self::MailerDaemon,
            "noreply" | "no-reply" | "donotreply" | "do-not-reply" => Self::NoReply,
            _ => Self::Other,
        })
    }

    /// Whether the relay must accept mail for this role: `postmaster` (RFC 5321 §4.5.1) and
    /// `abuse` (RFC 2142 §2 and common practice for reporting spam sent through the relay).
    #[must_use]
    pub fn must_accept(self) -> bool {
        matches!(self, Self::Postmaster | Self::Abuse)
    }
}

/// The [`RESERVED`] name that `local` matches, ignoring ASCII case and `.`, `-`, `_`.
#[must_use]
pub fn is_reserved(local: &str) -> Option<&'static str> {
    // Longest reserved name folded is 21 octets; anything much longer cannot match.
    if local.len() > 64 || !local.is_ascii() {
        return None;
    }
    let folded = fold(local);
    RESERVED.iter().copied().find(|name| fold(name) == folded)
}

fn fold(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '.' | '-' | '_')).map(|c| c.to_ascii_lowercase()).collect()
}

/// What the caller's store says a relay address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AliasKind {
    /// An alias: mail to it is forwarded to its owner.
    Alias,
    /// A reverse alias: mail to it is a reply from the owner, sent on to the contact.
    ReverseAlias,
}

/// What an `RCPT TO` address is to the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RcptClass {
    /// An alias (forward flow).
    Alias,
    /// A reverse alias (reply flow).
    ReverseAlias,
    /// A reserved role address at a relay domain.
    Role(Role),
    /// At a relay domain, but no such alias or reverse alias (`550 5.1.1`).
    Unknown,
    /// Not at a relay domain: the relay is not an open relay (`550 5.7.1`). Kept apart from
    /// [`Unknown`](Self::Unknown) because the SMTP replies differ.
    NotRelayDomain,
}

/// The role of `rcpt` if it is a reserved name at a relay domain. Pure: no store lookup.
#[must_use]
pub fn role(rcpt: &Address, domains: &RelayDomains) -> Option<Role> {
    if domains.contains(rcpt.domain()) { Role::from_local(&rcpt.local_content()) } else { None }
}

/// Classifies an `RCPT TO` address.
///
/// In order: not at a relay domain → [`RcptClass::NotRelayDomain`] (no lookup); a reserved name →
/// [`RcptClass::Role`] (no lookup); otherwise `lookup` is called once with
/// [`Address::normalized`] (the relay's addresses are case-insensitive) and its answer decides,
/// `None` giving [`RcptClass::Unknown`]. The store is authoritative;
/// [`looks_like_reverse_alias`](super::looks_like_reverse_alias) may help it pick a table.
pub fn classify<F>(rcpt: &Address, domains: &RelayDomains, lookup: F) -> RcptClass
where
    F: FnOnce(&str) -> Option<AliasKind>,
{
    if !domains.contains(rcpt.domain()) {
        return RcptClass::NotRelayDomain;
    }
    if let Some(role) = Role::from_local(&rcpt.local_content()) {
        return RcptClass::Role(role);
    }
    match lookup(&rcpt.normalized()) {
        Some(AliasKind::Alias) => RcptClass::Alias,
        Some(AliasKind::ReverseAlias) => RcptClass::ReverseAlias,
        None => RcptClass::Unknown,
    }
}
