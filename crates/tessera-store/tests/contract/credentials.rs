//! App passwords, remembered devices, account changes and the cross-tenant UPN lookup
//! through the `CredentialStore`/`CredentialTx` ports: each check-and-change finds only the
//! user's own row and marks it used; remembered devices stop counting when they expire or
//! when the user's remembered devices are revoked; sign-in records keep what was presented
//! and why MFA was skipped.

use std::time::Duration as StdDuration;

use tessera_core::admin_ports::AdminStore;
use tessera_core::audit::AuditQuery;
use tessera_core::credential_ports::{AppPasswordRecord, CredentialStore, CredentialTx, RememberedDevice};
use tessera_core::ids::{UserId, UserRef};
use tessera_core::mfa::MethodKind;
use tessera_core::ports::{Store, StoreTx};
use tessera_core::signin::{MfaRequiredBy, MfaSkip, SignInRecord};
use tessera_store::SqlStore;
use tessera_store::testing;
use time::{Duration, OffsetDateTime};

use crate::common::{T0, envs};

fn app_password(user: UserId, name: &str, hash: &str) -> AppPasswordRecord {
    AppPasswordRecord {
        id: tessera_core::ids::AppPasswordId::new(),
        user_id: user,
        name: name.into(),
        password_hash: hash.into(),
        created_at: T0,
    }
}

fn device(user: UserId, created_at: OffsetDateTime, days: i64) -> RememberedDevice {
    RememberedDevice {
        id: tessera_core::ids::DeviceId::new(),
        user_id: user,
        created_at,
        last_used_at: None,
        expires_at: created_at + Duration::days(days),
        source_ip: Some("198.51.100.7".parse().unwrap()),
        user_agent: Some("contract-test".into()),
    }
}

async fn insert_app_passwords(store: &SqlStore, recs: &[&AppPasswordRecord]) {
    let mut tx = store.begin().await.unwrap();
    for r in recs {
        tx.insert_app_password(r).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn insert_devices(store: &SqlStore, devices: &[(&RememberedDevice, &str)]) {
    let mut tx = store.begin().await.unwrap();
    for (d, token_hash) in devices {
        tx.insert_remembered_device(d, token_hash).await.unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn using_an_app_password_marks_only_the_users_own_and_returns_its_id() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let alice = env.user("alice@contoso.com").await;
        let bob = env.user("bob@contoso.com").await;
        let mail = app_password(alice.id, "mail", "hash-mail");
        let cal = app_password(alice.id, "calendar", "hash-cal");
        let bobs = app_password(bob.id, "mail", "hash-bob");
        insert_app_passwords(store, &[&mail, &cal, &bobs]).await;

        let now = T0 + Duration::hours(2);
        let used = store.use_app_password(alice.id, "hash-mail", now).await.unwrap();
        assert_eq!(used, Some(mail.id), "[{b}] found by hash");
        assert_eq!(store.use_app_password(alice.id, "wrong", now).await.unwrap(), None, "[{b}] wrong hash");
        assert_eq!(store.use_app_password(alice.id, "hash-bob", now).await.unwrap(), None, "[{b}] bob's");
        assert_eq!(store.use_app_password(bob.id, "hash-mail", now).await.unwrap(), None, "[{b}] alice's");
        assert_eq!(store.use_app_password(UserId::new(), "hash-mail", now).await.unwrap(), None, "[{b}] no one");

        let listed = store.app_passwords(alice.id).await.unwrap();
        let last: Vec<_> = listed.iter().map(|p| (p.id, p.last_used_at)).collect();
        assert_eq!(last, vec![(mail.id, Some(now)), (cal.id, None)], "[{b}] only the used one is marked");
        assert_eq!(store.app_passwords(bob.id).await.unwrap()[0].last_used_at, None, "[{b}] bob's untouched");
    }
}

#[tokio::test]
async fn a_remembered_device_counts_until_it_expires() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let alice = env.user("alice@contoso.com").await;
        let bob = env.user("bob@contoso.com").await;
        let laptop = device(alice.id, T0, 14);
        let phone = device(alice.id, T0 + Duration::hours(1), 1);
        let bobs = device(bob.id, T0, 14);
        insert_devices(store, &[(&laptop, "tok-laptop"), (&phone, "tok-phone"), (&bobs, "tok-bob")]).await;

        let now = T0 + Duration::hours(3);
        assert_eq!(
            store.remembered_devices(alice.id, now).await.unwrap(),
            vec![laptop.clone(), phone.clone()],
            "[{b}]"
        );
        let used = store.use_remembered_device(alice.id, "tok-laptop", now).await.unwrap();
        assert_eq!(used, Some(laptop.id), "[{b}] found by token hash");
        assert_eq!(store.use_remembered_device(alice.id, "tok-bob", now).await.unwrap(), None, "[{b}] bob's token");
        assert_eq!(store.use_remembered_device(bob.id, "tok-laptop", now).await.unwrap(), None, "[{b}] alice's");
        assert_eq!(store.use_remembered_device(alice.id, "nope", now).await.unwrap(), None, "[{b}] unknown token");
        let listed = store.remembered_devices(alice.id, now).await.unwrap();
        assert_eq!(listed[0].last_used_at, Some(now), "[{b}] marked used");
        assert_eq!(listed[1].last_used_at, None, "[{b}] the other one untouched");
        assert_eq!(store.remembered_devices(bob.id, now).await.unwrap()[0].last_used_at, None, "[{b}] bob's");

        // The phone was remembered for a day: at its expiry time it no longer counts.
        let at_expiry = phone.expires_at;
        assert_eq!(store.use_remembered_device(alice.id, "tok-phone", at_expiry).await.unwrap(), None, "[{b}]");
        let ids: Vec<_> = store.remembered_devices(alice.id, at_expiry).await.unwrap().iter().map(|d| d.id).collect();
        assert_eq!(ids, vec![laptop.id], "[{b}] the expired one is not listed");
        let just_before = at_expiry - Duration::microseconds(1);
        assert_eq!(store.use_remembered_device(alice.id, "tok-phone", just_before).await.unwrap(), Some(phone.id));
    }
}

