//! Sealed keys of the first release (version 1: sealed for a purpose only) sealed again, bound
//! to their rows (relay_engine::seal). [`App::open`](crate::app::App::open) runs it at every
//! start; once every row is version 2 it reads the keys and changes nothing.

use rand_core::CryptoRng;
use relay_engine::{
    model::{AccountId, ContactId, ProfileId},
    seal::{KeyOwner, MasterKey, Purpose},
};

use super::{AdminError, SqlStore};

impl SqlStore {
    /// Seals every version 1 key again as version 2, bound to its row; returns how many.
    ///
    /// # Errors
    /// [`AdminError::Unavailable`] if the database fails; [`AdminError::Invalid`] if a version 1
    /// key does not open under this master key (the relay must not start with keys it cannot
    /// use).
    pub async fn reseal_legacy_keys<R: CryptoRng + ?Sized>(
        &self,
        master: &MasterKey,
        rng: &mut R,
    ) -> Result<usize, AdminError> {
        let unopenable =
            || AdminError::Invalid { what: "a sealed key of the first release does not open with this master key" };
        let mut count = 0;
        let profiles: Vec<(i64, i64, Vec<u8>, Vec<u8>)> = with_pool!(self, p => {
            sqlx::query_as("SELECT id, account_id, end_entity, sealed_intermediate_key FROM profiles").fetch_all(p).await
        })?;
        for (id, account, end_entity, sealed) in profiles.into_iter().filter(|r| MasterKey::is_legacy(&r.3)) {
            let key = master.unseal_legacy(&sealed, Purpose::Intermediate).map_err(|_| unopenable())?;
            let owner = KeyOwner::Intermediate { account: AccountId(account), end_entity: &end_entity };
            let resealed = master.seal(&key, &owner, rng).map_err(|_| unopenable())?;
            affected!(
                self,
                sqlx::query("UPDATE profiles SET sealed_intermediate_key = $1 WHERE id = $2").bind(resealed).bind(id)
            )?;
            count += 1;
        }
        let certs: Vec<(i64, i64, i64, Vec<u8>)> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT rc.contact_id, rc.profile_id, p.account_id, rc.sealed_key \
                 FROM recipient_certs rc JOIN profiles p ON p.id = rc.profile_id",
            )
            .fetch_all(p)
            .await
        })?;
        for (contact, profile, account, sealed) in certs.into_iter().filter(|r| MasterKey::is_legacy(&r.3)) {
            let key = master.unseal_legacy(&sealed, Purpose::Recipient).map_err(|_| unopenable())?;
            let owner = KeyOwner::Recipient {
                account: AccountId(account),
                contact: ContactId(contact),
                profile: ProfileId(profile),
            };
            let resealed = master.seal(&key, &owner, rng).map_err(|_| unopenable())?;
            affected!(
                self,
                sqlx::query("UPDATE recipient_certs SET sealed_key = $1 WHERE contact_id = $2 AND profile_id = $3")
                    .bind(resealed)
                    .bind(contact)
                    .bind(profile)
            )?;
            count += 1;
        }
        Ok(count)
    }
}
