//! `[next_hop]` configuration: the TLS defaults, the rules that keep credentials off the wire
//! in clear, the environment keys, redaction, and building the client from it.

#![allow(clippy::unwrap_used)]

use relay_server::{
    config::{Config, ConfigError, NextHopConfig, NextHopMode},
    delivery::{Client, SetupError, TlsMode},
};

fn load(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mailrelay.toml");
    std::fs::write(&file, toml).unwrap();
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Config::load(Some(&file), |k| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()))
}

#[test]
fn tls_defaults_follow_where_the_next_hop_is() {
    let c = load("", &[]).unwrap();
    assert_eq!(c.next_hop.mode, NextHopMode::Smarthost);
    assert_eq!(c.next_hop.tls_mode(), TlsMode::Disabled, "the default smarthost is on loopback");
    let c = load("[next_hop]\nsmarthost = \"localhost:10025\"\n", &[]).unwrap();
    assert_eq!(c.next_hop.tls_mode(), TlsMode::Disabled);
    let c = load("[next_hop]\nsmarthost = \"smtp.provider.example:587\"\n", &[]).unwrap();
    assert_eq!(c.next_hop.tls_mode(), TlsMode::Required, "a remote smarthost gets verified TLS");
    let c = load("[next_hop]\nmode = \"mx\"\n", &[]).unwrap();
    assert_eq!(c.next_hop.tls_mode(), TlsMode::Opportunistic);
    assert_eq!(c.next_hop.mx_port, 25);
    let c = load("[next_hop]\nsmarthost = \"smtp.provider.example:25\"\ntls = \"opportunistic\"\n", &[]).unwrap();
    assert_eq!(c.next_hop.tls_mode(), TlsMode::Opportunistic, "an explicit setting wins");
}

#[test]
fn credentials_need_tls_a_smarthost_and_both_halves() {
    let bad = |toml: &str, needle: &str| match load(toml, &[]) {
        Err(ConfigError::Invalid(m)) => assert!(m.contains(needle), "{m}"),
        other => panic!("{toml}: {other:?}"),
    };
    bad(
        "[next_hop]\nsmarthost = \"smtp.example:587\"\ntls = \"none\"\nauth_user = \"u\"\nauth_password = \"p\"\n",
        "never sent in clear",
    );
    // On loopback the default is `none`, so credentials there need an explicit TLS mode too.
    bad("[next_hop]\nauth_user = \"u\"\nauth_password = \"p\"\n", "never sent in clear");
    bad("[next_hop]\nsmarthost = \"smtp.example:587\"\nauth_user = \"u\"\n", "go together");
    bad("[next_hop]\nmode = \"mx\"\nauth_user = \"u\"\nauth_password = \"p\"\n", "not MX");
    bad("[next_hop]\nsmarthost = \"no-port\"\n", "host:port");
    bad("[next_hop]\ntls = \"opportunistic\"\ntls_ca = \"/x.pem\"\n", "tls_ca");
    assert!(matches!(load("[next_hop]\ntls = \"sometimes\"\n", &[]), Err(ConfigError::Toml(_))));
}

#[test]
fn environment_keys_and_the_password_is_redacted() {
    let c = load(
        "[next_hop]\nsmarthost = \"smtp.example:587\"\n",
        &[
            ("MAILRELAY_NEXT_HOP_AUTH_USER", "relay"),
            ("MAILRELAY_NEXT_HOP_AUTH_PASSWORD", "hunter2-next-hop"),
            ("MAILRELAY_NEXT_HOP_TLS", "required"),
        ],
    )
    .unwrap();
    assert_eq!(c.next_hop.auth_user.as_deref(), Some("relay"));
    assert_eq!(c.next_hop.auth_password.as_ref().unwrap().expose(), "hunter2-next-hop");
    let debug = format!("{c:?}");
    assert!(!debug.contains("hunter2-next-hop"), "{debug}");
    let c = load(
        "",
        &[
            ("MAILRELAY_NEXT_HOP_MODE", "mx"),
            ("MAILRELAY_NEXT_HOP_MX_PORT", "2525"),
            ("MAILRELAY_NEXT_HOP_DNS_SERVER", "127.0.0.1:5353"),
        ],
    )
    .unwrap();
    assert_eq!((c.next_hop.mode, c.next_hop.mx_port), (NextHopMode::Mx, 2525));
    assert_eq!(c.next_hop.dns_server, Some("127.0.0.1:5353".parse().unwrap()));
    for (var, value) in [("MAILRELAY_NEXT_HOP_TLS", "maybe"), ("MAILRELAY_NEXT_HOP_MODE", "pigeon")] {
        assert!(matches!(load("", &[(var, value)]), Err(ConfigError::Env { var: v, .. }) if v == var));
    }
}

#[tokio::test]
async fn the_client_is_built_from_the_configuration() {
    let c = load("[next_hop]\nmode = \"mx\"\ndns_server = \"127.0.0.1:5353\"\n", &[]).unwrap();
    assert!(Client::from_config(&c.next_hop, "relay.test").is_ok());
    let c = load("[next_hop]\nsmarthost = \"smtp.example:587\"\ntls_ca = \"/nonexistent/ca.pem\"\n", &[]).unwrap();
    let e = Client::from_config(&c.next_hop, "relay.test").err().unwrap();
    assert!(matches!(&e, SetupError::Tls(m) if m.contains("/nonexistent/ca.pem")), "{e:?}");
}

#[test]
fn the_example_configurations_next_hop_section_parses() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/mailrelay.example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    let hop: NextHopConfig = doc["next_hop"].clone().try_into().unwrap();
    assert_eq!(hop.mode, NextHopMode::Smarthost);
    assert_eq!(hop.tls_mode(), TlsMode::Disabled, "its smarthost is on loopback");
    // Every commented-out `# key = value` line is a real key: uncommented, the section parses.
    let section = text.split("[next_hop]").nth(1).unwrap().split("\n[").next().unwrap();
    let is_key =
        |l: &str| l.split_once(" = ").is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    let uncommented: Vec<&str> =
        section.lines().map(|l| l.strip_prefix("# ").filter(|l| is_key(l)).unwrap_or(l)).collect();
    let hop: NextHopConfig = toml::from_str(&uncommented.join("\n")).unwrap();
    assert_eq!(hop.tls_mode(), TlsMode::Required);
    assert_eq!(hop.auth_user.as_deref(), Some("mailrelay"));
    assert_eq!(hop.dns_server, Some("127.0.0.1:53".parse().unwrap()));
}
