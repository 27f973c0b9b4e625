//! App passwords: per mailbox, stored as argon2id hashes, for SMTP AUTH on the submission
//! listener.

use relay_engine::{
    address::Address,
    model::{AccountId, MailboxId},
};

use super::{AdminError, SqlStore, error::found};

/// What an owner may see of an app password: everything but the password (and its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppPasswordInfo {
    /// Its id.
    pub id: i64,
    /// The mailbox it signs in as.
    pub mailbox: MailboxId,
    /// The name the owner gave it.
    pub name: String,
}

/// An app password that may match a login: its account, its mailbox's address and its hash.
#[derive(Clone, Debug)]
pub struct AppPasswordCandidate {
    /// Its id.
    pub id: i64,
    /// The account.
    pub account: AccountId,
    /// The mailbox's address.
    pub mailbox: Address,
    /// The argon2id PHC string.
    pub hash: String,
}

impl SqlStore {
    /// Stores a new app password hash for the account's mailbox; its id.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such mailbox.
    pub async fn add_app_password(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        name: &str,
        hash: &str,
    ) -> Result<i64, AdminError> {
        let id: Option<i64> = with_pool!(self, p => {
            sqlx::query_scalar(
                "INSERT INTO app_passwords (account_id, mailbox_id, name, hash) \
                 SELECT account_id, id, $3, $4 FROM mailboxes WHERE id = $2 AND account_id = $1 RETURNING id",
            )
            .bind(account.0)
            .bind(mailbox.0)
            .bind(name)
            .bind(hash)
            .fetch_optional(p)
            .await
        })?;
        id.ok_or(AdminError::NotFound { what: "mailbox", id: mailbox.0 })
    }

    /// The app passwords of the account's mailbox.
    ///
    /// # Errors
    /// [`AdminError::Unavailable`] if the database fails.
    pub async fn list_app_passwords(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> Result<Vec<AppPasswordInfo>, AdminError> {
        let rows: Vec<(i64, i64, String)> = with_pool!(self, p => {
            sqlx::query_as("SELECT id, mailbox_id, name FROM app_passwords WHERE account_id = $1 AND mailbox_id = $2 ORDER BY id")
                .bind(account.0)
                .bind(mailbox.0)
                .fetch_all(p)
                .await
        })?;
        Ok(rows.into_iter().map(|(id, m, name)| AppPasswordInfo { id, mailbox: MailboxId(m), name }).collect())
    }

    /// Revokes one of the account's app passwords.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such app password.
    pub async fn delete_app_password(&self, account: AccountId, id: i64) -> Result<(), AdminError> {
        let n = affected!(
            self,
            sqlx::query("DELETE FROM app_passwords WHERE id = $1 AND account_id = $2").bind(id).bind(account.0)
        )?;
        found(n, "app password", id)
    }

    /// The app passwords of verified mailboxes with this (normalized) address, in any account.
    ///
    /// # Errors
    /// [`AdminError::Unavailable`] if the database fails.
    pub async fn app_password_candidates(&self, address_norm: &str) -> Result<Vec<AppPasswordCandidate>, AdminError> {
        let rows: Vec<(i64, i64, String, String)> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT a.id, a.account_id, m.address, a.hash FROM app_passwords a \
                 JOIN mailboxes m ON m.id = a.mailbox_id AND m.account_id = a.account_id \
                 WHERE m.address_norm = $1 AND m.verified = $2 ORDER BY a.id LIMIT 20",
            )
            .bind(address_norm)
            .bind(true)
            .fetch_all(p)
            .await
        })?;
        rows.into_iter()
            .map(|(id, account, address, hash)| {
                let mailbox =
                    Address::parse(&address).map_err(|_| AdminError::Invalid { what: "stored mailbox address" })?;
                Ok(AppPasswordCandidate { id, account: AccountId(account), mailbox, hash })
            })
            .collect()
    }

    /// Records that an app password was used.
    ///
    /// # Errors
    /// [`AdminError::Unavailable`] if the database fails.
    pub async fn touch_app_password(&self, id: i64, now: pki_core::UnixTime) -> Result<(), AdminError> {
        let now = super::rows::time_to_db(now)?;
        affected!(self, sqlx::query("UPDATE app_passwords SET last_used_at = $1 WHERE id = $2").bind(now).bind(id))?;
        Ok(())
    }
}
