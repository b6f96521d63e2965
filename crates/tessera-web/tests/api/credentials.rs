//! A user's app passwords and remembered devices (list, delete one), and account changes
//! (`PATCH /users/{user}`: disable, enable, new password), with the roles that may do them.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::app_password;
use tessera_core::credential_ports::{AppPasswordRecord, CredentialTx, RememberedDevice};
use tessera_core::ids::UserId;
use tessera_core::ports::{Store, StoreTx};
use tessera_core::service::RequestCtx;
use tessera_store::testing;
use time::{Duration, OffsetDateTime};

use super::{PASSWORD, StatusCode, TestApp, assert_error, spawn_app};

const DEVICE_IP: &str = "198.51.100.23";
const DEVICE_AGENT: &str = "Mozilla/5.0 (api-test)";

impl TestApp {
    fn user_id(user: &Value) -> UserId {
        UserId::parse(user["id"].as_str().unwrap()).unwrap()
    }

    /// Creates an app password for `user` the way the store keeps it (only the hash of the
    /// secret); returns its id and the secret.
    pub(super) async fn seed_app_password(&self, user: &Value, name: &str) -> (String, String) {
        let secret = app_password::generate().unwrap();
        let normalized = app_password::normalize(&secret).unwrap();
        let rec = AppPasswordRecord {
            id: tessera_core::ids::AppPasswordId::new(),
            user_id: Self::user_id(user),
            name: name.to_owned(),
            password_hash: app_password::hash(&normalized),
            created_at: OffsetDateTime::now_utc(),
        };
        let mut tx = self.db.store.begin().await.unwrap();
        tx.insert_app_password(&rec).await.unwrap();
        tx.commit().await.unwrap();
        (rec.id.to_string(), secret.to_string())
    }

    /// Remembers a device of `user` ("Don't ask again"), expiring in `days` (negative: already
    /// expired); returns its id.
    pub(super) async fn seed_device(&self, user: &Value, days: i64) -> String {
        let now = OffsetDateTime::now_utc();
        let device = RememberedDevice {
            id: tessera_core::ids::DeviceId::new(),
            user_id: Self::user_id(user),
            created_at: now - Duration::days(1),
            last_used_at: None,
            expires_at: now + Duration::days(days),
            source_ip: Some(DEVICE_IP.parse().unwrap()),
            user_agent: Some(DEVICE_AGENT.into()),
        };
        let mut tx = self.db.store.begin().await.unwrap();
        tx.insert_remembered_device(&device, &format!("test-token-hash-{}", device.id)).await.unwrap();
        tx.commit().await.unwrap();
        device.id.to_string()
    }

    async fn rows(&self, user: &Value) -> testing::UserRows {
        testing::user_rows(&self.db.store, Self::user_id(user)).await
    }

