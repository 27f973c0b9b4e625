//! `mailrelay demo`: a new user's first five minutes, on loopback, with every step checked.
//!
//! 1. A data directory (temporary, or `--data-dir`), a master key generated in it, SQLite.
//! 2. A next-hop sink on loopback that writes what it receives to a Maildir.
//! 3. The relay's SMTP front on loopback, offering STARTTLS with a self-signed pair it makes in
//!    the data directory (`smtp-cert.pem`, `smtp-key.pem`); an account with a verified mailbox.
//! 4. The S/MIME ceremony, locally: the root key is made and dropped; root.pem and the .p12
//!    files are written for the user.
//! 5. An alias; a message from an "external" sender through real SMTP; it arrives encrypted;
//!    the user's key decrypts it and the signature verifies against the root.
//! 6. An encrypted, signed reply to the reverse alias; what the contact receives is shown and
//!    checked for the real address.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use der::{Encode, EncodePem, pem::LineEnding};
use pki_core::{
    KeyAlgorithm, UnixTime,
    cms::{ContentCipher, Signer},
    pkcs12::{self, ExportOptions, Flavour},
    smime,
};
use relay_engine::{
    address::{Address, RelayDomains},
    profile::{CeremonyRequest, local_ceremony},
};
use tokio::{net::TcpListener, sync::watch};

use crate::{
    app::{App, AppError, os_rng},
    config::Config,
    delivery::{Client, NextHop, TlsMode, TlsSettings},
    relay::RelayHandler,
    smtp::{self, Destination, Handler, Limits, Reply},
};

const USER: &str = "you@example.com";
const CONTACT: &str = "bob@example.org";

