//! The admin center's reads and writes: the registration report's `GROUP BY` counts and the
//! list of users who must register but have not, a user's page (app passwords, remembered
//! devices, histories), an administrator deleting one of a user's methods, and the
//! administrator behind a browser session.

use tessera_core::CoreError;
use tessera_core::access::Role;
use tessera_core::mfa::{BulkOp, MethodKind, PerUserMfaState::*, UserSettingsOptions};
use tessera_store::testing;

use crate::common::{ADMIN_PASSWORD, PW, actor, ctx, envs, rows};
use tessera_core::ids::{MethodId, TenantSlug, UserRef};
use tessera_core::tokens::SessionToken;

#[tokio::test]
async fn registration_report_counts_states_and_methods_and_lists_who_must_register() {
    for env in envs().await {
        let b = env.b;
        let s = env.store();
        for u in ["a@contoso.com", "b@contoso.com", "c@contoso.com", "d@contoso.com", "e@contoso.com"] {
            env.user(u).await;
        }
        env.set_states(&[
            ("b@contoso.com", Enabled),
            ("c@contoso.com", Enforced),
            ("d@contoso.com", Enforced),
            ("e@contoso.com", Enabled),
        ])
        .await;
        let id = |u: &'static str| {
            let env = &env;
            async move { env.get(u).await.unwrap().id }
        };
        testing::seed_method(s, id("c@contoso.com").await, MethodKind::Totp).await;
        // Recovery codes alone are not a registration.
        testing::seed_method(s, id("d@contoso.com").await, MethodKind::RecoveryCode).await;
        let e = id("e@contoso.com").await;
        testing::seed_method(s, e, MethodKind::Totp).await;
        testing::seed_method(s, e, MethodKind::Totp).await;
        testing::seed_method(s, e, MethodKind::Webauthn).await;
        // Another tenant's users never count.
        let (_, other_admin, other) = env.other_tenant("fabrikam").await;
        env.svc.create_user(&other, crate::common::input("x@fabrikam.com", &[], None)).await.unwrap();
        testing::seed_method(s, other_admin.id, MethodKind::Totp).await;

        let r = env.svc.registration_report(&env.ga, Some(1), None).await.unwrap();
        let c = &r.counts;
        assert_eq!(c.total, 6, "[{b}] five users and the admin");
        assert_eq!((c.state(Disabled), c.state(Enabled), c.state(Enforced)), (2, 2, 2), "[{b}] {c:?}");
        assert_eq!(c.method(MethodKind::Totp), 2, "[{b}] users, not methods: e has two apps");
        assert_eq!(c.method(MethodKind::Webauthn), 1, "[{b}]");
        assert_eq!(c.method(MethodKind::RecoveryCode), 1, "[{b}]");
        assert_eq!(c.method(MethodKind::Sms), 0, "[{b}] every kind listed");
        assert_eq!(c.by_state.len(), 3, "[{b}]");
        assert_eq!(c.by_method.len(), MethodKind::ALL.len(), "[{b}]");
        assert_eq!(c.registered, 2, "[{b}] c and e");
        assert_eq!(c.required_unregistered, 2, "[{b}] b (nothing) and d (recovery codes only)");

        // The list, a page of one at a time, in UPN order.
        assert_eq!(r.unregistered.items.iter().map(|u| u.upn.as_str()).collect::<Vec<_>>(), ["b@contoso.com"]);
        let next = r.unregistered.next.expect("a second page");
        let r2 = env.svc.registration_report(&env.ga, Some(1), Some(&next)).await.unwrap();
        assert_eq!(r2.unregistered.items.iter().map(|u| u.upn.as_str()).collect::<Vec<_>>(), ["d@contoso.com"]);
        assert!(r2.unregistered.next.is_none(), "[{b}] two in all");
        assert_eq!(r2.counts, r.counts, "[{b}] the counts do not depend on the page");

        // Every administrator role may read it; a user without a role may not.
        let helpdesk = env.user_with("hd@contoso.com", &[Role::HelpdeskAdministrator], None).await;
        assert!(env.svc.registration_report(&actor(&helpdesk), None, None).await.is_ok(), "[{b}]");
        let nobody = env.get("a@contoso.com").await.unwrap();
        let refused = env.svc.registration_report(&actor(&nobody), None, None).await;
        assert!(matches!(refused, Err(CoreError::Forbidden(_))), "[{b}] {refused:?}");
    }
}