#[tokio::test]
async fn revoking_remembered_devices_deletes_them_and_devices_from_before_do_not_count() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let alice = env.user("alice@contoso.com").await;
        let bob = env.user("bob@contoso.com").await;
        let old = device(alice.id, T0, 14);
        let bobs = device(bob.id, T0, 14);
        insert_devices(store, &[(&old, "tok-old"), (&bobs, "tok-bob")]).await;
        assert_eq!(testing::user_rows(store, alice.id).await.remembered_devices, 1, "[{b}] stored");

        let revoked_at = T0 + Duration::hours(1);
        let mut tx = store.begin().await.unwrap();
        tx.revoke_remembered_devices(&[alice.id], revoked_at).await.unwrap();
        tx.commit().await.unwrap();
        let rows = testing::user_rows(store, alice.id).await;
        assert_eq!((rows.remembered_devices, rows.remembered_devices_not_before), (0, Some(revoked_at)), "[{b}]");
        assert_eq!(testing::user_rows(store, bob.id).await.remembered_devices, 1, "[{b}] bob's kept");

        // A device remembered before the revocation (e.g. by a sign-in that raced with it)
        // does not count; one remembered at or after it does.
        let now = T0 + Duration::hours(2);
        let raced = device(alice.id, revoked_at - Duration::microseconds(1), 14);
        let fresh = device(alice.id, revoked_at, 14);
        insert_devices(store, &[(&raced, "tok-raced"), (&fresh, "tok-fresh")]).await;
        assert_eq!(store.use_remembered_device(alice.id, "tok-old", now).await.unwrap(), None, "[{b}] gone");
        assert_eq!(store.use_remembered_device(alice.id, "tok-raced", now).await.unwrap(), None, "[{b}] before");
        assert_eq!(store.use_remembered_device(alice.id, "tok-fresh", now).await.unwrap(), Some(fresh.id), "[{b}]");
        let ids: Vec<_> = store.remembered_devices(alice.id, now).await.unwrap().iter().map(|d| d.id).collect();
        assert_eq!(ids, vec![fresh.id], "[{b}] only the one from after the revocation is listed");
        assert_eq!(store.use_remembered_device(bob.id, "tok-bob", now).await.unwrap(), Some(bobs.id), "[{b}] bob");
    }
}

