//! `SqlStore` on a real SQLite file in a temporary directory and, when `DATABASE_URL` is set,
//! on PostgreSQL (each test in a schema of its own, dropped at the end). Every case in
//! [`both!`] runs on both backends; the SQLite file itself (WAL, reopening, two pools) has tests
//! of its own. `store_schema.rs` compares the two migration directories, `store_engine.rs` runs
//! the engine's pipelines on this store.
//!
//! Without `DATABASE_URL` the PostgreSQL tests print why they skip, unless `CI` or
//! `INTEROP_REQUIRED` is set, in which case they fail.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::{collections::BTreeSet, path::Path, str::FromStr};

use pki_core::UnixTime;
use relay_engine::{
    address::Address,
    model::{
        Account, AccountId, ContactId, Disposition, Event, NewContact, Profile, ProfileId, ProfileStatus,
        RecipientCert, ReplyAuth,
    },
    store::{Store, StoreError},
};
use relay_server::store::{AdminError, SqlStore};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};

const NOW: UnixTime = UnixTime(1_795_910_400);

// ---------------------------------------------------------------------------------------------
// Harness

/// A store under test, with what it takes to clean up after it.
struct Db {
    store: SqlStore,
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<String>,
}

impl Db {
    async fn finish(self) {
        self.store.close().await;
        if let Some(schema) = &self.pg_schema {
            let mut admin = PgConnection::connect(&self.url).await.unwrap();
            admin.execute(format!("DROP SCHEMA {schema} CASCADE").as_str()).await.unwrap();
        }
    }
}

/// A new SQLite file in a new temporary directory.
async fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir.path().join("relay.db"));
    let store = SqlStore::connect(&url).await.unwrap();
    Db { store, url, _dir: Some(dir), pg_schema: None }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A fresh schema in the `DATABASE_URL` database, or `None` (with a message) to skip.
async fn postgres() -> Option<Db> {
    let url = pg_url()?;
    let schema = format!("relay_test_{}", random_hex(8));
    let mut admin = PgConnection::connect(&url).await.unwrap();
    admin.execute(format!("CREATE SCHEMA {schema}").as_str()).await.unwrap();
    admin.close().await.unwrap();
    let options = PgConnectOptions::from_str(&url).unwrap().options([("search_path", schema.as_str())]);
    let store = SqlStore::connect_postgres(options).await.unwrap();
    Some(Db { store, url, _dir: None, pg_schema: Some(schema) })
}

/// `DATABASE_URL`, or `None` after saying why the test skips; panics when CI requires it.
fn pg_url() -> Option<String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Some(url);
    }
    let required = ["CI", "INTEROP_REQUIRED"].iter().any(|v| std::env::var(v).is_ok_and(|x| !x.is_empty() && x != "0"));
    if required {
        panic!("DATABASE_URL is not set, and CI/INTEROP_REQUIRED make the PostgreSQL tests mandatory");
    }
    eprintln!("skipped: set DATABASE_URL=postgres://USER:PASSWORD@HOST/DB to run the PostgreSQL store tests");
    None
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs each case on SQLite (`sqlite::case`) and PostgreSQL (`postgres::case`).
macro_rules! both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = super::sqlite().await;
                    super::$case(&db.store).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(db) = super::postgres().await else { return };
                    super::$case(&db.store).await;
                    db.finish().await;
                }
            )*
        }
    };
}

both!(
    every_store_method,
    concurrent_contact_inserts_make_one_row,
    concurrent_cert_inserts_make_one_row,
    accounts_cannot_touch_each_other,
    activating_a_profile_retires_the_previous_one,
    admin_operations,
    a_closed_pool_is_unavailable,
);

