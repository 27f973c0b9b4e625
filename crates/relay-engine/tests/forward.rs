//! The forward pipeline on the in-memory store (the SQL stores are tested in relay-server).

#![allow(clippy::unwrap_used)]

use pki_core::{UnixTime, smime};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use relay_engine::{
    DropReason, Envelope, Outcome, Reply,
    address::Address,
    model::{Disposition, Event},
    testkit::{ALIAS, OWNER, World, WorldOptions},
};

const NOW: UnixTime = UnixTime(1_795_910_400);

const MSG: &[u8] = b"Return-Path: <bob@example.org>\r\n\
Received: from mx.example.org (mx.example.org [192.0.2.7]) by mx.pportal.io; Sun, 29 Nov 2026 09:59:00 +0000\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1; b=abc\r\n\
From: Bob Builder <bob@example.org>\r\n\
To: quiet.otter.42@pportal.io\r\n\
Cc: Carol <carol@example.net>, quiet.otter.42@pportal.io\r\n\
Reply-To: bob+replies@example.org\r\n\
Subject: Lunch?\r\n\
Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <m1@example.org>\r\n\
X-Mailer: Bob's Mailer 1.0\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Shall we meet at noon? \xe2\x9c\x93\r\n";

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

fn env(from: &str) -> Envelope {
    Envelope::new(Some(Address::parse(from).unwrap()), Address::parse(ALIAS).unwrap())
}

fn world(opts: WorldOptions) -> World {
    World::new(opts, NOW, &mut rng(1)).unwrap()
}

fn deliver(o: Outcome) -> relay_engine::Delivery {
    match o {
        Outcome::Deliver(d) => d,
        other => panic!("expected a delivery, got {other:?}"),
    }
}

fn head(msg: &[u8]) -> String {
    let end = msg.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    String::from_utf8(msg[..end + 2].to_vec()).unwrap()
}

#[tokio::test]
async fn forwards_signed_and_encrypted_to_the_owner() {
    let w = world(WorldOptions::default());
    let mut g = rng(2);
    let d = deliver(w.engine.forward(MSG, &env("bob@example.org"), NOW, &mut g).await);
    assert!(d.encrypted);
    assert_eq!(d.rcpt.as_str(), OWNER);
    let contacts = w.engine.store().contacts().unwrap();
    let bob = contacts.iter().find(|c| c.external.as_str() == "bob@example.org").unwrap();
    assert_eq!(d.mail_from, bob.reverse_alias);
    let outer = head(&d.data);
    assert!(outer.contains(&format!("From: \"Bob Builder (bob@example.org)\" <{}>", bob.reverse_alias)), "{outer}");
    assert!(outer.contains("Subject: Lunch?\r\n") && outer.contains("Message-ID: <m1@example.org>\r\n"));
    for gone in ["Received:", "DKIM-Signature:", "Return-Path:", "X-Mailer:", "Content-Transfer-Encoding: 8bit"] {
        assert!(!outer.contains(gone), "{gone} must not be in the outer headers:\n{outer}");
    }
    assert!(outer.contains("smime-type=enveloped-data"));
    // The owner's side: decrypt, verify against the root, compare the entity.
    let s = w.smime.as_ref().unwrap();
    let opened = smime::decrypt_message(&d.data, &s.end_entity, &s.key, &mut g).unwrap();
    let v = smime::verify_message(&opened, &s.root, NOW).unwrap();
    assert!(v.report.is_valid(), "{:?}", v.report.signers.iter().map(|s| s.chain.to_string()).collect::<Vec<_>>());
    let signer = v.report.signers[0].cert.as_ref().unwrap();
    assert!(signer.tbs_certificate().subject().to_string().contains(bob.reverse_alias.as_str()));
    let inner = pki_core::mime::split_message(&v.message).unwrap();
    assert_eq!(
        inner.content_headers,
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
    );
    assert_eq!(inner.body, "Shall we meet at noon? \u{2713}\r\n".as_bytes());
    // One issuance, logged; a second message reuses the certificate.
    deliver(w.engine.forward(MSG, &env("bob@example.org"), NOW, &mut g).await);
    let issued = w.engine.store().events().unwrap().into_iter().filter(|e| matches!(e, Event::Issued { .. })).count();
    assert_eq!(issued, 1);
}

