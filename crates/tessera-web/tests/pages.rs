//! The sign-in pages in process: a real server on port 0 over a fresh SQLite database and a
//! settable clock, driven like a browser without JavaScript (no automatic redirects; cookies
//! read from `Set-Cookie` and sent back by hand).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};
use tessera_core::auth_ports::AuthStore;
use tessera_core::ids::UserId;
use tessera_core::ids::{TenantSlug, Upn};
use tessera_core::ports::Clock;
use tessera_core::service::Tessera;
use tessera_core::tokens::SessionToken;
use tessera_core::totp::{TotpSecret, base32_decode, step_of};
use tessera_store::SqlStore;
use tessera_store::testing::{self, TestDb};
use time::{Duration, OffsetDateTime};

const PASSWORD: &str = "correct horse battery staple";
const SESSION: &str = "__Host-tessera_session";
const WRONG_PASSWORD: &str = "Your account or password is incorrect.";
const WRONG_CODE: &str = "That code didn&#39;t work. Check the code in your authenticator app, or use a recovery code.";
const EXPIRED: &str = "The form expired. Go back and try again.";

/// A clock the test moves by hand.
struct TestClock(Mutex<OffsetDateTime>);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

struct TestApp {
    base: String,
    http: reqwest::Client,
    clock: Arc<TestClock>,
    services: Tessera<SqlStore>,
    admin_token: String,
    _db: TestDb,
}

