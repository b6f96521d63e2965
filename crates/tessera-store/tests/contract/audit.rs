//! Reading the audit log: filters by actor, target, action prefix and time, cursor paging,
//! newest first, one tenant only.

use std::collections::HashSet;

use tessera_core::CoreError;
use tessera_core::access::Role;
use tessera_core::audit::AuditRecord;
use tessera_core::cursor::encode_cursor;
use tessera_core::mfa::{BulkOp, QuickStep};
use tessera_core::service::LogFilter;
use tessera_core::settings::MfaSettingsPatch;
use time::Duration;

use crate::common::{Env, T0, actor, envs, rows};

/// Nine records over five hours: init (T0), three users created (T0+1h), enforce and enable
/// (T0+2h), a disable by the policy admin (T0+3h), a settings change (T0+4h).
async fn history(env: &Env) {
    env.clock.advance(Duration::hours(1));
    env.user("alice@contoso.com").await;
    env.user("bob@contoso.com").await;
    let apa = actor(&env.user_with("apa@contoso.com", &[Role::AuthenticationPolicyAdministrator], None).await);
    env.clock.advance(Duration::hours(1));
    env.svc.bulk(&env.ga, rows(BulkOp::QuickStep(QuickStep::Enforce), &["alice@contoso.com"]), false).await.unwrap();
    env.svc.bulk(&env.ga, rows(BulkOp::QuickStep(QuickStep::Enable), &["bob@contoso.com"]), false).await.unwrap();
    env.clock.advance(Duration::hours(1));
    env.svc.bulk(&apa, rows(BulkOp::QuickStep(QuickStep::Disable), &["Alice@Contoso.com"]), false).await.unwrap();
    env.clock.advance(Duration::hours(1));
    let patch = MfaSettingsPatch { remember_device_days: Some(7), ..Default::default() };
    env.svc.update_mfa_settings(&env.ga, patch).await.unwrap();
}

/// Every page of a filtered query, checking the order on the way.
async fn query(env: &Env, filter: LogFilter) -> Vec<AuditRecord> {
    let b = env.b;
    let mut all: Vec<AuditRecord> = Vec::new();
    let mut f = filter;
    loop {
        let page = env.svc.audit_log(&env.ga, f.clone()).await.unwrap_or_else(|e| panic!("[{b}] audit {f:?}: {e}"));
        assert!(page.items.len() <= f.limit.unwrap_or(50) as usize, "[{b}] within the limit");
        all.extend(page.items);
        match page.next {
            Some(n) => f.cursor = Some(n),
            None => break,
        }
    }
    for w in all.windows(2) {
        assert!(w[0].id > w[1].id, "[{b}] newest first by id");
        assert!(w[0].time >= w[1].time, "[{b}] newest first by time");
    }
    assert_eq!(all.iter().map(|r| r.id).collect::<HashSet<_>>().len(), all.len(), "[{b}] each record once");
    all
}

fn actions(recs: &[AuditRecord]) -> Vec<&str> {
    recs.iter().map(|r| r.action.as_str()).collect()
}

#[tokio::test]
async fn filters_by_actor_target_action_and_time() {
    for env in envs().await {
        let b = env.b;
        history(&env).await;
        let all = query(&env, LogFilter::default()).await;
        assert_eq!(all.len(), 9, "[{b}] nine records: {:?}", actions(&all));
        assert_eq!(all[0].action, "settings.mfa.update", "[{b}] newest first");
        assert_eq!(all[8].action, "tenant.create", "[{b}] oldest last");

        let f = |actor: Option<&str>, target: Option<&str>, action: Option<&str>| LogFilter {
            actor: actor.map(Into::into),
            target: target.map(Into::into),
            action: action.map(Into::into),
            ..Default::default()
        };
        let by_admin = query(&env, f(Some("ADMIN@Contoso.com"), None, None)).await;
        assert_eq!(by_admin.len(), 6, "[{b}] actor filter, case-insensitive: {:?}", actions(&by_admin));
        assert!(by_admin.iter().all(|r| r.actor_id == Some(env.admin.id)), "[{b}] only the admin's");
        let by_apa = query(&env, f(Some("apa@contoso.com"), None, None)).await;
        assert_eq!(actions(&by_apa), ["user.mfa.disable"], "[{b}] the policy admin's");
        assert!(query(&env, f(Some("nobody@contoso.com"), None, None)).await.is_empty(), "[{b}] unknown actor");

        let alice = query(&env, f(None, Some("Alice@contoso.com"), None)).await;
        assert_eq!(actions(&alice), ["user.mfa.disable", "user.mfa.enforce", "user.create"], "[{b}] target filter");

        for (prefix, want) in [
            ("user.mfa", vec!["user.mfa.disable", "user.mfa.enable", "user.mfa.enforce"]),
            ("user.mfa.en", vec!["user.mfa.enable", "user.mfa.enforce"]),
            ("user.mfa.enforce", vec!["user.mfa.enforce"]),
            ("settings", vec!["settings.mfa.update"]),
            ("tenant.", vec!["tenant.create"]),
            ("user.mfa.enforced", vec![]),
            ("zzz", vec![]),
        ] {
            assert_eq!(
                actions(&query(&env, f(None, None, Some(prefix))).await),
                want,
                "[{b}] action prefix {prefix:?}"
            );
        }
        assert_eq!(query(&env, f(None, None, Some("user."))).await.len(), 7, "[{b}] action prefix user.");
        let combined = query(&env, f(Some("admin@contoso.com"), Some("alice@contoso.com"), Some("user.mfa"))).await;
        assert_eq!(actions(&combined), ["user.mfa.enforce"], "[{b}] filters combine");

        let t = |h: i64| Some(T0 + Duration::hours(h));
        let window = |since, until| LogFilter { since, until, ..Default::default() };
        assert_eq!(query(&env, window(t(2), None)).await.len(), 4, "[{b}] since is inclusive");
        assert_eq!(query(&env, window(None, t(2))).await.len(), 5, "[{b}] until is exclusive");
        assert_eq!(
            actions(&query(&env, window(t(2), t(3))).await),
            ["user.mfa.enable", "user.mfa.enforce"],
            "[{b}] a window"
        );
        assert!(query(&env, window(t(3), t(3))).await.is_empty(), "[{b}] an empty window");
        assert!(query(&env, window(t(5), None)).await.is_empty(), "[{b}] after everything");
        let late_admin = LogFilter { since: t(2), actor: Some("admin@contoso.com".into()), ..Default::default() };
        assert_eq!(
            actions(&query(&env, late_admin).await),
            ["settings.mfa.update", "user.mfa.enable", "user.mfa.enforce"],
            "[{b}] time and actor"
        );
    }
}

