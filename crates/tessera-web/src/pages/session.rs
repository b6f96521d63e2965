//! The session behind the `__Host-tessera_session` cookie, as an extractor. Without a valid
//! session the request goes to the sign-in page and the cookie is removed.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use tessera_core::session::{Session, SessionStage};
use tessera_core::tokens::SessionToken;

use super::{Tenant, cookies, internal, see_other, to_signin, url};
use crate::{App, Backend};

pub(crate) struct PageSession {
    pub tenant: String,
    /// The cookie value, which the services take.
    pub token: SessionToken,
    pub session: Session,
}

impl<S: Backend> FromRequestParts<App<S>> for PageSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App<S>) -> Result<Self, Response> {
        let Tenant(slug) = Tenant::from_request_parts(parts, app).await?;
        let tenant = slug.to_string();
        let Some(token) = cookies::get(&parts.headers, cookies::SESSION).map(SessionToken::from) else {
            return Err(to_signin(&tenant));
        };
        match app.session_in_tenant(&slug, &token).await {
            Ok(Some(session)) => Ok(Self { tenant, token, session }),
            Ok(None) => Err(to_signin(&tenant)),
            Err(e) => Err(internal(&tenant, &e)),
        }
    }
}

impl PageSession {
    /// Where a session that is not at `want` belongs: its own step of the sign-in.
    pub(crate) fn redirect_to_stage(&self, ret: Option<&str>) -> Response {
        to_stage(&self.tenant, self.session.stage, ret)
    }

    pub(crate) fn signed_in(&self) -> bool {
        self.session.stage == SessionStage::SignedIn
    }
}

/// The step of the sign-in a session at `stage` belongs to (the `return` page once signed in).
pub(crate) fn to_stage(tenant: &str, stage: SessionStage, ret: Option<&str>) -> Response {
    let q = super::return_query(ret);
    let to = match stage {
        SessionStage::MfaRequired => url(tenant, &format!("/signin/mfa{q}")),
        SessionStage::RegistrationRequired => url(tenant, &format!("/signin/register{q}")),
        SessionStage::SignedIn => super::after_sign_in(tenant, ret),
    };
    see_other(&to, &[])
}
