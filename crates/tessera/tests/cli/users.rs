//! `tessera init`, `login`/`logout`, `users add|list|show|import`, and the exit codes of
//! the usual mistakes.

use serde_json::json;

use crate::harness::{ADMIN, ADMIN_PASSWORD, Env, TENANT, closed_port_url, text, text_of};

on_both_backends!(
    login_add_list_show_and_logout,
    common_mistakes_have_their_exit_codes,
    unreachable_server_is_exit_8,
    import_is_all_or_nothing,
    init_never_overwrites_a_tenant,
);

fn login_add_list_show_and_logout(env: Env) {
    env.tessera(&["users", "list"]).code(3).stderr_has("not logged in").stderr_has("tessera login");

    let password_file = env.admin_password_file().display().to_string();
    let session = env
        .tessera(&[
            "login",
            "--server",
            &env.url,
            "--tenant",
            TENANT,
            "--upn",
            ADMIN,
            "--password-file",
            &password_file,
            "--output",
            "json",
        ])
        .ok()
        .json();
    assert_eq!((session["server"].as_str(), session["tenant"].as_str()), (Some(env.url.as_str()), Some(TENANT)));
    assert_eq!(session["upn"], ADMIN);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(env.config_dir().join("credentials.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "credentials.json must be private");
    }

    for (upn, name) in [("alice@contoso.com", "Alice Smith"), ("bob@contoso.com", "Bob Jones")] {
        env.tessera(&["users", "add", upn, "--display-name", name]).ok().stdout_has(&format!("Created user {upn} ("));
    }
    let carol = env.json(&["users", "add", "carol@contoso.com", "--display-name", "Carol White"]);
    assert_eq!(
        (carol["upn"].as_str(), carol["perUserMfaState"].as_str()),
        (Some("carol@contoso.com"), Some("disabled"))
    );

    let users = env.users();
    let listed: Vec<(String, String, String)> =
        users.iter().map(|u| (text(&u["upn"]), text(&u["displayName"]), text(&u["perUserMfaState"]))).collect();
    let expected = [
        ("admin@contoso.com", "admin", "disabled"),
        ("alice@contoso.com", "Alice Smith", "disabled"),
        ("bob@contoso.com", "Bob Jones", "disabled"),
        ("carol@contoso.com", "Carol White", "disabled"),
    ]
    .map(|(u, n, s)| (u.to_owned(), n.to_owned(), s.to_owned()));
    assert_eq!(listed, expected, "users list, by UPN");
    assert_eq!(users[0]["roles"], json!(["globalAdministrator"]));
    assert_eq!(users[1]["roles"], json!([]));
    assert_eq!(users[1]["accountEnabled"], true);

    let table = env.tessera(&["users", "list"]).ok();
    assert!(table.stdout.starts_with("UPN "), "{table}");
    let bob_line = table.stdout.lines().find(|l| l.starts_with("bob@contoso.com")).unwrap_or_default().to_owned();
    assert_eq!(
        bob_line.split("  ").filter(|c| !c.is_empty()).map(str::trim).collect::<Vec<_>>(),
        ["bob@contoso.com", "Bob Jones", "disabled", "-", "yes"]
    );
    let paged = env.json(&["users", "list", "--limit", "2"]);
    assert_eq!(paged["items"].as_array().map(Vec::len), Some(2));
    assert!(paged["next"].is_string(), "a next cursor after a full page: {paged}");

    env.tessera(&["users", "show", "bob@contoso.com"])
        .ok()
        .stdout_has("UPN:             bob@contoso.com\n")
        .stdout_has("Display name:    Bob Jones\n")
        .stdout_has("MFA state:       disabled\n");
    let bob = env.json(&["users", "show", "Bob@Contoso.com"]);
    assert_eq!(bob["upn"], "bob@contoso.com", "UPNs are looked up case-insensitively");
    let by_id = env.json(&["users", "show", &text_of(&bob, "id")]);
    assert_eq!(by_id, bob);

    // A second login, with the password from the environment, replaces the session.
    env.tessera_with(
        &["login", "--server", &env.url, "--tenant", TENANT, "--upn", ADMIN],
        &[("TESSERA_PASSWORD", ADMIN_PASSWORD)],
    )
    .ok()
    .stdout_has(&format!("Logged in to {} as {ADMIN} (tenant {TENANT})", env.url));
    env.tessera(&["users", "show", ADMIN]).ok();

    env.tessera(&["logout"]).ok().stdout_has("Logged out.");
    assert!(!env.config_dir().join("credentials.json").exists(), "logout removes the session");
    env.tessera(&["users", "list"])
        .code(3)
        .stderr_has("error: not logged in: run `tessera login --server URL --tenant SLUG --upn UPN` first");
    env.tessera(&["mfa", "enforce", "alice@contoso.com"]).code(3).stderr_has("not logged in");
    env.tessera(&["logout"]).ok().stdout_has("Not logged in.");

    // No password source and no terminal: a usage error, not a hang.
    env.tessera(&["login", "--server", &env.url, "--tenant", TENANT, "--upn", ADMIN])
        .code(2)
        .stderr_has("TESSERA_PASSWORD");
}

fn common_mistakes_have_their_exit_codes(env: Env) {
    env.login();
    env.add_users(&["alice@contoso.com"]);
    let audit_before = env.audit(None).len();

    env.tessera(&["users", "add", "alice@contoso.com", "--display-name", "Alice again"])
        .code(6)
        .stderr_has("already exists")
        .stderr_has("[user_exists]");
    env.tessera(&["users", "add", "ALICE@CONTOSO.COM", "--display-name", "Alice again"])
        .code(6)
        .stderr_has("[user_exists]");
    env.tessera(&["users", "add", "alice at contoso.com", "--display-name", "Alice"])
        .code(6)
        .stderr_has("'alice at contoso.com' is not a valid UPN");
    env.tessera(&["users", "show", "ghost@contoso.com"])
        .code(5)
        .stderr_has("user 'ghost@contoso.com' was not found [not_found]");
    env.tessera(&["mfa", "status", "ghost@contoso.com"]).code(5).stderr_has("ghost@contoso.com");
    env.tessera(&["users", "delete", "ghost@contoso.com"]).code(5).stderr_has("ghost@contoso.com");

    // A wrong password is exit 3 and keeps the session that was there.
    let wrong = env.write("wrong-password", "not-the-password\n");
    env.tessera(&["login", "--server", &env.url, "--tenant", TENANT, "--upn", ADMIN, "--password-file", &wrong])
        .code(3)
        .stderr_has(&format!("invalid credentials for {ADMIN} in tenant {TENANT}"))
        .stderr_lacks("not-the-password");
    env.tessera_with(
        &["login", "--server", &env.url, "--tenant", TENANT, "--upn", "ghost@contoso.com"],
        &[("TESSERA_PASSWORD", "whatever-it-is")],
    )
    .code(3)
    .stderr_has("invalid credentials");
    env.tessera(&["users", "show", "alice@contoso.com"]).ok();

    // Usage errors are clap's exit 2.
    env.tessera(&["users", "frobnicate"]).code(2);
    env.tessera(&["users", "list", "--state", "sometimes"]).code(2);

    assert_eq!(env.audit(None).len(), audit_before, "failed commands leave no audit record");
    assert_eq!(env.users().len(), 2);
}

fn unreachable_server_is_exit_8(mut env: Env) {
    let password_file = env.admin_password_file().display().to_string();
    let closed = closed_port_url();
    env.tessera(&["login", "--server", &closed, "--tenant", TENANT, "--upn", ADMIN, "--password-file", &password_file])
        .code(8)
        .stderr_has(&format!("cannot reach the server at {closed}"));
    assert!(!env.config_dir().join("credentials.json").exists());

    env.login();
    // The token is never sent to another server than the one of the session.
    env.tessera(&["users", "list", "--server", &closed]).code(3).stderr_has("the stored session is for");

    let url = env.url.clone();
    env.stop_server();
    env.tessera(&["users", "list"]).code(8).stderr_has(&format!("cannot reach the server at {url}"));
    env.tessera(&["mfa", "enforce", "alice@contoso.com"]).code(8);
}

fn import_is_all_or_nothing(env: Env) {
    env.login();
    let audit_before = env.audit(None).len();

    // A bad row is found locally: nothing is sent, nobody is created.
    let bad = env.write(
        "bad.csv",
        "upn,displayName\r\nalice@contoso.com,Alice Smith\r\nbob@contoso.com,Bob Jones\r\nnot-a-upn,Nobody\r\ncarol@contoso.com,\r\n",
    );
    env.tessera(&["users", "import", &bad])
        .code(6)
        .stderr_has("2 invalid row(s), nothing was sent")
        .stderr_has("line 4: upn 'not-a-upn' is not a valid UPN")
        .stderr_has("line 5: missing displayName")
        .stderr_lacks("line 2")
        .stderr_lacks("line 3");
    assert_eq!(env.users().len(), 1);

    // BOM, header in another case, extra column, blank line, an optional password.
    let good = env.write(
        "good.csv",
        "\u{feff}UPN,DisplayName,Password,Department\n\
         alice@contoso.com,Alice Smith,Alice-Password-1,IT\n\
         \n\
         bob@contoso.com,Bob Jones,,Sales\n\
         carol@contoso.com,Carol White,,\n",
    );
    env.tessera(&["users", "import", &good, "--dry-run"]).ok().stdout_has("Dry run, nothing applied: 3 row(s)");
    assert_eq!(env.users().len(), 1, "a dry run creates nobody");

    let report = env.tessera(&["users", "import", &good]).ok().stdout_has("Applied: 3 row(s), 3 changed, 0 unchanged.");
    let rows = report.report_rows();
    assert_eq!(
        rows,
        [
            ("2", "alice@contoso.com", "changed"),
            ("4", "bob@contoso.com", "changed"),
            ("5", "carol@contoso.com", "changed")
        ]
        .map(|(l, u, s)| (l.to_owned(), u.to_owned(), s.to_owned()))
    );
    let users = env.users();
    let names: Vec<(String, String)> =
        users.iter().map(|u| (text(&u["upn"]), text(&u["displayName"]))).filter(|(u, _)| u != ADMIN).collect();
    assert_eq!(
        names,
        [
            ("alice@contoso.com".to_owned(), "Alice Smith".to_owned()),
            ("bob@contoso.com".to_owned(), "Bob Jones".to_owned()),
            ("carol@contoso.com".to_owned(), "Carol White".to_owned()),
        ]
    );
    let created = env.audit(Some("user.create"));
    assert_eq!(created.len(), 3 + 1, "one user.create per imported user, plus the admin's from init");
    // The imported password works (in a separate session).
    let alice_config = env.path("alice-config").display().to_string();
    env.tessera_with(
        &["login", "--server", &env.url, "--tenant", TENANT, "--upn", "alice@contoso.com"],
        &[("TESSERA_PASSWORD", "Alice-Password-1"), ("TESSERA_CONFIG_DIR", &alice_config)],
    )
    .ok();
    let audit_after_import = env.audit(None).len();
    assert_eq!(audit_after_import, audit_before + 3);

    // Importing the same file again: every row already exists, nothing changes.
    let again = env.tessera(&["users", "import", &good]).code(7).stderr_has("nothing was applied");
    assert!(again.stdout.contains("already exists"), "{again}");
    assert!(again.report_rows().iter().all(|(_, _, status)| status == "invalid"), "{again}");
    let json = env.tessera(&["users", "import", &good, "--output", "json"]).code(7).json();
    assert_eq!(json["applied"], false);
    let codes: Vec<&str> =
        json["results"].as_array().unwrap().iter().map(|r| r["error"]["code"].as_str().unwrap_or("")).collect();
    assert_eq!(codes, ["user_exists"; 3]);

    // One existing user rejects the new ones too.
    let mixed = env.write("mixed.csv", "upn,displayName\ndave@contoso.com,Dave\nbob@contoso.com,Bob Again\n");
    let rejected = env.tessera(&["users", "import", &mixed]).code(7);
    assert_eq!(
        rejected.report_rows(),
        [("2", "dave@contoso.com", "changed"), ("3", "bob@contoso.com", "invalid")].map(|(l, u, s)| (
            l.to_owned(),
            u.to_owned(),
            s.to_owned()
        ))
    );
    env.tessera(&["users", "show", "dave@contoso.com"]).code(5);
    assert_eq!(env.users().len(), 4);
    assert_eq!(env.audit(None).len(), audit_after_import, "rejected imports leave no audit record");
}

fn init_never_overwrites_a_tenant(env: Env) {
    let other = env.path("other-password");
    std::fs::write(&other, "Another-Password-2\n").unwrap();
    env.init(ADMIN, &other).code(1).stderr_has("tenant 'contoso' already exists");
    env.init("root@contoso.com", &other).code(1).stderr_has("already exists");

    // The original administrator still signs in with the original password, and only with it.
    env.login();
    let other = other.display().to_string();
    env.tessera(&["login", "--server", &env.url, "--tenant", TENANT, "--upn", ADMIN, "--password-file", &other])
        .code(3);
    env.tessera(&[
        "login",
        "--server",
        &env.url,
        "--tenant",
        TENANT,
        "--upn",
        "root@contoso.com",
        "--password-file",
        &other,
    ])
    .code(3);
    env.login();
    let users = env.users();
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0]["upn"], ADMIN);
    let created: Vec<String> = env.audit(Some("tenant.create")).iter().map(|r| text(&r["action"])).collect();
    assert_eq!(created, ["tenant.create"], "one tenant.create record");
}
