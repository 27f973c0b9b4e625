//! What became of each message the SMTP front handed to the engine, counted by reason for
//! `/metrics` and logged once per message at info level: the reason, the alias id and the
//! contact id, never an address or a body.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

/// The pipelines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pipeline {
    /// Mail to an alias.
    Forward,
    /// Mail to a reverse alias.
    Reply,
}

impl Pipeline {
    fn as_str(self) -> &'static str {
        match self {
            Pipeline::Forward => "forward",
            Pipeline::Reply => "reply",
        }
    }
}

/// What happened to a message, with its typed reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Delivered to the next hop (reason: how the reply was authorised, or `encrypted` /
    /// `plaintext` for a forward).
    Delivered(&'static str),
    /// Accepted and dropped.
    Dropped(&'static str),
    /// Refused permanently (5xx).
    Refused(&'static str),
    /// Deferred (4xx).
    Deferred(&'static str),
}

impl Verdict {
    fn parts(self) -> (&'static str, &'static str) {
        match self {
            Verdict::Delivered(r) => ("delivered", r),
            Verdict::Dropped(r) => ("dropped", r),
            Verdict::Refused(r) => ("refused", r),
            Verdict::Deferred(r) => ("deferred", r),
        }
    }
}

/// Counters by (pipeline, outcome, reason), and the per-message ids of the log lines.
#[derive(Default, Debug)]
pub struct Outcomes {
    counts: Mutex<BTreeMap<(Pipeline, &'static str, &'static str), u64>>,
    next_id: AtomicU64,
}

impl Outcomes {
    /// A fresh id for a message's log line.
    pub fn message_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Counts a message and logs its one line.
    pub fn record(&self, id: u64, pipeline: Pipeline, verdict: Verdict, alias: Option<i64>, contact: Option<i64>) {
        let (outcome, reason) = verdict.parts();
        if let Ok(mut c) = self.counts.lock() {
            *c.entry((pipeline, outcome, reason)).or_default() += 1;
        }
        tracing::info!(msg = id, pipeline = pipeline.as_str(), outcome, reason, alias, contact, "message");
    }

    /// How many messages were counted under (pipeline, outcome, reason).
    pub fn count(&self, pipeline: Pipeline, outcome: &str, reason: &str) -> u64 {
        self.counts
            .lock()
            .map(|c| {
                c.iter().filter(|((p, o, r), _)| *p == pipeline && *o == outcome && *r == reason).map(|(_, n)| *n).sum()
            })
            .unwrap_or(0)
    }

    /// The Prometheus text exposition of the counters.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP mailrelay_messages_total Messages by pipeline, outcome and reason.");
        let _ = writeln!(out, "# TYPE mailrelay_messages_total counter");
        if let Ok(c) = self.counts.lock() {
            for ((pipeline, outcome, reason), n) in c.iter() {
                let _ = writeln!(
                    out,
                    "mailrelay_messages_total{{pipeline=\"{}\",outcome=\"{outcome}\",reason=\"{reason}\"}} {n}",
                    pipeline.as_str()
                );
            }
        }
    }
}
