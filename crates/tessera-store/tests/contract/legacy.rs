//! Issue 5 through the services on each backend: LDAP-style binds (password or app password
//! by per-user state), app passwords (tenant setting, 40 per user), remembered devices ("Don't
//! ask again", restored by the admin, ended by a password reset or a disabled account) and
//! trusted IPs, each with its sign-in log record.

use tessera_core::CoreError;
use tessera_core::mfa::{BulkOp, PerUserMfaState, QuickStep, UserSettingsOptions};
use tessera_core::service::{AccountPatch, RequestCtx, Tessera};
use tessera_core::session::SessionStage;
use tessera_core::settings::MfaSettingsPatch;
use tessera_core::signin::{MfaRequiredBy, MfaSkip, SignInRecord};
use tessera_store::SqlStore;
use time::Duration;

use crate::common::{Env, PW, code, ctx, envs, registered, rows, services};
use tessera_core::ids::UserRef;
use tessera_core::tokens::SessionToken;

async fn last_signin(env: &Env) -> SignInRecord {
    let q = tessera_core::service::LogFilter { limit: Some(1), ..Default::default() };
    let page = env.svc.signin_log(&env.ga, q).await.unwrap();
    page.items.into_iter().next().expect("a sign-in record")
}

async fn settings(env: &Env, patch: MfaSettingsPatch) {
    env.svc.update_mfa_settings(&env.ga, patch).await.unwrap();
}

/// Signs in with TOTP in a browser session and returns the signed-in session's token.
async fn signed_in_with_mfa(env: &Env, svc: &Tessera<SqlStore>, upn: &str, c: &RequestCtx) -> String {
    let s = svc.sign_in_password("contoso", upn, PW.into(), c).await.unwrap();
    assert_eq!(s.session.stage, SessionStage::MfaRequired, "[{}]", env.b);
    s.token.expose().to_owned()
}

