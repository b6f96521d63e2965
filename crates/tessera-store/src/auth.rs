//! The sign-in port: sessions, throttling, registered methods, and one-time use of TOTP steps
//! and recovery codes. Every check-and-change is one atomic SQL statement.

use sqlx::Row;
use sqlx::any::AnyRow;
use tessera_core::auth_ports::{AuthStore, AuthTx};
use tessera_core::error::StoreError;
use tessera_core::ids::{MethodId, TenantId, UserId};
use tessera_core::mfa::MethodKind;
use tessera_core::ports::StoreResult;
use tessera_core::session::{
    MethodInfo, NewMethod, Session, SessionStage, ThrottleKey, ThrottlePolicy, ThrottleState, TotpMethod,
};
use time::OffsetDateTime;

use crate::sql::{corrupt, from_micros, get, micros, user_id};
use crate::write::SqlTx;
use crate::{SqlStore, backend_err};

const SESSION_COLUMNS: &str = "id_hash, tenant_id, user_id, stage, csrf, created_at, last_seen_at, expires_at, \
                               mfa_at, mfa_method, source_ip, user_agent, pending_secret";

fn session_from_row(r: &AnyRow) -> StoreResult<Session> {
    let tenant: String = get(r, "tenant_id")?;
    let user: String = get(r, "user_id")?;
    let stage: String = get(r, "stage")?;
    let mfa_method: Option<String> = get(r, "mfa_method")?;
    let opt_time = |col: &str| -> StoreResult<Option<OffsetDateTime>> {
        let v: Option<i64> = get(r, col)?;
        v.map(from_micros).transpose()
    };
    Ok(Session {
        id_hash: get(r, "id_hash")?,
        tenant_id: TenantId::parse(&tenant).ok_or_else(|| corrupt("tenant id", &tenant))?,
        user_id: user_id(&user)?,
        stage: SessionStage::parse(&stage).ok_or_else(|| corrupt("session stage", &stage))?,
        csrf: get(r, "csrf")?,
        created_at: from_micros(get(r, "created_at")?)?,
        last_seen_at: from_micros(get(r, "last_seen_at")?)?,
        expires_at: from_micros(get(r, "expires_at")?)?,
        mfa_at: opt_time("mfa_at")?,
        mfa_method: mfa_method.as_deref().and_then(MethodKind::parse),
        source_ip: crate::sql::source_ip(r)?,
        user_agent: get(r, "user_agent")?,
        pending_secret: get(r, "pending_secret")?,
    })
}

async fn insert_session<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(e: E, s: &Session) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, tenant_id, user_id, stage, csrf, created_at, last_seen_at, expires_at, \
         mfa_at, mfa_method, source_ip, user_agent, pending_secret) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(s.id_hash.as_str())
    .bind(s.tenant_id.to_string())
    .bind(s.user_id.to_string())
    .bind(s.stage.as_str())
    .bind(s.csrf.as_str())
    .bind(micros(s.created_at))
    .bind(micros(s.last_seen_at))
    .bind(micros(s.expires_at))
    .bind(s.mfa_at.map(micros))
    .bind(s.mfa_method.map(|m| m.as_str()))
    .bind(s.source_ip.map(|ip| ip.to_string()))
    .bind(s.user_agent.as_deref())
    .bind(s.pending_secret.clone())
    .execute(e)
    .await
    .map_err(backend_err)?;
    Ok(())
}

