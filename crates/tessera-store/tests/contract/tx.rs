//! Storage properties through the `Store`/`StoreTx` ports directly: rollback on drop,
//! conflicts, snapshots, time precision.

use std::time::Duration as StdDuration;

use tessera_core::access::Role;
use tessera_core::audit::AuditRecord;
use tessera_core::change::Change;
use tessera_core::error::StoreError;
use tessera_core::ids::{AuditId, CorrelationId, DisplayName, TenantId, TenantSlug, Upn, UserId, UserRef};
use tessera_core::mfa::{MethodKind, PerUserMfaState};
use tessera_core::ports::{Store, StoreTx};
use tessera_core::user::{NewUser, Tenant};
use tessera_store::testing;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::common::{audit_of, envs};

fn new_user(tenant: TenantId, upn: &str, roles: Vec<Role>) -> NewUser {
    NewUser {
        id: UserId::new(),
        tenant_id: tenant,
        upn: Upn::parse(upn).unwrap(),
        display_name: DisplayName::parse("Test").unwrap(),
        password_hash: None,
        account_enabled: true,
        roles,
        created_at: datetime!(2025-03-10 09:00:00.123456 UTC),
    }
}

fn audit(tenant: TenantId) -> AuditRecord {
    AuditRecord {
        id: AuditId::new(),
        tenant_id: tenant,
        time: OffsetDateTime::now_utc(),
        actor_id: None,
        actor_upn: "test".into(),
        source_ip: None,
        action: "settings.mfa.update".parse().unwrap(),
        target_id: None,
        target_upn: None,
        change: Some(Change::Unknown { before: None, after: Some(serde_json::json!({"x": 1})) }),
        correlation_id: CorrelationId::new(),
    }
}

#[tokio::test]
async fn a_dropped_transaction_persists_nothing() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let before = env.fingerprint().await;
        let slug = TenantSlug::parse("rolled-back").unwrap();
        let tenant = Tenant { id: TenantId::new(), slug: slug.clone(), created_at: OffsetDateTime::now_utc() };
        let alice = env.get("admin@contoso.com").await.unwrap();
        {
            let mut tx = store.begin().await.unwrap_or_else(|e| panic!("[{b}] begin: {e}"));
            tx.insert_tenant(&tenant).await.unwrap();
            tx.insert_users(&[new_user(tenant.id, "ghost@rolled-back.com", vec![])]).await.unwrap();
            tx.insert_users(&[new_user(env.tenant.id, "ghost@contoso.com", vec![Role::HelpdeskAdministrator])])
                .await
                .unwrap();
            tx.set_mfa_state(&[alice.id], PerUserMfaState::Enforced).await.unwrap();
            tx.insert_audit(&[audit(env.tenant.id)]).await.unwrap();
            tx.put_settings(
                env.tenant.id,
                &tessera_core::settings::MfaSettings { remember_device_days: 99, ..Default::default() },
            )
            .await
            .unwrap();
            // Visible inside the transaction...
            assert!(tx.tenant_by_slug(&slug).await.unwrap().is_some(), "[{b}] visible inside the tx");
            // ...dropped here without commit.
        }
        assert!(store.tenant_by_slug(&slug).await.unwrap().is_none(), "[{b}] tenant not persisted");
        assert_eq!(env.fingerprint().await, before, "[{b}] nothing persisted");

        // The write lock is released: the next writer gets in at once, not after the busy timeout.
        let started = std::time::Instant::now();
        let next = tokio::time::timeout(StdDuration::from_secs(5), async {
            let mut tx = store.begin().await?;
            tx.insert_audit(&[audit(env.tenant.id)]).await?;
            tx.commit().await
        })
        .await;
        assert!(matches!(next, Ok(Ok(()))), "[{b}] the next transaction commits: {next:?}");
        assert!(
            started.elapsed() < StdDuration::from_secs(2),
            "[{b}] without waiting on a lock: {:?}",
            started.elapsed()
        );
        assert_eq!(audit_of(b, store, env.tenant.id).await.len(), 3, "[{b}] only the committed record added");
    }
}

