//! Private keys at rest: sealed with AES-256-GCM under the relay's master key.
//!
//! A sealed blob is `version (2) || nonce (12) || ciphertext || tag (16)`. The associated data
//! names what the key is for *and* the row it belongs to ([`KeyOwner`]): the owning account,
//! and the contact and profile of a recipient key, or the profile's end-entity certificate for
//! an intermediate key (the profile row holds it from its creation, before its id exists). A
//! key copied to another row, or another account's row, by someone who can write the database
//! fails to unseal there.
//!
//! Version 1 blobs (purpose only) are opened only by [`MasterKey::unseal_legacy`], which the
//! server runs once at start to seal them again as version 2.

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use crate::model::{AccountId, ContactId, ProfileId};

const VERSION: u8 = 2;
const LEGACY_VERSION: u8 = 1;

/// The row a sealed key belongs to: part of the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOwner<'a> {
    /// A profile's intermediate CA key: the account, and the profile's end-entity certificate
    /// (DER).
    Intermediate {
        /// The account.
        account: AccountId,
        /// The profile's end-entity certificate, DER.
        end_entity: &'a [u8],
    },
    /// A contact's recipient-certificate key under a profile.
    Recipient {
        /// The account (the profile's).
        account: AccountId,
        /// The contact.
        contact: ContactId,
        /// The profile whose intermediate issued the certificate.
        profile: ProfileId,
    },
}

impl KeyOwner<'_> {
    /// `label || 0 || account || row`, with fixed-width big-endian ids and the SHA-256 of the
    /// end-entity certificate.
    fn aad(&self) -> Vec<u8> {
        use sha2::Digest;
        let mut out = Vec::with_capacity(80);
        match self {
            KeyOwner::Intermediate { account, end_entity } => {
                out.extend_from_slice(b"mailrelay/v2/intermediate-key\0");
                out.extend_from_slice(&account.0.to_be_bytes());
                out.extend_from_slice(&sha2::Sha256::digest(end_entity));
            }
            KeyOwner::Recipient { account, contact, profile } => {
                out.extend_from_slice(b"mailrelay/v2/recipient-key\0");
                out.extend_from_slice(&account.0.to_be_bytes());
                out.extend_from_slice(&contact.0.to_be_bytes());
                out.extend_from_slice(&profile.0.to_be_bytes());
            }
        }
        out
    }
}

/// What a version 1 sealed key was for (its whole associated data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A profile's intermediate CA key.
    Intermediate,
    /// A contact's recipient-certificate key.
    Recipient,
}

impl Purpose {
    fn aad(self) -> &'static [u8] {
        match self {
            Purpose::Intermediate => b"mailrelay/v1/intermediate-key",
            Purpose::Recipient => b"mailrelay/v1/recipient-key",
        }
    }
}

/// A key could not be sealed, or a sealed key could not be opened (wrong master key, wrong
/// purpose, or corrupted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealError;

impl core::fmt::Display for SealError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("sealed key cannot be opened (wrong master key, wrong purpose, or corrupted)")
    }
}

impl std::error::Error for SealError {}

