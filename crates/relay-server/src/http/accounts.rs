//! Accounts and API tokens.
//!
//! - `POST /api/accounts`: bootstrap, as [`Signup`](super::Signup) allows; returns the account
//!   and its first token (shown once).
//! - `GET /api/account`, `PATCH /api/account` (`{"strict": true}`).
//! - `POST /api/tokens`, `GET /api/tokens`, `DELETE /api/tokens/{id}`.

use axum::{extract::State, http::StatusCode};
use relay_engine::{
    model::{AccountId, ReplyAuth},
    store::Store,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    ApiError, AppState,
    extract::{Auth, Body, Id, SignupAllowed},
    routes::Routes,
};
use crate::store::{TokenId, TokenInfo};

/// Longest token name.
const MAX_NAME: usize = 100;

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/api/accounts", create_account)
        .get("/api/account", get_account)
        .patch("/api/account", patch_account)
        .post("/api/tokens", create_token)
        .get("/api/tokens", list_tokens)
        .delete("/api/tokens/{id}", delete_token)
}

type Created = (StatusCode, axum::Json<Value>);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    #[serde(default)]
    strict: bool,
    token_name: Option<String>,
}

async fn create_account(
    State(state): State<AppState>,
    _allowed: SignupAllowed,
    Body(body): Body<NewAccount>,
) -> Result<Created, ApiError> {
    let name = token_name(body.token_name)?;
    let store = state.store();
    let account = store.create_account(body.strict).await?;
    let (id, token) = store.create_token(account, &name).await?;
    tracing::info!(account = account.0, "account created over the API");
    let body = json!({
        "account": { "id": account.0, "strict": body.strict },
        "token": { "id": id.0, "name": name, "token": token.expose() },
    });
    Ok((StatusCode::CREATED, axum::Json(body)))
}

fn token_name(name: Option<String>) -> Result<String, ApiError> {
    let name = name.unwrap_or_else(|| "api".to_owned());
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!("a token name has 1 to {MAX_NAME} printable characters")));
    }
    Ok(name.to_owned())
}

async fn get_account(State(state): State<AppState>, Auth(account): Auth) -> Result<axum::Json<Value>, ApiError> {
    Ok(axum::Json(account_json(&state, account).await?))
}

async fn account_json(state: &AppState, account: AccountId) -> Result<Value, ApiError> {
    let found = state.store().account(account).await?;
    let found = found.ok_or_else(|| ApiError::NotFound(format!("no account {account}")))?;
    let reply_auth = match found.reply_auth {
        ReplyAuth::Strong => "strong",
        ReplyAuth::Envelope => "envelope",
    };
    Ok(json!({ "id": found.id.0, "strict": found.strict, "reply_auth": reply_auth }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountPatch {
    strict: Option<bool>,
    /// `"strong"` (an S/MIME signature or submission AUTH) or `"envelope"` (also the envelope
    /// sender and From, which anyone can forge).
    reply_auth: Option<ReplyAuthJson>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum ReplyAuthJson {
    Strong,
    Envelope,
}

async fn patch_account(
    State(state): State<AppState>,
    Auth(account): Auth,
    Body(patch): Body<AccountPatch>,
) -> Result<axum::Json<Value>, ApiError> {
    if let Some(strict) = patch.strict {
        state.store().set_strict(account, strict).await?;
    }
    if let Some(r) = patch.reply_auth {
        let r = match r {
            ReplyAuthJson::Strong => ReplyAuth::Strong,
            ReplyAuthJson::Envelope => ReplyAuth::Envelope,
        };
        state.store().set_reply_auth(account, r).await?;
    }
    Ok(axum::Json(account_json(&state, account).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: Option<String>,
}

async fn create_token(
    State(state): State<AppState>,
    Auth(account): Auth,
    Body(body): Body<NewToken>,
) -> Result<Created, ApiError> {
    let name = token_name(body.name)?;
    let (id, token) = state.store().create_token(account, &name).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "id": id.0, "name": name, "token": token.expose() }))))
}

async fn list_tokens(State(state): State<AppState>, Auth(account): Auth) -> Result<axum::Json<Value>, ApiError> {
    let tokens = state.store().list_tokens(account).await?;
    Ok(axum::Json(json!({ "tokens": tokens.iter().map(token_json).collect::<Vec<_>>() })))
}

fn token_json(t: &TokenInfo) -> Value {
    json!({
        "id": t.id.0,
        "name": t.name,
        "created_at": t.created_at.0,
        "last_used_at": t.last_used_at.map(|t| t.0),
    })
}

async fn delete_token(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
) -> Result<StatusCode, ApiError> {
    state.store().delete_token(account, TokenId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
