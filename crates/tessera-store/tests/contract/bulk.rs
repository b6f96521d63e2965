//! Bulk Enable / Enforce / Disable: per-row status with before/after, duplicates, all-or-
//! nothing rejection, dry runs, and one audit record per user changed.

use serde_json::json;
use tessera_core::CoreError;
use tessera_core::mfa::PerUserMfaState::*;
use tessera_core::mfa::{BulkOp, BulkReport, QuickStep, RowStatus};

use crate::common::{Env, SOURCE_IP, actor, envs, rejected, rows};
use tessera_core::ids::UserRef;

const ENABLE: BulkOp = BulkOp::QuickStep(QuickStep::Enable);
const ENFORCE: BulkOp = BulkOp::QuickStep(QuickStep::Enforce);
const DISABLE: BulkOp = BulkOp::QuickStep(QuickStep::Disable);

/// Three users, one in each state.
async fn three_states(env: &Env) -> [&'static str; 3] {
    let us = ["dis@contoso.com", "ena@contoso.com", "enf@contoso.com"];
    for u in us {
        env.user(u).await;
    }
    env.set_states(&[(us[1], Enabled), (us[2], Enforced)]).await;
    us
}

/// (status, before, after) of every row.
fn outcome(r: &BulkReport) -> Vec<(RowStatus, Option<serde_json::Value>, Option<serde_json::Value>)> {
    r.results.iter().map(|r| (r.status, r.json().0, r.json().1)).collect()
}

