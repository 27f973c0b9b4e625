//! The reply pipeline: mail from the owner of an alias to a reverse alias, sent on to the
//! contact from the alias, with nothing left that would reveal the owner's real address.
//!
//! ```text
//! find contact → envelope or AUTH names a verified mailbox? → decrypt (any of the contact's
//! recipient certificates, under any profile) → proof (S/MIME signature by the owner, SMTP AUTH,
//! or the opt-in envelope check) → scrub (signature, key attachments, real addresses everywhere)
//! → headers (From = the alias and its own name; reverse aliases → real addresses; the owner's
//! message identifiers hidden) → reverse aliases in the text → real addresses → leak check → deliver
//! ```
//!
//! Every refusal is [`Outcome::Refuse`] with a [`RefusalReason`], answered with one reply
//! ([`Reply::REPLY_REFUSED`]) whatever the reason, so that a forger learns nothing (not whether
//! the address it tried is the owner's, not whether a ciphertext's padding was good). The reason
//! goes to the owner's event log.

use mail_parser::{Message, MessageParser};
use pki_core::{UnixTime, mime::Kind, smime};
use rand_core::CryptoRng;
use x509_cert::Certificate;

use crate::{
    address::Address,
    engine::{Engine, EngineError, hex},
    forward::Envelope,
    headers::{self, REPLY_KEEP},
    model::{Account, Alias, Contact, Event, Mailbox, ReplyAuth},
    outcome::{Delivery, Outcome, RefusalReason, Reply},
    scrub::{self, Scrub},
    seal::KeyOwner,
    store::Store,
};

/// How the sender proved to be the owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// The envelope sender and From are a verified mailbox of the account, and the account
    /// opted in to `reply_auth = "envelope"` (spoofable).
    VerifiedMailbox,
    /// SMTP AUTH on the submission listener, as a verified mailbox of the account.
    Submission,
    /// A valid S/MIME signature by one of the owner's end-entity certificates.
    Signature,
}

impl<S: Store> Engine<S> {
    /// Runs the reply pipeline for one recipient (a reverse alias).
    pub async fn reply<R: CryptoRng + ?Sized>(
        &self,
        data: &[u8],
        env: &Envelope,
        now: UnixTime,
        rng: &mut R,
    ) -> Outcome {
        self.reply_with_proof(data, env, now, rng).await.0
    }

    /// As [`Self::reply`], also saying how the sender proved to be the owner.
    pub async fn reply_with_proof<R: CryptoRng + ?Sized>(
        &self,
        data: &[u8],
        env: &Envelope,
        now: UnixTime,
        rng: &mut R,
    ) -> (Outcome, Option<Proof>) {
        match self.store.contact_by_reverse_alias(&env.rcpt.normalized()).await {
            Ok(Some(contact)) => self.reply_to(&contact, data.to_vec(), env, now, rng).await,
            Ok(None) => (Outcome::Reject(Reply::NO_SUCH_USER), None),
            Err(e) => (Outcome::Defer(EngineError::from(e).defer_reason()), None),
        }
    }

    /// Runs the reply pipeline for `contact`, found at `RCPT` time (no second lookup). A
    /// refusal is recorded in the owner's event log. The pipeline works in `data`: it is
    /// decrypted where it lies, and each later step drops what the one before made, so a reply
    /// is held at most twice.
    pub async fn reply_to<R: CryptoRng + ?Sized>(
        &self,
        contact: &Contact,
        data: Vec<u8>,
        env: &Envelope,
        now: UnixTime,
        rng: &mut R,
    ) -> (Outcome, Option<Proof>) {
        match self.reply_inner(contact, data, env, rng, now).await {
            Ok(Ok((delivery, proof))) => (Outcome::Deliver(delivery), Some(proof)),
            Ok(Err((reason, account))) => {
                let sender = env.mail_from.as_ref().map(|a| a.as_str().to_owned()).unwrap_or_default();
                let event = Event::ReplyRefused {
                    account,
                    contact: contact.id,
                    sender,
                    reason: reason.as_str().into(),
                    at: now,
                };
                match self.store.log(event).await {
                    Ok(()) => (Outcome::Refuse(reason), None),
                    Err(e) => (Outcome::Defer(EngineError::from(e).defer_reason()), None),
                }
            }
            Err(e) => (Outcome::Defer(e.defer_reason()), None),
        }
    }

