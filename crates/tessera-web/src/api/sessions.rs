//! A user's sessions: list them, and an admin's "revoke all sessions" (browser sessions and
//! API tokens).

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tessera_core::service::SessionView;
use utoipa::ToSchema;

use crate::extract::Admin;
use crate::{ApiError, App};

pub(super) fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/tenants/{tenant}/users/{user}/sessions", get(list_sessions))
        .route("/api/v1/tenants/{tenant}/users/{user}/sessions/revoke", post(revoke_sessions))
}

#[derive(Serialize)]
pub(super) struct SessionList {
    items: Vec<SessionView>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct Revoked {
    /// How many sessions and API tokens ended.
    revoked: u64,
}

/// A user's active sessions.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users/{user}/sessions", tag = "sessions",
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN")), security(("bearer" = [])), responses(
    (status = 200, body = super::schemas::SessionListSchema),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
))]
pub(super) async fn list_sessions(
    Admin(actor): Admin,
    State(app): State<App>,
    Path((_, user)): Path<(String, String)>,
) -> Result<Json<SessionList>, ApiError> {
    Ok(Json(SessionList { items: app.user_sessions(&actor, &user).await? }))
}

/// Revoke all of a user's sessions and API tokens (audited).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users/{user}/sessions/revoke", tag = "sessions",
    params(("tenant" = String, Path), ("user" = String, Path, description = "id or UPN")), security(("bearer" = [])), responses(
    (status = 200, body = Revoked),
    (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
))]
pub(super) async fn revoke_sessions(
    Admin(actor): Admin,
    State(app): State<App>,
    Path((_, user)): Path<(String, String)>,
) -> Result<Json<Revoked>, ApiError> {
    Ok(Json(Revoked { revoked: app.revoke_sessions(&actor, &user).await? }))
}
