//! Test support for the end-to-end tests: the real `mailrelay serve` binary on loopback ports
//! with a SQLite file in a temporary directory, Postfix's `smtp-sink` as its next hop (dumping
//! each message to a file), `swaks` as the sending client, a small HTTP/1.1 client for the API,
//! and the owner's side of the S/MIME ceremony. Included by `e2e.rs` and `nothing_lost.rs` as a
//! module; built on its own it is an empty test crate.
//!
//! ```text
//!  swaks / smtp-source / own client ──SMTP──▶ mailrelay serve ──SMTP──▶ smtp-sink -d DIR/…
//!  test (HTTP/1.1 over TcpStream) ────HTTP──▶      │ SQLite file             │ one file per message
//!                                                  └ tempdir/data            └ read back, decrypted
//! ```
//!
//! Everything here is blocking (std threads and processes): the relay runs in its own process.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64ct::{Base64, Encoding};
use der::{Encode, EncodePem, pem::LineEnding};
use pki_core::{
    KeyAlgorithm, PrivateKey, UnixTime,
    address::Mailbox,
    cert::{self, Lifetime},
    csr, smime,
};
use serde_json::{Value, json};
use x509_cert::Certificate;

/// The operator's token the relays under test are started with (`MAILRELAY_ADMIN_TOKEN`).
pub(crate) const ADMIN: &str = "e2e-admin-token";
/// The relay domain.
pub(crate) const DOMAIN: &str = "pportal.io";
/// The root's subject the ceremony requires.
const ROOT_CN: &str = "Mail relay user root";
/// How long to wait for a process to come up, or for a message to reach the sink.
pub(crate) const WAIT: Duration = Duration::from_secs(60);

const SMTP_SINK: &str = "/usr/sbin/smtp-sink";
const SMTP_SOURCE: &str = "/usr/sbin/smtp-source";

/// True if `swaks`, `smtp-sink` and `smtp-source` are all installed. If one is missing, the
/// test is skipped (with a message), unless `INTEROP_REQUIRED` is set: then it fails.
pub(crate) fn tools_present() -> bool {
    let missing: Vec<&str> = [
        ("swaks", Command::new("swaks").arg("--version").output().is_ok_and(|o| o.status.success())),
        ("smtp-sink", Path::new(SMTP_SINK).exists()),
        ("smtp-source", Path::new(SMTP_SOURCE).exists()),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(name, _)| name)
    .collect();
    if missing.is_empty() {
        return true;
    }
    let required = std::env::var("INTEROP_REQUIRED").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(!required, "INTEROP_REQUIRED is set but {missing:?} are missing (apt-get install swaks postfix)");
    eprintln!(
        "skipped: {missing:?} not installed (apt-get install swaks postfix); set INTEROP_REQUIRED=1 to fail instead"
    );
    false
}

