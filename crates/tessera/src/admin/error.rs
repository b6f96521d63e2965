//! Exit codes of the admin commands and the one error type that carries them.

/// Process exit codes of the admin commands (stable: scripts depend on them).
pub mod exit {
    /// The command did what was asked.
    pub const OK: u8 = 0;
    /// Unexpected error (server error 5xx, malformed answer, local I/O failure).
    pub const UNEXPECTED: u8 = 1;
    /// Usage error: the command line could not be parsed (clap uses this code too).
    pub const USAGE: u8 = 2;
    /// Not logged in, session expired or revoked, wrong credentials, MFA needed at login,
    /// account disabled.
    pub const AUTH: u8 = 3;
    /// The signed-in administrator may not do this (role or tenant).
    pub const FORBIDDEN: u8 = 4;
    /// The user (or tenant) does not exist.
    pub const NOT_FOUND: u8 = 5;
    /// Bad input: invalid UPN, CSV, timestamp or setting, or the server refused the input.
    pub const BAD_INPUT: u8 = 6;
    /// A bulk request was rejected because some rows failed: nothing was applied
    /// (also a dry run that found failing rows).
    pub const BULK_REJECTED: u8 = 7;
    /// The server could not be reached (connection refused, DNS, timeout, 502/503/504).
    pub const UNREACHABLE: u8 = 8;
    /// Too many attempts (HTTP 429): the account or address is locked for a while; trying
    /// again at once does not help.
    pub const TOO_MANY_ATTEMPTS: u8 = 9;
}

/// The exit-code table as a literal, for `concat!` in long help texts.
macro_rules! exit_codes_text {
    () => {
        "\
Exit codes:
  0  success
  1  unexpected error (server error, malformed answer, local I/O)
  2  usage error (the command line could not be parsed)
  3  not logged in, session expired or revoked, invalid credentials or one-time code,
     MFA needed at login, account disabled
  4  forbidden (your roles do not allow this, or another tenant)
  5  not found (user or tenant)
  6  bad input (invalid UPN, CSV, timestamp or setting; the server refused the input)
  7  bulk request rejected: some rows failed, nothing was applied (also a failing dry run)
  8  server unreachable
  9  too many attempts: locked for a while, try again later"
    };
}
pub(crate) use exit_codes_text;

/// The exit-code table, for `--help` long texts.
pub const EXIT_CODES_HELP: &str = exit_codes_text!();

/// What kind of failure ended the command; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Unexpected,
    Usage,
    Auth,
    Forbidden,
    NotFound,
    BadInput,
    BulkRejected,
    Unreachable,
    TooManyAttempts,
}

impl Failure {
    pub const fn exit_code(self) -> u8 {
        match self {
            Failure::Unexpected => exit::UNEXPECTED,
            Failure::Usage => exit::USAGE,
            Failure::Auth => exit::AUTH,
            Failure::Forbidden => exit::FORBIDDEN,
            Failure::NotFound => exit::NOT_FOUND,
            Failure::BadInput => exit::BAD_INPUT,
            Failure::BulkRejected => exit::BULK_REJECTED,
            Failure::Unreachable => exit::UNREACHABLE,
            Failure::TooManyAttempts => exit::TOO_MANY_ATTEMPTS,
        }
    }

    /// Classifies an error answer of the REST API by its stable code, falling back to the
    /// HTTP status for codes this CLI does not know.
    pub fn from_api(status: u16, code: &str) -> Failure {
        match code {
            "unauthorized"
            | "invalid_credentials"
            | "invalid_otp"
            | "mfa_required"
            | "mfa_registration_required"
            | "account_disabled" => Failure::Auth,
            "too_many_requests" => Failure::TooManyAttempts,
            "forbidden" => Failure::Forbidden,
            "not_found" => Failure::NotFound,
            "bulk_rejected" => Failure::BulkRejected,
            "user_exists" => Failure::BadInput,
            code if code.starts_with("invalid_") => Failure::BadInput,
            _ => Failure::from_status(status),
        }
    }

