//! Ownership and the S/MIME ceremony over the HTTP API.
//!
//! - The matrix: for every endpoint that takes an id, account B's token on account A's
//!   resource answers 404 exactly as for an id that does not exist, and A's data is unchanged
//!   (B even holds A's real verification code and a valid ceremony completion).
//! - The ceremony: CSR and root public key in; end-entity certificate and intermediate TBS out;
//!   root and signature (or signed intermediate) in; the chain is verified and activated; the
//!   downloads and the CRL check out against it.
#![allow(clippy::unwrap_used, clippy::panic)]

#[macro_use]
mod http_support;

both!(
    the_ceremony_end_to_end,
    the_ceremony_refuses_what_it_should,
    one_accounts_token_never_reaches_another_accounts_data
);

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use base64ct::{Base64, Encoding};
use der::{Decode, DecodePem, Encode, EncodePem, pem::LineEnding};
use http_support::{Env, assert_error, system_now};
use pki_core::{
    KeyAlgorithm, PrivateKey, UnixTime,
    address::Mailbox,
    cert::{self, Lifetime},
    crl, csr,
    path::{self, Usage},
};
use relay_engine::{
    address::Address,
    model::AccountId,
    profile::{CeremonyRequest, local_ceremony},
};
use serde_json::{Value, json};
use x509_cert::Certificate;

const ROOT_CN: &str = "Mail relay user root";

fn rng() -> rand_chacha::ChaCha20Rng {
    relay_server::app::os_rng().unwrap()
}

fn now() -> UnixTime {
    UnixTime(system_now())
}

/// What the user's side keeps between the two ceremony steps.
struct UserSide {
    root_key: PrivateKey,
    ee_key: PrivateKey,
}

/// Step 1 for `mailbox`: the CSR and root public key go in; the answer comes back.
async fn begin(e: &Env, token: &str, mailbox: &str) -> (UserSide, Value) {
    let mut rng = rng();
    let ee_key = PrivateKey::generate(KeyAlgorithm::P256, &mut rng).unwrap();
    let root_key = PrivateKey::generate(KeyAlgorithm::P256, &mut rng).unwrap();
    let request = csr::build(&Mailbox::parse(mailbox).unwrap(), &ee_key.public_key()).unwrap();
    let request = request.sign(&ee_key, &mut rng).unwrap();
    let spki = root_key.public_key().to_spki().unwrap().to_der().unwrap();
    let body = json!({
        "csr": request.to_pem(LineEnding::LF).unwrap(),
        "root_public_key": der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &spki).unwrap(),
        "key_algorithm": "p256",
    });
    let r = e.post("/api/profiles", token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (UserSide { root_key, ee_key }, r.body)
}

/// Step 2 on the user's side: the self-signed root and the root's signature over the TBS.
fn sign(user: &UserSide, started: &Value) -> (Certificate, Vec<u8>) {
    let mut rng = rng();
    let life = Lifetime { now: now(), days: cert::MAX_VALIDITY_DAYS };
    let root = cert::root(ROOT_CN, &user.root_key.public_key(), life, &mut rng)
        .unwrap()
        .sign(&user.root_key, &mut rng)
        .unwrap();
    let tbs = Base64::decode_vec(started["intermediate_tbs"].as_str().unwrap()).unwrap();
    (root, user.root_key.sign(&tbs, &mut rng).unwrap())
}

fn pem(c: &Certificate) -> String {
    c.to_pem(LineEnding::LF).unwrap()
}

/// `SEQUENCE { tbs, algorithm, BIT STRING signature }`: the intermediate, assembled by hand.
fn assemble(tbs: &[u8], root_key: &PrivateKey, sig: &[u8]) -> Vec<u8> {
    let mut content = tbs.to_vec();
    content.extend(root_key.signature_algorithm().to_der().unwrap());
    content.extend(der::asn1::BitString::from_bytes(sig).unwrap().to_der().unwrap());
    let len = content.len();
    let mut out = vec![0x30, 0x82, u8::try_from(len >> 8).unwrap(), u8::try_from(len & 0xff).unwrap()];
    out.extend(content);
    out
}

