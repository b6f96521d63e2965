//! `tessera serve --ldap-listen` / `--ldaps-listen` through the real OpenLDAP clients
//! (`ldapwhoami`, `ldapsearch`): password binds by UPN and by DN, Enforce through the REST API
//! refusing the password with the reason in the sign-in log, the refusals, tenant search, and
//! LDAPS with the HTTPS certificate (self-signed, made by `openssl req -x509`).
//!
//! App passwords over LDAP are tested in-process in `crates/tessera-ldap/tests` (creating one
//! needs a signed-in browser session).
//!
//! Without ldap-utils the tests skip loudly, except when `CI` is set (CI runs with `CI=true`):
//! then they fail.

use std::process::Command;

use serde_json::{Value, json};
use tessera_core::ids::UserId;
use tessera_core::mfa::MethodKind;
use tessera_store::SqlStore;

use crate::harness::{ADMIN, ADMIN_PASSWORD, Backend, Env, TENANT, block_on, items, text, text_of};

macro_rules! on_both_backends_with {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $scenario() {
                    super::$scenario(crate::harness::Backend::Sqlite);
                }
            )+
        }

        mod postgres {
            $(
                #[test]
                fn $scenario() {
                    if let Some(backend) = crate::harness::Backend::postgres() {
                        super::$scenario(backend);
                    }
                }
            )+
        }
    };
}

on_both_backends_with!(password_binds_then_enforce, ldaps_with_the_https_certificate);

const ALICE: &str = "alice@contoso.com";
const ALICE_DN: &str = "uid=alice@contoso.com,ou=users,o=contoso";
const ALICE_PASSWORD: &str = "Alice-Password-1";

/// Whether the OpenLDAP clients are here; absent, the test is skipped loudly (failed when
/// `CI` is set).
fn ldap_clients() -> bool {
    if Command::new("ldapwhoami").arg("-VV").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none_or(|v| v.is_empty()),
        "CI is set but `ldapwhoami` is not installed: install ldap-utils"
    );
    eprintln!("SKIPPED: `ldapwhoami` is not installed (apt-get install ldap-utils): this LDAP test did not run");
    false
}

/// How a client ended and what it printed.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout:\n{}--- stderr:\n{}---", self.code, self.stdout, self.stderr)
    }
}

