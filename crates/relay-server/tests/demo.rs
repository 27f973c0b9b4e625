//! `mailrelay demo` end to end: real SMTP over loopback, a real SQLite file, the ceremony,
//! a forward and a reply, every step checked by the demo itself; then the files it leaves.

#![allow(clippy::unwrap_used)]

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_checks_out_and_leaves_its_files() {
    let dir = tempfile::tempdir().unwrap();
    relay_server::demo::run(Some(dir.path().to_path_buf())).await.unwrap();
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
