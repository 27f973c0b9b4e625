//! The engine: configuration, the store, the master key, the key pool, and what the two
//! pipelines share (finding the active profile, issuing recipient certificates).

use std::sync::{
    Mutex,
    atomic::{AtomicUsize, Ordering},
};

use der::{Decode, Encode};
use pki_core::{
    KeyAlgorithm, PrivateKey, UnixTime,
    cert::{self, Issuer, Lifetime},
};
use rand_core::CryptoRng;
use x509_cert::Certificate;

use crate::{
    address::{Address, RelayDomains},
    model::{Contact, Event, Profile, ProfileStatus, RecipientCert},
    seal::{KeyOwner, MasterKey},
    store::{Store, StoreError},
};

/// The engine's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The relay's domains.
    pub domains: RelayDomains,
    /// This relay's name, written into the loop-detection header of everything it forwards.
    pub relay_id: String,
    /// Key type of recipient certificates (RSA-2048 by default: every client can encrypt to it).
    pub recipient_key: KeyAlgorithm,
    /// Lifetime of recipient certificates, in days (cut at the intermediate's expiry).
    pub recipient_cert_days: u32,
    /// Most contacts one forwarded message may create (its sender, To/Cc/Reply-To, relay
    /// addresses in its content); addresses beyond are removed. At least 1.
    pub max_new_contacts: usize,
    /// Contacts one account may gain (new senders, new recipients, new threads): beyond it a
    /// new sender is deferred (451) and other new addresses are removed.
    pub new_contacts_per_account: crate::rate::Rate,
    /// Replies one account may send; beyond it they are deferred (451; the owner's server
    /// retries). Counted only once the reply proved to be the owner's.
    pub replies_per_account: crate::rate::Rate,
}

impl Config {
    /// Defaults for `domains`.
    pub fn new(domains: RelayDomains) -> Self {
        Config {
            domains,
            relay_id: "mailrelay".into(),
            recipient_key: KeyAlgorithm::Rsa2048,
            recipient_cert_days: 365,
            max_new_contacts: 20,
            new_contacts_per_account: crate::rate::Rate { burst: 200, per_hour: 1000 },
            replies_per_account: crate::rate::Rate { burst: 100, per_hour: 500 },
        }
    }
}

/// Pre-generated keys for recipient certificates, so that a new contact does not wait for an
/// RSA key generation. The server refills it in the background.
///
/// When the pool is empty, at most [`on_demand`](Self::with_on_demand) keys are generated at
/// once by the messages that need them (default 1); a message that finds the pool empty and
/// every such slot busy is deferred ([`EngineError::KeyPoolEmpty`], 451) instead of piling up
/// key generations: a flood of new senders cannot take every CPU from everyone else.
pub struct KeyPool {
    alg: KeyAlgorithm,
    keys: Mutex<Vec<PrivateKey>>,
    target: usize,
    on_demand: usize,
    generating: AtomicUsize,
}

/// Gives an on-demand generation slot back.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl KeyPool {
    /// An empty pool that [`refill_one`](Self::refill_one) fills to `target` keys of `alg`.
    pub fn new(alg: KeyAlgorithm, target: usize) -> Self {
        KeyPool { alg, keys: Mutex::new(Vec::new()), target, on_demand: 1, generating: AtomicUsize::new(0) }
    }

    /// How many keys messages may generate at once while the pool is empty (0: none, every
    /// new contact waits for the refill).
    #[must_use]
    pub fn with_on_demand(mut self, slots: usize) -> Self {
        self.on_demand = slots;
        self
    }

    /// How many keys are waiting.
    pub fn len(&self) -> usize {
        self.keys.lock().map(|k| k.len()).unwrap_or(0)
    }

    /// True if no key is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Generates one key if the pool is below target; returns whether it did. Call it in a
    /// loop from a background task (keygen is CPU-bound: use a blocking thread).
    ///
    /// # Errors
    /// If key generation fails.
    pub fn refill_one<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Result<bool, pki_core::Error> {
        if self.len() >= self.target {
            return Ok(false);
        }
        let key = PrivateKey::generate(self.alg, rng)?;
        if let Ok(mut k) = self.keys.lock() {
            k.push(key);
        }
        Ok(true)
    }

    /// A pooled key, or a freshly generated one if the pool is empty and an on-demand slot is
    /// free.
    ///
    /// # Errors
    /// [`EngineError::KeyPoolEmpty`] if the pool is empty and every slot busy; a crypto error
    /// if key generation fails.
    pub fn take<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Result<PrivateKey, EngineError> {
        if let Some(k) = self.keys.lock().ok().and_then(|mut k| k.pop()) {
            return Ok(k);
        }
        let taken = self.generating.fetch_add(1, Ordering::AcqRel);
        let _slot = Slot(&self.generating);
        if taken >= self.on_demand {
            return Err(EngineError::KeyPoolEmpty);
        }
        Ok(PrivateKey::generate(self.alg, rng)?)
    }
}