#[tokio::test]
async fn rewrites_cc_and_reply_to_into_reverse_aliases() {
    let w = world(WorldOptions { profile: false, ..Default::default() });
    let d = deliver(w.engine.forward(MSG, &env("bob@example.org"), NOW, &mut rng(3)).await);
    assert!(!d.encrypted);
    let text = String::from_utf8_lossy(&d.data).into_owned();
    let contacts = w.engine.store().contacts().unwrap();
    assert_eq!(contacts.len(), 3, "bob, carol and bob+replies: {contacts:?}");
    let carol = contacts.iter().find(|c| c.external.as_str() == "carol@example.net").unwrap();
    assert!(text.contains(&format!("\"Carol (carol@example.net)\" <{}>", carol.reverse_alias)), "{text}");
    assert!(text.contains(&format!("<{ALIAS}>")), "the alias stays in Cc");
    assert!(!text.contains("<carol@example.net>") && !text.contains("Reply-To: bob+replies@example.org"));
    assert!(text.contains("X-Mailrelay-Original-From: <bob@example.org>"));
    assert!(text.ends_with("Shall we meet at noon? \u{2713}\r\n"), "plaintext body kept as it was");
}

#[tokio::test]
async fn policy_outcomes() {
    let mut g = rng(4);
    // Strict without a profile: refused, never plaintext.
    let strict = world(WorldOptions { strict: true, profile: false, ..Default::default() });
    assert_eq!(
        strict.engine.forward(MSG, &env("bob@example.org"), NOW, &mut g).await,
        Outcome::Reject(Reply::STRICT_NO_PROFILE)
    );
    // Unknown alias.
    let w = world(WorldOptions { profile: false, ..Default::default() });
    let other = Envelope::new(None, Address::parse("nobody@pportal.io").unwrap());
    assert_eq!(w.engine.forward(MSG, &other, NOW, &mut g).await, Outcome::Reject(Reply::NO_SUCH_USER));
    // Disabled alias: drop or reject.
    w.engine.store().set_alias_enabled(w.alias, false, Disposition::Drop).unwrap();
    assert_eq!(
        w.engine.forward(MSG, &env("bob@example.org"), NOW, &mut g).await,
        Outcome::Drop(DropReason::AliasDisabled)
    );
    w.engine.store().set_alias_enabled(w.alias, false, Disposition::Reject).unwrap();
    assert_eq!(
        w.engine.forward(MSG, &env("bob@example.org"), NOW, &mut g).await,
        Outcome::Reject(Reply::NO_SUCH_USER),
        "a disabled alias set to reject answers exactly like one that never existed"
    );
    w.engine.store().set_alias_enabled(w.alias, true, Disposition::Drop).unwrap();
    // Blocked contact.
    deliver(w.engine.forward(MSG, &env("bob@example.org"), NOW, &mut g).await);
    let bob =
        w.engine.store().contacts().unwrap().into_iter().find(|c| c.external.as_str() == "bob@example.org").unwrap();
    w.engine.store().set_contact_blocked(bob.id, Some(Disposition::Drop)).unwrap();
    assert_eq!(
        w.engine.forward(MSG, &env("bob@example.org"), NOW, &mut g).await,
        Outcome::Drop(DropReason::ContactBlocked)
    );
    w.engine.store().set_contact_blocked(bob.id, Some(Disposition::Reject)).unwrap();
    assert_eq!(w.engine.forward(MSG, &env("bob@example.org"), NOW, &mut g).await, Outcome::Reject(Reply::BLOCKED));
    // Loops (our own header, too many hops) are accepted and dropped.
    let looped = [b"X-Mailrelay-Loop: mailrelay\r\n".as_slice(), MSG].concat();
    assert_eq!(w.engine.forward(&looped, &env("dave@example.org"), NOW, &mut g).await, Outcome::Drop(DropReason::Loop));
    let hops = [b"Received: from a by b; Sun, 29 Nov 2026 09:00:00 +0000\r\n".repeat(51).as_slice(), MSG].concat();
    assert_eq!(w.engine.forward(&hops, &env("dave@example.org"), NOW, &mut g).await, Outcome::Drop(DropReason::Loop));
    // The owner's own address, or a relay address, as sender is not a loop: it is forwarded
    // like anyone's, so the answer tells a guesser nothing.
    w.engine.store().set_contact_blocked(bob.id, None).unwrap();
    let from_owner = MSG.to_vec();
    assert!(matches!(w.engine.forward(&from_owner, &env(OWNER), NOW, &mut g).await, Outcome::Deliver(_)));
    assert!(matches!(
        w.engine.forward(MSG, &env("x.y.abcdefghjkmnp@pportal.io"), NOW, &mut g).await,
        Outcome::Deliver(_)
    ));
    // Nothing that looks like a message.
    assert_eq!(w.engine.forward(b"", &env("dave@example.org"), NOW, &mut g).await, Outcome::Reject(Reply::UNPARSEABLE));
}