#[tokio::test]
async fn quick_steps_report_each_row_with_before_and_after() {
    use RowStatus::*;
    let s = |v: &str| Some(json!(v));
    // (step, expected per row for users in disabled / enabled / enforced, states after)
    let table = [
        (
            ENABLE,
            [
                (Changed, s("disabled"), s("enabled")),
                (Unchanged, s("enabled"), s("enabled")),
                (Skipped, s("enforced"), None),
            ],
            [Enabled, Enabled, Enforced],
        ),
        (
            ENFORCE,
            [
                (Changed, s("disabled"), s("enforced")),
                (Changed, s("enabled"), s("enforced")),
                (Unchanged, s("enforced"), s("enforced")),
            ],
            [Enforced, Enforced, Enforced],
        ),
        (
            DISABLE,
            [
                (Unchanged, s("disabled"), s("disabled")),
                (Changed, s("enabled"), s("disabled")),
                (Changed, s("enforced"), s("disabled")),
            ],
            [Disabled, Disabled, Disabled],
        ),
    ];
    for env in envs().await {
        let b = env.b;
        for (step, want, states) in table.clone() {
            // Fresh users per step so every step starts from the three states.
            let us = three_states(&env).await;
            let report =
                env.svc.bulk(&env.ga, rows(step, &us), false).await.unwrap_or_else(|e| panic!("[{b}] {step:?}: {e}"));
            assert_eq!(outcome(&report), want.to_vec(), "[{b}] {step:?} rows");
            assert!(report.applied && !report.dry_run, "[{b}] {step:?} applied");
            let changed = want.iter().filter(|w| w.0 == Changed).count();
            assert_eq!(
                (report.summary.total, report.summary.changed, report.summary.failed),
                (3, changed, 0),
                "[{b}] {step:?} summary"
            );
            for (i, u) in us.iter().enumerate() {
                assert_eq!(report.results[i].user, *u, "[{b}] row {i} names the user as given");
                assert_eq!(report.results[i].upn.as_deref(), Some(*u), "[{b}] row {i} canonical upn");
                assert_eq!(env.state(u).await, states[i], "[{b}] {step:?} stored state of {u}");
            }
            for u in us {
                env.svc.delete_user(&env.ga, &UserRef::parse(u).unwrap()).await.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn duplicates_are_reported_and_applied_once() {
    for env in envs().await {
        let b = env.b;
        let a = env.user("Alice@Contoso.com").await;
        let audit_before = env.audit_all().await.len();
        let id = a.id.to_string();
        let report = env
            .svc
            .bulk(&env.ga, rows(ENFORCE, &["alice@contoso.com", "ALICE@CONTOSO.COM", &id]), false)
            .await
            .unwrap();
        let st: Vec<RowStatus> = report.results.iter().map(|r| r.status).collect();
        assert_eq!(st, [RowStatus::Changed, RowStatus::Duplicate, RowStatus::Duplicate], "[{b}] statuses");
        assert!(report.results.iter().all(|r| r.id == Some(a.id)), "[{b}] every row resolved to alice");
        assert_eq!(report.results[2].user, id, "[{b}] row names the user as given");
        assert_eq!(
            (report.summary.changed, report.summary.unchanged, report.summary.failed),
            (1, 2, 0),
            "[{b}] summary"
        );
        assert!(report.applied, "[{b}] duplicates do not reject");
        assert_eq!(env.state("alice@contoso.com").await, Enforced, "[{b}] applied");
        assert_eq!(env.audit_all().await.len(), audit_before + 1, "[{b}] one audit record");
    }
}

#[tokio::test]
async fn one_bad_row_rejects_the_whole_request_and_changes_nothing() {
    for env in envs().await {
        let b = env.b;
        let us = three_states(&env).await;
        let before = env.fingerprint().await;
        let unknown_id = tessera_core::ids::UserId::new().to_string();
        for (bad, status, code) in [
            ("ghost@contoso.com", RowStatus::NotFound, "not_found"),
            (unknown_id.as_str(), RowStatus::NotFound, "not_found"),
            ("not-a-upn", RowStatus::Invalid, "invalid_upn"),
            ("a b@contoso.com", RowStatus::Invalid, "invalid_upn"),
        ] {
            for step in [ENABLE, ENFORCE, DISABLE] {
                for dry_run in [false, true] {
                    let mut req = rows(step, &us);
                    req.insert(1, tessera_core::service::BulkRequestRow { user: bad.into(), op: step });
                    let report = rejected(b, env.svc.bulk(&env.ga, req, dry_run).await);
                    assert_eq!(report.results.len(), 4, "[{b}] every row reported");
                    assert_eq!(report.results[1].status, status, "[{b}] {bad:?} {step:?}");
                    assert_eq!(report.results[1].error.as_ref().map(|e| e.code), Some(code), "[{b}] {bad:?} code");
                    assert_eq!(report.results[1].user, bad, "[{b}] the bad row as given");
                    assert!(!report.applied, "[{b}] not applied");
                    assert_eq!(report.summary.failed, 1, "[{b}] one failure");
                    assert!(report.results[0].error.is_none(), "[{b}] good rows carry no error");
                    assert_eq!(
                        env.fingerprint().await,
                        before,
                        "[{b}] {bad:?} {step:?} dry_run={dry_run}: nothing changed"
                    );
                }
            }
        }
        let r = env.svc.bulk(&env.ga, vec![], false).await;
        assert!(matches!(r, Err(CoreError::InvalidRequest(_))), "[{b}] empty request: {r:?}");
    }
}

#[tokio::test]
async fn dry_run_reports_the_same_and_changes_nothing() {
    for env in envs().await {
        let b = env.b;
        let us = three_states(&env).await;
        let mut req = rows(ENABLE, &us);
        req.push(tessera_core::service::BulkRequestRow { user: us[0].to_uppercase(), op: ENABLE });
        let before = env.fingerprint().await;
        let dry = env.svc.bulk(&env.ga, req.clone(), true).await.unwrap_or_else(|e| panic!("[{b}] dry run: {e}"));
        assert!(dry.dry_run && !dry.applied, "[{b}] dry run flags");
        assert_eq!(env.fingerprint().await, before, "[{b}] dry run changed nothing");
        let dry_again = env.svc.bulk(&env.ga, req.clone(), true).await.unwrap();
        assert_eq!(outcome(&dry_again), outcome(&dry), "[{b}] dry run is repeatable");

        let real = env.svc.bulk(&env.ga, req, false).await.unwrap();
        assert!(!real.dry_run && real.applied, "[{b}] real run flags");
        assert_eq!(outcome(&real), outcome(&dry), "[{b}] the dry run predicted the real run");
        assert_eq!(
            (real.summary.total, real.summary.changed, real.summary.unchanged, real.summary.failed),
            (dry.summary.total, dry.summary.changed, dry.summary.unchanged, dry.summary.failed),
            "[{b}] same summary"
        );
        assert_ne!(env.fingerprint().await, before, "[{b}] the real run changed something");
    }
}

#[tokio::test]
async fn one_audit_record_per_user_changed_with_one_correlation_id() {
    for env in envs().await {
        let b = env.b;
        let us = three_states(&env).await;
        let before_len = env.audit_all().await.len();
        env.clock.advance(time::Duration::minutes(5));
        let ga = actor(&env.admin);
        let report = env.svc.bulk(&ga, rows(ENFORCE, &us), false).await.unwrap();
        assert_eq!(report.summary.changed, 2, "[{b}] two changed");

        let audit = env.audit_all().await;
        assert_eq!(audit.len(), before_len + 2, "[{b}] one record per user changed, none for the unchanged one");
        let mut new: Vec<_> = audit[..2].to_vec();
        new.sort_by_key(|r| r.target_upn.clone());
        for (rec, (upn, from)) in new.iter().zip([("dis@contoso.com", "disabled"), ("ena@contoso.com", "enabled")]) {
            let target = env.get(upn).await.unwrap();
            assert_eq!(rec.action, "user.mfa.enforce", "[{b}] action");
            assert_eq!(rec.actor_id, Some(env.admin.id), "[{b}] actor id");
            assert_eq!(rec.actor_upn, "admin@contoso.com", "[{b}] actor upn");
            assert_eq!(rec.source_ip.map(|ip| ip.to_string()).as_deref(), Some(SOURCE_IP), "[{b}] source ip");
            assert_eq!(rec.target_id, Some(target.id), "[{b}] target id");
            assert_eq!(rec.target_upn.as_deref(), Some(upn), "[{b}] target upn");
            assert_eq!(rec.json().0, Some(json!(from)), "[{b}] before");
            assert_eq!(rec.json().1, Some(json!("enforced")), "[{b}] after");
            assert_eq!(rec.correlation_id, ga.correlation_id(), "[{b}] the request's correlation id");
            assert_eq!(rec.time, env.clock.get(), "[{b}] time from the clock");
        }

        // Setting an explicit state (the Graph PATCH) is one audited row too.
        let st = env.svc.set_mfa_state(&ga, &UserRef::parse("enf@contoso.com").unwrap(), Disabled).await.unwrap();
        assert_eq!(st, Disabled, "[{b}] set state");
        let audit = env.audit_all().await;
        assert_eq!(audit[0].action, "user.mfa.setState", "[{b}] setState action");
        assert_eq!(
            (audit[0].json().0, audit[0].json().1),
            (Some(json!("enforced")), Some(json!("disabled"))),
            "[{b}] setState before/after"
        );
        let r = env.svc.set_mfa_state(&ga, &UserRef::parse("ghost@contoso.com").unwrap(), Enforced).await;
        assert!(matches!(r, Err(CoreError::NotFound(_))), "[{b}] set state of unknown user: {r:?}");
    }
}
