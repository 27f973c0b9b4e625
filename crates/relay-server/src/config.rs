//! Configuration, in layers: built-in defaults, then a TOML file, then `MAILRELAY_*`
//! environment variables. Secrets are held in [`Secret`], whose `Debug` never shows them.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use serde::Deserialize;

use crate::delivery::TlsMode;

/// A secret string: redacted in `Debug` and never logged.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True if no secret was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.0.is_empty() { "Secret(<empty>)" } else { "Secret(<redacted>)" })
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The relay's domains; the first is the primary (reverse aliases, Message-IDs).
    pub domains: Vec<String>,
    /// Written into the loop-detection header of everything forwarded.
    pub relay_id: String,
    /// Where the SQLite database, the generated master key and demo files live.
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://PATH` (default: `data_dir/mailrelay.db`) or `postgres://...`.
    pub database_url: Option<Secret>,
    /// The master key sealing private keys at rest, base64 of 32 bytes.
    pub master_key: Option<Secret>,
    /// SMTP front.
    pub smtp: SmtpConfig,
    /// The next hop.
    pub next_hop: NextHopConfig,
    /// HTTP API.
    pub http: HttpConfig,
    /// `[abuse]`: bounds on the work one sender can cause.
    pub abuse: AbuseConfig,
}

/// `[abuse]`: bounds on the work that senders can cause (see README, "Security model").
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AbuseConfig {
    /// Recipient keys kept generated and waiting, so that a new contact does not wait.
    pub key_pool: usize,
    /// Keys generated at once by messages that find the pool empty; beyond that, a new contact
    /// is deferred (451) instead of queueing key generations.
    pub keygen_on_demand: usize,
    /// Contacts one forwarded message may create (sender, To/Cc/Reply-To, relay addresses in
    /// its content); addresses beyond are removed.
    pub max_new_contacts_per_message: usize,
    /// New SMTP connections per client IPv4 address or IPv6 /64: burst, then per hour.
    pub connections_per_ip: RateConfig,
    /// Messages (`MAIL` commands) per client IPv4 address or IPv6 /64: burst, then per hour.
    pub messages_per_ip: RateConfig,
    /// New contacts per account (senders, recipients, threads): burst, then per hour.
    pub new_contacts_per_account: RateConfig,
    /// Replies per account: burst, then per hour.
    pub replies_per_account: RateConfig,
}

/// A token bucket: `burst` at once, `per_hour` added back over each hour.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    /// How many at once.
    pub burst: u32,
    /// How many an hour, sustained.
    pub per_hour: u32,
}

impl From<RateConfig> for relay_engine::rate::Rate {
    fn from(r: RateConfig) -> Self {
        relay_engine::rate::Rate { burst: r.burst, per_hour: r.per_hour }
    }
}

impl Default for AbuseConfig {
    fn default() -> Self {
        AbuseConfig {
            key_pool: 16,
            keygen_on_demand: 2,
            max_new_contacts_per_message: 20,
            connections_per_ip: RateConfig { burst: 60, per_hour: 1200 },
            messages_per_ip: RateConfig { burst: 100, per_hour: 3600 },
            new_contacts_per_account: RateConfig { burst: 200, per_hour: 1000 },
            replies_per_account: RateConfig { burst: 100, per_hour: 500 },
        }
    }
}

/// SMTP front settings.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Name in the greeting and EHLO.
    pub hostname: String,
    /// Largest message accepted, in bytes.
    pub max_message_size: usize,
    /// Recipients per transaction.
    pub max_recipients: usize,
    /// Concurrent connections in total.
    pub max_connections: usize,
    /// Concurrent connections per client IP.
    pub max_connections_per_ip: usize,
    /// Command timeout, seconds.
    pub command_timeout_secs: u64,
    /// DATA timeout, seconds.
    pub data_timeout_secs: u64,
    /// Longest a connection may last, seconds, however busy it is.
    pub max_session_secs: u64,
    /// Transactions (`MAIL` commands) per connection.
    pub max_transactions: usize,
    /// MiB of message data in flight across all sessions, each message counted at its
    /// pipeline's cost (twice its size, for forwards and replies alike); beyond it, 452 4.3.1.
    pub memory_budget_mb: usize,
    /// `[smtp.tls]`: the certificate and key that `STARTTLS` offers. Unset: no `STARTTLS`.
    pub tls: Option<TlsConfig>,
    /// The submission listener (port 587): `STARTTLS` required, then `AUTH` with an app
    /// password, then mail, which a reply authorises. Needs `[smtp.tls]`. Unset: none.
    pub submission_listen: Option<SocketAddr>,
}

