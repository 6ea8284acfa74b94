//! Authentication end to end: the real server on port 0 over each store (memory and SQLite
//! always, PostgreSQL when `SHIFTDESK_TEST_DATABASE_URL` names a server), its first admin,
//! logins, tokens, the staff accounts and customer sign-in.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shiftdesk_core::audit::{AuditAction, AuditQuery};
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_http::auth::bootstrap::first_admin;
use shiftdesk_http::auth::customer::CustomerSecret;
use shiftdesk_http::auth::limit::Limit;
use shiftdesk_http::config::DatabaseUrl;
use shiftdesk_http::database::{OpenedStore, open_store};
use shiftdesk_http::keys::{SigningKey, signing_key};
use shiftdesk_http::{App, RunningServer, Settings, spawn};
use tempfile::TempDir;

/// A server over one store, with its first admin's password and its signing key.
struct TestServer {
    /// Which store it runs on, for failure messages.
    store: &'static str,
    server: RunningServer,
    app: App,
    client: reqwest::Client,
    key: SigningKey,
    admin_password: String,
    folder: TempDir,
    _database: Option<TempDir>,
}

/// Settings for tests: token states read on every request, so a change is seen on the very
/// next one.
fn test_settings() -> Settings {
    let mut settings = Settings::new("127.0.0.1:0".parse().expect("address"));
    settings.auth.token_state_ttl = Duration::ZERO;
    settings
}

impl TestServer {
    async fn start(
        store: &'static str,
        opened: OpenedStore,
        database: Option<TempDir>,
        settings: Settings,
    ) -> TestServer {
        let (key, _) = signing_key(None, &DatabaseUrl::Memory).expect("key");
        let app = App::new(opened, key.clone());
        let folder = tempfile::tempdir().expect("temp dir");
        let password_file = folder.path().join("admin-password");
        let created = first_admin(app.service(), &password_file)
            .await
            .expect("first admin");
        assert_eq!(created.as_ref().map(|login| login.as_str()), Some("admin"));
        let admin_password = std::fs::read_to_string(&password_file)
            .expect("password file")
            .trim()
            .to_owned();
        let server = spawn(app.clone(), settings).await.expect("server starts");
        TestServer {
            store,
            server,
            app,
            client: reqwest::Client::new(),
            key,
            admin_password,
            folder,
            _database: database,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.local_addr())
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("answer")
    }

    async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.send(Method::GET, path, Some(token), None).await
    }

    async fn login(&self, login: &str, password: &str) -> reqwest::Response {
        let body = json!({ "login": login, "password": password });
        self.send(Method::POST, "/api/v1/auth/login", None, Some(body))
            .await
    }

    async fn token(&self, login: &str, password: &str) -> String {
        let response = self.login(login, password).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", self.store);
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    async fn admin_token(&self) -> String {
        self.token("admin", &self.admin_password).await
    }

    /// Creates a staff member as the admin; returns their id.
    async fn create(&self, admin: &str, login: &str, role: &str, password: &str) -> i64 {
        let body = json!({
            "login": login, "display_name": login, "role": role, "password": password,
        });
        let response = self
            .send(Method::POST, "/api/v1/users", Some(admin), Some(body))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{}", self.store);
        let created: Value = response.json().await.expect("json");
        created["id"].as_i64().expect("id")
    }
}

/// One server per store, each with `settings`.
async fn servers_with(settings: impl Fn() -> Settings) -> Vec<TestServer> {
    let mut servers = Vec::new();
    let memory = open_store(&DatabaseUrl::Memory).await.expect("memory");
    servers.push(TestServer::start("memory", memory, None, settings()).await);

    let folder = tempfile::tempdir().expect("temp dir");
    let file = DatabaseUrl::Sqlite(folder.path().join("team.db"));
    let sqlite = open_store(&file).await.expect("sqlite");
    servers.push(TestServer::start("sqlite", sqlite, Some(folder), settings()).await);

    if let Some(store) = shiftdesk_store_postgres::testing::fresh_store().await {
        let opened = OpenedStore { store, pool: None };
        servers.push(TestServer::start("postgres", opened, None, settings()).await);
    }
    servers
}