#[tokio::test]
async fn already_encrypted_mail_is_not_wrapped_twice() {
    let w = world(WorldOptions::default());
    let mut g = rng(5);
    let s = w.smime.as_ref().unwrap();
    let sealed = smime::encrypt_message(MSG, std::slice::from_ref(&s.end_entity), Default::default(), &mut g).unwrap();
    let d = deliver(w.engine.forward(&sealed, &env("bob@example.org"), NOW, &mut g).await);
    assert!(d.encrypted);
    let body_in = &sealed[sealed.windows(4).position(|x| x == b"\r\n\r\n").unwrap()..];
    assert!(d.data.ends_with(body_in), "the encrypted body passes through untouched");
    let opened = smime::decrypt_message(&d.data, &s.end_entity, &s.key, &mut g).unwrap();
    assert!(opened.ends_with("Shall we meet at noon? \u{2713}\r\n".as_bytes()));
    let pgp = b"From: bob@example.org\r\nTo: quiet.otter.42@pportal.io\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nhQ==\r\n-----END PGP MESSAGE-----\r\n--b--\r\n";
    let d = deliver(w.engine.forward(pgp, &env("bob@example.org"), NOW, &mut g).await);
    assert!(
        d.data.ends_with(b"-----END PGP MESSAGE-----\r\n--b--\r\n")
            && !String::from_utf8_lossy(&d.data).contains("pkcs7-mime")
    );
    let inline = b"From: bob@example.org\r\nTo: quiet.otter.42@pportal.io\r\nSubject: x\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nhQ==\r\n-----END PGP MESSAGE-----\r\n";
    let d = deliver(w.engine.forward(inline, &env("bob@example.org"), NOW, &mut g).await);
    assert!(!String::from_utf8_lossy(&d.data).contains("pkcs7-mime"));
}

#[tokio::test]
async fn with_a_profile_any_failure_is_temporary_never_plaintext() {
    let w = world(WorldOptions::default());
    // Corrupt the active profile's sealed intermediate key: issuing fails.
    let s = w.smime.as_ref().unwrap();
    let mut profiles = relay_engine::store::Store::profiles(w.engine.store(), w.account).await.unwrap();
    let mut broken = profiles.remove(0);
    broken.sealed_intermediate_key[5] ^= 1;
    w.engine.store().insert_profile(broken).unwrap();
    let _ = s;
    assert_eq!(
        w.engine.forward(MSG, &env("bob@example.org"), NOW, &mut rng(6)).await,
        Outcome::Defer(relay_engine::DeferReason::Seal)
    );
    assert_eq!(Outcome::Defer(relay_engine::DeferReason::Seal).reply(), Some(Reply::TEMPORARY));
}

