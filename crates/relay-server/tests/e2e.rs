//! End to end: the real `mailrelay serve` binary (SQLite file in a temporary directory) between
//! independent clients (`swaks`, Postfix's `smtp-source`) and Postfix's `smtp-sink` as the next
//! hop, which dumps every message to a file that the test reads back. State is made over the
//! HTTP API on its real socket: the account, the mailbox (confirmed with the code that arrives at
//! the sink), the S/MIME ceremony, aliases, contacts, blocking and strict mode.
//!
//! | case                        | client        | expected                                           |
//! |-----------------------------|---------------|----------------------------------------------------|
//! | forward                     | swaks         | 250; at the sink S/MIME enveloped, opens, verifies |
//! | reply (encrypted + signed)  | swaks         | 250; at the contact, from the alias, no real addr  |
//! | new contact, then a reply   | API + swaks   | 250; arrives at the new contact                    |
//! | forward / reply in bulk     | smtp-source   | all at the sink; every forward opens               |
//! | blocked contact             | swaks         | reject: 550 5.7.1, drop: 250; nothing at the sink  |
//! | disabled alias              | swaks         | reject: 550 5.1.1 at RCPT, drop: 250; nothing      |
//! | strict, no profile          | swaks         | 550 5.7.1; not strict: 250, delivered in the clear |
//! | next hop 4xx / 5xx / silent | swaks         | its code, a generic text / 451 in time; its words in the owner's log |
//!
//! Skipped (with a message) when swaks or Postfix's tools are missing, unless
//! `INTEROP_REQUIRED` is set.
#![allow(clippy::unwrap_used, clippy::panic)]

mod e2e_support;

use std::time::{Duration, Instant};

use e2e_support::{
    Owner, Relay, RelayOptions, Sink, angle, free_port, header, open, owner, smtp_source, swaks, tempdir, tools_present,
};
use pki_core::{
    cms::{ContentCipher, Signer},
    smime,
};
use serde_json::json;

const OWNER: &str = "owner@example.com";
const ALICE: &str = "alice@example.org";
const BOB: &str = "bob@example.net";
const CAROL: &str = "carol@example.com";

/// Sends a small message with swaks; asserts the transcript holds `expect`; the transcript.
fn swaks_message(relay: &Relay, from: &str, to: &str, subject: &str, body: &str, expect: &str) -> String {
    let header = format!("Subject: {subject}");
    let (code, out) = swaks(relay.smtp, from, to, &["--header", &header, "--body", body]);
    assert!(out.contains(expect), "swaks (exit {code:?}) lacks {expect:?}:\n{out}\n{}", relay.log());
    out
}

/// The contact of `owner`'s alias with `address`: its id and reverse alias.
fn contact(relay: &Relay, owner: &Owner, address: &str) -> (i64, String) {
    let list = relay.api("GET", &format!("/api/aliases/{}/contacts", owner.alias_id), &owner.token, None, 200);
    let c = list["contacts"].as_array().unwrap().iter().find(|c| c["address"] == address).unwrap();
    (c["id"].as_i64().unwrap(), c["reverse_alias"].as_str().unwrap().to_owned())
}

