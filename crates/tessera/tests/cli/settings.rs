//! `tessera settings mfa show|set`: the tenant's MFA service settings.

use serde_json::json;

use crate::harness::Env;

on_both_backends!(mfa_settings_show_and_set);

fn mfa_settings_show_and_set(env: Env) {
    env.login();
    let defaults = env.json(&["settings", "mfa", "show"]);
    assert_eq!(defaults["rememberDeviceDays"], 14, "{defaults}");
    assert_eq!(defaults["trustedIpRanges"], json!([]));
    let audit = env.audit(Some("settings.")).len();

    // The server owns the range: its message and exit 6, nothing changed.
    env.tessera(&["settings", "mfa", "set", "--remember-device-days", "400"])
        .code(6)
        .stderr_has("rememberDeviceDays must be 1-365, got 400 [invalid_setting]");
    env.tessera(&["settings", "mfa", "set", "--remember-device-days", "0"]).code(6).stderr_has("[invalid_setting]");
    env.tessera(&["settings", "mfa", "set", "--trusted-ip", "10.0.0.0/33"])
        .code(6)
        .stderr_has("--trusted-ip '10.0.0.0/33' is not a CIDR range");
    env.tessera(&["settings", "mfa", "set", "--remember-device-days", "many"]).code(2);
    assert_eq!(env.json(&["settings", "mfa", "show"]), defaults);
    assert_eq!(env.audit(Some("settings.")).len(), audit);

    let set = env.json(&["settings", "mfa", "set", "--remember-device-days", "30", "--trusted-ip", "10.0.0.0/8"]);
    let shown = env.json(&["settings", "mfa", "show"]);
    assert_eq!(set, shown);
    assert_eq!(shown["rememberDeviceDays"], 30);
    assert_eq!(shown["trustedIpRanges"], json!(["10.0.0.0/8"]));
    assert_eq!(shown["allowedMethods"], defaults["allowedMethods"], "settings not given stay as they were");
    assert_eq!(shown["allowAppPasswords"], defaults["allowAppPasswords"]);
    env.tessera(&["settings", "mfa", "show"])
        .ok()
        .stdout_has("Trusted IP ranges:               10.0.0.0/8\n")
        .stdout_has("Remember MFA on trusted devices: 30 days\n");
    let records = env.audit(Some("settings.mfa.update"));
    assert_eq!(records.len(), audit + 1);
    assert_eq!(records[0]["after"]["rememberDeviceDays"], 30, "{}", records[0]);

    env.tessera(&["settings", "mfa", "set", "--clear-trusted-ips", "--allow-app-passwords", "true"]).ok();
    let cleared = env.json(&["settings", "mfa", "show"]);
    assert_eq!((cleared["trustedIpRanges"].clone(), cleared["allowAppPasswords"].clone()), (json!([]), json!(true)));
    assert_eq!(cleared["rememberDeviceDays"], 30);

    // Remembering devices ("Don't ask again"): off by default, turned on and off again.
    assert_eq!(defaults["allowRememberDevices"], false, "{defaults}");
    env.tessera(&["settings", "mfa", "set", "--allow-remember-devices", "true"])
        .ok()
        .stdout_has("Allow remembered devices:        yes\n");
    assert_eq!(env.json(&["settings", "mfa", "show"])["allowRememberDevices"], true);
    let records = env.audit(Some("settings.mfa.update"));
    assert_eq!(records[0]["after"]["allowRememberDevices"], true, "{}", records[0]);
    let off = env.json(&["settings", "mfa", "set", "--allow-remember-devices", "false"]);
    assert_eq!((off["allowRememberDevices"].clone(), off["rememberDeviceDays"].clone()), (json!(false), json!(30)));
    env.tessera(&["settings", "mfa", "set", "--allow-remember-devices", "maybe"]).code(2);
    env.tessera(&["settings", "mfa", "show"]).ok().stdout_has("Allow remembered devices:        no\n");
}
