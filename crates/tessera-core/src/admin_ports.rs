//! The storage port of the admin center's read models: the registration report (counts by
//! `GROUP BY`), a user's app passwords and remembered-devices time.

use std::future::Future;

use time::OffsetDateTime;

use crate::audit::Page;
use crate::ids::{TenantId, UserId};
use crate::ports::StoreResult;
use crate::report::RegistrationCounts;
use crate::user::User;

/// An app password as listed to an administrator (never its hash).
#[derive(Clone, Debug)]
pub struct AppPasswordInfo {
    pub id: crate::ids::AppPasswordId,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

pub trait AdminStore: Send + Sync {
    /// The tenant-wide counts of the registration report.
    fn registration_counts(&self, tenant: TenantId) -> impl Future<Output = StoreResult<RegistrationCounts>> + Send;
    /// Users who are enabled or enforced and have no sign-in method (recovery codes alone do
    /// not count), in UPN order after the lower-cased UPN `after`, at most `limit`.
    fn unregistered_users(
        &self,
        tenant: TenantId,
        limit: u32,
        after: Option<String>,
    ) -> impl Future<Output = StoreResult<Page<User>>> + Send;
    /// The user's app passwords, oldest first.
    fn app_passwords(&self, user: UserId) -> impl Future<Output = StoreResult<Vec<AppPasswordInfo>>> + Send;
    /// Remembered devices of the user created before this time do not count
    /// ("restore multi-factor authentication on all remembered devices").
    fn remembered_devices_not_before(
        &self,
        user: UserId,
    ) -> impl Future<Output = StoreResult<Option<OffsetDateTime>>> + Send;
}