#[tokio::test]
async fn deleting_remembered_devices_and_app_passwords_touches_only_the_users_own() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let alice = env.user("alice@contoso.com").await;
        let bob = env.user("bob@contoso.com").await;
        let (a1, a2, a3) = (device(alice.id, T0, 14), device(alice.id, T0, 14), device(alice.id, T0, 14));
        let bobs = device(bob.id, T0, 14);
        insert_devices(store, &[(&a1, "t1"), (&a2, "t2"), (&a3, "t3"), (&bobs, "tb")]).await;
        let mail = app_password(alice.id, "mail", "h1");
        let bob_mail = app_password(bob.id, "mail", "h2");
        insert_app_passwords(store, &[&mail, &bob_mail]).await;

        let mut tx = store.begin().await.unwrap();
        assert!(!tx.delete_remembered_device(alice.id, bobs.id).await.unwrap(), "[{b}] not alice's device");
        assert!(tx.delete_remembered_device(alice.id, a1.id).await.unwrap(), "[{b}] alice's device");
        assert!(!tx.delete_remembered_device(alice.id, a1.id).await.unwrap(), "[{b}] already deleted");
        assert!(!tx.delete_app_password(alice.id, bob_mail.id).await.unwrap(), "[{b}] not alice's app password");
        assert!(tx.delete_app_password(alice.id, mail.id).await.unwrap(), "[{b}] alice's app password");
        assert!(!tx.delete_app_password(alice.id, mail.id).await.unwrap(), "[{b}] already deleted");
        tx.commit().await.unwrap();
        let rows = testing::user_rows(store, alice.id).await;
        assert_eq!((rows.remembered_devices, rows.app_passwords), (2, 0), "[{b}] alice");
        let rows = testing::user_rows(store, bob.id).await;
        assert_eq!((rows.remembered_devices, rows.app_passwords), (1, 1), "[{b}] bob untouched");

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.delete_remembered_devices(alice.id).await.unwrap(), 2, "[{b}] the rest of alice's");
        assert_eq!(tx.delete_remembered_devices(alice.id).await.unwrap(), 0, "[{b}] none left");
        tx.commit().await.unwrap();
        assert_eq!(testing::user_rows(store, alice.id).await.remembered_devices, 0, "[{b}]");
        assert_eq!(testing::user_rows(store, bob.id).await.remembered_devices, 1, "[{b}] bob's kept");

        // Deleting a user takes their remembered devices with them.
        env.svc.delete_user(&env.ga, &UserRef::parse("bob@contoso.com").unwrap()).await.unwrap();
        assert_eq!(testing::user_rows(store, bob.id).await.remembered_devices, 0, "[{b}] cascade");
    }
}

#[tokio::test]
async fn app_passwords_are_counted_and_inserted_in_one_transaction() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let alice = env.user("alice@contoso.com").await;
        let bob = env.user("bob@contoso.com").await;
        insert_app_passwords(store, &[&app_password(bob.id, "bob's", "hb")]).await;

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.app_password_count_for_update(alice.id).await.unwrap(), 0, "[{b}] none yet");
        tx.insert_app_password(&app_password(alice.id, "mail", "h1")).await.unwrap();
        tx.insert_app_password(&app_password(alice.id, "calendar", "h2")).await.unwrap();
        assert_eq!(tx.app_password_count_for_update(alice.id).await.unwrap(), 2, "[{b}] own inserts counted");
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.app_password_count_for_update(alice.id).await.unwrap(), 2, "[{b}] committed");
        assert_eq!(tx.app_password_count_for_update(bob.id).await.unwrap(), 1, "[{b}] bob's own");
        drop(tx);
        let names: Vec<_> = store.app_passwords(alice.id).await.unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names.len(), 2, "[{b}] {names:?}");
        assert!(names.contains(&"mail".to_owned()) && names.contains(&"calendar".to_owned()), "[{b}] {names:?}");
    }
}

/// A second creation waits for the first to commit before it counts, so two creations can
/// never both pass the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_count_for_update_waits_for_the_first_creation() {
    for env in envs().await {
        let b = env.b;
        let alice = env.user("alice@contoso.com").await;
        let other = env.db.reopen().await; // a second server, opened before the first writes
        let mut first = env.store().begin().await.unwrap();
        assert_eq!(first.app_password_count_for_update(alice.id).await.unwrap(), 0, "[{b}]");
        let second = tokio::spawn(async move {
            let mut tx = other.begin().await.unwrap();
            let n = tx.app_password_count_for_update(alice.id).await.unwrap();
            tx.commit().await.unwrap();
            n
        });
        tokio::time::sleep(StdDuration::from_millis(300)).await;
        assert!(!second.is_finished(), "[{b}] the second creation waits");
        first.insert_app_password(&app_password(alice.id, "mail", "h1")).await.unwrap();
        first.commit().await.unwrap();
        assert_eq!(second.await.unwrap(), 1, "[{b}] and then counts the first one's");
    }
}

