//! `cargo xtask wasm [--check]`: pki-core must build for `wasm32-unknown-unknown` without
//! `getrandom` or `wasm-bindgen` in its graph. The browser side hands in its own RNG (from
//! `crypto.getRandomValues`) and time, so nothing in the crate may reach for a JS shim.
//!
//! Without `--check` it makes a release build; with it, `cargo check` (faster, same errors).
//! The target is installed with `rustup target add wasm32-unknown-unknown`.

use crate::{Flags, Result, cargo, output, run as run_cmd};

const TARGET: &str = "wasm32-unknown-unknown";
const PACKAGE: &str = "pki-core";
/// Crates that must not be in pki-core's normal dependency graph on wasm: no global RNG or JS
/// glue, and no C crypto (the workspace allows ring for relay-server's rustls only).
const FORBIDDEN: [&str; 7] = ["getrandom", "wasm-bindgen", "ring", "aws-lc-rs", "aws-lc-sys", "openssl", "openssl-sys"];

pub(crate) fn run(mut flags: Flags) -> Result {
    let check_only = flags.flag("--check");
    flags.finish()?;
    build_and_check(check_only)
}

/// Builds (or checks) pki-core for wasm32 and checks its dependency graph.
pub(crate) fn build_and_check(check_only: bool) -> Result {
    let mut cmd = cargo();
    if check_only {
        cmd.args(["check", "-p", PACKAGE, "--target", TARGET]);
    } else {
        cmd.args(["build", "-p", PACKAGE, "--target", TARGET, "--release"]);
    }
    run_cmd(&mut cmd).map_err(|e| format!("{e}\n(is the target installed? `rustup target add {TARGET}`)"))?;

    let tree = output(cargo().args(["tree", "-p", PACKAGE, "--target", TARGET, "-e", "normal", "--prefix", "depth"]))?;
    let found = forbidden_paths(&tree);
    if found.is_empty() {
        eprintln!("wasm: {PACKAGE} builds for {TARGET}; none of {} is in its graph", FORBIDDEN.join(", "));
        return Ok(());
    }
    let mut msg = format!("{PACKAGE}'s graph on {TARGET} pulls in a forbidden crate:\n");
    for path in &found {
        msg.push_str("  ");
        msg.push_str(&path.join(" -> "));
        msg.push('\n');
    }
    msg.push_str(&format!("(see `cargo tree -p {PACKAGE} --target {TARGET} -e normal -i <crate>`)"));
    Err(msg.into())
}

/// Every path from the root to a forbidden crate in `cargo tree --prefix depth` output, each as
/// the list of `name version` entries along the way.
fn forbidden_paths(tree: &str) -> Vec<Vec<String>> {
    let mut stack: Vec<String> = Vec::new();
    let mut paths = Vec::new();
    for line in tree.lines() {
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(depth) = line[..digits].parse::<usize>() else {
            continue;
        };
        let entry: String = line[digits..].split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        stack.truncate(depth);
        stack.push(entry);
        let name = line[digits..].split_whitespace().next().unwrap_or_default();
        if FORBIDDEN.contains(&name) {
            paths.push(stack.clone());
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

#[cfg(test)]
mod tests {
    use super::forbidden_paths;

    #[test]
    fn names_the_path_to_getrandom() {
        let tree = "0pki-core v0.1.0 (/x)\n1rsa v0.10.0\n2crypto-bigint v0.7.11\n3getrandom v0.3.1\n1sha2 v0.11.1\n";
        let paths = forbidden_paths(tree);
        assert_eq!(paths, vec![vec!["pki-core v0.1.0", "rsa v0.10.0", "crypto-bigint v0.7.11", "getrandom v0.3.1"]]);
        assert!(forbidden_paths("0pki-core v0.1.0 (/x)\n1sha2 v0.11.1\n").is_empty());
    }
}
