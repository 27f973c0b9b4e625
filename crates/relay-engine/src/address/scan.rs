//! Finding addresses at the relay's domains in free text: headers of nested messages, bodies.

use core::ops::Range;

use super::{Address, RelayDomains};

/// Characters of an unquoted local part (RFC 5322 `dot-atom-text`).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b)
}

fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.'
}

/// Every address at one of `domains` in `text` (ASCII case-insensitive, subdomains not
/// included), with its byte range, in order. An address is `local@domain` with an unquoted
/// local part; a trailing dot (the end of a sentence) is not part of the domain.
///
/// ```
/// use relay_engine::address::{RelayDomains, find_at_domains};
///
/// let domains = RelayDomains::new(["pportal.io"]).unwrap();
/// let found = find_at_domains(b"Cc: <Bob.X@PPortal.io>, carol@example.org.", &domains);
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].1.as_str(), "Bob.X@pportal.io");
/// assert_eq!(found[0].0, 5..21);
/// ```
#[must_use]
pub fn find_at_domains(text: &[u8], domains: &RelayDomains) -> Vec<(Range<usize>, Address)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].iter().position(|b| *b == b'@').map(|p| p + from) {
        from = at + 1;
        let mut end = at + 1;
        while end < text.len() && is_domain_char(text[end]) {
            end += 1;
        }
        while end > at + 1 && matches!(text[end - 1], b'.' | b'-') {
            end -= 1;
        }
        let mut start = at;
        while start > 0 && is_atext(text[start - 1]) {
            start -= 1;
        }
        while start < at && text[start] == b'.' {
            start += 1;
        }
        if start == at || end == at + 1 {
            continue;
        }
        let Ok(domain) = core::str::from_utf8(&text[at + 1..end]) else { continue };
        if !domains.contains(domain) {
            continue;
        }
        let Ok(candidate) = core::str::from_utf8(&text[start..end]) else { continue };
        if let Ok(addr) = Address::parse(candidate) {
            out.push((start..end, addr));
            from = end;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(Range<usize>, String)> {
        let domains = RelayDomains::new(["pportal.io", "relay.example"]).unwrap();
        find_at_domains(text.as_bytes(), &domains).into_iter().map(|(r, a)| (r, a.as_str().to_owned())).collect()
    }

    #[test]
    fn finds_relay_addresses_only() {
        assert_eq!(found("mailto:x@pportal.io"), [(7..19, "x@pportal.io".to_owned())]);
        assert_eq!(found("a@b.c d@relay.example."), [(6..21, "d@relay.example".to_owned())]);
        assert_eq!(found("<a.b+c@PPORTAL.IO>"), [(1..17, "a.b+c@pportal.io".to_owned())]);
        assert!(found("x@pportal.io.evil.example y@sub.pportal.io @pportal.io x@ pportal.io").is_empty());
        assert!(found("").is_empty());
        assert!(found("@@@").is_empty());
        assert_eq!(found("a@pportal.io,b@pportal.io").len(), 2);
    }
}
