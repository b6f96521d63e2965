//! One test's world: a fresh SQLite database with two tenants and their users, the LDAP
//! listener served in-process on 127.0.0.1 port 0 (plain, or LDAPS with a certificate made by
//! `openssl`), and the OpenLDAP command-line clients run against it.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use tessera_core::access::Actor;
use tessera_core::app_password;
use tessera_core::credential_ports::{AppPasswordRecord, CredentialTx};
use tessera_core::ids::{TenantSlug, Upn, UserRef};
use tessera_core::mfa::{BulkOp, MethodKind};
use tessera_core::ports::{Store, StoreTx, SystemClock};
use tessera_core::service::{BulkRequestRow, ImportRow, LogFilter, NewUserInput, RequestCtx, Tessera};
use tessera_core::settings::MfaSettingsPatch;
use tessera_core::signin::SignInRecord;
use tessera_core::tokens::BearerToken;
use tessera_ldap::Limits;
use tessera_store::SqlStore;
use tessera_store::testing::TestDb;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub const ALICE: &str = "alice@contoso.com";
pub const ALICE_DN: &str = "uid=alice@contoso.com,ou=users,o=contoso";
pub const ALICE_PW: &str = "Alice-Password-1";
pub const BOB: &str = "bob@contoso.com";
pub const BOB_PW: &str = "Bob-Password-1";
pub const BOB_DN: &str = "uid=bob@contoso.com,ou=users,o=contoso";
/// In both tenants; only fabrikam's has a password.
pub const SHARED: &str = "shared@example.com";
pub const SHARED_PW: &str = "Shared-Password-1";
const ADMIN_PW: &str = "Admin-Password-1";
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct World {
    /// `ldap://127.0.0.1:PORT` or `ldaps://...`.
    pub url: String,
    services: Tessera<SqlStore>,
    /// contoso's Global Administrator.
    actor: Actor,
    server: tokio::task::JoinHandle<()>,
    db: TestDb,
    /// HOME of the clients, and the certificate files.
    dir: tempfile::TempDir,
}

impl Drop for World {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Whether a program runs here. Absent, the test is skipped loudly, but when `CI` is set it
/// fails: the LDAP tests must never be skipped in CI.
fn present(program: &str, package: &str) -> bool {
    let found =
        Command::new(program).arg("-VV").output().is_ok() || Command::new(program).arg("version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty()),
            "CI is set but `{program}` is not installed: install {package}"
        );
        eprintln!("SKIPPED: `{program}` is not installed (apt-get install {package}): this LDAP test did not run");
    }
    found
}

fn ctx() -> RequestCtx {
    RequestCtx {
        source_ip: Some("10.0.0.1".parse().unwrap()),
        user_agent: Some("test".into()),
        device_tokens: Vec::new(),
    }
}

fn user(upn: &str, name: &str, password: Option<&str>) -> NewUserInput {
    NewUserInput {
        upn: upn.into(),
        display_name: name.into(),
        password: password.map(str::to_owned),
        account_enabled: true,
        roles: Vec::new(),
    }
}

impl World {
    pub async fn start() -> Option<World> {
        if !present("ldapwhoami", "ldap-utils") {
            return None;
        }
        Some(World::build(None).await)
    }

