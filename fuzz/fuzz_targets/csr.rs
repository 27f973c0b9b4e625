//! PKCS#10 certification requests, DER and PEM, with the proof-of-possession check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pki_core::csr::VerifiedCsr;

fuzz_target!(|data: &[u8]| {
    let _ = VerifiedCsr::from_der(data);
    if let Ok(pem) = core::str::from_utf8(data) {
        let _ = VerifiedCsr::from_pem(pem);
    }
});
