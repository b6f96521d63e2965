//! Ports: what the domain needs from the outside world. Storage adapters live in
//! `tessera-store`; time comes from a [`Clock`] so expiry is testable.

use std::future::Future;

use time::OffsetDateTime;

use crate::admin_ports::AdminStore;
use crate::audit::{AuditQuery, AuditRecord, Page};
use crate::auth_ports::{AuthStore, AuthTx};
use crate::credential_ports::{CredentialStore, CredentialTx};
use crate::error::StoreError;
use crate::ids::{TenantId, TenantSlug, UserId, UserRef};
use crate::mfa::PerUserMfaState;
use crate::settings::MfaSettings;
use crate::signin::SignInRecord;
use crate::user::{NewUser, Tenant, User, UserQuery, UserSnapshot};

pub type StoreResult<T> = Result<T, StoreError>;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A user's stored credential, for password verification.
#[derive(Clone)]
pub struct Credential {
    pub user: User,
    pub password_hash: Option<String>,
}

/// An API access token as stored: only its SHA-256 hash.
#[derive(Clone, Debug)]
pub struct ApiToken {
    pub token_hash: String,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// Whether the storage answers: what `GET /healthz` asks, through [`crate::service::Tessera::ping`].
pub trait Health {
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Every storage port the services use, as one bound: what a front end (`tessera-web`) is
/// generic over, so its handlers run over any store and it does not depend on the adapter.
/// Implemented for every type that implements the ports.
pub trait Backend: Store<Tx: AuthTx + CredentialTx> + AuthStore + CredentialStore + AdminStore + Health {}

impl<S> Backend for S
where
    S: Store + AuthStore + CredentialStore + AdminStore + Health,
    S::Tx: AuthTx + CredentialTx,
{
}

/// Reads outside a transaction, and the way into one.
pub trait Store: Clone + Send + Sync + 'static {
    type Tx: StoreTx;

    /// Begins a write transaction (on SQLite an immediate one: it takes the write lock now).
    fn begin(&self) -> impl Future<Output = StoreResult<Self::Tx>> + Send;

    fn tenant_by_slug(&self, slug: &TenantSlug) -> impl Future<Output = StoreResult<Option<Tenant>>> + Send;
    fn tenant_slug(&self, tenant: TenantId) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    fn user(&self, tenant: TenantId, user: &UserRef) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// Looks a user up by lower-cased UPN, with the password hash.
    fn credential(
        &self,
        tenant: TenantId,
        upn_key: &str,
    ) -> impl Future<Output = StoreResult<Option<Credential>>> + Send;
    fn list_users(&self, q: &UserQuery) -> impl Future<Output = StoreResult<Page<User>>> + Send;
    fn audit(&self, q: &AuditQuery) -> impl Future<Output = StoreResult<Page<AuditRecord>>> + Send;
    fn signins(&self, q: &AuditQuery) -> impl Future<Output = StoreResult<Page<SignInRecord>>> + Send;
    fn settings(&self, tenant: TenantId) -> impl Future<Output = StoreResult<MfaSettings>> + Send;
    fn api_token(&self, token_hash: &str) -> impl Future<Output = StoreResult<Option<ApiToken>>> + Send;
    fn insert_signin(&self, rec: &SignInRecord) -> impl Future<Output = StoreResult<()>> + Send;
}

/// One write transaction. Dropped without [`StoreTx::commit`], it rolls back.
pub trait StoreTx: Send {
    /// Fails with [`StoreError::Conflict`] when the slug is taken.
    fn insert_tenant(&mut self, t: &Tenant) -> impl Future<Output = StoreResult<()>> + Send;
    fn tenant_by_slug(&mut self, slug: &TenantSlug) -> impl Future<Output = StoreResult<Option<Tenant>>> + Send;
    /// Fails with [`StoreError::Conflict`] when the UPN is taken in the tenant.
    fn insert_users(&mut self, users: &[NewUser]) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_user(&mut self, id: UserId) -> impl Future<Output = StoreResult<()>> + Send;
    /// The users named by `refs` that exist in `tenant`, with what bulk operations act on.
    ///
    /// A read to decide a change on: until this transaction ends, another transaction's
    /// `snapshots` or `settings` of the same tenant waits, and then sees what this one
    /// committed. So two concurrent requests never both decide (and audit) the same change.
    fn snapshots(
        &mut self,
        tenant: TenantId,
        refs: &[UserRef],
    ) -> impl Future<Output = StoreResult<Vec<UserSnapshot>>> + Send;
    fn set_mfa_state(&mut self, ids: &[UserId], state: PerUserMfaState)
    -> impl Future<Output = StoreResult<()>> + Send;
    /// Removes registered methods (require re-registration).
    fn delete_methods(&mut self, ids: &[UserId]) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_app_passwords(&mut self, ids: &[UserId]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Remembered devices of these users created before `at` stop counting.
    fn revoke_remembered_devices(
        &mut self,
        ids: &[UserId],
        at: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The tenant's settings, read to decide a change on (see [`StoreTx::snapshots`]).
    fn settings(&mut self, tenant: TenantId) -> impl Future<Output = StoreResult<MfaSettings>> + Send;
    fn put_settings(&mut self, tenant: TenantId, s: &MfaSettings) -> impl Future<Output = StoreResult<()>> + Send;
    fn insert_audit(&mut self, recs: &[AuditRecord]) -> impl Future<Output = StoreResult<()>> + Send;
    fn insert_api_token(&mut self, t: &ApiToken) -> impl Future<Output = StoreResult<()>> + Send;
    fn commit(self) -> impl Future<Output = StoreResult<()>> + Send;
}
