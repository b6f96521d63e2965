//! A user's sessions: list them, and an admin's "revoke all sessions" (browser sessions and
//! API tokens).

use crate::extract::Admin;
use crate::wire;
use crate::{ApiError, App, Backend};
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use tessera_core::ids::UserRef;

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .route("/api/v1/tenants/{tenant}/users/{user}/sessions", get(list_sessions))
        .route("/api/v1/tenants/{tenant}/users/{user}/sessions/revoke", post(revoke_sessions))
}

/// A user's active sessions.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users/{user}/sessions", tag = "sessions",
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN")), security(("bearer" = [])), responses(
    (status = 200, body = wire::SessionList),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
))]
pub(super) async fn list_sessions<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    Path((_, user)): Path<(String, String)>,
) -> Result<Json<wire::SessionList>, ApiError> {
    let items = app.user_sessions(&actor, &UserRef::parse(&user)?).await?;
    Ok(Json(wire::SessionList { items: items.into_iter().map(Into::into).collect() }))
}

/// Revoke all of a user's sessions and API tokens (audited).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users/{user}/sessions/revoke", tag = "sessions",
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN")), security(("bearer" = [])), responses(
    (status = 200, body = wire::Revoked),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
))]
pub(super) async fn revoke_sessions<S: Backend>(
    Admin(actor): Admin,
    State(app): State<App<S>>,
    Path((_, user)): Path<(String, String)>,
) -> Result<Json<wire::Revoked>, ApiError> {
    Ok(Json(wire::Revoked { revoked: app.revoke_sessions(&actor, &UserRef::parse(&user)?).await? }))
}
