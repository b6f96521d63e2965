//! A user's app passwords and remembered devices, as an administrator sees them: list them
//! (names and times, never a secret) and delete one.

use crate::extract::{Admin, path_id};
use crate::wire;
use crate::{ApiError, App, Backend};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use tessera_core::ids::{AppPasswordId, DeviceId, UserRef};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .route("/api/v1/tenants/{tenant}/users/{user}/appPasswords", get(list_app_passwords))
        .route("/api/v1/tenants/{tenant}/users/{user}/appPasswords/{id}", delete(delete_app_password))
        .route("/api/v1/tenants/{tenant}/users/{user}/rememberedDevices", get(list_remembered_devices))
        .route("/api/v1/tenants/{tenant}/users/{user}/rememberedDevices/{id}", delete(forget_remembered_device))
}

/// A user's app passwords, oldest first (names and times, never the secrets).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users/{user}/appPasswords", tag = "credentials",
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN")), security(("bearer" = [])), responses(
    (status = 200, body = wire::AppPasswordList),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
))]
pub(super) async fn list_app_passwords<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    Path((_, user)): Path<(String, String)>,
) -> Result<Json<wire::AppPasswordList>, ApiError> {
    let items = app.user_app_passwords(&actor, &UserRef::parse(&user)?).await?;
    Ok(Json(wire::AppPasswordList { items: items.into_iter().map(Into::into).collect() }))
}

/// Delete one app password of a user (audited as `user.appPassword.delete`); the legacy
/// clients that use it stop signing in.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/users/{user}/appPasswords/{id}", tag = "credentials",
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN"), ("id" = String, Path, description = "the app password's id")),
    security(("bearer" = [])), responses(
    (status = 204),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
    (status = 404, description = "`not_found`: no such user, or no such app password of this user", body = crate::error::ErrorBody),
))]
pub(super) async fn delete_app_password<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    Path((_, user, id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    app.delete_user_app_password(
        &actor,
        &UserRef::parse(&user)?,
        path_id(&id, AppPasswordId::parse, "the app password")?,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's remembered devices that still skip the MFA prompt, oldest first (never their tokens).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users/{user}/rememberedDevices", tag = "credentials",
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN")), security(("bearer" = [])), responses(
    (status = 200, body = wire::RememberedDeviceList),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
))]
pub(super) async fn list_remembered_devices<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    Path((_, user)): Path<(String, String)>,
) -> Result<Json<wire::RememberedDeviceList>, ApiError> {
    let items = app.user_remembered_devices(&actor, &UserRef::parse(&user)?).await?;
    Ok(Json(wire::RememberedDeviceList { items: items.into_iter().map(Into::into).collect() }))
}

/// Forget one remembered device of a user (audited as `user.rememberedDevice.delete`): its
/// next sign-in asks for the second factor again.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/users/{user}/rememberedDevices/{id}", tag = "credentials",
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN"), ("id" = String, Path, description = "the device's id")),
    security(("bearer" = [])), responses(
    (status = 204),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
    (status = 404, description = "`not_found`: no such user, or no such device of this user", body = crate::error::ErrorBody),
))]
pub(super) async fn forget_remembered_device<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    Path((_, user, id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    app.forget_user_device(&actor, &UserRef::parse(&user)?, path_id(&id, DeviceId::parse, "the remembered device")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
