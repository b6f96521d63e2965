//! Parsed values of the admin commands: UPNs, user references, MFA states and secrets.
//! Built only by `parse`, so an invalid one never reaches a request.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A user principal name such as `alice@contoso.com`: exactly one `@`, non-empty parts,
/// no whitespace or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Upn(String);

/// Why a text is not a UPN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpnError {
    #[error("is empty")]
    Empty,
    #[error("has no '@' (expected name@domain)")]
    NoAt,
    #[error("has more than one '@'")]
    SeveralAt,
    #[error("has nothing before the '@'")]
    EmptyName,
    #[error("has nothing after the '@'")]
    EmptyDomain,
    #[error("contains whitespace or a control character")]
    Whitespace,
}

impl Upn {
    pub fn parse(text: &str) -> Result<Upn, UpnError> {
        if text.is_empty() {
            return Err(UpnError::Empty);
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UpnError::Whitespace);
        }
        let (name, domain) = text.split_once('@').ok_or(UpnError::NoAt)?;
        if domain.contains('@') {
            return Err(UpnError::SeveralAt);
        }
        if name.is_empty() {
            return Err(UpnError::EmptyName);
        }
        if domain.is_empty() {
            return Err(UpnError::EmptyDomain);
        }
        Ok(Upn(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used to compare UPNs (they are case-insensitive).
    pub fn folded(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user named on the command line: a UPN or a user id (UUID), as the API accepts both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef(String);

impl UserRef {
    /// Parses a command-line argument; the error names the argument.
    pub fn parse(text: &str) -> Result<UserRef, String> {
        let text = text.trim();
        if looks_like_uuid(text) {
            return Ok(UserRef(text.to_owned()));
        }
        match Upn::parse(text) {
            Ok(upn) => Ok(UserRef(upn.0)),
            Err(e) => Err(format!("'{}' is not a valid UPN: it {e}", printable(text))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Upn> for UserRef {
    fn from(upn: Upn) -> Self {
        UserRef(upn.0)
    }
}

/// `8-4-4-4-12` hex digits: the form of user, app password and device ids.
pub fn looks_like_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    groups.len() == lengths.len()
        && groups.iter().zip(lengths).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Replaces control characters so that a value echoed in a message cannot drive the terminal.
pub fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect()
}

/// Per-user MFA state, in the words of the seeds (Disabled / Enabled / Enforced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MfaState {
    Disabled,
    Enabled,
    Enforced,
}

impl MfaState {
    /// Parses `Enabled`, `enforced`, `DISABLED`... (case-insensitive, surrounding spaces ignored).
    pub fn parse(text: &str) -> Option<MfaState> {
        match text.trim().to_ascii_lowercase().as_str() {
            "disabled" => Some(MfaState::Disabled),
            "enabled" => Some(MfaState::Enabled),
            "enforced" => Some(MfaState::Enforced),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MfaState::Disabled => "disabled",
            MfaState::Enabled => "enabled",
            MfaState::Enforced => "enforced",
        }
    }
}

/// A password read from a file, the environment or a prompt. Never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub fn new(text: String) -> Option<Password> {
        (!text.is_empty()).then_some(Password(text))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A bearer token. Never shown by `Debug`, never printed.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(text: String) -> AccessToken {
        AccessToken(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_upns() {
        for text in ["a@b", "alice@contoso.com", "first.last+tag@sub.example.org"] {
            assert_eq!(Upn::parse(text).map(|u| u.0), Ok(text.to_owned()));
        }
    }

    #[test]
    fn invalid_upns_say_why() {
        let cases = [
            ("", UpnError::Empty),
            ("alice", UpnError::NoAt),
            ("a@b@c", UpnError::SeveralAt),
            ("@contoso.com", UpnError::EmptyName),
            ("alice@", UpnError::EmptyDomain),
            ("@", UpnError::EmptyName),
            ("al ice@contoso.com", UpnError::Whitespace),
            (" alice@contoso.com", UpnError::Whitespace),
            ("alice@contoso.com\t", UpnError::Whitespace),
            ("alice@\u{a0}contoso.com", UpnError::Whitespace),
            ("ali\u{1b}ce@contoso.com", UpnError::Whitespace),
        ];
        for (text, expected) in cases {
            assert_eq!(Upn::parse(text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn user_refs_accept_upns_and_ids() {
        assert!(UserRef::parse("alice@contoso.com").is_ok());
        assert!(UserRef::parse(" alice@contoso.com ").is_ok());
        assert!(UserRef::parse("0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b").is_ok());
        let err = UserRef::parse("alice").unwrap_err();
        assert!(err.contains("'alice'") && err.contains("no '@'"), "{err}");
        assert!(UserRef::parse("0190a5b2-7c3d-7e4f-8a9b").is_err());
    }

    #[test]
    fn mfa_states_parse_case_insensitively() {
        assert_eq!(MfaState::parse("Enabled"), Some(MfaState::Enabled));
        assert_eq!(MfaState::parse("ENFORCED"), Some(MfaState::Enforced));
        assert_eq!(MfaState::parse(" disabled "), Some(MfaState::Disabled));
        assert_eq!(MfaState::parse("on"), None);
        assert_eq!(MfaState::parse(""), None);
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let password = Password::new("hunter2".into()).unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
        let token = AccessToken::new("eyJ.secret".into());
        assert!(!format!("{token:?}").contains("secret"));
        assert_eq!(Password::new(String::new()), None);
    }
}
