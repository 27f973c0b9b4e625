//! The next-hop client against a scripted SMTP peer on a loopback socket.

#![allow(clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use relay_server::delivery::{Client, HopError, NextHop};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

/// What the peer answers at the end of DATA, and how it behaves.
#[derive(Clone, Copy)]
enum Peer {
    Accept,
    TempFailRcpt,
    RefuseData,
    Silent,
}

#[derive(Default)]
struct Seen {
    connections: usize,
    commands: Vec<String>,
    messages: Vec<Vec<u8>>,
}

async fn peer(mode: Peer) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            s.lock().unwrap().connections += 1;
            let s = s.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(stream);
                r.get_mut().write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_string();
                    s.lock().unwrap().commands.push(cmd.clone());
                    let upper = cmd.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") {
                        b"250-sink\r\n250 PIPELINING\r\n"
                    } else if upper.starts_with("RCPT") && matches!(mode, Peer::TempFailRcpt) {
                        b"451 4.3.0 try later\r\n"
                    } else if upper == "DATA" {
                        if matches!(mode, Peer::Silent) {
                            tokio::time::sleep(Duration::from_secs(5)).await;
                        }
                        r.get_mut().write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = Vec::new();
                        loop {
                            let mut l = Vec::new();
                            r.read_until(b'\n', &mut l).await.unwrap();
                            if l == b".\r\n" {
                                break;
                            }
                            data.extend_from_slice(l.strip_prefix(b".").filter(|_| l.starts_with(b"..")).unwrap_or(&l));
                        }
                        s.lock().unwrap().messages.push(data);
                        if matches!(mode, Peer::RefuseData) {
                            b"550 5.7.1 spam detected\r\n"
                        } else {
                            b"250 2.0.0 queued\r\n"
                        }
                    } else if upper == "QUIT" {
                        b"221 bye\r\n"
                    } else {
                        b"250 ok\r\n"
                    };
                    r.get_mut().write_all(reply).await.unwrap();
                }
            });
        }
    });
    (addr, seen)
}

fn hop(address: String) -> Client {
    Client::new(NextHop {
        address,
        helo: "relay.test".into(),
        reply_timeout: Duration::from_millis(500),
        idle_max: Duration::from_secs(30),
    })
}

const MSG: &[u8] = b"From: a@pportal.io\r\nTo: b@example.org\r\n\r\n.starts with a dot\r\nline\n";

#[tokio::test]
async fn delivers_and_reuses_the_connection() {
    let (addr, seen) = peer(Peer::Accept).await;
    let h = hop(addr);
    h.deliver("a@pportal.io", "b@example.org", MSG).await.unwrap();
    h.deliver("a@pportal.io", "c@example.org", MSG).await.unwrap();
    let s = seen.lock().unwrap();
    assert_eq!(s.connections, 1, "the second transaction reuses the connection");
    assert!(s.commands.iter().any(|c| c == "RSET"));
    assert!(s.commands.iter().any(|c| c == "RCPT TO:<c@example.org>"));
    assert_eq!(s.messages[0], b"From: a@pportal.io\r\nTo: b@example.org\r\n\r\n.starts with a dot\r\nline\r\n");
}

#[tokio::test]
async fn the_next_hops_verdict_becomes_ours() {
    let (addr, _) = peer(Peer::TempFailRcpt).await;
    assert!(
        matches!(hop(addr).deliver("a@pportal.io", "b@example.org", MSG).await, Err(HopError::Temporary(m)) if m.contains("451"))
    );
    let (addr, _) = peer(Peer::RefuseData).await;
    assert!(
        matches!(hop(addr).deliver("a@pportal.io", "b@example.org", MSG).await, Err(HopError::Permanent(m)) if m.contains("spam detected"))
    );
    let (addr, _) = peer(Peer::Silent).await;
    assert!(
        matches!(hop(addr).deliver("a@pportal.io", "b@example.org", MSG).await, Err(HopError::Temporary(m)) if m.contains("no reply in time"))
    );
    // Nobody listening.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = l.local_addr().unwrap().to_string();
    drop(l);
    assert!(matches!(hop(dead).deliver("a@pportal.io", "b@example.org", MSG).await, Err(HopError::Temporary(_))));
}
