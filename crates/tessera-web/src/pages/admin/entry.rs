//! The way in: `GET /admin` goes to the admin center of the browser's session, or asks which
//! organisation to sign in to and sends the administrator to its sign-in page, which comes
//! back to the multi-factor authentication page.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tessera_core::ids::TenantSlug;
use tessera_core::tokens::SessionToken;

use super::super::views::page;
use super::super::{cookies, internal, return_query, see_other, url};
use super::admin_url;
use super::views::EntryPage;
use crate::{App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new().route("/admin", get(entry)).route("/admin/{tenant}", get(tenant_home))
}

#[derive(Deserialize)]
struct EntryQuery {
    tenant: Option<String>,
}

/// `GET /admin[?tenant=contoso]`.
async fn entry<S: Backend>(State(app): State<App<S>>, headers: HeaderMap, Query(q): Query<EntryQuery>) -> Response {
    if let Some(typed) = q.tenant.as_deref().map(|t| t.trim().to_lowercase()) {
        return match TenantSlug::parse(&typed) {
            Ok(slug) => {
                let back = admin_url(slug.as_str(), "/mfa");
                see_other(&url(slug.as_str(), &format!("/signin{}", return_query(Some(&back)))), &[])
            }
            Err(_) => {
                let error =
                    Some("Enter your organisation's short name: letters a-z, digits and '-', like contoso.".into());
                page(StatusCode::BAD_REQUEST, &EntryPage { tenant: String::new(), value: typed, error })
            }
        };
    }
    if let Some(token) = cookies::get(&headers, cookies::SESSION) {
        match app.session_tenant(&SessionToken::from(token)).await {
            Ok(Some(slug)) => return see_other(&admin_url(&slug, "/mfa"), &[]),
            Ok(None) => {}
            Err(e) => return internal("", &e),
        }
    }
    page(StatusCode::OK, &EntryPage { tenant: String::new(), value: String::new(), error: None })
}

/// `GET /admin/{tenant}`: its first page.
async fn tenant_home(Path(tenant): Path<String>) -> Response {
    match TenantSlug::parse(&tenant) {
        Ok(slug) => see_other(&admin_url(slug.as_str(), "/mfa"), &[]),
        Err(_) => super::super::views::message(StatusCode::NOT_FOUND, "", super::super::views::Msg::NotFound),
    }
}
