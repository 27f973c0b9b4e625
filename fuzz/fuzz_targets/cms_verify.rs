//! CMS SignedData verification (opaque and detached) against the fixture test CA, plus the
//! SMIMECapabilities reader and the content-type sniffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pki_core::cms;
use pki_core_fuzz::{DETACHED_CONTENT, NOW, ca};

fuzz_target!(|data: &[u8]| {
    let _ = cms::content_type(data);
    let _ = cms::verify(data, None, ca(), NOW);
    let _ = cms::verify(data, Some(DETACHED_CONTENT), ca(), NOW);
    let _ = cms::signer_capabilities(data);
});
