//! Private keys at rest: sealed with AES-256-GCM under the relay's master key.
//!
//! A sealed blob is `version (1) || nonce (12) || ciphertext || tag (16)`. The associated
//! data names what the key is for, so a recipient key cannot be passed off as an
//! intermediate key by swapping rows in the database.

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

const VERSION: u8 = 1;

/// What a sealed key is for: part of the associated data.
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

    /// Seals `plaintext` for `purpose`.
    ///
    /// # Errors
    /// Only if AES-GCM refuses the input (over 64 GiB).
    pub fn seal<R: CryptoRng + ?Sized>(
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
        let mut out = Vec::with_capacity(1 + 12 + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a sealed blob.
    ///
    /// # Errors
    /// [`SealError`] for a wrong key or purpose, or a corrupted blob.
    pub fn unseal(&self, sealed: &[u8], purpose: Purpose) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (version, rest) = sealed.split_first().ok_or(SealError)?;
        if *version != VERSION || rest.len() < 12 + 16 {
            return Err(SealError);
        }
        let (nonce, ct) = rest.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| SealError)?;
        let cipher = Aes256Gcm::new(&self.0.into());
        cipher
            .decrypt(&nonce.into(), Payload { msg: ct, aad: purpose.aad() })
            .map(Zeroizing::new)
            .map_err(|_| SealError)
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

    #[test]
    fn seal_round_trip_and_refusals() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
        let k = MasterKey::generate(&mut rng);
        let sealed = k.seal(b"key material", Purpose::Recipient, &mut rng).unwrap();
        assert_eq!(k.unseal(&sealed, Purpose::Recipient).unwrap().as_slice(), b"key material");
        assert_eq!(k.unseal(&sealed, Purpose::Intermediate), Err(SealError));
        let other = MasterKey::generate(&mut rng);
        assert_eq!(other.unseal(&sealed, Purpose::Recipient), Err(SealError));
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert_eq!(k.unseal(&bad, Purpose::Recipient), Err(SealError));
        assert_eq!(k.unseal(&[], Purpose::Recipient), Err(SealError));
        assert!(!format!("{k:?}").contains(&format!("{:?}", &k.0[..4])));
    }
}
