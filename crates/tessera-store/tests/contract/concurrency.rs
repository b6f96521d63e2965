//! Concurrent writers on one store: overlapping bulk requests all succeed (SQLite queues
//! them with BEGIN IMMEDIATE and the busy timeout), and every change is reported and audited
//! exactly once.

use std::sync::Arc;

use tessera_core::mfa::{BulkOp, PerUserMfaState, QuickStep};
use tokio::task::JoinSet;

use crate::common::{Env, actor, envs, rows};

const USERS: usize = 30;
const REQUESTS: usize = 20;

/// Runs `REQUESTS` concurrent bulk requests, request `i` doing `op(i)` on a window of ten
/// users starting at `3 * i` (so windows overlap); returns how many rows each reported changed.
async fn storm(env: &Arc<Env>, op: fn(usize) -> BulkOp) -> usize {
    let b = env.b;
    let mut set = JoinSet::new();
    for i in 0..REQUESTS {
        let env = env.clone();
        set.spawn(async move {
            let users: Vec<String> = (0..10).map(|k| format!("u{:02}@contoso.com", (3 * i + k) % USERS)).collect();
            let users: Vec<&str> = users.iter().map(String::as_str).collect();
            let a = actor(&env.admin); // a request of its own: its own correlation id
            env.svc.bulk(&a, rows(op(i), &users), false).await.map(|r| r.summary.changed)
        });
    }
    let mut changed = 0;
    while let Some(r) = set.join_next().await {
        changed += r.expect("task").unwrap_or_else(|e| panic!("[{b}] a concurrent bulk request failed: {e:?}"));
    }
    changed
}

async fn mfa_audit_count(env: &Env) -> usize {
    env.audit_all().await.iter().filter(|r| r.action.as_str().starts_with("user.mfa.")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_concurrent_bulk_requests_all_succeed_and_audit_each_change_once() {
    for env in envs().await {
        let b = env.b;
        env.import(&(0..USERS).map(|i| format!("u{i:02}@contoso.com")).collect::<Vec<_>>()).await;
        let env = Arc::new(env);

        // Everyone is enforced once, whichever request gets there first.
        let changed = storm(&env, |_| BulkOp::QuickStep(QuickStep::Enforce)).await;
        assert_eq!(changed, USERS, "[{b}] each user changed exactly once");
        assert_eq!(mfa_audit_count(&env).await, USERS, "[{b}] one audit record per actual change");
        for i in 0..USERS {
            assert_eq!(env.state(&format!("u{i:02}@contoso.com")).await, PerUserMfaState::Enforced, "[{b}] u{i:02}");
        }

        // Alternating Disable and Enforce: the outcome depends on the order, but the reports
        // and the audit log must agree on it.
        let before = mfa_audit_count(&env).await;
        let changed =
            storm(&env, |i| BulkOp::QuickStep(if i % 2 == 0 { QuickStep::Disable } else { QuickStep::Enforce })).await;
        assert!(changed > 0, "[{b}] something changed");
        assert_eq!(mfa_audit_count(&env).await - before, changed, "[{b}] audit count equals the changes reported");

        // Each user's audit trail is a consistent chain: every record starts where the last ended.
        let mut audit = env.audit_all().await;
        audit.reverse();
        for i in 0..USERS {
            let upn = format!("u{i:02}@contoso.com");
            let mut state = serde_json::json!("disabled");
            for r in audit
                .iter()
                .filter(|r| r.action.as_str().starts_with("user.mfa.") && r.target_upn.as_deref() == Some(upn.as_str()))
            {
                assert_eq!(
                    r.json().0.as_ref(),
                    Some(&state),
                    "[{b}] {upn}: before of one change is the after of the last"
                );
                state = r.json().1.unwrap();
            }
            let stored = env.state(&upn).await;
            assert_eq!(state, serde_json::json!(stored.as_str()), "[{b}] {upn}: the last after is the stored state");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_settings_patches_do_not_lose_updates() {
    for env in envs().await {
        let b = env.b;
        let env = Arc::new(env);
        let mut set = JoinSet::new();
        // Each task flips a different field; all of them must survive.
        for i in 0..REQUESTS {
            let env = env.clone();
            set.spawn(async move {
                let patch = match i % 2 {
                    0 => tessera_core::settings::MfaSettingsPatch {
                        allow_app_passwords: Some(true),
                        ..Default::default()
                    },
                    _ => tessera_core::settings::MfaSettingsPatch {
                        remember_device_days: Some(30),
                        ..Default::default()
                    },
                };
                env.svc.update_mfa_settings(&actor(&env.admin), patch).await
            });
        }
        while let Some(r) = set.join_next().await {
            r.expect("task").unwrap_or_else(|e| panic!("[{b}] a concurrent settings patch failed: {e:?}"));
        }
        let s = env.svc.mfa_settings(&env.ga).await.unwrap();
        assert!(s.allow_app_passwords && s.remember_device_days == 30, "[{b}] both patches kept: {s:?}");
        let n = env.audit_all().await.iter().filter(|r| r.action == "settings.mfa.update").count();
        assert_eq!(n, 2, "[{b}] exactly two real changes audited");
    }
}