/// `[smtp.tls]`: the SMTP front's certificate and key for `STARTTLS` (RFC 3207). Port 25 TLS is
/// opportunistic: clients that do not ask for it are still served.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the certificate chain, leaf first (`MAILRELAY_SMTP_TLS_CERT`).
    pub cert: PathBuf,
    /// PEM file with the private key (`MAILRELAY_SMTP_TLS_KEY`).
    pub key: PathBuf,
}

impl SmtpConfig {
    /// Loads the `[smtp.tls]` pair, so that a missing or unparseable file is a configuration
    /// error (and `check-config` reports it).
    fn validate_tls(&self) -> Result<(), ConfigError> {
        if let Some(tls) = &self.tls {
            crate::tls::server_config(&tls.cert, &tls.key)
                .map_err(|e| ConfigError::Invalid(format!("[smtp.tls]: {e}")))?;
        }
        if self.submission_listen.is_some() && self.tls.is_none() {
            return Err(ConfigError::Invalid(
                "[smtp] submission_listen needs [smtp.tls]: AUTH is only ever over TLS".into(),
            ));
        }
        Ok(())
    }
}

/// Next-hop settings: a smarthost, or MX delivery (see `delivery` and the example config).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct NextHopConfig {
    /// Smarthost or MX delivery.
    pub mode: NextHopMode,
    /// `host:port` of the smarthost.
    pub smarthost: String,
    /// STARTTLS policy. Unset: `none` for a smarthost on loopback, `required` for any other
    /// smarthost, `opportunistic` for MX delivery (see [`NextHopConfig::tls_mode`]).
    pub tls: Option<TlsMode>,
    /// PEM file of the CA(s) the smarthost's certificate must chain to when `tls = "required"`;
    /// unset: the system's roots.
    pub tls_ca: Option<PathBuf>,
    /// User for SMTP AUTH at the smarthost (sent over TLS only).
    pub auth_user: Option<String>,
    /// Password for SMTP AUTH (`MAILRELAY_NEXT_HOP_AUTH_PASSWORD`).
    pub auth_password: Option<Secret>,
    /// The port of MX hosts (25; other values are for tests).
    pub mx_port: u16,
    /// One DNS server (`ip:port`) for MX lookups instead of the system's resolvers.
    pub dns_server: Option<SocketAddr>,
    /// Seconds to wait for each reply of the next hop.
    pub reply_timeout_secs: u64,
}

/// How the next hop is found.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NextHopMode {
    /// The configured smarthost.
    #[default]
    Smarthost,
    /// The MX hosts of the recipient's domain.
    Mx,
}

impl core::str::FromStr for NextHopMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "smarthost" => Ok(NextHopMode::Smarthost),
            "mx" => Ok(NextHopMode::Mx),
            other => Err(format!("{other:?} is not one of smarthost, mx")),
        }
    }
}

impl NextHopConfig {
    /// The STARTTLS policy: the configured one, else `opportunistic` for MX delivery, `none`
    /// for a smarthost on loopback (nothing to protect on the wire), `required` for any other
    /// smarthost (credentials and mail cross a network).
    pub fn tls_mode(&self) -> TlsMode {
        match (self.tls, self.mode) {
            (Some(t), _) => t,
            (None, NextHopMode::Mx) => TlsMode::Opportunistic,
            (None, NextHopMode::Smarthost) if self.smarthost_is_loopback() => TlsMode::Disabled,
            (None, NextHopMode::Smarthost) => TlsMode::Required,
        }
    }

    fn smarthost_is_loopback(&self) -> bool {
        let host = self.smarthost.rsplit_once(':').map_or(self.smarthost.as_str(), |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(format!("next_hop: {m}")));
        if self.mode == NextHopMode::Smarthost {
            let port =
                self.smarthost.rsplit_once(':').and_then(|(h, p)| p.parse::<u16>().ok().filter(|_| !h.is_empty()));
            if port.is_none() {
                return invalid("smarthost must be host:port");
            }
        }
        if self.mode == NextHopMode::Mx && self.mx_port == 0 {
            return invalid("mx_port must not be 0");
        }
        let user = self.auth_user.as_deref().is_some_and(|u| !u.is_empty());
        let password = self.auth_password.as_ref().is_some_and(|p| !p.is_empty());
        if user != password {
            return invalid("auth_user and auth_password go together");
        }
        if user && self.mode == NextHopMode::Mx {
            return invalid("auth_user/auth_password are for a smarthost, not MX delivery");
        }
        if user && self.tls_mode() == TlsMode::Disabled {
            return invalid("AUTH needs TLS: credentials are never sent in clear (set tls = \"required\")");
        }
        if self.tls_ca.is_some() && self.tls_mode() != TlsMode::Required {
            return invalid("tls_ca is only used with tls = \"required\"");
        }
        if self.reply_timeout_secs == 0 {
            return invalid("reply_timeout_secs must be positive");
        }
        Ok(())
    }
}

