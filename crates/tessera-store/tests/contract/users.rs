//! Creating, reading and deleting users: UPNs are unique per tenant case-insensitively, users
//! are found by id or by UPN in any case, and deleting a user removes what belongs to it.

use tessera_core::CoreError;
use tessera_core::access::Role;
use tessera_core::mfa::{MethodKind, PerUserMfaState};
use tessera_core::ports::Store;
use tessera_store::testing::{self, UserRows};

use crate::common::{T0, actor, envs, input};
use tessera_core::ids::UserRef;

#[tokio::test]
async fn create_user_stores_it_and_audits_it() {
    for env in envs().await {
        let b = env.b;
        let u = env.user_with("Alice.Smith@Contoso.com", &[Role::HelpdeskAdministrator], None).await;
        assert_eq!(u.upn.as_str(), "Alice.Smith@Contoso.com", "[{b}] UPN kept as typed");
        assert_eq!(u.display_name, "Alice.Smith", "[{b}] display name");
        assert_eq!(u.tenant_id, env.tenant.id, "[{b}] tenant");
        assert_eq!(u.per_user_mfa_state, PerUserMfaState::Disabled, "[{b}] new users are disabled");
        assert!(u.account_enabled, "[{b}] account enabled");
        assert!(u.methods.is_empty(), "[{b}] no methods");
        assert_eq!(u.roles, vec![Role::HelpdeskAdministrator], "[{b}] roles");
        assert_eq!(u.created_at, T0, "[{b}] created_at from the clock");

        let audit = env.audit_all().await;
        assert_eq!(audit.len(), 3, "[{b}] one more audit record");
        let rec = &audit[0];
        assert_eq!(rec.action, "user.create", "[{b}] action");
        assert_eq!(rec.actor_id, Some(env.admin.id), "[{b}] actor");
        assert_eq!(rec.actor_upn, "admin@contoso.com", "[{b}] actor upn");
        assert_eq!(
            rec.source_ip.map(|ip| ip.to_string()).as_deref(),
            Some(crate::common::SOURCE_IP),
            "[{b}] source ip"
        );
        assert_eq!(rec.target_id, Some(u.id), "[{b}] target");
        assert_eq!(rec.json().0, None, "[{b}] no before");
        let after = rec.json().1.unwrap();
        assert_eq!(after["upn"], "Alice.Smith@Contoso.com", "[{b}] after.upn");
        assert_eq!(after["roles"], serde_json::json!(["helpdeskAdministrator"]), "[{b}] after.roles");
        assert_eq!(rec.correlation_id, env.ga.correlation_id(), "[{b}] the request's correlation id");

        // A password is stored only hashed.
        let p = env.user_with("pat@contoso.com", &[], Some("a long enough password")).await;
        let cred = env.store().credential(env.tenant.id, "pat@contoso.com").await.unwrap().unwrap();
        assert_eq!(cred.user.id, p.id, "[{b}] credential user");
        assert!(cred.password_hash.unwrap().starts_with("$argon2id$"), "[{b}] hashed");
        let none = env.store().credential(env.tenant.id, "alice.smith@contoso.com").await.unwrap().unwrap();
        assert!(none.password_hash.is_none(), "[{b}] no password, no hash");
    }
}

#[tokio::test]
async fn upn_is_unique_per_tenant_case_insensitively() {
    for env in envs().await {
        let b = env.b;
        env.user("Alice@X.com").await;
        let before = env.fingerprint().await;
        for dup in ["alice@x.com", "ALICE@X.COM", "Alice@X.com", "  alice@x.com "] {
            let r = env.svc.create_user(&env.ga, input(dup, &[], None)).await;
            assert!(matches!(r, Err(CoreError::UserExists(_))), "[{b}] {dup:?}: UserExists, got {r:?}");
        }
        assert_eq!(env.fingerprint().await, before, "[{b}] nothing changed by the refused creations");

        // The same UPN in another tenant is another user.
        let (other, _, other_ga) = env.other_tenant("fabrikam").await;
        let theirs = env.svc.create_user(&other_ga, input("alice@x.com", &[], None)).await;
        let theirs = theirs.unwrap_or_else(|e| panic!("[{b}] same UPN in another tenant: {e}"));
        assert_eq!(theirs.tenant_id, other.id, "[{b}] created in fabrikam");
        let ours = env.get("alice@x.com").await.unwrap();
        assert_ne!(ours.id, theirs.id, "[{b}] two different users");
        assert_eq!(ours.upn.as_str(), "Alice@X.com", "[{b}] ours unchanged");
    }
}

