//! The storage port of legacy and remembered credentials: app passwords, remembered devices
//! ("Don't ask again"), account changes that end them, and the cross-tenant UPN lookup of
//! LDAP binds. Each check-and-change is one atomic statement.

use std::future::Future;
use std::net::IpAddr;

use time::OffsetDateTime;

use crate::ids::{AppPasswordId, DeviceId, TenantId, UserId};
use crate::ports::StoreResult;

/// An app password as stored: only the hash of its secret.
#[derive(Clone, Debug)]
pub struct AppPasswordRecord {
    pub id: AppPasswordId,
    pub user_id: UserId,
    pub name: String,
    pub password_hash: String,
    pub created_at: OffsetDateTime,
}

/// A browser that answered MFA and asked not to be asked again (never its token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RememberedDevice {
    pub id: DeviceId,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub expires_at: OffsetDateTime,
    pub source_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

pub trait CredentialStore: Send + Sync {
    /// Finds the user's app password with this hash and marks it used at `now`, in one
    /// statement. Returns its id, or `None` when the user has no such app password.
    fn use_app_password(
        &self,
        user: UserId,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<Option<AppPasswordId>>> + Send;
    /// Finds the user's remembered device with this token hash that still counts (not expired
    /// at `now`, and created at or after the user's "restore MFA on remembered devices" time)
    /// and marks it used at `now`, in one statement. Returns its id.
    fn use_remembered_device(
        &self,
        user: UserId,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<Option<DeviceId>>> + Send;
    /// The user's remembered devices that still count at `now` (as above), oldest first.
    fn remembered_devices(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<Vec<RememberedDevice>>> + Send;
    /// The tenants that have a user with this lower-cased UPN, at most `limit`.
    fn tenants_with_upn(&self, upn_key: &str, limit: u32) -> impl Future<Output = StoreResult<Vec<TenantId>>> + Send;
}

/// Writes that go with an audit record in one transaction.
pub trait CredentialTx: Send {
    /// How many app passwords the user has. On PostgreSQL it first locks the user's row, so
    /// that two concurrent creations cannot both pass the limit (SQLite transactions already
    /// run one at a time).
    fn app_password_count_for_update(&mut self, user: UserId) -> impl Future<Output = StoreResult<u32>> + Send;
    fn insert_app_password(&mut self, rec: &AppPasswordRecord) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes one app password of the user; false when it was not theirs.
    fn delete_app_password(
        &mut self,
        user: UserId,
        id: AppPasswordId,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn insert_remembered_device(
        &mut self,
        device: &RememberedDevice,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes one remembered device of the user; false when it was not theirs.
    fn delete_remembered_device(
        &mut self,
        user: UserId,
        id: DeviceId,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Deletes every remembered device of the user; returns how many.
    fn delete_remembered_devices(&mut self, user: UserId) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Sets the account enabled or disabled and/or replaces the password hash.
    fn update_account(
        &mut self,
        user: UserId,
        account_enabled: Option<bool>,
        password_hash: Option<&str>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
