//! How the C allocator treats message-sized buffers.
//!
//! glibc gives an allocation above its mmap threshold a mapping of its own, returned to the
//! system when it is freed. The threshold is dynamic: once such a buffer is freed, it rises to
//! that buffer's size (up to 32 MiB), and later message-sized buffers come from the heap arenas,
//! whose freed memory stays resident. The reply pipeline makes a few message-sized buffers one
//! after the other; with 8 large replies at once, the retained arenas doubled the relay's peak
//! (`cargo xtask bench memory`: 2.10x the bytes in flight, 1.22x with the threshold fixed).
//! Fixing the threshold keeps every message-sized buffer in its own mapping; small allocations
//! are unaffected.

/// Allocations of at least this many bytes get their own mapping.
pub const MMAP_THRESHOLD: u32 = 1 << 20;

/// Fixes glibc's mmap threshold at [`MMAP_THRESHOLD`]. Call once, at start-up. Returns whether
/// the allocator took the setting (always false where the C library is not glibc).
pub fn tune() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let threshold = libc::c_int::try_from(MMAP_THRESHOLD).unwrap_or(libc::c_int::MAX);
        // SAFETY: `mallopt` takes two integers and only changes the allocator's parameters; it
        // is safe to call at any time, from any thread.
        #[allow(unsafe_code, reason = "one call into glibc with integer arguments, no pointer")]
        let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, threshold) };
        ok == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_threshold() {
        assert!(super::tune());
    }
}
