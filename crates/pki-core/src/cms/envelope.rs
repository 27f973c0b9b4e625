//! Building EnvelopedData and AuthEnvelopedData.

use aes::{Aes128, Aes256};
use alloc::vec::Vec;
use cms::{
    content_info::CmsVersion,
    enveloped_data::{
        KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo, KeyTransRecipientInfo, OriginatorIdentifierOrKey,
        OriginatorPublicKey, RecipientEncryptedKey, RecipientIdentifier, RecipientInfo, RecipientInfos,
    },
};
use der::{
    Any, Encode, Header, Length, Tag, TagNumber,
    asn1::{BitString, OctetString, SetOfVec},
};
use rand_core::CryptoRng;
use sha2::Sha256;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use super::primitives::{GcmParameters, KdfHash, aes_wrap, derive_kek};
use crate::{Error, PublicKey, Result, oid};

/// The content-encryption algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentCipher {
    /// EnvelopedData, AES-256-CBC. The default; every client opens it.
    #[default]
    Aes256Cbc,
    /// EnvelopedData, AES-128-CBC.
    Aes128Cbc,
    /// AuthEnvelopedData (RFC 5083), AES-256-GCM (RFC 5084). Only for clients that advertise
    /// it: gpgsm, NSS/Thunderbird and Outlook cannot open it.
    Aes256Gcm,
}

impl ContentCipher {
    fn key_len(self) -> usize {
        match self {
            ContentCipher::Aes128Cbc => 16,
            ContentCipher::Aes256Cbc | ContentCipher::Aes256Gcm => 32,
        }
    }
}

/// How the content key reaches a recipient.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyTransport {
    /// RSA PKCS#1 v1.5 for RSA certificates, ECDH with the SHA-256 KDF for P-256 ones.
    #[default]
    Default,
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017, RFC 4055 parameters).
    RsaOaepSha256,
}

struct Recipient {
    cert: Certificate,
    key: PublicKey,
    transport: KeyTransport,
}

/// An EnvelopedData (or AuthEnvelopedData) under construction: pick the cipher, add
/// recipients, [`seal`](Envelope::seal).
///
/// ```
/// # use pki_core::cms::{Envelope, ContentCipher};
/// # fn demo(cert: &x509_cert::Certificate, rng: &mut impl rand_core::CryptoRng) -> pki_core::Result<Vec<u8>> {
/// let der = Envelope::new(ContentCipher::default()).recipient(cert)?.seal(b"Content-Type: text/plain\r\n\r\nhi\r\n", rng)?;
/// # Ok(der) }
/// ```
pub struct Envelope {
    cipher: ContentCipher,
    recipients: Vec<Recipient>,
}

impl Envelope {
    /// Starts an envelope with the given content cipher.
    pub fn new(cipher: ContentCipher) -> Self {
        Envelope { cipher, recipients: Vec::new() }
    }

    /// Adds a recipient with the default key transport for its key type.
    ///
    /// # Errors
    /// If the certificate's key is not RSA or P-256.
    pub fn recipient(self, cert: &Certificate) -> Result<Self> {
        self.recipient_with(cert, KeyTransport::Default)
    }

    /// Adds a recipient with a chosen key transport.
    ///
    /// # Errors
    /// If the key type does not fit the transport (OAEP needs RSA), or is unsupported.
    pub fn recipient_with(mut self, cert: &Certificate, transport: KeyTransport) -> Result<Self> {
        let key = PublicKey::from_spki(cert.tbs_certificate().subject_public_key_info())?;
        match (&key, transport) {
            (PublicKey::Rsa(_), _) | (PublicKey::P256(_), KeyTransport::Default) => {}
            _ => return Err(Error::InvalidKey { reason: "key type does not fit the key transport" }),
        }
        self.recipients.push(Recipient { cert: cert.clone(), key, transport });
        Ok(self)
    }

