//! A user's page: profile, MFA status and its history, registered methods (delete one), app
//! passwords, remembered devices, sessions ("Revoke all sessions"), recent sign-ins and audit
//! records.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use tessera_core::access::{Action, TargetKind};
use tessera_core::ids::{AppPasswordId, DeviceId, MethodId, UserRef};
use tessera_core::mfa::MethodKind;
use tessera_core::service::UserDetail;

use super::super::csrf::{AdminForm, CsrfOnly};
use super::super::see_other;
use super::super::views::{MethodRow, page};
use super::fields::{enc, query_string};
use super::views::{
    AppPasswordRow, AuditRow, DeviceLine, SessionLine, SignInRow, UserPage, method_label, role_label, state_label, when,
};
use super::{AdminPage, Section, admin_url};
use crate::extract::path_id;
use crate::{App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .route("/admin/{tenant}/users/{user}", get(user_page))
        .route("/admin/{tenant}/users/{user}/methods/{method}/delete", post(delete_method))
        .route("/admin/{tenant}/users/{user}/sessions/revoke", post(revoke_sessions))
        .route("/admin/{tenant}/users/{user}/app-passwords/{id}/delete", post(delete_app_password))
        .route("/admin/{tenant}/users/{user}/devices/{id}/forget", post(forget_device))
        .route("/admin/{tenant}/users/{user}/account", post(set_account))
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
    n: Option<u64>,
}

/// `GET /admin/{tenant}/users/{user}`.
async fn user_page<S: Backend>(
    State(app): State<App<S>>,
    admin: AdminPage,
    Path((_, user)): Path<(String, String)>,
    Query(q): Query<Done>,
) -> Response {
    let notice = match q.done.as_deref() {
        Some("method-deleted") => Some("The sign-in method was deleted.".to_owned()),
        Some("app-password-deleted") => Some("The app password was deleted.".to_owned()),
        Some("device-forgotten") => Some("That browser will ask for multi-factor authentication again.".to_owned()),
        Some("account-disabled") => {
            Some("The account was disabled: its sessions, API tokens and remembered browsers ended.".to_owned())
        }
        Some("account-enabled") => Some("The account was enabled.".to_owned()),
        Some("sessions-revoked") => Some(match q.n.unwrap_or(0) {
            1 => "1 session or API token was revoked.".to_owned(),
            n => format!("{n} sessions and API tokens were revoked."),
        }),
        _ => None,
    };
    let detail = match UserRef::parse(&user) {
        Ok(user) => app.user_detail(&admin.actor, &user).await,
        Err(e) => Err(e),
    };
    match detail {
        Ok(d) => page(StatusCode::OK, &user_view(&admin, d, notice)),
        Err(e) => admin.refused(e),
    }
}

fn user_view(admin: &AdminPage, d: UserDetail, notice: Option<String>) -> UserPage {
    let u = &d.user;
    let target = TargetKind::of_roles(&u.roles);
    let id = u.id.to_string();
    let upn_key = u.upn.key();
    UserPage {
        tenant: admin.tenant.clone(),
        chrome: admin.chrome(Section::Mfa),
        name: u.display_name.clone(),
        upn: u.upn.to_string(),
        account_enabled: u.account_enabled,
        roles: u.roles.iter().map(|r| role_label(*r)).collect::<Vec<_>>().join(", "),
        created: when(u.created_at),
        state: u.per_user_mfa_state.as_str(),
        state_label: state_label(u.per_user_mfa_state),
        methods: d
            .methods
            .iter()
            .map(|m| MethodRow {
                id: m.id.to_string(),
                kind: method_label(m.kind),
                label: m.label.clone().unwrap_or_default(),
                created: when(m.created_at),
                last_used: m.last_used_at.map(when).unwrap_or_else(|| "Never".into()),
                deletable: m.kind != MethodKind::RecoveryCode,
            })
            .collect(),
        recovery_left: d.recovery_codes_left,
        app_passwords: d
            .app_passwords
            .iter()
            .map(|a| AppPasswordRow {
                id: a.id.to_string(),
                name: a.name.clone(),
                created: when(a.created_at),
                last_used: a.last_used_at.map(when).unwrap_or_else(|| "Never".into()),
            })
            .collect(),
        devices_not_before: d.remembered_devices_not_before.map(when),
        devices: d.remembered_devices.as_ref().map(|all| {
            all.iter()
                .map(|v| DeviceLine {
                    id: v.id.to_string(),
                    agent: v.user_agent.as_deref().map_or_else(|| "Unknown".into(), super::super::views::browser_name),
                    title: v.user_agent.clone().unwrap_or_default(),
                    ip: v.source_ip.map_or_else(|| "Unknown".into(), |ip| ip.to_string()),
                    created: when(v.created_at),
                    last_used: v.last_used_at.map(when).unwrap_or_else(|| "Not yet".into()),
                    expires: when(v.expires_at),
                })
                .collect()
        }),
        sessions: d.sessions.as_ref().map(|all| {
            all.iter()
                .map(|s| SessionLine {
                    created: when(s.created_at),
                    last_seen: when(s.last_seen_at),
                    expires: when(s.expires_at),
                    stage: match s.stage {
                        "signed_in" => "Signed in",
                        "mfa" => "Second factor due",
                        "register" => "Registration due",
                        _ => "Unknown",
                    },
                    ip: s.source_ip.map_or_else(|| "Unknown".into(), |ip| ip.to_string()),
                    agent: s.user_agent.clone().unwrap_or_else(|| "Unknown".into()),
                })
                .collect()
        }),
        history: d.mfa_history.as_ref().map(|h| h.iter().map(AuditRow::from).collect()),
        signins: d.signins.as_ref().map(|h| h.iter().map(SignInRow::from).collect()),
        audit: d.audit.as_ref().map(|h| h.iter().map(AuditRow::from).collect()),
        may_state: admin.may(Action::SetMfaState, target),
        may_manage: admin.may(Action::ManageMethods, target),
        may_account: admin.may(Action::DeleteUser, target) && u.id != admin.actor.user_id(),
        notice,
        audit_href: admin_url(
            &admin.tenant,
            &format!("/audit?{}", query_string([("target", upn_key.as_str(), false)])),
        ),
        signins_href: admin_url(
            &admin.tenant,
            &format!("/signins?{}", query_string([("user", upn_key.as_str(), false)])),
        ),
        id,
    }
}

