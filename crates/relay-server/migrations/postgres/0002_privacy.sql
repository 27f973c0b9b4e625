-- Privacy under attack (issue 9); see migrations/sqlite/0002_privacy.sql for what and why.
ALTER TABLE accounts ADD COLUMN reply_auth TEXT NOT NULL DEFAULT 'strong' CHECK (reply_auth IN ('strong', 'envelope'));
ALTER TABLE aliases ADD COLUMN display_name TEXT;
ALTER TABLE mailboxes DROP CONSTRAINT mailboxes_address_norm_key;
ALTER TABLE mailboxes ADD UNIQUE (account_id, address_norm);
