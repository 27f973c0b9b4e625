//! Rows as the database returns them, and their conversion to the engine's model: ids, times
//! (`u64` Unix seconds in the model, `BIGINT` in the database), addresses (parsed again on the
//! way out), the text enums, and the event log's `kind` + JSON `detail`.

use pki_core::UnixTime;
use relay_engine::{
    address::Address,
    model::{
        Account, AccountId, Alias, AliasId, Contact, ContactId, Disposition, Event, Mailbox, MailboxId, Profile,
        ProfileId, ProfileStatus, RecipientCert, ReplyAuth,
    },
    store::{StoreError, StoreResult},
};
use serde_json::{Value, json};

/// The `SELECT` of a mailbox row ([`MailboxRow`]).
macro_rules! mailbox_select {
    () => {
        "SELECT id, account_id, address, verified FROM mailboxes"
    };
}
/// The `SELECT` of an alias row ([`AliasRow`]).
macro_rules! alias_select {
    () => {
        "SELECT id, account_id, mailbox_id, address, enabled, when_disabled, display_name FROM aliases"
    };
}
/// The `SELECT` of a contact row ([`ContactRow`]).
macro_rules! contact_select {
    () => {
        "SELECT id, alias_id, external, display_name, reverse_alias, blocked FROM contacts"
    };
}
/// The `SELECT` of a profile row ([`ProfileRow`]).
macro_rules! profile_select {
    () => {
        "SELECT id, account_id, status, root, intermediate, end_entity, sealed_intermediate_key FROM profiles"
    };
}
/// The `SELECT` of a recipient certificate row ([`CertRow`]).
macro_rules! cert_select {
    () => {
        "SELECT contact_id, profile_id, cert, sealed_key, not_after FROM recipient_certs"
    };
}
pub(super) use {alias_select, cert_select, contact_select, mailbox_select, profile_select};

/// `id, strict, reply_auth`.
pub(super) type AccountRow = (i64, bool, String);
/// `id, account_id, address, verified`.
pub(super) type MailboxRow = (i64, i64, String, bool);
/// `id, account_id, mailbox_id, address, enabled, when_disabled, display_name`.
pub(super) type AliasRow = (i64, i64, i64, String, bool, String, Option<String>);
/// `id, alias_id, external, display_name, reverse_alias, blocked`.
pub(super) type ContactRow = (i64, i64, String, Option<String>, String, Option<String>);
/// `id, account_id, status, root, intermediate, end_entity, sealed_intermediate_key`.
pub(super) type ProfileRow = (i64, i64, String, Option<Vec<u8>>, Option<Vec<u8>>, Vec<u8>, Vec<u8>);
/// `contact_id, profile_id, cert, sealed_key, not_after`.
pub(super) type CertRow = (i64, i64, Vec<u8>, Vec<u8>, i64);
/// `account_id, kind, detail, at`.
pub(super) type EventRow = (i64, String, String, i64);

pub(super) fn account((id, strict, reply_auth): AccountRow) -> StoreResult<Account> {
    Ok(Account { id: AccountId(id), strict, reply_auth: reply_auth_from_db(&reply_auth)? })
}

pub(crate) fn reply_auth_to_db(r: ReplyAuth) -> &'static str {
    match r {
        ReplyAuth::Strong => "strong",
        ReplyAuth::Envelope => "envelope",
    }
}

pub(crate) fn reply_auth_from_db(s: &str) -> StoreResult<ReplyAuth> {
    match s {
        "strong" => Ok(ReplyAuth::Strong),
        "envelope" => Ok(ReplyAuth::Envelope),
        other => Err(StoreError::Inconsistent(format!("unknown reply_auth {other:?}"))),
    }
}

pub(super) fn mailbox((id, account, address_text, verified): MailboxRow) -> StoreResult<Mailbox> {
    Ok(Mailbox { id: MailboxId(id), account: AccountId(account), address: address(&address_text)?, verified })
}

pub(super) fn alias(
    (id, account, mailbox, address_text, enabled, when_disabled, display_name): AliasRow,
) -> StoreResult<Alias> {
    Ok(Alias {
        id: AliasId(id),
        account: AccountId(account),
        mailbox: MailboxId(mailbox),
        address: address(&address_text)?,
        enabled,
        when_disabled: disposition_from_db(&when_disabled)?,
        display_name,
    })
}

pub(super) fn contact((id, alias, external, display_name, reverse, blocked): ContactRow) -> StoreResult<Contact> {
    Ok(Contact {
        id: ContactId(id),
        alias: AliasId(alias),
        external: address(&external)?,
        display_name,
        reverse_alias: address(&reverse)?,
        blocked: blocked.as_deref().map(disposition_from_db).transpose()?,
    })
}

pub(super) fn profile(row: ProfileRow) -> StoreResult<Profile> {
    let (id, account, status, root, intermediate, end_entity, sealed_intermediate_key) = row;
    Ok(Profile {
        id: ProfileId(id),
        account: AccountId(account),
        status: status_from_db(&status)?,
        root,
        intermediate,
        end_entity,
        sealed_intermediate_key,
    })
}

pub(super) fn cert((contact, profile, cert, sealed_key, not_after): CertRow) -> StoreResult<RecipientCert> {
    Ok(RecipientCert {
        contact: ContactId(contact),
        profile: ProfileId(profile),
        cert,
        sealed_key,
        not_after: time_from_db(not_after)?,
    })
}

/// An address read back from the database; it was canonical when written.
fn address(text: &str) -> StoreResult<Address> {
    Address::parse(text).map_err(|e| StoreError::Inconsistent(format!("stored address does not parse: {e}")))
}