/// HTTP API settings.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// The bearer token `/metrics` requires (`MAILRELAY_METRICS_TOKEN`). Unset: `/metrics`
    /// answers loopback clients only.
    pub metrics_token: Option<Secret>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            domains: vec!["pportal.io".into()],
            relay_id: "mailrelay".into(),
            data_dir: PathBuf::from("./mailrelay-data"),
            database_url: None,
            master_key: None,
            smtp: SmtpConfig::default(),
            abuse: AbuseConfig::default(),
            next_hop: NextHopConfig::default(),
            http: HttpConfig::default(),
        }
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 2525)),
            hostname: "localhost".into(),
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 50,
            max_connections: 256,
            max_connections_per_ip: 16,
            command_timeout_secs: 300,
            data_timeout_secs: 600,
            max_session_secs: 30 * 60,
            max_transactions: 100,
            memory_budget_mb: 256,
            tls: None,
            submission_listen: None,
        }
    }
}

impl Default for NextHopConfig {
    fn default() -> Self {
        NextHopConfig {
            mode: NextHopMode::Smarthost,
            smarthost: "127.0.0.1:2526".into(),
            tls: None,
            tls_ca: None,
            auth_user: None,
            auth_password: None,
            mx_port: crate::delivery::SMTP_PORT,
            dns_server: None,
            reply_timeout_secs: 120,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { listen: SocketAddr::from(([127, 0, 0, 1], 8080)), metrics_token: None }
    }
}

/// A configuration error, naming the layer and the key.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is invalid (unknown keys included).
    Toml(String),
    /// An environment variable has a bad value.
    Env {
        /// The variable.
        var: String,
        /// Why.
        reason: String,
    },
    /// The combination is not usable.
    Invalid(String),
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConfigError::Read { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            ConfigError::Toml(m) => write!(f, "invalid configuration file: {m}"),
            ConfigError::Env { var, reason } => write!(f, "invalid {var}: {reason}"),
            ConfigError::Invalid(m) => write!(f, "invalid configuration: {m}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Defaults, then `file` if given, then the environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming what is wrong.
    pub fn load(file: Option<&std::path::Path>, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
                toml::from_str(&text).map_err(|e| ConfigError::Toml(e.to_string()))?
            }
            None => Config::default(),
        };
        cfg.apply_env(env)?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(var: &str, v: &str) -> Result<T, ConfigError>
        where
            T::Err: core::fmt::Display,
        {
            v.parse().map_err(|e: T::Err| ConfigError::Env { var: var.into(), reason: e.to_string() })
        }
        if let Some(v) = env("MAILRELAY_DOMAINS") {
            self.domains = v.split(',').map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()).collect();
        }
        if let Some(v) = env("MAILRELAY_RELAY_ID") {
            self.relay_id = v;
        }
        if let Some(v) = env("MAILRELAY_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("MAILRELAY_DATABASE_URL") {
            self.database_url = Some(Secret::new(v));
        }
        if let Some(v) = env("MAILRELAY_MASTER_KEY") {
            self.master_key = Some(Secret::new(v));
        }
        if let Some(v) = env("MAILRELAY_SMTP_LISTEN") {
            self.smtp.listen = parse("MAILRELAY_SMTP_LISTEN", &v)?;
        }
        if let Some(v) = env("MAILRELAY_SMTP_HOSTNAME") {
            self.smtp.hostname = v;
        }
        if let Some(v) = env("MAILRELAY_SMTP_MAX_MESSAGE_SIZE") {
            self.smtp.max_message_size = parse("MAILRELAY_SMTP_MAX_MESSAGE_SIZE", &v)?;
        }
        self.apply_smtp_tls_env(&env)?;
        self.apply_next_hop_env(&env)?;
        if let Some(v) = env("MAILRELAY_HTTP_LISTEN") {
            self.http.listen = parse("MAILRELAY_HTTP_LISTEN", &v)?;
        }
        if let Some(v) = env("MAILRELAY_METRICS_TOKEN").filter(|v| !v.trim().is_empty()) {
            self.http.metrics_token = Some(Secret::new(v.trim()));
        }
        Ok(())
    }

    fn apply_next_hop_env(&mut self, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(var: &str, v: &str) -> Result<T, ConfigError>
        where
            T::Err: core::fmt::Display,
        {
            v.parse().map_err(|e: T::Err| ConfigError::Env { var: var.into(), reason: e.to_string() })
        }
        let hop = &mut self.next_hop;
        if let Some(v) = env("MAILRELAY_NEXT_HOP_MODE") {
            hop.mode = parse("MAILRELAY_NEXT_HOP_MODE", &v)?;
        }
        if let Some(v) = env("MAILRELAY_NEXT_HOP_SMARTHOST") {
            hop.smarthost = v;
        }
        if let Some(v) = env("MAILRELAY_NEXT_HOP_TLS") {
            hop.tls = Some(parse("MAILRELAY_NEXT_HOP_TLS", &v)?);
        }
        if let Some(v) = env("MAILRELAY_NEXT_HOP_TLS_CA") {
            hop.tls_ca = Some(PathBuf::from(v));
        }
        if let Some(v) = env("MAILRELAY_NEXT_HOP_AUTH_USER") {
            hop.auth_user = Some(v);
        }
        if let Some(v) = env("MAILRELAY_NEXT_HOP_AUTH_PASSWORD") {
            hop.auth_password = Some(Secret::new(v));
        }
        if let Some(v) = env("MAILRELAY_NEXT_HOP_MX_PORT") {
            hop.mx_port = parse("MAILRELAY_NEXT_HOP_MX_PORT", &v)?;
        }
        if let Some(v) = env("MAILRELAY_NEXT_HOP_DNS_SERVER") {
            hop.dns_server = Some(parse("MAILRELAY_NEXT_HOP_DNS_SERVER", &v)?);
        }
        Ok(())
    }

    /// `MAILRELAY_SMTP_TLS_CERT` and `MAILRELAY_SMTP_TLS_KEY` replace the file's `[smtp.tls]`
    /// paths one by one; without a file's `[smtp.tls]`, both are needed.
    fn apply_smtp_tls_env(&mut self, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        const CERT: &str = "MAILRELAY_SMTP_TLS_CERT";
        const KEY: &str = "MAILRELAY_SMTP_TLS_KEY";
        let (cert, key) = (env(CERT).map(PathBuf::from), env(KEY).map(PathBuf::from));
        if cert.is_none() && key.is_none() {
            return Ok(());
        }
        let file = self.smtp.tls.take();
        let cert = cert.or_else(|| file.as_ref().map(|t| t.cert.clone()));
        let key = key.or_else(|| file.map(|t| t.key));
        let missing = |var: &str, other: &str| ConfigError::Env {
            var: var.into(),
            reason: format!("{other} is set, so this is needed too (or [smtp.tls] in the file)"),
        };
        match (cert, key) {
            (Some(cert), Some(key)) => self.smtp.tls = Some(TlsConfig { cert, key }),
            (None, _) => return Err(missing(CERT, KEY)),
            (_, None) => return Err(missing(KEY, CERT)),
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.next_hop.validate()?;
        self.smtp.validate_tls()?;
        if self.domains.is_empty() {
            return Err(ConfigError::Invalid("at least one relay domain is needed".into()));
        }
        relay_engine::address::RelayDomains::new(&self.domains).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if self.smtp.max_message_size == 0 || self.smtp.max_recipients == 0 {
            return Err(ConfigError::Invalid("SMTP limits must be positive".into()));
        }
        Ok(())
    }

    /// The database URL: the configured one, or a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) if !u.is_empty() => u.expose().to_owned(),
            _ => format!("sqlite://{}?mode=rwc", self.data_dir.join("mailrelay.db").display()),
        }
    }

    /// The next hop's reply timeout.
    pub fn reply_timeout(&self) -> Duration {
        Duration::from_secs(self.next_hop.reply_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_and_redaction() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mailrelay.toml");
        std::fs::write(
            &file,
            "domains = [\"relay.example\"]\nmaster_key = \"c2VjcmV0\"\n[smtp]\nlisten = \"127.0.0.1:2600\"\n",
        )
        .unwrap();
        let env = |k: &str| match k {
            "MAILRELAY_SMTP_LISTEN" => Some("127.0.0.1:2700".to_string()),
            "MAILRELAY_DATABASE_URL" => Some("postgres://u:hunter2@db/relay".to_string()),
            _ => None,
        };
        let cfg = Config::load(Some(&file), env).unwrap();
        assert_eq!(cfg.domains, ["relay.example"]);
        assert_eq!(cfg.smtp.listen.port(), 2700, "the environment wins over the file");
        assert_eq!(cfg.smtp.max_recipients, 50, "defaults fill the rest");
        let debug = format!("{cfg:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("c2VjcmV0"), "{debug}");
        std::fs::write(&file, "domans = []\n").unwrap();
        assert!(matches!(Config::load(Some(&file), |_| None), Err(ConfigError::Toml(_))), "unknown keys are errors");
        assert!(matches!(
            Config::load(None, |k| (k == "MAILRELAY_SMTP_LISTEN").then(|| "nope".into())),
            Err(ConfigError::Env { .. })
        ));
        assert!(matches!(
            Config::load(None, |k| (k == "MAILRELAY_DOMAINS").then(|| "not a domain!".into())),
            Err(ConfigError::Invalid(_))
        ));
    }
}
