//! CMS EnvelopedData / AuthEnvelopedData decryption, for a fixed RSA-2048 recipient and a fixed
//! P-256 recipient. Both are tried on every input: without a matching RecipientInfo `open`
//! returns before any private-key operation, so the second call is cheap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pki_core::cms;

fuzz_target!(|data: &[u8]| {
    let mut rng = pki_core_fuzz::rng();
    for id in [pki_core_fuzz::rsa(), pki_core_fuzz::ec()] {
        let _ = cms::open(data, &id.cert, &id.key, &mut rng);
    }
});
