//! The REST API in process: a real server on port 0 over a fresh database, driven over HTTP,
//! on SQLite and (when `TESSERA_TEST_DATABASE_URL` is set) PostgreSQL.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera_core::ids::{TenantSlug, Upn};
use tessera_core::ports::SystemClock;
use tessera_core::service::Tessera;
use tessera_store::testing::{self, TestDb};

const PASSWORD: &str = "correct horse battery staple";

struct TestApp {
    base: String,
    http: reqwest::Client,
    token: String,
    backend: &'static str,
    /// The services the server runs, for what no API call does (e.g. an LDAP bind).
    svc: Tessera<tessera_store::SqlStore>,
    db: TestDb,
}

async fn spawn_app(db: TestDb) -> TestApp {
    let services = Tessera::new(db.store.clone(), Arc::new(SystemClock));
    services
        .init_tenant(&TenantSlug::parse("contoso").unwrap(), &Upn::parse("admin@contoso.com").unwrap(), PASSWORD.into())
        .await
        .unwrap();
    services
        .init_tenant(
            &TenantSlug::parse("fabrikam").unwrap(),
            &Upn::parse("admin@fabrikam.com").unwrap(),
            PASSWORD.into(),
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = tessera_web::app(services.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut t = TestApp {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        token: String::new(),
        backend: db.name,
        svc: services,
        db,
    };
    t.token = t.login("contoso", "admin@contoso.com", PASSWORD).await;
    t
}

/// Runs `f` once per backend.
macro_rules! each_backend {
    (|$app:ident| $body:block) => {
        for db in testing::all().await {
            let $app = spawn_app(db).await;
            $body
        }
    };
}

// App passwords, remembered devices and account changes (`PATCH /users/{user}`).
#[path = "api/credentials.rs"]
mod credentials;

impl TestApp {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/tenants/contoso{path}", self.base)
    }

    async fn login(&self, tenant: &str, upn: &str, password: &str) -> String {
        let (status, body) = self.token_request(json!({ "tenant": tenant, "upn": upn, "password": password })).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", self.backend);
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn token_request(&self, body: Value) -> (StatusCode, Value) {
        let r = self.http.post(format!("{}/api/v1/auth/token", self.base)).json(&body).send().await.unwrap();
        (r.status(), r.json().await.unwrap())
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(&self.token, method, path, body).await
    }

    async fn call_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn add_user(&self, upn: &str, extra: Value) -> Value {
        let mut body = json!({ "upn": upn, "displayName": upn.split('@').next().unwrap() });
        body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        let (status, user) = self.post("/users", body).await;
        assert_eq!(status, StatusCode::CREATED, "{}: {user}", self.backend);
        user
    }

    async fn state(&self, upn: &str) -> String {
        let (status, r) = self.get(&format!("/users/{upn}/authentication/requirements")).await;
        assert_eq!(status, StatusCode::OK, "{}: {r}", self.backend);
        r["perUserMfaState"].as_str().unwrap().to_owned()
    }

    async fn audit_count(&self) -> usize {
        let (_, page) = self.get("/audit?limit=500").await;
        page["items"].as_array().unwrap().len()
    }
}

fn assert_error(backend: &str, got: (StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(got.0, status, "{backend}: {}", got.1);
    assert_eq!(got.1["error"], code, "{backend}: {}", got.1);
    assert!(got.1["message"].as_str().is_some_and(|m| !m.is_empty()), "{backend}: a message is given");
}

#[tokio::test]
async fn token_endpoint_refuses_bad_credentials_alike() {
    each_backend!(|app| {
        let wrong_password = app
            .token_request(json!({ "tenant": "contoso", "upn": "admin@contoso.com", "password": "nope nope" }))
            .await;
        let unknown_user = app
            .token_request(json!({ "tenant": "contoso", "upn": "ghost@contoso.com", "password": "nope nope" }))
            .await;
        let unknown_tenant =
            app.token_request(json!({ "tenant": "nowhere", "upn": "admin@contoso.com", "password": PASSWORD })).await;
        for r in [wrong_password, unknown_user, unknown_tenant] {
            assert_error(app.backend, r, StatusCode::UNAUTHORIZED, "invalid_credentials");
        }
        let malformed = app.token_request(json!({ "tenant": "contoso" })).await;
        assert_error(app.backend, malformed, StatusCode::BAD_REQUEST, "invalid_request");
        // The failures are in the sign-in log, with their reason.
        let (_, log) = app.get("/signins?action=failure").await;
        let reasons: Vec<&str> =
            log["items"].as_array().unwrap().iter().map(|s| s["failureReason"].as_str().unwrap()).collect();
        assert_eq!(reasons, ["invalid_credentials", "invalid_credentials"], "{}", app.backend);
    });
}

#[tokio::test]
async fn requests_need_a_valid_token_of_the_same_tenant() {
    each_backend!(|app| {
        let no_token = app.http.get(app.url("/users")).send().await.unwrap();
        assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(no_token.headers()["www-authenticate"], "Bearer");
        let bad = app.call_as("not-a-token", reqwest::Method::GET, "/users", None).await;
        assert_error(app.backend, bad, StatusCode::UNAUTHORIZED, "unauthorized");
        let other = app.login("fabrikam", "admin@fabrikam.com", PASSWORD).await;
        let cross = app.call_as(&other, reqwest::Method::GET, "/users", None).await;
        assert_error(app.backend, cross, StatusCode::FORBIDDEN, "forbidden");
    });
}

#[tokio::test]
async fn users_are_created_read_listed_and_deleted_with_clear_errors() {
    each_backend!(|app| {
        let bob = app.add_user("Bob@Contoso.com", json!({})).await;
        assert_eq!(bob["perUserMfaState"], "disabled");
        assert_eq!(bob["upn"], "Bob@Contoso.com");
        let dup = app.post("/users", json!({ "upn": "bob@contoso.COM", "displayName": "Bob 2" })).await;
        assert_error(app.backend, dup, StatusCode::CONFLICT, "user_exists");
        let bad = app.post("/users", json!({ "upn": "bob at contoso", "displayName": "B" })).await;
        assert_error(app.backend, bad, StatusCode::BAD_REQUEST, "invalid_upn");
        let unknown_field =
            app.post("/users", json!({ "upn": "c@contoso.com", "displayName": "C", "admin": true })).await;
        assert_error(app.backend, unknown_field, StatusCode::BAD_REQUEST, "invalid_request");
        let (status, by_id) = app.get(&format!("/users/{}", bob["id"].as_str().unwrap())).await;
        assert_eq!((status, &by_id["upn"]), (StatusCode::OK, &json!("Bob@Contoso.com")));
        let (status, _) = app.get("/users/BOB@contoso.com").await;
        assert_eq!(status, StatusCode::OK);
        assert_error(app.backend, app.get("/users/ghost@contoso.com").await, StatusCode::NOT_FOUND, "not_found");

        for i in 0..7 {
            app.add_user(&format!("page{i}@contoso.com"), json!({})).await;
        }
        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let (status, page) = app.get(&format!("/users?search=PAGE&limit=3{cursor}")).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            seen.extend(page["items"].as_array().unwrap().iter().map(|u| u["upn"].as_str().unwrap().to_owned()));
            match page["next"].as_str() {
                Some(n) => cursor = format!("&cursor={n}"),
                None => break,
            }
        }
        assert_eq!(seen, (0..7).map(|i| format!("page{i}@contoso.com")).collect::<Vec<_>>(), "{}", app.backend);
        assert_error(app.backend, app.get("/users?cursor=%%%").await, StatusCode::BAD_REQUEST, "invalid_request");
        assert_error(app.backend, app.get("/users?limit=0").await, StatusCode::BAD_REQUEST, "invalid_request");
        assert_error(app.backend, app.get("/users?mfaState=sometimes").await, StatusCode::BAD_REQUEST, "invalid_state");

        let (status, _) = app.call(reqwest::Method::DELETE, "/users/bob@contoso.com", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_error(app.backend, app.get("/users/bob@contoso.com").await, StatusCode::NOT_FOUND, "not_found");
        let me = app.call(reqwest::Method::DELETE, "/users/admin@contoso.com", None).await;
        assert_error(app.backend, me, StatusCode::FORBIDDEN, "forbidden");
    });
}

#[tokio::test]
async fn per_user_state_is_read_and_set_like_graph() {
    each_backend!(|app| {
        app.add_user("carol@contoso.com", json!({})).await;
        let path = "/users/carol@contoso.com/authentication/requirements";
        let (status, r) = app.call(reqwest::Method::PATCH, path, Some(json!({ "perUserMfaState": "enforced" }))).await;
        assert_eq!((status, r), (StatusCode::OK, json!({ "perUserMfaState": "enforced" })));
        assert_eq!(app.state("carol@contoso.com").await, "enforced");
        let bad = app.call(reqwest::Method::PATCH, path, Some(json!({ "perUserMfaState": "maybe" }))).await;
        assert_error(app.backend, bad, StatusCode::BAD_REQUEST, "invalid_state");
        let ghost = app
            .call(
                reqwest::Method::PATCH,
                "/users/ghost@contoso.com/authentication/requirements",
                Some(json!({ "perUserMfaState": "enabled" })),
            )
            .await;
        assert_error(app.backend, ghost, StatusCode::NOT_FOUND, "not_found");
        assert_eq!(app.state("carol@contoso.com").await, "enforced");
        let (_, audit) = app.get("/audit?action=user.mfa&target=CAROL@contoso.com").await;
        let items = audit["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{}: {audit}", app.backend);
        assert_eq!((&items[0]["before"], &items[0]["after"]), (&json!("disabled"), &json!("enforced")));
        assert_eq!(items[0]["actorUpn"], "admin@contoso.com");
        assert_eq!(items[0]["sourceIp"], "127.0.0.1");
    });
}

#[tokio::test]
async fn bulk_is_all_or_nothing_with_a_dry_run() {
    each_backend!(|app| {
        for u in ["a", "b", "c"] {
            app.add_user(&format!("{u}@contoso.com"), json!({})).await;
        }
        let before = app.audit_count().await;
        let users = json!(["a@contoso.com", "B@contoso.com", "c@contoso.com"]);
        let (status, dry) = app.post("/mfa/bulk", json!({ "action": "enable", "users": users, "dryRun": true })).await;
        assert_eq!(status, StatusCode::OK, "{dry}");
        assert_eq!(
            (dry["dryRun"].clone(), dry["applied"].clone(), dry["summary"]["changed"].clone()),
            (json!(true), json!(false), json!(3))
        );
        assert_eq!(app.state("a@contoso.com").await, "disabled", "{}: a dry run changes nothing", app.backend);
        assert_eq!(app.audit_count().await, before);

        let (status, rejected) = app
            .post(
                "/mfa/bulk",
                json!({ "action": "enforce", "users": ["a@contoso.com", "ghost@contoso.com", "not a upn"] }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{rejected}");
        assert_eq!(rejected["error"], "bulk_rejected");
        let statuses: Vec<&str> =
            rejected["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["changed", "not_found", "invalid"]);
        assert_eq!(app.state("a@contoso.com").await, "disabled", "{}: nothing applied", app.backend);
        assert_eq!(app.audit_count().await, before);

        let (status, done) = app.post("/mfa/bulk", json!({ "action": "enable", "users": users })).await;
        assert_eq!((status, done["applied"].clone()), (StatusCode::OK, json!(true)), "{done}");
        assert_eq!(app.audit_count().await, before + 3);
        let (_, again) =
            app.post("/mfa/bulk", json!({ "action": "enable", "users": ["a@contoso.com", "a@contoso.com"] })).await;
        let statuses: Vec<&str> =
            again["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["unchanged", "duplicate"]);

        let items = json!([{ "user": "a@contoso.com", "perUserMfaState": "enforced" }, { "user": "b@contoso.com", "perUserMfaState": "disabled" }]);
        let (status, set) = app.post("/mfa/bulk", json!({ "action": "setState", "items": items })).await;
        assert_eq!(status, StatusCode::OK, "{set}");
        assert_eq!(
            (app.state("a@contoso.com").await, app.state("b@contoso.com").await),
            ("enforced".into(), "disabled".into())
        );

        let (status, m) = app
            .post(
                "/mfa/bulk",
                json!({ "action": "manageUserSettings", "users": ["c@contoso.com"],
                        "options": { "requireReregistration": true, "revokeRememberedDevices": true } }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{m}");
        assert_eq!(m["results"][0]["before"]["methods"], 0);
        assert!(m["results"][0]["after"]["rememberedDevicesNotBefore"].is_string());

        for (body, code) in [
            (json!({ "action": "explode", "users": ["a@contoso.com"] }), "invalid_action"),
            (json!({ "action": "enable", "users": [] }), "invalid_request"),
            (json!({ "action": "manageUserSettings", "users": ["a@contoso.com"], "options": {} }), "invalid_request"),
            (
                json!({ "action": "setState", "items": [{ "user": "a@contoso.com", "perUserMfaState": "on" }] }),
                "invalid_state",
            ),
            (json!({ "action": "enable", "users": "a@contoso.com" }), "invalid_request"),
        ] {
            assert_error(app.backend, app.post("/mfa/bulk", body).await, StatusCode::BAD_REQUEST, code);
        }
    });
}

#[tokio::test]
async fn roles_limit_what_an_admin_may_do() {
    each_backend!(|app| {
        app.add_user("helpdesk@contoso.com", json!({ "password": PASSWORD, "roles": ["helpdeskAdministrator"] })).await;
        app.add_user("user@contoso.com", json!({})).await;
        let hd = app.login("contoso", "helpdesk@contoso.com", PASSWORD).await;
        let (status, _) = app.call_as(&hd, reqwest::Method::GET, "/users", None).await;
        assert_eq!(status, StatusCode::OK, "helpdesk may read the directory");
        let enforce = json!({ "action": "enforce", "users": ["user@contoso.com"] });
        let r = app.call_as(&hd, reqwest::Method::POST, "/mfa/bulk", Some(enforce)).await;
        assert_error(app.backend, r, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(app.state("user@contoso.com").await, "disabled");
        // Helpdesk may reset a plain user's methods, but not an administrator's.
        let reset = |u: &str| json!({ "action": "requireReregistration", "users": [u] });
        let (status, _) = app.call_as(&hd, reqwest::Method::POST, "/mfa/bulk", Some(reset("user@contoso.com"))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, r) = app.call_as(&hd, reqwest::Method::POST, "/mfa/bulk", Some(reset("admin@contoso.com"))).await;
        assert_eq!((status, r["results"][0]["status"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("forbidden")));
        let r =
            app.call_as(&hd, reqwest::Method::PATCH, "/settings/mfa", Some(json!({ "allowAppPasswords": true }))).await;
        assert_error(app.backend, r, StatusCode::FORBIDDEN, "forbidden");
        let r = app
            .call_as(&hd, reqwest::Method::POST, "/users", Some(json!({ "upn": "x@contoso.com", "displayName": "X" })))
            .await;
        assert_error(app.backend, r, StatusCode::FORBIDDEN, "forbidden");
    });
}

#[tokio::test]
async fn mfa_state_drives_the_token_endpoint() {
    each_backend!(|app| {
        app.add_user("dave@contoso.com", json!({ "password": PASSWORD })).await;
        app.login("contoso", "dave@contoso.com", PASSWORD).await;
        app.post("/mfa/bulk", json!({ "action": "enforce", "users": ["dave@contoso.com"] })).await;
        let r =
            app.token_request(json!({ "tenant": "contoso", "upn": "dave@contoso.com", "password": PASSWORD })).await;
        assert_error(app.backend, r, StatusCode::FORBIDDEN, "mfa_registration_required");
        let (_, log) = app.get("/signins?actor=dave@contoso.com").await;
        assert_eq!(log["items"][0]["mfaRequiredBy"], "perUserState", "{}: {log}", app.backend);
        assert_eq!(log["items"][1]["result"], "success");
    });
}

#[tokio::test]
async fn settings_are_validated_and_audited() {
    each_backend!(|app| {
        let (status, s) = app.get("/settings/mfa").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((s["allowAppPasswords"].clone(), s["rememberDeviceDays"].clone()), (json!(false), json!(14)));
        assert_eq!(s["allowRememberDevices"], false, "{}: remembering devices is off by default", app.backend);
        let patch = |b: Value| app.call(reqwest::Method::PATCH, "/settings/mfa", Some(b));
        for bad in [
            json!({ "rememberDeviceDays": 0 }),
            json!({ "trustedIpRanges": ["10.0.0.1/8"] }),
            json!({ "allowedMethods": ["pigeon"] }),
        ] {
            assert_error(app.backend, patch(bad).await, StatusCode::BAD_REQUEST, "invalid_setting");
        }
        assert_error(app.backend, patch(json!({ "colour": "blue" })).await, StatusCode::BAD_REQUEST, "invalid_request");
        let bad_type = patch(json!({ "allowRememberDevices": "yes" })).await;
        assert_error(app.backend, bad_type, StatusCode::BAD_REQUEST, "invalid_request");
        let (status, s) =
            patch(json!({ "allowAppPasswords": true, "trustedIpRanges": ["192.0.2.0/24", "2001:db8::/32"] })).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        assert_eq!(s["trustedIpRanges"], json!(["192.0.2.0/24", "2001:db8::/32"]));
        let (_, again) = app.get("/settings/mfa").await;
        assert_eq!(again, s);
        let (_, audit) = app.get("/audit?action=settings").await;
        assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{}: only the valid change is audited", app.backend);
        let (status, s) = patch(json!({ "allowRememberDevices": true, "rememberDeviceDays": 30 })).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        assert_eq!((s["allowRememberDevices"].clone(), s["rememberDeviceDays"].clone()), (json!(true), json!(30)));
        assert_eq!(s["allowAppPasswords"], true, "fields not given stay as they were");
        let (_, audit) = app.get("/audit?action=settings").await;
        assert_eq!(audit["items"][0]["after"]["allowRememberDevices"], true, "{}: {audit}", app.backend);
    });
}

/// Every route is in the OpenAPI document, and the documented properties of the main
/// response bodies are exactly the keys the server sends.
#[tokio::test]
async fn openapi_matches_responses() {
    let app = spawn_app(testing::sqlite().await).await;
    let doc: Value =
        app.http.get(format!("{}/api/v1/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/auth/token",
        "/api/v1/tenants/{tenant}/users",
        "/api/v1/tenants/{tenant}/users/import",
        "/api/v1/tenants/{tenant}/users/{user}",
        "/api/v1/tenants/{tenant}/users/{user}/authentication/requirements",
        "/api/v1/tenants/{tenant}/mfa/bulk",
        "/api/v1/tenants/{tenant}/audit",
        "/api/v1/tenants/{tenant}/signins",
        "/api/v1/tenants/{tenant}/settings/mfa",
        "/api/v1/tenants/{tenant}/users/{user}/sessions",
        "/api/v1/tenants/{tenant}/users/{user}/appPasswords",
        "/api/v1/tenants/{tenant}/users/{user}/rememberedDevices",
    ] {
        assert!(paths.contains_key(p), "{p} is documented");
    }
    let props = |schema: &str| -> Vec<String> {
        let mut v: Vec<String> = doc["components"]["schemas"][schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{schema}"))
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    };
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let user = app.add_user("eve@contoso.com", json!({})).await;
    assert_eq!(props("UserDto"), keys(&user));
    let (_, report) = app.post("/mfa/bulk", json!({ "action": "enable", "users": ["eve@contoso.com"] })).await;
    assert_eq!(props("BulkReport"), keys(&report));
    assert_eq!(props("BulkRow"), keys(&report["results"][0]));
    assert_eq!(props("BulkSummary"), keys(&report["summary"]));
    let (_, audit) = app.get("/audit").await;
    assert_eq!(props("AuditPage"), keys(&audit));
    assert_eq!(props("AuditRecord"), keys(&audit["items"][0]));
    let (_, signins) = app.get("/signins").await;
    assert_eq!(props("SignInRecord"), keys(&signins["items"][0]));
    let (_, settings) = app.get("/settings/mfa").await;
    assert_eq!(props("MfaSettings"), keys(&settings));
    let (_, rejected) = app.post("/mfa/bulk", json!({ "action": "enable", "users": ["ghost@contoso.com"] })).await;
    assert_eq!(props("BulkRejected"), keys(&rejected));
}