    async fn reply_inner<R: CryptoRng + ?Sized>(
        &self,
        contact: &Contact,
        mut data: Vec<u8>,
        env: &Envelope,
        rng: &mut R,
        now: UnixTime,
    ) -> Result<Result<(Delivery, Proof), (RefusalReason, crate::model::AccountId)>, EngineError> {
        let alias = self.store.alias(contact.alias).await?.ok_or(EngineError::Inconsistent("contact without alias"))?;
        let account =
            self.store.account(alias.account).await?.ok_or(EngineError::Inconsistent("alias without account"))?;
        let refuse = |r: RefusalReason| Ok(Err((r, alias.account)));
        let verified: Vec<Mailbox> =
            self.store.mailboxes(alias.account).await?.into_iter().filter(|m| m.verified).collect();
        // The header fields are all that is read before decryption: the body is not decoded.
        let (submission, envelope, owner_domains) = {
            let Some(msg) = MessageParser::default().parse_headers(&data).filter(|m| !m.headers().is_empty()) else {
                return refuse(RefusalReason::BadMime);
            };
            let submission =
                env.auth.as_ref().is_some_and(|s| s.account == alias.account && is_verified(&s.mailbox, &verified))
                    && from_is_owner(&msg, &alias, &verified);
            (submission, envelope_names_owner(&msg, env, &verified), owner_id_domains(&msg, &verified))
        };
        // Refuse before work: a sender that names no verified mailbox (in the envelope and From,
        // or by SMTP AUTH) is refused before any decryption.
        if !submission && !envelope {
            return refuse(RefusalReason::Unauthorized);
        }
        match self.decrypt(&mut data, alias.account, contact, rng).await? {
            Decrypted::NoKey => return refuse(RefusalReason::Undecryptable),
            // The plaintext is about 3/4 of the base64 it was: the rest goes back now.
            Decrypted::Opened => data.shrink_to_fit(),
            Decrypted::Plain => {}
        }
        let (plain, opaque_signed_by_owner) = match self.unwrap_opaque(&data, alias.account, &verified, now).await? {
            Some((m, by_owner)) => (m, by_owner),
            None => (data, false),
        };
        let proof = if opaque_signed_by_owner || self.signed_by_owner(&plain, alias.account, &verified, now).await? {
            Proof::Signature
        } else if submission {
            Proof::Submission
        } else if account.reply_auth == ReplyAuth::Envelope {
            Proof::VerifiedMailbox
        } else {
            return refuse(RefusalReason::Unauthorized);
        };
        // Counted only now that the reply proved to be the owner's: a forger cannot spend it.
        if !self.replies.take(&alias.account, now.0.saturating_mul(1000)) {
            return Err(EngineError::RateLimited);
        }
        let real: Vec<String> = verified.iter().map(|m| m.address.as_str().to_owned()).collect();
        let real_refs: Vec<&str> = real.iter().map(String::as_str).collect();
        // What is finally sent is looked at for leaks below, once every step has run.
        let scrubbed = match scrub::rewrite_owned(plain, &Scrub { real: &real_refs, alias: alias.address.as_str() }) {
            Ok(s) => s.message,
            // The address sits where it cannot be removed (a binary attachment, a boundary).
            Err(
                scrub::ScrubError::AddressInBinary { .. }
                | scrub::ScrubError::Residual { .. }
                | scrub::ScrubError::BoundaryContainsAddress { .. },
            ) => return refuse(RefusalReason::WouldLeak),
            Err(_) => return refuse(RefusalReason::BadMime),
        };
        // Boundaries name the owner's client, Content-IDs its host: both are replaced.
        let relay_domain = self.config.domains.primary().as_str();
        let map_cid = |id: &str| {
            let owner = id.rsplit_once('@').is_some_and(|(_, d)| owner_domains.iter().any(|o| is_same_or_sub(d, o)));
            if owner { self.ids.hide(id, relay_domain) } else { None }
        };
        let mut fresh = || {
            let mut b = [0u8; 12];
            rng.fill_bytes(&mut b);
            format!("=_{}", hex(&b))
        };
        let anonymized = scrub::structure::anonymize(&scrubbed, &mut fresh, &map_cid);
        drop(scrubbed);
        let out = {
            let Some(clean) = MessageParser::default().parse_headers(&anonymized) else {
                return refuse(RefusalReason::BadMime);
            };
            let ctx = ReplyCtx { alias: &alias, contact, account: &account, verified: &verified };
            match self.reply_headers(&clean, &anonymized, &ctx, rng).await? {
                Ok(o) => o,
                Err(r) => return refuse(r),
            }
        };
        drop(anonymized);
        if real.iter().any(|r| !scrub::leaks(&out, r).is_empty()) {
            return refuse(RefusalReason::WouldLeak);
        }
        let delivery = Delivery {
            mail_from: alias.address.clone(),
            rcpt: contact.external.clone(),
            data: out,
            encrypted: false,
            account: alias.account,
            alias: alias.id,
            contact: Some(contact.id),
        };
        Ok(Ok((delivery, proof)))
    }