#[tokio::test]
async fn binds_follow_the_per_user_state_and_app_passwords() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        settings(&env, MfaSettingsPatch { allow_app_passwords: Some(true), ..Default::default() }).await;
        env.user_with("dora@contoso.com", &[], Some(PW)).await;
        // Disabled state: the password binds, by UPN alone.
        let bound = svc.legacy_bind(None, "dora@contoso.com", PW.into(), &ctx()).await.unwrap();
        assert_eq!((bound.credential.as_str(), bound.tenant_slug.as_str()), ("password", "contoso"), "[{b}]");
        let rec = last_signin(&env).await;
        assert_eq!((rec.client.as_str(), rec.result.as_str()), ("legacy", "success"), "[{b}]");
        assert_eq!(rec.credential.map(|c| c.as_str()), Some("password"), "[{b}]");
        // Enabled but not registered: still the password.
        svc.bulk(&env.ga, rows(BulkOp::QuickStep(QuickStep::Enable), &["dora@contoso.com"]), false).await.unwrap();
        svc.legacy_bind(Some("contoso"), "dora@contoso.com", PW.into(), &ctx()).await.unwrap();
        // Enforced before registering anything: the password no longer binds.
        env.user_with("finn@contoso.com", &[], Some(PW)).await;
        svc.bulk(&env.ga, rows(BulkOp::SetState(PerUserMfaState::Enforced), &["finn@contoso.com"]), false)
            .await
            .unwrap();
        let r = svc.legacy_bind(None, "finn@contoso.com", PW.into(), &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidCredentials)), "[{b}] enforced, unregistered: {r:?}");
        assert_eq!(last_signin(&env).await.failure_reason.map(|r| r.as_str()), Some("app_password_required"), "[{b}]");

        // Registered and enforced: the right password is refused, and the log says why.
        let (_, secret) = registered(&env, &svc, "erin@contoso.com", PerUserMfaState::Enforced).await;
        let r = svc.legacy_bind(None, "erin@contoso.com", PW.into(), &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidCredentials)), "[{b}] {r:?}");
        let rec = last_signin(&env).await;
        assert_eq!(rec.failure_reason.map(|r| r.as_str()), Some("app_password_required"), "[{b}]");
        assert_eq!(rec.mfa_required_by, MfaRequiredBy::PerUserState, "[{b}]");
        // A wrong password is just that.
        let r = svc.legacy_bind(None, "erin@contoso.com", "nope".into(), &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidCredentials)), "[{b}]");
        assert_eq!(last_signin(&env).await.failure_reason.map(|r| r.as_str()), Some("invalid_credentials"), "[{b}]");

        // An app password, created after a fresh second factor, binds; typed with capitals and
        // without spaces too.
        env.clock.advance(Duration::seconds(30));
        let s = signed_in_with_mfa(&env, &svc, "erin@contoso.com", &ctx()).await;
        let done = svc.verify_mfa(&SessionToken::new(&s), &code(&secret, &env, 0), &ctx()).await.unwrap();
        let created = svc.create_app_password(&done.token, "Mail", &ctx()).await.unwrap();
        let typed = created.secret.replace(' ', "").to_uppercase();
        let bound = svc.legacy_bind(None, "erin@contoso.com", typed.clone(), &ctx()).await.unwrap();
        assert_eq!(bound.credential, "appPassword", "[{b}]");
        let rec = last_signin(&env).await;
        assert_eq!(
            (rec.result.as_str(), rec.credential.map(|c| c.as_str())),
            ("success", Some("appPassword")),
            "[{b}]"
        );
        let listed = svc.user_app_passwords(&env.ga, &UserRef::parse("erin@contoso.com").unwrap()).await.unwrap();
        assert!(listed[0].last_used_at.is_some(), "[{b}] last used is kept");
        // Another user's app password is not yours.
        let r = svc.legacy_bind(None, "dora@contoso.com", typed.clone(), &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidCredentials)), "[{b}]");

        // The tenant turns app passwords off: existing ones stop working (and are kept).
        settings(&env, MfaSettingsPatch { allow_app_passwords: Some(false), ..Default::default() }).await;
        let r = svc.legacy_bind(None, "erin@contoso.com", typed.clone(), &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidCredentials)), "[{b}]");
        assert_eq!(
            last_signin(&env).await.failure_reason.map(|r| r.as_str()),
            Some("app_passwords_not_allowed"),
            "[{b}]"
        );
        assert_eq!(
            svc.user_app_passwords(&env.ga, &UserRef::parse("erin@contoso.com").unwrap()).await.unwrap().len(),
            1,
            "[{b}]"
        );
        settings(&env, MfaSettingsPatch { allow_app_passwords: Some(true), ..Default::default() }).await;
        svc.legacy_bind(None, "erin@contoso.com", typed.clone(), &ctx()).await.unwrap();

        // The admin deletes all app passwords: the bind fails.
        let opts = UserSettingsOptions { delete_app_passwords: true, ..Default::default() };
        svc.bulk(&env.ga, rows(BulkOp::ManageUserSettings(opts), &["erin@contoso.com"]), false).await.unwrap();
        let r = svc.legacy_bind(None, "erin@contoso.com", typed, &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidCredentials)), "[{b}]");

        // A disabled account binds with nothing.
        svc.update_account(
            &env.ga,
            &UserRef::parse("dora@contoso.com").unwrap(),
            AccountPatch { account_enabled: Some(false), password: None },
        )
        .await
        .unwrap();
        let r = svc.legacy_bind(None, "dora@contoso.com", PW.into(), &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidCredentials)), "[{b}]");
        assert_eq!(last_signin(&env).await.failure_reason.map(|r| r.as_str()), Some("account_disabled"), "[{b}]");
    }
}

#[tokio::test]
async fn binds_are_throttled_and_unknown_users_look_like_wrong_passwords() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        env.user_with("fay@contoso.com", &[], Some(PW)).await;
        let limit = svc.policy().password_per_account.max_attempts;
        for _ in 0..limit {
            let r = svc.legacy_bind(None, "fay@contoso.com", "wrong".into(), &ctx()).await;
            assert!(matches!(r, Err(CoreError::InvalidCredentials)), "[{b}] {r:?}");
        }
        let r = svc.legacy_bind(None, "fay@contoso.com", PW.into(), &ctx()).await;
        assert!(
            matches!(r, Err(CoreError::TooManyAttempts { .. })),
            "[{b}] locked even with the right password: {r:?}"
        );
        assert_eq!(last_signin(&env).await.failure_reason.map(|r| r.as_str()), Some("locked_out"), "[{b}]");
        let ghost = svc.legacy_bind(None, "ghost@contoso.com", PW.into(), &ctx()).await;
        assert!(matches!(ghost, Err(CoreError::InvalidCredentials)), "[{b}]");
        let other_tenant = svc.legacy_bind(Some("fabrikam"), "fay@contoso.com", PW.into(), &ctx()).await;
        assert!(matches!(other_tenant, Err(CoreError::InvalidCredentials)), "[{b}]");
    }
}

