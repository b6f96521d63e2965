//! The sign-in decision (a pure function) and sign-in log records.

use std::net::IpAddr;

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
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MfaRequiredBy {
    None,
    PerUserState,
}

impl MfaRequiredBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::PerUserState => "perUserState",
        }
    }
}

/// Why a sign-in that required MFA was let through without a prompt, as written in the
/// sign-in log.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MfaSkip {
    /// The request came from one of the tenant's trusted IP ranges.
    TrustedIp,
    /// The browser carried a remembered-device token of the user that still counts.
    RememberedDevice,
}

impl MfaSkip {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TrustedIp => "trustedIp",
            Self::RememberedDevice => "rememberedDevice",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::TrustedIp, Self::RememberedDevice].into_iter().find(|x| x.as_str() == s)
    }
}

/// The facts the decision depends on.
#[derive(Clone, Debug)]
pub struct SignInFacts<'a> {
    pub account_enabled: bool,
    pub state: PerUserMfaState,
    /// Registered methods usable as a second factor under the tenant's allowed methods.
    pub usable_methods: &'a [MethodKind],
    /// What exempts this request from the MFA prompt, if anything (a trusted IP, a remembered
    /// device). It never exempts from registration: a user who must register does so, even
    /// on the office network.
    pub exemption: Option<MfaSkip>,
}

/// What the decision says, with what required MFA and what skipped it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Verdict {
    pub decision: Decision,
    pub required_by: MfaRequiredBy,
    pub skipped_by: Option<MfaSkip>,
}

/// Decides what an interactive sign-in with a correct password must do next.
pub fn decide(f: &SignInFacts<'_>) -> Verdict {
    let verdict = |decision, required_by, skipped_by| Verdict { decision, required_by, skipped_by };
    if !f.account_enabled {
        return verdict(Decision::Block { reason: "account_disabled" }, MfaRequiredBy::None, None);
    }
    let has_second_factor = !f.usable_methods.is_empty();
    match f.state {
        PerUserMfaState::Disabled => verdict(Decision::Allow, MfaRequiredBy::None, None),
        PerUserMfaState::Enabled | PerUserMfaState::Enforced if !has_second_factor => {
            verdict(Decision::RequireRegistration, MfaRequiredBy::PerUserState, None)
        }
        PerUserMfaState::Enabled | PerUserMfaState::Enforced => match f.exemption {
            Some(skip) => verdict(Decision::Allow, MfaRequiredBy::PerUserState, Some(skip)),
            None => {
                verdict(Decision::RequireMfa { methods: f.usable_methods.to_vec() }, MfaRequiredBy::PerUserState, None)
            }
        },
    }
}

/// One sign-in attempt, as written in the sign-in log.
#[derive(Clone, Debug)]
pub struct SignInRecord {
    pub id: uuid::Uuid,
    pub tenant_id: TenantId,
    pub time: OffsetDateTime,
    pub user_id: Option<UserId>,
    /// The UPN as typed (lower-cased).
    pub upn: String,
    pub source_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// `api`, `browser` or `legacy`.
    pub client: String,
    pub result: String,
    pub failure_reason: Option<String>,
    pub mfa_required_by: MfaRequiredBy,
    pub mfa_method: Option<MethodKind>,
    /// What was presented: `password` or `appPassword` (none when the attempt never got to a
    /// credential check, e.g. a second-factor step).
    pub credential: Option<String>,
    /// Why MFA was required but not asked for.
    pub mfa_skipped_by: Option<MfaSkip>,
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
            let f = SignInFacts { account_enabled: enabled, state, usable_methods: methods, exemption: None };
            assert_eq!(decide(&f).decision, want, "{enabled} {state}");
        }
    }

    #[test]
    fn exemptions_skip_the_prompt_but_never_registration_or_a_disabled_account() {
        for skip in [MfaSkip::TrustedIp, MfaSkip::RememberedDevice] {
            let f = |enabled, state, methods: &'static [MethodKind]| SignInFacts {
                account_enabled: enabled,
                state,
                usable_methods: methods,
                exemption: Some(skip),
            };
            let v = decide(&f(true, Enforced, &[MethodKind::Totp]));
            assert_eq!(
                v,
                Verdict { decision: Decision::Allow, required_by: MfaRequiredBy::PerUserState, skipped_by: Some(skip) }
            );
            assert_eq!(decide(&f(true, Enabled, &[])).decision, Decision::RequireRegistration);
            assert_eq!(
                decide(&f(false, Enforced, &[MethodKind::Totp])).decision,
                Decision::Block { reason: "account_disabled" }
            );
            let v = decide(&f(true, Disabled, &[]));
            assert_eq!((v.decision, v.skipped_by), (Decision::Allow, None), "nothing to skip");
        }
    }
}