/// `POST /admin/{tenant}/users/{user}/methods/{method}/delete`.
async fn delete_method<S: Backend>(
    State(app): State<App<S>>,
    Path((_, user, method)): Path<(String, String, String)>,
    AdminForm { admin, .. }: AdminForm<CsrfOnly>,
) -> Response {
    let done = match (UserRef::parse(&user), path_id(&method, MethodId::parse, "the sign-in method")) {
        (Ok(target), Ok(id)) => app.delete_user_method(&admin.actor, &target, id).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match done {
        Ok(()) => see_other(&admin_url(&admin.tenant, &format!("/users/{}?done=method-deleted", enc(&user))), &[]),
        Err(e) => admin.refused(e),
    }
}

/// `POST /admin/{tenant}/users/{user}/sessions/revoke`: "Revoke all sessions".
async fn revoke_sessions<S: Backend>(
    State(app): State<App<S>>,
    Path((_, user)): Path<(String, String)>,
    AdminForm { admin, .. }: AdminForm<CsrfOnly>,
) -> Response {
    let revoked = match UserRef::parse(&user) {
        Ok(target) => app.revoke_sessions(&admin.actor, &target).await,
        Err(e) => Err(e),
    };
    match revoked {
        Ok(n) => {
            see_other(&admin_url(&admin.tenant, &format!("/users/{}?done=sessions-revoked&n={n}", enc(&user))), &[])
        }
        Err(e) => admin.refused(e),
    }
}

/// `POST /admin/{tenant}/users/{user}/app-passwords/{id}/delete`.
async fn delete_app_password<S: Backend>(
    State(app): State<App<S>>,
    Path((_, user, id)): Path<(String, String, String)>,
    AdminForm { admin, .. }: AdminForm<CsrfOnly>,
) -> Response {
    let result = match (UserRef::parse(&user), path_id(&id, AppPasswordId::parse, "the app password")) {
        (Ok(target), Ok(id)) => app.delete_user_app_password(&admin.actor, &target, id).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match result {
        Ok(()) => done(&admin, &user, "app-password-deleted"),
        Err(e) => admin.refused(e),
    }
}

/// `POST /admin/{tenant}/users/{user}/devices/{id}/forget`.
async fn forget_device<S: Backend>(
    State(app): State<App<S>>,
    Path((_, user, id)): Path<(String, String, String)>,
    AdminForm { admin, .. }: AdminForm<CsrfOnly>,
) -> Response {
    let result = match (UserRef::parse(&user), path_id(&id, DeviceId::parse, "the remembered device")) {
        (Ok(target), Ok(id)) => app.forget_user_device(&admin.actor, &target, id).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match result {
        Ok(()) => done(&admin, &user, "device-forgotten"),
        Err(e) => admin.refused(e),
    }
}

/// `POST /admin/{tenant}/users/{user}/account` with `enabled=true|false`.
async fn set_account<S: Backend>(
    State(app): State<App<S>>,
    Path((_, user)): Path<(String, String)>,
    AdminForm { admin, form }: AdminForm<super::fields::Fields>,
) -> Response {
    let enabled = match form.raw("enabled") {
        "true" => true,
        "false" => false,
        _ => return admin.refused(tessera_core::CoreError::InvalidRequest("enabled must be true or false".into())),
    };
    let patch = tessera_core::service::AccountPatch { account_enabled: Some(enabled), password: None };
    let updated = match UserRef::parse(&user) {
        Ok(target) => app.update_account(&admin.actor, &target, patch).await,
        Err(e) => Err(e),
    };
    match updated {
        Ok(_) => done(&admin, &user, if enabled { "account-enabled" } else { "account-disabled" }),
        Err(e) => admin.refused(e),
    }
}

fn done(admin: &AdminPage, user: &str, what: &str) -> Response {
    see_other(&admin_url(&admin.tenant, &format!("/users/{}?done={what}", enc(user))), &[])
}
