//! Writes: one [`SqlTx`] per use case, the core's [`StoreTx`] port.

use sqlx::AssertSqlSafe;
use sqlx::{Any, Transaction};
use tessera_core::audit::AuditRecord;
use tessera_core::ids::{TenantId, TenantSlug, UserId, UserRef};
use tessera_core::mfa::PerUserMfaState;
use tessera_core::ports::{ApiToken, StoreResult, StoreTx};
use tessera_core::settings::MfaSettings;
use tessera_core::user::{NewUser, Tenant, UserSnapshot};
use time::OffsetDateTime;

use crate::read::{fetch_settings, fetch_tenant};
use crate::sql::{USER_COLUMNS, cache_list, ids_per_statement, micros, params, rows_per_insert, users_from_rows};
use crate::{Backend, SqlStore, backend_err};

/// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken at
/// once, so two writers queue on the busy timeout instead of failing when one upgrades.
pub(crate) async fn begin(store: &SqlStore) -> StoreResult<Transaction<'static, Any>> {
    match store.backend {
        Backend::Sqlite => store.pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => store.pool.begin().await,
    }
    .map_err(backend_err)
}

pub struct SqlTx {
    pub(crate) tx: Transaction<'static, Any>,
    pub(crate) backend: Backend,
    /// Tenants whose row this transaction has locked (PostgreSQL), see [`SqlTx::lock_tenant`].
    locked: Vec<TenantId>,
    /// Users inserted: a large import refreshes PostgreSQL's statistics before it commits.
    inserted_users: usize,
}

/// From this many users inserted in one transaction, PostgreSQL's planner statistics of
/// `users` are refreshed in it: until autovacuum gets to it, the planner would take the
/// table for as small as before (a bulk Enforce right after importing 100,000 users ran 2.4
/// times slower).
const ANALYZE_AFTER_USERS: usize = 10_000;

impl SqlTx {
    /// Runs `sql`, a `DELETE` of one row by `$1` = its id and `$2` = the user it belongs to;
    /// false when no such row of that user was there.
    pub(crate) async fn delete_users_row(
        &mut self,
        sql: &'static str,
        id: uuid::Uuid,
        user: UserId,
    ) -> StoreResult<bool> {
        let r = sqlx::query(sql)
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(backend_err)?;
        Ok(r.rows_affected() == 1)
    }

    pub(crate) fn new(tx: Transaction<'static, Any>, backend: Backend) -> Self {
        Self { tx, backend, locked: Vec::new(), inserted_users: 0 }
    }

    /// Called before reading what a change will be decided on (users, settings): until this
    /// transaction ends, no other transaction gets past this point for the same tenant, so
    /// two changes are never decided on the same stale read (both reporting and auditing
    /// "disabled -> enforced", or one settings patch overwriting another). SQLite already
    /// serialises writers with `BEGIN IMMEDIATE`. PostgreSQL (READ COMMITTED) locks the
    /// tenant's row: `FOR NO KEY UPDATE` conflicts with itself but not with the key-share
    /// lock that inserting a user takes through its foreign key, so creating users is not
    /// held up.
    async fn lock_tenant(&mut self, tenant: TenantId) -> StoreResult<()> {
        if self.backend == Backend::Postgres && !self.locked.contains(&tenant) {
            sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR NO KEY UPDATE")
                .bind(tenant.to_string())
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(backend_err)?;
            self.locked.push(tenant);
        }
        Ok(())
    }

    /// Runs `sql_prefix(placeholders of leading) (...ids...)` for `ids` in chunks, with
    /// `leading` binds first.
    async fn for_ids(
        &mut self,
        sql_prefix: impl Fn(&str) -> String,
        leading: &[Bind<'_>],
        ids: &[UserId],
    ) -> StoreResult<()> {
        let prefix = sql_prefix(&params(self.backend, 1, leading.len()));
        for chunk in ids.chunks(ids_per_statement(self.backend)) {
            let sql = format!("{prefix} ({})", params(self.backend, leading.len() + 1, chunk.len()));
            let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(cache_list(chunk.len()));
            for b in leading {
                q = match b {
                    Bind::Text(s) => q.bind(*s),
                    Bind::Int(i) => q.bind(*i),
                };
            }
            for id in chunk {
                q = q.bind(id.to_string());
            }
            q.execute(&mut *self.tx).await.map_err(backend_err)?;
        }
        Ok(())
    }
}

enum Bind<'a> {
    Text(&'a str),
    Int(i64),
}

impl StoreTx for SqlTx {
    async fn insert_tenant(&mut self, t: &Tenant) -> StoreResult<()> {
        sqlx::query("INSERT INTO tenants (id, slug, created_at) VALUES ($1, $2, $3)")
            .bind(t.id.to_string())
            .bind(t.slug.as_str())
            .bind(micros(t.created_at))
            .execute(&mut *self.tx)
            .await
            .map_err(backend_err)?;
        Ok(())
    }

