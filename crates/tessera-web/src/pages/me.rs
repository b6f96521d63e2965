//! The signed-in user's security info: MFA state, sign-in methods, recovery codes, sessions;
//! and sign-out.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tessera_core::CoreError;
use tessera_core::ids::MethodId;
use tessera_core::mfa::{MethodKind, PerUserMfaState};
use tessera_core::service::{MyCredentials, SecurityInfo};

use super::csrf::{CsrfOnly, SessionForm};
use super::session::PageSession;
use super::views::{CredentialRow, MePage, MethodRow, RecoveryCodesPage, SessionRow, browser_name, page, when};
use super::{PageError, cookies, internal, see_other, to_signin, url};
use crate::extract::{ClientCtx, path_id};
use crate::{App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .route("/t/{tenant}/me", get(security_info))
        .route("/t/{tenant}/me/methods/{id}/delete", post(delete_method))
        .route("/t/{tenant}/me/recovery-codes", post(new_recovery_codes))
        .route("/t/{tenant}/signout", post(sign_out))
}

#[derive(Deserialize)]
struct MeQuery {
    done: Option<String>,
    error: Option<String>,
}

/// `GET /t/{tenant}/me`.
async fn security_info<S: Backend>(State(app): State<App<S>>, s: PageSession, Query(q): Query<MeQuery>) -> Response {
    if !s.signed_in() {
        return s.redirect_to_stage(None);
    }
    let notice = match q.done.as_deref() {
        Some("deleted") => Some("The sign-in method was deleted."),
        Some("app-password-deleted") => Some("The app password was deleted: apps that used it must get a new one."),
        Some("device-forgotten") => Some("That browser will ask for a second factor again."),
        Some("password-changed") => Some(
            "Your password was changed. You were signed out everywhere else, and remembered browsers will ask for a second factor again.",
        ),
        _ => None,
    };
    let app_password_error = match q.error.as_deref() {
        Some("app-password-name") => {
            Some("Give the app password a name of 1-64 characters, like \"Mail on my phone\".")
        }
        Some("app-password-limit") => {
            Some("You have 40 app passwords, the most allowed. Delete one you no longer use first.")
        }
        Some("app-passwords-off") => Some("Your organisation does not allow app passwords."),
        _ => None,
    };
    let password_error = match q.error.as_deref() {
        Some("password-mismatch") => Some("The new passwords don't match."),
        Some("password-wrong") => Some("Your current password is incorrect."),
        Some("password-invalid") => Some("The new password must be 8-256 characters long."),
        Some("password-locked") => Some("Too many attempts. Try again later."),
        _ => None,
    };
    let info = match app.security_info(&s.token).await {
        Ok(info) => info,
        Err(CoreError::Unauthorized) => return to_signin(&s.tenant),
        Err(e) => return internal(&s.tenant, &e),
    };
    match app.my_credentials(&s.token).await {
        Ok(creds) => {
            let mut p = me_page(&s, info, notice);
            add_credentials(&mut p, creds, app_password_error);
            p.password_error = password_error;
            page(StatusCode::OK, &p)
        }
        Err(CoreError::Unauthorized) => to_signin(&s.tenant),
        Err(e) => internal(&s.tenant, &e),
    }
}

fn add_credentials(p: &mut MePage, c: MyCredentials, error: Option<&'static str>) {
    p.app_passwords_allowed = c.app_passwords_allowed;
    p.app_password_error = error;
    p.app_passwords = c
        .app_passwords
        .into_iter()
        .map(|a| CredentialRow {
            id: a.id.to_string(),
            name: a.name,
            created: when(a.created_at),
            last_used: a.last_used_at.map(when).unwrap_or_else(|| "Never".into()),
            detail: String::new(),
            title: String::new(),
        })
        .collect();
    p.remember_allowed = c.remember_devices_allowed;
    p.devices = c
        .remembered_devices
        .into_iter()
        .map(|d| CredentialRow {
            id: d.id.to_string(),
            name: d.user_agent.as_deref().map_or_else(|| "Unknown browser".into(), browser_name),
            title: d.user_agent.unwrap_or_default(),
            created: when(d.created_at),
            last_used: d.last_used_at.map(when).unwrap_or_else(|| "Not yet".into()),
            detail: format!(
                "{} · until {}",
                d.source_ip.map_or_else(|| "unknown IP".into(), |ip| ip.to_string()),
                when(d.expires_at)
            ),
        })
        .collect();
}

