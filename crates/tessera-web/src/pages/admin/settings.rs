//! The MFA service settings: app passwords, trusted IP ranges, allowed verification methods,
//! remembering MFA on trusted devices. Administrators whose role may not change them see
//! them read-only. A form with a bad value saves nothing and shows the core's message next to
//! each bad field.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tessera_core::CoreError;
use tessera_core::access::{Action, TargetKind};
use tessera_core::mfa::MethodKind;
use tessera_core::settings::{MfaSettings, MfaSettingsPatch, SettingRefused, SettingsField};

use super::super::csrf::AdminForm;
use super::super::see_other;
use super::super::views::page;
use super::fields::Fields;
use super::views::{MethodOption, SettingsErrors, SettingsPage, method_label};
use super::{AdminPage, Section, admin_url, sentence};
use crate::wire::settings_field_name;
use crate::{App, Backend};

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new().route("/admin/{tenant}/settings/mfa", get(settings_page).post(save))
}

#[derive(Deserialize)]
struct Saved {
    saved: Option<String>,
}

/// The form's values, as typed.
struct Typed {
    allow_app_passwords: bool,
    trusted_ips: String,
    methods: Vec<String>,
    allow_remember: bool,
    days: String,
}

impl From<&MfaSettings> for Typed {
    fn from(s: &MfaSettings) -> Self {
        Self {
            allow_app_passwords: s.allow_app_passwords,
            trusted_ips: s.trusted_ip_ranges.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            methods: s.allowed_methods.iter().map(|m| m.as_str().to_owned()).collect(),
            allow_remember: s.allow_remember_devices,
            days: s.remember_device_days.to_string(),
        }
    }
}

fn view(admin: &AdminPage, t: Typed, errors: SettingsErrors, notice: Option<&'static str>) -> SettingsPage {
    SettingsPage {
        tenant: admin.tenant.clone(),
        chrome: admin.chrome(Section::Settings),
        editable: admin.may(Action::UpdateSettings, TargetKind::Tenant),
        allow_app_passwords: t.allow_app_passwords,
        trusted_ips: t.trusted_ips,
        methods: MethodKind::ALL
            .iter()
            .map(|m| MethodOption {
                value: m.as_str(),
                label: method_label(*m),
                checked: t.methods.iter().any(|v| v == m.as_str()),
            })
            .collect(),
        allow_remember: t.allow_remember,
        days: t.days,
        errors,
        notice,
    }
}

/// `GET /admin/{tenant}/settings/mfa[?saved=1]`.
async fn settings_page<S: Backend>(State(app): State<App<S>>, admin: AdminPage, Query(q): Query<Saved>) -> Response {
    let notice = q.saved.is_some().then_some("The service settings were saved.");
    match app.mfa_settings(&admin.actor).await {
        Ok(s) => page(StatusCode::OK, &view(&admin, Typed::from(&s), SettingsErrors::default(), notice)),
        Err(e) => admin.refused(e),
    }
}

/// `POST /admin/{tenant}/settings/mfa`: all fields at once; nothing is saved unless all are valid.
async fn save<S: Backend>(State(app): State<App<S>>, AdminForm { admin, form }: AdminForm<Fields>) -> Response {
    if !admin.may(Action::UpdateSettings, TargetKind::Tenant) {
        // The service refuses too; this also keeps a read-only role from probing the validation.
        return admin.refused(CoreError::Forbidden("your role does not allow changing the service settings".into()));
    }
    let typed = Typed {
        allow_app_passwords: form.has("allow_app_passwords"),
        trusted_ips: form.raw("trusted_ip_ranges").to_owned(),
        methods: form.all("allowed_methods").map(str::to_owned).collect(),
        allow_remember: form.has("allow_remember_devices"),
        days: form.raw("remember_device_days").trim().to_owned(),
    };
    let days = typed.days.parse::<i64>();
    let patch = MfaSettingsPatch {
        allow_app_passwords: Some(typed.allow_app_passwords),
        trusted_ip_ranges: Some(
            typed.trusted_ips.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
        ),
        allowed_methods: Some(typed.methods.clone()),
        allow_remember_devices: Some(typed.allow_remember),
        remember_device_days: days.as_ref().ok().copied(),
    };
    let result = match days {
        Ok(_) => app.update_mfa_settings(&admin.actor, patch.clone()).await,
        Err(_) => Err(CoreError::InvalidSetting(SettingRefused::predicate(
            SettingsField::RememberDeviceDays,
            format!("must be a whole number of days, 1-365, got '{}'", typed.days.escape_debug()),
        ))),
    };
    match result {
        Ok(_) => see_other(&admin_url(&admin.tenant, "/settings/mfa?saved=1"), &[]),
        Err(CoreError::InvalidSetting(refused)) => {
            let said = |r: &SettingRefused| sentence(&r.message(settings_field_name));
            let mut errors = SettingsErrors::default();
            if days.is_err() {
                errors.days.push(said(&refused));
            }
            for r in patch.field_errors() {
                match r.field {
                    SettingsField::TrustedIpRanges => errors.trusted_ips.push(said(&r)),
                    SettingsField::AllowedMethods => errors.methods.push(said(&r)),
                    SettingsField::RememberDeviceDays => errors.days.push(said(&r)),
                    SettingsField::AllowAppPasswords | SettingsField::AllowRememberDevices => {
                        errors.other.push(said(&r))
                    }
                }
            }
            if errors.is_empty() {
                errors.other.push(said(&refused));
            }
            page(StatusCode::BAD_REQUEST, &view(&admin, typed, errors, None))
        }
        Err(e) => admin.refused(e),
    }
}