#[tokio::test]
async fn users_are_found_by_id_and_by_upn_in_any_case() {
    for env in envs().await {
        let b = env.b;
        let u = env.user("Bob.Jones@Contoso.com").await;
        for how in [
            u.id.to_string(),
            "bob.jones@contoso.com".into(),
            "BOB.JONES@CONTOSO.COM".into(),
            " Bob.Jones@Contoso.com ".into(),
        ] {
            let got = env
                .svc
                .get_user(&env.ga, &UserRef::parse(&how).unwrap())
                .await
                .unwrap_or_else(|e| panic!("[{b}] get {how:?}: {e}"));
            assert_eq!(got.id, u.id, "[{b}] get {how:?}");
            assert_eq!(got.upn.as_str(), "Bob.Jones@Contoso.com", "[{b}] canonical UPN for {how:?}");
        }
        let missing = env.svc.get_user(&env.ga, &UserRef::parse("nobody@contoso.com").unwrap()).await;
        assert!(matches!(missing, Err(CoreError::NotFound(_))), "[{b}] unknown UPN: {missing:?}");
        let missing =
            env.svc.get_user(&env.ga, &UserRef::parse(&tessera_core::ids::UserId::new().to_string()).unwrap()).await;
        assert!(matches!(missing, Err(CoreError::NotFound(_))), "[{b}] unknown id: {missing:?}");
        // A malformed reference is refused where it is parsed, before any service is called.
        let bad = UserRef::parse("not a upn");
        assert!(matches!(bad, Err(CoreError::InvalidUpn(_))), "[{b}] malformed: {bad:?}");
    }
}

#[tokio::test]
async fn delete_user_cascades_and_is_audited() {
    for env in envs().await {
        let b = env.b;
        let u = env
            .user_with("carol@contoso.com", &[Role::HelpdeskAdministrator, Role::AuthenticationAdministrator], None)
            .await;
        testing::seed_method(env.store(), u.id, MethodKind::Totp).await;
        testing::seed_method(env.store(), u.id, MethodKind::Webauthn).await;
        testing::seed_app_password(env.store(), u.id, "mail").await;
        let rows = testing::user_rows(env.store(), u.id).await;
        assert_eq!(
            (rows.users, rows.role_assignments, rows.auth_methods, rows.app_passwords),
            (1, 2, 2, 1),
            "[{b}] seeded"
        );
        let kept = env.user("dave@contoso.com").await;
        testing::seed_method(env.store(), kept.id, MethodKind::Totp).await;
        let audit_before = env.audit_all().await.len();

        env.svc
            .delete_user(&env.ga, &UserRef::parse("CAROL@contoso.com").unwrap())
            .await
            .unwrap_or_else(|e| panic!("[{b}] delete: {e}"));
        assert!(env.get("carol@contoso.com").await.is_none(), "[{b}] user gone");
        assert_eq!(
            testing::user_rows(env.store(), u.id).await,
            UserRows::default(),
            "[{b}] roles, methods, app passwords cascade"
        );
        assert_eq!(testing::user_rows(env.store(), kept.id).await.auth_methods, 1, "[{b}] other users untouched");

        let audit = env.audit_all().await;
        assert_eq!(audit.len(), audit_before + 1, "[{b}] one audit record");
        assert_eq!(audit[0].action, "user.delete", "[{b}] action");
        assert_eq!(audit[0].target_id, Some(u.id), "[{b}] target");
        assert_eq!(audit[0].json().0.as_ref().unwrap()["upn"], "carol@contoso.com", "[{b}] before");
        assert_eq!(audit[0].json().1, None, "[{b}] no after");

        // The UPN is free again.
        env.user("carol@contoso.com").await;
        let again = env.svc.delete_user(&env.ga, &UserRef::parse(&u.id.to_string()).unwrap()).await;
        assert!(matches!(again, Err(CoreError::NotFound(_))), "[{b}] deleting a deleted user: {again:?}");
    }
}

#[tokio::test]
async fn nobody_deletes_themselves() {
    for env in envs().await {
        let b = env.b;
        let before = env.fingerprint().await;
        for me in ["admin@contoso.com".to_string(), env.admin.id.to_string()] {
            let r = env.svc.delete_user(&env.ga, &UserRef::parse(&me).unwrap()).await;
            assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] delete self by {me}: {r:?}");
        }
        assert_eq!(env.fingerprint().await, before, "[{b}] nothing changed");

        // Nor may a role without DeleteUser delete anyone.
        let hd = env.user_with("hd@contoso.com", &[Role::HelpdeskAdministrator], None).await;
        env.user("victim@contoso.com").await;
        let before = env.fingerprint().await;
        let r = env.svc.delete_user(&actor(&hd), &UserRef::parse("victim@contoso.com").unwrap()).await;
        assert!(matches!(r, Err(CoreError::Forbidden(_))), "[{b}] helpdesk delete: {r:?}");
        assert_eq!(env.fingerprint().await, before, "[{b}] nothing changed");
    }
}
