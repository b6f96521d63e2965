//! The page templates (askama, HTML-escaped by default: only the QR code's SVG, which this
//! module builds itself, is inserted as it is) and the small values they show.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use time::OffsetDateTime;
use time::macros::format_description;

/// Renders `page` with `status`.
pub(crate) fn page<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "signin.html")]
pub(crate) struct UpnPage {
    pub tenant: String,
    pub csrf: String,
    pub upn: String,
    pub ret: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "password.html")]
pub(crate) struct PasswordPage {
    pub tenant: String,
    pub csrf: String,
    pub upn: String,
    pub ret: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "mfa.html")]
pub(crate) struct MfaPage {
    pub tenant: String,
    pub csrf: String,
    /// A signed-in session confirming it is still its user, not a sign-in.
    pub stepup: bool,
    /// The field is set up for a recovery code (letters) rather than six digits.
    pub recovery: bool,
    /// "Don't ask again for N days", offered when the tenant allows remembering devices.
    pub remember_days: Option<u16>,
    /// The box was ticked (kept when the code was wrong).
    pub remember: bool,
    pub ret: Option<String>,
    pub error: Option<String>,
}

impl MfaPage {
    /// The same page in the other input mode.
    pub fn switch_href(&self) -> String {
        let mut q = Vec::new();
        if self.stepup {
            q.push("stepup=1".to_owned());
        }
        if !self.recovery {
            q.push("recovery=1".to_owned());
        }
        let ret = super::return_query(self.ret.as_deref());
        if let Some(r) = ret.strip_prefix('?') {
            q.push(r.to_owned());
        }
        let q = if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) };
        super::url(&self.tenant, &format!("/signin/mfa{q}"))
    }
}

#[derive(Template)]
#[template(path = "register.html")]
pub(crate) struct RegisterPage {
    pub tenant: String,
    pub csrf: String,
    /// Registration during sign-in (the organisation requires it), not adding a method later.
    pub proof_up: bool,
    pub qr_svg: String,
    pub otpauth_uri: String,
    /// The key in groups of four, for typing.
    pub secret_groups: String,
    pub account: String,
    pub label: String,
    pub ret: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub(crate) struct RecoveryCodesPage {
    pub tenant: String,
    pub codes: Vec<String>,
    pub continue_to: String,
}

#[derive(Template)]
#[template(path = "me.html")]
pub(crate) struct MePage {
    pub tenant: String,
    pub csrf: String,
    pub display_name: String,
    pub upn: String,
    pub state: &'static str,
    pub state_text: &'static str,
    pub methods: Vec<MethodRow>,
    pub totp_allowed: bool,
    pub recovery_left: u32,
    pub can_regenerate: bool,
    pub sessions: Vec<SessionRow>,
    pub notice: Option<&'static str>,
    pub app_passwords_allowed: bool,
    pub app_passwords: Vec<CredentialRow>,
    pub app_password_error: Option<&'static str>,
    pub remember_allowed: bool,
    pub devices: Vec<CredentialRow>,
    pub password_error: Option<&'static str>,
}

/// An app password or a remembered device, as listed to its user.
pub(crate) struct CredentialRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    /// Devices: the IP address it was remembered from and until when it counts.
    pub detail: String,
    /// Devices: the whole user agent.
    pub title: String,
}

#[derive(Template)]
#[template(path = "app_password.html")]
pub(crate) struct AppPasswordCreatedPage {
    pub tenant: String,
    pub name: String,
    pub secret: String,
    pub continue_to: String,
}

pub(crate) struct MethodRow {
    pub id: String,
    pub kind: &'static str,
    pub label: String,
    pub created: String,
    pub last_used: String,
    pub deletable: bool,
}

