//! `cargo xtask fixtures [--check]`: regenerates the OpenSSL-made vectors under `fixtures/pki`
//! by running `fixtures/pki/regenerate.sh` (which holds every command, next to NOTES.md).
//!
//! `--check` then fails if `git status --porcelain fixtures/` shows anything: a fixture that
//! differs from what its recorded command makes, or one that was never committed.

use std::process::Command;

use crate::{Flags, Result, output, project_root, run as run_cmd};

const SCRIPT: &str = "fixtures/pki/regenerate.sh";

pub(crate) fn run(mut flags: Flags) -> Result {
    let check = flags.flag("--check");
    flags.finish()?;
    let root = project_root();
    if root.join(SCRIPT).is_file() {
        run_cmd(Command::new("bash").arg(SCRIPT).current_dir(&root))?;
    } else {
        eprintln!("fixtures: {SCRIPT} does not exist yet; nothing to regenerate");
    }
    if !check {
        return Ok(());
    }
    let status = output(Command::new("git").args(["status", "--porcelain", "--", "fixtures/"]).current_dir(&root))?;
    if status.trim().is_empty() {
        eprintln!("fixtures: up to date");
        Ok(())
    } else {
        Err(format!(
            "fixtures/ differs from what {SCRIPT} makes, or holds uncommitted files:\n{status}\
             run `cargo xtask fixtures` and commit the result"
        )
        .into())
    }
}