    pub async fn start_tls() -> Option<World> {
        if !present("ldapwhoami", "ldap-utils") || !present("openssl", "openssl") {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
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
        let chain = CertificateDer::pem_file_iter(&cert).expect("cert").collect::<Result<Vec<_>, _>>().expect("cert");
        let key = PrivateKeyDer::from_pem_file(&key).expect("key");
        let mut config = ServerConfig::builder().with_no_client_auth().with_single_cert(chain, key).expect("config");
        // As the HTTPS listener's: LDAPS must not offer HTTP's ALPN.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let https = TlsAcceptor::from(Arc::new(config));
        let mut w = World::build(Some(tessera_ldap::ldaps_acceptor(&https))).await;
        w.dir = dir;
        Some(w)
    }

    async fn build(tls: Option<TlsAcceptor>) -> World {
        let db = tessera_store::testing::sqlite().await;
        let services = Tessera::new(db.store.clone(), Arc::new(SystemClock));
        let actor = admin(&services, "contoso", "admin@contoso.com").await;
        for (upn, name, pw) in [
            (ALICE, "Alice Smith", Some(ALICE_PW)),
            ("alice2@contoso.com", "Alice Two", None),
            ("albert@contoso.com", "Albert", None),
            (BOB, "Bob Jones", Some(BOB_PW)),
            (SHARED, "Shared Contoso", None),
        ] {
            services.create_user(&actor, user(upn, name, pw)).await.expect("create user");
        }
        let fabrikam = admin(&services, "fabrikam", "admin@fabrikam.com").await;
        services.create_user(&fabrikam, user(SHARED, "Shared Fabrikam", Some(SHARED_PW))).await.expect("create");
        services.create_user(&fabrikam, user("alice@fabrikam.com", "Alice F", None)).await.expect("create");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let scheme = if tls.is_some() { "ldaps" } else { "ldap" };
        let server = tokio::spawn(tessera_ldap::serve(listener, tls, services.clone(), Limits::default()));
        World {
            url: format!("{scheme}://{addr}"),
            services,
            actor,
            server,
            db,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Runs an OpenLDAP client against this server.
    pub async fn ldap(&self, program: &str, args: &[&str]) -> Out {
        self.ldap_at(&self.url, program, args).await
    }

    pub async fn ldap_at(&self, url: &str, program: &str, args: &[&str]) -> Out {
        let mut command = Command::new(program);
        command
            .args(["-H", url, "-o", "nettimeout=20"])
            .args(args)
            .env("HOME", self.dir.path())
            .env("LDAPCONF", "/dev/null")
            .env("LDAPTLS_REQCERT", "never");
        let shown = format!("{program} {}", args.join(" "));
        let run = tokio::task::spawn_blocking(move || command.output());
        let output = tokio::time::timeout(CLIENT_TIMEOUT, run)
            .await
            .unwrap_or_else(|_| panic!("`{shown}` did not finish in {CLIENT_TIMEOUT:?}"))
            .expect("join")
            .unwrap_or_else(|e| panic!("run `{shown}`: {e}"));
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            command: shown,
        }
    }

    /// `ldapwhoami -x -D NAME -w SECRET`.
    pub async fn whoami(&self, name: &str, secret: &str) -> Out {
        self.ldap("ldapwhoami", &["-x", "-D", name, "-w", secret]).await
    }

    /// One of the Global Administrator's bulk actions on one user of contoso.
    pub async fn bulk(&self, upn: &str, op: BulkOp) {
        let rows = vec![BulkRequestRow { user: upn.into(), op }];
        self.services.bulk(&self.actor, rows, false).await.expect("bulk");
    }

    pub async fn allow_app_passwords(&self) {
        let patch = MfaSettingsPatch { allow_app_passwords: Some(true), ..MfaSettingsPatch::default() };
        self.services.update_mfa_settings(&self.actor, patch).await.expect("allow app passwords");
    }

    /// Creates an app password for a user of contoso, as the security info page does, through
    /// the store; returns its secret as shown (`abcd efgh ...`).
    pub async fn add_app_password(&self, upn: &str) -> String {
        let user = self.services.get_user(&self.actor, &UserRef::parse(upn).unwrap()).await.expect("user");
        let secret = app_password::generate().expect("secret");
        let normalized = app_password::normalize(&secret).expect("normalized");
        let rec = AppPasswordRecord {
            id: tessera_core::ids::AppPasswordId::new(),
            user_id: user.id,
            name: "Mail on my phone".into(),
            password_hash: app_password::hash(&normalized),
            created_at: time::OffsetDateTime::now_utc(),
        };
        let mut tx = self.db.store.begin().await.expect("begin");
        tx.insert_app_password(&rec).await.expect("insert app password");
        tx.commit().await.expect("commit");
        secret.to_string()
    }

    /// Registers an authenticator app for a user of contoso (a method row, as registration
    /// leaves it; its secret does not matter to LDAP).
    pub async fn register_authenticator(&self, upn: &str) {
        let user = self.services.get_user(&self.actor, &UserRef::parse(upn).unwrap()).await.expect("user");
        tessera_store::testing::seed_method(&self.db.store, user.id, MethodKind::Totp).await;
    }

    /// `many0@contoso.com`, ... (display name `many N`), in one import.
    pub async fn add_many_users(&self, prefix: &str, n: usize) {
        let rows: Vec<ImportRow> =
            (0..n).map(|i| user(&format!("{prefix}{i}@contoso.com"), &format!("{prefix} {i}"), None)).collect();
        self.services.import_users(&self.actor, rows, false).await.expect("import");
    }

    /// contoso's sign-in log records of a UPN, newest first.
    pub async fn signins(&self, upn: &str) -> Vec<SignInRecord> {
        let filter = LogFilter { actor: Some(upn.into()), limit: Some(50), ..LogFilter::default() };
        self.services.signin_log(&self.actor, filter).await.expect("sign-in log").items
    }

    pub async fn last_signin(&self, upn: &str) -> SignInRecord {
        self.signins(upn).await.into_iter().next().unwrap_or_else(|| panic!("no sign-in of {upn}"))
    }
}

/// A tenant with its Global Administrator, signed in through the API.
async fn admin(services: &Tessera<SqlStore>, slug: &str, upn: &str) -> Actor {
    services
        .init_tenant(&TenantSlug::parse(slug).unwrap(), &Upn::parse(upn).unwrap(), ADMIN_PW.into())
        .await
        .expect("init tenant");
    let token = services.issue_token(slug, upn, ADMIN_PW.into(), None, &ctx()).await.expect("token");
    services
        .authenticate(&TenantSlug::parse(slug).unwrap(), &BearerToken::new(&token.access_token), &ctx())
        .await
        .expect("actor")
}

/// `ldapsearch` as one bound user.
pub struct Ldap<'a> {
    world: &'a World,
    name: String,
    secret: String,
}

impl<'a> Ldap<'a> {
    pub fn search(world: &'a World, name: &str, secret: &str) -> Ldap<'a> {
        Ldap { world, name: name.into(), secret: secret.into() }
    }

    pub async fn run(&self, base: &str, scope: &str, filter: &str, attrs: &[&str]) -> Out {
        self.run_with(&[], base, scope, filter, attrs).await
    }

    pub async fn run_with(&self, extra: &[&str], base: &str, scope: &str, filter: &str, attrs: &[&str]) -> Out {
        let mut args = vec!["-x", "-D", &self.name, "-w", &self.secret, "-LLL", "-o", "ldif_wrap=no"];
        args.extend(extra);
        args.extend(["-b", base, "-s", scope, filter]);
        args.extend(attrs);
        self.world.ldap("ldapsearch", &args).await
    }
}

/// How a client ended and what it printed.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    command: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited with {}\n--- stdout:\n{}--- stderr:\n{}---",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

impl Out {
    #[track_caller]
    pub fn code(self, code: i32) -> Out {
        assert_eq!(self.code, code, "unexpected exit code: {self}");
        self
    }

