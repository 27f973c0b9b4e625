//! The memory budget for message data in flight, shared by every session of a server.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Octets of message data the sessions of one server may hold at once ([`Limits::memory_budget`]).
///
/// A session reserves a multiple of what it has received of a message as the data comes in:
/// the message and the copies its pipeline makes of it, [`Destination::memory_cost`] (by
/// default [`COST`](Self::COST)), and gives it back when its answer is sent. A message that
/// does not fit is no longer kept: the rest of it is only read to its end, and it is answered
/// `452 4.3.1`, so a crowd of large messages cannot take the memory of the machine.
///
/// [`Destination::memory_cost`]: super::Destination::memory_cost
/// [`Limits::memory_budget`]: super::Limits::memory_budget
#[derive(Debug)]
pub struct MemoryBudget {
    used: AtomicUsize,
    cap: usize,
}

impl MemoryBudget {
    /// What one octet of a message in flight costs by default (and at `MAIL`, before the
    /// destination is known), counting the pipeline's copies: a forward is signed and
    /// encrypted in place, 1.4 times its size (`cargo xtask bench memory`).
    pub const COST: usize = 2;

    /// A budget of `cap` octets.
    #[must_use]
    pub fn new(cap: usize) -> Self {
        MemoryBudget { used: AtomicUsize::new(0), cap }
    }

    /// Takes `n` octets if they fit.
    pub fn try_reserve(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| used.checked_add(n).filter(|t| *t <= self.cap))
            .is_ok()
    }

    /// Gives `n` octets back.
    pub fn release(&self, n: usize) {
        let _ = self.used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| Some(used.saturating_sub(n)));
    }

    /// Octets free now.
    #[must_use]
    pub fn available(&self) -> usize {
        self.cap.saturating_sub(self.used.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_and_release() {
        let b = MemoryBudget::new(100);
        assert!(b.try_reserve(60));
        assert!(!b.try_reserve(41));
        assert!(b.try_reserve(40));
        assert_eq!(b.available(), 0);
        b.release(60);
        assert_eq!(b.available(), 60);
        b.release(1000);
        assert_eq!(b.available(), 100);
        assert!(!b.try_reserve(usize::MAX));
    }
}
