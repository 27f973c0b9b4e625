//! `mailrelay ceremony` against a real `mailrelay serve` (SQLite file, loopback sockets), with
//! what it writes checked by OpenSSL; and `serve` stopping on SIGTERM.

#![allow(clippy::unwrap_used)]

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

const MAILBOX: &str = "you@example.com";
const PASSWORD: &str = "correct horse battery staple";
const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn mailrelay(data_dir: &Path, http: u16, smtp: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailrelay"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env("MAILRELAY_DOMAINS", "pportal.io")
        .env("MAILRELAY_MASTER_KEY", MASTER_KEY)
        .env("MAILRELAY_HTTP_LISTEN", format!("127.0.0.1:{http}"))
        .env("MAILRELAY_SMTP_LISTEN", format!("127.0.0.1:{smtp}"))
        .env("MAILRELAY_NEXT_HOP_SMARTHOST", "127.0.0.1:9")
        .env_remove("MAILRELAY_TOKEN")
        .env_remove("MAILRELAY_P12_PASSWORD");
    cmd
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

struct Server {
    child: Child,
    http: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes an account with a verified mailbox and a token, then starts `serve`.
fn start(dir: &Path) -> (Server, String) {
    let (http, smtp) = (free_port(), free_port());
    let data = dir.join("data");
    let created = run_ok(mailrelay(&data, http, smtp).args(["account", "create", "--mailbox", MAILBOX]));
    assert!(created.starts_with("account 1,"), "{created}");
    let token_line = run_ok(mailrelay(&data, http, smtp).args(["token", "create", "--account", "1"]));
    let token = token_line.trim().rsplit(": ").next().unwrap().to_string();
    let child = mailrelay(&data, http, smtp).arg("serve").stderr(Stdio::piped()).spawn().unwrap();
    let server = Server { child, http };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", http)).is_err() {
        assert!(Instant::now() < deadline, "mailrelay serve did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, token)
}

fn ceremony(server: &Server, token: &str, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailrelay"))
        .args(["ceremony", "--server", &format!("http://127.0.0.1:{}", server.http), "--mailbox", MAILBOX])
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("MAILRELAY_TOKEN", token)
        .env_remove("MAILRELAY_P12_PASSWORD")
        .output()
        .unwrap()
}

fn openssl(args: &[&str], dir: &Path) -> String {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn get_json(server: &Server, token: &str, path: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{}{path}", server.http))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    })
}

#[test]
fn the_cli_ceremony_activates_a_profile_whose_files_openssl_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = start(dir.path());
    let out = dir.path().join("me");

    let run = ceremony(&server, &token, &out, &["--p12-password", PASSWORD]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    // What the root signed was shown before it signed it.
    assert!(stdout.contains("CA, pathLen:    0"), "{stdout}");
    assert!(stdout.contains("may issue for:  pportal.io, you@example.com"), "{stdout}");
    assert!(stdout.contains("profile 1 is active"), "{stdout}");
    assert!(!stdout.contains("password (shown once"), "a given password is not echoed");

    // The relay agrees.
    let profiles = get_json(&server, &token, "/api/profiles");
    let active: Vec<_> = profiles["profiles"].as_array().unwrap().iter().filter(|p| p["status"] == "active").collect();
    assert_eq!(active.len(), 1, "{profiles}");
    assert_eq!(active[0]["has_root"], true);

    // OpenSSL: the chain, strictly, for both uses; the .p12 files open with the password and
    // hold the key of ee.pem.
    for purpose in ["smimeencrypt", "smimesign"] {
        let verified = openssl(
            &[
                "verify",
                "-x509_strict",
                "-purpose",
                purpose,
                "-CAfile",
                "root.pem",
                "-untrusted",
                "chain.pem",
                "ee.pem",
            ],
            &out,
        );
        assert_eq!(verified.trim(), "ee.pem: OK");
    }
    let der_root = openssl(&["x509", "-inform", "DER", "-in", "root.cer", "-noout", "-fingerprint", "-sha256"], &out);
    let pem_root = openssl(&["x509", "-in", "root.pem", "-noout", "-fingerprint", "-sha256"], &out);
    assert_eq!(der_root, pem_root);
    let ee_pub = openssl(&["x509", "-in", "ee.pem", "-noout", "-pubkey"], &out);
    for p12 in ["ee.p12", "ee-compat.p12"] {
        let pass = format!("pass:{PASSWORD}");
        let mut args = vec!["pkcs12", "-in", p12, "-passin", &pass, "-nocerts", "-nodes"];
        if p12 == "ee-compat.p12" && openssl_is_3() {
            args.push("-legacy");
        }
        let key = openssl(&args, &out);
        std::fs::write(out.join("key.tmp"), key).unwrap();
        let p12_pub = openssl(&["pkey", "-in", "key.tmp", "-pubout"], &out);
        std::fs::remove_file(out.join("key.tmp")).unwrap();
        assert_eq!(p12_pub, ee_pub, "{p12} holds the key of ee.pem");
        let wrong = Command::new("openssl")
            .args(["pkcs12", "-in", p12, "-passin", "pass:wrong", "-noout"])
            .current_dir(&out)
            .output()
            .unwrap();
        assert!(!wrong.status.success(), "{p12} opened with a wrong password");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(out.join(p12)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{p12} is readable by others");
        }
    }

    // A second run does not overwrite the files.
    let again = ceremony(&server, &token, &out, &["--p12-password", PASSWORD]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // Without a password one is made and shown once; a new profile replaces the old one.
    let out2 = dir.path().join("me2");
    let run = ceremony(&server, &token, &out2, &["--key", "p256"]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    let password = stdout.lines().find_map(|l| l.strip_prefix("The .p12 password (shown once; keep it): ")).unwrap();
    assert_eq!(password.len(), 23, "{password}");
    openssl(&["pkcs12", "-in", "ee.p12", "-passin", &format!("pass:{password}"), "-noout"], &out2);
    let profiles = get_json(&server, &token, "/api/profiles");
    let statuses: Vec<_> =
        profiles["profiles"].as_array().unwrap().iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "active").count(), 1, "{profiles}");
}

#[test]
fn a_bad_token_or_an_unverified_mailbox_is_a_clear_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = start(dir.path());

    let run = ceremony(&server, "not-a-token", &dir.path().join("a"), &["--p12-password", PASSWORD]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("the relay refused (401"), "{stderr}");

    let run = Command::new(env!("CARGO_BIN_EXE_mailrelay"))
        .args(["ceremony", "--server", &format!("http://127.0.0.1:{}", server.http)])
        .args(["--mailbox", "someone.else@example.com", "--p12-password", PASSWORD, "--out"])
        .arg(dir.path().join("b"))
        .env("MAILRELAY_TOKEN", &token)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("not a verified mailbox"), "{stderr}");
    // Nothing was written for a ceremony that did not complete.
    assert!(!dir.path().join("b").join("ee.p12").exists());

    let profiles = get_json(&server, &token, "/api/profiles");
    assert!(profiles["profiles"].as_array().unwrap().iter().all(|p| p["status"] != "active"), "{profiles}");
}

#[cfg(unix)]
#[test]
fn serve_stops_cleanly_on_sigterm() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let (mut server, _) = start(dir.path());
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    let mut stderr = String::new();
    server.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("shutting down"), "{stderr}");
}

fn openssl_is_3() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("OpenSSL 3"))
}
