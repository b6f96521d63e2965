//! Permissions enforced through the services: the role x action x target table, and tenant
//! isolation.

use tessera_core::CoreError;
use tessera_core::access::{Action, Role, TargetKind, authorize};
use tessera_core::mfa::{BulkOp, MethodKind, PerUserMfaState, QuickStep, RowStatus, UserSettingsOptions};
use tessera_core::service::LogFilter;
use tessera_core::settings::MfaSettingsPatch;
use tessera_store::testing;

use crate::common::{actor, envs, input, rejected, rows};
use tessera_core::ids::UserRef;

const ENFORCE: BulkOp = BulkOp::QuickStep(QuickStep::Enforce);
const REREGISTER: BulkOp = BulkOp::ManageUserSettings(UserSettingsOptions {
    require_reregistration: true,
    delete_app_passwords: false,
    revoke_remembered_devices: false,
});

#[tokio::test]
async fn helpdesk_cannot_enforce() {
    for env in envs().await {
        let b = env.b;
        let hd = actor(&env.user_with("hd@contoso.com", &[Role::HelpdeskAdministrator], None).await);
        env.user("alice@contoso.com").await;
        let before = env.fingerprint().await;
        for dry_run in [false, true] {
            let r = env.svc.bulk(&hd, rows(ENFORCE, &["alice@contoso.com"]), dry_run).await;
            assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] helpdesk enforce (dry_run={dry_run}): {r:?}");
        }
        let r =
            env.svc.set_mfa_state(&hd, &UserRef::parse("alice@contoso.com").unwrap(), PerUserMfaState::Enforced).await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] helpdesk set state: {r:?}");
        // A mixed request is refused as a whole too.
        let mut mixed = rows(REREGISTER, &["alice@contoso.com"]);
        mixed.extend(rows(ENFORCE, &["alice@contoso.com"]));
        let r = env.svc.bulk(&hd, mixed, false).await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] helpdesk mixed request: {r:?}");
        // Nor create users, change settings or read the logs.
        let r = env.svc.create_user(&hd, input("new@contoso.com", &[], None)).await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] helpdesk create: {r:?}");
        let r = env
            .svc
            .update_mfa_settings(&hd, MfaSettingsPatch { allow_app_passwords: Some(true), ..Default::default() })
            .await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] helpdesk settings: {r:?}");
        let r = env.svc.audit_log(&hd, LogFilter::default()).await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] helpdesk audit: {r:?}");
        assert_eq!(env.fingerprint().await, before, "[{b}] nothing changed");
        // But it may read the directory.
        assert!(
            env.svc.get_user(&hd, &UserRef::parse("alice@contoso.com").unwrap()).await.is_ok(),
            "[{b}] helpdesk reads users"
        );
    }
}

#[tokio::test]
async fn authentication_administrator_resets_plain_users_but_not_a_global_admin() {
    for env in envs().await {
        let b = env.b;
        let aa = actor(&env.user_with("aa@contoso.com", &[Role::AuthenticationAdministrator], None).await);
        let plain = env.user("plain@contoso.com").await;
        let other_admin = env.user_with("hd@contoso.com", &[Role::HelpdeskAdministrator], None).await;
        for u in [plain.id, other_admin.id, env.admin.id] {
            testing::seed_method(env.store(), u, MethodKind::Totp).await;
        }

        // A bulk that includes a Global Administrator is rejected, and nothing is changed.
        let before = env.fingerprint().await;
        let r = env
            .svc
            .bulk(&aa, rows(REREGISTER, &["plain@contoso.com", "admin@contoso.com", "hd@contoso.com"]), false)
            .await;
        let report = rejected(b, r);
        let st: Vec<RowStatus> = report.results.iter().map(|r| r.status).collect();
        assert_eq!(st, [RowStatus::Changed, RowStatus::Forbidden, RowStatus::Forbidden], "[{b}] per-row statuses");
        assert_eq!(report.results[1].error.as_ref().map(|e| e.code), Some("forbidden"), "[{b}] forbidden code");
        assert_eq!(report.summary.failed, 2, "[{b}] two failures");
        assert_eq!(env.fingerprint().await, before, "[{b}] nothing changed");
        assert_eq!(testing::user_rows(env.store(), plain.id).await.auth_methods, 1, "[{b}] plain user's method kept");

        // The plain user alone is fine.
        let report = env.svc.bulk(&aa, rows(REREGISTER, &["plain@contoso.com"]), false).await.unwrap();
        assert_eq!(report.results[0].status, RowStatus::Changed, "[{b}] plain user reset");
        assert_eq!(testing::user_rows(env.store(), plain.id).await.auth_methods, 0, "[{b}] method removed");
        assert_eq!(env.audit_all().await[0].actor_id, Some(aa.user_id()), "[{b}] audited as the authentication admin");

        // It may not set MFA states at all.
        let r = env.svc.bulk(&aa, rows(ENFORCE, &["plain@contoso.com"]), false).await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] AA enforce: {r:?}");
    }
}

