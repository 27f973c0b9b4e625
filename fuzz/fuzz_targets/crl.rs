//! CRLs: DER parsing and signature check against a fixed issuer (the fixture test CA).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pki_core::crl;

fuzz_target!(|data: &[u8]| {
    let issuer = pki_core_fuzz::ca();
    if let Ok(list) = crl::verify(data, issuer) {
        let _ = crl::is_revoked(&list, &pki_core_fuzz::rsa().cert);
    }
});
