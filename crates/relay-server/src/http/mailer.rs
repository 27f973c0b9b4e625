//! Mail the API itself sends: the verification code for a new mailbox, through the next hop.

use std::{future::Future, pin::Pin, sync::Arc};

use pki_core::UnixTime;

use crate::delivery::{Client, HopError};

/// A future a [`Mailer`] returns.
pub type MailFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HopError>> + Send + 'a>>;

/// Sends one message, synchronously as far as the caller is concerned: `Ok` once the next hop
/// took it. The relay's real one is [`SmarthostMailer`]; tests capture what is sent.
pub trait Mailer: Send + Sync {
    /// Sends `data` from the envelope sender `mail_from` (empty for the null path `<>`) to
    /// `rcpt`.
    fn send<'a>(&'a self, mail_from: &'a str, rcpt: &'a str, data: &'a [u8]) -> MailFuture<'a>;
}

/// A [`Mailer`] over the relay's next hop.
pub struct SmarthostMailer {
    hop: Arc<Client>,
}

impl SmarthostMailer {
    /// Sends through `hop`.
    pub fn new(hop: Arc<Client>) -> Self {
        SmarthostMailer { hop }
    }
}

impl Mailer for SmarthostMailer {
    fn send<'a>(&'a self, mail_from: &'a str, rcpt: &'a str, data: &'a [u8]) -> MailFuture<'a> {
        Box::pin(self.hop.deliver(mail_from, rcpt, data))
    }
}

/// The verification message for `mailbox`, from `postmaster@domain`. It is sent with the null
/// envelope sender, so nothing ever bounces back to the relay (DESIGN.md: no backscatter).
pub(super) fn verification_message(domain: &str, mailbox: &str, code: &str, now: UnixTime, id: &str) -> Vec<u8> {
    format!(
        "From: Mail relay <postmaster@{domain}>\r\n\
         To: <{mailbox}>\r\n\
         Subject: Your mail relay verification code\r\n\
         Date: {date}\r\n\
         Message-ID: <{id}@{domain}>\r\n\
         Auto-Submitted: auto-generated\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 7bit\r\n\
         \r\n\
         Someone (we hope you) asked to forward mail from aliases at {domain} to this address.\r\n\
         \r\n\
         Your verification code is: {code}\r\n\
         \r\n\
         It expires in one hour. If you did not ask for this, ignore this message: nothing\r\n\
         will be sent here unless the code is entered.\r\n",
        date = rfc5322_date(now),
    )
    .into_bytes()
}

/// `Tue, 1 Jul 2003 10:52:37 +0000` (RFC 5322 §3.3), in UTC.
pub(super) fn rfc5322_date(t: UnixTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = t.as_secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS.get(usize::try_from(days % 7).unwrap_or(0)).copied().unwrap_or("Thu");
    let month = MONTHS.get(usize::try_from(month.saturating_sub(1)).unwrap_or(0)).copied().unwrap_or("Jan");
    format!("{weekday}, {day} {month} {year} {:02}:{:02}:{:02} +0000", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Year, month (1–12) and day of the month of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(UnixTime(0)), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322_date(UnixTime(1_057_056_757)), "Tue, 1 Jul 2003 10:52:37 +0000");
        assert_eq!(rfc5322_date(UnixTime(1_709_210_096)), "Thu, 29 Feb 2024 12:34:56 +0000");
    }
}