    /// Decrypts an S/MIME-encrypted reply in place with the contact's recipient keys (any
    /// profile). `data` is left alone when it is not encrypted.
    async fn decrypt<R: CryptoRng + ?Sized>(
        &self,
        data: &mut Vec<u8>,
        account: crate::model::AccountId,
        contact: &Contact,
        rng: &mut R,
    ) -> Result<Decrypted, EngineError> {
        let Ok(split) = pki_core::mime::split_message(data) else { return Ok(Decrypted::Plain) };
        match split.kind() {
            Kind::Pkcs7Mime(t) if t != Some(pki_core::mime::SmimeType::SignedData) => {}
            _ => return Ok(Decrypted::Plain),
        }
        let mut keys = Vec::new();
        for record in self.store.recipient_certs(contact.id).await? {
            let Ok(cert) = <Certificate as der::Decode>::from_der(&record.cert) else { continue };
            let owner = KeyOwner::Recipient { account, contact: contact.id, profile: record.profile };
            let key_der = self.master.unseal(&record.sealed_key, &owner)?;
            keys.push((cert, pki_core::PrivateKey::from_pkcs8_der(&key_der)?));
        }
        let keys: Vec<_> = keys.iter().map(|(c, k)| (c, k)).collect();
        match smime::decrypt_message_in_place(data, &keys, rng) {
            Ok(()) => Ok(Decrypted::Opened),
            Err(_) => Ok(Decrypted::NoKey),
        }
    }

