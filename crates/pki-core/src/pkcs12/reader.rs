//! Reading a PFX: see [`super::import`].

use alloc::{string::String, vec::Vec};
use cms::{content_info::ContentInfo, encrypted_data::EncryptedData};
use der::{Any, AnyRef, Decode, Encode, Tag, Tagged, asn1::SetOfVec};
use subtle::ConstantTimeEq;
use x509_cert::{Certificate, attr::Attribute};
use zeroize::Zeroizing;

use super::{
    Error, Imported,
    asn1::{self, CertBag, EncryptedPrivateKeyInfo, MacData, Pfx, SafeBag},
    der_err,
    kdf::{self, HashAlg, Password},
    keymatch, pbe,
};

/// How deep `safeContentsBag`s may nest.
const MAX_NESTING: usize = 4;

/// The attributes of a bag that matter here.
#[derive(Default)]
struct BagAttributes {
    local_key_id: Option<Vec<u8>>,
    friendly_name: Option<String>,
}

/// A key found in the file, already decrypted.
struct KeyEntry {
    der: Zeroizing<Vec<u8>>,
    attrs: BagAttributes,
}

/// A certificate found in the file.
struct CertEntry {
    der: Vec<u8>,
    attrs: BagAttributes,
}

/// Everything found so far.
#[derive(Default)]
struct Found {
    keys: Vec<KeyEntry>,
    certs: Vec<CertEntry>,
}

/// See [`super::import`].
pub(super) fn import(pfx_der: &[u8], password: &str) -> Result<Imported, Error> {
    let pfx = Pfx::from_der(pfx_der).map_err(der_err("PFX"))?;
    if pfx.version != 3 {
        return Err(Error::UnsupportedVersion { version: pfx.version });
    }
    if pfx.auth_safe.content_type != asn1::ID_DATA {
        return Err(Error::UnsupportedContentType { oid: pfx.auth_safe.content_type });
    }
    let data = octets(&pfx.auth_safe.content, "authSafe")?;
    let mac_data = pfx.mac_data.as_ref().ok_or(Error::MissingMac)?;
    let password = verify_mac(mac_data, data, password)?;

    let content_infos = Vec::<ContentInfo>::from_der(data).map_err(der_err("AuthenticatedSafe"))?;
    let mut found = Found::default();
    for content_info in &content_infos {
        read_content_info(content_info, &password, &mut found)?;
    }
    finish(found)
}

/// The contents of an OCTET STRING held in an `Any`.
fn octets<'a>(any: &'a Any, what: &'static str) -> Result<&'a [u8], Error> {
    if any.tag() != Tag::OctetString {
        let source = any.tag().unexpected_error(Some(Tag::OctetString)).to_error();
        return Err(Error::Der { what, source });
    }
    Ok(any.value())
}

/// Checks the MAC ([RFC 7292 §5](https://www.rfc-editor.org/rfc/rfc7292#section-5)) under each
/// encoding of the password, in constant time, and returns the encoding that verifies.
fn verify_mac(mac_data: &MacData, data: &[u8], password: &str) -> Result<Password, Error> {
    let oid = mac_data.mac.digest_algorithm.oid;
    if oid == asn1::PBMAC1 {
        return Err(Error::UnsupportedAlgorithm { context: "MAC (PBMAC1, RFC 9579)", oid });
    }
    let alg = HashAlg::from_digest_oid(&oid)
        .ok_or(Error::UnsupportedAlgorithm { context: "MAC digest", oid })?;
    // Digest parameters are absent or NULL (RFC 5754 §2); anything else is malformed.
    if mac_data.mac.digest_algorithm.parameters.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(Error::InvalidParameters { oid, reason: "digest parameters must be NULL" });
    }
    let iterations = kdf::check_iterations(mac_data.iterations.unwrap_or(1))?;
    let salt = mac_data.mac_salt.as_bytes();
    let expected = mac_data.mac.digest.as_bytes();
    for candidate in Password::candidates(password) {
        let mac = kdf::pkcs12_mac(alg, &candidate.bmp, salt, iterations, data)?;
        if bool::from(mac.as_slice().ct_eq(expected)) {
            return Ok(candidate);
        }
    }
    Err(Error::MacMismatch)
}

/// One `ContentInfo` of the `AuthenticatedSafe`: plain or password-encrypted `SafeContents`.
fn read_content_info(ci: &ContentInfo, password: &Password, found: &mut Found) -> Result<(), Error> {
    match ci.content_type {
        asn1::ID_DATA => read_safe_contents(octets(&ci.content, "SafeContents")?, password, found, 0),
        asn1::ID_ENCRYPTED_DATA => {
            let encrypted: EncryptedData =
                ci.content.decode_as().map_err(der_err("EncryptedData"))?;
            let info = &encrypted.enc_content_info;
            if info.content_type != asn1::ID_DATA {
                return Err(Error::UnsupportedContentType { oid: info.content_type });
            }
            let ciphertext = info.encrypted_content.as_ref().ok_or(Error::InvalidParameters {
                oid: asn1::ID_ENCRYPTED_DATA,
                reason: "encrypted content is missing",
            })?;
            let plaintext = pbe::decrypt(&info.content_enc_alg, password, ciphertext.as_bytes())?;
            read_safe_contents(&plaintext, password, found, 0)
        }
        oid => Err(Error::UnsupportedContentType { oid }),
    }
}

