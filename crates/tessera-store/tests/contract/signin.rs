//! Sign-in through the services on each backend: registration, TOTP with replay protection
//! (also across two server instances sharing one database), recovery codes, throttling and
//! lockout under concurrent attempts, sessions, and secrets at rest.

use std::sync::Arc;

use tessera_core::CoreError;
use tessera_core::crypto::{DataKey, Keyring};
use tessera_core::mfa::{BulkOp, MethodKind, PerUserMfaState, QuickStep, UserSettingsOptions};
use tessera_core::service::Tessera;
use tessera_core::session::SessionStage;
use tessera_core::totp::{TotpSecret, base32_decode};
use time::Duration;

use crate::common::{PW, code, ctx, envs, mfa_session, registered, rows, services};
use tessera_core::ids::{TenantSlug, UserRef};
use tessera_core::tokens::BearerToken;

#[tokio::test]
async fn registration_enforces_an_enabled_user_and_is_audited() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        env.user_with("eve@contoso.com", &[], Some(PW)).await;
        svc.bulk(&env.ga, rows(BulkOp::QuickStep(QuickStep::Enable), &["eve@contoso.com"]), false).await.unwrap();
        let s = svc.sign_in_password("contoso", "eve@contoso.com", PW.into(), &ctx()).await.unwrap();
        assert_eq!(s.session.stage, SessionStage::RegistrationRequired, "[{b}] enabled + nothing registered");
        let p1 = svc.begin_totp_registration(&s.token).await.unwrap();
        let p2 = svc.begin_totp_registration(&s.token).await.unwrap();
        assert_eq!(p1.secret_base32, p2.secret_base32, "[{b}] the same secret until confirmed");
        assert!(p1.otpauth_uri.starts_with("otpauth://totp/"), "[{b}]");
        let secret = TotpSecret::from_bytes(base32_decode(&p1.secret_base32).unwrap());
        let wrong = svc.finish_totp_registration(&s.token, "000000", None, &ctx()).await;
        assert!(matches!(wrong, Err(CoreError::InvalidCode)) || code(&secret, &env, 0) == "000000", "[{b}]");
        let (done, _) = svc.finish_totp_registration(&s.token, &code(&secret, &env, 0), None, &ctx()).await.unwrap();
        assert_ne!(done.token, s.token, "[{b}] the session id changes at sign-in");
        assert!(svc.current_session(&s.token).await.unwrap().is_none(), "[{b}] the old id is dead");
        let eve = env.get("eve@contoso.com").await.unwrap();
        assert_eq!(eve.per_user_mfa_state, PerUserMfaState::Enforced, "[{b}]");
        assert_eq!(eve.methods, vec![MethodKind::Totp, MethodKind::RecoveryCode], "[{b}]");
        let audit = env.audit_actions().await;
        for a in ["user.method.register", "user.recoveryCodes.create", "user.mfa.enforce"] {
            assert!(audit.iter().any(|x| x == a), "[{b}] {a} audited: {audit:?}");
        }
    }
}

