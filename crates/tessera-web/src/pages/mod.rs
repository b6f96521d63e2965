//! The browser pages under `/t/{tenant}/...`: sign-in (UPN, password, second factor),
//! registration of an authenticator app ("proof-up") and the user's security info; and the
//! admin center under `/admin/{tenant}/...` ([`admin`]). Server rendered; no JavaScript
//! needed. One router per flow, merged here; every page answers with the
//! security headers of [`security_headers`].
//!
//! Handlers are thin: the extractors of [`session`] and [`csrf`] read the cookie, check the
//! form's anti-CSRF token and the `Origin`; the handler calls one service method and maps the
//! result to a page or a redirect.

pub(crate) mod admin;
mod assets;
mod cookies;
mod credentials;
mod csrf;
mod error;
mod me;
mod mfa;
mod register;
mod session;
mod signin;
mod views;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tessera_core::ids::TenantSlug;

use crate::{App, Backend};
pub(crate) use error::{PageError, internal};

/// Forms are small: a UPN, a password, a code.
const FORM_BODY_LIMIT: usize = 16 * 1024;

pub(crate) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .merge(signin::router())
        .merge(mfa::router())
        .merge(register::router())
        .merge(me::router())
        .merge(credentials::router())
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .merge(admin::router())
        .layer(axum::middleware::map_response(security_headers))
        .merge(assets::router())
}

/// Only this origin's resources (the stylesheet, the admin center's small script; the QR code
/// and the report's charts are inline SVG markup, not images), forms post only here, and no
/// other site may frame a page.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                   form-action 'self'; frame-ancestors 'none'";

/// Headers of every page: never cached (they carry anti-CSRF tokens and recovery codes), never
/// framed, no third-party referrer.
///
/// `Referrer-Policy` is `same-origin`, not `no-referrer`: under `no-referrer` browsers send
/// `Origin: null` with the page's own form posts (Fetch standard, "append a request Origin
/// header"; checked with Chromium), which the `Origin` check of [`csrf`] must refuse. With
/// `same-origin` other sites still get no referrer at all.
async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

/// The tenant slug of a `/t/{tenant}/...` path, checked for shape only: whether the tenant
/// exists is never revealed before sign-in (an unknown tenant signs in like a wrong password).
pub(crate) struct Tenant(pub TenantSlug);

impl<S: Backend> FromRequestParts<App<S>> for Tenant {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App<S>) -> Result<Self, Response> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, app)
            .await
            .map_err(|_| views::message(StatusCode::NOT_FOUND, "", views::Msg::NotFound))?;
        params
            .get("tenant")
            .and_then(|t| TenantSlug::parse(t).ok())
            .map(Self)
            .ok_or_else(|| views::message(StatusCode::NOT_FOUND, "", views::Msg::NotFound))
    }
}

/// Where pages of `tenant` live.
pub(crate) fn url(tenant: &str, rest: &str) -> String {
    format!("/t/{tenant}{rest}")
}

/// A 303 to `to`, adding `set_cookies`.
pub(crate) fn see_other(to: &str, set_cookies: &[HeaderValue]) -> Response {
    with_cookies(Redirect::to(to), set_cookies)
}

pub(crate) fn with_cookies(resp: impl IntoResponse, set_cookies: &[HeaderValue]) -> Response {
    let mut resp = resp.into_response();
    for c in set_cookies {
        resp.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    resp
}

/// The sign-in page, forgetting the session cookie: the session ended or never was.
pub(crate) fn to_signin(tenant: &str) -> Response {
    see_other(&url(tenant, "/signin"), &[cookies::clear_session()])
}

/// The step-up page (a fresh second factor for a signed-in session), then back to `back`.
pub(crate) fn to_step_up(tenant: &str, back: &str) -> Response {
    see_other(&url(tenant, &format!("/signin/mfa?stepup=1&return={}", pct_encode(back))), &[])
}

/// A `return` path that stays on this site: an absolute path (not `//host` nor `/\host`),
/// printable ASCII only, so it can go into a `Location` header as it is.
pub(crate) fn safe_return(r: Option<&str>) -> Option<String> {
    let r = r?.trim();
    let ok = r.starts_with('/')
        && !r.starts_with("//")
        && !r.contains('\\')
        && r.len() <= 1024
        && r.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| r.to_owned())
}

/// Where a finished sign-in goes: the `return` path, or the security info page.
pub(crate) fn after_sign_in(tenant: &str, ret: Option<&str>) -> String {
    safe_return(ret).unwrap_or_else(|| url(tenant, "/me"))
}

/// `?return=...` for a URL, when there is a safe one.
pub(crate) fn return_query(ret: Option<&str>) -> String {
    safe_return(ret).map(|r| format!("?return={}", pct_encode(&r))).unwrap_or_default()
}

/// What a query value keeps as it is: the RFC 3986 unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A `return` path keeps its `/` as well, so that the link stays readable.
const RETURN_PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
pub(crate) fn enc(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// Percent-encodes a `return` path as a query value.
fn pct_encode(s: &str) -> String {
    utf8_percent_encode(s, RETURN_PATH).to_string()
}

/// "Try again in N minutes." with the standard `Retry-After`.
pub(crate) fn retry_after(secs: i64) -> (String, HeaderName, HeaderValue) {
    let minutes = (secs.max(1) + 59) / 60;
    let text = if minutes == 1 {
        "Too many attempts. Try again in 1 minute.".to_owned()
    } else {
        format!("Too many attempts. Try again in {minutes} minutes.")
    };
    (text, header::RETRY_AFTER, HeaderValue::from(secs.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_this_site() {
        for ok in ["/t/contoso/me", "/t/contoso/signin/register", "/x?a=b&c=d"] {
            assert_eq!(safe_return(Some(ok)).as_deref(), Some(ok));
        }
        for bad in
            ["", "me", "//evil.example/", "/\\evil.example", "https://evil.example/", "/a b", "/\u{e9}", "/a\r\nb"]
        {
            assert_eq!(safe_return(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(after_sign_in("contoso", None), "/t/contoso/me");
        assert_eq!(after_sign_in("contoso", Some("//evil")), "/t/contoso/me");
        assert_eq!(return_query(Some("/t/c/me?a=1&b=2")), "?return=/t/c/me%3Fa%3D1%26b%3D2");
    }

    #[test]
    fn retry_after_rounds_up_to_minutes() {
        assert_eq!(retry_after(1).0, "Too many attempts. Try again in 1 minute.");
        assert_eq!(retry_after(61).0, "Too many attempts. Try again in 2 minutes.");
        assert_eq!(retry_after(900).0, "Too many attempts. Try again in 15 minutes.");
        assert_eq!(retry_after(900).2, HeaderValue::from(900));
    }
}
