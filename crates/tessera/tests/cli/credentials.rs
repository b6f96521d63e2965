//! `tessera users app-passwords list|delete` and `tessera users remembered-devices list|forget`
//! (alias `devices`): a user makes an app password and ticks "Don't ask again" in a browser;
//! the administrator sees both, deletes the app password (the legacy client's bind then fails)
//! and forgets the device (the browser is asked for the code again). And who may do that.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tessera_core::session::SessionStage;

use crate::direct::{Authenticator, BROWSER_AGENT, BROWSER_IP, Direct};
use crate::harness::{ADMIN, ADMIN_PASSWORD, Env, items, text, text_of};

on_both_backends!(admins_list_and_remove_app_passwords_and_remembered_devices, helpdesk_and_other_tenants_are_refused,);

pub const IVY: &str = "ivy@contoso.com";
const PAT: &str = "pat@contoso.com";
const HAL: &str = "hal@contoso.com";
pub const PASSWORD: &str = "Users-Own-Password-7";

/// Ivy, Enforced with an authenticator app, signed in with her code in the browser, in a
/// tenant that allows app passwords and remembered devices. Returns the direct node, her
/// authenticator and her signed-in session.
pub fn ivy_signed_in(env: &Env) -> (Direct, Authenticator, String) {
    env.login();
    env.tessera(&["settings", "mfa", "set", "--allow-app-passwords", "true", "--allow-remember-devices", "true"])
        .ok()
        .stdout_has("Allow remembered devices:        yes");
    env.add_user_with(IVY, PASSWORD, &[]);
    env.tessera(&["mfa", "enable", IVY]).ok();
    let direct = Direct::open(env);
    let mut app = direct.register_totp(IVY, PASSWORD);
    let session = direct.sign_in_with_code(IVY, PASSWORD, &mut app);
    (direct, app, session)
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().expect("an object").keys().map(String::as_str).collect()
}

