#![allow(clippy::unwrap_used)]
//! The SMTP front against independent clients: Python's `smtplib` (always; python3 is part of
//! the toolchain here), `swaks` with PIPELINING and with `--tls` (when it is installed:
//! `apt-get install swaks`), and `openssl s_client -starttls smtp` (when `openssl` is there).
//! Each drives a real server on a loopback port; the test checks the client's own output and
//! what the handler received.

mod smtp_support;

use std::net::SocketAddr;
use std::process::{Command, Output};

use relay_server::smtp::Limits;
use relay_server::tls;
use smtp_support::{start, start_tls};

/// Runs a client program to completion off the async runtime, so the server keeps running.
async fn run(program: &'static str, args: Vec<String>) -> std::io::Result<Output> {
    tokio::task::spawn_blocking(move || Command::new(program).args(args).output()).await.expect("the client thread")
}

/// Runs a client program with `stdin` as its input, off the async runtime.
async fn run_with_input(program: &'static str, args: Vec<String>, stdin: &'static str) -> std::io::Result<Output> {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        // A client that exits early closes its stdin; its output says why.
        let _written = child.stdin.take().map(|mut input| input.write_all(stdin.as_bytes()));
        child.wait_with_output()
    })
    .await
    .expect("the client thread")
}

/// A self-signed pair for `localhost` and `127.0.0.1` in a temporary directory, as the demo
/// makes it.
fn tls_pair() -> (tempfile::TempDir, std::path::PathBuf, tokio_rustls::TlsAcceptor) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = tls::self_signed_pair(dir.path(), &["localhost".into(), "127.0.0.1".into()]).unwrap();
    let acceptor = tls::acceptor(&cert, &key).unwrap();
    (dir, cert, acceptor)
}

const SMTPLIB_SCRIPT: &str = r#"
import smtplib, sys
port = int(sys.argv[1])
with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=10) as s:
    code, _ = s.ehlo()
    print("ehlo", code)
    print("features", ",".join(sorted(s.esmtp_features)))
    print("size", s.esmtp_features.get("size"))
    body = b"Subject: from python\r\n\r\n.starts with a dot\r\n..two dots\r\nlast line\r\n"
    refused = s.sendmail("py@example.com", ["alice@pportal.io", "nobody@pportal.io"], body)
    for rcpt, (code, msg) in sorted(refused.items()):
        print("refused", rcpt, code, msg.decode())
    try:
        s.sendmail("py@example.com", ["someone@elsewhere.example"], body)
    except smtplib.SMTPRecipientsRefused as e:
        for rcpt, (code, msg) in sorted(e.recipients.items()):
            print("all refused", rcpt, code, msg.decode())
    s.sendmail("jöran@example.com", ["ålice@pportal.io"], "Subject: utf-8\r\n\r\nhej då\r\n".encode(),
               mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    print("vrfy", s.verify("alice@pportal.io")[0])
    print("noop", s.noop()[0])
"#;

async fn smtplib(addr: SocketAddr) -> String {
    let out =
        run("python3", vec!["-c".into(), SMTPLIB_SCRIPT.into(), addr.port().to_string()]).await.expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "smtplib failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[tokio::test]
async fn python_smtplib() {
    let server = start(Limits::default()).await;
    let stdout = smtplib(server.addr).await;
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "ehlo 250",
            "features 8bitmime,enhancedstatuscodes,pipelining,size,smtputf8",
            "size 20971520",
            "refused nobody@pportal.io 550 5.1.1 no such user",
            "all refused someone@elsewhere.example 550 5.7.1 relaying denied",
            "vrfy 252",
            "noop 250",
        ]
    );
    let delivered = server.handler.delivered();
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[0].from.as_deref(), Some("py@example.com"));
    assert_eq!(delivered[0].rcpts, ["alice@pportal.io"]);
    assert_eq!(delivered[0].data, b"Subject: from python\r\n\r\n.starts with a dot\r\n..two dots\r\nlast line\r\n");
    assert_eq!(delivered[1].from.as_deref(), Some("jöran@example.com"));
    assert_eq!(delivered[1].rcpts, ["ålice@pportal.io"]);
    assert_eq!(delivered[1].data, "Subject: utf-8\r\n\r\nhej då\r\n".as_bytes());
    server.stop().await;
}

