//! Listing users: filter by per-user MFA state, UPN-prefix search, cursor paging in UPN order.

use std::collections::HashSet;

use tessera_core::CoreError;
use tessera_core::mfa::PerUserMfaState::{self, *};
use tessera_core::user::User;

use crate::common::{Env, envs};

/// Every page of a listing, following `next` until the end.
async fn all_pages(env: &Env, state: Option<PerUserMfaState>, search: Option<&str>, limit: u32) -> (Vec<User>, usize) {
    let b = env.b;
    let (mut users, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let page = env
            .svc
            .list_users(&env.ga, state, search, Some(limit), cursor.as_deref())
            .await
            .unwrap_or_else(|e| panic!("[{b}] list page {pages}: {e}"));
        pages += 1;
        assert!(page.items.len() <= limit as usize, "[{b}] page {pages} within the limit");
        users.extend(page.items);
        match page.next {
            Some(n) => cursor = Some(n),
            None => return (users, pages),
        }
        assert!(pages < 1000, "[{b}] paging terminates");
    }
}

fn keys(users: &[User]) -> Vec<String> {
    users.iter().map(|u| u.upn.key()).collect()
}

#[tokio::test]
async fn paging_returns_every_user_exactly_once_in_upn_order() {
    for env in envs().await {
        let b = env.b;
        // Mixed case, created out of order: the order is by the lower-cased UPN.
        let upns: Vec<String> = (0..120)
            .rev()
            .map(|i| if i % 3 == 0 { format!("User{i:03}@Contoso.com") } else { format!("user{i:03}@contoso.com") })
            .collect();
        env.import(&upns).await;
        let mut want: Vec<String> = upns.iter().map(|u| u.to_lowercase()).collect();
        want.push("admin@contoso.com".into());
        want.sort();

        let (users, pages) = all_pages(&env, None, None, 50).await;
        assert_eq!(pages, 3, "[{b}] 121 users in pages of 50");
        let got = keys(&users);
        assert_eq!(got, want, "[{b}] every user once, in UPN order");
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), 121, "[{b}] no duplicates");
        let u003 = users.iter().find(|u| u.upn.key() == "user003@contoso.com").unwrap();
        assert_eq!(u003.upn.as_str(), "User003@Contoso.com", "[{b}] UPN as typed");

        // A page size that divides the total exactly still ends.
        let (users, pages) = all_pages(&env, None, None, 121).await;
        assert_eq!((users.len(), pages), (121, 1), "[{b}] one full page, no next");
        let (users, _) = all_pages(&env, None, None, 1).await;
        assert_eq!(keys(&users), want, "[{b}] pages of one");
    }
}

#[tokio::test]
async fn filter_by_state_and_search_by_upn_prefix() {
    for env in envs().await {
        let b = env.b;
        for u in
            ["alice@contoso.com", "Alfred@Contoso.com", "albert@fabrikam.com", "bob@contoso.com", "al_x@contoso.com"]
        {
            env.user(u).await;
        }
        env.set_states(&[
            ("alice@contoso.com", Enforced),
            ("bob@contoso.com", Enforced),
            ("alfred@contoso.com", Enabled),
        ])
        .await;

        let (enforced, _) = all_pages(&env, Some(Enforced), None, 50).await;
        assert_eq!(keys(&enforced), ["alice@contoso.com", "bob@contoso.com"], "[{b}] enforced");
        let (enabled, _) = all_pages(&env, Some(Enabled), None, 50).await;
        assert_eq!(keys(&enabled), ["alfred@contoso.com"], "[{b}] enabled");
        let (disabled, _) = all_pages(&env, Some(Disabled), None, 50).await;
        assert_eq!(keys(&disabled), ["admin@contoso.com", "al_x@contoso.com", "albert@fabrikam.com"], "[{b}] disabled");
        assert!(enforced.iter().all(|u| u.per_user_mfa_state == Enforced), "[{b}] states as filtered");

        let (al, _) = all_pages(&env, None, Some("AL"), 50).await;
        assert_eq!(
            keys(&al),
            ["al_x@contoso.com", "albert@fabrikam.com", "alfred@contoso.com", "alice@contoso.com"],
            "[{b}] prefix search is case-insensitive"
        );
        let (ali, _) = all_pages(&env, None, Some("ali"), 50).await;
        assert_eq!(keys(&ali), ["alice@contoso.com"], "[{b}] longer prefix");
        // `_` and `%` are not wildcards.
        let (lit, _) = all_pages(&env, None, Some("al_"), 50).await;
        assert_eq!(keys(&lit), ["al_x@contoso.com"], "[{b}] '_' is literal");
        let (none, _) = all_pages(&env, None, Some("%"), 50).await;
        assert!(none.is_empty(), "[{b}] '%' is literal");
        let (mid, _) = all_pages(&env, None, Some("contoso"), 50).await;
        assert!(mid.is_empty(), "[{b}] search is a prefix, not a substring");
        let (both, _) = all_pages(&env, Some(Enforced), Some("al"), 50).await;
        assert_eq!(keys(&both), ["alice@contoso.com"], "[{b}] state and search combine");
        let (blank, _) = all_pages(&env, None, Some("  "), 50).await;
        assert_eq!(blank.len(), 6, "[{b}] a blank search is no filter");

        // Paging within a filter.
        let (paged, pages) = all_pages(&env, None, Some("al"), 3).await;
        assert_eq!((keys(&paged), pages), (keys(&al), 2), "[{b}] search pages");
    }
}

