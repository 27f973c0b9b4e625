//! The OpenSSL side: the same certificates and keys as pki-core's hierarchy, the same work
//! through `CMS_sign`, `CMS_encrypt`, `CMS_decrypt`, `CMS_verify` and `X509_sign`.

use der::Encode;
use openssl::{
    asn1::{Asn1Object, Asn1OctetString, Asn1Time},
    bn::{BigNum, MsbOption},
    cms::{CMSOptions, CmsContentInfo},
    ec::{EcGroup, EcKey},
    hash::MessageDigest,
    nid::Nid,
    pkey::{PKey, Private},
    rsa::Rsa,
    stack::Stack,
    symm::Cipher,
    x509::{
        X509, X509Builder, X509Extension, X509NameBuilder,
        extension::{
            AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
            SubjectKeyIdentifier,
        },
        store::{X509Store, X509StoreBuilder},
    },
};
use pki_core::PrivateKey;
use x509_cert::Certificate;

use super::{
    message,
    pki::{Kind, PkiSide, REVERSE_ALIAS},
};
use crate::Result;

/// certificatePolicies (RFC 5280 §4.2.1.4).
const CERTIFICATE_POLICIES: &str = "2.5.29.32";
const BACKDATE_SECS: i64 = 3600;
const DAY_SECS: i64 = 86_400;

pub(crate) struct OsslSide {
    kind: Kind,
    now: i64,
    inter: X509,
    pub(crate) inter_key: PKey<Private>,
    contact: X509,
    contact_key: PKey<Private>,
    chain: Stack<X509>,
    user: X509,
    user_key: PKey<Private>,
    recipients: Stack<X509>,
    store: X509Store,
    /// The certificatePolicies value of pki-core's recipient certificates, so that both
    /// libraries issue the same extensions.
    policies: Vec<u8>,
    p256: EcGroup,
}

