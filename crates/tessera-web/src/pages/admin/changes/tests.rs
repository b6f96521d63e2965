use serde_json::json;
use tessera_core::access::Role;
use tessera_core::change::StateReason;
use tessera_core::ids::{AppPasswordId, DeviceId, MethodId};
use tessera_core::mfa::{MethodKind, PerUserMfaState};
use time::macros::datetime;

use super::*;

const ID: &str = "0190b5e2-6a4f-7c3e-9d1a-2b3c4d5e6f70";

fn said(c: Change) -> String {
    change_sentence(Some(&c))
}

#[test]
fn states_and_user_settings_read_as_sentences() {
    use PerUserMfaState::{Disabled, Enabled, Enforced};
    assert_eq!(
        said(Change::State { from: Disabled, to: Some(Enforced), reason: None }),
        "MFA state: Disabled → Enforced"
    );
    assert_eq!(
        said(Change::State { from: Enabled, to: Some(Enforced), reason: Some(StateReason::RegisteredMethod) }),
        "MFA state: Enabled → Enforced (registered a method)"
    );
    assert_eq!(said(Change::State { from: Enforced, to: None, reason: None }), "MFA state: Enforced (unchanged)");
    let side = |methods, app_passwords, devices| UserSettingsSide {
        methods,
        app_passwords,
        remembered_devices_not_before: devices,
    };
    assert_eq!(
        said(Change::UserSettings { before: side(Some(2), Some(1), None), after: side(Some(0), Some(0), None) }),
        "Registered methods: 2 → 0; App passwords: 1 → 0"
    );
    assert_eq!(
        said(Change::UserSettings {
            before: side(None, None, Some(None)),
            after: side(None, None, Some(Some(datetime!(2025-03-10 09:00:00 UTC)))),
        }),
        "Remembered devices ask for MFA again (devices remembered before 2025-03-10 09:00 UTC)"
    );
}

#[test]
fn every_other_change_reads_as_a_sentence() {
    let cases = [
        (Change::TenantCreated { slug: "contoso".into() }, "Organisation contoso created"),
        (
            Change::UserCreated(CreatedUser {
                upn: "ann@contoso.com".into(),
                display_name: Some("Ann".into()),
                account_enabled: Some(false),
                roles: vec![Role::HelpdeskAdministrator],
            }),
            "User ann@contoso.com (Ann) created, sign-in blocked, roles: Helpdesk Administrator",
        ),
        (
            Change::UserCreated(CreatedUser {
                upn: "a@b.c".into(),
                display_name: None,
                account_enabled: None,
                roles: vec![],
            }),
            "User a@b.c created",
        ),
        (
            Change::UserDeleted {
                upn: "carol@contoso.com".into(),
                display_name: "Carol".into(),
                state: PerUserMfaState::Enforced,
            },
            "User carol@contoso.com (Carol) deleted; their MFA state was Enforced",
        ),
        (
            Change::MethodRegistered { kind: MethodKind::Totp, label: Some("Phone".into()) },
            "Registered Authenticator app “Phone”",
        ),
        (
            Change::MethodDeleted { id: MethodId::parse(ID).unwrap(), method: Some((MethodKind::Totp, None)) },
            "Deleted sign-in method Authenticator app",
        ),
        (
            Change::MethodDeleted { id: MethodId::parse(ID).unwrap(), method: None },
            "Deleted a sign-in method (id 0190b5e2-6a4f-7c3e-9d1a-2b3c4d5e6f70)",
        ),
        (Change::RecoveryCodes { count: 10 }, "10 new recovery codes created"),
        (
            Change::AppPasswordCreated { id: AppPasswordId::parse(ID).unwrap(), name: "Mail".into() },
            "App password “Mail” created",
        ),
        (
            Change::AppPasswordDeleted { id: AppPasswordId::parse(ID).unwrap(), name: "Mail".into() },
            "App password “Mail” deleted",
        ),
        (
            Change::DeviceRemembered {
                id: DeviceId::parse(ID).unwrap(),
                expires_at: datetime!(2026-12-03 16:51:17 UTC),
            },
            "Device remembered until 2026-12-03 16:51 UTC",
        ),
        (
            Change::DeviceForgotten { id: DeviceId::parse(ID).unwrap() },
            "Remembered device forgotten (id 0190b5e2-6a4f-7c3e-9d1a-2b3c4d5e6f70)",
        ),
        (
            Change::PasswordChanged { remembered_devices_deleted: 2, sessions_ended: 1 },
            "Password changed; 2 remembered devices forgotten, 1 other session ended",
        ),
        (
            Change::Account(AccountChange {
                enabled: Some((true, false)),
                password_changed: true,
                remembered_devices_deleted: Some(1),
                sessions_revoked: Some(3),
            }),
            "Sign-in: allowed → blocked; New password set; 1 remembered device forgotten; 3 sessions revoked",
        ),
        (Change::SessionsRevoked { count: 1 }, "1 session revoked"),
        (
            Change::Settings {
                before: Box::new(MfaSettings::default()),
                after: Box::new(MfaSettings {
                    allow_app_passwords: true,
                    allowed_methods: vec![MethodKind::Totp],
                    remember_device_days: 30,
                    ..MfaSettings::default()
                }),
            },
            "App passwords: off → on; Verification methods: Authenticator app, Security key or passkey, \
             Recovery codes, Temporary Access Pass → Authenticator app; Days on a trusted device: 14 → 30",
        ),
        (Change::Unknown { before: None, after: Some(json!({"upn": "a@b.c"})) }, r#"none → {"upn":"a@b.c"}"#),
    ];
    for (change, sentence) in cases {
        assert_eq!(said(change), sentence);
    }
    assert_eq!(change_sentence(None), "");
}
