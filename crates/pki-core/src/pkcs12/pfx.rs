//! The PFX itself: building one ([`export`], in the layout of the [module docs](super)) and
//! reading one ([`import`]), plus the check that a private key belongs to a certificate.

use alloc::{string::String, vec, vec::Vec};
use cms::{
    content_info::{CmsVersion, ContentInfo},
    encrypted_data::EncryptedData,
    enveloped_data::EncryptedContentInfo,
};
use const_oid::ObjectIdentifier as Oid;
use der::{
    Any, AnyRef, Decode, Encode, Tag, Tagged,
    asn1::{OctetString, OctetStringRef, SetOfVec},
};
use pkcs8::{DecodePrivateKey, EncodePublicKey, PrivateKeyInfoRef};
use rand_core::CryptoRng;
use sha1::{Digest, Sha1};
use spki::SubjectPublicKeyInfoRef;
use subtle::ConstantTimeEq;
use x509_cert::{Certificate, attr::Attribute};
use zeroize::Zeroizing;

use super::{
    Error, ExportOptions, Flavour, Imported,
    asn1::{self, CertBag, DigestInfo, EncryptedPrivateKeyInfo, MacData, Pfx, SafeBag},
    der_err,
    kdf::{self, HashAlg, Password},
    pbe,
};

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// See [`super::export`].
pub(super) fn export<R: CryptoRng + ?Sized>(
    key_pkcs8_der: &[u8],
    cert_der: &[u8],
    chain: &[&[u8]],
    password: &str,
    opts: &ExportOptions<'_>,
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    let iterations = kdf::check_iterations(opts.iterations)?;
    if opts.friendly_name == Some("") {
        return Err(Error::EmptyFriendlyName);
    }
    PrivateKeyInfoRef::from_der(key_pkcs8_der).map_err(der_err("PrivateKeyInfo"))?;
    let cert = Certificate::from_der(cert_der).map_err(der_err("certificate"))?;
    for ca in chain {
        Certificate::from_der(ca).map_err(der_err("chain certificate"))?;
    }
    let spki = cert.tbs_certificate().subject_public_key_info().to_der().map_err(der_err("SubjectPublicKeyInfo"))?;
    if key_matches_spki(key_pkcs8_der, &spki) == Some(false) {
        return Err(Error::KeyCertificateMismatch);
    }

    let local_key_id = Sha1::digest(cert_der);
    let attrs = bag_attributes(opts.friendly_name, &local_key_id)?;
    let password = Password::new(password);
    let flavour = opts.flavour;

    let certs_safe = cert_safe(cert_der, chain, &attrs, &password, flavour, iterations, rng)?;
    let key_safe = key_safe(key_pkcs8_der, attrs, &password, flavour, iterations, rng)?;
    let auth_safe = vec![certs_safe, key_safe].to_der().map_err(der_err("AuthenticatedSafe"))?;

    let (mac_alg, salt_len) = match flavour {
        Flavour::Modern => (HashAlg::Sha256, 16),
        Flavour::Compatible => (HashAlg::Sha1, 8),
    };
    let mut salt = vec![0u8; salt_len];
    rng.fill_bytes(&mut salt);
    let mac = kdf::pkcs12_mac(mac_alg, &password.bmp, &salt, iterations, &auth_safe)?;
    let enc = der_err("MacData");
    let mac_data = MacData {
        mac: DigestInfo {
            digest_algorithm: asn1::alg_with_null(mac_alg.digest_oid()),
            digest: OctetString::new(mac).map_err(enc)?,
        },
        mac_salt: OctetString::new(salt).map_err(enc)?,
        // DEFAULT 1: DER leaves the default out.
        iterations: (iterations != 1).then_some(iterations),
    };
    let pfx = Pfx { version: 3, auth_safe: data_content_info(auth_safe)?, mac_data: Some(mac_data) };
    pfx.to_der().map_err(der_err("PFX"))
}

