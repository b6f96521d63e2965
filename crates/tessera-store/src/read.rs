//! Reads outside transactions: the core's [`Store`] port.

use sqlx::AnyConnection;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use tessera_core::audit::{AuditAction, AuditQuery, AuditRecord, Page};
use tessera_core::change::Change;
use tessera_core::closed::UnknownValue;
use tessera_core::cursor::encode_cursor;
use tessera_core::ids::{AuditId, CorrelationId, TenantId, TenantSlug, UserRef};
use tessera_core::mfa::MethodKind;
use tessera_core::ports::{ApiToken, Credential, Store, StoreResult};
use tessera_core::settings::MfaSettings;
use tessera_core::signin::{Client, CredentialKind, FailureReason, MfaRequiredBy, MfaSkip, SignInRecord, SignInResult};
use tessera_core::user::{Tenant, User, UserQuery};

use crate::sql::{USER_COLUMNS, corrupt, from_micros, get, micros, prefix_end, user_id, users_from_rows};
use crate::write::SqlTx;
use crate::{SqlStore, backend_err};

pub(crate) async fn fetch_tenant(conn: &mut AnyConnection, slug: &TenantSlug) -> StoreResult<Option<Tenant>> {
    let row = sqlx::query("SELECT id, created_at FROM tenants WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(conn)
        .await
        .map_err(backend_err)?;
    row.map(|r| {
        let id: String = get(&r, "id")?;
        Ok(Tenant {
            id: TenantId::parse(&id).ok_or_else(|| corrupt("tenant id", &id))?,
            slug: slug.clone(),
            created_at: from_micros(get(&r, "created_at")?)?,
        })
    })
    .transpose()
}

pub(crate) async fn fetch_settings(conn: &mut AnyConnection, tenant: TenantId) -> StoreResult<MfaSettings> {
    let json: Option<String> = sqlx::query_scalar("SELECT settings FROM mfa_settings WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .fetch_optional(conn)
        .await
        .map_err(backend_err)?;
    match json {
        Some(j) => serde_json::from_str(&j).map_err(|e| crate::sql::caused("bad settings JSON", e)),
        None => Ok(MfaSettings::default()),
    }
}

/// One user by id or UPN key, with the password hash column when asked.
async fn fetch_user(
    conn: &mut AnyConnection,
    tenant: TenantId,
    user: &UserRef,
) -> StoreResult<Option<(User, Option<String>)>> {
    let (col, val) = match user {
        UserRef::Id(id) => ("id", id.to_string()),
        UserRef::Upn(upn) => ("upn_key", upn.key()),
    };
    let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.tenant_id = $1 AND u.{col} = $2");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.to_string())
        .bind(val)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend_err)?;
    let Some(row) = row else { return Ok(None) };
    let hash: Option<String> = get(&row, "password_hash")?;
    let user = users_from_rows(std::slice::from_ref(&row))?.pop().map(|s| s.user);
    Ok(user.map(|u| (u, hash)))
}

impl SqlStore {
    async fn conn(&self) -> StoreResult<sqlx::pool::PoolConnection<sqlx::Any>> {
        self.pool.acquire().await.map_err(backend_err)
    }
}

/// `WHERE` clauses and binds shared by the audit and sign-in queries.
struct LogWhere {
    sql: String,
    binds: Vec<LogBind>,
}

enum LogBind {
    Text(String),
    Int(i64),
}

impl LogWhere {
    fn new(q: &AuditQuery, actor_col: &str, target_col: Option<&str>, action_col: &str) -> Self {
        let mut w = Self { sql: "tenant_id = $1".into(), binds: vec![LogBind::Text(q.tenant_id.to_string())] };
        if let Some(t) = q.since {
            w.push("time >=", LogBind::Int(micros(t)));
        }
        if let Some(t) = q.until {
            w.push("time <", LogBind::Int(micros(t)));
        }
        if let Some(a) = &q.actor {
            w.push(&format!("{actor_col} ="), LogBind::Text(a.clone()));
        }
        if let (Some(t), Some(col)) = (&q.target, target_col) {
            w.push(&format!("{col} ="), LogBind::Text(t.clone()));
        }
        if let Some(a) = &q.action {
            w.push(&format!("{action_col} >="), LogBind::Text(a.clone()));
            w.push(&format!("{action_col} <"), LogBind::Text(prefix_end(a)));
        }
        if let Some(id) = q.before_id {
            w.push("id <", LogBind::Text(id.to_string()));
        }
        w
    }

    fn push(&mut self, cond: &str, bind: LogBind) {
        self.binds.push(bind);
        self.sql.push_str(&format!(" AND {cond} ${}", self.binds.len()));
    }

    async fn fetch(self, conn: &mut AnyConnection, table: &str, columns: &str, limit: u32) -> StoreResult<Vec<AnyRow>> {
        let sql = format!("SELECT {columns} FROM {table} WHERE {} ORDER BY id DESC LIMIT {}", self.sql, limit + 1);
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for b in self.binds {
            q = match b {
                LogBind::Text(s) => q.bind(s),
                LogBind::Int(i) => q.bind(i),
            };
        }
        q.fetch_all(conn).await.map_err(backend_err)
    }
}

/// Cuts the extra row fetched to know whether there is a next page.
fn page<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Page<T> {
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|l| encode_cursor(&key(l)))
    } else {
        None
    };
    Page { items, next }
}

