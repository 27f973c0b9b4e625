//! Mail addresses and domains as they may appear in certificates (rfc822Name, IA5String).

use alloc::string::{String, ToString};
use core::fmt;

use crate::{Error, Result};

/// A mailbox address (`local@domain`) that fits an X.509 rfc822Name: ASCII only (an IA5String;
/// internationalized addresses need RFC 9598's SmtpUTF8Mailbox, which this crate does not
/// issue), a local part of 1..=64 octets, a domain of dot-separated LDH labels.
/// The domain is lower-cased; the local part is kept as given.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mailbox(String);

impl Mailbox {
    /// Parses and normalizes an address.
    ///
    /// # Errors
    /// [`Error::InvalidAddress`] if it does not fit an rfc822Name.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::InvalidAddress { address: s.to_string() };
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || !local.bytes().all(is_local_char) {
            return Err(bad());
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(bad());
        }
        let domain = Domain::parse(domain).map_err(|_| bad())?;
        Ok(Mailbox(alloc::format!("{local}@{}", domain.as_str())))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_local_char(b: u8) -> bool {
    // RFC 5322 dot-atom text.
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b)
}

/// A DNS domain (lower-cased, LDH labels, at least two labels).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain(String);

impl Domain {
    /// Parses and lower-cases a domain.
    ///
    /// # Errors
    /// [`Error::InvalidAddress`] if it is not a valid host name.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::InvalidAddress { address: s.to_string() };
        let d = s.to_ascii_lowercase();
        if d.is_empty() || d.len() > 253 || !d.contains('.') {
            return Err(bad());
        }
        for label in d.split('.') {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                return Err(bad());
            }
        }
        Ok(Domain(d))
    }

    /// The domain.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Does `constraint` (an rfc822Name name-constraint base) cover `address`?
/// [RFC 5280 §4.2.1.10](https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.10): a constraint
/// with an `@` names one mailbox; `host` names every mailbox at that host; `.domain` names every
/// mailbox in a subdomain of it. Host parts compare case-insensitively, local parts exactly.
pub(crate) fn rfc822_constraint_matches(constraint: &str, address: &str) -> bool {
    let Some((local, host)) = address.rsplit_once('@') else {
        return false;
    };
    if let Some((c_local, c_host)) = constraint.rsplit_once('@') {
        return c_local == local && c_host.eq_ignore_ascii_case(host);
    }
    if constraint.starts_with('.') {
        return host.len() > constraint.len() && host.to_ascii_lowercase().ends_with(&constraint.to_ascii_lowercase());
    }
    host.eq_ignore_ascii_case(constraint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_parsing() {
        let ok = [("alice@Example.COM", "alice@example.com"), ("a.b+c@x.io", "a.b+c@x.io")];
        for (input, want) in ok {
            assert_eq!(Mailbox::parse(input).unwrap().as_str(), want, "{input}");
        }
        let bad =
            ["", "alice", "@x.io", "a@", "a b@x.io", "a@x", "a..b@x.io", ".a@x.io", "ä@x.io", "a@-x.io", "a@x..io"];
        for input in bad {
            assert!(Mailbox::parse(input).is_err(), "{input:?} must be rejected");
        }
        let long = alloc::format!("{}@x.io", "a".repeat(65));
        assert!(Mailbox::parse(&long).is_err());
    }

    #[test]
    fn constraint_matching() {
        let table = [
            ("pportal.io", "x@pportal.io", true),
            ("pportal.io", "x@PPORTAL.IO", true),
            ("pportal.io", "x@sub.pportal.io", false),
            (".pportal.io", "x@sub.pportal.io", true),
            (".pportal.io", "x@pportal.io", false),
            ("alice@example.com", "alice@example.com", true),
            ("alice@example.com", "Alice@example.com", false),
            ("alice@example.com", "bob@example.com", false),
            ("pportal.io", "x@evilpportal.io", false),
            ("pportal.io", "no-at-sign", false),
        ];
        for (c, a, want) in table {
            assert_eq!(rfc822_constraint_matches(c, a), want, "{c} vs {a}");
        }
    }
}
