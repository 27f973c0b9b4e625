//! App passwords: made by the relay (so they are strong), shown once, kept as argon2id hashes
//! (the OWASP parameters: 19 MiB, 2 passes), checked off the async workers.

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use rand_core::CryptoRng;

/// Characters of a generated password (Crockford base32, lowercase): 100 bits.
const CHARS: usize = 20;
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new password, `xxxxx-xxxxx-xxxxx-xxxxx`.
pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> String {
    let mut bytes = [0u8; CHARS];
    rng.fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes.iter().map(|b| char::from(ALPHABET[usize::from(b & 31)])).collect();
    chars.chunks(5).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The argon2id PHC string of `password`.
///
/// # Errors
/// If hashing fails (it does not with these parameters).
pub fn hash<R: CryptoRng + ?Sized>(password: &str, rng: &mut R) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(normalize(password).as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string `hash`. Case, dashes and spaces do not matter (the
/// password is shown grouped, and people type it as they like).
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(normalize(password).as_bytes(), &h).is_ok())
}

/// A hash that no password matches, verified when the user has no password at all, so that a
/// wrong user costs the same time as a wrong password.
pub const DECOY: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$ZGVjb3lzYWx0ZGVjb3lzYQ$3l3AHzmRnv8yL0DK+3f/BTBxw4TKEg2zgIbU9aNFfzU";

fn normalize(password: &str) -> String {
    password.chars().filter(|c| !matches!(c, '-' | ' ')).map(|c| c.to_ascii_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_hash_verify() {
        let mut rng = crate::app::os_rng().unwrap();
        let p = generate(&mut rng);
        assert_eq!(p.len(), 23);
        let h = hash(&p, &mut rng).unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify(&p, &h));
        assert!(verify(&p.to_uppercase().replace('-', " "), &h));
        assert!(!verify("wrong-password", &h));
        assert!(!verify(&p, "not a hash"));
        assert!(!verify(&p, DECOY));
        assert!(PasswordHash::new(DECOY).is_ok(), "the decoy parses, so it costs a real verification");
    }
}
