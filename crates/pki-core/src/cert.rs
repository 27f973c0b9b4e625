//! Certificate profiles of the hybrid CA, built in two steps.
//!
//! | profile | basicConstraints | keyUsage | EKU | other |
//! |---|---|---|---|---|
//! | [`root`] | CA, pathLen 1 | keyCertSign, cRLSign | – | self-signed; no address in the subject |
//! | [`intermediate`] | CA, pathLen 0 | keyCertSign, cRLSign | emailProtection | critical nameConstraints: the relay domains and the user's mailboxes |
//! | [`end_entity`], [`recipient`] | not CA | digitalSignature, keyEncipherment (+ keyAgreement for EC) | emailProtection | SAN rfc822Name, CA/B Forum mailbox-validated strict policy |
//!
//! Loading certificates made elsewhere (by OpenSSL, a mail client, a CA): [`from_pem`],
//! [`from_der`], [`chain_from_pem`]; writing one: [`to_pem`]. The type is
//! [`x509_cert::Certificate`], re-exported as [`crate::x509_cert`].
//!
//! ```
//! # let pem = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pki/ossl/alice-rsa.pem"));
//! let cert = pki_core::cert::from_pem(pem)?;
//! assert_eq!(cert.tbs_certificate().subject().to_string(), "CN=alice@example.com");
//! # Ok::<(), pki_core::Error>(())
//! ```
//!
//! Every certificate gets a random serial from the caller's RNG, a SubjectKeyIdentifier and
//! (unless self-signed) an AuthorityKeyIdentifier. Validity starts an hour before `now` (clock
//! skew), lasts at most [`MAX_VALIDITY_DAYS`], and never outlasts the issuer.

use alloc::{string::ToString, vec, vec::Vec};
use der::{
    Decode, Encode, Sequence,
    asn1::{Ia5String, OctetString, SetOfVec, Utf8StringRef},
};
use rand_core::CryptoRng;
use sha1::{Digest, Sha1};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::{
    Certificate,
    attr::AttributeTypeAndValue,
    certificate::Version,
    ext::{
        Extension,
        pkix::{
            AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, ExtendedKeyUsage, KeyUsage, KeyUsages,
            NameConstraints, SubjectAltName, SubjectKeyIdentifier, certpolicy::PolicyInformation,
            constraints::name::GeneralSubtree, name::GeneralName,
        },
    },
    name::{Name, RdnSequence, RelativeDistinguishedName},
    serial_number::SerialNumber,
    time::Validity,
};

use crate::{
    Error, PublicKey, Result, UnixTime,
    address::{Domain, Mailbox},
    oid,
    sign::ToBeSigned,
    time::DAY,
};

/// The longest validity this crate issues. Some clients reject S/MIME certificates that live
/// longer, and the CA/B Forum S/MIME requirements cap subscriber certificates at 825 days.
pub const MAX_VALIDITY_DAYS: u32 = 825;

/// How far `notBefore` is set back from `now`, to absorb clock skew between relay and clients.
const BACKDATE_SECS: u64 = 3600;

/// Reads one DER certificate.
///
/// # Errors
/// [`Error::Der`] if it is not a well-formed X.509 certificate.
pub fn from_der(der: &[u8]) -> Result<Certificate> {
    Certificate::from_der(der).map_err(Error::der("Certificate"))
}

/// Reads one PEM certificate (`-----BEGIN CERTIFICATE-----`). Text around the block, such as
/// the dump `openssl x509 -text` writes, is ignored.
///
/// # Errors
/// [`Error::Pem`], saying what was found, if the input does not hold exactly one
/// `CERTIFICATE` block (another label, several blocks, DER); then the errors of [`from_der`].
pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Certificate> {
    from_der(&crate::pem::single(pem.as_ref(), "CERTIFICATE")?)
}

/// Reads every certificate of a PEM bundle, in order: a chain file (leaf first, as OpenSSL's
/// `-certfile` and most CAs write it) or a set of trust anchors.
///
/// # Errors
/// [`Error::Pem`] if the input holds no PEM block or a block with another label (a private
/// key, a CRL: pass only certificates); then the errors of [`from_der`].
pub fn chain_from_pem(pem: impl AsRef<[u8]>) -> Result<Vec<Certificate>> {
    let pem = pem.as_ref();
    let blocks = crate::pem::blocks(pem, "CERTIFICATE")?;
    if blocks.is_empty() {
        return Err(Error::Pem { expected: "CERTIFICATE", found: crate::pem::describe_non_pem(pem) });
    }
    blocks
        .into_iter()
        .map(|b| match b.label.as_str() {
            "CERTIFICATE" => from_der(&b.der),
            _ => Err(Error::Pem { expected: "CERTIFICATE", found: alloc::format!("label {:?}", b.label) }),
        })
        .collect()
}

