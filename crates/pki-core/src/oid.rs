//! Object identifiers used by this crate, in one place.
#![allow(missing_docs)]

use const_oid::ObjectIdentifier as Oid;

// Algorithms (RFC 8017, RFC 5758, RFC 5480, RFC 5753, RFC 3565, RFC 5084, NIST).
pub(crate) const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
pub(crate) const RSAES_OAEP: Oid = Oid::new_unwrap("1.2.840.113549.1.1.7");
pub(crate) const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
pub(crate) const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
pub(crate) const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
pub(crate) const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
pub(crate) const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
pub(crate) const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
pub(crate) const SECP384R1: Oid = Oid::new_unwrap("1.3.132.0.34");
pub(crate) const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
pub(crate) const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
pub(crate) const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
pub(crate) const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
pub(crate) const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
pub(crate) const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
pub(crate) const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
pub(crate) const AES128_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.2");
pub(crate) const AES192_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.22");
pub(crate) const AES256_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.42");
pub(crate) const AES128_WRAP: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.5");
pub(crate) const AES192_WRAP: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.25");
pub(crate) const AES256_WRAP: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.45");
pub(crate) const AES128_GCM: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.6");
pub(crate) const AES256_GCM: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.46");
pub(crate) const DH_SINGLE_PASS_STD_DH_SHA1KDF: Oid = Oid::new_unwrap("1.3.133.16.840.63.0.2");
pub(crate) const DH_SINGLE_PASS_STD_DH_SHA256KDF: Oid = Oid::new_unwrap("1.3.132.1.11.1");
pub(crate) const DH_SINGLE_PASS_STD_DH_SHA384KDF: Oid = Oid::new_unwrap("1.3.132.1.11.2");
pub(crate) const DH_SINGLE_PASS_STD_DH_SHA512KDF: Oid = Oid::new_unwrap("1.3.132.1.11.3");

// CMS content types and attributes (RFC 5652, RFC 5083, RFC 8551).
pub(crate) const CT_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
pub(crate) const CT_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
pub(crate) const CT_ENVELOPED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.3");
pub(crate) const CT_AUTH_ENVELOPED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.23");
pub(crate) const AT_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
pub(crate) const AT_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
pub(crate) const AT_SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
pub(crate) const AT_SMIME_CAPABILITIES: Oid = Oid::new_unwrap("1.2.840.113549.1.9.15");
pub(crate) const AT_ENCRYPT_KEY_PREF: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.11");
pub(crate) const AT_EXTENSION_REQUEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.14");
pub(crate) const AT_EMAIL_ADDRESS: Oid = Oid::new_unwrap("1.2.840.113549.1.9.1");

// Certificate extensions (RFC 5280) and policies.
pub(crate) const CE_SUBJECT_KEY_ID: Oid = Oid::new_unwrap("2.5.29.14");
pub(crate) const CE_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
pub(crate) const CE_SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
pub(crate) const CE_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
pub(crate) const CE_CRL_NUMBER: Oid = Oid::new_unwrap("2.5.29.20");
pub(crate) const CE_NAME_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.30");
pub(crate) const CE_CERTIFICATE_POLICIES: Oid = Oid::new_unwrap("2.5.29.32");
pub(crate) const CE_AUTHORITY_KEY_ID: Oid = Oid::new_unwrap("2.5.29.35");
pub(crate) const CE_EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
pub(crate) const KP_EMAIL_PROTECTION: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.4");
pub(crate) const ANY_EXTENDED_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37.0");
/// CA/Browser Forum S/MIME BR: mailbox-validated, strict.
pub(crate) const CABF_SMIME_MAILBOX_STRICT: Oid = Oid::new_unwrap("2.23.140.1.5.1.3");

/// A short name for the algorithms this crate knows, for reports and logs.
pub(crate) fn name(o: &Oid) -> Option<&'static str> {
    Some(match *o {
        RSA_ENCRYPTION => "rsaEncryption",
        RSAES_OAEP => "rsaes-OAEP",
        AES128_CBC => "aes128-CBC",
        AES192_CBC => "aes192-CBC",
        AES256_CBC => "aes256-CBC",
        AES128_GCM => "aes128-GCM",
        AES256_GCM => "aes256-GCM",
        SHA256 => "sha256",
        ECDSA_WITH_SHA256 => "ecdsa-with-SHA256",
        SHA256_WITH_RSA => "sha256WithRSAEncryption",
        KP_EMAIL_PROTECTION => "emailProtection",
        _ => return None,
    })
}
