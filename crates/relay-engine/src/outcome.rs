//! What a pipeline decides, and the SMTP replies it can give.

use std::borrow::Cow;

use crate::{
    address::Address,
    model::{AccountId, AliasId, ContactId},
};

/// An SMTP reply: code, enhanced status code (RFC 3463) and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The enhanced status code, e.g. `(5, 1, 1)`.
    pub enhanced: (u8, u16, u16),
    /// Human-readable text, safe to show to the sending MTA (never holds a real address).
    pub text: Cow<'static, str>,
}

impl Reply {
    const fn fixed(code: u16, enhanced: (u8, u16, u16), text: &'static str) -> Self {
        Reply { code, enhanced, text: Cow::Borrowed(text) }
    }

    /// 550 5.1.1: no such alias. A disabled alias set to reject answers exactly this too, so
    /// that a guesser cannot tell an alias that exists from one that never did.
    pub const NO_SUCH_USER: Reply = Reply::fixed(550, (5, 1, 1), "no such user");
    /// 550 5.7.1: the recipient does not accept mail from this sender (blocked contact, set to
    /// reject). Only a contact that already wrote to the alias can get it.
    pub const BLOCKED: Reply = Reply::fixed(550, (5, 7, 1), "the recipient does not accept mail from you");
    /// 554 5.6.0: the message cannot be parsed at all.
    pub const UNPARSEABLE: Reply = Reply::fixed(554, (5, 6, 0), "message cannot be parsed");
    /// 550 5.7.1: a strict account has no valid S/MIME profile, so nothing can be delivered.
    pub const STRICT_NO_PROFILE: Reply =
        Reply::fixed(550, (5, 7, 1), "the recipient accepts only encrypted delivery, which is not set up");
    /// 451 4.3.0: a temporary failure on our side (database, crypto); the sender retries.
    pub const TEMPORARY: Reply = Reply::fixed(451, (4, 3, 0), "temporary failure, please try again later");
    /// 550 5.7.1: every refusal of a message to a reverse alias, whatever the reason (not the
    /// owner, cannot be decrypted, bad padding, cannot be scrubbed, …): one code and one text,
    /// so that the answer is no oracle. The reason goes to the owner's event log.
    pub const REPLY_REFUSED: Reply = Reply::fixed(
        550,
        (5, 7, 1),
        "message refused; if this is your alias, the reason is in your account's event log",
    );

    /// True for 4xx replies.
    pub fn is_temporary(&self) -> bool {
        (400..500).contains(&self.code)
    }
}

impl core::fmt::Display for Reply {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (a, b, c) = self.enhanced;
        write!(f, "{} {a}.{b}.{c} {}", self.code, self.text)
    }
}

/// A message ready for the next hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The envelope sender to use (`MAIL FROM`).
    pub mail_from: Address,
    /// The one envelope recipient.
    pub rcpt: Address,
    /// The message.
    pub data: Vec<u8>,
    /// Whether the body is S/MIME-encrypted (or was already encrypted and passed through).
    pub encrypted: bool,
    /// The account it belongs to (for the owner's event log).
    pub account: AccountId,
    /// The alias it was sent to or from.
    pub alias: AliasId,
    /// The contact it came from or goes to.
    pub contact: Option<ContactId>,
}

/// Why a message was accepted and discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The message already went through this relay (its loop header, or too many hops).
    Loop,
    /// The alias is disabled and set to drop.
    AliasDisabled,
    /// The contact is blocked and set to drop.
    ContactBlocked,
}

/// Why a message to a reverse alias was refused. The sender always gets
/// [`Reply::REPLY_REFUSED`]; the reason goes to the owner's event log and the relay's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    /// No proof that the owner sent it (signature, submission AUTH, or the opt-in envelope
    /// check).
    Unauthorized,
    /// Encrypted, but none of the contact's recipient keys opens it (or it is corrupt).
    Undecryptable,
    /// Its MIME structure cannot be parsed or scrubbed.
    BadMime,
    /// The real address sits where it cannot be removed.
    WouldLeak,
    /// It is addressed to someone who is not a contact of the alias.
    UnknownRecipient,
}

impl RefusalReason {
    /// The reason's name in logs, metrics and the event log.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::Unauthorized => "unauthorized",
            RefusalReason::Undecryptable => "undecryptable",
            RefusalReason::BadMime => "bad_mime",
            RefusalReason::WouldLeak => "would_leak",
            RefusalReason::UnknownRecipient => "unknown_recipient",
        }
    }
}

/// Why a message was deferred (451): an internal failure, never the sender's doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeferReason {
    /// The store failed.
    Store,
    /// A certificate, key or CMS operation failed.
    Crypto,
    /// A sealed key could not be opened.
    Seal,
    /// Stored data is unusable.
    Inconsistent,
    /// No pre-generated key was waiting for a new recipient certificate.
    KeyPoolEmpty,
    /// The account is over one of its rates (new contacts, replies).
    RateLimited,
}

impl DeferReason {
    /// The reason's name in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            DeferReason::Store => "store",
            DeferReason::Crypto => "crypto",
            DeferReason::Seal => "seal",
            DeferReason::Inconsistent => "inconsistent",
            DeferReason::KeyPoolEmpty => "key_pool_empty",
            DeferReason::RateLimited => "rate_limited",
        }
    }
}

/// A pipeline's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Send this on, then answer 250.
    Deliver(Delivery),
    /// Answer with this reply.
    Reject(Reply),
    /// A message to a reverse alias, refused: answer [`Reply::REPLY_REFUSED`].
    Refuse(RefusalReason),
    /// An internal failure: answer [`Reply::TEMPORARY`].
    Defer(DeferReason),
    /// Answer 250 and discard.
    Drop(DropReason),
}

impl Outcome {
    /// The reply for a refusal or a deferral; `None` for delivery and drops.
    pub fn reply(&self) -> Option<Reply> {
        match self {
            Outcome::Reject(r) => Some(r.clone()),
            Outcome::Refuse(_) => Some(Reply::REPLY_REFUSED),
            Outcome::Defer(_) => Some(Reply::TEMPORARY),
            Outcome::Deliver(_) | Outcome::Drop(_) => None,
        }
    }
}
