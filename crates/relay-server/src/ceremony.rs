//! `mailrelay ceremony`: the S/MIME ceremony from the command line, for people who would rather
//! not use a browser. It does what the web page does, with pki-core, on the user's machine:
//!
//! ```text
//! this machine                                        the relay (HTTP API)
//! EE key + CSR, root key ── POST /api/profiles ──────> EE cert, intermediate TBS
//! review_intermediate(TBS): shown, or refused
//! root self-signed; root signs the TBS; root key dropped
//! root + intermediate ───── POST /api/profiles/{id}/complete ──> profile active
//! root.pem/.cer, chain.pem, ee.pem, ee.p12, ee-compat.p12 written to --out
//! ```
//!
//! The root key exists only in this process's memory, between its generation and the signature
//! over the intermediate; it is never written anywhere. The end-entity key leaves the process
//! only inside the two password-protected .p12 files.

use std::{
    io::Write,
    path::{Path, PathBuf},
    time::Duration,
};

use base64ct::{Base64, Encoding};
use der::{DecodePem, Encode, EncodePem, pem::LineEnding};
use pki_core::{
    KeyAlgorithm, PrivateKey, UnixTime,
    address::Mailbox,
    ceremony::{IntermediateReview, review_intermediate},
    cert::{self, Issuer, Lifetime},
    csr,
    path::{self, Usage},
    pkcs12::{self, ExportOptions, Flavour},
};
use rand_core::Rng;
use serde_json::{Value, json};
use x509_cert::Certificate;

use crate::{app::os_rng, config::Secret};

/// The root's subject: the relay names it in the intermediate it prepares.
const ROOT_CN: &str = "Mail relay user root";
/// The root's lifetime; the intermediate (825 days) must not outlive it.
const ROOT_DAYS: u32 = cert::MAX_VALIDITY_DAYS;

/// What the ceremony needs.
#[derive(Debug)]
pub struct Options {
    /// The relay's base URL, e.g. `https://relay.example.net`.
    pub server: String,
    /// An API token of the account.
    pub token: Secret,
    /// The verified mailbox the end-entity certificate is for.
    pub mailbox: String,
    /// Where the files go; created if missing, and must not hold a previous ceremony's files.
    pub out: PathBuf,
    /// The algorithm of the end-entity and root keys.
    pub key: KeyAlgorithm,
    /// The password of the .p12 files; a random one is made (and shown) when absent.
    pub p12_password: Option<Secret>,
}

/// What the ceremony made.
#[derive(Debug)]
pub struct Outcome {
    /// The profile, now active.
    pub profile_id: i64,
    /// What the root signed.
    pub review: IntermediateReview,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The .p12 password, when it was generated here.
    pub generated_password: Option<Secret>,
}

/// Why the ceremony stopped. Nothing is activated unless every step succeeds.
#[derive(Debug)]
pub enum CeremonyError {
    /// Bad options.
    Usage(String),
    /// The relay could not be reached, or answered something unreadable.
    Transport(String),
    /// The relay refused (its JSON error code and message).
    Refused {
        /// HTTP status.
        status: u16,
        /// The stable error code.
        code: String,
        /// The message.
        message: String,
    },
    /// What the relay sent failed a check; nothing was signed or activated.
    Check(String),
    /// A local file could not be written.
    Io(String),
}