#[test]
fn forward_reply_and_a_new_contact_with_swaks() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let relay = Relay::start(tmp.path(), &RelayOptions::new(sink.port));
    let owner = owner(&relay, &sink, OWNER, true);
    let profile = owner.profile.as_ref().unwrap();
    let before = sink.messages().len();

    // Forward: Alice writes to the alias.
    let out =
        swaks_message(&relay, ALICE, &owner.alias, "Hello there", "A secret plan, in plain text.", "<-  250 2.0.0");
    assert!(out.contains("<-  250 2.1.5"), "{out}");
    let got = sink.wait_for(before + 1);
    let fwd = got.last().unwrap();
    assert_eq!(fwd.rcpts, [OWNER], "delivered to the real mailbox");
    let text = fwd.text();
    assert!(text.contains("smime-type=enveloped-data"), "{text}");
    assert!(!text.contains("A secret plan"), "the body is not in the clear at the next hop");
    let from = header(&fwd.data, "From").unwrap();
    let reverse = angle(&from).to_owned();
    assert!(reverse.ends_with("@pportal.io") && reverse != owner.alias, "{from}");
    assert_eq!(fwd.mail_from, reverse, "the envelope sender is the reverse alias");
    let opened = open(profile, &fwd.data);
    assert!(opened.content.contains("A secret plan, in plain text."), "{}", opened.content);
    assert_eq!(contact(&relay, &owner, ALICE).1, reverse, "the API lists the same reverse alias");

    // Reply: signed by the owner, encrypted to Alice's recipient certificate, to her reverse alias.
    let reply = format!(
        "From: Owner <{OWNER}>\r\nTo: <{reverse}>\r\nSubject: Re: Hello there\r\nUser-Agent: TestMail/1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHi Alice, agreed. Write to me at {OWNER} any time.\r\n"
    );
    let signer = Signer { cert: &profile.end_entity, key: &profile.key, chain: &[] };
    let sealed = smime::sign_and_encrypt_message(
        reply.as_bytes(),
        signer,
        std::slice::from_ref(&opened.signer),
        ContentCipher::default(),
        e2e_support::now(),
        &mut e2e_support::rng(),
    )
    .unwrap();
    let file = tmp.path().join("reply.eml");
    std::fs::write(&file, &sealed).unwrap();
    let (code, out) = swaks(relay.smtp, OWNER, &reverse, &["--data", &format!("@{}", file.display())]);
    assert_eq!(code, Some(0), "{out}\n{}", relay.log());
    assert!(out.contains("<-  250 2.0.0"), "{out}");
    let got = sink.wait_for(before + 2);
    let sent = got.last().unwrap();
    assert_eq!(sent.rcpts, [ALICE], "the contact gets it at her real address");
    assert_eq!(sent.mail_from, owner.alias, "from the alias");
    let text = sent.text();
    assert!(!text.to_ascii_lowercase().contains(OWNER), "the owner's address is nowhere:\n{text}");
    assert!(text.contains("Hi Alice, agreed."), "decrypted and sent on in the clear:\n{text}");
    assert!(!text.contains("TestMail"), "User-Agent dropped:\n{text}");
    assert_eq!(angle(&header(&sent.data, "From").unwrap()), owner.alias);

    // A new thread: the owner starts one with Carol through the API, then writes to her.
    let created = relay.api(
        "POST",
        &format!("/api/aliases/{}/contacts", owner.alias_id),
        &owner.token,
        Some(json!({ "address": CAROL, "display_name": "Carol" })),
        201,
    );
    let carol_reverse = created["reverse_alias"].as_str().unwrap().to_owned();
    assert_ne!(carol_reverse, reverse);
    // An unsigned reply needs the opt-in envelope check (spoofable, off by default).
    swaks_message(&relay, OWNER, &carol_reverse, "unsigned", "hello", "<** 550 5.7.1 message refused");
    relay.api("PATCH", "/api/account", &owner.token, Some(json!({ "reply_auth": "envelope" })), 200);
    let body = format!("Hi Carol, this is a new thread. My address is {OWNER}.");
    swaks_message(&relay, OWNER, &carol_reverse, "A new thread", &body, "<-  250 2.0.0");
    let got = sink.wait_for(before + 3);
    let sent = got.last().unwrap();
    assert_eq!(sent.rcpts, [CAROL]);
    assert_eq!(sent.mail_from, owner.alias);
    let text = sent.text();
    assert!(text.contains("Hi Carol, this is a new thread.") && !text.to_ascii_lowercase().contains(OWNER), "{text}");

    // Someone who is not the owner cannot use the reverse alias.
    swaks_message(&relay, BOB, &carol_reverse, "spoof", "hello", "<** 550 5.7.1");
    assert_eq!(sink.messages().len(), before + 3, "nothing more reached the sink");
}

