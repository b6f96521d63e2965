//! The harness: a fake clock, a tenant with its Global Administrator on each backend, and
//! helpers to create users, run bulk requests and take a fingerprint of everything stored;
//! and for the sign-in tests, services with a fixed encryption key and users who registered
//! an authenticator through the real registration flow.

use std::sync::{Arc, Mutex};

use tessera_core::CoreError;
use tessera_core::access::{Actor, Role};
use tessera_core::audit::{AuditAction, AuditQuery, AuditRecord};
use tessera_core::change::Change;
use tessera_core::crypto::{DataKey, Keyring};
use tessera_core::ids::{AuditId, CorrelationId, TenantSlug, Upn, UserRef};
use tessera_core::mfa::{BulkOp, BulkReport, PerUserMfaState};
use tessera_core::ports::{Clock, Store};
use tessera_core::service::{BulkRequestRow, ImportRow, NewUserInput, RequestCtx, Started, Tessera};
use tessera_core::session::SessionStage;
use tessera_core::totp::{TotpSecret, base32_decode, step_of};
use tessera_core::user::{Tenant, User, UserQuery};
use tessera_store::SqlStore;
use tessera_store::testing::{self, TestDb};
use time::OffsetDateTime;
use time::macros::datetime;

/// The fake clock's starting time (whole seconds: the store keeps microseconds).
pub const T0: OffsetDateTime = datetime!(2025-03-10 09:00:00 UTC);
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const SOURCE_IP: &str = "192.0.2.10";

/// A clock the test sets and advances.
pub struct FakeClock(Mutex<OffsetDateTime>);

impl FakeClock {
    pub fn new(t: OffsetDateTime) -> Arc<Self> {
        Arc::new(Self(Mutex::new(t)))
    }
    pub fn advance(&self, d: time::Duration) {
        *self.0.lock().unwrap() += d;
    }
    pub fn get(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> OffsetDateTime {
        self.get()
    }
}

/// One backend with a fresh database holding tenant `contoso` and its Global Administrator.
pub struct Env {
    /// The backend's name, for assertion messages.
    pub b: &'static str,
    pub db: TestDb,
    pub clock: Arc<FakeClock>,
    pub svc: Tessera<SqlStore>,
    pub tenant: Tenant,
    pub admin: User,
    pub ga: Actor,
}

/// Every available backend, each with a fresh `contoso` tenant.
pub async fn envs() -> Vec<Env> {
    let mut out = Vec::new();
    for db in testing::all().await {
        let clock = FakeClock::new(T0);
        let svc = Tessera::new(db.store.clone(), clock.clone());
        let b = db.name;
        let (tenant, admin) = svc
            .init_tenant(
                &TenantSlug::parse("contoso").unwrap(),
                &Upn::parse("admin@contoso.com").unwrap(),
                ADMIN_PASSWORD.into(),
            )
            .await
            .unwrap_or_else(|e| panic!("[{b}] init_tenant: {e}"));
        let ga = actor(&admin);
        out.push(Env { b, db, clock, svc, tenant, admin, ga });
    }
    out
}

/// An actor as `authenticate` would build it for `user`, with a fresh correlation id.
/// A record of `action` written by no one, `i` seconds into the day after [`T0`] (after the
/// harness's own records).
pub fn system_record(env: &Env, i: usize, action: AuditAction, change: Option<Change>) -> AuditRecord {
    AuditRecord {
        id: AuditId::new(),
        tenant_id: env.tenant.id,
        time: T0 + time::Duration::days(1) + time::Duration::seconds(i as i64),
        actor_id: None,
        actor_upn: "test".into(),
        source_ip: None,
        action,
        target_id: None,
        target_upn: None,
        change,
        correlation_id: CorrelationId::new(),
    }
}

pub fn actor(user: &User) -> Actor {
    Actor::for_tests(user, Some(SOURCE_IP.parse().unwrap()))
}

pub fn input(upn: &str, roles: &[Role], password: Option<&str>) -> NewUserInput {
    NewUserInput {
        upn: upn.into(),
        display_name: upn.split('@').next().unwrap().into(),
        password: password.map(Into::into),
        account_enabled: true,
        roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
    }
}

/// Rows of one bulk operation on `users`.
pub fn rows(op: BulkOp, users: &[&str]) -> Vec<BulkRequestRow> {
    users.iter().map(|u| BulkRequestRow { user: (*u).to_owned(), op }).collect()
}

/// Unwraps a rejected bulk request's report.
pub fn rejected(b: &str, r: Result<BulkReport, CoreError>) -> BulkReport {
    match r {
        Err(CoreError::BulkRejected(report)) => *report,
        other => panic!("[{b}] expected BulkRejected, got {other:?}"),
    }
}

impl Env {
    pub fn store(&self) -> &SqlStore {
        &self.db.store
    }

