//! What every handler shares: the engine (and through it the store), the mailer for
//! verification codes, the signup policy, the clock and the metrics.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use pki_core::UnixTime;
use relay_engine::Engine;

use super::{
    mailer::{Mailer, SmarthostMailer},
    metrics::Metrics,
};
use crate::{app::App, config::Secret, store::SqlStore};

/// The current time, as handlers see it (tests pin it).
pub type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;

/// Who may create an account with `POST /api/accounts`.
///
/// The default is [`Closed`](Signup::Closed): accounts are then made with the CLI
/// (`mailrelay account create`, `mailrelay token create`). [`from_env`](Signup::from_env) reads
/// `MAILRELAY_ADMIN_TOKEN` (the operator's token) and `MAILRELAY_OPEN_SIGNUP`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Signup {
    /// Nobody: the endpoint answers 401.
    #[default]
    Closed,
    /// Whoever presents this bearer token (compared by SHA-256 digest, in constant time).
    AdminToken(Secret),
    /// Anyone. Only for a private deployment or a demo: it lets strangers make accounts.
    Open,
}

impl Signup {
    /// `MAILRELAY_ADMIN_TOKEN` if set and not empty; else [`Open`](Signup::Open) if
    /// `MAILRELAY_OPEN_SIGNUP` is `1`, `true` or `yes`; else [`Closed`](Signup::Closed).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Self {
        if let Some(token) = env("MAILRELAY_ADMIN_TOKEN").filter(|t| !t.trim().is_empty()) {
            return Signup::AdminToken(Secret::new(token.trim()));
        }
        match env("MAILRELAY_OPEN_SIGNUP").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("1" | "true" | "yes") => Signup::Open,
            _ => Signup::Closed,
        }
    }
}

/// Shared state of the HTTP API. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(super) engine: Arc<Engine<SqlStore>>,
    pub(super) mailer: Arc<dyn Mailer>,
    pub(super) signup: Signup,
    pub(super) bare_custom_aliases: bool,
    clock: Clock,
    metrics: Arc<Metrics>,
    outcomes: Arc<crate::outcomes::Outcomes>,
    /// Wrong verification codes per mailbox since its code was sent (this node only).
    pub(super) code_failures: Arc<Mutex<HashMap<i64, u32>>>,
    /// When codes were mailed, per `account:ID` and `address:ADDR` (this node only).
    pub(super) code_sends: Arc<Mutex<HashMap<String, Vec<u64>>>>,
    /// Bad bearer tokens per client address.
    pub(super) bad_tokens: Arc<super::extract::BadTokens>,
    /// The token `/metrics` requires; `None`: loopback clients only.
    pub(super) metrics_token: Option<Secret>,
}

impl AppState {
    /// State over `engine`, mailing verification codes with `mailer`. Signup is closed, custom
    /// aliases always get a random suffix, and the clock is the system's.
    pub fn new(engine: Arc<Engine<SqlStore>>, mailer: Arc<dyn Mailer>) -> Self {
        AppState {
            engine,
            mailer,
            signup: Signup::Closed,
            bare_custom_aliases: false,
            clock: Arc::new(system_now),
            metrics: Arc::new(Metrics::default()),
            outcomes: Arc::default(),
            code_failures: Arc::new(Mutex::new(HashMap::new())),
            code_sends: Arc::new(Mutex::new(HashMap::new())),
            bad_tokens: Arc::default(),
            metrics_token: None,
        }
    }

    /// The state of an assembled relay: its engine, its next hop as mailer, and the signup
    /// policy from `env` ([`Signup::from_env`]).
    pub fn from_app(app: &App, env: impl Fn(&str) -> Option<String>) -> Self {
        let mut state = AppState::new(app.engine.clone(), Arc::new(SmarthostMailer::new(app.next_hop.clone())))
            .with_signup(Signup::from_env(env));
        state.outcomes = app.outcomes.clone();
        state.metrics_token = app.config.http.metrics_token.clone();
        state
    }

    /// Sets who may create accounts.
    #[must_use]
    pub fn with_signup(mut self, signup: Signup) -> Self {
        self.signup = signup;
        self
    }

    /// Allows custom aliases without the random suffix (`{"prefix": "shop", "suffix": false}`).
    /// Off by default: on a shared relay domain the bare names are one namespace for every
    /// user, first come first served, and easy to probe (see
    /// [`CustomAlias`](relay_engine::address::CustomAlias)).
    #[must_use]
    pub fn with_bare_custom_aliases(mut self, allow: bool) -> Self {
        self.bare_custom_aliases = allow;
        self
    }

    /// Requires this bearer token for `/metrics`.
    #[must_use]
    pub fn with_metrics_token(mut self, token: Secret) -> Self {
        self.metrics_token = Some(token);
        self
    }

    /// Replaces the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine<SqlStore>> {
        &self.engine
    }

    /// The store.
    pub fn store(&self) -> &SqlStore {
        self.engine.store()
    }

    /// The current time.
    pub fn now(&self) -> UnixTime {
        (self.clock)()
    }

    pub(super) fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    pub(super) fn outcomes(&self) -> &crate::outcomes::Outcomes {
        &self.outcomes
    }
}

fn system_now() -> UnixTime {
    UnixTime(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}
