//! The forward pipeline: mail for an alias, rewritten, signed by the contact's recipient
//! certificate and encrypted to the owner's end-entity certificate.
//!
//! ```text
//! parse → find alias (disabled?) → loop? (drop) → contact + reverse alias (blocked?)
//!       → profile? ─ active ─→ rewrite headers and relay addresses, sign entity, encrypt → deliver
//!                 ├ none, strict → 550
//!                 └ none → rewrite headers and relay addresses → deliver plaintext
//! ```
//!
//! **Relay addresses.** Every address at a relay domain that the owner could see or answer,
//! other than the alias the mail was sent to, is replaced by a reverse alias of this alias
//! (another account's alias in `Reply-To` or `Cc` would otherwise receive the owner's reply
//! from their real address): in `From`, `To`, `Cc` and `Reply-To`, and in the entity itself,
//! where nested `message/rfc822` headers and text bodies show them. `Sender`, `Resent-*` and
//! `Disposition-Notification-To` are not kept at all. One message creates at most
//! [`Config::max_new_contacts`](crate::Config) contacts; addresses beyond that are removed.
//! Already encrypted mail (S/MIME enveloped/authEnveloped, PGP/MIME, inline PGP) keeps its body
//! untouched; only the outer headers are rewritten. With an active profile every failure is a
//! temporary reject, never plaintext.

use mail_parser::{HeaderValue, Message, MessageParser};
use pki_core::{
    UnixTime,
    cms::{ContentCipher, Signer},
    mime::{Kind, SmimeType},
    smime,
};
use rand_core::CryptoRng;

use crate::{
    address::Address,
    engine::{ActiveProfile, Engine, EngineError},
    headers::{self, FORWARD_ENCRYPTED_OUTER, FORWARD_KEEP},
    model::{Alias, Contact, Disposition},
    outcome::{Delivery, DropReason, Outcome, Reply},
    store::Store,
};

/// The SMTP envelope of a message.
#[derive(Clone, Debug)]
pub struct Envelope {
    /// `MAIL FROM`; `None` for the null sender `<>`.
    pub mail_from: Option<Address>,
    /// The one `RCPT TO` this pipeline handles.
    pub rcpt: Address,
    /// Who the client authenticated as with SMTP AUTH on the submission listener, if it did.
    pub auth: Option<Submitter>,
}

/// A client that authenticated on the submission listener with an app password: the account
/// and the (verified) mailbox the password belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitter {
    /// The account.
    pub account: crate::model::AccountId,
    /// The mailbox.
    pub mailbox: Address,
}

impl Envelope {
    /// An envelope without SMTP AUTH.
    pub fn new(mail_from: Option<Address>, rcpt: Address) -> Self {
        Envelope { mail_from, rcpt, auth: None }
    }
}

/// The header the relay adds to everything it forwards; finding it again means a loop.
pub const LOOP_HEADER: &str = "X-Mailrelay-Loop";
/// The header that records the original sender of a forwarded message.
pub const ORIGINAL_FROM_HEADER: &str = "X-Mailrelay-Original-From";

/// More Received fields than this is a loop (RFC 5321 §6.3 suggests counting hops).
const MAX_HOPS: usize = 50;

impl<S: Store> Engine<S> {
    /// Runs the forward pipeline for one recipient (an alias).
    ///
    /// The message is copied; [`forward_to`](Self::forward_to) takes it as a `Vec` and works in it.
    pub async fn forward<R: CryptoRng + ?Sized>(
        &self,
        data: &[u8],
        env: &Envelope,
        now: UnixTime,
        rng: &mut R,
    ) -> Outcome {
        match self.store.alias_by_address(&env.rcpt.normalized()).await {
            Ok(Some(alias)) => self.forward_to(&alias, data.to_vec(), env, now, rng).await,
            Ok(None) => Outcome::Reject(Reply::NO_SUCH_USER),
            Err(e) => Outcome::Defer(EngineError::from(e).defer_reason()),
        }
    }

