//! `tessera users sessions` and `tessera users revoke-sessions`: an administrator sees a
//! user's sessions and ends all of them, browser sessions and the API token the user's own
//! `tessera login` made, whose next command then fails with exit code 3; and what a Helpdesk
//! administrator may revoke.

use std::collections::BTreeSet;

use serde_json::json;

use crate::direct::{BROWSER_AGENT, BROWSER_IP, Direct};
use crate::harness::{ADMIN, Env, items, text, text_of};

on_both_backends!(
    revoked_sessions_end_the_users_cli_session,
    helpdesk_may_revoke_a_users_sessions_but_not_a_global_admins,
);

const HAL: &str = "hal@contoso.com";
const PAT: &str = "pat@contoso.com";
const PASSWORD: &str = "Users-Own-Password-7";
const HELPDESK: &str = "helpdeskAdministrator";

fn revoked_sessions_end_the_users_cli_session(env: Env) {
    env.login();
    env.add_user_with(HAL, PASSWORD, &[HELPDESK]);
    let hal = env.path("hal-config");

    // Hal signs in twice: `tessera login` (an API token) and a browser (a session).
    env.login_as(&hal, &env.url, HAL, PASSWORD, None).ok().stdout_has("Logged in to");
    env.tessera_in(&hal, &["users", "list"]).ok().stdout_has(HAL);
    let direct = Direct::open(&env);
    let browser = direct.sign_in(HAL, PASSWORD);
    assert!(direct.session_alive(browser.token.expose()));

    let table = env.tessera(&["users", "sessions", HAL]).ok();
    let header = table.stdout.lines().next().unwrap_or_default().to_owned();
    for column in ["ID", "CREATED", "LAST SEEN", "EXPIRES", "STAGE", "IP", "USER AGENT"] {
        assert!(header.contains(column), "no {column} column: {table}");
    }
    assert_eq!(table.stdout.lines().count(), 2, "one browser session (API tokens are not listed): {table}");
    let table = table.stdout_has("signed_in").stdout_has(BROWSER_IP).stdout_has("e2e-test-browser");
    assert!(!table.stdout.contains(browser.token.expose()), "the session's secret is never shown: {table}");

    let listed = items(env.json(&["users", "sessions", HAL]));
    assert_eq!(listed.len(), 1, "{listed:?}");
    let session = &listed[0];
    let keys: BTreeSet<&str> = session.as_object().expect("a session object").keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> =
        ["id", "createdAt", "lastSeenAt", "expiresAt", "stage", "sourceIp", "userAgent"].into_iter().collect();
    assert_eq!(keys, expected, "{session}");
    assert_eq!(session["stage"], "signed_in");
    assert_eq!(session["sourceIp"], BROWSER_IP);
    assert_eq!(session["userAgent"], BROWSER_AGENT);
    assert!(table.stdout.contains(&text_of(session, "id")), "the table shows the JSON's id: {table}");

    // "Revoke all sessions": the browser session and the CLI's API token.
    env.tessera(&["users", "revoke-sessions", HAL])
        .ok()
        .stdout_has("hal@contoso.com: ended 2 sessions and API tokens.");
    env.tessera_in(&hal, &["users", "list"])
        .code(3)
        .stderr_has("session is no longer valid")
        .stderr_has("tessera login");
    assert!(!direct.session_alive(browser.token.expose()), "the browser session ended too");
    env.tessera(&["users", "sessions", HAL]).ok().stdout_has("No active sessions for hal@contoso.com");
    assert_eq!(items(env.json(&["users", "sessions", HAL])), Vec::<serde_json::Value>::new());

    let records = env.audit(Some("user.sessions.revoke"));
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["actorUpn"], ADMIN);
    assert_eq!(records[0]["targetUpn"], HAL);
    assert_eq!(records[0]["after"], json!({"revoked": 2}));

    // The administrator's own session is untouched; unknown users are reported, the others
    // are still done; nothing left to end is not an error.
    let run = env.tessera(&["users", "revoke-sessions", "ghost@contoso.com", HAL]).code(5);
    let run = run.stderr_has("ghost@contoso.com").stderr_has("1 of 2 user(s) could not be revoked");
    run.stdout_has("hal@contoso.com: no active sessions or API tokens");
    let run = env.tessera(&["users", "revoke-sessions", HAL, "ghost@contoso.com", "--output", "json"]).code(5);
    let report = run.json();
    assert_eq!(report["results"], json!([{"user": HAL, "revoked": 0}]), "{run}");
    assert_eq!(text(&report["failed"][0]["user"]), "ghost@contoso.com", "{run}");
    env.tessera(&["users", "revoke-sessions", "not-a-upn"]).code(6);

    // Revoking does not lock the account: Hal signs in again.
    env.login_as(&hal, &env.url, HAL, PASSWORD, None).ok();
    env.tessera_in(&hal, &["users", "list"]).ok();
}

fn helpdesk_may_revoke_a_users_sessions_but_not_a_global_admins(env: Env) {
    env.login();
    env.add_user_with(HAL, PASSWORD, &[HELPDESK]);
    env.add_user_with(PAT, PASSWORD, &[]);
    let (hal, pat) = (env.path("hal-config"), env.path("pat-config"));
    env.login_as(&hal, &env.url, HAL, PASSWORD, None).ok();
    env.login_as(&pat, &env.url, PAT, PASSWORD, None).ok();
    // Pat's token works, but a user without roles may not read the directory.
    env.tessera_in(&pat, &["users", "show", PAT]).code(4);

    // Sessions carry IPs and user agents (sign-in data): Helpdesk may not list them, only revoke.
    env.tessera_in(&hal, &["users", "sessions", PAT]).code(4);
    env.tessera_in(&hal, &["users", "revoke-sessions", PAT]).ok().stdout_has("pat@contoso.com: ended 1 session");
    // Now Pat is not logged in any more: exit code 3, not 4.
    env.tessera_in(&pat, &["users", "show", PAT]).code(3).stderr_has("tessera login");

    // The Global Administrator's sessions are out of a Helpdesk administrator's reach.
    env.tessera_in(&hal, &["users", "revoke-sessions", ADMIN]).code(4).stderr_has(ADMIN);
    env.tessera(&["users", "list"]).ok().stdout_has(HAL);
    // Mixed: the refused one is reported, the other one is still done.
    env.login_as(&pat, &env.url, PAT, PASSWORD, None).ok();
    let run = env.tessera_in(&hal, &["users", "revoke-sessions", ADMIN, PAT]).code(4);
    run.stdout_has("pat@contoso.com: ended 1 session").stderr_has("1 of 2 user(s) could not be revoked");
    env.tessera_in(&pat, &["users", "show", PAT]).code(3);
    env.tessera(&["users", "list"]).ok();

    let by_hal: Vec<String> = env
        .audit(Some("user.sessions.revoke"))
        .iter()
        .filter(|r| r["actorUpn"] == HAL)
        .map(|r| text(&r["targetUpn"]))
        .collect();
    assert_eq!(by_hal, [PAT, PAT], "only what was done is audited");
}
