//! The S/MIME ceremony of the hybrid CA, done locally, as a library user's first read.
//!
//! ```text
//! cargo run -p pki-core --example ceremony -- --out DIR --domain pportal.io \
//!     --mailbox alice@example.com [--key rsa2048|p256] [--password PW] [--contact-alias ADDR]
//! ```
//!
//! Writes into DIR: `root.pem` (to trust), `intermediate.pem` + `intermediate.key` (the relay's),
//! `ee.pem` + `ee.key` (the user's), `ee.p12` (PBES2/AES-256) and `ee-compat.p12`
//! (3DES/SHA-1, for macOS Keychain and gpgsm), and `contact.pem` + `contact.key` for a
//! contact's reverse alias if one is given. The root key signs twice and is dropped; it is
//! never written anywhere.

use std::{path::PathBuf, process::ExitCode};

use der::{Encode, EncodePem, pem::LineEnding};
use pki_core::{
    KeyAlgorithm, PrivateKey, SignatureFormat, UnixTime,
    address::{Domain, Mailbox},
    cert::{self, Issuer, Lifetime, Permitted},
    path::{self, Usage},
    pkcs12::{self, ExportOptions, Flavour},
};
use rand_core::{Rng, SeedableRng};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Options {
    out: PathBuf,
    domain: Domain,
    mailbox: Mailbox,
    key: KeyAlgorithm,
    password: Option<String>,
    contact: Option<Mailbox>,
}

fn parse_args() -> Res<Options> {
    let mut args = std::env::args().skip(1);
    let (mut out, mut domain, mut mailbox, mut key, mut password, mut contact) =
        (None, None, None, KeyAlgorithm::Rsa2048, None, None);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--out" => out = Some(PathBuf::from(value()?)),
            "--domain" => domain = Some(Domain::parse(&value()?)?),
            "--mailbox" => mailbox = Some(Mailbox::parse(&value()?)?),
            "--key" => key = KeyAlgorithm::from_name(&value()?).ok_or("--key must be rsa2048, rsa3072 or p256")?,
            "--password" => password = Some(value()?),
            "--contact-alias" => contact = Some(Mailbox::parse(&value()?)?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(Options {
        out: out.ok_or("--out DIR is required")?,
        domain: domain.ok_or("--domain is required")?,
        mailbox: mailbox.ok_or("--mailbox is required")?,
        key,
        password,
        contact,
    })
}

fn run() -> Res<()> {
    let opts = parse_args()?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no OS randomness: {e}"))?;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
    let now = UnixTime(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs());
    std::fs::create_dir_all(&opts.out)?;
    let write = |name: &str, bytes: &[u8]| -> Res<()> {
        std::fs::write(opts.out.join(name), bytes)?;
        println!("  wrote {}", opts.out.join(name).display());
        Ok(())
    };

    println!("1. The user's side makes the end-entity key ({:?}); it never leaves the user.", opts.key);
    let ee_key = PrivateKey::generate(opts.key, &mut rng)?;

    println!("2. The relay makes the intermediate key.");
    let inter_key = PrivateKey::generate(opts.key, &mut rng)?;

    println!("3. The user's side makes the root key, self-signs the root and signs the intermediate.");
    let root_key = PrivateKey::generate(opts.key, &mut rng)?;
    let life = Lifetime { now, days: cert::MAX_VALIDITY_DAYS };
    // Two-step signing, as WebCrypto would do it: bytes out, signature in.
    let tbs = cert::root(&format!("Mail relay root for {}", opts.domain), &root_key.public_key(), life, &mut rng)?;
    let sig = root_key.sign(tbs.bytes(), &mut rng)?;
    let root = tbs.assemble(&sig, SignatureFormat::Der)?;
    let permitted = Permitted { domains: vec![opts.domain.clone()], mailboxes: vec![opts.mailbox.clone()] };
    let tbs = cert::intermediate(
        "Mail relay issuing CA",
        &inter_key.public_key(),
        &Issuer::from_certificate(&root)?,
        &permitted,
        life,
        &mut rng,
    )?;
    let sig = root_key.sign(tbs.bytes(), &mut rng)?;
    let inter = tbs.assemble(&sig, SignatureFormat::Der)?;
    drop(root_key);
    println!("   The root key is gone: no second intermediate can ever be made under this root.");

    println!("4. The relay issues the end-entity certificate for {}.", opts.mailbox);
    let issuer = Issuer::from_certificate(&inter)?;
    let ee = cert::end_entity(&opts.mailbox, &ee_key.public_key(), &issuer, Lifetime { now, days: 365 }, &mut rng)?
        .sign(&inter_key, &mut rng)?;
    let pool = [inter.clone()];
    for usage in [Usage::Sign, Usage::Encrypt] {
        let verdict = path::validate(&ee, &pool, &root, now, usage);
        if !verdict.is_valid() {
            return Err(format!("the new chain does not validate for {usage:?}: {verdict}").into());
        }
    }
    println!("   Chain checked: end entity -> intermediate -> root, for signing and encryption.");

    println!("5. Files:");
    write("root.pem", root.to_pem(LineEnding::LF)?.as_bytes())?;
    write("intermediate.pem", inter.to_pem(LineEnding::LF)?.as_bytes())?;
    write("intermediate.key", inter_key.to_pkcs8_pem()?.as_bytes())?;
    write("ee.pem", ee.to_pem(LineEnding::LF)?.as_bytes())?;
    write("ee.key", ee_key.to_pkcs8_pem()?.as_bytes())?;
    let password = match &opts.password {
        Some(p) => p.clone(),
        None => {
            let mut bytes = [0u8; 12];
            rng.fill_bytes(&mut bytes);
            let p = bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
            println!("   No --password given; the .p12 files are protected with: {p}");
            p
        }
    };
    let (key_der, ee_der) = (ee_key.to_pkcs8_der()?, ee.to_der()?);
    let chain = [inter.to_der()?, root.to_der()?];
    let chain_refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    for (name, flavour) in [("ee.p12", Flavour::Modern), ("ee-compat.p12", Flavour::Compatible)] {
        let o = ExportOptions::new(flavour).with_friendly_name(opts.mailbox.as_str());
        write(name, &pkcs12::export(&key_der, &ee_der, &chain_refs, &password, &o, &mut rng)?)?;
    }
    if let Some(alias) = &opts.contact {
        let key = PrivateKey::generate(opts.key, &mut rng)?;
        let c = cert::recipient(alias, &key.public_key(), &issuer, Lifetime { now, days: 365 }, &mut rng)?
            .sign(&inter_key, &mut rng)?;
        write("contact.pem", c.to_pem(LineEnding::LF)?.as_bytes())?;
        write("contact.key", key.to_pkcs8_pem()?.as_bytes())?;
    }
    println!("Trust root.pem for email only, and import ee.p12 (or ee-compat.p12 on macOS) in your mail client.");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