#[tokio::test]
async fn tenants_with_a_upn_are_found_across_tenants() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        env.user("Pat@Example.com").await;
        env.user("someone@contoso.com").await;
        let (fab, _, fab_ga) = env.other_tenant("fabrikam").await;
        env.svc.create_user(&fab_ga, crate::common::input("pat@example.COM", &[], None)).await.unwrap();

        let mut found = store.tenants_with_upn("pat@example.com", 10).await.unwrap();
        found.sort_by_key(|t| t.to_string());
        let mut want = vec![env.tenant.id, fab.id];
        want.sort_by_key(|t| t.to_string());
        assert_eq!(found, want, "[{b}] both tenants");
        assert_eq!(store.tenants_with_upn("pat@example.com", 1).await.unwrap().len(), 1, "[{b}] at most the limit");
        let only = store.tenants_with_upn("someone@contoso.com", 10).await.unwrap();
        assert_eq!(only, vec![env.tenant.id], "[{b}] one tenant");
        assert!(store.tenants_with_upn("ghost@example.com", 10).await.unwrap().is_empty(), "[{b}] nobody");
    }
}

#[tokio::test]
async fn update_account_changes_only_what_is_given() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let alice = env.user("alice@contoso.com").await;
        let bob = env.user("bob@contoso.com").await;
        let tenant = env.tenant.id;
        let read = |user: &'static str| async move {
            let c = store.credential(tenant, user).await.unwrap().unwrap();
            (c.user.account_enabled, c.password_hash)
        };
        assert_eq!(read("alice@contoso.com").await, (true, None), "[{b}] as created");

        let mut tx = store.begin().await.unwrap();
        tx.update_account(alice.id, None, Some("$argon2id$one")).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(read("alice@contoso.com").await, (true, Some("$argon2id$one".into())), "[{b}] password set");

        let mut tx = store.begin().await.unwrap();
        tx.update_account(alice.id, Some(false), None).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(read("alice@contoso.com").await, (false, Some("$argon2id$one".into())), "[{b}] disabled");

        let mut tx = store.begin().await.unwrap();
        tx.update_account(alice.id, Some(true), Some("$argon2id$two")).await.unwrap();
        tx.update_account(alice.id, None, None).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(read("alice@contoso.com").await, (true, Some("$argon2id$two".into())), "[{b}] both");
        assert_eq!(read("bob@contoso.com").await, (true, None), "[{b}] bob untouched");
        let user = store.user(env.tenant.id, &UserRef::Id(alice.id)).await.unwrap().unwrap();
        assert!(user.account_enabled, "[{b}] read through the user");

        // Dropped without commit: nothing changes.
        let mut tx = store.begin().await.unwrap();
        tx.update_account(bob.id, Some(false), Some("$argon2id$x")).await.unwrap();
        drop(tx);
        assert_eq!(read("bob@contoso.com").await, (true, None), "[{b}] rolled back");
    }
}

#[tokio::test]
async fn sign_in_records_keep_the_credential_and_why_mfa_was_skipped() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let rec = |credential: Option<&str>, skipped: Option<MfaSkip>, secs: i64| SignInRecord {
            id: uuid::Uuid::now_v7(),
            tenant_id: env.tenant.id,
            time: T0 + Duration::seconds(secs),
            user_id: Some(env.admin.id),
            upn: "admin@contoso.com".into(),
            source_ip: Some("192.0.2.1".parse().unwrap()),
            user_agent: None,
            client: "legacy".parse().unwrap(),
            result: "success".parse().unwrap(),
            failure_reason: None,
            mfa_required_by: MfaRequiredBy::PerUserState,
            mfa_method: None,
            credential: credential.map(|c| c.parse().unwrap()),
            mfa_skipped_by: skipped,
        };
        let recs = [
            rec(Some("appPassword"), None, 1),
            rec(Some("password"), Some(MfaSkip::TrustedIp), 2),
            rec(Some("password"), Some(MfaSkip::RememberedDevice), 3),
            SignInRecord { mfa_method: Some(MethodKind::Totp), ..rec(None, None, 4) },
        ];
        for r in &recs {
            store.insert_signin(r).await.unwrap();
        }
        let q = AuditQuery {
            tenant_id: env.tenant.id,
            since: None,
            until: None,
            actor: None,
            target: None,
            action: None,
            limit: 100,
            before_id: None,
        };
        let page = store.signins(&q).await.unwrap();
        let got: Vec<_> = page
            .items
            .iter()
            .filter(|r| recs.iter().any(|w| w.id == r.id))
            .map(|r| (r.id, r.time, r.credential, r.mfa_skipped_by, r.mfa_method))
            .collect();
        let want: Vec<_> =
            recs.iter().rev().map(|r| (r.id, r.time, r.credential, r.mfa_skipped_by, r.mfa_method)).collect();
        assert_eq!(got, want, "[{b}] newest first, with the new fields");
    }
}
