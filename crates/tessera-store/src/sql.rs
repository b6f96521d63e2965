//! SQL helpers shared by reads and writes: value conversions, placeholder lists, and loading
//! users with their roles and methods.

use std::collections::HashMap;

use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use tessera_core::access::Role;
use tessera_core::error::StoreError;
use tessera_core::ids::{TenantId, Upn, UserId};
use tessera_core::mfa::{MethodKind, PerUserMfaState};
use tessera_core::user::{User, UserSnapshot};
use time::OffsetDateTime;

use crate::{Backend, backend_err};

/// Ids per `IN (...)` list: well under both backends' parameter limits.
pub(crate) const CHUNK: usize = 500;

pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub(crate) fn from_micros(v: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000)
        .map_err(|e| StoreError::Backend(format!("bad timestamp {v}: {e}")))
}

/// The backend behind a connection.
pub(crate) fn backend_of(conn: &AnyConnection) -> Backend {
    if conn.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME { Backend::Postgres } else { Backend::Sqlite }
}

/// Placeholders for `n` parameters numbered from `from`, for statements whose parameters
/// all come from this function, in order: `$from, $from+1, ...` on PostgreSQL, anonymous `?`
/// on SQLite (numbered in order of appearance). SQLite keeps named parameters such as `$7` in
/// a list it searches linearly when it parses each one and again when sqlx binds each one, so
/// a statement with P named parameters costs O(P²): with the thousands of a bulk insert that
/// was most of the time of a bulk operation (13 of 15 s for 100,000 users).
pub(crate) fn params(backend: Backend, from: usize, n: usize) -> String {
    match backend {
        Backend::Postgres => (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", "),
        Backend::Sqlite => vec!["?"; n].join(", "),
    }
}

/// The exclusive upper bound of the keys that start with `prefix` (byte order).
pub(crate) fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

pub(crate) fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Backend(format!("unexpected {what} in database: {v:?}"))
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(backend_err)
}

pub(crate) fn user_id(s: &str) -> Result<UserId, StoreError> {
    UserId::parse(s).ok_or_else(|| corrupt("user id", s))
}

pub(crate) const USER_COLUMNS: &str = "u.id, u.tenant_id, u.upn, u.display_name, u.account_enabled, u.mfa_state, u.created_at, u.remembered_devices_not_before";

/// Decodes rows selected with [`USER_COLUMNS`] (plus an optional `app_passwords` count) and
/// attaches roles and methods.
pub(crate) async fn users_from_rows(
    conn: &mut AnyConnection,
    rows: &[AnyRow],
) -> Result<Vec<UserSnapshot>, StoreError> {
    let mut users = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = get(row, "id")?;
        let tenant: String = get(row, "tenant_id")?;
        let upn: String = get(row, "upn")?;
        let state: String = get(row, "mfa_state")?;
        let enabled: i64 = get(row, "account_enabled")?;
        let not_before: Option<i64> = get(row, "remembered_devices_not_before")?;
        let app_passwords: i64 = row.try_get("app_passwords").unwrap_or(0);
        users.push(UserSnapshot {
            user: User {
                id: user_id(&id)?,
                tenant_id: TenantId::parse(&tenant).ok_or_else(|| corrupt("tenant id", &tenant))?,
                upn: Upn::parse(&upn).map_err(|_| corrupt("upn", &upn))?,
                display_name: get(row, "display_name")?,
                account_enabled: enabled != 0,
                per_user_mfa_state: PerUserMfaState::parse(&state).map_err(|_| corrupt("mfa state", &state))?,
                methods: Vec::new(),
                roles: Vec::new(),
                created_at: from_micros(get(row, "created_at")?)?,
            },
            app_passwords: u32::try_from(app_passwords).unwrap_or(u32::MAX),
            remembered_devices_not_before: not_before.map(from_micros).transpose()?,
        });
    }
    attach_roles_and_methods(conn, &mut users).await?;
    Ok(users)
}

async fn attach_roles_and_methods(conn: &mut AnyConnection, users: &mut [UserSnapshot]) -> Result<(), StoreError> {
    let index: HashMap<String, usize> = users.iter().enumerate().map(|(i, u)| (u.user.id.to_string(), i)).collect();
    let ids: Vec<&String> = index.keys().collect();
    let backend = backend_of(conn);
    for chunk in ids.chunks(CHUNK) {
        let list = params(backend, 1, chunk.len());
        let roles_sql = format!("SELECT user_id, role FROM role_assignments WHERE user_id IN ({list})");
        let mut q = sqlx::query(AssertSqlSafe(roles_sql));
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for row in q.fetch_all(&mut *conn).await.map_err(backend_err)? {
            let uid: String = get(&row, "user_id")?;
            let role: String = get(&row, "role")?;
            let role = Role::parse(&role).map_err(|_| corrupt("role", &role))?;
            users[index[&uid]].user.roles.push(role);
        }
        let methods_sql = format!("SELECT DISTINCT user_id, kind FROM auth_methods WHERE user_id IN ({list})");
        let mut q = sqlx::query(AssertSqlSafe(methods_sql));
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for row in q.fetch_all(&mut *conn).await.map_err(backend_err)? {
            let uid: String = get(&row, "user_id")?;
            let kind: String = get(&row, "kind")?;
            let kind = MethodKind::parse(&kind).ok_or_else(|| corrupt("method kind", &kind))?;
            users[index[&uid]].user.methods.push(kind);
        }
    }
    for u in users.iter_mut() {
        u.user.roles.sort();
        u.user.methods.sort();
    }
    Ok(())
}
