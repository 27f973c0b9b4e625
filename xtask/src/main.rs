//! Project automation, run as `cargo xtask <command>` (the alias lives in `.cargo/config.toml`).
//!
//! ```text
//! cargo xtask bench [pki|engine|smtp|memory] [--secs S] [--only main|micro|rejection]
//!                                     pki-core against OpenSSL, messages per second; the engine's
//!                                     forward pipeline and its stages; smtp-source → mailrelay →
//!                                     smtp-sink against the floor, latency, RSS; peak RSS per 16 MB
//!                                     message in flight (release build)
//! cargo xtask fuzz [--smoke]          every cargo-fuzz target in fuzz/, 60 s each (8 s with --smoke)
//! cargo xtask wasm [--check]          pki-core for wasm32-unknown-unknown, without getrandom/wasm-bindgen
//! cargo xtask web [--check]           the web page's wasm (crates/pki-wasm) and SRI hashes; --check: fail on any change
//! cargo xtask ci [--fuzz] [--package] fmt, clippy, tests, wasm, cargo-deny (+ fuzz smoke, cargo package)
//! cargo xtask fixtures [--check]      regenerate fixtures/pki with OpenSSL; --check: fail on any change
//! ```
//!
//! In the style of rust-analyzer's xtask: no argument-parsing crate, one file per command, and
//! every check prints the command that fixes it.

mod bench;
mod ci;
mod fixtures;
mod fuzz;
mod wasm;
mod web;

use std::{
    error::Error,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

/// Every command returns this; the message is printed by `main`.
pub(crate) type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

const USAGE: &str = "\
usage: cargo xtask <command> [flags]

commands:
  bench [pki|engine|smtp|memory] [--secs S] [--only main|micro|rejection]
                         pki: pki-core vs OpenSSL: sign+encrypt, decrypt+verify and recipient-cert
                         issuance per second (RSA-2048, P-256), RSA/ECDSA microbenchmarks, and the
                         timing of RSA PKCS#1 v1.5 implicit rejection in cms::open (--only picks one).
                         engine: forwards per second through relay-engine (known contact, new
                         contact with and without a key pool; RSA-2048, P-256) and time per stage.
                         smtp: smtp-source → mailrelay serve → smtp-sink on loopback (forward and reply,
                         1 and 20 sessions): msg/s against smtp-source → smtp-sink, p50/p99, RSS idle and
                         with 1,000 idle connections (needs Postfix's tools).
                         memory: peak RSS of mailrelay serve per 16 MB message forwarded (sign +
                         encrypt), 1 and 8 sessions at once, as a multiple of the message size.
                         No argument: pki and engine. Always runs a release build (re-executes itself
                         with `cargo run --release`). --secs: time per measured cell (default 2).
  fuzz [--smoke]         runs every target of `cargo +nightly fuzz list` in fuzz/ for 60 s (8 s with --smoke)
  wasm [--check]         builds pki-core for wasm32-unknown-unknown (release) and checks that neither
                         getrandom nor wasm-bindgen is in its graph; --check: `cargo check` instead of a build
  web [--check]          builds crates/pki-wasm for wasm32-unknown-unknown (release, reproducible flags),
                         copies it to crates/relay-server/web/ and updates the SRI hashes in the page;
                         --check: fail if the committed files differ from a fresh build
  ci [--fuzz] [--package]
                         fmt --check, clippy -D warnings, tests, wasm, cargo deny; --fuzz adds the fuzz
                         smoke run, --package adds `cargo package -p pki-core`
  fixtures [--check]     runs fixtures/pki/regenerate.sh; --check fails if fixtures/ changed
";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprint!("{USAGE}");
        return ExitCode::FAILURE;
    }
    let command = args.remove(0);
    let flags = Flags(args);
    let result = match command.as_str() {
        "bench" => bench::run(flags),
        "fuzz" => fuzz::run(flags),
        "wasm" => wasm::run(flags),
        "web" => web::run(flags),
        "ci" => ci::run(flags),
        "fixtures" => fixtures::run(flags),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}").into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {command}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The arguments after the command name, consumed flag by flag; [`Flags::finish`] rejects
/// whatever is left.
#[derive(Debug)]
pub(crate) struct Flags(Vec<String>);

impl Flags {
    /// True if `--name` was given (and removes it).
    pub(crate) fn flag(&mut self, name: &str) -> bool {
        match self.0.iter().position(|a| a == name) {
            Some(i) => {
                self.0.remove(i);
                true
            }
            None => false,
        }
    }

    /// The value of `--name VALUE` or `--name=VALUE`, if given.
    pub(crate) fn value(&mut self, name: &str) -> Result<Option<String>> {
        let prefix = format!("{name}=");
        if let Some(i) = self.0.iter().position(|a| a.starts_with(&prefix)) {
            let arg = self.0.remove(i);
            return Ok(Some(arg[prefix.len()..].to_string()));
        }
        match self.0.iter().position(|a| a == name) {
            Some(i) if i + 1 < self.0.len() => {
                let value = self.0.remove(i + 1);
                self.0.remove(i);
                Ok(Some(value))
            }
            Some(_) => Err(format!("{name} needs a value").into()),
            None => Ok(None),
        }
    }

    /// The next positional argument, if any.
    pub(crate) fn positional(&mut self) -> Option<String> {
        let i = self.0.iter().position(|a| !a.starts_with("--"))?;
        Some(self.0.remove(i))
    }

    /// Fails on anything not consumed.
    pub(crate) fn finish(self) -> Result {
        if self.0.is_empty() { Ok(()) } else { Err(format!("unexpected arguments: {}", self.0.join(" ")).into()) }
    }
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn project_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `cargo`, run in the workspace root. Plain `cargo` from `PATH`, so that rustup's proxy
/// handles `+nightly` and `rust-toolchain` files.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(project_root());
    cmd
}

/// Runs a command with inherited stdio, echoing it first; fails if it exits non-zero.
pub(crate) fn run(cmd: &mut Command) -> Result {
    eprintln!("$ {}", display(cmd));
    let status = cmd.status().map_err(|e| format!("cannot start `{}`: {e}", display(cmd)))?;
    if status.success() { Ok(()) } else { Err(format!("`{}` failed ({status})", display(cmd)).into()) }
}

/// Runs a command and returns its stdout; fails (with its stderr) if it exits non-zero.
pub(crate) fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().map_err(|e| format!("cannot start `{}`: {e}", display(cmd)))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("`{}` failed ({}):\n{}", display(cmd), out.status, String::from_utf8_lossy(&out.stderr)).into())
    }
}

/// True if `cargo <subcommand> --version` works (the plugin is installed).
pub(crate) fn has_cargo_plugin(toolchain: Option<&str>, subcommand: &str) -> bool {
    let mut cmd = cargo();
    if let Some(t) = toolchain {
        cmd.arg(t);
    }
    cmd.args([subcommand, "--version"]).output().is_ok_and(|o| o.status.success())
}

/// The command line, for messages.
pub(crate) fn display(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
