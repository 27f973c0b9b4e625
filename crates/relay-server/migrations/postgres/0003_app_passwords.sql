-- App passwords for the submission listener; see migrations/sqlite/0003_app_passwords.sql.
CREATE TABLE app_passwords (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mailbox_id    BIGINT  NOT NULL,
    name          TEXT    NOT NULL,
    hash          TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL DEFAULT (FLOOR(EXTRACT(EPOCH FROM now()))::BIGINT),
    last_used_at  BIGINT,
    FOREIGN KEY (mailbox_id, account_id) REFERENCES mailboxes (id, account_id) ON DELETE CASCADE
);
CREATE INDEX app_passwords_mailbox ON app_passwords (mailbox_id);
