//! Cross-site request forgery protection of every form post:
//! - the `Origin` header, when the browser sends one, must be this site's (the `Host`);
//! - forms of a session carry the session's own anti-CSRF token (`session.csrf`);
//! - the forms before a session exists (UPN, password) use a double-submit token: a random
//!   `__Host-tessera_csrf` cookie set with the form, and the same value in a hidden field;
//! - the admin center's forms carry the administrator's session token ([`AdminForm`]).
//!
//! Tokens are compared in constant time. A failure answers 403 "The form expired" before any
//! service is called, so nothing changes.

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::admin::AdminPage;
use super::session::PageSession;
use super::{Tenant, cookies, views};
use crate::{App, Backend};

/// A form with an anti-CSRF field (named `csrf`).
pub(crate) trait CsrfField {
    fn csrf(&self) -> &str;
}

/// A fresh double-submit token: 244 random bits from the OS (two v4 UUIDs), as hex.
pub(crate) fn new_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// The request's double-submit token, if it has a well-formed one; otherwise a new one. The
/// second value is the cookie to set (none when the browser has it already).
pub(crate) fn token_for_form(headers: &axum::http::HeaderMap) -> (String, Option<HeaderValue>) {
    match cookies::get(headers, cookies::CSRF) {
        Some(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => (t, None),
        _ => {
            let t = new_token();
            let c = cookies::csrf(&t);
            (t, Some(c))
        }
    }
}

/// Constant-time equality of two non-empty tokens.
pub(crate) fn tokens_match(given: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// True unless the request carries an `Origin` that is not this site. `Origin: null` (a
/// sandboxed or opaque origin) is not this site. The scheme is not compared: behind a
/// TLS-terminating proxy the server cannot tell it; host and port must match.
pub(crate) fn same_origin(parts: &Parts) -> bool {
    let Some(origin) = parts.headers.get(header::ORIGIN) else { return true };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()));
    let (Ok(origin), Some(host)) = (origin.to_str(), host) else { return false };
    let Some((scheme, origin_host)) = origin.split_once("://") else { return false };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return false,
    };
    let norm = |h: &str| h.strip_suffix(default_port).unwrap_or(h).to_ascii_lowercase();
    !origin_host.is_empty() && norm(origin_host) == norm(&host)
}

fn expired(tenant: &str) -> Response {
    views::message(StatusCode::FORBIDDEN, tenant, views::Msg::FormExpired)
}

/// Who posts a form, and the token their form must carry.
trait Poster: Sized {
    /// Read from the request's head; `tenant` is the one of its path.
    fn from_parts<S: Backend>(
        parts: &mut Parts,
        app: &App<S>,
        tenant: &str,
    ) -> impl Future<Output = Result<Self, Response>> + Send;
    fn token(&self) -> &str;
}

/// The checks of every form post, before any service is called: the `Origin`, the poster, a
/// form body, and the poster's token in the form.
async fn checked<S: Backend, P: Poster, T: DeserializeOwned + CsrfField + Send>(
    req: Request,
    app: &App<S>,
) -> Result<(P, T), Response> {
    let (mut parts, body) = req.into_parts();
    let Tenant(slug) = Tenant::from_request_parts(&mut parts, app).await?;
    let tenant = slug.to_string();
    if !same_origin(&parts) {
        return Err(expired(&tenant));
    }
    let poster = P::from_parts(&mut parts, app, &tenant).await?;
    // A body that is not a form (another content type) did not come from our page.
    let Form(form) =
        Form::<T>::from_request(Request::from_parts(parts, body), app).await.map_err(|_| expired(&tenant))?;
    if !tokens_match(form.csrf(), poster.token()) {
        return Err(expired(&tenant));
    }
    Ok((poster, form))
}

/// Before sign-in: whoever holds the double-submit cookie.
struct PreSession {
    tenant: String,
    cookie: String,
}

