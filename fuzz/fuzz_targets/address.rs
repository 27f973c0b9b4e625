//! Address parsing (SMTP paths and header addresses): no panic, and whatever parses parses
//! again to the same address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relay_engine::address::Address;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = core::str::from_utf8(data) else { return };
    if let Ok(a) = Address::parse(s) {
        let again = Address::parse(a.as_str()).expect("a parsed address parses again");
        assert_eq!(a, again);
    }
    let _ = Address::parse_path(s);
    let _ = Address::split_path(s);
});
