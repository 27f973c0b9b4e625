//! The memory budget for message data in flight, shared by every session of a server.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Octets of message data the sessions of one server may hold at once ([`Limits::memory_budget`]).
///
/// A session reserves [`COST`](Self::COST) times what it has received of a message (the message,
/// and the copies the pipeline makes of it while delivering: the entity, the signed entity, the
/// envelope and its base64; 3.8 times the message was measured for 16 MB messages) as the data
/// comes in, and gives it back when its answer is sent. A message that does not fit is no longer kept: the rest of it is only read
/// to its end, and it is answered `452 4.3.1`, so a crowd of large messages cannot take the
/// memory of the machine.
///
/// [`Limits::memory_budget`]: super::Limits::memory_budget
#[derive(Debug)]
pub struct MemoryBudget {
    used: AtomicUsize,
    cap: usize,
}

impl MemoryBudget {
    /// What one octet of a message in flight costs, counting the pipeline's copies.
    pub const COST: usize = 4;

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
