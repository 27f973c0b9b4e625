//! The SMTP [`Handler`] of the relay: RCPT checks against the store, and DATA run through the
//! engine's forward or reply pipeline and handed to the next hop before we answer.
//!
//! Every message gets one log line at info level and one count in `/metrics`
//! ([`Outcomes`]): its typed reason, the alias id and the contact id, never an address.
//!
//! What a sender can observe is the same whatever the secret behind it:
//! - an unknown alias and a disabled alias set to reject both get `550 5.1.1 no such user`;
//! - every refusal of mail to a reverse alias gets one reply ([`relay_engine::Reply::REPLY_REFUSED`]),
//!   and no sooner than [`REFUSAL_FLOOR`] after the data ended, so that its timing does not
//!   tell one reason from another (a forged sender from the owner's address, bad CBC padding
//!   from good);
//! - a next hop's refusal is relayed with its code and a generic text; its own words, which
//!   name the owner's provider, go to the owner's event log.
//!
//! The pipelines are CPU-bound (RSA, key generation): they run with
//! [`tokio::task::block_in_place`], so the runtime moves its other tasks to another thread
//! and the reactor stays responsive, and at most [`MAX_PIPELINES`] run at once.

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use pki_core::UnixTime;
use relay_engine::{
    Engine, Envelope, Outcome,
    address::{Address, RelayDomains},
    model::{Alias, Contact, Disposition, Event},
    store::Store,
};
use tokio::sync::Semaphore;

use crate::{
    app::{App, os_rng},
    delivery::{Client, HopError},
    outcomes::{Outcomes, Pipeline, Verdict},
    smtp::{Destination, Handler, Reply, SessionInfo},
    store::SqlStore,
};

/// Refusals of mail to a reverse alias are answered no sooner than this after the data ended.
pub const REFUSAL_FLOOR: Duration = Duration::from_millis(300);
/// Pipelines running at once (each is CPU-bound).
pub const MAX_PIPELINES: usize = 8;

/// The relay's handler.
pub struct RelayHandler {
    engine: Arc<Engine<SqlStore>>,
    next_hop: Arc<Client>,
    hostname: String,
    outcomes: Arc<Outcomes>,
    pipelines: Semaphore,
    refusal_floor: Duration,
}

impl RelayHandler {
    /// The handler of an assembled relay.
    pub fn new(app: &App) -> Self {
        RelayHandler {
            engine: app.engine.clone(),
            next_hop: app.next_hop.clone(),
            hostname: app.config.smtp.hostname.clone(),
            outcomes: app.outcomes.clone(),
            pipelines: Semaphore::new(MAX_PIPELINES),
            refusal_floor: REFUSAL_FLOOR,
        }
    }
}

/// What a recipient is.
enum Target {
    Alias(Alias),
    ReverseAlias(Contact),
}

impl Target {
    /// The delivery destination: each alias and each contact is its own (the message is
    /// rewritten for it). Both pipelines work in the message and cost
    /// [`MemoryBudget::COST`](crate::smtp::MemoryBudget::COST) per octet (`cargo xtask bench
    /// memory`: a 16 MB forward 1.4 times its size, a 12 MB reply 1.5 times).
    fn destination(&self) -> Destination {
        match self {
            Target::Alias(alias) => Destination::new(format!("alias:{}", alias.id)),
            Target::ReverseAlias(contact) => Destination::new(format!("contact:{}", contact.id)),
        }
    }
}