    /// Runs the forward pipeline for `alias`, found at `RCPT` time (no second lookup).
    ///
    /// Given the message as a `Vec`, the pipeline works in it: the entity is cut out where it
    /// lies, then signed, encrypted and base64-encoded in place, so a message costs about 1.4
    /// times its size while it is forwarded, not one copy per step.
    pub async fn forward_to<R: CryptoRng + ?Sized>(
        &self,
        alias: &Alias,
        data: Vec<u8>,
        env: &Envelope,
        now: UnixTime,
        rng: &mut R,
    ) -> Outcome {
        match self.forward_inner(alias, data, env, now, rng).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Defer(e.defer_reason()),
        }
    }

    async fn forward_inner<R: CryptoRng + ?Sized>(
        &self,
        alias: &Alias,
        mut data: Vec<u8>,
        env: &Envelope,
        now: UnixTime,
        rng: &mut R,
    ) -> Result<Outcome, EngineError> {
        if !alias.enabled {
            // Refused exactly like an alias that does not exist.
            return Ok(disposition(alias.when_disabled, DropReason::AliasDisabled, Reply::NO_SUCH_USER));
        }
        // The header block only: bodies are not decoded (an attachment would cost its size
        // again), and the entity is cut out of `data` below by byte offsets.
        let Some(msg) = MessageParser::default().parse_headers(&data).filter(|m| !m.headers().is_empty()) else {
            return Ok(Outcome::Reject(Reply::UNPARSEABLE));
        };
        let Some(mailbox) = self.store.mailbox(alias.mailbox).await? else {
            return Err(EngineError::Inconsistent("alias without its mailbox"));
        };
        // A message that already went through this relay is accepted and dropped. Mail from the
        // owner's own address is forwarded like anyone's: answering it differently would tell a
        // guesser which address owns the alias.
        if self.is_loop(&msg) {
            return Ok(Outcome::Drop(DropReason::Loop));
        }
        let Some((sender, name)) = sender_of(&msg, env) else {
            return Ok(Outcome::Reject(Reply::UNPARSEABLE));
        };
        let mut budget = NewContacts { left: self.config.max_new_contacts, now, sender_done: false };
        let Some(contact) = self.contact_within(alias, &sender, name.as_deref(), &mut budget, rng).await? else {
            return Err(EngineError::Inconsistent("no room for the sender's contact"));
        };
        budget.sender_done = true;
        if let Some(d) = contact.blocked {
            return Ok(disposition(d, DropReason::ContactBlocked, Reply::BLOCKED));
        }
        let account =
            self.store.account(alias.account).await?.ok_or(EngineError::Inconsistent("alias without account"))?;
        let active = self.active_profile(alias.account).await?;
        let body_start = headers::body_start(&msg, &data);
        let already_encrypted = is_encrypted(&msg, &data, body_start);
        let ctx = Rewrite { msg: &msg, raw: &data, alias, contact: &contact };
        let (outer, encrypted) = match (&active, already_encrypted) {
            (_, true) => (self.outer_headers(&ctx, FORWARD_KEEP, &mut budget, rng).await?, true),
            (Some(_), false) => (self.outer_headers(&ctx, FORWARD_ENCRYPTED_OUTER, &mut budget, rng).await?, true),
            (None, false) if account.strict => return Ok(Outcome::Reject(Reply::STRICT_NO_PROFILE)),
            (None, false) => (self.outer_headers(&ctx, FORWARD_KEEP, &mut budget, rng).await?, false),
        };
        let entity_head = entity_head(&msg, &data);
        drop(msg);
        // The entity: its Content-* fields in place of the header block, the body where it is.
        data.splice(..body_start, entity_head);
        let mut entity = data;
        // Encrypted content cannot be read, so it cannot be rewritten: it passes as it is.
        if !already_encrypted {
            entity = self.rewrite_relay_addresses(alias, entity, &mut budget, rng).await?;
        }
        match (&active, already_encrypted) {
            (Some(active), false) => self.protect(&mut entity, alias.account, active, &contact, now, rng).await?,
            // SMTP carries CRLF lines: bare LFs of a stored or LF-only input become CRLF.
            _ => pki_core::mime::canonicalize_in_place(&mut entity),
        }
        entity.splice(0..0, outer);
        Ok(Outcome::Deliver(Delivery {
            mail_from: contact.reverse_alias.clone(),
            rcpt: mailbox.address,
            data: entity,
            encrypted,
            account: alias.account,
            alias: alias.id,
            contact: Some(contact.id),
        }))
    }

    /// Signs the entity with the contact's recipient certificate (chain included, so the
    /// owner's client learns it) and encrypts it to the owner's end-entity certificate.
    async fn protect<R: CryptoRng + ?Sized>(
        &self,
        entity: &mut Vec<u8>,
        account: crate::model::AccountId,
        active: &ActiveProfile,
        contact: &Contact,
        now: UnixTime,
        rng: &mut R,
    ) -> Result<(), EngineError> {
        let (cert, key) = self.recipient_identity(account, active, contact, now, rng).await?;
        let chain = [active.intermediate.clone()];
        let signer = Signer { cert: &cert, key: &key, chain: &chain };
        smime::sign_entity_in_place(entity, signer, now, rng)?;
        let recipients = [active.end_entity.clone()];
        Ok(smime::encrypt_entity_in_place(entity, &recipients, ContentCipher::default(), rng)?)
    }

    /// Did this message already pass through this relay (its loop header), or through too
    /// many hops? Nothing about the sender counts: the same answer for every sender.
    fn is_loop(&self, msg: &Message<'_>) -> bool {
        let ours = msg.headers_raw().any(|(name, value)| {
            name.eq_ignore_ascii_case(LOOP_HEADER) && value.trim().eq_ignore_ascii_case(&self.config.relay_id)
        });
        let hops = msg.headers_raw().filter(|(name, _)| name.eq_ignore_ascii_case("received")).count();
        ours || hops > MAX_HOPS
    }

    /// The contact for `external` at `alias`, if it exists or `budget` allows a new one.
    async fn contact_within<R: CryptoRng + ?Sized>(
        &self,
        alias: &Alias,
        external: &Address,
        name: Option<&str>,
        budget: &mut NewContacts,
        rng: &mut R,
    ) -> Result<Option<Contact>, EngineError> {
        if let Some(c) = self.store.contact_for(alias.id, &external.normalized()).await? {
            return Ok(Some(c));
        }
        if budget.left == 0 {
            return Ok(None);
        }
        budget.left -= 1;
        let first = !budget.sender_done;
        match self.contact_at(alias, external, name, budget.now, rng).await {
            Ok(c) => Ok(Some(c)),
            // Over the account's rate: a new sender waits (451); other new addresses go.
            Err(EngineError::RateLimited) if !first => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// What a relay address other than the alias becomes: the reverse alias it already is (of a
    /// contact of this alias), or the reverse alias of a new contact for it; `None` if the
    /// budget is spent.
    async fn relay_address_replacement<R: CryptoRng + ?Sized>(
        &self,
        alias: &Alias,
        addr: &Address,
        budget: &mut NewContacts,
        rng: &mut R,
    ) -> Result<Option<Contact>, EngineError> {
        if let Some(c) = self.store.contact_by_reverse_alias(&addr.normalized()).await?
            && c.alias == alias.id
        {
            return Ok(Some(c));
        }
        self.contact_within(alias, addr, None, budget, rng).await
    }

    /// Replaces every address at a relay domain in the entity (nested message headers, text
    /// bodies), other than the alias, with a reverse alias of this alias.
    async fn rewrite_relay_addresses<R: CryptoRng + ?Sized>(
        &self,
        alias: &Alias,
        entity: Vec<u8>,
        budget: &mut NewContacts,
        rng: &mut R,
    ) -> Result<Vec<u8>, EngineError> {
        let found = crate::address::find_at_domains(&entity, &self.config.domains);
        if found.iter().all(|(_, a)| a.normalized() == alias.address.normalized()) {
            return Ok(entity);
        }
        let mut out = Vec::with_capacity(entity.len() + 64);
        let mut last = 0;
        for (range, addr) in found {
            if addr.normalized() == alias.address.normalized() {
                continue;
            }
            out.extend_from_slice(&entity[last..range.start]);
            match self.relay_address_replacement(alias, &addr, budget, rng).await? {
                Some(c) => out.extend_from_slice(c.reverse_alias.as_str().as_bytes()),
                None => out.extend_from_slice(REMOVED_ADDRESS.as_bytes()),
            }
            last = range.end;
        }
        out.extend_from_slice(&entity[last..]);
        Ok(out)
    }

    /// The rewritten top-level header block (without the entity's Content-* fields).
    async fn outer_headers<R: CryptoRng + ?Sized>(
        &self,
        ctx: &Rewrite<'_>,
        keep: &[&str],
        budget: &mut NewContacts,
        rng: &mut R,
    ) -> Result<Vec<u8>, EngineError> {
        let mut out = Vec::with_capacity(1024);
        let sender_text = self.format_name(ctx.contact.display_name.as_deref(), &ctx.contact.external);
        headers::push_field(
            &mut out,
            "From",
            &headers::mailbox(Some(&sender_text), ctx.contact.reverse_alias.as_str()),
        );
        for (field, name) in [(ctx.msg.to(), "To"), (ctx.msg.cc(), "Cc"), (ctx.msg.reply_to(), "Reply-To")] {
            if let Some(list) = field {
                let rewritten = self.rewrite_list(ctx.alias, list, budget, rng).await?;
                if !rewritten.is_empty() {
                    headers::push_field(&mut out, name, &rewritten.join(",\r\n "));
                }
            }
        }
        if ctx.msg.to().is_none() {
            headers::push_field(&mut out, "To", &format!("<{}>", ctx.alias.address.as_str()));
        }
        let mut has_mime_version = false;
        for f in headers::raw_fields(ctx.msg, ctx.raw) {
            if !keep.contains(&f.name.as_str()) {
                continue;
            }
            has_mime_version |= f.name == "mime-version";
            // The owner's message identifiers that replies hid (crate::msgid) come back, so
            // that the owner's client threads the answer under its own message.
            if matches!(f.name.as_str(), "in-reply-to" | "references") {
                let value = headers::field_value(f.bytes);
                let mut revealed = false;
                let mapped = crate::msgid::map_ids(&value, |id| {
                    let r = self.ids.reveal(id, &self.config.domains);
                    revealed |= r.is_some();
                    r
                });
                if revealed {
                    let name = if f.name == "references" { "References" } else { "In-Reply-To" };
                    headers::push_field(&mut out, name, &mapped);
                    continue;
                }
            }
            headers::push_raw(&mut out, f.bytes);
        }
        if !has_mime_version {
            headers::push_field(&mut out, "MIME-Version", "1.0");
        }
        if !self.config.domains.contains(ctx.contact.external.domain()) {
            headers::push_field(&mut out, ORIGINAL_FROM_HEADER, &format!("<{}>", ctx.contact.external.as_str()));
        }
        headers::push_field(&mut out, LOOP_HEADER, &self.config.relay_id);
        Ok(out)
    }

    /// Rewrites an address list: the alias stays, every other address (relay addresses
    /// included) becomes its contact's reverse alias (the contact is created if new, within the
    /// budget; beyond it the address is removed).
    async fn rewrite_list<R: CryptoRng + ?Sized>(
        &self,
        alias: &Alias,
        list: &mail_parser::Address<'_>,
        budget: &mut NewContacts,
        rng: &mut R,
    ) -> Result<Vec<String>, EngineError> {
        let mut out = Vec::new();
        for addr in list.iter() {
            let Some(Ok(a)) = addr.address.as_deref().map(Address::parse) else { continue };
            let name = addr.name.as_deref();
            if a.normalized() == alias.address.normalized() {
                out.push(headers::mailbox(name, a.as_str()));
                continue;
            }
            let contact = if self.config.domains.contains(a.domain()) {
                self.relay_address_replacement(alias, &a, budget, rng).await?
            } else {
                self.contact_within(alias, &a, name, budget, rng).await?
            };
            if let Some(contact) = contact {
                out.push(headers::mailbox(Some(&self.format_name(name, &a)), contact.reverse_alias.as_str()));
            }
        }
        Ok(out)
    }

    /// `Name (sender@domain)`, or just the address; a relay address is never shown (only the
    /// name, or nothing).
    fn format_name(&self, name: Option<&str>, addr: &Address) -> String {
        let name = name.map(str::trim).filter(|n| {
            !n.is_empty()
                && !n.eq_ignore_ascii_case(addr.as_str())
                && crate::address::find_at_domains(n.as_bytes(), &self.config.domains).is_empty()
        });
        if self.config.domains.contains(addr.domain()) {
            return name.unwrap_or("").to_owned();
        }
        match name {
            Some(n) => format!("{n} ({})", addr.as_str()),
            None => addr.as_str().to_owned(),
        }
    }
}

/// What a relay address beyond the budget of new contacts becomes in the entity: an address
/// at the reserved `.invalid` domain (RFC 2606), which nothing can deliver to.
pub const REMOVED_ADDRESS: &str = "address-removed@relay.invalid";

/// How many more contacts this message may create, and when (for the account's rate).
struct NewContacts {
    left: usize,
    now: UnixTime,
    /// The sender's contact (the first one looked up) has been found or made.
    sender_done: bool,
}

struct Rewrite<'a> {
    msg: &'a Message<'a>,
    raw: &'a [u8],
    alias: &'a Alias,
    contact: &'a Contact,
}

