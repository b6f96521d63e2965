//! `tessera login --otp CODE` for a user who must use MFA: the code of their authenticator
//! app or a recovery code, each accepted once; a wrong or used code is exit code 3, and too
//! many wrong ones lock the account for a while (exit code 9). The authenticator is
//! registered through the services on the servers' database (see `direct.rs`).

use serde_json::Value;

use crate::direct::Direct;
use crate::harness::{Env, Run, items, text};

on_both_backends!(login_takes_a_one_time_code_once, wrong_codes_lock_the_account_for_a_while);

const OLGA: &str = "olga@contoso.com";
const PASSWORD: &str = "Olgas-Password-42";

/// Olga: a Helpdesk administrator (so her CLI can list users) with a password, Enforced.
fn enforced_olga(env: &Env) {
    env.login();
    env.add_user_with(OLGA, PASSWORD, &["helpdeskAdministrator"]);
    env.tessera(&["mfa", "enforce", OLGA]).ok();
}

fn login(env: &Env, otp: Option<&str>) -> Run {
    env.login_as(&env.path("olga-config"), &env.url, OLGA, PASSWORD, otp)
}

/// Olga's sign-ins through the API in the sign-in log, oldest first: (result, failure
/// reason, method).
fn api_signins(env: &Env) -> Vec<(String, String, String)> {
    let show = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let mut rows: Vec<_> = items(env.json(&["signins", "--all", "--user", OLGA]))
        .iter()
        .filter(|r| r["client"] == "api")
        .map(|r| (text(&r["result"]), show(&r["failureReason"]), show(&r["mfaMethod"])))
        .collect();
    rows.reverse();
    rows
}

fn login_takes_a_one_time_code_once(env: Env) {
    enforced_olga(&env);
    let olga = env.path("olga-config");
    login(&env, None).code(3).stderr_has("must register an MFA method first");

    let mut app = Direct::open(&env).register_totp(OLGA, PASSWORD);
    login(&env, None).code(3).stderr_has("needs a second factor").stderr_has("--otp CODE");

    let code = app.fresh_code();
    login(&env, Some(&code)).ok().stdout_has("Logged in to");
    env.tessera_in(&olga, &["users", "list"]).ok().stdout_has(OLGA);
    // The same code again is refused, and so are a wrong one and one that is no code at all.
    login(&env, Some(&code)).code(3).stderr_has("not accepted").stderr_lacks(&code);
    login(&env, Some(&app.wrong_code())).code(3).stderr_has("not accepted");
    login(&env, Some("not a code")).code(3);

    // A recovery code, typed as people do: once.
    let recovery = app.recovery_codes[0].to_lowercase();
    login(&env, Some(&recovery)).ok();
    env.tessera_in(&olga, &["users", "list"]).ok();
    login(&env, Some(&app.recovery_codes[0])).code(3).stderr_has("not accepted");

    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        api_signins(&env),
        [
            s("failure", "mfa_registration_required", "-"),
            s("failure", "mfa_required", "-"),
            s("success", "-", "totp"),
            s("failure", "invalid_otp", "-"),
            s("failure", "invalid_otp", "-"),
            s("failure", "invalid_otp", "-"),
            s("success", "-", "recoveryCode"),
            s("failure", "invalid_otp", "-"),
        ]
    );
}

fn wrong_codes_lock_the_account_for_a_while(env: Env) {
    enforced_olga(&env);
    let mut app = Direct::open(&env).register_totp(OLGA, PASSWORD);
    let wrong = app.wrong_code();
    for attempt in 1..=5 {
        let run = login(&env, Some(&wrong));
        assert_eq!(run.code, 3, "attempt {attempt}: {run}");
    }
    // Locked: even the right code waits now.
    let run = login(&env, Some(&app.fresh_code())).code(9);
    run.stderr_has("too many attempts, try again later").stderr_has("too_many_requests");
    let log = api_signins(&env);
    assert_eq!(log.last().map(|r| r.1.as_str()), Some("locked_out"), "{log:?}");
    assert!(!env.path("olga-config").join("credentials.json").exists(), "no session was stored");
}
