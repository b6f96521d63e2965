//! The audit and sign-in logs, and the MFA service settings.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tessera_core::service::LogFilter;
use time::OffsetDateTime;
use utoipa::IntoParams;

use crate::extract::{Admin, ApiJson, ApiQuery};
use crate::wire;
use crate::{ApiError, App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .route("/api/v1/tenants/{tenant}/audit", get(audit))
        .route("/api/v1/tenants/{tenant}/signins", get(signins))
        .route("/api/v1/tenants/{tenant}/settings/mfa", get(get_settings).patch(patch_settings))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct LogQuery {
    /// RFC 3339; records at or after.
    since: Option<String>,
    /// RFC 3339; records before.
    until: Option<String>,
    /// Actor UPN (audit) or user UPN (sign-ins).
    actor: Option<String>,
    /// Target UPN (audit only).
    target: Option<String>,
    /// Action name prefix (audit, e.g. `user.mfa`) or result (sign-ins: `success`, `failure`).
    action: Option<String>,
    /// 1-500, default 50.
    limit: Option<u32>,
    cursor: Option<String>,
}

fn rfc3339(name: &str, v: Option<String>) -> Result<Option<OffsetDateTime>, ApiError> {
    v.map(|s| {
        OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339).map_err(|_| {
            ApiError::bad_request(
                "invalid_request",
                format!("`{name}` must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z"),
            )
        })
    })
    .transpose()
}

impl LogQuery {
    fn filter(self) -> Result<LogFilter, ApiError> {
        Ok(LogFilter {
            since: rfc3339("since", self.since)?,
            until: rfc3339("until", self.until)?,
            actor: self.actor,
            target: self.target,
            action: self.action,
            limit: self.limit,
            cursor: self.cursor,
        })
    }
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit", tag = "logs",
    params(("tenant" = String, Path), LogQuery), security(("bearer" = [])), responses(
    (status = 200, body = wire::AuditPage),
    (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
))]
pub(super) async fn audit<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<wire::AuditPage>, ApiError> {
    Ok(Json(app.audit_log(&actor, q.filter()?).await?.into()))
}

/// The sign-in log, newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/signins", tag = "logs",
    params(("tenant" = String, Path), LogQuery), security(("bearer" = [])), responses(
    (status = 200, body = wire::SignInPage),
    (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
))]
pub(super) async fn signins<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<wire::SignInPage>, ApiError> {
    Ok(Json(app.signin_log(&actor, q.filter()?).await?.into()))
}

/// The MFA service settings.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/settings/mfa", tag = "settings",
    params(("tenant" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = wire::MfaSettings), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
))]
pub(super) async fn get_settings<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
) -> Result<Json<wire::MfaSettings>, ApiError> {
    Ok(Json(app.mfa_settings(&actor).await?.into()))
}

/// Change some of the MFA service settings (audited); every field is validated and a bad one changes nothing.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/settings/mfa", tag = "settings", request_body = wire::MfaSettingsPatch,
    params(("tenant" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = wire::MfaSettings), (status = 400, description = "`invalid_setting`", body = crate::error::ErrorBody),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
))]
pub(super) async fn patch_settings<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    ApiJson(patch): ApiJson<wire::MfaSettingsPatch>,
) -> Result<Json<wire::MfaSettings>, ApiError> {
    Ok(Json(app.update_mfa_settings(&actor, patch.into()).await?.into()))
}
