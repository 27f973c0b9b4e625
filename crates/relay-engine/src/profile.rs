//! S/MIME profiles: the whole ceremony run in one place, for the demo, tests and benchmarks.
//!
//! In production the ceremony is split between the user's browser (which makes the end-entity
//! and root keys, and drops the root key) and the relay (which makes the intermediate key);
//! see relay-server. [`local_ceremony`] does every step here, with the same profiles, and also
//! drops the root key as soon as it has signed.

use der::Encode;
use pki_core::{
    KeyAlgorithm, PrivateKey, UnixTime,
    address::{Domain, Mailbox},
    cert::{self, Issuer, Lifetime, Permitted},
};
use rand_core::CryptoRng;
use x509_cert::Certificate;

use crate::{
    address::{Address, RelayDomains},
    engine::EngineError,
    model::{AccountId, Profile, ProfileId, ProfileStatus},
    seal::{KeyOwner, MasterKey},
};

/// What [`local_ceremony`] produced. The end-entity key is the user's: the relay never
/// stores it.
pub struct LocalCeremony {
    /// The profile to store (its id is a placeholder).
    pub profile: Profile,
    /// The root, for the user to trust.
    pub root: Certificate,
    /// The intermediate.
    pub intermediate: Certificate,
    /// The user's end-entity certificate.
    pub end_entity: Certificate,
    /// The user's end-entity key.
    pub end_entity_key: PrivateKey,
}

/// What a ceremony is for.
#[derive(Clone, Copy, Debug)]
pub struct CeremonyRequest<'a> {
    /// The account.
    pub account: AccountId,
    /// The mailbox the end-entity certificate names.
    pub owner: &'a Address,
    /// Every mailbox the intermediate's name constraints permit (the owner's included).
    pub mailboxes: &'a [Address],
    /// The relay domains the intermediate's name constraints permit.
    pub domains: &'a RelayDomains,
    /// Key type of root, intermediate and end entity.
    pub key: KeyAlgorithm,
    /// The current time.
    pub now: UnixTime,
}

/// Runs the ceremony; the intermediate key is sealed under `master`.
///
/// # Errors
/// If an address cannot appear in a certificate (non-ASCII), or a crypto step fails.
pub fn local_ceremony<R: CryptoRng + ?Sized>(
    req: &CeremonyRequest<'_>,
    master: &MasterKey,
    rng: &mut R,
) -> Result<LocalCeremony, EngineError> {
    let CeremonyRequest { account, owner, mailboxes, domains, key, now } = *req;
    let life = Lifetime { now, days: cert::MAX_VALIDITY_DAYS };
    let permitted = Permitted {
        domains: domains.iter().map(|d| Domain::parse(d.as_str())).collect::<Result<_, _>>()?,
        mailboxes: mailboxes.iter().map(|m| Mailbox::parse(m.as_str())).collect::<Result<_, _>>()?,
    };
    let ee_key = PrivateKey::generate(key, rng)?;
    let inter_key = PrivateKey::generate(key, rng)?;
    let (root, intermediate) = {
        let root_key = PrivateKey::generate(key, rng)?;
        let root = cert::root("Mail relay user root", &root_key.public_key(), life, rng)?.sign(&root_key, rng)?;
        let issuer = Issuer::from_certificate(&root)?;
        let inter =
            cert::intermediate("Mail relay issuing CA", &inter_key.public_key(), &issuer, &permitted, life, rng)?
                .sign(&root_key, rng)?;
        (root, inter)
        // root_key is dropped (and zeroized) here.
    };
    let issuer = Issuer::from_certificate(&intermediate)?;
    let ee = cert::end_entity(
        &Mailbox::parse(owner.as_str())?,
        &ee_key.public_key(),
        &issuer,
        Lifetime { now, days: 365 },
        rng,
    )?
    .sign(&inter_key, rng)?;
    let der = |c: &Certificate| c.to_der().map_err(|_| EngineError::Inconsistent("cannot encode certificate"));
    let profile = Profile {
        id: ProfileId(0),
        account,
        status: ProfileStatus::Active,
        root: Some(der(&root)?),
        intermediate: Some(der(&intermediate)?),
        end_entity: der(&ee)?,
        sealed_intermediate_key: Vec::new(),
    };
    let owner = KeyOwner::Intermediate { account, end_entity: &profile.end_entity };
    let sealed_intermediate_key = master.seal(&inter_key.to_pkcs8_der()?, &owner, rng)?;
    let profile = Profile { sealed_intermediate_key, ..profile };
    Ok(LocalCeremony { profile, root, intermediate, end_entity: ee, end_entity_key: ee_key })
}
