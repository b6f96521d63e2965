//! The admin center in process: a real server on port 0 over a fresh SQLite database, driven
//! like a browser without JavaScript (no automatic redirects; cookies kept by hand; forms
//! read from the page and submitted with the button a user would press).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};
use tessera_core::ids::UserId;
use tessera_core::ids::{TenantSlug, Upn};
use tessera_core::mfa::MethodKind;
use tessera_core::ports::Clock;
use tessera_core::service::Tessera;
use tessera_store::SqlStore;
use tessera_store::testing::{self, TestDb};
use time::{Duration, OffsetDateTime};

const PASSWORD: &str = "correct horse battery staple";
const EXPIRED: &str = "The form expired. Go back and try again.";

struct TestClock(Mutex<OffsetDateTime>);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
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
    let clock = Arc::new(TestClock(Mutex::new(OffsetDateTime::now_utc().replace_nanosecond(0).unwrap())));
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

    /// Creates a user (with a password and roles when given) in `state`; returns the id.
    async fn user(&self, upn: &str, name: &str, state: &str, roles: &[&str], password: bool) -> UserId {
        let mut body = json!({ "upn": upn, "displayName": name, "roles": roles });
        if password {
            body["password"] = json!(PASSWORD);
        }
        let (status, u) = self.api(reqwest::Method::POST, "/users", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{u}");
        if state != "disabled" {
            self.set_state(upn, state).await;
        }
        UserId::parse(u["id"].as_str().unwrap()).unwrap()
    }

    async fn set_state(&self, upn: &str, state: &str) {
        let path = format!("/users/{upn}/authentication/requirements");
        let (status, r) = self.api(reqwest::Method::PATCH, &path, Some(json!({ "perUserMfaState": state }))).await;
        assert_eq!(status, StatusCode::OK, "{r}");
    }

    async fn import(&self, upns: &[String]) {
        let users: Vec<Value> = upns.iter().map(|u| json!({ "upn": u, "displayName": u.split('@').next() })).collect();
        let (status, r) = self.api(reqwest::Method::POST, "/users/import", Some(json!({ "users": users }))).await;
        assert_eq!(status, StatusCode::OK, "{r}");
    }

    async fn state(&self, upn: &str) -> String {
        let (status, u) = self.api(reqwest::Method::GET, &format!("/users/{upn}"), None).await;
        assert_eq!(status, StatusCode::OK, "{u}");
        u["perUserMfaState"].as_str().unwrap().to_owned()
    }

    async fn audit_count(&self) -> usize {
        let (_, log) = self.api(reqwest::Method::GET, "/audit?limit=500", None).await;
        log["items"].as_array().unwrap().len()
    }

    async fn settings(&self) -> Value {
        self.api(reqwest::Method::GET, "/settings/mfa", None).await.1
    }

    async fn count_in_state(&self, state: &str) -> usize {
        let (mut n, mut cursor) = (0, String::new());
        loop {
            let q = if cursor.is_empty() { String::new() } else { format!("&cursor={cursor}") };
            let (_, page) =
                self.api(reqwest::Method::GET, &format!("/users?mfaState={state}&limit=500{q}"), None).await;
            n += page["items"].as_array().unwrap().len();
            match page["next"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => return n,
            }
        }
    }

    fn browser(&self) -> Browser<'_> {
        Browser { app: self, jar: BTreeMap::new() }
    }

    /// A browser signed in as `upn` (whose state needs no second factor).
    async fn signed_in(&self, upn: &str) -> Browser<'_> {
        let mut b = self.browser();
        let r = b.sign_in(upn, Some("/admin/contoso/mfa")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location.as_deref(), Some("/admin/contoso/mfa"));
        b
    }
}

/// An HTML page as the tests read it.
struct Resp {
    status: StatusCode,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The attributes of the tag starting at `tag` (`<input ...>`).
fn attrs(tag: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let inner = tag.trim_start_matches('<').trim_end_matches('>');
    let mut rest = inner.split_once(char::is_whitespace).map_or("", |(_, r)| r);
    while !rest.trim().is_empty() {
        rest = rest.trim_start();
        let end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let name = rest[..end].to_owned();
        rest = &rest[end..];
        if let Some(r) = rest.strip_prefix("=\"") {
            let close = r.find('"').unwrap();
            out.insert(name, unescape(&r[..close]));
            rest = &r[close + 1..];
        } else {
            out.insert(name, String::new());
        }
    }
    out
}

/// A form of a page, with the values a browser would send (buttons aside).
#[derive(Clone, Debug)]
struct Form {
    action: String,
    fields: Vec<(String, String)>,
    /// Check boxes: (name, value, aria-label or id).
    boxes: Vec<(String, String, String)>,
    buttons: Vec<BTreeMap<String, String>>,
}

impl Form {
    fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.fields.retain(|(k, _)| k != name);
        self.fields.push((name.into(), value.into()));
        self
    }

    fn remove(&mut self, name: &str) -> &mut Self {
        self.fields.retain(|(k, _)| k != name);
        self
    }

    /// Ticks the box whose label is `label`.
    fn check(&mut self, label: &str) -> &mut Self {
        let (name, value, _) =
            self.boxes.iter().find(|b| b.2 == label).unwrap_or_else(|| panic!("no box {label}")).clone();
        if !self.fields.iter().any(|(k, v)| *k == name && *v == value) {
            self.fields.push((name, value));
        }
        self
    }

    fn uncheck(&mut self, label: &str) -> &mut Self {
        let (name, value, _) =
            self.boxes.iter().find(|b| b.2 == label).unwrap_or_else(|| panic!("no box {label}")).clone();
        self.fields.retain(|(k, v)| !(*k == name && *v == value));
        self
    }

