//! Mailboxes: the account's real addresses, each proven with a code mailed to it.
//!
//! - `POST /api/mailboxes` (`{"address": "you@example.com"}`): adds an unverified mailbox, makes
//!   a code, stores its SHA-256 with an expiry, and mails the code through the next hop.
//! - `POST /api/mailboxes/{id}/confirm` (`{"code": "…"}`): verifies the mailbox.
//! - `POST /api/mailboxes/{id}/resend`: a new code (the previous one stops working).
//! - `GET /api/mailboxes`.
//!
//! A code is 10 Crockford base32 characters (50 bits), shown as `xxxxx-xxxxx`; case, dashes and
//! spaces are ignored when it is entered. It lives one hour, and after [`MAX_FAILURES`] wrong
//! guesses it is spent (on this node; the 50 bits are what stop a search across nodes).
//!
//! No oracle: mailboxes are unique per account, not across accounts, so adding an address that
//! another account uses answers exactly as adding any other (201, and a code mailed to it).
//! Only the account's own duplicate is a 409. A mailbox not verified within
//! [`UNVERIFIED_LIFETIME`] is deleted. Codes mailed are rate-limited (on this node): at most
//! [`MAX_SENDS`] per account and per address in [`SEND_WINDOW`] seconds, then 429, so the relay
//! cannot be used to flood an address with code mail.

use axum::{extract::State, http::StatusCode};
use pki_core::UnixTime;
use relay_engine::{
    address::Address,
    model::{AccountId, Mailbox, MailboxId},
    store::Store,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    ApiError, AppState,
    extract::{Auth, Body, Id},
    mailer::verification_message,
    routes::Routes,
};
use crate::app::os_rng;

/// How long a code is valid, in seconds.
const CODE_LIFETIME: u64 = 3600;
/// Characters in a code.
const CODE_CHARS: usize = 10;
/// Wrong codes before the current one is spent.
pub(super) const MAX_FAILURES: u32 = 5;
/// Seconds an unverified mailbox lives.
pub(super) const UNVERIFIED_LIFETIME: u64 = 24 * 3600;
/// Codes mailed per account, and per address, in one [`SEND_WINDOW`].
pub(super) const MAX_SENDS: usize = 5;
/// The window of [`MAX_SENDS`], in seconds.
pub(super) const SEND_WINDOW: u64 = 3600;
/// Crockford's base32, lowercase.
const BASE32: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/api/mailboxes", add_mailbox)
        .get("/api/mailboxes", list_mailboxes)
        .post("/api/mailboxes/{id}/confirm", confirm_mailbox)
        .post("/api/mailboxes/{id}/resend", resend_code)
}

pub(super) fn mailbox_json(m: &Mailbox) -> Value {
    json!({ "id": m.id.0, "address": m.address.as_str(), "verified": m.verified })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMailbox {
    address: String,
}

async fn add_mailbox(
    State(state): State<AppState>,
    Auth(account): Auth,
    Body(body): Body<NewMailbox>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let address = Address::parse(body.address.trim())?;
    if state.engine.config().domains.contains(address.domain()) {
        return Err(ApiError::InvalidAddress("a mailbox cannot be at a relay domain".into()));
    }
    let now = state.now();
    state.store().expire_unverified_mailboxes(UnixTime(now.0.saturating_sub(UNVERIFIED_LIFETIME))).await?;
    if state.store().mailboxes(account).await?.iter().any(|m| m.address.normalized() == address.normalized()) {
        return Err(ApiError::Conflict("this account already has that mailbox".into()));
    }
    check_send_rate(&state, account, &address)?;
    let id = state.store().add_mailbox(account, &address).await?;
    let sent = send_code(&state, account, id, &address).await?;
    let mut body = mailbox_json(&Mailbox { id, account, address, verified: false });
    body["verification_sent"] = json!(sent);
    Ok((StatusCode::CREATED, axum::Json(body)))
}

/// Counts a code mail to `address` for `account`, or refuses it if either is over its rate.
fn check_send_rate(state: &AppState, account: AccountId, address: &Address) -> Result<(), ApiError> {
    let now = state.now().0;
    let Ok(mut sends) = state.code_sends.lock() else { return Err(ApiError::Internal("poisoned lock".into())) };
    let keys = [format!("account:{}", account.0), format!("address:{}", address.normalized())];
    let mut over = false;
    for key in &keys {
        let times = sends.entry(key.clone()).or_default();
        times.retain(|t| now.saturating_sub(*t) < SEND_WINDOW);
        over |= times.len() >= MAX_SENDS;
    }
    if over {
        return Err(ApiError::RateLimited("too many verification codes sent; try again in an hour"));
    }
    for key in keys {
        sends.entry(key).or_default().push(now);
    }
    // Forget idle keys, so the map stays bounded by the traffic of one window.
    sends.retain(|_, times| !times.is_empty());
    Ok(())
}

/// Makes and stores a new code and mails it. `Ok(false)` if the next hop refused or failed
/// (the mailbox stays unverified; `resend` tries again).
async fn send_code(state: &AppState, account: AccountId, id: MailboxId, address: &Address) -> Result<bool, ApiError> {
    let (code, message_id) = {
        let mut rng = os_rng().map_err(|e| ApiError::Internal(e.to_string()))?;
        (random_base32(&mut rng, CODE_CHARS), random_base32(&mut rng, 26))
    };
    let now = state.now();
    state.store().set_mailbox_verify_code(account, id, &code, now.plus_secs(CODE_LIFETIME)).await?;
    if let Ok(mut failures) = state.code_failures.lock() {
        failures.remove(&id.0);
    }
    let domain = state.engine.config().domains.primary().as_str().to_owned();
    let shown = format!("{}-{}", &code[..CODE_CHARS / 2], &code[CODE_CHARS / 2..]);
    let message = verification_message(&domain, address.as_str(), &shown, now, &message_id);
    match state.mailer.send("", address.as_str(), &message).await {
        Ok(()) => Ok(true),
        Err(e) => {
            tracing::warn!(mailbox = id.0, "verification code not delivered: {e}");
            Ok(false)
        }
    }
}

fn random_base32(rng: &mut impl rand_core::CryptoRng, n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| char::from(BASE32[usize::from(b & 31)])).collect()
}

