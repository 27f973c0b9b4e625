//! The ASN.1 structures of [RFC 7292], written with `der`'s derive macros, and the object
//! identifiers they use.
//!
//! The `SafeBag` side is borrowed ([`AnyRef`]) so that a decrypted `SafeContents` holding a
//! private key is parsed in place, inside its zeroizing buffer, without stray copies.
//!
//! [RFC 7292]: https://www.rfc-editor.org/rfc/rfc7292

use alloc::vec::Vec;
use der::{
    Any, AnyRef, Sequence, Tag,
    asn1::{ObjectIdentifier as Oid, OctetString, OctetStringRef, SetOfVec},
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;

// --- RFC 5652 content types -------------------------------------------------------------------

/// `id-data` (RFC 5652 §4).
pub(super) const ID_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
/// `id-encryptedData` (RFC 5652 §8).
pub(super) const ID_ENCRYPTED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.6");

// --- RFC 7292 §4.2 bag types ------------------------------------------------------------------

/// `keyBag`: a plain PKCS#8 `PrivateKeyInfo`.
pub(super) const KEY_BAG: Oid = Oid::new_unwrap("1.2.840.113549.1.12.10.1.1");
/// `pkcs8ShroudedKeyBag`: an `EncryptedPrivateKeyInfo`.
pub(super) const PKCS8_SHROUDED_KEY_BAG: Oid = Oid::new_unwrap("1.2.840.113549.1.12.10.1.2");
/// `certBag`.
pub(super) const CERT_BAG: Oid = Oid::new_unwrap("1.2.840.113549.1.12.10.1.3");
/// `safeContentsBag`: a nested `SafeContents`.
pub(super) const SAFE_CONTENTS_BAG: Oid = Oid::new_unwrap("1.2.840.113549.1.12.10.1.6");
/// `x509Certificate` cert type (PKCS#9): the value is an OCTET STRING holding the DER cert.
pub(super) const X509_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.22.1");

// --- PKCS#9 attributes ------------------------------------------------------------------------

/// `friendlyName` (PKCS#9): a BMPString.
pub(super) const FRIENDLY_NAME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.20");
/// `localKeyId` (PKCS#9): an OCTET STRING.
pub(super) const LOCAL_KEY_ID: Oid = Oid::new_unwrap("1.2.840.113549.1.9.21");

// --- Password-based encryption (RFC 7292 Appendix C, RFC 8018) --------------------------------

/// `pbeWithSHAAnd128BitRC4`.
pub(super) const PBE_SHA1_RC4_128: Oid = Oid::new_unwrap("1.2.840.113549.1.12.1.1");
/// `pbeWithSHAAnd40BitRC4`.
pub(super) const PBE_SHA1_RC4_40: Oid = Oid::new_unwrap("1.2.840.113549.1.12.1.2");
/// `pbeWithSHAAnd3-KeyTripleDES-CBC`.
pub(super) const PBE_SHA1_3DES: Oid = Oid::new_unwrap("1.2.840.113549.1.12.1.3");
/// `pbeWithSHAAnd2-KeyTripleDES-CBC`.
pub(super) const PBE_SHA1_2DES: Oid = Oid::new_unwrap("1.2.840.113549.1.12.1.4");
/// `pbeWithSHAAnd128BitRC2-CBC`.
pub(super) const PBE_SHA1_RC2_128: Oid = Oid::new_unwrap("1.2.840.113549.1.12.1.5");
/// `pbewithSHAAnd40BitRC2-CBC`.
pub(super) const PBE_SHA1_RC2_40: Oid = Oid::new_unwrap("1.2.840.113549.1.12.1.6");
/// `id-PBES2` (RFC 8018 §A.4).
pub(super) const PBES2: Oid = Oid::new_unwrap("1.2.840.113549.1.5.13");
/// `id-PBKDF2` (RFC 8018 §A.2).
pub(super) const PBKDF2: Oid = Oid::new_unwrap("1.2.840.113549.1.5.12");
/// `id-PBMAC1` (RFC 8018 §A.5, RFC 9579): recognised only to name it in an error.
pub(super) const PBMAC1: Oid = Oid::new_unwrap("1.2.840.113549.1.5.14");
/// `aes128-CBC-PAD`.
pub(super) const AES_128_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.2");
/// `aes192-CBC-PAD`.
pub(super) const AES_192_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.22");
/// `aes256-CBC-PAD`.
pub(super) const AES_256_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.42");
/// `des-EDE3-CBC`.
pub(super) const DES_EDE3_CBC: Oid = Oid::new_unwrap("1.2.840.113549.3.7");

// --- Digests and HMAC PRFs --------------------------------------------------------------------

/// `id-sha1`.
pub(super) const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
/// `id-sha224`.
pub(super) const SHA224: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.4");
/// `id-sha256`.
pub(super) const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
/// `id-sha384`.
pub(super) const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
/// `id-sha512`.
pub(super) const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
/// `id-hmacWithSHA1`.
pub(super) const HMAC_SHA1: Oid = Oid::new_unwrap("1.2.840.113549.2.7");
/// `id-hmacWithSHA224`.
pub(super) const HMAC_SHA224: Oid = Oid::new_unwrap("1.2.840.113549.2.8");
/// `id-hmacWithSHA256`.
pub(super) const HMAC_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.2.9");
/// `id-hmacWithSHA384`.
pub(super) const HMAC_SHA384: Oid = Oid::new_unwrap("1.2.840.113549.2.10");
/// `id-hmacWithSHA512`.
pub(super) const HMAC_SHA512: Oid = Oid::new_unwrap("1.2.840.113549.2.11");

// --- Structures -------------------------------------------------------------------------------

/// [RFC 7292 §4](https://www.rfc-editor.org/rfc/rfc7292#section-4):
///
/// ```text
/// PFX ::= SEQUENCE {
///     version     INTEGER {v3(3)}(v3,...),
///     authSafe    ContentInfo,
///     macData     MacData OPTIONAL
/// }
/// ```
#[derive(Clone, Debug, Sequence)]
pub(super) struct Pfx {
    pub(super) version: u8,
    pub(super) auth_safe: cms::content_info::ContentInfo,
    pub(super) mac_data: Option<MacData>,
}

/// [RFC 7292 §4](https://www.rfc-editor.org/rfc/rfc7292#section-4):
///
/// ```text
/// MacData ::= SEQUENCE {
///     mac         DigestInfo,
///     macSalt     OCTET STRING,
///     iterations  INTEGER DEFAULT 1
///     -- Note: The default is for historical reasons and its use is
///     -- deprecated.
/// }
/// ```
///
/// `iterations` is an `Option` so that a non-canonical explicit `1` still decodes.
#[derive(Clone, Debug, Sequence)]
pub(super) struct MacData {
    pub(super) mac: DigestInfo,
    pub(super) mac_salt: OctetString,
    pub(super) iterations: Option<u32>,
}

/// [RFC 8017 §9.2](https://www.rfc-editor.org/rfc/rfc8017#section-9.2) (PKCS#1):
///
/// ```text
/// DigestInfo ::= SEQUENCE {
///     digestAlgorithm DigestAlgorithmIdentifier,
///     digest          Digest }
/// ```
#[derive(Clone, Debug, Sequence)]
pub(super) struct DigestInfo {
    pub(super) digest_algorithm: AlgorithmIdentifierOwned,
    pub(super) digest: OctetString,
}

/// [RFC 7292 §4.2](https://www.rfc-editor.org/rfc/rfc7292#section-4.2):
///
/// ```text
/// SafeBag ::= SEQUENCE {
///     bagId          BAG-TYPE.&id ({PKCS12BagSet}),
///     bagValue       [0] EXPLICIT BAG-TYPE.&Type({PKCS12BagSet}{@bagId}),
///     bagAttributes  SET OF PKCS12Attribute OPTIONAL
/// }
///
/// PKCS12Attribute ::= SEQUENCE {
///     attrId      ATTRIBUTE.&id ({PKCS12AttrSet}),
///     attrValues  SET OF ATTRIBUTE.&Type ({PKCS12AttrSet}{@attrId})
/// } -- This type is compatible with the X.500 type 'Attribute'
/// ```
///
/// `SafeContents ::= SEQUENCE OF SafeBag` is `Vec<SafeBag>`.
#[derive(Clone, Debug, Sequence)]
pub(super) struct SafeBag<'a> {
    pub(super) bag_id: Oid,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub(super) bag_value: AnyRef<'a>,
    pub(super) bag_attributes: Option<SetOfVec<Attribute>>,
}