    fn values(&self, name: &str) -> Vec<String> {
        self.fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// The button with this text: its formaction and its name/value.
    fn button(&self, text: &str) -> (Option<String>, Option<(String, String)>) {
        let b = self.buttons.iter().find(|b| b.get("#text").map(String::as_str) == Some(text)).unwrap_or_else(|| {
            panic!("no button {text:?} in {:?}", self.buttons.iter().map(|b| &b["#text"]).collect::<Vec<_>>())
        });
        let nv = b.get("name").map(|n| (n.clone(), b.get("value").cloned().unwrap_or_default()));
        (b.get("formaction").cloned(), nv)
    }

    fn has_button(&self, text: &str) -> bool {
        self.buttons.iter().any(|b| b.get("#text").map(String::as_str) == Some(text))
    }
}

impl Resp {
    fn forms(&self) -> Vec<Form> {
        let mut out = Vec::new();
        for chunk in self.body.split("<form").skip(1) {
            let html = chunk.split("</form>").next().unwrap().to_owned();
            let head = format!("<form{}", &html[..html.find('>').unwrap() + 1]);
            let action = attrs(&head).get("action").cloned().unwrap_or_default();
            let mut form = Form { action, fields: vec![], boxes: vec![], buttons: vec![] };
            for tag in html.split("<input").skip(1) {
                let a = attrs(&format!("<input{}", &tag[..tag.find('>').unwrap() + 1]));
                let (name, value) =
                    (a.get("name").cloned().unwrap_or_default(), a.get("value").cloned().unwrap_or_default());
                if name.is_empty() || a.contains_key("disabled") {
                    continue;
                }
                match a.get("type").map(String::as_str) {
                    Some("checkbox") => {
                        let label = a.get("aria-label").or(a.get("id")).cloned().unwrap_or_default();
                        form.boxes.push((name.clone(), value.clone(), label));
                        if a.contains_key("checked") {
                            form.fields.push((name, value));
                        }
                    }
                    _ => form.fields.push((name, value)),
                }
            }
            for tag in html.split("<select").skip(1) {
                let a = attrs(&format!("<select{}", &tag[..tag.find('>').unwrap() + 1]));
                let selected = tag
                    .split("<option")
                    .skip(1)
                    .map(|o| attrs(&format!("<option{}", &o[..o.find('>').unwrap() + 1])))
                    .find(|o| o.contains_key("selected"))
                    .and_then(|o| o.get("value").cloned())
                    .unwrap_or_default();
                form.fields.push((a["name"].clone(), selected));
            }
            for tag in html.split("<textarea").skip(1) {
                let a = attrs(&format!("<textarea{}", &tag[..tag.find('>').unwrap() + 1]));
                let text = tag[tag.find('>').unwrap() + 1..].split("</textarea>").next().unwrap();
                form.fields.push((a["name"].clone(), unescape(text)));
            }
            for tag in html.split("<button").skip(1) {
                let mut a = attrs(&format!("<button{}", &tag[..tag.find('>').unwrap() + 1]));
                let text = tag[tag.find('>').unwrap() + 1..].split("</button>").next().unwrap();
                a.insert("#text".into(), unescape(text.trim()));
                form.buttons.push(a);
            }
            out.push(form);
        }
        out
    }

    /// The form whose `action` is `action`.
    fn form(&self, action: &str) -> Form {
        self.forms()
            .into_iter()
            .find(|f| f.action == action)
            .unwrap_or_else(|| panic!("no form {action} in:\n{}", self.body))
    }

