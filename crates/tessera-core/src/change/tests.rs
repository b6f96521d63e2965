use serde_json::json;
use time::macros::datetime;

use super::*;

const ID: &str = "0190b5e2-6a4f-7c3e-9d1a-2b3c4d5e6f70";

/// Each change, the action it is recorded under, and its JSON as the API has always sent it.
fn pinned() -> Vec<(AuditAction, Change, Option<Value>, Option<Value>)> {
    use AuditAction as A;
    let t = datetime!(2025-03-10 09:00:00 UTC);
    let side = |methods, app_passwords, devices| UserSettingsSide {
        methods,
        app_passwords,
        remembered_devices_not_before: devices,
    };
    let settings = MfaSettings::default();
    let changed = MfaSettings { allow_app_passwords: true, ..MfaSettings::default() };
    vec![
        (A::TenantCreate, Change::TenantCreated { slug: "contoso".into() }, None, Some(json!({"slug": "contoso"}))),
        (
            A::UserCreate,
            Change::UserCreated(CreatedUser {
                upn: "ann@contoso.com".into(),
                display_name: Some("Ann".into()),
                account_enabled: Some(true),
                roles: vec![Role::HelpdeskAdministrator],
            }),
            None,
            Some(json!({"upn": "ann@contoso.com", "displayName": "Ann", "accountEnabled": true,
                        "roles": ["helpdeskAdministrator"]})),
        ),
        (
            A::UserCreate,
            Change::UserCreated(CreatedUser {
                upn: "admin@contoso.com".into(),
                display_name: None,
                account_enabled: None,
                roles: vec![Role::GlobalAdministrator],
            }),
            None,
            Some(json!({"upn": "admin@contoso.com", "roles": ["globalAdministrator"]})),
        ),
        (
            A::UserDelete,
            Change::UserDeleted {
                upn: "carol@contoso.com".into(),
                display_name: "Carol".into(),
                state: PerUserMfaState::Enforced,
            },
            Some(json!({"upn": "carol@contoso.com", "displayName": "Carol", "perUserMfaState": "enforced"})),
            None,
        ),
        (
            A::MfaEnforce,
            Change::State { from: PerUserMfaState::Enabled, to: Some(PerUserMfaState::Enforced), reason: None },
            Some(json!("enabled")),
            Some(json!("enforced")),
        ),
        (
            A::MfaEnable,
            Change::State { from: PerUserMfaState::Enforced, to: None, reason: None },
            Some(json!("enforced")),
            None,
        ),
        (
            A::MfaEnforce,
            Change::State {
                from: PerUserMfaState::Enabled,
                to: Some(PerUserMfaState::Enforced),
                reason: Some(StateReason::RegisteredMethod),
            },
            Some(json!("enabled")),
            Some(json!({"state": "enforced", "reason": "registered a method"})),
        ),
        (
            A::MfaManageUserSettings,
            Change::UserSettings { before: side(Some(2), None, None), after: side(Some(0), None, None) },
            Some(json!({"methods": 2})),
            Some(json!({"methods": 0})),
        ),
        (
            A::MfaManageUserSettings,
            Change::UserSettings {
                before: side(Some(1), Some(3), Some(None)),
                after: side(Some(0), Some(0), Some(Some(t))),
            },
            Some(json!({"methods": 1, "appPasswords": 3, "rememberedDevicesNotBefore": null})),
            Some(json!({"methods": 0, "appPasswords": 0, "rememberedDevicesNotBefore": "2025-03-10T09:00:00Z"})),
        ),
        (
            A::MethodRegister,
            Change::MethodRegistered { kind: MethodKind::Totp, label: Some("Phone".into()) },
            None,
            Some(json!({"kind": "totp", "label": "Phone"})),
        ),
        (
            A::MethodDelete,
            Change::MethodDeleted { id: MethodId::parse(ID).unwrap(), method: None },
            Some(json!({"id": ID})),
            None,
        ),
        (
            A::MethodDelete,
            Change::MethodDeleted { id: MethodId::parse(ID).unwrap(), method: Some((MethodKind::Totp, None)) },
            Some(json!({"id": ID, "kind": "totp", "label": null})),
            None,
        ),
        (A::RecoveryCodesCreate, Change::RecoveryCodes { count: 10 }, None, Some(json!({"count": 10}))),
        (A::RecoveryCodesRegenerate, Change::RecoveryCodes { count: 10 }, None, Some(json!({"count": 10}))),
        (
            A::AppPasswordCreate,
            Change::AppPasswordCreated { id: AppPasswordId::parse(ID).unwrap(), name: "Mail".into() },
            None,
            Some(json!({"id": ID, "name": "Mail"})),
        ),
        (
            A::AppPasswordDelete,
            Change::AppPasswordDeleted { id: AppPasswordId::parse(ID).unwrap(), name: "Mail".into() },
            Some(json!({"id": ID, "name": "Mail"})),
            None,
        ),
        (
            A::RememberedDeviceCreate,
            Change::DeviceRemembered { id: DeviceId::parse(ID).unwrap(), expires_at: t },
            None,
            Some(json!({"id": ID, "expiresAt": 1_741_597_200})),
        ),
        (
            A::RememberedDeviceDelete,
            Change::DeviceForgotten { id: DeviceId::parse(ID).unwrap() },
            Some(json!({"id": ID})),
            None,
        ),
        (
            A::PasswordChange,
            Change::PasswordChanged { remembered_devices_deleted: 2, sessions_ended: 1 },
            None,
            Some(json!({"rememberedDevicesDeleted": 2, "sessionsEnded": 1})),
        ),
        (
            A::AccountUpdate,
            Change::Account(AccountChange {
                enabled: Some((true, false)),
                password_changed: false,
                remembered_devices_deleted: Some(1),
                sessions_revoked: Some(3),
            }),
            Some(json!({"accountEnabled": true})),
            Some(json!({"accountEnabled": false, "rememberedDevicesDeleted": 1, "sessionsRevoked": 3})),
        ),
        (
            A::AccountUpdate,
            Change::Account(AccountChange {
                password_changed: true,
                remembered_devices_deleted: Some(0),
                ..Default::default()
            }),
            Some(json!({})),
            Some(json!({"password": "changed", "rememberedDevicesDeleted": 0})),
        ),
        (A::SessionsRevoke, Change::SessionsRevoked { count: 4 }, None, Some(json!({"revoked": 4}))),
        (
            A::MfaSettingsUpdate,
            Change::Settings { before: Box::new(settings), after: Box::new(changed) },
            Some(json!({"allowAppPasswords": false, "trustedIpRanges": [],
                        "allowedMethods": ["totp", "webauthn", "recoveryCode", "temporaryAccessPass"],
                        "allowRememberDevices": false, "rememberDeviceDays": 14})),
            Some(json!({"allowAppPasswords": true, "trustedIpRanges": [],
                        "allowedMethods": ["totp", "webauthn", "recoveryCode", "temporaryAccessPass"],
                        "allowRememberDevices": false, "rememberDeviceDays": 14})),
        ),
    ]
}

