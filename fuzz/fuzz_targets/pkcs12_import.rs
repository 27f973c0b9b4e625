//! PKCS#12 import with a fixed password: the input as it is, then the input with its MAC
//! recomputed ([`pki_core_fuzz::remac`]) so that mutations behind the MAC reach the bag parsers.
//! Iteration counts come from the input; pki-core rejects counts above
//! `pkcs12::MAX_ITERATIONS` before deriving anything.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pki_core::pkcs12;
use pki_core_fuzz::P12_PASSWORD;

fuzz_target!(|data: &[u8]| {
    let _ = pkcs12::import(data, P12_PASSWORD);
    if let Some(remacced) = pki_core_fuzz::remac(data) {
        let _ = pkcs12::import(&remacced, P12_PASSWORD);
    }
});