    fn text_of_id(&self, id: &str) -> String {
        let key = format!(r#"id="{id}""#);
        let at = self.body.find(&key).unwrap_or_else(|| panic!("no #{id} in:\n{}", self.body));
        let start = at + self.body[at..].find('>').unwrap() + 1;
        unescape(self.body[start..].split('<').next().unwrap().trim())
    }

    /// The rows of the table `id`, each as the texts of its cells.
    fn table(&self, id: &str) -> Vec<Vec<String>> {
        let key = format!(r#"id="{id}""#);
        let at = self.body.find(&key).unwrap_or_else(|| panic!("no table {id}"));
        let table = self.body[at..].split("</table>").next().unwrap();
        let body = table.split("<tbody>").nth(1).unwrap_or_default();
        body.split("<tr")
            .skip(1)
            .map(|row| {
                row.split(['<'])
                    .filter_map(|part| part.split_once('>').map(|(_, t)| t.trim()))
                    .filter(|t| !t.is_empty())
                    .map(unescape)
                    .collect()
            })
            .collect()
    }
}

struct Browser<'a> {
    app: &'a TestApp,
    jar: BTreeMap<String, String>,
}

fn form_body(fields: &[(String, String)]) -> String {
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
        Resp { status, location, headers, body: r.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Resp {
        let req = self.app.http.get(format!("{}{path}", self.app.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, fields: &[(String, String)], origin: Option<&str>) -> Resp {
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

    /// Submits `form` by pressing the button with text `button` (its formaction, name and value).
    async fn press(&mut self, form: &Form, button: &str) -> Resp {
        let (formaction, nv) = form.button(button);
        let mut fields = form.fields.clone();
        fields.extend(nv);
        let to = formaction.unwrap_or_else(|| form.action.clone());
        let origin = self.app.base.clone();
        self.post(&to, &fields, Some(&origin)).await
    }

    /// UPN page, password page, password (with a `return` path): the answer to the password.
    async fn sign_in(&mut self, upn: &str, ret: Option<&str>) -> Resp {
        let path = match ret {
            Some(r) => format!("/t/contoso/signin?return={r}"),
            None => "/t/contoso/signin".into(),
        };
        let page = self.get(&path).await;
        let f = page.form("/t/contoso/signin");
        let mut fields = f.fields.clone();
        fields.retain(|(k, _)| k != "upn");
        fields.push(("upn".into(), upn.into()));
        let pw = self.post("/t/contoso/signin", &fields, None).await;
        assert_eq!(pw.status, StatusCode::OK, "{fields:?} {:?} {}", self.jar, pw.body);
        let mut fields = pw.form("/t/contoso/signin/password").fields;
        fields.retain(|(k, _)| k != "password");
        fields.push(("password".into(), PASSWORD.into()));
        self.post("/t/contoso/signin/password", &fields, None).await
    }
}

fn s(v: &str) -> String {
    v.to_owned()
}

#[tokio::test]
async fn the_way_in_signs_administrators_in_and_back() {
    let app = spawn_app().await;
    let mut b = app.browser();

    let entry = b.get("/admin").await;
    assert_eq!(entry.status, StatusCode::OK);
    assert!(entry.body.contains(r#"<label for="tenant">Organisation</label>"#));
    let r = b.get("/admin?tenant=contoso").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin?return=/admin/contoso/mfa"));
    assert_eq!(b.get("/admin?tenant=Not+a+tenant%21").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(b.get("/admin/contoso").await.location.as_deref(), Some("/admin/contoso/mfa"));

    // No session: to sign-in, coming back to the page asked for (with its query).
    let r = b.get("/admin/contoso/mfa").await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin?return=/admin/contoso/mfa"));
    let r = b.get("/admin/contoso/audit?action=user.mfa").await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin?return=/admin/contoso/audit%3Faction%3Duser.mfa"));

    let r = b.sign_in("admin@contoso.com", Some("/admin/contoso/mfa")).await;
    assert_eq!(r.location.as_deref(), Some("/admin/contoso/mfa"));
    assert_eq!(b.get("/admin").await.location.as_deref(), Some("/admin/contoso/mfa"), "the session's tenant");
    let page = b.get("/admin/contoso/mfa").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let h = |name: &str| page.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert_eq!(h("cache-control"), "no-store");
    assert_eq!(h("x-frame-options"), "DENY");
    assert!(h("content-security-policy").starts_with("default-src 'self'"));
    for needle in [
        r##"<a class="skip" href="#main">Skip to content</a>"##,
        r#"<table id="users""#,
        r#"aria-label="Admin center""#,
        r#"aria-current="page">Multi-factor authentication</a>"#,
        ">Service settings</a>",
        ">Audit log</a>",
        ">Sign-in log</a>",
        ">Reports</a>",
        r#"<th scope="col">MFA status</th>"#,
        r#"<script src="/assets/tessera-admin.js" defer></script>"#,
    ] {
        assert!(page.body.contains(needle), "{needle} in:\n{}", page.body);
    }
    let js = b.get("/assets/tessera-admin.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.headers["content-type"].to_str().unwrap().starts_with("text/javascript"));

    // A signed-in user without an administrator role: 403.
    app.user("pat@contoso.com", "Pat", "disabled", &[], true).await;
    let mut pat = app.browser();
    pat.sign_in("pat@contoso.com", None).await;
    let r = pat.get("/admin/contoso/mfa").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("administrator role"), "{}", r.body);
    assert_eq!(pat.get("/admin").await.location.as_deref(), Some("/admin/contoso/mfa"));

    // An administrator who must still register a method is sent there first, and back.
    app.user("hd@contoso.com", "Hana", "enforced", &["helpdeskAdministrator"], true).await;
    let mut hd = app.browser();
    let r = hd.sign_in("hd@contoso.com", Some("/admin/contoso/mfa")).await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin/register?return=/admin/contoso/mfa"));
    let r = hd.get("/admin/contoso/settings/mfa").await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin/register?return=/admin/contoso/settings/mfa"));
}

#[tokio::test]
async fn quick_steps_confirm_by_a_dry_run_and_then_apply() {
    let app = spawn_app().await;
    app.user("alice@contoso.com", "Alice", "disabled", &[], false).await;
    app.user("bob@contoso.com", "Bob", "enabled", &[], false).await;
    app.user("carol@contoso.com", "Carol", "enforced", &[], false).await;
    app.user("dave@contoso.com", "Dave", "disabled", &[], false).await;
    let mut b = app.signed_in("admin@contoso.com").await;

    let page = b.get("/admin/contoso/mfa").await;
    let rows = page.table("users");
    assert_eq!(rows.len(), 5);
    assert!(page.body.contains(r#"aria-label="Select Alice""#));
    assert!(page.body.contains(
        r#"<td data-label="MFA status" class="mfa-status"><span class="badge state-enabled">Enabled</span></td>"#
    ));
    let mut f = page.form("/admin/contoso/mfa");
    f.check("Select Alice").check("Select Bob").check("Select Carol");
    let audit = app.audit_count().await;

    // Enforce: the confirmation counts from the dry run; nothing changed yet.
    let confirm = b.press(&f, "Enforce").await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert_eq!(
        confirm.text_of_id("confirm-summary"),
        "Enforce multi-factor authentication for 3 users: 1 will change from disabled to enforced, \
         1 will change from enabled to enforced, 1 is already enforced."
    );
    assert_eq!(app.state("alice@contoso.com").await, "disabled");
    assert_eq!(app.state("bob@contoso.com").await, "enabled");
    assert_eq!(app.audit_count().await, audit, "a dry run writes nothing");
    let cf = confirm.form("/admin/contoso/mfa/apply");
    assert!(cf.has_button("enforce multi-factor auth") && cf.has_button("cancel"));
    let result = b.press(&cf, "enforce multi-factor auth").await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.body);
    assert!(result.body.contains("Done for 3 users: 2 changed, 1 unchanged."), "{}", result.body);
    assert!(result.body.contains(r#"aria-live="polite""#));
    let rows = result.table("results");
    assert_eq!(rows[0], ["alice@contoso.com", "Changed", "Disabled → Enforced"]);
    assert_eq!(rows[2], ["carol@contoso.com", "Unchanged", "Enforced → Enforced", "Already so."]);
    assert!(result.body.contains(r#"<a class="button primary" href="/admin/contoso/mfa">close</a>"#));
    for u in ["alice", "bob", "carol"] {
        assert_eq!(app.state(&format!("{u}@contoso.com")).await, "enforced", "{u}");
    }
    assert_eq!(app.audit_count().await, audit + 2, "one record per user changed");

    // Enable never weakens an enforced user; with a filter, "close" keeps it.
    let page = b.get("/admin/contoso/mfa?status=disabled").await;
    assert_eq!(page.table("users").len(), 2, "admin and dave");
    let mut f = page.form("/admin/contoso/mfa");
    f.check("Select Dave");
    f.fields.push(("selected".into(), tenant_user_id(&app, "alice@contoso.com").await.to_string()));
    let confirm = b.press(&f, "Enable").await;
    assert_eq!(
        confirm.text_of_id("confirm-summary"),
        "Enable multi-factor authentication for 2 users: 1 will change from disabled to enabled, \
         1 is enforced and will stay enforced (Enable never weakens an enforced user)."
    );
    let result = b.press(&confirm.form("/admin/contoso/mfa/apply"), "enable multi-factor auth").await;
    assert!(result.body.contains("Done for 2 users: 1 changed, 1 skipped."), "{}", result.body);
    assert!(result.body.contains(r#"href="/admin/contoso/mfa?status=disabled">close</a>"#));
    assert_eq!(app.state("dave@contoso.com").await, "enabled");
    assert_eq!(app.state("alice@contoso.com").await, "enforced");

    // Disable asks "yes" or "no"; "no" goes back with the selection kept.
    let page = b.get("/admin/contoso/mfa?search=bo").await;
    let mut f = page.form("/admin/contoso/mfa");
    f.check("Select Bob");
    let confirm = b.press(&f, "Disable").await;
    assert_eq!(
        confirm.text_of_id("confirm-summary"),
        "Disable multi-factor authentication for 1 user: 1 will change from enforced to disabled."
    );
    let cf = confirm.form("/admin/contoso/mfa/apply");
    let back = b.press(&cf, "no").await;
    assert_eq!(back.status, StatusCode::OK);
    assert_eq!(back.text_of_id("selection-count"), "1 selected");
    assert_eq!(back.form("/admin/contoso/mfa").values("select").len(), 1, "Bob is still ticked");
    assert_eq!(back.form("/admin/contoso/mfa").values("search"), ["bo"], "the search is kept");
    assert_eq!(app.state("bob@contoso.com").await, "enforced");
    let confirm = b.press(&back.form("/admin/contoso/mfa"), "Disable").await;
    let result = b.press(&confirm.form("/admin/contoso/mfa/apply"), "yes").await;
    assert!(result.body.contains("Done for 1 user: 1 changed."), "{}", result.body);
    assert_eq!(app.state("bob@contoso.com").await, "disabled");

    // No selection: the list again, with a message.
    let page = b.get("/admin/contoso/mfa").await;
    let r = b.press(&page.form("/admin/contoso/mfa"), "Enforce").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Select at least one user first."));
}

async fn tenant_user_id(app: &TestApp, upn: &str) -> UserId {
    let (_, u) = app.api(reqwest::Method::GET, &format!("/users/{upn}"), None).await;
    UserId::parse(u["id"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn manage_user_settings_offers_the_three_options_and_saves_the_chosen_ones() {
    let app = spawn_app().await;
    let alice = app.user("alice@contoso.com", "Alice", "enforced", &[], false).await;
    let bob = app.user("bob@contoso.com", "Bob", "disabled", &[], false).await;
    let store = app.services.store();
    testing::seed_method(store, alice, MethodKind::Totp).await;
    testing::seed_method(store, alice, MethodKind::Webauthn).await;
    testing::seed_app_password(store, bob, "Thunderbird").await;
    let mut b = app.signed_in("admin@contoso.com").await;

    let page = b.get("/admin/contoso/mfa").await;
    assert_eq!(page.table("users")[1][3], "Authenticator app, Security key or passkey");
    let mut f = page.form("/admin/contoso/mfa");
    f.check("Select Alice").check("Select Bob");
    let manage = b.press(&f, "Manage user settings").await;
    assert_eq!(manage.status, StatusCode::OK, "{}", manage.body);
    for (id, label) in [
        ("require_reregistration", "Require selected users to provide contact methods again"),
        ("delete_app_passwords", "Delete all existing app passwords generated by the selected users"),
        ("revoke_remembered_devices", "Restore multi-factor authentication on all remembered devices"),
    ] {
        assert!(manage.body.contains(&format!(r#"<label for="opt-{id}">{label}</label>"#)), "{label}");
    }
    assert_eq!(
        manage.text_of_id("opt-require_reregistration-hint"),
        "1 of 2 selected users has registered sign-in methods (2 methods); they are removed and the user \
         registers again at the next sign-in."
    );
    assert_eq!(
        manage.text_of_id("opt-delete_app_passwords-hint"),
        "1 of 2 selected users has app passwords (1 app password)."
    );

    // "save" with nothing chosen: the same page with a message; nothing changed.
    let mf = manage.form("/admin/contoso/mfa/apply");
    let r = b.press(&mf, "save").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Choose at least one of the options, then save."));
    assert_eq!(testing::user_rows(store, alice).await.auth_methods, 2);

    let mut mf = r.form("/admin/contoso/mfa/apply");
    mf.check("opt-require_reregistration").check("opt-delete_app_passwords");
    let result = b.press(&mf, "save").await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.body);
    assert!(result.body.contains("Done for 2 users: 2 changed."), "{}", result.body);
    let rows = result.table("results");
    assert_eq!(rows[0][2], "app passwords 0 → 0, methods 2 → 0");
    assert_eq!(rows[1][2], "app passwords 1 → 0, methods 0 → 0");
    let (a, bb) = (testing::user_rows(store, alice).await, testing::user_rows(store, bob).await);
    assert_eq!((a.auth_methods, bb.app_passwords), (0, 0));
    assert_eq!(a.remembered_devices_not_before, None, "that option was not chosen");
    assert!(result.body.contains(">close</a>"));
}

#[tokio::test]
async fn a_selection_spans_pages_and_enforces_two_hundred_users() {
    let app = spawn_app().await;
    let upns: Vec<String> = (0..250).map(|i| format!("user{i:03}@contoso.com")).collect();
    app.import(&upns).await;
    let mut b = app.signed_in("admin@contoso.com").await;

    // Page 1: select all, but not the admin's own account.
    let page = b.get("/admin/contoso/mfa").await;
    assert_eq!(page.table("users").len(), 50);
    assert_eq!(page.text_of_id("selection-count"), "0 selected");
    let p1 = b.press(&page.form("/admin/contoso/mfa"), "Select all on this page").await;
    assert_eq!(p1.text_of_id("selection-count"), "50 selected");
    let mut f = p1.form("/admin/contoso/mfa");
    assert_eq!(f.values("select").len(), 50, "every box ticked");
    f.uncheck("Select admin");
    // Pages 2 to 4: select all on each.
    let mut page = b.press(&f, "Next page").await;
    for n in 2..=4 {
        assert!(page.body.contains(&format!("Page {n}")), "{}", page.body);
        page = b.press(&page.form("/admin/contoso/mfa"), "Select all on this page").await;
        assert_eq!(page.text_of_id("selection-count"), format!("{} selected", 49 + 50 * (n - 1)));
        page = b.press(&page.form("/admin/contoso/mfa"), "Next page").await;
    }
    // Page 5: one more; Previous keeps everything, also what was ticked here.
    assert!(page.body.contains("Page 5"));
    assert_eq!(page.form("/admin/contoso/mfa").values("selected").len(), 199, "carried as hidden fields");
    let mut f = page.form("/admin/contoso/mfa");
    f.check("Select user199");
    let back = b.press(&f, "Previous page").await;
    assert!(back.body.contains("Page 4"));
    assert_eq!(back.text_of_id("selection-count"), "200 selected");
    assert_eq!(back.form("/admin/contoso/mfa").values("select").len(), 50);
    // Back to page 1 by Previous: the admin is still not selected.
    let mut page = back;
    for _ in 0..3 {
        page = b.press(&page.form("/admin/contoso/mfa"), "Previous page").await;
    }
    assert!(page.body.contains("Page 1"));
    assert_eq!(page.form("/admin/contoso/mfa").values("select").len(), 49);
    assert!(!page.form("/admin/contoso/mfa").has_button("Previous page"));

    let confirm = b.press(&page.form("/admin/contoso/mfa"), "Enforce").await;
    assert_eq!(
        confirm.text_of_id("confirm-summary"),
        "Enforce multi-factor authentication for 200 users: 200 will change from disabled to enforced."
    );
    assert_eq!(app.count_in_state("enforced").await, 0, "nothing yet");
    let result = b.press(&confirm.form("/admin/contoso/mfa/apply"), "enforce multi-factor auth").await;
    assert!(result.body.contains("Done for 200 users: 200 changed."), "{}", result.body);
    assert_eq!(app.count_in_state("enforced").await, 200);
    assert_eq!(app.state("admin@contoso.com").await, "disabled");
    assert_eq!(app.state("user199@contoso.com").await, "enforced");
    assert_eq!(app.state("user200@contoso.com").await, "disabled");

    // Clear selection.
    let page = b.get("/admin/contoso/mfa").await;
    let p = b.press(&page.form("/admin/contoso/mfa"), "Select all on this page").await;
    let p = b.press(&p.form("/admin/contoso/mfa"), "Clear selection").await;
    assert_eq!(p.text_of_id("selection-count"), "0 selected");
    assert!(p.form("/admin/contoso/mfa").values("select").is_empty());
}

#[tokio::test]
async fn helpdesk_sees_no_state_buttons_and_forged_posts_change_nothing() {
    let app = spawn_app().await;
    let alice = app.user("alice@contoso.com", "Alice", "disabled", &[], false).await;
    app.user("hd@contoso.com", "Hana", "disabled", &["helpdeskAdministrator"], true).await;
    let mut b = app.signed_in("hd@contoso.com").await;

    let page = b.get("/admin/contoso/mfa").await;
    assert_eq!(page.status, StatusCode::OK);
    let f = page.form("/admin/contoso/mfa");
    for hidden in ["Enable", "Enforce", "Disable"] {
        assert!(!f.has_button(hidden), "{hidden}");
    }
    assert!(f.has_button("Manage user settings"));
    assert!(!page.body.contains(">Audit log</a>") && !page.body.contains(">Sign-in log</a>"));
    assert_eq!(b.get("/admin/contoso/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(b.get("/admin/contoso/signins?format=csv").await.status, StatusCode::FORBIDDEN);

    // Forged: the state quick steps, with a valid token.
    let audit = app.audit_count().await;
    let csrf = f.values("csrf")[0].clone();
    let origin = app.base.clone();
    for path in ["/admin/contoso/mfa/quick-step", "/admin/contoso/mfa/apply"] {
        let fields = [(s("csrf"), csrf.clone()), (s("step"), s("enforce")), (s("selected"), alice.to_string())];
        let r = b.post(path, &fields, Some(&origin)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
        assert!(r.body.contains("Not allowed"));
    }
    assert_eq!(app.state("alice@contoso.com").await, "disabled");
    assert_eq!(app.audit_count().await, audit);

    // Manage user settings on a Global Administrator: the confirmation says who fails, and a
    // forged save changes nothing.
    let admin = tenant_user_id(&app, "admin@contoso.com").await;
    let mut f = page.form("/admin/contoso/mfa");
    f.check("Select admin").check("Select Alice");
    let manage = b.press(&f, "Manage user settings").await;
    assert!(
        manage.body.contains("1 of the selected users can&#39;t be changed")
            || manage.body.contains("1 of the selected users can't be changed"),
        "{}",
        manage.body
    );
    assert!(manage.body.contains("Continue without them"));
    let fields = [
        (s("csrf"), csrf.clone()),
        (s("step"), s("manage")),
        (s("selected"), admin.to_string()),
        (s("selected"), alice.to_string()),
        (s("revoke_remembered_devices"), s("on")),
    ];
    let r = b.post("/admin/contoso/mfa/apply", &fields, Some(&origin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Nothing was changed: 1 of 2 users can&#39;t be changed")
            || r.body.contains("Nothing was changed: 1 of 2 users can't be changed"),
        "{}",
        r.body
    );
    assert_eq!(testing::user_rows(app.services.store(), alice).await.remembered_devices_not_before, None);
    assert_eq!(app.audit_count().await, audit);
    // Without the administrator it goes through.
    let cont_form = manage.forms().into_iter().find(|f| f.has_button("Continue without them")).unwrap();
    let cont = b.press(&cont_form, "Continue without them").await;
    let mut mf = cont.form("/admin/contoso/mfa/apply");
    assert_eq!(mf.values("selected"), [alice.to_string()]);
    mf.check("opt-revoke_remembered_devices");
    let done = b.press(&mf, "save").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(testing::user_rows(app.services.store(), alice).await.remembered_devices_not_before.is_some());

    // A user's page: no sessions (sign-in data), but "Revoke all sessions" for a plain user,
    // and no delete or revoke for the Global Administrator.
    let page = b.get(&format!("/admin/contoso/users/{alice}")).await;
    assert!(
        page.body.contains("Your role can&#39;t see where this user is signed in.")
            || page.body.contains("Your role can't see where this user is signed in.")
    );
    assert!(page.body.contains("Revoke all sessions") && !page.body.contains("id=\"recent-signins\""));
    let page = b.get(&format!("/admin/contoso/users/{admin}")).await;
    assert!(!page.body.contains("Revoke all sessions"));
    assert!(!page.body.contains(">Enforce</button>"));

    // The settings are read-only; a forged save is refused.
    let settings = b.get("/admin/contoso/settings/mfa").await;
    assert!(settings.body.contains("<fieldset disabled>"));
    assert!(settings.body.contains("Your role can read these settings but not change them."));
    assert!(!settings.form("/admin/contoso/settings/mfa").has_button("Save"));
    let before = app.settings().await;
    let fields = [(s("csrf"), csrf.clone()), (s("allow_app_passwords"), s("on")), (s("remember_device_days"), s("30"))];
    let r = b.post("/admin/contoso/settings/mfa", &fields, Some(&origin)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.settings().await, before);
}

#[tokio::test]
async fn settings_show_each_error_next_to_its_field_and_save_nothing() {
    let app = spawn_app().await;
    let mut b = app.signed_in("admin@contoso.com").await;
    let before = app.settings().await;
    let page = b.get("/admin/contoso/settings/mfa").await;
    assert_eq!(page.status, StatusCode::OK);
    let mut f = page.form("/admin/contoso/settings/mfa");
    assert_eq!(f.values("remember_device_days"), ["14"]);
    assert_eq!(f.values("allowed_methods"), ["totp", "webauthn", "recoveryCode", "temporaryAccessPass"]);
    f.set("trusted_ip_ranges", "10.0.0.0/8\n10.0.0.1/8\nnot an address\n")
        .set("remember_device_days", "0")
        .remove("allowed_methods")
        .set("allowed_methods", "recoveryCode")
        .check("allow_app_passwords");
    let r = b.press(&f, "Save").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("Nothing was saved."));
    assert_eq!(
        r.text_of_id("ips-error-1"),
        "Trusted IP range '10.0.0.1/8': host bits are set; did you mean 10.0.0.0/8?"
    );
    assert_eq!(r.text_of_id("ips-error-2"), "Trusted IP range 'not an address': not an IPv4 or IPv6 address.");
    assert_eq!(r.text_of_id("days-error"), "rememberDeviceDays must be 1-365, got 0.");
    assert!(r.text_of_id("methods-error").starts_with("allowedMethods must include at least one of totp"));
    assert!(r.body.contains(r#"aria-invalid="true""#));
    let again = r.form("/admin/contoso/settings/mfa");
    assert_eq!(again.values("trusted_ip_ranges"), ["10.0.0.0/8\n10.0.0.1/8\nnot an address\n"], "what was typed");
    assert_eq!(app.settings().await, before, "nothing saved");

    let mut f = again.clone();
    f.set("remember_device_days", "a week");
    let r = b.press(&f, "Save").await;
    assert!(r.text_of_id("days-error").contains("whole number of days"), "{}", r.body);

    let mut f = r.form("/admin/contoso/settings/mfa");
    f.set("trusted_ip_ranges", "10.0.0.0/8\n\n 2001:db8::/32 \n")
        .set("remember_device_days", "30")
        .check("method-totp");
    let r = b.press(&f, "Save").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/admin/contoso/settings/mfa?saved=1"));
    let s = app.settings().await;
    assert_eq!(s["allowAppPasswords"], true);
    assert_eq!(s["trustedIpRanges"], json!(["10.0.0.0/8", "2001:db8::/32"]));
    assert_eq!(s["allowedMethods"], json!(["totp", "recoveryCode"]));
    assert_eq!(s["rememberDeviceDays"], 30);
    let page = b.get("/admin/contoso/settings/mfa?saved=1").await;
    assert!(page.body.contains("The service settings were saved."));
}

#[tokio::test]
async fn audit_and_signin_logs_filter_page_and_export() {
    let app = spawn_app().await;
    // A user name a spreadsheet would read as a formula.
    app.user("=1+2@contoso.com", "Formula", "disabled", &[], false).await;
    app.set_state("=1+2@contoso.com", "enforced").await;
    let upns: Vec<String> = (0..60).map(|i| format!("u{i:02}@contoso.com")).collect();
    app.import(&upns).await;
    let mut b = app.signed_in("admin@contoso.com").await;
    // A failed sign-in of someone else.
    let mut other = app.browser();
    let page = other.get("/t/contoso/signin").await;
    let mut fields = page.form("/t/contoso/signin").fields;
    fields.retain(|(k, _)| k != "upn");
    fields.push((s("upn"), s("u01@contoso.com")));
    let pw = other.post("/t/contoso/signin", &fields, None).await;
    let mut fields = pw.form("/t/contoso/signin/password").fields;
    fields.retain(|(k, _)| k != "password");
    fields.push((s("password"), s("wrong")));
    assert_eq!(other.post("/t/contoso/signin/password", &fields, None).await.status, StatusCode::UNAUTHORIZED);

    // Paging: 63 records (tenant, admin, formula user + its state, 60 imports) in pages of 50.
    let p1 = b.get("/admin/contoso/audit").await;
    assert_eq!(p1.status, StatusCode::OK);
    assert_eq!(p1.table("audit").len(), 50);
    let next =
        p1.body.split(r#"rel="next""#).next().unwrap().rsplit("href=\"").next().unwrap().split('"').next().unwrap();
    let p2 = b.get(&unescape(next)).await;
    assert!(p2.body.contains("Page 2"));
    assert_eq!(p2.table("audit").len(), 14);
    assert!(p2.body.contains(r#"rel="prev""#));

    // Filters.
    let f = b.get("/admin/contoso/audit?action=user.mfa").await;
    let rows = f.table("audit");
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains(&s("user.mfa.setState")) && rows[0].contains(&s("=1+2@contoso.com")), "{rows:?}");
    let f = b.get("/admin/contoso/audit?target=u05%40contoso.com").await;
    assert_eq!(f.table("audit").len(), 1);
    let later =
        (app.clock.now() + Duration::minutes(5)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let f = b.get(&format!("/admin/contoso/audit?since={}", later.replace(':', "%3A"))).await;
    assert_eq!(f.table("audit"), [[s("No audit records match.")]]);
    let bad = b.get("/admin/contoso/audit?since=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text_of_id("since-error").starts_with("Enter a date and time"));

    // Export: CSV with formulas defused, JSON, the whole filtered log.
    let csv = b.get("/admin/contoso/audit?action=user&format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(csv.headers["content-disposition"], "attachment; filename=\"tessera-audit-contoso.csv\"");
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "time,actor,actorId,sourceIp,action,target,targetId,before,after,correlationId,id");
    assert_eq!(lines.len(), 1 + 63, "every user record, more than one page");
    let formula = lines.iter().find(|l| l.contains("user.mfa.setState")).unwrap();
    assert!(formula.contains(",'=1+2@contoso.com,"), "{formula}");
    assert!(!lines.iter().any(|l| l.split(',').any(|c| c.starts_with('='))));
    let json_export = b.get("/admin/contoso/audit?action=user.mfa&format=json").await;
    assert_eq!(json_export.headers["content-disposition"], "attachment; filename=\"tessera-audit-contoso.json\"");
    let items: Vec<Value> = serde_json::from_str(&json_export.body).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["targetUpn"], "=1+2@contoso.com");
    assert_eq!(items[0]["after"], "enforced");

    // Sign-in log: by result and user; export.
    let page = b.get("/admin/contoso/signins?result=failure").await;
    let rows = page.table("signins");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains(&s("u01@contoso.com")) && rows[0].contains(&s("invalid_credentials")));
    let page = b.get("/admin/contoso/signins?user=admin%40contoso.com").await;
    assert_eq!(page.table("signins").len(), 2, "the API token at the start and this browser");
    let csv = b.get("/admin/contoso/signins?result=failure&format=csv").await;
    assert_eq!(csv.headers["content-disposition"], "attachment; filename=\"tessera-signins-contoso.csv\"");
    assert_eq!(csv.body.lines().count(), 2);
    let items: Vec<Value> = serde_json::from_str(&b.get("/admin/contoso/signins?format=json").await.body).unwrap();
    assert_eq!(items.len(), 3);
}

#[tokio::test]
async fn the_registration_report_counts_and_lists_who_must_register() {
    let app = spawn_app().await;
    let alice = app.user("alice@contoso.com", "Alice", "enforced", &[], false).await;
    app.user("bob@contoso.com", "Bob", "enabled", &[], false).await;
    let carol = app.user("carol@contoso.com", "Carol", "enforced", &[], false).await;
    app.user("dave@contoso.com", "Dave", "disabled", &[], false).await;
    testing::seed_method(app.services.store(), alice, MethodKind::Totp).await;
    testing::seed_method(app.services.store(), carol, MethodKind::RecoveryCode).await;
    let mut b = app.signed_in("admin@contoso.com").await;

    let r = b.get("/admin/contoso/reports/registration").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.text_of_id("total-users"), "5");
    assert_eq!(r.text_of_id("registered-users"), "1");
    assert_eq!(r.text_of_id("unregistered-users"), "2");
    assert_eq!(
        r.table("state-counts"),
        [[s("Disabled"), s("2"), s("40%")], [s("Enabled"), s("1"), s("20%")], [s("Enforced"), s("2"), s("40%")]]
    );
    let methods = r.table("method-counts");
    assert_eq!(methods[0], [s("Authenticator app"), s("1"), s("20%")]);
    assert_eq!(methods[4], [s("Recovery codes"), s("1"), s("20%")]);
    assert!(r.body.contains(r#"<svg id="chart-states" role="img""#));
    assert!(r.body.contains("Disabled: 2; Enabled: 1; Enforced: 2"));
    let unregistered = r.table("unregistered");
    assert_eq!(
        unregistered.iter().map(|row| row[1].clone()).collect::<Vec<_>>(),
        ["bob@contoso.com", "carol@contoso.com"]
    );
}

#[tokio::test]
async fn admin_forms_need_the_session_token_and_this_origin() {
    let app = spawn_app().await;
    let alice = app.user("alice@contoso.com", "Alice", "disabled", &[], true).await;
    let mut b = app.signed_in("admin@contoso.com").await;
    let page = b.get("/admin/contoso/mfa").await;
    let csrf = page.form("/admin/contoso/mfa").values("csrf")[0].clone();
    let origin = app.base.clone();
    let audit = app.audit_count().await;
    let settings = app.settings().await;
    let apply = |token: &str| {
        vec![(s("csrf"), token.to_owned()), (s("step"), s("enforce")), (s("selected"), alice.to_string())]
    };
    let refused = [
        b.post("/admin/contoso/mfa/apply", &apply(""), Some(&origin)).await,
        b.post("/admin/contoso/mfa/apply", &apply("wrong"), Some(&origin)).await,
        b.post("/admin/contoso/mfa/apply", &apply(&csrf), Some("http://evil.example")).await,
        b.post("/admin/contoso/mfa/apply", &apply(&csrf), Some("null")).await,
        b.post("/admin/contoso/mfa/quick-step", &apply("wrong"), None).await,
        b.post("/admin/contoso/mfa", &apply("wrong"), None).await,
        b.post("/admin/contoso/settings/mfa", &[(s("csrf"), s("wrong")), (s("remember_device_days"), s("30"))], None)
            .await,
        b.post(&format!("/admin/contoso/users/{alice}/sessions/revoke"), &[(s("csrf"), s("wrong"))], None).await,
    ];
    for r in &refused {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains(EXPIRED));
    }
    assert_eq!(app.state("alice@contoso.com").await, "disabled");
    assert_eq!(app.audit_count().await, audit);
    assert_eq!(app.settings().await, settings);

    // A selection far larger than the sign-in forms' 16 KiB body limit is taken.
    let mut big = vec![(s("csrf"), csrf.clone())];
    big.extend((0..2000).map(|_| (s("selected"), UserId::new().to_string())));
    let r = b.post("/admin/contoso/mfa", &big, Some(&origin)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text_of_id("selection-count"), "2000 selected");

    // Without a session a post goes to sign-in, coming back to the list.
    let mut anon = app.browser();
    let r = anon.post("/admin/contoso/mfa/apply", &apply(&csrf), None).await;
    assert_eq!(r.location.as_deref(), Some("/t/contoso/signin?return=/admin/contoso/mfa"));

    // The same post with the token goes through.
    let r = b.post("/admin/contoso/mfa/apply", &apply(&csrf), Some(&origin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.state("alice@contoso.com").await, "enforced");
}

#[tokio::test]
async fn the_user_page_shows_methods_history_sessions_and_revokes_them() {
    let app = spawn_app().await;
    let alice = app.user("alice@contoso.com", "Alice", "disabled", &[], true).await;
    let store = app.services.store();
    // Alice signs in (disabled: the password is enough) in her own browser.
    let mut hers = app.browser();
    assert_eq!(hers.sign_in("alice@contoso.com", None).await.location.as_deref(), Some("/t/contoso/me"));
    testing::seed_method(store, alice, MethodKind::Totp).await;
    app.set_state("alice@contoso.com", "enforced").await;
    let mut b = app.signed_in("admin@contoso.com").await;

    let page = b.get(&format!("/admin/contoso/users/{alice}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<h1>Alice</h1>"));
    assert!(page.body.contains(r#"<span class="badge state-enforced">Enforced</span>"#));
    let history = page.table("mfa-history");
    assert_eq!(history.len(), 1);
    assert!(history[0].contains(&s("user.mfa.setState")) && history[0].contains(&s("MFA state: Disabled → Enforced")));
    assert_eq!(page.table("methods")[0][0], "Authenticator app");
    assert!(page.body.contains("No app passwords."));
    assert!(
        page.body.contains("Multi-factor authentication has not been restored on this user&#39;s remembered devices.")
            || page
                .body
                .contains("Multi-factor authentication has not been restored on this user's remembered devices.")
    );
    assert_eq!(page.table("sessions").len(), 1, "her browser");
    let signins = page.table("recent-signins");
    assert_eq!(signins.len(), 1);
    assert_eq!(signins[0][1], "success");
    assert!(page.table("user-audit").iter().any(|r| r.contains(&s("user.create"))));
    // Its quick steps lead to the same confirmation as the list.
    let confirm = b.press(&page.forms().into_iter().find(|f| f.has_button("Disable")).unwrap(), "Disable").await;
    assert_eq!(
        confirm.text_of_id("confirm-summary"),
        "Disable multi-factor authentication for 1 user: 1 will change from enforced to disabled."
    );

    // Delete the authenticator app.
    let del = page.forms().into_iter().find(|f| f.action.contains("/methods/")).unwrap();
    let r = b.press(&del, "Delete").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some(format!("/admin/contoso/users/{alice}?done=method-deleted").as_str()));
    assert_eq!(testing::user_rows(store, alice).await.auth_methods, 0);
    let page = b.get(r.location.as_deref().unwrap()).await;
    assert!(page.body.contains("The sign-in method was deleted."));
    assert!(page.body.contains("No methods registered."));

    // Revoke all sessions: her browser is signed out.
    assert_eq!(hers.get("/t/contoso/me").await.status, StatusCode::OK);
    let r = b.press(&page.form(&format!("/admin/contoso/users/{alice}/sessions/revoke")), "Revoke all sessions").await;
    assert_eq!(r.location.as_deref(), Some(format!("/admin/contoso/users/{alice}?done=sessions-revoked&n=1").as_str()));
    assert_eq!(hers.get("/t/contoso/me").await.location.as_deref(), Some("/t/contoso/signin"));
    let page = b.get(r.location.as_deref().unwrap()).await;
    assert!(page.body.contains("1 session or API token was revoked."));
    let actions: Vec<String> = page.table("user-audit").iter().map(|r| r[2].clone()).collect();
    assert_eq!(&actions[..2], ["user.sessions.revoke", "user.method.delete"]);

    assert_eq!(b.get(&format!("/admin/contoso/users/{}", UserId::new())).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_user_page_deletes_app_passwords_forgets_browsers_and_blocks_sign_in() {
    use tessera_core::app_password;
    use tessera_core::credential_ports::{AppPasswordRecord, CredentialTx, RememberedDevice};
    use tessera_core::ports::{Store, StoreTx};

    let app = spawn_app().await;
    let bo = app.user("bo@contoso.com", "Bo", "disabled", &[], true).await;
    let store = app.services.store();
    let now = app.clock.now();
    let secret = app_password::generate().unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.insert_app_password(&AppPasswordRecord {
        id: tessera_core::ids::AppPasswordId::new(),
        user_id: bo,
        name: "Printer".into(),
        password_hash: app_password::hash(&app_password::normalize(&secret).unwrap()),
        created_at: now,
    })
    .await
    .unwrap();
    let device = RememberedDevice {
        id: tessera_core::ids::DeviceId::new(),
        user_id: bo,
        created_at: now,
        last_used_at: None,
        expires_at: now + Duration::days(14),
        source_ip: Some("192.0.2.8".parse().unwrap()),
        user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36".into()),
    };
    tx.insert_remembered_device(&device, "a-token-hash").await.unwrap();
    tx.commit().await.unwrap();

    let mut b = app.signed_in("admin@contoso.com").await;
    let page = b.get(&format!("/admin/contoso/users/{bo}")).await;
    assert_eq!(page.table("app-passwords")[0][0], "Printer");
    assert_eq!(page.table("remembered-devices")[0][0], "Chrome on Windows");
    // The admin's own page offers no way to block themself.
    let own = b.get("/admin/contoso/users/admin@contoso.com").await;
    assert!(!own.forms().iter().any(|f| f.has_button("Block sign-in")));

    let del = page.forms().into_iter().find(|f| f.action.contains("/app-passwords/")).expect("a Delete form");
    let r = b.press(&del, "Delete").await;
    assert_eq!(r.location.as_deref(), Some(format!("/admin/contoso/users/{bo}?done=app-password-deleted").as_str()));
    assert_eq!(testing::user_rows(store, bo).await.app_passwords, 0);
    let r = b.press(&page.form(&format!("/admin/contoso/users/{bo}/devices/{}/forget", device.id)), "Forget").await;
    assert_eq!(r.location.as_deref(), Some(format!("/admin/contoso/users/{bo}?done=device-forgotten").as_str()));
    assert_eq!(testing::user_rows(store, bo).await.remembered_devices, 0);

    // Hand-made forms change nothing: a bad value, or blocking oneself.
    let mut forged = page.form(&format!("/admin/contoso/users/{bo}/account"));
    forged.set("enabled", "maybe");
    assert_eq!(b.press(&forged, "Block sign-in").await.status, StatusCode::BAD_REQUEST);
    let own_id = tenant_user_id(&app, "admin@contoso.com").await;
    forged.action = format!("/admin/contoso/users/{own_id}/account");
    forged.set("enabled", "false");
    assert_eq!(b.press(&forged, "Block sign-in").await.status, StatusCode::BAD_REQUEST);
    let (_, u) = app.api(reqwest::Method::GET, "/users/bo@contoso.com", None).await;
    assert_eq!(u["accountEnabled"], true, "{u}");
    let (_, me) = app.api(reqwest::Method::GET, "/users/admin@contoso.com", None).await;
    assert_eq!(me["accountEnabled"], true, "{me}");

    // Block sign-in: her session ends, the page says so and offers the way back.
    let mut hers = app.browser();
    assert_eq!(hers.sign_in("bo@contoso.com", None).await.location.as_deref(), Some("/t/contoso/me"));
    let page = b.get(&format!("/admin/contoso/users/{bo}")).await;
    let r = b.press(&page.form(&format!("/admin/contoso/users/{bo}/account")), "Block sign-in").await;
    assert_eq!(r.location.as_deref(), Some(format!("/admin/contoso/users/{bo}?done=account-disabled").as_str()));
    assert_eq!(hers.get("/t/contoso/me").await.location.as_deref(), Some("/t/contoso/signin"));
    assert_eq!(hers.sign_in("bo@contoso.com", None).await.status, StatusCode::FORBIDDEN);
    let page = b.get(r.location.as_deref().unwrap()).await;
    assert!(page.body.contains("Blocked from signing in"));
    let r = b.press(&page.form(&format!("/admin/contoso/users/{bo}/account")), "Allow sign-in").await;
    assert_eq!(r.location.as_deref(), Some(format!("/admin/contoso/users/{bo}?done=account-enabled").as_str()));
    assert_eq!(hers.sign_in("bo@contoso.com", None).await.location.as_deref(), Some("/t/contoso/me"));
    let actions: Vec<String> =
        b.get(&format!("/admin/contoso/users/{bo}")).await.table("user-audit").iter().map(|r| r[2].clone()).collect();
    for a in ["user.appPassword.delete", "user.rememberedDevice.delete", "user.account.update"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}
