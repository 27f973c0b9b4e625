//! Admin operations on S/MIME profiles.
//!
//! An account has at most one active profile: a partial unique index says so, and activating
//! one (inserting it active, completing its ceremony, or setting its status) retires the
//! previous one in the same transaction. Of two activations racing on PostgreSQL, one wins and
//! the other fails with [`AdminError::Conflict`].
//!
//! The ceremony split between browser and relay uses three steps here:
//! [`insert_pending_profile`](SqlStore::insert_pending_profile) keeps the end-entity
//! certificate, the sealed intermediate key and the intermediate's to-be-signed bytes;
//! [`intermediate_tbs`](SqlStore::intermediate_tbs) gives the bytes back to check what the root
//! signed; [`complete_profile`](SqlStore::complete_profile) stores the root and the signed
//! intermediate and activates the profile.

use relay_engine::model::{AccountId, Profile, ProfileId, ProfileStatus};

use super::{
    AdminError, SqlStore,
    error::conflict,
    rows::{self, ProfileRow, profile_select},
};

/// A profile row to insert.
struct NewProfile<'a> {
    account: AccountId,
    status: ProfileStatus,
    root: Option<&'a [u8]>,
    intermediate: Option<&'a [u8]>,
    intermediate_tbs: Option<&'a [u8]>,
    end_entity: &'a [u8],
    sealed_intermediate_key: &'a [u8],
}

/// What an active profile cannot be without (the engine would refuse every message).
const ACTIVE_NEEDS_CHAIN: AdminError =
    AdminError::Invalid { what: "an active profile needs its root and intermediate" };

impl SqlStore {
    /// Stores a profile (its `id` is ignored) for `profile.account`. An active one retires the
    /// account's previous active profile, in the same transaction.
    ///
    /// # Errors
    /// [`AdminError::Invalid`] for an active profile without root or intermediate,
    /// [`AdminError::NotFound`] for an unknown account, [`AdminError::Conflict`] if a concurrent
    /// activation won.
    pub async fn insert_profile(&self, profile: &Profile) -> Result<ProfileId, AdminError> {
        self.insert_profile_row(NewProfile {
            account: profile.account,
            status: profile.status,
            root: profile.root.as_deref(),
            intermediate: profile.intermediate.as_deref(),
            intermediate_tbs: None,
            end_entity: &profile.end_entity,
            sealed_intermediate_key: &profile.sealed_intermediate_key,
        })
        .await
    }

    /// Stores the relay's half of a ceremony under way: a pending profile with the user's
    /// end-entity certificate, the sealed intermediate key, and the intermediate's to-be-signed
    /// bytes that the user's root is about to sign.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] for an unknown account.
    pub async fn insert_pending_profile(
        &self,
        account: AccountId,
        end_entity: &[u8],
        sealed_intermediate_key: &[u8],
        intermediate_tbs: &[u8],
    ) -> Result<ProfileId, AdminError> {
        self.insert_profile_row(NewProfile {
            account,
            status: ProfileStatus::Pending,
            root: None,
            intermediate: None,
            intermediate_tbs: Some(intermediate_tbs),
            end_entity,
            sealed_intermediate_key,
        })
        .await
    }

