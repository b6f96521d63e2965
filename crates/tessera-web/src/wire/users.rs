//! Users.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A user, with the per-user MFA state and the kinds of registered methods.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(as = UserDto)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    #[schema(required)]
    pub id: String,
    #[schema(required)]
    pub upn: String,
    #[schema(required)]
    pub display_name: String,
    #[schema(required)]
    pub account_enabled: bool,
    /// `disabled`, `enabled` or `enforced`.
    #[schema(required)]
    pub per_user_mfa_state: String,
    /// Registered method kinds, e.g. `totp`.
    #[schema(required)]
    pub methods: Vec<String>,
    /// Administrator roles, e.g. `globalAdministrator`.
    #[schema(required)]
    pub roles: Vec<String>,
    /// RFC 3339.
    #[schema(required)]
    pub created_at: String,
}

impl From<tessera_core::user::User> for User {
    fn from(u: tessera_core::user::User) -> Self {
        Self {
            id: u.id.to_string(),
            upn: u.upn.to_string(),
            display_name: u.display_name,
            account_enabled: u.account_enabled,
            per_user_mfa_state: u.per_user_mfa_state.as_str().to_owned(),
            methods: u.methods.iter().map(|m| m.as_str().to_owned()).collect(),
            roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            created_at: super::rfc3339(u.created_at),
        }
    }
}

/// One page of users.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UserPage {
    #[schema(required)]
    pub items: Vec<User>,
    /// Cursor of the next page; null on the last page.
    pub next: Option<String>,
}

impl From<tessera_core::audit::Page<tessera_core::user::User>> for UserPage {
    fn from(p: tessera_core::audit::Page<tessera_core::user::User>) -> Self {
        Self { items: p.items.into_iter().map(Into::into).collect(), next: p.next }
    }
}
