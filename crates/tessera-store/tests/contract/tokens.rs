//! API tokens: issuing for a password, authenticating with a bearer token, expiry on the
//! clock, tenant binding, and a sign-in log record for every attempt.

use tessera_core::CoreError;
use tessera_core::access::Role;
use tessera_core::mfa::{MethodKind, PerUserMfaState};
use tessera_core::service::{LogFilter, RequestCtx};
use tessera_core::signin::{MfaRequiredBy, SignInRecord};
use tessera_store::testing;
use time::Duration;

use crate::common::{ADMIN_PASSWORD, Env, envs};
use tessera_core::ids::{TenantSlug, UserRef};
use tessera_core::tokens::BearerToken;

const PW: &str = "pat's password 123";

fn ctx() -> RequestCtx {
    RequestCtx {
        source_ip: Some("198.51.100.7".parse().unwrap()),
        user_agent: Some("contract-test".into()),
        ..Default::default()
    }
}

async fn signins(env: &Env) -> Vec<SignInRecord> {
    let page = env.svc.signin_log(&env.ga, LogFilter { limit: Some(500), ..Default::default() }).await;
    page.unwrap_or_else(|e| panic!("[{}] signin log: {e}", env.b)).items
}

#[tokio::test]
async fn issue_and_authenticate_and_log_every_attempt() {
    for env in envs().await {
        let b = env.b;
        let pat = env.user_with("Pat@Contoso.com", &[Role::HelpdeskAdministrator], Some(PW)).await;

        let t = env.svc.issue_token("contoso", "PAT@contoso.com", PW.into(), None, &ctx()).await;
        let t = t.unwrap_or_else(|e| panic!("[{b}] issue: {e}"));
        assert_eq!(t.expires_in, 3600, "[{b}] one hour");
        assert!(t.access_token.len() >= 40, "[{b}] a long random token");
        assert_eq!(testing::user_rows(env.store(), pat.id).await.api_tokens, 1, "[{b}] stored (hashed)");

        let a =
            authenticate(&env, "contoso", &t.access_token).await.unwrap_or_else(|e| panic!("[{b}] authenticate: {e}"));
        assert_eq!((a.tenant_id(), a.user_id()), (env.tenant.id, pat.id), "[{b}] actor");
        assert_eq!(a.upn().as_str(), "Pat@Contoso.com", "[{b}] actor upn");
        assert_eq!(a.roles(), [Role::HelpdeskAdministrator], "[{b}] actor roles");
        assert_eq!(a.source_ip().map(|ip| ip.to_string()).as_deref(), Some("198.51.100.7"), "[{b}] source ip");
        let again = authenticate(&env, "contoso", &t.access_token).await.unwrap();
        assert_ne!(again.correlation_id(), a.correlation_id(), "[{b}] one correlation id per request");

        // Failures, each logged.
        let wrong = env.svc.issue_token("contoso", "pat@contoso.com", "wrong password".into(), None, &ctx()).await;
        assert!(matches!(wrong, Err(CoreError::InvalidCredentials)), "[{b}] wrong password: {wrong:?}");
        let unknown = env.svc.issue_token("contoso", "ghost@contoso.com", PW.into(), None, &ctx()).await;
        assert!(matches!(unknown, Err(CoreError::InvalidCredentials)), "[{b}] unknown user: {unknown:?}");
        let malformed = env.svc.issue_token("contoso", "not a upn", PW.into(), None, &ctx()).await;
        assert!(matches!(malformed, Err(CoreError::InvalidCredentials)), "[{b}] malformed UPN: {malformed:?}");
        // A user without a password never gets a token.
        env.user("nopw@contoso.com").await;
        let nopw = env.svc.issue_token("contoso", "nopw@contoso.com", "".into(), None, &ctx()).await;
        assert!(matches!(nopw, Err(CoreError::InvalidCredentials)), "[{b}] no password: {nopw:?}");
        for tenant in ["nowhere", "Not A Slug"] {
            let r = env.svc.issue_token(tenant, "pat@contoso.com", PW.into(), None, &ctx()).await;
            assert!(matches!(r, Err(CoreError::InvalidCredentials)), "[{b}] tenant {tenant:?}: {r:?}");
        }

        let log = signins(&env).await;
        let outcome: Vec<(&str, Option<&str>, &str)> =
            log.iter().map(|r| (r.upn.as_str(), r.failure_reason.map(|r| r.as_str()), r.result.as_str())).collect();
        assert_eq!(
            outcome,
            [
                ("nopw@contoso.com", Some("invalid_credentials"), "failure"),
                ("not a upn", Some("invalid_credentials"), "failure"),
                ("ghost@contoso.com", Some("invalid_credentials"), "failure"),
                ("pat@contoso.com", Some("invalid_credentials"), "failure"),
                ("pat@contoso.com", None, "success"),
            ],
            "[{b}] one record per attempt in a known tenant, newest first, UPN lower-cased"
        );
        let ok = &log[4];
        assert_eq!(ok.user_id, Some(pat.id), "[{b}] success names the user");
        assert_eq!(ok.time, env.clock.get(), "[{b}] time from the clock");
        assert_eq!(ok.source_ip.map(|ip| ip.to_string()).as_deref(), Some("198.51.100.7"), "[{b}] source ip");
        assert_eq!(ok.user_agent.as_deref(), Some("contract-test"), "[{b}] user agent");
        assert_eq!(ok.client, "api", "[{b}] client");
        assert_eq!(ok.mfa_required_by, MfaRequiredBy::None, "[{b}] no MFA required");
        assert_eq!(log[3].user_id, Some(pat.id), "[{b}] a wrong password names the user");
        assert_eq!(log[2].user_id, None, "[{b}] an unknown user has no id");

        // The sign-in log filters like the audit log (actor = UPN, action = result prefix).
        let f = LogFilter { actor: Some("PAT@contoso.com".into()), ..Default::default() };
        assert_eq!(env.svc.signin_log(&env.ga, f).await.unwrap().items.len(), 2, "[{b}] by user");
        let f = LogFilter { action: Some("succ".into()), ..Default::default() };
        assert_eq!(env.svc.signin_log(&env.ga, f).await.unwrap().items.len(), 1, "[{b}] by result");
        let f = LogFilter { limit: Some(2), ..Default::default() };
        let p1 = env.svc.signin_log(&env.ga, f.clone()).await.unwrap();
        let p2 = env.svc.signin_log(&env.ga, LogFilter { cursor: p1.next.clone(), ..f }).await.unwrap();
        assert_eq!(p2.items[0].id, log[2].id, "[{b}] sign-in paging continues where it left off");

        // Bogus bearers.
        for bogus in ["", "nope", &t.access_token[1..]] {
            let r = authenticate(&env, "contoso", bogus).await;
            assert!(matches!(r, Err(CoreError::Unauthorized)), "[{b}] bearer {bogus:?}: {r:?}");
        }
    }
}

