//! The HTTP server as the benchmarks start it: in-process on `127.0.0.1:0` over a store they
//! opened, with the first admin logged in, and the few calls they make to set it up.
//!
//! Every client built here ignores proxy settings: the benchmarks only ever talk to the
//! loopback address.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use shiftdesk_http::auth::bootstrap::first_admin;
use shiftdesk_http::config::DatabaseUrl;
use shiftdesk_http::database::OpenedStore;
use shiftdesk_http::keys::signing_key;
use shiftdesk_http::{App, RunningServer, Settings, spawn};
use tempfile::TempDir;

/// A server answering on the loopback address, with a token for its first admin.
pub struct BenchServer {
    /// The running server.
    pub server: RunningServer,
    /// The first admin's bearer token.
    pub admin_token: String,
    /// Holds the first admin's password file until the server is dropped.
    _folder: TempDir,
}

impl BenchServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.local_addr())
    }
}

/// A client for the loopback server: keep-alive connections, no proxy, a generous timeout so
/// a stuck request fails instead of hanging the run.
pub fn client(connections: usize) -> Client {
    Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client without TLS builds")
}

/// Starts the server over `opened`, which must hold no staff yet, creates its first admin
/// and logs them in. The signing key is fresh, so tokens die with the process. The error
/// says what could not be done.
pub async fn start(opened: OpenedStore) -> Result<BenchServer, String> {
    let (key, _) = signing_key(None, &DatabaseUrl::Memory).map_err(|e| e.to_string())?;
    let app = App::new(opened, key);
    let folder = tempfile::tempdir().map_err(|e| format!("a temporary folder: {e}"))?;
    let password_file = folder.path().join("admin-password");
    let created = first_admin(app.service(), &password_file)
        .await
        .map_err(|e| e.to_string())?;
    if created.is_none() {
        return Err("the database already has staff: give an empty database".to_owned());
    }
    let password = std::fs::read_to_string(&password_file)
        .map_err(|e| format!("the first admin's password file: {e}"))?;
    let bind = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = spawn(app, Settings::new(bind))
        .await
        .map_err(|e| format!("the server does not start: {e}"))?;
    let base = format!("http://{}", server.local_addr());
    let admin_token = login(&client(1), &base, "admin", password.trim()).await;
    Ok(BenchServer {
        server,
        admin_token,
        _folder: folder,
    })
}

/// Logs `login` in and returns their bearer token.
pub async fn login(client: &Client, base: &str, login: &str, password: &str) -> String {
    let body = json!({ "login": login, "password": password });
    let answer: Value = send(
        client,
        base,
        "/api/v1/auth/login",
        None,
        body,
        StatusCode::OK,
    )
    .await;
    answer["token"]
        .as_str()
        .expect("a login answer holds a token")
        .to_owned()
}

/// POSTs `body` to `path` as `token`'s holder, expects `status`, and returns the answer.
pub async fn send(
    client: &Client,
    base: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
    status: StatusCode,
) -> Value {
    let mut request = client.post(format!("{base}{path}")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the server answers");
    let got = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "POST {path}: {answer}");
    answer
}
