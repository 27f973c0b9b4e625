//! The next-hop client's STARTTLS and AUTH against a loopback sink with a real rustls server:
//! required TLS verifies or refuses (451, nothing in clear), opportunistic TLS takes what it
//! can, credentials never travel without TLS, and pooled connections stay encrypted.

#![allow(clippy::unwrap_used)]

mod delivery_support;

use std::time::Duration;

use delivery_support::{SinkConfig, pki, self_signed, sink, write_ca};
use relay_server::{
    config::Secret,
    delivery::{Client, Credentials, HopError, NextHop, TlsMode, TlsSettings},
};

const MSG: &[u8] = b"From: a@pportal.io\r\nTo: b@example.org\r\n\r\n.dot\r\nbody\r\n";

fn client(address: std::net::SocketAddr, mode: TlsMode, ca: Option<&std::path::Path>) -> Client {
    Client::new(NextHop {
        address: address.to_string(),
        helo: "relay.test".into(),
        reply_timeout: Duration::from_secs(5),
        idle_max: Duration::from_secs(30),
    })
    .with_tls(TlsSettings::new(mode, ca).unwrap())
}

fn relay_credentials(password: &str) -> Credentials {
    Credentials::new("relay", Secret::new(password))
}

#[tokio::test]
async fn required_tls_with_a_trusted_certificate_delivers_under_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(&["127.0.0.1"]);
    let ca = write_ca(dir.path(), &pki);
    let (addr, seen) = sink(SinkConfig { starttls: Some(pki.server.clone()), ..SinkConfig::default() }).await;
    client(addr, TlsMode::Required, Some(&ca)).deliver("a@pportal.io", "b@example.org", MSG).await.unwrap();
    let s = seen.lock().unwrap();
    assert_eq!(s.messages.len(), 1);
    assert!(s.messages[0].tls, "the message arrived under TLS");
    assert_eq!(s.messages[0].data, b"From: a@pportal.io\r\nTo: b@example.org\r\n\r\n.dot\r\nbody\r\n");
    assert_eq!(s.clear, ["EHLO relay.test", "STARTTLS"], "only EHLO and STARTTLS in clear");
    assert_eq!(s.secure[0], "EHLO relay.test", "EHLO again after TLS (RFC 3207 §4.2)");
    assert!(s.secure.iter().any(|l| l == "RCPT TO:<b@example.org>"));
}

#[tokio::test]
async fn required_tls_without_starttls_is_temporary_and_sends_nothing_in_clear() {
    let (addr, seen) = sink(SinkConfig::default()).await;
    let r = client(addr, TlsMode::Required, None).deliver("a@pportal.io", "b@example.org", MSG).await;
    assert!(matches!(&r, Err(HopError::Temporary(m)) if m.contains("does not offer STARTTLS")), "{r:?}");
    let s = seen.lock().unwrap();
    assert!(s.messages.is_empty());
    assert!(!s.in_clear("MAIL") && !s.in_clear("RCPT") && !s.in_clear("DATA"), "{:?}", s.clear);
    assert_eq!(s.connections, 1, "no second, plaintext attempt");
}

#[tokio::test]
async fn required_tls_refuses_an_untrusted_or_misnamed_certificate() {
    // Self-signed: not in the system's roots.
    let (addr, seen) = sink(SinkConfig { starttls: Some(self_signed(&["127.0.0.1"])), ..SinkConfig::default() }).await;
    let r = client(addr, TlsMode::Required, None).deliver("a@pportal.io", "b@example.org", MSG).await;
    assert!(matches!(&r, Err(HopError::Temporary(m)) if m.contains("certificate")), "{r:?}");
    {
        let s = seen.lock().unwrap();
        assert!(s.messages.is_empty() && s.secure.is_empty());
        assert!(!s.in_clear("MAIL"));
        assert_eq!(s.connections, 1, "never a plaintext retry when TLS is required");
    }
    // Issued by the trusted CA, but for another name.
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(&["smarthost.example"]);
    let ca = write_ca(dir.path(), &pki);
    let (addr, seen) = sink(SinkConfig { starttls: Some(pki.server.clone()), ..SinkConfig::default() }).await;
    let r = client(addr, TlsMode::Required, Some(&ca)).deliver("a@pportal.io", "b@example.org", MSG).await;
    assert!(matches!(&r, Err(HopError::Temporary(m)) if m.contains("certificate")), "{r:?}");
    assert!(seen.lock().unwrap().messages.is_empty());
}

#[tokio::test]
async fn opportunistic_tls_uses_starttls_when_offered_with_any_certificate() {
    let (addr, seen) =
        sink(SinkConfig { starttls: Some(self_signed(&["mx.elsewhere.example"])), ..SinkConfig::default() }).await;
    client(addr, TlsMode::Opportunistic, None).deliver("a@pportal.io", "b@example.org", MSG).await.unwrap();
    let s = seen.lock().unwrap();
    assert!(s.messages[0].tls);
    assert!(!s.in_clear("MAIL"));
}

#[tokio::test]
async fn opportunistic_tls_falls_back_to_plaintext_when_not_offered_or_broken() {
    let (addr, seen) = sink(SinkConfig::default()).await;
    client(addr, TlsMode::Opportunistic, None).deliver("a@pportal.io", "b@example.org", MSG).await.unwrap();
    {
        let s = seen.lock().unwrap();
        assert!(!s.messages[0].tls);
        assert!(!s.in_clear("STARTTLS"), "STARTTLS is not tried when not offered");
    }
    // STARTTLS offered, then the handshake fails: one new connection, in plaintext.
    let (addr, seen) =
        sink(SinkConfig { starttls: Some(self_signed(&["127.0.0.1"])), broken_tls: true, ..SinkConfig::default() })
            .await;
    client(addr, TlsMode::Opportunistic, None).deliver("a@pportal.io", "b@example.org", MSG).await.unwrap();
    let s = seen.lock().unwrap();
    assert_eq!(s.connections, 2);
    assert_eq!(s.clear.iter().filter(|l| *l == "STARTTLS").count(), 1, "the retry does not try TLS again");
    assert_eq!(s.messages.len(), 1);
    assert!(!s.messages[0].tls);
}

