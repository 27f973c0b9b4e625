//! The domains the relay serves.

use core::fmt;

use super::{AddressError, Component, MAX_ADDRESS_LEN, MAX_LOCAL_LEN, parse};

/// A domain name the relay serves: validated as an RFC 5321 `Domain` (U-labels allowed), lower-
/// cased, no address literal, and at most [`RelayDomain::MAX_LEN`] octets so that any local part
/// of up to 64 octets fits. Alias generation takes this type, so it cannot fail on the domain.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelayDomain(String);

impl RelayDomain {
    /// Longest relay domain, in octets: 254 − 64 − 1 = 189.
    pub const MAX_LEN: usize = MAX_ADDRESS_LEN - MAX_LOCAL_LEN - 1;

    /// Parses and lower-cases a relay domain (`pportal.io`, `PPortal.IO`, `例子.广告`).
    ///
    /// # Errors
    ///
    /// [`AddressError`] for an empty or malformed name, an address literal, or more than
    /// [`Self::MAX_LEN`] octets.
    pub fn new(domain: &str) -> Result<Self, AddressError> {
        let mut cur = parse::Cursor::new(domain, Component::RelayDomain)?;
        if let Some(ch @ '[') = cur.peek() {
            return Err(AddressError::UnexpectedChar { component: Component::RelayDomain, ch, offset: 0 });
        }
        let name = parse::domain_name(&mut cur)?;
        cur.expect_end(Component::RelayDomain)?;
        if name.len() > Self::MAX_LEN {
            return Err(AddressError::TooLong {
                component: Component::RelayDomain,
                len: name.len(),
                max: Self::MAX_LEN,
            });
        }
        Ok(Self(name))
    }

    /// The lower-cased domain.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `domain` names this domain: exact, case-insensitive, no subdomains, no trailing dot.
    #[must_use]
    pub fn matches(&self, domain: &str) -> bool {
        if domain.is_ascii() {
            domain.eq_ignore_ascii_case(&self.0)
        } else {
            // Unicode lower-casing changes lengths by at most a factor of 3; skip hostile input.
            domain.len() <= 3 * parse::MAX_INPUT_LEN && domain.to_lowercase() == self.0
        }
    }
}

impl fmt::Display for RelayDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RelayDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RelayDomain").field(&self.0).finish()
    }
}

/// The configured relay domains, at least one, without duplicates. The first is the primary: it
/// is used for `<Postmaster>` and is the default for new aliases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayDomains {
    primary: RelayDomain,
    others: Vec<RelayDomain>,
}

impl RelayDomains {
    /// Builds the set from configuration, in order: `RelayDomains::new(["pportal.io"])`.
    ///
    /// # Errors
    ///
    /// [`AddressError::NoRelayDomains`] for an empty list,
    /// [`AddressError::DuplicateRelayDomain`] for a repeat, or the error of the first invalid
    /// domain (see [`RelayDomain::new`]).
    pub fn new<I, S>(domains: I) -> Result<Self, AddressError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut parsed: Vec<RelayDomain> = Vec::new();
        for (index, domain) in domains.into_iter().enumerate() {
            let domain = RelayDomain::new(domain.as_ref())?;
            if parsed.contains(&domain) {
                return Err(AddressError::DuplicateRelayDomain { index });
            }
            parsed.push(domain);
        }
        let mut iter = parsed.into_iter();
        let primary = iter.next().ok_or(AddressError::NoRelayDomains)?;
        Ok(Self { primary, others: iter.collect() })
    }

    /// Whether `domain` is one of the relay domains: exact match, case-insensitive. Subdomains do
    /// not match, and neither do address literals, so the relay never relays for anyone else.
    #[must_use]
    pub fn contains(&self, domain: &str) -> bool {
        self.get(domain).is_some()
    }

    /// The relay domain that `domain` names, if any (see [`contains`](Self::contains)).
    #[must_use]
    pub fn get(&self, domain: &str) -> Option<&RelayDomain> {
        self.iter().find(|d| d.matches(domain))
    }

    /// The primary (first configured) relay domain.
    #[must_use]
    pub fn primary(&self) -> &RelayDomain {
        &self.primary
    }

    /// All relay domains, primary first.
    pub fn iter(&self) -> impl Iterator<Item = &RelayDomain> {
        core::iter::once(&self.primary).chain(&self.others)
    }
}