/// Runs a statement the store has no method for.
async fn exec(s: &SqlStore, sql: &str) -> Result<u64, sqlx::Error> {
    match s {
        SqlStore::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
        SqlStore::Postgres(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
    }
}

async fn count(s: &SqlStore, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match s {
        SqlStore::Sqlite(p) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
        SqlStore::Postgres(p) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
    }
}

fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

fn new_contact(alias: relay_engine::model::AliasId, external: &str, reverse: &str) -> NewContact {
    NewContact {
        alias,
        external: addr(external),
        display_name: Some("Bob \"the builder\" Bäcker".into()),
        reverse_alias: addr(reverse),
    }
}

fn profile(account: AccountId, status: ProfileStatus, tag: u8) -> Profile {
    Profile {
        id: ProfileId(0),
        account,
        status,
        root: Some(vec![tag, 1]),
        intermediate: Some(vec![tag, 2]),
        end_entity: vec![tag, 3],
        sealed_intermediate_key: vec![tag, 4],
    }
}

fn cert(contact: ContactId, profile: ProfileId, tag: u8) -> RecipientCert {
    RecipientCert {
        contact,
        profile,
        cert: vec![tag; 40],
        sealed_key: vec![tag, 0, tag],
        not_after: NOW.plus_secs(86_400),
    }
}

fn not_found(r: Result<impl std::fmt::Debug, AdminError>, what: &str) {
    match r {
        Err(AdminError::NotFound { what: w, .. }) if w == what => {}
        other => panic!("expected NotFound {what}, got {other:?}"),
    }
}

/// An account with a verified mailbox, an alias, a contact and an active profile.
struct Fixture {
    account: AccountId,
    mailbox: relay_engine::model::MailboxId,
    alias: relay_engine::model::AliasId,
    contact: ContactId,
    profile: ProfileId,
}

async fn fixture(s: &SqlStore, n: u8) -> Fixture {
    let account = s.create_account(false).await.unwrap();
    let mailbox = s.add_mailbox(account, &addr(&format!("owner{n}@real.example"))).await.unwrap();
    s.set_mailbox_verified(account, mailbox, true).await.unwrap();
    let alias = s.create_alias(account, mailbox, &addr(&format!("quiet.otter.{n}@pportal.io"))).await.unwrap();
    let c = s.insert_contact(new_contact(alias, "bob@example.org", &format!("bob.{n}abcdefgh@pportal.io"))).await;
    let profile = s.insert_profile(&profile(account, ProfileStatus::Active, n)).await.unwrap();
    Fixture { account, mailbox, alias, contact: c.unwrap().id, profile }
}

// ---------------------------------------------------------------------------------------------
// Cases on both backends

async fn every_store_method(s: &SqlStore) {
    // Accounts and mailboxes.
    let a = s.create_account(true).await.unwrap();
    assert_eq!(s.account(a).await.unwrap(), Some(Account { id: a, strict: true, reply_auth: ReplyAuth::Strong }));
    s.set_reply_auth(a, ReplyAuth::Envelope).await.unwrap();
    assert_eq!(s.account(a).await.unwrap().unwrap().reply_auth, ReplyAuth::Envelope);
    assert_eq!(s.account(AccountId(a.0 + 1000)).await.unwrap(), None);
    let m1 = s.add_mailbox(a, &addr("Alice@Real.Example")).await.unwrap();
    let m2 = s.add_mailbox(a, &addr("alice.work@corp.example")).await.unwrap();
    let mb = s.mailbox(m1).await.unwrap().unwrap();
    assert_eq!((mb.account, mb.address.as_str(), mb.verified), (a, "Alice@real.example", false));
    s.set_mailbox_verified(a, m1, true).await.unwrap();
    let all = s.mailboxes(a).await.unwrap();
    assert_eq!(all.iter().map(|m| (m.id, m.verified)).collect::<Vec<_>>(), [(m1, true), (m2, false)]);
    // Aliases, looked up by the normalized address.
    let al = s.create_alias(a, m1, &addr("Quiet.Otter.42@PPortal.io")).await.unwrap();
    let alias = s.alias(al).await.unwrap().unwrap();
    assert_eq!((alias.account, alias.mailbox, alias.address.as_str()), (a, m1, "Quiet.Otter.42@pportal.io"));
    assert!(alias.enabled && alias.when_disabled == Disposition::Drop);
    assert_eq!(s.alias_by_address("quiet.otter.42@pportal.io").await.unwrap(), Some(alias.clone()));
    assert_eq!(s.alias_by_address("nobody@pportal.io").await.unwrap(), None);
    // Contacts: the first insert wins, later ones get it back.
    let c = s.insert_contact(new_contact(al, "Bob@Example.ORG", "bob.x7k2m9p4q8r1t@pportal.io")).await.unwrap();
    assert_eq!((c.alias, c.external.as_str(), c.blocked), (al, "Bob@example.org", None));
    assert_eq!(c.display_name.as_deref(), Some("Bob \"the builder\" Bäcker"));
    let mut again = new_contact(al, "bob@example.org", "bob.zzzzzzzzzzzzz@pportal.io");
    again.display_name = None;
    assert_eq!(s.insert_contact(again).await.unwrap(), c, "same (alias, external), case aside");
    assert_eq!(s.contact_for(al, "bob@example.org").await.unwrap(), Some(c.clone()));
    assert_eq!(s.contact_for(al, "carol@example.org").await.unwrap(), None);
    assert_eq!(s.contact_by_reverse_alias("bob.x7k2m9p4q8r1t@pportal.io").await.unwrap(), Some(c.clone()));
    assert_eq!(s.contact_by_reverse_alias("bob.zzzzzzzzzzzzz@pportal.io").await.unwrap(), None);
    // A reverse alias that is already taken is an error (the message is retried), not a merge.
    let clash = s.insert_contact(new_contact(al, "carol@example.org", "BOB.x7k2m9p4q8r1t@pportal.io")).await;
    assert!(matches!(clash, Err(StoreError::Inconsistent(_))), "{clash:?}");
    // Profiles, newest first.
    let p1 = s.insert_profile(&profile(a, ProfileStatus::Active, 1)).await.unwrap();
    let p2 = s.insert_profile(&profile(a, ProfileStatus::Pending, 2)).await.unwrap();
    let ps = s.profiles(a).await.unwrap();
    assert_eq!(
        ps.iter().map(|p| (p.id, p.status)).collect::<Vec<_>>(),
        [(p2, ProfileStatus::Pending), (p1, ProfileStatus::Active)]
    );
    assert_eq!(ps[1], Profile { id: p1, ..profile(a, ProfileStatus::Active, 1) });
    // Recipient certificates: the first insert wins.
    assert_eq!(s.recipient_cert(c.id, p1).await.unwrap(), None);
    let r1 = cert(c.id, p1, 7);
    assert_eq!(s.insert_recipient_cert(r1.clone()).await.unwrap(), r1);
    assert_eq!(s.insert_recipient_cert(cert(c.id, p1, 8)).await.unwrap(), r1);
    assert_eq!(s.recipient_cert(c.id, p1).await.unwrap(), Some(r1.clone()));
    let r2 = cert(c.id, p2, 9);
    s.insert_recipient_cert(r2.clone()).await.unwrap();
    assert_eq!(s.recipient_certs(c.id).await.unwrap(), [r2, r1]);
    assert_eq!(s.recipient_certs(ContactId(c.id.0 + 1000)).await.unwrap(), []);
    // The log.
    let events = [
        Event::Issued {
            account: a,
            profile: p1,
            contact: c.id,
            serial: "0a1b2c".into(),
            subject: "bob.x7k2m9p4q8r1t@pportal.io".into(),
            at: NOW,
        },
        Event::ReplyRefused {
            account: a,
            contact: c.id,
            sender: "\"m\\a\u{1f47b}\"@evil.example".into(),
            reason: "undecryptable".into(),
            at: NOW,
        },
        Event::NextHopRefused {
            account: a,
            alias: c.alias,
            contact: Some(c.id),
            code: 552,
            text: "5.2.2 <quiet.otter.42@pportal.io>: mailbox full".into(),
            at: NOW,
        },
    ];
    for e in &events {
        s.log(e.clone()).await.unwrap();
    }
    // A kind from a newer relay is skipped when read back.
    let id = a.0;
    exec(s, &format!("INSERT INTO events (account_id, kind, detail, at) VALUES ({id}, 'future', '{{}}', 1)"))
        .await
        .unwrap();
    assert_eq!(s.events(a).await.unwrap(), events);
    // A refused reply logged before refusals had reasons reads back as `unauthorized`.
    let detail = format!("{{\"contact\": {}, \"sender\": \"old@evil.example\"}}", c.id.0);
    exec(
        s,
        &format!(
            "INSERT INTO events (account_id, kind, detail, at) VALUES ({id}, 'unauthorized_reply', '{detail}', 2)"
        ),
    )
    .await
    .unwrap();
    let last = s.events(a).await.unwrap().pop().unwrap();
    assert!(
        matches!(last, Event::ReplyRefused { ref reason, ref sender, .. } if reason == "unauthorized" && sender == "old@evil.example"),
        "{last:?}"
    );
}

async fn concurrent_contact_inserts_make_one_row(s: &SqlStore) {
    let f = fixture(s, 1).await;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.insert_contact(new_contact(
                    f.alias,
                    "Carol@example.net",
                    &format!("carol.race{i:02}abcdefg@pportal.io"),
                ))
                .await
                .unwrap()
            })
        })
        .collect();
    let mut ids = BTreeSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap().id);
    }
    assert_eq!(ids.len(), 1, "every racer got the same contact");
    let carols = s.list_contacts(f.account, f.alias).await.unwrap();
    assert_eq!(carols.iter().filter(|c| c.external.as_str() == "Carol@example.net").count(), 1);
}

