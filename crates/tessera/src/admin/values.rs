//! Parsed values of the admin commands that the core does not have: secrets, and the
//! `--state` argument over the core's per-user MFA states. UPNs and user references are the
//! core's own types (`tessera_core::ids`).

use std::fmt;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use serde::{Deserialize, Serialize};
use tessera_core::mfa::PerUserMfaState;

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

/// `--state disabled|enabled|enforced`: the core's per-user MFA states, listed in the help.
pub fn state_arg() -> impl TypedValueParser<Value = PerUserMfaState> {
    PossibleValuesParser::new(PerUserMfaState::ALL.map(PerUserMfaState::as_str)).try_map(|s| PerUserMfaState::parse(&s))
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
    fn mfa_states_parse_case_insensitively() {
        let parse = |s: &str| PerUserMfaState::parse(s).ok();
        assert_eq!(parse("Enabled"), Some(PerUserMfaState::Enabled));
        assert_eq!(parse("ENFORCED"), Some(PerUserMfaState::Enforced));
        assert_eq!(parse(" disabled "), Some(PerUserMfaState::Disabled));
        assert_eq!(parse("on"), None);
        assert_eq!(parse(""), None);
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
