//! What a pipeline decides, and the SMTP replies it can give.

use std::borrow::Cow;

use crate::address::Address;

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

    /// 550 5.1.1: no such alias.
    pub const NO_SUCH_USER: Reply = Reply::fixed(550, (5, 1, 1), "no such user");
    /// 550 5.1.1: the alias is closed (disabled, set to reject).
    pub const ALIAS_DISABLED: Reply = Reply::fixed(550, (5, 1, 1), "this address no longer accepts mail");
    /// 550 5.7.1: the recipient does not accept mail from this sender (blocked contact).
    pub const BLOCKED: Reply = Reply::fixed(550, (5, 7, 1), "the recipient does not accept mail from you");
    /// 554 5.6.0: the message cannot be parsed at all.
    pub const UNPARSEABLE: Reply = Reply::fixed(554, (5, 6, 0), "message cannot be parsed");
    /// 554 5.4.6: a mail loop.
    pub const LOOP: Reply = Reply::fixed(554, (5, 4, 6), "mail loop detected");
    /// 550 5.7.1: a strict account has no valid S/MIME profile, so nothing can be delivered.
    pub const STRICT_NO_PROFILE: Reply =
        Reply::fixed(550, (5, 7, 1), "the recipient accepts only encrypted delivery, which is not set up");
    /// 451 4.3.0: a temporary failure on our side (database, crypto); the sender retries.
    pub const TEMPORARY: Reply = Reply::fixed(451, (4, 3, 0), "temporary failure, please try again later");
    /// 550 5.7.1: a reply from someone who is not a verified mailbox of the alias's owner.
    pub const NOT_AUTHORIZED: Reply =
        Reply::fixed(550, (5, 7, 1), "you are not allowed to send from this alias; use your verified mailbox");
    /// 550 5.1.1: a reply addresses someone who is not a contact of this alias.
    pub const UNKNOWN_RECIPIENT_IN_REPLY: Reply = Reply::fixed(
        550,
        (5, 1, 1),
        "the reply is addressed to someone who is not a contact of this alias; write to their reverse alias",
    );
    /// 550 5.7.5: an encrypted reply that none of the account's recipient keys opens.
    pub const CANNOT_DECRYPT: Reply =
        Reply::fixed(550, (5, 7, 5), "the message is encrypted to a certificate this relay does not hold");
    /// 550 5.7.0: the real address could not be removed from the reply; it is not sent.
    pub const WOULD_LEAK: Reply =
        Reply::fixed(550, (5, 7, 0), "your address could not be removed from the message; it was not sent");
    /// 550 5.6.0: the reply's MIME structure could not be processed.
    pub const BAD_REPLY_MIME: Reply = Reply::fixed(550, (5, 6, 0), "the message structure cannot be processed");

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
}

/// Why a message was accepted and discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The alias is disabled and set to drop.
    AliasDisabled,
    /// The contact is blocked and set to drop.
    ContactBlocked,
}

/// A pipeline's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Send this on, then answer 250.
    Deliver(Delivery),
    /// Answer with this reply.
    Reject(Reply),
    /// Answer 250 and discard.
    Drop(DropReason),
}
