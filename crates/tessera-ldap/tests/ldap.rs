//! The LDAP listener through the real OpenLDAP clients (`ldapwhoami`, `ldapsearch`,
//! `ldapdelete` from Debian's ldap-utils), served in this process over the core services on
//! a fresh SQLite database, on 127.0.0.1 port 0. Two tenants: `contoso` and `fabrikam`.
//!
//! Without the clients the tests skip loudly, except when `CI` is set (CI runs with
//! `CI=true`): then they fail.

#[path = "ldap/raw.rs"]
mod raw;
#[path = "ldap/world.rs"]
mod world;

use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapCompareRequest, LdapExtendedRequest, LdapFilter, LdapOp, LdapResultCode,
    LdapSearchRequest, LdapSearchScope, SaslCredentials,
};
use tessera_core::mfa::{BulkOp, QuickStep, UserSettingsOptions};
use world::{ALICE, ALICE_DN, ALICE_PW, BOB, BOB_PW, Ldap, World, entries, values};

/// Password binds by UPN and by DN; refused once the user (who registered an authenticator
/// app) is enforced: only app passwords work then, and the sign-in log says so; an app
/// password works, until the administrator deletes the user's app passwords.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_then_enforce_then_app_password() {
    let Some(w) = World::start().await else { return };
    w.register_authenticator(ALICE).await;
    let dn = format!("dn:{ALICE_DN}");
    w.whoami(ALICE, ALICE_PW).await.ok().stdout_is(&dn);
    w.whoami(ALICE_DN, ALICE_PW).await.ok().stdout_is(&dn);
    w.whoami(" UID = alice@contoso.com , OU=Users , O=Contoso ", ALICE_PW).await.ok().stdout_is(&dn);
    let last = w.last_signin(ALICE).await;
    assert_eq!((last.client.as_str(), last.result.as_str()), ("legacy", "success"));
    assert_eq!(last.credential.map(|c| c.as_str()), Some("password"));
    assert_eq!(last.user_agent.as_deref(), Some("ldap"));
    assert_eq!(last.source_ip.map(|ip| ip.to_string()).as_deref(), Some("127.0.0.1"));

    w.bulk(ALICE, BulkOp::QuickStep(QuickStep::Enforce)).await;
    w.whoami(ALICE, ALICE_PW).await.code(49).stderr_has("Invalid credentials");
    let last = w.last_signin(ALICE).await;
    assert_eq!((last.client.as_str(), last.result.as_str()), ("legacy", "failure"));
    assert_eq!(last.failure_reason.map(|r| r.as_str()), Some("app_password_required"));

    // App passwords are off by default: a valid one is refused until the tenant allows them.
    let secret = w.add_app_password(ALICE).await;
    w.whoami(ALICE, &secret).await.code(49);
    assert_eq!(w.last_signin(ALICE).await.failure_reason.map(|r| r.as_str()), Some("app_passwords_not_allowed"));
    w.allow_app_passwords().await;
    w.whoami(ALICE, &secret).await.ok().stdout_is(&dn);
    // As people type it: no spaces, capitals.
    w.whoami(ALICE_DN, &secret.replace(' ', "").to_uppercase()).await.ok().stdout_is(&dn);
    let last = w.last_signin(ALICE).await;
    assert_eq!((last.result.as_str(), last.credential.map(|c| c.as_str())), ("success", Some("appPassword")));

    let delete = UserSettingsOptions { delete_app_passwords: true, ..UserSettingsOptions::default() };
    w.bulk(ALICE, BulkOp::ManageUserSettings(delete)).await;
    w.whoami(ALICE, &secret).await.code(49).stderr_has("Invalid credentials");
    w.whoami(ALICE, ALICE_PW).await.code(49);
}

/// DESIGN: "enforced: ... legacy password-only sign-ins are refused: only app passwords
/// work", also for a user who has not registered a method yet (Enforce of a user in state
/// disabled, as an administrator does it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_refuses_the_password_before_registration() {
    let Some(w) = World::start().await else { return };
    w.whoami(BOB, BOB_PW).await.ok().stdout_is("dn:uid=bob@contoso.com,ou=users,o=contoso");
    w.bulk(BOB, BulkOp::QuickStep(QuickStep::Enforce)).await;
    w.whoami(BOB, BOB_PW).await.code(49).stderr_has("Invalid credentials");
    let last = w.last_signin(BOB).await;
    assert_eq!((last.client.as_str(), last.result.as_str()), ("legacy", "failure"));
    assert_eq!(last.failure_reason.map(|r| r.as_str()), Some("app_password_required"));
}

