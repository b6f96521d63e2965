//! `tessera mfa status|enable|enforce|disable|apply|reset`: one user or in bulk from a CSV,
//! all or nothing, with the audit trail; and what a Helpdesk administrator may not do.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::harness::{ADMIN, Env, TENANT, text, text_of};

on_both_backends!(
    apply_a_microsoft_bulk_update_csv,
    enforce_from_csv_dry_run_then_apply,
    bad_rows_and_unknown_users_change_nothing,
    reset_manages_user_settings,
    helpdesk_may_not_enforce,
);

const USERS: [&str; 5] =
    ["alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "dave@contoso.com", "erin@contoso.com"];

fn owned(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rows.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned())).collect()
}

fn states_of(env: &Env, upns: &[&str]) -> BTreeMap<String, String> {
    let mut args = vec!["mfa", "status"];
    args.extend(upns);
    let users = env.json(&args);
    users
        .as_array()
        .expect("an array of users")
        .iter()
        .map(|u| (text(&u["upn"]), text(&u["perUserMfaState"])))
        .collect()
}

/// (target, before, after) of audit records, sorted by target.
fn changes(records: &[Value]) -> Vec<(String, Value, Value)> {
    let mut changes: Vec<_> =
        records.iter().map(|r| (text(&r["targetUpn"]), r["before"].clone(), r["after"].clone())).collect();
    changes.sort_by(|a, b| a.0.cmp(&b.0));
    changes
}

fn apply_a_microsoft_bulk_update_csv(env: Env) {
    env.login();
    env.add_users(&USERS);
    env.tessera(&["mfa", "enable", "carol@contoso.com"]).ok().stdout_has("disabled → enabled");

    // As saved by Excel from Microsoft's page: BOM, CRLF, a blank line, statuses in any case,
    // an extra column, a UPN in another case.
    let csv = env.write(
        "bulk-update.csv",
        b"\xEF\xBB\xBFUsername,MFA Status,Extra\r\n\
          alice@contoso.com,Enabled,first\r\n\
          \r\n\
          Bob@Contoso.com,ENFORCED,\r\n\
          carol@contoso.com,disabled,x\r\n\
          dave@contoso.com,Enforced,y\r\n\
          erin@contoso.com,Disabled,z\r\n",
    );
    let run =
        env.tessera(&["mfa", "apply", "--csv", &csv]).ok().stdout_has("Applied: 5 row(s), 4 changed, 1 unchanged.");
    assert_eq!(
        run.report_rows(),
        owned(&[
            ("2", "alice@contoso.com", "changed"),
            ("4", "bob@contoso.com", "changed"),
            ("5", "carol@contoso.com", "changed"),
            ("6", "dave@contoso.com", "changed"),
            ("7", "erin@contoso.com", "unchanged"),
        ]),
        "{run}"
    );
    assert!(run.stdout.contains("disabled → enforced"), "{run}");

    let expected: BTreeMap<String, String> = [
        ("alice@contoso.com", "enabled"),
        ("bob@contoso.com", "enforced"),
        ("carol@contoso.com", "disabled"),
        ("dave@contoso.com", "enforced"),
        ("erin@contoso.com", "disabled"),
    ]
    .into_iter()
    .map(|(u, s)| (u.to_owned(), s.to_owned()))
    .collect();
    assert_eq!(states_of(&env, &USERS), expected, "mfa status");
    assert_eq!(env.upns_in_state("enforced"), ["bob@contoso.com", "dave@contoso.com"]);
    assert_eq!(env.upns_in_state("enabled"), ["alice@contoso.com"]);
    assert_eq!(env.upns_in_state("disabled"), [ADMIN, "carol@contoso.com", "erin@contoso.com"]);
    env.tessera(&["users", "list", "--state", "enforced"])
        .ok()
        .stdout_has("bob@contoso.com")
        .stdout_has("dave@contoso.com");

    // One audit record per user changed, none for the unchanged one.
    let records = env.audit(Some("user.mfa.setState"));
    assert_eq!(
        changes(&records),
        [
            ("alice@contoso.com".to_owned(), json!("disabled"), json!("enabled")),
            ("bob@contoso.com".to_owned(), json!("disabled"), json!("enforced")),
            ("carol@contoso.com".to_owned(), json!("enabled"), json!("disabled")),
            ("dave@contoso.com".to_owned(), json!("disabled"), json!("enforced")),
        ]
    );
    for record in &records {
        assert_eq!(record["actorUpn"], ADMIN);
        assert_eq!(record["correlationId"], records[0]["correlationId"], "one request, one correlation id");
    }
    let audit_total = env.audit(None).len();
    env.tessera(&["audit", "--action", "user.mfa", "--target", "bob@contoso.com"])
        .ok()
        .stdout_has("user.mfa.setState")
        .stdout_has("disabled → enforced");

    // The same file again changes nothing and writes nothing.
    env.tessera(&["mfa", "apply", "--csv", &csv]).ok().stdout_has("Applied: 5 row(s), 0 changed, 5 unchanged.");
    assert_eq!(env.audit(None).len(), audit_total);
}