impl AuthStore for SqlStore {
    async fn throttle_hit(
        &self,
        hits: &[(&ThrottleKey, &ThrottlePolicy)],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<ThrottleState>> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        // $1 is now; key i is $(2i+2), the start of its oldest window still open $(2i+3).
        let values: Vec<String> = (0..hits.len()).map(|i| format!("(${}, $1, 1)", 2 * i + 2)).collect();
        let open_from: String = (0..hits.len()).map(|i| format!(" WHEN ${} THEN ${}", 2 * i + 2, 2 * i + 3)).collect();
        let expired = format!("throttle.window_start <= CASE throttle.key{open_from} END");
        let sql = format!(
            "INSERT INTO throttle (key, window_start, attempts) VALUES {} \
             ON CONFLICT (key) DO UPDATE SET \
               attempts = CASE WHEN {expired} THEN 1 ELSE throttle.attempts + 1 END, \
               window_start = CASE WHEN {expired} THEN excluded.window_start ELSE throttle.window_start END \
             RETURNING key, attempts, window_start",
            values.join(", ")
        );
        let keys: Vec<String> = hits.iter().map(|(key, _)| key.as_key()).collect();
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(micros(now));
        for (key, (_, policy)) in keys.iter().zip(hits) {
            query = query.bind(key.as_str()).bind(micros(now - policy.window));
        }
        let rows = query.fetch_all(&self.pool).await.map_err(backend_err)?;
        keys.iter()
            .map(|key| {
                let row = rows
                    .iter()
                    .find(|r| get::<String>(r, "key").is_ok_and(|k| k == *key))
                    .ok_or_else(|| StoreError::backend(format!("no throttle count returned for {key}")))?;
                let attempts: i64 = get(row, "attempts")?;
                Ok(ThrottleState {
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    window_start: from_micros(get(row, "window_start")?)?,
                })
            })
            .collect()
    }

