//! Aliases and their contacts.
//!
//! - `POST /api/aliases`: `{}` for a random alias (`quiet.otter.42@…`), `{"prefix": "shop"}` for
//!   a custom one (`shop.x7k2m9@…`); `"mailbox_id"` picks the mailbox (default: the account's
//!   first verified one). The mailbox must be verified: an alias never forwards to an address
//!   that has not agreed to it.
//! - `GET /api/aliases`, `PATCH /api/aliases/{id}` (`enabled`, `when_disabled`, `display_name`:
//!   the name replies from the alias carry, never the owner's own),
//!   `DELETE /api/aliases/{id}`.
//! - `GET /api/aliases/{id}/contacts`; `POST /api/aliases/{id}/contacts` (`{"address": …}`)
//!   starts a new thread: the contact, with the reverse alias the owner writes to;
//!   `PATCH /api/contacts/{id}` (`{"blocked": "drop" | "reject" | null}`).

use axum::{extract::State, http::StatusCode};
use relay_engine::{
    address::{Address, CustomAlias, custom_alias, random_alias},
    model::{AccountId, Alias, AliasId, Contact, ContactId, Disposition, Mailbox},
    store::Store,
};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::{
    ApiError, AppState,
    extract::{Auth, Body, Id},
    mailboxes::owned_mailbox,
    routes::Routes,
};
use crate::{app::os_rng, store::AdminError};

/// Fresh addresses tried when a generated one is taken.
const ATTEMPTS: usize = 8;
/// Longest display name kept for a contact.
const MAX_DISPLAY_NAME: usize = 200;

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/api/aliases", create_alias)
        .get("/api/aliases", list_aliases)
        .patch("/api/aliases/{id}", patch_alias)
        .delete("/api/aliases/{id}", delete_alias)
        .get("/api/aliases/{id}/contacts", list_contacts)
        .post("/api/aliases/{id}/contacts", create_contact)
        .patch("/api/contacts/{id}", patch_contact)
}

fn disposition(d: Disposition) -> &'static str {
    match d {
        Disposition::Drop => "drop",
        Disposition::Reject => "reject",
    }
}

/// `"drop"` or `"reject"`.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum DispositionJson {
    Drop,
    Reject,
}

impl From<DispositionJson> for Disposition {
    fn from(d: DispositionJson) -> Self {
        match d {
            DispositionJson::Drop => Disposition::Drop,
            DispositionJson::Reject => Disposition::Reject,
        }
    }
}

fn alias_json(a: &Alias) -> Value {
    json!({
        "id": a.id.0,
        "address": a.address.as_str(),
        "mailbox_id": a.mailbox.0,
        "enabled": a.enabled,
        "when_disabled": disposition(a.when_disabled),
        "display_name": a.display_name,
    })
}

