//! `cargo xtask web [--check]`: builds the web page's WebAssembly module (crates/pki-wasm) and
//! brings the files `mailrelay serve` embeds up to date.
//!
//! ```text
//!  crates/pki-wasm ──cargo build (wasm32, release, fixed flags)──▶ target/web-wasm/…/pki_wasm.wasm
//!        │ copy                                                            │ sha384
//!        ▼                                                                 ▼
//!  crates/relay-server/web/pki.wasm            web/pki.js: const WASM_INTEGRITY = "sha384-…"
//!                                                                          │ sha384 of every .js
//!                                                                          ▼
//!                              web/index.html: integrity="sha384-…" on the script and each
//!                              <link rel="modulepreload"> (so imported modules are checked too)
//! ```
//!
//! The build is deterministic: `--remap-path-prefix` maps the workspace to `/mailrelay` and the
//! cargo home to `/cargo`, and the profile (LTO, one codegen unit, `opt-level = "s"`, abort on
//! panic, stripped) is given on the command line, so the output does not depend on the checkout
//! path or on local profile settings. It has its own target directory (`target/web-wasm`), so
//! the flags do not invalidate the normal build.
//!
//! With `--check` nothing is written: it fails if any committed file differs from what a fresh
//! build gives, and says which and how to fix it.

use std::{
    fs,
    path::{Path, PathBuf},
};

use crate::{Flags, Result, cargo, project_root, run as run_cmd};

const TARGET: &str = "wasm32-unknown-unknown";
const WEB_DIR: &str = "crates/relay-server/web";
/// The JS module holding the wasm's integrity hash.
const LOADER: &str = "pki.js";
const WASM_CONST: &str = "const WASM_INTEGRITY = \"";

pub(crate) fn run(mut flags: Flags) -> Result {
    let check = flags.flag("--check");
    flags.finish()?;
    build(check)
}

/// Builds and updates (or, with `check`, compares) the web files.
pub(crate) fn build(check: bool) -> Result {
    let root = project_root();
    let wasm = build_wasm(&root)?;
    let web = root.join(WEB_DIR);
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let wasm_integrity = integrity(&wasm);
    files.push((web.join("pki.wasm"), wasm.clone()));

    let loader = read_text(&web.join(LOADER))?;
    let loader = replace_quoted(&loader, WASM_CONST, &wasm_integrity)
        .ok_or_else(|| format!("{WEB_DIR}/{LOADER} has no `{WASM_CONST}…\"` line"))?;
    let mut js: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in fs::read_dir(&web).map_err(|e| format!("{}: {e}", web.display()))? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
        if name.ends_with(".js") {
            let bytes = if name == LOADER { loader.clone().into_bytes() } else { fs::read(&path)? };
            js.push((name, bytes));
        }
    }
    js.sort();
    let mut html = read_text(&web.join("index.html"))?;
    for (name, bytes) in &js {
        html = set_integrity(&html, name, &integrity(bytes))
            .ok_or_else(|| format!("{WEB_DIR}/index.html does not load {name} with an integrity attribute"))?;
        files.push((web.join(name), bytes.clone()));
    }
    files.push((web.join("index.html"), html.into_bytes()));

    let gz = gzip_len(&wasm);
    eprintln!("web: pki.wasm is {} bytes ({} gzipped), {wasm_integrity}", wasm.len(), gz.unwrap_or_default());
    let mut stale = Vec::new();
    for (path, bytes) in &files {
        if fs::read(path).ok().as_deref() != Some(bytes.as_slice()) {
            stale.push(path.strip_prefix(&root).unwrap_or(path).display().to_string());
            if !check {
                fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    match (check, stale.is_empty()) {
        (_, true) => eprintln!("web: the committed files match the build"),
        (false, false) => eprintln!("web: updated {}", stale.join(", ")),
        (true, false) => {
            return Err(format!(
                "the committed web files differ from a fresh build: {}\nrun `cargo xtask web` and commit them",
                stale.join(", ")
            )
            .into());
        }
    }
    Ok(())
}

/// The release build of pki-wasm, with flags that make it reproducible.
fn build_wasm(root: &Path) -> Result<Vec<u8>> {
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| Path::new(&h).join(".cargo")))
        .map_err(|_| "neither CARGO_HOME nor HOME is set")?;
    let rustflags = format!(
        "--remap-path-prefix={}=/mailrelay --remap-path-prefix={}=/cargo -C debuginfo=0",
        root.display(),
        cargo_home.display()
    );
    let target_dir = root.join("target/web-wasm");
    let mut cmd = cargo();
    cmd.env("RUSTFLAGS", rustflags).env_remove("CARGO_ENCODED_RUSTFLAGS").env("CARGO_TARGET_DIR", &target_dir);
    cmd.args(["build", "-p", "pki-wasm", "--lib", "--locked", "--target", TARGET, "--release"]);
    for config in [
        "profile.release.lto=true",
        "profile.release.opt-level=\"s\"",
        "profile.release.codegen-units=1",
        "profile.release.panic=\"abort\"",
        "profile.release.strip=true",
        "profile.release.debug=false",
        "profile.release.incremental=false",
    ] {
        cmd.args(["--config", config]);
    }
    run_cmd(&mut cmd).map_err(|e| format!("{e}\n(is the target installed? `rustup target add {TARGET}`)"))?;
    let out = target_dir.join(TARGET).join("release/pki_wasm.wasm");
    Ok(fs::read(&out).map_err(|e| format!("{}: {e}", out.display()))?)
}