#[tokio::test]
async fn app_passwords_need_the_setting_a_name_and_stop_at_forty() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        env.user_with("gus@contoso.com", &[], Some(PW)).await;
        let s = svc.sign_in_password("contoso", "gus@contoso.com", PW.into(), &ctx()).await.unwrap();
        let r = svc.create_app_password(&s.token, "Mail", &ctx()).await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] off by default: {r:?}");
        settings(&env, MfaSettingsPatch { allow_app_passwords: Some(true), ..Default::default() }).await;
        let r = svc.create_app_password(&s.token, "  ", &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidAppPasswordName(_))), "[{b}]");
        for i in 0..40 {
            svc.create_app_password(&s.token, &format!("App {i}"), &ctx()).await.unwrap();
        }
        let r = svc.create_app_password(&s.token, "One too many", &ctx()).await;
        assert!(matches!(r, Err(CoreError::LimitReached(_))), "[{b}] {r:?}");
        let mine = svc.my_credentials(&s.token).await.unwrap();
        assert_eq!(mine.app_passwords.len(), 40, "[{b}]");
        let first = mine.app_passwords[0].id;
        svc.delete_my_app_password(&s.token, first, &ctx()).await.unwrap();
        let again = svc.delete_my_app_password(&s.token, first, &ctx()).await;
        assert!(matches!(again, Err(CoreError::NotFound(_))), "[{b}]");
        svc.create_app_password(&s.token, "Replacement", &ctx()).await.unwrap();
        let audit = env.audit_actions().await;
        assert_eq!(audit.iter().filter(|a| *a == "user.appPassword.create").count(), 41, "[{b}]");
        assert!(audit.iter().any(|a| a == "user.appPassword.delete"), "[{b}]");
    }
}

#[tokio::test]
async fn a_remembered_device_skips_the_prompt_until_restored_or_the_password_changes() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        settings(
            &env,
            MfaSettingsPatch {
                allow_remember_devices: Some(true),
                remember_device_days: Some(7),
                ..Default::default()
            },
        )
        .await;
        let (_, secret) = registered(&env, &svc, "hal@contoso.com", PerUserMfaState::Enforced).await;
        env.clock.advance(Duration::seconds(30));
        let s = signed_in_with_mfa(&env, &svc, "hal@contoso.com", &ctx()).await;
        let done = svc.verify_mfa(&SessionToken::new(&s), &code(&secret, &env, 0), &ctx()).await.unwrap();
        let device = svc.remember_device(&done.token, &ctx()).await.unwrap();
        assert_eq!(device.max_age, Duration::days(7), "[{b}]");
        let with_device = RequestCtx { device_tokens: vec!["junk".into(), device.token.clone()], ..ctx() };

        let again = svc.sign_in_password("contoso", "hal@contoso.com", PW.into(), &with_device).await.unwrap();
        assert_eq!(again.session.stage, SessionStage::SignedIn, "[{b}] no prompt");
        let rec = last_signin(&env).await;
        assert_eq!(rec.mfa_skipped_by, Some(MfaSkip::RememberedDevice), "[{b}]");
        assert_eq!(rec.mfa_required_by, MfaRequiredBy::PerUserState, "[{b}]");
        let listed = svc.user_remembered_devices(&env.ga, &UserRef::parse("hal@contoso.com").unwrap()).await.unwrap();
        assert_eq!(listed.len(), 1, "[{b}]");
        assert!(listed[0].last_used_at.is_some(), "[{b}]");
        // Without the cookie, or for another user, it does not count.
        let plain = svc.sign_in_password("contoso", "hal@contoso.com", PW.into(), &ctx()).await.unwrap();
        assert_eq!(plain.session.stage, SessionStage::MfaRequired, "[{b}]");

        // The admin restores MFA on all remembered devices: asked again.
        let opts = UserSettingsOptions { revoke_remembered_devices: true, ..Default::default() };
        svc.bulk(&env.ga, rows(BulkOp::ManageUserSettings(opts), &["hal@contoso.com"]), false).await.unwrap();
        let s = svc.sign_in_password("contoso", "hal@contoso.com", PW.into(), &with_device).await.unwrap();
        assert_eq!(s.session.stage, SessionStage::MfaRequired, "[{b}] restored");
        assert!(
            svc.user_remembered_devices(&env.ga, &UserRef::parse("hal@contoso.com").unwrap()).await.unwrap().is_empty(),
            "[{b}]"
        );

        // Remembered again; a new password ends it.
        env.clock.advance(Duration::seconds(30));
        let done = svc.verify_mfa(&s.token, &code(&secret, &env, 0), &ctx()).await.unwrap();
        let device = svc.remember_device(&done.token, &ctx()).await.unwrap();
        let with_device = RequestCtx { device_tokens: vec![device.token.clone()], ..ctx() };
        let ok = svc.sign_in_password("contoso", "hal@contoso.com", PW.into(), &with_device).await.unwrap();
        assert_eq!(ok.session.stage, SessionStage::SignedIn, "[{b}]");
        let new_pw = "A brand new password 2";
        svc.update_account(
            &env.ga,
            &UserRef::parse("hal@contoso.com").unwrap(),
            AccountPatch { account_enabled: None, password: Some(new_pw.into()) },
        )
        .await
        .unwrap();
        let s = svc.sign_in_password("contoso", "hal@contoso.com", new_pw.into(), &with_device).await.unwrap();
        assert_eq!(s.session.stage, SessionStage::MfaRequired, "[{b}] the password change ended it");

        // Expiry: remembered for 7 days only.
        env.clock.advance(Duration::seconds(30));
        let done = svc.verify_mfa(&s.token, &code(&secret, &env, 0), &ctx()).await.unwrap();
        let device = svc.remember_device(&done.token, &ctx()).await.unwrap();
        let with_device = RequestCtx { device_tokens: vec![device.token.clone()], ..ctx() };
        env.clock.advance(Duration::days(7));
        let s = svc.sign_in_password("contoso", "hal@contoso.com", new_pw.into(), &with_device).await.unwrap();
        assert_eq!(s.session.stage, SessionStage::MfaRequired, "[{b}] expired");
        // The tenant turning the setting off stops remembering at once.
        settings(&env, MfaSettingsPatch { allow_remember_devices: Some(false), ..Default::default() }).await;
        let r = svc.remember_device(&s.token, &ctx()).await;
        assert!(r.is_err(), "[{b}]");
    }
}