fn swaks_args(addr: SocketAddr, to: &str) -> Vec<String> {
    let args = [
        "--server",
        "127.0.0.1",
        "--port",
        &addr.port().to_string(),
        "--ehlo",
        "client.example",
        "--from",
        "sw@example.com",
        "--to",
        to,
        "--pipeline",
        "--timeout",
        "10",
        "--header",
        "Subject: swaks",
        "--body",
        ".a line with a leading dot\n.\nthe end",
    ];
    args.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn swaks_with_pipelining() {
    if Command::new("swaks").arg("--version").output().is_err() {
        eprintln!("swaks is not installed (apt-get install swaks): skipping its check");
        return;
    }
    let server = start(Limits::default()).await;
    let out = run("swaks", swaks_args(server.addr, "alice@pportal.io")).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "<-  220 mx.pportal.io ESMTP",
        "<-  250-PIPELINING",
        "<-  250 2.1.0 sender ok",
        "<-  250 2.1.5 recipient ok",
        "<-  354 end data with <CR><LF>.<CR><LF>",
        "<-  250 2.0.0 message accepted and delivered",
        "<-  221 2.0.0 bye",
    ] {
        assert!(stdout.contains(expected), "swaks output lacks {expected:?}:\n{stdout}");
    }
    let delivered = server.handler.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].rcpts, ["alice@pportal.io"]);
    let data = String::from_utf8_lossy(&delivered[0].data);
    assert!(data.contains("\r\nSubject: swaks\r\n"), "{data}");
    // swaks ends its body with an empty line of its own.
    assert!(data.contains("\r\n\r\n.a line with a leading dot\r\n.\r\nthe end\r\n"), "{data:?}");

    // Every recipient refused: swaks exits 24 and shows our reply.
    let out = run("swaks", swaks_args(server.addr, "nobody@pportal.io")).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(24), "{stdout}");
    assert!(stdout.contains("550 5.1.1 no such user"), "{stdout}");
    assert_eq!(server.handler.delivered().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn swaks_with_starttls() {
    if Command::new("swaks").arg("--version").output().is_err() {
        eprintln!("swaks is not installed (apt-get install swaks): skipping its check");
        return;
    }
    let (_dir, cert, acceptor) = tls_pair();
    let server = start_tls(Limits::default(), Some(acceptor)).await;
    let mut args = swaks_args(server.addr, "alice@pportal.io");
    args.extend(["--tls", "--tls-verify", "--tls-ca-path"].map(String::from));
    args.push(cert.display().to_string());
    let out = run("swaks", args).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // `->`/`<-` is plaintext, `~>`/`<~` is under TLS.
    for expected in [
        "<-  250 STARTTLS",
        " -> STARTTLS",
        "<-  220 2.0.0 Ready to start TLS",
        "=== TLS started with cipher TLSv1.3",
        " ~> EHLO client.example",
        "<~  250 ENHANCEDSTATUSCODES",
        "<~  250 2.1.0 sender ok",
        "<~  250 2.0.0 message accepted and delivered",
        "<~  221 2.0.0 bye",
    ] {
        assert!(stdout.contains(expected), "swaks output lacks {expected:?}:\n{stdout}");
    }
    assert!(!stdout.contains("<~  250 STARTTLS") && !stdout.contains("<~  250-STARTTLS"), "{stdout}");
    let delivered = server.handler.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].rcpts, ["alice@pportal.io"]);
    assert!(delivered[0].tls.is_some(), "the session told the handler about TLS");
    assert!(String::from_utf8_lossy(&delivered[0].data).contains("\r\nSubject: swaks\r\n"));
    server.stop().await;
}

const S_CLIENT_INPUT: &str = "EHLO client.example\nMAIL FROM:<o@example.com>\nRCPT TO:<alice@pportal.io>\nDATA\n\
                              Subject: s_client\n\nvia openssl\n.\nQUIT\n";

#[tokio::test]
async fn openssl_s_client_starttls() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("openssl is not installed: skipping its check");
        return;
    }
    let (_dir, cert, acceptor) = tls_pair();
    let server = start_tls(Limits::default(), Some(acceptor)).await;
    let args = [
        "s_client",
        "-starttls",
        "smtp",
        "-name",
        "client.example",
        "-connect",
        &server.addr.to_string(),
        "-servername",
        "localhost",
        "-CAfile",
        &cert.display().to_string(),
        "-verify_return_error",
        "-verify_hostname",
        "localhost",
        "-crlf",
        // Read to the server's close after QUIT, and take no command letters from stdin.
        "-ign_eof",
    ]
    .map(String::from)
    .to_vec();
    let out = run_with_input("openssl", args, S_CLIENT_INPUT).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "Verify return code: 0 (ok)",
        "250 ENHANCEDSTATUSCODES",
        "250 2.1.0 sender ok",
        "354 end data",
        "250 2.0.0 message accepted and delivered",
        "221 2.0.0 bye",
    ] {
        assert!(stdout.contains(expected), "s_client output lacks {expected:?}:\n{stdout}");
    }
    assert!(!stdout.contains("STARTTLS"), "not offered again under TLS:\n{stdout}");
    let delivered = server.handler.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].data, b"Subject: s_client\r\n\r\nvia openssl\r\n");
    assert!(delivered[0].tls.is_some());
    server.stop().await;
}
