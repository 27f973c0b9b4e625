//! Test support for the HTTP API tests: the real router over a real SQLite file in a temporary
//! directory, a mailer that captures what it is asked to send, a settable clock, and helpers
//! that make accounts and verified mailboxes through the API itself. Included by `http.rs` and
//! `http_ownership.rs` as a module; built on its own it is an empty test crate.
#![allow(dead_code, unused_macros, clippy::unwrap_used, clippy::panic)]

use std::{
    str::FromStr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use http_body_util::BodyExt;
use pki_core::{KeyAlgorithm, UnixTime};
use relay_engine::{Engine, KeyPool, address::RelayDomains, seal::MasterKey};
use relay_server::{
    config::Secret,
    delivery::HopError,
    http::{AppState, MailFuture, Mailer, Signup, app},
    store::SqlStore,
};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};
use tower::ServiceExt;

/// The admin token the test relays are configured with.
pub(crate) const ADMIN: &str = "admin-secret-for-tests";

/// One message the API asked to send.
#[derive(Clone, Debug)]
pub(crate) struct Sent {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) data: String,
}

/// A [`Mailer`] that records messages, and fails while `fail` is set.
#[derive(Default)]
pub(crate) struct Capture {
    pub(crate) sent: Mutex<Vec<Sent>>,
    pub(crate) fail: AtomicBool,
}

impl Mailer for Capture {
    fn send<'a>(&'a self, mail_from: &'a str, rcpt: &'a str, data: &'a [u8]) -> MailFuture<'a> {
        Box::pin(async move {
            if self.fail.load(Ordering::SeqCst) {
                return Err(HopError::Temporary("421 test next hop is down".into()));
            }
            let data = String::from_utf8(data.to_vec()).unwrap();
            self.sent.lock().unwrap().push(Sent { from: mail_from.into(), to: rcpt.into(), data });
            Ok(())
        })
    }
}

impl Capture {
    /// The verification code in the last message sent to `to`, as shown (`xxxxx-xxxxx`).
    pub(crate) fn code_for(&self, to: &str) -> String {
        let sent = self.sent.lock().unwrap();
        let mail = sent.iter().rev().find(|m| m.to == to).unwrap_or_else(|| panic!("no mail to {to}"));
        let line = mail.data.lines().find(|l| l.starts_with("Your verification code is: ")).unwrap();
        line.trim_start_matches("Your verification code is: ").trim().to_owned()
    }
}

/// A relay under test.
pub(crate) struct Env {
    pub(crate) app: Router,
    pub(crate) state: AppState,
    pub(crate) mail: Arc<Capture>,
    pub(crate) clock: Arc<AtomicU64>,
    _dir: Option<tempfile::TempDir>,
    /// `DATABASE_URL` and the schema this relay lives in, on PostgreSQL.
    pg: Option<(String, String)>,
}

/// The current time in seconds.
pub(crate) fn system_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Which database a relay under test uses.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend {
    /// A new SQLite file in a temporary directory.
    Sqlite,
    /// A new schema in the `DATABASE_URL` database.
    Postgres,
}

/// A relay on a fresh database, signup by [`ADMIN`] token; `configure` may change the state.
/// `None` (after saying why) for PostgreSQL without `DATABASE_URL`; that panics under `CI` or
/// `INTEROP_REQUIRED`, as the store tests do.
pub(crate) async fn env_on(backend: Backend, configure: impl FnOnce(AppState) -> AppState) -> Option<Env> {
    let (store, dir, pg) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("relay.db").display());
            (SqlStore::connect(&url).await.unwrap(), Some(dir), None)
        }
        Backend::Postgres => {
            let url = pg_url()?;
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).unwrap();
            let schema = format!("http_test_{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
            let mut admin = PgConnection::connect(&url).await.unwrap();
            admin.execute(format!("CREATE SCHEMA {schema}").as_str()).await.unwrap();
            admin.close().await.unwrap();
            let options = PgConnectOptions::from_str(&url).unwrap().options([("search_path", schema.as_str())]);
            (SqlStore::connect_postgres(options).await.unwrap(), None, Some((url, schema)))
        }
    };
    let domains = RelayDomains::new(["pportal.io"]).unwrap();
    let engine = Engine::new(
        store,
        relay_engine::Config::new(domains),
        MasterKey::from_bytes([7; 32]),
        KeyPool::new(KeyAlgorithm::P256, 0),
    );
    let mail = Arc::new(Capture::default());
    let clock = Arc::new(AtomicU64::new(system_now()));
    let tick = clock.clone();
    let state = AppState::new(Arc::new(engine), mail.clone())
        .with_signup(Signup::AdminToken(Secret::new(ADMIN)))
        .with_clock(Arc::new(move || UnixTime(tick.load(Ordering::SeqCst))));
    let state = configure(state);
    Some(Env { app: app(state.clone()), state, mail, clock, _dir: dir, pg })
}

