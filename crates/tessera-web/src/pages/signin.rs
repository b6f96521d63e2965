//! Sign-in, first steps: the UPN form, then the password form. The password page always
//! follows the UPN page, so it never tells whether the user exists.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use tessera_core::CoreError;
use tessera_core::session::SessionStage;

use super::csrf::{CsrfField, PreSessionForm, token_for_form};
use super::views::{Msg, PasswordPage, UpnPage, message, page};
use super::{Tenant, after_sign_in, cookies, internal, return_query, safe_return, see_other, url, with_cookies};
use crate::extract::ClientCtx;
use crate::{App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .route("/t/{tenant}/signin", get(upn_form).post(upn_submit))
        .route("/t/{tenant}/signin/password", post(password_submit))
}

/// The same words whether the user exists or not.
pub(super) const WRONG_PASSWORD: &str = "Your account or password is incorrect.";

#[derive(Deserialize)]
struct ReturnQuery {
    #[serde(rename = "return")]
    ret: Option<String>,
}

/// `GET /t/{tenant}/signin`: the UPN form, with a double-submit anti-CSRF cookie.
async fn upn_form(Tenant(tenant): Tenant, headers: HeaderMap, Query(q): Query<ReturnQuery>) -> Response {
    let (csrf, set_cookie) = token_for_form(&headers);
    let p = UpnPage {
        tenant: tenant.to_string(),
        csrf,
        upn: String::new(),
        ret: safe_return(q.ret.as_deref()),
        error: None,
    };
    with_cookies(page(StatusCode::OK, &p), set_cookie.as_slice())
}

#[derive(Deserialize)]
struct UpnForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    upn: String,
    #[serde(rename = "return")]
    ret: Option<String>,
}

impl CsrfField for UpnForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /t/{tenant}/signin`: on to the password page, for any UPN.
async fn upn_submit(PreSessionForm { tenant, form }: PreSessionForm<UpnForm>) -> Response {
    let upn = form.upn.trim().to_owned();
    let ret = safe_return(form.ret.as_deref());
    if upn.is_empty() {
        let error = Some("Enter your user name, like alice@contoso.com.".to_owned());
        return page(StatusCode::BAD_REQUEST, &UpnPage { tenant, csrf: form.csrf, upn, ret, error });
    }
    page(StatusCode::OK, &PasswordPage { tenant, csrf: form.csrf, upn, ret, error: None })
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    upn: String,
    #[serde(default)]
    password: String,
    #[serde(rename = "return")]
    ret: Option<String>,
}

impl CsrfField for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /t/{tenant}/signin/password`: checks the password; the new session goes on to the
/// second factor, to registration, or is signed in.
async fn password_submit<S: Backend>(
    State(app): State<App<S>>,
    ClientCtx(mut ctx): ClientCtx,
    headers: HeaderMap,
    PreSessionForm { tenant, form }: PreSessionForm<PasswordForm>,
) -> Response {
    ctx.device_tokens = cookies::device_tokens(&headers);
    let upn = form.upn.trim().to_owned();
    let ret = safe_return(form.ret.as_deref());
    match app.sign_in_password(&tenant, &upn, form.password, &ctx).await {
        Ok(started) => {
            let q = return_query(ret.as_deref());
            let to = match started.session.stage {
                SessionStage::SignedIn => after_sign_in(&tenant, ret.as_deref()),
                SessionStage::MfaRequired => url(&tenant, &format!("/signin/mfa{q}")),
                SessionStage::RegistrationRequired => url(&tenant, &format!("/signin/register{q}")),
            };
            see_other(&to, &[cookies::session(started.token.expose())])
        }
        Err(CoreError::InvalidCredentials) => {
            let error = Some(WRONG_PASSWORD.to_owned());
            page(StatusCode::UNAUTHORIZED, &PasswordPage { tenant, csrf: form.csrf, upn, ret, error })
        }
        Err(CoreError::TooManyAttempts { retry_after_secs }) => {
            let (text, name, value) = super::retry_after(retry_after_secs);
            let mut resp = message(StatusCode::TOO_MANY_REQUESTS, &tenant, Msg::TooManyAttempts(text));
            resp.headers_mut().insert(name, value);
            resp
        }
        Err(CoreError::AccountDisabled) => message(StatusCode::FORBIDDEN, &tenant, Msg::Blocked),
        Err(e) => internal(&tenant, &e),
    }
}