/// A loopback port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A temporary directory that `smtp-sink` can reach when it drops root privileges to `nobody`.
pub(crate) fn tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    set_mode(dir.path(), 0o755);
    dir
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// Waits until something accepts connections on `port`, or `alive` says the process died.
fn wait_listening(port: u16, what: &str, mut alive: impl FnMut() -> bool) {
    let start = Instant::now();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(alive(), "{what} exited before listening on {port}");
        assert!(start.elapsed() < WAIT, "{what} is not listening on {port} after {WAIT:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One message as `smtp-sink -d` dumped it.
#[derive(Clone, Debug)]
pub(crate) struct Dumped {
    /// `MAIL FROM` argument, without the brackets (empty for `<>`).
    pub(crate) mail_from: String,
    /// `RCPT TO` arguments, without the brackets.
    pub(crate) rcpts: Vec<String>,
    /// The message, with CRLF line endings.
    pub(crate) data: Vec<u8>,
    /// The dump file.
    pub(crate) path: PathBuf,
}

impl Dumped {
    /// The message as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// `/usr/sbin/smtp-sink` on a loopback port, optionally dumping every message to a directory.
pub(crate) struct Sink {
    pub(crate) port: u16,
    dir: Option<PathBuf>,
    child: Child,
}

impl Sink {
    /// A sink on a new port writing each message to a file under `dir`.
    pub(crate) fn dumping(dir: &Path) -> Sink {
        Sink::start(free_port(), Some(dir), &[])
    }

    /// A sink on `port` with extra `smtp-sink` options (`-r .`, `-f .`, `-w 30`, …), dumping to
    /// `dir` if given.
    pub(crate) fn start(port: u16, dir: Option<&Path>, options: &[&str]) -> Sink {
        let mut cmd = Command::new(SMTP_SINK);
        if is_root() {
            cmd.args(["-u", "nobody"]); // smtp-sink refuses to run as root without it
        }
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir).unwrap();
            set_mode(dir, 0o777);
            // One subdirectory per second keeps the name collisions of the random suffix away.
            cmd.args(["-d", &format!("{}/%H%M%S/", dir.display())]);
        }
        cmd.args(["-m", "512", "-t", "60"]).args(options).args([&format!("127.0.0.1:{port}"), "1024"]);
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("smtp-sink starts");
        wait_listening(port, "smtp-sink", || child.try_wait().is_ok_and(|s| s.is_none()));
        Sink { port, dir: dir.map(Path::to_path_buf), child }
    }

    /// Every message dumped so far, oldest first (by the time the file was last written).
    pub(crate) fn messages(&self) -> Vec<Dumped> {
        let Some(dir) = &self.dir else { return Vec::new() };
        let mut files = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let written = entry.metadata().and_then(|m| m.modified()).unwrap();
                    files.push((written, path));
                }
            }
        }
        files.sort();
        files.into_iter().filter_map(|(_, p)| parse_dump(&p)).collect()
    }

    /// Waits until at least `n` messages are dumped; returns them all.
    pub(crate) fn wait_for(&self, n: usize) -> Vec<Dumped> {
        let start = Instant::now();
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(start.elapsed() < WAIT, "the sink has {} messages, expected {n}", got.len());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The messages dumped after the first `seen`, once their number has not changed for `quiet`.
    pub(crate) fn settled(&self, quiet: Duration) -> Vec<Dumped> {
        let mut last = usize::MAX;
        let mut since = Instant::now();
        loop {
            let n = self.messages().len();
            if n != last {
                last = n;
                since = Instant::now();
            } else if since.elapsed() >= quiet {
                return self.messages();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the sink (SIGKILL to its own process) and waits for it.
    pub(crate) fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A dump file: smtp-sink's own header lines (`X-Mail-Args`, `X-Rcpt-Args`, …) up to its
/// three-line `Received:`, then the message, then an empty line. `None` while it is still
/// being written (no message yet).
fn parse_dump(path: &Path) -> Option<Dumped> {
    let raw = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let mut mail_from = String::new();
    let mut rcpts = Vec::new();
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n');
    for line in lines.by_ref() {
        offset += line.len();
        let l = line.trim_end();
        if let Some(v) = l.strip_prefix("X-Mail-Args: ") {
            mail_from = bracketed(v);
        } else if let Some(v) = l.strip_prefix("X-Rcpt-Args: ") {
            rcpts.push(bracketed(v));
        } else if l.starts_with("Received: ") {
            break;
        }
    }
    for line in lines {
        if !line.starts_with('\t') {
            break;
        }
        offset += line.len();
    }
    let body = raw.get(offset..)?;
    // The dump ends with one empty line of smtp-sink's own.
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    if body.is_empty() {
        return None;
    }
    Some(Dumped { mail_from, rcpts, data: pki_core::mime::canonicalize(body), path: path.to_path_buf() })
}

/// `<a@b> SIZE=1` → `a@b`.
fn bracketed(args: &str) -> String {
    let first = args.split_whitespace().next().unwrap_or("");
    first.trim_start_matches('<').trim_end_matches('>').to_owned()
}

/// Settings of a relay under test.
#[derive(Clone, Debug)]
pub(crate) struct RelayOptions {
    /// The next hop's port on 127.0.0.1.
    pub(crate) next_hop: u16,
    /// Seconds the relay waits for each reply of the next hop.
    pub(crate) reply_timeout_secs: u64,
    /// Concurrent SMTP connections from one IP (every client here is 127.0.0.1).
    pub(crate) per_ip: usize,
    /// Concurrent SMTP connections in all.
    pub(crate) max_connections: usize,
    /// Keys of `[abuse]` (`key = value` lines). The rates a key does not set are generous: the
    /// tests send many messages from 127.0.0.1.
    pub(crate) abuse: String,
    /// Extra keys of `[smtp]`.
    pub(crate) smtp_extra: String,
}

impl RelayOptions {
    /// Defaults for a next hop on `port`.
    pub(crate) fn new(next_hop: u16) -> Self {
        RelayOptions {
            next_hop,
            reply_timeout_secs: 10,
            per_ip: 64,
            max_connections: 256,
            abuse: String::new(),
            smtp_extra: String::new(),
        }
    }
}

/// `[abuse]`'s lines: `given`, and a generous rate for each rate it does not set, and room for
/// key generations on demand (two first messages of one new sender in two sessions, right after
/// start, both need a key before the pool has filled).
fn abuse_section(given: &str) -> String {
    let set: Vec<&str> = given.lines().filter_map(|l| l.split('=').next()).map(str::trim).collect();
    let mut out = given.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !set.contains(&"keygen_on_demand") {
        out.push_str("keygen_on_demand = 8\n");
    }
    for key in ["connections_per_ip", "messages_per_ip", "new_contacts_per_account", "replies_per_account"] {
        if !set.contains(&key) {
            out.push_str(&format!("{key} = {{ burst = 100000, per_hour = 100000000 }}\n"));
        }
    }
    out
}

/// `mailrelay serve` as a child process, with its SQLite file and master key in `dir/data`.
pub(crate) struct Relay {
    pub(crate) smtp: u16,
    pub(crate) http: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// Starts so far (1 after [`Relay::start`]).
    pub(crate) starts: u32,
}

impl Relay {
    /// Writes a configuration under `dir` and starts the relay; returns once SMTP and HTTP
    /// answer.
    pub(crate) fn start(dir: &Path, opts: &RelayOptions) -> Relay {
        let (smtp, http) = (free_port(), free_port());
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).unwrap();
        let config = format!(
            "domains = [\"{DOMAIN}\"]\n\
             data_dir = \"{data}\"\n\
             master_key = \"{key}\"\n\
             [smtp]\n\
             listen = \"127.0.0.1:{smtp}\"\n\
             hostname = \"mx.{DOMAIN}\"\n\
             max_connections = {max}\n\
             max_connections_per_ip = {per_ip}\n\
             command_timeout_secs = 60\n\
             data_timeout_secs = 60\n\
             {smtp_extra}\
             [next_hop]\n\
             smarthost = \"127.0.0.1:{hop}\"\n\
             reply_timeout_secs = {timeout}\n\
             [http]\n\
             listen = \"127.0.0.1:{http}\"\n\
             [abuse]\n{abuse}",
            data = dir.join("data").display(),
            key = Base64::encode_string(&key),
            max = opts.max_connections,
            per_ip = opts.per_ip,
            hop = opts.next_hop,
            timeout = opts.reply_timeout_secs,
            abuse = abuse_section(&opts.abuse),
            smtp_extra = opts.smtp_extra,
        );
        std::fs::write(dir.join("mailrelay.toml"), config).unwrap();
        let mut relay = Relay { smtp, http, dir: dir.to_path_buf(), child: None, starts: 0 };
        relay.spawn();
        relay
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("relay.log")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_mailrelay"))
            .args(["serve", "--config"])
            .arg(self.dir.join("mailrelay.toml"))
            .env("MAILRELAY_ADMIN_TOKEN", ADMIN)
            .env("MAILRELAY_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mailrelay starts");
        let mut alive = || child.try_wait().is_ok_and(|s| s.is_none());
        wait_listening(self.smtp, "mailrelay (SMTP)", &mut alive);
        wait_listening(self.http, "mailrelay (HTTP)", &mut alive);
        self.child = Some(child);
        self.starts += 1;
        let (status, body) = self.http("GET", "/healthz", None, None);
        assert_eq!(status, 200, "healthz: {body}\n{}", self.log());
    }

    /// SIGKILL (Rust's `Child::kill` on Unix), no chance to finish anything.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts the relay again on the same ports, data directory and SQLite file.
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// What the relay wrote to stderr.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("relay.log")).unwrap_or_default()
    }

    /// One HTTP/1.1 request (`Connection: close`); the status and the JSON body (or the body
    /// as a JSON string if it is not JSON).
    pub(crate) fn http(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
        let mut s = TcpStream::connect(("127.0.0.1", self.http)).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if let Some(t) = token {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        req.push_str(&body);
        s.write_all(req.as_bytes()).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let out = String::from_utf8_lossy(&out);
        let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("bad response: {out}"));
        let (head, rest) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
        let rest =
            if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(rest) } else { rest.into() };
        let json = serde_json::from_str(&rest).unwrap_or(Value::String(rest));
        (status, json)
    }

    /// [`Relay::http`] expecting `want`; the body.
    pub(crate) fn api(&self, method: &str, path: &str, token: &str, body: Option<Value>, want: u16) -> Value {
        let (status, got) = self.http(method, path, Some(token), body.as_ref());
        assert_eq!(status, want, "{method} {path}: {got}");
        got
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// An account owner, as the tests see them: the API token, the real mailbox, an alias, and
/// (after the ceremony) the keys and certificates of the owner's mail client.
pub(crate) struct Owner {
    pub(crate) token: String,
    pub(crate) account: i64,
    pub(crate) mailbox: String,
    pub(crate) alias_id: i64,
    pub(crate) alias: String,
    /// The end-entity certificate and key, and the root, if the ceremony was run.
    pub(crate) profile: Option<Profile>,
}

/// What the owner's mail client holds after the ceremony.
pub(crate) struct Profile {
    pub(crate) end_entity: Certificate,
    pub(crate) key: PrivateKey,
    pub(crate) root: Certificate,
}

/// The current time.
pub(crate) fn now() -> UnixTime {
    UnixTime(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
}

/// A fresh CSPRNG.
pub(crate) fn rng() -> rand_chacha::ChaCha20Rng {
    relay_server::app::os_rng().unwrap()
}

/// Makes an owner over the HTTP API: the account (admin token), the mailbox confirmed with the
/// code that arrives at `sink`, the S/MIME ceremony if `ceremony`, and a random alias.
pub(crate) fn owner(relay: &Relay, sink: &Sink, mailbox: &str, ceremony: bool) -> Owner {
    let created = relay.api("POST", "/api/accounts", ADMIN, Some(json!({})), 201);
    let token = created["token"]["token"].as_str().unwrap().to_owned();
    let account = created["account"]["id"].as_i64().unwrap();
    let before = sink.messages().len();
    let added = relay.api("POST", "/api/mailboxes", &token, Some(json!({ "address": mailbox })), 201);
    assert_eq!(added["verification_sent"], true, "{added}");
    let id = added["id"].as_i64().unwrap();
    let code_mail = sink.wait_for(before + 1).into_iter().rev().find(|m| m.rcpts == [mailbox]).unwrap();
    assert_eq!(code_mail.mail_from, "", "the code is sent with the null sender");
    let text = code_mail.text();
    let code = text.lines().find_map(|l| l.strip_prefix("Your verification code is: ")).unwrap().trim().to_owned();
    let confirmed =
        relay.api("POST", &format!("/api/mailboxes/{id}/confirm"), &token, Some(json!({ "code": code })), 200);
    assert_eq!(confirmed["verified"], true);
    let profile = ceremony.then(|| run_ceremony(relay, &token, mailbox));
    let alias = relay.api("POST", "/api/aliases", &token, Some(json!({})), 201);
    Owner {
        token,
        account,
        mailbox: mailbox.to_owned(),
        alias_id: alias["id"].as_i64().unwrap(),
        alias: alias["address"].as_str().unwrap().to_owned(),
        profile,
    }
}

/// The owner's side of the ceremony over the API: an RSA-2048 end-entity key and its CSR, a
/// P-256 root key that signs the intermediate the relay prepared, then is dropped.
fn run_ceremony(relay: &Relay, token: &str, mailbox: &str) -> Profile {
    let mut rng = rng();
    let key = PrivateKey::generate(KeyAlgorithm::Rsa2048, &mut rng).unwrap();
    let root_key = PrivateKey::generate(KeyAlgorithm::P256, &mut rng).unwrap();
    let request =
        csr::build(&Mailbox::parse(mailbox).unwrap(), &key.public_key()).unwrap().sign(&key, &mut rng).unwrap();
    let spki = root_key.public_key().to_spki().unwrap().to_der().unwrap();
    let body = json!({
        "csr": request.to_pem(LineEnding::LF).unwrap(),
        "root_public_key": der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &spki).unwrap(),
        "key_algorithm": "p256",
    });
    let started = relay.api("POST", "/api/profiles", token, Some(body), 201);
    let id = started["profile"]["id"].as_i64().unwrap();
    let end_entity = der::DecodePem::from_pem(started["end_entity"].as_str().unwrap().as_bytes()).unwrap();
    let life = Lifetime { now: now(), days: cert::MAX_VALIDITY_DAYS };
    let root = cert::root(ROOT_CN, &root_key.public_key(), life, &mut rng).unwrap().sign(&root_key, &mut rng).unwrap();
    let tbs = Base64::decode_vec(started["intermediate_tbs"].as_str().unwrap()).unwrap();
    let signature = root_key.sign(&tbs, &mut rng).unwrap();
    let body = json!({
        "root": root.to_pem(LineEnding::LF).unwrap(),
        "intermediate_signature": Base64::encode_string(&signature),
    });
    let done = relay.api("POST", &format!("/api/profiles/{id}/complete"), token, Some(body), 200);
    assert_eq!(done["status"], "active", "{done}");
    Profile { end_entity, key, root }
}

/// A forwarded message opened by the owner: decrypted with the end-entity key and its
/// signature checked against the owner's root.
pub(crate) struct Opened {
    /// The signed content (the original entity: headers and body as written).
    pub(crate) content: String,
    /// The certificate that signed it (the contact's recipient certificate).
    pub(crate) signer: Certificate,
}

/// Decrypts and verifies a forwarded message; panics with the reason if either fails.
pub(crate) fn open(profile: &Profile, data: &[u8]) -> Opened {
    try_open(profile, data).unwrap_or_else(|e| panic!("{e}"))
}

/// As [`open`], with the failure as a value.
pub(crate) fn try_open(profile: &Profile, data: &[u8]) -> Result<Opened, String> {
    let opened = smime::decrypt_message(data, &profile.end_entity, &profile.key, &mut rng())
        .map_err(|e| format!("does not decrypt: {e}"))?;
    let verified = smime::verify_message(&opened, &profile.root, now()).map_err(|e| format!("not signed: {e}"))?;
    if !verified.report.is_valid() {
        return Err("the signature does not verify against the owner's root".into());
    }
    let signer = verified.report.signers.first().and_then(|s| s.cert.clone()).ok_or("no signer certificate")?;
    Ok(Opened { content: String::from_utf8_lossy(&verified.report.content).into_owned(), signer })
}

/// The value of header `name` in a message (the first; unfolded).
pub(crate) fn header(msg: &[u8], name: &str) -> Option<String> {
    let end = msg.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(msg.len());
    pki_core::mime::header_value(&msg[..end], name)
}

/// The address between the last `<` and the following `>`.
pub(crate) fn angle(s: &str) -> &str {
    let start = s.rfind('<').map_or(0, |i| i + 1);
    let end = s[start..].find('>').map_or(s.len(), |i| i + start);
    &s[start..end]
}

/// Runs `swaks` against the relay's SMTP port; its exit code and its transcript (stdout).
pub(crate) fn swaks(port: u16, from: &str, to: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = Command::new("swaks")
        .args(["--server", "127.0.0.1", "--port", &port.to_string(), "--ehlo", "client.example"])
        .args(["--from", from, "--to", to, "--timeout", "60"])
        .args(extra)
        .output()
        .expect("swaks runs");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

/// Runs `smtp-source` with `args`; its exit status and what it printed.
pub(crate) fn smtp_source(args: &[&str]) -> (bool, String) {
    let out = Command::new(SMTP_SOURCE).args(args).output().expect("smtp-source runs");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// A line-based SMTP client over a blocking socket, for the tests that count every reply.
pub(crate) struct Smtp {
    reader: BufReader<TcpStream>,
}

impl Smtp {
    /// Connects, reads the greeting and says EHLO; `Err` with what went wrong.
    pub(crate) fn connect(port: u16) -> Result<Smtp, String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| format!("connect: {e}"))?;
        s.set_read_timeout(Some(WAIT)).map_err(|e| e.to_string())?;
        let mut c = Smtp { reader: BufReader::new(s) };
        c.expect_code(None, 220)?;
        c.expect_code(Some("EHLO tracker.example"), 250)?;
        Ok(c)
    }

    /// Sends `line` (if any) and reads one whole reply: its code and last line.
    pub(crate) fn command(&mut self, line: Option<&str>) -> Result<(u16, String), String> {
        if let Some(l) = line {
            self.reader.get_mut().write_all(format!("{l}\r\n").as_bytes()).map_err(|e| format!("write: {e}"))?;
        }
        loop {
            let mut reply = String::new();
            let n = self.reader.read_line(&mut reply).map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed".into());
            }
            let code = reply.get(..3).and_then(|c| c.parse().ok()).ok_or_else(|| format!("bad reply {reply:?}"))?;
            if reply.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, reply.trim_end().to_owned()));
            }
        }
    }

    fn expect_code(&mut self, line: Option<&str>, want: u16) -> Result<(), String> {
        match self.command(line)? {
            (c, _) if c == want => Ok(()),
            (_, reply) => Err(reply),
        }
    }

    /// One transaction; the reply to the final dot (or to the command that failed), or `Err`
    /// for a broken connection.
    pub(crate) fn send(&mut self, from: &str, to: &str, data: &[u8]) -> Result<(u16, String), String> {
        for (cmd, want) in
            [(format!("MAIL FROM:<{from}>"), 250), (format!("RCPT TO:<{to}>"), 250), ("DATA".into(), 354)]
        {
            let (code, reply) = self.command(Some(&cmd))?;
            if code != want {
                return Ok((code, reply));
            }
        }
        let mut body = Vec::with_capacity(data.len() + 8);
        for line in data.split_inclusive(|b| *b == b'\n') {
            if line.first() == Some(&b'.') {
                body.push(b'.');
            }
            body.extend_from_slice(line);
        }
        body.extend_from_slice(b".\r\n");
        self.reader.get_mut().write_all(&body).map_err(|e| format!("write: {e}"))?;
        self.command(None)
    }
}
