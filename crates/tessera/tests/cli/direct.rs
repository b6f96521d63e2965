//! The test's own node of the deployment: the core services over the servers' database,
//! opened in the test process with the servers' encryption key and the real clock, the way
//! one more `tessera serve` would. It does what no CLI command does: a browser sign-in (a
//! session with an IP address and a user agent), registering an authenticator app, what a
//! user does on the security info page (an app password, "Don't ask again" on a browser) and
//! a legacy client's bind (as over LDAP).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tessera_core::crypto::{DataKey, Keyring};
use tessera_core::ports::SystemClock;
use tessera_core::service::{RequestCtx, Started, Tessera};
use tessera_core::session::SessionStage;
use tessera_core::totp::{TotpSecret, base32_decode, step_of};
use tessera_store::SqlStore;
use time::OffsetDateTime;

use crate::harness::{Backend, Env, TENANT};
use tessera_core::ids::{TenantSlug, Upn};
use tessera_core::tokens::SessionToken;

/// Where the test's browser sign-ins come from.
pub const BROWSER_IP: &str = "203.0.113.9";
pub const BROWSER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) e2e-test-browser";

/// The services on the test's database, with their own runtime (the pool lives in it).
pub struct Direct {
    runtime: tokio::runtime::Runtime,
    svc: Tessera<SqlStore>,
}

/// An authenticator app registered for a user: its secret, the recovery codes shown at
/// registration, and the last time step used (each step is accepted once).
pub struct Authenticator {
    secret: TotpSecret,
    pub recovery_codes: Vec<String>,
    last_step: i64,
}

