//! App passwords, for the submission listener: a mail client signs in with the mailbox's
//! address and one of them to send as the account's aliases.
//!
//! - `POST /api/mailboxes/{id}/app-passwords` (`{"name": "laptop"}`): makes one for a verified
//!   mailbox and shows it once; only its argon2id hash is kept. A mailbox holds at most
//!   [`MAX_PER_MAILBOX`](crate::app_password::MAX_PER_MAILBOX) (409 beyond).
//! - `GET /api/mailboxes/{id}/app-passwords`: their ids and names.
//! - `DELETE /api/app-passwords/{id}`: revokes one.

use axum::{extract::State, http::StatusCode};
use relay_engine::model::MailboxId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    ApiError, AppState,
    extract::{Auth, Body, Id},
    mailboxes::owned_mailbox,
    routes::Routes,
};
use crate::{app::os_rng, store::AppPasswordInfo};

/// Longest app password name, in characters.
const MAX_NAME: usize = 100;

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/api/mailboxes/{id}/app-passwords", create)
        .get("/api/mailboxes/{id}/app-passwords", list)
        .delete("/api/app-passwords/{id}", delete)
}

fn info_json(p: &AppPasswordInfo) -> Value {
    json!({ "id": p.id, "mailbox_id": p.mailbox.0, "name": p.name })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAppPassword {
    name: String,
}

async fn create(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
    Body(body): Body<NewAppPassword>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let mailbox = owned_mailbox(&state, account, id).await?;
    if !mailbox.verified {
        return Err(ApiError::Conflict(format!("mailbox {id} is not verified yet")));
    }
    let held = state.store().list_app_passwords(account, mailbox.id).await?.len();
    if held >= crate::app_password::MAX_PER_MAILBOX {
        return Err(ApiError::Conflict(format!(
            "mailbox {id} has {held} app passwords, the most it may hold: revoke one first"
        )));
    }
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!("a name has 1 to {MAX_NAME} printable characters")));
    }
    let (password, hash) = tokio::task::spawn_blocking(|| {
        let mut rng = os_rng().map_err(|e| e.to_string())?;
        let password = crate::app_password::generate(&mut rng);
        let hash = crate::app_password::hash(&password, &mut rng)?;
        Ok::<_, String>((password, hash))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(ApiError::Internal)?;
    let pid = state.store().add_app_password(account, mailbox.id, name, &hash).await?;
    let info = AppPasswordInfo { id: pid, mailbox: MailboxId(id), name: name.to_owned() };
    let mut body = info_json(&info);
    body["user"] = json!(mailbox.address.as_str());
    body["password"] = json!(password);
    Ok((StatusCode::CREATED, axum::Json(body)))
}

async fn list(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
) -> Result<axum::Json<Value>, ApiError> {
    let mailbox = owned_mailbox(&state, account, id).await?;
    let list = state.store().list_app_passwords(account, mailbox.id).await?;
    Ok(axum::Json(json!({ "app_passwords": list.iter().map(info_json).collect::<Vec<_>>() })))
}

async fn delete(State(state): State<AppState>, Auth(account): Auth, Id(id): Id<i64>) -> Result<StatusCode, ApiError> {
    state.store().delete_app_password(account, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