    /// Encrypts `content` and returns the DER `ContentInfo`.
    ///
    /// # Errors
    /// [`Error::Cms`] without recipients; RNG or encoding failures.
    pub fn seal<R: CryptoRng + ?Sized>(&self, content: &[u8], rng: &mut R) -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(content.len().saturating_add(1024));
        buf.extend_from_slice(content);
        self.seal_in_place(&mut buf, rng)?;
        Ok(buf)
    }

    /// As [`seal`](Self::seal), in place: `content` becomes the DER `ContentInfo`. The content
    /// is encrypted where it lies and the structure is written around it, so a large message
    /// is never held twice.
    ///
    /// # Errors
    /// As [`seal`](Self::seal).
    pub fn seal_in_place<R: CryptoRng + ?Sized>(&self, content: &mut Vec<u8>, rng: &mut R) -> Result<()> {
        if self.recipients.is_empty() {
            return Err(Error::Cms { reason: "an envelope needs at least one recipient" });
        }
        let mut cek = Zeroizing::new(alloc::vec![0u8; self.cipher.key_len()]);
        rng.fill_bytes(&mut cek);
        let mut infos = Vec::with_capacity(self.recipients.len());
        for r in &self.recipients {
            infos.push(recipient_info(r, &cek, rng)?);
        }
        let recip_infos = RecipientInfos(SetOfVec::try_from(infos).map_err(Error::der("RecipientInfos"))?);
        let any_v2 = infos_need_v2(&recip_infos);
        match self.cipher {
            ContentCipher::Aes256Cbc | ContentCipher::Aes128Cbc => {
                let alg = cbc_encrypt_in_place(self.cipher, &cek, content, rng)?;
                let version = if any_v2 { CmsVersion::V2 } else { CmsVersion::V0 };
                frame(content, oid::CT_ENVELOPED_DATA, version, &recip_infos, &alg, None)
            }
            ContentCipher::Aes256Gcm => {
                let (alg, mac) = gcm_encrypt_in_place(&cek, content, rng)?;
                frame(content, oid::CT_AUTH_ENVELOPED_DATA, CmsVersion::V0, &recip_infos, &alg, Some(&mac))
            }
        }
    }
}

/// Writes the `ContentInfo` around `buf`, which holds the encrypted content:
///
/// ```text
/// ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT
///   EnvelopedData ::= SEQUENCE { version, recipientInfos,          -- RFC 5652 §6.1
///   (AuthEnvelopedData ::= SEQUENCE { version, recipientInfos,     -- RFC 5083 §2.1)
///     EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm,
///       encryptedContent [0] IMPLICIT OCTET STRING }               -- buf
///     (mac MessageAuthenticationCode) } }
/// ```
///
/// The headers go in front of the content and the MAC after it; DER, as the `cms` crate
/// would encode the same structure (a test checks this).
fn frame(
    buf: &mut Vec<u8>,
    content_type: der::asn1::ObjectIdentifier,
    version: CmsVersion,
    infos: &RecipientInfos,
    alg: &AlgorithmIdentifierOwned,
    mac: Option<&OctetString>,
) -> Result<()> {
    let e = || Error::der("EnvelopedData");
    let content_len = buf.len();
    let suffix = match mac {
        Some(m) => m.to_der().map_err(Error::der("MessageAuthenticationCode"))?,
        None => Vec::new(),
    };
    let mut eci = Vec::with_capacity(128);
    oid::CT_DATA.encode_to_vec(&mut eci).map_err(e())?;
    alg.encode_to_vec(&mut eci).map_err(e())?;
    let implicit = Tag::ContextSpecific { constructed: false, number: TagNumber(0) };
    Header::new(implicit, Length::try_from(content_len).map_err(e())?).encode_to_vec(&mut eci).map_err(e())?;
    let eci = wrap(Tag::Sequence, eci, content_len)?;
    let mut fields = Vec::with_capacity(1024);
    version.encode_to_vec(&mut fields).map_err(e())?;
    infos.encode_to_vec(&mut fields).map_err(e())?;
    fields.extend_from_slice(&eci);
    let rest = content_len.saturating_add(suffix.len());
    let data = wrap(Tag::Sequence, fields, rest)?;
    let explicit = wrap(Tag::ContextSpecific { constructed: true, number: TagNumber(0) }, data, rest)?;
    let mut ci = Vec::with_capacity(explicit.len() + 16);
    content_type.encode_to_vec(&mut ci).map_err(e())?;
    ci.extend_from_slice(&explicit);
    let ci = wrap(Tag::Sequence, ci, rest)?;
    buf.reserve_exact(ci.len().saturating_add(suffix.len()));
    buf.splice(0..0, ci);
    buf.extend_from_slice(&suffix);
    Ok(())
}

