-- The mail relay's state, SQLite flavour. migrations/postgres/0001_init.sql defines the same
-- tables, columns, keys and indexes in PostgreSQL's types; tests/store.rs checks that they agree.
-- Times are Unix seconds (BIGINT). Booleans are 0/1. Blobs hold DER certificates and sealed keys.
-- Tables are STRICT, so a value of the wrong type is refused instead of stored.

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    strict      INTEGER NOT NULL DEFAULT 0 CHECK (strict IN (0, 1)),
    created_at  INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
) STRICT;

-- Only the SHA-256 of a token is kept; the token itself is shown once, when it is made.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash    BLOB    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
    last_used_at  INTEGER
) STRICT;
CREATE INDEX api_tokens_account ON api_tokens (account_id);

CREATE TABLE mailboxes (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id         INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    address            TEXT    NOT NULL,
    address_norm       TEXT    NOT NULL UNIQUE,
    verified           INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    verify_code_hash   BLOB,
    verify_expires_at  INTEGER,
    created_at         INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
    UNIQUE (id, account_id)
) STRICT;
CREATE INDEX mailboxes_account ON mailboxes (account_id);

-- (mailbox_id, account_id) references the mailbox *of the same account*: an alias can never
-- forward to another account's mailbox, whatever the code above does.
CREATE TABLE aliases (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mailbox_id     INTEGER NOT NULL,
    address        TEXT    NOT NULL,
    address_norm   TEXT    NOT NULL UNIQUE,
    enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    when_disabled  TEXT    NOT NULL DEFAULT 'drop' CHECK (when_disabled IN ('drop', 'reject')),
    created_at     INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
    FOREIGN KEY (mailbox_id, account_id) REFERENCES mailboxes (id, account_id)
) STRICT;
CREATE INDEX aliases_account ON aliases (account_id);
CREATE INDEX aliases_mailbox ON aliases (mailbox_id, account_id);

CREATE TABLE contacts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    alias_id            INTEGER NOT NULL REFERENCES aliases (id) ON DELETE CASCADE,
    external            TEXT    NOT NULL,
    external_norm       TEXT    NOT NULL,
    display_name        TEXT,
    reverse_alias       TEXT    NOT NULL,
    reverse_alias_norm  TEXT    NOT NULL UNIQUE,
    blocked             TEXT    CHECK (blocked IN ('drop', 'reject')),
    created_at          INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
    UNIQUE (alias_id, external_norm)
) STRICT;

-- At most one active profile per account (the partial unique index below).
CREATE TABLE profiles (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id               INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status                   TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'retired')),
    root                     BLOB,
    intermediate             BLOB,
    intermediate_tbs         BLOB,
    end_entity               BLOB    NOT NULL,
    sealed_intermediate_key  BLOB    NOT NULL,
    created_at               INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
) STRICT;
CREATE INDEX profiles_account ON profiles (account_id);
CREATE UNIQUE INDEX profiles_one_active ON profiles (account_id) WHERE status = 'active';

CREATE TABLE recipient_certs (
    contact_id  INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    profile_id  INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    cert        BLOB    NOT NULL,
    sealed_key  BLOB    NOT NULL,
    not_after   INTEGER NOT NULL,
    PRIMARY KEY (contact_id, profile_id)
) STRICT;
CREATE INDEX recipient_certs_profile ON recipient_certs (profile_id);

-- detail is a JSON object whose fields depend on kind (see src/store/rows.rs).
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    at          INTEGER NOT NULL
) STRICT;
CREATE INDEX events_account ON events (account_id, id);