/// Runs the demo; `Ok(())` only if every step checked out. With `serve`, the relay then keeps
/// running with its HTTP API and web page on that address (and a sign-in token for the demo
/// account is printed) until Ctrl-C or SIGTERM.
///
/// # Errors
/// The step that failed, in words.
pub async fn run(data_dir: Option<PathBuf>, serve: Option<SocketAddr>) -> Result<(), Box<dyn std::error::Error>> {
    let dir = match data_dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("mailrelay-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    step(1, &format!("data directory {}", dir.display()));
    let maildir = dir.join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub))?;
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let sink = TcpListener::bind("127.0.0.1:0").await?;
    let sink_addr = sink.local_addr()?;
    let sink_handler = Arc::new(MaildirSink { dir: maildir.clone(), domains: RelayDomains::new(["sink.invalid"])? });
    tokio::spawn(smtp::serve(sink, sink_handler, Limits::default(), stop_rx.clone()));
    step(2, &format!("next-hop sink on {sink_addr}, writing to {}", maildir.display()));

    let mut config = Config { data_dir: dir.clone(), ..Config::default() };
    config.next_hop.smarthost = sink_addr.to_string();
    config.next_hop.reply_timeout_secs = 30;
    let app = App::open(config, true).await?;
    say(&format!(
        "master key: generated in {} (keep it safe; it seals every private key)",
        dir.join("master.key").display()
    ));
    let front = TcpListener::bind("127.0.0.1:0").await?;
    let front_addr = front.local_addr()?;
    let (cert, key, _) = crate::tls::self_signed_pair(&dir, &["localhost".into(), "127.0.0.1".into()])?;
    let tls = crate::tls::acceptor(&cert, &key)?;
    tokio::spawn(smtp::serve_tls(
        front,
        Arc::new(RelayHandler::new(&app)),
        Limits::default(),
        Some(tls),
        stop_rx.clone(),
    ));
    step(3, &format!("relay SMTP on {front_addr}, SQLite at {}", dir.join("mailrelay.db").display()));
    say(&format!("STARTTLS offered with a self-signed certificate: {}", cert.display()));

    let store = app.engine.store();
    let account = store.create_account(false).await?;
    let user = Address::parse(USER)?;
    let mailbox = store.add_mailbox(account, &user).await?;
    store.set_mailbox_verified(account, mailbox, true).await?;
    say(&format!("account {account} with the verified mailbox {USER}"));

    let mut rng = os_rng()?;
    let now = UnixTime(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs());
    let req = CeremonyRequest {
        account,
        owner: &user,
        mailboxes: std::slice::from_ref(&user),
        domains: &app.engine.config().domains,
        key: KeyAlgorithm::Rsa2048,
        now,
    };
    let ceremony = local_ceremony(&req, app.engine.master_key(), &mut rng)?;
    store.insert_profile(&ceremony.profile).await?;
    let password = "demo-password";
    std::fs::write(dir.join("root.pem"), ceremony.root.to_pem(LineEnding::LF)?)?;
    let key_der = ceremony.end_entity_key.to_pkcs8_der()?;
    let chain = [ceremony.intermediate.to_der()?, ceremony.root.to_der()?];
    let chain: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    for (name, flavour) in [("you.p12", Flavour::Modern), ("you-compat.p12", Flavour::Compatible)] {
        let opts = ExportOptions::new(flavour).with_friendly_name(USER);
        let p12 = pkcs12::export(&key_der, &ceremony.end_entity.to_der()?, &chain, password, &opts, &mut rng)?;
        std::fs::write(dir.join(name), p12)?;
    }
    step(4, "S/MIME ceremony done locally: the root key signed the intermediate and is gone");
    say(&format!(
        "trust {} (for email only) and import you.p12 (password: {password})",
        dir.join("root.pem").display()
    ));

    let alias = relay_engine::address::random_alias(&mut rng, app.engine.config().domains.primary());
    store.create_alias(account, mailbox, &alias).await?;
    step(5, &format!("alias {alias} forwards to {USER}"));

    // The "external" sender's MTA insists on STARTTLS, verified against the demo's certificate.
    let client = client(front_addr.to_string()).with_tls(TlsSettings::new(TlsMode::Required, Some(&cert))?);
    let hello = format!(
        "From: Bob Example <{CONTACT}>\r\nTo: <{alias}>\r\nSubject: Hello from the outside\r\nMessage-ID: <demo-1@example.org>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHi! This went through the relay.\r\n"
    );
    client.deliver(CONTACT, alias.as_str(), hello.as_bytes()).await?;
    say("sent over STARTTLS, the relay's certificate verified");
    let arrived = take_one(&maildir)?;
    let text = String::from_utf8_lossy(&arrived);
    check(text.contains("smime-type=enveloped-data"), "the forwarded message is S/MIME-encrypted")?;
    let opened = smime::decrypt_message(&arrived, &ceremony.end_entity, &ceremony.end_entity_key, &mut rng)?;
    let verified = smime::verify_message(&opened, &ceremony.root, now)?;
    check(verified.report.is_valid(), "its signature verifies against your root")?;
    let signer = verified.report.signers.first().and_then(|s| s.cert.clone()).ok_or("no signer")?;
    let reverse = header(&arrived, "From").unwrap_or_default();
    say(&format!("arrived as: From: {reverse}"));
    say(&format!("decrypted: {}", String::from_utf8_lossy(&verified.report.content).lines().last().unwrap_or("")));
    step(6, "forward: delivered encrypted and signed, opened with your key");

    let reverse_alias = Address::parse(between(&reverse, '<', '>').ok_or("no reverse alias in From")?)?;
    let reply = format!(
        "From: You <{USER}>\r\nTo: <{reverse_alias}>\r\nSubject: Re: Hello from the outside\r\nIn-Reply-To: <demo-1@example.org>\r\n\
         User-Agent: DemoMail/1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi Bob, my real address is {USER}, but you will never see it.\r\n"
    );
    let signer_you = Signer { cert: &ceremony.end_entity, key: &ceremony.end_entity_key, chain: &[] };
    let sealed = smime::sign_and_encrypt_message(
        reply.as_bytes(),
        signer_you,
        &[signer],
        ContentCipher::default(),
        now,
        &mut rng,
    )?;
    client.deliver(USER, reverse_alias.as_str(), &sealed).await?;
    let received = take_one(&maildir)?;
    let shown = String::from_utf8_lossy(&received);
    say("what Bob receives:");
    for line in shown.lines() {
        println!("      | {line}");
    }
    check(!shown.to_ascii_lowercase().contains(USER), "your real address appears nowhere")?;
    check(shown.contains(&format!("<{alias}>")), "it comes from your alias")?;
    step(7, "reply: decrypted, scrubbed and sent on from the alias");
    println!("\nAll steps checked out. Files to look at: {}", dir.display());
    if let Some(addr) = serve {
        let (_, token) = store.create_token(account, "demo").await?;
        let listener = TcpListener::bind(addr).await?;
        let http_addr = listener.local_addr()?;
        let state = crate::http::AppState::from_app(&app, |k| std::env::var(k).ok());
        let http = tokio::spawn(crate::http::serve(listener, state, stop_rx));
        println!("\nThe relay keeps running:");
        say(&format!("web page  http://{http_addr}/app/  (sign in with the token below)"));
        say(&format!("token     {}", token.expose()));
        say(&format!("SMTP      {front_addr} (alias {alias}), next hop: the Maildir"));
        say("Ctrl-C or SIGTERM stops it.");
        crate::app::shutdown_signal().await?;
        let _ = stop_tx.send(true);
        http.await??;
    }
    let _ = stop_tx.send(true);
    Ok(())
}

