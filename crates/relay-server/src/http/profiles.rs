//! S/MIME profiles (listing, retiring, downloads) and the issuance log.
//!
//! - `GET /api/profiles`; `POST /api/profiles/{id}/retire`.
//! - `GET /api/profiles/{id}/root.pem`: the root to trust.
//! - `GET /api/profiles/{id}/chain.pem`: end entity, intermediate, root (for the PKCS#12 file).
//! - `GET /api/profiles/{id}/crl`: a CRL signed by the profile's intermediate (DER,
//!   `application/pkix-crl`), valid for a week. It lists no certificate: the store keeps no
//!   revocations yet (a blocked contact's mail is refused by the relay itself).
//! - `GET /api/events`: the issuance log (recipient certificates issued, refused replies).

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use der::{Decode, Encode, pem::LineEnding};
use pki_core::{PrivateKey, UnixTime, cert::Issuer, crl};
use relay_engine::{
    model::{AccountId, Event, Profile, ProfileId, ProfileStatus},
    seal::KeyOwner,
    store::Store,
};
use serde_json::{Value, json};
use x509_cert::Certificate;

use super::{
    ApiError, AppState,
    extract::{Auth, Id},
    routes::Routes,
};
use crate::app::os_rng;

/// How long a CRL is current, in seconds.
const CRL_LIFETIME: u64 = 7 * 86_400;

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/api/profiles", list_profiles)
        .post("/api/profiles/{id}/retire", retire_profile)
        .get("/api/profiles/{id}/root.pem", root_pem)
        .get("/api/profiles/{id}/chain.pem", chain_pem)
        .get("/api/profiles/{id}/crl", profile_crl)
        .get("/api/events", list_events)
}

pub(super) fn status(s: ProfileStatus) -> &'static str {
    match s {
        ProfileStatus::Pending => "pending",
        ProfileStatus::Active => "active",
        ProfileStatus::Retired => "retired",
    }
}

/// A profile as the API shows it: never the sealed key, never the certificates themselves
/// (those are downloads).
pub(super) fn profile_json(p: &Profile) -> Value {
    let ee = Certificate::from_der(&p.end_entity).ok();
    let tbs = ee.as_ref().map(Certificate::tbs_certificate);
    json!({
        "id": p.id.0,
        "status": status(p.status),
        "subject": tbs.map(|t| t.subject().to_string()),
        "serial": tbs.map(|t| hex(t.serial_number().as_bytes())),
        "not_before": tbs.map(|t| UnixTime::from_x509(&t.validity().not_before).0),
        "not_after": tbs.map(|t| UnixTime::from_x509(&t.validity().not_after).0),
        "has_root": p.root.is_some(),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn list_profiles(State(state): State<AppState>, Auth(account): Auth) -> Result<axum::Json<Value>, ApiError> {
    let profiles = state.store().profiles(account).await?;
    Ok(axum::Json(json!({ "profiles": profiles.iter().map(profile_json).collect::<Vec<_>>() })))
}

async fn retire_profile(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    store.set_profile_status(account, ProfileId(id), ProfileStatus::Retired).await?;
    Ok(axum::Json(profile_json(&store.get_profile(account, ProfileId(id)).await?)))
}

async fn owned_profile(state: &AppState, account: AccountId, id: i64) -> Result<Profile, ApiError> {
    Ok(state.store().get_profile(account, ProfileId(id)).await?)
}

fn pem(label: &'static str, der: &[u8]) -> Result<String, ApiError> {
    der::pem::encode_string(label, LineEnding::LF, der).map_err(|e| ApiError::Internal(format!("PEM: {e}")))
}

fn download(content_type: &'static str, name: String, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

fn not_yet(id: i64) -> ApiError {
    ApiError::NotFound(format!("profile {id} has no root yet: its ceremony is not complete"))
}

async fn root_pem(State(state): State<AppState>, Auth(account): Auth, Id(id): Id<i64>) -> Result<Response, ApiError> {
    let profile = owned_profile(&state, account, id).await?;
    let root = profile.root.ok_or_else(|| not_yet(id))?;
    Ok(download("application/x-pem-file", format!("root-{id}.pem"), pem("CERTIFICATE", &root)?.into_bytes()))
}

async fn chain_pem(State(state): State<AppState>, Auth(account): Auth, Id(id): Id<i64>) -> Result<Response, ApiError> {
    let profile = owned_profile(&state, account, id).await?;
    let (Some(root), Some(intermediate)) = (profile.root, profile.intermediate) else { return Err(not_yet(id)) };
    let mut text = pem("CERTIFICATE", &profile.end_entity)?;
    text.push_str(&pem("CERTIFICATE", &intermediate)?);
    text.push_str(&pem("CERTIFICATE", &root)?);
    Ok(download("application/x-pem-file", format!("chain-{id}.pem"), text.into_bytes()))
}

async fn profile_crl(
    State(state): State<AppState>,
    Auth(account): Auth,
    Id(id): Id<i64>,
) -> Result<Response, ApiError> {
    let profile = owned_profile(&state, account, id).await?;
    let intermediate = profile.intermediate.ok_or_else(|| not_yet(id))?;
    let sealed = profile.sealed_intermediate_key;
    let end_entity = profile.end_entity;
    let engine = state.engine.clone();
    let now = state.now();
    let der = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let internal = |e: &dyn core::fmt::Display| ApiError::Internal(format!("CRL: {e}"));
        let cert = Certificate::from_der(&intermediate).map_err(|e| internal(&e))?;
        let owner = KeyOwner::Intermediate { account, end_entity: &end_entity };
        let key_der = engine.master_key().unseal(&sealed, &owner).map_err(|e| internal(&e))?;
        let key = PrivateKey::from_pkcs8_der(&key_der).map_err(|e| internal(&e))?;
        let issuer = Issuer::from_certificate(&cert).map_err(|e| internal(&e))?;
        let mut rng = os_rng().map_err(|e| internal(&e))?;
        // The CRL number only has to grow: the time does.
        let list = crl::build(&issuer, &[], now.0, now, now.plus_secs(CRL_LIFETIME)).map_err(|e| internal(&e))?;
        let signed = list.sign(&key, &mut rng).map_err(|e| internal(&e))?;
        signed.to_der().map_err(|e| internal(&e))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("CRL task: {e}")))??;
    Ok(download("application/pkix-crl", format!("profile-{id}.crl"), der))
}

fn event_json(e: &Event) -> Option<Value> {
    match e {
        Event::Issued { profile, contact, serial, subject, at, .. } => Some(json!({
            "kind": "issued",
            "profile_id": profile.0,
            "contact_id": contact.0,
            "serial": serial,
            "subject": subject,
            "at": at.0,
        })),
        Event::ReplyRefused { contact, sender, reason, at, .. } => Some(json!({
            "kind": "reply_refused",
            "contact_id": contact.0,
            "sender": sender,
            "reason": reason,
            "at": at.0,
        })),
        Event::NextHopRefused { alias, contact, code, text, at, .. } => Some(json!({
            "kind": "next_hop_refused",
            "alias_id": alias.0,
            "contact_id": contact.map(|c| c.0),
            "code": code,
            "text": text,
            "at": at.0,
        })),
        _ => None,
    }
}

async fn list_events(State(state): State<AppState>, Auth(account): Auth) -> Result<axum::Json<Value>, ApiError> {
    let events = state.store().events(account).await?;
    Ok(axum::Json(json!({ "events": events.iter().filter_map(event_json).collect::<Vec<_>>() })))
}