/// A header for `fields` followed by `rest` more bytes, then `fields`.
fn wrap(tag: Tag, fields: Vec<u8>, rest: usize) -> Result<Vec<u8>> {
    let e = Error::der("EnvelopedData");
    let len = Length::try_from(fields.len().saturating_add(rest)).map_err(Error::der("EnvelopedData"))?;
    let mut out = Header::new(tag, len).to_der().map_err(e)?;
    out.extend_from_slice(&fields);
    Ok(out)
}

/// RFC 5652 §6.1: version 2 if any RecipientInfo is a KARI (or has version other than 0).
fn infos_need_v2(infos: &RecipientInfos) -> bool {
    infos.0.iter().any(|ri| !matches!(ri, RecipientInfo::Ktri(k) if k.version == CmsVersion::V0))
}

fn recipient_info<R: CryptoRng + ?Sized>(r: &Recipient, cek: &[u8], rng: &mut R) -> Result<RecipientInfo> {
    let rid = super::issuer_and_serial(&r.cert);
    let fail = |_| Error::InvalidKey { reason: "RSA encryption failed" };
    match (&r.key, r.transport) {
        (PublicKey::Rsa(k), KeyTransport::Default) => Ok(RecipientInfo::Ktri(KeyTransRecipientInfo {
            version: CmsVersion::V0,
            rid: RecipientIdentifier::IssuerAndSerialNumber(rid),
            key_enc_alg: AlgorithmIdentifierOwned {
                oid: oid::RSA_ENCRYPTION,
                parameters: Some(der::asn1::Null.into()),
            },
            enc_key: octets(&k.pkcs1v15_encrypt_with_rng(rng, cek).map_err(fail)?)?,
        })),
        (PublicKey::Rsa(k), KeyTransport::RsaOaepSha256) => {
            let params = pkcs1::RsaOaepParams::new::<Sha256>();
            Ok(RecipientInfo::Ktri(KeyTransRecipientInfo {
                version: CmsVersion::V0,
                rid: RecipientIdentifier::IssuerAndSerialNumber(rid),
                key_enc_alg: AlgorithmIdentifierOwned {
                    oid: oid::RSAES_OAEP,
                    parameters: Some(Any::encode_from(&params).map_err(Error::der("RSAES-OAEP-params"))?),
                },
                enc_key: octets(&k.oaep_encrypt_with_rng::<Sha256, _>(rng, cek).map_err(fail)?)?,
            }))
        }
        (PublicKey::P256(k), KeyTransport::Default) => {
            ecdh_recipient(k, KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(rid), cek, rng)
        }
        _ => Err(Error::InvalidKey { reason: "key type does not fit the key transport" }),
    }
}

