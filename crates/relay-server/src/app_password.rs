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

/// App passwords one mailbox may hold; creating more is refused.
pub const MAX_PER_MAILBOX: usize = 5;

/// Hashes every sign-in verifies, whoever the user is: the user's candidates, padded with
/// [`DECOY`]s. An unknown address, an address with one password and one with five cost the same
/// time, and a match does not stop the loop, so the time does not tell where it was found.
pub const VERIFICATIONS_PER_SIGN_IN: usize = MAX_PER_MAILBOX;

/// Which of `candidates` `password` opens, after [`VERIFICATIONS_PER_SIGN_IN`] verifications
/// (more only when one address holds more candidates than that, across accounts).
/// `verify(password, hash)` is [`verify`]; tests pass a counter.
pub fn find_match<'a, C>(
    candidates: &'a [C],
    hash_of: impl Fn(&C) -> &str,
    password: &str,
    mut verify: impl FnMut(&str, &str) -> bool,
) -> Option<&'a C> {
    let mut found = None;
    for c in candidates {
        if verify(password, hash_of(c)) && found.is_none() {
            found = Some(c);
        }
    }
    for _ in candidates.len()..VERIFICATIONS_PER_SIGN_IN {
        let _ = verify(password, DECOY);
    }
    found
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

    /// The attack: time `AUTH` for an unknown address and for a known one, wrong password both
    /// times. One argon2 verification per candidate made a known address with several passwords
    /// slower, and a match early in the list faster. The number of verifications is the time.
    #[test]
    fn every_sign_in_costs_the_same_verifications() {
        let hashes: Vec<String> = (0..MAX_PER_MAILBOX).map(|i| format!("hash{i}")).collect();
        let count = |candidates: &[String], right: Option<&str>| {
            let mut n = 0;
            let found = find_match(candidates, String::as_str, "pw", |_, h| {
                n += 1;
                Some(h) == right
            })
            .cloned();
            (n, found)
        };
        let none: &[String] = &[];
        assert_eq!(count(none, None), (VERIFICATIONS_PER_SIGN_IN, None), "unknown user");
        for k in 1..=MAX_PER_MAILBOX {
            let some = &hashes[..k];
            assert_eq!(count(some, None), (VERIFICATIONS_PER_SIGN_IN, None), "{k} candidates, wrong password");
            assert_eq!(count(some, Some("hash0")), (VERIFICATIONS_PER_SIGN_IN, Some("hash0".into())), "first matches");
            let last = format!("hash{}", k - 1);
            assert_eq!(count(some, Some(&last)), (VERIFICATIONS_PER_SIGN_IN, Some(last.clone())), "last matches");
        }
        let many: Vec<String> = (0..MAX_PER_MAILBOX + 2).map(|i| format!("hash{i}")).collect();
        assert_eq!(count(&many, None).0, MAX_PER_MAILBOX + 2, "beyond the cap, every candidate is still tried");
    }
}