#[tokio::test]
async fn a_used_totp_step_is_refused_even_from_a_second_server() {
    for env in envs().await {
        let b = env.b;
        let svc_a = services(&env, env.store().clone());
        let svc_b = services(&env, env.db.reopen().await);
        let (_, secret) = registered(&env, &svc_a, "ann@contoso.com", PerUserMfaState::Enforced).await;
        // The registration used the current step: it cannot be replayed at sign-in.
        let s = mfa_session(&svc_a, "ann@contoso.com").await;
        let r = svc_a.verify_mfa(&s.token, &code(&secret, &env, 0), &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidCode)), "[{b}] registration code replayed: {r:?}");
        env.clock.advance(Duration::seconds(30));
        let fresh = code(&secret, &env, 0);
        let ok = svc_a.verify_mfa(&s.token, &fresh, &ctx()).await.unwrap();
        assert_eq!(ok.session.stage, SessionStage::SignedIn, "[{b}]");
        // The same code through the other server instance (its own pool) is refused.
        let s2 = mfa_session(&svc_b, "ann@contoso.com").await;
        let r = svc_b.verify_mfa(&s2.token, &fresh, &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidCode)), "[{b}] replay on the second server: {r:?}");
        // One step of skew either side is accepted.
        env.clock.advance(Duration::seconds(60));
        let behind = code(&secret, &env, -1);
        svc_b.verify_mfa(&s2.token, &behind, &ctx()).await.unwrap_or_else(|e| panic!("[{b}] -1 step: {e}"));
        let s3 = mfa_session(&svc_a, "ann@contoso.com").await;
        let two_ahead = code(&secret, &env, 2);
        assert!(svc_a.verify_mfa(&s3.token, &two_ahead, &ctx()).await.is_err(), "[{b}] +2 steps refused");
        // The API token endpoint takes the same codes.
        let r = svc_a.issue_token("contoso", "ann@contoso.com", PW.into(), None, &ctx()).await;
        assert!(matches!(r, Err(CoreError::MfaRequired)), "[{b}] {r:?}");
        let ahead = code(&secret, &env, 1);
        svc_a.issue_token("contoso", "ann@contoso.com", PW.into(), Some(ahead.clone()), &ctx()).await.unwrap();
        let r = svc_b.issue_token("contoso", "ann@contoso.com", PW.into(), Some(ahead), &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidCode)), "[{b}] API replay: {r:?}");
    }
}

#[tokio::test]
async fn fifty_concurrent_wrong_codes_never_pass_the_limit() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        let (_, secret) = registered(&env, &svc, "bob@contoso.com", PerUserMfaState::Enforced).await;
        let s = mfa_session(&svc, "bob@contoso.com").await;
        let right = code(&secret, &env, 1);
        let wrong = if right == "111111" { "222222" } else { "111111" };
        let attempts = (0..50).map(|_| {
            let svc = svc.clone();
            let token = s.token.clone();
            tokio::spawn(async move { svc.verify_mfa(&token, wrong, &ctx()).await })
        });
        let (mut invalid, mut limited) = (0, 0);
        for a in attempts.collect::<Vec<_>>() {
            match a.await.unwrap() {
                Err(CoreError::InvalidCode) => invalid += 1,
                Err(CoreError::TooManyAttempts { retry_after_secs }) => {
                    assert!(retry_after_secs > 0, "[{b}]");
                    limited += 1;
                }
                other => panic!("[{b}] unexpected {other:?}"),
            }
        }
        let limit = svc.policy().code_per_account.max_attempts;
        assert_eq!((invalid, limited), (limit as usize, 50 - limit as usize), "[{b}]");
        // Locked: even the right code is refused now...
        let r = svc.verify_mfa(&s.token, &right, &ctx()).await;
        assert!(matches!(r, Err(CoreError::TooManyAttempts { .. })), "[{b}] {r:?}");
        // ...until the window has passed.
        env.clock.advance(svc.policy().code_per_account.window);
        let s = mfa_session(&svc, "bob@contoso.com").await;
        svc.verify_mfa(&s.token, &code(&secret, &env, 0), &ctx()).await.unwrap_or_else(|e| panic!("[{b}] {e}"));
        let log = env.signin_reasons().await;
        assert!(log.iter().any(|r| r == "locked_out"), "[{b}] lockouts are in the sign-in log: {log:?}");
    }
}