/// Authenticates bearer `token` on tenant `slug`, both parsed as the API's edge parses them.
async fn authenticate(env: &Env, slug: &str, token: &str) -> Result<tessera_core::access::Actor, CoreError> {
    env.svc.authenticate(&TenantSlug::parse(slug).unwrap(), &BearerToken::new(token), &ctx()).await
}

#[tokio::test]
async fn tokens_expire_on_the_clock() {
    for env in envs().await {
        let b = env.b;
        let t = env.svc.issue_token("contoso", "admin@contoso.com", ADMIN_PASSWORD.into(), None, &ctx()).await.unwrap();
        env.clock.advance(Duration::minutes(59) + Duration::seconds(59));
        assert!(authenticate(&env, "contoso", &t.access_token).await.is_ok(), "[{b}] valid just before the hour");
        env.clock.advance(Duration::seconds(1));
        let r = authenticate(&env, "contoso", &t.access_token).await;
        assert!(matches!(r, Err(CoreError::Unauthorized)), "[{b}] expired at the hour: {r:?}");
        env.clock.advance(Duration::days(1));
        let r = authenticate(&env, "contoso", &t.access_token).await;
        assert!(matches!(r, Err(CoreError::Unauthorized)), "[{b}] expired later: {r:?}");
        // A new token works again.
        let t2 =
            env.svc.issue_token("contoso", "admin@contoso.com", ADMIN_PASSWORD.into(), None, &ctx()).await.unwrap();
        assert!(authenticate(&env, "contoso", &t2.access_token).await.is_ok(), "[{b}] fresh token");
    }
}