fn enforce_from_csv_dry_run_then_apply(env: Env) {
    env.login();
    env.add_users(&USERS[..3]);
    env.tessera(&["mfa", "enable", "bob@contoso.com"]).ok();
    let states_before = env.states();
    let audit_before = env.audit(None).len();

    // Only the Username column is read (here the second one).
    let csv = env.write("enforce.csv", "Display Name,Username\nAlice,alice@contoso.com\nBob,bob@contoso.com\n");
    let dry = env
        .tessera(&["mfa", "enforce", "--csv", &csv, "--dry-run"])
        .ok()
        .stdout_has("Dry run, nothing applied: 2 row(s), 2 would change, 0 unchanged.")
        .stdout_has("disabled → enforced")
        .stdout_has("enabled → enforced");
    assert_eq!(dry.report_rows(), owned(&[("2", "alice@contoso.com", "changed"), ("3", "bob@contoso.com", "changed")]));
    let report = env.json(&["mfa", "enforce", "--csv", &csv, "--dry-run"]);
    assert_eq!((report["dryRun"].as_bool(), report["applied"].as_bool()), (Some(true), Some(false)), "{report}");
    assert_eq!(report["summary"], json!({"total": 2, "changed": 2, "unchanged": 0, "failed": 0}));
    assert_eq!(env.states(), states_before, "a dry run changes nothing");
    assert_eq!(env.audit(None).len(), audit_before, "a dry run writes no audit record");

    env.tessera(&["mfa", "enforce", "--csv", &csv]).ok().stdout_has("Applied: 2 row(s), 2 changed, 0 unchanged.");
    assert_eq!(env.upns_in_state("enforced"), ["alice@contoso.com", "bob@contoso.com"]);
    assert_eq!(env.states()["carol@contoso.com"], "disabled");
    assert_eq!(
        changes(&env.audit(Some("user.mfa.enforce"))),
        [
            ("alice@contoso.com".to_owned(), json!("disabled"), json!("enforced")),
            ("bob@contoso.com".to_owned(), json!("enabled"), json!("enforced")),
        ]
    );

    // Enable on an enforced user is skipped, not a failure; Disable by arguments.
    env.tessera(&["mfa", "enable", "alice@contoso.com", "carol@contoso.com"])
        .ok()
        .stdout_has("skipped")
        .stdout_has("Applied: 2 row(s), 1 changed, 1 unchanged.");
    assert_eq!(
        states_of(&env, &["alice@contoso.com", "carol@contoso.com"]).into_values().collect::<Vec<_>>(),
        ["enforced", "enabled"]
    );
    env.tessera(&["mfa", "disable", "alice@contoso.com", "bob@contoso.com", "carol@contoso.com"]).ok();
    assert_eq!(env.upns_in_state("disabled").len(), 4);
}

fn bad_rows_and_unknown_users_change_nothing(env: Env) {
    env.login();
    env.add_users(&USERS[..2]);
    env.tessera(&["mfa", "enable", "alice@contoso.com"]).ok();
    let states = env.states();
    let audit = env.audit(None).len();
    let unchanged = |env: &Env| {
        assert_eq!(env.states(), states, "states changed");
        assert_eq!(env.audit(None).len(), audit, "audit records were written");
    };

    let bad_status = env.write(
        "bad-status.csv",
        "Username,MFA Status\r\nalice@contoso.com,Enforced\r\nbob@contoso.com,Disabled\r\nadmin@contoso.com,Required\r\n",
    );
    env.tessera(&["mfa", "apply", "--csv", &bad_status])
        .code(6)
        .stderr_has("1 invalid row(s), nothing was sent")
        .stderr_has("line 4: unknown MFA Status 'Required' (expected Enabled, Enforced or Disabled)")
        .stderr_lacks("line 2")
        .stderr_lacks("line 3");
    unchanged(&env);

    let bad_upn =
        env.write("bad-upn.csv", "Username,MFA Status\nalice@contoso.com,Enforced\nbob at contoso.com,Enforced\n");
    env.tessera(&["mfa", "apply", "--csv", &bad_upn])
        .code(6)
        .stderr_has("line 3: Username 'bob at contoso.com' is not a valid UPN");
    env.tessera(&["mfa", "enforce", "--csv", &bad_upn]).code(6).stderr_has("line 3:");
    env.tessera(&["mfa", "enforce", "alice@contoso.com", "bob@"]).code(6).stderr_has("'bob@'");
    let no_column = env.write("no-column.csv", "User,MFA Status\nalice@contoso.com,Enforced\n");
    env.tessera(&["mfa", "apply", "--csv", &no_column]).code(6).stderr_has("line 1: missing column 'Username'");
    let missing = env.path("missing.csv").display().to_string();
    env.tessera(&["mfa", "apply", "--csv", &missing]).code(6).stderr_has("cannot read");
    unchanged(&env);

    // An unknown user rejects the whole request: the others are not changed either.
    let unknown = env.write(
        "unknown.csv",
        "Username,MFA Status\nalice@contoso.com,Enforced\nghost@contoso.com,Enforced\nbob@contoso.com,Enabled\n",
    );
    let run = env
        .tessera(&["mfa", "apply", "--csv", &unknown])
        .code(7)
        .stdout_has("Rejected: 1 of 3 row(s) failed; nothing was applied")
        .stderr_has("bulk request rejected: 1 of 3 row(s) failed; nothing was applied");
    assert_eq!(
        run.report_rows(),
        owned(&[
            ("2", "alice@contoso.com", "changed"),
            ("3", "ghost@contoso.com", "not_found"),
            ("4", "bob@contoso.com", "changed")
        ]),
        "{run}"
    );
    unchanged(&env);
    env.tessera(&["mfa", "enforce", "--csv", &unknown, "--dry-run"]).code(7).stderr_has("dry run found failing rows");
    let report = env
        .tessera(&["mfa", "enforce", "alice@contoso.com", "ghost@contoso.com", "bob@contoso.com", "--output", "json"])
        .code(7)
        .json();
    assert_eq!(report["applied"], false);
    assert_eq!(report["results"][1]["status"], "not_found");
    assert_eq!(report["results"][1]["error"]["code"], "not_found");
    assert_eq!(report["summary"]["failed"], 1);
    env.tessera(&["mfa", "reset", "ghost@contoso.com", "--revoke-remembered-devices"]).code(7);
    unchanged(&env);
}