    async fn throttle_settle(&self, clear: &ThrottleKey, release: Option<&ThrottleKey>) -> StoreResult<()> {
        // The cleared key keeps its row, with a window that ended long ago (0): to
        // `throttle_hit` that is the same as no row (the next attempt starts a new window at
        // 1), and it lets the release go in the same statement.
        sqlx::query(
            "UPDATE throttle SET \
               attempts = CASE WHEN key = $1 THEN 0 ELSE attempts - 1 END, \
               window_start = CASE WHEN key = $1 THEN 0 ELSE window_start END \
             WHERE key = $1 OR (key = $2 AND attempts > 0)",
        )
        .bind(clear.as_key())
        .bind(release.map(ThrottleKey::as_key))
        .execute(&self.pool)
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        insert_session(&self.pool, s).await
    }

    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_err)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn replace_session(&self, old_hash: &str, new: &Session) -> StoreResult<()> {
        let mut tx = crate::write::begin(self).await?;
        let deleted = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(old_hash)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        if deleted.rows_affected() != 1 {
            // Signed out (or rotated) meanwhile: the old session must not come back to life.
            return Err(StoreError::Conflict("the session ended".into()));
        }
        insert_session(&mut *tx, new).await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn update_session(&self, s: &Session) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sessions SET stage = $2, csrf = $3, last_seen_at = $4, expires_at = $5, mfa_at = $6, \
             mfa_method = $7, pending_secret = $8 WHERE id_hash = $1",
        )
        .bind(s.id_hash.as_str())
        .bind(s.stage.as_str())
        .bind(s.csrf.as_str())
        .bind(micros(s.last_seen_at))
        .bind(micros(s.expires_at))
        .bind(s.mfa_at.map(micros))
        .bind(s.mfa_method.map(|m| m.as_str()))
        .bind(s.pending_secret.clone())
        .execute(&self.pool)
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map_err(backend_err)?;
        Ok(())
    }

    async fn user_sessions(&self, user: UserId) -> StoreResult<Vec<Session>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY created_at DESC");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend_err)?;
        rows.iter().map(session_from_row).collect()
    }

    async fn methods(&self, user: UserId) -> StoreResult<Vec<MethodInfo>> {
        let rows = sqlx::query(
            "SELECT id, kind, label, created_at, last_used_at FROM auth_methods WHERE user_id = $1 ORDER BY created_at",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend_err)?;
        rows.iter()
            .map(|r| {
                let id: String = get(r, "id")?;
                let kind: String = get(r, "kind")?;
                let last: Option<i64> = get(r, "last_used_at")?;
                Ok(MethodInfo {
                    id: MethodId::parse(&id).ok_or_else(|| corrupt("method id", &id))?,
                    kind: MethodKind::parse(&kind).ok_or_else(|| corrupt("method kind", &kind))?,
                    label: get(r, "label")?,
                    created_at: from_micros(get(r, "created_at")?)?,
                    last_used_at: last.map(from_micros).transpose()?,
                })
            })
            .collect()
    }

    async fn totp_methods(&self, user: UserId) -> StoreResult<Vec<TotpMethod>> {
        let rows =
            sqlx::query("SELECT id, secret FROM auth_methods WHERE user_id = $1 AND kind = 'totp' ORDER BY created_at")
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(backend_err)?;
        totp_methods_from(&rows)
    }

    async fn consume_totp_step(&self, method: MethodId, step: i64, now: OffsetDateTime) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE auth_methods SET last_used_step = $2, last_used_at = $3 \
             WHERE id = $1 AND (last_used_step IS NULL OR last_used_step < $2)",
        )
        .bind(method.to_string())
        .bind(step)
        .bind(micros(now))
        .execute(&self.pool)
        .await
        .map_err(backend_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn consume_recovery_code(&self, user: UserId, code_hash: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(user.to_string())
        .bind(code_hash)
        .bind(micros(now))
        .execute(&self.pool)
        .await
        .map_err(backend_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn recovery_codes_left(&self, user: UserId) -> StoreResult<u32> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(backend_err)?;
        Ok(u32::try_from(n).unwrap_or(0))
    }

    async fn all_secrets(&self) -> StoreResult<Vec<TotpMethod>> {
        let rows = sqlx::query("SELECT id, secret FROM auth_methods WHERE secret IS NOT NULL ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend_err)?;
        totp_methods_from(&rows)
    }

    async fn update_secret(&self, method: MethodId, secret: &[u8]) -> StoreResult<()> {
        sqlx::query("UPDATE auth_methods SET secret = $2 WHERE id = $1")
            .bind(method.to_string())
            .bind(secret.to_vec())
            .execute(&self.pool)
            .await
            .map_err(backend_err)?;
        Ok(())
    }
}

fn totp_methods_from(rows: &[AnyRow]) -> StoreResult<Vec<TotpMethod>> {
    rows.iter()
        .map(|r| {
            let id: String = get(r, "id")?;
            let secret: Option<Vec<u8>> = r.try_get("secret").map_err(backend_err)?;
            Ok(TotpMethod {
                id: MethodId::parse(&id).ok_or_else(|| corrupt("method id", &id))?,
                secret: secret.unwrap_or_default(),
            })
        })
        .collect()
}

impl AuthTx for SqlTx {
    async fn delete_user_sessions(&mut self, user: UserId) -> StoreResult<u64> {
        let mut ended = 0;
        for sql in ["DELETE FROM sessions WHERE user_id = $1", "DELETE FROM api_tokens WHERE user_id = $1"] {
            let r = sqlx::query(sql).bind(user.to_string()).execute(&mut *self.tx).await.map_err(backend_err)?;
            ended += r.rows_affected();
        }
        Ok(ended)
    }

    async fn insert_method(&mut self, m: &NewMethod) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO auth_methods (id, user_id, kind, label, secret, created_at, last_used_step) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(m.id.to_string())
        .bind(m.user_id.to_string())
        .bind(m.kind.as_str())
        .bind(m.label.as_deref())
        .bind(m.secret.clone())
        .bind(micros(m.created_at))
        .bind(m.last_used_step)
        .execute(&mut *self.tx)
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn delete_method(&mut self, user: UserId, method: MethodId) -> StoreResult<bool> {
        self.delete_users_row(
            "DELETE FROM auth_methods WHERE id = $1 AND user_id = $2 AND kind <> 'recoveryCode'",
            method.as_uuid(),
            user,
        )
        .await
    }

    async fn replace_recovery_codes(
        &mut self,
        user: UserId,
        hashes: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let uid = user.to_string();
        for sql in [
            "DELETE FROM recovery_codes WHERE user_id = $1",
            "DELETE FROM auth_methods WHERE user_id = $1 AND kind = 'recoveryCode'",
        ] {
            sqlx::query(sql).bind(uid.as_str()).execute(&mut *self.tx).await.map_err(backend_err)?;
        }
        for h in hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
                .bind(uid.as_str())
                .bind(h.as_str())
                .bind(micros(now))
                .execute(&mut *self.tx)
                .await
                .map_err(backend_err)?;
        }
        if !hashes.is_empty() {
            self.insert_method(&NewMethod {
                id: MethodId::new(),
                user_id: user,
                kind: MethodKind::RecoveryCode,
                label: Some("Recovery codes".into()),
                secret: None,
                created_at: now,
                last_used_step: None,
            })
            .await?;
        }
        Ok(())
    }
}
