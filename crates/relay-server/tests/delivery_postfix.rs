//! The next-hop client against Postfix's `smtp-sink` (a real SMTP server, plaintext only: it
//! offers `AUTH PLAIN LOGIN` without STARTTLS, which is exactly the case where credentials must
//! stay home). Skipped with a note when Postfix is not installed (CI installs it).

#![allow(clippy::unwrap_used)]

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use relay_server::{
    config::Secret,
    delivery::{Client, Credentials, HopError, NextHop, TlsMode, TlsSettings},
};

const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

/// `smtp-sink` dumping each transaction into `dir`; killed on drop.
struct Sink {
    child: Child,
    port: u16,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn smtp_sink(dir: &Path) -> Sink {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = Command::new(SMTP_SINK);
    // As root, smtp-sink must drop privileges; the dump directory is then written by nobody.
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    if root {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        cmd.args(["-u", "nobody"]);
    }
    let template = format!("{}/msg.", dir.display());
    let child = cmd
        .args(["-d", &template, &format!("127.0.0.1:{port}"), "10"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // From here on, dropping the sink kills and reaps the process.
    let sink = Sink { child, port };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return sink;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("smtp-sink did not start on port {port}");
}

fn client(port: u16, mode: TlsMode) -> Client {
    Client::new(NextHop {
        address: format!("127.0.0.1:{port}"),
        helo: "relay.test".into(),
        reply_timeout: Duration::from_secs(5),
        idle_max: Duration::from_secs(30),
    })
    .with_tls(TlsSettings::new(mode, None).unwrap())
}

fn dumps(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|t| t.contains("X-Rcpt-Args"))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn postfix_smtp_sink_plaintext_opportunistic_required_and_auth() {
    if !Path::new(SMTP_SINK).exists() {
        eprintln!("{SMTP_SINK} is not installed (apt-get install postfix): skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = smtp_sink(dir.path()).await;
    let msg = b"From: a@pportal.io\r\nTo: r@example.org\r\nSubject: sink\r\n\r\n.a leading dot\r\nbody\r\n";

    // Opportunistic: no STARTTLS offered, so plaintext (and the null sender passes as `<>`).
    let c = client(sink.port, TlsMode::Opportunistic);
    c.deliver("a@pportal.io", "r0@example.org", msg).await.unwrap();
    c.deliver("", "r1@example.org", msg).await.unwrap();

    // Required: refused before MAIL, temporarily.
    let r = client(sink.port, TlsMode::Required).deliver("a@pportal.io", "r2@example.org", msg).await;
    assert!(matches!(&r, Err(HopError::Temporary(m)) if m.contains("STARTTLS")), "{r:?}");

    // smtp-sink offers AUTH PLAIN LOGIN in clear: credentials are not sent, delivery waits.
    let with_auth = client(sink.port, TlsMode::Opportunistic).with_auth(Credentials::new("u", Secret::new("p")));
    let r = with_auth.deliver("a@pportal.io", "r3@example.org", msg).await;
    assert!(matches!(&r, Err(HopError::Temporary(m)) if m.contains("not sending them in clear")), "{r:?}");

    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = dumps(dir.path());
    assert_eq!(got.len(), 2, "only the two opportunistic messages arrived: {got:?}");
    let first = got.iter().find(|t| t.contains("X-Rcpt-Args: <r0@example.org>")).unwrap();
    let second = got.iter().find(|t| t.contains("X-Rcpt-Args: <r1@example.org>")).unwrap();
    assert!(first.contains("X-Mail-Args: <a@pportal.io>"), "{first}");
    assert!(second.contains("X-Mail-Args: <>"), "the null sender: {second}");
    assert!(first.contains("\n.a leading dot\n"), "Postfix undid our dot-stuffing: {first}");
}