/// Writes a certificate as PEM with LF line endings.
///
/// # Errors
/// Only if encoding fails.
pub fn to_pem(cert: &Certificate) -> Result<alloc::string::String> {
    use der::EncodePem;
    cert.to_pem(der::pem::LineEnding::LF).map_err(Error::der("Certificate"))
}

/// A certificate in `Debug` output: subject, issuer, serial and validity instead of its bytes.
pub(crate) struct Brief<'a>(pub(crate) &'a Certificate);

impl core::fmt::Debug for Brief<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let tbs = self.0.tbs_certificate();
        let v = tbs.validity();
        f.debug_struct("Certificate")
            .field("subject", &format_args!("{}", tbs.subject()))
            .field("issuer", &format_args!("{}", tbs.issuer()))
            .field("serial", &format_args!("{}", tbs.serial_number()))
            .field("not_before", &format_args!("{}", UnixTime::from_x509(&v.not_before)))
            .field("not_after", &format_args!("{}", UnixTime::from_x509(&v.not_after)))
            .finish_non_exhaustive()
    }
}

/// `TBSCertificate` ([RFC 5280 §4.1](https://www.rfc-editor.org/rfc/rfc5280#section-4.1)),
/// version 3 with extensions. x509-cert's own type keeps its fields private, so certificates are
/// encoded from this one and decoded back into [`Certificate`].
#[derive(Sequence)]
struct TbsCertificate {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: Version,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

/// The issuer of a certificate to be built: its name, its public key and how long it lives.
///
/// Usually taken from the issuer's certificate ([`Issuer::from_certificate`]). During the
/// ceremony the relay signs the end-entity certificate with the intermediate key *before* the
/// root has signed the intermediate; [`Issuer::planned`] covers that.
#[derive(Clone, Debug)]
pub struct Issuer {
    name: Name,
    key: PublicKey,
    key_id: Vec<u8>,
    not_after: Option<UnixTime>,
}

impl Issuer {
    /// The issuer described by its certificate.
    ///
    /// # Errors
    /// If the certificate's key is not one this crate supports.
    pub fn from_certificate(cert: &Certificate) -> Result<Self> {
        let tbs = cert.tbs_certificate();
        let key = PublicKey::from_spki(tbs.subject_public_key_info())?;
        let key_id = match tbs.get_extension::<SubjectKeyIdentifier>() {
            Ok(Some((_, ski))) => ski.0.as_bytes().to_vec(),
            _ => key_identifier(tbs.subject_public_key_info()),
        };
        Ok(Issuer {
            name: tbs.subject().clone(),
            key,
            key_id,
            not_after: Some(UnixTime::from_x509(&tbs.validity().not_after)),
        })
    }

    /// An issuer whose certificate does not exist yet.
    ///
    /// # Errors
    /// If the key cannot be encoded.
    pub fn planned(name: Name, key: PublicKey, not_after: Option<UnixTime>) -> Result<Self> {
        let key_id = key_identifier(&key.to_spki()?);
        Ok(Issuer { name, key, key_id, not_after })
    }

    /// The issuer's distinguished name.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The issuer's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// The end of the issuer's validity, when known.
    pub fn not_after(&self) -> Option<UnixTime> {
        self.not_after
    }

    /// The issuer's key identifier (its SubjectKeyIdentifier).
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }
}

/// What every profile needs: the subject's key, the time, the lifetime.
#[derive(Clone, Copy, Debug)]
pub struct Lifetime {
    /// The current time.
    pub now: UnixTime,
    /// Requested lifetime in days, 1..=[`MAX_VALIDITY_DAYS`]. Cut short at the issuer's expiry.
    pub days: u32,
}

