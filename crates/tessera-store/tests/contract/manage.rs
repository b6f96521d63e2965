//! "Manage user settings": require re-registration removes methods, delete app passwords
//! removes them, restore MFA on remembered devices sets the not-before time; counts and
//! timestamps in before/after.

use serde_json::json;
use tessera_core::CoreError;
use tessera_core::mfa::{BulkOp, MethodKind, RowStatus, UserSettingsOptions};
use tessera_store::testing;
use time::format_description::well_known::Rfc3339;

use crate::common::{envs, rows};

fn opts(require_reregistration: bool, delete_app_passwords: bool, revoke_remembered_devices: bool) -> BulkOp {
    BulkOp::ManageUserSettings(UserSettingsOptions {
        require_reregistration,
        delete_app_passwords,
        revoke_remembered_devices,
    })
}

#[tokio::test]
async fn require_reregistration_removes_methods() {
    for env in envs().await {
        let b = env.b;
        let alice = env.user("alice@contoso.com").await;
        let bob = env.user("bob@contoso.com").await;
        testing::seed_method(env.store(), alice.id, MethodKind::Totp).await;
        testing::seed_method(env.store(), alice.id, MethodKind::Webauthn).await;
        testing::seed_app_password(env.store(), alice.id, "mail").await;
        let audit_before = env.audit_all().await.len();

        let report = env
            .svc
            .bulk(&env.ga, rows(opts(true, false, false), &["alice@contoso.com", "bob@contoso.com"]), false)
            .await
            .unwrap();
        assert_eq!(report.results[0].status, RowStatus::Changed, "[{b}] alice changed");
        assert_eq!(report.results[0].json().0, Some(json!({"methods": 2})), "[{b}] alice before");
        assert_eq!(report.results[0].json().1, Some(json!({"methods": 0})), "[{b}] alice after");
        assert_eq!(report.results[1].status, RowStatus::Unchanged, "[{b}] bob had nothing to remove");
        assert_eq!(report.results[1].json().0, Some(json!({"methods": 0})), "[{b}] bob before");

        let rows_a = testing::user_rows(env.store(), alice.id).await;
        assert_eq!(rows_a.auth_methods, 0, "[{b}] alice's methods removed");
        assert_eq!(rows_a.app_passwords, 1, "[{b}] app passwords kept");
        assert!(env.get("alice@contoso.com").await.unwrap().methods.is_empty(), "[{b}] no methods listed");
        let _ = bob;

        let audit = env.audit_all().await;
        assert_eq!(audit.len(), audit_before + 1, "[{b}] one record, for alice");
        assert_eq!(audit[0].action, "user.mfa.manageUserSettings", "[{b}] action");
        assert_eq!(audit[0].target_id, Some(alice.id), "[{b}] target");
        assert_eq!(audit[0].json().0, Some(json!({"methods": 2})), "[{b}] audit before");
        assert_eq!(audit[0].json().1, Some(json!({"methods": 0})), "[{b}] audit after");
    }
}

#[tokio::test]
async fn delete_app_passwords_removes_them() {
    for env in envs().await {
        let b = env.b;
        let alice = env.user("alice@contoso.com").await;
        let carol = env.user("carol@contoso.com").await;
        for name in ["mail", "printer", "vpn"] {
            testing::seed_app_password(env.store(), alice.id, name).await;
        }
        testing::seed_app_password(env.store(), carol.id, "mail").await;
        testing::seed_method(env.store(), alice.id, MethodKind::Totp).await;

        let report =
            env.svc.bulk(&env.ga, rows(opts(false, true, false), &["alice@contoso.com"]), false).await.unwrap();
        assert_eq!(report.results[0].status, RowStatus::Changed, "[{b}] changed");
        assert_eq!(report.results[0].json().0, Some(json!({"appPasswords": 3})), "[{b}] before");
        assert_eq!(report.results[0].json().1, Some(json!({"appPasswords": 0})), "[{b}] after");
        let a = testing::user_rows(env.store(), alice.id).await;
        assert_eq!((a.app_passwords, a.auth_methods), (0, 1), "[{b}] app passwords gone, methods kept");
        assert_eq!(testing::user_rows(env.store(), carol.id).await.app_passwords, 1, "[{b}] carol's kept");

        let again = env.svc.bulk(&env.ga, rows(opts(false, true, false), &["alice@contoso.com"]), false).await.unwrap();
        assert_eq!(again.results[0].status, RowStatus::Unchanged, "[{b}] nothing left to delete");
    }
}