/// What is refused, and how: RFC 4513 unauthenticated bind, wrong password, unknown user,
/// a UPN two tenants have (by UPN; by DN it works), SASL, anonymous reads, changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals() {
    let Some(w) = World::start().await else { return };
    // A name with an empty password: refused without a look at the account.
    w.whoami(ALICE, "").await.code(53).stderr_has("unauthenticated bind");
    w.whoami(ALICE, "wrong password").await.code(49).stderr_has("Invalid credentials");
    w.whoami("nobody@contoso.com", "wrong password").await.code(49);
    w.whoami("uid=alice@contoso.com,ou=users,o=nosuchtenant", ALICE_PW).await.code(49);
    w.whoami("cn=admin,dc=example,dc=com", ALICE_PW).await.code(49);
    w.whoami("uid=alice@contoso.com,,o=contoso", ALICE_PW).await.code(34);
    let failures = w.signins(ALICE).await;
    assert_eq!(failures[0].failure_reason.map(|r| r.as_str()), Some("invalid_credentials"));

    // shared@example.com is in both tenants: by UPN it is ambiguous, by DN it is not.
    w.whoami(world::SHARED, world::SHARED_PW).await.code(49);
    w.whoami(&format!("uid={},ou=users,o=fabrikam", world::SHARED), world::SHARED_PW)
        .await
        .ok()
        .stdout_is("dn:uid=shared@example.com,ou=users,o=fabrikam");

    // Anonymous: the root DSE and Who am I?, nothing else.
    w.ldap("ldapwhoami", &["-x"]).await.ok().stdout_is("anonymous");
    let root = w.ldap("ldapsearch", &["-x", "-LLL", "-b", "", "-s", "base"]).await.ok();
    let root = entries(&root.stdout);
    assert_eq!(values(&root[0], "supportedLDAPVersion"), ["3"]);
    assert_eq!(values(&root[0], "supportedExtension"), ["1.3.6.1.4.1.4203.1.11.3"]);
    assert!(values(&root[0], "namingContexts").is_empty(), "{root:?}");
    w.ldap("ldapsearch", &["-x", "-b", "o=contoso", "(objectClass=*)"]).await.code(50);
    w.ldap("ldapsearch", &["-x", "-b", ALICE_DN, "-s", "base"]).await.code(50);

    // Read-only.
    let bind = ["-x", "-D", ALICE, "-w", ALICE_PW];
    w.ldap("ldapdelete", &[&bind[..], &[world::BOB_DN]].concat()).await.code(53).stderr_has("read-only");
}

/// Requests the OpenLDAP tools do not send here, through a bare client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_edges() {
    let Some(w) = World::start().await else { return };
    let mut c = raw::Raw::connect(&w.url).await;
    let bind = |version: i64, dn: &str, cred: LdapBindCred| {
        LdapOp::BindRequest(LdapBindRequest { version, dn: dn.into(), cred })
    };
    let simple = |pw: &str| LdapBindCred::Simple(pw.into());
    let sasl = LdapBindCred::SASL(SaslCredentials { mechanism: "PLAIN".into(), credentials: b"\0a\0b".to_vec() });
    assert_eq!(c.result(bind(3, ALICE, sasl), vec![]).await.code, LdapResultCode::AuthMethodNotSupported);
    assert_eq!(c.result(bind(2, ALICE, simple(ALICE_PW)), vec![]).await.code, LdapResultCode::ProtocolError);
    assert_eq!(c.result(bind(3, "", simple(ALICE_PW)), vec![]).await.code, LdapResultCode::InvalidCredentials);
    let refused = c.result(bind(3, ALICE, simple("")), vec![]).await;
    assert_eq!(refused.code, LdapResultCode::UnwillingToPerform, "{refused:?}");
    let whoami = LdapOp::ExtendedRequest(LdapExtendedRequest { name: "1.3.6.1.4.1.4203.1.11.3".into(), value: None });
    let unknown = LdapOp::ExtendedRequest(LdapExtendedRequest { name: "1.2.3.4".into(), value: None });
    assert_eq!(c.result(unknown, vec![]).await.code, LdapResultCode::ProtocolError);

    assert_eq!(c.result(bind(3, ALICE, simple(ALICE_PW)), vec![]).await.code, LdapResultCode::Success);
    match c.request(whoami.clone(), vec![]).await.pop() {
        Some(LdapOp::ExtendedResponse(r)) => assert_eq!(r.value.as_deref(), Some(format!("dn:{ALICE_DN}").as_bytes())),
        other => panic!("{other:?}"),
    }
    let compare = |dn: &str, atype: &str, val: &str| {
        LdapOp::CompareRequest(LdapCompareRequest { dn: dn.into(), atype: atype.into(), val: val.as_bytes().to_vec() })
    };
    assert_eq!(c.result(compare(ALICE_DN, "CN", "alice smith"), vec![]).await.code, LdapResultCode::CompareTrue);
    assert_eq!(c.result(compare(ALICE_DN, "mail", "bob@contoso.com"), vec![]).await.code, LdapResultCode::CompareFalse);
    assert_eq!(c.result(compare(ALICE_DN, "ou", "users"), vec![]).await.code, LdapResultCode::NoSuchAttribute);
    assert_eq!(c.result(compare(ALICE_DN, "memberOf", "x"), vec![]).await.code, LdapResultCode::UndefinedAttributeType);
    assert_eq!(c.result(compare("o=fabrikam", "o", "fabrikam"), vec![]).await.code, LdapResultCode::NoSuchObject);

    let search = LdapOp::SearchRequest(LdapSearchRequest {
        base: "o=contoso".into(),
        scope: LdapSearchScope::Subtree,
        aliases: ldap3_proto::proto::LdapDerefAliases::Never,
        sizelimit: 0,
        timelimit: 0,
        typesonly: false,
        filter: LdapFilter::Equality("uid".into(), ALICE.into()),
        attrs: vec!["uid".into()],
    });
    let critical = LdapControl::Unknown { oid: "1.2.3.4.5".into(), criticality: true, value: None };
    let optional = LdapControl::Unknown { oid: "1.2.3.4.5".into(), criticality: false, value: None };
    let res = c.result(search.clone(), vec![critical]).await;
    assert_eq!(res.code, LdapResultCode::UnavailableCriticalExtension);
    let answers = c.request(search, vec![optional]).await;
    assert_eq!(answers.len(), 2, "{answers:?}");

    // A failed bind leaves the connection anonymous.
    assert_eq!(c.result(bind(3, ALICE, simple("wrong")), vec![]).await.code, LdapResultCode::InvalidCredentials);
    match c.request(whoami, vec![]).await.pop() {
        Some(LdapOp::ExtendedResponse(r)) => assert_eq!(r.value.as_deref(), Some(&b""[..])),
        other => panic!("{other:?}"),
    }
    // Unbind closes.
    c.send_unbind_and_expect_close().await;
}