#[tokio::test]
async fn cursor_paging_newest_first() {
    for env in envs().await {
        let b = env.b;
        history(&env).await;
        let all = query(&env, LogFilter::default()).await;
        for limit in [1, 2, 4, 9, 10] {
            let paged = query(&env, LogFilter { limit: Some(limit), ..Default::default() }).await;
            let ids = |v: &[AuditRecord]| v.iter().map(|r| r.id).collect::<Vec<_>>();
            assert_eq!(ids(&paged), ids(&all), "[{b}] limit {limit}: every record once, in order");
        }
        let first = env.svc.audit_log(&env.ga, LogFilter { limit: Some(4), ..Default::default() }).await.unwrap();
        assert!(first.next.is_some(), "[{b}] more pages");
        let last = env.svc.audit_log(&env.ga, LogFilter { limit: Some(9), ..Default::default() }).await.unwrap();
        assert_eq!((last.items.len(), last.next), (9, None), "[{b}] exactly one full page has no next");

        let filtered =
            query(&env, LogFilter { action: Some("user.".into()), limit: Some(3), ..Default::default() }).await;
        assert_eq!(filtered.len(), 7, "[{b}] paging within a filter");

        let bad_cursors = ["!!!".to_string(), encode_cursor("not-an-id")];
        for c in bad_cursors {
            let r = env.svc.audit_log(&env.ga, LogFilter { cursor: Some(c.clone()), ..Default::default() }).await;
            assert!(matches!(r, Err(CoreError::InvalidCursor(_))), "[{b}] cursor {c:?}: {r:?}");
        }
        for limit in [0, 501] {
            let r = env.svc.audit_log(&env.ga, LogFilter { limit: Some(limit), ..Default::default() }).await;
            assert!(matches!(r, Err(CoreError::InvalidRequest(_))), "[{b}] limit {limit}: {r:?}");
        }
    }
}

#[tokio::test]
async fn each_tenant_reads_only_its_own_log() {
    for env in envs().await {
        let b = env.b;
        history(&env).await;
        let (_, _, fab_ga) = env.other_tenant("fabrikam").await;
        env.svc.create_user(&fab_ga, crate::common::input("alice@contoso.com", &[], None)).await.unwrap();
        let theirs = env.svc.audit_log(&fab_ga, LogFilter::default()).await.unwrap();
        assert_eq!(
            actions(&theirs.items),
            ["user.create", "user.create", "tenant.create"],
            "[{b}] fabrikam's own three"
        );
        let ours = query(&env, LogFilter { target: Some("alice@contoso.com".into()), ..Default::default() }).await;
        assert_eq!(ours.len(), 3, "[{b}] contoso does not see fabrikam's record about the same UPN");
    }
}

#[tokio::test]
async fn a_stored_source_ip_that_is_not_an_ip_is_an_error() {
    for env in envs().await {
        let b = env.b;
        history(&env).await;
        tessera_store::testing::overwrite_audit_source_ips(env.store(), "not an ip").await;
        let r = env.svc.audit_log(&env.ga, LogFilter::default()).await;
        assert!(matches!(r, Err(CoreError::Store(_))), "[{b}] {r:?}");
    }
}
