//! What the admin operations can fail with, and how database errors map onto it and onto the
//! engine's [`StoreError`].

use relay_engine::store::StoreError;

/// An admin operation failed. The HTTP API maps [`NotFound`](Self::NotFound) to 404,
/// [`Conflict`](Self::Conflict) to 409, [`Invalid`](Self::Invalid) to 422 and the rest to 5xx.
#[derive(Debug)]
#[non_exhaustive]
pub enum AdminError {
    /// No row with this id belongs to the account (it may belong to another one: the caller
    /// cannot tell, and must not).
    NotFound {
        /// What was looked for: `"account"`, `"alias"`, …
        what: &'static str,
        /// The id asked for.
        id: i64,
    },
    /// A unique key is taken (an alias or mailbox address), or the row is not in a state that
    /// allows the change (a profile that is no longer pending).
    Conflict {
        /// What clashed: `"alias address"`, `"active profile"`, …
        what: &'static str,
    },
    /// The request makes no sense for the data given (an active profile without its chain).
    Invalid {
        /// What is wrong.
        what: &'static str,
    },
    /// The database URL or options are unusable. Never contains the URL (it may hold a password).
    Config(String),
    /// A migration failed, or one already applied was changed.
    Migrate(String),
    /// The database failed: unreachable, or it answered with an error or with data this code
    /// cannot read.
    Store(StoreError),
}

impl core::fmt::Display for AdminError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AdminError::NotFound { what, id } => write!(f, "no {what} {id} in this account"),
            AdminError::Conflict { what } => write!(f, "conflict: {what}"),
            AdminError::Invalid { what } => write!(f, "invalid: {what}"),
            AdminError::Config(m) => write!(f, "database configuration: {m}"),
            AdminError::Migrate(m) => write!(f, "database migration: {m}"),
            AdminError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AdminError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AdminError::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        AdminError::Store(e)
    }
}

impl From<sqlx::Error> for AdminError {
    fn from(e: sqlx::Error) -> Self {
        AdminError::Store(db(e))
    }
}

impl From<AdminError> for StoreError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Store(e) => e,
            AdminError::Config(_) | AdminError::Migrate(_) => StoreError::Unavailable(e.to_string()),
            AdminError::NotFound { .. } | AdminError::Conflict { .. } | AdminError::Invalid { .. } => {
                StoreError::Inconsistent(e.to_string())
            }
        }
    }
}

/// A database error as the engine sees it: a broken constraint or unreadable data is
/// [`StoreError::Inconsistent`]; everything else (connection, I/O, pool, protocol, a server
/// error) is [`StoreError::Unavailable`]. Both end as a 451 for the message at hand.
pub(super) fn db(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d)
            if d.is_unique_violation() || d.is_foreign_key_violation() || d.is_check_violation() =>
        {
            StoreError::Inconsistent(format!("constraint: {}", d.message()))
        }
        sqlx::Error::RowNotFound
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. } => StoreError::Inconsistent(e.to_string()),
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// Connecting failed: always [`StoreError::Unavailable`].
pub(super) fn unavailable(e: sqlx::Error) -> AdminError {
    AdminError::Store(StoreError::Unavailable(e.to_string()))
}

/// Maps a unique violation to [`AdminError::Conflict`] about `what`, anything else as usual.
pub(super) fn conflict(what: &'static str) -> impl FnOnce(sqlx::Error) -> AdminError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => AdminError::Conflict { what },
        _ => e.into(),
    }
}

/// `Ok` if an `UPDATE`/`DELETE` touched a row, [`AdminError::NotFound`] otherwise.
pub(super) fn found(rows: u64, what: &'static str, id: i64) -> Result<(), AdminError> {
    if rows == 0 { Err(AdminError::NotFound { what, id }) } else { Ok(()) }
}