async fn servers() -> Vec<TestServer> {
    servers_with(test_settings).await
}

/// The problem body, checked to be one, without its request id.
async fn problem(response: reqwest::Response) -> Value {
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert_eq!(content_type, "application/problem+json");
    let mut body: Value = response.json().await.expect("json body");
    body.as_object_mut().expect("object").remove("request_id");
    body
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

fn sign(claims: &Value, key: &[u8]) -> String {
    sign_with(jsonwebtoken::Algorithm::HS256, claims, key)
}

fn sign_with(algorithm: jsonwebtoken::Algorithm, claims: &Value, key: &[u8]) -> String {
    let header = jsonwebtoken::Header::new(algorithm);
    let key = jsonwebtoken::EncodingKey::from_secret(key).expect("key");
    jsonwebtoken::encode(&header, claims, &key).expect("token")
}

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64")).expect("json")
}

fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("json"));
    format!("{}.{encoded}.{}", parts[0], parts[2])
}

#[tokio::test]
async fn the_first_admin_logs_in_with_the_password_from_the_file() {
    for server in servers().await {
        let response = server.login("admin", &server.admin_password).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", server.store);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["agent"]["login"], "admin");
        assert_eq!(body["agent"]["role"], "admin");
        assert!(
            body["expires_at"]
                .as_str()
                .is_some_and(|at| at.ends_with('Z'))
        );

        let token = body["token"].as_str().expect("token");
        let claims = payload(token);
        assert_eq!(claims["kind"], "staff");
        assert_eq!(claims["role"], "admin");
        let lifetime = claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat");
        assert_eq!(lifetime, 8 * 3600, "the default lifetime");

        let me = server.get("/api/v1/me", token).await;
        assert_eq!(me.status(), StatusCode::OK);
        let me: Value = me.json().await.expect("json");
        assert_eq!(me["login"], "admin");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_first_admin_file_is_private_and_a_second_start_creates_nothing() {
    use std::os::unix::fs::PermissionsExt;
    for server in servers().await {
        let file = server.folder.path().join("admin-password");
        let mode = std::fs::metadata(&file).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", server.store);

        let again: PathBuf = server.folder.path().join("again");
        let created = first_admin(server.app.service(), &again)
            .await
            .expect("runs");
        assert_eq!(created, None, "{}", server.store);
        assert!(!again.exists());
        let leftovers = std::fs::read_dir(server.folder.path())
            .expect("list")
            .count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}

#[tokio::test]
async fn an_unknown_login_and_a_wrong_password_get_the_same_answer() {
    for server in servers().await {
        let unknown = server.login("nobody", "whatever it is").await;
        assert_eq!(
            unknown.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            server.store
        );
        let unknown = problem(unknown).await;
        let wrong = server.login("admin", "not the password").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let wrong = problem(wrong).await;

        assert_eq!(unknown, wrong);
        assert_eq!(wrong["code"], "login_refused");
    }
}

#[tokio::test]
async fn logins_land_in_the_audit_log_with_their_request_id() {
    for server in servers().await {
        let body = json!({ "login": "admin", "password": "not the password" });
        let refused = server
            .client
            .post(server.url("/api/v1/auth/login"))
            .header("x-request-id", "failed-login-1")
            .json(&body)
            .send()
            .await
            .expect("answer");
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let body = json!({ "login": "admin", "password": server.admin_password });
        let accepted = server
            .client
            .post(server.url("/api/v1/auth/login"))
            .header("x-request-id", "login-2")
            .json(&body)
            .send()
            .await
            .expect("answer");
        assert_eq!(accepted.status(), StatusCode::OK);
        let admin: Value = accepted.json().await.expect("json");
        let admin = admin["token"].as_str().expect("token");
        let new = json!({
            "login": "mei", "display_name": "Mei", "role": "agent", "password": "mei's long password",
        });
        let created = server
            .client
            .post(server.url("/api/v1/users"))
            .bearer_auth(admin)
            .header("x-request-id", "create-3")
            .json(&new)
            .send()
            .await
            .expect("answer");
        assert_eq!(created.status(), StatusCode::CREATED);

        let query = AuditQuery {
            subject: None,
            actor: None,
            before: None,
            limit: 10,
        };
        let log = server
            .app
            .service()
            .audit_log(&Context::new(Actor::System), query)
            .await
            .expect("audit log");
        let request_of = |action: AuditAction| {
            log.iter()
                .find(|record| record.change.action == action)
                .and_then(|record| record.change.request_id.clone())
                .map(|id| id.as_str().to_owned())
        };
        assert_eq!(
            request_of(AuditAction::LoginFailed).as_deref(),
            Some("failed-login-1"),
            "{}",
            server.store
        );
        assert_eq!(
            request_of(AuditAction::LoginSucceeded).as_deref(),
            Some("login-2")
        );
        let created = log
            .iter()
            .find(|record| record.change.action == AuditAction::AgentCreated)
            .expect("a creation record");
        assert_eq!(
            created.change.request_id.as_ref().map(|id| id.as_str()),
            Some("create-3")
        );
        assert!(
            matches!(created.change.actor, Actor::Staff { .. }),
            "{created:?}"
        );
    }
}

#[tokio::test]
async fn tokens_that_are_missing_malformed_forged_or_expired_are_401() {
    for server in servers().await {
        let admin = server.admin_token().await;
        server
            .create(&admin, "mei", "agent", "mei's long password")
            .await;
        let agent = server.token("mei", "mei's long password").await;
        assert_eq!(
            server.get("/api/v1/me", &agent).await.status(),
            StatusCode::OK
        );

        let claims = payload(&agent);
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("json"));
        let unsigned = format!("{header}.{body}.");
        let mut expired = claims.clone();
        expired["iat"] = json!(now() - 7200);
        expired["exp"] = json!(now() - 3600);
        let mut promoted = claims.clone();
        promoted["role"] = json!("admin");

        let cases = [
            ("malformed", "not-a-token".to_owned()),
            ("alg none", unsigned),
            ("wrong key", sign(&claims, &[9; 32])),
            (
                "another algorithm",
                sign_with(jsonwebtoken::Algorithm::HS384, &claims, server.key.bytes()),
            ),
            ("expired", sign(&expired, server.key.bytes())),
            ("tampered role", with_payload(&agent, &promoted)),
        ];
        let mut bodies = Vec::new();
        let none = server.send(Method::GET, "/api/v1/me", None, None).await;
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED, "no token");
        assert_eq!(none.headers()["www-authenticate"], "Bearer");
        bodies.push(problem(none).await);
        for (case, token) in cases {
            let response = server.get("/api/v1/me", &token).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
            bodies.push(problem(response).await);
        }
        assert!(
            bodies.windows(2).all(|pair| pair[0] == pair[1]),
            "{bodies:?}"
        );
        assert_eq!(bodies[0]["code"], "unauthorized");

        // Signed with the right key, an admin role the account does not have is refused too.
        let forged = sign(&promoted, server.key.bytes());
        let response = server.get("/api/v1/users", &forged).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            server.store
        );
    }
}

