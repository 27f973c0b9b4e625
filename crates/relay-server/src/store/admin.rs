//! Admin operations for the HTTP API and the CLI: accounts, API tokens, mailboxes, aliases,
//! contacts and the event log. (Profiles are in `profile.rs`.)
//!
//! Every operation on a row takes the account the caller is authenticated as, and the SQL only
//! touches rows of that account (`WHERE id = $1 AND account_id = $2`, or a join up to the
//! alias for contacts). A row of another account is [`AdminError::NotFound`], exactly like a row
//! that does not exist, so ids cannot be probed.

use pki_core::UnixTime;
use relay_engine::{
    address::Address,
    model::{AccountId, Alias, AliasId, Contact, ContactId, Disposition, Event, MailboxId, ReplyAuth},
};

use super::{
    AdminError, SqlStore,
    error::{conflict, found},
    rows::{self, AliasRow, ContactRow, EventRow, alias_select, contact_select},
    token::{PlainToken, secret_hash},
};

/// An API token's id: what the owner names when revoking it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(pub i64);

impl core::fmt::Display for TokenId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What an owner may see of an API token: everything but the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// Its id.
    pub id: TokenId,
    /// The name the owner gave it.
    pub name: String,
    /// When it was made (the database's clock).
    pub created_at: UnixTime,
    /// When it was last presented, if ever.
    pub last_used_at: Option<UnixTime>,
}

impl SqlStore {
    /// Creates an account.
    ///
    /// # Errors
    /// [`AdminError::Store`] if the database fails.
    pub async fn create_account(&self, strict: bool) -> Result<AccountId, AdminError> {
        let id: i64 = with_pool!(self, p => {
            sqlx::query_scalar("INSERT INTO accounts (strict) VALUES ($1) RETURNING id").bind(strict).fetch_one(p).await
        })?;
        Ok(AccountId(id))
    }

    /// Turns strict mode on or off.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] for an unknown account.
    pub async fn set_strict(&self, account: AccountId, strict: bool) -> Result<(), AdminError> {
        let n =
            affected!(self, sqlx::query("UPDATE accounts SET strict = $1 WHERE id = $2").bind(strict).bind(account.0))?;
        found(n, "account", account.0)
    }

    /// Sets what authorises replies to the account's reverse aliases.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] for an unknown account.
    pub async fn set_reply_auth(&self, account: AccountId, reply_auth: ReplyAuth) -> Result<(), AdminError> {
        let value = rows::reply_auth_to_db(reply_auth);
        let n = affected!(
            self,
            sqlx::query("UPDATE accounts SET reply_auth = $1 WHERE id = $2").bind(value).bind(account.0)
        )?;
        found(n, "account", account.0)
    }

    /// Sets the display name replies from an alias carry (`None`: the bare address).
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such alias.
    pub async fn set_alias_display_name(
        &self,
        account: AccountId,
        alias: AliasId,
        name: Option<&str>,
    ) -> Result<(), AdminError> {
        let n = affected!(
            self,
            sqlx::query("UPDATE aliases SET display_name = $1 WHERE id = $2 AND account_id = $3")
                .bind(name)
                .bind(alias.0)
                .bind(account.0)
        )?;
        found(n, "alias", alias.0)
    }

    /// Deletes the mailboxes that were added before `before` and never verified (and that no
    /// alias uses); returns how many.
    ///
    /// # Errors
    /// [`AdminError::Unavailable`] if the database fails.
    pub async fn expire_unverified_mailboxes(&self, before: UnixTime) -> Result<u64, AdminError> {
        let before = rows::time_to_db(before)?;
        Ok(affected!(
            self,
            sqlx::query(
                "DELETE FROM mailboxes WHERE verified = $1 AND created_at < $2 \
                 AND NOT EXISTS (SELECT 1 FROM aliases a WHERE a.mailbox_id = mailboxes.id)",
            )
            .bind(false)
            .bind(before)
        )?)
    }

