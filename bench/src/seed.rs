//! Seeding: a tenant and its Global Administrator through `Tessera::init_tenant`, then N
//! users straight through the store port (no passwords, no audit), in random order so that
//! ids and UPNs are not correlated, with per-user MFA states drawn from a mix.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tessera_core::access::Actor;
use tessera_core::ids::{DisplayName, Upn, UserId};
use tessera_core::mfa::PerUserMfaState;
use tessera_core::ports::{Store, StoreTx, SystemClock};
use tessera_core::service::{RequestCtx, Tessera};
use tessera_core::user::NewUser;
use tessera_store::SqlStore;
use time::OffsetDateTime;

pub const TENANT: &str = "contoso";
pub const DOMAIN: &str = "contoso.com";

/// The UPN of seeded user `i`, e.g. `user0000123@contoso.com`.
pub fn upn(i: usize) -> String {
    format!("user{i:07}@{DOMAIN}")
}

/// SplitMix64: small, fast and good enough to draw states and queries reproducibly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is negligible here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

pub struct Seeded {
    pub services: Tessera<SqlStore>,
    pub actor: Actor,
    /// The state of seeded user `i`.
    pub states: Vec<PerUserMfaState>,
    pub took: Duration,
}

pub async fn seed(store: &SqlStore, n: usize, mix: [u32; 3], batch: usize, rng: &mut Rng) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let services = Tessera::new(store.clone(), Arc::new(SystemClock));
    let (admin_upn, admin_password) = (format!("admin@{DOMAIN}"), "bench-admin-password");
    let (tenant, _) = services
        .init_tenant(
            &tessera_core::ids::TenantSlug::parse(TENANT)?,
            &tessera_core::ids::Upn::parse(&admin_upn)?,
            admin_password.into(),
        )
        .await
        .context("init_tenant")?;
    // The administrator signs in as through the API (one sign-in log record, no audit record).
    let ctx = RequestCtx { source_ip: Some("127.0.0.1".parse()?), ..Default::default() };
    let token = services.issue_token(TENANT, &admin_upn, admin_password.into(), None, &ctx).await.context("token")?;
    let bearer = tessera_core::tokens::BearerToken::from(token.access_token);
    let actor = services.authenticate(&tenant.slug, &bearer, &ctx).await.context("authenticate")?;

    let states: Vec<PerUserMfaState> = (0..n)
        .map(|_| {
            let r = rng.below(100) as u32;
            if r < mix[0] {
                PerUserMfaState::Disabled
            } else if r < mix[0] + mix[1] {
                PerUserMfaState::Enabled
            } else {
                PerUserMfaState::Enforced
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }

    let now = OffsetDateTime::now_utc();
    let mut done = 0;
    let mut last_report = Instant::now();
    for chunk in order.chunks(batch.max(1)) {
        let mut users = Vec::with_capacity(chunk.len());
        let mut by_state: [Vec<UserId>; 3] = Default::default();
        for &i in chunk {
            let id = UserId::new();
            match states[i] {
                PerUserMfaState::Disabled => {}
                PerUserMfaState::Enabled => by_state[1].push(id),
                PerUserMfaState::Enforced => by_state[2].push(id),
            }
            users.push(NewUser {
                id,
                tenant_id: tenant.id,
                upn: Upn::parse(&upn(i))?,
                display_name: DisplayName::parse(&format!("User {i:07}"))?,
                password_hash: None,
                account_enabled: true,
                roles: Vec::new(),
                created_at: now,
            });
        }
        let mut tx = store.begin().await?;
        tx.insert_users(&users).await?;
        tx.set_mfa_state(&by_state[1], PerUserMfaState::Enabled).await?;
        tx.set_mfa_state(&by_state[2], PerUserMfaState::Enforced).await?;
        tx.commit().await?;
        done += chunk.len();
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("  seeded {done}/{n} users ({:.0} s)", started.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
    }
    Ok(Seeded { services, actor, states, took: started.elapsed() })
}
