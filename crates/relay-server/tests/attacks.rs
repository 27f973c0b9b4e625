//! The attackers of `../shared/THREATS.md`, played against the real `mailrelay serve` binary
//! over loopback SMTP and HTTP, with Postfix's `smtp-sink` as the next hop. Each test asserts
//! what the attacker sees (reply lines byte for byte, API bodies) and what reached the next hop.
//!
//! | attacker | attack | before the fix | now |
//! |---|---|---|---|
//! | another user | its own alias in Reply-To, Cc, a forwarded message/rfc822 and the body of mail to the victim's alias | kept verbatim: the victim's reply went from the real address straight to the attacker | each becomes a reverse alias of the victim's alias; the reply leaves from the alias |
//! | outsider who guesses | mail to the alias from a candidate owner address | 554 5.4.6 "mail loop" for the owner's address, 250 otherwise | 250 for everyone |
//! | outsider who guesses | RCPT to a disabled alias set to reject | 550 5.1.1 "this address no longer accepts mail" | the same line as an unknown alias |
//! | forger | reply with the owner's envelope (and From) | delivered as the alias | refused |
//! | forger | reply with flipped CBC padding, or to a key the relay lacks | 550 5.7.5, unlike 550 5.7.1 for a wrong sender | one line for every refusal, never before the floor |
//! | another user | `POST /api/mailboxes` with the victim's address | 409 conflict | 201, as for any address |
//! | another user | reads its own event log | (nothing to see) | still nothing about the victim's traffic |
//! | flooder | a crowd of new senders with the key pool empty | every one generated an RSA key on the reactor | one generates, the rest get 451; `/healthz` stays fast |
//! | flooder | one connection that never ends, or sends message after message | held a slot for as long as it kept talking | 421 at the session time or transaction limit |
//!
//! Skipped (with a message) when swaks or Postfix's tools are missing, unless
//! `INTEROP_REQUIRED` is set.
#![allow(clippy::unwrap_used, clippy::panic)]

mod e2e_support;