async fn concurrent_cert_inserts_make_one_row(s: &SqlStore) {
    let f = fixture(s, 1).await;
    let tasks: Vec<_> = (0..16u8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.insert_recipient_cert(cert(f.contact, f.profile, i)).await.unwrap() })
        })
        .collect();
    let mut winners = BTreeSet::new();
    for t in tasks {
        winners.insert(t.await.unwrap().cert);
    }
    assert_eq!(winners.len(), 1, "every racer got the certificate that won");
    assert_eq!(s.recipient_certs(f.contact).await.unwrap().len(), 1);
    assert_eq!(count(s, "recipient_certs").await, 1);
}

async fn accounts_cannot_touch_each_other(s: &SqlStore) {
    let a = fixture(s, 1).await;
    let b = fixture(s, 2).await;
    let (_, a_token) = s.create_token(a.account, "laptop").await.unwrap();
    let a_token_id = s.list_tokens(a.account).await.unwrap()[0].id;
    let pending = s.insert_pending_profile(a.account, b"ee", b"key", b"tbs").await.unwrap();
    let me = b.account;
    not_found(s.set_mailbox_verified(me, a.mailbox, false).await, "mailbox");
    not_found(s.set_mailbox_verify_code(me, a.mailbox, "1", NOW).await, "mailbox");
    not_found(s.confirm_mailbox(me, a.mailbox, "1", NOW).await, "mailbox");
    not_found(s.create_alias(me, a.mailbox, &addr("sneaky@pportal.io")).await, "mailbox");
    not_found(s.get_alias(me, a.alias).await, "alias");
    not_found(s.set_alias_enabled(me, a.alias, false, Disposition::Reject).await, "alias");
    not_found(s.list_contacts(me, a.alias).await, "alias");
    not_found(s.delete_alias(me, a.alias).await, "alias");
    not_found(s.set_contact_blocked(me, a.contact, Some(Disposition::Reject)).await, "contact");
    not_found(s.get_profile(me, a.profile).await, "profile");
    not_found(s.set_profile_status(me, a.profile, ProfileStatus::Retired).await, "profile");
    not_found(s.set_profile_status(me, a.profile, ProfileStatus::Active).await, "profile");
    not_found(s.intermediate_tbs(me, pending).await, "profile");
    not_found(s.complete_profile(me, pending, b"root", b"inter").await, "profile");
    not_found(s.delete_token(me, a_token_id).await, "token");
    // B's own views do not include A's rows.
    assert_eq!(s.list_aliases(me).await.unwrap().iter().map(|x| x.id).collect::<Vec<_>>(), [b.alias]);
    assert!(s.list_tokens(me).await.unwrap().is_empty());
    assert_eq!(s.account_for_token(a_token.expose(), NOW).await.unwrap(), Some(a.account));
    // A's rows are as they were; B's active profile was not retired by its failed attempts.
    let alias = s.get_alias(a.account, a.alias).await.unwrap();
    assert!(alias.enabled && alias.when_disabled == Disposition::Drop);
    assert_eq!(s.list_contacts(a.account, a.alias).await.unwrap()[0].blocked, None);
    assert!(s.mailbox(a.mailbox).await.unwrap().unwrap().verified);
    assert_eq!(s.get_profile(a.account, a.profile).await.unwrap().status, ProfileStatus::Active);
    assert_eq!(s.get_profile(me, b.profile).await.unwrap().status, ProfileStatus::Active);
    assert_eq!(s.get_profile(a.account, pending).await.unwrap().status, ProfileStatus::Pending);
    // The schema refuses an alias pointing at another account's mailbox, whatever the code does.
    let sql = format!(
        "INSERT INTO aliases (account_id, mailbox_id, address, address_norm) VALUES ({}, {}, 'x@pportal.io', 'x@pportal.io')",
        b.account.0, a.mailbox.0
    );
    assert!(exec(s, &sql).await.is_err());
}

