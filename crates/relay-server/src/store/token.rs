//! API tokens and mailbox verification codes: random secrets of which the database keeps only
//! the SHA-256. A token is looked up by its hash through a unique index, so no comparison of
//! secrets happens in this code (and none needs to be constant-time).

use sha2::{Digest, Sha256};

use super::AdminError;
use relay_engine::store::StoreError;

/// What every token starts with, so that a leaked one is recognisable (secret scanners).
const PREFIX: &str = "mrt_";
/// Random bytes in a token: 256 bits.
const RANDOM_BYTES: usize = 32;

/// A freshly made API token, in the clear. It exists only in memory and is shown to its owner
/// once; the database has its hash. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainToken(String);

impl PlainToken {
    /// A new random token: `mrt_` and 64 lowercase hex digits.
    pub(super) fn generate() -> Result<Self, AdminError> {
        let mut bytes = [0u8; RANDOM_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|e| AdminError::Store(StoreError::Unavailable(format!("no randomness for a token: {e}"))))?;
        let mut token = String::with_capacity(PREFIX.len() + 2 * RANDOM_BYTES);
        token.push_str(PREFIX);
        for b in bytes {
            token.push(hex_digit(b >> 4));
            token.push(hex_digit(b & 0x0f));
        }
        Ok(PlainToken(token))
    }

    /// The token, to hand to its owner.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The token, to hand to its owner.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl core::fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PlainToken(<redacted>)")
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

/// What the database stores for a secret: its SHA-256.
pub(super) fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).as_slice().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_redacted() {
        let a = PlainToken::generate().unwrap();
        let b = PlainToken::generate().unwrap();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("mrt_") && a.expose().len() == 68);
        assert!(a.expose()[4..].bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(!format!("{a:?}").contains(&a.expose()[4..]));
        assert_eq!(secret_hash("abc").len(), 32);
        assert_ne!(secret_hash(a.expose()), secret_hash(b.expose()));
    }
}