#[test]
fn every_change_keeps_its_json_and_reads_back() {
    for (action, change, before, after) in pinned() {
        assert_eq!(change.to_json(), (before.clone(), after.clone()), "{change:?}");
        assert_eq!(Change::from_json(action, before, after), Some(change), "{action}");
    }
}

#[test]
fn every_action_has_a_pinned_change() {
    let pinned: Vec<AuditAction> = pinned().into_iter().map(|p| p.0).collect();
    for action in AuditAction::ALL {
        let tested = pinned.contains(action)
            || [AuditAction::MfaDisable, AuditAction::MfaSetState].contains(action)
                && read(*action, Some(&json!("enabled")), Some(&json!("disabled"))).is_some();
        assert!(tested, "{action} has no pinned JSON");
    }
}

#[test]
fn json_this_version_does_not_write_is_kept_as_it_is() {
    let unknown = |action, b: Option<Value>, a: Option<Value>| {
        assert_eq!(
            Change::from_json(action, b.clone(), a.clone()),
            Some(Change::Unknown { before: b.clone(), after: a.clone() }),
            "{action} {b:?} {a:?}"
        );
        assert_eq!(Change::Unknown { before: b.clone(), after: a.clone() }.to_json(), (b, a));
    };
    unknown(AuditAction::MfaEnforce, Some(json!("on")), Some(json!("enforced")));
    unknown(AuditAction::MfaManageUserSettings, Some(json!({"methods": "two"})), Some(json!({"methods": 0})));
    unknown(AuditAction::MfaManageUserSettings, Some(json!({"devices": 1})), Some(json!({"devices": 0})));
    unknown(AuditAction::MethodDelete, Some(json!({"id": ID, "note": "extra"})), None);
    unknown(AuditAction::UserCreate, None, Some(json!({"upn": "a@b.c", "roles": ["GlobalAdministrator"]})));
    // Settings written before "remember devices" existed.
    unknown(
        AuditAction::MfaSettingsUpdate,
        Some(json!({"allowAppPasswords": false, "trustedIpRanges": [], "allowedMethods": []})),
        Some(json!({"allowAppPasswords": true, "trustedIpRanges": [], "allowedMethods": []})),
    );
    assert_eq!(Change::from_json(AuditAction::TenantCreate, None, None), None);
}
