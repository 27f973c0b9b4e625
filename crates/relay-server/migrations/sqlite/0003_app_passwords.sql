-- App passwords for the submission listener: one or more per mailbox, each with a name, kept
-- only as an argon2id hash (PHC string). A client that authenticates with one may send as the
-- account's aliases (replies to reverse aliases).
CREATE TABLE app_passwords (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mailbox_id    INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    hash          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
    last_used_at  INTEGER,
    FOREIGN KEY (mailbox_id, account_id) REFERENCES mailboxes (id, account_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX app_passwords_mailbox ON app_passwords (mailbox_id);