pub(crate) struct SessionRow {
    pub created: String,
    pub last_seen: String,
    pub ip: String,
    pub agent: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub tenant: String,
    pub heading: String,
    pub text: String,
    pub link: Option<(String, &'static str)>,
}

/// The fixed messages.
pub(crate) enum Msg {
    FormExpired,
    Blocked,
    TooManyAttempts(String),
    Forbidden(String),
    /// An admin center action the administrator's role does not allow.
    AdminForbidden(String),
    NotFound,
    Internal,
}

/// A page with one message and a way on.
pub(crate) fn message(status: StatusCode, tenant: &str, msg: Msg) -> Response {
    let signin = (!tenant.is_empty()).then(|| super::url(tenant, "/signin"));
    let (heading, text, link) = match msg {
        Msg::FormExpired => (
            "The form expired",
            "The form expired. Go back and try again.".to_owned(),
            signin.map(|s| (s, "Back to sign-in")),
        ),
        Msg::Blocked => (
            "Your account is blocked",
            "Your account is blocked from signing in. Contact your administrator to unblock it.".to_owned(),
            signin.map(|s| (s, "Sign in with another account")),
        ),
        Msg::TooManyAttempts(text) => ("Too many attempts", text, signin.map(|s| (s, "Back to sign-in"))),
        Msg::Forbidden(text) => {
            ("Not allowed", text, (!tenant.is_empty()).then(|| (super::url(tenant, "/me"), "Back to security info")))
        }
        Msg::AdminForbidden(text) => (
            "Not allowed",
            text,
            (!tenant.is_empty()).then(|| (super::admin::admin_url(tenant, "/mfa"), "Back to the admin center")),
        ),
        Msg::NotFound => ("Page not found", "There is no page at this address.".to_owned(), None),
        Msg::Internal => (
            "Something went wrong",
            "Something went wrong on our side. Try again in a moment.".to_owned(),
            signin.map(|s| (s, "Back to sign-in")),
        ),
    };
    page(status, &MessagePage { tenant: tenant.to_owned(), heading: heading.to_owned(), text, link })
}

/// The `otpauth://` URI as an inline SVG QR code, labelled for screen readers.
pub(crate) fn qr_svg(uri: &str) -> String {
    let Ok(code) = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M) else { return String::new() };
    let svg = code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(232, 232)
        .dark_color(svg::Color("#111827"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Drop the XML declaration (not allowed inside HTML) and name the image.
    let Some(start) = svg.find("<svg") else { return String::new() };
    svg[start..].replacen(
        "<svg ",
        r#"<svg role="img" aria-label="QR code to scan with your authenticator app" focusable="false" "#,
        1,
    )
}

/// "ABCD EFGH ...": the key as people type it.
pub(crate) fn groups_of_four(secret: &str) -> String {
    secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

/// A user agent as people name it ("Chrome on Linux"), for lists; the whole string stays in
/// the row's tooltip.
pub(crate) fn browser_name(ua: &str) -> String {
    let browser =
        [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
            .iter()
            .find(|(token, _)| ua.contains(token))
            .map(|(_, name)| *name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => format!("A browser on {o}"),
        (None, None) => ua.chars().take(40).collect(),
    }
}

/// A time as every page shows it: "2026-12-03 16:51 UTC".
pub(crate) fn when(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day] [hour]:[minute] UTC"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_names_are_short() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36";
        assert_eq!(browser_name(chrome), "Chrome on Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(browser_name(edge), "Edge on Windows");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(browser_name(iphone), "Safari on iOS");
        assert_eq!(browser_name("curl/8.0"), "curl/8.0");
    }

    #[test]
    fn qr_code_is_inline_labelled_svg() {
        let s = qr_svg("otpauth://totp/Tessera:alice@contoso.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(s.starts_with(r#"<svg role="img" aria-label="#), "{}", &s[..80]);
        assert!(s.ends_with("</svg>"));
        assert!(!s.contains("<?xml"));
    }

    #[test]
    fn key_is_grouped_by_four() {
        assert_eq!(groups_of_four("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
        assert_eq!(groups_of_four("ABCDEF"), "ABCD EF");
    }

    #[test]
    fn pages_escape_what_users_typed() {
        let p = PasswordPage {
            tenant: "contoso".into(),
            csrf: "t".into(),
            upn: "<script>alert(1)</script>@x".into(),
            ret: None,
            error: None,
        };
        let html = p.render().unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    }
}
