//! Registering an authenticator app: during sign-in when the organisation requires it
//! ("proof-up"), or later from the security info page (after a fresh second factor when the
//! user has methods already).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tessera_core::CoreError;
use tessera_core::service::PendingTotp;
use tessera_core::session::SessionStage;

use super::csrf::{CsrfField, SessionForm};
use super::session::PageSession;
use super::views::{Msg, RecoveryCodesPage, RegisterPage, groups_of_four, message, page, qr_svg};
use super::{after_sign_in, cookies, internal, return_query, safe_return, see_other, to_signin, to_step_up, url};
use crate::extract::ClientCtx;
use crate::{App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new().route("/t/{tenant}/signin/register", get(register_form).post(register_submit))
}

const WRONG_CODE: &str = "That code didn't work. Enter the 6-digit code your authenticator app shows now, and check that the time on your phone is right.";

#[derive(Deserialize)]
struct ReturnQuery {
    #[serde(rename = "return")]
    ret: Option<String>,
}

fn register_page(
    s: &PageSession,
    pending: PendingTotp,
    label: String,
    ret: Option<String>,
    error: Option<String>,
) -> RegisterPage {
    RegisterPage {
        tenant: s.tenant.clone(),
        csrf: s.session.csrf.clone(),
        proof_up: s.session.stage == SessionStage::RegistrationRequired,
        qr_svg: qr_svg(&pending.otpauth_uri),
        otpauth_uri: pending.otpauth_uri,
        secret_groups: groups_of_four(&pending.secret_base32),
        account: pending.account,
        label,
        ret,
        error,
    }
}

/// What a refused `begin_totp_registration` means for the browser.
fn refused(s: &PageSession, e: CoreError, ret: Option<&str>) -> Response {
    match e {
        CoreError::FreshMfaRequired => to_step_up(&s.tenant, &url(&s.tenant, "/signin/register")),
        CoreError::MfaRequired => see_other(&url(&s.tenant, &format!("/signin/mfa{}", return_query(ret))), &[]),
        CoreError::Forbidden(text) => message(StatusCode::FORBIDDEN, &s.tenant, Msg::Forbidden(text)),
        CoreError::Unauthorized => to_signin(&s.tenant),
        e => internal(&s.tenant, &e),
    }
}

/// `GET /t/{tenant}/signin/register`: the QR code and the key of a new secret (the same one
/// again until it is confirmed).
async fn register_form<S: Backend>(
    State(app): State<App<S>>,
    s: PageSession,
    Query(q): Query<ReturnQuery>,
) -> Response {
    let ret = safe_return(q.ret.as_deref());
    match app.begin_totp_registration(&s.token).await {
        Ok(pending) => page(StatusCode::OK, &register_page(&s, pending, String::new(), ret, None)),
        Err(e) => refused(&s, e, ret.as_deref()),
    }
}

#[derive(Deserialize)]
struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    label: String,
    #[serde(rename = "return")]
    ret: Option<String>,
}

impl CsrfField for RegisterForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /t/{tenant}/signin/register`: confirms the secret with a code. The first method
/// comes with recovery codes, shown once.
async fn register_submit<S: Backend>(
    State(app): State<App<S>>,
    ClientCtx(ctx): ClientCtx,
    SessionForm { session: s, form }: SessionForm<RegisterForm>,
) -> Response {
    let ret = safe_return(form.ret.as_deref());
    let label = Some(form.label.clone()).filter(|l| !l.trim().is_empty());
    let mut retry_after = None;
    let error = match app.finish_totp_registration(&s.token, &form.code, label, &ctx).await {
        Ok((started, codes)) => {
            let cookie = [cookies::session(started.token.expose())];
            let continue_to = after_sign_in(&s.tenant, ret.as_deref());
            if codes.is_empty() {
                return see_other(&continue_to, &cookie);
            }
            let p = RecoveryCodesPage { tenant: s.tenant.clone(), codes, continue_to };
            return super::with_cookies(page(StatusCode::OK, &p), &cookie);
        }
        Err(CoreError::InvalidCode) => (StatusCode::UNAUTHORIZED, WRONG_CODE.to_owned()),
        Err(CoreError::TooManyAttempts { retry_after_secs }) => {
            let (text, name, value) = super::retry_after(retry_after_secs);
            retry_after = Some((name, value));
            (StatusCode::TOO_MANY_REQUESTS, text)
        }
        // No secret pending (the session was rotated meanwhile): start again.
        Err(CoreError::NoPendingRegistration) => return see_other(&url(&s.tenant, "/signin/register"), &[]),
        Err(CoreError::Unauthorized) => return to_signin(&s.tenant),
        Err(e) => return internal(&s.tenant, &e),
    };
    // Show the same secret again (the service keeps it until it is confirmed) with the error.
    match app.begin_totp_registration(&s.token).await {
        Ok(pending) => {
            let mut resp = page(error.0, &register_page(&s, pending, form.label, ret, Some(error.1)));
            if let Some((name, value)) = retry_after {
                resp.headers_mut().insert(name, value);
            }
            resp
        }
        Err(e) => refused(&s, e, ret.as_deref()),
    }
}