#[tokio::test]
async fn a_token_is_refused_on_the_next_request_after_its_account_changes() {
    for server in servers().await {
        let admin = server.admin_token().await;
        let store = server.store;
        let password = "a long password here";
        for (login, change) in [
            ("deactivated", "deactivate"),
            ("promoted", "role"),
            ("logged-out", "logout"),
            ("new-password", "password"),
            ("reset", "reset"),
        ] {
            let id = server.create(&admin, login, "agent", password).await;
            let token = server.token(login, password).await;
            assert_eq!(
                server.get("/api/v1/me", &token).await.status(),
                StatusCode::OK
            );

            let path = format!("/api/v1/users/{id}");
            let (method, path, by, body) = match change {
                "deactivate" => (Method::PATCH, path, &admin, json!({ "active": false })),
                "role" => (Method::PATCH, path, &admin, json!({ "role": "admin" })),
                "logout" => (
                    Method::POST,
                    "/api/v1/auth/logout".to_owned(),
                    &token,
                    json!({}),
                ),
                "password" => (
                    Method::PUT,
                    "/api/v1/me/password".to_owned(),
                    &token,
                    json!({ "current_password": password, "new_password": "another long one" }),
                ),
                _ => (
                    Method::PUT,
                    format!("{path}/password"),
                    &admin,
                    json!({ "password": "set by the admin" }),
                ),
            };
            let changed = server.send(method, &path, Some(by), Some(body)).await;
            assert!(
                changed.status().is_success(),
                "{store} {change}: {}",
                changed.status()
            );

            let after = server.get("/api/v1/me", &token).await;
            assert_eq!(after.status(), StatusCode::UNAUTHORIZED, "{store} {change}");
        }
    }
}