#[tokio::test]
async fn trusted_ips_skip_the_prompt_but_not_registration() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        registered(&env, &svc, "ida@contoso.com", PerUserMfaState::Enforced).await;
        env.user_with("jon@contoso.com", &[], Some(PW)).await;
        svc.bulk(&env.ga, rows(BulkOp::QuickStep(QuickStep::Enable), &["jon@contoso.com"]), false).await.unwrap();
        let ranges = vec!["198.51.100.0/24".to_owned(), "2001:db8::/32".to_owned()];
        settings(&env, MfaSettingsPatch { trusted_ip_ranges: Some(ranges), ..Default::default() }).await;
        let s = svc.sign_in_password("contoso", "ida@contoso.com", PW.into(), &ctx()).await.unwrap();
        assert_eq!(s.session.stage, SessionStage::SignedIn, "[{b}] 198.51.100.7 is trusted");
        assert_eq!(last_signin(&env).await.mfa_skipped_by, Some(MfaSkip::TrustedIp), "[{b}]");
        let v6 = RequestCtx { source_ip: Some("2001:db8::5".parse().unwrap()), ..ctx() };
        let s = svc.sign_in_password("contoso", "ida@contoso.com", PW.into(), &v6).await.unwrap();
        assert_eq!(s.session.stage, SessionStage::SignedIn, "[{b}] IPv6");
        let outside = RequestCtx { source_ip: Some("203.0.113.7".parse().unwrap()), ..ctx() };
        let s = svc.sign_in_password("contoso", "ida@contoso.com", PW.into(), &outside).await.unwrap();
        assert_eq!(s.session.stage, SessionStage::MfaRequired, "[{b}] outside");
        assert_eq!(last_signin(&env).await.mfa_skipped_by, None, "[{b}]");
        let s = svc.sign_in_password("contoso", "jon@contoso.com", PW.into(), &ctx()).await.unwrap();
        assert_eq!(s.session.stage, SessionStage::RegistrationRequired, "[{b}] registration is never skipped");
        // A trusted IP does not let a password through LDAP for a user who must use MFA.
        let r = svc.legacy_bind(None, "ida@contoso.com", PW.into(), &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidCredentials)), "[{b}]");
    }
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_and_devices_and_is_audited() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        env.user_with("kim@contoso.com", &[], Some(PW)).await;
        let s = svc.sign_in_password("contoso", "kim@contoso.com", PW.into(), &ctx()).await.unwrap();
        let empty =
            svc.update_account(&env.ga, &UserRef::parse("kim@contoso.com").unwrap(), AccountPatch::default()).await;
        assert!(matches!(empty, Err(CoreError::InvalidRequest(_))), "[{b}]");
        let me = svc
            .update_account(
                &env.ga,
                &UserRef::parse("admin@contoso.com").unwrap(),
                AccountPatch { account_enabled: Some(false), password: None },
            )
            .await;
        assert!(matches!(me, Err(CoreError::InvalidRequest(_))), "[{b}] not yourself");
        let u = svc
            .update_account(
                &env.ga,
                &UserRef::parse("kim@contoso.com").unwrap(),
                AccountPatch { account_enabled: Some(false), password: None },
            )
            .await
            .unwrap();
        assert!(!u.account_enabled, "[{b}]");
        assert!(svc.current_session(&s.token).await.unwrap().is_none(), "[{b}] session ended");
        let r = svc.sign_in_password("contoso", "kim@contoso.com", PW.into(), &ctx()).await;
        assert!(matches!(r, Err(CoreError::AccountDisabled)), "[{b}]");
        assert!(env.audit_actions().await.iter().any(|a| a == "user.account.update"), "[{b}]");
    }
}

