//! Time, always passed in by the caller.
//!
//! Every function that needs the time takes it: `SystemTime::now()` panics on
//! `wasm32-unknown-unknown`, and tests must be able to pin the time. With the `std` feature,
//! [`UnixTime::now`] reads the system clock for programs that run where there is one.

use core::time::Duration;
use der::DateTime;
use x509_cert::time::Time;

use crate::{Error, Result};

/// Seconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub u64);

/// One day, in seconds.
pub(crate) const DAY: u64 = 86_400;

impl UnixTime {
    /// From seconds since the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        UnixTime(secs)
    }

    /// The system clock's current time (the epoch if the clock is set before it).
    ///
    /// Only with the `std` feature. Not for `wasm32-unknown-unknown`, where `SystemTime::now()`
    /// panics: there, pass the time in with [`UnixTime::from_secs`] (e.g. from `Date.now()`).
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn now() -> Self {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        UnixTime(since.map_or(0, |d| d.as_secs()))
    }

    /// Seconds since the epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// This time plus `secs` seconds, saturating.
    #[must_use]
    pub const fn plus_secs(self, secs: u64) -> Self {
        UnixTime(self.0.saturating_add(secs))
    }

    /// This time minus `secs` seconds, saturating at the epoch.
    #[must_use]
    pub const fn minus_secs(self, secs: u64) -> Self {
        UnixTime(self.0.saturating_sub(secs))
    }

    /// Reads an X.509 `Time`.
    pub fn from_x509(t: &Time) -> Self {
        UnixTime(t.to_unix_duration().as_secs())
    }

    /// Encodes as an X.509 `Time`: UTCTime through 2049, GeneralizedTime from 2050
    /// ([RFC 5280 §4.1.2.5](https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.5)).
    ///
    /// # Errors
    /// If the time is beyond what GeneralizedTime can hold (year 9999).
    pub fn to_x509(self) -> Result<Time> {
        let dt = DateTime::from_unix_duration(Duration::from_secs(self.0)).map_err(Error::der("time"))?;
        if dt.year() < 2050 {
            Ok(Time::UtcTime(der::asn1::UtcTime::from_date_time(dt).map_err(Error::der("UTCTime"))?))
        } else {
            Ok(Time::GeneralTime(der::asn1::GeneralizedTime::from_date_time(dt)))
        }
    }
}

/// RFC 3339 in UTC, e.g. `2026-11-29T00:00:00Z` (or the seconds, past year 9999).
impl core::fmt::Display for UnixTime {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match DateTime::from_unix_duration(Duration::from_secs(self.0)) {
            Ok(dt) => write!(
                f,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                dt.year(),
                dt.month(),
                dt.day(),
                dt.hour(),
                dt.minutes(),
                dt.seconds()
            ),
            Err(_) => write!(f, "{} s after the epoch", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UnixTime;
    use alloc::string::ToString;

    #[test]
    fn displays_as_rfc3339() {
        assert_eq!(UnixTime::from_secs(1_795_910_400).to_string(), "2026-11-29T00:00:00Z");
        assert_eq!(UnixTime::from_secs(0).to_string(), "1970-01-01T00:00:00Z");
    }
}