fn json_col(row: &AnyRow, col: &str) -> StoreResult<Option<serde_json::Value>> {
    let s: Option<String> = get(row, col)?;
    s.map(|s| serde_json::from_str(&s).map_err(|e| crate::sql::caused(format!("bad JSON in {col}"), e))).transpose()
}

fn opt_user_id(row: &AnyRow, col: &str) -> StoreResult<Option<tessera_core::ids::UserId>> {
    let s: Option<String> = get(row, col)?;
    s.as_deref().map(user_id).transpose()
}

fn audit_from_row(row: &AnyRow, tenant: TenantId) -> StoreResult<AuditRecord> {
    let id: String = get(row, "id")?;
    let corr: String = get(row, "correlation_id")?;
    let action = closed(row, "action", AuditAction::parse)?;
    Ok(AuditRecord {
        id: AuditId::parse(&id).ok_or_else(|| corrupt("audit id", &id))?,
        tenant_id: tenant,
        time: from_micros(get(row, "time")?)?,
        actor_id: opt_user_id(row, "actor_id")?,
        actor_upn: get(row, "actor_upn")?,
        source_ip: crate::sql::source_ip(row)?,
        action,
        target_id: opt_user_id(row, "target_id")?,
        target_upn: get(row, "target_upn")?,
        change: Change::from_json(action, json_col(row, "before_value")?, json_col(row, "after_value")?),
        correlation_id: CorrelationId::parse(&corr).ok_or_else(|| corrupt("correlation id", &corr))?,
    })
}

/// A closed-set column: a value outside the set is an error, never a default.
fn closed<T>(row: &AnyRow, col: &str, parse: impl Fn(&str) -> Result<T, UnknownValue>) -> StoreResult<T> {
    let s: String = get(row, col)?;
    parse(&s).map_err(|e| crate::sql::caused(col, e))
}

fn opt_closed<T>(row: &AnyRow, col: &str, parse: impl Fn(&str) -> Result<T, UnknownValue>) -> StoreResult<Option<T>> {
    let s: Option<String> = get(row, col)?;
    s.as_deref().map(|s| parse(s).map_err(|e| crate::sql::caused(col, e))).transpose()
}

fn signin_from_row(row: &AnyRow, tenant: TenantId) -> StoreResult<SignInRecord> {
    let id: String = get(row, "id")?;
    Ok(SignInRecord {
        id: uuid::Uuid::parse_str(&id).map_err(|_| corrupt("sign-in id", &id))?,
        tenant_id: tenant,
        time: from_micros(get(row, "time")?)?,
        user_id: opt_user_id(row, "user_id")?,
        upn: get(row, "upn")?,
        source_ip: crate::sql::source_ip(row)?,
        user_agent: get(row, "user_agent")?,
        client: closed(row, "client", Client::parse)?,
        result: closed(row, "result", SignInResult::parse)?,
        failure_reason: opt_closed(row, "failure_reason", FailureReason::parse_stored)?,
        mfa_required_by: closed(row, "mfa_required_by", MfaRequiredBy::parse)?,
        mfa_method: opt_closed(row, "mfa_method", |s| {
            MethodKind::parse(s).ok_or_else(|| UnknownValue::new("method kind", s))
        })?,
        credential: opt_closed(row, "credential", CredentialKind::parse)?,
        mfa_skipped_by: opt_closed(row, "mfa_skipped_by", MfaSkip::parse)?,
    })
}

impl Store for SqlStore {
    type Tx = SqlTx;

    async fn begin(&self) -> StoreResult<SqlTx> {
        crate::write::begin(self).await.map(|tx| SqlTx::new(tx, self.backend))
    }

    async fn tenant_by_slug(&self, slug: &TenantSlug) -> StoreResult<Option<Tenant>> {
        fetch_tenant(&mut *self.conn().await?, slug).await
    }