impl core::fmt::Display for CeremonyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CeremonyError::Usage(m) => write!(f, "{m}"),
            CeremonyError::Transport(m) => write!(f, "relay unreachable or unreadable: {m}"),
            CeremonyError::Refused { status, code, message } => {
                write!(f, "the relay refused ({status} {code}): {message}")
            }
            CeremonyError::Check(m) => write!(f, "check failed, nothing activated: {m}"),
            CeremonyError::Io(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for CeremonyError {}

fn check(e: impl core::fmt::Display) -> CeremonyError {
    CeremonyError::Check(e.to_string())
}

const FILES: [&str; 6] = ["root.pem", "root.cer", "chain.pem", "ee.pem", "ee.p12", "ee-compat.p12"];

/// Runs the ceremony against the relay, printing each step to `log`.
///
/// # Errors
/// [`CeremonyError`] naming the step that failed.
pub async fn run(opts: &Options, log: &mut (dyn Write + Send)) -> Result<Outcome, CeremonyError> {
    let mailbox =
        Mailbox::parse(&opts.mailbox).map_err(|e| CeremonyError::Usage(format!("--mailbox {}: {e}", opts.mailbox)))?;
    let base = opts.server.trim_end_matches('/').to_string();
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(CeremonyError::Usage(format!("--server {base}: expected an http:// or https:// URL")));
    }
    prepare_out_dir(&opts.out)?;
    let mut say = |m: &str| {
        let _ = writeln!(log, "{m}");
    };
    let mut rng = os_rng().map_err(|e| CeremonyError::Io(e.to_string()))?;
    let client = Client::new(&base, &opts.token)?;

    // 1. The end-entity key and its CSR; the root key (kept in memory only).
    let ee_key = PrivateKey::generate(opts.key, &mut rng).map_err(check)?;
    let csr = csr::build(&mailbox, &ee_key.public_key()).and_then(|t| t.sign(&ee_key, &mut rng)).map_err(check)?;
    let root_key = PrivateKey::generate(opts.key, &mut rng).map_err(check)?;
    let root_spki = root_key.public_key().to_spki().map_err(check)?;
    say(&format!("1. made the end-entity key and CSR for {mailbox}, and the root key ({:?})", opts.key));

    // 2. The relay issues the end-entity certificate and prepares the intermediate.
    let begun = client
        .post(
            "/api/profiles",
            &json!({
                "csr": csr.to_pem(LineEnding::LF).map_err(check)?,
                "root_public_key": root_spki.to_pem(LineEnding::LF).map_err(check)?,
            }),
        )
        .await?;
    let profile_id = begun["profile"]["id"].as_i64().ok_or_else(|| check("no profile id in the answer"))?;
    let ee_pem = begun["end_entity"].as_str().ok_or_else(|| check("no end-entity certificate in the answer"))?;
    let end_entity = Certificate::from_pem(ee_pem).map_err(check)?;
    if end_entity.tbs_certificate().subject_public_key_info() != &ee_key.public_key().to_spki().map_err(check)? {
        return Err(check("the end-entity certificate is not for our key"));
    }
    let tbs = begun["intermediate_tbs"]
        .as_str()
        .and_then(|b| Base64::decode_vec(b).ok())
        .ok_or_else(|| check("no intermediate TBS in the answer"))?;
    say(&format!(
        "2. the relay issued the end-entity certificate and prepared the intermediate (profile {profile_id})"
    ));

    // 3. Review what the root is asked to sign, before the root even exists as a certificate.
    let now = unix_now();
    let planned =
        Issuer::planned(cert::common_name_only(ROOT_CN).map_err(check)?, root_key.public_key(), None).map_err(check)?;
    let (review, _) = review_intermediate(&tbs, &planned, now).map_err(check)?;
    if !review.permits(mailbox.as_str()) {
        return Err(check(format!("the intermediate may not issue for {mailbox}: {}", review.permitted.join(", "))));
    }
    say("3. the root is asked to sign this intermediate:");
    for line in review.to_string().lines() {
        say(&format!("     {line}"));
    }

    // 4. The root: self-signed, then it signs the reviewed TBS, then it is dropped. Its validity
    // starts no later than the intermediate's, so the intermediate never outlives it.
    let (root, intermediate) = {
        let root_now = UnixTime(now.0.max(review.not_before.0.saturating_add(3600)));
        let root = cert::root(ROOT_CN, &root_key.public_key(), Lifetime { now: root_now, days: ROOT_DAYS }, &mut rng)
            .and_then(|t| t.sign(&root_key, &mut rng))
            .map_err(check)?;
        let issuer = Issuer::from_certificate(&root).map_err(check)?;
        let (_, to_sign) = review_intermediate(&tbs, &issuer, now).map_err(check)?;
        let intermediate = to_sign.sign(&root_key, &mut rng).map_err(check)?;
        drop(root_key);
        (root, intermediate)
    };
    let verdict = path::validate(&end_entity, std::slice::from_ref(&intermediate), &root, now, Usage::Encrypt);
    if !verdict.is_valid() {
        return Err(check(format!("the chain does not validate: {verdict}")));
    }
    say("4. the root signed itself and the intermediate; the root key is gone; the chain validates");

    // 5. Activate.
    let done = client
        .post(
            &format!("/api/profiles/{profile_id}/complete"),
            &json!({
                "root": root.to_pem(LineEnding::LF).map_err(check)?,
                "intermediate": intermediate.to_pem(LineEnding::LF).map_err(check)?,
            }),
        )
        .await?;
    if done["status"].as_str() != Some("active") {
        return Err(check(format!("the profile is not active after completion: {}", done["status"])));
    }
    say(&format!("5. profile {profile_id} is active"));

    // 6. The files.
    let (password, generated_password) = match &opts.p12_password {
        Some(p) => (p.expose().to_string(), None),
        None => {
            let p = random_password(&mut rng);
            (p.clone(), Some(Secret::new(p)))
        }
    };
    let der = |c: &Certificate| c.to_der().map_err(check);
    let key_der = ee_key.to_pkcs8_der().map_err(check)?;
    let chain_der = [der(&intermediate)?, der(&root)?];
    let chain: Vec<&[u8]> = chain_der.iter().map(Vec::as_slice).collect();
    let pem = |c: &Certificate| c.to_pem(LineEnding::LF).map_err(check);
    let mut files = Vec::new();
    let mut write = |name: &str, bytes: &[u8], private: bool| -> Result<(), CeremonyError> {
        let path = opts.out.join(name);
        write_file(&path, bytes, private)?;
        files.push(path);
        Ok(())
    };
    write("root.pem", pem(&root)?.as_bytes(), false)?;
    write("root.cer", &der(&root)?, false)?;
    write("chain.pem", format!("{}{}", pem(&intermediate)?, pem(&root)?).as_bytes(), false)?;
    write("ee.pem", pem(&end_entity)?.as_bytes(), false)?;
    for (name, flavour) in [("ee.p12", Flavour::Modern), ("ee-compat.p12", Flavour::Compatible)] {
        let p12_opts = ExportOptions::new(flavour).with_friendly_name(mailbox.as_str());
        let p12 =
            pkcs12::export(&key_der, &der(&end_entity)?, &chain, &password, &p12_opts, &mut rng).map_err(check)?;
        write(name, &p12, true)?;
    }
    say(&format!("6. wrote {} files to {}", files.len(), opts.out.display()));
    Ok(Outcome { profile_id, review, files, generated_password })
}