#[tokio::test]
async fn changing_ones_password_ends_other_sessions_and_remembered_browsers() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        settings(&env, MfaSettingsPatch { allow_remember_devices: Some(true), ..Default::default() }).await;
        let (_, secret) = registered(&env, &svc, "lea@contoso.com", PerUserMfaState::Enforced).await;
        env.clock.advance(Duration::seconds(30));
        let s = signed_in_with_mfa(&env, &svc, "lea@contoso.com", &ctx()).await;
        let here = svc.verify_mfa(&SessionToken::new(&s), &code(&secret, &env, 0), &ctx()).await.unwrap();
        let device = svc.remember_device(&here.token, &ctx()).await.unwrap();
        let with_device = RequestCtx { device_tokens: vec![device.token.clone()], ..ctx() };
        let elsewhere = svc.sign_in_password("contoso", "lea@contoso.com", PW.into(), &with_device).await.unwrap();
        assert_eq!(elsewhere.session.stage, SessionStage::SignedIn, "[{b}]");

        let wrong = svc.change_my_password(&here.token, "not it".into(), "New password 3".into(), &ctx()).await;
        assert!(matches!(wrong, Err(CoreError::InvalidCredentials)), "[{b}] {wrong:?}");
        let short = svc.change_my_password(&here.token, PW.into(), "short".into(), &ctx()).await;
        assert!(matches!(short, Err(CoreError::InvalidPassword(_))), "[{b}] {short:?}");
        assert!(svc.current_session(&elsewhere.token).await.unwrap().is_some(), "[{b}] nothing changed yet");

        let new = svc.change_my_password(&here.token, PW.into(), "New password 3".into(), &ctx()).await.unwrap();
        assert_eq!(new.session.stage, SessionStage::SignedIn, "[{b}] this browser stays signed in");
        assert!(svc.current_session(&here.token).await.unwrap().is_none(), "[{b}] under a new id");
        assert!(svc.current_session(&elsewhere.token).await.unwrap().is_none(), "[{b}] the other session ended");
        assert!(
            svc.user_remembered_devices(&env.ga, &UserRef::parse("lea@contoso.com").unwrap()).await.unwrap().is_empty(),
            "[{b}]"
        );
        let old = svc.sign_in_password("contoso", "lea@contoso.com", PW.into(), &with_device).await;
        assert!(matches!(old, Err(CoreError::InvalidCredentials)), "[{b}]");
        let s =
            svc.sign_in_password("contoso", "lea@contoso.com", "New password 3".into(), &with_device).await.unwrap();
        assert_eq!(s.session.stage, SessionStage::MfaRequired, "[{b}] the remembered browser asks again");
        assert!(env.audit_actions().await.iter().any(|a| a == "user.password.change"), "[{b}]");
    }
}