fn me_page(s: &PageSession, info: SecurityInfo, notice: Option<&'static str>) -> MePage {
    let (state, state_text) = match info.user.per_user_mfa_state {
        PerUserMfaState::Disabled => ("Disabled", "Your account does not require a second factor."),
        PerUserMfaState::Enabled => ("Enabled", "You will set up a second factor at your next sign-in."),
        PerUserMfaState::Enforced => ("Enforced", "Every sign-in needs a second factor."),
    };
    let this_session: String = s.session.id_hash.chars().take(12).collect();
    let methods = info
        .methods
        .iter()
        .map(|m| MethodRow {
            id: m.id.to_string(),
            kind: kind_name(m.kind),
            label: m.label.clone().unwrap_or_default(),
            created: when(m.created_at),
            last_used: m.last_used_at.map(when).unwrap_or_else(|| "Never".into()),
            deletable: m.kind != MethodKind::RecoveryCode,
        })
        .collect();
    let sessions = info
        .sessions
        .iter()
        .map(|v| SessionRow {
            created: when(v.created_at),
            last_seen: when(v.last_seen_at),
            ip: v.source_ip.map_or_else(|| "Unknown".into(), |ip| ip.to_string()),
            agent: v.user_agent.clone().unwrap_or_else(|| "Unknown".into()),
            current: v.id == this_session,
        })
        .collect();
    MePage {
        tenant: s.tenant.clone(),
        csrf: s.session.csrf.clone(),
        display_name: info.user.display_name.clone(),
        upn: info.user.upn.to_string(),
        state,
        state_text,
        can_regenerate: info.user.methods.iter().any(|m| *m != MethodKind::RecoveryCode),
        methods,
        totp_allowed: info.totp_allowed,
        recovery_left: info.recovery_codes_left,
        sessions,
        notice,
        app_passwords_allowed: false,
        app_passwords: Vec::new(),
        app_password_error: None,
        remember_allowed: false,
        devices: Vec::new(),
        password_error: None,
    }
}

fn kind_name(k: MethodKind) -> &'static str {
    match k {
        MethodKind::Totp => "Authenticator app",
        MethodKind::Webauthn => "Security key or passkey",
        MethodKind::Email => "Email",
        MethodKind::Sms => "Phone (text message)",
        MethodKind::RecoveryCode => "Recovery codes",
        MethodKind::TemporaryAccessPass => "Temporary Access Pass",
    }
}

#[derive(Deserialize)]
struct MethodPath {
    id: String,
}

/// `POST /t/{tenant}/me/methods/{id}/delete` (needs a fresh second factor).
async fn delete_method<S: Backend>(
    State(app): State<App<S>>,
    ClientCtx(ctx): ClientCtx,
    Path(p): Path<MethodPath>,
    SessionForm { session: s, .. }: SessionForm<CsrfOnly>,
) -> Response {
    let done = match path_id(&p.id, MethodId::parse, "method") {
        Ok(id) => app.delete_my_method(&s.token, id, &ctx).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => see_other(&url(&s.tenant, "/me?done=deleted"), &[]),
        Err(e) => PageError::me(&s, url(&s.tenant, "/me"), e).into_response(),
    }
}

/// `POST /t/{tenant}/me/recovery-codes`: ten new codes, shown once (needs a fresh second factor).
async fn new_recovery_codes<S: Backend>(
    State(app): State<App<S>>,
    ClientCtx(ctx): ClientCtx,
    SessionForm { session: s, .. }: SessionForm<CsrfOnly>,
) -> Response {
    match app.regenerate_recovery_codes(&s.token, &ctx).await {
        Ok(codes) => {
            let p = RecoveryCodesPage { tenant: s.tenant.clone(), codes, continue_to: url(&s.tenant, "/me") };
            page(StatusCode::OK, &p)
        }
        Err(e) => PageError::me(&s, url(&s.tenant, "/me"), e).into_response(),
    }
}

/// `POST /t/{tenant}/signout`: ends the session, removes the cookie.
async fn sign_out<S: Backend>(
    State(app): State<App<S>>,
    SessionForm { session: s, .. }: SessionForm<CsrfOnly>,
) -> Response {
    match app.sign_out(&s.token).await {
        Ok(()) => see_other(&url(&s.tenant, "/signin"), &[cookies::clear_session()]),
        Err(e) => internal(&s.tenant, &e),
    }
}
