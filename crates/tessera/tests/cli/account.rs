//! `tessera users update USER --disable|--enable --password-file FILE`: disabling ends the
//! user's CLI session, browser sessions and remembered devices and stops every sign-in (app
//! passwords too); enabling with a new password lets the user back in with it. Bad input and
//! other roles change nothing.

use serde_json::json;

use crate::credentials::{IVY, PASSWORD, ivy_signed_in};
use crate::harness::{ADMIN, Env, items, text_of};

on_both_backends!(users_update_disables_enables_and_sets_a_password, users_update_refuses_bad_input_and_other_roles);

fn users_update_disables_enables_and_sets_a_password(env: Env) {
    let (direct, app, session) = ivy_signed_in(&env);
    let app_password = direct.create_app_password(&session, "Mail");
    let device = direct.remember_device(&session);
    let ivy = env.path("ivy-config");
    // A recovery code (no wait for the app's next time step).
    env.login_as(&ivy, &env.url, IVY, PASSWORD, Some(&app.recovery_codes[0])).ok();

    env.tessera(&["users", "update", IVY, "--disable"])
        .ok()
        .stdout_has("Disabled the account of ivy@contoso.com: its sessions, API tokens and remembered devices ended.");
    assert_eq!(env.json(&["users", "show", IVY])["accountEnabled"], false);
    env.tessera(&["users", "show", IVY]).ok().stdout_has("Account enabled: no");
    // Everything Ivy had signed in with has ended; nothing signs her in now.
    env.tessera_in(&ivy, &["users", "show", IVY]).code(3).stderr_has("tessera login");
    assert!(!direct.session_alive(&session), "the browser session ended");
    assert_eq!(items(env.json(&["users", "devices", "list", IVY])), Vec::<serde_json::Value>::new());
    env.login_as(&ivy, &env.url, IVY, PASSWORD, None).code(3).stderr_has("disabled");
    assert!(!direct.legacy_bind(IVY, &app_password), "no bind with an app password either");
    assert_eq!(items(env.json(&["users", "app-passwords", "list", IVY])).len(), 1, "app passwords are kept");

    let records = env.audit(Some("user.account.update"));
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!((text_of(&records[0], "actorUpn"), text_of(&records[0], "targetUpn")), (ADMIN.into(), IVY.into()));
    assert_eq!(records[0]["before"], json!({"accountEnabled": true}));
    let after = &records[0]["after"];
    assert_eq!((&after["accountEnabled"], &after["rememberedDevicesDeleted"]), (&json!(false), &json!(1)), "{after}");
    assert!(after["sessionsRevoked"].as_u64().is_some_and(|n| n >= 2), "browser session and API token: {after}");

    // Enabled again with a new password: the old one is refused, the new one works, and so
    // does the kept app password; the forgotten device asks for the code again.
    let new_password = "Ivys-New-Password-8";
    let file = env.write("ivy-new.pw", format!("{new_password}\n"));
    let user = env.json(&["users", "update", IVY, "--enable", "--password-file", &file]);
    assert_eq!((user["upn"].clone(), user["accountEnabled"].clone()), (json!(IVY), json!(true)), "{user}");
    env.login_as(&ivy, &env.url, IVY, PASSWORD, None).code(3).stderr_has("invalid credentials");
    env.login_as(&ivy, &env.url, IVY, new_password, Some(&app.recovery_codes[1])).ok();
    assert!(direct.legacy_bind(IVY, &app_password));
    assert_eq!(direct.sign_in_on_device(IVY, new_password, &device), tessera_core::session::SessionStage::MfaRequired);
    let records = env.audit(Some("user.account.update"));
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["after"]["password"], "changed", "{}", records[0]);
    assert!(!records[0].to_string().contains(new_password), "the password is never audited");

    let run = env.tessera(&["users", "update", IVY, "--password-file", &file]).ok();
    run.stdout_has("Set a new password for ivy@contoso.com: its remembered devices ended.");
}

fn users_update_refuses_bad_input_and_other_roles(env: Env) {
    env.login();
    env.add_user_with("jo@contoso.com", PASSWORD, &[]);
    env.add_user_with("hal@contoso.com", PASSWORD, &["helpdeskAdministrator"]);
    let hal = env.path("hal-config");
    env.login_as(&hal, &env.url, "hal@contoso.com", PASSWORD, None).ok();
    let short = env.write("short.pw", "short\n");
    let missing = env.path("missing.pw").display().to_string();

    env.tessera(&["users", "update", "jo@contoso.com"]).code(2);
    env.tessera(&["users", "update", "jo@contoso.com", "--disable", "--enable"]).code(2);
    env.tessera(&["users", "update", "jo@contoso.com", "--password-file", &missing])
        .code(6)
        .stderr_has("cannot read password file");
    env.tessera(&["users", "update", "jo@contoso.com", "--disable", "--password-file", &short])
        .code(6)
        .stderr_has("8-256 characters")
        .stderr_has("[invalid_request]");
    env.tessera(&["users", "update", "jo", "--disable"]).code(6).stderr_has("'jo' is not a valid UPN");
    env.tessera(&["users", "update", "ghost@contoso.com", "--disable"]).code(5).stderr_has("[not_found]");
    env.tessera(&["users", "update", ADMIN, "--disable"]).code(6).stderr_has("your own account");
    env.tessera_in(&hal, &["users", "update", "jo@contoso.com", "--disable"]).code(4).stderr_has("[forbidden]");
    env.tessera_in(&hal, &["users", "update", "jo@contoso.com", "--password-file", &short]).code(4);

    assert_eq!(env.json(&["users", "show", "jo@contoso.com"])["accountEnabled"], true);
    env.login_as(&env.path("jo-config"), &env.url, "jo@contoso.com", PASSWORD, None).ok();
    assert_eq!(env.audit(Some("user.account")), Vec::<serde_json::Value>::new(), "nothing was changed");
}