/// KeyAgreeRecipientInfo with an ephemeral-static ECDH on P-256
/// ([RFC 5753 §3.1.1](https://www.rfc-editor.org/rfc/rfc5753#section-3.1.1)): the ANSI X9.63
/// KDF with SHA-256 over the shared secret and `ECC-CMS-SharedInfo` gives the KEK, and AES-256
/// key wrap (RFC 3394) wraps the content key under it.
fn ecdh_recipient<R: CryptoRng + ?Sized>(
    recipient: &p256::PublicKey,
    rid: KeyAgreeRecipientIdentifier,
    cek: &[u8],
    rng: &mut R,
) -> Result<RecipientInfo> {
    use elliptic_curve::{Generate, sec1::ToSec1Point};
    let eph = elliptic_curve::ecdh::EphemeralSecret::<p256::NistP256>::generate_from_rng(rng);
    let eph_point = eph.public_key().to_sec1_point(false);
    let shared = eph.diffie_hellman(recipient);
    let wrap_alg = AlgorithmIdentifierOwned { oid: oid::AES256_WRAP, parameters: None };
    let kek = derive_kek(shared.raw_secret_bytes(), &wrap_alg, None, KdfHash::Sha256, 32)?;
    let wrapped = aes_wrap(&kek, cek)?;
    Ok(RecipientInfo::Kari(KeyAgreeRecipientInfo {
        version: CmsVersion::V3,
        originator: OriginatorIdentifierOrKey::OriginatorKey(OriginatorPublicKey {
            algorithm: AlgorithmIdentifierOwned { oid: oid::EC_PUBLIC_KEY, parameters: None },
            public_key: BitString::from_bytes(eph_point.as_bytes()).map_err(Error::der("originator key"))?,
        }),
        ukm: None,
        key_enc_alg: AlgorithmIdentifierOwned {
            oid: oid::DH_SINGLE_PASS_STD_DH_SHA256KDF,
            parameters: Some(Any::encode_from(&wrap_alg).map_err(Error::der("key wrap algorithm"))?),
        },
        recipient_enc_keys: alloc::vec![RecipientEncryptedKey { rid, enc_key: octets(&wrapped)? }],
    }))
}

fn cbc_encrypt_in_place<R: CryptoRng + ?Sized>(
    cipher: ContentCipher,
    cek: &[u8],
    buf: &mut Vec<u8>,
    rng: &mut R,
) -> Result<AlgorithmIdentifierOwned> {
    use cbc::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let len_err = |_| Error::Cms { reason: "content key length" };
    let pad_err = |_| Error::Cms { reason: "CBC padding" };
    let len = buf.len();
    buf.resize(len.saturating_add(16 - len % 16), 0);
    let alg = match cipher {
        ContentCipher::Aes128Cbc => {
            let enc = cbc::Encryptor::<Aes128>::new_from_slices(cek, &iv).map_err(len_err)?;
            enc.encrypt_padded::<Pkcs7>(buf, len).map_err(pad_err)?;
            oid::AES128_CBC
        }
        _ => {
            let enc = cbc::Encryptor::<Aes256>::new_from_slices(cek, &iv).map_err(len_err)?;
            enc.encrypt_padded::<Pkcs7>(buf, len).map_err(pad_err)?;
            oid::AES256_CBC
        }
    };
    Ok(AlgorithmIdentifierOwned {
        oid: alg,
        parameters: Some(Any::encode_from(&octets(&iv)?).map_err(Error::der("IV"))?),
    })
}

fn gcm_encrypt_in_place<R: CryptoRng + ?Sized>(
    cek: &[u8],
    buf: &mut [u8],
    rng: &mut R,
) -> Result<(AlgorithmIdentifierOwned, OctetString)> {
    use aes_gcm::{Aes256Gcm, KeyInit, aead::AeadInOut};
    let mut nonce = [0u8; 12];
    rng.fill_bytes(&mut nonce);
    let gcm = Aes256Gcm::new_from_slice(cek).map_err(|_| Error::Cms { reason: "content key length" })?;
    let tag = gcm
        .encrypt_inout_detached(&nonce.into(), &[], buf.into())
        .map_err(|_| Error::Cms { reason: "AES-GCM encryption failed" })?;
    let params = GcmParameters { nonce: octets(&nonce)?, icv_len: 16 };
    let alg = AlgorithmIdentifierOwned {
        oid: oid::AES256_GCM,
        parameters: Some(Any::encode_from(&params).map_err(Error::der("GCMParameters"))?),
    };
    Ok((alg, octets(&tag)?))
}

fn octets(b: &[u8]) -> Result<OctetString> {
    OctetString::new(b).map_err(Error::der("OCTET STRING"))
}