fn admins_list_and_remove_app_passwords_and_remembered_devices(env: Env) {
    let (direct, _app, session) = ivy_signed_in(&env);
    env.tessera(&["users", "app-passwords", "list", IVY]).ok().stdout_has("No app passwords for ivy@contoso.com.");
    env.tessera(&["users", "devices", "list", IVY]).ok().stdout_has("No remembered devices for ivy@contoso.com.");

    let mail = direct.create_app_password(&session, "Mail on my phone");
    let printer = direct.create_app_password(&session, "Printer");
    let device = direct.remember_device(&session);
    assert!(direct.legacy_bind(IVY, &mail), "the mail client binds with its app password");
    assert_eq!(direct.sign_in_on_device(IVY, PASSWORD, &device), SessionStage::SignedIn, "no prompt on the device");

    // App passwords: a table, and the server's JSON; never a secret.
    let table = env.tessera(&["users", "app-passwords", "list", IVY]).ok();
    let header = table.stdout.lines().next().unwrap_or_default().to_owned();
    for column in ["ID", "NAME", "CREATED", "LAST USED"] {
        assert!(header.contains(column), "no {column} column: {table}");
    }
    assert_eq!(table.stdout.lines().count(), 3, "{table}");
    let table = table.stdout_has("Mail on my phone").stdout_has("Printer").stdout_has("never");
    for secret in [&mail, &printer] {
        assert!(!table.stdout.contains(secret.as_str()), "no secret is shown: {table}");
    }
    let listed = items(env.json(&["users", "app-passwords", "list", IVY]));
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(keys(&listed[0]), ["createdAt", "id", "lastUsedAt", "name"].into_iter().collect());
    assert_eq!((text(&listed[0]["name"]), text(&listed[1]["name"])), ("Mail on my phone".into(), "Printer".into()));
    assert!(listed[0]["lastUsedAt"].is_string(), "the bind marked it used: {}", listed[0]);
    assert_eq!(listed[1]["lastUsedAt"], Value::Null);
    let mail_id = text_of(&listed[0], "id");
    assert!(table.stdout.contains(&mail_id), "the table shows the JSON's id: {table}");

    // Remembered devices, listed under either name.
    let table = env.tessera(&["users", "remembered-devices", "list", IVY]).ok();
    let header = table.stdout.lines().next().unwrap_or_default().to_owned();
    for column in ["ID", "REMEMBERED", "LAST USED", "EXPIRES", "IP", "USER AGENT"] {
        assert!(header.contains(column), "no {column} column: {table}");
    }
    let table = table.stdout_has(BROWSER_IP).stdout_has("e2e-test-browser");
    assert!(!table.stdout.contains(&device), "the device's token is never shown: {table}");
    let devices = items(env.json(&["users", "devices", "list", IVY]));
    assert_eq!(devices.len(), 1, "{devices:?}");
    let expected = ["createdAt", "expiresAt", "id", "lastUsedAt", "sourceIp", "userAgent"].into_iter().collect();
    assert_eq!(keys(&devices[0]), expected);
    assert_eq!((&devices[0]["sourceIp"], &devices[0]["userAgent"]), (&json!(BROWSER_IP), &json!(BROWSER_AGENT)));
    assert!(devices[0]["lastUsedAt"].is_string(), "the sign-in on the device used it: {}", devices[0]);
    let device_id = text_of(&devices[0], "id");

    // Delete the mail client's app password: its bind fails, the printer's stays.
    env.tessera(&["users", "app-passwords", "delete", IVY, &mail_id])
        .ok()
        .stdout_has(&format!("Deleted app password {mail_id} of ivy@contoso.com."));
    assert!(!direct.legacy_bind(IVY, &mail), "a deleted app password no longer binds");
    assert!(direct.legacy_bind(IVY, &printer), "the other one still does");
    let left = items(env.json(&["users", "app-passwords", "list", IVY]));
    assert_eq!(left.iter().map(|a| text_of(a, "name")).collect::<Vec<_>>(), ["Printer"]);

    // Forget the device: the browser is asked for the code again.
    env.tessera(&["users", "devices", "forget", IVY, &device_id])
        .ok()
        .stdout_has(&format!("Forgot remembered device {device_id} of ivy@contoso.com."));
    assert_eq!(direct.sign_in_on_device(IVY, PASSWORD, &device), SessionStage::MfaRequired);
    assert_eq!(items(env.json(&["users", "devices", "list", IVY])), Vec::<Value>::new());

    let deleted = env.audit(Some("user.appPassword.delete"));
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!((text_of(&deleted[0], "actorUpn"), text_of(&deleted[0], "targetUpn")), (ADMIN.into(), IVY.into()));
    assert_eq!(deleted[0]["before"], json!({"id": mail_id, "name": "Mail on my phone"}));
    let forgotten = env.audit(Some("user.rememberedDevice.delete"));
    assert_eq!(forgotten.len(), 1, "{forgotten:?}");
    assert_eq!(forgotten[0]["before"], json!({"id": device_id}));

    // Already gone, one of several: reported, the others still done, exit code 5.
    let printer_id = text_of(&left[0], "id");
    let run = env.tessera(&["users", "app-passwords", "delete", IVY, &mail_id, &printer_id]).code(5);
    let run =
        run.stderr_has(&format!("app password {mail_id}")).stderr_has("1 of 2 app password(s) could not be deleted");
    run.stdout_has(&format!("Deleted app password {printer_id}"));
    assert!(!direct.legacy_bind(IVY, &printer));
    let run = env.tessera(&["users", "devices", "forget", IVY, &device_id, "--output", "json"]).code(5);
    let report = run.json();
    assert_eq!(report["forgotten"], json!([]), "{run}");
    assert_eq!((text(&report["user"]), text(&report["failed"][0]["id"])), (IVY.into(), device_id.clone()));
    // Bad input is refused before anything is sent; unknown users are not found.
    env.tessera(&["users", "app-passwords", "delete", IVY, "not-an-id"])
        .code(6)
        .stderr_has("'not-an-id' is not the id of an app password");
    env.tessera(&["users", "devices", "forget", "ivy", &device_id]).code(6).stderr_has("'ivy' is not a valid UPN");
    env.tessera(&["users", "app-passwords", "list", "ghost@contoso.com"]).code(5).stderr_has("[not_found]");
    env.tessera(&["users", "devices", "list", "ghost@contoso.com"]).code(5);
    env.tessera(&["users", "app-passwords", "delete", IVY]).code(2);
    assert_eq!(env.audit(Some("user.appPassword.delete")).len(), 2, "only what was done is audited");
    assert_eq!(env.audit(Some("user.rememberedDevice.delete")).len(), 1);
}

