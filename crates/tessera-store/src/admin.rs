//! The admin center's reads: the registration report (`GROUP BY` queries over the tenant's
//! users and their methods), the users who must register but have not, a user's
//! app passwords and remembered-devices time. The core's [`AdminStore`] port.

use sqlx::AssertSqlSafe;
use tessera_core::admin_ports::{AdminStore, AppPasswordInfo};
use tessera_core::audit::Page;
use tessera_core::cursor::encode_cursor;
use tessera_core::ids::{AppPasswordId, TenantId, UserId};
use tessera_core::mfa::{MethodKind, PerUserMfaState};
use tessera_core::ports::StoreResult;
use tessera_core::report::RegistrationCounts;
use tessera_core::user::User;
use time::OffsetDateTime;

use crate::sql::{USER_COLUMNS, corrupt, from_micros, get, users_from_rows};
use crate::{SqlStore, backend_err};

/// A user "has registered" when they have a method other than recovery codes (the backup of
/// another method, not one to register on its own). Keep in step with the counts below.
const HAS_METHOD: &str = "EXISTS (SELECT 1 FROM auth_methods m WHERE m.user_id = u.id AND m.kind <> 'recoveryCode')";

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn state_of(row: &sqlx::any::AnyRow) -> StoreResult<PerUserMfaState> {
    let state: String = get(row, "state")?;
    PerUserMfaState::parse(&state).map_err(|_| corrupt("mfa state", &state))
}

impl AdminStore for SqlStore {
    async fn registration_counts(&self, tenant: TenantId) -> StoreResult<RegistrationCounts> {
        let mut conn = self.pool.acquire().await.map_err(backend_err)?;
        let mut c = RegistrationCounts {
            by_state: PerUserMfaState::ALL.iter().map(|s| (*s, 0)).collect(),
            by_method: MethodKind::ALL.iter().map(|m| (*m, 0)).collect(),
            ..Default::default()
        };
        // Users per state: an index-only scan of `users_by_state`.
        let rows =
            sqlx::query("SELECT mfa_state AS state, COUNT(*) AS n FROM users WHERE tenant_id = $1 GROUP BY mfa_state")
                .bind(tenant.to_string())
                .fetch_all(&mut *conn)
                .await
                .map_err(backend_err)?;
        for row in &rows {
            let state = state_of(row)?;
            let n = count(get(row, "n")?);
            c.total += n;
            if let Some(slot) = c.by_state.iter_mut().find(|(s, _)| *s == state) {
                slot.1 = n;
            }
        }
        // Registered users per state, from the methods (as many rows as registrations, not users).
        let rows = sqlx::query(
            "SELECT u.mfa_state AS state, COUNT(DISTINCT m.user_id) AS n FROM auth_methods m \
             JOIN users u ON u.id = m.user_id WHERE u.tenant_id = $1 AND m.kind <> 'recoveryCode' \
             GROUP BY u.mfa_state",
        )
        .bind(tenant.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(backend_err)?;
        let mut required_registered = 0;
        for row in &rows {
            let state = state_of(row)?;
            let n = count(get(row, "n")?);
            c.registered += n;
            if state != PerUserMfaState::Disabled {
                required_registered += n;
            }
        }
        let required = c.state(PerUserMfaState::Enabled) + c.state(PerUserMfaState::Enforced);
        c.required_unregistered = required.saturating_sub(required_registered);
        // Users per method kind (a user with two authenticator apps counts once).
        let rows = sqlx::query(
            "SELECT m.kind AS kind, COUNT(DISTINCT m.user_id) AS n FROM auth_methods m \
             JOIN users u ON u.id = m.user_id WHERE u.tenant_id = $1 GROUP BY m.kind",
        )
        .bind(tenant.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(backend_err)?;
        for row in &rows {
            let kind: String = get(row, "kind")?;
            let kind = MethodKind::parse(&kind).ok_or_else(|| corrupt("method kind", &kind))?;
            if let Some(slot) = c.by_method.iter_mut().find(|(k, _)| *k == kind) {
                slot.1 = count(get(row, "n")?);
            }
        }
        Ok(c)
    }

    async fn unregistered_users(&self, tenant: TenantId, limit: u32, after: Option<String>) -> StoreResult<Page<User>> {
        // One ordered walk of `users_by_state` per state, each stopping at the page's end, then
        // merged: a page costs about its own rows, not the whole state.
        let after_cond = if after.is_some() { " AND u.upn_key > $2" } else { "" };
        let per_state = |state: &str| {
            format!(
                "SELECT * FROM (SELECT {USER_COLUMNS}, u.upn_key FROM users u WHERE u.tenant_id = $1 \
                 AND u.mfa_state = '{state}'{after_cond} AND NOT {HAS_METHOD} ORDER BY u.upn_key LIMIT {}) AS {state}_users",
                limit + 1
            )
        };
        let sql = format!(
            "{} UNION ALL {} ORDER BY upn_key LIMIT {}",
            per_state("enabled"),
            per_state("enforced"),
            limit + 1
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(tenant.to_string());
        if let Some(a) = after {
            q = q.bind(a);
        }
        let mut conn = self.pool.acquire().await.map_err(backend_err)?;
        let rows = q.fetch_all(&mut *conn).await.map_err(backend_err)?;
        let mut items: Vec<User> = users_from_rows(&rows)?.into_iter().map(|s| s.user).collect();
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|u| encode_cursor(&u.upn.key()))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn app_passwords(&self, user: UserId) -> StoreResult<Vec<AppPasswordInfo>> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at FROM app_passwords WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend_err)?;
        rows.iter()
            .map(|r| {
                let id: String = get(r, "id")?;
                let last: Option<i64> = get(r, "last_used_at")?;
                Ok(AppPasswordInfo {
                    id: AppPasswordId::parse(&id).ok_or_else(|| corrupt("app password id", &id))?,
                    name: get(r, "name")?,
                    created_at: from_micros(get(r, "created_at")?)?,
                    last_used_at: last.map(from_micros).transpose()?,
                })
            })
            .collect()
    }

    async fn remembered_devices_not_before(&self, user: UserId) -> StoreResult<Option<OffsetDateTime>> {
        let v: Option<Option<i64>> =
            sqlx::query_scalar("SELECT remembered_devices_not_before FROM users WHERE id = $1")
                .bind(user.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend_err)?;
        v.flatten().map(from_micros).transpose()
    }
}
