//! `cargo xtask fuzz [--smoke]`: runs every cargo-fuzz target in `fuzz/`.
//!
//! `fuzz/` is a standalone cargo-fuzz crate outside the workspace. Each target runs with a
//! writable corpus in `fuzz/corpus/<target>` (git-ignored) and, when it exists, the checked-in
//! seed corpus `fuzz/seeds/<target>` as a second, read-only corpus directory: libFuzzer reads
//! every directory given and writes new inputs only to the first.

use std::{fs, time::Instant};

use crate::{Flags, Result, cargo, display, has_cargo_plugin, output, project_root};

/// Seconds per target: a full run, and the smoke run CI uses.
const FULL_SECS: u32 = 60;
const SMOKE_SECS: u32 = 8;

pub(crate) fn run(mut flags: Flags) -> Result {
    let smoke = flags.flag("--smoke");
    flags.finish()?;
    run_all(if smoke { SMOKE_SECS } else { FULL_SECS })
}

/// Runs every target for `secs` seconds; fails if any target fails, after running them all.
pub(crate) fn run_all(secs: u32) -> Result {
    let fuzz_dir = project_root().join("fuzz");
    if !fuzz_dir.join("Cargo.toml").is_file() {
        return Err(format!(
            "no cargo-fuzz crate at {}: nothing to fuzz (it is created with `cargo +nightly fuzz init` \
             and holds one target per parser)",
            fuzz_dir.display()
        )
        .into());
    }
    if !has_cargo_plugin(Some("+nightly"), "fuzz") {
        return Err("`cargo +nightly fuzz` is not available: install it with `cargo install cargo-fuzz --locked` \
                    (and the nightly toolchain with `rustup toolchain install nightly`)"
            .into());
    }
    let mut list = cargo();
    list.current_dir(&fuzz_dir).args(["+nightly", "fuzz", "list"]);
    let targets: Vec<String> =
        output(&mut list)?.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    if targets.is_empty() {
        return Err(format!("`{}` lists no targets", display(&list)).into());
    }
    let mut failed = Vec::new();
    for target in &targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        fs::create_dir_all(&corpus).map_err(|e| format!("cannot create {}: {e}", corpus.display()))?;
        let seeds = fuzz_dir.join("seeds").join(target);
        let mut cmd = cargo();
        cmd.current_dir(&fuzz_dir).args(["+nightly", "fuzz", "run", target]).arg(&corpus);
        if seeds.is_dir() {
            cmd.arg(&seeds);
        }
        cmd.arg("--").arg(format!("-max_total_time={secs}"));
        eprintln!("$ {}", display(&cmd));
        let start = Instant::now();
        let status = cmd.status().map_err(|e| format!("cannot start `{}`: {e}", display(&cmd)))?;
        eprintln!("fuzz target {target}: {status} after {:.1} s", start.elapsed().as_secs_f64());
        if !status.success() {
            failed.push(target.as_str());
        }
    }
    if failed.is_empty() {
        eprintln!("fuzz: {} targets ran {secs} s each without a failure", targets.len());
        Ok(())
    } else {
        Err(format!(
            "fuzz targets failed: {} (crash inputs are in fuzz/artifacts/<target>/; reproduce with \
             `cargo +nightly fuzz run <target> <artifact>` in fuzz/)",
            failed.join(", ")
        )
        .into())
    }
}