/// `DATABASE_URL`, or `None` after saying why; panics when CI requires PostgreSQL.
fn pg_url() -> Option<String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Some(url);
    }
    let required = ["CI", "INTEROP_REQUIRED"].iter().any(|v| std::env::var(v).is_ok_and(|x| !x.is_empty() && x != "0"));
    assert!(!required, "DATABASE_URL is not set, and CI/INTEROP_REQUIRED make the PostgreSQL tests mandatory");
    eprintln!("skipped: set DATABASE_URL=postgres://USER:PASSWORD@HOST/DB to run the HTTP tests on PostgreSQL");
    None
}

/// A relay on SQLite.
pub(crate) async fn env_with(configure: impl FnOnce(AppState) -> AppState) -> Env {
    env_on(Backend::Sqlite, configure).await.unwrap()
}

/// [`env_with`] with the defaults.
pub(crate) async fn env() -> Env {
    env_with(|s| s).await
}

/// The identity configuration.
pub(crate) fn defaults(s: AppState) -> AppState {
    s
}

/// Runs each `case(&Env)` on SQLite (`sqlite::case`) and on PostgreSQL (`postgres::case`),
/// each on a relay set up by `configure` (default: [`defaults`]).
macro_rules! both {
    (@configure) => { crate::http_support::defaults };
    (@configure $configure:expr) => { $configure };
    ($($case:ident $(=> $configure:expr)?),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let configure = both!(@configure $($configure)?);
                    let e = crate::http_support::env_on(crate::http_support::Backend::Sqlite, configure).await.unwrap();
                    super::$case(&e).await;
                    e.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let configure = both!(@configure $($configure)?);
                    let Some(e) = crate::http_support::env_on(crate::http_support::Backend::Postgres, configure).await
                    else {
                        return;
                    };
                    super::$case(&e).await;
                    e.finish().await;
                }
            )*
        }
    };
}

/// A response: status, headers and the body (JSON if it parses, else a string).
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Value,
    pub(crate) bytes: Vec<u8>,
}

impl Env {
    /// Closes the store and, on PostgreSQL, drops the test's schema.
    pub(crate) async fn finish(self) {
        self.state.store().close().await;
        if let Some((url, schema)) = &self.pg {
            let mut admin = PgConnection::connect(url).await.unwrap();
            admin.execute(format!("DROP SCHEMA {schema} CASCADE").as_str()).await.unwrap();
        }
    }

    /// Sends one request through the router.
    pub(crate) async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.send(req).await
    }

    /// Sends a prepared request.
    pub(crate) async fn send(&self, req: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        let body =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply { status, headers, body, bytes }
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub(crate) async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// A new account through the API; its id and first token.
    pub(crate) async fn account(&self) -> (i64, String) {
        let r = self.call(Method::POST, "/api/accounts", Some(ADMIN), Some(json!({}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        (r.body["account"]["id"].as_i64().unwrap(), r.body["token"]["token"].as_str().unwrap().to_owned())
    }

    /// Adds `address` to the account and confirms it with the mailed code; the mailbox id.
    pub(crate) async fn verified_mailbox(&self, token: &str, address: &str) -> i64 {
        let id = self.unverified_mailbox(token, address).await;
        let code = self.mail.code_for(address);
        let r = self.post(&format!("/api/mailboxes/{id}/confirm"), token, json!({ "code": code })).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["verified"], true);
        id
    }

    /// Adds `address` to the account, unverified; the mailbox id.
    pub(crate) async fn unverified_mailbox(&self, token: &str, address: &str) -> i64 {
        let r = self.post("/api/mailboxes", token, json!({ "address": address })).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_i64().unwrap()
    }

    /// A random alias of the account's first verified mailbox; its id and address.
    pub(crate) async fn alias(&self, token: &str) -> (i64, String) {
        let r = self.post("/api/aliases", token, json!({})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        (r.body["id"].as_i64().unwrap(), r.body["address"].as_str().unwrap().to_owned())
    }

    /// A contact of the alias; its id.
    pub(crate) async fn contact(&self, token: &str, alias: i64, address: &str) -> i64 {
        let r = self.post(&format!("/api/aliases/{alias}/contacts"), token, json!({ "address": address })).await;
        assert!(r.status.is_success(), "{}", r.body);
        r.body["id"].as_i64().unwrap()
    }
}

/// Asserts the JSON error shape and code.
pub(crate) fn assert_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert!(r.body["error"]["message"].is_string(), "{}", r.body);
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(1), "only \"error\": {}", r.body);
    assert_eq!(r.body["error"].as_object().map(|o| o.len()), Some(2), "only code and message: {}", r.body);
    assert_eq!(r.headers.get(header::CONTENT_TYPE).unwrap(), "application/json");
}