#[tokio::test]
async fn a_refused_starttls_is_plaintext_when_opportunistic_and_temporary_when_required() {
    let config =
        SinkConfig { starttls: Some(self_signed(&["127.0.0.1"])), refuse_starttls: true, ..SinkConfig::default() };
    let (addr, seen) = sink(config.clone()).await;
    client(addr, TlsMode::Opportunistic, None).deliver("a@pportal.io", "b@example.org", MSG).await.unwrap();
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.connections, 1, "the same connection goes on in plaintext");
        assert_eq!(s.messages.len(), 1);
        assert!(!s.messages[0].tls);
    }
    let (addr, seen) = sink(config).await;
    let r = client(addr, TlsMode::Required, None).deliver("a@pportal.io", "b@example.org", MSG).await;
    assert!(matches!(&r, Err(HopError::Temporary(m)) if m.contains("refused STARTTLS (454")), "{r:?}");
    let s = seen.lock().unwrap();
    assert!(s.messages.is_empty() && !s.in_clear("MAIL"));
}

#[tokio::test]
async fn auth_plain_and_login_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(&["127.0.0.1"]);
    let ca = write_ca(dir.path(), &pki);
    for (mechanisms, expected) in [("LOGIN PLAIN", "PLAIN"), ("LOGIN", "LOGIN")] {
        let (addr, seen) = sink(SinkConfig {
            starttls: Some(pki.server.clone()),
            auth: Some(("relay", "s3cret")),
            mechanisms,
            ..SinkConfig::default()
        })
        .await;
        let c = client(addr, TlsMode::Required, Some(&ca)).with_auth(relay_credentials("s3cret"));
        c.deliver("a@pportal.io", "b@example.org", MSG).await.unwrap();
        let s = seen.lock().unwrap();
        assert_eq!(s.auth.len(), 1);
        assert!(s.auth[0].ok && s.auth[0].tls, "{:?}", s.auth);
        assert_eq!(s.auth[0].mechanism, expected);
        assert_eq!(s.messages[0].user.as_deref(), Some("relay"), "delivered as the authenticated user");
        assert!(!s.in_clear("AUTH"));
    }
}

#[tokio::test]
async fn refused_credentials_are_a_temporary_failure() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(&["127.0.0.1"]);
    let ca = write_ca(dir.path(), &pki);
    let (addr, seen) = sink(SinkConfig {
        starttls: Some(pki.server.clone()),
        auth: Some(("relay", "s3cret")),
        ..SinkConfig::default()
    })
    .await;
    let c = client(addr, TlsMode::Required, Some(&ca)).with_auth(relay_credentials("wrong"));
    let r = c.deliver("a@pportal.io", "b@example.org", MSG).await;
    assert!(
        matches!(&r, Err(HopError::Temporary(m)) if m.contains("535") && m.contains("auth_password") && !m.contains("wrong")),
        "{r:?}"
    );
    let s = seen.lock().unwrap();
    assert!(s.messages.is_empty());
    assert!(!s.auth[0].ok);
}

#[tokio::test]
async fn credentials_are_never_sent_without_tls() {
    // The sink offers AUTH in clear and no STARTTLS; opportunistic TLS would otherwise go on.
    let (addr, seen) =
        sink(SinkConfig { auth: Some(("relay", "s3cret")), auth_in_clear: true, ..SinkConfig::default() }).await;
    let c = client(addr, TlsMode::Opportunistic, None).with_auth(relay_credentials("s3cret"));
    let r = c.deliver("a@pportal.io", "b@example.org", MSG).await;
    assert!(matches!(&r, Err(HopError::Temporary(m)) if m.contains("not sending them in clear")), "{r:?}");
    let s = seen.lock().unwrap();
    assert!(s.auth.is_empty());
    assert!(!s.in_clear("AUTH") && !s.in_clear("MAIL"), "{:?}", s.clear);
    let b64_password = "czNjcmV0"; // base64("s3cret")
    assert!(!s.clear.iter().any(|l| l.contains(b64_password)));
}

#[tokio::test]
async fn a_pooled_tls_connection_is_reused_and_stays_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(&["127.0.0.1"]);
    let ca = write_ca(dir.path(), &pki);
    let (addr, seen) = sink(SinkConfig {
        starttls: Some(pki.server.clone()),
        auth: Some(("relay", "s3cret")),
        ..SinkConfig::default()
    })
    .await;
    let c = client(addr, TlsMode::Required, Some(&ca)).with_auth(relay_credentials("s3cret"));
    for i in 0..3 {
        c.deliver("a@pportal.io", &format!("r{i}@example.org"), MSG).await.unwrap();
    }
    let s = seen.lock().unwrap();
    assert_eq!(s.connections, 1, "one connection for three messages");
    assert_eq!(s.auth.len(), 1, "one AUTH per connection");
    assert_eq!(s.messages.len(), 3);
    assert!(s.messages.iter().all(|m| m.tls));
    assert_eq!(s.messages[2].rcpt, "r2@example.org");
    assert_eq!(s.secure.iter().filter(|l| *l == "RSET").count(), 2, "RSET over TLS between transactions");
}
