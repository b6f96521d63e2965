//! Typed identifiers and parsed values. Each is built only by `parse`/`TryFrom`, so a value
//! that reached a service is known to be well formed.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::CoreError;

macro_rules! uuid_id {
    ($name:ident) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

uuid_id!(TenantId);
uuid_id!(UserId);
uuid_id!(AuditId);
uuid_id!(CorrelationId);
uuid_id!(MethodId);
uuid_id!(AppPasswordId);
uuid_id!(DeviceId);

/// A tenant's URL-safe short name: 2-63 characters of `a-z`, `0-9` and `-`, not starting or
/// ending with `-`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let ok = (2..=63).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(CoreError::InvalidTenant(format!(
                "tenant '{s}' is not a valid slug: use 2-63 characters a-z, 0-9 and '-'"
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user principal name, `local@domain`. Kept as typed for display; compared and looked up
/// case-insensitively through [`Upn::key`].
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct Upn(String);

impl Upn {
    pub const MAX_LEN: usize = 254;

    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let invalid = |why: &str| CoreError::InvalidUpn(format!("'{}' is not a valid UPN: {why}", s.escape_debug()));
        let s = s.trim();
        if s.is_empty() {
            return Err(invalid("it is empty"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(invalid("it is longer than 254 characters"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("it contains whitespace or control characters"));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(invalid("it has no '@'"));
        };
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return Err(invalid("it must have the form name@domain"));
        }
        if local.len() > 64 {
            return Err(invalid("the part before '@' is longer than 64 characters"));
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return Err(invalid("the domain is malformed"));
        }
        if !domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-') {
            return Err(invalid("the domain may contain only letters, digits, '.' and '-'"));
        }
        if local.chars().any(|c| "\"(),:;<>[\\]".contains(c)) {
            return Err(invalid("the name contains a character that is not allowed"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive lookup key (lower case).
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a request names a user: by id or by UPN.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum UserRef {
    Id(UserId),
    Upn(Upn),
}

impl UserRef {
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        match UserId::parse(s.trim()) {
            Some(id) => Ok(Self::Id(id)),
            None => Upn::parse(s).map(Self::Upn),
        }
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => id.fmt(f),
            Self::Upn(upn) => upn.fmt(f),
        }
    }
}

/// A display name: 1-256 characters, no control characters.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let t = s.trim();
        if t.is_empty() || t.chars().count() > 256 || t.chars().any(char::is_control) {
            return Err(CoreError::InvalidDisplayName(
                "a display name must be 1-256 characters without control characters".into(),
            ));
        }
        Ok(Self(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upn_accepts_usual_forms_and_keys_case_insensitively() {
        let u = Upn::parse("Alice.Smith@Contoso.com").unwrap();
        assert_eq!(u.as_str(), "Alice.Smith@Contoso.com");
        assert_eq!(u.key(), "alice.smith@contoso.com");
        assert!(Upn::parse("  bob@example.org ").is_ok());
        assert!(Upn::parse("o'neil+tag@sub.example.co.uk").is_ok());
    }

    #[test]
    fn upn_rejects_malformed() {
        for bad in [
            "",
            "alice",
            "@contoso.com",
            "alice@",
            "a@b@c",
            "a b@c.com",
            "a@c..com",
            "a@.c.com",
            "a@c.com.",
            "a@c_d.com",
            "a\u{0}@c.com",
            "a<b@c.com",
        ] {
            assert!(matches!(Upn::parse(bad), Err(CoreError::InvalidUpn(_))), "accepted {bad:?}");
        }
        let long = format!("{}@c.com", "a".repeat(65));
        assert!(Upn::parse(&long).is_err());
    }

    #[test]
    fn tenant_slug_rules() {
        assert!(TenantSlug::parse("contoso").is_ok());
        assert!(TenantSlug::parse("a1-b2").is_ok());
        for bad in ["", "a", "-a", "a-", "Contoso", "con toso", &"a".repeat(64)] {
            assert!(TenantSlug::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn user_ref_prefers_id() {
        let id = UserId::new();
        assert_eq!(UserRef::parse(&id.to_string()).unwrap(), UserRef::Id(id));
        assert!(matches!(UserRef::parse("a@b.c").unwrap(), UserRef::Upn(_)));
        assert!(UserRef::parse("nope").is_err());
    }
}
