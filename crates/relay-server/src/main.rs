//! The `mailrelay` binary.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use clap::{Parser, Subcommand};
use relay_engine::address::Address;
use relay_server::{
    app::{App, os_rng},
    config::Config,
    relay::RelayHandler,
    smtp::{self, Limits},
};
use tokio::{net::TcpListener, sync::watch};

/// A privacy mail relay: aliases forwarded signed and S/MIME-encrypted.
#[derive(Parser)]
#[command(name = "mailrelay", version)]
struct Cli {
    /// Configuration file (TOML); `MAILRELAY_*` environment variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (SQLite database, master key).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the relay.
    Serve,
    /// Runs the whole flow on loopback: ceremony, a forward, a reply; every step checked.
    Demo {
        /// Afterwards, keep the relay running with its HTTP API and web page on this address,
        /// and print a sign-in token for the demo account.
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080")]
        serve: Option<std::net::SocketAddr>,
    },
    /// Checks the configuration and prints it (secrets redacted).
    CheckConfig,
    /// Runs the S/MIME ceremony against a relay from this machine, without a browser: the root
    /// key is made here, signs the intermediate, and is dropped; the certificates and .p12
    /// files are written to --out.
    Ceremony(CeremonyArgs),
    /// Accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Aliases.
    Alias {
        #[command(subcommand)]
        command: AliasCommand,
    },
}

