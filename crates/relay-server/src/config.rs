//! Configuration, in layers: built-in defaults, then a TOML file, then `MAILRELAY_*`
//! environment variables. Secrets are held in [`Secret`], whose `Debug` never shows them.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use serde::Deserialize;

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
}

/// Next-hop settings.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct NextHopConfig {
    /// `host:port` of the smarthost.
    pub smarthost: String,
    /// Seconds to wait for each reply of the next hop.
    pub reply_timeout_secs: u64,
}

/// HTTP API settings.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address.
    pub listen: SocketAddr,
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
        }
    }
}

impl Default for NextHopConfig {
    fn default() -> Self {
        NextHopConfig { smarthost: "127.0.0.1:2526".into(), reply_timeout_secs: 120 }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { listen: SocketAddr::from(([127, 0, 0, 1], 8080)) }
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
        if let Some(v) = env("MAILRELAY_NEXT_HOP_SMARTHOST") {
            self.next_hop.smarthost = v;
        }
        if let Some(v) = env("MAILRELAY_HTTP_LISTEN") {
            self.http.listen = parse("MAILRELAY_HTTP_LISTEN", &v)?;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
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
