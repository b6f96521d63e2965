//! `tessera`: the service (`serve`), its setup (`init`) and the admin commands that call the
//! REST API.

mod admin;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use tessera_core::ports::SystemClock;
use tessera_core::service::Tessera;
use tessera_store::SqlStore;

#[derive(Parser, Debug)]
#[command(
    name = "tessera",
    version,
    about = "Self-hosted identity with manageable multi-factor authentication"
)]
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

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// Address to listen on.
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

impl StorageArgs {
    async fn open(&self) -> anyhow::Result<SqlStore> {
        match &self.database_url {
            Some(url) => SqlStore::connect(url)
                .await
                .context("connecting to the database"),
            None => {
                std::fs::create_dir_all(&self.data_dir).with_context(|| {
                    format!("creating the data directory {}", self.data_dir.display())
                })?;
                SqlStore::open_sqlite(&self.data_dir)
                    .await
                    .with_context(|| format!("opening the database in {}", self.data_dir.display()))
            }
        }
    }
}

fn read_secret_file(path: &Path) -> anyhow::Result<String> {
    let raw = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .context("reading the password from standard input")?
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
    let (tenant, admin) = services
        .init_tenant(&args.tenant, &args.admin, password)
        .await?;
    println!(
        "created tenant '{}' with Global Administrator {} ({})",
        tenant.slug, admin.upn, admin.id
    );
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = args.storage.open().await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(backend = ?store.backend(), %addr, "ready");
    // Scripts and tests wait for this line (the port may have been 0).
    println!("listening on http://{addr}");
    tessera_web::serve(listener, Tessera::new(store, Arc::new(SystemClock))).await?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
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