/// [RFC 7292 §4.2.3](https://www.rfc-editor.org/rfc/rfc7292#section-4.2.3):
///
/// ```text
/// CertBag ::= SEQUENCE {
///     certId      BAG-TYPE.&id   ({CertTypes}),
///     certValue   [0] EXPLICIT BAG-TYPE.&Type ({CertTypes}{@certId})
/// }
/// ```
#[derive(Clone, Debug, Sequence)]
pub(super) struct CertBag<'a> {
    pub(super) cert_id: Oid,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub(super) cert_value: AnyRef<'a>,
}

/// [RFC 5208 §6](https://www.rfc-editor.org/rfc/rfc5208#section-6) (PKCS#8), as used by the
/// `pkcs8ShroudedKeyBag` ([RFC 7292 §4.2.2](https://www.rfc-editor.org/rfc/rfc7292#section-4.2.2)):
///
/// ```text
/// EncryptedPrivateKeyInfo ::= SEQUENCE {
///     encryptionAlgorithm  EncryptionAlgorithmIdentifier,
///     encryptedData        EncryptedData }
/// EncryptedData ::= OCTET STRING
/// ```
///
/// Written here rather than taken from `pkcs8` because the algorithm may be one of the
/// PKCS#12 PBE schemes, which `pkcs5::EncryptionScheme` does not decode.
#[derive(Clone, Debug, Sequence)]
pub(super) struct EncryptedPrivateKeyInfo<'a> {
    pub(super) encryption_algorithm: AlgorithmIdentifierOwned,
    pub(super) encrypted_data: &'a OctetStringRef,
}

