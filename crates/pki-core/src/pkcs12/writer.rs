//! Building a PFX: see [`super::export`] and the layout in the [module docs](super).

use alloc::{vec, vec::Vec};
use cms::{
    content_info::{CmsVersion, ContentInfo},
    encrypted_data::EncryptedData,
    enveloped_data::EncryptedContentInfo,
};
use der::{
    Any, AnyRef, Decode, Encode, Tag,
    asn1::{OctetString, OctetStringRef, SetOfVec},
};
use rand_core::CryptoRng;
use sha1::{Digest, Sha1};
use x509_cert::{Certificate, attr::Attribute};

use super::{
    Error, ExportOptions, Flavour,
    asn1::{self, CertBag, DigestInfo, EncryptedPrivateKeyInfo, MacData, Pfx, SafeBag},
    der_err,
    kdf::{self, HashAlg, Password},
    keymatch, pbe,
};

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
    pkcs8::PrivateKeyInfoRef::from_der(key_pkcs8_der).map_err(der_err("PrivateKeyInfo"))?;
    let cert = Certificate::from_der(cert_der).map_err(der_err("certificate"))?;
    for ca in chain {
        Certificate::from_der(ca).map_err(der_err("chain certificate"))?;
    }
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(der_err("SubjectPublicKeyInfo"))?;
    if keymatch::key_matches_spki(key_pkcs8_der, &spki) == Some(false) {
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
        mac_salt: OctetString::new(salt).map_err(der_err("MacData"))?,
        // DEFAULT 1: DER leaves the default out.
        iterations: (iterations != 1).then_some(iterations),
    };
    let pfx = Pfx {
        version: 3,
        auth_safe: data_content_info(auth_safe)?,
        mac_data: Some(mac_data),
    };
    pfx.to_der().map_err(der_err("PFX"))
}

/// The attributes of the key bag and the end-entity certificate bag.
fn bag_attributes(
    friendly_name: Option<&str>,
    local_key_id: &[u8],
) -> Result<SetOfVec<Attribute>, Error> {
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
    let bag = SafeBag {
        bag_id: asn1::PKCS8_SHROUDED_KEY_BAG,
        bag_value: bag_value.to_ref(),
        bag_attributes: Some(attrs),
    };
    let safe_contents = vec![bag].to_der().map_err(der_err("SafeContents"))?;
    data_content_info(safe_contents)
}