async fn spawn_app() -> TestApp {
    let db = testing::sqlite().await;
    // Five seconds into a TOTP step, so that nothing straddles a step unless the test says so.
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let start = OffsetDateTime::from_unix_timestamp(now - now.rem_euclid(30) + 5).unwrap();
    let clock = Arc::new(TestClock(Mutex::new(start)));
    let services = Tessera::new(db.store.clone(), clock.clone());
    services
        .init_tenant(&TenantSlug::parse("contoso").unwrap(), &Upn::parse("admin@contoso.com").unwrap(), PASSWORD.into())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = tessera_web::app(services.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let base = format!("http://{addr}");
    let r = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({ "tenant": "contoso", "upn": "admin@contoso.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let admin_token = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    TestApp { base, http, clock, services, admin_token, _db: db }
}

impl TestApp {
    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1/tenants/contoso{path}", self.base))
            .bearer_auth(&self.admin_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// Creates a user with the password and per-user MFA state; returns the user's id.
    async fn user(&self, upn: &str, state: &str) -> UserId {
        let (status, u) = self
            .api(
                reqwest::Method::POST,
                "/users",
                Some(json!({ "upn": upn, "displayName": "Test User", "password": PASSWORD })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{u}");
        let (status, r) = self
            .api(
                reqwest::Method::PATCH,
                &format!("/users/{upn}/authentication/requirements"),
                Some(json!({ "perUserMfaState": state })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{r}");
        UserId::parse(u["id"].as_str().unwrap()).unwrap()
    }

    async fn state(&self, upn: &str) -> String {
        let (status, u) = self.api(reqwest::Method::GET, &format!("/users/{upn}"), None).await;
        assert_eq!(status, StatusCode::OK, "{u}");
        u["perUserMfaState"].as_str().unwrap().to_owned()
    }

    async fn sessions_of(&self, user: UserId) -> usize {
        self.services.store().user_sessions(user).await.unwrap().len()
    }

    async fn browser_signins(&self) -> usize {
        let (_, log) = self.api(reqwest::Method::GET, "/signins?limit=500", None).await;
        log["items"].as_array().unwrap().iter().filter(|s| s["client"] == "browser").count()
    }

    fn browser(&self) -> Browser<'_> {
        Browser { app: self, jar: BTreeMap::new() }
    }

    /// The code the user's authenticator shows now (`steps` later).
    fn code(&self, secret: &TotpSecret, steps: i64) -> String {
        format!("{:06}", secret.code_at_step(step_of(self.clock.now()) + steps))
    }
}

struct Resp {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Resp {
    fn session_cookie(&self) -> Option<&str> {
        self.set_cookies.iter().map(String::as_str).find(|c| c.starts_with(&format!("{SESSION}=")))
    }

    /// The value of the hidden field `name`.
    fn field(&self, name: &str) -> String {
        let key = format!(r#"name="{name}" value=""#);
        let at = self.body.find(&key).unwrap_or_else(|| panic!("no field {name} in:\n{}", self.body)) + key.len();
        self.body[at..].split('"').next().unwrap().to_owned()
    }

    /// The text of the element with `id`.
    fn text_of_id(&self, id: &str) -> String {
        let key = format!(r#"id="{id}""#);
        let at = self.body.find(&key).unwrap_or_else(|| panic!("no #{id} in:\n{}", self.body));
        let start = at + self.body[at..].find('>').unwrap() + 1;
        self.body[start..].split('<').next().unwrap().to_owned()
    }

    fn texts_of_class(&self, class: &str) -> Vec<String> {
        let key = format!(r#"class="{class}">"#);
        self.body.split(&key).skip(1).map(|s| s.split('<').next().unwrap().to_owned()).collect()
    }

    /// The text of the first `class="alert"` element (the form's error).
    fn alert(&self) -> String {
        let Some(at) = self.body.find(r#"class="alert""#) else { return String::new() };
        let start = at + self.body[at..].find('>').unwrap() + 1;
        self.body[start..].split('<').next().unwrap().to_owned()
    }
}

/// One browser: its own cookie jar, kept by hand.
struct Browser<'a> {
    app: &'a TestApp,
    jar: BTreeMap<String, String>,
}

fn form_body(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

impl Browser<'_> {
    fn cookie(&self, name: &str) -> Option<&str> {
        self.jar.get(name).map(String::as_str)
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Resp {
        let mut req = req;
        if !self.jar.is_empty() {
            let c = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            req = req.header(COOKIE, c);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let location = headers.get(LOCATION).map(|v| v.to_str().unwrap().to_owned());
        let set_cookies: Vec<String> =
            headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        for c in &set_cookies {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_owned(), v.to_owned());
            }
        }
        Resp { status, location, set_cookies, headers, body: r.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Resp {
        let req = self.app.http.get(format!("{}{path}", self.app.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        self.post_from(path, fields, None).await
    }

    async fn post_from(&mut self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Resp {
        let mut req = self
            .app
            .http
            .post(format!("{}{path}", self.app.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(fields));
        if let Some(o) = origin {
            req = req.header(ORIGIN, o);
        }
        self.send(req).await
    }

    async fn post_owned(&mut self, path: &str, fields: &[(&str, String)], origin: Option<&str>) -> Resp {
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post_from(path, &f, origin).await
    }

    /// UPN page, password page, password: the answer to the password.
    async fn sign_in(&mut self, upn: &str, password: &str) -> Resp {
        let page = self.get("/t/contoso/signin").await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = page.field("csrf");
        let pw_page = self.post("/t/contoso/signin", &[("csrf", &csrf), ("upn", upn)]).await;
        assert_eq!(pw_page.status, StatusCode::OK, "{}", pw_page.body);
        assert!(pw_page.body.contains(upn), "the password page shows the UPN");
        let csrf = pw_page.field("csrf");
        self.post("/t/contoso/signin/password", &[("csrf", &csrf), ("upn", upn), ("password", password)]).await
    }

    /// Signs in a user who has an authenticator, with its current code.
    async fn sign_in_with_code(&mut self, upn: &str, code: &str) -> Resp {
        let r = self.sign_in(upn, PASSWORD).await;
        assert_eq!(r.location.as_deref(), Some("/t/contoso/signin/mfa"));
        let page = self.get("/t/contoso/signin/mfa").await;
        let csrf = page.field("csrf");
        self.post("/t/contoso/signin/mfa", &[("csrf", &csrf), ("code", code)]).await
    }

    async fn sign_out(&mut self) {
        let me = self.get("/t/contoso/me").await;
        assert_eq!(me.status, StatusCode::OK);
        let r = self.post("/t/contoso/signout", &[("csrf", &me.field("csrf"))]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location.as_deref(), Some("/t/contoso/signin"));
        assert!(r.session_cookie().is_some_and(|c| c.contains("Max-Age=0")), "the cookie is removed");
        assert_eq!(self.cookie(SESSION), None);
    }

    /// Proof-up of an enabled/enforced user without methods: the secret and the recovery codes.
    async fn register(&mut self, upn: &str) -> (TotpSecret, String, Vec<String>) {
        let r = self.sign_in(upn, PASSWORD).await;
        assert_eq!(r.location.as_deref(), Some("/t/contoso/signin/register"));
        let page = self.get("/t/contoso/signin/register").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let secret = TotpSecret::from_bytes(base32_decode(&page.text_of_id("totp-secret")).unwrap());
        let code = self.app.code(&secret, 0);
        let done = self.post("/t/contoso/signin/register", &[("csrf", &page.field("csrf")), ("code", &code)]).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        (secret, code, done.texts_of_class("recovery-code"))
    }
}

fn assert_page_headers(r: &Resp) {
    let h = |name: &str| r.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert_eq!(h("cache-control"), "no-store");
    assert_eq!(h("x-frame-options"), "DENY");
    assert_eq!(
        h("content-security-policy"),
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    );
    assert_eq!(h("referrer-policy"), "same-origin");
    assert!(h("content-type").starts_with("text/html"));
}

#[tokio::test]
async fn disabled_user_signs_in_straight_to_security_info() {
    let app = spawn_app().await;
    app.user("dana@contoso.com", "disabled").await;
    let mut b = app.browser();

    let page = b.get("/t/contoso/signin").await;
    assert_page_headers(&page);
    assert!(page.body.contains(r#"<label for="upn">"#), "the field has a label");
    let csrf_cookie = page.set_cookies.iter().find(|c| c.starts_with("__Host-tessera_csrf=")).expect("csrf cookie");
    for attr in ["Path=/", "HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(csrf_cookie.contains(attr), "{csrf_cookie}: {attr}");
    }
    assert_eq!(b.cookie("__Host-tessera_csrf"), Some(page.field("csrf").as_str()));

    let r = b.sign_in("dana@contoso.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/t/contoso/me"));
    assert!(r.session_cookie().is_some());

    let me = b.get("/t/contoso/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_page_headers(&me);
    assert!(me.body.contains("dana@contoso.com"));
    assert!(me.body.contains("Disabled"));
    assert!(me.body.contains("This session"));
    assert!(me.body.contains("/t/contoso/signin/register"), "Add authenticator app");

    // Stylesheet.
    let css = b.get("/assets/tessera.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(css.body.contains(":focus-visible"));

    // A safe `return` path is followed; another site's is not.
    b.sign_out().await;
    let page = b.get("/t/contoso/signin?return=/t/contoso/me%3Ftab%3D1").await;
    let csrf = page.field("csrf");
    assert_eq!(page.field("return"), "/t/contoso/me?tab=1");
    let fields = [
        ("csrf", csrf.as_str()),
        ("upn", "dana@contoso.com"),
        ("password", PASSWORD),
        ("return", "/t/contoso/me?tab=1"),
    ];
    let r = b.post("/t/contoso/signin/password", &fields).await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/me?tab=1"));
    let fields =
        [("csrf", csrf.as_str()), ("upn", "dana@contoso.com"), ("password", PASSWORD), ("return", "//evil.example/")];
    let r = b.post("/t/contoso/signin/password", &fields).await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/me"));
}

#[tokio::test]
async fn enabled_user_registers_then_needs_the_second_factor() {
    let app = spawn_app().await;
    app.user("erin@contoso.com", "enabled").await;
    let mut b = app.browser();

    // (b) Password → registration.
    let r = b.sign_in("erin@contoso.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin/register"));
    // (g) The session cookie's attributes.
    let cookie = r.session_cookie().expect("session cookie").to_owned();
    assert!(cookie.starts_with("__Host-tessera_session="), "{cookie}");
    for attr in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(cookie.contains(attr), "{cookie}: {attr}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let after_password = b.cookie(SESSION).unwrap().to_owned();

    // A half-done sign-in has no security info page.
    let me = b.get("/t/contoso/me").await;
    assert_eq!(me.location.as_deref(), Some("/t/contoso/signin/register"));
    assert!(matches!(
        app.services.security_info(&SessionToken::new(&after_password)).await,
        Err(tessera_core::CoreError::Unauthorized)
    ));

    let page = b.get("/t/contoso/signin/register").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_page_headers(&page);
    assert!(page.body.contains(r#"<svg role="img" aria-label="#), "inline QR code");
    assert!(page.body.contains("otpauth://totp/"));
    assert!(page.body.contains(r#"autocomplete="one-time-code""#));
    let shown = page.text_of_id("totp-secret");
    assert!(shown.split(' ').all(|g| g.len() <= 4), "groups of four: {shown}");
    let secret = TotpSecret::from_bytes(base32_decode(&shown).unwrap());
    assert_eq!(secret.as_bytes().len(), 20);

    // A wrong code: the same page, the same secret, an error.
    let csrf = page.field("csrf");
    let wrong =
        (0..1_000_000).map(|n| format!("{n:06}")).find(|c| (-1..=1).all(|s| *c != app.code(&secret, s))).unwrap();
    let r = b.post("/t/contoso/signin/register", &[("csrf", &csrf), ("code", &wrong)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.alert().contains("That code didn"), "{}", r.alert());
    assert_eq!(r.text_of_id("totp-secret"), shown);
    assert_eq!(b.cookie(SESSION), Some(after_password.as_str()), "nothing changed");

    // The right code: ten recovery codes, shown once, and a new session id.
    let code = app.code(&secret, 0);
    let r = b.post("/t/contoso/signin/register", &[("csrf", &csrf), ("code", &code), ("label", "My phone")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_page_headers(&r);
    let codes = r.texts_of_class("recovery-code");
    assert_eq!(codes.len(), 10, "{}", r.body);
    assert!(r.body.contains(r#"href="/t/contoso/me""#), "Continue");
    let registered = b.cookie(SESSION).unwrap().to_owned();
    assert_ne!(registered, after_password, "the session id changed");
    let mut old = app.browser();
    old.jar.insert(SESSION.into(), after_password.clone());
    let r = old.get("/t/contoso/me").await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin"), "the old id is dead");
    assert!(r.session_cookie().is_some_and(|c| c.contains("Max-Age=0")));

    let me = b.get("/t/contoso/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(me.body.contains("Authenticator app"));
    assert!(me.body.contains("My phone"));
    assert!(me.body.contains("Enforced"));
    assert!(me.body.contains("10 of 10 recovery codes left"));
    assert_eq!(app.state("erin@contoso.com").await, "enforced");

    // (c) Sign out; sign in again: the second factor is due.
    b.sign_out().await;
    assert_eq!(old.get("/t/contoso/me").await.status, StatusCode::SEE_OTHER);
    let r = b.sign_in("erin@contoso.com", PASSWORD).await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin/mfa"));
    let after_password = b.cookie(SESSION).unwrap().to_owned();
    let page = b.get("/t/contoso/signin/mfa").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"autocomplete="one-time-code""#));
    assert!(page.body.contains(r#"inputmode="numeric""#));
    assert!(page.body.contains("Use a recovery code"));
    let csrf = page.field("csrf");
    // The registration's code cannot be used again...
    let r = b.post("/t/contoso/signin/mfa", &[("csrf", &csrf), ("code", &code)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.alert(), WRONG_CODE);
    // ...the next step's code is accepted, and the session gets a new id again.
    app.clock.advance(Duration::seconds(30));
    let next = app.code(&secret, 0);
    let r = b.post("/t/contoso/signin/mfa", &[("csrf", &csrf), ("code", &next)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/t/contoso/me"));
    let signed_in = b.cookie(SESSION).unwrap().to_owned();
    assert_ne!(signed_in, after_password, "the session id changed at the second factor");
    assert_eq!(b.get("/t/contoso/me").await.status, StatusCode::OK);

    // (d) A recovery code works once.
    b.sign_out().await;
    let r = b.sign_in_with_code("erin@contoso.com", &codes[0]).await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/me"), "{}", r.body);
    let me = b.get("/t/contoso/me").await;
    assert!(me.body.contains("9 of 10 recovery codes left"));
    b.sign_out().await;
    let r = b.sign_in_with_code("erin@contoso.com", &codes[0]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.alert(), WRONG_CODE);
}

#[tokio::test]
async fn wrong_codes_lock_the_second_factor() {
    let app = spawn_app().await;
    app.user("gil@contoso.com", "enforced").await;
    let mut b = app.browser();
    let (secret, _, _) = b.register("gil@contoso.com").await;
    b.sign_out().await;
    app.clock.advance(Duration::seconds(30));

    b.sign_in("gil@contoso.com", PASSWORD).await;
    let csrf = b.get("/t/contoso/signin/mfa").await.field("csrf");
    let wrong =
        (0..1_000_000).map(|n| format!("{n:06}")).find(|c| (-1..=1).all(|s| *c != app.code(&secret, s))).unwrap();
    for _ in 0..5 {
        let r = b.post("/t/contoso/signin/mfa", &[("csrf", &csrf), ("code", &wrong)]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right code is refused, with the time to wait.
    let r = b.post("/t/contoso/signin/mfa", &[("csrf", &csrf), ("code", &app.code(&secret, 0))]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.alert(), "Too many attempts. Try again in 15 minutes.");
    assert!(r.headers.contains_key("retry-after"));
    assert!(r.session_cookie().is_none());
}

#[tokio::test]
async fn wrong_passwords_say_the_same_and_then_lock() {
    let app = spawn_app().await;
    app.user("hal@contoso.com", "disabled").await;
    let mut b = app.browser();

    // (f) Known user with a wrong password, unknown user: the same words and status.
    let known = b.sign_in("hal@contoso.com", "not the password").await;
    let unknown = b.sign_in("nobody@contoso.com", "not the password").await;
    for r in [&known, &unknown] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.alert(), WRONG_PASSWORD);
        assert!(r.session_cookie().is_none());
    }
    assert_eq!(known.body.replace("hal@contoso.com", "X"), unknown.body.replace("nobody@contoso.com", "X"));

    // Ten wrong passwords on the account, then it is locked for a while.
    for _ in 0..9 {
        assert_eq!(b.sign_in("hal@contoso.com", "not the password").await.status, StatusCode::UNAUTHORIZED);
    }
    let r = b.sign_in("hal@contoso.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.body.contains("Too many attempts. Try again in 15 minutes."), "{}", r.body);
    assert!(r.session_cookie().is_none());
    app.clock.advance(Duration::minutes(16));
    assert_eq!(b.sign_in("hal@contoso.com", PASSWORD).await.location.as_deref(), Some("/t/contoso/me"));
}

#[tokio::test]
async fn blocked_account_gets_a_clear_page() {
    let app = spawn_app().await;
    let (status, u) = app
        .api(
            reqwest::Method::POST,
            "/users",
            Some(json!({ "upn": "ivy@contoso.com", "displayName": "Ivy", "password": PASSWORD, "accountEnabled": false })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{u}");
    let r = app.browser().sign_in("ivy@contoso.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Your account is blocked"));
    assert!(r.session_cookie().is_none());
}

#[tokio::test]
async fn forms_without_the_right_token_or_from_another_site_change_nothing() {
    let app = spawn_app().await;
    let uid = app.user("jo@contoso.com", "disabled").await;
    let signins = app.browser_signins().await;
    let mut b = app.browser();
    let csrf = b.get("/t/contoso/signin").await.field("csrf");
    let creds =
        |token: &str| vec![("csrf", token.to_owned()), ("upn", "jo@contoso.com".into()), ("password", PASSWORD.into())];
    const PW: &str = "/t/contoso/signin/password";

    // (e) No token, a wrong token, no cookie, another site's Origin: 403, no session.
    let mut refused = vec![
        b.post_owned(PW, &[("upn", "jo@contoso.com".into()), ("password", PASSWORD.into())], None).await,
        b.post_owned(PW, &creds("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), None).await,
        b.post_owned(PW, &creds(&csrf), Some("http://evil.example")).await,
        b.post_owned(PW, &creds(&csrf), Some("null")).await,
    ];
    let mut no_cookie = app.browser();
    refused.push(no_cookie.post_owned(PW, &creds(&csrf), None).await);
    refused.push(no_cookie.post("/t/contoso/signin", &[("csrf", &csrf), ("upn", "jo@contoso.com")]).await);
    for r in &refused {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains(EXPIRED));
        assert!(r.session_cookie().is_none());
        assert_page_headers(r);
    }
    assert_eq!(app.sessions_of(uid).await, 0, "no session was created");
    assert_eq!(app.browser_signins().await, signins, "the password was never even checked");

    // The same form from this site's own page goes through.
    let origin = app.base.clone();
    let r = b.post_owned(PW, &creds(&csrf), Some(&origin)).await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/me"));
    assert_eq!(app.sessions_of(uid).await, 1);

    // Forms of a session need the session's token.
    let me = b.get("/t/contoso/me").await;
    let token = me.field("csrf");
    for bad in ["", "wrong", csrf.as_str()] {
        let r = b.post("/t/contoso/signout", &[("csrf", bad)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = b.post("/t/contoso/me/recovery-codes", &[("csrf", bad)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let r = b.post_from("/t/contoso/signout", &[("csrf", &token)], Some("http://evil.example")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(b.get("/t/contoso/me").await.status, StatusCode::OK, "still signed in");
    assert_eq!(app.sessions_of(uid).await, 1);
    let r = b.post_from("/t/contoso/signout", &[("csrf", &token)], Some(&origin)).await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin"));
    assert_eq!(app.sessions_of(uid).await, 0);
}

#[tokio::test]
async fn sensitive_changes_ask_for_a_fresh_second_factor() {
    let app = spawn_app().await;
    app.user("kim@contoso.com", "enabled").await;
    let mut b = app.browser();
    let (secret, _, _) = b.register("kim@contoso.com").await;
    let me = b.get("/t/contoso/me").await;
    assert!(me.body.contains("Get new recovery codes"));

    // Eleven minutes later, new recovery codes need the second factor again.
    app.clock.advance(Duration::minutes(11));
    let me = b.get("/t/contoso/me").await;
    let r = b.post("/t/contoso/me/recovery-codes", &[("csrf", &me.field("csrf"))]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin/mfa?stepup=1&return=/t/contoso/me"));
    // Adding another authenticator too.
    let r = b.get("/t/contoso/signin/register").await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin/mfa?stepup=1&return=/t/contoso/signin/register"));

    let page = b.get("/t/contoso/signin/mfa?stepup=1&return=/t/contoso/me").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Confirm it"));
    let before = b.cookie(SESSION).unwrap().to_owned();
    let fields = [("csrf", page.field("csrf")), ("code", app.code(&secret, 0)), ("return", page.field("return"))];
    let r = b.post_owned("/t/contoso/signin/mfa", &fields, None).await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/me"), "{}", r.body);
    assert_ne!(b.cookie(SESSION).unwrap(), before, "a new session id");

    let me = b.get("/t/contoso/me").await;
    let r = b.post("/t/contoso/me/recovery-codes", &[("csrf", &me.field("csrf"))]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.texts_of_class("recovery-code").len(), 10);

    // Delete the authenticator app (fresh enough now).
    let me = b.get("/t/contoso/me").await;
    let action = me.body.split("/me/methods/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let r = b.post(&format!("/t/contoso/me/methods/{action}"), &[("csrf", &me.field("csrf"))]).await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/me?done=deleted"));
    let me = b.get("/t/contoso/me?done=deleted").await;
    assert!(me.body.contains("The sign-in method was deleted."));
    assert!(!me.body.contains("Authenticator app</td>"));
}

#[tokio::test]
async fn pages_without_a_session_go_to_sign_in() {
    let app = spawn_app().await;
    let mut b = app.browser();
    for path in ["/t/contoso/me", "/t/contoso/signin/mfa", "/t/contoso/signin/register"] {
        let r = b.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.location.as_deref(), Some("/t/contoso/signin"), "{path}");
    }
    b.jar.insert(SESSION.into(), "made-up".into());
    let r = b.get("/t/contoso/me").await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin"));
    assert!(r.session_cookie().is_some_and(|c| c.contains("Max-Age=0")), "an unknown cookie is removed");
    assert_eq!(b.get("/t/Not A Tenant!/signin").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn changing_the_password_on_security_info_keeps_this_browser_and_signs_out_the_others() {
    let app = spawn_app().await;
    app.user("pia@contoso.com", "disabled").await;
    let mut here = app.browser();
    let mut other = app.browser();
    assert_eq!(here.sign_in("pia@contoso.com", PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(other.sign_in("pia@contoso.com", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let me = here.get("/t/contoso/me").await;
    assert!(me.body.contains(r#"action="/t/contoso/me/password""#), "the form is there");
    let csrf = me.field("csrf");
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("current_password", current.into()),
            ("new_password", new.into()),
            ("confirm_password", again.into()),
        ]
    };

    for (fields, error, text) in [
        (change(PASSWORD, "New password 4", "New password 5"), "password-mismatch", "match"),
        (change("wrong password", "New password 4", "New password 4"), "password-wrong", "incorrect"),
        (change(PASSWORD, "short", "short"), "password-invalid", "8-256"),
    ] {
        let r = here.post_owned("/t/contoso/me/password", &fields, None).await;
        assert_eq!(r.location.as_deref(), Some(format!("/t/contoso/me?error={error}#password-h").as_str()));
        let page = here.get(&format!("/t/contoso/me?error={error}")).await;
        assert!(page.alert().contains(text), "{error}: {}", page.alert());
    }
    assert_eq!(other.get("/t/contoso/me").await.status, StatusCode::OK, "nothing changed yet");

    let r =
        here.post_owned("/t/contoso/me/password", &change(PASSWORD, "New password 4", "New password 4"), None).await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/me?done=password-changed"));
    assert!(r.session_cookie().is_some(), "a new session id");
    let page = here.get("/t/contoso/me?done=password-changed").await;
    assert_eq!(page.status, StatusCode::OK, "this browser is still signed in");
    assert!(page.body.contains("Your password was changed"));
    assert_ne!(other.get("/t/contoso/me").await.status, StatusCode::OK, "the other browser is signed out");
    let mut again = app.browser();
    assert_eq!(again.sign_in("pia@contoso.com", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(again.sign_in("pia@contoso.com", "New password 4").await.location.as_deref(), Some("/t/contoso/me"));
}