use std::{
    io::{Read, Write},
    net::TcpStream,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use base64ct::{Base64, Encoding};
use e2e_support::{Relay, RelayOptions, Sink, Smtp, angle, header, open, owner, rng, swaks, tempdir, tools_present};
use pki_core::{
    cms::{ContentCipher, Signer},
    smime,
};
use serde_json::json;

const VICTIM: &str = "victim@real.example";
const MALLORY: &str = "mallory@evil.example";
const BOB: &str = "bob@example.net";
const STRANGER: &str = "stranger@outside.example";

/// The one line every refusal of mail to a reverse alias gets.
const REFUSED: &str = "550 5.7.1 message refused; if this is your alias, the reason is in your account's event log";

/// Tests that measure the relay's responsiveness run alone.
static ALONE: Mutex<()> = Mutex::new(());

fn message(from: &str, to: &str, subject: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!("From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n{extra_headers}Content-Type: text/plain\r\n\r\n{body}\r\n")
        .into_bytes()
}

fn events(relay: &Relay, token: &str) -> Vec<serde_json::Value> {
    relay.api("GET", "/api/events", token, None, 200)["events"].as_array().unwrap().clone()
}

#[test]
fn another_users_alias_never_reaches_the_owner_verbatim() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let relay = Relay::start(tmp.path(), &RelayOptions::new(sink.port));
    let victim = owner(&relay, &sink, VICTIM, true);
    let mallory = owner(&relay, &sink, MALLORY, false);
    let trap = mallory.alias.clone();
    let before = sink.messages().len();

    // Mallory writes to the victim's alias and asks for answers at her own alias, everywhere a
    // client shows an address: Reply-To, Cc, a forwarded message, the text.
    let boundary = "b0undary";
    let mail = format!(
        "From: Mallory <{MALLORY}>\r\nTo: <{alias}>\r\nCc: \"Team\" <{trap}>\r\nReply-To: <{trap}>\r\n\
         Subject: please answer\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary={boundary}\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain\r\n\r\nWrite to {trap} please.\r\n\
         --{boundary}\r\nContent-Type: message/rfc822\r\n\r\nFrom: <{trap}>\r\nReply-To: {TRAP_UP}\r\nSubject: fwd\r\n\r\nhi\r\n\
         --{boundary}--\r\n",
        alias = victim.alias,
        TRAP_UP = trap.to_uppercase(),
    );
    let mut c = Smtp::connect(relay.smtp).unwrap();
    let (code, line) = c.send(MALLORY, &victim.alias, mail.as_bytes()).unwrap();
    assert_eq!(code, 250, "{line}");
    let got = sink.wait_for(before + 1);
    let fwd = got.last().unwrap();
    assert_eq!(fwd.rcpts, [VICTIM]);
    let outer = fwd.text();
    let inner = open(victim.profile.as_ref().unwrap(), &fwd.data).content;
    for (what, text) in [("outer headers", &outer), ("signed content", &inner)] {
        assert!(!text.to_ascii_lowercase().contains(&trap), "{what} show Mallory's alias verbatim:\n{text}");
    }
    // Reply-To is now a reverse alias of the victim's alias, standing for Mallory's alias.
    let reply_to = angle(&header(&fwd.data, "Reply-To").unwrap()).to_owned();
    let contacts = relay.api("GET", &format!("/api/aliases/{}/contacts", victim.alias_id), &victim.token, None, 200);
    let contact = contacts["contacts"].as_array().unwrap().iter().find(|c| c["reverse_alias"] == reply_to.as_str());
    assert_eq!(contact.unwrap()["address"], trap.as_str(), "{contacts}");
    assert!(inner.contains(&format!("Write to {reply_to} please.")), "{inner}");
    assert!(inner.contains(&format!("From: <{reply_to}>")), "the forwarded message's header:\n{inner}");

    // The victim answers the Reply-To (a signed reply, as their client sends it): it leaves
    // from the alias, and Mallory learns nothing of the real address.
    let profile = victim.profile.as_ref().unwrap();
    let answer = message(VICTIM, &reply_to, "Re: please answer", "", &format!("Sure. -- {VICTIM}"));
    let signer = Signer { cert: &profile.end_entity, key: &profile.key, chain: &[] };
    let signed = smime::sign_message(&answer, signer, e2e_support::now(), &mut rng()).unwrap();
    let (code, line) = c.send(VICTIM, &reply_to, &signed).unwrap();
    assert_eq!(code, 250, "{line}\n{}", relay.log());
    let got = sink.wait_for(before + 2);
    let sent = got.last().unwrap();
    assert_eq!(sent.rcpts, std::slice::from_ref(&trap));
    assert_eq!(sent.mail_from, victim.alias);
    assert!(!sent.text().to_ascii_lowercase().contains(VICTIM), "{}", sent.text());
    assert!(!sent.text().contains("real.example"), "{}", sent.text());
}

#[test]
fn guessing_the_owner_gets_the_same_answer_as_anyone() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let relay = Relay::start(tmp.path(), &RelayOptions::new(sink.port));
    let victim = owner(&relay, &sink, VICTIM, false);
    let before = sink.messages().len();

    // The owner's own address and a stranger's: the same reply, byte for byte.
    let mut c = Smtp::connect(relay.smtp).unwrap();
    let as_owner = c.send(VICTIM, &victim.alias, &message(VICTIM, &victim.alias, "probe", "", "hi")).unwrap();
    let as_stranger = c.send(STRANGER, &victim.alias, &message(STRANGER, &victim.alias, "probe", "", "hi")).unwrap();
    assert_eq!(as_owner, as_stranger);
    assert_eq!(as_owner.1, "250 2.0.0 message accepted and delivered");
    assert_eq!(sink.wait_for(before + 2).len(), before + 2, "both forwarded");
    // A true loop (our own header) is accepted and dropped: 250, and nothing delivered.
    let looped = message(STRANGER, &victim.alias, "loop", "X-Mailrelay-Loop: mailrelay\r\n", "hi");
    assert_eq!(c.send(STRANGER, &victim.alias, &looped).unwrap(), as_owner);

    // A disabled alias set to reject answers exactly like an alias that never existed.
    let path = format!("/api/aliases/{}", victim.alias_id);
    relay.api("PATCH", &path, &victim.token, Some(json!({ "enabled": false, "when_disabled": "reject" })), 200);
    let rcpt = |to: &str| {
        let mut c = Smtp::connect(relay.smtp).unwrap();
        c.command(Some(&format!("MAIL FROM:<{STRANGER}>"))).unwrap();
        c.command(Some(&format!("RCPT TO:<{to}>"))).unwrap()
    };
    let disabled = rcpt(&victim.alias);
    assert_eq!(disabled, rcpt("never.existed.99@pportal.io"));
    assert_eq!(disabled.1, "550 5.1.1 no such user");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.messages().len(), before + 2, "the loop was not delivered");
}