    /// Is the (decrypted) reply signed by the owner's end-entity certificate, valid under one
    /// of the account's roots, for one of the verified mailboxes?
    async fn signed_by_owner(
        &self,
        msg: &[u8],
        account: crate::model::AccountId,
        verified: &[Mailbox],
        now: UnixTime,
    ) -> Result<bool, EngineError> {
        let Ok(split) = pki_core::mime::split_message(msg) else { return Ok(false) };
        if pki_core::mime::classify(&split.entity()) != Kind::MultipartSigned {
            return Ok(false);
        }
        for profile in self.store.profiles(account).await? {
            let parse = |d: Option<&[u8]>| d.and_then(|d| <Certificate as der::Decode>::from_der(d).ok());
            let Some(root) = parse(profile.root.as_deref()) else { continue };
            // Clients often leave the intermediate out of their signatures; the relay has it.
            let intermediates: Vec<Certificate> = parse(profile.intermediate.as_deref()).into_iter().collect();
            let Ok(report) = smime::verify_signature_with(msg, &root, &intermediates, now) else { continue };
            let signer_ok = report.is_valid()
                && report.signers.iter().filter_map(|s| s.cert.as_ref()).any(|c| cert_names_any(c, verified));
            if signer_ok {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Unwraps an opaque `application/pkcs7-mime; smime-type=signed-data` reply (the content
    /// sits inside the CMS, where scrubbing cannot reach it), telling whether the owner signed
    /// it. `None` if the reply is not opaque-signed or no profile root reads it.
    async fn unwrap_opaque(
        &self,
        msg: &[u8],
        account: crate::model::AccountId,
        verified: &[Mailbox],
        now: UnixTime,
    ) -> Result<Option<(Vec<u8>, bool)>, EngineError> {
        let Ok(split) = pki_core::mime::split_message(msg) else { return Ok(None) };
        let entity = split.entity();
        if !matches!(pki_core::mime::classify(&entity), Kind::Pkcs7Mime(_)) {
            return Ok(None);
        }
        let Ok(p7) = pki_core::mime::parse_pkcs7_mime(&entity) else { return Ok(None) };
        if !pki_core::cms::content_type(&p7.der).is_ok_and(|t| t.to_string() == "1.2.840.113549.1.7.2") {
            return Ok(None);
        }
        for profile in self.store.profiles(account).await? {
            let parse = |d: Option<&[u8]>| d.and_then(|d| <Certificate as der::Decode>::from_der(d).ok());
            let Some(root) = parse(profile.root.as_deref()) else { continue };
            let intermediates: Vec<Certificate> = parse(profile.intermediate.as_deref()).into_iter().collect();
            let Ok(report) = pki_core::cms::verify_with(&p7.der, None, &root, &intermediates, now) else {
                continue;
            };
            let by_owner = report.is_valid()
                && report.signers.iter().filter_map(|s| s.cert.as_ref()).any(|c| cert_names_any(c, verified));
            return Ok(Some((pki_core::mime::join_message(&split.outer_headers, &report.content), by_owner)));
        }
        Ok(None)
    }

    /// The outgoing message: From = the alias with its own display name, To/Cc mapped from
    /// reverse aliases to the contacts' addresses, the owner's message identifiers hidden, only
    /// [`REPLY_KEEP`] and MIME fields kept, and reverse aliases in the content turned into the
    /// contacts' own addresses.
    async fn reply_headers<R: CryptoRng + ?Sized>(
        &self,
        msg: &Message<'_>,
        raw: &[u8],
        ctx: &ReplyCtx<'_>,
        rng: &mut R,
    ) -> Result<Result<Vec<u8>, RefusalReason>, EngineError> {
        let (alias, contact) = (ctx.alias, ctx.contact);
        let mut out = Vec::with_capacity(raw.len() + 256);
        headers::push_field(&mut out, "From", &headers::mailbox(alias.display_name.as_deref(), alias.address.as_str()));
        let mut to_seen = false;
        for (field, name) in [(msg.to(), "To"), (msg.cc(), "Cc")] {
            let Some(list) = field else { continue };
            let mut mapped = Vec::new();
            for a in list.iter() {
                let Some(Ok(addr)) = a.address.as_deref().map(Address::parse) else { continue };
                match self.map_recipient(alias, &addr).await? {
                    Some(c) => mapped.push(headers::mailbox(c.display_name.as_deref(), c.external.as_str())),
                    None => return Ok(Err(RefusalReason::UnknownRecipient)),
                }
            }
            if !mapped.is_empty() {
                to_seen |= name == "To";
                headers::push_field(&mut out, name, &mapped.join(",\r\n "));
            }
        }
        if !to_seen {
            headers::push_field(
                &mut out,
                "To",
                &headers::mailbox(contact.display_name.as_deref(), contact.external.as_str()),
            );
        }
        let owner_domains = owner_id_domains(msg, ctx.verified);
        let domain = self.config.domains.primary().as_str();
        let hide = |id: &str| {
            let owner = id.rsplit_once('@').is_some_and(|(_, d)| owner_domains.iter().any(|o| is_same_or_sub(d, o)));
            if owner { self.ids.hide(id, domain) } else { None }
        };
        let own_id = msg.message_id().and_then(|id| self.ids.hide(id, domain));
        let own_id = own_id.unwrap_or_else(|| {
            let mut id = [0u8; 16];
            rng.fill_bytes(&mut id);
            format!("{}@{domain}", hex(&id))
        });
        headers::push_field(&mut out, "Message-ID", &format!("<{own_id}>"));
        for f in headers::raw_fields(msg, raw) {
            if matches!(f.name.as_str(), "in-reply-to" | "references") {
                let mapped = crate::msgid::map_ids(&headers::field_value(f.bytes), hide);
                if !mapped.is_empty() {
                    headers::push_field(
                        &mut out,
                        if f.name == "references" { "References" } else { "In-Reply-To" },
                        &mapped,
                    );
                }
            } else if f.name == "mime-version" {
                // Its comment names the client: `1.0 (Mac OS X Mail 16.0 \(3826.300.87.4.3\))`.
                headers::push_field(&mut out, "MIME-Version", "1.0");
            } else if REPLY_KEEP.contains(&f.name.as_str()) || headers::is_content_field(&f.name) {
                headers::push_raw(&mut out, f.bytes);
            }
        }
        out.extend_from_slice(b"\r\n");
        self.reverse_aliases_to_contacts(alias, headers::raw_body(msg, raw), &mut out).await?;
        Ok(Ok(out))
    }

    /// Reverse aliases of this alias's contacts in the content (the quoted text of a reply)
    /// become the contacts' own addresses: what the contact expects to see, and it keeps the
    /// reverse alias from Cc'd third parties.
    async fn reverse_aliases_to_contacts(
        &self,
        alias: &Alias,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EngineError> {
        let found = crate::address::find_at_domains(body, &self.config.domains);
        let mut last = 0;
        for (range, addr) in found {
            let Some(c) = self.map_recipient(alias, &addr).await? else { continue };
            out.extend_from_slice(&body[last..range.start]);
            out.extend_from_slice(c.external.as_str().as_bytes());
            last = range.end;
        }
        out.extend_from_slice(&body[last..]);
        Ok(())
    }

    /// A recipient of a reply must be a reverse alias of a contact of the same alias.
    async fn map_recipient(&self, alias: &Alias, addr: &Address) -> Result<Option<Contact>, EngineError> {
        Ok(self.store.contact_by_reverse_alias(&addr.normalized()).await?.filter(|c| c.alias == alias.id))
    }
}

enum Decrypted {
    Plain,
    Opened,
    NoKey,
}

struct ReplyCtx<'a> {
    alias: &'a Alias,
    contact: &'a Contact,
    #[allow(dead_code)]
    account: &'a Account,
    verified: &'a [Mailbox],
}

fn is_verified(a: &Address, verified: &[Mailbox]) -> bool {
    verified.iter().any(|m| m.address.normalized() == a.normalized())
}

/// The envelope sender and every From address are verified mailboxes of the account.
fn envelope_names_owner(msg: &Message<'_>, env: &Envelope, verified: &[Mailbox]) -> bool {
    let envelope_ok = env.mail_from.as_ref().is_some_and(|a| is_verified(a, verified));
    let from_ok = msg
        .from()
        .map(|f| {
            let addrs: Vec<_> = f.iter().filter_map(|a| a.address.as_deref()).collect();
            !addrs.is_empty() && addrs.iter().all(|a| Address::parse(a).is_ok_and(|a| is_verified(&a, verified)))
        })
        .unwrap_or(false);
    envelope_ok && from_ok
}

/// Every From address is a verified mailbox or the alias itself (a client that submits with
/// AUTH may write the alias as its From).
fn from_is_owner(msg: &Message<'_>, alias: &Alias, verified: &[Mailbox]) -> bool {
    msg.from().is_some_and(|f| {
        let addrs: Vec<_> = f.iter().filter_map(|a| a.address.as_deref()).collect();
        !addrs.is_empty()
            && addrs.iter().all(|a| {
                Address::parse(a)
                    .is_ok_and(|a| is_verified(&a, verified) || a.normalized() == alias.address.normalized())
            })
    })
}

/// The domains whose message identifiers are the owner's: those of the verified mailboxes,
/// and the one the owner's client put in this reply's own Message-ID.
fn owner_id_domains(msg: &Message<'_>, verified: &[Mailbox]) -> Vec<String> {
    let mut out: Vec<String> = verified.iter().map(|m| m.address.domain().to_ascii_lowercase()).collect();
    if let Some((_, d)) = msg.message_id().and_then(|id| id.rsplit_once('@')) {
        out.push(d.trim_end_matches('>').to_ascii_lowercase());
    }
    out
}

/// `domain` is `parent` or one of its subdomains.
fn is_same_or_sub(domain: &str, parent: &str) -> bool {
    let d = domain.to_ascii_lowercase();
    d == parent || d.strip_suffix(parent).is_some_and(|p| p.ends_with('.'))
}

fn cert_names_any(cert: &Certificate, verified: &[Mailbox]) -> bool {
    let Ok(Some((_, san))) = cert.tbs_certificate().get_extension::<x509_cert::ext::pkix::SubjectAltName>() else {
        return false;
    };
    san.0.iter().any(|n| match n {
        x509_cert::ext::pkix::name::GeneralName::Rfc822Name(m) => {
            verified.iter().any(|v| v.address.normalized() == m.as_str().to_ascii_lowercase())
        }
        _ => false,
    })
}
