//! Token buckets by key: the per-account rates of the pipelines, and the per-client rates of the
//! SMTP front.

use std::{collections::HashMap, hash::Hash, sync::Mutex};

/// A rate: `burst` tokens at most, `per_hour` added back every hour (spread evenly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// The bucket's size: how many may come at once.
    pub burst: u32,
    /// Tokens added per hour.
    pub per_hour: u32,
}

impl Rate {
    /// No limit.
    pub const UNLIMITED: Rate = Rate { burst: u32::MAX, per_hour: u32::MAX };
}

/// One token bucket per key. Keys whose bucket is full again are forgotten, so the map holds
/// only the keys active within the last refill period.
#[derive(Debug)]
pub struct TokenBuckets<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, (f64, u64)>>,
}

impl<K: Eq + Hash + Clone> TokenBuckets<K> {
    /// Buckets of `rate`.
    pub fn new(rate: Rate) -> Self {
        TokenBuckets { rate, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `key` at `now_ms` (milliseconds on any clock that does not go back);
    /// `false` if its bucket is empty.
    pub fn take(&self, key: &K, now_ms: u64) -> bool {
        if self.rate == Rate::UNLIMITED {
            return true;
        }
        let Ok(mut map) = self.buckets.lock() else { return false };
        let burst = f64::from(self.rate.burst);
        let per_ms = f64::from(self.rate.per_hour) / 3_600_000.0;
        if map.len() > 4096 {
            // Forget buckets that have filled up again.
            map.retain(|_, (tokens, at)| (*tokens + per_ms * (now_ms.saturating_sub(*at) as f64)) < burst);
        }
        let (tokens, at) = map.entry(key.clone()).or_insert((burst, now_ms));
        *tokens = (*tokens + per_ms * (now_ms.saturating_sub(*at) as f64)).min(burst);
        *at = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_at_their_rate() {
        let b = TokenBuckets::new(Rate { burst: 3, per_hour: 3600 });
        assert!((0..3).all(|_| b.take(&"a", 0)));
        assert!(!b.take(&"a", 0), "empty");
        assert!(b.take(&"b", 0), "another key has its own bucket");
        assert!(!b.take(&"a", 500), "half a token");
        assert!(b.take(&"a", 1000), "one token a second");
        assert!(!b.take(&"a", 1000));
        assert!((0..3).all(|_| b.take(&"a", 3_600_000)), "full again, not more");
        assert!(!b.take(&"a", 3_600_000));
        let open = TokenBuckets::new(Rate::UNLIMITED);
        assert!((0..10_000).all(|_| open.take(&1, 0)));
    }
}