#[tokio::test]
async fn user_detail_shows_app_passwords_devices_and_histories() {
    for env in envs().await {
        let b = env.b;
        let alice = env.user("alice@contoso.com").await;
        testing::seed_app_password(env.store(), alice.id, "Outlook on the old laptop").await;
        env.set_states(&[("alice@contoso.com", Enforced)]).await;
        let revoke =
            BulkOp::ManageUserSettings(UserSettingsOptions { revoke_remembered_devices: true, ..Default::default() });
        env.svc.bulk(&env.ga, rows(revoke, &["alice@contoso.com"]), false).await.unwrap();

        let d = env.svc.user_detail(&env.ga, &UserRef::parse("alice@contoso.com").unwrap()).await.unwrap();
        assert_eq!(d.user.id, alice.id, "[{b}]");
        assert_eq!(d.app_passwords.len(), 1, "[{b}]");
        assert_eq!(d.app_passwords[0].name, "Outlook on the old laptop", "[{b}]");
        assert_eq!(d.remembered_devices_not_before, Some(env.clock.get()), "[{b}]");
        let history: Vec<&str> = d.mfa_history.as_ref().unwrap().iter().map(|r| r.action.as_str()).collect();
        assert_eq!(history, ["user.mfa.manageUserSettings", "user.mfa.setState"], "[{b}] newest first");
        let audit: Vec<&str> = d.audit.as_ref().unwrap().iter().map(|r| r.action.as_str()).collect();
        assert_eq!(audit, ["user.mfa.manageUserSettings", "user.mfa.setState", "user.create"], "[{b}]");
        assert!(d.signins.as_ref().unwrap().is_empty(), "[{b}]");

        // The admin's own page lists what they did to others too (actor or target).
        let mine = env.svc.user_detail(&env.ga, &UserRef::parse("admin@contoso.com").unwrap()).await.unwrap();
        let actions: Vec<&str> = mine.audit.as_ref().unwrap().iter().map(|r| r.action.as_str()).collect();
        assert_eq!(&actions[..3], ["user.mfa.manageUserSettings", "user.mfa.setState", "user.create"], "[{b}]");

        // A Helpdesk Administrator may not read the logs: no histories, the rest is there.
        let hd = env.user_with("hd@contoso.com", &[Role::HelpdeskAdministrator], None).await;
        let d = env.svc.user_detail(&actor(&hd), &UserRef::parse("alice@contoso.com").unwrap()).await.unwrap();
        assert!(d.mfa_history.is_none() && d.signins.is_none() && d.audit.is_none(), "[{b}]");
        assert!(d.sessions.is_none(), "[{b}] sessions are sign-in data");
        assert_eq!(d.app_passwords.len(), 1, "[{b}]");
    }
}

#[tokio::test]
async fn an_administrator_deletes_one_method_of_a_user_with_an_audit_record() {
    for env in envs().await {
        let b = env.b;
        let alice = env.user("alice@contoso.com").await;
        testing::seed_method(env.store(), alice.id, MethodKind::Totp).await;
        testing::seed_method(env.store(), alice.id, MethodKind::Webauthn).await;
        let methods =
            env.svc.user_detail(&env.ga, &UserRef::parse("alice@contoso.com").unwrap()).await.unwrap().methods;
        let totp = methods.iter().find(|m| m.kind == MethodKind::Totp).unwrap().id;

        // Roles that may not manage methods, or not of this target, change nothing.
        let policy = env.user_with("pol@contoso.com", &[Role::AuthenticationPolicyAdministrator], None).await;
        let hd = env.user_with("hd@contoso.com", &[Role::HelpdeskAdministrator], None).await;
        testing::seed_method(env.store(), env.admin.id, MethodKind::Totp).await;
        let ga_method =
            env.svc.user_detail(&env.ga, &UserRef::parse("admin@contoso.com").unwrap()).await.unwrap().methods[0].id;
        let fp = env.fingerprint().await;
        let r = env.svc.delete_user_method(&actor(&policy), &UserRef::parse("alice@contoso.com").unwrap(), totp).await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] {r:?}");
        let r = env.svc.delete_user_method(&actor(&hd), &UserRef::parse("admin@contoso.com").unwrap(), ga_method).await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] Helpdesk on a Global Administrator: {r:?}");
        for bad in ["not-a-uuid", &ga_method.to_string(), &uuid::Uuid::now_v7().to_string()] {
            // A malformed id names no method: the edge that parses it answers not found.
            let alice = UserRef::parse("alice@contoso.com").unwrap();
            let r = match MethodId::parse(bad) {
                Some(id) => env.svc.delete_user_method(&actor(&hd), &alice, id).await,
                None => Err(CoreError::NotFound("the sign-in method".into())),
            };
            assert!(matches!(r, Err(CoreError::NotFound(_))), "[{b}] {bad}: {r:?}");
        }
        assert_eq!(env.fingerprint().await, fp, "[{b}] nothing changed");

        env.svc.delete_user_method(&actor(&hd), &UserRef::parse("alice@contoso.com").unwrap(), totp).await.unwrap();
        let left = env.get("alice@contoso.com").await.unwrap().methods;
        assert_eq!(left, [MethodKind::Webauthn], "[{b}]");
        let rec = &env.audit_all().await[0];
        assert_eq!(rec.action, "user.method.delete", "[{b}]");
        assert_eq!(rec.actor_id, Some(hd.id), "[{b}]");
        assert_eq!(rec.target_id, Some(alice.id), "[{b}]");
        assert_eq!(rec.json().0.as_ref().unwrap()["kind"], "totp", "[{b}]");
    }
}