#[tokio::test]
async fn a_committed_transaction_persists_everything() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let slug = TenantSlug::parse("committed").unwrap();
        let tenant =
            Tenant { id: TenantId::new(), slug: slug.clone(), created_at: datetime!(2025-03-10 09:00:00.654321 UTC) };
        let u = new_user(
            tenant.id,
            "Zoe@Committed.com",
            vec![Role::AuthenticationAdministrator, Role::HelpdeskAdministrator],
        );
        let mut tx = store.begin().await.unwrap();
        tx.insert_tenant(&tenant).await.unwrap();
        tx.insert_users(std::slice::from_ref(&u)).await.unwrap();
        tx.commit().await.unwrap();

        let t = store.tenant_by_slug(&slug).await.unwrap().unwrap();
        assert_eq!((t.id, t.created_at), (tenant.id, tenant.created_at), "[{b}] tenant with microsecond time");
        let got = store.user(tenant.id, &UserRef::parse("zoe@committed.com").unwrap()).await.unwrap().unwrap();
        assert_eq!(got.id, u.id, "[{b}] user");
        assert_eq!(got.upn.as_str(), "Zoe@Committed.com", "[{b}] upn as typed");
        assert_eq!(got.created_at, u.created_at, "[{b}] microsecond time round-trips");
        assert_eq!(got.roles, vec![Role::AuthenticationAdministrator, Role::HelpdeskAdministrator], "[{b}] roles");
        assert!(store.user(env.tenant.id, &UserRef::Id(u.id)).await.unwrap().is_none(), "[{b}] not in another tenant");
    }
}

#[tokio::test]
async fn a_taken_upn_is_a_conflict_and_spoils_nothing_else() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let before = env.fingerprint().await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_users(&[new_user(env.tenant.id, "new@contoso.com", vec![])]).await.unwrap();
        let r = tx.insert_users(&[new_user(env.tenant.id, "ADMIN@contoso.com", vec![])]).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "[{b}] conflict on the UPN key: {r:?}");
        drop(tx);
        assert_eq!(env.fingerprint().await, before, "[{b}] nothing persisted");

        // Two users with the same key in one batch conflict too.
        let mut tx = store.begin().await.unwrap();
        let r = tx
            .insert_users(&[
                new_user(env.tenant.id, "twin@contoso.com", vec![]),
                new_user(env.tenant.id, "Twin@Contoso.com", vec![]),
            ])
            .await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "[{b}] conflict within a batch: {r:?}");
    }
}

#[tokio::test]
async fn snapshots_find_users_by_id_and_upn_with_what_bulk_acts_on() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let alice = env.user("Alice@Contoso.com").await;
        let bob = env.user("bob@contoso.com").await;
        testing::seed_method(store, alice.id, MethodKind::Totp).await;
        testing::seed_method(store, alice.id, MethodKind::Totp).await;
        testing::seed_method(store, alice.id, MethodKind::Sms).await;
        for n in ["a", "b", "c"] {
            testing::seed_app_password(store, bob.id, n).await;
        }
        let (fab, _, fab_ga) = env.other_tenant("fabrikam").await;
        let theirs = env.svc.create_user(&fab_ga, crate::common::input("carol@fabrikam.com", &[], None)).await.unwrap();

        let refs = [
            UserRef::parse("ALICE@contoso.com").unwrap(),
            UserRef::Id(bob.id),
            UserRef::Id(theirs.id),
            UserRef::parse("carol@fabrikam.com").unwrap(),
            UserRef::parse("ghost@contoso.com").unwrap(),
            UserRef::Id(UserId::new()),
        ];
        let mut tx = store.begin().await.unwrap();
        let mut snaps = tx.snapshots(env.tenant.id, &refs).await.unwrap();
        snaps.sort_by_key(|s| s.user.upn.key());
        assert_eq!(snaps.len(), 2, "[{b}] only this tenant's existing users: {snaps:?}");
        assert_eq!(snaps[0].user.id, alice.id, "[{b}] alice by UPN");
        assert_eq!(
            snaps[0].user.methods,
            vec![MethodKind::Totp, MethodKind::Sms],
            "[{b}] distinct method kinds, sorted"
        );
        assert_eq!(snaps[0].app_passwords, 0, "[{b}] alice has no app passwords");
        assert_eq!(snaps[1].user.id, bob.id, "[{b}] bob by id");
        assert_eq!(snaps[1].app_passwords, 3, "[{b}] bob's app passwords counted");
        assert_eq!(snaps[1].remembered_devices_not_before, None, "[{b}] never revoked");

        // The port writes, seen by a later snapshot in the same transaction.
        let at = datetime!(2025-03-11 10:11:12.131415 UTC);
        tx.set_mfa_state(&[alice.id, bob.id], PerUserMfaState::Enabled).await.unwrap();
        tx.delete_methods(&[alice.id]).await.unwrap();
        tx.delete_app_passwords(&[bob.id]).await.unwrap();
        tx.revoke_remembered_devices(&[bob.id], at).await.unwrap();
        let mut snaps = tx.snapshots(env.tenant.id, &[UserRef::Id(alice.id), UserRef::Id(bob.id)]).await.unwrap();
        snaps.sort_by_key(|s| s.user.upn.key());
        assert!(snaps.iter().all(|s| s.user.per_user_mfa_state == PerUserMfaState::Enabled), "[{b}] states");
        assert!(snaps[0].user.methods.is_empty(), "[{b}] methods deleted");
        assert_eq!((snaps[1].app_passwords, snaps[1].remembered_devices_not_before), (0, Some(at)), "[{b}] bob");
        tx.commit().await.unwrap();
        assert_eq!(testing::remembered_devices_not_before(store, bob.id).await, Some(at), "[{b}] committed");
        let _ = fab;

        // An empty ref list is fine.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.snapshots(env.tenant.id, &[]).await.unwrap().is_empty(), "[{b}] no refs, no users");
    }
}

