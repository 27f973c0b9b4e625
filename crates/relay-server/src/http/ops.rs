//! Operations: `/healthz` (the database answers), `/metrics` (Prometheus text) and the OpenAPI
//! document. None of them needs a token, and none shows anything about an account.

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{ApiError, AppState, openapi, routes::Routes};
use crate::store::SqlStore;

pub(super) fn routes() -> Routes {
    Routes::new().get("/healthz", healthz).get("/metrics", metrics).get("/api/openapi.json", openapi_json)
}

async fn healthz(State(state): State<AppState>) -> Result<axum::Json<Value>, ApiError> {
    let store = state.store();
    let ping = match store {
        SqlStore::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
        SqlStore::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
    };
    ping.map_err(|e| ApiError::Unavailable(format!("health check: database: {e}")))?;
    Ok(axum::Json(json!({ "status": "ok", "database": store.backend() })))
}

async fn metrics(State(state): State<AppState>, parts: axum::http::request::Parts) -> Response {
    let allowed = match &state.metrics_token {
        Some(token) => super::extract::bearer_is(&parts.headers, token.expose()),
        None => super::extract::client_ip(&parts).is_none_or(|ip| ip.is_loopback()),
    };
    if !allowed {
        return ApiError::Unauthorized("/metrics needs the metrics token").into_response();
    }
    let pool = u64::try_from(state.engine.pool().len()).unwrap_or(u64::MAX);
    let mut text =
        state.metrics().render(&[("mailrelay_key_pool_keys", "Recipient keys generated and waiting.", pool)]);
    state.outcomes().render(&mut text);
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

async fn openapi_json() -> axum::Json<Value> {
    axum::Json(openapi::document())
}