/// Builds a self-signed root: `CA:TRUE, pathLen:1`, keyCertSign + cRLSign, SKI.
/// `common_name` must not hold a mail address (the root is what the user shows to the world
/// when they install it; it identifies nothing).
///
/// # Errors
/// [`Error::Profile`] for a bad lifetime or a name with an `@`.
pub fn root<R: CryptoRng + ?Sized>(
    common_name: &str,
    key: &PublicKey,
    life: Lifetime,
    rng: &mut R,
) -> Result<ToBeSigned<Certificate>> {
    if common_name.contains('@') {
        return Err(profile_err("the root's subject must not contain a mail address"));
    }
    let subject = common_name_only(common_name)?;
    let spki = key.to_spki()?;
    let issuer = Issuer { name: subject.clone(), key: key.clone(), key_id: key_identifier(&spki), not_after: None };
    let exts = vec![
        ext(oid::CE_BASIC_CONSTRAINTS, true, &BasicConstraints { ca: true, path_len_constraint: Some(1) })?,
        ext(oid::CE_KEY_USAGE, true, &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
        ext(oid::CE_SUBJECT_KEY_ID, false, &SubjectKeyIdentifier(octets(&issuer.key_id)?))?,
    ];
    build(subject, spki, &issuer, life, exts, rng)
}

/// The name constraints of an intermediate: the relay's domains and the user's own mailboxes.
#[derive(Clone, Debug, Default)]
pub struct Permitted {
    /// Relay domains: every mailbox at exactly these hosts.
    pub domains: Vec<Domain>,
    /// The user's own mailboxes, each permitted on its own.
    pub mailboxes: Vec<Mailbox>,
}

/// Builds the relay's intermediate: `CA:TRUE, pathLen:0`, keyCertSign + cRLSign, EKU
/// emailProtection, SKI/AKI, and critical nameConstraints permitting only `permitted`.
///
/// # Errors
/// [`Error::Profile`] if `permitted` is empty or the lifetime is bad.
pub fn intermediate<R: CryptoRng + ?Sized>(
    common_name: &str,
    key: &PublicKey,
    issuer: &Issuer,
    permitted: &Permitted,
    life: Lifetime,
    rng: &mut R,
) -> Result<ToBeSigned<Certificate>> {
    if permitted.domains.is_empty() {
        return Err(profile_err("an intermediate needs at least one permitted relay domain"));
    }
    let subtrees = permitted
        .domains
        .iter()
        .map(|d| d.as_str())
        .chain(permitted.mailboxes.iter().map(|m| m.as_str()))
        .map(|s| Ok(GeneralSubtree { base: rfc822(s)?, minimum: 0, maximum: None }))
        .collect::<Result<Vec<_>>>()?;
    let spki = key.to_spki()?;
    let exts = vec![
        ext(oid::CE_BASIC_CONSTRAINTS, true, &BasicConstraints { ca: true, path_len_constraint: Some(0) })?,
        ext(oid::CE_KEY_USAGE, true, &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
        ext(oid::CE_EXT_KEY_USAGE, false, &ExtendedKeyUsage(vec![oid::KP_EMAIL_PROTECTION]))?,
        ext(oid::CE_SUBJECT_KEY_ID, false, &SubjectKeyIdentifier(octets(&key_identifier(&spki))?))?,
        ext(oid::CE_AUTHORITY_KEY_ID, false, &aki(issuer)?)?,
        ext(
            oid::CE_NAME_CONSTRAINTS,
            true,
            &NameConstraints { permitted_subtrees: Some(subtrees), excluded_subtrees: None },
        )?,
    ];
    build(common_name_only(common_name)?, spki, issuer, life, exts, rng)
}

/// Builds the user's end-entity certificate for their real mailbox. The relay encrypts
/// forwarded mail to it; its private key stays with the user.
///
/// # Errors
/// [`Error::Profile`] for a bad lifetime.
pub fn end_entity<R: CryptoRng + ?Sized>(
    mailbox: &Mailbox,
    key: &PublicKey,
    issuer: &Issuer,
    life: Lifetime,
    rng: &mut R,
) -> Result<ToBeSigned<Certificate>> {
    mailbox_cert(mailbox, key, issuer, life, rng)
}

/// Builds a recipient certificate for a contact's reverse alias. The relay signs forwarded
/// mail with it, so the user's client learns it and can encrypt replies to the alias.
///
/// # Errors
/// [`Error::Profile`] for a bad lifetime.
pub fn recipient<R: CryptoRng + ?Sized>(
    reverse_alias: &Mailbox,
    key: &PublicKey,
    issuer: &Issuer,
    life: Lifetime,
    rng: &mut R,
) -> Result<ToBeSigned<Certificate>> {
    mailbox_cert(reverse_alias, key, issuer, life, rng)
}

fn mailbox_cert<R: CryptoRng + ?Sized>(
    mailbox: &Mailbox,
    key: &PublicKey,
    issuer: &Issuer,
    life: Lifetime,
    rng: &mut R,
) -> Result<ToBeSigned<Certificate>> {
    let spki = key.to_spki()?;
    // OpenSSL's smimeencrypt purpose insists on keyEncipherment even for EC keys, which do key
    // agreement; EC certificates carry both so every client is satisfied.
    let usage = match key {
        PublicKey::Rsa(_) => KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        _ => KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment | KeyUsages::KeyAgreement,
    };
    let policies = CertificatePolicies(vec![PolicyInformation {
        policy_identifier: oid::CABF_SMIME_MAILBOX_STRICT,
        policy_qualifiers: None,
    }]);
    let exts = vec![
        ext(oid::CE_BASIC_CONSTRAINTS, true, &BasicConstraints { ca: false, path_len_constraint: None })?,
        ext(oid::CE_KEY_USAGE, true, &KeyUsage(usage))?,
        ext(oid::CE_EXT_KEY_USAGE, false, &ExtendedKeyUsage(vec![oid::KP_EMAIL_PROTECTION]))?,
        ext(oid::CE_SUBJECT_ALT_NAME, false, &SubjectAltName(vec![rfc822(mailbox.as_str())?]))?,
        ext(oid::CE_CERTIFICATE_POLICIES, false, &policies)?,
        ext(oid::CE_SUBJECT_KEY_ID, false, &SubjectKeyIdentifier(octets(&key_identifier(&spki))?))?,
        ext(oid::CE_AUTHORITY_KEY_ID, false, &aki(issuer)?)?,
    ];
    // Mailbox-validated strict: the commonName, if present, is the mailbox.
    build(common_name_only(mailbox.as_str())?, spki, issuer, life, exts, rng)
}

fn build<R: CryptoRng + ?Sized>(
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    issuer: &Issuer,
    life: Lifetime,
    extensions: Vec<Extension>,
    rng: &mut R,
) -> Result<ToBeSigned<Certificate>> {
    let validity = validity(life, issuer.not_after)?;
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: random_serial(rng)?,
        signature: issuer.key.signature_algorithm(),
        issuer: issuer.name.clone(),
        validity,
        subject,
        subject_public_key_info: spki,
        extensions,
    };
    let der = tbs.to_der().map_err(Error::der("TBSCertificate"))?;
    Ok(ToBeSigned::new(der, issuer.key.clone()))
}

fn validity(life: Lifetime, issuer_not_after: Option<UnixTime>) -> Result<Validity> {
    if life.days == 0 || life.days > MAX_VALIDITY_DAYS {
        return Err(Error::Profile {
            reason: alloc::format!("validity of {} days is outside 1..={MAX_VALIDITY_DAYS}", life.days),
        });
    }
    let not_before = life.now.minus_secs(BACKDATE_SECS);
    let mut not_after = not_before.plus_secs(u64::from(life.days) * DAY);
    if let Some(limit) = issuer_not_after {
        if limit <= life.now {
            return Err(profile_err("the issuer has expired"));
        }
        not_after = not_after.min(limit);
    }
    Ok(Validity::new(not_before.to_x509()?, not_after.to_x509()?))
}

/// A positive 128-bit serial from the RNG (CA/B Forum asks for at least 64 random bits).
fn random_serial<R: CryptoRng + ?Sized>(rng: &mut R) -> Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x40; // positive, and no leading zero octet to strip
    SerialNumber::new(&bytes).map_err(Error::der("serial number"))
}

/// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits.
pub(crate) fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec()
}

fn aki(issuer: &Issuer) -> Result<AuthorityKeyIdentifier> {
    Ok(AuthorityKeyIdentifier {
        key_identifier: Some(octets(&issuer.key_id)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    })
}

fn octets(b: &[u8]) -> Result<OctetString> {
    OctetString::new(b).map_err(Error::der("OCTET STRING"))
}

fn rfc822(s: &str) -> Result<GeneralName> {
    Ia5String::new(s).map(GeneralName::Rfc822Name).map_err(|_| Error::InvalidAddress { address: s.to_string() })
}

pub(crate) fn ext<T: Encode>(id: der::asn1::ObjectIdentifier, critical: bool, value: &T) -> Result<Extension> {
    let der = value.to_der().map_err(Error::der("extension"))?;
    Ok(Extension { extn_id: id, critical, extn_value: octets(&der)? })
}

/// A distinguished name holding one commonName (UTF8String).
///
/// # Errors
/// If the name is empty or longer than 64 characters (the X.520 upper bound).
pub fn common_name_only(cn: &str) -> Result<Name> {
    if cn.is_empty() || cn.chars().count() > 64 {
        return Err(profile_err("commonName must be 1 to 64 characters"));
    }
    let value = Utf8StringRef::new(cn).map_err(Error::der("commonName"))?;
    let atv = AttributeTypeAndValue {
        oid: const_oid::db::rfc4519::CN,
        value: der::Any::encode_from(&value).map_err(Error::der("commonName"))?,
    };
    let rdn = RelativeDistinguishedName::from(SetOfVec::try_from(vec![atv]).map_err(Error::der("RDN"))?);
    let seq = RdnSequence::from(vec![rdn]);
    Name::from_der(&seq.to_der().map_err(Error::der("Name"))?).map_err(Error::der("Name"))
}

fn profile_err(reason: &str) -> Error {
    Error::Profile { reason: reason.to_string() }
}