fn read_text(path: &Path) -> Result<String> {
    Ok(fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?)
}

/// `sha384-<base64>`, as in SRI.
fn integrity(bytes: &[u8]) -> String {
    format!("sha384-{}", openssl::base64::encode_block(&openssl::sha::sha384(bytes)))
}

/// Gzipped size (`gzip -9`), for the message; `None` if gzip is not installed.
fn gzip_len(bytes: &[u8]) -> Option<usize> {
    use std::io::Write;
    let mut child = std::process::Command::new("gzip")
        .arg("-9c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(bytes).ok()?;
    Some(child.wait_with_output().ok()?.stdout.len())
}

/// Replaces the quoted value after `prefix` (up to the next `"`).
fn replace_quoted(text: &str, prefix: &str, value: &str) -> Option<String> {
    let start = text.find(prefix)? + prefix.len();
    let end = start + text[start..].find('"')?;
    Some(format!("{}{value}{}", &text[..start], &text[end..]))
}

/// Sets `integrity="…"` on every tag of `html` whose `src` or `href` is `name`; `None` if no
/// tag loads it with an integrity attribute.
fn set_integrity(html: &str, name: &str, value: &str) -> Option<String> {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut found = false;
    while let Some(open) = rest.find('<') {
        let close = open + rest[open..].find('>')? + 1;
        let tag = &rest[open..close];
        out.push_str(&rest[..open]);
        let loads = tag.contains(&format!("src=\"{name}\"")) || tag.contains(&format!("href=\"{name}\""));
        match (loads, replace_quoted(tag, "integrity=\"", value)) {
            (true, Some(new)) => {
                found = true;
                out.push_str(&new);
            }
            _ => out.push_str(tag),
        }
        rest = &rest[close..];
    }
    out.push_str(rest);
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::{replace_quoted, set_integrity};

    #[test]
    fn integrity_attributes_are_set_on_the_tags_that_load_the_file() {
        let html = "<link rel=\"modulepreload\" href=\"api.js\" integrity=\"old\">\n\
                    <script type=\"module\" src=\"app.js\" integrity=\"x\"></script>";
        let out = set_integrity(html, "api.js", "sha384-N").unwrap();
        assert!(out.contains("href=\"api.js\" integrity=\"sha384-N\">"));
        assert!(out.contains("src=\"app.js\" integrity=\"x\""));
        assert!(set_integrity(html, "other.js", "v").is_none());
        assert_eq!(replace_quoted("const A = \"1\";", "const A = \"", "2").unwrap(), "const A = \"2\";");
    }
}
