//! `cargo xtask bench smtp`: the whole relay on loopback, as operators run it.
//!
//! ```text
//!  smtp-source ──▶ mailrelay serve (release) ──▶ smtp-sink      forward: sign + encrypt, 70 KB
//!  smtp-source ──────────────────────────────▶ smtp-sink      the transport floor, same message
//!  timed client ─▶ mailrelay serve ──────────▶ smtp-sink      latency of each transaction
//! ```
//!
//! Setup, with the binary's own commands: `account create`, `token create`, `alias create`,
//! `serve`, then `ceremony` against the running relay (the root key is made and dropped on this
//! side; the .p12 is imported here with pki-core). One forward through a dumping smtp-sink
//! gives the contact's reverse alias and recipient certificate, from which pki-core makes the
//! reply: a 70 KB message signed by the owner and encrypted to that certificate (decrypt +
//! strip on the relay).
//!
//! Method, printed with the table:
//! - messages per second: `smtp-source -s S -m M` (a new connection per message, as
//!   smtp-source does by default), wall-clock time of the whole run;
//! - latency: smtp-source reports none, so a client of ours sends the same message over S
//!   persistent sessions right after, and times each transaction from `MAIL FROM` to the `250`
//!   after the final dot (the relay answers only once the next hop accepted);
//! - floor: the same smtp-source run straight to smtp-sink; ratio = floor / relay;
//! - RSS: `VmRSS` of the relay's process, idle, and with 1,000 idle connections that each got
//!   the greeting (the generated config allows 2,000 connections, from one IP too).

