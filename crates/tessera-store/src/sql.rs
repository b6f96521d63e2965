//! SQL helpers shared by reads and writes: value conversions, placeholder lists, and loading
//! users with their roles and methods.

use std::net::IpAddr;

use sqlx::Row;
use sqlx::any::AnyRow;
use tessera_core::access::Role;
use tessera_core::error::StoreError;
use tessera_core::ids::{TenantId, Upn, UserId};
use tessera_core::mfa::{MethodKind, PerUserMfaState};
use tessera_core::user::{User, UserSnapshot};
use time::OffsetDateTime;

use crate::{Backend, backend_err};

/// Ids per `IN (...)` list. SQLite: 30,000 (it allows 32,766 parameters), because a
/// multi-row UPDATE inside a transaction first copies every page it touches to a statement
/// journal, once per statement: a bulk change cut into lists of 500 ids copied the same pages
/// again and again. PostgreSQL: 500; longer lists made no measurable difference there.
pub(crate) fn ids_per_statement(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 30_000,
        Backend::Postgres => 500,
    }
}

/// Whether sqlx keeps a statement with an `IN` list of `n` ids in the connection's statement
/// cache. Every list length is a different statement, and one of 30,000 parameters compiles
/// to about 4 MB on SQLite: the few long lists of a bulk change are prepared each time.
pub(crate) fn cache_list(n: usize) -> bool {
    n <= 500
}

/// Rows per multi-row INSERT of `cols` columns. SQLite: about 1,000 parameters, so that the
/// statement stays small enough to be kept prepared (an insert mostly appends, so there the
/// statement journal hardly matters). PostgreSQL: 500 rows, at most 7,000 of the 65,535
/// parameters it allows.
pub(crate) fn rows_per_insert(backend: Backend, cols: usize) -> usize {
    match backend {
        Backend::Sqlite => 1_000 / cols,
        Backend::Postgres => 500,
    }
}

pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub(crate) fn from_micros(v: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000)
        .map_err(|e| caused(format!("bad timestamp {v}"), e))
}

/// Placeholders for `n` parameters numbered from `from`, for statements whose parameters
/// all come from this function, in order: `$from, $from+1, ...` on PostgreSQL, anonymous `?`
/// on SQLite (numbered in order of appearance). SQLite keeps named parameters such as `$7` in
/// a list it searches linearly when it parses each one and again when sqlx binds each one, so
/// a statement with P named parameters costs O(P²): with the thousands of a bulk insert that
/// was most of the time of a bulk operation (about 12 of 15 s for 100,000 users).
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
    StoreError::backend(format!("unexpected {what} in database: {v:?}"))
}

/// A backend error that says what was being done, with `cause` kept as its source.
pub(crate) fn caused(what: impl Into<String>, cause: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::backend(Caused { what: what.into(), cause: Box::new(cause) })
}

#[derive(Debug, thiserror::Error)]
/// Its text repeats the cause's, so that a log line that prints only the top error still says it.
#[error("{what}: {cause}")]
struct Caused {
    what: String,
    #[source]
    cause: Box<dyn std::error::Error + Send + Sync>,
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(backend_err)
}

/// A source IP column: text as written, parsed on read (a value that is not an IP is an error).
pub(crate) fn source_ip(row: &AnyRow) -> Result<Option<IpAddr>, StoreError> {
    get::<Option<String>>(row, "source_ip")?
        .map(|s| s.parse().map_err(|e| caused(format!("unexpected source IP in database: {s:?}"), e)))
        .transpose()
}

pub(crate) fn user_id(s: &str) -> Result<UserId, StoreError> {
    UserId::parse(s).ok_or_else(|| corrupt("user id", s))
}

/// A user's columns, with their roles and the kinds of their registered methods as
/// comma-separated lists (`string_agg`: PostgreSQL, and SQLite since 3.44; sqlx bundles
/// 3.51), for tables aliased `u`. One correlated lookup per user in the same statement rather
/// than two more statements with the ids of all the rows: a bulk change of 100,000 users
/// spent 0.2 s on those.
pub(crate) const USER_COLUMNS: &str = "u.id, u.tenant_id, u.upn, u.display_name, u.account_enabled, u.mfa_state, \
     u.created_at, u.remembered_devices_not_before, \
     (SELECT string_agg(r.role, ',') FROM role_assignments r WHERE r.user_id = u.id) AS roles, \
     (SELECT string_agg(m.kind, ',') FROM auth_methods m WHERE m.user_id = u.id) AS methods";

/// Decodes rows selected with [`USER_COLUMNS`] (plus an optional `app_passwords` count).
pub(crate) fn users_from_rows(rows: &[AnyRow]) -> Result<Vec<UserSnapshot>, StoreError> {
    let mut users = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = get(row, "id")?;
        let tenant: String = get(row, "tenant_id")?;
        let upn: String = get(row, "upn")?;
        let state: String = get(row, "mfa_state")?;
        let enabled: i64 = get(row, "account_enabled")?;
        let not_before: Option<i64> = get(row, "remembered_devices_not_before")?;
        let app_passwords: i64 = row.try_get("app_passwords").unwrap_or(0);
        let roles: Option<String> = get(row, "roles")?;
        let mut roles = list(roles.as_deref(), |r| Role::parse(r).map_err(|_| corrupt("role", r)))?;
        roles.sort();
        let methods: Option<String> = get(row, "methods")?;
        let mut methods = list(methods.as_deref(), |m| MethodKind::parse(m).ok_or_else(|| corrupt("method kind", m)))?;
        methods.sort();
        methods.dedup();
        users.push(UserSnapshot {
            user: User {
                id: user_id(&id)?,
                tenant_id: TenantId::parse(&tenant).ok_or_else(|| corrupt("tenant id", &tenant))?,
                upn: Upn::parse(&upn).map_err(|_| corrupt("upn", &upn))?,
                display_name: get(row, "display_name")?,
                account_enabled: enabled != 0,
                per_user_mfa_state: PerUserMfaState::parse(&state).map_err(|_| corrupt("mfa state", &state))?,
                methods,
                roles,
                created_at: from_micros(get(row, "created_at")?)?,
            },
            app_passwords: u32::try_from(app_passwords).unwrap_or(u32::MAX),
            remembered_devices_not_before: not_before.map(from_micros).transpose()?,
        });
    }
    Ok(users)
}

/// Parses a comma-separated list (`None`: empty).
fn list<T>(s: Option<&str>, parse: impl Fn(&str) -> Result<T, StoreError>) -> Result<Vec<T>, StoreError> {
    s.map(|s| s.split(',').map(&parse).collect()).unwrap_or(Ok(Vec::new()))
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
        // Up to two leading parameters besides an id list.
        assert!(ids_per_statement(Backend::Sqlite) + 2 <= 32_766);
        assert!(ids_per_statement(Backend::Postgres) + 2 <= 65_535);
        for cols in [2, 8, 14] {
            assert!(rows_per_insert(Backend::Sqlite, cols) * cols <= 32_766, "{cols}");
            assert!(rows_per_insert(Backend::Postgres, cols) * cols <= 65_535, "{cols}");
        }
    }
}
