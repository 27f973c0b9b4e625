//! The MIME layer (message split, Content-Type, multipart/signed, application/pkcs7-mime,
//! canonicalization) and S/MIME verification on top of it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pki_core::{mime, smime};
use pki_core_fuzz::{NOW, ca};

fuzz_target!(|data: &[u8]| {
    let _ = mime::classify(data);
    let _ = mime::canonicalize(data);
    if let Ok(ms) = mime::parse_multipart_signed(data) {
        let _ = ms.signed_content();
    }
    let _ = mime::parse_pkcs7_mime(data);
    if let Ok(split) = mime::split_message(data) {
        let entity = split.entity();
        let _ = mime::join_message(&split.outer_headers, &entity);
    }
    if let Some(Ok(ct)) = core::str::from_utf8(data).ok().map(mime::ContentType::parse) {
        let _ = (ct.param("boundary"), ct.is("multipart/signed"));
    }
    let _ = smime::verify_message(data, ca(), NOW);
    let _ = smime::capabilities(data);
});
