//! `mailrelay demo` end to end: real SMTP over loopback, a real SQLite file, the ceremony,
//! a forward and a reply, every step checked by the demo itself; then the files it leaves.

#![allow(clippy::unwrap_used)]

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_checks_out_and_leaves_its_files() {
    let dir = tempfile::tempdir().unwrap();
    relay_server::demo::run(Some(dir.path().to_path_buf()), None).await.unwrap();
    for f in ["root.pem", "you.p12", "you-compat.p12", "master.key", "mailrelay.db"] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    let cur: Vec<_> = std::fs::read_dir(dir.path().join("Maildir/cur")).unwrap().collect();
    assert_eq!(cur.len(), 2, "the forward and the reply reached the Maildir");
    // The master key is private to its owner.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("master.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "master.key must not be readable by others");
    // No plaintext key material or message body on disk besides what the user asked for:
    // the database holds sealed keys only.
    let mut db = std::fs::read(dir.path().join("mailrelay.db")).unwrap();
    db.extend(std::fs::read(dir.path().join("mailrelay.db-wal")).unwrap_or_default());
    assert!(!db.windows(27).any(|w| w == b"-----BEGIN PRIVATE KEY-----"), "no PEM private key in the database");
    assert!(!db.windows(16).any(|w| w == b"went through the"), "no message body in the database");
}

/// `mailrelay demo --serve ADDR`: after the checked steps, the relay keeps running with the web
/// page and the API, and the printed token signs in to the demo account.
#[cfg(unix)]
#[test]
fn demo_serve_keeps_the_web_page_up_with_a_working_token() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// Kills the demo if the test fails half-way.
    struct Demo(std::process::Child);
    impl Drop for Demo {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut demo = Demo(
        Command::new(env!("CARGO_BIN_EXE_mailrelay"))
            .args(["demo", "--data-dir"])
            .arg(dir.path())
            .args(["--serve", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(demo.0.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while !seen.last().is_some_and(|l: &String| l.contains("stops it")) {
        seen.push(lines.next().expect("the demo ended before it said how to stop it").unwrap());
    }
    let token = seen.iter().find_map(|l| l.trim().strip_prefix("token")).expect("a token").trim().to_string();
    assert!(seen.iter().any(|l| l.contains("All steps checked out")), "{seen:#?}");
    assert!(seen.iter().any(|l| l.contains(&format!("http://127.0.0.1:{port}/app/"))), "{seen:#?}");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (page, aliases, unauthorized) = rt.block_on(async {
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let page = http.get(format!("{base}/app/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        let aliases: serde_json::Value =
            http.get(format!("{base}/api/aliases")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let unauthorized = http.get(format!("{base}/api/aliases")).bearer_auth("wrong").send().await.unwrap().status();
        (page, aliases, unauthorized)
    });
    assert!(page.contains("<script type=\"module\""), "the web page is served");
    assert_eq!(unauthorized, 401);
    let alias = seen
        .iter()
        .find_map(|l| l.split_once("(alias ").and_then(|(_, rest)| rest.split_once(')')).map(|(a, _)| a.to_string()))
        .expect("the demo names its alias");
    assert!(aliases.to_string().contains(&format!("\"{alias}\"")), "{alias} is in the token's account: {aliases}");

    assert!(Command::new("kill").args(["-TERM", &demo.0.id().to_string()]).status().unwrap().success());
    let status = demo.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