#[tokio::test]
async fn a_recipient_certificate_near_its_end_is_renewed() {
    let w = world(WorldOptions { key: pki_core::KeyAlgorithm::P256, ..Default::default() });
    let mut g = rng(7);
    deliver(w.engine.forward(MSG, &env("bob@example.org"), NOW, &mut g).await);
    // 365 days later (the certificate's last day), the next message renews it.
    let later = NOW.plus_secs(364 * 86_400 + 3_600);
    deliver(w.engine.forward(MSG, &env("bob@example.org"), later, &mut g).await);
    let issued: Vec<_> =
        w.engine.store().events().unwrap().into_iter().filter(|e| matches!(e, Event::Issued { .. })).collect();
    assert_eq!(issued.len(), 2, "issued once, renewed once");
    // And the renewal stays: a third message does not issue again.
    deliver(w.engine.forward(MSG, &env("bob@example.org"), later.plus_secs(60), &mut g).await);
    assert_eq!(w.engine.store().events().unwrap().into_iter().filter(|e| matches!(e, Event::Issued { .. })).count(), 2);
}

#[tokio::test]
async fn an_account_gains_new_contacts_and_sends_replies_at_its_rate() {
    use relay_engine::{DeferReason, model::ReplyAuth, rate::Rate};
    let none = Rate { burst: 2, per_hour: 0 };
    let w = world(WorldOptions { profile: false, rates: (none, Rate { burst: 1, per_hour: 0 }), ..Default::default() });
    let mut g = rng(9);
    let from = |who: &str| format!("From: <{who}>\r\nTo: <{ALIAS}>\r\nSubject: hi\r\n\r\nhello\r\n").into_bytes();
    for who in ["one@example.org", "two@example.org"] {
        deliver(w.engine.forward(&from(who), &env(who), NOW, &mut g).await);
    }
    // A third new sender waits (451); the ones already known still get through.
    let third = w.engine.forward(&from("three@example.org"), &env("three@example.org"), NOW, &mut g).await;
    assert_eq!(third, Outcome::Defer(DeferReason::RateLimited));
    assert_eq!(third.reply(), Some(Reply::TEMPORARY));
    deliver(w.engine.forward(&from("one@example.org"), &env("one@example.org"), NOW, &mut g).await);
    // An hour later nothing came back (per_hour 0), and a new Cc'd address is dropped, not deferred.
    let cc =
        String::from_utf8(from("two@example.org")).unwrap().replace("Subject:", "Cc: <four@example.org>\r\nSubject:");
    let d = deliver(w.engine.forward(cc.as_bytes(), &env("two@example.org"), NOW, &mut g).await);
    assert!(!String::from_utf8_lossy(&d.data).contains("four"), "over the rate, the new Cc is removed");
    // Replies: one, then 451 until the bucket refills; a forger's refusal does not spend it.
    w.engine.store().set_reply_auth(w.account, ReplyAuth::Envelope).unwrap();
    let one =
        w.engine.store().contacts().unwrap().into_iter().find(|c| c.external.as_str() == "one@example.org").unwrap();
    let ra = one.reverse_alias.as_str().to_owned();
    let reply = format!("From: <{OWNER}>\r\nTo: <{ra}>\r\nSubject: Re\r\n\r\nok\r\n");
    let renv = |f: &str| Envelope::new(Some(Address::parse(f).unwrap()), Address::parse(&ra).unwrap());
    let forged = w.engine.reply(reply.as_bytes(), &renv("mallory@evil.example"), NOW, &mut g).await;
    assert_eq!(forged, Outcome::Refuse(relay_engine::RefusalReason::Unauthorized));
    assert!(matches!(w.engine.reply(reply.as_bytes(), &renv(OWNER), NOW, &mut g).await, Outcome::Deliver(_)));
    assert_eq!(
        w.engine.reply(reply.as_bytes(), &renv(OWNER), NOW, &mut g).await,
        Outcome::Defer(DeferReason::RateLimited)
    );
}