/// Searches of the bound user's tenant: entries and attributes, scopes, filters, limits;
/// another tenant is invisible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_the_tenant() {
    let Some(w) = World::start().await else { return };
    let s = Ldap::search(&w, ALICE, ALICE_PW);

    let all = entries(&s.run("o=contoso", "sub", "(objectClass=*)", &[]).await.ok().stdout);
    let dns: Vec<&str> = all.iter().map(|e| e.dn.as_str()).collect();
    assert_eq!(
        dns,
        [
            "o=contoso",
            "ou=users,o=contoso",
            "uid=admin@contoso.com,ou=users,o=contoso",
            "uid=albert@contoso.com,ou=users,o=contoso",
            "uid=alice2@contoso.com,ou=users,o=contoso",
            "uid=alice@contoso.com,ou=users,o=contoso",
            "uid=bob@contoso.com,ou=users,o=contoso",
            "uid=shared@example.com,ou=users,o=contoso",
        ]
    );
    let alice = all.iter().find(|e| e.dn == ALICE_DN).expect("alice");
    assert_eq!(values(alice, "uid"), [ALICE]);
    assert_eq!(values(alice, "mail"), [ALICE]);
    assert_eq!(values(alice, "cn"), ["Alice Smith"]);
    assert_eq!(values(alice, "displayName"), ["Alice Smith"]);
    assert_eq!(values(alice, "objectClass"), ["top", "person", "organizationalPerson", "inetOrgPerson"]);
    assert!(values(alice, "memberOf").is_empty());
    assert!(all.iter().all(|e| !e.dn.contains("fabrikam")));

    // Another tenant does not exist for alice.
    s.run("o=fabrikam", "sub", "(objectClass=*)", &[]).await.code(32);
    s.run("uid=admin@fabrikam.com,ou=users,o=fabrikam", "base", "(objectClass=*)", &[]).await.code(32);
    s.run("uid=nobody@contoso.com,ou=users,o=contoso", "base", "(objectClass=*)", &[]).await.code(32);
    s.run("cn=x,dc=example,dc=com", "sub", "(objectClass=*)", &[]).await.code(32);

    let dns_of = |out: &world::Out| entries(&out.stdout).into_iter().map(|e| e.dn).collect::<Vec<_>>();
    let upns = |dns: Vec<String>| {
        dns.into_iter()
            .map(|dn| dn.trim_start_matches("uid=").split(',').next().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    let found = s.run("ou=users,o=contoso", "one", "(uid=alice*)", &["uid"]).await.ok();
    assert_eq!(upns(dns_of(&found)), ["alice2@contoso.com", "alice@contoso.com"]);
    let found = s.run("o=contoso", "sub", "(&(objectClass=person)(|(cn=*smith)(mail=BOB@contoso.com)))", &[]).await;
    assert_eq!(upns(dns_of(&found.ok())), ["alice@contoso.com", "bob@contoso.com"]);
    let found = s.run("o=contoso", "sub", "(uid=Alice@Contoso.COM)", &[]).await.ok();
    assert_eq!(upns(dns_of(&found)), [ALICE]);
    let found = s.run("o=contoso", "sub", "(!(|(uid=a*)(objectClass=organizationalUnit)(o=*)))", &[]).await.ok();
    assert_eq!(upns(dns_of(&found)), ["bob@contoso.com", "shared@example.com"]);

    // Scopes.
    assert_eq!(dns_of(&s.run("o=contoso", "base", "(objectClass=*)", &[]).await.ok()), ["o=contoso"]);
    assert_eq!(dns_of(&s.run("o=contoso", "one", "(objectClass=*)", &[]).await.ok()), ["ou=users,o=contoso"]);
    assert_eq!(dns_of(&s.run(ALICE_DN, "base", "(objectClass=*)", &[]).await.ok()), [ALICE_DN]);
    assert!(dns_of(&s.run(ALICE_DN, "one", "(objectClass=*)", &[]).await.ok()).is_empty());

    // Attribute lists.
    let only = entries(&s.run(ALICE_DN, "base", "(objectClass=*)", &["mail", "DISPLAYNAME"]).await.ok().stdout);
    assert_eq!(only[0].attrs.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(), ["mail", "displayName"]);
    let none = entries(&s.run(ALICE_DN, "base", "(objectClass=*)", &["1.1"]).await.ok().stdout);
    assert!(none[0].attrs.is_empty(), "{none:?}");

    // Size limit: the first entries, then sizeLimitExceeded.
    let limited = s.run_with(&["-z", "2"], "ou=users,o=contoso", "one", "(objectClass=*)", &[]).await.code(4);
    assert_eq!(dns_of(&limited).len(), 2, "{limited}");
    let exact = s.run_with(&["-z", "6"], "ou=users,o=contoso", "one", "(objectClass=*)", &[]).await.ok();
    assert_eq!(dns_of(&exact).len(), 6);

    // The root DSE of a bound connection names its tenant.
    let root = entries(&s.run("", "base", "(objectClass=*)", &[]).await.ok().stdout);
    assert_eq!(values(&root[0], "namingContexts"), ["o=contoso"]);
}

/// More users than one page of the service and than the server's cap of 1,000 entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_tenant_paging_and_server_cap() {
    let Some(w) = World::start().await else { return };
    w.add_many_users("many", 1100).await;
    let s = Ldap::search(&w, ALICE, ALICE_PW);
    let out = s.run("ou=users,o=contoso", "one", "(uid=many1*)", &["1.1"]).await.ok();
    // many1, many10..many19, many100..many199, many1000..many1099
    assert_eq!(entries(&out.stdout).len(), 1 + 10 + 100 + 100);
    let capped = s.run("ou=users,o=contoso", "one", "(objectClass=person)", &["1.1"]).await.code(4);
    assert_eq!(entries(&capped.stdout).len(), 1000);
    let out = s.run("ou=users,o=contoso", "one", "(cn=many 1099)", &["uid"]).await.ok();
    assert_eq!(entries(&out.stdout).len(), 1, "{out}");
}