    async fn tenant_by_slug(&mut self, slug: &TenantSlug) -> StoreResult<Option<Tenant>> {
        fetch_tenant(&mut self.tx, slug).await
    }

    async fn insert_users(&mut self, users: &[NewUser]) -> StoreResult<()> {
        const COLS: usize = 8;
        self.inserted_users += users.len();
        for chunk in users.chunks(rows_per_insert(self.backend, COLS)) {
            let values: Vec<String> =
                (0..chunk.len()).map(|i| format!("({})", params(self.backend, i * COLS + 1, COLS))).collect();
            let sql = format!(
                "INSERT INTO users (id, tenant_id, upn, upn_key, display_name, password_hash, account_enabled, created_at) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for u in chunk {
                q = q
                    .bind(u.id.to_string())
                    .bind(u.tenant_id.to_string())
                    .bind(u.upn.as_str())
                    .bind(u.upn.key())
                    .bind(u.display_name.as_str())
                    .bind(u.password_hash.as_deref())
                    .bind(i64::from(u.account_enabled))
                    .bind(micros(u.created_at));
            }
            q.execute(&mut *self.tx).await.map_err(backend_err)?;
            let roles: Vec<(String, &str)> =
                chunk.iter().flat_map(|u| u.roles.iter().map(move |r| (u.id.to_string(), r.as_str()))).collect();
            for rchunk in roles.chunks(rows_per_insert(self.backend, 2)) {
                let values: Vec<String> =
                    (0..rchunk.len()).map(|i| format!("({})", params(self.backend, i * 2 + 1, 2))).collect();
                let sql = format!("INSERT INTO role_assignments (user_id, role) VALUES {}", values.join(", "));
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for (id, role) in rchunk {
                    q = q.bind(id.as_str()).bind(*role);
                }
                q.execute(&mut *self.tx).await.map_err(backend_err)?;
            }
        }
        Ok(())
    }

    async fn delete_user(&mut self, id: UserId) -> StoreResult<()> {
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(backend_err)?;
        Ok(())
    }

    async fn snapshots(&mut self, tenant: TenantId, refs: &[UserRef]) -> StoreResult<Vec<UserSnapshot>> {
        self.lock_tenant(tenant).await?;
        let mut ids = Vec::new();
        let mut keys = Vec::new();
        for r in refs {
            match r {
                UserRef::Id(id) => ids.push(id.to_string()),
                UserRef::Upn(upn) => keys.push(upn.key()),
            }
        }
        let mut rows = Vec::new();
        for (col, values) in [("id", &ids), ("upn_key", &keys)] {
            for chunk in values.chunks(ids_per_statement(self.backend)) {
                let sql = format!(
                    "SELECT {USER_COLUMNS}, (SELECT COUNT(*) FROM app_passwords a WHERE a.user_id = u.id) AS app_passwords \
                     FROM users u WHERE u.tenant_id = {} AND u.{col} IN ({})",
                    params(self.backend, 1, 1),
                    params(self.backend, 2, chunk.len())
                );
                let mut q =
                    sqlx::query(AssertSqlSafe(sql)).persistent(cache_list(chunk.len())).bind(tenant.to_string());
                for v in chunk {
                    q = q.bind(v.as_str());
                }
                rows.extend(q.fetch_all(&mut *self.tx).await.map_err(backend_err)?);
            }
        }
        users_from_rows(&rows)
    }

