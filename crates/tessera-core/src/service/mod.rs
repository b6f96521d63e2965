//! Use cases. Each public method is one transaction with its audit record(s), and checks the
//! actor's permission through [`crate::access::authorize`] before it changes anything.

mod admin;
mod auth;
mod bulk;
mod credentials;
mod directory;
mod legacy;
mod logs;
mod methods;
mod signin;

use std::net::IpAddr;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::access::Actor;
use crate::audit::{AuditAction, AuditRecord};
use crate::change::Change;
use crate::crypto::{DataKey, Keyring};
use crate::error::CoreError;
use crate::ids::{AuditId, CorrelationId, TenantId, UserId};
use crate::ports::{Clock, Store};
use crate::session::SignInPolicy;

pub use admin::{AdminSession, Export, MAX_EXPORT, USER_PAGE_HISTORY, UserDetail};
pub use auth::IssuedToken;
pub use bulk::BulkRequestRow;
pub use credentials::{AccountPatch, DeviceToken, MyCredentials, NewAppPassword};
pub use directory::{ImportRow, NewUserInput};
pub use legacy::LegacyBound;
pub use logs::LogFilter;
pub use methods::{PendingTotp, SecurityInfo};
pub use signin::{Client, RECOVERY_CODES, SessionView, Started};

/// Where a request came from.
#[derive(Clone, Debug, Default)]
pub struct RequestCtx {
    pub source_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// Remembered-device tokens the browser carries (its `Don't ask again` cookie); at most
    /// [`MAX_DEVICE_TOKENS`] are looked at.
    pub device_tokens: Vec<String>,
}

/// How many remembered-device tokens one browser keeps (one per user who ticked "Don't ask
/// again" on it); the oldest goes first.
pub const MAX_DEVICE_TOKENS: usize = 5;

/// The services, over one store.
pub struct Tessera<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    token_ttl: Duration,
    policy: SignInPolicy,
    keyring: Arc<Keyring>,
    trusted_proxies: Arc<[crate::settings::IpRange]>,
    /// Slots for password hashing, one per core (see [`run_blocking`]).
    hash_slots: Arc<tokio::sync::Semaphore>,
}

impl<S: Store> Clone for Tessera<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            clock: self.clock.clone(),
            token_ttl: self.token_ttl,
            policy: self.policy,
            keyring: self.keyring.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            hash_slots: self.hash_slots.clone(),
        }
    }
}

impl<S: Store> Tessera<S> {
    pub const DEFAULT_TOKEN_TTL: Duration = Duration::hours(1);

    /// Services over `store`. Secrets at rest are encrypted with a key made up for this
    /// process only: a server that keeps data across restarts must call [`Tessera::with_keyring`]
    /// with its persisted key (`tessera serve` does).
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        let ephemeral = DataKey::generate_bytes().and_then(|k| DataKey::from_bytes(&k)).expect("OS randomness");
        Self {
            store,
            clock,
            token_ttl: Self::DEFAULT_TOKEN_TTL,
            policy: SignInPolicy::default(),
            keyring: Arc::new(Keyring::new(ephemeral, Vec::new())),
            trusted_proxies: Arc::from([]),
            hash_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            )),
        }
    }

    /// Password hashing off the async threads, one at a time per core.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CoreError> {
        run_blocking(&self.hash_slots, f).await
    }

    /// Reverse proxies whose `X-Forwarded-For` is believed (see [`crate::settings::client_ip`]).
    pub fn with_trusted_proxies(mut self, proxies: Vec<crate::settings::IpRange>) -> Self {
        self.trusted_proxies = proxies.into();
        self
    }

    pub fn trusted_proxies(&self) -> &[crate::settings::IpRange] {
        &self.trusted_proxies
    }

    pub fn with_keyring(mut self, keyring: Arc<Keyring>) -> Self {
        self.keyring = keyring;
        self
    }

    pub fn with_policy(mut self, policy: SignInPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn policy(&self) -> &SignInPolicy {
        &self.policy
    }

    pub fn with_token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Whether the service can answer requests: its storage responds.
    pub async fn ping(&self) -> Result<(), CoreError>
    where
        S: crate::ports::Health,
    {
        Ok(self.store.ping().await?)
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Resolves a tenant slug, as "not found" when it does not exist.
    async fn tenant_id(&self, slug: &crate::ids::TenantSlug) -> Result<TenantId, CoreError> {
        self.store
            .tenant_by_slug(slug)
            .await?
            .map(|t| t.id)
            .ok_or_else(|| CoreError::NotFound(format!("tenant '{slug}'")))
    }
}

/// Builds an audit record for a change made by `actor`.
pub(crate) struct AuditDraft<'a> {
    pub actor: &'a Actor,
    pub now: OffsetDateTime,
}

impl AuditDraft<'_> {
    pub fn record(&self, action: AuditAction, target: Option<(UserId, &str)>, change: Change) -> AuditRecord {
        AuditRecord {
            id: AuditId::new(),
            tenant_id: self.actor.tenant_id,
            time: self.now,
            actor_id: Some(self.actor.user_id),
            actor_upn: self.actor.upn.to_string(),
            source_ip: self.actor.source_ip,
            action,
            target_id: target.map(|t| t.0),
            target_upn: target.map(|t| t.1.to_owned()),
            change: Some(change),
            correlation_id: self.actor.correlation_id,
        }
    }
}

/// Runs CPU-heavy work (Argon2) off the async threads, at most as many at once as `slots`
/// has permits (one per core); the others wait their turn. More at once would not finish
/// sooner: they would share the cores, each holding its 19 MiB, and evict each other's memory
/// from the caches (eight Argon2 verifications at once on two cores got through 20% fewer per
/// second than two).
pub(crate) async fn run_blocking<T: Send + 'static>(
    slots: &Arc<tokio::sync::Semaphore>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CoreError> {
    let permit =
        slots.clone().acquire_owned().await.map_err(|e| CoreError::Internal(format!("blocking slots: {e}")))?;
    // The permit goes with the work: it is given back when the work ends, even if the caller
    // stopped waiting for it.
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f()
    })
    .await
    .map_err(|e| CoreError::Internal(format!("blocking task: {e}")))
}

pub(crate) fn new_correlation_id() -> CorrelationId {
    CorrelationId::new()
}