    #[track_caller]
    pub fn ok(self) -> Out {
        self.code(0)
    }

    #[track_caller]
    pub fn stdout_is(self, expected: &str) -> Out {
        assert_eq!(self.stdout.trim(), expected, "{self}");
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Out {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}: {self}");
        self
    }
}

/// An entry of `ldapsearch -LLL -o ldif_wrap=no` output.
#[derive(Debug)]
pub struct Ldif {
    pub dn: String,
    pub attrs: Vec<(String, String)>,
}

pub fn entries(ldif: &str) -> Vec<Ldif> {
    let mut out = Vec::new();
    for block in ldif.split("\n\n") {
        let mut lines = block.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
        let Some(first) = lines.next() else { continue };
        let dn = first.strip_prefix("dn:").unwrap_or_else(|| panic!("not a dn line: {first:?}")).trim();
        let attrs = lines
            .map(|l| {
                let (name, value) = l.split_once(':').unwrap_or_else(|| panic!("not an attribute: {l:?}"));
                (name.to_owned(), value.trim_start_matches(':').trim().to_owned())
            })
            .collect();
        out.push(Ldif { dn: dn.to_owned(), attrs });
    }
    out
}

pub fn values<'a>(entry: &'a Ldif, name: &str) -> Vec<&'a str> {
    entry.attrs.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
}