fn now() -> UnixTime {
    UnixTime(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

impl RelayHandler {
    async fn target(&self, rcpt: &Address) -> Result<Option<Target>, relay_engine::EngineError> {
        let norm = rcpt.normalized();
        let store = self.engine.store();
        if let Some(alias) = store.alias_by_address(&norm).await? {
            return Ok(Some(Target::Alias(alias)));
        }
        if let Some(contact) = store.contact_by_reverse_alias(&norm).await? {
            return Ok(Some(Target::ReverseAlias(contact)));
        }
        Ok(None)
    }

    /// Runs a pipeline off the async workers (see the module documentation).
    async fn run_pipeline(&self, target: &Target, env: &Envelope, data: Vec<u8>) -> Outcome {
        let Ok(_permit) = self.pipelines.acquire().await else {
            return Outcome::Defer(relay_engine::DeferReason::Store);
        };
        let Ok(mut rng) = os_rng() else { return Outcome::Defer(relay_engine::DeferReason::Crypto) };
        let engine = &self.engine;
        let work = async {
            match target {
                Target::Alias(alias) => engine.forward_to(alias, data, env, now(), &mut rng).await,
                Target::ReverseAlias(contact) => engine.reply_to(contact, data, env, now(), &mut rng).await.0,
            }
        };
        let handle = tokio::runtime::Handle::current();
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            tokio::task::block_in_place(|| handle.block_on(work))
        } else {
            work.await
        }
    }

    async fn deliver_outcome(
        &self,
        pipeline: Pipeline,
        outcome: Outcome,
        shown: &Address,
        started: Instant,
    ) -> (Verdict, Result<(), Reply>) {
        match outcome {
            Outcome::Deliver(d) => {
                let reason = if pipeline == Pipeline::Reply {
                    "sent"
                } else if d.encrypted {
                    "encrypted"
                } else {
                    "plaintext"
                };
                match self.next_hop.deliver(d.mail_from.as_str(), d.rcpt.as_str(), &d.data).await {
                    Ok(()) => (Verdict::Delivered(reason), Ok(())),
                    Err(e) => {
                        let (reply, code, kind) = hop_reply(&e);
                        // The next hop's own words go to the owner's log, with the owner's address
                        // replaced; the sender gets the code and a generic text.
                        let real = if pipeline == Pipeline::Forward { d.rcpt.as_str() } else { "" };
                        let text = replace_ignore_case(hop_text(&e), real, shown.as_str());
                        let event = Event::NextHopRefused {
                            account: d.account,
                            alias: d.alias,
                            contact: d.contact,
                            code,
                            text,
                            at: now(),
                        };
                        if let Err(e) = self.engine.store().log(event).await {
                            tracing::warn!("cannot record a next-hop refusal in the owner's log: {e}");
                        }
                        (kind, Err(reply))
                    }
                }
            }
            Outcome::Drop(reason) => (Verdict::Dropped(drop_reason(reason)), Ok(())),
            Outcome::Refuse(reason) => {
                // One answer for every reason, and not before the floor: no timing oracle.
                tokio::time::sleep_until((started + self.refusal_floor).into()).await;
                (Verdict::Refused(reason.as_str()), Err(Reply::from(relay_engine::Reply::REPLY_REFUSED)))
            }
            Outcome::Defer(reason) => (Verdict::Deferred(reason.as_str()), Err(Reply::TEMPORARY)),
            Outcome::Reject(r) => {
                let reason = reject_reason(&r);
                let verdict = if r.is_temporary() { Verdict::Deferred(reason) } else { Verdict::Refused(reason) };
                (verdict, Err(Reply::new(r.code, Some(r.enhanced), r.text)))
            }
        }
    }
}

fn drop_reason(r: relay_engine::DropReason) -> &'static str {
    match r {
        relay_engine::DropReason::Loop => "loop",
        relay_engine::DropReason::AliasDisabled => "alias_disabled",
        relay_engine::DropReason::ContactBlocked => "contact_blocked",
    }
}

fn reject_reason(r: &relay_engine::Reply) -> &'static str {
    use relay_engine::Reply as R;
    [
        (R::NO_SUCH_USER, "no_such_user"),
        (R::BLOCKED, "contact_blocked"),
        (R::UNPARSEABLE, "unparseable"),
        (R::STRICT_NO_PROFILE, "strict_no_profile"),
        (R::TEMPORARY, "temporary"),
    ]
    .into_iter()
    .find(|(known, _)| known == r)
    .map_or("other", |(_, name)| name)
}

