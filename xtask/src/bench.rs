//! `cargo xtask bench [pki|engine|smtp|memory] [--secs S] [--only main|micro|rejection]`.
//!
//! - `pki`: pki-core against OpenSSL, side by side in one run, then the microbenchmarks and
//!   the implicit-rejection timing of RSA PKCS#1 v1.5 key transport (`rejection`).
//! - `engine`: relay-engine's forward pipeline, messages per second for known and new
//!   contacts (with and without a key pool), and the time of each stage of a forward.
//! - `smtp`: the release `mailrelay` binary between Postfix's smtp-source and smtp-sink on
//!   loopback: messages per second against the transport floor, latency, RSS ([`smtp`]).
//! - `memory`: the same binary's peak RSS per 16 MB message in flight, 1 and 8 at once
//!   ([`memory`]).
//! - no argument: `pki` and `engine`.
//!
//! These are benchmarks, not tests: they print tables and fail only if an operation fails.
//! The `cargo xtask` alias builds xtask in the dev profile, where pki-core (a workspace member)
//! is barely optimised; so a debug build of this command re-executes itself as
//! `cargo run --release --package xtask -- bench …` and the numbers always come from a release
//! build. `cargo run --release -p xtask -- bench pki` does the same thing directly.
//!
//! Each cell runs for at least `--secs` seconds (default 2), split into rounds that alternate
//! between the two libraries, so that load from other processes on the machine hits both
//! alike. pki-core draws from a fixed-seed ChaCha20 RNG; OpenSSL from its own.

mod engine;
mod memory;
mod message;
mod micro;
mod ossl;
mod pki;
mod rejection;
mod smtp;

use std::{
    process::Command,
    time::{Duration, Instant},
};

use crate::{Flags, Result, display, project_root};

/// Set in the environment of the re-executed release build, so that it never loops.
const REEXEC_VAR: &str = "XTASK_BENCH_REEXEC";
/// Rounds per cell: the two sides alternate this many times.
const ROUNDS: u32 = 4;

/// What to run, and for how long.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    /// Minimum measured time per cell, per library.
    pub(crate) per_cell: Duration,
    pub(crate) main: bool,
    pub(crate) micro: bool,
    /// The implicit-rejection timing section of `bench pki`.
    pub(crate) rejection: bool,
}

pub(crate) fn run(mut flags: Flags) -> Result {
    let secs = flags.value("--secs")?;
    let only = flags.value("--only")?;
    let suite = flags.positional();
    flags.finish()?;
    let (run_pki, run_engine, run_smtp, run_memory) = match suite.as_deref() {
        Some("pki") => (true, false, false, false),
        Some("engine") => (false, true, false, false),
        Some("smtp") => (false, false, true, false),
        Some("memory") => (false, false, false, true),
        Some(other) => {
            return Err(format!("unknown benchmark `{other}` (there are `pki`, `engine`, `smtp` and `memory`)").into());
        }
        None => (true, true, false, false),
    };
    let secs: f64 = match secs {
        Some(s) => s.parse().map_err(|_| format!("--secs: not a number: {s}"))?,
        None => 2.0,
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err("--secs must be positive".into());
    }
    let (main, micro, rejection) = match only.as_deref() {
        None => (true, true, true),
        Some("main") => (true, false, false),
        Some("micro") => (false, true, false),
        Some("rejection") => (false, false, true),
        Some(other) => return Err(format!("--only main|micro|rejection, not `{other}`").into()),
    };
    if only.is_some() && !run_pki {
        return Err("--only selects sections of `bench pki`".into());
    }

    if cfg!(debug_assertions) && std::env::var_os(REEXEC_VAR).is_none() {
        return reexec_release();
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build of xtask; the numbers mean little");
    }
    let cfg = Config { per_cell: Duration::from_secs_f64(secs), main, micro, rejection };
    if run_pki {
        pki::run(cfg)?;
    }
    if run_engine {
        engine::run(cfg)?;
    }
    if run_smtp {
        smtp::run()?;
    }
    if run_memory {
        memory::run()?;
    }
    Ok(())
}

/// Runs this same command line again from a release build.
fn reexec_release() -> Result {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(project_root())
        .args(["run", "--release", "--package", "xtask", "--"])
        .args(std::env::args_os().skip(1))
        .env(REEXEC_VAR, "1");
    eprintln!("bench: numbers need a release build; running `{}`", display(&cmd));
    let status = cmd.status().map_err(|e| format!("cannot start `{}`: {e}", display(&cmd)))?;
    if status.success() { Ok(()) } else { Err(format!("the release build of the benchmark failed ({status})").into()) }
}

/// Operations per second of one side of a cell.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rate {
    iterations: u64,
    elapsed: Duration,
}

impl Rate {
    pub(crate) fn per_sec(self) -> f64 {
        self.iterations as f64 / self.elapsed.as_secs_f64()
    }
}

/// Measures `ours` and `theirs` in alternating rounds, each for at least `cfg.per_cell` in all
/// and at least `min_iters` iterations. One untimed call of each warms caches first.
pub(crate) fn measure_pair(
    cfg: &Config,
    min_iters: u64,
    ours: &mut dyn FnMut() -> Result,
    theirs: &mut dyn FnMut() -> Result,
) -> Result<(Rate, Rate)> {
    ours()?;
    theirs()?;
    let round_time = cfg.per_cell / ROUNDS;
    let round_iters = min_iters.div_ceil(u64::from(ROUNDS));
    let mut a = Rate { iterations: 0, elapsed: Duration::ZERO };
    let mut b = a;
    for _ in 0..ROUNDS {
        time_round(&mut a, round_time, round_iters, ours)?;
        time_round(&mut b, round_time, round_iters, theirs)?;
    }
    Ok((a, b))
}

fn time_round(rate: &mut Rate, time: Duration, min_iters: u64, f: &mut dyn FnMut() -> Result) -> Result {
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        f()?;
        n += 1;
        if n >= min_iters && start.elapsed() >= time {
            break;
        }
    }
    rate.elapsed += start.elapsed();
    rate.iterations += n;
    Ok(())
}

/// A table printed row by row, as the measurements come in.
pub(crate) struct Table {
    ours: &'static str,
    theirs: &'static str,
}

const NAME_WIDTH: usize = 58;

impl Table {
    pub(crate) fn start(title: &str, ours: &'static str, theirs: &'static str) -> Self {
        println!("\n{title}");
        println!(
            "{:<NAME_WIDTH$} {:>12} {:>12} {:>9}",
            "operation",
            format!("{ours}/s"),
            format!("{theirs}/s"),
            "ratio"
        );
        println!("{}", "-".repeat(NAME_WIDTH + 12 + 12 + 9 + 3));
        Table { ours, theirs }
    }

    pub(crate) fn row(&self, name: &str, ours: Rate, theirs: Rate) {
        let (a, b) = (ours.per_sec(), theirs.per_sec());
        println!("{name:<NAME_WIDTH$} {a:>12.1} {b:>12.1} {:>8.2}x", a / b);
    }

    pub(crate) fn note(&self) {
        println!("ratio = {} / {} (above 1: {} is faster)", self.ours, self.theirs, self.ours);
    }
}