/// Runs an OpenLDAP client against `url`, with no configuration from this machine.
fn ldap(env: &Env, url: &str, program: &str, args: &[&str]) -> Out {
    let output = Command::new(program)
        .args(["-H", url, "-o", "nettimeout=20"])
        .args(args)
        .env("HOME", env.path(""))
        .env("LDAPCONF", "/dev/null")
        .env("LDAPTLS_REQCERT", "never")
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn whoami(env: &Env, url: &str, name: &str, password: &str) -> Out {
    ldap(env, url, "ldapwhoami", &["-x", "-D", name, "-w", password])
}

/// `GET /api/v1/tenants/contoso/PATH` with the stored token.
fn api_get(env: &Env, path: &str) -> Value {
    let url = format!("{}/api/v1/tenants/{TENANT}/{path}", env.url);
    let token = env.stored_token();
    block_on(async move {
        let response = reqwest::Client::new().get(url).bearer_auth(token).send().await.expect("GET from the API");
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.expect("JSON")
    })
}

/// Registers an authenticator app for a user, in the server's database (a method row, as
/// registration leaves it; no REST route registers methods for someone else).
fn register_authenticator(env: &Env, upn: &str) {
    let user = env.users().into_iter().find(|u| text(&u["upn"]) == upn).expect("the user");
    let id = UserId::parse(&text_of(&user, "id")).expect("a user id");
    block_on(async {
        let store = match env.backend() {
            Backend::Sqlite => SqlStore::open_sqlite(&env.data_dir()).await,
            Backend::Postgres(url) => SqlStore::connect(url).await,
        }
        .expect("open the server's database");
        tessera_store::testing::seed_method(&store, id, MethodKind::Totp).await;
        store.close().await;
    });
}

fn password_binds_then_enforce(backend: Backend) {
    if !ldap_clients() {
        return;
    }
    let env = Env::start_with_serve_args(backend, &["--ldap-listen", "127.0.0.1:0"]);
    let url = env.listening[0].clone();
    assert!(url.starts_with("ldap://127.0.0.1:"), "{url}");
    env.login();
    env.add_user_with(ALICE, ALICE_PASSWORD, &[]);
    env.add_users(&["albert@contoso.com", "bob@contoso.com"]);
    register_authenticator(&env, ALICE);

    // State disabled: the password works, by UPN and by DN.
    let expected = format!("dn:{ALICE_DN}");
    for name in [ALICE, ALICE_DN, "UID=alice@contoso.com, OU=users, O=contoso"] {
        let out = whoami(&env, &url, name, ALICE_PASSWORD);
        assert_eq!((out.code, out.stdout.trim()), (0, expected.as_str()), "{name}: {out}");
    }
    let out = whoami(&env, &url, ALICE, "wrong password");
    assert_eq!(out.code, 49, "{out}");
    assert!(out.stderr.contains("Invalid credentials"), "{out}");
    let out = whoami(&env, &url, ALICE, "");
    assert_eq!(out.code, 53, "an unauthenticated bind is refused: {out}");

    // Search of the tenant, as alice.
    let bind = ["-x", "-D", ALICE, "-w", ALICE_PASSWORD, "-LLL", "-o", "ldif_wrap=no"];
    let search = |base: &str, filter: &str| {
        let args = [&bind[..], &["-b", base, "-s", "sub", filter]].concat();
        ldap(&env, &url, "ldapsearch", &args)
    };
    let out = search("o=contoso", "(uid=al*)");
    assert_eq!(out.code, 0, "{out}");
    for line in [
        "dn: uid=albert@contoso.com,ou=users,o=contoso",
        "dn: uid=alice@contoso.com,ou=users,o=contoso",
        "uid: alice@contoso.com",
        "mail: alice@contoso.com",
        "cn: alice",
        "displayName: alice",
        "objectClass: inetOrgPerson",
    ] {
        assert!(out.stdout.lines().any(|l| l == line), "no {line:?}: {out}");
    }
    assert!(!out.stdout.contains("bob@"), "{out}");
    let out = search("o=fabrikam", "(objectClass=*)");
    assert_eq!(out.code, 32, "another tenant does not exist: {out}");
    let out = ldap(&env, &url, "ldapsearch", &["-x", "-b", "o=contoso", "(objectClass=*)"]);
    assert_eq!(out.code, 50, "anonymous search of a tenant: {out}");

    // Enforce: the password alone no longer works, and the sign-in log says why.
    let (status, report) = env.api_post("mfa/bulk", &json!({"action": "enforce", "users": [ALICE]}));
    assert_eq!(status, 200, "{report}");
    let out = whoami(&env, &url, ALICE, ALICE_PASSWORD);
    assert_eq!(out.code, 49, "{out}");
    assert!(out.stderr.contains("Invalid credentials"), "{out}");

    let signins = items(api_get(&env, &format!("signins?actor={ALICE}")));
    let last = &signins[0];
    assert_eq!(
        (text_of(last, "client"), text_of(last, "result"), text_of(last, "failureReason")),
        ("legacy".to_owned(), "failure".to_owned(), "app_password_required".to_owned()),
        "{last}"
    );
    assert_eq!(text_of(last, "sourceIp"), "127.0.0.1", "{last}");
    let successes = signins.iter().filter(|s| s["client"] == "legacy" && s["result"] == "success").count();
    assert_eq!(successes, 5, "three Who am I? and two searches: {signins:?}");
}

fn ldaps_with_the_https_certificate(backend: Backend) {
    if !ldap_clients() {
        return;
    }
    let certs = tempfile::tempdir().expect("temp dir");
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(made.status.success(), "openssl req: {}", String::from_utf8_lossy(&made.stderr));
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let env = Env::start_with_serve_args(
        backend,
        &["--tls-cert", &cert, "--tls-key", &key, "--ldaps-listen", "127.0.0.1:0", "--ldap-listen", "127.0.0.1:0"],
    );
    assert!(env.url.starts_with("https://"), "{}", env.url);
    // LDAP first, then LDAPS.
    let [plain, ldaps] = [&env.listening[0], &env.listening[1]];
    assert!(ldaps.starts_with("ldaps://127.0.0.1:") && plain.starts_with("ldap://127.0.0.1:"), "{:?}", env.listening);
    let expected = "dn:uid=admin@contoso.com,ou=users,o=contoso";
    for url in [ldaps, plain] {
        let out = whoami(&env, url, ADMIN, ADMIN_PASSWORD);
        assert_eq!((out.code, out.stdout.trim()), (0, expected), "{url}: {out}");
    }
    https_is_not_held_up_by_a_client_that_never_handshakes(&env.url);
}

/// A client that connects to the HTTPS port and never starts its TLS handshake must not hold
/// up the next one: the next request is answered while the silent connection is still open
/// (a listener that handshakes one connection at a time would first wait for the silent one to
/// time out and close it).
fn https_is_not_held_up_by_a_client_that_never_handshakes(url: &str) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("https://").trim_end_matches('/');
    let mut silent = std::net::TcpStream::connect(addr).expect("connect");
    let mut client = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect", addr])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run openssl s_client");
    client.stdin.take().expect("stdin").write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("write");
    let answer = client.wait_with_output().expect("openssl s_client");
    let answer = String::from_utf8_lossy(&answer.stdout);
    assert!(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"), "{answer}");
    silent.set_nonblocking(true).expect("nonblocking");
    match silent.read(&mut [0u8; 1]) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the silent connection was closed before the next request was served: {other:?}"),
    }
}