fn contact_json(c: &Contact) -> Value {
    json!({
        "id": c.id.0,
        "alias_id": c.alias.0,
        "address": c.external.as_str(),
        "display_name": c.display_name,
        "reverse_alias": c.reverse_alias.as_str(),
        "blocked": c.blocked.map(disposition),
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewAlias {
    mailbox_id: Option<i64>,
    prefix: Option<String>,
    suffix: Option<bool>,
}

async fn create_alias(
    State(state): State<AppState>,
    Auth(account): Auth,
    Body(body): Body<NewAlias>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let mailbox = target_mailbox(&state, account, body.mailbox_id).await?;
    let with_suffix = body.suffix.unwrap_or(true);
    if body.suffix.is_some() && body.prefix.is_none() {
        return Err(ApiError::bad_request("\"suffix\" applies to custom aliases (with a \"prefix\")"));
    }
    if !with_suffix && !state.bare_custom_aliases {
        return Err(ApiError::bad_request("custom aliases without a random suffix are not allowed on this relay"));
    }
    let domain = state.engine.config().domains.primary();
    let mut rng = os_rng().map_err(|e| ApiError::Internal(e.to_string()))?;
    // A bare custom alias is one address: taken is taken. Generated ones draw again.
    let attempts = if with_suffix { ATTEMPTS } else { 1 };
    for _ in 0..attempts {
        let address = match &body.prefix {
            None => random_alias(&mut rng, domain),
            Some(prefix) => custom_alias(&mut rng, prefix.trim(), domain, CustomAlias { with_suffix })?,
        };
        match state.store().create_alias(account, mailbox.id, &address).await {
            Ok(id) => {
                let alias = state.store().get_alias(account, id).await?;
                return Ok((StatusCode::CREATED, axum::Json(alias_json(&alias))));
            }
            Err(AdminError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("the alias address is taken".into()))
}

/// The mailbox an alias will forward to: the one named (the account's, verified), or the
/// account's first verified mailbox.
async fn target_mailbox(state: &AppState, account: AccountId, id: Option<i64>) -> Result<Mailbox, ApiError> {
    let mailbox = match id {
        Some(id) => owned_mailbox(state, account, id).await?,
        None => {
            let all = state.store().mailboxes(account).await?;
            all.into_iter()
                .find(|m| m.verified)
                .ok_or_else(|| ApiError::Conflict("the account has no verified mailbox yet".into()))?
        }
    };
    if !mailbox.verified {
        return Err(ApiError::Conflict(format!("mailbox {} is not verified yet", mailbox.id)));
    }
    Ok(mailbox)
}

async fn list_aliases(State(state): State<AppState>, Auth(account): Auth) -> Result<axum::Json<Value>, ApiError> {
    let aliases = state.store().list_aliases(account).await?;
    Ok(axum::Json(json!({ "aliases": aliases.iter().map(alias_json).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasPatch {
    enabled: Option<bool>,
    when_disabled: Option<DispositionJson>,
    /// The name replies from the alias carry; `""` clears it.
    display_name: Option<String>,
}

async fn patch_alias(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
    Body(patch): Body<AliasPatch>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let alias = store.get_alias(account, AliasId(id)).await?;
    let enabled = patch.enabled.unwrap_or(alias.enabled);
    let when_disabled = patch.when_disabled.map_or(alias.when_disabled, Disposition::from);
    let display_name = match patch.display_name.as_deref().map(str::trim) {
        None => alias.display_name.clone(),
        Some("") => None,
        Some(name)
            if name.chars().count() > MAX_DISPLAY_NAME || name.chars().any(char::is_control) || name.contains('@') =>
        {
            return Err(ApiError::bad_request(format!(
                "a display name has at most {MAX_DISPLAY_NAME} printable characters and no '@'"
            )));
        }
        Some(name) => Some(name.to_owned()),
    };
    store.set_alias_enabled(account, alias.id, enabled, when_disabled).await?;
    if display_name != alias.display_name {
        store.set_alias_display_name(account, alias.id, display_name.as_deref()).await?;
    }
    Ok(axum::Json(alias_json(&Alias { enabled, when_disabled, display_name, ..alias })))
}

async fn delete_alias(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
) -> Result<StatusCode, ApiError> {
    state.store().delete_alias(account, AliasId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_contacts(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
) -> Result<axum::Json<Value>, ApiError> {
    let contacts = state.store().list_contacts(account, AliasId(id)).await?;
    Ok(axum::Json(json!({ "contacts": contacts.iter().map(contact_json).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewContact {
    address: String,
    display_name: Option<String>,
}

async fn create_contact(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
    Body(body): Body<NewContact>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let alias = state.store().get_alias(account, AliasId(id)).await?;
    let external = Address::parse(body.address.trim())?;
    if state.engine.config().domains.contains(external.domain()) {
        return Err(ApiError::InvalidAddress("a contact cannot be at a relay domain".into()));
    }
    let name = body.display_name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > MAX_DISPLAY_NAME || n.chars().any(char::is_control)) {
        return Err(ApiError::bad_request(format!(
            "a display name has at most {MAX_DISPLAY_NAME} printable characters"
        )));
    }
    let existed = state.store().contact_for(alias.id, &external.normalized()).await?.is_some();
    let mut rng = os_rng().map_err(|e| ApiError::Internal(e.to_string()))?;
    let contact = match state.engine.contact_at(&alias, &external, name, state.now(), &mut rng).await {
        Err(relay_engine::EngineError::RateLimited) => {
            return Err(ApiError::RateLimited("this account has made too many new contacts; try again later"));
        }
        other => other?,
    };
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(contact_json(&contact))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactPatch {
    /// Absent: unchanged; `null`: unblocked; `"drop"` / `"reject"`: blocked.
    #[serde(default, deserialize_with = "present")]
    blocked: Option<Option<DispositionJson>>,
}

/// Tells a field that is `null` (`Some(None)`) from one that is absent (`None`, by default).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

async fn patch_contact(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
    Body(patch): Body<ContactPatch>,
) -> Result<StatusCode, ApiError> {
    let Some(blocked) = patch.blocked else {
        return Err(ApiError::bad_request("nothing to change: give \"blocked\" (\"drop\", \"reject\" or null)"));
    };
    state.store().set_contact_blocked(account, ContactId(id), blocked.map(Disposition::from)).await?;
    Ok(StatusCode::NO_CONTENT)
}
