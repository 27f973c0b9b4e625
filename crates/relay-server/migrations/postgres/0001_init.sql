-- The mail relay's state, PostgreSQL flavour. migrations/sqlite/0001_init.sql defines the same
-- tables, columns, keys and indexes in SQLite's types; tests/store.rs checks that they agree.
-- Times are Unix seconds (BIGINT). Blobs hold DER certificates and sealed keys.

CREATE TABLE accounts (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    strict      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT  NOT NULL DEFAULT (FLOOR(EXTRACT(EPOCH FROM now()))::BIGINT)
);

-- Only the SHA-256 of a token is kept; the token itself is shown once, when it is made.
CREATE TABLE api_tokens (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash    BYTEA  NOT NULL UNIQUE,
    name          TEXT   NOT NULL,
    created_at    BIGINT NOT NULL DEFAULT (FLOOR(EXTRACT(EPOCH FROM now()))::BIGINT),
    last_used_at  BIGINT
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);

CREATE TABLE mailboxes (
    id                 BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id         BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    address            TEXT    NOT NULL,
    address_norm       TEXT    NOT NULL UNIQUE,
    verified           BOOLEAN NOT NULL DEFAULT FALSE,
    verify_code_hash   BYTEA,
    verify_expires_at  BIGINT,
    created_at         BIGINT  NOT NULL DEFAULT (FLOOR(EXTRACT(EPOCH FROM now()))::BIGINT),
    UNIQUE (id, account_id)
);
CREATE INDEX mailboxes_account ON mailboxes (account_id);

-- (mailbox_id, account_id) references the mailbox *of the same account*: an alias can never
-- forward to another account's mailbox, whatever the code above does.
CREATE TABLE aliases (
    id             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id     BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mailbox_id     BIGINT  NOT NULL,
    address        TEXT    NOT NULL,
    address_norm   TEXT    NOT NULL UNIQUE,
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    when_disabled  TEXT    NOT NULL DEFAULT 'drop' CHECK (when_disabled IN ('drop', 'reject')),
    created_at     BIGINT  NOT NULL DEFAULT (FLOOR(EXTRACT(EPOCH FROM now()))::BIGINT),
    FOREIGN KEY (mailbox_id, account_id) REFERENCES mailboxes (id, account_id)
);
CREATE INDEX aliases_account ON aliases (account_id);
CREATE INDEX aliases_mailbox ON aliases (mailbox_id, account_id);

CREATE TABLE contacts (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alias_id            BIGINT NOT NULL REFERENCES aliases (id) ON DELETE CASCADE,
    external            TEXT   NOT NULL,
    external_norm       TEXT   NOT NULL,
    display_name        TEXT,
    reverse_alias       TEXT   NOT NULL,
    reverse_alias_norm  TEXT   NOT NULL UNIQUE,
    blocked             TEXT   CHECK (blocked IN ('drop', 'reject')),
    created_at          BIGINT NOT NULL DEFAULT (FLOOR(EXTRACT(EPOCH FROM now()))::BIGINT),
    UNIQUE (alias_id, external_norm)
);

-- At most one active profile per account (the partial unique index below).
CREATE TABLE profiles (
    id                       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id               BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status                   TEXT   NOT NULL CHECK (status IN ('pending', 'active', 'retired')),
    root                     BYTEA,
    intermediate             BYTEA,
    intermediate_tbs         BYTEA,
    end_entity               BYTEA  NOT NULL,
    sealed_intermediate_key  BYTEA  NOT NULL,
    created_at               BIGINT NOT NULL DEFAULT (FLOOR(EXTRACT(EPOCH FROM now()))::BIGINT)
);
CREATE INDEX profiles_account ON profiles (account_id);
CREATE UNIQUE INDEX profiles_one_active ON profiles (account_id) WHERE status = 'active';

CREATE TABLE recipient_certs (
    contact_id  BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    profile_id  BIGINT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    cert        BYTEA  NOT NULL,
    sealed_key  BYTEA  NOT NULL,
    not_after   BIGINT NOT NULL,
    PRIMARY KEY (contact_id, profile_id)
);
CREATE INDEX recipient_certs_profile ON recipient_certs (profile_id);

-- detail is a JSON object whose fields depend on kind (see src/store/rows.rs).
CREATE TABLE events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        TEXT   NOT NULL,
    detail      TEXT   NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX events_account ON events (account_id, id);