async fn activating_a_profile_retires_the_previous_one(s: &SqlStore) {
    let acct = s.create_account(false).await.unwrap();
    let other = fixture(s, 9).await;
    let status = |ps: Vec<Profile>| ps.iter().map(|p| (p.id, p.status)).collect::<Vec<_>>();
    let p1 = s.insert_profile(&profile(acct, ProfileStatus::Active, 1)).await.unwrap();
    let p2 = s.insert_profile(&profile(acct, ProfileStatus::Active, 2)).await.unwrap();
    use ProfileStatus::{Active, Pending, Retired};
    assert_eq!(status(s.profiles(acct).await.unwrap()), [(p2, Active), (p1, Retired)]);
    s.set_profile_status(acct, p1, Active).await.unwrap();
    assert_eq!(status(s.profiles(acct).await.unwrap()), [(p2, Retired), (p1, Active)]);
    // The ceremony split in two: pending with the TBS, then completed.
    let p3 = s.insert_pending_profile(acct, b"ee", b"sealed", b"tbs bytes").await.unwrap();
    assert_eq!(s.intermediate_tbs(acct, p3).await.unwrap().as_deref(), Some(&b"tbs bytes"[..]));
    let refused = s.set_profile_status(acct, p3, Active).await;
    assert!(matches!(refused, Err(AdminError::Invalid { .. })), "no chain yet: {refused:?}");
    assert_eq!(status(s.profiles(acct).await.unwrap()), [(p3, Pending), (p2, Retired), (p1, Active)], "rolled back");
    s.complete_profile(acct, p3, b"root", b"inter").await.unwrap();
    let p = s.get_profile(acct, p3).await.unwrap();
    assert_eq!(
        (p.status, p.root.as_deref(), p.intermediate.as_deref()),
        (Active, Some(&b"root"[..]), Some(&b"inter"[..]))
    );
    assert_eq!(s.intermediate_tbs(acct, p3).await.unwrap(), None);
    assert_eq!(status(s.profiles(acct).await.unwrap()), [(p3, Active), (p2, Retired), (p1, Retired)]);
    let again = s.complete_profile(acct, p3, b"root", b"inter").await;
    assert!(matches!(again, Err(AdminError::Conflict { .. })), "{again:?}");
    // Retiring leaves the account without an active profile; other accounts are untouched.
    s.set_profile_status(acct, p3, Retired).await.unwrap();
    assert!(s.profiles(acct).await.unwrap().iter().all(|p| p.status == Retired));
    assert_eq!(s.get_profile(other.account, other.profile).await.unwrap().status, Active);
    // Refusals.
    let mut incomplete = profile(acct, Active, 4);
    incomplete.intermediate = None;
    assert!(matches!(s.insert_profile(&incomplete).await, Err(AdminError::Invalid { .. })));
    not_found(s.insert_profile(&profile(AccountId(acct.0 + 1000), Active, 5)).await, "account");
    // The schema allows one active profile per account, whatever the code does.
    exec(s, &format!("UPDATE profiles SET status = 'active' WHERE id = {}", p2.0)).await.unwrap();
    assert!(exec(s, &format!("UPDATE profiles SET status = 'active' WHERE id = {}", p1.0)).await.is_err());
}

