//! The signed-in user's app passwords (for mail clients, printers and other legacy clients
//! that cannot answer an MFA prompt) and remembered devices ("Don't ask again"), on the
//! security info page.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use tessera_core::CoreError;
use tessera_core::ids::{AppPasswordId, DeviceId};

use super::csrf::{CsrfField, CsrfOnly, SessionForm};
use super::views::{AppPasswordCreatedPage, page};
use super::{PageError, cookies, internal, see_other, url};
use crate::extract::{ClientCtx, path_id};
use crate::{App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .route("/t/{tenant}/me/app-passwords", post(create_app_password))
        .route("/t/{tenant}/me/app-passwords/{id}/delete", post(delete_app_password))
        .route("/t/{tenant}/me/devices/{id}/forget", post(forget_device))
        .route("/t/{tenant}/me/password", post(change_password))
}

#[derive(Deserialize)]
struct PasswordChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

impl CsrfField for PasswordChangeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /t/{tenant}/me/password`: this browser stays signed in (new session id); every other
/// session and every remembered browser ends.
async fn change_password<S: Backend>(
    State(app): State<App<S>>,
    ClientCtx(ctx): ClientCtx,
    SessionForm { session: s, form }: SessionForm<PasswordChangeForm>,
) -> Response {
    let back = |error: &str| see_other(&url(&s.tenant, &format!("/me?error={error}#password-h")), &[]);
    if form.new_password != form.confirm_password {
        return back("password-mismatch");
    }
    match app.change_my_password(&s.token, form.current_password, form.new_password, &ctx).await {
        Ok(started) => {
            see_other(&url(&s.tenant, "/me?done=password-changed"), &[cookies::session(started.token.expose())])
        }
        Err(CoreError::InvalidCredentials) => back("password-wrong"),
        Err(CoreError::InvalidPassword(_)) => back("password-invalid"),
        Err(CoreError::TooManyAttempts { .. }) => back("password-locked"),
        Err(CoreError::Unauthorized) => s.redirect_to_stage(None),
        Err(e) => internal(&s.tenant, &e),
    }
}

#[derive(Deserialize)]
struct NewAppPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

impl CsrfField for NewAppPasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
struct IdPath {
    id: String,
}

/// `POST /t/{tenant}/me/app-passwords`: the new secret is shown once, on its own page.
async fn create_app_password<S: Backend>(
    State(app): State<App<S>>,
    ClientCtx(ctx): ClientCtx,
    SessionForm { session: s, form }: SessionForm<NewAppPasswordForm>,
) -> Response {
    let back = url(&s.tenant, "/me");
    match app.create_app_password(&s.token, &form.name, &ctx).await {
        Ok(created) => {
            let p = AppPasswordCreatedPage {
                tenant: s.tenant.clone(),
                name: created.info.name,
                secret: created.secret.to_string(),
                continue_to: back,
            };
            page(StatusCode::OK, &p)
        }
        // The page names the problem by a fixed key: a link cannot make it show any text.
        Err(CoreError::InvalidAppPasswordName(_)) => {
            see_other(&format!("{back}?error=app-password-name#app-passwords-h"), &[])
        }
        Err(CoreError::LimitReached(_)) => see_other(&format!("{back}?error=app-password-limit#app-passwords-h"), &[]),
        Err(CoreError::Forbidden(_)) => see_other(&format!("{back}?error=app-passwords-off#app-passwords-h"), &[]),
        Err(e) => PageError::me(&s, back, e).into_response(),
    }
}

/// `POST /t/{tenant}/me/app-passwords/{id}/delete`.
async fn delete_app_password<S: Backend>(
    State(app): State<App<S>>,
    ClientCtx(ctx): ClientCtx,
    Path(p): Path<IdPath>,
    SessionForm { session: s, .. }: SessionForm<CsrfOnly>,
) -> Response {
    let done = match path_id(&p.id, AppPasswordId::parse, "the app password") {
        Ok(id) => app.delete_my_app_password(&s.token, id, &ctx).await,
        Err(e) => Err(e),
    };
    after_change(&s, done, "app-password-deleted")
}

/// `POST /t/{tenant}/me/devices/{id}/forget`.
async fn forget_device<S: Backend>(
    State(app): State<App<S>>,
    ClientCtx(ctx): ClientCtx,
    Path(p): Path<IdPath>,
    SessionForm { session: s, .. }: SessionForm<CsrfOnly>,
) -> Response {
    let done = match path_id(&p.id, DeviceId::parse, "the remembered device") {
        Ok(id) => app.forget_my_device(&s.token, id, &ctx).await,
        Err(e) => Err(e),
    };
    after_change(&s, done, "device-forgotten")
}

fn after_change(s: &super::session::PageSession, done: Result<(), CoreError>, what: &str) -> Response {
    match done {
        Ok(()) => see_other(&url(&s.tenant, &format!("/me?done={what}")), &[]),
        Err(e) => PageError::me(s, url(&s.tenant, "/me"), e).into_response(),
    }
}
