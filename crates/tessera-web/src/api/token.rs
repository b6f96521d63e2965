//! `POST /api/v1/auth/token`.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::extract::{ApiJson, ClientCtx};
use crate::wire;
use crate::{ApiError, App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new().route("/api/v1/auth/token", post(issue_token))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenRequest {
    /// Tenant slug.
    tenant: String,
    upn: String,
    password: String,
    /// Code from the authenticator, when MFA is required.
    otp: Option<String>,
}

/// Exchange a user name and password (and a second factor when required) for a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenRequest, responses(
    (status = 200, body = wire::TokenResponse),
    (status = 400, description = "malformed request", body = crate::error::ErrorBody),
    (status = 401, description = "`invalid_credentials` or `mfa_required`", body = crate::error::ErrorBody),
    (status = 403, description = "`mfa_registration_required` or `account_disabled`", body = crate::error::ErrorBody),
))]
pub(super) async fn issue_token<S: Backend>(
    State(app): State<App<S>>,
    ClientCtx(ctx): ClientCtx,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<Json<wire::TokenResponse>, ApiError> {
    let t = app.issue_token(&req.tenant, &req.upn, req.password, req.otp, &ctx).await?;
    Ok(Json(wire::TokenResponse {
        access_token: t.access_token,
        token_type: "Bearer".to_owned(),
        expires_in: t.expires_in,
    }))
}