#[tokio::test]
async fn admin_session_needs_a_signed_in_administrator_of_that_tenant() {
    for env in envs().await {
        let b = env.b;
        let svc = &env.svc;
        let started =
            svc.sign_in_password("contoso", "admin@contoso.com", ADMIN_PASSWORD.into(), &ctx()).await.unwrap();
        let a = svc.admin_session(&TenantSlug::parse("contoso").unwrap(), &started.token, &ctx()).await.unwrap();
        assert_eq!(a.actor.user_id(), env.admin.id, "[{b}]");
        assert_eq!(a.actor.roles(), [Role::GlobalAdministrator], "[{b}]");
        assert_eq!(a.actor.source_ip(), ctx().source_ip, "[{b}]");
        assert_eq!(a.session.csrf, started.session.csrf, "[{b}]");
        assert_eq!(
            svc.admin_actor(&TenantSlug::parse("contoso").unwrap(), &started.token, &ctx()).await.unwrap().user_id(),
            env.admin.id
        );
        assert_eq!(svc.session_tenant(&started.token).await.unwrap().as_deref(), Some("contoso"), "[{b}]");

        // Another tenant's pages, an unknown token: no session there.
        env.other_tenant("fabrikam").await;
        for (slug, token) in [("fabrikam", started.token.expose()), ("contoso", "made-up")] {
            let r = svc.admin_session(&TenantSlug::parse(slug).unwrap(), &SessionToken::new(token), &ctx()).await;
            assert!(matches!(r, Err(CoreError::Unauthorized)), "[{b}] {slug}: {r:?}");
        }
        assert_eq!(svc.session_tenant(&SessionToken::new("made-up")).await.unwrap(), None, "[{b}]");

        // A signed-in user without a role may not.
        env.user_with("plain@contoso.com", &[], Some(PW)).await;
        let plain = svc.sign_in_password("contoso", "plain@contoso.com", PW.into(), &ctx()).await.unwrap();
        let r = svc.admin_session(&TenantSlug::parse("contoso").unwrap(), &plain.token, &ctx()).await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] {r:?}");

        // An administrator whose second factor is still due is not signed in yet.
        let hd = env.user_with("hd@contoso.com", &[Role::HelpdeskAdministrator], Some(PW)).await;
        testing::seed_method(env.store(), hd.id, MethodKind::Totp).await;
        env.set_states(&[("hd@contoso.com", Enforced)]).await;
        let half = svc.sign_in_password("contoso", "hd@contoso.com", PW.into(), &ctx()).await.unwrap();
        let r = svc.admin_session(&TenantSlug::parse("contoso").unwrap(), &half.token, &ctx()).await;
        assert!(matches!(r, Err(CoreError::MfaRequired)), "[{b}] {r:?}");
        env.set_states(&[("hd@contoso.com", Enforced)]).await;
        let reg =
            BulkOp::ManageUserSettings(UserSettingsOptions { require_reregistration: true, ..Default::default() });
        svc.bulk(&env.ga, rows(reg, &["hd@contoso.com"]), false).await.unwrap();
        let half = svc.sign_in_password("contoso", "hd@contoso.com", PW.into(), &ctx()).await.unwrap();
        let r = svc.admin_session(&TenantSlug::parse("contoso").unwrap(), &half.token, &ctx()).await;
        assert!(matches!(r, Err(CoreError::MfaRegistrationRequired)), "[{b}] {r:?}");
    }
}
