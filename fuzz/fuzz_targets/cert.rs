//! X.509 certificates: DER parsing, path validation with the certificate as its own anchor,
//! issuer extraction; and SubjectPublicKeyInfo parsing of the same bytes.
#![no_main]

use der::Decode;
use libfuzzer_sys::fuzz_target;
use pki_core::{PublicKey, cert::Issuer, path::{self, Usage}};
use pki_core_fuzz::NOW;
use x509_cert::Certificate;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::from_der(data) {
        let verdict = path::validate(&cert, &[], &cert, NOW, Usage::Sign);
        let _ = verdict.to_string();
        let _ = path::validate(&cert, core::slice::from_ref(&cert), pki_core_fuzz::ca(), NOW, Usage::Encrypt);
        let _ = Issuer::from_certificate(&cert);
    }
    let _ = PublicKey::from_spki_der(data);
});