/// A DER `ECDSA-Sig-Value` for P-256 as WebCrypto's raw `r || s`.
fn raw_ecdsa(sig: &[u8]) -> Vec<u8> {
    assert_eq!(sig[0], 0x30);
    let mut rest = &sig[2..];
    let mut out = Vec::new();
    for _ in 0..2 {
        assert_eq!(rest[0], 0x02);
        let len = usize::from(rest[1]);
        let int = &rest[2..2 + len];
        let int = &int[int.iter().take_while(|b| **b == 0).count()..];
        out.extend(std::iter::repeat_n(0u8, 32 - int.len()));
        out.extend_from_slice(int);
        rest = &rest[2 + len..];
    }
    out
}

fn certs_in(pem_text: &str) -> Vec<Certificate> {
    pem_text
        .split_inclusive("-----END CERTIFICATE-----\n")
        .map(|block| Certificate::from_pem(block.as_bytes()).unwrap())
        .collect()
}

async fn the_ceremony_end_to_end(e: &Env) {
    let (_, token) = e.account().await;
    e.verified_mailbox(&token, "you@example.com").await;
    e.verified_mailbox(&token, "work@example.org").await;

    let (user, started) = begin(e, &token, "you@example.com").await;
    assert_eq!(started["profile"]["status"], "pending");
    assert_eq!(started["profile"]["has_root"], false);
    assert_eq!(started["root_subject"], format!("CN={ROOT_CN}"));
    let id = started["profile"]["id"].as_i64().unwrap();
    let ee = Certificate::from_pem(started["end_entity"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(ee.tbs_certificate().subject().to_string(), "CN=you@example.com");
    assert_eq!(
        ee.tbs_certificate().subject_public_key_info().to_der().unwrap(),
        user.ee_key.public_key().to_spki().unwrap().to_der().unwrap(),
        "the end-entity certificate is for the user's own key"
    );
    assert_error(&e.get(&format!("/api/profiles/{id}/root.pem"), &token).await, StatusCode::NOT_FOUND, "not_found");

    let (root, sig) = sign(&user, &started);
    let complete = format!("/api/profiles/{id}/complete");
    // A root made with another key cannot carry this signature.
    let impostor = UserSide {
        root_key: PrivateKey::generate(KeyAlgorithm::P256, &mut rng()).unwrap(),
        ee_key: PrivateKey::generate(KeyAlgorithm::P256, &mut rng()).unwrap(),
    };
    let (other_root, other_sig) = sign(&impostor, &started);
    let r = e
        .post(
            &complete,
            &token,
            json!({ "root": pem(&other_root), "intermediate_signature": Base64::encode_string(&sig) }),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    let r = e
        .post(
            &complete,
            &token,
            json!({ "root": pem(&root), "intermediate_signature": Base64::encode_string(&other_sig) }),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    let r = e.post(&complete, &token, json!({ "root": pem(&root) })).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(e.get("/api/profiles", &token).await.body["profiles"][0]["status"], "pending");

    let r = e
        .post(&complete, &token, json!({ "root": pem(&root), "intermediate_signature": Base64::encode_string(&sig) }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["has_root"], true);
    let r = e
        .post(&complete, &token, json!({ "root": pem(&root), "intermediate_signature": Base64::encode_string(&sig) }))
        .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");

    // Downloads.
    let r = e.get(&format!("/api/profiles/{id}/root.pem"), &token).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get("content-type").unwrap(), "application/x-pem-file");
    assert_eq!(certs_in(r.body.as_str().unwrap()), vec![root.clone()]);
    let chain = certs_in(e.get(&format!("/api/profiles/{id}/chain.pem"), &token).await.body.as_str().unwrap());
    assert_eq!(chain.len(), 3);
    assert_eq!((&chain[0], &chain[2]), (&ee, &root));
    let intermediate = chain[1].clone();
    let verdict = path::validate(&ee, std::slice::from_ref(&intermediate), &root, now(), Usage::Encrypt);
    assert!(verdict.is_valid(), "{verdict}");
    let r = e.get(&format!("/api/profiles/{id}/crl"), &token).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get("content-type").unwrap(), "application/pkix-crl");
    let list = crl::verify(&r.bytes, &intermediate).unwrap();
    assert!(!crl::is_revoked(&list, &ee));

    // A second ceremony, completed with the signed intermediate itself, retires the first.
    let (user2, started2) = begin(e, &token, "work@example.org").await;
    let id2 = started2["profile"]["id"].as_i64().unwrap();
    let (root2, sig2) = sign(&user2, &started2);
    let tbs2 = Base64::decode_vec(started2["intermediate_tbs"].as_str().unwrap()).unwrap();
    let wrong =
        assemble(&Base64::decode_vec(started["intermediate_tbs"].as_str().unwrap()).unwrap(), &user2.root_key, &sig2);
    let r = e
        .post(
            &format!("/api/profiles/{id2}/complete"),
            &token,
            json!({ "root": pem(&root2), "intermediate": Base64::encode_string(&wrong) }),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    let inter2 = Certificate::from_der(&assemble(&tbs2, &user2.root_key, &sig2)).unwrap();
    let r = e
        .post(
            &format!("/api/profiles/{id2}/complete"),
            &token,
            json!({ "root": pem(&root2), "intermediate": pem(&inter2) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let profiles = e.get("/api/profiles", &token).await.body["profiles"].clone();
    let status = |pid: i64| profiles.as_array().unwrap().iter().find(|p| p["id"] == pid).unwrap()["status"].clone();
    assert_eq!((status(id), status(id2)), (json!("retired"), json!("active")));
    let r = e.post(&format!("/api/profiles/{id2}/retire"), &token, json!({})).await;
    assert_eq!(r.body["status"], "retired");
}

async fn the_ceremony_refuses_what_it_should(e: &Env) {
    let (_, token) = e.account().await;
    e.verified_mailbox(&token, "you@example.com").await;
    e.unverified_mailbox(&token, "not-yet@example.com").await;
    let key = PrivateKey::generate(KeyAlgorithm::P256, &mut rng()).unwrap();
    let spki = Base64::encode_string(&key.public_key().to_spki().unwrap().to_der().unwrap());
    let csr_for = |address: &str| {
        let request = csr::build(&Mailbox::parse(address).unwrap(), &key.public_key()).unwrap();
        Base64::encode_string(&request.sign(&key, &mut rng()).unwrap().to_der().unwrap())
    };
    for (csr, root, alg) in [
        (csr_for("not-yet@example.com"), spki.clone(), "p256"),
        (csr_for("stranger@example.com"), spki.clone(), "p256"),
        ("bm90IGEgQ1NS".to_owned(), spki.clone(), "p256"),
        (csr_for("you@example.com"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(), "p256"),
        (csr_for("you@example.com"), spki.clone(), "dsa"),
    ] {
        let r =
            e.post("/api/profiles", &token, json!({ "csr": csr, "root_public_key": root, "key_algorithm": alg })).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let r =
        e.post("/api/profiles", &token, json!({ "csr": csr_for("you@example.com"), "root_private_key": "x" })).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    assert_eq!(e.get("/api/profiles", &token).await.body, json!({ "profiles": [] }));
}

/// A's data as A sees it.
async fn snapshot(e: &Env, token: &str, alias: i64) -> Value {
    let mut out = serde_json::Map::new();
    for path in ["/api/account", "/api/tokens", "/api/mailboxes", "/api/aliases", "/api/profiles", "/api/events"] {
        out.insert(path.into(), e.get(path, token).await.body);
    }
    out.insert("contacts".into(), e.get(&format!("/api/aliases/{alias}/contacts"), token).await.body);
    // last_used_at changes with every request A makes.
    let mut v = Value::Object(out);
    for t in v["/api/tokens"]["tokens"].as_array_mut().unwrap() {
        t["last_used_at"] = Value::Null;
    }
    v
}

async fn one_accounts_token_never_reaches_another_accounts_data(e: &Env) {
    let (a, token_a) = e.account().await;
    let second = e.post("/api/tokens", &token_a, json!({ "name": "second" })).await.body["id"].as_i64().unwrap();
    let mailbox = e.verified_mailbox(&token_a, "alice@example.com").await;
    let pending_mailbox = e.unverified_mailbox(&token_a, "alice.work@example.com").await;
    let code = e.mail.code_for("alice.work@example.com");
    let (alias, _) = e.alias(&token_a).await;
    let contact = e.contact(&token_a, alias, "erin@example.net").await;
    let owner = Address::parse("alice@example.com").unwrap();
    let req = CeremonyRequest {
        account: AccountId(a),
        owner: &owner,
        mailboxes: std::slice::from_ref(&owner),
        domains: &e.state.engine().config().domains,
        key: KeyAlgorithm::P256,
        now: now(),
    };
    let done = local_ceremony(&req, e.state.engine().master_key(), &mut rng()).unwrap();
    let active = e.state.store().insert_profile(&done.profile).await.unwrap().0;
    let (user, started) = begin(e, &token_a, "alice@example.com").await;
    let pending = started["profile"]["id"].as_i64().unwrap();
    let (root, sig) = sign(&user, &started);
    // As WebCrypto gives it: raw r||s.
    let completion = json!({ "root": pem(&root), "intermediate_signature": Base64::encode_string(&raw_ecdsa(&sig)) });

    let made = e.post(&format!("/api/mailboxes/{mailbox}/app-passwords"), &token_a, json!({ "name": "laptop" })).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let app_password = made.body["id"].as_i64().unwrap();

    let (_, token_b) = e.account().await;
    e.verified_mailbox(&token_b, "bob@example.com").await;
    let before_a = snapshot(e, &token_a, alias).await;
    let b_aliases = e.get("/api/aliases", &token_b).await.body;

    // (method, path with A's id, path with an id nobody has, body)
    let cases: Vec<(Method, String, String, Option<Value>)> = vec![
        (Method::DELETE, format!("/api/tokens/{second}"), "/api/tokens/99999".into(), None),
        (
            Method::POST,
            format!("/api/mailboxes/{pending_mailbox}/confirm"),
            "/api/mailboxes/99999/confirm".into(),
            Some(json!({ "code": code })),
        ),
        (
            Method::POST,
            format!("/api/mailboxes/{pending_mailbox}/resend"),
            "/api/mailboxes/99999/resend".into(),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/mailboxes/{mailbox}/confirm"),
            "/api/mailboxes/99999/confirm".into(),
            Some(json!({ "code": "00000-00000" })),
        ),
        (
            Method::POST,
            format!("/api/mailboxes/{mailbox}/resend"),
            "/api/mailboxes/99999/resend".into(),
            Some(json!({})),
        ),
        (
            Method::PATCH,
            format!("/api/aliases/{alias}"),
            "/api/aliases/99999".into(),
            Some(json!({ "enabled": false })),
        ),
        (Method::DELETE, format!("/api/aliases/{alias}"), "/api/aliases/99999".into(), None),
        (
            Method::POST,
            format!("/api/mailboxes/{mailbox}/app-passwords"),
            "/api/mailboxes/99999/app-passwords".into(),
            Some(json!({ "name": "b's" })),
        ),
        (
            Method::GET,
            format!("/api/mailboxes/{mailbox}/app-passwords"),
            "/api/mailboxes/99999/app-passwords".into(),
            None,
        ),
        (Method::DELETE, format!("/api/app-passwords/{app_password}"), "/api/app-passwords/99999".into(), None),
        (Method::GET, format!("/api/aliases/{alias}/contacts"), "/api/aliases/99999/contacts".into(), None),
        (
            Method::POST,
            format!("/api/aliases/{alias}/contacts"),
            "/api/aliases/99999/contacts".into(),
            Some(json!({ "address": "mallory@example.com" })),
        ),
        (
            Method::PATCH,
            format!("/api/contacts/{contact}"),
            "/api/contacts/99999".into(),
            Some(json!({ "blocked": "drop" })),
        ),
        (Method::POST, format!("/api/profiles/{active}/retire"), "/api/profiles/99999/retire".into(), Some(json!({}))),
        (
            Method::POST,
            format!("/api/profiles/{pending}/complete"),
            "/api/profiles/99999/complete".into(),
            Some(completion.clone()),
        ),
        (Method::GET, format!("/api/profiles/{active}/root.pem"), "/api/profiles/99999/root.pem".into(), None),
        (Method::GET, format!("/api/profiles/{active}/chain.pem"), "/api/profiles/99999/chain.pem".into(), None),
        (Method::GET, format!("/api/profiles/{active}/crl"), "/api/profiles/99999/crl".into(), None),
    ];
    let with_id: BTreeSet<(String, String)> = relay_server::http::route_table()
        .into_iter()
        .filter(|(_, p)| p.contains("{id}"))
        .map(|(m, p)| (m, p.to_owned()))
        .collect();
    let covered: BTreeSet<(String, String)> =
        cases.iter().map(|(m, _, nobody, _)| (m.to_string(), nobody.replace("99999", "{id}"))).collect();
    assert_eq!(covered, with_id, "every route that takes an id is in the matrix");
    for (method, path, nobody, body) in &cases {
        let r = e.call(method.clone(), path, Some(&token_b), body.clone()).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        let r0 = e.call(method.clone(), nobody, Some(&token_b), body.clone()).await;
        assert_error(&r0, StatusCode::NOT_FOUND, "not_found");
        let id = path.split('/').nth(3).unwrap();
        let shown = r.body["error"]["message"].as_str().unwrap().replace(id, "N");
        assert_eq!(
            shown,
            r0.body["error"]["message"].as_str().unwrap().replace("99999", "N"),
            "{method} {path} says more than 'not found'"
        );
    }
    // Naming A's mailbox for a new alias of B's.
    let r = e.post("/api/aliases", &token_b, json!({ "mailbox_id": mailbox })).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");

    // Nothing of A's changed, B gained nothing, and B's lists hold only B's.
    assert_eq!(snapshot(e, &token_a, alias).await, before_a);
    assert_eq!(e.get("/api/aliases", &token_b).await.body, b_aliases);
    assert_eq!(e.get("/api/profiles", &token_b).await.body, json!({ "profiles": [] }));
    assert_eq!(e.get("/api/events", &token_b).await.body, json!({ "events": [] }));
    let b_mailboxes = e.get("/api/mailboxes", &token_b).await.body;
    assert_eq!(b_mailboxes["mailboxes"].as_array().unwrap().len(), 1);
    assert_eq!(b_mailboxes["mailboxes"][0]["address"], "bob@example.com");
    assert_eq!(e.get("/api/tokens", &token_b).await.body["tokens"].as_array().unwrap().len(), 1);

    // A's pending code and A's ceremony still work: B's attempts spent nothing.
    let r = e.post(&format!("/api/mailboxes/{pending_mailbox}/confirm"), &token_a, json!({ "code": code })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = e.post(&format!("/api/profiles/{pending}/complete"), &token_a, completion).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(e.delete(&format!("/api/tokens/{second}"), &token_a).await.status, StatusCode::NO_CONTENT);
}
