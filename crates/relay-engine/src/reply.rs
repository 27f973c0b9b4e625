//! The reply pipeline: mail from the owner of an alias to a reverse alias, sent on to the
//! contact from the alias, with nothing left that would reveal the owner's real address.
//!
//! ```text
//! find contact → authorise (verified mailbox; an S/MIME signature by the owner's certificate
//! is recorded as strong proof) → decrypt (any of the contact's recipient certificates, under
//! any profile) → scrub (signature, key attachments, real addresses everywhere) → headers
//! (From = alias, reverse aliases → real addresses, fresh Message-ID) → leak check → deliver
//! ```

use mail_parser::{Message, MessageParser};
use pki_core::{UnixTime, mime::Kind, smime};
use rand_core::CryptoRng;
use x509_cert::Certificate;

use crate::{
    address::Address,
    engine::{Engine, EngineError, hex},
    forward::Envelope,
    headers::{self, REPLY_KEEP},
    model::{Alias, Contact, Event, Mailbox},
    outcome::{Delivery, Outcome, Reply},
    scrub::{self, Scrub},
    seal::Purpose,
    store::Store,
};

/// What the reply pipeline learnt about the owner's proof of identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// The envelope sender and From are a verified mailbox of the account.
    VerifiedMailbox,
    /// ... and the reply carried a valid S/MIME signature by the owner's certificate.
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
        match self.reply_inner(data, env, now, rng).await {
            Ok((outcome, _)) => outcome,
            Err(_) => Outcome::Reject(Reply::TEMPORARY),
        }
    }

    /// As [`Self::reply`], also saying how the sender proved to be the owner.
    pub async fn reply_with_proof<R: CryptoRng + ?Sized>(
        &self,
        data: &[u8],
        env: &Envelope,
        now: UnixTime,
        rng: &mut R,
    ) -> (Outcome, Option<Proof>) {
        self.reply_inner(data, env, now, rng).await.unwrap_or((Outcome::Reject(Reply::TEMPORARY), None))
    }

    async fn reply_inner<R: CryptoRng + ?Sized>(
        &self,
        data: &[u8],
        env: &Envelope,
        now: UnixTime,
        rng: &mut R,
    ) -> Result<(Outcome, Option<Proof>), EngineError> {
        let reject = |r: Reply| Ok((Outcome::Reject(r), None));
        let Some(contact) = self.store.contact_by_reverse_alias(&env.rcpt.normalized()).await? else {
            return reject(Reply::NO_SUCH_USER);
        };
        let alias = self.store.alias(contact.alias).await?.ok_or(EngineError::Inconsistent("contact without alias"))?;
        let verified: Vec<Mailbox> =
            self.store.mailboxes(alias.account).await?.into_iter().filter(|m| m.verified).collect();
        let Some(msg) = MessageParser::default().parse(data).filter(|m| !m.headers().is_empty()) else {
            return reject(Reply::UNPARSEABLE);
        };
        if !authorised(&msg, env, &verified) {
            let sender = env.mail_from.as_ref().map(|a| a.as_str().to_owned()).unwrap_or_default();
            let event = Event::UnauthorizedReply { account: alias.account, contact: contact.id, sender, at: now };
            self.store.log(event).await?;
            return reject(Reply::NOT_AUTHORIZED);
        }
        let plain = match self.decrypt(data, &contact, rng).await? {
            Decrypted::Plain => data.to_vec(),
            Decrypted::Opened(m) => m,
            Decrypted::NoKey => return reject(Reply::CANNOT_DECRYPT),
        };
        let (plain, opaque_signed_by_owner) = match self.unwrap_opaque(&plain, alias.account, &verified, now).await? {
            Some((m, by_owner)) => (m, by_owner),
            None => (plain, false),
        };
        let proof = if opaque_signed_by_owner || self.signed_by_owner(&plain, alias.account, &verified, now).await? {
            Proof::Signature
        } else {
            Proof::VerifiedMailbox
        };
        let real: Vec<String> = verified.iter().map(|m| m.address.as_str().to_owned()).collect();
        let real_refs: Vec<&str> = real.iter().map(String::as_str).collect();
        let scrubbed = match scrub::scrub_message(&plain, &Scrub { real: &real_refs, alias: alias.address.as_str() }) {
            Ok(s) => s.message,
            // The address sits where it cannot be removed (a binary attachment, a boundary):
            // refuse, and say why.
            Err(
                scrub::ScrubError::AddressInBinary { .. }
                | scrub::ScrubError::Residual { .. }
                | scrub::ScrubError::BoundaryContainsAddress { .. },
            ) => return reject(Reply::WOULD_LEAK),
            Err(_) => return reject(Reply::BAD_REPLY_MIME),
        };
        let Some(clean) = MessageParser::default().parse(&scrubbed[..]) else { return reject(Reply::BAD_REPLY_MIME) };
        let out = match self.reply_headers(&clean, &scrubbed, &alias, &contact, rng).await? {
            Ok(o) => o,
            Err(r) => return reject(r),
        };
        if real.iter().any(|r| !scrub::leaks(&out, r).is_empty()) {
            return reject(Reply::WOULD_LEAK);
        }
        let delivery =
            Delivery { mail_from: alias.address.clone(), rcpt: contact.external.clone(), data: out, encrypted: false };
        Ok((Outcome::Deliver(delivery), Some(proof)))
    }

    /// Decrypts an S/MIME-encrypted reply with the contact's recipient keys (any profile).
    async fn decrypt<R: CryptoRng + ?Sized>(
        &self,
        data: &[u8],
        contact: &Contact,
        rng: &mut R,
    ) -> Result<Decrypted, EngineError> {
        let Ok(split) = pki_core::mime::split_message(data) else { return Ok(Decrypted::Plain) };
        match pki_core::mime::classify(&split.entity()) {
            Kind::Pkcs7Mime(t) if t != Some(pki_core::mime::SmimeType::SignedData) => {}
            _ => return Ok(Decrypted::Plain),
        }
        for record in self.store.recipient_certs(contact.id).await? {
            let Ok(cert) = <Certificate as der::Decode>::from_der(&record.cert) else { continue };
            let key_der = self.master.unseal(&record.sealed_key, Purpose::Recipient)?;
            let key = pki_core::PrivateKey::from_pkcs8_der(&key_der)?;
            match smime::decrypt_message(data, &cert, &key, rng) {
                Ok(m) => return Ok(Decrypted::Opened(m)),
                Err(pki_core::Error::NoMatchingRecipient) => continue,
                Err(_) => return Ok(Decrypted::NoKey),
            }
        }
        Ok(Decrypted::NoKey)
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
            let Ok(v) = smime::verify_message_with(msg, &root, &intermediates, now) else { continue };
            let signer_ok = v.report.is_valid()
                && v.report.signers.iter().filter_map(|s| s.cert.as_ref()).any(|c| cert_names_any(c, verified));
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
            let Ok(report) = pki_core::cms::signed::verify_with(&p7.der, None, &root, &intermediates, now) else {
                continue;
            };
            let by_owner = report.is_valid()
                && report.signers.iter().filter_map(|s| s.cert.as_ref()).any(|c| cert_names_any(c, verified));
            return Ok(Some((pki_core::mime::join_message(&split.outer_headers, &report.content), by_owner)));
        }
        Ok(None)
    }

    /// The outgoing header block: From = alias, To/Cc mapped from reverse aliases to the
    /// contacts' addresses, a fresh Message-ID, and only [`REPLY_KEEP`] and MIME fields kept.
    async fn reply_headers<R: CryptoRng + ?Sized>(
        &self,
        msg: &Message<'_>,
        raw: &[u8],
        alias: &Alias,
        contact: &Contact,
        rng: &mut R,
    ) -> Result<Result<Vec<u8>, Reply>, EngineError> {
        let mut out = Vec::with_capacity(raw.len() + 256);
        let display = msg.from().and_then(|f| f.first()).and_then(|a| a.name.as_deref()).filter(|n| !n.contains('@'));
        headers::push_field(&mut out, "From", &headers::mailbox(display, alias.address.as_str()));
        let mut to_seen = false;
        for (field, name) in [(msg.to(), "To"), (msg.cc(), "Cc")] {
            let Some(list) = field else { continue };
            let mut mapped = Vec::new();
            for a in list.iter() {
                let Some(Ok(addr)) = a.address.as_deref().map(Address::parse) else { continue };
                match self.map_recipient(alias, &addr).await? {
                    Some(c) => mapped.push(headers::mailbox(c.display_name.as_deref(), c.external.as_str())),
                    None => return Ok(Err(Reply::UNKNOWN_RECIPIENT_IN_REPLY)),
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
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        headers::push_field(&mut out, "Message-ID", &format!("<{}@{}>", hex(&id), self.config.domains.primary()));
        for f in headers::raw_fields(msg, raw) {
            if REPLY_KEEP.contains(&f.name.as_str()) || headers::is_content_field(&f.name) {
                headers::push_raw(&mut out, f.bytes);
            }
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(headers::raw_body(msg, raw));
        Ok(Ok(out))
    }

    /// A recipient of a reply must be a reverse alias of a contact of the same alias.
    async fn map_recipient(&self, alias: &Alias, addr: &Address) -> Result<Option<Contact>, EngineError> {
        Ok(self.store.contact_by_reverse_alias(&addr.normalized()).await?.filter(|c| c.alias == alias.id))
    }
}

enum Decrypted {
    Plain,
    Opened(Vec<u8>),
    NoKey,
}

/// The envelope sender and the From address must both be verified mailboxes of the account.
fn authorised(msg: &Message<'_>, env: &Envelope, verified: &[Mailbox]) -> bool {
    let is_verified = |a: &Address| verified.iter().any(|m| m.address.normalized() == a.normalized());
    let envelope_ok = env.mail_from.as_ref().is_some_and(is_verified);
    let from_ok = msg
        .from()
        .map(|f| {
            let addrs: Vec<_> = f.iter().filter_map(|a| a.address.as_deref()).collect();
            !addrs.is_empty() && addrs.iter().all(|a| Address::parse(a).is_ok_and(|a| is_verified(&a)))
        })
        .unwrap_or(false);
    envelope_ok && from_ok
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