/// The attributes of the key bag and the end-entity certificate bag.
fn bag_attributes(friendly_name: Option<&str>, local_key_id: &[u8]) -> Result<SetOfVec<Attribute>, Error> {
    let enc = der_err("bag attributes");
    let mut attrs = SetOfVec::new();
    if let Some(name) = friendly_name {
        attrs.insert(asn1::friendly_name_attribute(name).map_err(enc)?).map_err(enc)?;
    }
    attrs.insert(asn1::local_key_id_attribute(local_key_id).map_err(enc)?).map_err(enc)?;
    Ok(attrs)
}

/// An `id-data` `ContentInfo` wrapping `content` in an OCTET STRING.
fn data_content_info(content: Vec<u8>) -> Result<ContentInfo, Error> {
    Ok(ContentInfo {
        content_type: asn1::ID_DATA,
        content: Any::new(Tag::OctetString, content).map_err(der_err("ContentInfo"))?,
    })
}

/// The certificates' `SafeContents`, encrypted, as an `id-encryptedData` `ContentInfo`.
fn cert_safe<R: CryptoRng + ?Sized>(
    cert_der: &[u8],
    chain: &[&[u8]],
    ee_attrs: &SetOfVec<Attribute>,
    password: &Password,
    flavour: Flavour,
    iterations: u32,
    rng: &mut R,
) -> Result<ContentInfo, Error> {
    let enc = der_err("certBag");
    let cert_bags = core::iter::once(cert_der)
        .chain(chain.iter().copied())
        .map(|der| {
            let value = AnyRef::from(OctetStringRef::new(der)?);
            Any::encode_from(&CertBag { cert_id: asn1::X509_CERTIFICATE, cert_value: value })
        })
        .collect::<Result<Vec<Any>, der::Error>>()
        .map_err(enc)?;
    let safe_bags: Vec<SafeBag<'_>> = cert_bags
        .iter()
        .enumerate()
        .map(|(i, bag)| SafeBag {
            bag_id: asn1::CERT_BAG,
            bag_value: bag.to_ref(),
            bag_attributes: (i == 0).then(|| ee_attrs.clone()),
        })
        .collect();
    let plaintext = safe_bags.to_der().map_err(der_err("SafeContents"))?;
    let (alg, ciphertext) = pbe::encrypt(flavour, password, iterations, rng, &plaintext)?;
    let encrypted = EncryptedData {
        version: CmsVersion::V0,
        enc_content_info: EncryptedContentInfo {
            content_type: asn1::ID_DATA,
            content_enc_alg: alg,
            encrypted_content: Some(OctetString::new(ciphertext).map_err(der_err("EncryptedData"))?),
        },
        unprotected_attrs: None,
    };
    Ok(ContentInfo {
        content_type: asn1::ID_ENCRYPTED_DATA,
        content: Any::encode_from(&encrypted).map_err(der_err("EncryptedData"))?,
    })
}

