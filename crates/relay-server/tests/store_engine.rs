//! The engine's pipelines on `SqlStore`: the world of `relay_engine::testkit::World` (an
//! account, its verified mailbox, an alias, an active profile from the local ceremony), built
//! with the store's admin methods on a SQLite file and, when `DATABASE_URL` is set, on
//! PostgreSQL. A message is forwarded, decrypted and verified as the owner's client would; the
//! owner's signed and encrypted reply reaches the contact; a stranger's reply is refused and
//! logged.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::str::FromStr;

use pki_core::{
    KeyAlgorithm, UnixTime,
    cms::{ContentCipher, Signer},
    smime,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use relay_engine::{
    Config, Engine, Envelope, KeyPool, Outcome, RefusalReason, Reply,
    address::{Address, RelayDomains},
    model::{ContactId, Event, ProfileId, ProfileStatus},
    profile::{CeremonyRequest, local_ceremony},
    seal::{KeyOwner, MasterKey, Purpose},
    store::Store,
    testkit::{ALIAS, DOMAIN, OWNER},
};
use relay_server::store::SqlStore;
use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};

const NOW: UnixTime = UnixTime(1_795_910_400);

const MSG: &[u8] = b"From: Bob Builder <bob@example.org>\r\n\
To: quiet.otter.42@pportal.io\r\n\
Subject: Lunch?\r\n\
Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <m1@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Shall we meet at noon?\r\n";

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

fn env(from: &str, to: &str) -> Envelope {
    Envelope::new(Some(Address::parse(from).unwrap()), Address::parse(to).unwrap())
}

#[tokio::test]
async fn sqlite_forward_and_reply() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("relay.db").display());
    forward_and_reply(SqlStore::connect(&url).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_forward_and_reply() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        let required =
            ["CI", "INTEROP_REQUIRED"].iter().any(|v| std::env::var(v).is_ok_and(|x| !x.is_empty() && x != "0"));
        assert!(!required, "DATABASE_URL is not set, and CI/INTEROP_REQUIRED make the PostgreSQL tests mandatory");
        eprintln!("skipped: set DATABASE_URL=postgres://USER:PASSWORD@HOST/DB to run the PostgreSQL store tests");
        return;
    };
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    let schema = format!("relay_test_{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
    let mut admin = PgConnection::connect(&url).await.unwrap();
    admin.execute(format!("CREATE SCHEMA {schema}").as_str()).await.unwrap();
    let options = PgConnectOptions::from_str(&url).unwrap().options([("search_path", schema.as_str())]);
    forward_and_reply(SqlStore::connect_postgres(options).await.unwrap()).await;
    admin.execute(format!("DROP SCHEMA {schema} CASCADE").as_str()).await.unwrap();
}

