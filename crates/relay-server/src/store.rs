//! SQL stores: the engine's [`Store`](relay_engine::store::Store) on SQLite (the default: one
//! file, WAL mode) or PostgreSQL (one database shared by many relay nodes), plus the admin
//! operations the HTTP API and the CLI need.
//!
//! - [`SqlStore`]: a pool for either database. [`SqlStore::connect`] takes `sqlite://PATH?mode=rwc`
//!   or `postgres://…` and runs the embedded migrations.
//! - The [`Store`](relay_engine::store::Store) implementation has the semantics of
//!   [`MemoryStore`](relay_engine::memory::MemoryStore): lookups by normalized address, and
//!   inserts of contacts and recipient certificates that return the row that won a race
//!   (`INSERT … ON CONFLICT DO NOTHING`, then `SELECT`).
//! - Admin methods (`create_alias`, `set_contact_blocked`, …) take the account and touch only
//!   rows of that account: ownership is part of every `WHERE`. They fail with [`AdminError`].
//!
//! One SQL text serves both databases: placeholders are `$1, $2, …` (SQLite reads them too),
//! and the `with_pool!` macro type-checks each query once per backend. Only the migrations differ
//! (`migrations/sqlite`, `migrations/postgres`: identity columns and blob types have no common
//! spelling); `tests/store.rs` checks that both define the same tables and columns.

use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool, SqlitePool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

/// Runs `$body` with `$pool` bound to the SQLite or the PostgreSQL pool. The body is compiled
/// once per backend, so one query text and one row type serve both.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::store::SqlStore::Sqlite($pool) => $body,
            $crate::store::SqlStore::Postgres($pool) => $body,
        }
    };
}

/// Runs an `UPDATE` or `DELETE` built by `$query` and yields how many rows it touched.
macro_rules! affected {
    ($store:expr, $query:expr) => {
        with_pool!($store, p => $query.execute(p).await.map(|r| r.rows_affected()))
    };
}

mod admin;
mod app_password;
mod engine;
mod error;
mod profile;
mod reseal;
mod rows;
mod token;

pub use admin::{TokenId, TokenInfo};
pub use app_password::{AppPasswordCandidate, AppPasswordInfo};
pub use error::AdminError;
pub use token::PlainToken;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long SQLite waits for another connection's write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a query waits for a free connection: short, so that SMTP answers 451 promptly.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections per pool. SQLite has one writer at a time whatever this says; readers run in
/// parallel under WAL.
const SQLITE_CONNECTIONS: u32 = 8;
/// Connections per pool and relay node on PostgreSQL.
const POSTGRES_CONNECTIONS: u32 = 16;

/// A connection pool to the relay's database.
#[derive(Clone, Debug)]
pub enum SqlStore {
    /// A SQLite file.
    Sqlite(SqlitePool),
    /// A PostgreSQL database.
    Postgres(PgPool),
}

impl SqlStore {
    /// Connects to `url` and brings the schema up to date.
    ///
    /// - `sqlite://PATH` opens a file (add `?mode=rwc` to create it), in WAL mode, with foreign
    ///   keys on and a busy timeout of five seconds.
    /// - `postgres://USER:PASSWORD@HOST/DB` (or `postgresql://`) connects to PostgreSQL.
    ///
    /// # Errors
    /// [`AdminError::Config`] for a URL of another scheme or one that does not parse,
    /// [`AdminError::Store`] with [`StoreError::Unavailable`](relay_engine::store::StoreError)
    /// if the database cannot be reached, [`AdminError::Migrate`] if the migrations fail.
    pub async fn connect(url: &str) -> Result<Self, AdminError> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url).map_err(|e| AdminError::Config(e.to_string()))?;
                Self::connect_sqlite(options).await
            }
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url).map_err(|e| AdminError::Config(e.to_string()))?;
                Self::connect_postgres(options).await
            }
            // Never echo the URL: it may hold a password.
            other => Err(AdminError::Config(format!("unsupported database scheme {other:?}; use sqlite or postgres"))),
        }
    }

    /// Opens a SQLite database with `options`, forcing WAL mode, foreign keys, the busy timeout
    /// and `synchronous = FULL`; then migrates. FULL makes each commit durable before the
    /// pipeline goes on: a reverse alias is on disk before a message that names it is delivered.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_sqlite(options: SqliteConnectOptions) -> Result<Self, AdminError> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new()
            .max_connections(SQLITE_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(error::unavailable)?;
        let store = SqlStore::Sqlite(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to PostgreSQL with `options` (set a `search_path` there to use another schema),
    /// then migrates.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_postgres(options: PgConnectOptions) -> Result<Self, AdminError> {
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(error::unavailable)?;
        let store = SqlStore::Postgres(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations that have not run yet. [`connect`](Self::connect) already does;
    /// running it again is harmless. On PostgreSQL an advisory lock keeps nodes that start
    /// together from migrating twice.
    ///
    /// # Errors
    /// [`AdminError::Migrate`] if a migration fails or an applied one was edited since.
    pub async fn migrate(&self) -> Result<(), AdminError> {
        let done = match self {
            SqlStore::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            SqlStore::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        done.map_err(|e| AdminError::Migrate(e.to_string()))
    }

    /// `"sqlite"` or `"postgres"`, for logs and health checks.
    #[must_use]
    pub fn backend(&self) -> &'static str {
        match self {
            SqlStore::Sqlite(_) => "sqlite",
            SqlStore::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection; later calls fail with
    /// [`StoreError::Unavailable`](relay_engine::store::StoreError).
    pub async fn close(&self) {
        match self {
            SqlStore::Sqlite(pool) => pool.close().await,
            SqlStore::Postgres(pool) => pool.close().await,
        }
    }
}