impl Authenticator {
    /// A code the server accepts now and that was not used yet: the current step's, or the
    /// next one's (one step of skew is accepted), waiting when both were used already.
    pub fn fresh_code(&mut self) -> String {
        loop {
            let now = step_of(OffsetDateTime::now_utc());
            let step = now.max(self.last_step + 1);
            if step <= now + 1 {
                self.last_step = step;
                return format!("{:06}", self.secret.code_at_step(step));
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// A six-digit code that is not valid now (for "wrong code" tests).
    pub fn wrong_code(&self) -> String {
        let now = step_of(OffsetDateTime::now_utc());
        let valid: Vec<String> = (now - 2..=now + 2).map(|s| format!("{:06}", self.secret.code_at_step(s))).collect();
        (0..10).map(|d| format!("{d}{d}{d}{d}{d}{d}")).find(|c| !valid.contains(c)).expect("a wrong code")
    }
}

impl Direct {
    /// Opens the database of `env`'s servers with their key file.
    pub fn open(env: &Env) -> Direct {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
        let key_file = env.key_file();
        let text = std::fs::read_to_string(&key_file)
            .unwrap_or_else(|e| panic!("read the servers' key file {}: {e}", key_file.display()));
        let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim()).expect("the key file is base64");
        let keyring = Arc::new(Keyring::new(DataKey::from_bytes(&bytes).expect("a 32-byte key"), vec![]));
        let store = runtime.block_on(async {
            match env.backend() {
                Backend::Sqlite => SqlStore::open_sqlite(&env.data_dir()).await,
                Backend::Postgres(url) => SqlStore::connect(url).await,
            }
            .expect("open the servers' database")
        });
        let svc = Tessera::new(store, Arc::new(SystemClock)).with_keyring(keyring);
        Direct { runtime, svc }
    }

    fn run<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn browser() -> RequestCtx {
        RequestCtx {
            source_ip: Some(BROWSER_IP.parse().unwrap()),
            user_agent: Some(BROWSER_AGENT.into()),
            ..Default::default()
        }
    }

    /// The browser, carrying a remembered-device cookie.
    fn remembered_browser(device_token: &str) -> RequestCtx {
        RequestCtx { device_tokens: vec![device_token.to_owned()], ..Direct::browser() }
    }

    /// Creates one more tenant with its Global Administrator on the servers' database.
    pub fn add_tenant(&self, slug: &str, admin: &str, password: &str) {
        self.run(self.svc.init_tenant(&TenantSlug::parse(slug).unwrap(), &Upn::parse(admin).unwrap(), password.into()))
            .unwrap_or_else(|e| panic!("create tenant {slug}: {e}"));
    }

    /// A browser sign-in of an Enforced user with the password and a fresh code of the app;
    /// returns the signed-in session's token.
    pub fn sign_in_with_code(&self, upn: &str, password: &str, app: &mut Authenticator) -> String {
        let started = self.sign_in(upn, password);
        assert_eq!(started.session.stage, SessionStage::MfaRequired, "{upn} is asked for the second factor");
        self.run(self.svc.verify_mfa(&started.token, &app.fresh_code(), &Direct::browser()))
            .unwrap_or_else(|e| panic!("second factor of {upn}: {e}"))
            .token
            .expose()
            .to_owned()
    }

    /// The stage a browser sign-in with the password reaches on a browser that carries this
    /// remembered-device token.
    pub fn sign_in_on_device(&self, upn: &str, password: &str, device_token: &str) -> SessionStage {
        self.run(self.svc.sign_in_password(TENANT, upn, password.into(), &Direct::remembered_browser(device_token)))
            .unwrap_or_else(|e| panic!("browser sign-in of {upn}: {e}"))
            .session
            .stage
    }

    /// The signed-in user creates an app password on the security info page; returns the
    /// secret shown once.
    pub fn create_app_password(&self, token: &str, name: &str) -> String {
        let created = self
            .run(self.svc.create_app_password(&SessionToken::new(token), name, &Direct::browser()))
            .unwrap_or_else(|e| panic!("create app password {name}: {e}"));
        created.secret.to_string()
    }

    /// "Don't ask again" right after the second factor; returns the device cookie's value.
    pub fn remember_device(&self, token: &str) -> String {
        self.run(self.svc.remember_device(&SessionToken::new(token), &Direct::browser()))
            .unwrap_or_else(|e| panic!("remember: {e}"))
            .token
    }

    /// Whether a legacy client's simple bind (UPN and password or app password) succeeds.
    pub fn legacy_bind(&self, upn: &str, secret: &str) -> bool {
        self.run(self.svc.legacy_bind(Some(TENANT), upn, secret.into(), &RequestCtx::default())).is_ok()
    }

    /// A browser sign-in with the password; returns the session (its cookie value in `token`).
    pub fn sign_in(&self, upn: &str, password: &str) -> Started {
        self.run(self.svc.sign_in_password(TENANT, upn, password.into(), &Direct::browser()))
            .unwrap_or_else(|e| panic!("browser sign-in of {upn}: {e}"))
    }

    /// Whether the browser session behind `token` is still valid.
    pub fn session_alive(&self, token: &str) -> bool {
        self.run(self.svc.current_session(&SessionToken::new(token))).expect("read the session").is_some()
    }

    /// Registers an authenticator app for `upn`, who must be Enabled or Enforced and have
    /// nothing registered: browser sign-in, the offered secret, its current code. Afterwards
    /// the user is Enforced.
    pub fn register_totp(&self, upn: &str, password: &str) -> Authenticator {
        let started = self.sign_in(upn, password);
        assert_eq!(started.session.stage, SessionStage::RegistrationRequired, "{upn} must register first");
        self.run(async {
            let pending = self.svc.begin_totp_registration(&started.token).await.expect("begin registration");
            let secret = TotpSecret::from_bytes(base32_decode(&pending.secret_base32).expect("base32 secret"));
            let step = step_of(OffsetDateTime::now_utc());
            let code = format!("{:06}", secret.code_at_step(step));
            let (_, recovery_codes) = self
                .svc
                .finish_totp_registration(&started.token, &code, Some("e2e".into()), &Direct::browser())
                .await
                .expect("finish registration");
            assert_eq!(recovery_codes.len(), 10, "recovery codes at the first registration");
            Authenticator { secret, recovery_codes, last_step: step }
        })
    }
}
