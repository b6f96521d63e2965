//! Argon2id password hashing. Hashing is slow on purpose: call these on a blocking thread.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

use crate::error::CoreError;

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 256;

/// A password in memory: never printed, never logged.
pub struct Password(String);

impl Password {
    pub fn parse(s: String) -> Result<Self, CoreError> {
        let n = s.chars().count();
        if n < MIN_PASSWORD_LEN || s.len() > MAX_PASSWORD_LEN {
            return Err(CoreError::InvalidPassword(format!(
                "the password must be {MIN_PASSWORD_LEN}-{MAX_PASSWORD_LEN} characters long"
            )));
        }
        Ok(Self(s))
    }
    /// For verification only: any length, since the stored hash decides.
    pub fn for_verification(s: String) -> Self {
        Self(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Hashes with Argon2id (the crate's defaults: m=19 MiB, t=2, p=1, OWASP's recommendation),
/// into a PHC string.
pub fn hash(password: &Password) -> Result<String, CoreError> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("argon2: {e}")))
}

/// Verifies in constant time against a PHC string. An unknown user is verified against
/// [`dummy_hash`] so that it costs the same time as a known one.
pub fn verify(password: &Password, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default().verify_password(password.expose().as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// A valid Argon2id hash of a random password, computed once, to verify against when the user
/// does not exist or has no password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut buf = [0u8; 24];
        getrandom::fill(&mut buf).expect("OS randomness");
        let pw = Password(buf.iter().map(|b| format!("{b:02x}")).collect());
        hash(&pw).expect("argon2 with default parameters")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_and_verifies() {
        let pw = Password::parse("correct horse battery".into()).unwrap();
        let h = hash(&pw).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&pw, &h));
        assert!(!verify(&Password::for_verification("wrong password".into()), &h));
        assert!(!verify(&pw, "not a phc string"));
        assert!(!verify(&pw, dummy_hash()));
    }

    #[test]
    fn short_passwords_are_rejected_and_never_printed() {
        assert!(Password::parse("short".into()).is_err());
        let pw = Password::parse("a secret value".into()).unwrap();
        assert_eq!(format!("{pw:?}"), "Password(***)");
    }
}
