//! The SMTP [`Handler`] of the relay: RCPT checks against the store, and DATA run through the
//! engine's forward or reply pipeline and handed to the next hop before we answer.

use std::{sync::Arc, time::SystemTime};

use pki_core::UnixTime;
use relay_engine::{
    Engine, Envelope, Outcome,
    address::{Address, RelayDomains},
    model::{Alias, ContactId, Disposition},
    store::Store,
};

use crate::{
    app::{App, os_rng},
    delivery::{HopError, Smarthost},
    smtp::{Destination, Handler, Reply},
    store::SqlStore,
};

/// The relay's handler.
pub struct RelayHandler {
    engine: Arc<Engine<SqlStore>>,
    next_hop: Arc<Smarthost>,
    hostname: String,
}

impl RelayHandler {
    /// The handler of an assembled relay.
    pub fn new(app: &App) -> Self {
        RelayHandler {
            engine: app.engine.clone(),
            next_hop: app.next_hop.clone(),
            hostname: app.config.smtp.hostname.clone(),
        }
    }
}

/// What a recipient is.
enum Target {
    Alias(Alias),
    ReverseAlias(ContactId),
}

impl Target {
    /// The delivery destination: each alias and each contact is its own (the message is
    /// rewritten for it).
    fn destination(&self) -> Destination {
        match self {
            Target::Alias(alias) => Destination::new(format!("alias:{}", alias.id)),
            Target::ReverseAlias(contact) => Destination::new(format!("contact:{contact}")),
        }
    }
}

fn now() -> UnixTime {
    UnixTime(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

impl RelayHandler {
    async fn target(&self, rcpt: &Address) -> Result<Option<Target>, Reply> {
        let norm = rcpt.normalized();
        let store = self.engine.store();
        if let Some(alias) = store.alias_by_address(&norm).await.map_err(|_| Reply::TEMPORARY)? {
            return Ok(Some(Target::Alias(alias)));
        }
        if let Some(contact) = store.contact_by_reverse_alias(&norm).await.map_err(|_| Reply::TEMPORARY)? {
            return Ok(Some(Target::ReverseAlias(contact.id)));
        }
        Ok(None)
    }
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
        match self.target(rcpt).await? {
            // A disabled alias that says so is refused here already, before any data is sent
            // (the engine refuses it again at DATA, should it change in between).
            Some(Target::Alias(alias)) if !alias.enabled && alias.when_disabled == Disposition::Reject => {
                Err(Reply::from(relay_engine::Reply::ALIAS_DISABLED))
            }
            Some(target) => Ok(target.destination()),
            None => Err(Reply::UNKNOWN_USER),
        }
    }

    async fn deliver(&self, mail_from: Option<&Address>, rcpts: &[Address], data: &[u8]) -> Result<(), Reply> {
        let rcpt = rcpts.first().ok_or(Reply::NO_VALID_RECIPIENTS)?;
        let Some(target) = self.target(rcpt).await? else { return Err(Reply::UNKNOWN_USER) };
        let env = Envelope { mail_from: mail_from.cloned(), rcpt: rcpt.clone() };
        let mut rng = os_rng().map_err(|_| Reply::TEMPORARY)?;
        let outcome = match target {
            Target::Alias(_) => self.engine.forward(data, &env, now(), &mut rng).await,
            Target::ReverseAlias(_) => self.engine.reply(data, &env, now(), &mut rng).await,
        };
        match outcome {
            Outcome::Deliver(d) => {
                tracing::debug!(encrypted = d.encrypted, "handing over to the next hop");
                self.next_hop
                    .deliver(d.mail_from.as_str(), d.rcpt.as_str(), &d.data)
                    .await
                    .map_err(|e| hop_reply(&e, d.rcpt.as_str(), rcpt.as_str()))
            }
            Outcome::Drop(reason) => {
                tracing::info!(?reason, "accepted and dropped");
                Ok(())
            }
            Outcome::Reject(r) => Err(Reply::new(r.code, Some(r.enhanced), r.text)),
        }
    }
}

/// The next hop's verdict as our reply. Its text may name the real mailbox (`<alice@...>:
/// mailbox full`); that is replaced by the address the sender used before it goes back.
fn hop_reply(e: &HopError, real: &str, shown: &str) -> Reply {
    let (code, enhanced, text) = match e {
        HopError::Temporary(t) => (451, (4, 4, 0), t.as_str()),
        HopError::Permanent(t) => (550, (5, 0, 0), t.as_str()),
    };
    let clean = replace_ignore_case(text, real, shown);
    let clean = clean.strip_prefix("next hop: ").unwrap_or(&clean);
    Reply::new(code, Some(enhanced), format!("next hop: {clean}"))
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
    fn the_next_hops_text_never_carries_the_real_address() {
        let e = HopError::Permanent("550 5.2.2 <Alice@Real.Example>: mailbox full".into());
        let r = hop_reply(&e, "alice@real.example", "quiet.otter.42@pportal.io");
        assert_eq!(r.code, 550);
        assert_eq!(r.text, "next hop: 550 5.2.2 <quiet.otter.42@pportal.io>: mailbox full");
        assert_eq!(hop_reply(&HopError::Temporary("421 busy".into()), "a@b.c", "x@y.z").code, 451);
    }
}