fn client(address: String) -> Client {
    Client::new(NextHop {
        address,
        helo: "demo.client".into(),
        reply_timeout: Duration::from_secs(30),
        idle_max: Duration::from_secs(5),
    })
}

fn step(n: u32, text: &str) {
    println!("[{n}] {text}");
}

fn say(text: &str) {
    println!("    {text}");
}

fn check(ok: bool, what: &str) -> Result<(), AppError> {
    if ok {
        println!("    ok: {what}");
        Ok(())
    } else {
        Err(AppError::Io(format!("check failed: {what}")))
    }
}

fn between(s: &str, a: char, b: char) -> Option<&str> {
    let start = s.rfind(a)? + 1;
    let end = s[start..].find(b)? + start;
    Some(&s[start..end])
}

fn header(msg: &[u8], name: &str) -> Option<String> {
    let head = &msg[..msg.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(msg.len())];
    pki_core::mime::header_value(head, name)
}

/// The one new message in the Maildir, moved to cur/.
fn take_one(maildir: &std::path::Path) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut entries: Vec<_> = std::fs::read_dir(maildir.join("new"))?.filter_map(Result::ok).collect();
    if entries.len() != 1 {
        return Err(format!("expected one new message in the Maildir, found {}", entries.len()).into());
    }
    let path = entries.remove(0).path();
    let data = std::fs::read(&path)?;
    let name = path.file_name().ok_or("bad Maildir entry")?;
    std::fs::rename(&path, maildir.join("cur").join(format!("{}:2,S", name.to_string_lossy())))?;
    Ok(data)
}

/// The demo's next hop: accepts anything and writes it to a Maildir (tmp/ then new/).
struct MaildirSink {
    dir: PathBuf,
    domains: RelayDomains,
}

impl Handler for MaildirSink {
    fn domains(&self) -> &RelayDomains {
        &self.domains
    }

    async fn check_rcpt(&self, _mail_from: Option<&Address>, _rcpt: &Address) -> Result<Destination, Reply> {
        Ok(Destination::new("maildir"))
    }

    async fn deliver(&self, _mail_from: Option<&Address>, _rcpts: &[Address], data: &[u8]) -> Result<(), Reply> {
        let name = format!(
            "{}.{}.demo",
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0),
            std::process::id()
        );
        let tmp = self.dir.join("tmp").join(&name);
        std::fs::write(&tmp, data).map_err(|_| Reply::TEMPORARY)?;
        std::fs::rename(&tmp, self.dir.join("new").join(&name)).map_err(|_| Reply::TEMPORARY)
    }
}
