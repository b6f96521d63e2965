//! An audit record's change as the audit log and a user's history show it: one plain
//! sentence, with the names the pages use ("Enabled → Enforced", "Authenticator app") and
//! readable UTC times.

use tessera_core::change::{AccountChange, Change, CreatedUser, UserSettingsSide};
use tessera_core::settings::MfaSettings;

use super::views::{method_label, role_label, state_label};
use crate::pages::views::when;

fn quoted(s: &str) -> String {
    format!("“{s}”")
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The change of an audit record as a sentence; empty when the record has none.
pub(crate) fn change_sentence(change: Option<&Change>) -> String {
    let Some(change) = change else { return String::new() };
    match change {
        Change::TenantCreated { slug } => format!("Organisation {slug} created"),
        Change::UserCreated(u) => created(u),
        Change::UserDeleted { upn, display_name, state } => {
            format!("User {upn} ({display_name}) deleted; their MFA state was {}", state_label(*state))
        }
        Change::State { from, to: Some(to), reason } => {
            let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
            format!("MFA state: {} → {}{why}", state_label(*from), state_label(*to))
        }
        Change::State { from, to: None, .. } => format!("MFA state: {} (unchanged)", state_label(*from)),
        Change::UserSettings { before, after } => user_settings(before, after),
        Change::MethodRegistered { kind, label } => match label {
            Some(l) => format!("Registered {} {}", method_label(*kind), quoted(l)),
            None => format!("Registered {}", method_label(*kind)),
        },
        Change::MethodDeleted { method: Some((kind, Some(l))), .. } => {
            format!("Deleted sign-in method {} {}", method_label(*kind), quoted(l))
        }
        Change::MethodDeleted { method: Some((kind, None)), .. } => {
            format!("Deleted sign-in method {}", method_label(*kind))
        }
        Change::MethodDeleted { id, method: None } => format!("Deleted a sign-in method (id {id})"),
        Change::RecoveryCodes { count: n } => {
            format!("{} created", count(*n, "new recovery code", "new recovery codes"))
        }
        Change::AppPasswordCreated { name, .. } => format!("App password {} created", quoted(name)),
        Change::AppPasswordDeleted { name, .. } => format!("App password {} deleted", quoted(name)),
        Change::DeviceRemembered { expires_at, .. } => {
            format!("Device remembered until {}", when(*expires_at))
        }
        Change::DeviceForgotten { id } => format!("Remembered device forgotten (id {id})"),
        Change::PasswordChanged { remembered_devices_deleted, sessions_ended } => format!(
            "Password changed; {} forgotten, {} ended",
            count(*remembered_devices_deleted, "remembered device", "remembered devices"),
            count(*sessions_ended, "other session", "other sessions"),
        ),
        Change::Account(a) => account(a),
        Change::SessionsRevoked { count: n } => format!("{} revoked", count(*n, "session", "sessions")),
        Change::Settings { before, after } => settings(before, after),
        Change::Unknown { before, after } => {
            let show = |v: &Option<serde_json::Value>| v.as_ref().map_or_else(|| "none".to_owned(), |v| v.to_string());
            format!("{} → {}", show(before), show(after))
        }
    }
}

fn created(u: &CreatedUser) -> String {
    let mut s = format!("User {}", u.upn);
    if let Some(name) = &u.display_name {
        s.push_str(&format!(" ({name})"));
    }
    s.push_str(" created");
    if u.account_enabled == Some(false) {
        s.push_str(", sign-in blocked");
    }
    if !u.roles.is_empty() {
        let roles: Vec<&str> = u.roles.iter().map(|r| role_label(*r)).collect();
        s.push_str(&format!(", roles: {}", roles.join(", ")));
    }
    s
}

/// "Registered methods: 2 → 0; App passwords: 1 → 0".
fn user_settings(before: &UserSettingsSide, after: &UserSettingsSide) -> String {
    let mut parts = Vec::new();
    if let (Some(b), Some(a)) = (before.methods, after.methods) {
        parts.push(format!("Registered methods: {b} → {a}"));
    }
    if let (Some(b), Some(a)) = (before.app_passwords, after.app_passwords) {
        parts.push(format!("App passwords: {b} → {a}"));
    }
    if let Some(t) = after.remembered_devices_not_before {
        let t = t.map_or_else(|| "now".to_owned(), when);
        parts.push(format!("Remembered devices ask for MFA again (devices remembered before {t})"));
    }
    parts.join("; ")
}

fn account(a: &AccountChange) -> String {
    let allowed = |on: bool| if on { "allowed" } else { "blocked" };
    let mut parts = Vec::new();
    if let Some((b, a)) = a.enabled {
        parts.push(if b == a {
            format!("Sign-in: {} (unchanged)", allowed(a))
        } else {
            format!("Sign-in: {} → {}", allowed(b), allowed(a))
        });
    }
    if a.password_changed {
        parts.push("New password set".to_owned());
    }
    if let Some(n) = a.remembered_devices_deleted {
        parts.push(format!("{} forgotten", count(n, "remembered device", "remembered devices")));
    }
    if let Some(n) = a.sessions_revoked {
        parts.push(format!("{} revoked", count(n, "session", "sessions")));
    }
    parts.join("; ")
}

/// The settings that changed: "App passwords: off → on; Days on a trusted device: 14 → 30".
fn settings(before: &MfaSettings, after: &MfaSettings) -> String {
    let on = |b: bool| if b { "on" } else { "off" }.to_owned();
    let list = |v: Vec<String>| if v.is_empty() { "none".to_owned() } else { v.join(", ") };
    let ranges = |s: &MfaSettings| list(s.trusted_ip_ranges.iter().map(ToString::to_string).collect());
    let methods = |s: &MfaSettings| list(s.allowed_methods.iter().map(|m| method_label(*m).to_owned()).collect());
    let mut parts = Vec::new();
    let mut field = |name: &str, b: String, a: String| {
        if b != a {
            parts.push(format!("{name}: {b} → {a}"));
        }
    };
    field("App passwords", on(before.allow_app_passwords), on(after.allow_app_passwords));
    field("Trusted IPs", ranges(before), ranges(after));
    field("Verification methods", methods(before), methods(after));
    field("Remember MFA on trusted devices", on(before.allow_remember_devices), on(after.allow_remember_devices));
    field("Days on a trusted device", before.remember_device_days.to_string(), after.remember_device_days.to_string());
    if parts.is_empty() { "Settings saved unchanged".to_owned() } else { parts.join("; ") }
}

#[cfg(test)]
mod tests;