/// The DER of an S/MIME message's enveloped data, and a function that rebuilds the message
/// around other DER.
fn flip_last_block(msg: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(msg.to_vec()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let mut der = Base64::decode_vec(&b64).unwrap();
    // The encrypted content ends the DER; flipping the last byte of the block before the last
    // one flips the last plaintext byte, which is the CBC padding.
    let n = der.len();
    der[n - 17] ^= 0x01;
    let encoded = Base64::encode_string(&der);
    let lines: Vec<&str> = encoded.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("{head}\r\n\r\n{}\r\n", lines.join("\r\n")).into_bytes()
}

#[test]
fn forged_replies_get_one_answer_and_nothing_is_sent() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let relay = Relay::start(tmp.path(), &RelayOptions::new(sink.port));
    let victim = owner(&relay, &sink, VICTIM, true);
    let profile = victim.profile.as_ref().unwrap();
    let before = sink.messages().len();
    let mut c = Smtp::connect(relay.smtp).unwrap();
    let (code, _) = c.send(BOB, &victim.alias, &message(BOB, &victim.alias, "hello", "", "hi")).unwrap();
    assert_eq!(code, 250);
    let fwd = sink.wait_for(before + 1).pop().unwrap();
    let reverse = angle(&header(&fwd.data, "From").unwrap()).to_owned();
    let bob_cert = open(profile, &fwd.data).signer;
    let before = before + 1;

    let reply = message(VICTIM, &reverse, "Re: hello", "", "the plan, in confidence");
    let encrypted =
        smime::encrypt_message(&reply, std::slice::from_ref(&bob_cert), ContentCipher::default(), &mut rng()).unwrap();
    let to_unknown =
        smime::encrypt_message(&reply, std::slice::from_ref(&profile.end_entity), ContentCipher::default(), &mut rng())
            .unwrap();
    let from_boss = message("boss@real.example", &reverse, "Re: hello", "", "x");
    let attempts: [(&str, &str, Vec<u8>); 5] = [
        ("a stranger", STRANGER, message(STRANGER, &reverse, "Re: hello", "", "x")),
        ("the owner's envelope, someone else's From", VICTIM, from_boss),
        ("the owner's envelope and From, unsigned", VICTIM, reply.clone()),
        ("flipped CBC padding", VICTIM, flip_last_block(&encrypted)),
        ("encrypted to a key the relay lacks", VICTIM, to_unknown),
    ];
    for (what, from, data) in &attempts {
        let start = Instant::now();
        let (code, line) = c.send(from, &reverse, data).unwrap();
        let took = start.elapsed();
        assert_eq!((code, line.as_str()), (550, REFUSED), "{what}");
        assert!(took >= relay_server::relay::REFUSAL_FLOOR, "{what}: answered after {took:?}, before the floor");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.messages().len(), before, "nothing reached the next hop");
    let reasons: Vec<String> = events(&relay, &victim.token)
        .iter()
        .filter(|e| e["kind"] == "reply_refused")
        .map(|e| e["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reasons, ["unauthorized", "unauthorized", "unauthorized", "undecryptable", "undecryptable"]);

    // The owner's real reply, signed and encrypted as their client sends it, goes out.
    let signer = Signer { cert: &profile.end_entity, key: &profile.key, chain: &[] };
    let sealed = smime::sign_and_encrypt_message(
        &reply,
        signer,
        &[bob_cert, profile.end_entity.clone()],
        ContentCipher::default(),
        e2e_support::now(),
        &mut rng(),
    )
    .unwrap();
    let (code, line) = c.send(VICTIM, &reverse, &sealed).unwrap();
    assert_eq!(code, 250, "{line}\n{}", relay.log());
    let sent = sink.wait_for(before + 1).pop().unwrap();
    assert_eq!((sent.rcpts.as_slice(), sent.mail_from.as_str()), ([BOB.to_owned()].as_slice(), victim.alias.as_str()));
    assert!(sent.text().contains("the plan, in confidence"));

    // `/metrics` counts the refusals by reason.
    let (_, metrics) = relay.http("GET", "/metrics", None, None);
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(
        metrics.contains("mailrelay_messages_total{pipeline=\"reply\",outcome=\"refused\",reason=\"unauthorized\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("reason=\"undecryptable\"} 2"), "{metrics}");
}

#[test]
fn mailbox_registration_tells_nothing_about_other_accounts() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let relay = Relay::start(tmp.path(), &RelayOptions::new(sink.port));
    let victim = owner(&relay, &sink, VICTIM, false);
    let mallory = owner(&relay, &sink, MALLORY, false);

    // The victim's address, and one nobody uses: the same status and the same fields.
    let (taken_status, taken) =
        relay.http("POST", "/api/mailboxes", Some(&mallory.token), Some(&json!({ "address": VICTIM })));
    let (free_status, free) =
        relay.http("POST", "/api/mailboxes", Some(&mallory.token), Some(&json!({ "address": "nobody@real.example" })));
    assert_eq!((taken_status, free_status), (201, 201), "{taken} {free}");
    let shape = |v: &serde_json::Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        (keys, v["verified"].clone(), v["verification_sent"].clone())
    };
    assert_eq!(shape(&taken), shape(&free));
    // Being registered elsewhere does not verify it here: replies from it are not Mallory's.
    assert_eq!(taken["verified"], false);

    // Codes are rate-limited per address (and per account): the victim cannot be flooded.
    let id = taken["id"].as_i64().unwrap();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(relay.http("POST", &format!("/api/mailboxes/{id}/resend"), Some(&mallory.token), None).0);
    }
    // Mallory's account has had three codes mailed already (its own mailbox, the two above):
    // two more within the hour, then 429.
    assert_eq!(statuses, [200, 200, 429, 429, 429, 429]);

    // Traffic for the victim leaves nothing in Mallory's log.
    let mut c = Smtp::connect(relay.smtp).unwrap();
    c.send(STRANGER, &victim.alias, &message(STRANGER, &victim.alias, "hi", "", "x")).unwrap();
    assert!(events(&relay, &mallory.token).is_empty(), "{:?}", events(&relay, &mallory.token));
}