    /// Creates a user without password (cheap: no Argon2) as the Global Administrator.
    pub async fn user(&self, upn: &str) -> User {
        self.user_with(upn, &[], None).await
    }

    pub async fn user_with(&self, upn: &str, roles: &[Role], password: Option<&str>) -> User {
        let b = self.b;
        self.svc
            .create_user(&self.ga, input(upn, roles, password))
            .await
            .unwrap_or_else(|e| panic!("[{b}] create {upn}: {e}"))
    }

    /// Creates many users without passwords in one import.
    pub async fn import(&self, upns: &[String]) {
        let b = self.b;
        let rows: Vec<ImportRow> = upns.iter().map(|u| input(u, &[], None)).collect();
        let report = self.svc.import_users(&self.ga, rows, false).await.unwrap_or_else(|e| panic!("[{b}] import: {e}"));
        assert_eq!(report.summary.changed, upns.len(), "[{b}] import created every user");
    }

    /// A second tenant in the same database, with its own Global Administrator.
    pub async fn other_tenant(&self, slug: &str) -> (Tenant, User, Actor) {
        let b = self.b;
        let (t, admin) = self
            .svc
            .init_tenant(
                &TenantSlug::parse(slug).unwrap(),
                &Upn::parse(&format!("admin@{slug}.com")).unwrap(),
                ADMIN_PASSWORD.into(),
            )
            .await
            .unwrap_or_else(|e| panic!("[{b}] init {slug}: {e}"));
        let a = actor(&admin);
        (t, admin, a)
    }

    pub async fn get(&self, user: &str) -> Option<User> {
        let r = UserRef::parse(user).unwrap();
        self.store().user(self.tenant.id, &r).await.unwrap_or_else(|e| panic!("[{}] read {user}: {e}", self.b))
    }

    pub async fn state(&self, user: &str) -> PerUserMfaState {
        self.get(user).await.unwrap_or_else(|| panic!("[{}] {user} exists", self.b)).per_user_mfa_state
    }

    /// Sets states as the Global Administrator.
    pub async fn set_states(&self, states: &[(&str, PerUserMfaState)]) {
        let rows = states.iter().map(|(u, s)| BulkRequestRow { user: (*u).into(), op: BulkOp::SetState(*s) }).collect();
        self.svc.bulk(&self.ga, rows, false).await.unwrap_or_else(|e| panic!("[{}] set states: {e}", self.b));
    }

    /// The whole audit log of `contoso`, newest first, read through the store directly.
    /// The action names of the tenant's audit log, newest first.
    pub async fn audit_actions(&self) -> Vec<String> {
        self.audit_all().await.into_iter().map(|r| r.action.as_str().to_owned()).collect()
    }

    /// A query of the tenant's whole log (500 records at most), newest first.
    pub fn log_query(&self) -> AuditQuery {
        AuditQuery {
            tenant_id: self.tenant.id,
            since: None,
            until: None,
            actor: None,
            target: None,
            action: None,
            limit: 500,
            before_id: None,
        }
    }

    /// The failure reasons in the tenant's sign-in log, newest first.
    pub async fn signin_reasons(&self) -> Vec<String> {
        let page =
            self.store().signins(&self.log_query()).await.unwrap_or_else(|e| panic!("[{}] sign-ins: {e}", self.b));
        page.items.into_iter().filter_map(|r| r.failure_reason.map(|f| f.as_str().to_owned())).collect()
    }

    pub async fn audit_all(&self) -> Vec<AuditRecord> {
        audit_of(self.b, self.store(), self.tenant.id).await
    }