/// The key's `SafeContents` (one `pkcs8ShroudedKeyBag`) as an `id-data` `ContentInfo`.
fn key_safe<R: CryptoRng + ?Sized>(
    key_pkcs8_der: &[u8],
    attrs: SetOfVec<Attribute>,
    password: &Password,
    flavour: Flavour,
    iterations: u32,
    rng: &mut R,
) -> Result<ContentInfo, Error> {
    let (alg, ciphertext) = pbe::encrypt(flavour, password, iterations, rng, key_pkcs8_der)?;
    let enc = der_err("EncryptedPrivateKeyInfo");
    let epki = EncryptedPrivateKeyInfo {
        encryption_algorithm: alg,
        encrypted_data: OctetStringRef::new(&ciphertext).map_err(enc)?,
    };
    let bag_value = Any::encode_from(&epki).map_err(der_err("EncryptedPrivateKeyInfo"))?;
    let bag =
        SafeBag { bag_id: asn1::PKCS8_SHROUDED_KEY_BAG, bag_value: bag_value.to_ref(), bag_attributes: Some(attrs) };
    let safe_contents = vec![bag].to_der().map_err(der_err("SafeContents"))?;
    data_content_info(safe_contents)
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

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
    let budget = kdf::Budget::new();
    let password = verify_mac(mac_data, data, password, &budget)?;

    let content_infos = Vec::<ContentInfo>::from_der(data).map_err(der_err("AuthenticatedSafe"))?;
    let mut found = Found::default();
    for content_info in &content_infos {
        read_content_info(content_info, &password, &mut found, &budget)?;
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
fn verify_mac(mac_data: &MacData, data: &[u8], password: &str, budget: &kdf::Budget) -> Result<Password, Error> {
    let oid = mac_data.mac.digest_algorithm.oid;
    if oid == asn1::PBMAC1 {
        return Err(Error::UnsupportedAlgorithm { context: "MAC (PBMAC1, RFC 9579)", oid });
    }
    let alg = HashAlg::from_digest_oid(&oid).ok_or(Error::UnsupportedAlgorithm { context: "MAC digest", oid })?;
    // Digest parameters are absent or NULL (RFC 5754 §2); anything else is malformed.
    if mac_data.mac.digest_algorithm.parameters.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(Error::InvalidParameters { oid, reason: "digest parameters must be NULL" });
    }
    let iterations = kdf::check_iterations(mac_data.iterations.unwrap_or(1))?;
    let salt = mac_data.mac_salt.as_bytes();
    let expected = mac_data.mac.digest.as_bytes();
    for candidate in Password::candidates(password) {
        budget.charge(iterations, 1)?;
        let mac = kdf::pkcs12_mac(alg, &candidate.bmp, salt, iterations, data)?;
        if bool::from(mac.as_slice().ct_eq(expected)) {
            return Ok(candidate);
        }
    }
    Err(Error::MacMismatch)
}

/// One `ContentInfo` of the `AuthenticatedSafe`: plain or password-encrypted `SafeContents`.
fn read_content_info(
    ci: &ContentInfo,
    password: &Password,
    found: &mut Found,
    budget: &kdf::Budget,
) -> Result<(), Error> {
    match ci.content_type {
        asn1::ID_DATA => read_safe_contents(octets(&ci.content, "SafeContents")?, password, found, 0, budget),
        asn1::ID_ENCRYPTED_DATA => {
            let encrypted: EncryptedData = ci.content.decode_as().map_err(der_err("EncryptedData"))?;
            let info = &encrypted.enc_content_info;
            if info.content_type != asn1::ID_DATA {
                return Err(Error::UnsupportedContentType { oid: info.content_type });
            }
            let ciphertext = info.encrypted_content.as_ref().ok_or(Error::InvalidParameters {
                oid: asn1::ID_ENCRYPTED_DATA,
                reason: "encrypted content is missing",
            })?;
            let plaintext = pbe::decrypt(&info.content_enc_alg, password, ciphertext.as_bytes(), budget)?;
            read_safe_contents(&plaintext, password, found, 0, budget)
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
    budget: &kdf::Budget,
) -> Result<(), Error> {
    let bags = Vec::<SafeBag<'_>>::from_der(der).map_err(der_err("SafeContents"))?;
    for bag in &bags {
        let attrs = || parse_attributes(bag.bag_attributes.as_ref());
        match bag.bag_id {
            asn1::KEY_BAG => {
                let der = Zeroizing::new(bag.bag_value.to_der().map_err(der_err("keyBag"))?);
                PrivateKeyInfoRef::from_der(&der).map_err(der_err("keyBag"))?;
                found.keys.push(KeyEntry { der, attrs: attrs() });
            }
            asn1::PKCS8_SHROUDED_KEY_BAG => {
                let der = decrypt_key_bag(bag.bag_value, password, budget)?;
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
                read_safe_contents(&nested, password, found, depth + 1, budget)?;
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
fn decrypt_key_bag(value: AnyRef<'_>, password: &Password, budget: &kdf::Budget) -> Result<Zeroizing<Vec<u8>>, Error> {
    let epki: EncryptedPrivateKeyInfo<'_> = value.decode_as().map_err(der_err("EncryptedPrivateKeyInfo"))?;
    let der = pbe::decrypt(&epki.encryption_algorithm, password, epki.encrypted_data.as_bytes(), budget)?;
    // A wrong (second) password passes the padding check about once in 256 tries; it does
    // not also give a well-formed PrivateKeyInfo that fills the buffer exactly.
    match PrivateKeyInfoRef::from_der(&der) {
        Ok(_) => Ok(der),
        Err(_) => Err(Error::DecryptionFailed),
    }
}

/// Picks out `localKeyId` and `friendlyName`; other attributes are ignored.
fn parse_attributes(attrs: Option<&SetOfVec<Attribute>>) -> BagAttributes {
    let mut out = BagAttributes::default();
    for attr in attrs.into_iter().flat_map(SetOfVec::iter) {
        let Some(value) = attr.values.iter().next() else {
            continue;
        };
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
    let by_id = key
        .attrs
        .local_key_id
        .as_ref()
        .and_then(|id| certs.iter().position(|c| c.attrs.local_key_id.as_ref() == Some(id)));
    let index = by_id
        .or_else(|| certs.iter().position(|c| cert_matches_key(&c.der, &key.der)))
        .ok_or(Error::NoMatchingCertificate)?;
    let cert = certs.remove(index);
    Ok(Imported {
        key_pkcs8_der: key.der,
        cert_der: cert.der,
        chain_der: certs.into_iter().map(|c| c.der).collect(),
        friendly_name: key.attrs.friendly_name.or(cert.attrs.friendly_name),
    })
}

/// Whether `cert_der`'s public key is the public half of `key_der`.
fn cert_matches_key(cert_der: &[u8], key_der: &[u8]) -> bool {
    let Ok(cert) = Certificate::from_der(cert_der) else {
        return false;
    };
    let Ok(spki) = cert.tbs_certificate().subject_public_key_info().to_der() else {
        return false;
    };
    key_matches_spki(key_der, &spki) == Some(true)
}

// ---------------------------------------------------------------------------------------------
// Does this PKCS#8 private key belong to that certificate's public key? Used to pick the
// end-entity certificate on import when no `localKeyId` links key and certificate, and to
// refuse to export a key with somebody else's certificate.
// ---------------------------------------------------------------------------------------------

/// `rsaEncryption` (RFC 8017).
const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey` (RFC 5480).
const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");

/// Whether `key_der` (a PKCS#8 `PrivateKeyInfo`) is the private half of `spki_der` (a DER
/// `SubjectPublicKeyInfo`): `Some(true)` or `Some(false)` when that can be told, `None` for
/// key types this crate cannot derive a public key for.
///
/// RSA keys are compared by modulus and exponent; P-256 and P-384 keys by their public
/// point; a PKCS#8 v2 (`OneAsymmetricKey`) carrying its public key is compared directly.
pub(super) fn key_matches_spki(key_der: &[u8], spki_der: &[u8]) -> Option<bool> {
    let info = PrivateKeyInfoRef::from_der(key_der).ok()?;
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    if info.algorithm.oid != spki.algorithm.oid {
        return Some(false);
    }
    if let Some(public) = info.public_key {
        return Some(public.raw_bytes() == spki.subject_public_key.raw_bytes());
    }
    match info.algorithm.oid {
        RSA_ENCRYPTION => {
            let key = pkcs1::RsaPrivateKeyRef::try_from(info.private_key.as_bytes()).ok()?;
            let public = key.public_key().to_der().ok()?;
            Some(public.as_slice() == spki.subject_public_key.raw_bytes())
        }
        EC_PUBLIC_KEY => {
            let derived = if let Ok(k) = p256::SecretKey::from_pkcs8_der(key_der) {
                k.public_key().to_public_key_der().ok()?
            } else if let Ok(k) = p384::SecretKey::from_pkcs8_der(key_der) {
                k.public_key().to_public_key_der().ok()?
            } else {
                return None;
            };
            Some(derived.as_bytes() == spki_der)
        }
        _ => None,
    }
}