fn limited(account: u32, address: u32) -> Settings {
    let limit = |burst| Limit {
        burst: NonZeroU32::new(burst).expect("non-zero"),
        period: Duration::from_secs(3600),
    };
    let mut settings = test_settings();
    settings.auth.login_limits.per_account = limit(account);
    settings.auth.login_limits.per_address = limit(address);
    settings
}

#[tokio::test]
async fn login_attempts_over_the_limit_are_429_with_retry_after() {
    for server in servers_with(|| limited(2, 4)).await {
        for _ in 0..2 {
            let response = server.login("ana", "guess guess guess").await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{}",
                server.store
            );
        }
        // A third attempt at the account, even with the right password, is refused.
        let response = server.login("ana", "guess guess guess").await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = response.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!(retry > 60, "{retry}");
        assert_eq!(problem(response).await["code"], "too_many_attempts");

        // The address has spent three of its four; the fifth attempt from it is refused
        // whatever the account.
        let fourth = server.login("raj", "guess guess guess").await;
        assert_eq!(fourth.status(), StatusCode::UNAUTHORIZED);
        let fifth = server.login("admin", &server.admin_password).await;
        assert_eq!(
            fifth.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            server.store
        );
    }
}

#[tokio::test]
async fn staff_change_their_own_password_only_with_the_current_one() {
    for server in servers().await {
        let admin = server.admin_token().await;
        server
            .create(&admin, "mei", "agent", "the first password")
            .await;
        let token = server.token("mei", "the first password").await;
        let change =
            |current: &str, new: &str| json!({ "current_password": current, "new_password": new });

        let short = server
            .send(
                Method::PUT,
                "/api/v1/me/password",
                Some(&token),
                Some(change("the first password", "short")),
            )
            .await;
        assert_eq!(
            short.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            server.store
        );
        let short = problem(short).await;
        assert_eq!(
            (short["code"].as_str(), short["field"].as_str()),
            (Some("too_short"), Some("new_password"))
        );

        let long = "x".repeat(1025);
        let long = server
            .send(
                Method::PUT,
                "/api/v1/me/password",
                Some(&token),
                Some(change("the first password", &long)),
            )
            .await;
        assert_eq!(problem(long).await["code"], "too_long");

        let wrong = server
            .send(
                Method::PUT,
                "/api/v1/me/password",
                Some(&token),
                Some(change("not the password", "the second password")),
            )
            .await;
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem(wrong).await["field"], "current_password");
        assert_eq!(
            server.get("/api/v1/me", &token).await.status(),
            StatusCode::OK
        );

        let changed = server
            .send(
                Method::PUT,
                "/api/v1/me/password",
                Some(&token),
                Some(change("the first password", "the second password")),
            )
            .await;
        assert_eq!(changed.status(), StatusCode::OK);
        let changed: Value = changed.json().await.expect("json");
        let new_token = changed["token"].as_str().expect("token");
        assert_eq!(
            server.get("/api/v1/me", new_token).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            server.login("mei", "the first password").await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            server.login("mei", "the second password").await.status(),
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn admins_manage_staff_and_agents_only_read_the_list() {
    for server in servers().await {
        let store = server.store;
        let admin = server.admin_token().await;
        let mei = server
            .create(&admin, "mei", "agent", "mei's long password")
            .await;
        let raj = server
            .create(&admin, "raj", "agent", "raj's long password")
            .await;
        let agent = server.token("mei", "mei's long password").await;

        let list = server.get("/api/v1/users", &agent).await;
        assert_eq!(list.status(), StatusCode::OK, "{store}");
        let list: Value = list.json().await.expect("json");
        let logins: Vec<&str> = list
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|agent| agent["login"].as_str())
            .collect();
        assert_eq!(logins, ["admin", "mei", "raj"]);
        let one = server.get(&format!("/api/v1/users/{raj}"), &agent).await;
        assert_eq!(one.status(), StatusCode::OK);

        let new = json!({
            "login": "eve", "display_name": "Eve", "role": "admin", "password": "eve's long password",
        });
        let created = server
            .send(
                Method::POST,
                "/api/v1/users",
                Some(&agent),
                Some(new.clone()),
            )
            .await;
        assert_eq!(created.status(), StatusCode::FORBIDDEN, "{store}");
        let promote = server
            .send(
                Method::PATCH,
                &format!("/api/v1/users/{raj}"),
                Some(&agent),
                Some(json!({ "role": "admin" })),
            )
            .await;
        assert_eq!(promote.status(), StatusCode::FORBIDDEN);
        let own_role = server
            .send(
                Method::PATCH,
                &format!("/api/v1/users/{mei}"),
                Some(&agent),
                Some(json!({ "role": "admin" })),
            )
            .await;
        assert_eq!(own_role.status(), StatusCode::FORBIDDEN);
        let reset = server
            .send(
                Method::PUT,
                &format!("/api/v1/users/{raj}/password"),
                Some(&agent),
                Some(json!({ "password": "taken over now" })),
            )
            .await;
        assert_eq!(reset.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            server.login("raj", "raj's long password").await.status(),
            StatusCode::OK
        );

        for missing in [
            "/api/v1/users/9999",
            "/api/v1/users/zero",
            "/api/v1/users/-1",
        ] {
            let response = server.get(missing, &admin).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
        }
        let taken = json!({
            "login": "mei", "display_name": "Mei", "role": "agent", "password": "another long one",
        });
        let taken = server
            .send(Method::POST, "/api/v1/users", Some(&admin), Some(taken))
            .await;
        assert_eq!(taken.status(), StatusCode::CONFLICT);
        assert_eq!(problem(taken).await["code"], "login_taken");
        let bad = json!({
            "login": "eve", "display_name": "", "role": "agent", "password": "eve's long password",
        });
        let bad = server
            .send(Method::POST, "/api/v1/users", Some(&admin), Some(bad))
            .await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem(bad).await["field"], "display_name");

        let updated = server
            .send(
                Method::PATCH,
                &format!("/api/v1/users/{raj}"),
                Some(&admin),
                Some(json!({ "display_name": "Raj K", "skills": ["billing"], "capacity": 3 })),
            )
            .await;
        assert_eq!(updated.status(), StatusCode::OK);
        let updated: Value = updated.json().await.expect("json");
        assert_eq!(
            (
                updated["display_name"].as_str(),
                updated["capacity"].as_u64()
            ),
            (Some("Raj K"), Some(3))
        );
        assert_eq!(updated["skills"], json!(["billing"]));
        let defaulted = server
            .send(
                Method::PATCH,
                &format!("/api/v1/users/{raj}"),
                Some(&admin),
                Some(json!({ "capacity": null })),
            )
            .await;
        let defaulted: Value = defaulted.json().await.expect("json");
        assert_eq!(defaulted["capacity"], Value::Null);
        assert_eq!(defaulted["display_name"], "Raj K");
    }
}

