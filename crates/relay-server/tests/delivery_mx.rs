//! MX delivery against a tiny authoritative DNS server on loopback UDP and sinks on
//! 127.0.0.x (all of 127/8 is loopback on Linux, so each MX host gets an address of its own on
//! the same port): preference order, the next host on refusal, the implicit MX, null MX,
//! NXDOMAIN and a DNS timeout.

#![allow(clippy::unwrap_used)]

mod delivery_support;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use delivery_support::{SinkConfig, Zone, dns, self_signed, silent_dns, sink, sink_on};
use relay_server::{
    config::Config,
    delivery::{Client, HopError, MxLookup, NextHop},
};
use tokio::net::TcpListener;

const MSG: &[u8] = b"From: a@pportal.io\r\nTo: bob@example.test\r\n\r\nhello\r\n";

fn hop() -> NextHop {
    NextHop {
        address: String::new(),
        helo: "relay.test".into(),
        reply_timeout: Duration::from_secs(5),
        idle_max: Duration::from_secs(30),
    }
}

fn mx_client(dns: SocketAddr, port: u16) -> Client {
    Client::mx(hop(), MxLookup::new(Some(dns), port, Duration::from_millis(500)).unwrap())
}

/// A port free on 127.0.0.1 (and, in practice, on the other loopback addresses).
async fn port() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let p = l.local_addr().unwrap().port();
    (l, p)
}

#[tokio::test]
async fn mx_hosts_are_tried_by_preference_and_the_next_one_takes_over() {
    let (listener, p) = port().await;
    // Best first: mx1 refuses connections, mx2 says 421 at the greeting, mx4 takes the mail,
    // mx3 (the worst) is never needed. The answer lists them out of order.
    let a =
        sink_on(listener, SinkConfig { starttls: Some(self_signed(&["mx4.example.test"])), ..SinkConfig::default() });
    let b = sink_on(
        TcpListener::bind(("127.0.0.2", p)).await.unwrap(),
        SinkConfig { greeting: "421 4.3.2 busy", ..SinkConfig::default() },
    );
    let c = sink_on(TcpListener::bind(("127.0.0.3", p)).await.unwrap(), SinkConfig::default());
    let zone = Zone::default()
        .mx("example.test.", 30, "mx3.example.test.")
        .mx("example.test.", 10, "mx1.example.test.")
        .mx("example.test.", 15, "mx2.example.test.")
        .mx("example.test.", 20, "mx4.example.test.")
        .a("mx1.example.test.", "127.0.0.4")
        .a("mx2.example.test.", "127.0.0.2")
        .a("mx3.example.test.", "127.0.0.3")
        .a("mx4.example.test.", "127.0.0.1");
    let dns = dns(zone).await;
    // Through the configuration, as `mailrelay serve` builds it.
    let mut config = Config::default();
    config.next_hop.mode = relay_server::config::NextHopMode::Mx;
    config.next_hop.mx_port = p;
    config.next_hop.dns_server = Some(dns);
    let client = Client::from_config(&config.next_hop, "relay.test").unwrap();
    client.deliver("a@pportal.io", "bob@example.test", MSG).await.unwrap();
    client.deliver("a@pportal.io", "carol@Example.Test", MSG).await.unwrap();
    let a = a.lock().unwrap();
    assert_eq!(a.messages.len(), 2, "mx4 took both messages");
    assert!(a.messages.iter().all(|m| m.tls), "opportunistic TLS with a self-signed certificate (RFC 7435)");
    assert_eq!(a.connections, 1, "the second message reused the pooled connection to mx4");
    assert_eq!(b.lock().unwrap().connections, 2, "mx2 (preference 15) was tried before mx4 each time");
    assert_eq!(c.lock().unwrap().connections, 0, "mx3 (preference 30) was never needed");
}

#[tokio::test]
async fn no_mx_means_the_domains_own_address() {
    let (addr, seen) = sink(SinkConfig::default()).await;
    let dns = dns(Zone::default().a("implicit.test.", "127.0.0.1")).await;
    mx_client(dns, addr.port()).deliver("a@pportal.io", "bob@implicit.test", MSG).await.unwrap();
    let s = seen.lock().unwrap();
    assert_eq!(s.messages.len(), 1);
    assert_eq!(s.messages[0].rcpt, "bob@implicit.test");
}

#[tokio::test]
async fn a_domain_that_takes_no_mail_is_a_permanent_failure() {
    let (addr, seen) = sink(SinkConfig::default()).await;
    let zone = Zone::default()
        .mx("nullmx.test.", 0, ".")
        .a("nullmx.test.", "127.0.0.1")
        .exists("empty.test.")
        .mx("dangling.test.", 10, "mx.dangling.test.")
        .exists("mx.dangling.test.");
    let client = mx_client(dns(zone).await, addr.port());
    let r = client.deliver("a@pportal.io", "bob@nullmx.test", MSG).await;
    assert!(matches!(&r, Err(HopError::Permanent(m)) if m.contains("null MX") && m.starts_with("556")), "{r:?}");
    let r = client.deliver("a@pportal.io", "bob@nowhere.test", MSG).await;
    assert!(matches!(&r, Err(HopError::Permanent(m)) if m.contains("5.1.2") && m.contains("does not exist")), "{r:?}");
    assert!(!format!("{r:?}").contains("nowhere"), "the domain is not named back to the sender");
    let r = client.deliver("a@pportal.io", "bob@empty.test", MSG).await;
    assert!(matches!(&r, Err(HopError::Permanent(m)) if m.contains("no mail exchanger")), "{r:?}");
    // An MX whose host has no address is a broken zone, perhaps mid-change: retry later.
    let r = client.deliver("a@pportal.io", "bob@dangling.test", MSG).await;
    assert!(matches!(&r, Err(HopError::Temporary(m)) if m.contains("no address")), "{r:?}");
    assert_eq!(seen.lock().unwrap().connections, 0, "nothing was dialled");
}

#[tokio::test]
async fn dns_and_connection_trouble_is_temporary() {
    let silent = silent_dns().await;
    let started = Instant::now();
    let r = mx_client(silent, 25).deliver("a@pportal.io", "bob@example.test", MSG).await;
    assert!(matches!(&r, Err(HopError::Temporary(m)) if m.contains("DNS lookup")), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "bounded by the resolver's timeout: {:?}", started.elapsed());

    let (_listener, p) = port().await;
    let zone = Zone::default().mx("down.test.", 10, "mx.down.test.").a("mx.down.test.", "127.0.0.4");
    let r = mx_client(dns(zone).await, p).deliver("a@pportal.io", "bob@down.test", MSG).await;
    assert!(matches!(&r, Err(HopError::Temporary(m)) if m.contains("cannot connect")), "{r:?}");
}
