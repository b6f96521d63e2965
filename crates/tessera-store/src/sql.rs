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

/// How many list items (ids of an `IN (...)` list, rows of a multi-row insert) of `values`
/// parameters each one statement takes. SQLite: up to 30,000 parameters (it allows 32,766),
/// because a multi-row UPDATE or INSERT inside a transaction first copies every page it
/// touches to a statement journal, once per statement: a bulk change cut into statements of
/// 500 ids copied the same pages again and again. PostgreSQL (65,535 allowed): 500 items;
/// larger statements made no measurable difference there.
pub(crate) fn per_statement(backend: Backend, values: usize) -> usize {
    match backend {
        Backend::Sqlite => 30_000 / values.max(1),
        Backend::Postgres => 500,
    }
}

/// Whether sqlx keeps a statement of `n` parameters in the connection's statement cache. A
/// statement built for a list has a different text for every list length, and one with
/// thousands of parameters compiles to megabytes on SQLite: only small ones are kept.
pub(crate) fn cached(n: usize) -> bool {
    n <= 1_000
}

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
    for chunk in ids.chunks(per_statement(backend, 1)) {
        let list = params(backend, 1, chunk.len());
        let roles_sql = format!("SELECT user_id, role FROM role_assignments WHERE user_id IN ({list})");
        let mut q = sqlx::query(AssertSqlSafe(roles_sql)).persistent(cached(chunk.len()));
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
        let mut q = sqlx::query(AssertSqlSafe(methods_sql)).persistent(cached(chunk.len()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_on_postgres_and_anonymous_on_sqlite() {
        assert_eq!(params(Backend::Postgres, 3, 3), "$3, $4, $5");
        assert_eq!(params(Backend::Sqlite, 3, 3), "?, ?, ?");
    }

    #[test]
    fn statements_stay_under_the_parameter_limits() {
        for values in [1, 2, 8, 14] {
            // Up to two leading parameters besides the list.
            assert!(per_statement(Backend::Sqlite, values) * values + 2 <= 32_766, "{values}");
            assert!(per_statement(Backend::Postgres, values) * values + 2 <= 65_535, "{values}");
        }
    }
}
