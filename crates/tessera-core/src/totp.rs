//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA-1, 6 digits, 30-second
//! steps, 160-bit secrets: what authenticator apps expect.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::CoreError;

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
pub const SECRET_LEN: usize = 20;
/// Steps of clock skew accepted either side of now.
pub const SKEW_STEPS: i64 = 1;

/// A TOTP shared secret. Never printed.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    pub fn generate() -> Result<Self, CoreError> {
        let mut b = Zeroizing::new(vec![0u8; SECRET_LEN]);
        getrandom::fill(&mut b).map_err(|e| CoreError::Internal(format!("randomness: {e}")))?;
        Ok(Self(b))
    }

    pub fn from_bytes(b: Vec<u8>) -> Self {
        Self(Zeroizing::new(b))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key as authenticator apps take it typed in: RFC 4648 base32 without padding.
    pub fn base32(&self) -> String {
        base32_encode(&self.0)
    }

    /// The `otpauth://` URI that QR codes carry (Google Authenticator key URI format).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let label = format!("{}:{}", pct(issuer), pct(account));
        format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            self.base32(),
            pct(issuer)
        )
    }

    /// The code of one time step.
    pub fn code_at_step(&self, step: i64) -> u32 {
        hotp(&self.0, step as u64)
    }

    /// Checks `code` against the steps around `now`; returns the matching step. Replay
    /// protection (refusing a step already used) is the caller's job, atomically in the store.
    pub fn verify(&self, code: &TotpCode, now: OffsetDateTime) -> Option<i64> {
        let current = step_of(now);
        let mut found = None;
        // Check every candidate so the time taken does not depend on which one matched.
        for step in current - SKEW_STEPS..=current + SKEW_STEPS {
            let expected = format!("{:0width$}", self.code_at_step(step), width = DIGITS as usize);
            if bool::from(expected.as_bytes().ct_eq(code.0.as_bytes())) && found.is_none() {
                found = Some(step);
            }
        }
        found
    }
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

pub fn step_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(STEP_SECONDS)
}

/// A six-digit code as typed (spaces allowed: "123 456").
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl TotpCode {
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits))
        } else {
            Err(CoreError::InvalidCodeFormat(format!("the code must be {DIGITS} digits")))
        }
    }
}

impl std::fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpCode(***)")
    }
}

/// RFC 4226 HOTP with HMAC-SHA-1 and dynamic truncation.
fn hotp(secret: &[u8], counter: u64) -> u32 {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[h.len() - 1] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[offset] & 0x7f, h[offset + 1], h[offset + 2], h[offset + 3]]);
    bin % 10u32.pow(DIGITS)
}

/// RFC 4648 base32 without padding, as authenticator apps show and take keys.
pub fn base32_encode(data: &[u8]) -> String {
    BASE32_NOPAD.encode(data)
}

/// Decodes a key as typed: case, spaces and padding do not matter.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let canonical: String =
        s.chars().filter(|c| !c.is_whitespace() && *c != '=').map(|c| c.to_ascii_uppercase()).collect();
    BASE32_NOPAD.decode(canonical.as_bytes()).ok()
}

/// What an otpauth label or query value keeps as it is: the RFC 3986 unreserved characters,
/// and `@` so that the account reads as typed in the app.
const OTPAUTH_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'@');

/// Percent-encodes for an otpauth label or query value.
fn pct(s: &str) -> String {
    utf8_percent_encode(s, OTPAUTH_KEEP).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits there; we compare the last 6, as the
    /// truncation is the same number modulo 10^6).
    #[test]
    fn rfc6238_test_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        for (t, eight) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(secret.code_at_step(t / 30), eight % 1_000_000, "T={t}");
        }
    }

    #[test]
    fn rfc4226_hotp_vectors() {
        let want = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", i as u64), *w);
        }
    }

    #[test]
    fn verify_accepts_one_step_of_skew_only() {
        let s = TotpSecret::generate().unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_015).unwrap();
        let step = step_of(now);
        let code = |st: i64| TotpCode::parse(&format!("{:06}", s.code_at_step(st))).unwrap();
        assert_eq!(s.verify(&code(step), now), Some(step));
        assert_eq!(s.verify(&code(step - 1), now), Some(step - 1));
        assert_eq!(s.verify(&code(step + 1), now), Some(step + 1));
        // Two steps away is refused (unless it happens to collide, which a fixed secret avoids).
        let fixed = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let c2 = TotpCode::parse(&format!("{:06}", fixed.code_at_step(step - 2))).unwrap();
        assert_eq!(fixed.verify(&c2, now), None);
    }

    #[test]
    fn base32_round_trip_and_known_value() {
        assert_eq!(base32_encode(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32_decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap(), b"12345678901234567890");
        assert_eq!(base32_encode(b"f"), "MY");
        assert!(base32_decode("1!").is_none());
        let s = TotpSecret::generate().unwrap();
        assert_eq!(s.base32().len(), 32);
        assert_eq!(base32_decode(&s.base32()).unwrap(), s.as_bytes());
    }

    #[test]
    fn codes_parse_strictly_and_never_print() {
        assert!(TotpCode::parse("123 456").is_ok());
        for bad in ["12345", "1234567", "12a456", ""] {
            assert!(TotpCode::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(format!("{:?}", TotpCode::parse("123456").unwrap()), "TotpCode(***)");
        assert_eq!(format!("{:?}", TotpSecret::generate().unwrap()), "TotpSecret(***)");
    }

    #[test]
    fn otpauth_uri_has_what_apps_need() {
        let s = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let uri = s.otpauth_uri("Tessera contoso", "alice@contoso.com");
        assert_eq!(
            uri,
            "otpauth://totp/Tessera%20contoso:alice@contoso.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Tessera%20contoso&algorithm=SHA1&digits=6&period=30"
        );
    }
}