#[tokio::test]
async fn a_token_is_bound_to_its_tenant_and_user() {
    for env in envs().await {
        let b = env.b;
        env.other_tenant("fabrikam").await;
        let t = env.svc.issue_token("contoso", "admin@contoso.com", ADMIN_PASSWORD.into(), None, &ctx()).await.unwrap();
        let r = authenticate(&env, "fabrikam", &t.access_token).await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] contoso token on fabrikam: {r:?}");
        let r = authenticate(&env, "nowhere", &t.access_token).await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] on an unknown tenant: {r:?}");
        // The fabrikam admin's password does not open contoso (same UPN local part, other tenant).
        let r = env.svc.issue_token("contoso", "admin@fabrikam.com", ADMIN_PASSWORD.into(), None, &ctx()).await;
        assert!(matches!(r, Err(CoreError::InvalidCredentials)), "[{b}] fabrikam admin on contoso: {r:?}");

        // A deleted user's token stops working; a disabled account cannot sign in.
        let pat = env.user_with("pat@contoso.com", &[], Some(PW)).await;
        let tp = env.svc.issue_token("contoso", "pat@contoso.com", PW.into(), None, &ctx()).await.unwrap();
        env.svc.delete_user(&env.ga, &UserRef::parse(&pat.id.to_string()).unwrap()).await.unwrap();
        let r = authenticate(&env, "contoso", &tp.access_token).await;
        assert!(matches!(r, Err(CoreError::Unauthorized)), "[{b}] deleted user's token: {r:?}");
        let mut off = crate::common::input("off@contoso.com", &[], Some(PW));
        off.account_enabled = false;
        env.svc.create_user(&env.ga, off).await.unwrap();
        let r = env.svc.issue_token("contoso", "off@contoso.com", PW.into(), None, &ctx()).await;
        assert!(matches!(r, Err(CoreError::AccountDisabled)), "[{b}] disabled account: {r:?}");
        assert_eq!(signins(&env).await[0].failure_reason.map(|r| r.as_str()), Some("account_disabled"), "[{b}] logged");
    }
}

#[tokio::test]
async fn per_user_mfa_state_decides_the_token() {
    for env in envs().await {
        let b = env.b;
        let u = env.user_with("mfa@contoso.com", &[], Some(PW)).await;
        env.set_states(&[("mfa@contoso.com", PerUserMfaState::Enforced)]).await;
        let r = env.svc.issue_token("contoso", "mfa@contoso.com", PW.into(), None, &ctx()).await;
        assert!(matches!(r, Err(CoreError::MfaRegistrationRequired)), "[{b}] enforced, no methods: {r:?}");
        let rec = &signins(&env).await[0];
        assert_eq!(rec.failure_reason.map(|r| r.as_str()), Some("mfa_registration_required"), "[{b}] logged reason");
        assert_eq!(rec.mfa_required_by, MfaRequiredBy::PerUserState, "[{b}] required by the per-user state");
        assert_eq!(rec.result, "failure", "[{b}] a failure");
        assert_eq!(testing::user_rows(env.store(), u.id).await.api_tokens, 0, "[{b}] no token stored");

        // With a registered method it asks for the second factor instead.
        testing::seed_method(env.store(), u.id, MethodKind::Totp).await;
        let r = env.svc.issue_token("contoso", "mfa@contoso.com", PW.into(), None, &ctx()).await;
        assert!(matches!(r, Err(CoreError::MfaRequired)), "[{b}] enforced with a method: {r:?}");
        assert_eq!(signins(&env).await[0].failure_reason.map(|r| r.as_str()), Some("mfa_required"), "[{b}] logged");

        // A method the tenant does not allow does not count.
        let patch = tessera_core::settings::MfaSettingsPatch {
            allowed_methods: Some(vec!["webauthn".into()]),
            ..Default::default()
        };
        env.svc.update_mfa_settings(&env.ga, patch).await.unwrap();
        let r = env.svc.issue_token("contoso", "mfa@contoso.com", PW.into(), None, &ctx()).await;
        assert!(matches!(r, Err(CoreError::MfaRegistrationRequired)), "[{b}] only a disallowed method: {r:?}");

        env.set_states(&[("mfa@contoso.com", PerUserMfaState::Disabled)]).await;
        let r = env.svc.issue_token("contoso", "mfa@contoso.com", PW.into(), None, &ctx()).await;
        assert!(r.is_ok(), "[{b}] disabled per-user MFA signs in with the password: {r:?}");
    }
}