use std::{
    io::{BufRead, BufReader, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use der::Decode;
use pki_core::{
    PrivateKey, UnixTime,
    cms::{ContentCipher, Signer},
    pkcs12, smime,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use x509_cert::Certificate;

use crate::{Result, cargo, output, project_root, run as run_cmd};

const SMTP_SINK: &str = "/usr/sbin/smtp-sink";
const SMTP_SOURCE: &str = "/usr/sbin/smtp-source";
pub(super) const OWNER: &str = "you@example.com";
pub(super) const CONTACT: &str = "bob@example.org";
/// The payload of the forwarded message (smtp-source `-l`).
const PAYLOAD: usize = 70_000;
/// Idle connections for the RSS measurement.
const IDLE_CONNECTIONS: usize = 1000;
const P12_PASSWORD: &str = "bench-password";

/// One row of the table.
struct Row {
    case: &'static str,
    sessions: usize,
    messages: usize,
    relay: f64,
    floor: f64,
    p50: Duration,
    p99: Duration,
}

pub(crate) fn run() -> Result {
    with_release_relay("smtp", bench)
}

/// A relay set up with the binary's own commands: an account with one mailbox and alias,
/// `serve` running, and a ceremony done, so that forwards are signed and encrypted.
pub(super) struct Started {
    pub(super) relay: Process,
    pub(super) sink: Process,
    pub(super) sink_port: u16,
    pub(super) smtp: u16,
    pub(super) alias: String,
    /// The ceremony's output directory (`root.pem`, `ee.p12`).
    pub(super) out: PathBuf,
}

/// Starts a sink (dumping to `dump`, if given) and a relay configured by [`config_text`], with
/// `smtp_extra` (TOML lines) in its `[smtp]` table, and runs the ceremony.
pub(super) fn start(bin: &Path, dir: &Path, dump: Option<&Path>, smtp_extra: &str) -> Result<Started> {
    let sink_port = free_port()?;
    let sink = Process::sink(sink_port, dump)?;
    let (smtp, http) = (free_port()?, free_port()?);
    let config = dir.join("mailrelay.toml");
    std::fs::write(&config, config_text(dir, smtp, http, sink_port, smtp_extra)?)?;
    let cli = |args: &[&str]| output(Command::new(bin).arg("--config").arg(&config).args(args));
    let created = cli(&["account", "create", "--mailbox", OWNER])?;
    let (account, mailbox) = two_numbers(&created).ok_or_else(|| format!("account create said: {created}"))?;
    let token = cli(&["token", "create", "--account", &account])?;
    let token = after_colon(&token).ok_or("token create printed no token")?;
    let alias = cli(&["alias", "create", "--account", &account, "--mailbox", &mailbox])?;
    let alias = after_colon(&alias).ok_or("alias create printed no alias")?;
    let relay = Process::spawn(Command::new(bin).arg("serve").arg("--config").arg(&config), smtp, "mailrelay")?;
    let out = dir.join("owner");
    output(
        Command::new(bin)
            .args(["ceremony", "--server", &format!("http://127.0.0.1:{http}"), "--mailbox", OWNER])
            .arg("--out")
            .arg(&out)
            .args(["--p12-password", P12_PASSWORD])
            .env("MAILRELAY_TOKEN", &token),
    )?;
    Ok(Started { relay, sink, sink_port, smtp, alias, out })
}

/// The release binary, built, and a fresh directory for one run (removed after `f`).
pub(super) fn with_release_relay(what: &str, f: impl FnOnce(&Path, &Path) -> Result) -> Result {
    for tool in [SMTP_SINK, SMTP_SOURCE] {
        if !Path::new(tool).exists() {
            return Err(format!("{tool} is missing (apt-get install postfix)").into());
        }
    }
    run_cmd(cargo().args(["build", "--release", "--package", "relay-server", "--bin", "mailrelay"]))?;
    let bin =
        std::env::var_os("XTASK_WRAP").map_or_else(|| project_root().join("target/release/mailrelay"), PathBuf::from);
    let dir = std::env::temp_dir().join(format!("mailrelay-bench-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    set_mode(&dir, 0o755)?; // smtp-sink drops root privileges to `nobody`
    let result = f(&bin, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// What the owner needs to reply: the contact's reverse alias and recipient certificate (from
/// one forward, caught by the dumping sink), and the owner's own certificate and key.
pub(super) struct Contact {
    pub(super) reverse: String,
    pub(super) owner_cert: Certificate,
    pub(super) owner_key: PrivateKey,
    pub(super) contact_cert: Certificate,
    pub(super) now: UnixTime,
    pub(super) rng: ChaCha20Rng,
}

/// Sends one forward and reads what the sink under `dir/setup-sink` caught.
pub(super) fn learn_contact(dir: &Path, smtp: u16, alias: &str, out: &Path) -> Result<Contact> {
    let imported = pkcs12::import(&std::fs::read(out.join("ee.p12"))?, P12_PASSWORD)?;
    let owner_key = PrivateKey::from_pkcs8_der(&imported.key_pkcs8_der)?;
    let owner_cert = Certificate::from_der(&imported.cert_der)?;
    let mut rng = ChaCha20Rng::from_seed([0x53; 32]);
    let now = UnixTime(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs());
    let forward = forward_message(alias);
    Client::connect(smtp)?.send(CONTACT, alias, &forward)?;
    let (reverse, dumped) = first_dump(&dir.join("setup-sink"))?;
    let opened = smime::decrypt_message(&dumped, &owner_cert, &owner_key, &mut rng)?;
    let verified = smime::verify_message_with(&opened, &root_of(out)?, &[], now)?;
    let contact_cert = verified.report.signers.first().and_then(|s| s.cert.clone()).ok_or("no signer")?;
    Ok(Contact { reverse, owner_cert, owner_key, contact_cert, now, rng })
}

fn bench(bin: &Path, dir: &Path) -> Result {
    let Started { mut relay, sink: mut setup_sink, sink_port, smtp, alias, out } =
        start(bin, dir, Some(&dir.join("setup-sink")), "")?;
    let Contact { reverse, owner_cert, owner_key, contact_cert, now, mut rng } =
        learn_contact(dir, smtp, &alias, &out)?;
    let forward = forward_message(&alias);
    let reply = reply_message(&reverse, &owner_cert, &owner_key, &contact_cert, now, &mut rng)?;
    let reply_file = dir.join("reply.txt");
    std::fs::write(&reply_file, String::from_utf8_lossy(&reply).replace("\r\n", "\n"))?;
    let reply_file = reply_file.display().to_string();

    // From here on the sink keeps nothing (disk would dominate).
    setup_sink.stop();
    let sink = Process::sink(sink_port, None)?;
    let idle_before = rss_kib(relay.pid())?;

    print_header(forward.len(), reply.len());
    let forward_args = ["-l".to_owned(), PAYLOAD.to_string(), "-f".into(), CONTACT.into(), "-t".into(), alias.clone()];
    let reply_args = ["-F".to_owned(), reply_file, "-f".into(), OWNER.into(), "-t".into(), reverse.clone()];
    let mut rows = Vec::new();
    for (case, args, message, from, to) in [
        ("forward (sign+encrypt)", &forward_args, &forward, CONTACT, &alias),
        ("reply (decrypt+strip)", &reply_args, &reply, OWNER, &reverse),
    ] {
        for (sessions, messages) in [(1, 100), (20, 400)] {
            let relay_rate = source_rate(smtp, sessions, messages, args)?;
            let floor = source_rate(sink_port, sessions, messages, args)?;
            let per_session = if sessions == 1 { 60 } else { 10 };
            let mut latency = timed_client(smtp, sessions, per_session, from, to, message)?;
            latency.sort();
            let (p50, p99) = (percentile(&latency, 500), percentile(&latency, 990));
            let row = Row { case, sessions, messages, relay: relay_rate, floor, p50, p99 };
            print_row(&row);
            rows.push(row);
        }
    }
    let idle_after = rss_kib(relay.pid())?;
    let with_idle = idle_connections(smtp, relay.pid())?;
    println!(
        "\nRSS of mailrelay (VmRSS): {idle_before} KiB idle after setup, {idle_after} KiB idle after the runs, \
         {with_idle} KiB with {IDLE_CONNECTIONS} idle connections open ({:+.1} KiB per connection)",
        (with_idle as f64 - idle_after as f64) / IDLE_CONNECTIONS as f64
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at the end: {}", load.trim());
    }
    relay.stop();
    drop(sink);
    Ok(())
}

/// The relay's configuration: raised connection limits and per-IP and per-account rates (the
/// RSS run opens 1,000 connections from one IP, and every message comes from 127.0.0.1), and a
/// fresh master key from `openssl rand`.
fn config_text(dir: &Path, smtp: u16, http: u16, sink: u16, smtp_extra: &str) -> Result<String> {
    let key = output(Command::new("openssl").args(["rand", "-base64", "32"]))?;
    Ok(format!(
        "domains = [\"pportal.io\"]\n\
         data_dir = \"{}\"\n\
         master_key = \"{}\"\n\
         [smtp]\n\
         listen = \"127.0.0.1:{smtp}\"\n\
         hostname = \"mx.pportal.io\"\n\
         max_connections = 2000\n\
         max_connections_per_ip = 2000\n\
         command_timeout_secs = 300\n\
         {smtp_extra}\n\
         [next_hop]\n\
         smarthost = \"127.0.0.1:{sink}\"\n\
         reply_timeout_secs = 30\n\
         [http]\n\
         listen = \"127.0.0.1:{http}\"\n\
         [abuse]\n\
         connections_per_ip = {{ burst = 100000, per_hour = 100000000 }}\n\
         messages_per_ip = {{ burst = 100000, per_hour = 100000000 }}\n\
         replies_per_account = {{ burst = 100000, per_hour = 100000000 }}\n",
        dir.join("data").display(),
        key.trim()
    ))
}

fn print_header(forward: usize, reply: usize) {
    println!("\nmailrelay end to end on loopback (release build): smtp-source → mailrelay → smtp-sink");
    println!(
        "forward: {forward} bytes as sent (smtp-source -l {PAYLOAD}), signed by the contact's certificate and \
         encrypted to the owner's\nreply: {reply} bytes as sent (signed by the owner, encrypted to the contact's \
         certificate), decrypted and stripped"
    );
    println!(
        "msg/s: smtp-source -s S -m M, one connection per message, wall clock; floor: the same run straight to \
         smtp-sink;\nlatency: our own client right after, S persistent sessions, MAIL FROM → 250 after the dot, \
         per transaction"
    );
    println!(
        "\n{:<24} {:>8} {:>6} {:>10} {:>10} {:>8} {:>10} {:>10}",
        "case", "sessions", "msgs", "relay/s", "floor/s", "ratio", "p50 ms", "p99 ms"
    );
    println!("{}", "-".repeat(24 + 8 + 6 + 10 + 10 + 8 + 10 + 10 + 7));
}

fn print_row(r: &Row) {
    println!(
        "{:<24} {:>8} {:>6} {:>10.1} {:>10.1} {:>7.1}x {:>10.2} {:>10.2}",
        r.case,
        r.sessions,
        r.messages,
        r.relay,
        r.floor,
        r.floor / r.relay,
        r.p50.as_secs_f64() * 1e3,
        r.p99.as_secs_f64() * 1e3
    );
}

/// Messages per second of one smtp-source run.
fn source_rate(port: u16, sessions: usize, messages: usize, args: &[String]) -> Result<f64> {
    let start = Instant::now();
    output(
        Command::new(SMTP_SOURCE)
            .args(["-s", &sessions.to_string(), "-m", &messages.to_string(), "-S", "bench"])
            .args(args)
            .arg(format!("127.0.0.1:{port}")),
    )?;
    Ok(messages as f64 / start.elapsed().as_secs_f64())
}

/// Each transaction's time, over `sessions` concurrent persistent sessions.
fn timed_client(port: u16, sessions: usize, each: usize, from: &str, to: &str, msg: &[u8]) -> Result<Vec<Duration>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..sessions)
            .map(|_| {
                s.spawn(move || -> std::result::Result<Vec<Duration>, String> {
                    let mut c = Client::connect(port).map_err(|e| e.to_string())?;
                    (0..each)
                        .map(|_| {
                            let start = Instant::now();
                            c.send(from, to, msg).map_err(|e| e.to_string())?;
                            Ok(start.elapsed())
                        })
                        .collect()
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().map_err(|_| "a client thread panicked")??);
        }
        Ok(all)
    })
}

/// The nearest-rank percentile, `permille` in thousandths (500 = p50).
fn percentile(sorted: &[Duration], permille: usize) -> Duration {
    let rank = (sorted.len() * permille).div_ceil(1000);
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied().unwrap_or_default()
}

/// Opens the idle connections, waits for each greeting, and reads the relay's RSS.
fn idle_connections(port: u16, pid: u32) -> Result<u64> {
    let mut open = Vec::with_capacity(IDLE_CONNECTIONS);
    for _ in 0..IDLE_CONNECTIONS {
        let mut c = BufReader::new(TcpStream::connect(("127.0.0.1", port))?);
        c.get_mut().set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut greeting = String::new();
        c.read_line(&mut greeting)?;
        if !greeting.starts_with("220") {
            return Err(format!("connection {} was refused: {greeting}", open.len() + 1).into());
        }
        open.push(c);
    }
    std::thread::sleep(Duration::from_millis(500));
    rss_kib(pid)
}

pub(super) fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).ok_or("bad VmRSS")?)
}

fn forward_message(alias: &str) -> Vec<u8> {
    let mut m = format!("From: Bob <{CONTACT}>\r\nTo: <{alias}>\r\nSubject: bench\r\n\r\n").into_bytes();
    while m.len() < PAYLOAD {
        m.extend_from_slice(&[b'X'; 78]);
        m.extend_from_slice(b"\r\n");
    }
    m
}

/// The owner's reply: a 70 KB text, signed, encrypted to the contact's recipient certificate.
fn reply_message(
    reverse: &str,
    cert: &Certificate,
    key: &PrivateKey,
    contact: &Certificate,
    now: UnixTime,
    rng: &mut ChaCha20Rng,
) -> Result<Vec<u8>> {
    let mut text = format!(
        "From: You <{OWNER}>\r\nTo: <{reverse}>\r\nSubject: Re: bench\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    );
    while text.len() < PAYLOAD {
        text.push_str("Thanks, Bob. The figures look right to me; let us talk on Monday. Regards.\r\n");
    }
    let signer = Signer { cert, key, chain: &[] };
    let recipients = [contact.clone()];
    Ok(smime::sign_and_encrypt_message(text.as_bytes(), signer, &recipients, ContentCipher::default(), now, rng)?)
}

/// The reverse alias (envelope sender) and message of the one dump under `dir`.
fn first_dump(dir: &Path) -> Result<(String, Vec<u8>)> {
    let start = Instant::now();
    loop {
        for entry in walk(dir)? {
            let text = std::fs::read_to_string(&entry)?;
            let from = text.lines().find_map(|l| l.strip_prefix("X-Mail-Args: <")).and_then(|l| l.split('>').next());
            let Some(at) = text.find("\n\tby smtp-sink") else { continue };
            // The Received header's third line (the date) ends smtp-sink's own header lines.
            let body_start = text[at + 1..]
                .find("\n\t")
                .map(|i| at + 1 + i + 2)
                .and_then(|i| text[i..].find('\n').map(|j| i + j + 1));
            if let (Some(from), Some(body_at)) = (from, body_start)
                && !from.is_empty()
            {
                return Ok((from.to_owned(), text[body_at..].replace('\n', "\r\n").into_bytes()));
            }
        }
        if start.elapsed() > Duration::from_secs(30) {
            return Err("the forward did not reach the sink".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.filter_map(std::result::Result::ok) {
            if e.path().is_dir() { stack.push(e.path()) } else { files.push(e.path()) }
        }
    }
    Ok(files)
}

fn root_of(out: &Path) -> Result<Certificate> {
    let pem = std::fs::read_to_string(out.join("root.pem"))?;
    let (_, der) = der::pem::decode_vec(pem.as_bytes())?;
    Ok(Certificate::from_der(&der)?)
}

/// The first two numbers in `text` (`account 1, mailbox 1`).
fn two_numbers(text: &str) -> Option<(String, String)> {
    let mut numbers = text.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(str::to_owned);
    Some((numbers.next()?, numbers.next()?))
}

/// What follows the first `": "` on the first line (`alias 1: quiet.otter.42@…`).
fn after_colon(text: &str) -> Option<String> {
    Some(text.lines().next()?.split_once(": ")?.1.trim().to_owned())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn set_mode(path: &Path, mode: u32) -> Result {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// A child process that is killed when dropped.
pub(super) struct Process(Child);

impl Process {
    fn spawn(cmd: &mut Command, port: u16, what: &str) -> Result<Process> {
        let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        let mut p = Process(child);
        let start = Instant::now();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if p.0.try_wait()?.is_some() || start.elapsed() > Duration::from_secs(60) {
                return Err(format!("{what} did not start listening on {port}").into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(p)
    }

    fn sink(port: u16, dump: Option<&Path>) -> Result<Process> {
        let mut cmd = Command::new(SMTP_SINK);
        if is_root() {
            cmd.args(["-u", "nobody"]);
        }
        if let Some(d) = dump {
            std::fs::create_dir_all(d)?;
            set_mode(d, 0o777)?;
            cmd.arg("-d").arg(format!("{}/%H%M%S/", d.display()));
        }
        cmd.args(["-m", "2048", "-t", "60", &format!("127.0.0.1:{port}"), "2048"]);
        Process::spawn(&mut cmd, port, "smtp-sink")
    }

    pub(super) fn pid(&self) -> u32 {
        self.0.id()
    }

    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A minimal SMTP client: persistent session, one transaction at a time.
pub(super) struct Client(BufReader<TcpStream>);

impl Client {
    pub(super) fn connect(port: u16) -> Result<Client> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut c = Client(BufReader::new(s));
        c.expect(None, 220)?;
        c.expect(Some("EHLO bench.example"), 250)?;
        Ok(c)
    }

    fn expect(&mut self, line: Option<&str>, want: u16) -> Result {
        if let Some(l) = line {
            self.0.get_mut().write_all(format!("{l}\r\n").as_bytes())?;
        }
        loop {
            let mut reply = String::new();
            if self.0.read_line(&mut reply)? == 0 {
                return Err("connection closed".into());
            }
            if reply.as_bytes().get(3) != Some(&b'-') {
                return if reply.starts_with(&want.to_string()) { Ok(()) } else { Err(reply.trim_end().into()) };
            }
        }
    }

    pub(super) fn send(&mut self, from: &str, to: &str, data: &[u8]) -> Result {
        self.expect(Some(&format!("MAIL FROM:<{from}>")), 250)?;
        self.expect(Some(&format!("RCPT TO:<{to}>")), 250)?;
        self.expect(Some("DATA"), 354)?;
        let mut body = Vec::with_capacity(data.len() + 8);
        for line in data.split_inclusive(|b| *b == b'\n') {
            if line.first() == Some(&b'.') {
                body.push(b'.');
            }
            body.extend_from_slice(line);
        }
        body.extend_from_slice(b".\r\n");
        self.0.get_mut().write_all(&body)?;
        self.expect(None, 250)
    }
}