fn disposition(d: Disposition, reason: DropReason, reject: Reply) -> Outcome {
    match d {
        Disposition::Drop => Outcome::Drop(reason),
        Disposition::Reject => Outcome::Reject(reject),
    }
}

/// The sender: the first From address, or else the envelope sender.
fn sender_of(msg: &Message<'_>, env: &Envelope) -> Option<(Address, Option<String>)> {
    let from = msg.from().and_then(|f| f.first()).and_then(|a| {
        let parsed = Address::parse(a.address.as_deref()?).ok()?;
        Some((parsed, a.name.as_deref().map(str::to_owned)))
    });
    from.or_else(|| env.mail_from.clone().map(|a| (a, None)))
}

/// The header block of the original MIME entity: the Content-* fields (or a text/plain
/// default) and the blank line.
fn entity_head(msg: &Message<'_>, raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let fields = headers::raw_fields(msg, raw);
    let mut has_type = false;
    for f in fields.iter().filter(|f| headers::is_content_field(&f.name)) {
        has_type |= f.name == "content-type";
        headers::push_raw(&mut out, f.bytes);
    }
    if !has_type {
        headers::push_field(&mut out, "Content-Type", "text/plain; charset=us-ascii");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// S/MIME enveloped or authEnveloped, PGP/MIME, or inline PGP.
fn is_encrypted(msg: &Message<'_>, raw: &[u8], body_start: usize) -> bool {
    let mut head = Vec::new();
    for f in headers::raw_fields(msg, raw).iter().filter(|f| f.name == "content-type") {
        headers::push_raw(&mut head, f.bytes);
    }
    head.extend_from_slice(b"\r\n");
    let body = raw.get(body_start..).unwrap_or_default();
    match pki_core::mime::classify(&head) {
        Kind::Pkcs7Mime(Some(SmimeType::EnvelopedData | SmimeType::AuthEnvelopedData)) | Kind::PgpMime => true,
        Kind::Pkcs7Mime(None) => {
            // Without smime-type, the CMS content type decides (Outlook omits the parameter).
            let mut entity = entity_head(msg, raw);
            entity.extend_from_slice(body);
            pki_core::mime::parse_pkcs7_mime(&entity)
                .ok()
                .and_then(|p| pki_core::cms::content_type(&p.der).ok())
                .is_some_and(|t| t.to_string() != "1.2.840.113549.1.7.2")
        }
        _ => is_inline_pgp(msg, body),
    }
}

/// A text/plain message whose text starts with an armored PGP message. Read from the raw body,
/// decoding only its start when it is base64.
fn is_inline_pgp(msg: &Message<'_>, body: &[u8]) -> bool {
    const ARMOR: &[u8] = b"-----BEGIN PGP MESSAGE-----";
    let mut base64 = false;
    let root_is_text = msg.root_part().headers.iter().all(|h| match (&h.name, &h.value) {
        (mail_parser::HeaderName::ContentType, HeaderValue::ContentType(ct)) => {
            ct.c_type.eq_ignore_ascii_case("text")
                && ct.c_subtype.as_deref().is_none_or(|s| s.eq_ignore_ascii_case("plain"))
        }
        (mail_parser::HeaderName::ContentTransferEncoding, HeaderValue::Text(cte)) => {
            base64 = cte.trim().eq_ignore_ascii_case("base64");
            true
        }
        _ => true,
    });
    if !root_is_text {
        return false;
    }
    if !base64 {
        return body.trim_ascii_start().starts_with(ARMOR);
    }
    let chars: Vec<u8> = body.iter().copied().filter(|b| !b.is_ascii_whitespace()).take(64).collect();
    let mut decoded = [0u8; 48];
    <base64ct::Base64 as base64ct::Encoding>::decode(&chars, &mut decoded)
        .is_ok_and(|d| d.trim_ascii_start().starts_with(ARMOR))
}