impl OsslSide {
    /// Loads pki-core's certificates and keys into OpenSSL.
    pub(crate) fn from_pki(pki: &PkiSide) -> Result<Self> {
        let mut chain = Stack::new()?;
        chain.push(x509(&pki.inter)?)?;
        let mut recipients = Stack::new()?;
        recipients.push(x509(&pki.user)?)?;
        let mut store = X509StoreBuilder::new()?;
        store.add_cert(x509(&pki.root)?)?;
        let policies = pki
            .contact
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.extn_id.to_string() == CERTIFICATE_POLICIES)
            .map(|e| e.extn_value.as_bytes().to_vec())
            .ok_or("pki-core's recipient certificate has no certificatePolicies")?;
        Ok(OsslSide {
            kind: pki.kind,
            now: i64::try_from(pki.now.as_secs())?,
            inter: x509(&pki.inter)?,
            inter_key: pkey(&pki.inter_key)?,
            contact: x509(&pki.contact)?,
            contact_key: pkey(&pki.contact_key)?,
            chain,
            user: x509(&pki.user)?,
            user_key: pkey(&pki.user_key)?,
            recipients,
            store: store.build(),
            policies,
            p256: EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?,
        })
    }

    /// As [`PkiSide::sign_encrypt`]: detached signature, multipart/signed, AES-256-CBC envelope.
    pub(crate) fn sign_encrypt(&self, entity: &[u8]) -> Result<Vec<u8>> {
        let flags = CMSOptions::DETACHED | CMSOptions::BINARY;
        let sig =
            CmsContentInfo::sign(Some(&self.contact), Some(&self.contact_key), Some(&self.chain), Some(entity), flags)?
                .to_der()?;
        let signed = message::multipart_signed(entity, &sig);
        let envelope = CmsContentInfo::encrypt(&self.recipients, &signed, Cipher::aes_256_cbc(), CMSOptions::BINARY)?;
        Ok(envelope.to_der()?)
    }

    /// As [`PkiSide::decrypt_verify`]: `CMS_decrypt`, then `CMS_verify` against the root.
    pub(crate) fn decrypt_verify(&self, der: &[u8]) -> Result<Vec<u8>> {
        let content = CmsContentInfo::from_der(der)?.decrypt(&self.user_key, &self.user)?;
        let (entity, sig) = message::split_signed(&content)?;
        let mut signed = CmsContentInfo::from_der(&sig)?;
        signed.verify(None, Some(&self.store), Some(entity), None, CMSOptions::BINARY)?;
        Ok(entity.to_vec())
    }

    /// A fresh key of the hierarchy's type.
    pub(crate) fn generate(&self) -> Result<PKey<Private>> {
        Ok(match self.kind {
            Kind::Rsa2048 => PKey::from_rsa(Rsa::generate(2048)?)?,
            Kind::P256 => PKey::from_ec_key(EcKey::generate(&self.p256)?)?,
        })
    }

    /// Issues a recipient certificate with a fresh key.
    pub(crate) fn issue(&self) -> Result<Vec<u8>> {
        self.issue_with(&self.generate()?)
    }

    /// Issues a recipient certificate with the profile pki-core uses: random 127-bit serial,
    /// backdated an hour, 365 days, the same extensions in the same order.
    pub(crate) fn issue_with(&self, key: &PKey<Private>) -> Result<Vec<u8>> {
        let mut b = X509Builder::new()?;
        b.set_version(2)?;
        let mut serial = BigNum::new()?;
        serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
        let serial = serial.to_asn1_integer()?;
        b.set_serial_number(&serial)?;
        let mut subject = X509NameBuilder::new()?;
        subject.append_entry_by_nid(Nid::COMMONNAME, REVERSE_ALIAS)?;
        b.set_subject_name(&subject.build())?;
        b.set_issuer_name(self.inter.subject_name())?;
        let not_before = self.now - BACKDATE_SECS;
        let (start, end) = (Asn1Time::from_unix(not_before)?, Asn1Time::from_unix(not_before + 365 * DAY_SECS)?);
        b.set_not_before(&start)?;
        b.set_not_after(&end)?;
        b.set_pubkey(key)?;
        let mut usage = KeyUsage::new();
        usage.critical().digital_signature().key_encipherment();
        if self.kind == Kind::P256 {
            usage.key_agreement();
        }
        let (san, ski, aki) = {
            let ctx = b.x509v3_context(Some(&self.inter), None);
            (
                SubjectAlternativeName::new().email(REVERSE_ALIAS).build(&ctx)?,
                SubjectKeyIdentifier::new().build(&ctx)?,
                AuthorityKeyIdentifier::new().keyid(true).build(&ctx)?,
            )
        };
        let (oid, value) =
            (Asn1Object::from_str(CERTIFICATE_POLICIES)?, Asn1OctetString::new_from_bytes(&self.policies)?);
        let policies = X509Extension::new_from_der(&oid, false, &value)?;
        b.append_extension(BasicConstraints::new().critical().build()?)?;
        b.append_extension(usage.build()?)?;
        b.append_extension(ExtendedKeyUsage::new().email_protection().build()?)?;
        b.append_extension(san)?;
        b.append_extension(policies)?;
        b.append_extension(ski)?;
        b.append_extension(aki)?;
        b.sign(&self.inter_key, MessageDigest::sha256())?;
        Ok(b.build().to_der()?)
    }

    /// Checks that an issued certificate carries a valid signature by the intermediate.
    pub(crate) fn check_issued(&self, der: &[u8], who: &str) -> Result {
        let cert = X509::from_der(der)?;
        let issuer_key = self.inter.public_key()?;
        if cert.verify(&issuer_key)? {
            Ok(())
        } else {
            Err(format!("the certificate {who} issued does not verify under the intermediate").into())
        }
    }
}

pub(crate) fn x509(cert: &Certificate) -> Result<X509> {
    Ok(X509::from_der(&cert.to_der()?)?)
}

pub(crate) fn pkey(key: &PrivateKey) -> Result<PKey<Private>> {
    Ok(PKey::private_key_from_pkcs8(&key.to_pkcs8_der()?)?)
}