impl Poster for PreSession {
    async fn from_parts<S: Backend>(parts: &mut Parts, _: &App<S>, tenant: &str) -> Result<Self, Response> {
        let cookie = cookies::get(&parts.headers, cookies::CSRF).unwrap_or_default();
        Ok(Self { tenant: tenant.to_owned(), cookie })
    }
    fn token(&self) -> &str {
        &self.cookie
    }
}

impl Poster for PageSession {
    async fn from_parts<S: Backend>(parts: &mut Parts, app: &App<S>, _: &str) -> Result<Self, Response> {
        PageSession::from_request_parts(parts, app).await
    }
    fn token(&self) -> &str {
        &self.session.csrf
    }
}

impl Poster for AdminPage {
    async fn from_parts<S: Backend>(parts: &mut Parts, app: &App<S>, _: &str) -> Result<Self, Response> {
        AdminPage::from_request_parts(parts, app).await
    }
    fn token(&self) -> &str {
        &self.csrf
    }
}

/// A form posted before sign-in, checked against the double-submit cookie and the `Origin`.
pub(crate) struct PreSessionForm<T> {
    pub tenant: String,
    pub form: T,
}

impl<S: Backend, T: DeserializeOwned + CsrfField + Send> FromRequest<App<S>> for PreSessionForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App<S>) -> Result<Self, Response> {
        let (PreSession { tenant, .. }, form) = checked(req, app).await?;
        Ok(Self { tenant, form })
    }
}

/// A form posted in a session, checked against the session's token and the `Origin`. A
/// request without a valid session goes to the sign-in page.
pub(crate) struct SessionForm<T> {
    pub session: PageSession,
    pub form: T,
}

impl<S: Backend, T: DeserializeOwned + CsrfField + Send> FromRequest<App<S>> for SessionForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App<S>) -> Result<Self, Response> {
        let (session, form) = checked(req, app).await?;
        Ok(Self { session, form })
    }
}

/// A form posted on an admin center page, checked against the administrator's session token
/// and the `Origin` before any service is called. Without a signed-in administrator the
/// request goes to sign-in (or gets the 403 page), as [`AdminPage`] does.
pub(crate) struct AdminForm<T> {
    pub admin: AdminPage,
    pub form: T,
}

impl<S: Backend, T: DeserializeOwned + CsrfField + Send> FromRequest<App<S>> for AdminForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App<S>) -> Result<Self, Response> {
        let (admin, form) = checked(req, app).await?;
        Ok(Self { admin, form })
    }
}

/// A form whose only field is the token (sign-out, delete, new recovery codes).
#[derive(serde::Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

impl CsrfField for CsrfOnly {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(host: Option<&str>, origin: Option<&str>) -> Parts {
        let mut b = axum::http::Request::builder().method("POST").uri("/t/contoso/signin");
        if let Some(h) = host {
            b = b.header(header::HOST, h);
        }
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn origin_must_be_this_host_when_present() {
        assert!(same_origin(&parts(Some("localhost:8080"), None)));
        assert!(same_origin(&parts(Some("localhost:8080"), Some("http://localhost:8080"))));
        assert!(same_origin(&parts(Some("id.example.com"), Some("https://ID.example.com"))));
        assert!(same_origin(&parts(Some("id.example.com:443"), Some("https://id.example.com"))));
        assert!(!same_origin(&parts(Some("localhost:8080"), Some("http://localhost:8081"))));
        assert!(!same_origin(&parts(Some("localhost:8080"), Some("http://evil.example"))));
        assert!(!same_origin(&parts(Some("localhost:8080"), Some("null"))));
        assert!(!same_origin(&parts(Some("localhost:8080"), Some("ftp://localhost:8080"))));
        assert!(!same_origin(&parts(None, Some("http://localhost:8080"))));
    }

    #[test]
    fn tokens_compare_exactly() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert!(tokens_match(&t, &t.clone()));
        assert!(!tokens_match(&t[..63], &t));
        assert!(!tokens_match("", ""));
        assert_ne!(new_token(), new_token());
    }
}
