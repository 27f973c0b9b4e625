//! The reply pipeline end to end with real S/MIME: the owner's client learns a contact's
//! recipient certificate from a forwarded message, replies signed and encrypted, and the
//! contact receives a plain message from the alias with no trace of the owner.

#![allow(clippy::unwrap_used)]

use pki_core::{
    KeyAlgorithm, UnixTime,
    cms::{ContentCipher, Signer},
    smime,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use relay_engine::{
    Envelope, Outcome, RefusalReason, Reply,
    address::Address,
    model::{Event, ProfileStatus, ReplyAuth},
    reply::Proof,
    store::Store,
    testkit::{ALIAS, OWNER, World, WorldOptions},
};
use x509_cert::Certificate;

const NOW: UnixTime = UnixTime(1_795_910_400);
const FROM_BOB: &[u8] = b"From: Bob <bob@example.org>\r\nTo: quiet.otter.42@pportal.io\r\nSubject: Hello\r\nMessage-ID: <b1@example.org>\r\nContent-Type: text/plain\r\n\r\nHi there.\r\n";

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

fn env(from: &str, to: &str) -> Envelope {
    Envelope::new(Some(Address::parse(from).unwrap()), Address::parse(to).unwrap())
}

/// Forwards Bob's message and returns (bob's reverse alias, the recipient cert the owner's
/// client learnt from the signature).
async fn learn_bob(w: &World) -> (String, Certificate) {
    let d = match w.engine.forward(FROM_BOB, &env("bob@example.org", ALIAS), NOW, &mut rng(10)).await {
        Outcome::Deliver(d) => d,
        other => panic!("{other:?}"),
    };
    let s = w.smime.as_ref().unwrap();
    let opened = smime::decrypt_message(&d.data, &s.end_entity, &s.key, &mut rng(11)).unwrap();
    let v = smime::verify_message(&opened, &s.root, NOW).unwrap();
    (d.mail_from.as_str().to_owned(), v.report.signers[0].cert.clone().unwrap())
}

fn owner_reply(to: &str) -> Vec<u8> {
    format!(
        "From: Alice Example <{OWNER}>\r\nTo: <{to}>\r\nSubject: Re: Hello\r\nIn-Reply-To: <b1@example.org>\r\n\
         User-Agent: Thunderbird/128.0\r\nReceived: from [198.51.100.7] by smtp.real.example\r\nX-Originating-IP: [198.51.100.7]\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHi Bob, write to {OWNER} any time.\r\n-- \r\nAlice <ALICE@REAL.EXAMPLE>\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn a_signed_and_encrypted_reply_reaches_the_contact_clean() {
    for key in [KeyAlgorithm::Rsa2048, KeyAlgorithm::P256] {
        let w = World::new(WorldOptions { key, ..Default::default() }, NOW, &mut rng(1)).unwrap();
        let (bob_ra, bob_cert) = learn_bob(&w).await;
        let s = w.smime.as_ref().unwrap();
        // The owner's client signs with the owner's certificate and encrypts to Bob's recipient
        // certificate (and to itself, as clients do).
        let signer = Signer { cert: &s.end_entity, key: &s.key, chain: &[] };
        let sealed = smime::sign_and_encrypt_message(
            &owner_reply(&bob_ra),
            signer,
            &[bob_cert, s.end_entity.clone()],
            ContentCipher::default(),
            NOW,
            &mut rng(12),
        )
        .unwrap();
        let (outcome, proof) = w.engine.reply_with_proof(&sealed, &env(OWNER, &bob_ra), NOW, &mut rng(13)).await;
        let d = match outcome {
            Outcome::Deliver(d) => d,
            other => panic!("{key:?}: {other:?}"),
        };
        assert_eq!(proof, Some(Proof::Signature), "{key:?}: the owner's signature is strong proof");
        assert_eq!((d.mail_from.as_str(), d.rcpt.as_str()), (ALIAS, "bob@example.org"));
        let text = String::from_utf8(d.data.clone()).unwrap();
        assert!(!text.to_ascii_lowercase().contains("alice@real.example"), "{text}");
        for gone in ["pkcs7", "User-Agent", "Received:", "X-Originating-IP", "smime.p7s"] {
            assert!(!text.contains(gone), "{key:?}: {gone} left in:\n{text}");
        }
        // The owner's display name stays behind; the alias has none of its own yet.
        assert!(text.contains(&format!("From: <{ALIAS}>")) && !text.contains("Alice Example"), "{text}");
        assert!(text.contains("To: \"Bob\" <bob@example.org>") && text.contains("In-Reply-To: <b1@example.org>"));
        assert!(text.contains(&format!("write to {ALIAS} any time")), "{text}");
        assert!(text.contains("Message-ID: <") && text.contains("@pportal.io>"));
    }
}

#[tokio::test]
async fn replies_encrypted_under_a_retired_profile_still_open() {
    let w = World::new(WorldOptions { key: KeyAlgorithm::P256, ..Default::default() }, NOW, &mut rng(2)).unwrap();
    let (bob_ra, old_cert) = learn_bob(&w).await;
    // A new profile replaces the old one; the old recipient certificate stays in the store.
    let owner = Address::parse(OWNER).unwrap();
    let req = relay_engine::profile::CeremonyRequest {
        account: w.account,
        owner: &owner,
        mailboxes: std::slice::from_ref(&owner),
        domains: &w.engine.config().domains,
        key: KeyAlgorithm::P256,
        now: NOW,
    };
    let c = relay_engine::profile::local_ceremony(&req, w.engine.master_key(), &mut rng(3)).unwrap();
    w.engine.store().insert_profile(c.profile).unwrap();
    let statuses: Vec<_> = w.engine.store().profiles(w.account).await.unwrap().iter().map(|p| p.status).collect();
    assert_eq!(statuses, [ProfileStatus::Active, ProfileStatus::Retired]);
    let sealed =
        smime::encrypt_message(&owner_reply(&bob_ra), &[old_cert], ContentCipher::default(), &mut rng(4)).unwrap();
    // Unsigned, so only the opt-in envelope check can authorise it.
    let o = w.engine.reply(&sealed, &env(OWNER, &bob_ra), NOW, &mut rng(5)).await;
    assert_eq!(o, Outcome::Refuse(RefusalReason::Unauthorized));
    w.engine.store().set_reply_auth(w.account, ReplyAuth::Envelope).unwrap();
    assert!(matches!(w.engine.reply(&sealed, &env(OWNER, &bob_ra), NOW, &mut rng(5)).await, Outcome::Deliver(_)));
}

#[tokio::test]
async fn only_the_owner_may_reply() {
    let w = World::new(WorldOptions { profile: false, ..Default::default() }, NOW, &mut rng(6)).unwrap();
    w.engine.forward(FROM_BOB, &env("bob@example.org", ALIAS), NOW, &mut rng(7)).await;
    let bob_ra = w.engine.store().contacts().unwrap()[0].reverse_alias.as_str().to_owned();
    // A stranger at the envelope.
    let o = w.engine.reply(&owner_reply(&bob_ra), &env("mallory@evil.example", &bob_ra), NOW, &mut rng(8)).await;
    assert_eq!(o, Outcome::Refuse(RefusalReason::Unauthorized));
    assert_eq!(o.reply(), Some(Reply::REPLY_REFUSED));
    assert!(w.engine.store().events().unwrap().iter().any(|e| matches!(e,
        Event::ReplyRefused { sender, reason, .. } if sender == "mallory@evil.example" && reason == "unauthorized")));
    // The owner's own envelope and From, unsigned: a forger can write those, so by default
    // they are not enough, and the answer is the same as for a stranger.
    let o = w.engine.reply(&owner_reply(&bob_ra), &env(OWNER, &bob_ra), NOW, &mut rng(8)).await;
    assert_eq!(o, Outcome::Refuse(RefusalReason::Unauthorized));
    // With the opt-in envelope check, they are.
    w.engine.store().set_reply_auth(w.account, ReplyAuth::Envelope).unwrap();
    assert!(matches!(
        w.engine.reply(&owner_reply(&bob_ra), &env(OWNER, &bob_ra), NOW, &mut rng(8)).await,
        Outcome::Deliver(_)
    ));
    // The right envelope with someone else's From.
    let forged = String::from_utf8(owner_reply(&bob_ra)).unwrap().replace(&format!("<{OWNER}>"), "<boss@real.example>");
    let o = w.engine.reply(forged.as_bytes(), &env(OWNER, &bob_ra), NOW, &mut rng(9)).await;
    assert_eq!(o, Outcome::Refuse(RefusalReason::Unauthorized));
    // The null sender (a bounce) is not the owner either.
    let bounce = Envelope::new(None, Address::parse(&bob_ra).unwrap());
    assert_eq!(
        w.engine.reply(&owner_reply(&bob_ra), &bounce, NOW, &mut rng(9)).await,
        Outcome::Refuse(RefusalReason::Unauthorized)
    );
    // SMTP AUTH as a verified mailbox authorises, with the alias or the mailbox as From.
    w.engine.store().set_reply_auth(w.account, ReplyAuth::Strong).unwrap();
    let mut submitted = Envelope::new(Some(Address::parse(ALIAS).unwrap()), Address::parse(&bob_ra).unwrap());
    submitted.auth = Some(relay_engine::Submitter { account: w.account, mailbox: Address::parse(OWNER).unwrap() });
    let as_alias =
        String::from_utf8(owner_reply(&bob_ra)).unwrap().replace(&format!("<{OWNER}>"), &format!("<{ALIAS}>"));
    let (o, proof) = w.engine.reply_with_proof(as_alias.as_bytes(), &submitted, NOW, &mut rng(9)).await;
    assert!(matches!(o, Outcome::Deliver(_)), "{o:?}");
    assert_eq!(proof, Some(relay_engine::reply::Proof::Submission));
    // AUTH as someone else's mailbox does not, nor as this mailbox in another account.
    submitted.auth =
        Some(relay_engine::Submitter { account: w.account, mailbox: Address::parse("mallory@evil.example").unwrap() });
    let o = w.engine.reply(as_alias.as_bytes(), &submitted, NOW, &mut rng(9)).await;
    assert_eq!(o, Outcome::Refuse(RefusalReason::Unauthorized));
    submitted.auth = Some(relay_engine::Submitter {
        account: relay_engine::model::AccountId(w.account.0 + 1),
        mailbox: Address::parse(OWNER).unwrap(),
    });
    let o = w.engine.reply(as_alias.as_bytes(), &submitted, NOW, &mut rng(9)).await;
    assert_eq!(o, Outcome::Refuse(RefusalReason::Unauthorized));
    // An unknown reverse alias.
    let o = w
        .engine
        .reply(
            &owner_reply("nobody.abcdefghjkmnp@pportal.io"),
            &env(OWNER, "nobody.abcdefghjkmnp@pportal.io"),
            NOW,
            &mut rng(9),
        )
        .await;
    assert_eq!(o, Outcome::Reject(Reply::NO_SUCH_USER));
}

#[tokio::test]
async fn a_new_thread_starts_from_a_contact_the_owner_creates() {
    let w = World::new(WorldOptions { profile: false, ..Default::default() }, NOW, &mut rng(14)).unwrap();
    w.engine.store().set_reply_auth(w.account, ReplyAuth::Envelope).unwrap();
    let alias = w.engine.store().alias(w.alias).await.unwrap().unwrap();
    let erin = Address::parse("erin@example.com").unwrap();
    let contact = w.engine.contact_for(&alias, &erin, Some("Erin"), &mut rng(15)).await.unwrap();
    let ra = contact.reverse_alias.as_str().to_owned();
    let o = w.engine.reply(&owner_reply(&ra), &env(OWNER, &ra), NOW, &mut rng(16)).await;
    match o {
        Outcome::Deliver(d) => {
            assert_eq!(d.rcpt.as_str(), "erin@example.com");
            assert!(String::from_utf8_lossy(&d.data).contains("To: \"Erin\" <erin@example.com>"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_opaque_signed_reply_is_unwrapped() {
    let w = World::new(WorldOptions { key: KeyAlgorithm::P256, ..Default::default() }, NOW, &mut rng(20)).unwrap();
    let (bob_ra, _) = learn_bob(&w).await;
    let s = w.smime.as_ref().unwrap();
    let msg = owner_reply(&bob_ra);
    let split = pki_core::mime::split_message(&msg).unwrap();
    let signer = Signer { cert: &s.end_entity, key: &s.key, chain: &[] };
    let opts = pki_core::cms::SignOptions { signing_time: NOW, detached: false };
    let der = pki_core::cms::sign(&pki_core::mime::canonicalize(&split.entity()), signer, opts, &mut rng(21)).unwrap();
    let opaque = pki_core::mime::join_message(
        &split.outer_headers,
        &pki_core::mime::build_pkcs7_mime(&der, pki_core::mime::SmimeType::SignedData),
    );
    let (outcome, proof) = w.engine.reply_with_proof(&opaque, &env(OWNER, &bob_ra), NOW, &mut rng(22)).await;
    let Outcome::Deliver(d) = outcome else { panic!("{outcome:?}") };
    assert_eq!(proof, Some(Proof::Signature));
    let text = String::from_utf8(d.data).unwrap();
    assert!(!text.contains("pkcs7") && text.contains(&format!("write to {ALIAS} any time")), "{text}");
}

#[tokio::test]
async fn an_address_inside_a_binary_attachment_stops_the_reply() {
    let w = World::new(WorldOptions { profile: false, ..Default::default() }, NOW, &mut rng(23)).unwrap();
    w.engine.store().set_reply_auth(w.account, ReplyAuth::Envelope).unwrap();
    w.engine.forward(FROM_BOB, &env("bob@example.org", ALIAS), NOW, &mut rng(24)).await;
    let bob_ra = w.engine.store().contacts().unwrap()[0].reverse_alias.as_str().to_owned();
    let pdf = <base64ct::Base64 as base64ct::Encoding>::encode_string(
        b"%PDF-1.4\n1 0 obj << /Author (alice@real.example) >> endobj\n%%EOF\n",
    );
    let msg = format!(
        "From: <{OWNER}>\r\nTo: <{bob_ra}>\r\nSubject: invoice\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/pdf; name=i.pdf\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--b--\r\n"
    );
    let o = w.engine.reply(msg.as_bytes(), &env(OWNER, &bob_ra), NOW, &mut rng(25)).await;
    assert_eq!(o, Outcome::Refuse(RefusalReason::WouldLeak));
    assert_eq!(o.reply(), Some(Reply::REPLY_REFUSED));
}

#[tokio::test]
async fn the_owners_identifiers_and_name_stay_behind_and_threads_still_work() {
    let w = World::new(WorldOptions { profile: false, ..Default::default() }, NOW, &mut rng(30)).unwrap();
    w.engine.store().set_reply_auth(w.account, ReplyAuth::Envelope).unwrap();
    w.engine.store().set_alias_display_name(w.alias, Some("Otter".into())).unwrap();
    w.engine.forward(FROM_BOB, &env("bob@example.org", ALIAS), NOW, &mut rng(31)).await;
    let bob_ra = w.engine.store().contacts().unwrap()[0].reverse_alias.as_str().to_owned();
    let reply = format!(
        "From: Alice Example <{OWNER}>\r\nTo: <{bob_ra}>\r\nSubject: Re: Hello\r\nMessage-ID: <r1.ab@mx.real.example>\r\n\
         In-Reply-To: <b1@example.org>\r\nReferences: <b1@example.org> <r0@real.example>\r\n\
         Content-Type: text/plain\r\n\r\nOn Monday Bob <{bob_ra}> wrote:\r\n> Hi there.\r\n"
    );
    let Outcome::Deliver(d) = w.engine.reply(reply.as_bytes(), &env(OWNER, &bob_ra), NOW, &mut rng(32)).await else {
        panic!("not delivered")
    };
    let text = String::from_utf8(d.data).unwrap();
    assert!(text.contains(&format!("From: \"Otter\" <{ALIAS}>")) && !text.contains("Alice"), "{text}");
    assert!(!text.contains("real.example"), "no identifier names the owner's domain:\n{text}");
    assert!(text.contains("In-Reply-To: <b1@example.org>"), "the contact's own identifiers stay:\n{text}");
    assert!(
        text.contains("On Monday Bob <bob@example.org> wrote:"),
        "the reverse alias in the quote is Bob's address:\n{text}"
    );
    assert!(!text.contains(&bob_ra), "{text}");
    let hidden = text.lines().find_map(|l| l.strip_prefix("Message-ID: <")).unwrap().trim_end_matches('>').to_owned();
    assert!(hidden.ends_with("@pportal.io"), "{hidden}");
    // Bob answers; the forward carries the owner's own identifier again.
    let answer = format!(
        "From: Bob <bob@example.org>\r\nTo: <{ALIAS}>\r\nSubject: Re: Hello\r\nMessage-ID: <b2@example.org>\r\n\
         In-Reply-To: <{hidden}>\r\nReferences: <b1@example.org> <{hidden}>\r\nContent-Type: text/plain\r\n\r\nok\r\n"
    );
    let Outcome::Deliver(f) =
        w.engine.forward(answer.as_bytes(), &env("bob@example.org", ALIAS), NOW, &mut rng(33)).await
    else {
        panic!("not forwarded")
    };
    let fwd = String::from_utf8(f.data).unwrap();
    assert!(fwd.contains("In-Reply-To: <r1.ab@mx.real.example>"), "{fwd}");
    assert!(fwd.contains("References: <b1@example.org>\r\n <r1.ab@mx.real.example>"), "{fwd}");
}

#[tokio::test]
async fn boundaries_content_ids_and_mime_version_do_not_name_the_owners_client_or_host() {
    let w = World::new(WorldOptions { profile: false, ..Default::default() }, NOW, &mut rng(40)).unwrap();
    w.engine.store().set_reply_auth(w.account, ReplyAuth::Envelope).unwrap();
    w.engine.forward(FROM_BOB, &env("bob@example.org", ALIAS), NOW, &mut rng(41)).await;
    let bob_ra = w.engine.store().contacts().unwrap()[0].reverse_alias.as_str().to_owned();
    let b = "Apple-Mail=_3E7A1C55-9F02";
    let reply = format!(
        "From: <{OWNER}>\r\nTo: <{bob_ra}>\r\nSubject: Re\r\nMime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.300.87\\))\r\n\
         Content-Type: multipart/related; boundary=\"{b}\"\r\n\r\n--{b}\r\nContent-Type: text/html\r\n\r\n\
         <img src=\"cid:logo.1@mbp.real.example\">\r\n--{b}\r\nContent-Type: image/png\r\nContent-ID: <logo.1@mbp.real.example>\r\n\
         Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--{b}--\r\n"
    );
    let Outcome::Deliver(d) = w.engine.reply(reply.as_bytes(), &env(OWNER, &bob_ra), NOW, &mut rng(42)).await else {
        panic!("not delivered")
    };
    let text = String::from_utf8(d.data.clone()).unwrap();
    for gone in ["Apple-Mail", "Mac OS X", "real.example", "mbp."] {
        assert!(!text.contains(gone), "{gone} in:\n{text}");
    }
    assert!(text.contains("MIME-Version: 1.0\r\n"), "{text}");
    // The image is still referenced by its (new) Content-ID, and the structure holds.
    let m = mail_parser::MessageParser::default().parse(&d.data[..]).unwrap();
    let cid = m.parts.iter().find_map(|p| mail_parser::MimeHeaders::content_id(p)).unwrap().to_owned();
    assert!(cid.ends_with("@pportal.io"), "{cid}");
    assert!(text.contains(&format!("cid:{cid}")), "{text}");
    assert_eq!(m.parts.len(), 3);
}
