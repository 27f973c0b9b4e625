//! `cargo xtask bench engine`: the relay engine's forward pipeline, in messages per second, and
//! where the time of one forward goes.
//!
//! Every forward runs against relay-engine's test world (`testkit::World`: an in-memory store
//! with one account, its verified mailbox, an alias and an active S/MIME profile), driven by a
//! tokio current-thread runtime (the pipeline is async but does no I/O). Three cases per key
//! type, measured in interleaved rounds with a fixed number of messages each:
//!
//! - **known contact**: the sender has written before; its contact, reverse alias and
//!   recipient certificate exist.
//! - **new contact, pooled key**: every message comes from a new address, so the engine
//!   creates a contact and a reverse alias and issues a recipient certificate, with a key taken
//!   from a `KeyPool` filled beforehand with more keys than the run uses.
//! - **new contact, inline key generation**: the same without a pool.
//!
//! The requirement checked (and printed, not enforced): with the pool, a new contact costs at
//! most twice a known one. Then each stage of a forward is timed on its own, outside the
//! engine, with the same message and the same kinds of keys and certificates.

use std::{
    hint::black_box,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use der::{Decode, Encode};
use mail_parser::MessageParser;
use pki_core::{
    PrivateKey, UnixTime,
    address::Mailbox,
    cert::{self, Issuer, Lifetime},
    cms::{ContentCipher, Signer},
    smime,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use relay_engine::{
    Delivery, Envelope, Outcome,
    address::{Address, RelayDomains},
    model::ProfileStatus,
    profile,
    seal::{KeyOwner, MasterKey},
    store::Store,
    testkit::{self, World, WorldOptions},
};
use tokio::runtime::Runtime;
use x509_cert::Certificate;

use super::{Config, ROUNDS, Rate, message, pki::Kind, time_round};
use crate::Result;

/// The sender of the known-contact case.
const KNOWN: &str = "bob@example.org";
/// The requirement: a new contact (pooled key) costs at most this many known-contact forwards.
const NEW_CONTACT_LIMIT: f64 = 2.0;
/// Fewest messages per case, so that a slow case still gets a few per round.
const MIN_MESSAGES: u64 = 8 * ROUNDS as u64;
/// Extra pooled keys: the warm-up takes two, and one must be left at the end to show that the
/// pool never ran dry (an empty pool generates inline, silently).
const POOL_MARGIN: u64 = 3;

pub(crate) fn run(cfg: Config) -> Result {
    let now = UnixTime(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs());
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let entity = message::mail_entity();
    let bench = Bench { rt: &rt, entity: &entity, now };
    let mut rng = ChaCha20Rng::from_seed([43; 32]);
    println!(
        "\nrelay-engine forward pipeline (testkit::World, in-memory store, tokio current-thread runtime), single thread"
    );
    println!(
        "message: {} bytes, multipart/mixed (multipart/alternative text + HTML, base64 PDF attachment); signed by the\n\
         \x20 contact's recipient cert (+ intermediate), AES-256-CBC EnvelopedData to the owner's EE cert",
        bench.message(KNOWN, 0).len()
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", load.trim());
    }

    let mut results = Vec::new();
    for kind in [Kind::Rsa2048, Kind::P256] {
        results.push(throughput(&cfg, &bench, kind, &mut rng)?);
    }
    println!("\nForward pipeline, {} bytes per message (single thread)", bench.message(KNOWN, 0).len());
    println!("{:<58} {:>10} {:>10} {:>9}", "case", "msg/s", "ms/msg", "messages");
    println!("{}", "-".repeat(58 + 10 + 10 + 9 + 3));
    for r in &results {
        let name = r.kind.name();
        for (case, rate) in [
            ("known contact", r.known),
            ("new contact, pooled key", r.pooled),
            ("new contact, key generated inline (no pool)", r.inline),
        ] {
            println!(
                "{:<58} {:>10.1} {:>10.3} {:>9}",
                format!("{name}  {case}"),
                rate.per_sec(),
                1e3 / rate.per_sec(),
                rate.iterations
            );
        }
    }
    println!(
        "pool: filled before the run with more keys than the run takes (spare keys left: {}; more are reserved for\n\
         \x20 the stage tables); \"inline\" generates a key per new contact. Cases alternate in {ROUNDS} rounds, a fixed\n\
         \x20 number of messages each.",
        results
            .iter()
            .map(|r| format!("{} {}", r.kind.name(), r.pool_left.saturating_sub(r.reserve)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("\nRequirement: with the key pool, a new contact costs at most {NEW_CONTACT_LIMIT}x a known contact");
    for r in &results {
        let ratio = r.known.per_sec() / r.pooled.per_sec();
        let verdict = if ratio <= NEW_CONTACT_LIMIT { "PASS" } else { "FAIL" };
        let inline = r.known.per_sec() / r.inline.per_sec();
        println!(
            "{:<9} new/known = {ratio:.2}x  {verdict}   (without the pool: {inline:.1}x; the pool saves {:.2} ms per new contact)",
            r.kind.name(),
            1e3 / r.inline.per_sec() - 1e3 / r.pooled.per_sec()
        );
    }

    for r in &results {
        stages(&cfg, &bench, r, &mut rng)?;
    }
    Ok(())
}

/// What every forward shares: the runtime, the message body, the clock.
struct Bench<'a> {
    rt: &'a Runtime,
    entity: &'a [u8],
    now: UnixTime,
}

impl Bench<'_> {
    /// The whole message from `sender`.
    fn message(&self, sender: &str, n: u64) -> Vec<u8> {
        let mut msg = message::mail_headers(sender, n).into_bytes();
        msg.extend_from_slice(self.entity);
        msg
    }

    /// Forwards a message from `sender` through `world`'s engine; anything but an encrypted
    /// delivery is an error.
    fn forward(&self, world: &World, sender: &str, n: u64, rng: &mut ChaCha20Rng) -> Result<Delivery> {
        let msg = self.message(sender, n);
        let env = Envelope::new(Some(Address::parse(sender)?), Address::parse(testkit::ALIAS)?);
        match self.rt.block_on(world.engine.forward(&msg, &env, self.now, rng)) {
            Outcome::Deliver(d) if d.encrypted => Ok(d),
            Outcome::Deliver(_) => Err(format!("forward from {sender}: delivered in plaintext").into()),
            Outcome::Reject(reply) => Err(format!("forward from {sender}: rejected: {reply}").into()),
            other => Err(format!("forward from {sender}: {other:?}").into()),
        }
    }

    /// Forwards from a sender never seen before (a new contact).
    fn forward_new(&self, world: &World, next: &mut u64, rng: &mut ChaCha20Rng) -> Result<Delivery> {
        *next += 1;
        self.forward(world, &format!("sender{next}@example.org"), *next, rng)
    }
}

/// The three cases of one key type, and the world the pooled and known cases ran in.
struct Throughput {
    kind: Kind,
    known: Rate,
    pooled: Rate,
    inline: Rate,
    /// Keys left in the pool after the run.
    pool_left: u64,
    /// Pooled keys kept for the stage table's new-contact forwards.
    reserve: u64,
    /// The last new sender's number in `world`.
    next_sender: u64,
    world: World,
}

fn throughput(cfg: &Config, b: &Bench<'_>, kind: Kind, rng: &mut ChaCha20Rng) -> Result<Throughput> {
    let name = kind.name();
    let options = WorldOptions { strict: false, profile: true, key: kind.alg(), pool: 0, ..Default::default() };
    eprintln!("engine {name}: building the world without a pool, checking a forward");
    let inline_world = World::new(options, b.now, rng)?;
    check_delivery(b, &inline_world, &b.forward(&inline_world, KNOWN, 0, rng)?, rng)?;

    // Calibration: how long a known and a new contact take, to size the fixed runs.
    let mut inline_next = 0;
    let t_known = average(3, &mut || b.forward(&inline_world, KNOWN, 1, rng).map(drop))?;
    let t_inline = average(2, &mut || b.forward_new(&inline_world, &mut inline_next, rng).map(drop))?;
    let t_keygen = t_inline.saturating_sub(t_known).max(Duration::from_micros(1));
    let per_cell = cfg.per_cell.as_secs_f64();
    let n_known = messages(per_cell / t_known.as_secs_f64(), u64::MAX);
    let n_inline = messages(per_cell / t_inline.as_secs_f64(), u64::MAX);
    // The pool is filled before the run: cap the keys it needs at about 4 cells of key generation.
    let pool_cap = count(4.0 * per_cell / t_keygen.as_secs_f64()).max(4 * MIN_MESSAGES);
    let n_pooled = messages(per_cell / (1.5 * t_known.as_secs_f64()), pool_cap);
    let reserve = messages(n_pooled as f64 / 4.0, n_pooled);

    let pool = n_pooled + reserve + POOL_MARGIN;
    eprintln!(
        "engine {name}: building the world with a pool of {pool} keys (estimate: {:.1} s of key generation)",
        pool as f64 * t_keygen.as_secs_f64()
    );
    let start = Instant::now();
    let world = World::new(WorldOptions { pool: usize::try_from(pool)?, ..options }, b.now, rng)?;
    eprintln!("engine {name}: world built in {:.1} s", start.elapsed().as_secs_f64());
    // Warm-up: the known contact's certificate is issued here, and one new contact is made.
    let mut pooled_next = 0;
    check_delivery(b, &world, &b.forward(&world, KNOWN, 0, rng)?, rng)?;
    b.forward_new(&world, &mut pooled_next, rng)?;

    eprintln!("engine {name}: measuring {n_known} known, {n_pooled} new (pooled) and {n_inline} new (inline) forwards");
    let zero = Rate { iterations: 0, elapsed: Duration::ZERO };
    let (mut known, mut pooled, mut inline) = (zero, zero, zero);
    for _ in 0..ROUNDS {
        time_n(&mut known, n_known / u64::from(ROUNDS), &mut || b.forward(&world, KNOWN, 2, rng).map(drop))?;
        time_n(&mut pooled, n_pooled / u64::from(ROUNDS), &mut || {
            b.forward_new(&world, &mut pooled_next, rng).map(drop)
        })?;
        time_n(&mut inline, n_inline / u64::from(ROUNDS), &mut || {
            b.forward_new(&inline_world, &mut inline_next, rng).map(drop)
        })?;
    }
    let pool_left = u64::try_from(world.engine.pool().len())?;
    if pool_left <= reserve {
        eprintln!("warning ({name}): the key pool ran low, so some \"pooled\" forwards may have made their key inline");
    }
    Ok(Throughput { kind, known, pooled, inline, pool_left, reserve, next_sender: pooled_next, world })
}

/// A message count for a run: about `estimate`, at least [`MIN_MESSAGES`], at most `cap`, a
/// multiple of [`ROUNDS`].
fn messages(estimate: f64, cap: u64) -> u64 {
    let rounds = u64::from(ROUNDS);
    count(estimate).clamp(MIN_MESSAGES, cap.max(MIN_MESSAGES)).div_ceil(rounds) * rounds
}

/// `x` rounded up to a whole count, within 0..=10⁹ (NaN: 0).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "clamped to 0..=1e9 first")]
fn count(x: f64) -> u64 {
    if x.is_nan() { 0 } else { x.ceil().clamp(0.0, 1e9) as u64 }
}

/// The mean time of `n` calls.
fn average(n: u32, f: &mut dyn FnMut() -> Result) -> Result<Duration> {
    let start = Instant::now();
    for _ in 0..n {
        f()?;
    }
    Ok(start.elapsed() / n)
}

/// Exactly `n` calls, added to `rate`.
fn time_n(rate: &mut Rate, n: u64, f: &mut dyn FnMut() -> Result) -> Result {
    let start = Instant::now();
    for _ in 0..n {
        f()?;
    }
    rate.elapsed += start.elapsed();
    rate.iterations += n;
    Ok(())
}

/// The owner's side of a delivery: it decrypts, the signature verifies against the owner's
/// root, and the attachment came through.
fn check_delivery(b: &Bench<'_>, world: &World, d: &Delivery, rng: &mut ChaCha20Rng) -> Result {
    let owner = world.smime.as_ref().ok_or("the test world has no S/MIME profile")?;
    let opened = smime::decrypt_message(&d.data, &owner.end_entity, &owner.key, rng)?;
    let verified = smime::verify_message(&opened, &owner.root, b.now)?;
    if !verified.report.is_valid() {
        return Err(format!("the forwarded message's signature does not verify: {:?}", verified.report.signers).into());
    }
    let probe = &b.entity[b.entity.len() - 400..];
    if !verified.message.windows(probe.len()).any(|w| w == probe) {
        return Err("the forwarded message lost its attachment".into());
    }
    Ok(())
}

/// One stage: its name, whether a known contact goes through it, and its rate.
struct Stage {
    name: &'static str,
    known: bool,
    rate: Rate,
}

/// Times each stage of a forward outside the engine, with the inputs the engine has at that
/// point, and prints a table against the whole forward.
fn stages(cfg: &Config, b: &Bench<'_>, t: &Throughput, rng: &mut ChaCha20Rng) -> Result {
    let kind = t.kind;
    let world = &t.world;
    let store = world.engine.store();
    let msg = b.message(KNOWN, 0);
    let entity = pki_core::mime::split_message(&msg)?.entity();

    // The profile as the store holds it, and a parallel profile of the same shape whose keys
    // we can open: the engine's master key and the intermediate key are not public.
    let profiles = b.rt.block_on(store.profiles(world.account))?;
    let stored = profiles.into_iter().find(|p| p.status == ProfileStatus::Active).ok_or("no active profile")?;
    let master = MasterKey::from_bytes([0x5e; 32]);
    let domains = RelayDomains::new([testkit::DOMAIN])?;
    let owner = Address::parse(testkit::OWNER)?;
    let req = profile::CeremonyRequest {
        account: world.account,
        owner: &owner,
        mailboxes: std::slice::from_ref(&owner),
        domains: &domains,
        key: kind.alg(),
        now: b.now,
    };
    let ceremony = profile::local_ceremony(&req, &master, rng)?;
    let sealed_inter = ceremony.profile.sealed_intermediate_key.clone();
    let inter_owner = KeyOwner::Intermediate { account: world.account, end_entity: &ceremony.profile.end_entity };
    let inter_key = PrivateKey::from_pkcs8_der(&master.unseal(&sealed_inter, &inter_owner)?)?;
    let issuer = Issuer::from_certificate(&ceremony.intermediate)?;
    let contact =
        b.rt.block_on(store.contact_for(world.alias, KNOWN))?.ok_or("the known contact is missing from the store")?;
    let reverse_alias = contact.reverse_alias.normalized();
    let life = Lifetime { now: b.now, days: world.engine.config().recipient_cert_days };
    // A recipient identity as the store holds one: certificate DER and sealed PKCS#8 key.
    let pooled_key = PrivateKey::generate(kind.alg(), rng)?;
    let rcert = cert::recipient(&Mailbox::parse(&reverse_alias)?, &pooled_key.public_key(), &issuer, life, rng)?
        .sign(&inter_key, rng)?;
    let rcert_der = rcert.to_der()?;
    let rkey_owner = KeyOwner::Recipient { account: world.account, contact: contact.id, profile: stored.id };
    let sealed_rkey = master.seal(&pooled_key.to_pkcs8_der()?, &rkey_owner, rng)?;
    let chain = [ceremony.intermediate.clone()];
    let recipients = [ceremony.end_entity.clone()];
    let signed = smime::sign_entity(&entity, Signer { cert: &rcert, key: &pooled_key, chain: &chain }, b.now, rng)?;

    eprintln!("engine {}: timing the stages", kind.name());
    let mut parse = || -> Result {
        let parsed = MessageParser::default().parse(&msg[..]).filter(|m| !m.headers().is_empty());
        black_box(parsed.ok_or("mail-parser: cannot parse the message")?);
        Ok(())
    };
    let mut lookups = || -> Result {
        b.rt.block_on(async {
            let alias = store.alias_by_address(testkit::ALIAS).await?.ok_or("no alias")?;
            let mailbox = store.mailbox(alias.mailbox).await?.ok_or("no mailbox")?;
            let contact = store.contact_for(alias.id, KNOWN).await?.ok_or("no contact")?;
            let account = store.account(alias.account).await?.ok_or("no account")?;
            let profiles = store.profiles(account.id).await?;
            let active = profiles.iter().find(|p| p.status == ProfileStatus::Active).ok_or("no profile")?;
            let rc = store.recipient_cert(contact.id, active.id).await?.ok_or("no recipient cert")?;
            black_box((mailbox, rc));
            Ok::<(), Box<dyn std::error::Error>>(())
        })
    };
    let mut profile_decode = || -> Result {
        for der in [stored.root.as_deref(), stored.intermediate.as_deref(), Some(&stored.end_entity[..])] {
            black_box(Certificate::from_der(der.ok_or("profile without a certificate")?)?);
        }
        Ok(())
    };
    let mut identity = || -> Result {
        black_box(Certificate::from_der(&rcert_der)?);
        let der = master.unseal(&sealed_rkey, &rkey_owner)?;
        black_box(PrivateKey::from_pkcs8_der(&der)?);
        Ok(())
    };
    let mut inter_unseal = || -> Result {
        let key = PrivateKey::from_pkcs8_der(&master.unseal(&sealed_inter, &inter_owner)?)?;
        black_box((key, Issuer::from_certificate(&ceremony.intermediate)?));
        Ok(())
    };
    // The RNG is shared by the closures below, one at a time.
    let rng = std::cell::RefCell::new(rng);
    let mut issue = || -> Result {
        let rng = &mut **rng.borrow_mut();
        let mailbox = Mailbox::parse(&reverse_alias)?;
        let cert = cert::recipient(&mailbox, &pooled_key.public_key(), &issuer, life, rng)?.sign(&inter_key, rng)?;
        black_box(cert.to_der()?);
        Ok(())
    };
    let mut seal = || -> Result {
        let rng = &mut **rng.borrow_mut();
        black_box(master.seal(&pooled_key.to_pkcs8_der()?, &rkey_owner, rng)?);
        Ok(())
    };
    let mut sign = || -> Result {
        let rng = &mut **rng.borrow_mut();
        let signer = Signer { cert: &rcert, key: &pooled_key, chain: &chain };
        black_box(smime::sign_entity(&entity, signer, b.now, rng)?);
        Ok(())
    };
    let mut encrypt = || -> Result {
        let rng = &mut **rng.borrow_mut();
        black_box(smime::encrypt_entity(&signed, &recipients, ContentCipher::default(), rng)?);
        Ok(())
    };
    let mut forward = || -> Result {
        let rng = &mut **rng.borrow_mut();
        b.forward(world, KNOWN, 3, rng).map(drop)
    };
    let mut next_sender = t.next_sender;
    let mut forward_new = || -> Result {
        let rng = &mut **rng.borrow_mut();
        b.forward_new(world, &mut next_sender, rng).map(drop)
    };
    let mut work: [(&'static str, bool, &mut dyn FnMut() -> Result); 10] = [
        ("MIME parse (mail-parser MessageParser)", true, &mut parse),
        ("store lookups: alias, mailbox, contact, account, profiles, cert", true, &mut lookups),
        ("active profile: root, intermediate, EE decoded from DER", true, &mut profile_decode),
        ("recipient identity: cert decoded, key unsealed + PKCS#8 read", true, &mut identity),
        ("issuance: intermediate key unsealed + read, issuer built", false, &mut inter_unseal),
        ("issuance: recipient cert built + signed (pooled key)", false, &mut issue),
        ("issuance: pooled key PKCS#8-encoded + sealed", false, &mut seal),
        ("S/MIME sign (smime::sign_entity, SignedData + chain)", true, &mut sign),
        ("S/MIME encrypt (smime::encrypt_entity, AES-256-CBC)", true, &mut encrypt),
        ("whole forward, known contact (engine.forward)", true, &mut forward),
    ];
    let zero = Rate { iterations: 0, elapsed: Duration::ZERO };
    let mut rates = vec![zero; work.len()];
    // The new-contact forward runs a fixed number of times: each one takes a pooled key.
    let mut forward_new_rate = zero;
    let round_time = cfg.per_cell / (2 * ROUNDS);
    for (_, _, f) in work.iter_mut() {
        f()?; // warm-up
    }
    for _ in 0..ROUNDS {
        for ((_, _, f), rate) in work.iter_mut().zip(rates.iter_mut()) {
            time_round(rate, round_time, 1, &mut **f)?;
        }
        time_n(&mut forward_new_rate, t.reserve / u64::from(ROUNDS), &mut forward_new)?;
    }
    if world.engine.pool().is_empty() {
        eprintln!("warning ({}): the key pool ran dry during the stage table", kind.name());
    }
    let (forward_known, stage_rates) = rates.split_last().ok_or("no stages")?;
    let list: Vec<Stage> = work
        .iter()
        .zip(stage_rates)
        .map(|((name, known, _), rate)| Stage { name, known: *known, rate: *rate })
        .collect();
    print_stages(kind, &list, *forward_known, forward_new_rate);
    Ok(())
}

fn print_stages(kind: Kind, list: &[Stage], known_total: Rate, new_total: Rate) {
    let us = |r: Rate| 1e6 / r.per_sec();
    let (known_us, new_us) = (us(known_total), us(new_total));
    println!(
        "\nTime per stage, {} (µs per message; share of the whole forward for a known / a new contact)",
        kind.name()
    );
    println!("{:<66} {:>10} {:>8} {:>8}", "stage", "µs", "known", "new");
    println!("{}", "-".repeat(66 + 10 + 8 + 8 + 3));
    let share = |v: f64, total: f64| format!("{:.1}%", 100.0 * v / total);
    let (mut sum_known, mut sum_new) = (0.0, 0.0);
    for s in list {
        let v = us(s.rate);
        sum_new += v;
        let k = if s.known {
            sum_known += v;
            share(v, known_us)
        } else {
            "-".into()
        };
        println!("{:<66} {v:>10.1} {k:>8} {:>8}", s.name, share(v, new_us));
    }
    println!("{}", "-".repeat(66 + 10 + 8 + 8 + 3));
    println!(
        "{:<66} {:>10.1} {:>8} {:>8}",
        "sum of the stages, known contact",
        sum_known,
        share(sum_known, known_us),
        ""
    );
    println!("{:<66} {:>10.1} {:>8} {:>8}", "sum of the stages, new contact", sum_new, "", share(sum_new, new_us));
    println!("{:<66} {known_us:>10.1} {:>8} {:>8}", "whole forward, known contact (measured)", "100%", "");
    println!("{:<66} {new_us:>10.1} {:>8} {:>8}", "whole forward, new contact, pooled key (measured)", "", "100%");
    println!(
        "{:<66} {:>10.1} {:>8} {:>8}",
        "rest, known contact: header rewrite, copies, ...",
        known_us - sum_known,
        share(known_us - sum_known, known_us),
        ""
    );
    println!(
        "{:<66} {:>10.1} {:>8} {:>8}",
        "rest, new contact: + contact, reverse alias, store inserts",
        new_us - sum_new,
        "",
        share(new_us - sum_new, new_us)
    );
    println!(
        "stages run outside the engine with its inputs (the same message, keys and certificates of the same profile),\n\
         \x20 in {ROUNDS} rounds interleaved with the two whole forwards; \"-\": not on a known contact's path. The rest is\n\
         \x20 what the stages do not cover (negative = noise)."
    );
}
