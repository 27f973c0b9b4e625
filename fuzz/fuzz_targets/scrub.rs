//! The reply scrubber on arbitrary messages: no panic, and when it succeeds the real address is
//! gone in every form the leak detector knows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relay_engine::scrub::{Scrub, leaks, scrub_message};

const REAL: &str = "alice@real.example";

fuzz_target!(|data: &[u8]| {
    if let Ok(out) = scrub_message(data, &Scrub { real: &[REAL], alias: "quiet.otter.42@pportal.io" }) {
        assert!(leaks(&out.message, REAL).is_empty(), "scrubbed output still holds the address");
    }
});