async fn admin_operations(s: &SqlStore) {
    let f = fixture(s, 1).await;
    let acct = f.account;
    // Tokens: only the hash is stored; presenting the token finds the account and stamps it.
    let (tid, token) = s.create_token(acct, "cli").await.unwrap();
    let stored: Vec<u8> = match s {
        SqlStore::Sqlite(p) => {
            sqlx::query_scalar("SELECT token_hash FROM api_tokens WHERE id = $1").bind(tid.0).fetch_one(p).await
        }
        SqlStore::Postgres(p) => {
            sqlx::query_scalar("SELECT token_hash FROM api_tokens WHERE id = $1").bind(tid.0).fetch_one(p).await
        }
    }
    .unwrap();
    assert_eq!(stored, Sha256::digest(token.expose().as_bytes()).as_slice());
    let info = s.list_tokens(acct).await.unwrap();
    assert_eq!((info.len(), info[0].id, info[0].name.as_str(), info[0].last_used_at), (1, tid, "cli", None));
    assert_eq!(s.account_for_token(token.expose(), NOW).await.unwrap(), Some(acct));
    assert_eq!(s.list_tokens(acct).await.unwrap()[0].last_used_at, Some(NOW));
    assert_eq!(s.account_for_token("mrt_0000", NOW).await.unwrap(), None);
    s.delete_token(acct, tid).await.unwrap();
    assert_eq!(s.account_for_token(token.expose(), NOW).await.unwrap(), None);
    not_found(s.create_token(AccountId(acct.0 + 1000), "x").await, "account");
    // Mailbox verification codes: wrong, expired, right, spent.
    let mb = s.add_mailbox(acct, &addr("second@real.example")).await.unwrap();
    s.set_mailbox_verify_code(acct, mb, "123456", NOW.plus_secs(600)).await.unwrap();
    assert!(!s.confirm_mailbox(acct, mb, "654321", NOW).await.unwrap());
    assert!(!s.confirm_mailbox(acct, mb, "123456", NOW.plus_secs(600)).await.unwrap());
    assert!(!s.mailbox(mb).await.unwrap().unwrap().verified);
    assert!(s.confirm_mailbox(acct, mb, "123456", NOW).await.unwrap());
    assert!(s.mailbox(mb).await.unwrap().unwrap().verified);
    assert!(!s.confirm_mailbox(acct, mb, "123456", NOW).await.unwrap(), "a code works once");
    // Mailboxes are unique per account (case-insensitively), not across accounts: another
    // account may add the same address, and nothing tells it that one has it already.
    let dup = s.add_mailbox(acct, &addr("SECOND@real.example")).await;
    assert!(matches!(dup, Err(AdminError::Conflict { what: "mailbox address" })), "{dup:?}");
    let other = s.create_account(false).await.unwrap();
    let shared = s.add_mailbox(other, &addr("SECOND@real.example")).await.unwrap();
    assert!(!s.mailbox(shared).await.unwrap().unwrap().verified, "verified in one account is not in another");
    let om = s.add_mailbox(other, &addr("other@real.example")).await.unwrap();
    // Unverified mailboxes expire; verified ones, and ones an alias uses, stay.
    let stale = s.add_mailbox(other, &addr("stale@real.example")).await.unwrap();
    let far = UnixTime(u64::try_from(i64::MAX / 2).unwrap());
    let expired = s.expire_unverified_mailboxes(far).await.unwrap();
    assert!(expired >= 2, "{expired}");
    assert_eq!(s.mailbox(stale).await.unwrap(), None);
    assert_eq!(s.mailbox(shared).await.unwrap(), None);
    assert!(s.mailbox(mb).await.unwrap().unwrap().verified);
    let om = s.add_mailbox(other, &addr("other@real.example")).await.unwrap_or(om);
    let dup = s.create_alias(other, om, &addr("QUIET.otter.1@pportal.io")).await;
    assert!(matches!(dup, Err(AdminError::Conflict { what: "alias address" })), "{dup:?}");
    not_found(s.add_mailbox(AccountId(acct.0 + 1000), &addr("x@real.example")).await, "account");
    // Strict mode, alias switches, blocking.
    s.set_strict(acct, true).await.unwrap();
    assert!(s.account(acct).await.unwrap().unwrap().strict);
    not_found(s.set_strict(AccountId(acct.0 + 1000), true).await, "account");
    s.set_alias_enabled(acct, f.alias, false, Disposition::Reject).await.unwrap();
    let alias = s.get_alias(acct, f.alias).await.unwrap();
    assert_eq!((alias.enabled, alias.when_disabled), (false, Disposition::Reject));
    assert_eq!(s.list_aliases(acct).await.unwrap(), [alias]);
    s.set_contact_blocked(acct, f.contact, Some(Disposition::Reject)).await.unwrap();
    assert_eq!(s.list_contacts(acct, f.alias).await.unwrap()[0].blocked, Some(Disposition::Reject));
    s.set_contact_blocked(acct, f.contact, None).await.unwrap();
    assert_eq!(s.list_contacts(acct, f.alias).await.unwrap()[0].blocked, None);
    // Deleting an alias takes its contacts and their certificates, and frees the address.
    s.insert_recipient_cert(cert(f.contact, f.profile, 1)).await.unwrap();
    s.delete_alias(acct, f.alias).await.unwrap();
    assert_eq!(s.alias(f.alias).await.unwrap(), None);
    assert_eq!(s.contact_by_reverse_alias("bob.1abcdefgh@pportal.io").await.unwrap(), None);
    assert!(s.recipient_certs(f.contact).await.unwrap().is_empty());
    s.create_alias(acct, f.mailbox, &addr("quiet.otter.1@pportal.io")).await.unwrap();
    // Deleting the account takes everything it owns.
    s.log(Event::ReplyRefused {
        account: acct,
        contact: f.contact,
        sender: "x@y.example".into(),
        reason: "unauthorized".into(),
        at: NOW,
    })
    .await
    .unwrap();
    s.delete_account(acct).await.unwrap();
    not_found(s.delete_account(acct).await, "account");
    assert_eq!(s.account(acct).await.unwrap(), None);
    assert!(s.mailboxes(acct).await.unwrap().is_empty() && s.profiles(acct).await.unwrap().is_empty());
    assert!(s.events(acct).await.unwrap().is_empty() && s.list_aliases(acct).await.unwrap().is_empty());
    assert_eq!(count(s, "api_tokens").await, 0);
    assert_eq!(s.mailboxes(other).await.unwrap().len(), 1, "the other account is untouched");
}

