//! Creating a tenant: the tenant, its first Global Administrator and two audit records, and
//! never overwriting an existing tenant.

use tessera_core::CoreError;
use tessera_core::access::Role;
use tessera_core::ids::TenantSlug;
use tessera_core::mfa::PerUserMfaState;
use tessera_core::ports::Store;

use crate::common::{ADMIN_PASSWORD, T0, envs};
use tessera_core::ids::Upn;

#[tokio::test]
async fn init_tenant_creates_tenant_global_admin_and_two_audit_records() {
    for env in envs().await {
        let b = env.b;
        let slug = TenantSlug::parse("contoso").unwrap();
        let stored = env.store().tenant_by_slug(&slug).await.unwrap().unwrap_or_else(|| panic!("[{b}] tenant stored"));
        assert_eq!(stored.id, env.tenant.id, "[{b}] tenant id");
        assert_eq!(stored.created_at, T0, "[{b}] tenant created_at from the clock");

        let admin = env.get("Admin@Contoso.com").await.unwrap_or_else(|| panic!("[{b}] admin stored"));
        assert_eq!(admin.id, env.admin.id, "[{b}] admin id");
        assert_eq!(admin.upn.as_str(), "admin@contoso.com", "[{b}] admin upn");
        assert_eq!(admin.roles, vec![Role::GlobalAdministrator], "[{b}] admin roles");
        assert_eq!(admin.per_user_mfa_state, PerUserMfaState::Disabled, "[{b}] admin state");
        assert!(admin.account_enabled, "[{b}] admin enabled");
        assert_eq!(admin.created_at, T0, "[{b}] admin created_at");
        let cred = env.store().credential(env.tenant.id, "admin@contoso.com").await.unwrap().unwrap();
        assert!(
            cred.password_hash.as_deref().is_some_and(|h| h.starts_with("$argon2id$")),
            "[{b}] admin password is an Argon2id hash"
        );

        let audit = env.audit_all().await;
        assert_eq!(audit.len(), 2, "[{b}] two audit records: {audit:?}");
        let mut actions: Vec<&str> = audit.iter().map(|r| r.action.as_str()).collect();
        actions.sort();
        assert_eq!(actions, ["tenant.create", "user.create"], "[{b}] audit actions");
        assert_eq!(audit[0].correlation_id, audit[1].correlation_id, "[{b}] one correlation id");
        for r in &audit {
            assert_eq!(r.actor_id, None, "[{b}] init is done by the system");
            assert_eq!(r.time, T0, "[{b}] audit time from the clock");
            assert_eq!(r.tenant_id, env.tenant.id, "[{b}] audit tenant");
        }
        let created = audit.iter().find(|r| r.action == "user.create").unwrap();
        assert_eq!(created.target_id, Some(admin.id), "[{b}] user.create target");
        assert_eq!(created.target_upn.as_deref(), Some("admin@contoso.com"), "[{b}] user.create target upn");
        assert_eq!(
            created.json().1.as_ref().unwrap()["roles"],
            serde_json::json!(["globalAdministrator"]),
            "[{b}] user.create after has the roles"
        );
        let tenant_rec = audit.iter().find(|r| r.action == "tenant.create").unwrap();
        assert_eq!(tenant_rec.json().1, Some(serde_json::json!({"slug": "contoso"})), "[{b}] tenant.create after");
    }
}

#[tokio::test]
async fn second_init_of_the_same_slug_fails_and_changes_nothing() {
    for env in envs().await {
        let b = env.b;
        let before = env.fingerprint().await;
        let r = env
            .svc
            .init_tenant(
                &TenantSlug::parse("contoso").unwrap(),
                &Upn::parse("intruder@contoso.com").unwrap(),
                ADMIN_PASSWORD.into(),
            )
            .await;
        assert!(matches!(r, Err(CoreError::TenantExists(ref s)) if s == "contoso"), "[{b}] TenantExists, got {r:?}");
        assert_eq!(env.fingerprint().await, before, "[{b}] nothing changed");
        assert!(env.get("intruder@contoso.com").await.is_none(), "[{b}] no intruder user");
        let slug = TenantSlug::parse("contoso").unwrap();
        assert_eq!(env.store().tenant_by_slug(&slug).await.unwrap().unwrap().id, env.tenant.id, "[{b}] same tenant");

        // A bad slug is refused before anything is written.
        let r = TenantSlug::parse("Not A Slug");
        assert!(matches!(r, Err(CoreError::InvalidTenant(_))), "[{b}] InvalidTenant, got {r:?}");
        assert_eq!(env.fingerprint().await, before, "[{b}] nothing changed after a bad slug");
    }
}

#[tokio::test]
async fn tenants_are_independent() {
    for env in envs().await {
        let b = env.b;
        let (other, other_admin, _) = env.other_tenant("fabrikam").await;
        assert_ne!(other.id, env.tenant.id, "[{b}] distinct tenant ids");
        assert_eq!(other_admin.tenant_id, other.id, "[{b}] admin belongs to its tenant");
        assert_eq!(env.audit_all().await.len(), 2, "[{b}] contoso's audit log untouched");
        let theirs = crate::common::audit_of(b, env.store(), other.id).await;
        assert_eq!(theirs.len(), 2, "[{b}] fabrikam has its own two records");
    }
}

/// Concurrent inits of one slug: exactly one wins, every other one is told the tenant exists
/// (not an internal error), on every backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inits_of_one_slug_create_one_tenant() {
    for env in envs().await {
        let b = env.b;
        let mut set = tokio::task::JoinSet::new();
        for i in 0..8 {
            let svc = env.svc.clone();
            set.spawn(async move {
                svc.init_tenant(
                    &TenantSlug::parse("race").unwrap(),
                    &Upn::parse(&format!("admin{i}@race.com")).unwrap(),
                    ADMIN_PASSWORD.into(),
                )
                .await
            });
        }
        let (mut won, mut exists) = (0, 0);
        while let Some(r) = set.join_next().await {
            match r.expect("task") {
                Ok(_) => won += 1,
                Err(CoreError::TenantExists(_)) => exists += 1,
                Err(e) => panic!("[{b}] a concurrent init failed with {e:?}"),
            }
        }
        assert_eq!((won, exists), (1, 7), "[{b}] one tenant created");
        let t = env.store().tenant_by_slug(&TenantSlug::parse("race").unwrap()).await.unwrap().unwrap();
        assert_eq!(crate::common::audit_of(b, env.store(), t.id).await.len(), 2, "[{b}] only the winner's records");
    }
}
