//! Extractors: JSON bodies and query strings whose rejections are API errors, the request
//! context (client IP, user agent), and the authenticated administrator.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use tessera_core::CoreError;
use tessera_core::access::Actor;
use tessera_core::ids::TenantSlug;
use tessera_core::service::RequestCtx;
use tessera_core::tokens::BearerToken;

use crate::{ApiError, App, Backend};

/// `Json<T>` whose rejection is an `invalid_request` API error naming what is wrong.
pub struct ApiJson<T>(pub T);

impl<S: Backend, T: DeserializeOwned> FromRequest<App<S>> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &App<S>) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|j| Self(j.0))
            .map_err(|e| ApiError::bad_request("invalid_request", e.body_text()))
    }
}

/// `Query<T>` whose rejection is an `invalid_request` API error.
pub struct ApiQuery<T>(pub T);

impl<S: Backend, T: DeserializeOwned> FromRequestParts<App<S>> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &App<S>) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| ApiError::bad_request("invalid_request", e.body_text()))
    }
}

/// Where the request came from: the client's address (the socket's peer, or what a trusted
/// proxy says in `X-Forwarded-For`) and the user agent.
pub struct ClientCtx(pub RequestCtx);

impl<S: Backend> FromRequestParts<App<S>> for ClientCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App<S>) -> Result<Self, Self::Rejection> {
        // `tessera serve` records the peer as `ClientAddr` (plain and TLS); tests that serve
        // the router themselves may use `SocketAddr`.
        let peer = parts
            .extensions
            .get::<ConnectInfo<crate::tls::ClientAddr>>()
            .map(|c| c.0.0)
            .or_else(|| parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0));
        let forwarded: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let source_ip = peer.map(|p| tessera_core::settings::client_ip(p.ip(), &forwarded, app.trusted_proxies()));
        let user_agent =
            parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(512).collect());
        Ok(Self(RequestCtx { source_ip, user_agent, device_tokens: Vec::new() }))
    }
}

/// The administrator calling a `/tenants/{tenant}/...` route, from the bearer token.
pub struct Admin(pub Actor);

impl<S: Backend> FromRequestParts<App<S>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App<S>) -> Result<Self, ApiError> {
        let unauthorized = || ApiError::from(CoreError::Unauthorized);
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(BearerToken::from)
            .ok_or_else(unauthorized)?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, app)
            .await
            .map_err(|e| ApiError::bad_request("invalid_request", e.body_text()))?;
        let tenant = params.get("tenant").ok_or_else(unauthorized)?;
        let tenant = TenantSlug::parse(tenant).ok();
        let ClientCtx(ctx) = ClientCtx::from_request_parts(parts, app).await.unwrap_or_else(|e| match e {});
        Ok(Self(app.authenticate_in(tenant.as_ref(), &bearer, &ctx).await?))
    }
}

/// A method, app-password or device id from a path. One that does not parse names nothing,
/// so it is `not_found` of `what`, as an id of nothing is.
pub(crate) fn path_id<T>(raw: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<T, CoreError> {
    parse(raw.trim()).ok_or_else(|| CoreError::NotFound(what.into()))
}
