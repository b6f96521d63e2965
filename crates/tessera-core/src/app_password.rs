//! App password secrets: long, random, easy to type, and found again by their hash.
//!
//! A secret is 20 lower-case letters from a 23-letter alphabet without `i`, `l` and `o`
//! (90 bits), shown in five groups of four. It is typed by people into mail clients and
//! printers, so spaces, dashes and capitals are ignored when it is checked. With 90 bits of
//! randomness an unsalted SHA-256 is as strong as a slow hash is for a human password, and it
//! lets a bind find the app password by its hash in one indexed statement instead of running
//! a slow hash against each of the user's 40.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::CoreError;

pub const APP_PASSWORD_LETTERS: usize = 20;
pub const MAX_APP_PASSWORDS: u32 = 40;
pub const MAX_APP_PASSWORD_NAME: usize = 64;
const ALPHABET: &[u8; 23] = b"abcdefghjkmnpqrstuvwxyz";

/// A new secret, as shown once: `abcd efgh jkmn pqrs tuvw`.
pub fn generate() -> Result<Zeroizing<String>, CoreError> {
    let mut letters = Zeroizing::new(String::with_capacity(APP_PASSWORD_LETTERS + 4));
    let mut n = 0;
    while n < APP_PASSWORD_LETTERS {
        let mut buf = [0u8; 32];
        getrandom::fill(&mut buf).map_err(|e| CoreError::Internal(format!("randomness: {e}")))?;
        // Rejection sampling: 253 = 11 * 23 keeps every letter equally likely.
        for b in buf.into_iter().filter(|b| *b < 253) {
            if n == APP_PASSWORD_LETTERS {
                break;
            }
            if n > 0 && n % 4 == 0 {
                letters.push(' ');
            }
            letters.push(ALPHABET[usize::from(b % 23)] as char);
            n += 1;
        }
    }
    Ok(letters)
}

/// The secret as typed, without spaces and dashes, in lower case; `None` when it cannot be an
/// app password (so that a user's ordinary password is never looked up as one).
pub fn normalize(typed: &str) -> Option<Zeroizing<String>> {
    let s: Zeroizing<String> =
        Zeroizing::new(typed.chars().filter(|c| !matches!(c, ' ' | '-')).map(|c| c.to_ascii_lowercase()).collect());
    (s.len() == APP_PASSWORD_LETTERS && s.bytes().all(|b| ALPHABET.contains(&b))).then_some(s)
}

/// The stored form of a normalised secret.
pub fn hash(normalized: &str) -> String {
    let digest = Sha256::new().chain_update(b"tessera app password\0").chain_update(normalized.as_bytes()).finalize();
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, digest)
}

/// A name for an app password: trimmed, 1-64 characters, no control characters.
pub fn validate_name(name: &str) -> Result<String, CoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_APP_PASSWORD_NAME || name.chars().any(char::is_control) {
        return Err(CoreError::InvalidAppPasswordName(format!(
            "give the app password a name of 1-{MAX_APP_PASSWORD_NAME} characters, e.g. \"Mail on my phone\""
        )));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_grouped_typable_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let s = generate().unwrap();
            assert_eq!(s.len(), 24, "{}", s.as_str());
            assert_eq!(s.split(' ').count(), 5);
            let n = normalize(&s).unwrap();
            assert_eq!(n.len(), 20);
            assert!(seen.insert(hash(&n)));
            let typed_sloppily = s.to_uppercase().replace(' ', "-");
            assert_eq!(hash(&normalize(&typed_sloppily).unwrap()), hash(&n));
        }
    }

    #[test]
    fn ordinary_passwords_are_not_app_passwords() {
        for p in ["Correct horse battery staple", "abcdabcdabcdabcdabcd1", "abcdabcdabcdabcdabci", "short", ""] {
            assert!(normalize(p).is_none(), "{p}");
        }
        assert!(normalize("abcd efgh jkmn pqrs tuvw").is_some());
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(validate_name("  Mail on phone ").unwrap(), "Mail on phone");
        for bad in ["", "   ", "a\nb", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