#[test]
fn smtp_source_forwards_and_replies() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let relay = Relay::start(tmp.path(), &RelayOptions::new(sink.port));
    let owner = owner(&relay, &sink, OWNER, true);
    let profile = owner.profile.as_ref().unwrap();
    let before = sink.messages().len();
    let target = format!("127.0.0.1:{}", relay.smtp);

    // Six 70 KB messages over two sessions.
    let (ok, out) =
        smtp_source(&["-s", "2", "-m", "6", "-l", "70000", "-f", BOB, "-t", &owner.alias, "-S", "bulk", &target]);
    assert!(ok, "{out}\n{}", relay.log());
    let got = sink.wait_for(before + 6);
    let forwards = &got[before..];
    assert_eq!(forwards.len(), 6);
    for m in forwards {
        assert_eq!(m.rcpts, [OWNER]);
        let opened = open(profile, &m.data);
        assert!(opened.content.matches('X').count() > 60_000, "the 70 KB payload is inside");
    }

    // Three replies from a prepared file (smtp-source adds CRLF to each line), unsigned: the
    // owner opts in to the envelope check.
    relay.api("PATCH", "/api/account", &owner.token, Some(json!({ "reply_auth": "envelope" })), 200);
    let (_, reverse) = contact(&relay, &owner, BOB);
    let file = tmp.path().join("reply.txt");
    std::fs::write(
        &file,
        format!("From: <{OWNER}>\nTo: <{reverse}>\nSubject: Re: bulk\n\nThanks Bob. (sent by {OWNER})\n"),
    )
    .unwrap();
    let file = file.display().to_string();
    let (ok, out) = smtp_source(&["-m", "3", "-F", &file, "-f", OWNER, "-t", &reverse, &target]);
    assert!(ok, "{out}\n{}", relay.log());
    let got = sink.wait_for(before + 9);
    for m in &got[before + 6..] {
        assert_eq!(m.rcpts, [BOB]);
        assert_eq!(m.mail_from, owner.alias);
        let text = m.text();
        assert!(text.contains("Thanks Bob.") && !text.to_ascii_lowercase().contains(OWNER), "{text}");
    }
}

#[test]
fn blocked_contacts_and_disabled_aliases() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let relay = Relay::start(tmp.path(), &RelayOptions::new(sink.port));
    let owner = owner(&relay, &sink, OWNER, true);
    swaks_message(&relay, ALICE, &owner.alias, "first", "hello", "<-  250 2.0.0");
    let count = sink.wait_for(sink.messages().len()).len();
    let (alice, _) = contact(&relay, &owner, ALICE);

    // Blocked, set to reject: refused after DATA with 550 5.7.1; nothing reaches the sink.
    relay.api("PATCH", &format!("/api/contacts/{alice}"), &owner.token, Some(json!({ "blocked": "reject" })), 204);
    let out = swaks_message(
        &relay,
        ALICE,
        &owner.alias,
        "again",
        "hello",
        "<** 550 5.7.1 the recipient does not accept mail from you",
    );
    assert!(out.contains("<-  250 2.1.5"), "RCPT is accepted; the verdict comes with the message:\n{out}");
    // Blocked, set to drop: the sender sees 250, and the message goes nowhere.
    relay.api("PATCH", &format!("/api/contacts/{alice}"), &owner.token, Some(json!({ "blocked": "drop" })), 204);
    swaks_message(&relay, ALICE, &owner.alias, "and again", "hello", "<-  250 2.0.0");
    // Another sender still gets through (and proves the sink is listening).
    swaks_message(&relay, BOB, &owner.alias, "from bob", "hello", "<-  250 2.0.0");
    let got = sink.wait_for(count + 1);
    assert_eq!(got.len(), count + 1, "only Bob's message arrived");
    assert_eq!(got.last().unwrap().mail_from, contact(&relay, &owner, BOB).1);
    // Unblocked: Alice gets through again.
    relay.api("PATCH", &format!("/api/contacts/{alice}"), &owner.token, Some(json!({ "blocked": null })), 204);
    swaks_message(&relay, ALICE, &owner.alias, "unblocked", "hello", "<-  250 2.0.0");
    assert_eq!(sink.wait_for(count + 2).len(), count + 2);

    // A disabled alias set to reject: 550 5.1.1 at RCPT, before any data is sent.
    let path = format!("/api/aliases/{}", owner.alias_id);
    let patched =
        relay.api("PATCH", &path, &owner.token, Some(json!({ "enabled": false, "when_disabled": "reject" })), 200);
    assert_eq!(patched["enabled"], false);
    let out = swaks_message(&relay, BOB, &owner.alias, "closed?", "hello", "<** 550 5.1.1 no such user");
    assert!(!out.contains("354"), "refused before DATA:\n{out}");
    // Set to drop: 250, and nothing is delivered.
    relay.api("PATCH", &path, &owner.token, Some(json!({ "when_disabled": "drop" })), 200);
    swaks_message(&relay, BOB, &owner.alias, "closed.", "hello", "<-  250 2.0.0");
    // An address that never existed is refused at RCPT.
    let out = swaks_message(&relay, BOB, "no.such.alias@pportal.io", "x", "hello", "<** 550 5.1.1");
    assert!(!out.contains("354"), "refused before DATA:\n{out}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.messages().len(), count + 2, "nothing more reached the sink");
}