#[tokio::test]
async fn password_guessing_locks_known_and_unknown_accounts_alike() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        env.user_with("carl@contoso.com", &[], Some(PW)).await;
        let limit = svc.policy().password_per_account.max_attempts as usize;
        for upn in ["carl@contoso.com", "ghost@contoso.com"] {
            let tries = (0..limit + 5).map(|_| {
                let svc = svc.clone();
                tokio::spawn(async move { svc.sign_in_password("contoso", upn, "wrong guess".into(), &ctx()).await })
            });
            let mut outcomes = Vec::new();
            for t in tries.collect::<Vec<_>>() {
                outcomes.push(match t.await.unwrap() {
                    Err(CoreError::InvalidCredentials) => "invalid",
                    Err(CoreError::TooManyAttempts { .. }) => "locked",
                    other => panic!("[{b}] {upn}: {other:?}"),
                });
            }
            assert_eq!(outcomes.iter().filter(|o| **o == "invalid").count(), limit, "[{b}] {upn}");
            assert_eq!(outcomes.iter().filter(|o| **o == "locked").count(), 5, "[{b}] {upn}");
        }
        let r = svc.sign_in_password("contoso", "carl@contoso.com", PW.into(), &ctx()).await;
        assert!(matches!(r, Err(CoreError::TooManyAttempts { .. })), "[{b}] the right password waits too: {r:?}");
        env.clock.advance(svc.policy().password_per_account.window);
        svc.sign_in_password("contoso", "carl@contoso.com", PW.into(), &ctx()).await.unwrap();
    }
}

#[tokio::test]
async fn recovery_codes_work_once() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        let user = env.user_with("rita@contoso.com", &[], Some(PW)).await;
        svc.bulk(&env.ga, rows(BulkOp::QuickStep(QuickStep::Enforce), &["rita@contoso.com"]), false).await.unwrap();
        let s = svc.sign_in_password("contoso", "rita@contoso.com", PW.into(), &ctx()).await.unwrap();
        let p = svc.begin_totp_registration(&s.token).await.unwrap();
        let secret = TotpSecret::from_bytes(base32_decode(&p.secret_base32).unwrap());
        let (_, codes) = svc.finish_totp_registration(&s.token, &code(&secret, &env, 0), None, &ctx()).await.unwrap();
        let s = mfa_session(&svc, "rita@contoso.com").await;
        let typed = codes[3].to_lowercase().replace('-', " ");
        let ok = svc.verify_mfa(&s.token, &typed, &ctx()).await.unwrap();
        assert_eq!(ok.session.mfa_method, Some(MethodKind::RecoveryCode), "[{b}]");
        let s = mfa_session(&svc, "rita@contoso.com").await;
        assert!(matches!(svc.verify_mfa(&s.token, &codes[3], &ctx()).await, Err(CoreError::InvalidCode)), "[{b}]");
        let info = svc.security_info(&ok.token).await.unwrap();
        assert_eq!(info.recovery_codes_left, 9, "[{b}]");
        // New codes need a fresh second factor: the recovery-code sign-in just gave one.
        let new = svc.regenerate_recovery_codes(&ok.token, &ctx()).await.unwrap();
        assert_eq!(new.len(), 10, "[{b}]");
        env.clock.advance(svc.policy().fresh_mfa + Duration::seconds(1));
        let r = svc.regenerate_recovery_codes(&ok.token, &ctx()).await;
        assert!(matches!(r, Err(CoreError::FreshMfaRequired)), "[{b}] {r:?}");
        assert_eq!(user.methods, vec![], "[{b}]");
    }
}

