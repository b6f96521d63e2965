//! The audit and sign-in logs, and the MFA service settings.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::audit::Page;
use tessera_core::service::LogFilter;
use tessera_core::settings::{MfaSettings, MfaSettingsPatch};
use time::OffsetDateTime;
use utoipa::IntoParams;

use crate::extract::{Admin, ApiJson, ApiQuery};
use crate::{ApiError, App};

pub(super) fn router() -> Router<App> {
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

#[derive(Serialize)]
pub(super) struct PageDto<T> {
    items: Vec<T>,
    next: Option<String>,
}

impl<T> From<Page<T>> for PageDto<T> {
    fn from(p: Page<T>) -> Self {
        Self { items: p.items, next: p.next }
    }
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit", tag = "logs",
    params(("tenant" = String, Path), LogQuery), security(("bearer" = [])), responses(
    (status = 200, body = super::schemas::AuditPageSchema),
    (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
))]
pub(super) async fn audit(
    Admin(actor): Admin,
    State(app): State<App>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<PageDto<tessera_core::audit::AuditRecord>>, ApiError> {
    Ok(Json(app.audit_log(&actor, q.filter()?).await?.into()))
}

/// The sign-in log, newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/signins", tag = "logs",
    params(("tenant" = String, Path), LogQuery), security(("bearer" = [])), responses(
    (status = 200, body = super::schemas::SignInPageSchema),
    (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
))]
pub(super) async fn signins(
    Admin(actor): Admin,
    State(app): State<App>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<PageDto<tessera_core::signin::SignInRecord>>, ApiError> {
    Ok(Json(app.signin_log(&actor, q.filter()?).await?.into()))
}

/// The MFA service settings.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/settings/mfa", tag = "settings",
    params(("tenant" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = super::schemas::MfaSettingsSchema), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
))]
pub(super) async fn get_settings(Admin(actor): Admin, State(app): State<App>) -> Result<Json<MfaSettings>, ApiError> {
    Ok(Json(app.mfa_settings(&actor).await?))
}

/// Change some of the MFA service settings (audited); every field is validated and a bad one changes nothing.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/settings/mfa", tag = "settings", request_body = super::schemas::MfaSettingsPatchSchema,
    params(("tenant" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = super::schemas::MfaSettingsSchema), (status = 400, description = "`invalid_setting`", body = crate::error::ErrorBody),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
))]
pub(super) async fn patch_settings(
    Admin(actor): Admin,
    State(app): State<App>,
    ApiJson(patch): ApiJson<MfaSettingsPatch>,
) -> Result<Json<MfaSettings>, ApiError> {
    Ok(Json(app.update_mfa_settings(&actor, patch).await?))
}
