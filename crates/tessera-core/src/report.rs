//! The registration report of the admin center: how many users are in each per-user MFA
//! state, how many registered which methods, and who must register but has not.

use crate::audit::Page;
use crate::mfa::{MethodKind, PerUserMfaState};
use crate::user::User;

/// Tenant-wide counts, each one `GROUP BY` over the tenant's users.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistrationCounts {
    /// Every user of the tenant.
    pub total: u64,
    /// Users per per-user MFA state, every state listed (zero when none).
    pub by_state: Vec<(PerUserMfaState, u64)>,
    /// Users who registered at least one method of each kind, every kind listed.
    pub by_method: Vec<(MethodKind, u64)>,
    /// Users with at least one sign-in method. Recovery codes alone do not count: they are the
    /// backup of another method, not a method to register.
    pub registered: u64,
    /// Users who are enabled or enforced and have no sign-in method: they register ("proof-up")
    /// at their next sign-in, and until then a password alone gets them that far.
    pub required_unregistered: u64,
}

impl RegistrationCounts {
    pub fn state(&self, s: PerUserMfaState) -> u64 {
        self.by_state.iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| *n)
    }

    pub fn method(&self, m: MethodKind) -> u64 {
        self.by_method.iter().find(|(k, _)| *k == m).map_or(0, |(_, n)| *n)
    }
}

/// The report: the counts and one page of the users who must register but have not.
#[derive(Clone, Debug)]
pub struct RegistrationReport {
    pub counts: RegistrationCounts,
    pub unregistered: Page<User>,
}
