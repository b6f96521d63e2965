//! Schema migrations: twin numbered folders, `migrations/sqlite` and `migrations/postgres`,
//! applied in order and recorded in `schema_migrations`.

use sqlx::Executor;
use tessera_core::error::StoreError;

use crate::{Backend, SqlStore, backend_err};

/// (version, name, SQLite script, PostgreSQL script). The twin test below keeps them in step.
pub const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "0001_init",
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "0002_signin",
        include_str!("../migrations/sqlite/0002_signin.sql"),
        include_str!("../migrations/postgres/0002_signin.sql"),
    ),
    (
        3,
        "0003_legacy",
        include_str!("../migrations/sqlite/0003_legacy.sql"),
        include_str!("../migrations/postgres/0003_legacy.sql"),
    ),
];

pub(crate) async fn run(store: &SqlStore) -> Result<(), StoreError> {
    let pool = &store.pool;
    pool.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)")
        .await
        .map_err(backend_err)?;
    for (version, name, sqlite, postgres) in MIGRATIONS {
        let mut tx = crate::write::begin(store).await?;
        // Serialise concurrent starters on PostgreSQL (two nodes starting at once).
        if store.backend == Backend::Postgres {
            tx.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE").await.map_err(backend_err)?;
        }
        let applied: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(*version)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend_err)?;
        if applied.is_some() {
            continue;
        }
        let script = if store.backend == Backend::Sqlite { sqlite } else { postgres };
        tx.execute(*script).await.map_err(backend_err)?;
        sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
            .bind(*version)
            .bind(*name)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        tx.commit().await.map_err(backend_err)?;
        tracing::info!(version, name, "applied migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    fn files(dir: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
        let mut v: Vec<String> =
            std::fs::read_dir(path).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }

    /// Both folders hold the same numbered files, and every file is registered.
    #[test]
    fn migration_folders_are_twins() {
        let sqlite = files("sqlite");
        assert_eq!(sqlite, files("postgres"));
        let registered: Vec<String> = MIGRATIONS.iter().map(|m| format!("{}.sql", m.1)).collect();
        assert_eq!(sqlite, registered);
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.0, i as i64 + 1, "versions are consecutive from 1");
        }
    }

    /// The twins create the same tables and columns (types differ by dialect).
    #[test]
    fn migration_twins_define_the_same_columns() {
        let shape = |sql: &str| -> Vec<String> {
            sql.lines()
                .map(|l| l.split("--").next().unwrap().trim())
                .filter(|l| !l.is_empty())
                .map(|l| l.split_whitespace().next().unwrap().to_string())
                .collect()
        };
        for m in MIGRATIONS {
            assert_eq!(shape(m.2), shape(m.3), "{}", m.1);
        }
    }
}
