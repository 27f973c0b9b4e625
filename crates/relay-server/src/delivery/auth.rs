//! SMTP AUTH towards a smarthost (RFC 4954): PLAIN (RFC 4616), or LOGIN when only that is
//! offered. Credentials are only ever sent on a TLS connection; the caller checks that before
//! it asks for the encoded lines.
//!
//! ```text
//!   PLAIN:  C: AUTH PLAIN base64(\0user\0password)     S: 235
//!   LOGIN:  C: AUTH LOGIN   S: 334   C: base64(user)   S: 334   C: base64(password)   S: 235
//! ```

use base64ct::{Base64, Encoding};

use crate::config::Secret;

/// A user name and password for the smarthost. The password is a [`Secret`]: `Debug` never
/// shows it.
#[derive(Clone, Debug)]
pub struct Credentials {
    user: String,
    password: Secret,
}

impl Credentials {
    /// Credentials for `user`.
    pub fn new(user: impl Into<String>, password: Secret) -> Self {
        Credentials { user: user.into(), password }
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }
}

/// The mechanisms we speak, in order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mechanism {
    Plain,
    Login,
}

/// The mechanism to use given the EHLO keywords (`AUTH PLAIN LOGIN`, or the old `AUTH=LOGIN`).
pub(super) fn choose<'a>(ehlo: impl IntoIterator<Item = &'a str>) -> Option<Mechanism> {
    let mut offered = Vec::new();
    for line in ehlo {
        let upper = line.to_ascii_uppercase();
        if let Some(rest) = upper.strip_prefix("AUTH").filter(|r| r.starts_with([' ', '='])) {
            offered.extend(rest[1..].split_ascii_whitespace().map(str::to_owned));
        }
    }
    if offered.iter().any(|m| m == "PLAIN") {
        Some(Mechanism::Plain)
    } else if offered.iter().any(|m| m == "LOGIN") {
        Some(Mechanism::Login)
    } else {
        None
    }
}

/// `AUTH PLAIN` with its initial response: base64 of `\0user\0password` (no authorisation
/// identity).
pub(super) fn plain_command(c: &Credentials) -> String {
    let mut raw = Vec::with_capacity(c.user.len() + c.password.expose().len() + 2);
    raw.push(0);
    raw.extend_from_slice(c.user.as_bytes());
    raw.push(0);
    raw.extend_from_slice(c.password.expose().as_bytes());
    format!("AUTH PLAIN {}", Base64::encode_string(&raw))
}

/// The two answers of `AUTH LOGIN`: user, then password, each in base64.
pub(super) fn login_lines(c: &Credentials) -> [String; 2] {
    [Base64::encode_string(c.user.as_bytes()), Base64::encode_string(c.password.expose().as_bytes())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanisms_and_encoding() {
        assert_eq!(choose(["sink", "AUTH LOGIN PLAIN"]), Some(Mechanism::Plain));
        assert_eq!(choose(["auth=login"]), Some(Mechanism::Login));
        assert_eq!(choose(["AUTH CRAM-MD5", "AUTHX PLAIN"]), None);
        let c = Credentials::new("relay", Secret::new("hunter2"));
        // RFC 4616 §4: "\0tim\0tanstaaftanstaaf" style, here for relay/hunter2.
        assert_eq!(plain_command(&c), "AUTH PLAIN AHJlbGF5AGh1bnRlcjI=");
        assert_eq!(login_lines(&c), ["cmVsYXk=", "aHVudGVyMg=="]);
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
