//! The API's one error type and its JSON shape.
//!
//! ```json
//! {"error": {"code": "not_found", "message": "no alias 7 in this account"}}
//! ```
//!
//! | variant | status | code |
//! |---|---|---|
//! | [`Unauthorized`](ApiError::Unauthorized) | 401 | `unauthorized` |
//! | [`NotFound`](ApiError::NotFound) | 404 | `not_found` |
//! | [`MethodNotAllowed`](ApiError::MethodNotAllowed) | 405 | `method_not_allowed` |
//! | [`Conflict`](ApiError::Conflict) | 409 | `conflict` |
//! | [`InvalidAddress`](ApiError::InvalidAddress) | 422 | `invalid_address` |
//! | [`InvalidRequest`](ApiError::InvalidRequest) | 400 (or the status of the body's rejection: 413, 415, 422) | `invalid_request` |
//! | [`Unavailable`](ApiError::Unavailable) | 503 | `internal` |
//! | [`Internal`](ApiError::Internal) | 500 | `internal` |
//!
//! Every 5xx answers `{"error":{"code":"internal","message":"internal error"}}` and logs the
//! detail; nothing about the database, a query or a key ever reaches the client.

use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use relay_engine::{EngineError, address::AddressError, store::StoreError};
use serde_json::json;

use crate::store::AdminError;

/// What an API call can fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// No valid bearer token (or admin token, for account creation).
    Unauthorized(&'static str),
    /// No such resource in the caller's account: it does not exist, or another account owns it.
    NotFound(String),
    /// The route exists, but not with this method.
    MethodNotAllowed,
    /// A unique key is taken, or the resource is not in a state that allows the change.
    Conflict(String),
    /// A mail address or alias prefix that cannot be used.
    InvalidAddress(String),
    /// The request is malformed or makes no sense: bad JSON, a missing field, a bad id.
    InvalidRequest {
        /// 400, or the status axum gave the rejected body (413, 415, 422).
        status: StatusCode,
        /// What is wrong, for the client.
        message: String,
    },
    /// Too many requests of this kind; try again later (429).
    RateLimited(&'static str),
    /// The database (or another dependency) is unavailable; logged, never shown.
    Unavailable(String),
    /// Anything else that is our fault; logged, never shown.
    Internal(String),
}

impl ApiError {
    /// A 400 `invalid_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::InvalidRequest { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::InvalidAddress(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::InvalidRequest { status, .. } => *status,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::InvalidAddress(_) => "invalid_address",
            ApiError::InvalidRequest { .. } => "invalid_request",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Unavailable(_) | ApiError::Internal(_) => "internal",
        }
    }

    /// The message shown to the client: the detail for 4xx, `internal error` for 5xx.
    #[must_use]
    pub fn message(&self) -> &str {
        match self {
            ApiError::Unauthorized(m) | ApiError::RateLimited(m) => m,
            ApiError::NotFound(m) | ApiError::Conflict(m) | ApiError::InvalidAddress(m) => m,
            ApiError::InvalidRequest { message, .. } => message,
            ApiError::MethodNotAllowed => "method not allowed on this resource",
            ApiError::Unavailable(_) | ApiError::Internal(_) => "internal error",
        }
    }
}

impl core::fmt::Display for ApiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ApiError::Unavailable(detail) | ApiError::Internal(detail) => write!(f, "{}: {detail}", self.code()),
            _ => write!(f, "{}: {}", self.code(), self.message()),
        }
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), "API request failed: {self}");
        }
        let body = Json(json!({ "error": { "code": self.code(), "message": self.message() } }));
        let mut response = (status, body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound { what, id } => ApiError::NotFound(format!("no {what} {id} in this account")),
            AdminError::Conflict { what } => ApiError::Conflict(format!("conflict: {what}")),
            AdminError::Invalid { what } => ApiError::Conflict(what.to_owned()),
            AdminError::Store(e) => e.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(e) => e.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<AddressError> for ApiError {
    fn from(e: AddressError) -> Self {
        ApiError::InvalidAddress(e.to_string())
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::InvalidRequest { status: r.status(), message: r.body_text() }
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        // A malformed id names nothing: say so as for any other unknown resource.
        match r {
            axum::extract::rejection::PathRejection::FailedToDeserializePathParams(_) => {
                ApiError::NotFound("no such resource".into())
            }
            other => ApiError::Internal(other.body_text()),
        }
    }
}

/// The answer for a path no route matches.
pub(super) async fn not_found_fallback() -> ApiError {
    ApiError::NotFound("no such route".into())
}

/// The answer for a route asked with a method it does not have.
pub(super) async fn method_not_allowed_fallback() -> ApiError {
    ApiError::MethodNotAllowed
}