async fn forward_and_reply(store: SqlStore) {
    let mut g = rng(1);
    // The world, written with the admin methods.
    let domains = RelayDomains::new([DOMAIN]).unwrap();
    let owner = Address::parse(OWNER).unwrap();
    let account = store.create_account(false).await.unwrap();
    let mailbox = store.add_mailbox(account, &owner).await.unwrap();
    store.set_mailbox_verified(account, mailbox, true).await.unwrap();
    let alias = store.create_alias(account, mailbox, &Address::parse(ALIAS).unwrap()).await.unwrap();
    let master = MasterKey::generate(&mut g);
    let req = CeremonyRequest {
        account,
        owner: &owner,
        mailboxes: std::slice::from_ref(&owner),
        domains: &domains,
        key: KeyAlgorithm::Rsa2048,
        now: NOW,
    };
    let c = local_ceremony(&req, &master, &mut g).unwrap();
    let profile = store.insert_profile(&c.profile).await.unwrap();
    let engine = Engine::new(store, Config::new(domains), master, KeyPool::new(KeyAlgorithm::Rsa2048, 0));

    // Forward: signed by Bob's new recipient certificate, encrypted to the owner.
    let d = match engine.forward(MSG, &env("bob@example.org", ALIAS), NOW, &mut g).await {
        Outcome::Deliver(d) => d,
        other => panic!("expected a delivery, got {other:?}"),
    };
    assert!(d.encrypted);
    assert_eq!(d.rcpt.as_str(), OWNER);
    let opened = smime::decrypt_message(&d.data, &c.end_entity, &c.end_entity_key, &mut g).unwrap();
    let v = smime::verify_message(&opened, &c.root, NOW).unwrap();
    assert!(v.report.is_valid());
    let inner = pki_core::mime::split_message(&v.message).unwrap();
    assert_eq!(inner.body, b"Shall we meet at noon?\r\n");

    // What the store now holds: the contact, its certificate under the profile, one issuance.
    let s = engine.store();
    let contacts = s.list_contacts(account, alias).await.unwrap();
    assert_eq!(contacts.len(), 1);
    let bob = &contacts[0];
    assert_eq!((bob.external.as_str(), bob.display_name.as_deref()), ("bob@example.org", Some("Bob Builder")));
    assert_eq!(d.mail_from, bob.reverse_alias);
    assert!(s.recipient_cert(bob.id, profile).await.unwrap().is_some());
    let issued = |events: Vec<Event>| events.into_iter().filter(|e| matches!(e, Event::Issued { .. })).count();
    assert_eq!(issued(s.events(account).await.unwrap()), 1);
    match engine.forward(MSG, &env("bob@example.org", ALIAS), NOW, &mut g).await {
        Outcome::Deliver(_) => {}
        other => panic!("second message: {other:?}"),
    }
    assert_eq!(issued(s.events(account).await.unwrap()), 1, "the certificate is reused");
    assert_eq!(s.recipient_certs(bob.id).await.unwrap().len(), 1);
    assert_eq!(s.profiles(account).await.unwrap()[0].status, ProfileStatus::Active);

    // The owner replies, signed and encrypted to Bob's recipient certificate.
    let bob_cert = v.report.signers[0].cert.clone().unwrap();
    let reply = format!(
        "From: Alice <{OWNER}>\r\nTo: <{}>\r\nSubject: Re: Lunch?\r\nIn-Reply-To: <m1@example.org>\r\n\
         Content-Type: text/plain\r\n\r\nNoon it is. Write to {OWNER}.\r\n",
        bob.reverse_alias
    );
    let signer = Signer { cert: &c.end_entity, key: &c.end_entity_key, chain: &[] };
    let sealed = smime::sign_and_encrypt_message(
        reply.as_bytes(),
        signer,
        &[bob_cert, c.end_entity.clone()],
        ContentCipher::default(),
        NOW,
        &mut g,
    )
    .unwrap();
    let out = match engine.reply(&sealed, &env(OWNER, bob.reverse_alias.as_str()), NOW, &mut g).await {
        Outcome::Deliver(d) => d,
        other => panic!("expected the reply to go out, got {other:?}"),
    };
    assert_eq!((out.mail_from.as_str(), out.rcpt.as_str()), (ALIAS, "bob@example.org"));
    let text = String::from_utf8(out.data).unwrap();
    assert!(!text.to_ascii_lowercase().contains(OWNER) && text.contains(&format!("Write to {ALIAS}.")), "{text}");

    // A stranger writing to the reverse alias is refused, and the owner can read about it.
    let o = engine.reply(reply.as_bytes(), &env("mallory@evil.example", bob.reverse_alias.as_str()), NOW, &mut g).await;
    assert_eq!(o, Outcome::Refuse(RefusalReason::Unauthorized));
    assert_eq!(o.reply(), Some(Reply::REPLY_REFUSED));
    assert!(s.events(account).await.unwrap().iter().any(|e| matches!(e,
        Event::ReplyRefused { sender, contact, reason, .. }
            if sender == "mallory@evil.example" && *contact == bob.id && reason == "unauthorized")));
    s.close().await;
}