/// A time for a `BIGINT` column.
pub(super) fn time_to_db(t: UnixTime) -> StoreResult<i64> {
    i64::try_from(t.0).map_err(|_| StoreError::Inconsistent(format!("time {} is out of range", t.0)))
}

/// A time from a `BIGINT` column.
pub(super) fn time_from_db(v: i64) -> StoreResult<UnixTime> {
    u64::try_from(v).map(UnixTime).map_err(|_| StoreError::Inconsistent(format!("stored time {v} is negative")))
}

pub(super) fn disposition_to_db(d: Disposition) -> &'static str {
    match d {
        Disposition::Drop => "drop",
        Disposition::Reject => "reject",
    }
}

fn disposition_from_db(s: &str) -> StoreResult<Disposition> {
    match s {
        "drop" => Ok(Disposition::Drop),
        "reject" => Ok(Disposition::Reject),
        other => Err(StoreError::Inconsistent(format!("unknown disposition {other:?}"))),
    }
}

pub(super) fn status_to_db(s: ProfileStatus) -> &'static str {
    match s {
        ProfileStatus::Pending => "pending",
        ProfileStatus::Active => "active",
        ProfileStatus::Retired => "retired",
    }
}

fn status_from_db(s: &str) -> StoreResult<ProfileStatus> {
    match s {
        "pending" => Ok(ProfileStatus::Pending),
        "active" => Ok(ProfileStatus::Active),
        "retired" => Ok(ProfileStatus::Retired),
        other => Err(StoreError::Inconsistent(format!("unknown profile status {other:?}"))),
    }
}

/// `kind` of [`Event::Issued`].
const ISSUED: &str = "issued";
/// `kind` of [`Event::ReplyRefused`].
const REPLY_REFUSED: &str = "reply_refused";
/// `kind` of refused replies written before they had a reason (always `unauthorized`).
const UNAUTHORIZED_REPLY: &str = "unauthorized_reply";
/// `kind` of [`Event::NextHopRefused`].
const NEXT_HOP_REFUSED: &str = "next_hop_refused";

/// An event as a row: the account and time get columns of their own (to select and order by);
/// the rest goes into a JSON object.
///
/// | kind | detail |
/// |---|---|
/// | `issued` | `{"profile": 7, "contact": 9, "serial": "0a1b…", "subject": "bob.xyz@pportal.io"}` |
/// | `reply_refused` | `{"contact": 9, "sender": "mallory@example.net", "reason": "unauthorized"}` |
/// | `unauthorized_reply` | `{"contact": 9, "sender": "mallory@example.net"}` (read only: older rows) |
/// | `next_hop_refused` | `{"alias": 3, "contact": 9, "code": 552, "text": "mailbox full"}` |
///
/// # Errors
/// [`StoreError::Inconsistent`] for an event kind added to the engine after this code was
/// written: it fails loudly rather than leaving a hole in the owner's log.
pub(super) fn event_to_db(event: &Event) -> StoreResult<EventRow> {
    match event {
        Event::Issued { account, profile, contact, serial, subject, at } => Ok((
            account.0,
            ISSUED.to_owned(),
            json!({ "profile": profile.0, "contact": contact.0, "serial": serial, "subject": subject }).to_string(),
            time_to_db(*at)?,
        )),
        Event::ReplyRefused { account, contact, sender, reason, at } => Ok((
            account.0,
            REPLY_REFUSED.to_owned(),
            json!({ "contact": contact.0, "sender": sender, "reason": reason }).to_string(),
            time_to_db(*at)?,
        )),
        Event::NextHopRefused { account, alias, contact, code, text, at } => Ok((
            account.0,
            NEXT_HOP_REFUSED.to_owned(),
            json!({ "alias": alias.0, "contact": contact.map(|c| c.0), "code": code, "text": text }).to_string(),
            time_to_db(*at)?,
        )),
        _ => Err(StoreError::Inconsistent("an event kind the SQL store cannot record yet".into())),
    }
}

/// The event a row holds; `None` for a kind this build does not know (written by a newer
/// relay node sharing the database).
pub(super) fn event_from_db((account, kind, detail, at): EventRow) -> StoreResult<Option<Event>> {
    let v: Value = serde_json::from_str(&detail)
        .map_err(|e| StoreError::Inconsistent(format!("event detail is not JSON: {e}")))?;
    let account = AccountId(account);
    let at = time_from_db(at)?;
    Ok(match kind.as_str() {
        ISSUED => Some(Event::Issued {
            account,
            profile: ProfileId(int(&v, "profile")?),
            contact: ContactId(int(&v, "contact")?),
            serial: text(&v, "serial")?,
            subject: text(&v, "subject")?,
            at,
        }),
        REPLY_REFUSED | UNAUTHORIZED_REPLY => Some(Event::ReplyRefused {
            account,
            contact: ContactId(int(&v, "contact")?),
            sender: text(&v, "sender")?,
            reason: if kind == REPLY_REFUSED { text(&v, "reason")? } else { "unauthorized".into() },
            at,
        }),
        NEXT_HOP_REFUSED => Some(Event::NextHopRefused {
            account,
            alias: AliasId(int(&v, "alias")?),
            contact: v.get("contact").and_then(Value::as_i64).map(ContactId),
            code: u16::try_from(int(&v, "code")?).map_err(|_| missing("code"))?,
            text: text(&v, "text")?,
            at,
        }),
        _ => None,
    })
}

fn int(v: &Value, field: &str) -> StoreResult<i64> {
    v.get(field).and_then(Value::as_i64).ok_or_else(|| missing(field))
}

fn text(v: &Value, field: &str) -> StoreResult<String> {
    v.get(field).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| missing(field))
}

fn missing(field: &str) -> StoreError {
    StoreError::Inconsistent(format!("event detail without {field:?}"))
}
