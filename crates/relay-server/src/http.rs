//! The HTTP API: JSON over axum, described by the OpenAPI document at `/api/openapi.json`.
//!
//! [`app`] builds the whole [`Router`] from one `routes()` per module (accounts and tokens,
//! mailboxes, aliases and contacts, profiles and the ceremony, operations). Every route is
//! registered through a small `Routes` builder, which also records its method and path: that
//! table is what [`route_table`] returns and what the OpenAPI test compares with the document.
//!
//! - **Errors** are one [`ApiError`]: `{"error": {"code": "not_found", "message": "…"}}` with a
//!   stable `code`. A 5xx body is always `{"error":{"code":"internal","message":"internal
//!   error"}}`; the detail goes to the log only.
//! - **Authentication** is `Authorization: Bearer <token>`; the token is looked up by its
//!   SHA-256 ([`SqlStore::account_for_token`](crate::store::SqlStore::account_for_token)).
//!   Without a valid one: 401 `unauthorized`.
//! - **Ownership**: every handler passes the authenticated account to the store, whose SQL only
//!   touches that account's rows. Another account's resource is 404 `not_found`, exactly like
//!   one that does not exist, so ids cannot be probed.
//! - **Bootstrap** (`POST /api/accounts`) is closed unless configured: see [`Signup`].
//! - `/healthz` pings the database; `/metrics` is Prometheus text (requests by route and status,
//!   messages by outcome and reason, build info, key pool), for the metrics token
//!   (`[http] metrics_token`) or, without one, for loopback clients only.
//! - **Bounds**: request bodies are limited to [`MAX_BODY`] (413), and a client address that
//!   presents [`MAX_BAD_TOKENS`] bad bearer tokens within a minute gets 429 for every request
//!   with a token until the minute is over, valid token or not (so the 429 tells nothing about
//!   the token).

use std::net::SocketAddr;

use axum::{Router, extract::DefaultBodyLimit};
use tokio::{net::TcpListener, sync::watch};

mod accounts;
mod aliases;
mod app_passwords;
mod ceremony;
mod error;
mod extract;
mod mailboxes;
mod mailer;
mod metrics;
mod openapi;
mod ops;
mod profiles;
mod routes;
mod state;
mod web;

pub use error::ApiError;
pub use mailer::{MailFuture, Mailer, SmarthostMailer};
pub use state::{AppState, Clock, Signup};

/// Largest request body, in bytes (a CSR or a certificate chain in PEM is a few KB).
pub const MAX_BODY: usize = 64 * 1024;
/// Bad bearer tokens one client address may present per minute.
pub const MAX_BAD_TOKENS: u32 = 10;

/// The whole API over `state`.
pub fn app(state: AppState) -> Router {
    let metrics = state.metrics();
    all_routes()
        .into_router()
        .merge(web::router())
        .fallback(error::not_found_fallback)
        .method_not_allowed_fallback(error::method_not_allowed_fallback)
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Every route of [`app`] as `(method, path)`, in axum's path syntax (`/api/aliases/{id}`), which
/// is also OpenAPI's.
pub fn route_table() -> Vec<(String, &'static str)> {
    all_routes().table().iter().map(|(m, p)| (m.as_str().to_owned(), *p)).collect()
}

fn all_routes() -> routes::Routes {
    routes::Routes::new()
        .merge(accounts::routes())
        .merge(mailboxes::routes())
        .merge(app_passwords::routes())
        .merge(aliases::routes())
        .merge(profiles::routes())
        .merge(ceremony::routes())
        .merge(ops::routes())
}

/// Serves [`app`] on `listener` until `stop` turns true; requests under way then finish.
///
/// # Errors
/// If accepting connections fails.
pub async fn serve(listener: TcpListener, state: AppState, mut stop: watch::Receiver<bool>) -> std::io::Result<()> {
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
}
