//! Legacy and remembered credentials: app passwords, remembered devices ("Don't ask again"),
//! account changes, and the cross-tenant UPN lookup of LDAP binds. The core's
//! [`CredentialStore`] and [`CredentialTx`] ports. Every check-and-change is one atomic SQL
//! statement.

use sqlx::any::AnyRow;
use tessera_core::credential_ports::{AppPasswordRecord, CredentialStore, CredentialTx, RememberedDevice};
use tessera_core::ids::{AppPasswordId, DeviceId, TenantId, UserId};
use tessera_core::ports::StoreResult;
use time::OffsetDateTime;

use crate::sql::{corrupt, from_micros, get, micros, user_id};
use crate::write::SqlTx;
use crate::{Backend, SqlStore, backend_err};

/// The condition under which a remembered device (table aliased `d`) still counts, `now` being
/// the placeholder of the current time: not expired, and created at or after the user's
/// "restore MFA on remembered devices" time.
fn still_counts(now: &str) -> String {
    format!(
        "d.expires_at > {now} AND d.created_at >= \
         COALESCE((SELECT u.remembered_devices_not_before FROM users u WHERE u.id = d.user_id), 0)"
    )
}

fn id_col<T>(row: &AnyRow, what: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    let s: String = get(row, "id")?;
    parse(&s).ok_or_else(|| corrupt(what, &s))
}

fn device_from_row(r: &AnyRow) -> StoreResult<RememberedDevice> {
    let user: String = get(r, "user_id")?;
    let last: Option<i64> = get(r, "last_used_at")?;
    Ok(RememberedDevice {
        id: id_col(r, "remembered device id", DeviceId::parse)?,
        user_id: user_id(&user)?,
        created_at: from_micros(get(r, "created_at")?)?,
        last_used_at: last.map(from_micros).transpose()?,
        expires_at: from_micros(get(r, "expires_at")?)?,
        source_ip: crate::sql::source_ip(r)?,
        user_agent: get(r, "user_agent")?,
    })
}

impl CredentialStore for SqlStore {
    async fn use_app_password(
        &self,
        user: UserId,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<AppPasswordId>> {
        let row = sqlx::query(
            "UPDATE app_passwords SET last_used_at = $1 WHERE user_id = $2 AND password_hash = $3 RETURNING id",
        )
        .bind(micros(now))
        .bind(user.to_string())
        .bind(password_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_err)?;
        row.map(|r| id_col(&r, "app password id", AppPasswordId::parse)).transpose()
    }

    async fn use_remembered_device(
        &self,
        user: UserId,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<DeviceId>> {
        // Both accept an alias for the updated table; SQLite's RETURNING takes only bare names.
        let sql = format!(
            "UPDATE remembered_devices AS d SET last_used_at = $1 \
             WHERE d.user_id = $2 AND d.token_hash = $3 AND {} RETURNING id",
            still_counts("$1")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(now))
            .bind(user.to_string())
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_err)?;
        row.map(|r| id_col(&r, "remembered device id", DeviceId::parse)).transpose()
    }

    async fn remembered_devices(&self, user: UserId, now: OffsetDateTime) -> StoreResult<Vec<RememberedDevice>> {
        let sql = format!(
            "SELECT d.id, d.user_id, d.created_at, d.last_used_at, d.expires_at, d.source_ip, d.user_agent \
             FROM remembered_devices d WHERE d.user_id = $2 AND {} ORDER BY d.created_at, d.id",
            still_counts("$1")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(now))
            .bind(user.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend_err)?;
        rows.iter().map(device_from_row).collect()
    }

    async fn tenants_with_upn(&self, upn_key: &str, limit: u32) -> StoreResult<Vec<TenantId>> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT tenant_id FROM users WHERE upn_key = $1 ORDER BY tenant_id LIMIT $2")
                .bind(upn_key)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(backend_err)?;
        ids.iter().map(|s| TenantId::parse(s).ok_or_else(|| corrupt("tenant id", s))).collect()
    }
}

impl CredentialTx for SqlTx {
    async fn app_password_count_for_update(&mut self, user: UserId) -> StoreResult<u32> {
        let uid = user.to_string();
        // PostgreSQL (READ COMMITTED): lock the user's row until the transaction ends, so that
        // two creations cannot both count below the limit. `FOR NO KEY UPDATE` conflicts with
        // itself but not with the key-share lock that inserting a row referencing the user
        // takes (a session, a sign-in method), so those are not held up. SQLite already
        // serialises writers with `BEGIN IMMEDIATE`.
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE")
                .bind(uid.as_str())
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(backend_err)?;
        }
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM app_passwords WHERE user_id = $1")
            .bind(uid.as_str())
            .fetch_one(&mut *self.tx)
            .await
            .map_err(backend_err)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn insert_app_password(&mut self, rec: &AppPasswordRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO app_passwords (id, user_id, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(rec.id.to_string())
        .bind(rec.user_id.to_string())
        .bind(rec.name.as_str())
        .bind(rec.password_hash.as_str())
        .bind(micros(rec.created_at))
        .execute(&mut *self.tx)
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn delete_app_password(&mut self, user: UserId, id: AppPasswordId) -> StoreResult<bool> {
        self.delete_users_row("DELETE FROM app_passwords WHERE id = $1 AND user_id = $2", id.as_uuid(), user).await
    }

    async fn insert_remembered_device(&mut self, d: &RememberedDevice, token_hash: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO remembered_devices (id, user_id, token_hash, created_at, last_used_at, expires_at, \
             source_ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(d.id.to_string())
        .bind(d.user_id.to_string())
        .bind(token_hash)
        .bind(micros(d.created_at))
        .bind(d.last_used_at.map(micros))
        .bind(micros(d.expires_at))
        .bind(d.source_ip.map(|ip| ip.to_string()))
        .bind(d.user_agent.as_deref())
        .execute(&mut *self.tx)
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn delete_remembered_device(&mut self, user: UserId, id: DeviceId) -> StoreResult<bool> {
        self.delete_users_row("DELETE FROM remembered_devices WHERE id = $1 AND user_id = $2", id.as_uuid(), user).await
    }

    async fn delete_remembered_devices(&mut self, user: UserId) -> StoreResult<u64> {
        let r = sqlx::query("DELETE FROM remembered_devices WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(backend_err)?;
        Ok(r.rows_affected())
    }

    async fn update_account(
        &mut self,
        user: UserId,
        account_enabled: Option<bool>,
        password_hash: Option<&str>,
    ) -> StoreResult<()> {
        if account_enabled.is_none() && password_hash.is_none() {
            return Ok(());
        }
        // A NULL parameter keeps the column as it is.
        sqlx::query(
            "UPDATE users SET account_enabled = COALESCE($2, account_enabled), \
             password_hash = COALESCE($3, password_hash) WHERE id = $1",
        )
        .bind(user.to_string())
        .bind(account_enabled.map(i64::from))
        .bind(password_hash)
        .execute(&mut *self.tx)
        .await
        .map_err(backend_err)?;
        Ok(())
    }
}
