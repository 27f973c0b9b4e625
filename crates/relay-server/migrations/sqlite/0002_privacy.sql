-- Privacy under attack (issue 9):
-- - accounts.reply_auth: what authorises a reply ('strong': an S/MIME signature or SMTP AUTH;
--   'envelope': also the envelope sender and From, which anyone can forge; opt-in).
-- - aliases.display_name: the name replies from the alias carry (the owner's never leaves).
-- - mailboxes are unique per account, not across accounts: registering an address that another
--   account uses must answer exactly as for any other address.
-- SQLite cannot drop a UNIQUE column constraint, so mailboxes is rebuilt. The migration runs in
-- a transaction with foreign keys on, so they are deferred: dropping the table leaves the
-- aliases pointing at nothing for a moment, and re-inserting the same rows under the new
-- definition settles every one of them before the commit checks.
PRAGMA defer_foreign_keys = ON;
ALTER TABLE accounts ADD COLUMN reply_auth TEXT NOT NULL DEFAULT 'strong' CHECK (reply_auth IN ('strong', 'envelope'));
ALTER TABLE aliases ADD COLUMN display_name TEXT;
CREATE TABLE mailboxes_copy AS SELECT * FROM mailboxes;
DROP TABLE mailboxes;
CREATE TABLE mailboxes (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id         INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    address            TEXT    NOT NULL,
    address_norm       TEXT    NOT NULL,
    verified           INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    verify_code_hash   BLOB,
    verify_expires_at  INTEGER,
    created_at         INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
    UNIQUE (id, account_id),
    UNIQUE (account_id, address_norm)
) STRICT;
INSERT INTO mailboxes (id, account_id, address, address_norm, verified, verify_code_hash, verify_expires_at, created_at)
    SELECT id, account_id, address, address_norm, verified, verify_code_hash, verify_expires_at, created_at FROM mailboxes_copy;
DROP TABLE mailboxes_copy;
CREATE INDEX mailboxes_account ON mailboxes (account_id);
