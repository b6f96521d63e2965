//! The cookies of the pages: the session, the pre-session anti-CSRF token, and the
//! remembered-device tokens ("Don't ask again").
//!
//! All carry the `__Host-` prefix (the browser only takes them with `Secure`, `Path=/` and no
//! `Domain`, so a sibling subdomain cannot plant one) and are always `Secure`. Browsers accept
//! `Secure` cookies from `http://localhost` and `http://127.0.0.1`; a deployment reached over
//! plain HTTP on any other host gets no cookie at all, so it must serve TLS itself
//! (`tessera serve --tls-cert --tls-key`) or sit behind a TLS-terminating proxy.

use axum::http::{HeaderMap, HeaderValue, header};

/// The session cookie: a random 256-bit token; the server keeps only its SHA-256.
pub(crate) const SESSION: &str = "__Host-tessera_session";
/// The double-submit anti-CSRF token of the forms shown before there is a session.
pub(crate) const CSRF: &str = "__Host-tessera_csrf";

/// The remembered-device tokens of this browser, joined by `.` (one per user who ticked
/// "Don't ask again" here, newest last); the server keeps only their SHA-256.
pub(crate) const DEVICE: &str = "__Host-tessera_device";

/// The device tokens the request carries (at most the number the server looks at).
pub(crate) fn device_tokens(headers: &HeaderMap) -> Vec<String> {
    let all = get(headers, DEVICE).unwrap_or_default();
    let tokens: Vec<String> = all.split('.').filter(|t| !t.is_empty()).map(str::to_owned).collect();
    let keep = tokens.len().saturating_sub(tessera_core::service::MAX_DEVICE_TOKENS);
    tokens[keep..].to_vec()
}

/// Adds a new device token to the browser's (the oldest beyond the limit goes). `SameSite=Lax`
/// like the session, so a sign-in that starts from a link still finds it; `Max-Age` is the
/// new device's lifetime (older tokens in it expire on the server by themselves).
pub(crate) fn add_device(headers: &HeaderMap, token: &str, max_age_secs: i64) -> HeaderValue {
    let mut tokens = device_tokens(headers);
    tokens.push(token.to_owned());
    let keep = tokens.len().saturating_sub(tessera_core::service::MAX_DEVICE_TOKENS);
    let joined = tokens[keep..].join(".");
    value(format!("{DEVICE}={joined}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax; Secure"))
}

/// Sets the session cookie. No `Max-Age`: it ends with the browser, and the server ends the
/// session earlier (idle and absolute timeouts). `SameSite=Lax` so that a link from another
/// site (a mail, an application sending the user to sign in) arrives signed in.
pub(crate) fn session(token: &str) -> HeaderValue {
    value(format!("{SESSION}={token}; Path=/; HttpOnly; SameSite=Lax; Secure"))
}

/// Removes the session cookie (sign-out, or a session that ended).
pub(crate) fn clear_session() -> HeaderValue {
    HeaderValue::from_static("__Host-tessera_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure")
}

/// Sets the pre-session anti-CSRF cookie. `SameSite=Strict`: only this site's own forms send it.
pub(crate) fn csrf(token: &str) -> HeaderValue {
    value(format!("{CSRF}={token}; Path=/; HttpOnly; SameSite=Strict; Secure"))
}

/// Tokens are base64url or hex, so always valid header text; anything else is a bug.
fn value(s: String) -> HeaderValue {
    HeaderValue::try_from(s).expect("cookie values are ASCII tokens")
}

/// The value of cookie `name` in the request (the first one, in any `Cookie` header).
pub(crate) fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_have_the_attributes_browsers_require() {
        let s = session("abc").to_str().unwrap().to_owned();
        assert_eq!(s, "__Host-tessera_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure");
        let c = csrf("def").to_str().unwrap().to_owned();
        assert_eq!(c, "__Host-tessera_csrf=def; Path=/; HttpOnly; SameSite=Strict; Secure");
        assert!(clear_session().to_str().unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn reads_a_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; __Host-tessera_session=tok; b=2"));
        h.append(header::COOKIE, HeaderValue::from_static("__Host-tessera_csrf=c"));
        assert_eq!(get(&h, SESSION).as_deref(), Some("tok"));
        assert_eq!(get(&h, CSRF).as_deref(), Some("c"));
        assert_eq!(get(&h, "missing"), None);
        h.append(header::COOKIE, HeaderValue::from_static("__Host-tessera_device=a.b.c.d.e.f"));
        assert_eq!(device_tokens(&h), ["b", "c", "d", "e", "f"], "the newest five");
        let added = add_device(&h, "g", 86400).to_str().unwrap().to_owned();
        assert_eq!(added, "__Host-tessera_device=c.d.e.f.g; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax; Secure");
        h.insert(header::COOKIE, HeaderValue::from_static("__Host-tessera_session="));
        assert_eq!(get(&h, SESSION), None);
    }
}