    fn from_status(status: u16) -> Failure {
        match status {
            401 => Failure::Auth,
            403 => Failure::Forbidden,
            404 => Failure::NotFound,
            429 => Failure::TooManyAttempts,
            400 | 409 | 413 | 422 => Failure::BadInput,
            502..=504 => Failure::Unreachable,
            _ => Failure::Unexpected,
        }
    }
}

/// An error of an admin command: a kind (the exit code) and a message for the user.
/// Messages never contain tokens or passwords.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    kind: Failure,
    message: String,
}

impl CliError {
    pub fn new(kind: Failure, message: impl Into<String>) -> Self {
        CliError { kind, message: message.into() }
    }

    pub fn unexpected(message: impl Into<String>) -> Self {
        CliError::new(Failure::Unexpected, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        CliError::new(Failure::Usage, message)
    }

    pub fn auth(message: impl Into<String>) -> Self {
        CliError::new(Failure::Auth, message)
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        CliError::new(Failure::BadInput, message)
    }

    pub fn kind(&self) -> Failure {
        self.kind
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_documented_ones() {
        let table = [
            (Failure::Unexpected, 1),
            (Failure::Usage, 2),
            (Failure::Auth, 3),
            (Failure::Forbidden, 4),
            (Failure::NotFound, 5),
            (Failure::BadInput, 6),
            (Failure::BulkRejected, 7),
            (Failure::Unreachable, 8),
            (Failure::TooManyAttempts, 9),
        ];
        for (kind, code) in table {
            assert_eq!(kind.exit_code(), code, "{kind:?}");
            assert!(EXIT_CODES_HELP.contains(&format!("\n  {code}  ")), "help text lacks {code}");
        }
    }

    #[test]
    fn api_codes_map_to_exit_codes() {
        let cases = [
            (401, "unauthorized", exit::AUTH),
            (401, "invalid_credentials", exit::AUTH),
            (401, "mfa_required", exit::AUTH),
            (401, "invalid_otp", exit::AUTH),
            (403, "mfa_registration_required", exit::AUTH),
            (403, "account_disabled", exit::AUTH),
            (403, "forbidden", exit::FORBIDDEN),
            (404, "not_found", exit::NOT_FOUND),
            (400, "invalid_upn", exit::BAD_INPUT),
            (400, "invalid_request", exit::BAD_INPUT),
            (400, "invalid_setting", exit::BAD_INPUT),
            (409, "user_exists", exit::BAD_INPUT),
            (409, "limit_reached", exit::BAD_INPUT),
            (422, "bulk_rejected", exit::BULK_REJECTED),
            (429, "too_many_requests", exit::TOO_MANY_ATTEMPTS),
            (500, "internal", exit::UNEXPECTED),
        ];
        for (status, code, expected) in cases {
            assert_eq!(Failure::from_api(status, code).exit_code(), expected, "{status} {code}");
        }
    }

    #[test]
    fn unknown_codes_fall_back_to_the_status() {
        assert_eq!(Failure::from_api(401, "weird").exit_code(), exit::AUTH);
        assert_eq!(Failure::from_api(403, "").exit_code(), exit::FORBIDDEN);
        assert_eq!(Failure::from_api(404, "").exit_code(), exit::NOT_FOUND);
        assert_eq!(Failure::from_api(409, "").exit_code(), exit::BAD_INPUT);
        assert_eq!(Failure::from_api(429, "").exit_code(), exit::TOO_MANY_ATTEMPTS);
        assert_eq!(Failure::from_api(502, "").exit_code(), exit::UNREACHABLE);
        assert_eq!(Failure::from_api(503, "").exit_code(), exit::UNREACHABLE);
        assert_eq!(Failure::from_api(500, "").exit_code(), exit::UNEXPECTED);
    }
}