fn reset_manages_user_settings(env: Env) {
    env.login();
    env.add_users(&USERS[..2]);

    let audit_before = env.audit(None).len();
    env.tessera(&["mfa", "reset", "alice@contoso.com"])
        .code(2)
        .stderr_has("--require-reregistration")
        .stderr_has("--delete-app-passwords")
        .stderr_has("--revoke-remembered-devices");
    assert_eq!(env.audit(None).len(), audit_before);

    env.tessera(&[
        "mfa",
        "reset",
        "alice@contoso.com",
        "--require-reregistration",
        "--delete-app-passwords",
        "--revoke-remembered-devices",
    ])
    .ok()
    .stdout_has("Applied: 1 row(s), 1 changed, 0 unchanged.");
    let records = env.audit(Some("user.mfa.manageUserSettings"));
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!((text_of(record, "targetUpn"), text_of(record, "actorUpn")), ("alice@contoso.com".into(), ADMIN.into()));
    assert_eq!((&record["before"]["methods"], &record["after"]["methods"]), (&json!(0), &json!(0)));
    assert_eq!((&record["before"]["appPasswords"], &record["after"]["appPasswords"]), (&json!(0), &json!(0)));
    assert!(record["after"]["rememberedDevicesNotBefore"].is_string(), "{record}");
    assert_eq!(env.audit(None).len(), audit_before + 1);

    // From a CSV, as a dry run: reported, nothing written.
    let csv = env.write("reset.csv", "Username\nalice@contoso.com\nbob@contoso.com\n");
    env.tessera(&["mfa", "reset", "--csv", &csv, "--revoke-remembered-devices", "--dry-run"])
        .ok()
        .stdout_has("Dry run, nothing applied: 2 row(s), 2 would change");
    assert_eq!(env.audit(None).len(), audit_before + 1);
}

fn helpdesk_may_not_enforce(env: Env) {
    env.login();
    env.add_users(&USERS[..1]);
    let (status, body) = env.api_post(
        "users",
        &json!({
            "upn": "helpdesk@contoso.com",
            "displayName": "Helpdesk",
            "password": "Helpdesk-Password-1",
            "roles": ["helpdeskAdministrator"],
        }),
    );
    assert_eq!(status, 201, "{body}");
    let states = env.states();
    let audit = env.audit(None).len();

    let helpdesk_config = env.path("helpdesk-config").display().to_string();
    let as_helpdesk = |args: &[&str]| {
        env.tessera_with(args, &[("TESSERA_CONFIG_DIR", &helpdesk_config), ("TESSERA_PASSWORD", "Helpdesk-Password-1")])
    };
    as_helpdesk(&["login", "--server", &env.url, "--tenant", TENANT, "--upn", "helpdesk@contoso.com"]).ok();
    as_helpdesk(&["users", "list"]).ok().stdout_has("alice@contoso.com");

    as_helpdesk(&["mfa", "enforce", "alice@contoso.com"]).code(4).stderr_has("[forbidden]");
    let csv = env.write("enable.csv", "Username,MFA Status\nalice@contoso.com,Enabled\n");
    as_helpdesk(&["mfa", "apply", "--csv", &csv]).code(4);
    as_helpdesk(&["settings", "mfa", "set", "--remember-device-days", "30"]).code(4);
    assert_eq!(
        text(
            &as_helpdesk(&["mfa", "status", "alice@contoso.com", "--output", "json"]).ok().json()[0]["perUserMfaState"]
        ),
        "disabled"
    );

    assert_eq!(env.states(), states, "nothing changed");
    assert_eq!(env.audit(None).len(), audit, "no audit record for refused requests");
}