#[tokio::test]
async fn a_reset_user_registers_again_and_sessions_end_when_told() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        registered(&env, &svc, "rex@contoso.com", PerUserMfaState::Enforced).await;
        let reset = UserSettingsOptions { require_reregistration: true, ..Default::default() };
        svc.bulk(&env.ga, rows(BulkOp::ManageUserSettings(reset), &["rex@contoso.com"]), false).await.unwrap();
        let s = svc.sign_in_password("contoso", "rex@contoso.com", PW.into(), &ctx()).await.unwrap();
        assert_eq!(s.session.stage, SessionStage::RegistrationRequired, "[{b}] sent through registration again");
        let rex = env.get("rex@contoso.com").await.unwrap();
        assert!(rex.methods.is_empty(), "[{b}] methods and recovery codes are gone");

        // A disabled-state user signs in with the password only; sessions time out and can be revoked.
        env.user_with("sam@contoso.com", &[], Some(PW)).await;
        let s = svc.sign_in_password("contoso", "sam@contoso.com", PW.into(), &ctx()).await.unwrap();
        assert_eq!(s.session.stage, SessionStage::SignedIn, "[{b}]");
        assert!(
            svc.session_in_tenant(&TenantSlug::parse("contoso").unwrap(), &s.token).await.unwrap().is_some(),
            "[{b}]"
        );
        assert!(
            svc.session_in_tenant(&TenantSlug::parse("fabrikam").unwrap(), &s.token).await.unwrap().is_none(),
            "[{b}] not in another tenant"
        );
        env.clock.advance(svc.policy().session_idle - Duration::minutes(5));
        assert!(svc.current_session(&s.token).await.unwrap().is_some(), "[{b}] still active");
        env.clock.advance(svc.policy().session_idle);
        assert!(svc.current_session(&s.token).await.unwrap().is_none(), "[{b}] idle timeout");
        let s = svc.sign_in_password("contoso", "sam@contoso.com", PW.into(), &ctx()).await.unwrap();
        let t = svc.issue_token("contoso", "sam@contoso.com", PW.into(), None, &ctx()).await.unwrap();
        assert_eq!(
            svc.user_sessions(&env.ga, &UserRef::parse("sam@contoso.com").unwrap()).await.unwrap().len(),
            1,
            "[{b}]"
        );
        let n = svc.revoke_sessions(&env.ga, &UserRef::parse("sam@contoso.com").unwrap()).await.unwrap();
        assert_eq!(n, 2, "[{b}] the browser session and the API token");
        assert!(svc.current_session(&s.token).await.unwrap().is_none(), "[{b}]");
        let r =
            svc.authenticate(&TenantSlug::parse("contoso").unwrap(), &BearerToken::new(&t.access_token), &ctx()).await;
        assert!(matches!(r, Err(CoreError::Unauthorized)), "[{b}] {r:?}");
        svc.sign_out(&s.token).await.unwrap();
    }
}

#[tokio::test]
async fn totp_secrets_are_encrypted_at_rest_and_survive_key_rotation() {
    for env in envs().await {
        let b = env.b;
        let svc = services(&env, env.store().clone());
        let (user, secret) = registered(&env, &svc, "kim@contoso.com", PerUserMfaState::Enforced).await;
        let stored = tessera_store::testing::raw_secrets(env.store(), user.id).await;
        assert_eq!(stored.len(), 1, "[{b}]");
        assert!(!stored[0].windows(secret.as_bytes().len()).any(|w| w == secret.as_bytes()), "[{b}] not in clear");
        let b32 = secret.base32();
        assert!(!String::from_utf8_lossy(&stored[0]).contains(&b32), "[{b}] not in base32 either");

        let new_key = [9u8; 32];
        let rotated = Arc::new(Keyring::new(
            DataKey::from_bytes(&new_key).unwrap(),
            vec![DataKey::from_bytes(&[7u8; 32]).unwrap()],
        ));
        let svc2 = Tessera::new(env.store().clone(), env.clock.clone()).with_keyring(rotated);
        assert_eq!(svc2.rekey_secrets().await.unwrap(), (1, 1), "[{b}]");
        assert_eq!(svc2.rekey_secrets().await.unwrap(), (1, 0), "[{b}] idempotent");
        let only_new = Arc::new(Keyring::new(DataKey::from_bytes(&new_key).unwrap(), vec![]));
        let svc3 = Tessera::new(env.store().clone(), env.clock.clone()).with_keyring(only_new);
        env.clock.advance(Duration::seconds(30));
        let s = mfa_session(&svc3, "kim@contoso.com").await;
        svc3.verify_mfa(&s.token, &code(&secret, &env, 0), &ctx()).await.unwrap_or_else(|e| panic!("[{b}] {e}"));
    }
}
