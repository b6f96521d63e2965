//! Every value of every closed set that reaches the logs is written and read back as itself;
//! a stored value outside its set is an error, never a default.

use tessera_core::audit::{AuditAction, AuditQuery, AuditRecord};
use tessera_core::auth_ports::AuthStore;
use tessera_core::mfa::MethodKind;
use tessera_core::ports::{Store, StoreTx};
use tessera_core::session::{ThrottleKey, ThrottlePolicy};
use tessera_core::signin::{Client, CredentialKind, FailureReason, MfaRequiredBy, MfaSkip, SignInRecord, SignInResult};
use tessera_store::testing;
use time::Duration;

use crate::common::{T0, envs};

/// The records written by the test: the harness's own are at T0.
fn query(env: &crate::common::Env) -> AuditQuery {
    AuditQuery { since: Some(T0 + Duration::days(1)), ..env.log_query() }
}

/// The i-th value of a set, cycling.
fn nth<T: Copy>(all: &[T], i: usize) -> T {
    all[i % all.len()]
}

#[tokio::test]
async fn every_sign_in_value_is_read_back_as_written() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        // Enough records that each set's every value (and "none" of the optional ones) occurs.
        let n = FailureReason::ALL.len() + 1;
        let recs: Vec<SignInRecord> = (0..n)
            .map(|i| {
                let opt = |some: bool| some.then_some(i);
                SignInRecord {
                    id: uuid::Uuid::now_v7(),
                    tenant_id: env.tenant.id,
                    time: T0 + Duration::days(1) + Duration::seconds(i as i64),
                    user_id: None,
                    upn: format!("u{i}@contoso.com"),
                    source_ip: None,
                    user_agent: None,
                    client: nth(Client::ALL, i),
                    result: nth(SignInResult::ALL, i),
                    failure_reason: FailureReason::ALL.get(i).copied(),
                    mfa_required_by: nth(MfaRequiredBy::ALL, i),
                    mfa_method: opt(i < MethodKind::ALL.len()).map(|i| MethodKind::ALL[i]),
                    credential: opt(i < CredentialKind::ALL.len()).map(|i| CredentialKind::ALL[i]),
                    mfa_skipped_by: opt(i < MfaSkip::ALL.len()).map(|i| MfaSkip::ALL[i]),
                }
            })
            .collect();
        for r in &recs {
            store.insert_signin(r).await.unwrap_or_else(|e| panic!("[{b}] insert: {e}"));
        }
        let mut got = store.signins(&query(&env)).await.unwrap_or_else(|e| panic!("[{b}] read: {e}")).items;
        got.reverse();
        let fields = |r: &SignInRecord| {
            (
                r.id,
                r.client,
                r.result,
                r.failure_reason,
                r.mfa_required_by,
                r.mfa_method,
                r.credential,
                r.mfa_skipped_by,
            )
        };
        assert_eq!(got.iter().map(fields).collect::<Vec<_>>(), recs.iter().map(fields).collect::<Vec<_>>(), "[{b}]");

        for (col, bad) in [
            ("client", "ldap"),
            ("result", "ok"),
            ("failure_reason", "wrong_code"),
            ("mfa_required_by", "policy"),
            ("mfa_method", "carrierPigeon"),
            ("credential", "certificate"),
            ("mfa_skipped_by", "vpn"),
        ] {
            testing::overwrite_log_column(store, "signin_log", col, bad).await;
            let err = store.signins(&query(&env)).await.expect_err(&format!("[{b}] {col} = {bad} is refused"));
            assert!(err.to_string().contains(bad), "[{b}] {col}: {err}");
            // Put a valid value back for the next column's check.
            let valid = match col {
                "client" => "api",
                "result" => "success",
                "failure_reason" => "invalid_otp",
                "mfa_required_by" => "none",
                "mfa_method" => "totp",
                "credential" => "password",
                _ => "trustedIp",
            };
            testing::overwrite_log_column(store, "signin_log", col, valid).await;
        }
        // What earlier versions wrote for a wrong one-time code in the browser reads as today's.
        testing::overwrite_log_column(store, "signin_log", "failure_reason", "invalid_code").await;
        let items = store.signins(&query(&env)).await.unwrap_or_else(|e| panic!("[{b}] read: {e}")).items;
        assert!(items.iter().all(|r| r.failure_reason == Some(FailureReason::InvalidOtp)), "[{b}]");
    }
}

#[tokio::test]
async fn every_audit_action_is_read_back_as_written() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let recs: Vec<AuditRecord> = AuditAction::ALL
            .iter()
            .enumerate()
            .map(|(i, &action)| crate::common::system_record(&env, i, action, None))
            .collect();
        let mut tx = store.begin().await.unwrap();
        tx.insert_audit(&recs).await.unwrap_or_else(|e| panic!("[{b}] insert: {e}"));
        tx.commit().await.unwrap();
        let mut got = store.audit(&query(&env)).await.unwrap_or_else(|e| panic!("[{b}] read: {e}")).items;
        got.reverse();
        let actions: Vec<AuditAction> = got.iter().map(|r| r.action).collect();
        assert_eq!(actions, AuditAction::ALL, "[{b}]");

        testing::overwrite_log_column(store, "audit_log", "action", "user.mfa.frobnicate").await;
        let err = store.audit(&query(&env)).await.expect_err(&format!("[{b}] an unknown action is refused"));
        assert!(err.to_string().contains("user.mfa.frobnicate"), "[{b}] {err}");
    }
}

#[tokio::test]
async fn every_kind_of_throttle_key_counts_on_its_own() {
    for env in envs().await {
        let b = env.b;
        let store = env.store();
        let policy = ThrottlePolicy { max_attempts: 10, window: Duration::minutes(15) };
        let keys = [
            ThrottleKey::password(Some(env.tenant.id), "Alice@Contoso.com"),
            ThrottleKey::password(None, "alice@contoso.com"),
            ThrottleKey::source_ip(&"192.0.2.1"),
            ThrottleKey::Code(env.admin.id),
        ];
        let hits: Vec<_> = keys.iter().map(|k| (k, &policy)).collect();
        for round in 1..=2 {
            let states = store.throttle_hit(&hits, T0).await.unwrap_or_else(|e| panic!("[{b}] hit: {e}"));
            assert!(states.iter().all(|s| s.attempts == round), "[{b}] round {round}: {states:?}");
        }
        store.throttle_settle(&keys[0], Some(&keys[2])).await.unwrap();
        let states = store.throttle_hit(&hits, T0).await.unwrap();
        let counts: Vec<u32> = states.iter().map(|s| s.attempts).collect();
        assert_eq!(counts, [1, 3, 2, 3], "[{b}] cleared, counted, released, counted");
    }
}
