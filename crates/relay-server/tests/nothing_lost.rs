//! Nothing lost: under load the relay is killed with SIGKILL several times and restarted on the
//! same data directory and SQLite file, and no message the client saw `250` for is missing.
//!
//! ```text
//!  smtp-source -s 20 (background load, in rounds) ─┐
//!  tracking client: 20 sessions, ledger of replies ─┼─▶ mailrelay serve ──▶ smtp-sink -d DIR
//!  killer: SIGKILL + restart, KILLS times          ─┘   (killed, restarted)   (never killed)
//! ```
//!
//! `smtp-source` cannot say which of its messages got `250`, so it only provides the load (its
//! output is checked for 5xx replies). The accounting is done by a client of our own: each of
//! its [`MESSAGES`] messages carries a unique id in its body, each reply is written to a ledger,
//! and a message that did not get `250` (a 4xx, or a broken connection when the relay died) is
//! retried as a sending MTA would. Afterwards every message at the sink is decrypted with the
//! owner's key and its signature verified; the ids found inside are matched against the
//! ledger. A `250` without the message at the sink fails the test, and so does any 5xx.
//! Duplicates (delivered, but the relay died before its `250` reached the client) are allowed,
//! counted and printed.
#![allow(clippy::unwrap_used, clippy::panic)]

mod e2e_support;

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use e2e_support::{
    Dumped, Profile, Relay, RelayOptions, Sink, Smtp, owner, smtp_source, tempdir, tools_present, try_open,
};

/// Messages the tracking client sends (each until it gets `250`).
const MESSAGES: usize = 2000;
/// Its concurrent sessions.
const SESSIONS: usize = 20;
/// SIGKILLs during the run, spread evenly over the acknowledged messages.
const KILLS: usize = 4;
/// Attempts per message before the test gives up on it.
const MAX_ATTEMPTS: usize = 100;

const OWNER: &str = "owner@example.com";
const TRACKER: &str = "tracker@example.org";
const LOAD: &str = "load@example.net";

/// What one attempt to send one message got.
#[derive(Clone, Debug)]
enum Attempt {
    /// 250 after the final dot.
    Accepted,
    /// A 4xx reply (retry).
    Temporary(String),
    /// The connection failed or broke (retry).
    Broken(String),
    /// A 5xx reply: the sender would give up. Must never happen here.
    Permanent(String),
}

fn classify(result: Result<(u16, String), String>) -> Attempt {
    match result {
        Ok((250, _)) => Attempt::Accepted,
        Ok((code, reply)) if (400..500).contains(&code) => Attempt::Temporary(reply),
        Ok((_, reply)) => Attempt::Permanent(reply),
        Err(e) if e.starts_with('4') => Attempt::Temporary(e),
        Err(e) if e.starts_with('5') => Attempt::Permanent(e),
        Err(e) => Attempt::Broken(e),
    }
}

fn message(alias: &str, id: usize) -> Vec<u8> {
    let filler = "The quick brown fox jumps over the lazy dog, again and again.\r\n".repeat(16);
    format!(
        "From: Tracker <{TRACKER}>\r\nTo: <{alias}>\r\nSubject: ledger {id}\r\nMessage-ID: <ledger-{id}@example.org>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nledger-id: {id:05}\r\n{filler}"
    )
    .into_bytes()
}