async fn a_closed_pool_is_unavailable(s: &SqlStore) {
    s.close().await;
    assert!(matches!(s.account(AccountId(1)).await, Err(StoreError::Unavailable(_))));
    assert!(matches!(s.create_account(false).await, Err(AdminError::Store(StoreError::Unavailable(_)))));
}

// ---------------------------------------------------------------------------------------------
// The SQLite file

#[tokio::test]
async fn sqlite_file_is_in_wal_mode_with_foreign_keys() {
    let db = sqlite().await;
    let SqlStore::Sqlite(pool) = &db.store else { unreachable!() };
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(pool).await.unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(pool).await.unwrap();
    assert_eq!(fk, 1);
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(pool).await.unwrap();
    assert!(busy >= 1000, "busy timeout {busy} ms");
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.unwrap();
    assert_eq!(synchronous, 2, "FULL: a commit is on disk before the message that depends on it goes out");
    db.store.create_account(false).await.unwrap();
    let dir = db._dir.as_ref().unwrap().path();
    assert!(dir.join("relay.db-wal").exists(), "the write-ahead log is next to the file");
    db.finish().await;
}

#[tokio::test]
async fn sqlite_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir.path().join("relay.db"));
    let s = SqlStore::connect(&url).await.unwrap();
    let f = fixture(&s, 1).await;
    let r = s.insert_recipient_cert(cert(f.contact, f.profile, 3)).await.unwrap();
    let (_, token) = s.create_token(f.account, "t").await.unwrap();
    s.close().await;
    drop(s);
    // Reopening runs the migrations again: nothing to do.
    let s = SqlStore::connect(&url).await.unwrap();
    let alias = s.alias_by_address("quiet.otter.1@pportal.io").await.unwrap().unwrap();
    assert_eq!((alias.id, alias.account), (f.alias, f.account));
    assert_eq!(s.contact_for(f.alias, "bob@example.org").await.unwrap().unwrap().id, f.contact);
    assert_eq!(s.recipient_cert(f.contact, f.profile).await.unwrap(), Some(r));
    assert_eq!(s.profiles(f.account).await.unwrap()[0].status, ProfileStatus::Active);
    assert_eq!(s.account_for_token(token.expose(), NOW).await.unwrap(), Some(f.account));
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap().count();
    assert_eq!(count(&s, "_sqlx_migrations").await, i64::try_from(migrations).unwrap());
    s.close().await;
}

