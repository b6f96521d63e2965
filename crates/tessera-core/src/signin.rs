//! The sign-in decision (a pure function) and sign-in log records.

use serde::Serialize;
use time::OffsetDateTime;

use crate::ids::{TenantId, UserId};
use crate::mfa::{MethodKind, PerUserMfaState};

/// What the sign-in must do next, once the password was right.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Decision {
    Allow,
    RequireMfa { methods: Vec<MethodKind> },
    RequireRegistration,
    Block { reason: &'static str },
}

/// Why MFA was required, as written in the sign-in log.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MfaRequiredBy {
    None,
    PerUserState,
}

/// The facts the decision depends on.
#[derive(Clone, Debug)]
pub struct SignInFacts<'a> {
    pub account_enabled: bool,
    pub state: PerUserMfaState,
    /// Registered methods usable as a second factor under the tenant's allowed methods.
    pub usable_methods: &'a [MethodKind],
}

/// Decides what an interactive sign-in with a correct password must do next.
pub fn decide(f: &SignInFacts<'_>) -> (Decision, MfaRequiredBy) {
    if !f.account_enabled {
        return (Decision::Block { reason: "account_disabled" }, MfaRequiredBy::None);
    }
    let has_second_factor = !f.usable_methods.is_empty();
    match f.state {
        PerUserMfaState::Disabled => (Decision::Allow, MfaRequiredBy::None),
        PerUserMfaState::Enabled | PerUserMfaState::Enforced if !has_second_factor => {
            (Decision::RequireRegistration, MfaRequiredBy::PerUserState)
        }
        PerUserMfaState::Enabled | PerUserMfaState::Enforced => {
            (Decision::RequireMfa { methods: f.usable_methods.to_vec() }, MfaRequiredBy::PerUserState)
        }
    }
}

/// One sign-in attempt, as written in the sign-in log.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInRecord {
    pub id: uuid::Uuid,
    #[serde(skip)]
    pub tenant_id: TenantId,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub user_id: Option<UserId>,
    /// The UPN as typed (lower-cased).
    pub upn: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// `api`, `browser` or `legacy`.
    pub client: String,
    pub result: String,
    pub failure_reason: Option<String>,
    pub mfa_required_by: MfaRequiredBy,
    pub mfa_method: Option<MethodKind>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use PerUserMfaState::*;

    #[test]
    fn decision_table() {
        let totp = [MethodKind::Totp];
        let cases: [(bool, PerUserMfaState, &[MethodKind], Decision); 7] = [
            (false, Enforced, &totp, Decision::Block { reason: "account_disabled" }),
            (true, Disabled, &[], Decision::Allow),
            (true, Disabled, &totp, Decision::Allow),
            (true, Enabled, &[], Decision::RequireRegistration),
            (true, Enabled, &totp, Decision::RequireMfa { methods: totp.to_vec() }),
            (true, Enforced, &[], Decision::RequireRegistration),
            (true, Enforced, &totp, Decision::RequireMfa { methods: totp.to_vec() }),
        ];
        for (enabled, state, methods, want) in cases {
            let f = SignInFacts { account_enabled: enabled, state, usable_methods: methods };
            assert_eq!(decide(&f).0, want, "{enabled} {state}");
        }
    }
}