/// One tracking session: sends messages `first, first + SESSIONS, …`, each until `250`; the
/// ledger of every attempt, by id.
fn session(port: u16, alias: &str, first: usize, acked: &AtomicUsize) -> Vec<(usize, Attempt)> {
    let mut ledger = Vec::new();
    let mut conn: Option<Smtp> = None;
    for id in (first..MESSAGES).step_by(SESSIONS) {
        let data = message(alias, id);
        for _ in 0..MAX_ATTEMPTS {
            let result = match conn.take() {
                Some(c) => Ok(c),
                None => Smtp::connect(port),
            }
            .and_then(|mut c| {
                let r = c.send(TRACKER, alias, &data);
                if matches!(r, Ok((250, _))) {
                    conn = Some(c);
                }
                r
            });
            let attempt = classify(result);
            let done = matches!(attempt, Attempt::Accepted | Attempt::Permanent(_));
            if matches!(attempt, Attempt::Accepted) {
                acked.fetch_add(1, Ordering::SeqCst);
            }
            ledger.push((id, attempt));
            if done {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    ledger
}

/// `smtp-source` rounds (20 sessions, 100 messages) until `stop`; the output of each round.
fn load(port: u16, alias: &str, stop: &AtomicBool) -> Vec<String> {
    let target = format!("127.0.0.1:{port}");
    let mut outputs = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let (_, out) =
            smtp_source(&["-s", "20", "-m", "100", "-l", "4000", "-f", LOAD, "-t", alias, "-S", "load", &target]);
        outputs.push(out);
        std::thread::sleep(Duration::from_millis(200));
    }
    outputs
}

/// The first line of `text` with a 5xx SMTP reply (`550 5.…`) in it.
fn line_with_5xx(text: &str) -> Option<&str> {
    text.lines().find(|line| {
        let b = line.as_bytes();
        (0..b.len().saturating_sub(6)).any(|i| {
            b[i] == b'5'
                && b[i + 1].is_ascii_digit()
                && b[i + 2].is_ascii_digit()
                && b[i + 3] == b' '
                && b[i + 4] == b'5'
                && b[i + 5] == b'.'
                && (i == 0 || !b[i - 1].is_ascii_digit())
        })
    })
}

/// What the sink holds, opened: ids of the tracking client's messages with their copies, the
/// number of load messages, and every message that failed to open.
struct Opened {
    ids: BTreeMap<usize, usize>,
    load: usize,
    failures: Vec<String>,
}

fn open_all(profile: &Profile, messages: &[Dumped], tracker_reverse: &str) -> Opened {
    let results: Vec<Result<Option<usize>, String>> = std::thread::scope(|s| {
        let half = messages.len().div_ceil(2).max(1);
        let handles: Vec<_> = messages
            .chunks(half)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|m| {
                            let opened =
                                try_open(profile, &m.data).map_err(|e| format!("{}: {e}", m.path.display()))?;
                            if m.mail_from != tracker_reverse {
                                return Ok(None);
                            }
                            let at = opened.content.find("ledger-id: ").ok_or("no ledger id inside")?;
                            let id = opened.content.get(at + 11..at + 16).and_then(|d| d.parse().ok());
                            id.map(Some).ok_or_else(|| format!("{}: bad ledger id", m.path.display()))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut opened = Opened { ids: BTreeMap::new(), load: 0, failures: Vec::new() };
    for r in results {
        match r {
            Ok(Some(id)) => *opened.ids.entry(id).or_default() += 1,
            Ok(None) => opened.load += 1,
            Err(e) => opened.failures.push(e),
        }
    }
    opened
}

#[test]
fn nothing_is_lost_when_the_relay_is_killed() {
    if !tools_present() {
        return;
    }
    let started = Instant::now();
    let tmp = tempdir();
    let sink = Sink::dumping(&tmp.path().join("sink"));
    let opts =
        RelayOptions { reply_timeout_secs: 30, per_ip: 100, max_connections: 256, ..RelayOptions::new(sink.port) };
    let mut relay = Relay::start(tmp.path(), &opts);
    let owner = owner(&relay, &sink, OWNER, true);
    let profile = owner.profile.as_ref().unwrap();
    let alias = owner.alias.clone();

    // One message from each sender first: it makes the contact and its certificate.
    for from in [TRACKER, LOAD] {
        let mut c = Smtp::connect(relay.smtp).unwrap();
        let (code, reply) = c.send(from, &alias, &message(&alias, MESSAGES + 1)).unwrap();
        assert_eq!(code, 250, "{reply}\n{}", relay.log());
    }
    let before = sink.messages();
    let contacts = relay.api("GET", &format!("/api/aliases/{}/contacts", owner.alias_id), &owner.token, None, 200);
    let tracker = contacts["contacts"].as_array().unwrap().iter().find(|c| c["address"] == TRACKER).unwrap();
    let tracker_reverse = tracker["reverse_alias"].as_str().unwrap().to_owned();
    let baseline = before.len();

    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let port = relay.smtp;
    let load_thread = {
        let (stop, alias) = (stop.clone(), alias.clone());
        std::thread::spawn(move || load(port, &alias, &stop))
    };
    let sessions: Vec<_> = (0..SESSIONS)
        .map(|first| {
            let (acked, alias) = (acked.clone(), alias.clone());
            std::thread::spawn(move || session(port, &alias, first, &acked))
        })
        .collect();

    // The killer: SIGKILL at evenly spaced points of progress, then a restart on the same files.
    let mut kills = 0;
    for k in 1..=KILLS {
        let at = k * MESSAGES / (KILLS + 1);
        let wait = Instant::now();
        while acked.load(Ordering::SeqCst) < at {
            assert!(
                wait.elapsed() < Duration::from_secs(120),
                "no progress: {} acked\n{}",
                acked.load(Ordering::SeqCst),
                relay.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        relay.kill();
        kills += 1;
        std::thread::sleep(Duration::from_millis(300));
        relay.restart();
    }
    let ledger: Vec<(usize, Attempt)> = sessions.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let sent_at = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let load_outputs = load_thread.join().unwrap();

    // Every reply the clients saw.
    let mut accepted: BTreeMap<usize, usize> = BTreeMap::new();
    let (mut temporary, mut broken) = (0, 0);
    let mut permanent = Vec::new();
    let mut retry_reasons = std::collections::BTreeSet::new();
    for (id, attempt) in &ledger {
        match attempt {
            Attempt::Accepted => *accepted.entry(*id).or_default() += 1,
            Attempt::Temporary(reply) => {
                temporary += 1;
                retry_reasons.insert(reply.clone());
            }
            Attempt::Broken(why) => {
                broken += 1;
                retry_reasons.insert(why.clone());
            }
            Attempt::Permanent(reply) => permanent.push(format!("message {id}: {reply}")),
        }
    }
    let load_5xx: Vec<&str> = load_outputs.iter().filter_map(|o| line_with_5xx(o)).collect();

    // What reached the sink, opened with the owner's key.
    let all = sink.settled(Duration::from_secs(2));
    let delivered = &all[baseline..];
    let opened = open_all(profile, delivered, &tracker_reverse);
    let missing: Vec<usize> = accepted.keys().filter(|id| !opened.ids.contains_key(id)).copied().collect();
    let duplicates: usize = opened.ids.values().map(|n| n - 1).sum();
    println!(
        "nothing lost: {MESSAGES} tracked messages over {SESSIONS} sessions, {kills} SIGKILLs and restarts; \
         {} attempts: {} accepted, {temporary} temporary failures, {broken} broken connections, {} permanent; \
         at the sink: {} tracked ({duplicates} duplicates), {} from smtp-source in {} rounds; all {} opened and verified; \
         sending took {:.1} s, the whole test {:.1} s",
        ledger.len(),
        accepted.values().sum::<usize>(),
        permanent.len(),
        opened.ids.values().sum::<usize>(),
        opened.load,
        load_outputs.len(),
        delivered.len() - opened.failures.len(),
        sent_at.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    println!("why messages were retried: {retry_reasons:?}");

    assert_eq!(kills, KILLS);
    assert_eq!(relay.starts as usize, KILLS + 1);
    assert!(permanent.is_empty(), "5xx replies to the tracking client: {permanent:?}");
    assert!(load_5xx.is_empty(), "5xx replies to smtp-source: {load_5xx:?}");
    assert_eq!(accepted.len(), MESSAGES, "every message was eventually accepted (retried after 4xx/broken)");
    assert!(missing.is_empty(), "acknowledged with 250 but not at the sink: {missing:?}");
    assert!(opened.failures.is_empty(), "messages at the sink that do not open: {:?}", opened.failures);
    assert!(opened.ids.keys().all(|id| *id < MESSAGES), "only ids that were sent");
    assert!(broken + temporary > 0, "the kills were felt by the clients");
    assert!(opened.load > 0, "smtp-source's load got through");
}