/// [RFC 7292 Appendix C](https://www.rfc-editor.org/rfc/rfc7292#appendix-C):
///
/// ```text
/// pkcs-12PbeParams ::= SEQUENCE {
///     salt        OCTET STRING,
///     iterations  INTEGER
/// }
/// ```
#[derive(Clone, Debug, Sequence)]
pub(super) struct Pkcs12PbeParams {
    pub(super) salt: OctetString,
    pub(super) iterations: u32,
}

/// [RFC 8018 §A.4](https://www.rfc-editor.org/rfc/rfc8018#appendix-A.4):
///
/// ```text
/// PBES2-params ::= SEQUENCE {
///     keyDerivationFunc AlgorithmIdentifier {{PBES2-KDFs}},
///     encryptionScheme AlgorithmIdentifier {{PBES2-Encs}} }
/// ```
#[derive(Clone, Debug, Sequence)]
pub(super) struct Pbes2Params {
    pub(super) key_derivation_func: AlgorithmIdentifierOwned,
    pub(super) encryption_scheme: AlgorithmIdentifierOwned,
}

/// [RFC 8018 §A.2](https://www.rfc-editor.org/rfc/rfc8018#appendix-A.2):
///
/// ```text
/// PBKDF2-params ::= SEQUENCE {
///     salt CHOICE {
///         specified OCTET STRING,
///         otherSource AlgorithmIdentifier {{PBKDF2-SaltSources}}
///     },
///     iterationCount INTEGER (1..MAX),
///     keyLength INTEGER (1..MAX) OPTIONAL,
///     prf AlgorithmIdentifier {{PBKDF2-PRFs}} DEFAULT algid-hmacWithSHA1 }
/// ```
///
/// Only the `specified` salt is supported (no known producer uses `otherSource`).
#[derive(Clone, Debug, Sequence)]
pub(super) struct Pbkdf2Params {
    pub(super) salt: OctetString,
    pub(super) iteration_count: u32,
    pub(super) key_length: Option<u32>,
    pub(super) prf: Option<AlgorithmIdentifierOwned>,
}

/// An algorithm identifier whose parameters are an ASN.1 `NULL`, as OpenSSL writes them for
/// digests and HMAC PRFs.
pub(super) fn alg_with_null(oid: Oid) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid, parameters: Some(Any::null()) }
}

/// Encodes `s` as the value of a BMPString. Characters outside the Basic Multilingual Plane
/// become UTF-16 surrogate pairs, as OpenSSL's `OPENSSL_utf82uni` does.
pub(super) fn bmp_bytes(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Decodes a BMPString value (UTF-16BE), replacing unpaired surrogates and a trailing odd byte
/// with U+FFFD rather than failing: a friendly name is only a label.
pub(super) fn bmp_to_string(bytes: &[u8]) -> alloc::string::String {
    let units = bytes.chunks(2).map(|c| match c {
        [hi, lo] => u16::from_be_bytes([*hi, *lo]),
        _ => 0xFFFD,
    });
    char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

/// A `PKCS12Attribute` with a single value.
///
/// # Errors
/// Only if the value cannot be wrapped (never for the lengths used here).
pub(super) fn attribute(oid: Oid, value: Any) -> der::Result<Attribute> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

/// The `friendlyName` attribute holding `name` as a BMPString.
///
/// # Errors
/// Only if the name is longer than DER can express.
pub(super) fn friendly_name_attribute(name: &str) -> der::Result<Attribute> {
    attribute(FRIENDLY_NAME, Any::new(Tag::BmpString, bmp_bytes(name))?)
}

/// The `localKeyId` attribute.
///
/// # Errors
/// Only if the id is longer than DER can express.
pub(super) fn local_key_id_attribute(id: &[u8]) -> der::Result<Attribute> {
    attribute(LOCAL_KEY_ID, Any::new(Tag::OctetString, id)?)
}
