//! The second factor: a code from the authenticator app or a recovery code. The same page
//! confirms a signed-in user again ("step-up") before a sensitive change.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tessera_core::CoreError;
use tessera_core::session::SessionStage;

use super::csrf::{CsrfField, SessionForm};
use super::session::PageSession;
use super::views::{MfaPage, page};
use super::{after_sign_in, cookies, internal, safe_return, see_other, to_signin, url};
use crate::extract::ClientCtx;
use crate::{App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new().route("/t/{tenant}/signin/mfa", get(mfa_form).post(mfa_submit))
}

pub(super) const WRONG_CODE: &str =
    "That code didn't work. Check the code in your authenticator app, or use a recovery code.";

#[derive(Deserialize)]
struct MfaQuery {
    stepup: Option<String>,
    recovery: Option<String>,
    #[serde(rename = "return")]
    ret: Option<String>,
}

fn flag(v: Option<&str>) -> bool {
    matches!(v, Some("1" | "true" | "on"))
}

/// `GET /t/{tenant}/signin/mfa[?stepup=1][&recovery=1][&return=...]`.
async fn mfa_form<S: Backend>(State(app): State<App<S>>, s: PageSession, Query(q): Query<MfaQuery>) -> Response {
    let stepup = flag(q.stepup.as_deref());
    let ret = safe_return(q.ret.as_deref());
    let wanted = match s.session.stage {
        SessionStage::MfaRequired => true,
        SessionStage::SignedIn => stepup,
        SessionStage::RegistrationRequired => false,
    };
    if !wanted {
        return s.redirect_to_stage(ret.as_deref());
    }
    let remember_days = if s.signed_in() { None } else { app.remember_offer(&s.token).await.ok().flatten() };
    let p = MfaPage {
        stepup: s.signed_in(),
        recovery: flag(q.recovery.as_deref()),
        remember_days,
        remember: false,
        tenant: s.tenant,
        csrf: s.session.csrf,
        ret,
        error: None,
    };
    page(StatusCode::OK, &p)
}

#[derive(Deserialize)]
struct MfaForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    recovery: Option<String>,
    /// "Don't ask again for N days".
    remember: Option<String>,
    #[serde(rename = "return")]
    ret: Option<String>,
}

impl CsrfField for MfaForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /t/{tenant}/signin/mfa`: checks the code; the session gets a new id (and cookie).
async fn mfa_submit<S: Backend>(
    State(app): State<App<S>>,
    ClientCtx(ctx): ClientCtx,
    headers: HeaderMap,
    SessionForm { session: s, form }: SessionForm<MfaForm>,
) -> Response {
    let ret = safe_return(form.ret.as_deref());
    let remember = !s.signed_in() && flag(form.remember.as_deref());
    let remember_days = if s.signed_in() { None } else { app.remember_offer(&s.token).await.ok().flatten() };
    let retry = |status: StatusCode, error: String| {
        let p = MfaPage {
            tenant: s.tenant.clone(),
            csrf: s.session.csrf.clone(),
            stepup: s.signed_in(),
            recovery: flag(form.recovery.as_deref()),
            remember_days,
            remember,
            ret: ret.clone(),
            error: Some(error),
        };
        page(status, &p)
    };
    match app.verify_mfa(&s.token, &form.code, &ctx).await {
        Ok(started) => {
            let mut set = vec![cookies::session(started.token.expose())];
            if remember && remember_days.is_some() {
                // The tenant may have turned remembering off a moment ago: then the sign-in
                // simply goes on without it.
                match app.remember_device(&started.token, &ctx).await {
                    Ok(d) => set.push(cookies::add_device(&headers, &d.token, d.max_age.whole_seconds())),
                    Err(e) => tracing::info!(error = %e, "device not remembered"),
                }
            }
            see_other(&after_sign_in(&s.tenant, ret.as_deref()), &set)
        }
        Err(CoreError::InvalidCode) => retry(StatusCode::UNAUTHORIZED, WRONG_CODE.to_owned()),
        Err(CoreError::TooManyAttempts { retry_after_secs }) => {
            let (text, name, value) = super::retry_after(retry_after_secs);
            let mut resp = retry(StatusCode::TOO_MANY_REQUESTS, text);
            resp.headers_mut().insert(name, value);
            resp
        }
        Err(CoreError::MfaRegistrationRequired) => see_other(&url(&s.tenant, "/signin/register"), &[]),
        Err(CoreError::Unauthorized) => to_signin(&s.tenant),
        Err(e) => internal(&s.tenant, &e),
    }
}
