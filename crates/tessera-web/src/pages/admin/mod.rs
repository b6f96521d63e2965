//! The admin center under `/admin/{tenant}/...`: the multi-factor authentication page (the
//! user list with the quick steps Enable, Enforce, Disable and Manage user settings), a user's
//! page, the MFA service settings, the audit and sign-in logs and the registration report.
//! Server rendered; everything works without JavaScript (one small script only makes
//! "Select all on this page" instant).
//!
//! Administrators sign in through the browser sign-in pages (`/t/{tenant}/signin`, with the
//! second factor their state requires); [`AdminPage`] turns the session cookie into the
//! acting administrator through the core (`Tessera::admin_session`). Every form posts the
//! session's anti-CSRF token ([`super::csrf::AdminForm`]). Buttons are shown only to roles that
//! may use them, and the services check the permission again on every request.

mod changes;
mod entry;
mod export;
mod fields;
mod list;
mod logs;
mod quick_steps;
mod report;
mod selection;
mod settings;
mod users;
mod views;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::CoreError;
use tessera_core::access::{Action, Actor, TargetKind};
use tessera_core::tokens::SessionToken;

use super::views::{Msg, message};
use super::{PageError, Tenant, cookies, internal, return_query, see_other, url};
use crate::extract::ClientCtx;
use crate::{App, Backend};

/// A selection of many users posts their ids: 2 MiB is some 45,000 of them.
const ADMIN_BODY_LIMIT: usize = 2 * 1024 * 1024;

pub(crate) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .merge(entry::router())
        .merge(list::router())
        .merge(quick_steps::router())
        .merge(users::router())
        .merge(settings::router())
        .merge(logs::router())
        .merge(report::router())
        .layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT))
}

/// Where the admin pages of `tenant` live.
pub(crate) fn admin_url(tenant: &str, rest: &str) -> String {
    format!("/admin/{tenant}{rest}")
}

/// The signed-in administrator of an admin page. Without a signed-in session the request goes
/// to the sign-in page (or the step of it the session is at), which comes back here
/// afterwards; a signed-in user without an administrator role gets a 403 page.
pub(crate) struct AdminPage {
    pub tenant: String,
    pub actor: Actor,
    /// The session's anti-CSRF token, for the page's forms.
    pub csrf: String,
    pub display_name: String,
}

impl<S: Backend> FromRequestParts<App<S>> for AdminPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App<S>) -> Result<Self, Response> {
        let Tenant(slug) = Tenant::from_request_parts(parts, app).await?;
        let tenant = slug.to_string();
        let back = back_after_sign_in(parts, &tenant);
        let Some(token) = cookies::get(&parts.headers, cookies::SESSION).map(SessionToken::from) else {
            return Err(to_sign_in(&tenant, "/signin", &back, true));
        };
        let ClientCtx(ctx) = ClientCtx::from_request_parts(parts, app).await.unwrap_or_else(|e| match e {});
        match app.admin_session(&slug, &token, &ctx).await {
            Ok(s) => Ok(Self { tenant, csrf: s.session.csrf, display_name: s.display_name, actor: s.actor }),
            Err(CoreError::Unauthorized) => Err(to_sign_in(&tenant, "/signin", &back, true)),
            Err(CoreError::MfaRequired) => Err(to_sign_in(&tenant, "/signin/mfa", &back, false)),
            Err(CoreError::MfaRegistrationRequired) => Err(to_sign_in(&tenant, "/signin/register", &back, false)),
            Err(CoreError::Forbidden(text)) => Err(message(StatusCode::FORBIDDEN, &tenant, Msg::Forbidden(text))),
            Err(e) => Err(internal(&tenant, &e)),
        }
    }
}

impl AdminPage {
    pub(crate) fn may(&self, action: Action, target: TargetKind) -> bool {
        self.actor.may(action, target)
    }

    /// The page frame: navigation, who is signed in, the sign-out form.
    pub(crate) fn chrome(&self, current: Section) -> views::Chrome {
        views::Chrome {
            tenant: self.tenant.clone(),
            csrf: self.csrf.clone(),
            name: self.display_name.clone(),
            upn: self.actor.upn().to_string(),
            current,
            may_read_logs: self.may(Action::ReadLogs, TargetKind::Tenant),
        }
    }

    /// What a refused or failed service call shows.
    pub(crate) fn refused(&self, e: CoreError) -> Response {
        refused(&self.tenant, e)
    }
}

/// The admin center's sections, for the navigation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Section {
    Mfa,
    Settings,
    Audit,
    SignIns,
    Reports,
}

/// A GET comes back to where it was; a form post to the multi-factor authentication page.
/// The path must fit the sign-in pages' `return` rules, else only the path is kept.
fn back_after_sign_in(parts: &Parts, tenant: &str) -> String {
    if parts.method != Method::GET {
        return admin_url(tenant, "/mfa");
    }
    let full = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    super::safe_return(Some(&full)).unwrap_or_else(|| parts.uri.path().to_owned())
}

fn to_sign_in(tenant: &str, step: &str, back: &str, forget_cookie: bool) -> Response {
    let to = url(tenant, &format!("{step}{}", return_query(Some(back))));
    if forget_cookie { see_other(&to, &[cookies::clear_session()]) } else { see_other(&to, &[]) }
}

/// A refused or failed service call as a page.
pub(crate) fn refused(tenant: &str, e: CoreError) -> Response {
    PageError::admin(tenant, e).into_response()
}

/// The core's messages start in lower case; a page shows them as sentences (a first word that
/// is a field name such as `rememberDeviceDays` stays as it is).
pub(crate) fn sentence(text: &str) -> String {
    let first_word = text.split(' ').next().unwrap_or_default();
    let mut s = if first_word.chars().skip(1).any(char::is_uppercase) {
        text.to_owned()
    } else {
        let mut c = text.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => String::new(),
        }
    };
    if !s.is_empty() && !s.ends_with(['.', '?', '!']) {
        s.push('.');
    }
    s
}
