//! Storage traits: what the engine needs from a database. relay-server implements them on
//! SQLite and PostgreSQL; [`crate::memory::MemoryStore`] implements them for tests.
//!
//! Lookups by address take the normalized (lower-cased) form. Inserts that race with another
//! insert of the same unique key return the row that won, so concurrent first messages from one
//! contact end up with one contact and one recipient certificate.

use core::future::Future;

use crate::model::{
    Account, AccountId, Alias, AliasId, Contact, ContactId, Event, Mailbox, MailboxId, NewContact, Profile, ProfileId,
    RecipientCert,
};

/// A storage failure. The engine turns it into a temporary SMTP failure (451), never into
/// plaintext or lost mail.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached or answered with an error.
    Unavailable(String),
    /// A row the engine relies on is missing or inconsistent.
    Inconsistent(String),
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StoreError::Unavailable(m) => write!(f, "store unavailable: {m}"),
            StoreError::Inconsistent(m) => write!(f, "store inconsistent: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Shorthand.
pub type StoreResult<T> = Result<T, StoreError>;

/// What the pipelines read and write.
pub trait Store: Send + Sync {
    /// An account.
    fn account(&self, id: AccountId) -> impl Future<Output = StoreResult<Option<Account>>> + Send;
    /// A mailbox.
    fn mailbox(&self, id: MailboxId) -> impl Future<Output = StoreResult<Option<Mailbox>>> + Send;
    /// Every mailbox of an account.
    fn mailboxes(&self, account: AccountId) -> impl Future<Output = StoreResult<Vec<Mailbox>>> + Send;
    /// An alias by id.
    fn alias(&self, id: AliasId) -> impl Future<Output = StoreResult<Option<Alias>>> + Send;
    /// An alias by its normalized address.
    fn alias_by_address(&self, address: &str) -> impl Future<Output = StoreResult<Option<Alias>>> + Send;
    /// A contact by its reverse alias (normalized).
    fn contact_by_reverse_alias(&self, address: &str) -> impl Future<Output = StoreResult<Option<Contact>>> + Send;
    /// The contact of `external` (normalized) at `alias`.
    fn contact_for(&self, alias: AliasId, external: &str) -> impl Future<Output = StoreResult<Option<Contact>>> + Send;
    /// Creates a contact, or returns the one that exists for (alias, external).
    fn insert_contact(&self, new: NewContact) -> impl Future<Output = StoreResult<Contact>> + Send;
    /// Every profile of an account, newest first.
    fn profiles(&self, account: AccountId) -> impl Future<Output = StoreResult<Vec<Profile>>> + Send;
    /// The recipient certificate of a contact under a profile.
    fn recipient_cert(
        &self,
        contact: ContactId,
        profile: ProfileId,
    ) -> impl Future<Output = StoreResult<Option<RecipientCert>>> + Send;
    /// Every recipient certificate of a contact, under any profile.
    fn recipient_certs(&self, contact: ContactId) -> impl Future<Output = StoreResult<Vec<RecipientCert>>> + Send;
    /// Stores a recipient certificate for (contact, profile) and returns the one stored: a new
    /// one replaces the existing one only if it lives longer (a renewal); otherwise, as when
    /// two first messages race, the existing one stays and is returned.
    fn insert_recipient_cert(&self, cert: RecipientCert) -> impl Future<Output = StoreResult<RecipientCert>> + Send;
    /// Records an event in the account's log.
    fn log(&self, event: Event) -> impl Future<Output = StoreResult<()>> + Send;
}