impl Handler for RelayHandler {
    fn domains(&self) -> &RelayDomains {
        &self.engine.config().domains
    }

    fn hostname(&self) -> &str {
        &self.hostname
    }

    async fn check_rcpt(&self, _mail_from: Option<&Address>, rcpt: &Address) -> Result<Destination, Reply> {
        if !self.domains().contains(rcpt.domain()) {
            return Err(Reply::RELAY_DENIED);
        }
        match self.target(rcpt).await {
            // A disabled alias that says so is refused here already, before any data is sent,
            // with the very reply an unknown alias gets.
            Ok(Some(Target::Alias(alias))) if !alias.enabled && alias.when_disabled == Disposition::Reject => {
                Err(Reply::UNKNOWN_USER)
            }
            Ok(Some(target)) => Ok(target.destination()),
            Ok(None) => Err(Reply::UNKNOWN_USER),
            Err(e) => {
                tracing::info!(reason = e.defer_reason().as_str(), "RCPT deferred");
                Err(Reply::TEMPORARY)
            }
        }
    }

    async fn deliver(&self, mail_from: Option<&Address>, rcpts: &[Address], data: &[u8]) -> Result<(), Reply> {
        self.deliver_with(&SessionInfo::default(), mail_from, rcpts, data.to_vec()).await
    }

    async fn authenticate(&self, user: &str, password: &str) -> Result<Option<relay_engine::Submitter>, ()> {
        let candidates = match Address::parse(user.trim()) {
            Ok(address) => self.engine.store().app_password_candidates(&address.normalized()).await.map_err(|e| {
                tracing::info!(reason = "store", "AUTH deferred: {e}");
            })?,
            Err(_) => Vec::new(),
        };
        let password = password.to_owned();
        // argon2 is CPU-bound: off the async workers. Every sign-in costs the same number of
        // verifications, whether the user is unknown, has one password or several.
        let found = tokio::task::spawn_blocking(move || {
            use crate::app_password::{find_match, verify};
            find_match(&candidates, |c| c.hash.as_str(), &password, verify).cloned()
        })
        .await
        .map_err(|_| ())?;
        let Some(found) = found else { return Ok(None) };
        if let Err(e) = self.engine.store().touch_app_password(found.id, now()).await {
            tracing::warn!("cannot record an app password's use: {e}");
        }
        Ok(Some(relay_engine::Submitter { account: found.account, mailbox: found.mailbox }))
    }

    async fn deliver_with(
        &self,
        session: &SessionInfo,
        mail_from: Option<&Address>,
        rcpts: &[Address],
        data: Vec<u8>,
    ) -> Result<(), Reply> {
        let started = Instant::now();
        let id = self.outcomes.message_id();
        let rcpt = rcpts.first().ok_or(Reply::NO_VALID_RECIPIENTS)?;
        let target = match self.target(rcpt).await {
            Ok(Some(t)) => t,
            Ok(None) => return Err(Reply::UNKNOWN_USER),
            Err(e) => {
                self.outcomes.record(id, Pipeline::Forward, Verdict::Deferred(e.defer_reason().as_str()), None, None);
                return Err(Reply::TEMPORARY);
            }
        };
        let (pipeline, alias, contact) = match &target {
            Target::Alias(a) => (Pipeline::Forward, Some(a.id.0), None),
            Target::ReverseAlias(c) => (Pipeline::Reply, Some(c.alias.0), Some(c.id.0)),
        };
        let mut env = Envelope::new(mail_from.cloned(), rcpt.clone());
        env.auth = session.submitter.clone();
        let outcome = self.run_pipeline(&target, &env, data).await;
        let contact = match &outcome {
            Outcome::Deliver(d) => d.contact.map(|c| c.0).or(contact),
            _ => contact,
        };
        let (verdict, answer) = self.deliver_outcome(pipeline, outcome, rcpt, started).await;
        self.outcomes.record(id, pipeline, verdict, alias, contact);
        answer
    }
}