/// LDAPS with a self-signed certificate made by `openssl req -x509`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldaps() {
    let Some(w) = World::start_tls().await else { return };
    let dn = format!("dn:{ALICE_DN}");
    w.whoami(ALICE, ALICE_PW).await.ok().stdout_is(&dn);
    let found = Ldap::search(&w, ALICE_DN, ALICE_PW).run(ALICE_DN, "base", "(objectClass=*)", &["uid"]).await;
    assert_eq!(values(&entries(&found.ok().stdout)[0], "uid"), [ALICE]);
    // Plain LDAP to the LDAPS port is not answered.
    let plain = w.url.replace("ldaps://", "ldap://");
    let refused = w.ldap_at(&plain, "ldapwhoami", &["-x", "-D", ALICE, "-w", ALICE_PW]).await;
    assert_ne!(refused.code, 0, "{refused}");
    assert!(refused.stderr.contains("Can't contact LDAP server"), "{refused}");
}

/// A malformed request ends that connection only: the server goes on answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_closes_one_connection_only() {
    let Some(w) = World::start().await else { return };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = w.url.trim_start_matches("ldap://").to_owned();
    let mut bad = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let idle = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    bad.write_all(b"\x30\x05\x02\x01\x01\xff\xff this is not LDAP").await.expect("write");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), bad.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server did not close the bad connection");
    // A Notice of Disconnection (extendedResp, OID 1.3.6.1.4.1.1466.20036) came first.
    assert!(buf.windows(22).any(|w| w == b"1.3.6.1.4.1.1466.20036"), "{buf:?}");
    w.whoami(ALICE, ALICE_PW).await.ok();
    drop(idle);
}