    async fn insert_profile_row(&self, new: NewProfile<'_>) -> Result<ProfileId, AdminError> {
        let active = new.status == ProfileStatus::Active;
        if active && (new.root.is_none() || new.intermediate.is_none()) {
            return Err(ACTIVE_NEEDS_CHAIN);
        }
        let id: Option<i64> = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            if active {
                sqlx::query("UPDATE profiles SET status = 'retired' WHERE account_id = $1 AND status = 'active'")
                    .bind(new.account.0)
                    .execute(&mut *tx)
                    .await?;
            }
            let id = sqlx::query_scalar(
                "INSERT INTO profiles (account_id, status, root, intermediate, intermediate_tbs, end_entity, \
                 sealed_intermediate_key) SELECT id, $2, $3, $4, $5, $6, $7 FROM accounts WHERE id = $1 RETURNING id",
            )
            .bind(new.account.0)
            .bind(rows::status_to_db(new.status))
            .bind(new.root)
            .bind(new.intermediate)
            .bind(new.intermediate_tbs)
            .bind(new.end_entity)
            .bind(new.sealed_intermediate_key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(conflict("active profile"))?;
            tx.commit().await?;
            id
        });
        id.map(ProfileId).ok_or(AdminError::NotFound { what: "account", id: new.account.0 })
    }

    /// One profile of the account.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such profile.
    pub async fn get_profile(&self, account: AccountId, profile: ProfileId) -> Result<Profile, AdminError> {
        let row: Option<ProfileRow> = with_pool!(self, p => {
            sqlx::query_as(concat!(profile_select!(), " WHERE id = $1 AND account_id = $2"))
                .bind(profile.0)
                .bind(account.0)
                .fetch_optional(p)
                .await
        })?;
        let row = row.ok_or(AdminError::NotFound { what: "profile", id: profile.0 })?;
        Ok(rows::profile(row)?)
    }

    /// The intermediate's to-be-signed bytes kept for a pending profile (`None` once the
    /// ceremony is complete, or for a profile stored whole).
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such profile.
    pub async fn intermediate_tbs(
        &self,
        account: AccountId,
        profile: ProfileId,
    ) -> Result<Option<Vec<u8>>, AdminError> {
        let tbs: Option<Option<Vec<u8>>> = with_pool!(self, p => {
            sqlx::query_scalar("SELECT intermediate_tbs FROM profiles WHERE id = $1 AND account_id = $2")
                .bind(profile.0)
                .bind(account.0)
                .fetch_optional(p)
                .await
        })?;
        tbs.ok_or(AdminError::NotFound { what: "profile", id: profile.0 })
    }

    /// Finishes a ceremony: stores the user's root and the intermediate it signed (verified by
    /// the caller), forgets the to-be-signed bytes, and activates the profile, retiring the
    /// account's previous active one.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such profile, [`AdminError::Conflict`] if
    /// it is not pending (or a concurrent activation won).
    pub async fn complete_profile(
        &self,
        account: AccountId,
        profile: ProfileId,
        root: &[u8],
        intermediate: &[u8],
    ) -> Result<(), AdminError> {
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE profiles SET status = 'retired' WHERE account_id = $1 AND status = 'active'")
                .bind(account.0)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query(
                "UPDATE profiles SET status = 'active', root = $1, intermediate = $2, intermediate_tbs = NULL \
                 WHERE id = $3 AND account_id = $4 AND status = 'pending'",
            )
            .bind(root)
            .bind(intermediate)
            .bind(profile.0)
            .bind(account.0)
            .execute(&mut *tx)
            .await
            .map_err(conflict("active profile"))?
            .rows_affected();
            if n == 0 {
                // Undoes the retirement above.
                tx.rollback().await?;
                self.get_profile(account, profile).await?;
                return Err(AdminError::Conflict { what: "profile is not pending" });
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Sets a profile's status. Activating one retires the account's other active profile in
    /// the same transaction; a profile without root and intermediate cannot be activated.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] if the account has no such profile, [`AdminError::Invalid`] to
    /// activate an incomplete one, [`AdminError::Conflict`] if a concurrent activation won.
    pub async fn set_profile_status(
        &self,
        account: AccountId,
        profile: ProfileId,
        status: ProfileStatus,
    ) -> Result<(), AdminError> {
        let status_text = rows::status_to_db(status);
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            if status == ProfileStatus::Active {
                sqlx::query(
                    "UPDATE profiles SET status = 'retired' WHERE account_id = $1 AND status = 'active' AND id <> $2",
                )
                .bind(account.0)
                .bind(profile.0)
                .execute(&mut *tx)
                .await?;
            }
            let n = sqlx::query(
                "UPDATE profiles SET status = $1 WHERE id = $2 AND account_id = $3 \
                 AND ($1 <> 'active' OR (root IS NOT NULL AND intermediate IS NOT NULL))",
            )
            .bind(status_text)
            .bind(profile.0)
            .bind(account.0)
            .execute(&mut *tx)
            .await
            .map_err(conflict("active profile"))?
            .rows_affected();
            if n == 0 {
                tx.rollback().await?;
                self.get_profile(account, profile).await?;
                return Err(ACTIVE_NEEDS_CHAIN);
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
