//! The domain error. It knows nothing of HTTP: the web layer maps each variant once to a
//! status and a stable code.

use crate::mfa::BulkReport;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    InvalidUpn(String),
    #[error("{0}")]
    InvalidTenant(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    InvalidSetting(crate::settings::SettingRefused),
    #[error("{0}")]
    InvalidDisplayName(String),
    #[error("{0}")]
    InvalidRole(String),
    /// A new password that the password rules refuse.
    #[error("{0}")]
    InvalidPassword(String),
    #[error("{0}")]
    InvalidAppPasswordName(String),
    /// A code that is not six digits (a wrong code is [`CoreError::InvalidCode`]).
    #[error("{0}")]
    InvalidCodeFormat(String),
    /// A paging cursor that is not the `next` value of a previous page.
    #[error("{0}")]
    InvalidCursor(String),
    /// An encryption key of the wrong size.
    #[error("{0}")]
    InvalidKey(String),
    /// A TOTP registration was confirmed with no secret pending.
    #[error("start the registration again")]
    NoPendingRegistration,
    /// A request whose shape is wrong as a whole (a limit out of range, an empty change, too
    /// many rows, an admin disabling their own account).
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0} was not found")]
    NotFound(String),
    #[error("a user with UPN '{0}' already exists in this tenant")]
    UserExists(String),
    #[error("tenant '{0}' already exists")]
    TenantExists(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("the user name or password is incorrect")]
    InvalidCredentials,
    #[error("the access token is missing, invalid or expired")]
    Unauthorized,
    #[error("multi-factor authentication is required: give the code from your authenticator as `otp`")]
    MfaRequired,
    #[error("you must register a multi-factor authentication method before you can sign in")]
    MfaRegistrationRequired,
    #[error("the account is disabled")]
    AccountDisabled,
    #[error("too many attempts: try again in {} minute(s)", (.retry_after_secs + 59) / 60)]
    TooManyAttempts { retry_after_secs: i64 },
    #[error("the code is not valid, or was used already")]
    InvalidCode,
    #[error("confirm your identity with your authenticator first")]
    FreshMfaRequired,
    /// A per-user limit (e.g. 40 app passwords) would be exceeded.
    #[error("{0}")]
    LimitReached(String),
    #[error("{} of {} rows failed; nothing was changed", .0.summary.failed, .0.summary.total)]
    BulkRejected(Box<BulkReport>),
    #[error("storage error")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a storage adapter reports. The cause is kept as the error's source for the log; the
/// client sees only "internal".
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// A backend error with `cause` as its source.
    pub fn backend(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Backend(cause.into())
    }
}