    fn items(&self, got: (StatusCode, Value)) -> Vec<Value> {
        assert_eq!(got.0, StatusCode::OK, "{}: {}", self.backend, got.1);
        got.1["items"].as_array().unwrap_or_else(|| panic!("{}: no items: {}", self.backend, got.1)).clone()
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// A legacy client's bind (as over LDAP) with this secret.
    async fn bind(&self, upn: &str, secret: &str) -> bool {
        self.svc.legacy_bind(Some("contoso"), upn, secret.to_owned(), &RequestCtx::default()).await.is_ok()
    }
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[tokio::test]
async fn app_passwords_are_listed_and_deleted_one_by_one() {
    each_backend!(|app| {
        let bob = app.add_user("bob@contoso.com", json!({})).await;
        let carol = app.add_user("carol@contoso.com", json!({})).await;
        assert_eq!(app.items(app.get("/users/bob@contoso.com/appPasswords").await), Vec::<Value>::new());
        let (mail, mail_secret) = app.seed_app_password(&bob, "Mail on my phone").await;
        let (printer, _) = app.seed_app_password(&bob, "Printer").await;
        let (carols, _) = app.seed_app_password(&carol, "Carol's mail").await;
        app.patch("/settings/mfa", json!({ "allowAppPasswords": true })).await;
        assert!(app.bind("bob@contoso.com", &mail_secret).await, "{}: the app password works", app.backend);

        let listed = app.items(app.get(&format!("/users/{}/appPasswords", bob["id"].as_str().unwrap())).await);
        assert_eq!(listed.len(), 2, "{}: {listed:?}", app.backend);
        assert_eq!(keys(&listed[0]), ["createdAt", "id", "lastUsedAt", "name"], "never a hash or secret");
        let names: Vec<&str> = listed.iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Mail on my phone", "Printer"]);
        assert_eq!(listed[0]["id"], mail);
        assert!(listed[0]["lastUsedAt"].is_string(), "{}: the bind marked it used: {}", app.backend, listed[0]);
        assert_eq!(listed[1]["lastUsedAt"], Value::Null);
        let text = serde_json::to_string(&listed).unwrap();
        assert!(!text.contains(&mail_secret.replace(' ', "")) && !text.contains(&mail_secret));

        let before = app.audit_count().await;
        let (status, body) = app.delete(&format!("/users/bob@contoso.com/appPasswords/{mail}")).await;
        assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null), "{}", app.backend);
        assert!(
            !app.bind("bob@contoso.com", &mail_secret).await,
            "{}: a deleted app password stops working",
            app.backend
        );
        let left = app.items(app.get("/users/bob@contoso.com/appPasswords").await);
        assert_eq!(left.iter().map(|a| a["id"].clone()).collect::<Vec<_>>(), [json!(printer)]);
        let (_, audit) = app.get("/audit?action=user.appPassword.delete").await;
        let records = audit["items"].as_array().unwrap();
        assert_eq!(records.len(), 1, "{}: {audit}", app.backend);
        assert_eq!(records[0]["targetUpn"], "bob@contoso.com");
        assert_eq!(records[0]["before"], json!({ "id": mail, "name": "Mail on my phone" }));
        assert_eq!(app.audit_count().await, before + 1);

        // Gone already, not an id, another user's, an unknown user: 404, nothing changed.
        for path in [
            format!("/users/bob@contoso.com/appPasswords/{mail}"),
            "/users/bob@contoso.com/appPasswords/not-an-id".to_owned(),
            format!("/users/bob@contoso.com/appPasswords/{carols}"),
            format!("/users/ghost@contoso.com/appPasswords/{printer}"),
        ] {
            assert_error(app.backend, app.delete(&path).await, StatusCode::NOT_FOUND, "not_found");
        }
        assert_error(
            app.backend,
            app.get("/users/ghost@contoso.com/appPasswords").await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_eq!((app.rows(&bob).await.app_passwords, app.rows(&carol).await.app_passwords), (1, 1));
        assert_eq!(app.audit_count().await, before + 1);
    });
}

#[tokio::test]
async fn remembered_devices_are_listed_and_forgotten_one_by_one() {
    each_backend!(|app| {
        let bob = app.add_user("bob@contoso.com", json!({})).await;
        let carol = app.add_user("carol@contoso.com", json!({})).await;
        assert_eq!(app.items(app.get("/users/bob@contoso.com/rememberedDevices").await), Vec::<Value>::new());
        let laptop = app.seed_device(&bob, 14).await;
        let phone = app.seed_device(&bob, 7).await;
        app.seed_device(&bob, -1).await;
        let carols = app.seed_device(&carol, 14).await;

        let listed = app.items(app.get("/users/bob@contoso.com/rememberedDevices").await);
        assert_eq!(listed.len(), 2, "{}: an expired device is not listed: {listed:?}", app.backend);
        assert_eq!(keys(&listed[0]), ["createdAt", "expiresAt", "id", "lastUsedAt", "sourceIp", "userAgent"]);
        assert_eq!((&listed[0]["id"], &listed[1]["id"]), (&json!(laptop), &json!(phone)));
        assert_eq!((&listed[0]["sourceIp"], &listed[0]["userAgent"]), (&json!(DEVICE_IP), &json!(DEVICE_AGENT)));
        assert_eq!(listed[0]["lastUsedAt"], Value::Null);

        let (status, _) =
            app.delete(&format!("/users/{}/rememberedDevices/{laptop}", bob["id"].as_str().unwrap())).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{}", app.backend);
        let left = app.items(app.get("/users/bob@contoso.com/rememberedDevices").await);
        assert_eq!(left.iter().map(|d| d["id"].clone()).collect::<Vec<_>>(), [json!(phone)]);
        let (_, audit) = app.get("/audit?action=user.rememberedDevice.delete").await;
        let records = audit["items"].as_array().unwrap();
        assert_eq!(records.len(), 1, "{}: {audit}", app.backend);
        assert_eq!(
            (&records[0]["targetUpn"], &records[0]["before"]),
            (&json!("bob@contoso.com"), &json!({ "id": laptop }))
        );

        let before = app.audit_count().await;
        for path in [
            format!("/users/bob@contoso.com/rememberedDevices/{laptop}"),
            "/users/bob@contoso.com/rememberedDevices/x".to_owned(),
            format!("/users/bob@contoso.com/rememberedDevices/{carols}"),
            format!("/users/ghost@contoso.com/rememberedDevices/{phone}"),
        ] {
            assert_error(app.backend, app.delete(&path).await, StatusCode::NOT_FOUND, "not_found");
        }
        let ghost = app.get("/users/ghost@contoso.com/rememberedDevices").await;
        assert_error(app.backend, ghost, StatusCode::NOT_FOUND, "not_found");
        assert_eq!((app.rows(&bob).await.remembered_devices, app.rows(&carol).await.remembered_devices), (2, 1));
        assert_eq!(app.audit_count().await, before);
    });
}

#[tokio::test]
async fn helpdesk_and_other_tenants_are_refused() {
    each_backend!(|app| {
        app.add_user("helpdesk@contoso.com", json!({ "password": PASSWORD, "roles": ["helpdeskAdministrator"] })).await;
        let admin = app.get("/users/admin@contoso.com").await.1;
        let user = app.add_user("user@contoso.com", json!({ "password": PASSWORD })).await;
        let (admins_pw, _) = app.seed_app_password(&admin, "Admin's mail").await;
        let (users_pw, _) = app.seed_app_password(&user, "User's mail").await;
        let users_device = app.seed_device(&user, 14).await;
        let hd = app.login("contoso", "helpdesk@contoso.com", PASSWORD).await;
        let before = app.audit_count().await;

        // Helpdesk reads the directory (app password names) but not sign-in data (devices),
        // manages a plain user's methods but not an administrator's, and changes no account.
        let (status, _) = app.call_as(&hd, Method::GET, "/users/admin@contoso.com/appPasswords", None).await;
        assert_eq!(status, StatusCode::OK, "{}", app.backend);
        for (method, path, body) in [
            (Method::DELETE, format!("/users/admin@contoso.com/appPasswords/{admins_pw}"), None),
            (Method::GET, "/users/user@contoso.com/rememberedDevices".to_owned(), None),
            (Method::PATCH, "/users/user@contoso.com".to_owned(), Some(json!({ "accountEnabled": false }))),
            (Method::PATCH, "/users/user@contoso.com".to_owned(), Some(json!({ "password": "a new password 1" }))),
        ] {
            let got = app.call_as(&hd, method, &path, body).await;
            assert_error(app.backend, got, StatusCode::FORBIDDEN, "forbidden");
        }
        assert_eq!(app.rows(&admin).await.app_passwords, 1);
        assert_eq!(app.get("/users/user@contoso.com").await.1["accountEnabled"], true);
        assert_eq!(app.audit_count().await, before);
        let path = format!("/users/user@contoso.com/appPasswords/{users_pw}");
        let (status, _) = app.call_as(&hd, Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{}: helpdesk may delete a plain user's app password", app.backend);
        let path = format!("/users/user@contoso.com/rememberedDevices/{users_device}");
        let (status, _) = app.call_as(&hd, Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{}: and forget a plain user's device", app.backend);

        // Another tenant's administrator reaches nothing here.
        let (users_pw, _) = app.seed_app_password(&user, "Again").await;
        let users_device = app.seed_device(&user, 14).await;
        let other = app.login("fabrikam", "admin@fabrikam.com", PASSWORD).await;
        let before = app.audit_count().await;
        for (method, path, body) in [
            (Method::GET, "/users/user@contoso.com/appPasswords".to_owned(), None),
            (Method::DELETE, format!("/users/user@contoso.com/appPasswords/{users_pw}"), None),
            (Method::GET, "/users/user@contoso.com/rememberedDevices".to_owned(), None),
            (Method::DELETE, format!("/users/user@contoso.com/rememberedDevices/{users_device}"), None),
            (Method::PATCH, "/users/user@contoso.com".to_owned(), Some(json!({ "accountEnabled": false }))),
        ] {
            let got = app.call_as(&other, method, &path, body).await;
            assert_error(app.backend, got, StatusCode::FORBIDDEN, "forbidden");
        }
        // ...nor by naming the user in its own tenant.
        let r = app
            .http
            .get(format!("{}/api/v1/tenants/fabrikam/users/user@contoso.com/appPasswords", app.base))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let rows = app.rows(&user).await;
        assert_eq!((rows.app_passwords, rows.remembered_devices), (1, 1), "{}", app.backend);
        assert_eq!(app.audit_count().await, before);
    });
}

#[tokio::test]
async fn patch_user_disables_and_enables_the_account_like_graph() {
    each_backend!(|app| {
        let dave = app.add_user("dave@contoso.com", json!({ "password": PASSWORD })).await;
        let daves_token = app.login("contoso", "dave@contoso.com", PASSWORD).await;
        app.seed_device(&dave, 14).await;
        let (_, secret) = app.seed_app_password(&dave, "Mail").await;

        let (status, user) = app.patch("/users/dave@contoso.com", json!({ "accountEnabled": false })).await;
        assert_eq!(status, StatusCode::OK, "{}: {user}", app.backend);
        assert_eq!(keys(&user), keys(&dave), "the user JSON");
        assert_eq!((&user["id"], &user["accountEnabled"]), (&dave["id"], &json!(false)));
        assert_eq!(app.get("/users/dave@contoso.com").await.1["accountEnabled"], false);

        // Disabled: the API token ended, no new one, no device left; app passwords stay.
        let r = app.call_as(&daves_token, Method::GET, "/users", None).await;
        assert_error(app.backend, r, StatusCode::UNAUTHORIZED, "unauthorized");
        let r =
            app.token_request(json!({ "tenant": "contoso", "upn": "dave@contoso.com", "password": PASSWORD })).await;
        assert_error(app.backend, r, StatusCode::FORBIDDEN, "account_disabled");
        assert_eq!(app.items(app.get("/users/dave@contoso.com/rememberedDevices").await), Vec::<Value>::new());
        let rows = app.rows(&dave).await;
        assert_eq!((rows.api_tokens, rows.remembered_devices, rows.app_passwords), (0, 0, 1), "{}", app.backend);
        app.patch("/settings/mfa", json!({ "allowAppPasswords": true })).await;
        assert!(!app.bind("dave@contoso.com", &secret).await, "{}: a disabled account binds with nothing", app.backend);

        let (_, audit) = app.get("/audit?action=user.account.update").await;
        let records = audit["items"].as_array().unwrap();
        assert_eq!(records.len(), 1, "{}: {audit}", app.backend);
        assert_eq!(
            (&records[0]["targetUpn"], &records[0]["actorUpn"]),
            (&json!("dave@contoso.com"), &json!("admin@contoso.com"))
        );
        assert_eq!(records[0]["before"], json!({ "accountEnabled": true }));
        assert_eq!(
            records[0]["after"],
            json!({ "accountEnabled": false, "rememberedDevicesDeleted": 1, "sessionsRevoked": 1 })
        );

        // Enabled again with a new password, by id: the old password no longer works.
        let new_password = "a brand new password 42";
        let path = format!("/users/{}", dave["id"].as_str().unwrap());
        let (status, user) = app.patch(&path, json!({ "accountEnabled": true, "password": new_password })).await;
        assert_eq!((status, &user["accountEnabled"]), (StatusCode::OK, &json!(true)), "{}: {user}", app.backend);
        app.login("contoso", "dave@contoso.com", new_password).await;
        let r =
            app.token_request(json!({ "tenant": "contoso", "upn": "dave@contoso.com", "password": PASSWORD })).await;
        assert_error(app.backend, r, StatusCode::UNAUTHORIZED, "invalid_credentials");
        let (_, audit) = app.get("/audit?action=user.account.update").await;
        let after = &audit["items"][0]["after"];
        assert_eq!(after["password"], "changed", "{}: {audit}", app.backend);
        assert!(!audit.to_string().contains(new_password), "the password is never audited");
    });
}

#[tokio::test]
async fn patch_user_refuses_bad_input_and_changes_nothing() {
    each_backend!(|app| {
        let erin = app.add_user("erin@contoso.com", json!({ "password": PASSWORD })).await;
        app.seed_device(&erin, 14).await;
        let before = app.audit_count().await;
        for body in [
            json!({}),
            json!({ "accountEnabled": null }),
            json!({ "accountEnabled": "no" }),
            json!({ "accountEnabled": false, "displayName": "Erin" }),
            json!({ "password": "short" }),
            json!({ "password": "x".repeat(300) }),
            json!({ "accountEnabled": false, "password": "" }),
            json!([]),
        ] {
            let got = app.patch("/users/erin@contoso.com", body.clone()).await;
            assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}: {body} -> {}", app.backend, got.1);
            assert_error(app.backend, got, StatusCode::BAD_REQUEST, "invalid_request");
        }
        let no_body = app.http.patch(app.url("/users/erin@contoso.com")).bearer_auth(&app.token).send().await.unwrap();
        assert_eq!(no_body.status(), StatusCode::BAD_REQUEST);
        assert_eq!(no_body.json::<Value>().await.unwrap()["error"], "invalid_request");
        let myself = app.patch("/users/admin@contoso.com", json!({ "accountEnabled": false })).await;
        assert_error(app.backend, myself, StatusCode::BAD_REQUEST, "invalid_request");
        let ghost = app.patch("/users/ghost@contoso.com", json!({ "accountEnabled": false })).await;
        assert_error(app.backend, ghost, StatusCode::NOT_FOUND, "not_found");

        assert_eq!(app.audit_count().await, before, "{}: nothing audited", app.backend);
        assert_eq!(app.get("/users/erin@contoso.com").await.1["accountEnabled"], true);
        assert_eq!(app.rows(&erin).await.remembered_devices, 1);
        app.login("contoso", "erin@contoso.com", PASSWORD).await;
        app.login("contoso", "admin@contoso.com", PASSWORD).await;
    });
}

/// The new documented bodies are the real ones.
#[tokio::test]
async fn credential_schemas_match_responses() {
    let app = spawn_app(testing::sqlite().await).await;
    let doc: Value =
        app.http.get(format!("{}/api/v1/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    for p in [
        "/api/v1/tenants/{tenant}/users/{user}/appPasswords",
        "/api/v1/tenants/{tenant}/users/{user}/appPasswords/{id}",
        "/api/v1/tenants/{tenant}/users/{user}/rememberedDevices",
        "/api/v1/tenants/{tenant}/users/{user}/rememberedDevices/{id}",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} is documented");
    }
    assert!(doc["paths"]["/api/v1/tenants/{tenant}/users/{user}"]["patch"].is_object(), "PATCH /users/{{user}}");
    let schema = |name: &str| -> Vec<String> {
        let mut v: Vec<String> = doc["components"]["schemas"][name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}"))
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    };
    let patch = schema("PatchUser");
    assert_eq!(patch, ["accountEnabled", "password"]);
    let frank = app.add_user("frank@contoso.com", json!({})).await;
    app.seed_app_password(&frank, "Mail").await;
    app.seed_device(&frank, 14).await;
    let (_, list) = app.get("/users/frank@contoso.com/appPasswords").await;
    assert_eq!(schema("AppPasswordList"), keys(&list));
    assert_eq!(schema("AppPassword"), keys(&list["items"][0]));
    let (_, list) = app.get("/users/frank@contoso.com/rememberedDevices").await;
    assert_eq!(schema("RememberedDeviceList"), keys(&list));
    assert_eq!(schema("RememberedDevice"), keys(&list["items"][0]));
    let (_, user) = app.patch("/users/frank@contoso.com", json!({ "accountEnabled": false })).await;
    assert_eq!(schema("UserDto"), keys(&user));
}
