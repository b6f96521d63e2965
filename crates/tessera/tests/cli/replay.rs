//! Two real `tessera serve` processes on one PostgreSQL database with one shared key file,
//! as two nodes of a deployment: a one-time code accepted by one node is refused by the
//! other (`401 invalid_otp`), a recovery code works once across both, and revoking a user's
//! sessions on one node ends their token on the other. PostgreSQL only: SQLite is the
//! embedded, single-node database.

use serde_json::{Value, json};

use crate::direct::Direct;
use crate::harness::{Env, TENANT, post_anonymous, text_of};

mod postgres {
    #[test]
    fn a_code_is_accepted_once_across_two_servers() {
        if let Some(backend) = crate::harness::Backend::postgres() {
            super::a_code_is_accepted_once_across_two_servers(crate::harness::Env::start_with_key_file(backend));
        }
    }
}

const OLGA: &str = "olga@contoso.com";
const PASSWORD: &str = "Olgas-Password-42";

fn token_request(server: &str, otp: &str) -> (u16, Value) {
    let body = json!({"tenant": TENANT, "upn": OLGA, "password": PASSWORD, "otp": otp});
    post_anonymous(&format!("{server}/api/v1/auth/token"), &body)
}

fn a_code_is_accepted_once_across_two_servers(mut env: Env) {
    let (a, b) = (env.url.clone(), env.start_another_server());
    assert_ne!(a, b);
    env.login();
    env.add_user_with(OLGA, PASSWORD, &["helpdeskAdministrator"]);
    env.tessera(&["mfa", "enforce", OLGA]).ok();
    let mut app = Direct::open(&env).register_totp(OLGA, PASSWORD);

    // A TOTP code: accepted by A, then refused by B.
    let code = app.fresh_code();
    let (status, body) = token_request(&a, &code);
    assert_eq!(status, 200, "server A: {body}");
    assert_eq!(body["token_type"], "Bearer");
    let (status, body) = token_request(&b, &code);
    assert_eq!((status, text_of(&body, "error")), (401, "invalid_otp".to_owned()), "server B replay: {body}");
    // The token of A works on B (one database).
    let token = text_of(&token_request(&a, &app.recovery_codes[1]).1, "access_token");
    let users = reqwest_get(&format!("{b}/api/v1/tenants/{TENANT}/users"), &token);
    assert_eq!(users.0, 200, "{}", users.1);

    // A recovery code through the CLI: on B once, then refused on A.
    let olga = env.path("olga-config");
    let recovery = app.recovery_codes[5].clone();
    env.login_as(&olga, &b, OLGA, PASSWORD, Some(&recovery)).ok().stdout_has(&b);
    env.login_as(&olga, &a, OLGA, PASSWORD, Some(&recovery)).code(3).stderr_has("not accepted");
    let (status, body) = token_request(&b, &recovery);
    assert_eq!((status, text_of(&body, "error")), (401, "invalid_otp".to_owned()), "{body}");

    // Olga's CLI session is on B; the administrator on A revokes all her sessions: three API
    // tokens and the browser session of the registration.
    env.tessera_in(&olga, &["users", "list"]).ok();
    env.tessera(&["users", "revoke-sessions", OLGA]).ok().stdout_has("olga@contoso.com: ended 4 sessions");
    env.tessera_in(&olga, &["users", "list"]).code(3);
    assert_eq!(reqwest_get(&format!("{b}/api/v1/tenants/{TENANT}/users"), &token).0, 401);
}

fn reqwest_get(url: &str, token: &str) -> (u16, Value) {
    crate::harness::block_on(async move {
        let response = reqwest::Client::new().get(url).bearer_auth(token).send().await.expect("GET the API");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}