fn unix_now() -> UnixTime {
    UnixTime(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

/// Creates `out` if needed and refuses to overwrite a previous ceremony's files.
fn prepare_out_dir(out: &Path) -> Result<(), CeremonyError> {
    std::fs::create_dir_all(out).map_err(|e| CeremonyError::Io(format!("{}: {e}", out.display())))?;
    if let Some(name) = FILES.iter().find(|n| out.join(n).exists()) {
        return Err(CeremonyError::Usage(format!(
            "{} already exists: choose another --out directory (a previous ceremony's files are not overwritten)",
            out.join(name).display()
        )));
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), CeremonyError> {
    let io = |e: std::io::Error| CeremonyError::Io(format!("{}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// 20 characters from an unambiguous alphabet (about 100 bits), in groups of five.
fn random_password(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut out = String::new();
    for i in 0..20 {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        // Rejection sampling keeps the choice uniform.
        let c = loop {
            let b = (rng.next_u32() & 0x1f) as usize;
            if let Some(c) = ALPHABET.get(b) {
                break *c;
            }
        };
        out.push(char::from(c));
    }
    out
}

/// A JSON client for the relay's API with a bearer token.
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    fn new(base: &str, token: &Secret) -> Result<Self, CeremonyError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("mailrelay-ceremony/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CeremonyError::Transport(e.to_string()))?;
        Ok(Client { http, base: base.to_string(), token: token.expose().to_string() })
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, CeremonyError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| CeremonyError::Transport(e.to_string()))?;
        let status = response.status();
        let value: Value = response.json().await.map_err(|e| CeremonyError::Transport(format!("{path}: {e}")))?;
        if status.is_success() {
            return Ok(value);
        }
        let field = |k: &str| value["error"][k].as_str().unwrap_or("?").to_string();
        Err(CeremonyError::Refused { status: status.as_u16(), code: field("code"), message: field("message") })
    }
}