#[tokio::test]
async fn policy_and_privileged_admins_follow_the_table() {
    for env in envs().await {
        let b = env.b;
        let apa = actor(&env.user_with("apa@contoso.com", &[Role::AuthenticationPolicyAdministrator], None).await);
        let paa = actor(&env.user_with("paa@contoso.com", &[Role::PrivilegedAuthenticationAdministrator], None).await);
        env.user("plain@contoso.com").await;
        testing::seed_method(env.store(), env.admin.id, MethodKind::Totp).await;

        // The policy admin enforces plain users and admins but not a Global Administrator.
        let r = env.svc.bulk(&apa, rows(ENFORCE, &["plain@contoso.com", "paa@contoso.com"]), false).await.unwrap();
        assert_eq!(r.summary.changed, 2, "[{b}] APA enforces users and admins");
        let before = env.fingerprint().await;
        let report = rejected(
            b,
            env.svc.bulk(&apa, rows(BulkOp::SetState(PerUserMfaState::Disabled), &["admin@contoso.com"]), false).await,
        );
        assert_eq!(report.results[0].status, RowStatus::Forbidden, "[{b}] APA may not weaken a GA");
        assert_eq!(env.fingerprint().await, before, "[{b}] nothing changed");

        // The privileged authentication admin resets a Global Administrator's methods.
        let report = env.svc.bulk(&paa, rows(REREGISTER, &["admin@contoso.com"]), false).await.unwrap();
        assert_eq!(report.results[0].status, RowStatus::Changed, "[{b}] PAA resets a GA");
        assert_eq!(testing::user_rows(env.store(), env.admin.id).await.auth_methods, 0, "[{b}] GA's method removed");
    }
}

#[tokio::test]
async fn nobody_acts_on_another_tenants_users() {
    for env in envs().await {
        let b = env.b;
        let (fab, _, fab_ga) = env.other_tenant("fabrikam").await;
        let theirs = env.svc.create_user(&fab_ga, input("victim@fabrikam.com", &[], None)).await.unwrap();
        testing::seed_method(env.store(), theirs.id, MethodKind::Totp).await;
        let theirs_before = testing::user_rows(env.store(), theirs.id).await;
        let their_audit = crate::common::audit_of(b, env.store(), fab.id).await.len();
        let ours_before = env.fingerprint().await;

        // Their users are simply not found in our tenant, by UPN or by id.
        let id = theirs.id.to_string();
        for who in ["victim@fabrikam.com", id.as_str()] {
            for op in [ENFORCE, REREGISTER] {
                let report = rejected(b, env.svc.bulk(&env.ga, rows(op, &[who]), false).await);
                assert_eq!(report.results[0].status, RowStatus::NotFound, "[{b}] {who} {op:?}");
            }
            let r = env.svc.get_user(&env.ga, &UserRef::parse(who).unwrap()).await;
            assert!(matches!(r, Err(CoreError::NotFound(_))), "[{b}] get {who}: {r:?}");
            let r = env.svc.delete_user(&env.ga, &UserRef::parse(who).unwrap()).await;
            assert!(matches!(r, Err(CoreError::NotFound(_))), "[{b}] delete {who}: {r:?}");
        }
        let fab_user = env.store();
        let still = tessera_core::ports::Store::user(fab_user, fab.id, &UserRef::Id(theirs.id)).await.unwrap().unwrap();
        assert_eq!(still.per_user_mfa_state, PerUserMfaState::Disabled, "[{b}] their user unchanged");
        assert_eq!(testing::user_rows(env.store(), theirs.id).await, theirs_before, "[{b}] their rows unchanged");
        assert_eq!(
            crate::common::audit_of(b, env.store(), fab.id).await.len(),
            their_audit,
            "[{b}] their audit unchanged"
        );
        assert_eq!(env.fingerprint().await, ours_before, "[{b}] ours unchanged");

        // Our listing never shows theirs, and `authorize` refuses their tenant id outright.
        let page = env.svc.list_users(&env.ga, None, Some("victim"), None, None).await.unwrap();
        assert!(page.items.is_empty(), "[{b}] not listed");
        for action in Action::ALL {
            let r = authorize(&env.ga, fab.id, action, TargetKind::User);
            assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] authorize {action:?} in another tenant");
        }
        assert!(
            authorize(&env.ga, env.tenant.id, Action::SetMfaState, TargetKind::User).is_ok(),
            "[{b}] own tenant ok"
        );
    }
}
