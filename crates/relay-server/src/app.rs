//! The assembled relay: configuration, store, engine, next hop.

use std::{path::Path, sync::Arc, time::Duration};

use base64ct::{Base64, Encoding};
use pki_core::KeyAlgorithm;
use rand_core::SeedableRng;
use relay_engine::{Engine, KeyPool, address::RelayDomains, seal::MasterKey};

use crate::{config::Config, delivery::Client, store::SqlStore};

/// The running relay's parts.
pub struct App {
    /// The configuration.
    pub config: Config,
    /// The engine over the SQL store.
    pub engine: Arc<Engine<SqlStore>>,
    /// The next hop.
    pub next_hop: Arc<Client>,
    /// What became of each message, by reason (for `/metrics`).
    pub outcomes: Arc<crate::outcomes::Outcomes>,
}

/// Why the relay cannot start.
#[derive(Debug)]
#[non_exhaustive]
pub enum AppError {
    /// The data directory or a file in it.
    Io(String),
    /// The master key is missing or malformed.
    MasterKey(String),
    /// The database.
    Store(String),
    /// The configuration.
    Config(String),
}

impl core::fmt::Display for AppError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AppError::Io(m) => write!(f, "{m}"),
            AppError::MasterKey(m) => write!(f, "master key: {m}"),
            AppError::Store(m) => write!(f, "database: {m}"),
            AppError::Config(m) => write!(f, "configuration: {m}"),
        }
    }
}

impl std::error::Error for AppError {}

/// A CSPRNG seeded from the operating system.
///
/// # Errors
/// If the operating system has no randomness to give.
pub fn os_rng() -> Result<rand_chacha::ChaCha20Rng, AppError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| AppError::Io(format!("no OS randomness: {e}")))?;
    Ok(rand_chacha::ChaCha20Rng::from_seed(seed))
}

impl App {
    /// Opens the store (running migrations), loads the master key, builds the engine, and
    /// starts refilling the key pool in the background. With `generate_key`, a missing master
    /// key is created in the data directory (the demo does this, and says so).
    ///
    /// # Errors
    /// [`AppError`] naming what is missing.
    pub async fn open(config: Config, generate_key: bool) -> Result<App, AppError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| AppError::Io(format!("cannot create {}: {e}", config.data_dir.display())))?;
        let master = load_master_key(&config, generate_key)?;
        let store = SqlStore::connect(&config.database_url()).await.map_err(|e| AppError::Store(e.to_string()))?;
        let resealed =
            store.reseal_legacy_keys(&master, &mut os_rng()?).await.map_err(|e| AppError::Store(e.to_string()))?;
        if resealed > 0 {
            tracing::info!(keys = resealed, "sealed keys of the first release bound to their rows");
        }
        let domains = RelayDomains::new(&config.domains).map_err(|e| AppError::Config(e.to_string()))?;
        let mut engine_config = relay_engine::Config::new(domains);
        engine_config.relay_id = config.relay_id.clone();
        engine_config.max_new_contacts = config.abuse.max_new_contacts_per_message.max(1);
        engine_config.new_contacts_per_account = config.abuse.new_contacts_per_account.into();
        engine_config.replies_per_account = config.abuse.replies_per_account.into();
        let pool =
            KeyPool::new(KeyAlgorithm::Rsa2048, config.abuse.key_pool).with_on_demand(config.abuse.keygen_on_demand);
        let engine = Arc::new(Engine::new(store, engine_config, master, pool));
        let next_hop = Arc::new(
            Client::from_config(&config.next_hop, &config.smtp.hostname)
                .map_err(|e| AppError::Config(e.to_string()))?,
        );
        spawn_pool_refill(engine.clone());
        Ok(App { config, engine, next_hop, outcomes: Arc::default() })
    }
}

/// Keeps the key pool full on a blocking thread (key generation is CPU-bound).
fn spawn_pool_refill(engine: Arc<Engine<SqlStore>>) {
    let Ok(mut rng) = os_rng() else { return };
    tokio::task::spawn_blocking(move || {
        loop {
            match engine.pool().refill_one(&mut rng) {
                Ok(true) => {}
                Ok(false) => std::thread::sleep(Duration::from_millis(500)),
                Err(e) => {
                    tracing::warn!("key pool refill failed: {e}");
                    std::thread::sleep(Duration::from_secs(5));
                }
            }
            if Arc::strong_count(&engine) == 1 {
                return; // the relay has shut down
            }
        }
    });
}

/// The master key: from the configuration (`MAILRELAY_MASTER_KEY`), else from
/// `data_dir/master.key`, else (if allowed) a new one written there with mode 0600.
fn load_master_key(config: &Config, generate: bool) -> Result<MasterKey, AppError> {
    if let Some(k) = config.master_key.as_ref().filter(|k| !k.is_empty()) {
        return decode_key(k.expose(), "MAILRELAY_MASTER_KEY");
    }
    let path = config.data_dir.join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => decode_key(text.trim(), &path.display().to_string()),
        Err(_) if generate => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| AppError::MasterKey(format!("no OS randomness: {e}")))?;
            write_private(&path, Base64::encode_string(&key).as_bytes())?;
            tracing::info!("generated a new master key in {}", path.display());
            Ok(MasterKey::from_bytes(key))
        }
        Err(_) => Err(AppError::MasterKey(format!(
            "none configured: set MAILRELAY_MASTER_KEY (base64 of 32 random bytes) or create {}",
            path.display()
        ))),
    }
}

fn decode_key(text: &str, source: &str) -> Result<MasterKey, AppError> {
    let bytes = Base64::decode_vec(text.trim()).map_err(|_| AppError::MasterKey(format!("{source} is not base64")))?;
    let key: [u8; 32] =
        bytes.try_into().map_err(|_| AppError::MasterKey(format!("{source} must hold exactly 32 bytes")))?;
    Ok(MasterKey::from_bytes(key))
}

/// Writes a file readable by its owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AppError> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| AppError::Io(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(bytes).map_err(|e| AppError::Io(format!("cannot write {}: {e}", path.display())))
}

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM (what systemd and container runtimes send).
///
/// # Errors
/// If the signal handlers cannot be installed.
pub async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
