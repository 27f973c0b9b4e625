//! The HTTP API, endpoint by endpoint: the real router (`tower::ServiceExt::oneshot`) over a real
//! SQLite file, success and error paths, the error shape, 5xx bodies without internals, the
//! OpenAPI document against the route table, metrics and health, and one run over a real
//! loopback socket. `http_ownership.rs` has the cross-account matrix and the ceremony.
#![allow(clippy::unwrap_used, clippy::panic)]

#[macro_use]
mod http_support;

both!(
    tokens_are_made_listed_and_revoked,
    strict_mode,
    mailboxes_are_verified_by_a_mailed_code,
    verification_codes_expire_are_spent_by_guessing_and_can_be_resent,
    aliases_random_custom_and_their_settings,
    a_duplicate_bare_custom_alias_is_a_conflict => |s: relay_server::http::AppState| s.with_bare_custom_aliases(true),
    contacts_new_threads_and_blocking,
    the_event_log,
    errors_are_json_with_a_stable_code,
    a_failing_database_gives_a_5xx_without_internals,
    over_a_real_socket,
);

use std::sync::atomic::Ordering;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use http_support::{ADMIN, Env, assert_error, env, env_with};
use relay_engine::{
    model::{AccountId, ContactId, Event, ProfileId},
    store::Store,
};
use relay_server::{
    config::Secret,
    http::{Signup, route_table},
};
use serde_json::{Value, json};