async fn list_mailboxes(State(state): State<AppState>, Auth(account): Auth) -> Result<axum::Json<Value>, ApiError> {
    let mailboxes = state.store().mailboxes(account).await?;
    Ok(axum::Json(json!({ "mailboxes": mailboxes.iter().map(mailbox_json).collect::<Vec<_>>() })))
}

/// The account's mailbox `id`, or 404.
pub(super) async fn owned_mailbox(state: &AppState, account: AccountId, id: i64) -> Result<Mailbox, ApiError> {
    match state.store().mailbox(MailboxId(id)).await? {
        Some(m) if m.account == account => Ok(m),
        _ => Err(ApiError::NotFound(format!("no mailbox {id} in this account"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    code: String,
}

async fn confirm_mailbox(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
    Body(body): Body<Confirm>,
) -> Result<axum::Json<Value>, ApiError> {
    let mailbox = owned_mailbox(&state, account, id).await?;
    if mailbox.verified {
        return Ok(axum::Json(mailbox_json(&mailbox)));
    }
    let failures = state.code_failures.lock().map(|f| f.get(&id).copied().unwrap_or(0)).unwrap_or(MAX_FAILURES);
    let code: String = body.code.chars().filter(|c| !matches!(c, '-' | ' ')).map(|c| c.to_ascii_lowercase()).collect();
    let now = state.now();
    let confirmed = failures < MAX_FAILURES
        && code.len() == CODE_CHARS
        && state.store().confirm_mailbox(account, mailbox.id, &code, now).await?;
    if !confirmed {
        let spent = note_failure(&state, id);
        if spent {
            // Too many guesses: replace the code with one nobody knows, expired.
            let mut rng = os_rng().map_err(|e| ApiError::Internal(e.to_string()))?;
            let unknown = random_base32(&mut rng, 32);
            state.store().set_mailbox_verify_code(account, mailbox.id, &unknown, now).await?;
        }
        return Err(ApiError::bad_request(if spent {
            "too many wrong codes: ask for a new one with POST /api/mailboxes/{id}/resend"
        } else {
            "wrong or expired code"
        }));
    }
    if let Ok(mut f) = state.code_failures.lock() {
        f.remove(&id);
    }
    Ok(axum::Json(mailbox_json(&Mailbox { verified: true, ..mailbox })))
}

/// Counts a wrong code; `true` once the code is spent.
fn note_failure(state: &AppState, id: i64) -> bool {
    match state.code_failures.lock() {
        Ok(mut f) => {
            let n = f.entry(id).or_insert(0);
            *n = n.saturating_add(1);
            *n >= MAX_FAILURES
        }
        Err(_) => true,
    }
}

async fn resend_code(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
) -> Result<axum::Json<Value>, ApiError> {
    let mailbox = owned_mailbox(&state, account, id).await?;
    if mailbox.verified {
        return Err(ApiError::Conflict("the mailbox is already verified".into()));
    }
    check_send_rate(&state, account, &mailbox.address)?;
    let sent = send_code(&state, account, mailbox.id, &mailbox.address).await?;
    let mut body = mailbox_json(&mailbox);
    body["verification_sent"] = json!(sent);
    Ok(axum::Json(body))
}