/// An internal failure. Every one of them becomes a temporary reject (451): never plaintext,
/// never a lost message.
#[derive(Debug)]
#[non_exhaustive]
pub enum EngineError {
    /// The store failed.
    Store(StoreError),
    /// A certificate, key or CMS operation failed.
    Crypto(pki_core::Error),
    /// A sealed key could not be opened.
    Seal,
    /// Stored data is unusable (a profile without its intermediate, ...).
    Inconsistent(&'static str),
    /// A new recipient certificate needs a key, the pool is empty and every on-demand slot is
    /// busy.
    KeyPoolEmpty,
    /// The account is over one of its rates (new contacts, replies).
    RateLimited,
}

impl EngineError {
    /// The typed reason a message deferred by this error is logged and counted under.
    pub fn defer_reason(&self) -> crate::outcome::DeferReason {
        use crate::outcome::DeferReason;
        match self {
            EngineError::Store(_) => DeferReason::Store,
            EngineError::Crypto(_) => DeferReason::Crypto,
            EngineError::Seal => DeferReason::Seal,
            EngineError::Inconsistent(_) => DeferReason::Inconsistent,
            EngineError::KeyPoolEmpty => DeferReason::KeyPoolEmpty,
            EngineError::RateLimited => DeferReason::RateLimited,
        }
    }
}

impl core::fmt::Display for EngineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EngineError::Store(e) => write!(f, "{e}"),
            EngineError::Crypto(e) => write!(f, "crypto: {e}"),
            EngineError::Seal => f.write_str("sealed key cannot be opened"),
            EngineError::Inconsistent(m) => write!(f, "inconsistent data: {m}"),
            EngineError::KeyPoolEmpty => f.write_str("key pool empty and every on-demand slot busy"),
            EngineError::RateLimited => f.write_str("the account is over its rate"),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(e)
    }
}

impl From<pki_core::Error> for EngineError {
    fn from(e: pki_core::Error) -> Self {
        EngineError::Crypto(e)
    }
}

impl From<crate::seal::SealError> for EngineError {
    fn from(_: crate::seal::SealError) -> Self {
        EngineError::Seal
    }
}

/// The relay engine over a store.
pub struct Engine<S> {
    pub(crate) store: S,
    pub(crate) config: Config,
    pub(crate) master: MasterKey,
    pub(crate) pool: KeyPool,
    pub(crate) ids: crate::msgid::IdMapper,
    pub(crate) new_contacts: crate::rate::TokenBuckets<crate::model::AccountId>,
    pub(crate) replies: crate::rate::TokenBuckets<crate::model::AccountId>,
}

/// An active profile, parsed and ready to use.
pub(crate) struct ActiveProfile {
    pub(crate) profile: Profile,
    pub(crate) intermediate: Certificate,
    pub(crate) end_entity: Certificate,
}

impl<S: Store> Engine<S> {
    /// An engine. `pool` should hold keys of `config.recipient_key`.
    pub fn new(store: S, config: Config, master: MasterKey, pool: KeyPool) -> Self {
        let ids = crate::msgid::IdMapper::new(&master);
        let new_contacts = crate::rate::TokenBuckets::new(config.new_contacts_per_account);
        let replies = crate::rate::TokenBuckets::new(config.replies_per_account);
        Engine { store, config, master, pool, ids, new_contacts, replies }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The master key (to seal keys made outside the pipelines, e.g. during the ceremony).
    pub fn master_key(&self) -> &MasterKey {
        &self.master
    }

    /// The key pool.
    pub fn pool(&self) -> &KeyPool {
        &self.pool
    }

    /// The account's active profile, if any, parsed.
    pub(crate) async fn active_profile(
        &self,
        account: crate::model::AccountId,
    ) -> Result<Option<ActiveProfile>, EngineError> {
        let profiles = self.store.profiles(account).await?;
        let Some(profile) = profiles.into_iter().find(|p| p.status == ProfileStatus::Active) else { return Ok(None) };
        let parse = |der: Option<&Vec<u8>>, what: &'static str| -> Result<Certificate, EngineError> {
            let der = der.ok_or(EngineError::Inconsistent(what))?;
            Certificate::from_der(der).map_err(|_| EngineError::Inconsistent(what))
        };
        // The root must be there (the ceremony finished), though forwarding does not use it.
        parse(profile.root.as_ref(), "active profile without a root")?;
        let intermediate = parse(profile.intermediate.as_ref(), "active profile without an intermediate")?;
        let end_entity = parse(Some(&profile.end_entity), "active profile with a bad end-entity certificate")?;
        Ok(Some(ActiveProfile { profile, intermediate, end_entity }))
    }

