//! Browser sessions, throttling policies and registered methods: the values the sign-in
//! services and their storage port share.

use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

use crate::ids::{TenantId, UserId};
use crate::mfa::MethodKind;

/// Where a browser session stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SessionStage {
    /// Password accepted; the second factor is due.
    MfaRequired,
    /// Password accepted; a method must be registered first.
    RegistrationRequired,
    /// Fully signed in.
    SignedIn,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MfaRequired => "mfa",
            Self::RegistrationRequired => "register",
            Self::SignedIn => "signed_in",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::MfaRequired, Self::RegistrationRequired, Self::SignedIn].into_iter().find(|x| x.as_str() == s)
    }
}

/// A server-side session. The cookie holds a random token; only its SHA-256 is stored.
#[derive(Clone, Debug)]
pub struct Session {
    pub id_hash: String,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub stage: SessionStage,
    /// The anti-CSRF token of this session's forms.
    pub csrf: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    /// Absolute expiry.
    pub expires_at: OffsetDateTime,
    /// When the second factor was last given in this session (for "needs a fresh MFA").
    pub mfa_at: Option<OffsetDateTime>,
    pub mfa_method: Option<MethodKind>,
    pub source_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// A TOTP secret being registered, encrypted.
    pub pending_secret: Option<Vec<u8>>,
}

/// Attempts allowed per key within a window; past it, the key is locked until the window ends.
#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    pub max_attempts: u32,
    pub window: Duration,
}

/// What an attempt is counted on. Its string ([`ThrottleKey::as_key`]) is the key of the
/// throttle table; [`ThrottleKey::parse`] reads it back.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum ThrottleKey {
    /// Password attempts on an account: tenant (none when the tenant is unknown) and the UPN
    /// as typed, lower-cased, whether or not such a user exists.
    Password { tenant: Option<TenantId>, upn: String },
    /// Password and code attempts from one source IP.
    SourceIp(String),
    /// Second-factor codes of one user.
    Code(UserId),
}

impl ThrottleKey {
    /// The password key of an account, from the UPN as typed.
    pub fn password(tenant: Option<TenantId>, upn: &str) -> Self {
        Self::Password { tenant, upn: upn.trim().to_lowercase() }
    }

    /// The key of a source IP (the client IP as the sign-in log writes it).
    pub fn source_ip(ip: &impl std::fmt::Display) -> Self {
        Self::SourceIp(ip.to_string())
    }

    pub fn as_key(&self) -> String {
        match self {
            Self::Password { tenant, upn } => {
                format!("pw:{}:{upn}", tenant.map(|t| t.to_string()).unwrap_or_default())
            }
            Self::SourceIp(ip) => format!("ip:{ip}"),
            Self::Code(user) => format!("code:{user}"),
        }
    }

    pub fn parse(key: &str) -> Result<Self, crate::closed::UnknownValue> {
        let unknown = || crate::closed::UnknownValue::new("throttle key", key);
        let (kind, rest) = key.split_once(':').ok_or_else(unknown)?;
        match kind {
            "pw" => {
                let (tenant, upn) = rest.split_once(':').ok_or_else(unknown)?;
                let tenant = match tenant {
                    "" => None,
                    t => Some(TenantId::parse(t).ok_or_else(unknown)?),
                };
                Ok(Self::Password { tenant, upn: upn.to_owned() })
            }
            "ip" if !rest.is_empty() => Ok(Self::SourceIp(rest.to_owned())),
            "code" => UserId::parse(rest).map(Self::Code).ok_or_else(unknown),
            _ => Err(unknown()),
        }
    }
}

impl std::fmt::Display for ThrottleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_key())
    }
}

/// What the store answered to one attempt.
#[derive(Clone, Copy, Debug)]
pub struct ThrottleState {
    /// Attempts counted in the current window, this one included.
    pub attempts: u32,
    pub window_start: OffsetDateTime,
}

/// Sign-in limits and timeouts. Defaults are written in the README.
#[derive(Clone, Copy, Debug)]
pub struct SignInPolicy {
    /// Wrong passwords per account (by tenant and UPN, known or not).
    pub password_per_account: ThrottlePolicy,
    /// Wrong passwords and codes per source IP.
    pub per_ip: ThrottlePolicy,
    /// Wrong second-factor codes per user.
    pub code_per_account: ThrottlePolicy,
    /// A signed-in session ends after this long without a request...
    pub session_idle: Duration,
    /// ...and this long after sign-in in any case.
    pub session_absolute: Duration,
    /// A half-done sign-in (waiting for MFA or registration) lasts this long.
    pub pending_ttl: Duration,
    /// Sensitive changes (new recovery codes) need a second factor given this recently.
    pub fresh_mfa: Duration,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        Self {
            password_per_account: ThrottlePolicy { max_attempts: 10, window: Duration::minutes(15) },
            per_ip: ThrottlePolicy { max_attempts: 100, window: Duration::minutes(15) },
            code_per_account: ThrottlePolicy { max_attempts: 5, window: Duration::minutes(15) },
            session_idle: Duration::hours(1),
            session_absolute: Duration::hours(12),
            pending_ttl: Duration::minutes(10),
            fresh_mfa: Duration::minutes(10),
        }
    }
}

/// A registered method, as listed on the security info page.
#[derive(Clone, Debug)]
pub struct MethodInfo {
    pub id: crate::ids::MethodId,
    pub kind: MethodKind,
    pub label: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// A TOTP method with its encrypted secret.
#[derive(Clone, Debug)]
pub struct TotpMethod {
    pub id: crate::ids::MethodId,
    pub secret: Vec<u8>,
}

/// A method to add.
#[derive(Clone, Debug)]
pub struct NewMethod {
    pub id: crate::ids::MethodId,
    pub user_id: UserId,
    pub kind: MethodKind,
    pub label: Option<String>,
    /// Encrypted secret, if the method has one.
    pub secret: Option<Vec<u8>>,
    pub created_at: OffsetDateTime,
    /// The TOTP step already used (the registration code), so it cannot be replayed.
    pub last_used_step: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::ThrottleKey;
    use crate::ids::{TenantId, UserId};

    #[test]
    fn throttle_keys_round_trip_and_keep_their_strings() {
        let (tenant, user) = (TenantId::new(), UserId::new());
        let keys = [
            (ThrottleKey::password(Some(tenant), " Alice@Contoso.com "), format!("pw:{tenant}:alice@contoso.com")),
            (ThrottleKey::password(None, "bob@x"), "pw::bob@x".to_owned()),
            (ThrottleKey::password(None, "odd:upn"), "pw::odd:upn".to_owned()),
            (ThrottleKey::source_ip(&"10.0.0.1"), "ip:10.0.0.1".to_owned()),
            (ThrottleKey::source_ip(&"::1"), "ip:::1".to_owned()),
            (ThrottleKey::Code(user), format!("code:{user}")),
        ];
        for (key, s) in keys {
            assert_eq!(key.as_key(), s);
            assert_eq!(ThrottleKey::parse(&s), Ok(key));
        }
        for bad in ["", "pw", "pw:x", "pw:not-a-tenant:a@b", "ip:", "code:alice", "bench:nothing"] {
            assert!(ThrottleKey::parse(bad).is_err(), "{bad}");
        }
    }
}