/// A `SafeContents`: collects its keys and certificates; ignores CRL, secret and unknown bags.
fn read_safe_contents(
    der: &[u8],
    password: &Password,
    found: &mut Found,
    depth: usize,
) -> Result<(), Error> {
    let bags = Vec::<SafeBag<'_>>::from_der(der).map_err(der_err("SafeContents"))?;
    for bag in &bags {
        let attrs = || parse_attributes(bag.bag_attributes.as_ref());
        match bag.bag_id {
            asn1::KEY_BAG => {
                let der = Zeroizing::new(bag.bag_value.to_der().map_err(der_err("keyBag"))?);
                pkcs8::PrivateKeyInfoRef::from_der(&der).map_err(der_err("keyBag"))?;
                found.keys.push(KeyEntry { der, attrs: attrs() });
            }
            asn1::PKCS8_SHROUDED_KEY_BAG => {
                let der = decrypt_key_bag(bag.bag_value, password)?;
                found.keys.push(KeyEntry { der, attrs: attrs() });
            }
            asn1::CERT_BAG => {
                let cert: CertBag<'_> = bag.bag_value.decode_as().map_err(der_err("certBag"))?;
                // Only X.509 certificates; SDSI certificates are skipped.
                if cert.cert_id == asn1::X509_CERTIFICATE {
                    if cert.cert_value.tag() != Tag::OctetString {
                        let err = cert.cert_value.tag().unexpected_error(Some(Tag::OctetString));
                        return Err(Error::Der { what: "certBag", source: err.to_error() });
                    }
                    let der = cert.cert_value.value().to_vec();
                    found.certs.push(CertEntry { der, attrs: attrs() });
                }
            }
            asn1::SAFE_CONTENTS_BAG if depth < MAX_NESTING => {
                let nested = Zeroizing::new(bag.bag_value.to_der().map_err(der_err("safeContentsBag"))?);
                read_safe_contents(&nested, password, found, depth + 1)?;
            }
            asn1::SAFE_CONTENTS_BAG => {
                return Err(Error::InvalidParameters {
                    oid: asn1::SAFE_CONTENTS_BAG,
                    reason: "safeContentsBags nested too deeply",
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Decrypts a `pkcs8ShroudedKeyBag` and checks the result is a `PrivateKeyInfo`.
fn decrypt_key_bag(value: AnyRef<'_>, password: &Password) -> Result<Zeroizing<Vec<u8>>, Error> {
    let epki: EncryptedPrivateKeyInfo<'_> =
        value.decode_as().map_err(der_err("EncryptedPrivateKeyInfo"))?;
    let der = pbe::decrypt(&epki.encryption_algorithm, password, epki.encrypted_data.as_bytes())?;
    // A wrong (second) password passes the padding check about once in 256 tries; it does
    // not also give a well-formed PrivateKeyInfo that fills the buffer exactly.
    match pkcs8::PrivateKeyInfoRef::from_der(&der) {
        Ok(_) => Ok(der),
        Err(_) => Err(Error::DecryptionFailed),
    }
}

/// Picks out `localKeyId` and `friendlyName`; other attributes are ignored.
fn parse_attributes(attrs: Option<&SetOfVec<Attribute>>) -> BagAttributes {
    let mut out = BagAttributes::default();
    for attr in attrs.into_iter().flat_map(SetOfVec::iter) {
        let Some(value) = attr.values.iter().next() else { continue };
        match (attr.oid, value.tag()) {
            (asn1::LOCAL_KEY_ID, Tag::OctetString) => {
                out.local_key_id = Some(value.value().to_vec());
            }
            (asn1::FRIENDLY_NAME, Tag::BmpString) => {
                out.friendly_name = Some(asn1::bmp_to_string(value.value()));
            }
            _ => {}
        }
    }
    out
}

/// Pairs the first key with its certificate.
fn finish(found: Found) -> Result<Imported, Error> {
    let Found { keys, mut certs } = found;
    let key = keys.into_iter().next().ok_or(Error::NoPrivateKey)?;
    let by_id = key.attrs.local_key_id.as_ref().and_then(|id| {
        certs.iter().position(|c| c.attrs.local_key_id.as_ref() == Some(id))
    });
    let index = by_id
        .or_else(|| certs.iter().position(|c| cert_matches_key(&c.der, &key.der)))
        .ok_or(Error::NoMatchingCertificate)?;
    let cert = certs.remove(index);
    Ok(Imported {
        key_pkcs8_der: key.der,
        cert_der: cert.der,
        chain: certs.into_iter().map(|c| c.der).collect(),
        friendly_name: key.attrs.friendly_name.or(cert.attrs.friendly_name),
    })
}

/// Whether `cert_der`'s public key is the public half of `key_der`.
fn cert_matches_key(cert_der: &[u8], key_der: &[u8]) -> bool {
    let Ok(cert) = Certificate::from_der(cert_der) else { return false };
    let Ok(spki) = cert.tbs_certificate().subject_public_key_info().to_der() else {
        return false;
    };
    keymatch::key_matches_spki(key_der, &spki) == Some(true)
}