#[tokio::test]
async fn invalid_cursor_and_limit_bounds_are_errors() {
    for env in envs().await {
        let b = env.b;
        env.import(&(0..60).map(|i| format!("u{i:02}@contoso.com")).collect::<Vec<_>>()).await;
        for bad in ["!!!", "not base64 at all", "%%%"] {
            let r = env.svc.list_users(&env.ga, None, None, None, Some(bad)).await;
            assert!(matches!(r, Err(CoreError::InvalidCursor(_))), "[{b}] cursor {bad:?}: {r:?}");
        }
        for limit in [0, 501, u32::MAX] {
            let r = env.svc.list_users(&env.ga, None, None, Some(limit), None).await;
            assert!(matches!(r, Err(CoreError::InvalidRequest(_))), "[{b}] limit {limit}: {r:?}");
        }
        let max = env.svc.list_users(&env.ga, None, None, Some(500), None).await.unwrap();
        assert_eq!((max.items.len(), max.next), (61, None), "[{b}] limit 500");
        let one = env.svc.list_users(&env.ga, None, None, Some(1), None).await.unwrap();
        assert_eq!(one.items.len(), 1, "[{b}] limit 1");
        assert!(one.next.is_some(), "[{b}] limit 1 has a next page");
        let default = env.svc.list_users(&env.ga, None, None, None, None).await.unwrap();
        assert_eq!(default.items.len(), 50, "[{b}] default limit 50");
        // A cursor past the end is an empty last page.
        let end = tessera_core::cursor::encode_cursor("zzzz");
        let past = env.svc.list_users(&env.ga, None, None, None, Some(&end)).await.unwrap();
        assert!(past.items.is_empty() && past.next.is_none(), "[{b}] past the end");
    }
}

#[tokio::test]
async fn listing_shows_only_the_actors_tenant_with_roles_and_methods() {
    for env in envs().await {
        let b = env.b;
        let (_, _, other_ga) = env.other_tenant("fabrikam").await;
        env.svc.create_user(&other_ga, crate::common::input("theirs@fabrikam.com", &[], None)).await.unwrap();
        let u = env.user("mine@contoso.com").await;
        tessera_store::testing::seed_method(env.store(), u.id, tessera_core::mfa::MethodKind::Webauthn).await;
        tessera_store::testing::seed_method(env.store(), u.id, tessera_core::mfa::MethodKind::Totp).await;
        let (ours, _) = all_pages(&env, None, None, 50).await;
        assert_eq!(keys(&ours), ["admin@contoso.com", "mine@contoso.com"], "[{b}] only contoso's users");
        use tessera_core::mfa::MethodKind::*;
        assert_eq!(ours[1].methods, vec![Totp, Webauthn], "[{b}] methods listed, sorted");
        assert_eq!(ours[0].roles, vec![tessera_core::access::Role::GlobalAdministrator], "[{b}] roles listed");
    }
}

#[tokio::test]
async fn non_ascii_upns_sort_and_match_the_same_on_every_backend() {
    for env in envs().await {
        let b = env.b;
        for u in ["Åsa@contoso.com", "zed@contoso.com", "Émile@contoso.com", "eve@contoso.com", "ösel@contoso.com"] {
            env.user(u).await;
        }
        // Byte order of the lower-cased UTF-8: every ASCII letter before any accented one.
        let (all, _) = all_pages(&env, None, None, 2).await;
        assert_eq!(
            keys(&all),
            [
                "admin@contoso.com",
                "eve@contoso.com",
                "zed@contoso.com",
                "åsa@contoso.com",
                "émile@contoso.com",
                "ösel@contoso.com"
            ],
            "[{b}] byte order"
        );
        let (a, _) = all_pages(&env, None, Some("ÅS"), 50).await;
        assert_eq!(keys(&a), ["åsa@contoso.com"], "[{b}] non-ASCII prefix, any case");
        let (e, _) = all_pages(&env, None, Some("e"), 50).await;
        assert_eq!(keys(&e), ["eve@contoso.com"], "[{b}] 'e' does not match 'é'");
        assert!(env.get("ÉMILE@CONTOSO.COM").await.is_some(), "[{b}] found in any case");
    }
}