    /// Everything stored about the tenant's users, plus the audit count: two equal
    /// fingerprints mean nothing changed.
    pub async fn fingerprint(&self) -> String {
        let b = self.b;
        let mut out = String::new();
        let mut after = None;
        loop {
            let q =
                UserQuery { tenant_id: self.tenant.id, state: None, search: None, limit: 500, after: after.clone() };
            let page = self.store().list_users(&q).await.unwrap_or_else(|e| panic!("[{b}] list: {e}"));
            for u in &page.items {
                let rows = testing::user_rows(self.store(), u.id).await;
                out.push_str(&format!(
                    "{} {} enabled={} {:?} {:?} {:?}\n",
                    u.upn, u.per_user_mfa_state, u.account_enabled, u.methods, u.roles, rows
                ));
            }
            match page.next {
                Some(_) => after = page.items.last().map(|u| u.upn.key()),
                None => break,
            }
        }
        let settings = self.store().settings(self.tenant.id).await.unwrap();
        out.push_str(&format!("settings {settings:?}\naudit {}\n", self.audit_all().await.len()));
        out
    }
}

/// A tenant's whole audit log, newest first, through the store port.
pub async fn audit_of(b: &str, store: &SqlStore, tenant: tessera_core::ids::TenantId) -> Vec<AuditRecord> {
    let mut all = Vec::new();
    let mut before_id = None;
    loop {
        let q = AuditQuery {
            tenant_id: tenant,
            since: None,
            until: None,
            actor: None,
            target: None,
            action: None,
            limit: 500,
            before_id,
        };
        let page = store.audit(&q).await.unwrap_or_else(|e| panic!("[{b}] audit: {e}"));
        before_id = page.items.last().map(|r| r.id);
        all.extend(page.items);
        if page.next.is_none() {
            return all;
        }
    }
}

// Sign-in: services with a fixed key, and users registered through the real flow.

/// The password of the users the sign-in helpers create.
pub const PW: &str = "Sign-in password 1";

/// The request context of the sign-in helpers (a browser at a fixed address).
pub fn ctx() -> RequestCtx {
    RequestCtx {
        source_ip: Some("198.51.100.7".parse().unwrap()),
        user_agent: Some("contract-test".into()),
        ..Default::default()
    }
}

fn key() -> Arc<Keyring> {
    Arc::new(Keyring::new(DataKey::from_bytes(&[7u8; 32]).unwrap(), vec![]))
}

/// Services with a fixed key, so two instances (or a restart) read each other's secrets.
pub fn services(env: &Env, store: SqlStore) -> Tessera<SqlStore> {
    Tessera::new(store, env.clock.clone()).with_keyring(key())
}

/// The code of `secret` at the fake clock's time, `steps_ahead` steps later.
pub fn code(secret: &TotpSecret, env: &Env, steps_ahead: i64) -> String {
    format!("{:06}", secret.code_at_step(step_of(env.clock.get()) + steps_ahead))
}

/// Creates `upn` with a password, Enforces them and signs in with the password: the returned
/// session waits for the registration of an authenticator.
pub async fn awaiting_registration(env: &Env, svc: &Tessera<SqlStore>, upn: &str) -> Started {
    let b = env.b;
    env.user_with(upn, &[], Some(PW)).await;
    let step = BulkOp::SetState(PerUserMfaState::Enforced);
    svc.bulk(&env.ga, rows(step, &[upn]), false).await.unwrap();
    let started = svc.sign_in_password("contoso", upn, PW.into(), &ctx()).await.unwrap();
    assert_eq!(started.session.stage, SessionStage::RegistrationRequired, "[{b}]");
    started
}

/// A user in `state` with a password, registered through the real registration flow.
/// Returns the user and their TOTP secret.
pub async fn registered(env: &Env, svc: &Tessera<SqlStore>, upn: &str, state: PerUserMfaState) -> (User, TotpSecret) {
    let b = env.b;
    let started = awaiting_registration(env, svc, upn).await;
    let pending = svc.begin_totp_registration(&started.token).await.unwrap();
    let secret = TotpSecret::from_bytes(base32_decode(&pending.secret_base32).unwrap());
    let (done, codes) =
        svc.finish_totp_registration(&started.token, &code(&secret, env, 0), None, &ctx()).await.unwrap();
    assert_eq!(done.session.stage, SessionStage::SignedIn, "[{b}]");
    assert_eq!(codes.len(), 10, "[{b}] ten recovery codes the first time");
    if state != PerUserMfaState::Enforced {
        svc.bulk(&env.ga, rows(BulkOp::SetState(state), &[upn]), false).await.unwrap();
    }
    (env.get(upn).await.unwrap(), secret)
}

/// Signs in with the password; the session waits for the second factor.
pub async fn mfa_session(svc: &Tessera<SqlStore>, upn: &str) -> Started {
    let s = svc.sign_in_password("contoso", upn, PW.into(), &ctx()).await.unwrap();
    assert_eq!(s.session.stage, SessionStage::MfaRequired);
    s
}