/// Someone who can write the database (not read the master key) copies Bob's sealed recipient
/// key into Carol's row, hoping the relay signs Carol's mail with Bob's key: it does not open
/// there. Keys of the first release (sealed for a purpose only) are sealed again at start,
/// bound to their rows, and keep working.
#[tokio::test]
async fn sealed_keys_are_bound_to_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("relay.db").display());
    let store = SqlStore::connect(&url).await.unwrap();
    let mut g = rng(7);
    let domains = RelayDomains::new([DOMAIN]).unwrap();
    let owner = Address::parse(OWNER).unwrap();
    let account = store.create_account(false).await.unwrap();
    let mailbox = store.add_mailbox(account, &owner).await.unwrap();
    store.set_mailbox_verified(account, mailbox, true).await.unwrap();
    store.create_alias(account, mailbox, &Address::parse(ALIAS).unwrap()).await.unwrap();
    let master = MasterKey::generate(&mut g);
    let req = CeremonyRequest {
        account,
        owner: &owner,
        mailboxes: std::slice::from_ref(&owner),
        domains: &domains,
        key: KeyAlgorithm::P256,
        now: NOW,
    };
    let c = local_ceremony(&req, &master, &mut g).unwrap();
    store.insert_profile(&c.profile).await.unwrap();
    let mut config = Config::new(domains);
    config.recipient_key = KeyAlgorithm::P256;
    let engine = Engine::new(store, config, master, KeyPool::new(KeyAlgorithm::P256, 0));
    let from_carol = String::from_utf8(MSG.to_vec()).unwrap().replace("bob@example.org", "carol@example.org");
    for (from, msg) in [("bob@example.org", MSG), ("carol@example.org", from_carol.as_bytes())] {
        assert!(matches!(engine.forward(msg, &env(from, ALIAS), NOW, &mut g).await, Outcome::Deliver(_)), "{from}");
    }
    let SqlStore::Sqlite(pool) = engine.store() else { unreachable!() };
    let ids: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, external FROM contacts ORDER BY external").fetch_all(pool).await.unwrap();
    let (bob, carol) = (ids[0].0, ids[1].0);
    sqlx::query("UPDATE recipient_certs SET sealed_key = (SELECT sealed_key FROM recipient_certs WHERE contact_id = $1) WHERE contact_id = $2")
        .bind(bob)
        .bind(carol)
        .execute(pool)
        .await
        .unwrap();
    let o = engine.forward(from_carol.as_bytes(), &env("carol@example.org", ALIAS), NOW, &mut g).await;
    assert_eq!(o, Outcome::Defer(relay_engine::DeferReason::Seal), "Bob's key does not open in Carol's row");

    // Bob's key as the first release would have sealed it: refused as it is, usable once
    // sealed again.
    let (sealed, profile): (Vec<u8>, i64) =
        sqlx::query_as("SELECT sealed_key, profile_id FROM recipient_certs WHERE contact_id = $1")
            .bind(bob)
            .fetch_one(pool)
            .await
            .unwrap();
    let owner = KeyOwner::Recipient { account, contact: ContactId(bob), profile: ProfileId(profile) };
    let key = engine.master_key().unseal(&sealed, &owner).unwrap();
    let legacy = engine.master_key().seal_legacy(&key, Purpose::Recipient, &mut g).unwrap();
    sqlx::query("UPDATE recipient_certs SET sealed_key = $1 WHERE contact_id = $2")
        .bind(&legacy)
        .bind(bob)
        .execute(pool)
        .await
        .unwrap();
    let o = engine.forward(MSG, &env("bob@example.org", ALIAS), NOW, &mut g).await;
    assert_eq!(o, Outcome::Defer(relay_engine::DeferReason::Seal), "a version 1 key is not used as it is");
    assert_eq!(engine.store().reseal_legacy_keys(engine.master_key(), &mut g).await.unwrap(), 1);
    assert_eq!(engine.store().reseal_legacy_keys(engine.master_key(), &mut g).await.unwrap(), 0, "once");
    assert!(matches!(engine.forward(MSG, &env("bob@example.org", ALIAS), NOW, &mut g).await, Outcome::Deliver(_)));
}
