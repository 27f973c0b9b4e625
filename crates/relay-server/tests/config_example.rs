//! docs/mailrelay.example.toml is what operators start from: it must load as it stands, and with
//! its commented-out `[smtp.tls]` section switched on (pointing at a real pair) as well.

#![allow(clippy::unwrap_used)]

use relay_server::config::Config;

fn example() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/mailrelay.example.toml")).unwrap()
}

#[test]
fn the_example_configuration_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mailrelay.toml");
    std::fs::write(&path, example()).unwrap();
    let config = Config::load(Some(&path), |_| None).unwrap();
    assert_eq!(config.domains, ["pportal.io"]);
    assert_eq!(config.smtp.listen.port(), 25);
    assert!(config.smtp.tls.is_none(), "TLS is commented out in the example");
    assert_eq!(config.next_hop.smarthost, "127.0.0.1:10025");
}

#[test]
fn the_example_with_its_tls_section_switched_on_loads_the_pair() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = relay_server::tls::self_signed_pair(dir.path(), &["mx1.pportal.io".into()]).unwrap();
    let text = example()
        .replace("# [smtp.tls]", "[smtp.tls]")
        .replace("# cert = \"/etc/mailrelay/fullchain.pem\"", &format!("cert = {:?}", cert.display().to_string()))
        .replace("# key = \"/etc/mailrelay/key.pem\"", &format!("key = {:?}", key.display().to_string()));
    let path = dir.path().join("mailrelay.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Config::load(Some(&path), |_| None).unwrap();
    assert_eq!(config.smtp.tls.as_ref().unwrap().cert, cert);

    // A missing file is a configuration error that names it.
    std::fs::write(&path, text.replace(&cert.display().to_string(), "/nonexistent/fullchain.pem")).unwrap();
    let err = Config::load(Some(&path), |_| None).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/fullchain.pem"), "{err}");
}