#[tokio::test]
async fn many_ids_in_one_statement_are_chunked() {
    for env in envs().await {
        let b = env.b;
        let upns: Vec<String> = (0..1200).map(|i| format!("bulk{i:04}@contoso.com")).collect();
        env.import(&upns).await;
        let refs: Vec<UserRef> = upns.iter().map(|u| UserRef::parse(u).unwrap()).collect();
        let mut tx = env.store().begin().await.unwrap();
        let snaps = tx.snapshots(env.tenant.id, &refs).await.unwrap();
        assert_eq!(snaps.len(), 1200, "[{b}] all found across chunks");
        let ids: Vec<UserId> = snaps.iter().map(|s| s.user.id).collect();
        tx.set_mfa_state(&ids, PerUserMfaState::Enforced).await.unwrap();
        tx.commit().await.unwrap();
        let page = env.svc.list_users(&env.ga, Some(PerUserMfaState::Enforced), None, Some(500), None).await.unwrap();
        assert_eq!(page.items.len(), 500, "[{b}] enforced");
        assert!(page.next.is_some(), "[{b}] more than one page of enforced users");
    }
}

/// A transaction that reads a tenant's users or settings to decide a change holds off every
/// other such read of the tenant until it ends, so a decision is never made on a stale read:
/// the second reader sees what the first committed. (SQLite: `BEGIN IMMEDIATE` takes the
/// write lock; PostgreSQL: the tenant's row is locked before the read.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_for_a_change_waits_for_the_tenants_previous_change() {
    for env in envs().await {
        let b = env.b;
        let alice = env.user("alice@contoso.com").await;
        let tenant = env.tenant.id;
        let changed = tessera_core::settings::MfaSettings { remember_device_days: 42, ..Default::default() };
        // The first transaction starts with a snapshot, then with the settings.
        for first_reads_settings in [false, true] {
            let store = env.store().clone();
            let mut tx1 = store.begin().await.unwrap();
            if first_reads_settings {
                assert_eq!(
                    tx1.settings(tenant).await.unwrap().remember_device_days,
                    14,
                    "[{b}] tx1 reads the settings"
                );
            } else {
                let s = tx1.snapshots(tenant, &[UserRef::Id(alice.id)]).await.unwrap();
                assert_eq!(s[0].user.per_user_mfa_state, PerUserMfaState::Disabled, "[{b}] tx1 reads alice");
            }
            let second = tokio::spawn({
                let store = store.clone();
                async move {
                    let mut tx2 = store.begin().await?;
                    let snaps = tx2.snapshots(tenant, &[UserRef::Id(alice.id)]).await?;
                    let settings = tx2.settings(tenant).await?;
                    Ok::<_, StoreError>((snaps, settings))
                }
            });
            tokio::time::sleep(StdDuration::from_millis(300)).await;
            assert!(
                !second.is_finished(),
                "[{b}] settings-first={first_reads_settings}: the second reader waits for the first change"
            );
            tx1.set_mfa_state(&[alice.id], PerUserMfaState::Enforced).await.unwrap();
            tx1.put_settings(tenant, &changed).await.unwrap();
            tx1.commit().await.unwrap();
            let (snaps, settings) = second.await.expect("task").unwrap_or_else(|e| panic!("[{b}] second reader: {e}"));
            assert_eq!(
                snaps[0].user.per_user_mfa_state,
                PerUserMfaState::Enforced,
                "[{b}] settings-first={first_reads_settings}: sees alice's change"
            );
            assert_eq!(settings, changed, "[{b}] settings-first={first_reads_settings}: sees the settings change");
            // Reset for the next round.
            let mut tx = store.begin().await.unwrap();
            tx.set_mfa_state(&[alice.id], PerUserMfaState::Disabled).await.unwrap();
            tx.put_settings(tenant, &Default::default()).await.unwrap();
            tx.commit().await.unwrap();
        }
    }
}