fn hop_text(e: &HopError) -> &str {
    match e {
        HopError::Temporary(t) | HopError::Permanent(t) => t,
    }
}

/// The next hop's verdict as our reply: its code and enhanced code when it gave them, and a
/// generic text (its own text names the provider). Also the code, and the verdict to count.
fn hop_reply(e: &HopError) -> (Reply, u16, Verdict) {
    let (temporary, text) = match e {
        HopError::Temporary(t) => (true, t.as_str()),
        HopError::Permanent(t) => (false, t.as_str()),
    };
    let text = text.strip_prefix("next hop: ").unwrap_or(text);
    let (code, enhanced) = parse_codes(text);
    let class = if temporary { 4 } else { 5 };
    let code = code.filter(|c| c / 100 == class).unwrap_or(if temporary { 451 } else { 550 });
    let enhanced =
        enhanced.filter(|(c, _, _)| u16::from(*c) == class).unwrap_or(if temporary { (4, 4, 0) } else { (5, 0, 0) });
    let (words, verdict) = if temporary {
        ("the next hop could not take the message now; try again later", Verdict::Deferred("next_hop"))
    } else {
        ("the next hop refused the message", Verdict::Refused("next_hop"))
    };
    (Reply::new(code, Some(enhanced), words), code, verdict)
}

/// `550 5.2.2 …` → (550, (5, 2, 2)).
fn parse_codes(text: &str) -> (Option<u16>, Option<(u8, u16, u16)>) {
    let mut words = text.split_whitespace();
    let code =
        words.next().filter(|w| w.len() == 3).and_then(|w| w.parse::<u16>().ok()).filter(|c| (200..600).contains(c));
    let enhanced = code.and_then(|_| words.next()).and_then(|w| {
        let mut p = w.split('.');
        let (a, b, c) = (p.next()?.parse().ok()?, p.next()?.parse().ok()?, p.next()?.parse().ok()?);
        p.next().is_none().then_some((a, b, c))
    });
    (code, enhanced)
}

fn replace_ignore_case(text: &str, needle: &str, with: &str) -> String {
    if needle.is_empty() {
        return text.to_owned();
    }
    let lower = text.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(pos) = lower[i..].find(&needle) {
        out.push_str(&text[i..i + pos]);
        out.push_str(with);
        i += pos + needle.len();
    }
    out.push_str(&text[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_hops_words_never_reach_the_sender() {
        let e = HopError::Permanent("550 5.2.2 <Alice@Real.Example>: mailbox full at mx.provider.example".into());
        let (r, code, verdict) = hop_reply(&e);
        assert_eq!((r.code, r.enhanced, code), (550, Some((5, 2, 2)), 550));
        assert_eq!(r.text, "the next hop refused the message");
        assert_eq!(verdict, Verdict::Refused("next_hop"));
        let (r, _, verdict) = hop_reply(&HopError::Temporary("connection refused".into()));
        assert_eq!((r.code, r.enhanced), (451, Some((4, 4, 0))));
        assert_eq!(verdict, Verdict::Deferred("next_hop"));
        let (r, _, _) = hop_reply(&HopError::Temporary("next hop: 421 4.7.0 provider.example busy".into()));
        assert_eq!((r.code, r.enhanced), (421, Some((4, 7, 0))));
        assert!(!r.text.contains("provider"));
        // A code of the wrong class is not trusted.
        let (r, _, _) = hop_reply(&HopError::Temporary("250 ok?".into()));
        assert_eq!(r.code, 451);
        assert_eq!(
            replace_ignore_case("<Alice@Real.Example>: full", "alice@real.example", "q@pportal.io"),
            "<q@pportal.io>: full"
        );
    }
}
