//! [`Store`] for [`SqlStore`]: what the forward and reply pipelines read and write.
//!
//! Lookups bind the normalized address the engine passes and compare it with the `*_norm`
//! column (each has a unique index). The two inserts that can race — the first messages of a
//! new contact arriving at once on several connections or relay nodes — are `INSERT … ON
//! CONFLICT (key) DO NOTHING` followed by a `SELECT` of the row that won, so every caller gets
//! the same contact and the same recipient certificate.

use relay_engine::{
    model::{
        Account, AccountId, Alias, AliasId, Contact, ContactId, Event, Mailbox, MailboxId, NewContact, Profile,
        ProfileId, RecipientCert,
    },
    store::{Store, StoreError, StoreResult},
};

use super::{
    SqlStore,
    error::db,
    rows::{
        self, AccountRow, AliasRow, CertRow, ContactRow, MailboxRow, ProfileRow, alias_select, cert_select,
        contact_select, mailbox_select, profile_select,
    },
};

impl Store for SqlStore {
    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        let row: Option<AccountRow> = with_pool!(self, p => {
            sqlx::query_as("SELECT id, strict, reply_auth FROM accounts WHERE id = $1").bind(id.0).fetch_optional(p).await
        })
        .map_err(db)?;
        row.map(rows::account).transpose()
    }

    async fn mailbox(&self, id: MailboxId) -> StoreResult<Option<Mailbox>> {
        let row: Option<MailboxRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(mailbox_select!(), " WHERE id = $1")).bind(id.0).fetch_optional(p).await
        })
        .map_err(db)?;
        row.map(rows::mailbox).transpose()
    }

    async fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<Mailbox>> {
        let found: Vec<MailboxRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(mailbox_select!(), " WHERE account_id = $1 ORDER BY id"))
                .bind(account.0)
                .fetch_all(p)
                .await
        })
        .map_err(db)?;
        found.into_iter().map(rows::mailbox).collect()
    }

    async fn alias(&self, id: AliasId) -> StoreResult<Option<Alias>> {
        let row: Option<AliasRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(alias_select!(), " WHERE id = $1")).bind(id.0).fetch_optional(p).await
        })
        .map_err(db)?;
        row.map(rows::alias).transpose()
    }

    async fn alias_by_address(&self, address: &str) -> StoreResult<Option<Alias>> {
        let row: Option<AliasRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(alias_select!(), " WHERE address_norm = $1")).bind(address).fetch_optional(p).await
        })
        .map_err(db)?;
        row.map(rows::alias).transpose()
    }

    async fn contact_by_reverse_alias(&self, address: &str) -> StoreResult<Option<Contact>> {
        let row: Option<ContactRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(contact_select!(), " WHERE reverse_alias_norm = $1"))
                .bind(address)
                .fetch_optional(p)
                .await
        })
        .map_err(db)?;
        row.map(rows::contact).transpose()
    }

    async fn contact_for(&self, alias: AliasId, external: &str) -> StoreResult<Option<Contact>> {
        let row: Option<ContactRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(contact_select!(), " WHERE alias_id = $1 AND external_norm = $2"))
                .bind(alias.0)
                .bind(external)
                .fetch_optional(p)
                .await
        })
        .map_err(db)?;
        row.map(rows::contact).transpose()
    }

    /// Only a clash on (alias, external) is absorbed. A clash on the reverse alias (65 random
    /// bits: it should never happen) is an error, so the message is retried and draws again.
    async fn insert_contact(&self, new: NewContact) -> StoreResult<Contact> {
        let external_norm = new.external.normalized();
        let reverse_norm = new.reverse_alias.normalized();
        let row: Option<ContactRow> = with_pool!(self, p => async {
            sqlx::query(
                "INSERT INTO contacts \
                 (alias_id, external, external_norm, display_name, reverse_alias, reverse_alias_norm) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (alias_id, external_norm) DO NOTHING",
            )
            .bind(new.alias.0)
            .bind(new.external.as_str())
            .bind(&external_norm)
            .bind(new.display_name.as_deref())
            .bind(new.reverse_alias.as_str())
            .bind(&reverse_norm)
            .execute(p)
            .await?;
            sqlx::query_as(concat!(contact_select!(), " WHERE alias_id = $1 AND external_norm = $2"))
                .bind(new.alias.0)
                .bind(&external_norm)
                .fetch_optional(p)
                .await
        }
        .await)
        .map_err(db)?;
        let row = row.ok_or_else(|| StoreError::Inconsistent("contact vanished right after its insert".into()))?;
        rows::contact(row)
    }

    async fn profiles(&self, account: AccountId) -> StoreResult<Vec<Profile>> {
        let found: Vec<ProfileRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(profile_select!(), " WHERE account_id = $1 ORDER BY id DESC"))
                .bind(account.0)
                .fetch_all(p)
                .await
        })
        .map_err(db)?;
        found.into_iter().map(rows::profile).collect()
    }

    async fn recipient_cert(&self, contact: ContactId, profile: ProfileId) -> StoreResult<Option<RecipientCert>> {
        let row: Option<CertRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(cert_select!(), " WHERE contact_id = $1 AND profile_id = $2"))
                .bind(contact.0)
                .bind(profile.0)
                .fetch_optional(p)
                .await
        })
        .map_err(db)?;
        row.map(rows::cert).transpose()
    }

    /// Newest profile first.
    async fn recipient_certs(&self, contact: ContactId) -> StoreResult<Vec<RecipientCert>> {
        let found: Vec<CertRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(cert_select!(), " WHERE contact_id = $1 ORDER BY profile_id DESC"))
                .bind(contact.0)
                .fetch_all(p)
                .await
        })
        .map_err(db)?;
        found.into_iter().map(rows::cert).collect()
    }

    async fn insert_recipient_cert(&self, cert: RecipientCert) -> StoreResult<RecipientCert> {
        let not_after = rows::time_to_db(cert.not_after)?;
        let row: Option<CertRow> = with_pool!(self, p => async {
            sqlx::query(
                "INSERT INTO recipient_certs (contact_id, profile_id, cert, sealed_key, not_after) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (contact_id, profile_id) DO UPDATE SET \
                 cert = excluded.cert, sealed_key = excluded.sealed_key, not_after = excluded.not_after \
                 WHERE recipient_certs.not_after < excluded.not_after",
            )
            .bind(cert.contact.0)
            .bind(cert.profile.0)
            .bind(cert.cert.as_slice())
            .bind(cert.sealed_key.as_slice())
            .bind(not_after)
            .execute(p)
            .await?;
            sqlx::query_as(concat!(cert_select!(), " WHERE contact_id = $1 AND profile_id = $2"))
                .bind(cert.contact.0)
                .bind(cert.profile.0)
                .fetch_optional(p)
                .await
        }
        .await)
        .map_err(db)?;
        let row =
            row.ok_or_else(|| StoreError::Inconsistent("recipient certificate vanished after its insert".into()))?;
        rows::cert(row)
    }

    async fn log(&self, event: Event) -> StoreResult<()> {
        let (account, kind, detail, at) = rows::event_to_db(&event)?;
        with_pool!(self, p => {
            sqlx::query("INSERT INTO events (account_id, kind, detail, at) VALUES ($1, $2, $3, $4)")
                .bind(account)
                .bind(&kind)
                .bind(&detail)
                .bind(at)
                .execute(p)
                .await
                .map(|_| ())
        })
        .map_err(db)
    }
}
