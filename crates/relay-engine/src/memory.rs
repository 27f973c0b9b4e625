//! An in-memory [`Store`], for the engine's own tests and benchmarks. Never for production:
//! relay-server's SQL stores are the real thing, and its tests run on real database files.

use std::{collections::HashMap, sync::Mutex};

use crate::{
    address::Address,
    model::{
        Account, AccountId, Alias, AliasId, Contact, ContactId, Disposition, Event, Mailbox, MailboxId, NewContact,
        Profile, ProfileId, ProfileStatus, RecipientCert,
    },
    store::{Store, StoreError, StoreResult},
};

#[derive(Default)]
struct Tables {
    next_id: i64,
    accounts: Vec<Account>,
    mailboxes: Vec<Mailbox>,
    aliases: Vec<Alias>,
    contacts: Vec<Contact>,
    profiles: Vec<Profile>,
    recipient_certs: HashMap<(ContactId, ProfileId), RecipientCert>,
    events: Vec<Event>,
}

impl Tables {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStore {
    t: Mutex<Tables>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> StoreResult<std::sync::MutexGuard<'_, Tables>> {
        self.t.lock().map_err(|_| StoreError::Unavailable("poisoned lock".into()))
    }

    /// Creates an account.
    ///
    /// # Errors
    /// Only if the lock is poisoned.
    pub fn create_account(&self, strict: bool) -> StoreResult<AccountId> {
        let mut t = self.lock()?;
        let id = AccountId(t.id());
        t.accounts.push(Account { id, strict, reply_auth: crate::model::ReplyAuth::Strong });
        Ok(id)
    }

    /// Sets what authorises replies for an account.
    ///
    /// # Errors
    /// Only if the lock is poisoned.
    pub fn set_reply_auth(&self, account: AccountId, reply_auth: crate::model::ReplyAuth) -> StoreResult<()> {
        let mut t = self.lock()?;
        for a in t.accounts.iter_mut().filter(|a| a.id == account) {
            a.reply_auth = reply_auth;
        }
        Ok(())
    }

    /// Sets the display name replies from an alias carry.
    ///
    /// # Errors
    /// Only if the lock is poisoned.
    pub fn set_alias_display_name(&self, alias: AliasId, name: Option<String>) -> StoreResult<()> {
        let mut t = self.lock()?;
        for a in t.aliases.iter_mut().filter(|a| a.id == alias) {
            a.display_name = name.clone();
        }
        Ok(())
    }

    /// Adds a mailbox to an account.
    ///
    /// # Errors
    /// Only if the lock is poisoned.
    pub fn add_mailbox(&self, account: AccountId, address: Address, verified: bool) -> StoreResult<MailboxId> {
        let mut t = self.lock()?;
        let id = MailboxId(t.id());
        t.mailboxes.push(Mailbox { id, account, address, verified });
        Ok(id)
    }

    /// Creates an alias.
    ///
    /// # Errors
    /// If the mailbox does not exist.
    pub fn create_alias(&self, mailbox: MailboxId, address: Address) -> StoreResult<AliasId> {
        let mut t = self.lock()?;
        let account = t
            .mailboxes
            .iter()
            .find(|m| m.id == mailbox)
            .map(|m| m.account)
            .ok_or_else(|| StoreError::Inconsistent("no such mailbox".into()))?;
        let id = AliasId(t.id());
        t.aliases.push(Alias {
            id,
            account,
            mailbox,
            address,
            enabled: true,
            when_disabled: Disposition::Drop,
            display_name: None,
        });
        Ok(id)
    }

    /// Enables or disables an alias.
    ///
    /// # Errors
    /// Only if the lock is poisoned.
    pub fn set_alias_enabled(&self, alias: AliasId, enabled: bool, when_disabled: Disposition) -> StoreResult<()> {
        let mut t = self.lock()?;
        for a in t.aliases.iter_mut().filter(|a| a.id == alias) {
            a.enabled = enabled;
            a.when_disabled = when_disabled;
        }
        Ok(())
    }

    /// Blocks (or unblocks, with `None`) a contact.
    ///
    /// # Errors
    /// Only if the lock is poisoned.
    pub fn set_contact_blocked(&self, contact: ContactId, blocked: Option<Disposition>) -> StoreResult<()> {
        let mut t = self.lock()?;
        for c in t.contacts.iter_mut().filter(|c| c.id == contact) {
            c.blocked = blocked;
        }
        Ok(())
    }