#[tokio::test]
async fn bootstrap_needs_the_admin_token() {
    let e = env().await;
    let r = e.call(Method::POST, "/api/accounts", None, Some(json!({}))).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(r.headers.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
    let r = e.call(Method::POST, "/api/accounts", Some("not-the-admin-token"), Some(json!({}))).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    let r = e
        .call(Method::POST, "/api/accounts", Some(ADMIN), Some(json!({ "strict": true, "token_name": "laptop" })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["account"]["strict"], true);
    assert_eq!(r.body["token"]["name"], "laptop");
    let token = r.body["token"]["token"].as_str().unwrap();
    assert!(token.starts_with("mrt_") && token.len() == 68);
    // The admin token is not an account token.
    assert_error(&e.get("/api/account", ADMIN).await, StatusCode::UNAUTHORIZED, "unauthorized");
    let r = e.get("/api/account", token).await;
    assert_eq!(r.body, json!({ "id": r.body["id"], "strict": true, "reply_auth": "strong" }));
    let r = e.call(Method::POST, "/api/accounts", Some(ADMIN), Some(json!({ "token_name": "" }))).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    let r = e.call(Method::POST, "/api/accounts", Some(ADMIN), Some(json!({ "admin": true }))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");

    // Closed (the default) and open signup.
    let closed = env_with(|s| s.with_signup(Signup::Closed)).await;
    let r = closed.call(Method::POST, "/api/accounts", Some(ADMIN), Some(json!({}))).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    let open = env_with(|s| s.with_signup(Signup::Open)).await;
    let r = open.call(Method::POST, "/api/accounts", None, Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[test]
fn signup_from_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    };
    assert!(matches!(Signup::from_env(env(&[])), Signup::Closed));
    assert!(matches!(Signup::from_env(env(&[("MAILRELAY_OPEN_SIGNUP", "0")])), Signup::Closed));
    assert!(matches!(Signup::from_env(env(&[("MAILRELAY_OPEN_SIGNUP", "true")])), Signup::Open));
    let admin = Signup::from_env(env(&[("MAILRELAY_ADMIN_TOKEN", "s3cret"), ("MAILRELAY_OPEN_SIGNUP", "1")]));
    assert!(matches!(&admin, Signup::AdminToken(t) if t.expose() == "s3cret"), "the admin token wins");
    assert!(!format!("{admin:?}").contains("s3cret"));
}

#[tokio::test]
async fn every_api_route_needs_a_token() {
    let e = env().await;
    let (_, token) = e.account().await;
    for (method, path) in route_table() {
        if !path.starts_with("/api/") || path == "/api/accounts" || path == "/api/openapi.json" {
            continue;
        }
        let path = path.replace("{id}", "1");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        // A minute per route, so that the bad tokens below stay under the lockout.
        e.clock.fetch_add(60, Ordering::SeqCst);
        for bad in [None, Some("mrt_0000"), Some(ADMIN)] {
            let r = e.call(method.clone(), &path, bad, Some(json!({}))).await;
            assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
        }
        let mut req = Request::builder().method(method.clone()).uri(&path);
        req = req.header(header::AUTHORIZATION, format!("Basic {token}"));
        let r = e.send(req.body(Body::empty()).unwrap()).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    }
}

async fn tokens_are_made_listed_and_revoked(e: &Env) {
    let (_, first) = e.account().await;
    let r = e.post("/api/tokens", &first, json!({ "name": "phone" })).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let second = r.body["token"].as_str().unwrap().to_owned();
    let second_id = r.body["id"].as_i64().unwrap();
    assert_eq!(e.get("/api/account", &second).await.status, StatusCode::OK);
    let r = e.get("/api/tokens", &first).await;
    let tokens = r.body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[1]["name"], "phone");
    assert!(tokens[1]["last_used_at"].is_u64(), "it was used above");
    assert!(!r.body.to_string().contains(&second[4..]), "the list never shows a token");
    assert_eq!(e.delete(&format!("/api/tokens/{second_id}"), &first).await.status, StatusCode::NO_CONTENT);
    assert_error(&e.get("/api/account", &second).await, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_error(&e.delete(&format!("/api/tokens/{second_id}"), &first).await, StatusCode::NOT_FOUND, "not_found");
    let r = e.post("/api/tokens", &first, json!({ "name": "x".repeat(101) })).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
}

async fn strict_mode(e: &Env) {
    let (id, token) = e.account().await;
    let r = e.patch("/api/account", &token, json!({ "strict": true })).await;
    assert_eq!(r.body, json!({ "id": id, "strict": true, "reply_auth": "strong" }));
    let r = e.patch("/api/account", &token, json!({ "reply_auth": "envelope" })).await;
    assert_eq!(r.body, json!({ "id": id, "strict": true, "reply_auth": "envelope" }));
    let r = e.patch("/api/account", &token, json!({ "reply_auth": "anyone" })).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    assert!(e.state.store().account(AccountId(id)).await.unwrap().unwrap().strict);
    let r = e.patch("/api/account", &token, json!({ "strict": "yes" })).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    assert_eq!(e.get("/api/account", &token).await.body["strict"], true);
}

async fn mailboxes_are_verified_by_a_mailed_code(e: &Env) {
    let (_, token) = e.account().await;
    let r = e.post("/api/mailboxes", &token, json!({ "address": "You@Example.COM" })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verified"], false);
    assert_eq!(r.body["verification_sent"], true);
    assert_eq!(r.body["address"], "You@example.com");
    let id = r.body["id"].as_i64().unwrap();
    {
        let sent = e.mail.sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].from, "", "null envelope sender: nothing bounces back to the relay");
        assert_eq!(sent[0].to, "You@example.com");
        assert!(sent[0].data.contains("From: Mail relay <postmaster@pportal.io>\r\n"));
        assert!(sent[0].data.contains("Auto-Submitted: auto-generated\r\n"));
    }
    let code = e.mail.code_for("You@example.com");
    assert_eq!(code.len(), 11);
    let confirm = format!("/api/mailboxes/{id}/confirm");
    let r = e.post(&confirm, &token, json!({ "code": "00000-00000" })).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(e.get("/api/mailboxes", &token).await.body["mailboxes"][0]["verified"], false);
    let r = e.post(&confirm, &token, json!({ "code": code.to_uppercase().replace('-', " ") })).await;
    assert_eq!(r.status, StatusCode::OK, "case, dashes and spaces do not matter: {}", r.body);
    assert_eq!(r.body, json!({ "id": id, "address": "You@example.com", "verified": true }));
    assert_eq!(e.get("/api/mailboxes", &token).await.body["mailboxes"][0]["verified"], true);
    let r = e.post(&format!("/api/mailboxes/{id}/resend"), &token, json!({})).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");

    // Already in this account (case-insensitively), malformed, or at the relay's own domain.
    let r = e.post("/api/mailboxes", &token, json!({ "address": "you@example.com" })).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    // Another account's mailbox is not "taken": that answer would tell anyone it uses the relay.
    let (_, other) = e.account().await;
    let r = e.post("/api/mailboxes", &other, json!({ "address": "YOU@example.com" })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verified"], false);
    let r = e.post("/api/mailboxes", &token, json!({ "address": "not an address" })).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_address");
    let r = e.post("/api/mailboxes", &token, json!({ "address": "quiet.otter.42@pportal.io" })).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_address");
    let r = e.post("/api/mailboxes", &token, json!({})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
}

async fn verification_codes_expire_are_spent_by_guessing_and_can_be_resent(e: &Env) {
    let (_, token) = e.account().await;
    // The next hop is down: the mailbox exists, unverified, and the code can be sent again.
    e.mail.fail.store(true, Ordering::SeqCst);
    let r = e.post("/api/mailboxes", &token, json!({ "address": "a@example.com" })).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["verification_sent"], false);
    let id = r.body["id"].as_i64().unwrap();
    e.mail.fail.store(false, Ordering::SeqCst);
    let resend = format!("/api/mailboxes/{id}/resend");
    let confirm = format!("/api/mailboxes/{id}/confirm");
    let r = e.post(&resend, &token, json!({})).await;
    assert_eq!(r.body["verification_sent"], true, "{}", r.body);

    // An hour later the code no longer works.
    let code = e.mail.code_for("a@example.com");
    e.clock.fetch_add(3601, Ordering::SeqCst);
    assert_error(&e.post(&confirm, &token, json!({ "code": code })).await, StatusCode::BAD_REQUEST, "invalid_request");

    // Five wrong guesses spend a fresh code: the right one fails after them.
    e.post(&resend, &token, json!({})).await;
    let code = e.mail.code_for("a@example.com");
    for _ in 0..5 {
        let r = e.post(&confirm, &token, json!({ "code": "zzzzz-zzzzz" })).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let r = e.post(&confirm, &token, json!({ "code": code })).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("too many"));

    // A new code works again, and a resend makes the previous code useless.
    e.post(&resend, &token, json!({})).await;
    let old = e.mail.code_for("a@example.com");
    e.post(&resend, &token, json!({})).await;
    let new = e.mail.code_for("a@example.com");
    assert_ne!(old, new);
    assert_error(&e.post(&confirm, &token, json!({ "code": old })).await, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(e.post(&confirm, &token, json!({ "code": new })).await.status, StatusCode::OK);
}

async fn aliases_random_custom_and_their_settings(e: &Env) {
    let (_, token) = e.account().await;
    let r = e.post("/api/aliases", &token, json!({})).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    let unverified = e.unverified_mailbox(&token, "later@example.com").await;
    let r = e.post("/api/aliases", &token, json!({ "mailbox_id": unverified })).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    let mailbox = e.verified_mailbox(&token, "you@example.com").await;

    let r = e.post("/api/aliases", &token, json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let random = r.body.clone();
    assert!(random["address"].as_str().unwrap().ends_with("@pportal.io"));
    assert_eq!(random["address"].as_str().unwrap().split('.').count(), 4, "adjective.noun.NN@pportal.io");
    assert_eq!(random["mailbox_id"], mailbox);
    assert_eq!(random["enabled"], true);
    assert_eq!(random["when_disabled"], "drop");

    let r = e.post("/api/aliases", &token, json!({ "prefix": "Shop", "mailbox_id": mailbox })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let custom = r.body["address"].as_str().unwrap();
    assert!(custom.starts_with("shop.") && custom.ends_with("@pportal.io") && custom.len() == 22, "{custom}");
    for bad in ["-shop", "sh op", "postmaster", "a..b", ""] {
        let r = e.post("/api/aliases", &token, json!({ "prefix": bad })).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_address");
    }
    let r = e.post("/api/aliases", &token, json!({ "prefix": "shop", "suffix": false })).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    let r = e.post("/api/aliases", &token, json!({ "mailbox_id": 9999 })).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");

    let list = e.get("/api/aliases", &token).await.body;
    assert_eq!(list["aliases"].as_array().unwrap().len(), 2);
    assert_eq!(list["aliases"][0], random);

    let id = random["id"].as_i64().unwrap();
    let path = format!("/api/aliases/{id}");
    let r = e.patch(&path, &token, json!({ "enabled": false, "when_disabled": "reject" })).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!((r.body["enabled"].clone(), r.body["when_disabled"].clone()), (json!(false), json!("reject")));
    let r = e.patch(&path, &token, json!({ "enabled": true })).await;
    assert_eq!((r.body["enabled"].clone(), r.body["when_disabled"].clone()), (json!(true), json!("reject")));
    let r = e.patch(&path, &token, json!({ "when_disabled": "bounce" })).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let stored = e.state.store().alias_by_address(random["address"].as_str().unwrap()).await.unwrap().unwrap();
    assert!(stored.enabled);

    assert_eq!(e.delete(&path, &token).await.status, StatusCode::NO_CONTENT);
    assert_error(&e.delete(&path, &token).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&e.patch(&path, &token, json!({ "enabled": true })).await, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(e.get("/api/aliases", &token).await.body["aliases"].as_array().unwrap().len(), 1);
}

async fn a_duplicate_bare_custom_alias_is_a_conflict(e: &Env) {
    let (_, a) = e.account().await;
    e.verified_mailbox(&a, "a@example.com").await;
    let r = e.post("/api/aliases", &a, json!({ "prefix": "shop", "suffix": false })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["address"], "shop@pportal.io");
    let r = e.post("/api/aliases", &a, json!({ "prefix": "SHOP", "suffix": false })).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    let (_, b) = e.account().await;
    e.verified_mailbox(&b, "b@example.com").await;
    let r = e.post("/api/aliases", &b, json!({ "prefix": "shop", "suffix": false })).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    let r = e.post("/api/aliases", &b, json!({ "suffix": false })).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    let r = e.post("/api/aliases", &b, json!({ "prefix": "shop" })).await;
    assert_eq!(r.status, StatusCode::CREATED, "with its suffix the name is free: {}", r.body);
}

async fn contacts_new_threads_and_blocking(e: &Env) {
    let (_, token) = e.account().await;
    e.verified_mailbox(&token, "you@example.com").await;
    let (alias, _) = e.alias(&token).await;
    let path = format!("/api/aliases/{alias}/contacts");
    let r = e.post(&path, &token, json!({ "address": "Erin@Example.com", "display_name": "Erin" })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let contact = r.body.clone();
    assert_eq!(contact["address"], "Erin@example.com");
    assert_eq!(contact["display_name"], "Erin");
    assert_eq!(contact["alias_id"], alias);
    assert_eq!(contact["blocked"], Value::Null);
    let reverse = contact["reverse_alias"].as_str().unwrap();
    assert!(reverse.starts_with("erin.example.") && reverse.ends_with("@pportal.io"), "{reverse}");
    let found = e.state.store().contact_by_reverse_alias(reverse).await.unwrap().unwrap();
    assert_eq!(found.id.0, contact["id"].as_i64().unwrap());
    let r = e.post(&path, &token, json!({ "address": "Erin@example.com" })).await;
    assert_eq!(r.status, StatusCode::OK, "the same thread again");
    assert_eq!(r.body["id"], contact["id"]);
    for bad in ["erin", "a@b@c", "x@pportal.io"] {
        let r = e.post(&path, &token, json!({ "address": bad })).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_address");
    }
    assert_error(
        &e.post("/api/aliases/999/contacts", &token, json!({ "address": "x@example.com" })).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(e.get(&path, &token).await.body["contacts"], json!([contact]));

    let id = contact["id"].as_i64().unwrap();
    let cpath = format!("/api/contacts/{id}");
    assert_eq!(e.patch(&cpath, &token, json!({ "blocked": "reject" })).await.status, StatusCode::NO_CONTENT);
    assert_eq!(e.get(&path, &token).await.body["contacts"][0]["blocked"], "reject");
    assert_eq!(e.patch(&cpath, &token, json!({ "blocked": null })).await.status, StatusCode::NO_CONTENT);
    assert_eq!(e.get(&path, &token).await.body["contacts"][0]["blocked"], Value::Null);
    assert_error(&e.patch(&cpath, &token, json!({})).await, StatusCode::BAD_REQUEST, "invalid_request");
    let r = e.patch(&cpath, &token, json!({ "blocked": "maybe" })).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    assert_error(
        &e.patch("/api/contacts/999", &token, json!({ "blocked": "drop" })).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(&e.get("/api/aliases/999/contacts", &token).await, StatusCode::NOT_FOUND, "not_found");
}

async fn the_event_log(e: &Env) {
    let (a, token) = e.account().await;
    let (_, other) = e.account().await;
    assert_eq!(e.get("/api/events", &token).await.body, json!({ "events": [] }));
    let store = e.state.store();
    let issued = Event::Issued {
        account: AccountId(a),
        profile: ProfileId(3),
        contact: ContactId(4),
        serial: "0a0b".into(),
        subject: "bob.x@pportal.io".into(),
        at: pki_core::UnixTime(1_800_000_000),
    };
    store.log(issued).await.unwrap();
    let refused = Event::ReplyRefused {
        account: AccountId(a),
        contact: ContactId(4),
        sender: "m@evil.example".into(),
        reason: "unauthorized".into(),
        at: pki_core::UnixTime(1_800_000_100),
    };
    store.log(refused).await.unwrap();
    let hop = Event::NextHopRefused {
        account: AccountId(a),
        alias: relay_engine::model::AliasId(2),
        contact: None,
        code: 552,
        text: "5.2.2 mailbox full".into(),
        at: pki_core::UnixTime(1_800_000_200),
    };
    store.log(hop).await.unwrap();
    let r = e.get("/api/events", &token).await;
    assert_eq!(
        r.body["events"],
        json!([
            { "kind": "issued", "profile_id": 3, "contact_id": 4, "serial": "0a0b", "subject": "bob.x@pportal.io", "at": 1_800_000_000 },
            { "kind": "reply_refused", "contact_id": 4, "sender": "m@evil.example", "reason": "unauthorized", "at": 1_800_000_100 },
            { "kind": "next_hop_refused", "alias_id": 2, "contact_id": null, "code": 552, "text": "5.2.2 mailbox full", "at": 1_800_000_200 },
        ])
    );
    assert_eq!(e.get("/api/events", &other).await.body, json!({ "events": [] }), "another account's log is its own");
}

async fn errors_are_json_with_a_stable_code(e: &Env) {
    let (_, token) = e.account().await;
    assert_error(&e.get("/api/nothing-here", &token).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&e.get("/nothing", &token).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&e.delete("/api/account", &token).await, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_error(&e.get("/api/aliases/abc/contacts", &token).await, StatusCode::NOT_FOUND, "not_found");
    let req = Request::post("/api/tokens")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    assert_error(&e.send(req).await, StatusCode::BAD_REQUEST, "invalid_request");
    let req = Request::post("/api/tokens")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from("{}"))
        .unwrap();
    assert_error(&e.send(req).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request");
}

const INTERNAL: &str = r#"{"error":{"code":"internal","message":"internal error"}}"#;

async fn a_failing_database_gives_a_5xx_without_internals(e: &Env) {
    let (a, token) = e.account().await;
    // Unreadable data: an active profile whose intermediate is not a certificate.
    let profile = relay_engine::model::Profile {
        id: ProfileId(0),
        account: AccountId(a),
        status: relay_engine::model::ProfileStatus::Active,
        root: Some(b"not a root".to_vec()),
        intermediate: Some(b"not a certificate".to_vec()),
        end_entity: b"not a certificate either".to_vec(),
        sealed_intermediate_key: b"sealed".to_vec(),
    };
    let id = e.state.store().insert_profile(&profile).await.unwrap();
    let r = e.get(&format!("/api/profiles/{}/crl", id.0), &token).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(String::from_utf8(r.bytes).unwrap(), INTERNAL);

    let backend = e.state.store().backend();
    assert_eq!(e.call(Method::GET, "/healthz", None, None).await.body, json!({ "status": "ok", "database": backend }));
    // The database goes away.
    e.state.store().close().await;
    for (method, path) in [(Method::GET, "/api/aliases"), (Method::GET, "/healthz"), (Method::POST, "/api/accounts")] {
        let auth = if path == "/api/accounts" { ADMIN } else { &token };
        let r = e.call(method, path, Some(auth), Some(json!({}))).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(String::from_utf8(r.bytes).unwrap(), INTERNAL, "{path}");
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let e = env().await;
    let r = e.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let table = route_table();
    assert!(table.len() >= 28, "{table:?}");
    for (method, path) in &table {
        let op = &doc["paths"][*path][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {path} is not in the OpenAPI document");
        assert!(op["responses"].is_object() && op["summary"].is_string(), "{method} {path}");
    }
    let mut documented = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented += 1;
            let known = table.iter().any(|(m, p)| p == path && m.eq_ignore_ascii_case(method));
            assert!(known, "{method} {path} is documented but not routed");
        }
    }
    assert_eq!(documented, table.len());
    // Every $ref resolves.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/").skip(1) {
        let pointer = format!("/{}", &piece[..piece.find('"').unwrap()]);
        assert!(doc.pointer(&pointer).is_some(), "dangling $ref {pointer}");
    }
    // And every route in the table is really routed (no fallback 404 or 405).
    for (method, path) in &table {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let r = e.call(method.clone(), &path.replace("{id}", "1"), None, Some(json!({}))).await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_ne!(r.body["error"]["message"], "no such route", "{method} {path}");
    }
}

#[tokio::test]
async fn bounds_on_bodies_bad_tokens_and_metrics() {
    let e = env_with(|s| s.with_metrics_token(Secret::new("metrics-secret"))).await;
    let (_, token) = e.account().await;
    // A body over the limit: 413 before any handler runs.
    let huge = json!({ "address": "x".repeat(relay_server::http::MAX_BODY) });
    let r = e.call(Method::POST, "/api/mailboxes", Some(&token), Some(huge)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    // /metrics wants its token.
    assert_error(&e.call(Method::GET, "/metrics", None, None).await, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_error(&e.get("/metrics", &token).await, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(e.get("/metrics", "metrics-secret").await.status, StatusCode::OK);
    // Guessing tokens: after ten bad ones in a minute, every token from that client gets 429,
    // the right one too, so the answer says nothing about the token.
    for i in 0..relay_server::http::MAX_BAD_TOKENS {
        assert_error(&e.get("/api/account", &format!("mrt_guess{i}")).await, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    assert_error(&e.get("/api/account", "mrt_guess_again").await, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_error(&e.get("/api/account", &token).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // A minute later it is served again.
    e.clock.fetch_add(60, Ordering::SeqCst);
    assert_eq!(e.get("/api/account", &token).await.status, StatusCode::OK);
}

/// A mailbox holds a bounded number of app passwords, so that a sign-in can always verify the
/// same number of hashes (see `app_password::find_match`).
#[tokio::test]
async fn a_mailbox_holds_a_bounded_number_of_app_passwords() {
    let e = env().await;
    let (_, token) = e.account().await;
    let mailbox = e.verified_mailbox(&token, "alice@example.com").await;
    let path = format!("/api/mailboxes/{mailbox}/app-passwords");
    let mut ids = Vec::new();
    for i in 0..relay_server::app_password::MAX_PER_MAILBOX {
        let made = e.post(&path, &token, json!({ "name": format!("device {i}") })).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        ids.push(made.body["id"].as_i64().unwrap());
    }
    let over = e.post(&path, &token, json!({ "name": "one too many" })).await;
    assert_error(&over, StatusCode::CONFLICT, "conflict");
    assert!(over.body["error"]["message"].as_str().unwrap().contains("revoke one first"), "{}", over.body);
    assert_eq!(e.delete(&format!("/api/app-passwords/{}", ids[0]), &token).await.status, StatusCode::NO_CONTENT);
    assert_eq!(e.post(&path, &token, json!({ "name": "replacement" })).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let e = env().await;
    let (_, token) = e.account().await;
    e.get("/api/aliases/17/contacts", &token).await;
    e.get("/api/aliases/18/contacts", &token).await;
    e.call(Method::GET, "/api/aliases/18/contacts", None, None).await;
    e.get("/no/such/path", &token).await;
    let r = e.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = r.body.as_str().unwrap();
    assert!(text.contains("# TYPE mailrelay_http_requests_total counter"), "{text}");
    assert!(
        text.contains(
            r#"mailrelay_http_requests_total{method="GET",route="/api/aliases/{id}/contacts",status="404"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"mailrelay_http_requests_total{method="GET",route="/api/aliases/{id}/contacts",status="401"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"mailrelay_http_requests_total{method="POST",route="/api/accounts",status="201"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404"} 1"#), "{text}");
    assert!(text.contains(&format!("mailrelay_build_info{{version=\"{}\",", env!("CARGO_PKG_VERSION"))), "{text}");
    assert!(text.contains("mailrelay_key_pool_keys 0"), "{text}");
    assert!(!text.contains("/17/") && !text.contains("/18/"), "ids never become label values");
}

async fn over_a_real_socket(e: &Env) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(relay_server::http::serve(listener, e.state.clone(), stopped));
    let exchange = |request: String| async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    };
    let health = exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into()).await;
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    let backend = e.state.store().backend();
    assert!(health.ends_with(&format!(r#"{{"database":"{backend}","status":"ok"}}"#)), "{health}");
    let body = r#"{"token_name":"socket"}"#;
    let created = exchange(format!(
        "POST /api/accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
    .await;
    assert!(created.starts_with("HTTP/1.1 201 Created\r\n"), "{created}");
    let json: Value = serde_json::from_str(&created[created.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    let token = json["token"]["token"].as_str().unwrap();
    let account = exchange(format!(
        "GET /api/account HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    ))
    .await;
    assert!(account.starts_with("HTTP/1.1 200 OK\r\n"), "{account}");
    stop.send(true).unwrap();
    server.await.unwrap().unwrap();
}

/// Envelope sender, recipients and data of one message.
type Received = (Option<String>, Vec<String>, Vec<u8>);

/// A next hop on loopback that keeps what it is given.
struct Sink {
    domains: relay_engine::address::RelayDomains,
    got: std::sync::Mutex<Vec<Received>>,
}

impl relay_server::smtp::Handler for Sink {
    fn domains(&self) -> &relay_engine::address::RelayDomains {
        &self.domains
    }

    async fn check_rcpt(
        &self,
        _from: Option<&relay_engine::address::Address>,
        _rcpt: &relay_engine::address::Address,
    ) -> Result<relay_server::smtp::Destination, relay_server::smtp::Reply> {
        Ok(relay_server::smtp::Destination::new("sink"))
    }

    async fn deliver(
        &self,
        from: Option<&relay_engine::address::Address>,
        rcpts: &[relay_engine::address::Address],
        data: &[u8],
    ) -> Result<(), relay_server::smtp::Reply> {
        let rcpts = rcpts.iter().map(|r| r.as_str().to_owned()).collect();
        self.got.lock().unwrap().push((from.map(|f| f.as_str().to_owned()), rcpts, data.to_vec()));
        Ok(())
    }
}

#[tokio::test]
async fn the_real_mailer_sends_the_code_through_the_next_hop() {
    use std::{sync::Arc, time::Duration};

    use relay_server::{
        config::Secret,
        delivery::{Client, NextHop},
        http::{AppState, SmarthostMailer},
        smtp::Limits,
    };
    let mut e = env().await;
    let sink = Arc::new(Sink {
        domains: relay_engine::address::RelayDomains::new(["sink.invalid"]).unwrap(),
        got: std::sync::Mutex::new(Vec::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(relay_server::smtp::serve(listener, sink.clone(), Limits::default(), stopped));
    let hop = Client::new(NextHop {
        address,
        helo: "relay.test".into(),
        reply_timeout: Duration::from_secs(10),
        idle_max: Duration::from_secs(5),
    });
    let state = AppState::new(e.state.engine().clone(), Arc::new(SmarthostMailer::new(Arc::new(hop))))
        .with_signup(Signup::AdminToken(Secret::new(ADMIN)));
    e.app = relay_server::http::app(state.clone());
    e.state = state;

    let (_, token) = e.account().await;
    let r = e.post("/api/mailboxes", &token, json!({ "address": "you@example.com" })).await;
    assert_eq!(r.body["verification_sent"], true, "{}", r.body);
    let (from, rcpts, data) = sink.got.lock().unwrap().pop().unwrap();
    assert_eq!(from, None, "MAIL FROM:<>");
    assert_eq!(rcpts, ["you@example.com"]);
    let data = String::from_utf8(data).unwrap();
    let code = data.lines().find_map(|l| l.strip_prefix("Your verification code is: ")).unwrap().trim().to_owned();
    let id = r.body["id"].as_i64().unwrap();
    let r = e.post(&format!("/api/mailboxes/{id}/confirm"), &token, json!({ "code": code })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // The next hop goes away: the mailbox is still added, and the answer says the code is not sent.
    stop.send(true).unwrap();
    server.await.unwrap();
    let r = e.post("/api/mailboxes", &token, json!({ "address": "second@example.com" })).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["verification_sent"], false, "{}", r.body);
}
