//! Tessera's storage: the only crate with SQL. One implementation of the core's storage
//! ports over sqlx's `Any` driver, for SQLite (the embedded default) and PostgreSQL; the SQL
//! is written once in the dialect both accept, and the schema lives in twin numbered
//! migration folders.

mod admin;
mod auth;
mod credentials;
mod migrate;
mod read;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tessera_core::error::StoreError;

pub use migrate::MIGRATIONS;

/// Which database is behind the store.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The storage adapter. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

/// Copies committed pages from the SQLite WAL into the database file every second, off the
/// request path. Left to SQLite, the commit that grows the WAL past 1,000 pages does it
/// before returning: a bulk change of 100,000 users waited 0.2 s for it. A commit still does
/// it itself past 50,000 pages (`wal_autocheckpoint`), should this task fall behind. PASSIVE
/// never blocks readers or writers. Ends when the pool is closed.
async fn checkpoint_in_background(pool: AnyPool) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = pool.execute("PRAGMA wal_checkpoint(PASSIVE)").await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "SQLite WAL checkpoint failed");
        }
    }
}

fn backend_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_owned()),
        _ => StoreError::backend(e),
    }
}

impl SqlStore {
    /// Opens (creating if needed) the SQLite database `tessera.db` in `data_dir`, in WAL mode
    /// with `synchronous=NORMAL`, and brings its schema up to date. Each connection may cache
    /// up to 32 MiB of pages (SQLite's default, 2 MiB, made a bulk change of 100,000 users
    /// spill and re-read pages through the kernel) and keeps statement journals in memory.
    pub async fn open_sqlite(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join("tessera.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::connect(&url).await
    }

    /// Connects to `sqlite://...` or `postgres://...` and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::backend("the database URL must start with sqlite:// or postgres://"));
        };
        let options = AnyConnectOptions::from_str(url).map_err(backend_err)?;
        let pool_options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        let pool = match backend {
            // No ping before handing out a connection: it is one more round trip to the
            // connection's thread per statement (there is no server whose side could have
            // closed it; a dead connection still fails its statement), and sqlx pings every
            // connection returned to the pool anyway.
            Backend::Sqlite => pool_options
                .max_connections(8)
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                             PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY; \
                             PRAGMA wal_autocheckpoint = 50000;",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await
                .map_err(backend_err)?,
            Backend::Postgres => pool_options.max_connections(16).connect_with(options).await.map_err(backend_err)?,
        };
        if backend == Backend::Sqlite {
            tokio::spawn(checkpoint_in_background(pool.clone()));
        }
        let store = Self { pool, backend };
        migrate::run(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl tessera_core::ports::Health for SqlStore {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError> {
        self.pool.execute("SELECT 1").await.map(|_| ()).map_err(backend_err)
    }
}
