//! The records the engine reads and writes through [`crate::store::Store`].

use pki_core::UnixTime;

use crate::address::Address;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id!(
    /// An account.
    AccountId
);
id!(
    /// A mailbox (a real address of an account).
    MailboxId
);
id!(
    /// An alias.
    AliasId
);
id!(
    /// A contact: one external address writing to one alias.
    ContactId
);
id!(
    /// An S/MIME profile (root, intermediate, end-entity certificate).
    ProfileId
);

/// An account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// Strict mode: mail is refused while the account has no active S/MIME profile, so that
    /// nothing ever reaches the mailbox in plaintext.
    pub strict: bool,
    /// What proves that a reply to a reverse alias comes from the owner.
    pub reply_auth: ReplyAuth,
}

/// What authorises a reply to a reverse alias, besides the two proofs every account accepts:
/// an S/MIME signature by one of the owner's end-entity certificates, and SMTP AUTH on the
/// submission listener with an app password of a verified mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReplyAuth {
    /// Only those two proofs (the default).
    #[default]
    Strong,
    /// Also an envelope sender and `From` that are verified mailboxes of the account. Opt-in,
    /// and **spoofable**: anyone who knows the owner's address and a reverse alias can write
    /// them, so a forger could send as the alias.
    Envelope,
}

/// A real mailbox of an account, to which aliases forward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    /// Its id.
    pub id: MailboxId,
    /// The owning account.
    pub account: AccountId,
    /// The address.
    pub address: Address,
    /// Whether the owner proved they read it (a code mailed to it).
    pub verified: bool,
}

/// What happens to mail for a disabled alias or from a blocked contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Disposition {
    /// Accept and discard silently (the sender learns nothing).
    #[default]
    Drop,
    /// Refuse with 550 (the sender learns the address is closed).
    Reject,
}

/// An alias.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alias {
    /// Its id.
    pub id: AliasId,
    /// The owning account.
    pub account: AccountId,
    /// The mailbox it forwards to.
    pub mailbox: MailboxId,
    /// The alias address.
    pub address: Address,
    /// Whether it forwards at all.
    pub enabled: bool,
    /// What to do with mail while disabled.
    pub when_disabled: Disposition,
    /// The display name replies from this alias carry (`None`: the bare address). The owner's
    /// own display name never leaves.
    pub display_name: Option<String>,
}

/// One external address in touch with one alias.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// Its id.
    pub id: ContactId,
    /// The alias it writes to.
    pub alias: AliasId,
    /// The contact's real address.
    pub external: Address,
    /// The display name it last used, if any.
    pub display_name: Option<String>,
    /// The reverse alias the owner writes to.
    pub reverse_alias: Address,
    /// `Some` if blocked, with what to do with its mail.
    pub blocked: Option<Disposition>,
}

/// A contact to be created.
#[derive(Clone, Debug)]
pub struct NewContact {
    /// The alias.
    pub alias: AliasId,
    /// The external address.
    pub external: Address,
    /// Its display name.
    pub display_name: Option<String>,
    /// A fresh reverse alias.
    pub reverse_alias: Address,
}

/// The life of an S/MIME profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileStatus {
    /// The ceremony is under way: the root has not signed the intermediate yet.
    Pending,
    /// In use: forwarded mail is encrypted to its end-entity certificate.
    Active,
    /// Replaced or withdrawn; its recipient certificates still decrypt old replies.
    Retired,
}

/// An S/MIME profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Its id.
    pub id: ProfileId,
    /// The owning account.
    pub account: AccountId,
    /// Status.
    pub status: ProfileStatus,
    /// The user's root (DER), once the ceremony gave it.
    pub root: Option<Vec<u8>>,
    /// The intermediate (DER), once the root signed it.
    pub intermediate: Option<Vec<u8>>,
    /// The user's end-entity certificate (DER).
    pub end_entity: Vec<u8>,
    /// The intermediate's private key, sealed (see [`crate::seal`]).
    pub sealed_intermediate_key: Vec<u8>,
}

/// A recipient certificate of a contact under a profile, with its sealed key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientCert {
    /// The contact.
    pub contact: ContactId,
    /// The profile whose intermediate issued it.
    pub profile: ProfileId,
    /// The certificate (DER).
    pub cert: Vec<u8>,
    /// Its private key (PKCS#8), sealed.
    pub sealed_key: Vec<u8>,
    /// Its expiry.
    pub not_after: UnixTime,
}

/// Something the owner of an account can read back later.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A recipient certificate was issued.
    Issued {
        /// The account.
        account: AccountId,
        /// The profile whose intermediate signed it.
        profile: ProfileId,
        /// The contact.
        contact: ContactId,
        /// The certificate's serial, hex.
        serial: String,
        /// The reverse alias it names.
        subject: String,
        /// When.
        at: UnixTime,
    },
    /// A message to a reverse alias of this account was refused. The sender got one answer
    /// for every reason ([`crate::outcome::Reply::REPLY_REFUSED`]); the reason is only here.
    ReplyRefused {
        /// The account.
        account: AccountId,
        /// The contact it was addressed to.
        contact: ContactId,
        /// The envelope sender, as given (empty for `<>`).
        sender: String,
        /// Why: a [`crate::outcome::RefusalReason`] name (`unauthorized`, `undecryptable`, …).
        reason: String,
        /// When.
        at: UnixTime,
    },
    /// The next hop refused or deferred a message of this account. The sender was given a
    /// generic text with the code; the next hop's own words, which may name the provider, are
    /// only here.
    NextHopRefused {
        /// The account.
        account: AccountId,
        /// The alias (forward) or the contact (reply) the message was for.
        alias: AliasId,
        /// The contact, for a reply.
        contact: Option<ContactId>,
        /// The next hop's reply code.
        code: u16,
        /// The next hop's text, with the owner's address replaced by the alias.
        text: String,
        /// When.
        at: UnixTime,
    },
}