    /// Stores a profile; an active one retires the account's previous active profile.
    ///
    /// # Errors
    /// Only if the lock is poisoned.
    pub fn insert_profile(&self, mut profile: Profile) -> StoreResult<ProfileId> {
        let mut t = self.lock()?;
        let id = ProfileId(t.id());
        profile.id = id;
        if profile.status == ProfileStatus::Active {
            for p in t.profiles.iter_mut().filter(|p| p.account == profile.account && p.status == ProfileStatus::Active)
            {
                p.status = ProfileStatus::Retired;
            }
        }
        t.profiles.push(profile);
        Ok(id)
    }

    /// Sets a profile's status.
    ///
    /// # Errors
    /// Only if the lock is poisoned.
    pub fn set_profile_status(&self, profile: ProfileId, status: ProfileStatus) -> StoreResult<()> {
        let mut t = self.lock()?;
        for p in t.profiles.iter_mut().filter(|p| p.id == profile) {
            p.status = status;
        }
        Ok(())
    }

    /// The event log, oldest first.
    ///
    /// # Errors
    /// Only if the lock is poisoned.
    pub fn events(&self) -> StoreResult<Vec<Event>> {
        Ok(self.lock()?.events.clone())
    }

    /// Every contact.
    ///
    /// # Errors
    /// Only if the lock is poisoned.
    pub fn contacts(&self) -> StoreResult<Vec<Contact>> {
        Ok(self.lock()?.contacts.clone())
    }
}

impl Store for MemoryStore {
    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        Ok(self.lock()?.accounts.iter().find(|a| a.id == id).cloned())
    }

    async fn mailbox(&self, id: MailboxId) -> StoreResult<Option<Mailbox>> {
        Ok(self.lock()?.mailboxes.iter().find(|m| m.id == id).cloned())
    }

    async fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<Mailbox>> {
        Ok(self.lock()?.mailboxes.iter().filter(|m| m.account == account).cloned().collect())
    }

    async fn alias(&self, id: AliasId) -> StoreResult<Option<Alias>> {
        Ok(self.lock()?.aliases.iter().find(|a| a.id == id).cloned())
    }

    async fn alias_by_address(&self, address: &str) -> StoreResult<Option<Alias>> {
        Ok(self.lock()?.aliases.iter().find(|a| a.address.normalized() == address).cloned())
    }

    async fn contact_by_reverse_alias(&self, address: &str) -> StoreResult<Option<Contact>> {
        Ok(self.lock()?.contacts.iter().find(|c| c.reverse_alias.normalized() == address).cloned())
    }

    async fn contact_for(&self, alias: AliasId, external: &str) -> StoreResult<Option<Contact>> {
        Ok(self.lock()?.contacts.iter().find(|c| c.alias == alias && c.external.normalized() == external).cloned())
    }

    async fn insert_contact(&self, new: NewContact) -> StoreResult<Contact> {
        let mut t = self.lock()?;
        let key = new.external.normalized();
        if let Some(existing) = t.contacts.iter().find(|c| c.alias == new.alias && c.external.normalized() == key) {
            return Ok(existing.clone());
        }
        let id = ContactId(t.id());
        let contact = Contact {
            id,
            alias: new.alias,
            external: new.external,
            display_name: new.display_name,
            reverse_alias: new.reverse_alias,
            blocked: None,
        };
        t.contacts.push(contact.clone());
        Ok(contact)
    }

    async fn profiles(&self, account: AccountId) -> StoreResult<Vec<Profile>> {
        let mut v: Vec<Profile> = self.lock()?.profiles.iter().filter(|p| p.account == account).cloned().collect();
        v.sort_by_key(|p| std::cmp::Reverse(p.id));
        Ok(v)
    }

    async fn recipient_cert(&self, contact: ContactId, profile: ProfileId) -> StoreResult<Option<RecipientCert>> {
        Ok(self.lock()?.recipient_certs.get(&(contact, profile)).cloned())
    }

    async fn recipient_certs(&self, contact: ContactId) -> StoreResult<Vec<RecipientCert>> {
        Ok(self.lock()?.recipient_certs.values().filter(|r| r.contact == contact).cloned().collect())
    }

    async fn insert_recipient_cert(&self, cert: RecipientCert) -> StoreResult<RecipientCert> {
        let mut t = self.lock()?;
        let slot = t.recipient_certs.entry((cert.contact, cert.profile)).or_insert_with(|| cert.clone());
        if slot.not_after < cert.not_after {
            *slot = cert;
        }
        Ok(slot.clone())
    }

    async fn log(&self, event: Event) -> StoreResult<()> {
        self.lock()?.events.push(event);
        Ok(())
    }
}
