//! A fresh database per run: a SQLite file in a new temporary directory, or a new database on
//! the PostgreSQL server given by `--database-url`, dropped at the end.

use anyhow::{Context, bail};
use sqlx::any::AnyPoolOptions;
use sqlx::postgres::PgConnection;
use sqlx::{AnyPool, Connection, Executor};
use tessera_core::ids::CorrelationId;
use tessera_store::SqlStore;

use crate::{Args, BackendArg};

pub struct FreshDb {
    pub store: SqlStore,
    /// A separate pool for what the services do not offer: counting rows to verify a run,
    /// ANALYZE, the server version.
    raw: AnyPool,
    dir: Option<tempfile::TempDir>,
    /// (server URL, database name) of a PostgreSQL database to drop at the end.
    pg: Option<(String, String)>,
}

impl FreshDb {
    pub async fn open(args: &Args) -> anyhow::Result<Self> {
        match args.backend {
            BackendArg::Sqlite => {
                let dir = tempfile::Builder::new().prefix("tessera-bench-").tempdir().context("temp dir")?;
                let store = SqlStore::open_sqlite(dir.path()).await.context("open SQLite store")?;
                let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
                let raw = AnyPoolOptions::new().max_connections(1).connect(&url).await.context("raw SQLite pool")?;
                Ok(Self { store, raw, dir: Some(dir), pg: None })
            }
            BackendArg::Postgres => {
                let server = args.database_url.clone().context("--database-url is required with --backend postgres")?;
                let name = format!("bench_{}", CorrelationId::new().to_string().replace('-', ""));
                let mut admin = PgConnection::connect(&server).await.with_context(|| format!("connect to {server}"))?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .context("CREATE DATABASE")?;
                admin.close().await.ok();
                let Some((base, _)) = server.rsplit_once('/') else { bail!("the database URL must end in /DBNAME") };
                let url = format!("{base}/{name}");
                let store = SqlStore::connect(&url).await.context("open PostgreSQL store")?;
                let raw =
                    AnyPoolOptions::new().max_connections(1).connect(&url).await.context("raw PostgreSQL pool")?;
                Ok(Self { store, raw, dir: None, pg: Some((server, name)) })
            }
        }
    }

    /// The first column of the first row of `sql`, as an integer.
    pub async fn count(&self, sql: &'static str) -> anyhow::Result<i64> {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(&self.raw).await.with_context(|| format!("query {sql}"))
    }

    pub async fn version(&self) -> String {
        let sql = if self.pg.is_some() { "SELECT version()" } else { "SELECT 'SQLite ' || sqlite_version()" };
        sqlx::query_scalar::<_, String>(sql).fetch_one(&self.raw).await.unwrap_or_else(|e| format!("unknown ({e})"))
    }

    /// Gathers planner statistics (PostgreSQL's autovacuum would do this on its own).
    pub async fn analyze(&self) -> anyhow::Result<()> {
        self.raw.execute("ANALYZE").await.context("ANALYZE")?;
        Ok(())
    }

    /// Closes the pools and removes the database, unless `keep` (then says where it is).
    pub async fn drop(self, keep: bool) -> anyhow::Result<()> {
        self.store.close().await;
        self.raw.close().await;
        if keep {
            match (&self.pg, self.dir) {
                (Some((_, name)), _) => eprintln!("kept PostgreSQL database {name}"),
                (None, Some(dir)) => eprintln!("kept SQLite database {}", dir.keep().join("tessera.db").display()),
                (None, None) => {}
            }
            return Ok(());
        }
        if let Some((server, name)) = self.pg {
            let mut admin = PgConnection::connect(&server).await.context("reconnect to drop the database")?;
            admin
                .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
                .await
                .context("DROP DATABASE")?;
            admin.close().await.ok();
        }
        Ok(())
    }
}
