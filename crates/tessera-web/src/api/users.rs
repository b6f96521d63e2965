//! Users: create, import, list, read, update the account (enabled, password), delete;
//! per-user MFA state (`/users/{user}/authentication/requirements`). Both in the shape
//! Microsoft Graph uses.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::ids::UserRef;
use tessera_core::mfa::PerUserMfaState;
use tessera_core::service::{AccountPatch, NewUserInput};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Admin, ApiJson, ApiQuery};
use crate::wire;
use crate::{ApiError, App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .route("/api/v1/tenants/{tenant}/users", post(create_user).get(list_users))
        .route("/api/v1/tenants/{tenant}/users/import", post(import_users))
        .route("/api/v1/tenants/{tenant}/users/{user}", get(get_user).patch(patch_user).delete(delete_user))
        .route(
            "/api/v1/tenants/{tenant}/users/{user}/authentication/requirements",
            get(get_requirements).patch(patch_requirements),
        )
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct CreateUser {
    upn: String,
    display_name: String,
    /// Optional initial password (8-256 characters); without one the user cannot sign in yet.
    password: Option<String>,
    #[serde(default = "yes")]
    account_enabled: bool,
    /// Administrator roles to assign (Global Administrators only).
    #[serde(default)]
    roles: Vec<String>,
}

fn yes() -> bool {
    true
}

impl From<CreateUser> for NewUserInput {
    fn from(c: CreateUser) -> Self {
        Self {
            upn: c.upn,
            display_name: c.display_name,
            password: c.password,
            account_enabled: c.account_enabled,
            roles: c.roles,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ImportUsers {
    users: Vec<CreateUser>,
    #[serde(default)]
    dry_run: bool,
}

/// A change to a user's account (Graph's `PATCH /users/{id}` subset): give one or both.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct PatchUser {
    /// `false` disables the account: its sessions, API tokens and remembered devices end and
    /// it cannot sign in (app passwords stay, unusable); `true` enables it again.
    account_enabled: Option<bool>,
    /// A new password (8-256 characters); the user's remembered devices end.
    password: Option<String>,
}

impl From<PatchUser> for AccountPatch {
    fn from(p: PatchUser) -> Self {
        Self { account_enabled: p.account_enabled, password: p.password }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// `disabled`, `enabled` or `enforced`.
    mfa_state: Option<String>,
    /// UPN prefix, case-insensitive.
    search: Option<String>,
    /// 1-500, default 50.
    limit: Option<u32>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Requirements {
    /// `disabled`, `enabled` or `enforced`.
    per_user_mfa_state: String,
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users", tag = "users", request_body = CreateUser,
    params(("tenant" = String, Path, description = "tenant slug")), security(("bearer" = [])), responses(
    (status = 201, body = wire::User),
    (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
    (status = 403, body = crate::error::ErrorBody), (status = 409, description = "`user_exists`", body = crate::error::ErrorBody),
))]
pub(super) async fn create_user<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    ApiJson(req): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<wire::User>), ApiError> {
    let user = app.create_user(&actor, req.into()).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Create many users at once, all or nothing (`dryRun` only reports).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users/import", tag = "users", request_body = ImportUsers,
    params(("tenant" = String, Path, description = "tenant slug")), security(("bearer" = [])), responses(
    (status = 200, body = wire::BulkReport),
    (status = 422, body = wire::BulkRejected),
    (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
))]
pub(super) async fn import_users<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    ApiJson(req): ApiJson<ImportUsers>,
) -> Result<Json<wire::BulkReport>, ApiError> {
    let rows = req.users.into_iter().map(NewUserInput::from).collect();
    Ok(Json(app.import_users(&actor, rows, req.dry_run).await?.into()))
}

/// List users by UPN, with their MFA state; filter by state, search by UPN prefix, page by cursor.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users", tag = "users",
    params(("tenant" = String, Path, description = "tenant slug"), ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = wire::UserPage),
    (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
))]
pub(super) async fn list_users<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<wire::UserPage>, ApiError> {
    let state = q.mfa_state.as_deref().map(PerUserMfaState::parse).transpose()?;
    let page = app.list_users(&actor, state, q.search.as_deref(), q.limit, q.cursor.as_deref()).await?;
    Ok(Json(page.into()))
}

/// Read a user, by id or UPN.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users/{user}", tag = "users",
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN")), security(("bearer" = [])), responses(
    (status = 200, body = wire::User), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
))]
pub(super) async fn get_user<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    Path((_, user)): Path<(String, String)>,
) -> Result<Json<wire::User>, ApiError> {
    Ok(Json(app.get_user(&actor, &UserRef::parse(&user)?).await?.into()))
}

/// Disable or enable a user's account and/or set a new password (audited as
/// `user.account.update`, never the password). Global Administrators only.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/users/{user}", tag = "users", request_body = PatchUser,
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN")), security(("bearer" = [])), responses(
    (status = 200, body = wire::User),
    (status = 400, description = "`invalid_request`: no field, an unknown field, a password of the wrong length, or disabling your own account", body = crate::error::ErrorBody),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
))]
pub(super) async fn patch_user<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    Path((_, user)): Path<(String, String)>,
    ApiJson(req): ApiJson<PatchUser>,
) -> Result<Json<wire::User>, ApiError> {
    Ok(Json(app.update_account(&actor, &UserRef::parse(&user)?, req.into()).await?.into()))
}

/// Delete a user, by id or UPN.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/users/{user}", tag = "users",
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN")), security(("bearer" = [])), responses(
    (status = 204), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
))]
pub(super) async fn delete_user<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    Path((_, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    app.delete_user(&actor, &UserRef::parse(&user)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's per-user MFA state.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users/{user}/authentication/requirements", tag = "mfa",
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN")), security(("bearer" = [])), responses(
    (status = 200, body = Requirements), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
))]
pub(super) async fn get_requirements<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    Path((_, user)): Path<(String, String)>,
) -> Result<Json<Requirements>, ApiError> {
    let u = app.get_user(&actor, &UserRef::parse(&user)?).await?;
    Ok(Json(Requirements { per_user_mfa_state: u.per_user_mfa_state.as_str().to_owned() }))
}

/// Set a user's per-user MFA state (audited).
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/users/{user}/authentication/requirements", tag = "mfa", request_body = Requirements,
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN")), security(("bearer" = [])), responses(
    (status = 200, body = Requirements), (status = 400, description = "`invalid_state`", body = crate::error::ErrorBody),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
))]
pub(super) async fn patch_requirements<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    Path((_, user)): Path<(String, String)>,
    ApiJson(req): ApiJson<Requirements>,
) -> Result<Json<Requirements>, ApiError> {
    let state = PerUserMfaState::parse(&req.per_user_mfa_state)?;
    let state = app.set_mfa_state(&actor, &UserRef::parse(&user)?, state).await?;
    Ok(Json(Requirements { per_user_mfa_state: state.as_str().to_owned() }))
}
