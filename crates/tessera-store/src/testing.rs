//! Fresh, isolated stores for tests: a SQLite database in a temporary directory, and a new
//! PostgreSQL database on the server named by `TESSERA_TEST_DATABASE_URL` (`.ci/run` and
//! `scripts/test.sh` start a throwaway cluster and set it). Under `CI=true` a missing URL is
//! an error, so the PostgreSQL half can never be skipped silently there.

use sqlx::Executor;
use sqlx::postgres::PgConnection;
use sqlx::Connection;

use crate::SqlStore;

/// Keeps a test database alive; the SQLite directory is removed on drop.
pub struct TestDb {
    pub name: &'static str,
    pub store: SqlStore,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqlStore::open_sqlite(dir.path()).await.expect("open sqlite");
    TestDb { name: "sqlite", store, _dir: Some(dir) }
}

/// The PostgreSQL server URL for tests, if configured.
pub fn postgres_url() -> Option<String> {
    match std::env::var("TESSERA_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("CI").map(|v| v != "true").unwrap_or(true),
                "CI=true but TESSERA_TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI"
            );
            eprintln!("TESSERA_TEST_DATABASE_URL is not set: skipping PostgreSQL (run scripts/test.sh to test both backends)");
            None
        }
    }
}

/// A brand-new database on the test PostgreSQL server.
pub async fn postgres() -> Option<TestDb> {
    let url = postgres_url()?;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&url).await.expect("connect to TESSERA_TEST_DATABASE_URL");
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create test database");
    admin.close().await.ok();
    let (base, _) = url.rsplit_once('/').expect("URL with a database name");
    let store = SqlStore::connect(&format!("{base}/{name}")).await.expect("connect to test database");
    Some(TestDb { name: "postgres", store, _dir: None })
}

/// Every backend available to this test run: SQLite always, PostgreSQL when configured.
pub async fn all() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    dbs.extend(postgres().await);
    dbs
}
