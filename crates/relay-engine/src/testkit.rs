//! A ready-made world for tests, benchmarks and demos: an in-memory store with one account,
//! its verified mailbox, an alias, and (optionally) an active S/MIME profile made by
//! [`crate::profile::local_ceremony`].

use pki_core::{KeyAlgorithm, PrivateKey, UnixTime};
use rand_core::CryptoRng;
use x509_cert::Certificate;

use crate::{
    address::{Address, RelayDomains},
    engine::{Config, Engine, EngineError, KeyPool},
    memory::MemoryStore,
    model::{AccountId, AliasId, MailboxId, ProfileId},
    seal::MasterKey,
};

/// The owner's real mailbox in the test world.
pub const OWNER: &str = "alice@real.example";
/// The test alias.
pub const ALIAS: &str = "quiet.otter.42@pportal.io";
/// The relay domain.
pub const DOMAIN: &str = "pportal.io";

/// The test world.
pub struct World {
    /// The engine over an in-memory store.
    pub engine: Engine<MemoryStore>,
    /// The account.
    pub account: AccountId,
    /// The owner's mailbox.
    pub mailbox: MailboxId,
    /// The alias.
    pub alias: AliasId,
    /// The owner's S/MIME side, if the world has an active profile.
    pub smime: Option<OwnerSmime>,
}

/// What the owner holds after the ceremony.
pub struct OwnerSmime {
    /// The profile's id in the store.
    pub profile: ProfileId,
    /// The root the owner trusts.
    pub root: Certificate,
    /// The owner's certificate.
    pub end_entity: Certificate,
    /// The owner's private key.
    pub key: PrivateKey,
}

/// Options for [`World::new`].
#[derive(Clone, Copy, Debug)]
pub struct WorldOptions {
    /// Strict account.
    pub strict: bool,
    /// Run the ceremony and activate the profile.
    pub profile: bool,
    /// Key type for the profile and for recipient certificates.
    pub key: KeyAlgorithm,
    /// Keys to pre-generate in the pool.
    pub pool: usize,
    /// The account's rates: new contacts, replies.
    pub rates: (crate::rate::Rate, crate::rate::Rate),
}

impl Default for WorldOptions {
    fn default() -> Self {
        WorldOptions {
            strict: false,
            profile: true,
            key: KeyAlgorithm::Rsa2048,
            pool: 0,
            rates: (crate::rate::Rate::UNLIMITED, crate::rate::Rate::UNLIMITED),
        }
    }
}

impl World {
    /// Builds the world.
    ///
    /// # Errors
    /// If the ceremony fails.
    pub fn new<R: CryptoRng + ?Sized>(opts: WorldOptions, now: UnixTime, rng: &mut R) -> Result<Self, EngineError> {
        let domains = RelayDomains::new([DOMAIN]).map_err(|_| EngineError::Inconsistent("bad domain"))?;
        let store = MemoryStore::new();
        let owner = Address::parse(OWNER).map_err(|_| EngineError::Inconsistent("bad owner"))?;
        let account = store.create_account(opts.strict)?;
        let mailbox = store.add_mailbox(account, owner.clone(), true)?;
        let alias_addr = Address::parse(ALIAS).map_err(|_| EngineError::Inconsistent("bad alias"))?;
        let alias = store.create_alias(mailbox, alias_addr)?;
        let master = MasterKey::generate(rng);
        let mut smime = None;
        if opts.profile {
            let req = crate::profile::CeremonyRequest {
                account,
                owner: &owner,
                mailboxes: std::slice::from_ref(&owner),
                domains: &domains,
                key: opts.key,
                now,
            };
            let c = crate::profile::local_ceremony(&req, &master, rng)?;
            let profile = store.insert_profile(c.profile)?;
            smime = Some(OwnerSmime { profile, root: c.root, end_entity: c.end_entity, key: c.end_entity_key });
        }
        let pool = KeyPool::new(opts.key, opts.pool);
        for _ in 0..opts.pool {
            pool.refill_one(rng)?;
        }
        let mut config = Config::new(domains);
        config.recipient_key = opts.key;
        (config.new_contacts_per_account, config.replies_per_account) = opts.rates;
        let engine = Engine::new(store, config, master, pool);
        Ok(World { engine, account, mailbox, alias, smime })
    }
}