/// `GET /healthz`'s status and how long it took.
fn healthz(port: u16) -> (u16, Duration) {
    let start = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    (out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0), start.elapsed())
}

#[test]
fn a_flood_of_new_senders_with_the_key_pool_empty_leaves_the_relay_responsive() {
    if !tools_present() {
        return;
    }
    let _alone = ALONE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let opts = RelayOptions { abuse: "key_pool = 0\nkeygen_on_demand = 1\n".into(), ..RelayOptions::new(sink.port) };
    let relay = Relay::start(tmp.path(), &opts);
    let victim = owner(&relay, &sink, VICTIM, true);

    let done = Arc::new(AtomicBool::new(false));
    let prober = {
        let (done, port) = (done.clone(), relay.http);
        std::thread::spawn(move || {
            let mut worst = Duration::ZERO;
            let mut probes = 0;
            while !done.load(Ordering::Relaxed) {
                let (status, took) = healthz(port);
                assert_eq!(status, 200);
                worst = worst.max(took);
                probes += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            (worst, probes)
        })
    };
    // Sixteen new senders at once; each retries on 451, as a sending MTA does (sooner).
    let senders: Vec<_> = (0..16)
        .map(|i| {
            let (port, alias) = (relay.smtp, victim.alias.clone());
            std::thread::spawn(move || {
                let from = format!("new.sender.{i}@flood.example");
                let mut answers = Vec::new();
                let start = Instant::now();
                loop {
                    let mut c = Smtp::connect(port).unwrap();
                    let answer = c.send(&from, &alias, &message(&from, &alias, "flood", "", "x")).unwrap();
                    let done = answer.0 == 250 || start.elapsed() > Duration::from_secs(60);
                    answers.push(answer);
                    if done {
                        return answers;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        })
        .collect();
    let answers: Vec<(u16, String)> = senders.into_iter().flat_map(|t| t.join().unwrap()).collect();
    done.store(true, Ordering::Relaxed);
    let (worst, probes) = prober.join().unwrap();
    for (code, line) in &answers {
        assert!(
            *code == 250 || line == "451 4.3.0 temporary failure, please try again later",
            "{line}\n{}",
            relay.log()
        );
    }
    let delivered = answers.iter().filter(|(c, _)| *c == 250).count();
    let deferred = answers.iter().filter(|(c, _)| *c == 451).count();
    eprintln!("flood: /healthz worst {worst:?} over {probes} probes; {delivered} delivered after {deferred} deferrals");
    assert_eq!(delivered, 16, "every sender got through on a retry");
    assert!(deferred > 0, "with one generation slot, some of 16 new senders wait");
    assert!(probes >= 10, "the prober ran throughout ({probes} probes)");
    assert!(worst < Duration::from_millis(100), "/healthz took {worst:?} during the flood");
    let (_, metrics) = relay.http("GET", "/metrics", None, None);
    let want = format!("reason=\"key_pool_empty\"}} {deferred}");
    assert!(metrics.as_str().unwrap().contains(&want), "{metrics}");
}

#[test]
fn sessions_end_at_their_time_and_transaction_limits() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let opts = RelayOptions {
        smtp_extra: "max_session_secs = 2\nmax_transactions = 3\n".into(),
        ..RelayOptions::new(sink.port)
    };
    let relay = Relay::start(tmp.path(), &opts);
    let victim = owner(&relay, &sink, VICTIM, false);

    // A client that keeps talking (a NOOP every 300 ms, well within the command timeout) is cut
    // off at the session limit.
    let mut c = Smtp::connect(relay.smtp).unwrap();
    let start = Instant::now();
    let last = loop {
        match c.command(Some("NOOP")) {
            Ok((250, _)) => std::thread::sleep(Duration::from_millis(300)),
            Ok(other) => break other,
            Err(e) => panic!("{e}"),
        }
        assert!(start.elapsed() < Duration::from_secs(30), "never cut off");
    };
    assert_eq!(last.1, "421 4.7.0 session time limit reached, closing connection");

    // One connection, message after message: the fourth MAIL gets 421.
    let mut c = Smtp::connect(relay.smtp).unwrap();
    for i in 0..3 {
        let (code, line) = c.send(STRANGER, &victim.alias, &message(STRANGER, &victim.alias, "n", "", "x")).unwrap();
        assert_eq!(code, 250, "message {i}: {line}");
    }
    let (code, line) = c.command(Some(&format!("MAIL FROM:<{STRANGER}>"))).unwrap();
    assert_eq!((code, line.as_str()), (421, "421 4.7.0 too many messages in one session, closing connection"));
    let (code, _) = swaks(relay.smtp, STRANGER, &victim.alias, &["--body", "x"]);
    assert_eq!(code, Some(0), "a new connection is served");
}

#[test]
fn large_messages_beyond_the_memory_budget_get_452_before_they_pile_up() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    // A budget of 1 MiB. A message is counted twice (forwards and replies are both worked on
    // where they lie): 600 KB does not fit, 200 KB does.
    let opts = RelayOptions { smtp_extra: "memory_budget_mb = 1\n".into(), ..RelayOptions::new(sink.port) };
    let relay = Relay::start(tmp.path(), &opts);
    let victim = owner(&relay, &sink, VICTIM, false);
    let before = sink.messages().len();
    let body = |n: usize| {
        "x".repeat(76)
            .repeat(n / 78 + 1)
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    let mut c = Smtp::connect(relay.smtp).unwrap();
    // Declared too big for the budget: refused at MAIL, before any data.
    let (code, line) = c.command(Some(&format!("MAIL FROM:<{STRANGER}> SIZE=600000"))).unwrap();
    assert_eq!((code, line.as_str()), (452, "452 4.3.1 insufficient system storage, try again later"));
    // Not declared: read to its end, not kept, answered 452 4.3.1.
    let big = message(STRANGER, &victim.alias, "big", "", &body(600_000));
    let (code, line) = c.send(STRANGER, &victim.alias, &big).unwrap();
    assert_eq!((code, line.as_str()), (452, "452 4.3.1 insufficient system storage, try again later"));
    // The session and the budget are fine afterwards: a message that fits goes through.
    let small = message(STRANGER, &victim.alias, "small", "", &body(200_000));
    let (code, line) = c.send(STRANGER, &victim.alias, &small).unwrap();
    assert_eq!(code, 250, "{line}");
    assert_eq!(sink.wait_for(before + 1).len(), before + 1, "only the small one was delivered");
    // The same holds for a reply: 600 KB is over the budget; 200 KB is not (and is refused for
    // what it is, an unauthorised reply).
    let contact = relay.api(
        "POST",
        &format!("/api/aliases/{}/contacts", victim.alias_id),
        &victim.token,
        Some(json!({ "address": "bob@senders.example" })),
        201,
    );
    let reverse = contact["reverse_alias"].as_str().unwrap().to_owned();
    let reply = message(&victim.mailbox, &reverse, "re: big", "", &body(600_000));
    let (code, line) = c.send(&victim.mailbox, &reverse, &reply).unwrap();
    assert_eq!((code, line.as_str()), (452, "452 4.3.1 insufficient system storage, try again later"));
    let reply = message(&victim.mailbox, &reverse, "re: small", "", &body(200_000));
    assert_eq!(
        c.send(&victim.mailbox, &reverse, &reply).unwrap().0,
        550,
        "over the budget's check, refused as unsigned"
    );
    assert_eq!(sink.settled(Duration::from_millis(300)).len(), before + 1, "no reply reached the next hop");
}

#[test]
fn rates_per_client_network_and_per_account() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let opts = RelayOptions {
        abuse:
            "messages_per_ip = { burst = 6, per_hour = 0 }\nnew_contacts_per_account = { burst = 2, per_hour = 0 }\n"
                .into(),
        ..RelayOptions::new(sink.port)
    };
    let relay = Relay::start(tmp.path(), &opts);
    // The owner's setup sends its code mail through the next hop, not through SMTP: no message
    // of 127.0.0.1's six is spent yet.
    let victim = owner(&relay, &sink, VICTIM, false);
    let mut c = Smtp::connect(relay.smtp).unwrap();
    let mut lines = Vec::new();
    for who in ["one", "two", "three", "one", "two"] {
        let from = format!("{who}@senders.example");
        lines.push(c.send(&from, &victim.alias, &message(&from, &victim.alias, "hi", "", "x")).unwrap().1);
    }
    assert_eq!(
        lines,
        [
            "250 2.0.0 message accepted and delivered",
            "250 2.0.0 message accepted and delivered",
            // A third new contact for the account: deferred, retried later.
            "451 4.3.0 temporary failure, please try again later",
            // Known contacts still get through.
            "250 2.0.0 message accepted and delivered",
            "250 2.0.0 message accepted and delivered",
        ]
    );
    // The new-thread API says so too.
    let (status, body) = relay.http(
        "POST",
        &format!("/api/aliases/{}/contacts", victim.alias_id),
        Some(&victim.token),
        Some(&json!({ "address": "four@senders.example" })),
    );
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "{body}");
    // The sixth transaction from 127.0.0.1 is the last; the seventh is refused at MAIL, on a
    // new connection as well.
    let from = "one@senders.example";
    assert_eq!(c.send(from, &victim.alias, &message(from, &victim.alias, "hi", "", "x")).unwrap().0, 250);
    let (code, line) = c.command(Some(&format!("MAIL FROM:<{from}>"))).unwrap();
    assert_eq!((code, line.as_str()), (450, "450 4.7.1 too many messages from your address, try again later"));
    let mut again = Smtp::connect(relay.smtp).unwrap();
    assert_eq!(again.command(Some(&format!("MAIL FROM:<{from}>"))).unwrap().0, 450);
    let (_, metrics) = relay.http("GET", "/metrics", None, None);
    assert!(metrics.as_str().unwrap().contains("outcome=\"deferred\",reason=\"rate_limited\"} 1"), "{metrics}");
}

#[test]
fn replies_through_submission_need_tls_and_an_app_password() {
    if !tools_present() {
        return;
    }
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let (cert, key, _) = relay_server::tls::self_signed_pair(tmp.path(), &["mx.pportal.io".to_owned()]).unwrap();
    let submission = e2e_support::free_port();
    let opts = RelayOptions {
        smtp_extra: format!(
            "submission_listen = \"127.0.0.1:{submission}\"\n[smtp.tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            cert.display(),
            key.display()
        ),
        ..RelayOptions::new(sink.port)
    };
    let relay = Relay::start(tmp.path(), &opts);
    let victim = owner(&relay, &sink, VICTIM, false);
    let before = sink.messages().len();
    let mut c = Smtp::connect(relay.smtp).unwrap();
    assert_eq!(c.send(BOB, &victim.alias, &message(BOB, &victim.alias, "hello", "", "hi")).unwrap().0, 250);
    let fwd = sink.wait_for(before + 1).pop().unwrap();
    let reverse = angle(&header(&fwd.data, "From").unwrap()).to_owned();
    let before = before + 1;
    let mailboxes = relay.api("GET", "/api/mailboxes", &victim.token, None, 200);
    let mailbox = mailboxes["mailboxes"][0]["id"].as_i64().unwrap();
    let made = relay.api(
        "POST",
        &format!("/api/mailboxes/{mailbox}/app-passwords"),
        &victim.token,
        Some(json!({ "name": "laptop" })),
        201,
    );
    let password = made["password"].as_str().unwrap().to_owned();
    assert_eq!(made["user"], VICTIM);
    let listed = relay.api("GET", &format!("/api/mailboxes/{mailbox}/app-passwords"), &victim.token, None, 200);
    assert_eq!(listed["app_passwords"][0]["name"], "laptop");
    assert!(!listed.to_string().contains(&password), "the password is shown once, never listed");

    // A forger at the submission port: no AUTH in the clear, no mail without AUTH.
    let reply = message(&victim.alias, &reverse, "Re: hello", "", "sent through submission");
    let mut plain = Smtp::connect(submission).unwrap();
    let (code, line) = plain.command(Some(&format!("MAIL FROM:<{}>", victim.alias))).unwrap();
    assert_eq!((code, line.as_str()), (530, "530 5.7.0 authentication required"));
    let (code, line) = plain.command(Some("AUTH PLAIN AHZpY3RpbUByZWFsLmV4YW1wbGUAeA==")).unwrap();
    assert_eq!((code, line.as_str()), (538, "538 5.7.11 encryption required for requested authentication mechanism"));
    // Over TLS without AUTH, and with a wrong password.
    let file = tmp.path().join("reply.eml");
    std::fs::write(&file, &reply).unwrap();
    let data = format!("@{}", file.display());
    let (_, out) = swaks(submission, &victim.alias, &reverse, &["--tls", "--data", &data]);
    // (swaks marks lines read over TLS `<~`, and errors `*`.)
    assert!(out.contains("<~* 530 5.7.0 authentication required"), "{out}");
    let (_, out) = swaks(
        submission,
        &victim.alias,
        &reverse,
        &["--tls", "--auth", "PLAIN", "--auth-user", VICTIM, "--auth-password", "guess", "--data", &data],
    );
    assert!(out.contains("<~* 535 5.7.8 authentication credentials invalid"), "{out}");
    // Nothing of that reached the next hop.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.messages().len(), before);

    // The owner's client, over TLS with the app password (LOGIN, as Outlook does; grouped or
    // not): sent on from the alias.
    let typed = password.replace('-', "").to_uppercase();
    let (code, out) = swaks(
        submission,
        &victim.alias,
        &reverse,
        &["--tls", "--auth", "LOGIN", "--auth-user", VICTIM, "--auth-password", &typed, "--data", &data],
    );
    assert!(out.contains("<~  235 2.7.0 authentication succeeded") && code == Some(0), "{out}\n{}", relay.log());
    let sent = sink.wait_for(before + 1).pop().unwrap();
    assert_eq!((sent.rcpts.as_slice(), sent.mail_from.as_str()), ([BOB.to_owned()].as_slice(), victim.alias.as_str()));
    assert!(
        sent.text().contains("sent through submission") && !sent.text().contains("real.example"),
        "{}",
        sent.text()
    );
    // Revoked, it no longer works.
    let pid = made["id"].as_i64().unwrap();
    relay.api("DELETE", &format!("/api/app-passwords/{pid}"), &victim.token, None, 204);
    let (_, out) = swaks(
        submission,
        &victim.alias,
        &reverse,
        &["--tls", "--auth", "PLAIN", "--auth-user", VICTIM, "--auth-password", &password, "--data", &data],
    );
    assert!(out.contains("<~* 535 5.7.8"), "{out}");
}