fn with_customers(secret: Option<CustomerSecret>, anonymous: bool) -> impl Fn() -> Settings {
    move || {
        let mut settings = test_settings();
        settings.auth.customer_secret = secret.clone();
        settings.auth.anonymous_customers = anonymous;
        settings
    }
}

async fn customer_sign_in(server: &TestServer, body: Value) -> reqwest::Response {
    server
        .send(Method::POST, "/api/v1/auth/customer", None, Some(body))
        .await
}

#[tokio::test]
async fn a_platform_signature_is_exchanged_for_a_customer_token() {
    let secret = CustomerSecret::new(&[42; 32]).expect("secret");
    for server in servers_with(with_customers(Some(secret.clone()), false)).await {
        let store = server.store;
        let signed = json!({
            "external_id": "cust-42", "display_name": "Lena", "signature": secret.sign("cust-42"),
        });
        let response = customer_sign_in(&server, signed.clone()).await;
        assert_eq!(response.status(), StatusCode::OK, "{store}");
        let first: Value = response.json().await.expect("json");
        assert_eq!(first["anonymous"], false);
        assert_eq!(first["display_name"], "Lena");
        let token = first["token"].as_str().expect("token");
        assert_eq!(payload(token)["kind"], "customer");

        let again: Value = customer_sign_in(&server, signed)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            again["customer_id"], first["customer_id"],
            "the same customer"
        );

        // A customer token reaches no staff data.
        assert_eq!(
            server.get("/api/v1/users", token).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            server.get("/api/v1/me", token).await.status(),
            StatusCode::FORBIDDEN
        );

        let forged = json!({ "external_id": "cust-43", "signature": secret.sign("cust-42") });
        let forged = customer_sign_in(&server, forged).await;
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(problem(forged).await["code"], "signature_refused");

        let unsigned = customer_sign_in(&server, json!({})).await;
        assert_eq!(
            unsigned.status(),
            StatusCode::UNAUTHORIZED,
            "anonymous chats are off"
        );
        let half = customer_sign_in(&server, json!({ "external_id": "cust-42" })).await;
        assert_eq!(half.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem(half).await["field"], "signature");
    }
}