#[derive(clap::Args)]
struct CeremonyArgs {
    /// The relay's base URL (http://127.0.0.1:8080, https://relay.example.net).
    #[arg(long)]
    server: String,
    /// An API token of the account (prefer the environment variable: it stays out of the
    /// shell history and the process list).
    #[arg(long, env = "MAILRELAY_TOKEN", hide_env_values = true)]
    token: String,
    /// The verified mailbox the certificate is for.
    #[arg(long)]
    mailbox: String,
    /// The directory for root.pem, root.cer, chain.pem, ee.pem, ee.p12 and ee-compat.p12.
    #[arg(long)]
    out: PathBuf,
    /// Key algorithm: rsa2048 (the default, which every client reads), rsa3072 or p256.
    #[arg(long, default_value = "rsa2048")]
    key: String,
    /// The .p12 password; a random one is made and shown when it is not given.
    #[arg(long, env = "MAILRELAY_P12_PASSWORD", hide_env_values = true)]
    p12_password: Option<String>,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Creates an account with a (verified) mailbox.
    Create {
        /// The account's real mailbox.
        #[arg(long)]
        mailbox: String,
        /// Refuse mail while the account has no S/MIME profile.
        #[arg(long)]
        strict: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Creates an API token for an account; it is shown once.
    Create {
        /// The account id.
        #[arg(long)]
        account: i64,
        /// A name for the token.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Subcommand)]
enum AliasCommand {
    /// Creates a random alias for a mailbox of an account.
    Create {
        /// The account id.
        #[arg(long)]
        account: i64,
        /// The mailbox id.
        #[arg(long)]
        mailbox: i64,
    },
    /// Lists an account's aliases.
    List {
        /// The account id.
        #[arg(long)]
        account: i64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("MAILRELAY_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let tuned = relay_server::malloc::tune();
    tracing::debug!(tuned, "allocator: message-sized buffers in their own mappings");
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailrelay: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    if let Command::Demo { serve } = cli.command {
        return relay_server::demo::run(cli.data_dir, serve).await;
    }
    if let Command::Ceremony(args) = cli.command {
        return ceremony(args).await;
    }
    let mut config = Config::load(cli.config.as_deref(), |k| std::env::var(k).ok())?;
    if let Some(d) = cli.data_dir {
        config.data_dir = d;
    }
    match cli.command {
        Command::CheckConfig => {
            println!("{config:#?}");
            Ok(())
        }
        Command::Serve => serve(config).await,
        Command::Account { command: AccountCommand::Create { mailbox, strict } } => {
            let app = App::open(config, false).await?;
            let store = app.engine.store();
            let account = store.create_account(strict).await?;
            let mb = store.add_mailbox(account, &Address::parse(&mailbox)?).await?;
            store.set_mailbox_verified(account, mb, true).await?;
            println!("account {account}, mailbox {mb}");
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { account, name } } => {
            let app = App::open(config, false).await?;
            let (id, token) = app.engine.store().create_token(relay_engine::model::AccountId(account), &name).await?;
            println!("token {id:?}: {}", token.expose());
            Ok(())
        }
        Command::Alias { command } => alias(config, command).await,
        Command::Demo { .. } | Command::Ceremony(_) => Ok(()),
    }
}

async fn ceremony(args: CeremonyArgs) -> Result<(), Box<dyn std::error::Error>> {
    let key = pki_core::KeyAlgorithm::from_name(&args.key).ok_or("--key: rsa2048, rsa3072 or p256")?;
    let opts = relay_server::ceremony::Options {
        server: args.server,
        token: relay_server::config::Secret::new(args.token),
        mailbox: args.mailbox,
        out: args.out,
        key,
        p12_password: args.p12_password.map(relay_server::config::Secret::new),
    };
    let outcome = relay_server::ceremony::run(&opts, &mut std::io::stdout()).await?;
    println!("Trust root.pem for email only, and import ee.p12 (or ee-compat.p12 for macOS, iOS and gpgsm).");
    if let Some(password) = outcome.generated_password {
        println!("The .p12 password (shown once; keep it): {}", password.expose());
    }
    Ok(())
}

async fn alias(config: Config, command: AliasCommand) -> Result<(), Box<dyn std::error::Error>> {
    let app = App::open(config, false).await?;
    let store = app.engine.store();
    match command {
        AliasCommand::Create { account, mailbox } => {
            let address = relay_engine::address::random_alias(&mut os_rng()?, app.engine.config().domains.primary());
            let id = store
                .create_alias(
                    relay_engine::model::AccountId(account),
                    relay_engine::model::MailboxId(mailbox),
                    &address,
                )
                .await?;
            println!("alias {id}: {address}");
        }
        AliasCommand::List { account } => {
            for a in store.list_aliases(relay_engine::model::AccountId(account)).await? {
                println!("{}\t{}\t{}", a.id, a.address, if a.enabled { "enabled" } else { "disabled" });
            }
        }
    }
    Ok(())
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let listen = config.smtp.listen;
    let limits = Limits {
        max_message_size: config.smtp.max_message_size,
        max_recipients: config.smtp.max_recipients,
        max_connections: config.smtp.max_connections,
        max_connections_per_ip: config.smtp.max_connections_per_ip,
        command_timeout: std::time::Duration::from_secs(config.smtp.command_timeout_secs),
        data_timeout: std::time::Duration::from_secs(config.smtp.data_timeout_secs),
        max_session_time: std::time::Duration::from_secs(config.smtp.max_session_secs),
        max_transactions: config.smtp.max_transactions,
        memory_budget: config.smtp.memory_budget_mb.saturating_mul(1024 * 1024),
        connection_rate_per_ip: config.abuse.connections_per_ip.into(),
        message_rate_per_ip: config.abuse.messages_per_ip.into(),
        ..Limits::default()
    };
    let http_listen = config.http.listen;
    let tls = config.smtp.tls.as_ref().map(|t| relay_server::tls::acceptor(&t.cert, &t.key)).transpose()?;
    let starttls = if tls.is_some() { " with STARTTLS" } else { "" };
    let app = App::open(config, false).await?;
    let listener = TcpListener::bind(listen).await?;
    let http_listener = TcpListener::bind(http_listen).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let handler = Arc::new(RelayHandler::new(&app));
    let submission = match (app.config.smtp.submission_listen, &tls) {
        (Some(addr), Some(acceptor)) => {
            let listener = TcpListener::bind(addr).await?;
            eprintln!("mailrelay: submission on {addr} (STARTTLS, then AUTH with an app password)");
            Some(tokio::spawn(smtp::serve_submission(
                listener,
                handler.clone(),
                limits.clone(),
                acceptor.clone(),
                stop_rx.clone(),
            )))
        }
        (Some(_), None) => return Err("[smtp] submission_listen needs [smtp.tls]: AUTH is only ever over TLS".into()),
        (None, _) => None,
    };
    let server = tokio::spawn(smtp::serve_tls(listener, handler, limits, tls, stop_rx.clone()));
    let state = relay_server::http::AppState::from_app(&app, |k| std::env::var(k).ok());
    let http = tokio::spawn(relay_server::http::serve(http_listener, state, stop_rx));
    eprintln!("mailrelay: SMTP on {listen}{starttls}, HTTP API on http://{http_listen}; Ctrl-C or SIGTERM to stop");
    relay_server::app::shutdown_signal().await?;
    eprintln!("mailrelay: shutting down; transactions in progress finish");
    let _ = stop_tx.send(true);
    server.await?;
    if let Some(submission) = submission {
        submission.await?;
    }
    http.await??;
    Ok(())
}
