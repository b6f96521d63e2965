//! The sign-in decision (a pure function) and sign-in log records.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::closed::{UnknownValue, closed_set};
use crate::ids::{TenantId, UserId};
use crate::mfa::{MethodKind, PerUserMfaState};

/// What the sign-in must do next, once the password was right.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Decision {
    Allow,
    RequireMfa { methods: Vec<MethodKind> },
    RequireRegistration,
    Block { reason: FailureReason },
}

closed_set! {
    /// Why MFA was required, as written in the sign-in log.
    pub enum MfaRequiredBy("MFA requirement") {
        None = "none",
        PerUserState = "perUserState",
    }
}

closed_set! {
    /// Why a sign-in that required MFA was let through without a prompt, as written in the
    /// sign-in log.
    pub enum MfaSkip("MFA skip") {
        /// The request came from one of the tenant's trusted IP ranges.
        TrustedIp = "trustedIp",
        /// The browser carried a remembered-device token of the user that still counts.
        RememberedDevice = "rememberedDevice",
    }
}

closed_set! {
    /// Which door a sign-in came through, as the sign-in log names it.
    pub enum Client("sign-in client") {
        Browser = "browser",
        Api = "api",
        /// LDAP and other clients that can only send a password.
        Legacy = "legacy",
    }
}

closed_set! {
    /// How a sign-in attempt ended.
    pub enum SignInResult("sign-in result") {
        Success = "success",
        Failure = "failure",
        /// The password was right and the sign-in waits for the second factor or registration.
        Interrupted = "interrupted",
    }
}

closed_set! {
    /// Why a sign-in attempt failed or was interrupted, as written in the sign-in log.
    pub enum FailureReason("sign-in failure reason") {
        /// Too many attempts on the account, the code or the source IP.
        LockedOut = "locked_out",
        /// Unknown user or tenant, or a wrong password.
        InvalidCredentials = "invalid_credentials",
        AccountDisabled = "account_disabled",
        MfaRequired = "mfa_required",
        MfaRegistrationRequired = "mfa_registration_required",
        /// A wrong, replayed or used-up one-time code (TOTP or recovery code), from the browser
        /// or the API: one name for the one failure. (Browser sign-ins wrote `invalid_code`
        /// before; [`FailureReason::parse_stored`] reads those rows.)
        InvalidOtp = "invalid_otp",
        /// A legacy client's correct password, for a user who must use MFA.
        AppPasswordRequired = "app_password_required",
        /// A correct app password, in a tenant that does not allow app passwords.
        AppPasswordsNotAllowed = "app_passwords_not_allowed",
    }
}

impl FailureReason {
    /// As [`FailureReason::parse`], also for names written by earlier versions.
    pub fn parse_stored(s: &str) -> Result<Self, UnknownValue> {
        match s {
            "invalid_code" => Ok(Self::InvalidOtp),
            other => Self::parse(other),
        }
    }
}

closed_set! {
    /// What a sign-in presented, as written in the sign-in log.
    pub enum CredentialKind("credential") {
        Password = "password",
        AppPassword = "appPassword",
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
        return verdict(Decision::Block { reason: FailureReason::AccountDisabled }, MfaRequiredBy::None, None);
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
    pub client: Client,
    pub result: SignInResult,
    pub failure_reason: Option<FailureReason>,
    pub mfa_required_by: MfaRequiredBy,
    pub mfa_method: Option<MethodKind>,
    /// What was presented: `password` or `appPassword` (none when the attempt never got to a
    /// credential check, e.g. a second-factor step).
    pub credential: Option<CredentialKind>,
    /// Why MFA was required but not asked for.
    pub mfa_skipped_by: Option<MfaSkip>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use PerUserMfaState::*;

    #[test]
    fn closed_sets_round_trip() {
        use crate::closed::assert_round_trip;
        assert_round_trip(MfaRequiredBy::ALL, MfaRequiredBy::as_str, |s| MfaRequiredBy::parse(s).ok());
        assert_round_trip(MfaSkip::ALL, MfaSkip::as_str, |s| MfaSkip::parse(s).ok());
        assert_round_trip(Client::ALL, Client::as_str, |s| Client::parse(s).ok());
        assert_round_trip(SignInResult::ALL, SignInResult::as_str, |s| SignInResult::parse(s).ok());
        assert_round_trip(FailureReason::ALL, FailureReason::as_str, |s| FailureReason::parse(s).ok());
        assert_round_trip(CredentialKind::ALL, CredentialKind::as_str, |s| CredentialKind::parse(s).ok());
        for r in FailureReason::ALL {
            assert_eq!(FailureReason::parse_stored(r.as_str()), Ok(*r));
        }
        assert_eq!(FailureReason::parse_stored("invalid_code"), Ok(FailureReason::InvalidOtp));
        assert!(FailureReason::parse("invalid_code").is_err(), "never written again");
    }

    #[test]
    fn decision_table() {
        let totp = [MethodKind::Totp];
        let cases: [(bool, PerUserMfaState, &[MethodKind], Decision); 7] = [
            (false, Enforced, &totp, Decision::Block { reason: FailureReason::AccountDisabled }),
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
                Decision::Block { reason: FailureReason::AccountDisabled }
            );
            let v = decide(&f(true, Disabled, &[]));
            assert_eq!((v.decision, v.skipped_by), (Decision::Allow, None), "nothing to skip");
        }
    }
}
