//! Tenants and users.

use time::OffsetDateTime;

use crate::access::Role;
use crate::ids::{DisplayName, TenantId, TenantSlug, Upn, UserId};
use crate::mfa::{MethodKind, PerUserMfaState};

#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub upn: Upn,
    pub display_name: String,
    pub account_enabled: bool,
    pub per_user_mfa_state: PerUserMfaState,
    pub methods: Vec<MethodKind>,
    pub roles: Vec<Role>,
    pub created_at: OffsetDateTime,
}

/// A user as read for a change inside a transaction, with what "Manage user settings" acts on.
#[derive(Clone, Debug)]
pub struct UserSnapshot {
    pub user: User,
    pub app_passwords: u32,
    pub remembered_devices_not_before: Option<OffsetDateTime>,
}

/// A user to create. The password is already hashed.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub upn: Upn,
    pub display_name: DisplayName,
    pub password_hash: Option<String>,
    pub account_enabled: bool,
    pub roles: Vec<Role>,
    pub created_at: OffsetDateTime,
}

/// Filters of the user list, ordered by UPN.
#[derive(Clone, Debug)]
pub struct UserQuery {
    pub tenant_id: TenantId,
    pub state: Option<PerUserMfaState>,
    /// Lower-cased UPN prefix.
    pub search: Option<String>,
    pub limit: u32,
    /// Users after this lower-cased UPN (the previous page's last).
    pub after: Option<String>,
}
