//! S/MIME on whole RFC 5322 messages, from the command line.
//!
//! ```text
//! cargo run -p pki-core --example smime -- sign         --in MSG --out OUT --cert C.pem --key K.pem [--chain I.pem]
//! cargo run -p pki-core --example smime -- encrypt      --in MSG --out OUT --recipient R.pem [--recipient R2.pem] [--gcm]
//! cargo run -p pki-core --example smime -- sign-encrypt --in MSG --out OUT --cert C.pem --key K.pem [--chain I.pem] --recipient R.pem
//! cargo run -p pki-core --example smime -- decrypt      --in MSG --out OUT --cert C.pem --key K.pem
//! cargo run -p pki-core --example smime -- verify       --in MSG --out OUT --trust ROOT.pem
//! ```
//! Headers (From, To, Subject, …) stay outside the CMS; the MIME entity goes inside.
#![allow(clippy::unwrap_used)]

use std::{collections::HashMap, process::ExitCode};

use pki_core::{
    PrivateKey, UnixTime,
    cms::{ContentCipher, Signer},
    smime,
};
use rand_core::SeedableRng;
use x509_cert::Certificate;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    command: String,
    opts: HashMap<String, Vec<String>>,
    flags: Vec<String>,
}

impl Args {
    fn parse() -> Res<Self> {
        let mut it = std::env::args().skip(1);
        let command = it.next().ok_or("missing command: sign|encrypt|sign-encrypt|decrypt|verify")?;
        let (mut opts, mut flags) = (HashMap::<String, Vec<String>>::new(), Vec::new());
        while let Some(a) = it.next() {
            let name = a.strip_prefix("--").ok_or_else(|| format!("unexpected argument {a}"))?.to_string();
            if name == "gcm" {
                flags.push(name);
                continue;
            }
            let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            opts.entry(name).or_default().push(v);
        }
        Ok(Args { command, opts, flags })
    }
    fn one(&self, name: &str) -> Res<&str> {
        self.opts
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required").into())
    }
    fn all(&self, name: &str) -> &[String] {
        self.opts.get(name).map(Vec::as_slice).unwrap_or_default()
    }
}

fn certs(path: &str) -> Res<Vec<Certificate>> {
    Ok(Certificate::load_pem_chain(&std::fs::read(path)?)?)
}

fn cert(path: &str) -> Res<Certificate> {
    certs(path)?.into_iter().next().ok_or_else(|| format!("no certificate in {path}").into())
}

fn key(path: &str) -> Res<PrivateKey> {
    Ok(PrivateKey::from_pkcs8_pem(&std::fs::read_to_string(path)?)?)
}

fn now() -> UnixTime {
    UnixTime(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

fn run() -> Res<ExitCode> {
    let args = Args::parse()?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no OS randomness: {e}"))?;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
    let input = std::fs::read(args.one("in")?)?;
    let cipher =
        if args.flags.iter().any(|f| f == "gcm") { ContentCipher::Aes256Gcm } else { ContentCipher::Aes256Cbc };
    let mut recipients = Vec::new();
    for r in args.all("recipient") {
        recipients.push(cert(r)?);
    }
    let mut chain = Vec::new();
    for c in args.all("chain") {
        chain.extend(certs(c)?);
    }
    let mut status = ExitCode::SUCCESS;
    let output = match args.command.as_str() {
        "sign" | "sign-encrypt" => {
            let (c, k) = (cert(args.one("cert")?)?, key(args.one("key")?)?);
            let signer = Signer { cert: &c, key: &k, chain: &chain };
            if args.command == "sign" {
                smime::sign_message(&input, signer, now(), &mut rng)?
            } else {
                smime::sign_and_encrypt_message(&input, signer, &recipients, cipher, now(), &mut rng)?
            }
        }
        "encrypt" => smime::encrypt_message(&input, &recipients, cipher, &mut rng)?,
        "decrypt" => smime::decrypt_message(&input, &cert(args.one("cert")?)?, &key(args.one("key")?)?, &mut rng)?,
        "verify" => {
            let v = smime::verify_message(&input, &cert(args.one("trust")?)?, now())?;
            for (i, s) in v.report.signers.iter().enumerate() {
                let who = s.cert.as_ref().map(|c| c.tbs_certificate().subject().to_string()).unwrap_or_default();
                eprintln!("signer {i} ({who}): signature {:?}, chain {}", s.signature, s.chain);
            }
            if v.report.is_valid() {
                eprintln!("Verification successful");
            } else {
                eprintln!("Verification FAILED");
                status = ExitCode::FAILURE;
            }
            v.message
        }
        other => return Err(format!("unknown command {other}").into()),
    };
    std::fs::write(args.one("out")?, output)?;
    Ok(status)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