    /// The contact's recipient certificate and key under `active`, issued now if missing.
    pub(crate) async fn recipient_identity<R: CryptoRng + ?Sized>(
        &self,
        account: crate::model::AccountId,
        active: &ActiveProfile,
        contact: &Contact,
        now: UnixTime,
        rng: &mut R,
    ) -> Result<(Certificate, PrivateKey), EngineError> {
        let existing = self.store.recipient_cert(contact.id, active.profile.id).await?;
        let record = match existing {
            Some(r) if r.not_after > now.plus_secs(86_400) => r,
            _ => self.issue_recipient_cert(account, active, contact, now, rng).await?,
        };
        let cert =
            Certificate::from_der(&record.cert).map_err(|_| EngineError::Inconsistent("bad recipient certificate"))?;
        let owner = KeyOwner::Recipient { account, contact: contact.id, profile: active.profile.id };
        let key_der = self.master.unseal(&record.sealed_key, &owner)?;
        Ok((cert, PrivateKey::from_pkcs8_der(&key_der)?))
    }

    async fn issue_recipient_cert<R: CryptoRng + ?Sized>(
        &self,
        account: crate::model::AccountId,
        active: &ActiveProfile,
        contact: &Contact,
        now: UnixTime,
        rng: &mut R,
    ) -> Result<RecipientCert, EngineError> {
        let inter_owner = KeyOwner::Intermediate { account, end_entity: &active.profile.end_entity };
        let inter_key_der = self.master.unseal(&active.profile.sealed_intermediate_key, &inter_owner)?;
        let inter_key = PrivateKey::from_pkcs8_der(&inter_key_der)?;
        let issuer = Issuer::from_certificate(&active.intermediate)?;
        let key = self.pool.take(rng)?;
        let mailbox = pki_core::address::Mailbox::parse(&contact.reverse_alias.normalized())?;
        let life = Lifetime { now, days: self.config.recipient_cert_days };
        let cert = cert::recipient(&mailbox, &key.public_key(), &issuer, life, rng)?.sign(&inter_key, rng)?;
        let owner = KeyOwner::Recipient { account, contact: contact.id, profile: active.profile.id };
        let sealed_key = self.master.seal(&key.to_pkcs8_der()?, &owner, rng)?;
        let not_after = UnixTime::from_x509(&cert.tbs_certificate().validity().not_after);
        let serial = hex(cert.tbs_certificate().serial_number().as_bytes());
        let record = RecipientCert {
            contact: contact.id,
            profile: active.profile.id,
            cert: cert.to_der().map_err(|_| EngineError::Inconsistent("cannot encode certificate"))?,
            sealed_key,
            not_after,
        };
        let stored = self.store.insert_recipient_cert(record).await?;
        if stored.cert == cert.to_der().unwrap_or_default() {
            let subject = contact.reverse_alias.normalized();
            let event =
                Event::Issued { account, profile: active.profile.id, contact: contact.id, serial, subject, at: now };
            self.store.log(event).await?;
        }
        Ok(stored)
    }

    /// The contact for `external` at `alias`, created (with a fresh reverse alias) if new.
    ///
    /// Not counted against the account's rate: for tools and tests. The pipelines and the API
    /// use [`contact_at`](Self::contact_at).
    ///
    /// # Errors
    /// If the store fails.
    pub async fn contact_for<R: CryptoRng + ?Sized>(
        &self,
        alias: &crate::model::Alias,
        external: &Address,
        display_name: Option<&str>,
        rng: &mut R,
    ) -> Result<Contact, EngineError> {
        self.find_or_create_contact(alias, external, display_name, None, rng).await
    }

    /// As [`contact_for`](Self::contact_for), counting a new contact against the account's rate
    /// ([`Config::new_contacts_per_account`]) at `now`.
    ///
    /// # Errors
    /// If the store fails, or [`EngineError::RateLimited`] if the contact is new and the
    /// account is over its rate.
    pub async fn contact_at<R: CryptoRng + ?Sized>(
        &self,
        alias: &crate::model::Alias,
        external: &Address,
        display_name: Option<&str>,
        now: UnixTime,
        rng: &mut R,
    ) -> Result<Contact, EngineError> {
        self.find_or_create_contact(alias, external, display_name, Some(now), rng).await
    }

    async fn find_or_create_contact<R: CryptoRng + ?Sized>(
        &self,
        alias: &crate::model::Alias,
        external: &Address,
        display_name: Option<&str>,
        rate_at: Option<UnixTime>,
        rng: &mut R,
    ) -> Result<Contact, EngineError> {
        if let Some(c) = self.store.contact_for(alias.id, &external.normalized()).await? {
            return Ok(c);
        }
        if rate_at.is_some_and(|now| !self.new_contacts.take(&alias.account, now.0.saturating_mul(1000))) {
            return Err(EngineError::RateLimited);
        }
        let reverse_alias = crate::address::reverse_alias(rng, external, self.config.domains.primary());
        let new = crate::model::NewContact {
            alias: alias.id,
            external: external.clone(),
            display_name: display_name.map(str::to_owned),
            reverse_alias,
        };
        Ok(self.store.insert_contact(new).await?)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