/// A database made by the first release (migration 1 only, with rows in it) takes the later
/// migrations: its rows survive, foreign keys still hold, and mailboxes become unique per
/// account instead of across accounts.
#[tokio::test]
async fn sqlite_upgrades_from_the_first_schema() {
    use sqlx::{Executor, sqlite::SqliteConnectOptions};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.db");
    let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true).foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let all =
        sqlx::migrate::Migrator::new(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")))
            .await
            .unwrap();
    let mut first =
        sqlx::migrate::Migrator::new(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")))
            .await
            .unwrap();
    first.migrations = std::borrow::Cow::Owned(all.migrations[..1].to_vec());
    first.run(&pool).await.unwrap();
    pool.execute(
        "INSERT INTO accounts (id, strict) VALUES (1, 0), (2, 0); \
         INSERT INTO mailboxes (id, account_id, address, address_norm, verified) VALUES (7, 1, 'A@real.example', 'a@real.example', 1); \
         INSERT INTO aliases (id, account_id, mailbox_id, address, address_norm) VALUES (3, 1, 7, 'q.o.1@pportal.io', 'q.o.1@pportal.io');",
    )
    .await
    .unwrap();
    pool.close().await;
    let s = SqlStore::connect(&sqlite_url(&path)).await.unwrap();
    let alias = s.alias_by_address("q.o.1@pportal.io").await.unwrap().unwrap();
    assert_eq!((alias.mailbox.0, alias.display_name), (7, None));
    assert!(s.mailbox(relay_engine::model::MailboxId(7)).await.unwrap().unwrap().verified);
    assert_eq!(s.account(AccountId(1)).await.unwrap().unwrap().reply_auth, ReplyAuth::Strong);
    // The same address in a second account is allowed now; twice in one account is not.
    s.add_mailbox(AccountId(2), &addr("a@REAL.example")).await.unwrap();
    assert!(matches!(s.add_mailbox(AccountId(1), &addr("a@real.example")).await, Err(AdminError::Conflict { .. })));
    // Foreign keys still hold: an alias cannot point at another account's mailbox.
    let SqlStore::Sqlite(p) = &s else { unreachable!() };
    let bad = p.execute("INSERT INTO aliases (account_id, mailbox_id, address, address_norm) VALUES (2, 7, 'x@pportal.io', 'x@pportal.io')").await;
    assert!(bad.is_err(), "{bad:?}");
    let fk: Vec<(String,)> =
        sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check").fetch_all(p).await.unwrap();
    assert!(fk.is_empty(), "{fk:?}");
    s.close().await;
}

/// Two pools on one file, as two relay processes would have: the races still end in one row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_races_between_two_pools_make_one_row() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir.path().join("relay.db"));
    let first = SqlStore::connect(&url).await.unwrap();
    let second = SqlStore::connect(&url).await.unwrap();
    let f = fixture(&first, 1).await;
    let tasks: Vec<_> = (0..16u8)
        .map(|i| {
            let s = if i % 2 == 0 { first.clone() } else { second.clone() };
            tokio::spawn(async move {
                let reverse = format!("dave.race{i:02}abcdefg@pportal.io");
                let c = s.insert_contact(new_contact(f.alias, "dave@example.net", &reverse)).await.unwrap();
                let r = s.insert_recipient_cert(cert(c.id, f.profile, i)).await.unwrap();
                (c.id, r.cert)
            })
        })
        .collect();
    let mut winners = BTreeSet::new();
    for t in tasks {
        winners.insert(t.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(count(&second, "recipient_certs").await, 1);
    first.close().await;
    second.close().await;
}

#[tokio::test]
async fn connect_refuses_other_schemes_and_reports_unreachable_databases() {
    let r = SqlStore::connect("mysql://root:secret@localhost/relay").await;
    match r {
        Err(AdminError::Config(m)) => assert!(!m.contains("secret"), "{m}"),
        other => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("absent.db").display());
    assert!(matches!(SqlStore::connect(&missing).await, Err(AdminError::Store(StoreError::Unavailable(_)))));
    let closed = "postgres://relay:relay@127.0.0.1:1/relay?connect_timeout=2";
    assert!(matches!(SqlStore::connect(closed).await, Err(AdminError::Store(StoreError::Unavailable(_)))));
}