#[tokio::test]
async fn anonymous_customers_get_a_fresh_identity_when_allowed() {
    for server in servers_with(with_customers(None, true)).await {
        let first = customer_sign_in(&server, json!({})).await;
        assert_eq!(first.status(), StatusCode::OK, "{}", server.store);
        let first: Value = first.json().await.expect("json");
        assert_eq!(first["anonymous"], true);
        assert_eq!(first["display_name"], "Anonymous customer");
        let second: Value = customer_sign_in(&server, json!({ "display_name": "Sam" }))
            .await
            .json()
            .await
            .expect("json");
        assert_ne!(first["customer_id"], second["customer_id"]);
        assert_eq!(second["display_name"], "Sam");

        // Without a secret, a signed sign-in cannot be checked.
        let signed = json!({ "external_id": "cust-1", "signature": "00" });
        let signed = customer_sign_in(&server, signed).await;
        assert_eq!(signed.status(), StatusCode::NOT_FOUND);
        assert_eq!(problem(signed).await["code"], "customers_disabled");
    }
}

#[tokio::test]
async fn without_a_secret_or_anonymous_chats_customers_are_not_signed_in() {
    for server in servers_with(with_customers(None, false)).await {
        let response = customer_sign_in(&server, json!({})).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{}", server.store);
        assert_eq!(problem(response).await["code"], "customers_disabled");
    }
}
