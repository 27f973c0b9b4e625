//! Tests for [`crate::address`]: parser tables, alias generation, classification.

mod alias;
mod classify;
mod parse;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::{RelayDomain, RelayDomains};

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::from_seed([1; 32])
}

fn relay() -> RelayDomain {
    RelayDomain::new("pportal.io").expect("valid relay domain")
}

fn domains() -> RelayDomains {
    RelayDomains::new(["pportal.io", "relay.example"]).expect("valid relay domains")
}

/// `n` copies of `c`.
fn rep(c: char, n: usize) -> String {
    core::iter::repeat_n(c, n).collect()
}

/// A domain of exactly `len` octets made of 63-octet labels (`len` ≥ 1).
fn domain_of_len(len: usize) -> String {
    let mut labels = Vec::new();
    let mut left = len;
    while left > 63 {
        let take = if left > 64 { 63 } else { 62 };
        labels.push(rep('d', take));
        left -= take + 1;
    }
    labels.push(rep('e', left));
    labels.join(".")
}