#[test]
fn strict_mode_without_a_profile() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let relay = Relay::start(tmp.path(), &RelayOptions::new(sink.port));
    let owner = owner(&relay, &sink, OWNER, false);
    let count = sink.messages().len();

    let account = relay.api("PATCH", "/api/account", &owner.token, Some(json!({ "strict": true })), 200);
    assert_eq!(account["strict"], true);
    swaks_message(
        &relay,
        ALICE,
        &owner.alias,
        "strict",
        "hello",
        "<** 550 5.7.1 the recipient accepts only encrypted delivery",
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.messages().len(), count, "nothing delivered");

    // Not strict (DESIGN.md): without a profile the message is rewritten and delivered in the clear.
    relay.api("PATCH", "/api/account", &owner.token, Some(json!({ "strict": false })), 200);
    swaks_message(&relay, ALICE, &owner.alias, "not strict", "readable without a profile", "<-  250 2.0.0");
    let got = sink.wait_for(count + 1);
    let m = got.last().unwrap();
    assert_eq!(m.rcpts, [OWNER]);
    let text = m.text();
    assert!(!text.contains("enveloped-data") && text.contains("readable without a profile"), "{text}");
    let from = header(&m.data, "From").unwrap();
    assert_eq!(angle(&from), m.mail_from, "From is the reverse alias: {from}");
    assert!(from.contains(ALICE), "the display name shows who wrote: {from}");
}

#[test]
fn next_hop_failures_map_to_451_and_550() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let port = free_port();
    let sink = Sink::start(port, Some(&tmp.path().join("sink")), &[]);
    let opts = RelayOptions { reply_timeout_secs: 3, ..RelayOptions::new(port) };
    let relay = Relay::start(tmp.path(), &opts);
    let owner = owner(&relay, &sink, OWNER, false);
    swaks_message(&relay, ALICE, &owner.alias, "ok", "hello", "<-  250 2.0.0");
    sink.stop();

    // 4xx at the end of data → 451, which the sender retries.
    let failing = Sink::start(port, None, &["-r", "."]);
    let (code, out) = swaks(relay.smtp, ALICE, &owner.alias, &["--body", "x"]);
    // The next hop's code is kept; its words stay in the owner's log.
    assert!(out.contains("<** 450 4.3.0 the next hop could not take the message now"), "{out}\n{}", relay.log());
    assert_eq!(code, Some(26), "swaks: not accepted after data");
    failing.stop();

    // 5xx → the next hop's code with a generic text (and never a bounce of ours); its own
    // words, which would name the owner's provider, go to the owner's event log.
    let failing = Sink::start(port, None, &["-f", ".", "-B", "554 5.7.1 the sink refuses this message"]);
    let (_, out) = swaks(relay.smtp, ALICE, &owner.alias, &["--body", "x"]);
    assert!(out.contains("<** 554 5.7.1 the next hop refused the message"), "{out}");
    assert!(!out.contains("the sink refuses"), "{out}");
    failing.stop();
    let events = relay.api("GET", "/api/events", &owner.token, None, 200);
    let hop: Vec<_> = events["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "next_hop_refused").collect();
    assert!(
        hop.iter().any(|e| e["code"] == 554 && e["text"].as_str().unwrap().contains("the sink refuses this message")),
        "{events}"
    );
    assert!(hop.iter().all(|e| !e["text"].as_str().unwrap().contains(OWNER)), "{events}");

    // A next hop that never answers DATA → 451 once reply_timeout_secs (3 s) has passed.
    let silent = Sink::start(port, None, &["-w", "60"]);
    let start = Instant::now();
    let (_, out) = swaks(relay.smtp, ALICE, &owner.alias, &["--body", "x"]);
    let took = start.elapsed();
    assert!(out.contains("<** 451 4.4.0 the next hop could not take the message now"), "{out}");
    assert!(took >= Duration::from_secs(3) && took < Duration::from_secs(20), "answered after {took:?}");
    silent.stop();

    // The next hop is back: mail flows again, nothing was queued meanwhile.
    let sink = Sink::start(port, Some(&tmp.path().join("sink2")), &[]);
    swaks_message(&relay, ALICE, &owner.alias, "ok again", "hello again", "<-  250 2.0.0");
    let got = sink.wait_for(1);
    assert_eq!(got.len(), 1, "exactly the one accepted message");
    assert!(got[0].text().contains("hello again"));
}
