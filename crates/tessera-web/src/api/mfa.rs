//! `POST /mfa/bulk`: the quick steps of the per-user MFA page on a selection of users.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use tessera_core::mfa::{BulkOp, PerUserMfaState, QuickStep, UserSettingsOptions};
use tessera_core::service::BulkRequestRow;
use utoipa::ToSchema;

use crate::extract::{Admin, ApiJson};
use crate::wire;
use crate::{ApiError, App, Backend};

/// Up to 100,000 users of ~250 bytes each.
const BULK_BODY_LIMIT: usize = 32 * 1024 * 1024;

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new().route("/api/v1/tenants/{tenant}/mfa/bulk", post(bulk).layer(DefaultBodyLimit::max(BULK_BODY_LIMIT)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct BulkRequest {
    /// `enable`, `enforce`, `disable`, `requireReregistration`, `deleteAppPasswords`,
    /// `revokeRememberedDevices`, `manageUserSettings` (with `options`) or `setState` (with `items`).
    action: String,
    /// Users by id or UPN (every action but `setState`).
    #[serde(default)]
    users: Vec<String>,
    /// Per-user target states (`setState` only).
    #[serde(default)]
    items: Vec<BulkItem>,
    /// The "Manage user settings" options (`manageUserSettings` only).
    options: Option<SettingsOptions>,
    /// Report what would happen, change nothing.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct BulkItem {
    user: String,
    per_user_mfa_state: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub(super) struct SettingsOptions {
    require_reregistration: bool,
    delete_app_passwords: bool,
    revoke_remembered_devices: bool,
}

impl BulkRequest {
    /// The rows to apply; a malformed request as a whole is an error.
    fn rows(self) -> Result<Vec<BulkRequestRow>, ApiError> {
        let invalid = |m: &str| ApiError::bad_request("invalid_request", m.to_owned());
        let settings = |o: UserSettingsOptions| Some(BulkOp::ManageUserSettings(o));
        let op = match self.action.as_str() {
            "enable" => Some(BulkOp::QuickStep(QuickStep::Enable)),
            "enforce" => Some(BulkOp::QuickStep(QuickStep::Enforce)),
            "disable" => Some(BulkOp::QuickStep(QuickStep::Disable)),
            "requireReregistration" => {
                settings(UserSettingsOptions { require_reregistration: true, ..Default::default() })
            }
            "deleteAppPasswords" => settings(UserSettingsOptions { delete_app_passwords: true, ..Default::default() }),
            "revokeRememberedDevices" => {
                settings(UserSettingsOptions { revoke_remembered_devices: true, ..Default::default() })
            }
            "manageUserSettings" => {
                let o = self.options.as_ref().ok_or_else(|| invalid("manageUserSettings needs `options`"))?;
                settings(UserSettingsOptions {
                    require_reregistration: o.require_reregistration,
                    delete_app_passwords: o.delete_app_passwords,
                    revoke_remembered_devices: o.revoke_remembered_devices,
                })
            }
            "setState" => None,
            other => {
                return Err(ApiError::bad_request(
                    "invalid_action",
                    format!(
                        "'{}' is not a bulk action: use enable, enforce, disable, requireReregistration, deleteAppPasswords, \
                         revokeRememberedDevices, manageUserSettings or setState",
                        other.escape_debug()
                    ),
                ));
            }
        };
        if self.options.is_some() && self.action != "manageUserSettings" {
            return Err(invalid("`options` is only for action manageUserSettings"));
        }
        match op {
            Some(op) => {
                if !self.items.is_empty() {
                    return Err(invalid("`items` is only for action setState; use `users`"));
                }
                Ok(self.users.into_iter().map(|user| BulkRequestRow { user, op }).collect())
            }
            None => {
                if !self.users.is_empty() {
                    return Err(invalid("action setState takes `items` ({user, perUserMfaState}), not `users`"));
                }
                self.items
                    .into_iter()
                    .map(|i| {
                        Ok(BulkRequestRow {
                            op: BulkOp::SetState(PerUserMfaState::parse(&i.per_user_mfa_state)?),
                            user: i.user,
                        })
                    })
                    .collect()
            }
        }
    }
}

/// Enable, Enforce or Disable MFA, or "Manage user settings", for many users in one
/// transaction with one audit record per user changed. Any failing row (unknown user,
/// malformed UPN, a user the caller's role may not manage) rejects the whole request with
/// 422 and the per-row report; `dryRun` reports and changes nothing.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/mfa/bulk", tag = "mfa", request_body = BulkRequest,
    params(("tenant" = String, Path, description = "tenant slug")), security(("bearer" = [])), responses(
    (status = 200, body = wire::BulkReport),
    (status = 422, description = "`bulk_rejected`: nothing applied", body = wire::BulkRejected),
    (status = 400, description = "`invalid_request`, `invalid_action`, `invalid_state`", body = crate::error::ErrorBody),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
))]
pub(super) async fn bulk<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    ApiJson(req): ApiJson<BulkRequest>,
) -> Result<Json<wire::BulkReport>, ApiError> {
    let dry_run = req.dry_run;
    Ok(Json(app.bulk(&actor, req.rows()?, dry_run).await?.into()))
}
