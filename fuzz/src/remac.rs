//! Re-MACs a PKCS#12 file, so that mutations behind the MAC reach the bag parsers.
//!
//! `pkcs12::import` checks the MAC before it reads anything else, and a mutated file almost
//! never keeps a valid MAC. [`remac`] keeps the input's `version` and `authSafe` and replaces
//! its `macData` with a fresh HMAC-SHA-256 under [`P12_PASSWORD`](crate::P12_PASSWORD), one
//! iteration (RFC 7292 §5.1 and appendix B.2).

use der::{
    Decode, Encode, Sequence,
    asn1::{Any, ObjectIdentifier, OctetString},
};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use x509_cert::spki::AlgorithmIdentifierOwned;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SALT: [u8; 8] = *b"fuzzsalt";

/// `PFX ::= SEQUENCE { version INTEGER, authSafe ContentInfo, macData MacData OPTIONAL }`
#[derive(Sequence)]
struct Pfx {
    version: u8,
    auth_safe: DataContentInfo,
    mac_data: Option<Any>,
}

/// A `ContentInfo` of type `id-data`: `SEQUENCE { contentType, [0] EXPLICIT OCTET STRING }`.
#[derive(Sequence)]
struct DataContentInfo {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: OctetString,
}

/// `MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }`
#[derive(Sequence)]
struct MacData {
    mac: DigestInfo,
    mac_salt: OctetString,
}

#[derive(Sequence)]
struct DigestInfo {
    digest_algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

/// The input with a valid MAC for the fuzz password, or `None` if it is not a DER PFX whose
/// authSafe is `id-data`.
pub fn remac(input: &[u8]) -> Option<Vec<u8>> {
    let mut pfx = Pfx::from_der(input).ok()?;
    if pfx.auth_safe.content_type != ID_DATA {
        return None;
    }
    let key = mac_key(crate::P12_PASSWORD);
    let mut mac = <Hmac<Sha256>>::new_from_slice(&key).ok()?;
    mac.update(pfx.auth_safe.content.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mac_data = MacData {
        mac: DigestInfo {
            digest_algorithm: AlgorithmIdentifierOwned { oid: ID_SHA256, parameters: Some(Any::null()) },
            digest: OctetString::new(digest.as_slice()).ok()?,
        },
        mac_salt: OctetString::new(SALT).ok()?,
    };
    pfx.mac_data = Some(Any::encode_from(&mac_data).ok()?);
    pfx.to_der().ok()
}

/// The PKCS#12 KDF (RFC 7292 B.2) for the MAC key (ID 3), SHA-256, one iteration, 32 bytes:
/// with one iteration and one output block it is `SHA-256(D || S || P)`.
fn mac_key(password: &str) -> [u8; 32] {
    const V: usize = 64;
    let mut bmp: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    bmp.extend([0, 0]);
    let stretch = |x: &[u8]| -> Vec<u8> { x.iter().copied().cycle().take(x.len().div_ceil(V) * V).collect() };
    let mut h = Sha256::new();
    h.update([3u8; V]);
    h.update(stretch(&SALT));
    h.update(stretch(&bmp));
    h.finalize().into()
}
