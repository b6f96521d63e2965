//! Fresh, isolated stores for tests: a SQLite database in a temporary directory, and a new
//! PostgreSQL database on the server named by `TESSERA_TEST_DATABASE_URL` (`.ci/run` and
//! `scripts/test.sh` start a throwaway cluster and set it). Under `CI=true` a missing URL is
//! an error, so the PostgreSQL half can never be skipped silently there.

use sqlx::Connection;
use sqlx::Executor;
use sqlx::postgres::PgConnection;
use tessera_core::ids::UserId;
use tessera_core::mfa::MethodKind;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::sql::{from_micros, micros};

/// Keeps a test database alive; the SQLite directory is removed on drop.
pub struct TestDb {
    pub name: &'static str,
    pub store: SqlStore,
    /// The database's URL, to open it again (as a second server process would).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A second, independent connection pool on the same database.
    pub async fn reopen(&self) -> SqlStore {
        SqlStore::connect(&self.url).await.expect("reopen the test database")
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqlStore::open_sqlite(dir.path()).await.expect("open sqlite");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("tessera.db").display());
    TestDb { name: "sqlite", store, url, _dir: Some(dir) }
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
            eprintln!(
                "TESSERA_TEST_DATABASE_URL is not set: skipping PostgreSQL (run scripts/test.sh to test both backends)"
            );
            None
        }
    }
}

/// A brand-new database on the test PostgreSQL server.
pub async fn postgres() -> Option<TestDb> {
    let url = fresh_postgres_url().await?;
    let store = SqlStore::connect(&url).await.expect("connect to test database");
    Some(TestDb { name: "postgres", store, url, _dir: None })
}

/// Every backend available to this test run: SQLite always, PostgreSQL when configured.
pub async fn all() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    dbs.extend(postgres().await);
    dbs
}

// Seeding and inspecting rows that no service writes yet (authentication methods, app
// passwords, remembered devices), so the contract suite can set up and check "Manage user
// settings" and cascades. Plain SQL on purpose: these are storage fixtures, not use cases.

/// What the database holds for one user id, whether or not the user row still exists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserRows {
    pub users: i64,
    pub role_assignments: i64,
    pub auth_methods: i64,
    pub app_passwords: i64,
    pub api_tokens: i64,
    pub remembered_devices: i64,
    /// `users.remembered_devices_not_before`, when the user exists and it is set.
    pub remembered_devices_not_before: Option<OffsetDateTime>,
}

/// Registers a method of `kind` for `user` (no secret).
pub async fn seed_method(store: &SqlStore, user: UserId, kind: MethodKind) {
    sqlx::query("INSERT INTO auth_methods (id, user_id, kind, label, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(user.to_string())
        .bind(kind.as_str())
        .bind(format!("test {}", kind.as_str()))
        .bind(micros(OffsetDateTime::now_utc()))
        .execute(&store.pool)
        .await
        .expect("seed auth method");
}

/// Creates an app password named `name` for `user` (the hash is a placeholder).
pub async fn seed_app_password(store: &SqlStore, user: UserId, name: &str) {
    sqlx::query("INSERT INTO app_passwords (id, user_id, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(user.to_string())
        .bind(name)
        .bind("$argon2id$placeholder")
        .bind(micros(OffsetDateTime::now_utc()))
        .execute(&store.pool)
        .await
        .expect("seed app password");
}

/// Overwrites one text column of every row of a log table (`audit_log`, `signin_log`), as
/// a bug or a hand edit would: to check that a value outside its closed set is an error.
pub async fn overwrite_log_column(store: &SqlStore, table: &'static str, col: &'static str, value: &str) {
    let sql = format!("UPDATE {table} SET {col} = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value).execute(&store.pool).await.expect("overwrite a log column");
}

/// The user's `remembered_devices_not_before`, `None` when unset or the user does not exist.
pub async fn remembered_devices_not_before(store: &SqlStore, user: UserId) -> Option<OffsetDateTime> {
    user_rows(store, user).await.remembered_devices_not_before
}

/// Counts the rows that belong to `user` in every table keyed by user id.
pub async fn user_rows(store: &SqlStore, user: UserId) -> UserRows {
    let id = user.to_string();
    let count = |table: &'static str, col: &'static str| {
        let id = id.clone();
        async move {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE {col} = $1");
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_one(&store.pool)
                .await
                .unwrap_or_else(|e| panic!("count {table}: {e}"))
        }
    };
    let not_before: Option<Option<i64>> =
        sqlx::query_scalar("SELECT remembered_devices_not_before FROM users WHERE id = $1")
            .bind(id.clone())
            .fetch_optional(&store.pool)
            .await
            .expect("read remembered_devices_not_before");
    UserRows {
        users: count("users", "id").await,
        role_assignments: count("role_assignments", "user_id").await,
        auth_methods: count("auth_methods", "user_id").await,
        app_passwords: count("app_passwords", "user_id").await,
        api_tokens: count("api_tokens", "user_id").await,
        remembered_devices: count("remembered_devices", "user_id").await,
        remembered_devices_not_before: not_before.flatten().map(|v| from_micros(v).expect("stored timestamp")),
    }
}

/// The URL of a brand-new database on the test PostgreSQL server, for tests that hand the
/// database to another process (e.g. `tessera init --database-url`); `None` when PostgreSQL
/// is not configured (and, under `CI=true`, a panic: see [`postgres_url`]).
pub async fn fresh_postgres_url() -> Option<String> {
    let url = postgres_url()?;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&url).await.expect("connect to TESSERA_TEST_DATABASE_URL");
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create test database");
    admin.close().await.ok();
    let (base, _) = url.rsplit_once('/').expect("URL with a database name");
    Some(format!("{base}/{name}"))
}

/// The stored (encrypted) method secrets of a user, as a database dump would show them.
pub async fn raw_secrets(store: &SqlStore, user: UserId) -> Vec<Vec<u8>> {
    sqlx::query_scalar("SELECT secret FROM auth_methods WHERE user_id = $1 AND secret IS NOT NULL")
        .bind(user.to_string())
        .fetch_all(&store.pool)
        .await
        .expect("read secrets")
}

/// Overwrites the source IP of every audit record with `text`, as a hand-edited or damaged
/// database would hold it.
pub async fn overwrite_audit_source_ips(store: &SqlStore, text: &str) {
    sqlx::query("UPDATE audit_log SET source_ip = $1")
        .bind(text.to_owned())
        .execute(&store.pool)
        .await
        .expect("overwrite source IPs");
}
