//! Extractors whose rejections are [`ApiError`]s: the authenticated account, JSON bodies and
//! path ids.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Mutex,
};

use axum::{
    extract::{ConnectInfo, FromRequest, FromRequestParts},
    http::{HeaderMap, header, request::Parts},
};
use pki_core::UnixTime;
use relay_engine::model::AccountId;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState, Signup};

/// A JSON body; a malformed one is a 400 (or 413, 415, 422) `invalid_request`.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(super) struct Body<T>(pub(super) T);

/// A path parameter; a malformed id is a 404 `not_found` (it names nothing).
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub(super) struct Id<T>(pub(super) T);

/// Longest bearer token looked at; real ones are 68 characters.
const MAX_TOKEN_LEN: usize = 256;

/// The account whose bearer token came with the request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Auth(pub(super) AccountId);

const NO_TOKEN: ApiError = ApiError::Unauthorized("a valid bearer token is required");

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or(NO_TOKEN)?;
        let client = client_ip(parts);
        if state.bad_tokens.is_locked(client, state.now()) {
            return Err(ApiError::RateLimited("too many bad tokens from your address; try again in a minute"));
        }
        let account = state.store().account_for_token(token, state.now()).await?;
        if account.is_none() {
            state.bad_tokens.note(client, state.now());
        }
        account.map(Auth).ok_or(NO_TOKEN)
    }
}

/// The client's address, if the server recorded it (`None` in-process, in tests).
pub(super) fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// Bad bearer tokens per client address in the current minute (this node only).
#[derive(Default)]
pub(super) struct BadTokens(Mutex<HashMap<Option<IpAddr>, (u64, u32)>>);

impl BadTokens {
    fn is_locked(&self, ip: Option<IpAddr>, now: UnixTime) -> bool {
        let Ok(map) = self.0.lock() else { return true };
        map.get(&ip).is_some_and(|(minute, n)| *minute == now.0 / 60 && *n >= super::MAX_BAD_TOKENS)
    }

    fn note(&self, ip: Option<IpAddr>, now: UnixTime) {
        let Ok(mut map) = self.0.lock() else { return };
        let minute = now.0 / 60;
        map.retain(|_, (m, _)| *m == minute);
        let entry = map.entry(ip).or_insert((minute, 0));
        entry.1 = entry.1.saturating_add(1);
    }
}

/// Whether the request's bearer token is `want` (compared in constant time).
pub(super) fn bearer_is(headers: &HeaderMap, want: &str) -> bool {
    bearer(headers).is_some_and(|given| {
        let (a, b) = (Sha256::digest(given.as_bytes()), Sha256::digest(want.as_bytes()));
        a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    })
}

/// The token of an `Authorization: Bearer …` header (the scheme is case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_TOKEN_LEN).then_some(token)
}

/// Permission to create an account, as [`Signup`] says.
pub(super) struct SignupAllowed;

impl FromRequestParts<AppState> for SignupAllowed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match &state.signup {
            Signup::Open => Ok(SignupAllowed),
            Signup::AdminToken(admin) => {
                let given = bearer(&parts.headers).ok_or(ApiError::Unauthorized("the admin token is required"))?;
                if digest_eq(given, admin.expose()) {
                    Ok(SignupAllowed)
                } else {
                    Err(ApiError::Unauthorized("the admin token is required"))
                }
            }
            Signup::Closed => Err(ApiError::Unauthorized(
                "account creation is closed on this relay (set MAILRELAY_ADMIN_TOKEN, or use the CLI)",
            )),
        }
    }
}

/// Compares two secrets in time that depends on neither: their SHA-256 digests, byte by byte,
/// without stopping early.
fn digest_eq(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer mrt_abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("mrt_abc"));
        h.insert(header::AUTHORIZATION, "bearer  mrt_abc ".parse().unwrap());
        assert_eq!(bearer(&h), Some("mrt_abc"));
        h.insert(header::AUTHORIZATION, "Basic dXNlcjpwYXNz".parse().unwrap());
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&h), None);
        assert!(digest_eq("a", "a") && !digest_eq("a", "b"));
    }
}
