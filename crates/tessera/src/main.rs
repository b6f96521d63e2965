//! `tessera`: the service (`serve`), its setup (`init`) and the admin commands that call the
//! REST API.

mod admin;
mod keys;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use std::os::unix::fs::DirBuilderExt;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use tessera_core::ports::SystemClock;
use tessera_core::service::Tessera;
use tessera_store::SqlStore;

#[derive(Parser, Debug)]
#[command(name = "tessera", version, about = "Self-hosted identity with manageable multi-factor authentication")]
struct Cli {
    #[command(flatten)]
    global: admin::GlobalOpts,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the database, a tenant and its first Global Administrator (never overwrites).
    Init(InitArgs),
    /// Run the service.
    Serve(ServeArgs),
    /// The key that encrypts secrets at rest: generate one, or rotate to a new one.
    #[command(subcommand)]
    Keys(KeysCommand),
    #[command(flatten)]
    Admin(admin::AdminCommand),
}

#[derive(Args, Debug)]
struct StorageArgs {
    /// Where the embedded SQLite database (and later keys) live.
    #[arg(long, env = "TESSERA_DATA_DIR", default_value = "tessera-data")]
    data_dir: PathBuf,
    /// Use PostgreSQL instead of the embedded SQLite (postgres://user@host:port/db).
    #[arg(long, env = "TESSERA_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Args, Debug)]
struct InitArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The tenant's short name (a-z, 0-9, '-').
    #[arg(long)]
    tenant: String,
    /// UPN of the first Global Administrator.
    #[arg(long)]
    admin: String,
    /// File holding the administrator's password ('-' for standard input).
    #[arg(long)]
    admin_password_file: PathBuf,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Write a new random key to FILE (mode 0600; never overwrites).
    Generate { file: PathBuf },
    /// Re-encrypt every stored secret with the current key (--encryption-key-file), reading
    /// old ones with --previous-encryption-key-file. See the README for the whole procedure.
    Rotate {
        #[command(flatten)]
        storage: StorageArgs,
        #[command(flatten)]
        keys: keys::KeyArgs,
    },
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    storage: StorageArgs,
    #[command(flatten)]
    keys: keys::KeyArgs,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, env = "TESSERA_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "TESSERA_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A reverse proxy (IP or CIDR range; repeat, or separate by commas) whose
    /// X-Forwarded-For is believed for the client's address. Without it the client is the
    /// socket's peer.
    #[arg(long = "trusted-proxy", env = "TESSERA_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_ip_range)]
    trusted_proxies: Vec<tessera_core::settings::IpRange>,
    /// Also serve LDAP (read-only, for legacy clients) on this address, e.g. 0.0.0.0:389.
    #[arg(long, env = "TESSERA_LDAP_LISTEN")]
    ldap_listen: Option<SocketAddr>,
    /// Also serve LDAPS on this address, e.g. 0.0.0.0:636 (with --tls-cert and --tls-key).
    #[arg(long, env = "TESSERA_LDAPS_LISTEN", requires = "tls_cert")]
    ldaps_listen: Option<SocketAddr>,
}

fn parse_ip_range(s: &str) -> Result<tessera_core::settings::IpRange, String> {
    tessera_core::settings::IpRange::parse(s).map_err(|e| e.to_string())
}

impl StorageArgs {
    async fn open(&self) -> anyhow::Result<SqlStore> {
        match &self.database_url {
            Some(url) => SqlStore::connect(url).await.context("connecting to the database"),
            None => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&self.data_dir)
                    .with_context(|| format!("creating the data directory {}", self.data_dir.display()))?;
                SqlStore::open_sqlite(&self.data_dir)
                    .await
                    .with_context(|| format!("opening the database in {}", self.data_dir.display()))
            }
        }
    }
}

fn read_secret_file(path: &Path) -> anyhow::Result<String> {
    let raw = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading the password from standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let secret = raw.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(secret)
}

async fn init(args: InitArgs) -> anyhow::Result<()> {
    let password = read_secret_file(&args.admin_password_file)?;
    let store = args.storage.open().await?;
    let services = Tessera::new(store, Arc::new(SystemClock));
    let slug = tessera_core::ids::TenantSlug::parse(&args.tenant)?;
    let upn = tessera_core::ids::Upn::parse(&args.admin)?;
    let (tenant, admin) = services.init_tenant(&slug, &upn, password).await?;
    println!("created tenant '{}' with Global Administrator {} ({})", tenant.slug, admin.upn, admin.id);
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let keyring = args.keys.keyring(&args.storage.data_dir)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tessera_web::tls::acceptor(cert, key)?),
        _ => None,
    };
    let store = args.storage.open().await?;
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let mut ldap = Vec::new();
    for (at, tls) in [(args.ldap_listen, None), (args.ldaps_listen, tls.as_ref().map(tessera_ldap::ldaps_acceptor))] {
        if let Some(at) = at {
            let listener = tokio::net::TcpListener::bind(at).await.with_context(|| format!("listening on {at}"))?;
            ldap.push((listener, tls));
        }
    }
    let services = Tessera::new(store.clone(), Arc::new(SystemClock))
        .with_keyring(keyring)
        .with_trusted_proxies(args.trusted_proxies.clone());
    tracing::info!(backend = ?store.backend(), %addr, tls = tls.is_some(), "ready");
    // Scripts and tests wait for this line (the port may have been 0).
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{addr}");
    for (listener, tls) in ldap {
        println!("listening on {}://{}", if tls.is_some() { "ldaps" } else { "ldap" }, listener.local_addr()?);
        tokio::spawn(tessera_ldap::serve(listener, tls, services.clone(), tessera_ldap::Limits::default()));
    }
    match tls {
        Some(acceptor) => tessera_web::serve_tls(listener, acceptor, services).await?,
        None => tessera_web::serve(listener, services).await?,
    }
    Ok(())
}

async fn rotate_or_generate(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Generate { file } => {
            keys::create_key_file(&file)?;
            println!("wrote a new key to {}", file.display());
        }
        KeysCommand::Rotate { storage, keys } => {
            if keys.encryption_key_file.is_none() {
                bail!(
                    "give the new key with --encryption-key-file (and the old one with --previous-encryption-key-file)"
                );
            }
            let keyring = keys.keyring(&storage.data_dir)?;
            let services = Tessera::new(storage.open().await?, Arc::new(SystemClock)).with_keyring(keyring.clone());
            let (total, changed) = services.rekey_secrets().await?;
            println!("re-encrypted {changed} of {total} stored secrets with key {}", keyring.current_id());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let result = match cli.command {
            Command::Init(args) => init(args).await,
            Command::Serve(args) => serve(args).await,
            Command::Keys(cmd) => rotate_or_generate(cmd).await,
            Command::Admin(cmd) => return admin::run(cmd, &cli.global).await,
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}