    /// Deletes an account and, by cascade, everything it owns: tokens, mailboxes, aliases,
    /// contacts, profiles (with the sealed intermediate keys), recipient certificates and events.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] for an unknown account.
    pub async fn delete_account(&self, account: AccountId) -> Result<(), AdminError> {
        let n = affected!(self, sqlx::query("DELETE FROM accounts WHERE id = $1").bind(account.0))?;
        found(n, "account", account.0)
    }

    /// Makes an API token for `account`. The token is returned once; only its SHA-256 is stored.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] for an unknown account.
    pub async fn create_token(&self, account: AccountId, name: &str) -> Result<(TokenId, PlainToken), AdminError> {
        let token = PlainToken::generate()?;
        let hash = secret_hash(token.expose());
        let id: Option<i64> = with_pool!(self, p => {
            sqlx::query_scalar(
                "INSERT INTO api_tokens (account_id, token_hash, name) \
                 SELECT id, $2, $3 FROM accounts WHERE id = $1 RETURNING id",
            )
            .bind(account.0)
            .bind(hash.as_slice())
            .bind(name)
            .fetch_optional(p)
            .await
        })
        .map_err(conflict("token"))?;
        let id = id.ok_or(AdminError::NotFound { what: "account", id: account.0 })?;
        Ok((TokenId(id), token))
    }

    /// The account a presented token belongs to, recording `now` as its last use. `None` for a
    /// token that was never made or was revoked.
    ///
    /// # Errors
    /// [`AdminError::Store`] if the database fails.
    pub async fn account_for_token(&self, token: &str, now: UnixTime) -> Result<Option<AccountId>, AdminError> {
        let hash = secret_hash(token);
        let now = rows::time_to_db(now)?;
        let account: Option<i64> = with_pool!(self, p => {
            sqlx::query_scalar("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 RETURNING account_id")
                .bind(now)
                .bind(hash.as_slice())
                .fetch_optional(p)
                .await
        })?;
        Ok(account.map(AccountId))
    }

