//! Thin, honest wrappers around the command-line tools.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// A tool's exit status and output.
#[derive(Debug)]
pub struct Out {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_bytes: Vec<u8>,
}

impl Out {
    /// Panics with the tool's output unless it succeeded.
    #[track_caller]
    pub fn expect_ok(self, what: &str) -> Self {
        assert!(self.ok, "{what} failed ({:?}):\nstdout: {}\nstderr: {}", self.code, self.stdout, self.stderr);
        self
    }

    /// Both streams, for grepping.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs a command with optional stdin.
pub fn run(cmd: &str, args: &[&str], stdin: Option<&[u8]>, envs: &[(&str, &Path)]) -> Out {
    let mut c = Command::new(cmd);
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    for (k, v) in envs {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Out {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout_bytes: out.stdout,
    }
}

/// Is `tool` on the PATH? If not: skip (returns false) or, under `INTEROP_REQUIRED=1`, fail.
pub fn require(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("INTEROP_REQUIRED").as_deref() == Ok("1") {
            panic!("{tool} is required (INTEROP_REQUIRED=1) but not installed");
        }
        eprintln!("SKIPPED: {tool} not installed");
    }
    found
}

/// `openssl ARGS`.
pub fn openssl(args: &[&str]) -> Out {
    run("openssl", args, None, &[])
}

/// A scratch directory for one test.
pub struct Work {
    dir: tempfile::TempDir,
}

impl Default for Work {
    fn default() -> Self {
        Self::new()
    }
}

impl Work {
    pub fn new() -> Self {
        Work { dir: tempfile::tempdir().unwrap() }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// Writes a file and returns its path as a string, for argument lists.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_string_lossy().into_owned()
    }
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }
    pub fn p(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

/// An NSS database with an empty password (the store Thunderbird uses).
pub struct NssDb {
    pub dir: String,
}

impl NssDb {
    pub fn new(work: &Work, name: &str) -> Self {
        let path = work.path(name);
        std::fs::create_dir_all(&path).unwrap();
        let dir = format!("sql:{}", path.display());
        run("certutil", &["-N", "-d", &dir, "--empty-password"], None, &[]).expect_ok("certutil -N");
        NssDb { dir }
    }
    /// Adds a certificate with trust flags (`"C,C,"` for a trusted CA, `",,"` for none).
    pub fn add_cert(&self, nick: &str, trust: &str, pem_path: &str) {
        run("certutil", &["-A", "-d", &self.dir, "-n", nick, "-t", trust, "-a", "-i", pem_path], None, &[])
            .expect_ok("certutil -A");
    }
    pub fn certutil(&self, args: &[&str]) -> Out {
        let mut a = vec!["-d", &self.dir];
        a.extend_from_slice(args);
        run("certutil", &a, None, &[])
    }
    pub fn cmsutil(&self, args: &[&str]) -> Out {
        let mut a = vec![args[0], "-d", &self.dir];
        a.extend_from_slice(&args[1..]);
        run("cmsutil", &a, None, &[])
    }
    pub fn pk12util(&self, args: &[&str]) -> Out {
        let mut a = vec!["-d", &self.dir];
        a.extend_from_slice(args);
        run("pk12util", &a, None, &[])
    }
}

/// A throwaway GnuPG home for gpgsm: no network, loopback pinentry.
pub struct Gpgsm {
    pub home: PathBuf,
}

impl Gpgsm {
    pub fn new(work: &Work) -> Self {
        let home = work.path("gnupghome");
        std::fs::create_dir_all(&home).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(home.join("gpgsm.conf"), "disable-crl-checks\ndisable-ocsp\ndisable-dirmngr\n# gpgsm 2.2 cannot process nameConstraints and refuses certificates that carry them\n# (critical, as RFC 5280 requires) unless told to skip them.\nignore-cert-extension 2.5.29.30\n").unwrap();
        std::fs::write(home.join("gpg-agent.conf"), "allow-loopback-pinentry\n").unwrap();
        // Start the agent before the first passphrase is fed, so that a passphrase on stdin
        // never races the agent's start-up.
        run("gpgconf", &["--launch", "gpg-agent"], None, &[("GNUPGHOME", &home)])
            .expect_ok("gpgconf --launch gpg-agent");
        Gpgsm { home }
    }
    pub fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Out {
        let mut a = vec!["--batch", "--yes", "--pinentry-mode", "loopback"];
        a.extend_from_slice(args);
        run("gpgsm", &a, stdin, &[("GNUPGHOME", &self.home)])
    }
    /// Makes `p12` from `key`, `cert` and `chain` with OpenSSL in the legacy format that old
    /// clients read (PBE-SHA1-3DES, a SHA-1 MAC, password `pw`) and imports it. gpgsm 2.2
    /// cannot decrypt the key bag of a few percent of such files, which OpenSSL and NSS read
    /// (`data error at "shrouded_key_bag.decrypted-text"`, the same file every time: 1 in 30
    /// here). Such a file is made again, with fresh salts, up to four times.
    pub fn import_openssl_p12(&self, key: &str, cert: &str, chain: Option<&str>, p12: &str) -> Out {
        let mut args = vec!["pkcs12", "-export", "-inkey", key, "-in", cert];
        if let Some(chain) = chain {
            args.extend(["-certfile", chain]);
        }
        args.extend(["-passout", "pass:pw", "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES"]);
        args.extend(["-macalg", "sha1", "-out", p12]);
        let mut tries = 0;
        loop {
            openssl(&args).expect_ok("openssl pkcs12 -export");
            let out = self.run(&["--passphrase-fd", "0", "--import", p12], Some(b"pw\n"));
            tries += 1;
            if out.ok || tries == 4 || !out.stderr.contains("shrouded_key_bag.decrypted-text") {
                return out;
            }
        }
    }
    /// Marks a root as trusted for S/MIME through trustlist.txt (SHA-1 fingerprint + `S`).
    pub fn trust_root(&self, root_pem: &str) {
        let fpr = openssl(&["x509", "-in", root_pem, "-noout", "-fingerprint", "-sha1"]).expect_ok("fingerprint");
        let fpr = fpr.stdout.trim().split('=').nth(1).unwrap().to_string();
        std::fs::write(self.home.join("trustlist.txt"), format!("{fpr} S\n")).unwrap();
    }
}

impl Drop for Gpgsm {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf").args(["--kill", "all"]).env("GNUPGHOME", &self.home).output();
    }
}