fn helpdesk_and_other_tenants_are_refused(env: Env) {
    let (direct, _app, session) = ivy_signed_in(&env);
    let secret = direct.create_app_password(&session, "Mail");
    direct.remember_device(&session);
    let ivys_app_password = text_of(&items(env.json(&["users", "app-passwords", "list", IVY]))[0], "id");
    let ivys_device = text_of(&items(env.json(&["users", "devices", "list", IVY]))[0], "id");
    env.add_user_with(HAL, PASSWORD, &["helpdeskAdministrator"]);
    env.add_user_with(PAT, PASSWORD, &["authenticationAdministrator"]);
    let (hal, pat) = (env.path("hal-config"), env.path("pat-config"));
    env.login_as(&hal, &env.url, HAL, PASSWORD, None).ok();
    env.login_as(&pat, &env.url, PAT, PASSWORD, None).ok();
    let admin_session = direct.sign_in(ADMIN, ADMIN_PASSWORD).token;
    direct.create_app_password(admin_session.expose(), "Admin's mail");
    let admins_app_password = text_of(&items(env.json(&["users", "app-passwords", "list", ADMIN]))[0], "id");

    // Helpdesk reads app passwords (the directory), not devices (sign-in data); an
    // Authentication Administrator reads both. Neither touches an administrator's.
    env.tessera_in(&hal, &["users", "app-passwords", "list", IVY]).ok().stdout_has("Mail");
    env.tessera_in(&hal, &["users", "devices", "list", IVY]).code(4).stderr_has("[forbidden]");
    env.tessera_in(&pat, &["users", "devices", "list", IVY]).ok().stdout_has(BROWSER_IP);
    for config in [&hal, &pat] {
        env.tessera_in(config, &["users", "app-passwords", "delete", ADMIN, &admins_app_password])
            .code(4)
            .stderr_has("1 of 1 app password(s) could not be deleted");
    }
    assert_eq!(items(env.json(&["users", "app-passwords", "list", ADMIN])).len(), 1);

    // Another tenant's Global Administrator does not find Contoso's users at all.
    direct.add_tenant("fabrikam", "admin@fabrikam.com", ADMIN_PASSWORD);
    let fabrikam = env.path("fabrikam-config");
    let password_file = env.admin_password_file().display().to_string();
    env.tessera_in(
        &fabrikam,
        &[
            "login",
            "--server",
            &env.url,
            "--tenant",
            "fabrikam",
            "--upn",
            "admin@fabrikam.com",
            "--password-file",
            &password_file,
        ],
    )
    .ok();
    env.tessera_in(&fabrikam, &["users", "app-passwords", "list", IVY]).code(5);
    env.tessera_in(&fabrikam, &["users", "devices", "list", IVY]).code(5);
    env.tessera_in(&fabrikam, &["users", "app-passwords", "delete", IVY, &ivys_app_password]).code(5);
    env.tessera_in(&fabrikam, &["users", "devices", "forget", IVY, &ivys_device]).code(5);
    assert!(direct.legacy_bind(IVY, &secret), "Ivy's app password still works");
    assert_eq!(items(env.json(&["users", "devices", "list", IVY])).len(), 1, "and her device is remembered");
    assert_eq!(env.audit(Some("user.appPassword.delete")), Vec::<Value>::new());
    assert_eq!(env.audit(Some("user.rememberedDevice.delete")), Vec::<Value>::new());

    // Helpdesk may remove a plain user's.
    env.tessera_in(&hal, &["users", "devices", "forget", IVY, &ivys_device]).ok();
    env.tessera_in(&hal, &["users", "app-passwords", "delete", IVY, &ivys_app_password]).ok();
    assert!(!direct.legacy_bind(IVY, &secret));
    let by_hal = env.audit(Some("user.appPassword.delete"));
    assert_eq!(text_of(&by_hal[0], "actorUpn"), HAL);
}