/// The relay's master key. Its `Debug` never shows it; it is zeroized on drop.
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// From 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        MasterKey(bytes)
    }

    /// A fresh random key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        MasterKey(k)
    }

    /// A 32-byte key for `label`, derived from the master key (HMAC-SHA256), for uses other
    /// than sealing keys (the message-identifier mapping).
    pub(crate) fn derive(&self, label: &[u8]) -> Zeroizing<[u8; 32]> {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(label);
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&mac.finalize().into_bytes());
        out
    }

    /// Seals `plaintext` for `owner`.
    ///
    /// # Errors
    /// Only if AES-GCM refuses the input (over 64 GiB).
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        plaintext: &[u8],
        owner: &KeyOwner<'_>,
        rng: &mut R,
    ) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let cipher = Aes256Gcm::new(&self.0.into());
        let aad = owner.aad();
        let ct = cipher.encrypt(&nonce.into(), Payload { msg: plaintext, aad: &aad }).map_err(|_| SealError)?;
        let mut out = Vec::with_capacity(1 + 12 + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a sealed blob of `owner`.
    ///
    /// # Errors
    /// [`SealError`] for a wrong master key or owner, a corrupted blob, or a version 1 blob.
    pub fn unseal(&self, sealed: &[u8], owner: &KeyOwner<'_>) -> Result<Zeroizing<Vec<u8>>, SealError> {
        self.open(sealed, VERSION, &owner.aad())
    }

    /// Seals as the first release did (version 1, for a purpose only). Only to test the
    /// migration to version 2: nothing else should make such blobs.
    ///
    /// # Errors
    /// As [`seal`](Self::seal).
    #[doc(hidden)]
    pub fn seal_legacy<R: CryptoRng + ?Sized>(
        &self,
        plaintext: &[u8],
        purpose: Purpose,
        rng: &mut R,
    ) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let cipher = Aes256Gcm::new(&self.0.into());
        let ct =
            cipher.encrypt(&nonce.into(), Payload { msg: plaintext, aad: purpose.aad() }).map_err(|_| SealError)?;
        Ok([&[LEGACY_VERSION][..], &nonce, &ct].concat())
    }

    /// Whether a blob is version 1 (sealed for a purpose only, not bound to its row).
    pub fn is_legacy(sealed: &[u8]) -> bool {
        sealed.first() == Some(&LEGACY_VERSION)
    }

    /// Opens a version 1 blob, sealed for `purpose` only; to seal it again with [`seal`](Self::seal).
    ///
    /// # Errors
    /// [`SealError`] as [`unseal`](Self::unseal).
    pub fn unseal_legacy(&self, sealed: &[u8], purpose: Purpose) -> Result<Zeroizing<Vec<u8>>, SealError> {
        self.open(sealed, LEGACY_VERSION, purpose.aad())
    }

    fn open(&self, sealed: &[u8], want: u8, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (version, rest) = sealed.split_first().ok_or(SealError)?;
        if *version != want || rest.len() < 12 + 16 {
            return Err(SealError);
        }
        let (nonce, ct) = rest.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| SealError)?;
        let cipher = Aes256Gcm::new(&self.0.into());
        cipher.decrypt(&nonce.into(), Payload { msg: ct, aad }).map(Zeroizing::new).map_err(|_| SealError)
    }
}

impl core::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    const BOB: KeyOwner<'static> =
        KeyOwner::Recipient { account: AccountId(1), contact: ContactId(2), profile: ProfileId(3) };

    #[test]
    fn seal_round_trip_and_refusals() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
        let k = MasterKey::generate(&mut rng);
        let sealed = k.seal(b"key material", &BOB, &mut rng).unwrap();
        assert_eq!(sealed[0], 2);
        assert_eq!(k.unseal(&sealed, &BOB).unwrap().as_slice(), b"key material");
        let other = MasterKey::generate(&mut rng);
        assert_eq!(other.unseal(&sealed, &BOB), Err(SealError));
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert_eq!(k.unseal(&bad, &BOB), Err(SealError));
        assert_eq!(k.unseal(&[], &BOB), Err(SealError));
        assert!(!format!("{k:?}").contains(&format!("{:?}", &k.0[..4])));
    }

    #[test]
    fn a_key_moved_to_another_row_does_not_open() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([4; 32]);
        let k = MasterKey::generate(&mut rng);
        let sealed = k.seal(b"key", &BOB, &mut rng).unwrap();
        let elsewhere = [
            KeyOwner::Recipient { account: AccountId(9), contact: ContactId(2), profile: ProfileId(3) },
            KeyOwner::Recipient { account: AccountId(1), contact: ContactId(9), profile: ProfileId(3) },
            KeyOwner::Recipient { account: AccountId(1), contact: ContactId(2), profile: ProfileId(9) },
            KeyOwner::Intermediate { account: AccountId(1), end_entity: b"ee" },
        ];
        for owner in &elsewhere {
            assert_eq!(k.unseal(&sealed, owner), Err(SealError), "{owner:?}");
        }
        let inter = KeyOwner::Intermediate { account: AccountId(1), end_entity: b"ee" };
        let sealed = k.seal(b"key", &inter, &mut rng).unwrap();
        let other_profile = KeyOwner::Intermediate { account: AccountId(1), end_entity: b"another ee" };
        assert_eq!(k.unseal(&sealed, &other_profile), Err(SealError));
        assert_eq!(k.unseal(&sealed, &inter).unwrap().as_slice(), b"key");
    }

    #[test]
    fn legacy_blobs_open_only_as_legacy() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([5; 32]);
        let k = MasterKey::generate(&mut rng);
        let legacy = k.seal_legacy(b"old key", Purpose::Recipient, &mut rng).unwrap();
        assert!(MasterKey::is_legacy(&legacy));
        assert_eq!(k.unseal(&legacy, &BOB), Err(SealError), "never opened as if bound to a row");
        assert_eq!(k.unseal_legacy(&legacy, Purpose::Recipient).unwrap().as_slice(), b"old key");
        assert_eq!(k.unseal_legacy(&legacy, Purpose::Intermediate), Err(SealError));
    }
}