    /// The account's tokens (without the tokens), oldest first.
    ///
    /// # Errors
    /// [`AdminError::Store`] if the database fails.
    pub async fn list_tokens(&self, account: AccountId) -> Result<Vec<TokenInfo>, AdminError> {
        let found: Vec<(i64, String, i64, Option<i64>)> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, name, created_at, last_used_at FROM api_tokens WHERE account_id = $1 ORDER BY id",
            )
            .bind(account.0)
            .fetch_all(p)
            .await
        })?;
        found
            .into_iter()
            .map(|(id, name, created_at, last_used_at)| {
                Ok(TokenInfo {
                    id: TokenId(id),
                    name,
                    created_at: rows::time_from_db(created_at)?,
                    last_used_at: last_used_at.map(rows::time_from_db).transpose()?,
                })
            })
            .collect()
    }

    /// Revokes a token.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such token.
    pub async fn delete_token(&self, account: AccountId, token: TokenId) -> Result<(), AdminError> {
        let n = affected!(
            self,
            sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND account_id = $2").bind(token.0).bind(account.0)
        )?;
        found(n, "token", token.0)
    }

    /// Adds an unverified mailbox to an account.
    ///
    /// # Errors
    /// [`AdminError::Conflict`] if the address (case-insensitively) is already a mailbox of any
    /// account, [`AdminError::NotFound`] for an unknown account.
    pub async fn add_mailbox(&self, account: AccountId, address: &Address) -> Result<MailboxId, AdminError> {
        let id: Option<i64> = with_pool!(self, p => {
            sqlx::query_scalar(
                "INSERT INTO mailboxes (account_id, address, address_norm) \
                 SELECT id, $2, $3 FROM accounts WHERE id = $1 RETURNING id",
            )
            .bind(account.0)
            .bind(address.as_str())
            .bind(address.normalized())
            .fetch_optional(p)
            .await
        })
        .map_err(conflict("mailbox address"))?;
        id.map(MailboxId).ok_or(AdminError::NotFound { what: "account", id: account.0 })
    }

    /// Marks a mailbox verified (or not), and forgets any pending verification code.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such mailbox.
    pub async fn set_mailbox_verified(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        verified: bool,
    ) -> Result<(), AdminError> {
        let n = affected!(
            self,
            sqlx::query(
                "UPDATE mailboxes SET verified = $1, verify_code_hash = NULL, verify_expires_at = NULL \
                 WHERE id = $2 AND account_id = $3",
            )
            .bind(verified)
            .bind(mailbox.0)
            .bind(account.0)
        )?;
        found(n, "mailbox", mailbox.0)
    }

    /// Records the code mailed to a mailbox (its SHA-256) and until when it is valid; a new
    /// code replaces the previous one. Rate-limiting guesses is the caller's job: a short code's
    /// hash does not resist a search, it only keeps the code out of plain sight.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such mailbox.
    pub async fn set_mailbox_verify_code(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        code: &str,
        expires_at: UnixTime,
    ) -> Result<(), AdminError> {
        let expires_at = rows::time_to_db(expires_at)?;
        let n = affected!(
            self,
            sqlx::query(
                "UPDATE mailboxes SET verify_code_hash = $1, verify_expires_at = $2 WHERE id = $3 AND account_id = $4",
            )
            .bind(secret_hash(code))
            .bind(expires_at)
            .bind(mailbox.0)
            .bind(account.0)
        )?;
        found(n, "mailbox", mailbox.0)
    }

    /// Verifies a mailbox if `code` is its current code and has not expired at `now`; the code
    /// is then spent. Returns whether it did.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such mailbox.
    pub async fn confirm_mailbox(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        code: &str,
        now: UnixTime,
    ) -> Result<bool, AdminError> {
        let now = rows::time_to_db(now)?;
        let n = affected!(
            self,
            sqlx::query(
                "UPDATE mailboxes SET verified = $1, verify_code_hash = NULL, verify_expires_at = NULL \
                 WHERE id = $2 AND account_id = $3 AND verify_code_hash = $4 AND verify_expires_at > $5",
            )
            .bind(true)
            .bind(mailbox.0)
            .bind(account.0)
            .bind(secret_hash(code))
            .bind(now)
        )?;
        if n > 0 {
            return Ok(true);
        }
        let exists: Option<i64> = with_pool!(self, p => {
            sqlx::query_scalar("SELECT id FROM mailboxes WHERE id = $1 AND account_id = $2")
                .bind(mailbox.0)
                .bind(account.0)
                .fetch_optional(p)
                .await
        })?;
        exists.map(|_| false).ok_or(AdminError::NotFound { what: "mailbox", id: mailbox.0 })
    }

    /// Creates an enabled alias at `address`, forwarding to `mailbox` (which must be the
    /// account's; whether it must be verified first is the caller's policy).
    ///
    /// # Errors
    /// [`AdminError::Conflict`] if the address is taken (case-insensitively, by any account),
    /// [`AdminError::NotFound`] if the account has no such mailbox.
    pub async fn create_alias(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        address: &Address,
    ) -> Result<AliasId, AdminError> {
        let id: Option<i64> = with_pool!(self, p => {
            sqlx::query_scalar(
                "INSERT INTO aliases (account_id, mailbox_id, address, address_norm) \
                 SELECT account_id, id, $3, $4 FROM mailboxes WHERE id = $2 AND account_id = $1 RETURNING id",
            )
            .bind(account.0)
            .bind(mailbox.0)
            .bind(address.as_str())
            .bind(address.normalized())
            .fetch_optional(p)
            .await
        })
        .map_err(conflict("alias address"))?;
        id.map(AliasId).ok_or(AdminError::NotFound { what: "mailbox", id: mailbox.0 })
    }

    /// One alias of the account.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such alias.
    pub async fn get_alias(&self, account: AccountId, alias: AliasId) -> Result<Alias, AdminError> {
        let row: Option<AliasRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(alias_select!(), " WHERE id = $1 AND account_id = $2"))
                .bind(alias.0)
                .bind(account.0)
                .fetch_optional(p)
                .await
        })?;
        let row = row.ok_or(AdminError::NotFound { what: "alias", id: alias.0 })?;
        Ok(rows::alias(row)?)
    }

    /// The account's aliases, oldest first.
    ///
    /// # Errors
    /// [`AdminError::Store`] if the database fails.
    pub async fn list_aliases(&self, account: AccountId) -> Result<Vec<Alias>, AdminError> {
        let found: Vec<AliasRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(alias_select!(), " WHERE account_id = $1 ORDER BY id"))
                .bind(account.0)
                .fetch_all(p)
                .await
        })?;
        Ok(found.into_iter().map(rows::alias).collect::<Result<_, _>>()?)
    }

    /// Enables or disables an alias, and sets what happens to its mail while disabled.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such alias.
    pub async fn set_alias_enabled(
        &self,
        account: AccountId,
        alias: AliasId,
        enabled: bool,
        when_disabled: Disposition,
    ) -> Result<(), AdminError> {
        let n = affected!(
            self,
            sqlx::query("UPDATE aliases SET enabled = $1, when_disabled = $2 WHERE id = $3 AND account_id = $4")
                .bind(enabled)
                .bind(rows::disposition_to_db(when_disabled))
                .bind(alias.0)
                .bind(account.0)
        )?;
        found(n, "alias", alias.0)
    }

    /// Deletes an alias with its contacts and their recipient certificates. Its address
    /// becomes free again.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such alias.
    pub async fn delete_alias(&self, account: AccountId, alias: AliasId) -> Result<(), AdminError> {
        let n = affected!(
            self,
            sqlx::query("DELETE FROM aliases WHERE id = $1 AND account_id = $2").bind(alias.0).bind(account.0)
        )?;
        found(n, "alias", alias.0)
    }

    /// The contacts of one of the account's aliases, oldest first.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such alias.
    pub async fn list_contacts(&self, account: AccountId, alias: AliasId) -> Result<Vec<Contact>, AdminError> {
        self.get_alias(account, alias).await?;
        let found: Vec<ContactRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(
                contact_select!(),
                " WHERE alias_id = $1 AND alias_id IN (SELECT id FROM aliases WHERE account_id = $2) ORDER BY id"
            ))
            .bind(alias.0)
            .bind(account.0)
            .fetch_all(p)
            .await
        })?;
        Ok(found.into_iter().map(rows::contact).collect::<Result<_, _>>()?)
    }

    /// Blocks a contact (its mail is dropped or rejected, as `blocked` says) or, with `None`,
    /// unblocks it.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if no alias of the account has such a contact.
    pub async fn set_contact_blocked(
        &self,
        account: AccountId,
        contact: ContactId,
        blocked: Option<Disposition>,
    ) -> Result<(), AdminError> {
        let n = affected!(
            self,
            sqlx::query(
                "UPDATE contacts SET blocked = $1 \
                 WHERE id = $2 AND alias_id IN (SELECT id FROM aliases WHERE account_id = $3)",
            )
            .bind(blocked.map(rows::disposition_to_db))
            .bind(contact.0)
            .bind(account.0)
        )?;
        found(n, "contact", contact.0)
    }

    /// The account's event log, oldest first. Events of kinds this build does not know
    /// (written by a newer relay node) are left out.
    ///
    /// # Errors
    /// [`AdminError::Store`] if the database fails or a row does not decode.
    pub async fn events(&self, account: AccountId) -> Result<Vec<Event>, AdminError> {
        let found: Vec<EventRow> = with_pool!(self, p => {
            sqlx::query_as("SELECT account_id, kind, detail, at FROM events WHERE account_id = $1 ORDER BY id")
                .bind(account.0)
                .fetch_all(p)
                .await
        })?;
        let mut events = Vec::with_capacity(found.len());
        for row in found {
            events.extend(rows::event_from_db(row)?);
        }
        Ok(events)
    }
}