#[tokio::test]
async fn revoke_remembered_devices_sets_the_time() {
    for env in envs().await {
        let b = env.b;
        let alice = env.user("alice@contoso.com").await;
        assert_eq!(testing::remembered_devices_not_before(env.store(), alice.id).await, None, "[{b}] unset at first");

        let t1 = env.clock.get();
        let report =
            env.svc.bulk(&env.ga, rows(opts(false, false, true), &["alice@contoso.com"]), false).await.unwrap();
        assert_eq!(report.results[0].status, RowStatus::Changed, "[{b}] changed");
        assert_eq!(report.results[0].json().0, Some(json!({"rememberedDevicesNotBefore": null})), "[{b}] before");
        assert_eq!(
            report.results[0].json().1,
            Some(json!({"rememberedDevicesNotBefore": t1.format(&Rfc3339).unwrap()})),
            "[{b}] after"
        );
        assert_eq!(testing::remembered_devices_not_before(env.store(), alice.id).await, Some(t1), "[{b}] stored");

        env.clock.advance(time::Duration::days(2));
        let t2 = env.clock.get();
        let report =
            env.svc.bulk(&env.ga, rows(opts(false, false, true), &["alice@contoso.com"]), false).await.unwrap();
        assert_eq!(
            report.results[0].json().0,
            Some(json!({"rememberedDevicesNotBefore": t1.format(&Rfc3339).unwrap()})),
            "[{b}] before is the previous time"
        );
        assert_eq!(
            testing::remembered_devices_not_before(env.store(), alice.id).await,
            Some(t2),
            "[{b}] moved forward"
        );
        assert_eq!(env.audit_all().await[0].time, t2, "[{b}] audited at the clock's time");
    }
}

#[tokio::test]
async fn all_three_options_at_once_and_dry_run() {
    for env in envs().await {
        let b = env.b;
        let alice = env.user("alice@contoso.com").await;
        testing::seed_method(env.store(), alice.id, MethodKind::Totp).await;
        testing::seed_app_password(env.store(), alice.id, "mail").await;
        testing::seed_app_password(env.store(), alice.id, "vpn").await;
        let all = opts(true, true, true);

        let before = env.fingerprint().await;
        let dry = env.svc.bulk(&env.ga, rows(all, &["alice@contoso.com"]), true).await.unwrap();
        assert_eq!(env.fingerprint().await, before, "[{b}] dry run changed nothing");

        let report = env.svc.bulk(&env.ga, rows(all, &["alice@contoso.com"]), false).await.unwrap();
        let now = env.clock.get().format(&Rfc3339).unwrap();
        assert_eq!(
            report.results[0].json().0,
            Some(json!({"methods": 1, "appPasswords": 2, "rememberedDevicesNotBefore": null})),
            "[{b}] before counts"
        );
        assert_eq!(
            report.results[0].json().1,
            Some(json!({"methods": 0, "appPasswords": 0, "rememberedDevicesNotBefore": now})),
            "[{b}] after counts"
        );
        assert_eq!(dry.results[0].json().0, report.results[0].json().0, "[{b}] the dry run predicted before");
        assert_eq!(dry.results[0].json().1, report.results[0].json().1, "[{b}] the dry run predicted after");
        let r = testing::user_rows(env.store(), alice.id).await;
        assert_eq!(
            (r.auth_methods, r.app_passwords, r.remembered_devices_not_before),
            (0, 0, Some(env.clock.get())),
            "[{b}] stored"
        );

        let none = env.svc.bulk(&env.ga, rows(opts(false, false, false), &["alice@contoso.com"]), false).await;
        assert!(matches!(none, Err(CoreError::InvalidRequest(_))), "[{b}] no option chosen: {none:?}");
    }
}

#[tokio::test]
async fn a_rejected_manage_request_changes_nothing() {
    for env in envs().await {
        let b = env.b;
        let alice = env.user("alice@contoso.com").await;
        testing::seed_method(env.store(), alice.id, MethodKind::Totp).await;
        testing::seed_app_password(env.store(), alice.id, "mail").await;
        let before = env.fingerprint().await;
        let r = env
            .svc
            .bulk(&env.ga, rows(opts(true, true, true), &["alice@contoso.com", "ghost@contoso.com"]), false)
            .await;
        let report = crate::common::rejected(b, r);
        assert_eq!(report.results[1].status, RowStatus::NotFound, "[{b}] ghost not found");
        assert_eq!(env.fingerprint().await, before, "[{b}] nothing changed");
    }
}
