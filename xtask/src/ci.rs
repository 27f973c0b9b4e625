//! `cargo xtask ci [--fuzz] [--package]`: the checks CI runs, in order, stopping at the first
//! failure. Each step prints its name and how long it took.
//!
//! 1. `cargo fmt --all --check`
//! 2. `cargo clippy --workspace --all-targets -- -D warnings`
//! 3. `cargo test --workspace`
//! 4. `cargo xtask wasm` (pki-core for wasm32, no getrandom / wasm-bindgen)
//! 5. `cargo xtask web --check` (the served wasm and SRI hashes match the source)
//! 6. `cargo deny check bans licenses sources`: skipped when cargo-deny is not installed, except
//!    under CI. Not `advisories`: the advisory database is fetched from GitHub, which neither the
//!    developers' machines nor CI can reach.
//! 7. with `--package`: `cargo package -p pki-core --no-verify --allow-dirty`
//! 8. with `--fuzz`: `cargo xtask fuzz --smoke`

use std::time::{Duration, Instant};

use crate::{Flags, Result, cargo, fuzz, has_cargo_plugin, run as run_cmd, wasm, web};

pub(crate) fn run(mut flags: Flags) -> Result {
    let with_fuzz = flags.flag("--fuzz");
    let with_package = flags.flag("--package");
    flags.finish()?;

    let mut timings: Vec<(&str, Duration)> = Vec::new();
    let mut step = |name: &'static str, f: &mut dyn FnMut() -> Result| -> Result {
        eprintln!("\n==> {name}");
        let start = Instant::now();
        let result = f();
        let took = start.elapsed();
        eprintln!("<== {name}: {} in {:.1} s", if result.is_ok() { "ok" } else { "FAILED" }, took.as_secs_f64());
        timings.push((name, took));
        result.map_err(|e| format!("step `{name}` failed: {e}").into())
    };

    step("fmt", &mut || {
        run_cmd(cargo().args(["fmt", "--all", "--check"]))
            .map_err(|e| format!("{e}\nrun `cargo fmt --all` to fix").into())
    })?;
    step("clippy", &mut || run_cmd(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])))?;
    step("test", &mut || run_cmd(cargo().args(["test", "--workspace"])))?;
    step("wasm", &mut || wasm::build_and_check(false))?;
    step("web", &mut || web::build(true))?;
    step("deny", &mut || {
        if has_cargo_plugin(None, "deny") {
            run_cmd(cargo().args(["deny", "check", "bans", "licenses", "sources"]))
        } else if running_in_ci() {
            Err("cargo-deny is not installed, and CI must run it: `cargo install cargo-deny --locked`".into())
        } else {
            eprintln!("cargo-deny is not installed: skipped (CI runs it; `cargo install cargo-deny --locked`)");
            Ok(())
        }
    })?;
    if with_package {
        step("package", &mut || run_cmd(cargo().args(["package", "-p", "pki-core", "--no-verify", "--allow-dirty"])))?;
    }
    if with_fuzz {
        step("fuzz smoke", &mut || fuzz::run_all(8))?;
    }

    eprintln!("\nci: all steps passed");
    for (name, took) in &timings {
        eprintln!("  {name:<12} {:>7.1} s", took.as_secs_f64());
    }
    Ok(())
}

/// True under CI (`CI` set to anything but empty, `0` or `false`).
fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}