    async fn tenant_slug(&self, tenant: TenantId) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT slug FROM tenants WHERE id = $1")
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_err)
    }

    async fn user(&self, tenant: TenantId, user: &UserRef) -> StoreResult<Option<User>> {
        Ok(fetch_user(&mut *self.conn().await?, tenant, user).await?.map(|(u, _)| u))
    }

    async fn credential(&self, tenant: TenantId, upn_key: &str) -> StoreResult<Option<Credential>> {
        let Ok(upn) = tessera_core::ids::Upn::parse(upn_key) else {
            return Ok(None);
        };
        let found = fetch_user(&mut *self.conn().await?, tenant, &UserRef::Upn(upn)).await?;
        Ok(found.map(|(user, password_hash)| Credential { user, password_hash }))
    }

    async fn list_users(&self, q: &UserQuery) -> StoreResult<Page<User>> {
        let mut sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = $1");
        let mut binds = vec![q.tenant_id.to_string()];
        let mut cond = |c: &str, v: String| {
            binds.push(v);
            sql.push_str(&format!(" AND {c} ${}", binds.len()));
        };
        if let Some(s) = q.state {
            cond("u.mfa_state =", s.as_str().to_owned());
        }
        if let Some(p) = &q.search {
            cond("u.upn_key >=", p.clone());
            cond("u.upn_key <", prefix_end(p));
        }
        if let Some(after) = &q.after {
            cond("u.upn_key >", after.clone());
        }
        sql.push_str(&format!(" ORDER BY u.upn_key LIMIT {}", q.limit + 1));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(b);
        }
        let mut conn = self.conn().await?;
        let rows = query.fetch_all(&mut *conn).await.map_err(backend_err)?;
        let users = users_from_rows(&rows)?.into_iter().map(|s| s.user).collect();
        Ok(page(users, q.limit, |u: &User| u.upn.key()))
    }

    async fn audit(&self, q: &AuditQuery) -> StoreResult<Page<AuditRecord>> {
        let rows = LogWhere::new(q, "actor_key", Some("target_key"), "action")
            .fetch(&mut *self.conn().await?, "audit_log", "*", q.limit)
            .await?;
        let items = rows.iter().map(|r| audit_from_row(r, q.tenant_id)).collect::<StoreResult<Vec<_>>>()?;
        Ok(page(items, q.limit, |r: &AuditRecord| r.id.to_string()))
    }

    async fn signins(&self, q: &AuditQuery) -> StoreResult<Page<SignInRecord>> {
        let rows =
            LogWhere::new(q, "upn", None, "result").fetch(&mut *self.conn().await?, "signin_log", "*", q.limit).await?;
        let items = rows.iter().map(|r| signin_from_row(r, q.tenant_id)).collect::<StoreResult<Vec<_>>>()?;
        Ok(page(items, q.limit, |r: &SignInRecord| r.id.to_string()))
    }

    async fn settings(&self, tenant: TenantId) -> StoreResult<MfaSettings> {
        fetch_settings(&mut *self.conn().await?, tenant).await
    }

    async fn api_token(&self, token_hash: &str) -> StoreResult<Option<ApiToken>> {
        let row =
            sqlx::query("SELECT tenant_id, user_id, created_at, expires_at FROM api_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&mut *self.conn().await?)
                .await
                .map_err(backend_err)?;
        row.map(|r| {
            let tenant: String = get(&r, "tenant_id")?;
            let user: String = get(&r, "user_id")?;
            Ok(ApiToken {
                token_hash: token_hash.to_owned(),
                tenant_id: TenantId::parse(&tenant).ok_or_else(|| corrupt("tenant id", &tenant))?,
                user_id: user_id(&user)?,
                created_at: from_micros(get(&r, "created_at")?)?,
                expires_at: from_micros(get(&r, "expires_at")?)?,
            })
        })
        .transpose()
    }

    async fn insert_signin(&self, r: &SignInRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signin_log (id, tenant_id, time, user_id, upn, source_ip, user_agent, client, result, \
             failure_reason, mfa_required_by, mfa_method, credential, mfa_skipped_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(r.id.to_string())
        .bind(r.tenant_id.to_string())
        .bind(micros(r.time))
        .bind(r.user_id.map(|u| u.to_string()))
        .bind(r.upn.as_str())
        .bind(r.source_ip.map(|ip| ip.to_string()))
        .bind(r.user_agent.as_deref())
        .bind(r.client.as_str())
        .bind(r.result.as_str())
        .bind(r.failure_reason.map(FailureReason::as_str))
        .bind(r.mfa_required_by.as_str())
        .bind(r.mfa_method.map(MethodKind::as_str))
        .bind(r.credential.map(CredentialKind::as_str))
        .bind(r.mfa_skipped_by.map(MfaSkip::as_str))
        .execute(&self.pool)
        .await
        .map_err(backend_err)?;
        Ok(())
    }
}