    async fn set_mfa_state(&mut self, ids: &[UserId], state: PerUserMfaState) -> StoreResult<()> {
        self.for_ids(|p| format!("UPDATE users SET mfa_state = {p} WHERE id IN"), &[Bind::Text(state.as_str())], ids)
            .await
    }

    async fn delete_methods(&mut self, ids: &[UserId]) -> StoreResult<()> {
        self.for_ids(|_| "DELETE FROM recovery_codes WHERE user_id IN".into(), &[], ids).await?;
        self.for_ids(|_| "DELETE FROM auth_methods WHERE user_id IN".into(), &[], ids).await
    }

    async fn delete_app_passwords(&mut self, ids: &[UserId]) -> StoreResult<()> {
        self.for_ids(|_| "DELETE FROM app_passwords WHERE user_id IN".into(), &[], ids).await
    }

    /// Sets the users' "restore MFA on remembered devices" time (devices remembered before it
    /// no longer count) and deletes their remembered devices.
    async fn revoke_remembered_devices(&mut self, ids: &[UserId], at: OffsetDateTime) -> StoreResult<()> {
        let set = |p: &str| format!("UPDATE users SET remembered_devices_not_before = {p} WHERE id IN");
        self.for_ids(set, &[Bind::Int(micros(at))], ids).await?;
        self.for_ids(|_| "DELETE FROM remembered_devices WHERE user_id IN".into(), &[], ids).await
    }

    async fn settings(&mut self, tenant: TenantId) -> StoreResult<MfaSettings> {
        self.lock_tenant(tenant).await?;
        fetch_settings(&mut self.tx, tenant).await
    }

    async fn put_settings(&mut self, tenant: TenantId, s: &MfaSettings) -> StoreResult<()> {
        let json = serde_json::to_string(s).map_err(|e| crate::sql::caused("settings to JSON", e))?;
        sqlx::query(
            "INSERT INTO mfa_settings (tenant_id, settings) VALUES ($1, $2) \
             ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings",
        )
        .bind(tenant.to_string())
        .bind(json)
        .execute(&mut *self.tx)
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn insert_audit(&mut self, recs: &[AuditRecord]) -> StoreResult<()> {
        const COLS: usize = 14;
        let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
        for chunk in recs.chunks(rows_per_insert(self.backend, COLS)) {
            let values: Vec<String> =
                (0..chunk.len()).map(|i| format!("({})", params(self.backend, i * COLS + 1, COLS))).collect();
            let sql = format!(
                "INSERT INTO audit_log (id, tenant_id, time, actor_id, actor_upn, actor_key, source_ip, action, \
                 target_id, target_upn, target_key, before_value, after_value, correlation_id) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for r in chunk {
                let (before, after) = r.json();
                q = q
                    .bind(r.id.to_string())
                    .bind(r.tenant_id.to_string())
                    .bind(micros(r.time))
                    .bind(r.actor_id.map(|a| a.to_string()))
                    .bind(r.actor_upn.as_str())
                    .bind(r.actor_upn.to_lowercase())
                    .bind(r.source_ip.map(|ip| ip.to_string()))
                    .bind(r.action.as_str())
                    .bind(r.target_id.map(|t| t.to_string()))
                    .bind(r.target_upn.as_deref())
                    .bind(r.target_upn.as_ref().map(|t| t.to_lowercase()))
                    .bind(json(&before))
                    .bind(json(&after))
                    .bind(r.correlation_id.to_string());
            }
            q.execute(&mut *self.tx).await.map_err(backend_err)?;
        }
        Ok(())
    }

    async fn insert_api_token(&mut self, t: &ApiToken) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_tokens (token_hash, tenant_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(t.token_hash.as_str())
            .bind(t.tenant_id.to_string())
            .bind(t.user_id.to_string())
            .bind(micros(t.created_at))
            .bind(micros(t.expires_at))
            .execute(&mut *self.tx)
            .await
            .map_err(backend_err)?;
        Ok(())
    }

    async fn commit(mut self) -> StoreResult<()> {
        if self.backend == Backend::Postgres && self.inserted_users >= ANALYZE_AFTER_USERS {
            sqlx::query("ANALYZE users").execute(&mut *self.tx).await.map_err(backend_err)?;
        }
        self.tx.commit().await.map_err(backend_err)
    }
}
