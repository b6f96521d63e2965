//! The one place where a failed service call becomes what a browser gets on a page: a status
//! with a message page, or a redirect. Handlers match only the outcomes their own flow shows
//! (a wrong code, a full list of app passwords); everything else goes through [`PageError`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tessera_core::CoreError;
use tessera_core::session::SessionStage;

use super::admin::sentence;
use super::session::{PageSession, to_stage};
use super::views::{Msg, message};
use super::{to_signin, to_step_up};

/// A service call that failed on a page of `tenant`.
pub(crate) struct PageError {
    tenant: String,
    on: On,
    error: CoreError,
}

/// Which pages: they word and route some errors differently.
enum On {
    /// The admin center: refusals are shown as the core's sentence.
    Admin,
    /// The signed-in user's own pages: a session at an earlier step of the sign-in goes back
    /// to that step; a change that needs a fresh second factor asks for one, then returns to
    /// `back`.
    Me { stage: SessionStage, back: String },
}

impl PageError {
    pub(crate) fn admin(tenant: &str, error: CoreError) -> Self {
        Self { tenant: tenant.to_owned(), on: On::Admin, error }
    }

    pub(crate) fn me(s: &PageSession, back: String, error: CoreError) -> Self {
        Self { tenant: s.tenant.clone(), on: On::Me { stage: s.session.stage, back }, error }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let tenant = self.tenant.as_str();
        match (self.on, self.error) {
            (_, CoreError::NotFound(_)) => message(StatusCode::NOT_FOUND, tenant, Msg::NotFound),
            (On::Admin, CoreError::Forbidden(text)) => {
                message(StatusCode::FORBIDDEN, tenant, Msg::AdminForbidden(sentence(&text)))
            }
            // A request the pages never send (a forged or hand-made form): refused, nothing changed.
            (On::Admin, e) if crate::error::status_and_code(&e).1 == "invalid_request" => {
                message(StatusCode::BAD_REQUEST, tenant, Msg::AdminForbidden(sentence(&e.to_string())))
            }
            (On::Admin, CoreError::Unauthorized) => to_signin(tenant),
            (On::Me { back, .. }, CoreError::FreshMfaRequired) => to_step_up(tenant, &back),
            (On::Me { stage, .. }, CoreError::Unauthorized) => to_stage(tenant, stage, None),
            (_, e) => internal(tenant, &e),
        }
    }
}

/// An unexpected error: the cause goes to the log, the user gets a plain apology.
pub(crate) fn internal(tenant: &str, e: &CoreError) -> Response {
    tracing::error!(error = %e, "page failed");
    message(StatusCode::INTERNAL_SERVER_ERROR, tenant, Msg::Internal)
}
