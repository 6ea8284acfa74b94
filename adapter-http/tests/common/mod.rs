//! The harness the end-to-end tests share: a real server on port 0 over a fresh store, with
//! an admin, two agents and a customer signed in.
//!
//! Each test file is a crate of its own and uses part of this module; what one file leaves
//! unused is not dead code.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{Timelike, Utc};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shiftdesk_core::conversation::NewCustomer;
use shiftdesk_core::ids::ConversationId;
use shiftdesk_core::service::Service;
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::text::{DisplayName, ExternalId};
use shiftdesk_http::auth::bootstrap::first_admin;
use shiftdesk_http::config::DatabaseUrl;
use shiftdesk_http::database::{OpenedStore, open_store};
use shiftdesk_http::keys::signing_key;
use shiftdesk_http::realtime::hub::Hub;
use shiftdesk_http::{App, RunningServer, Settings, spawn};
use tempfile::TempDir;

/// The password every agent the harness creates logs in with.
pub(crate) const PASSWORD: &str = "a long enough password";

/// A server over one store, with tokens for an admin, two agents and a customer.
pub(crate) struct TestServer {
    /// Which store it runs on, for failure messages.
    pub(crate) store: &'static str,
    pub(crate) server: RunningServer,
    pub(crate) client: reqwest::Client,
    pub(crate) admin: String,
    /// Mei, the agent most tests follow.
    pub(crate) agent: String,
    pub(crate) agent_id: i64,
    /// Ben, her colleague.
    pub(crate) other: String,
    pub(crate) other_id: i64,
    /// An anonymous customer.
    pub(crate) customer: String,
    /// The operations behind the server, for arranging what the API does not offer.
    pub(crate) service: Service,
    /// The WebSocket hub, for what only it knows.
    pub(crate) hub: Arc<Hub>,
    _folder: TempDir,
    _database: Option<TempDir>,
}

/// Settings for tests: token states read on every request, and anonymous customers, so a
/// customer token is at hand.
pub(crate) fn test_settings() -> Settings {
    let mut settings = Settings::new("127.0.0.1:0".parse().expect("address"));
    settings.auth.token_state_ttl = Duration::ZERO;
    settings.auth.anonymous_customers = true;
    settings
}

impl TestServer {
    pub(crate) async fn start(
        store: &'static str,
        opened: OpenedStore,
        database: Option<TempDir>,
    ) -> Self {
        Self::start_with(store, opened, database, test_settings()).await
    }

    /// A server with `settings` instead of [`test_settings`].
    pub(crate) async fn start_with(
        store: &'static str,
        opened: OpenedStore,
        database: Option<TempDir>,
        settings: Settings,
    ) -> Self {
        let (key, _) = signing_key(None, &DatabaseUrl::Memory).expect("key");
        let app = App::new(opened, key);
        let folder = tempfile::tempdir().expect("temp dir");
        let password_file = folder.path().join("admin-password");
        first_admin(app.service(), &password_file)
            .await
            .expect("first admin");
        let admin_password = std::fs::read_to_string(&password_file)
            .expect("password file")
            .trim()
            .to_owned();
        let service = app.service().clone();
        let hub = app.hub().clone();
        let server = spawn(app, settings).await.expect("server starts");
        let mut test = TestServer {
            store,
            server,
            client: reqwest::Client::new(),
            admin: String::new(),
            agent: String::new(),
            agent_id: 0,
            other: String::new(),
            other_id: 0,
            customer: String::new(),
            service,
            hub,
            _folder: folder,
            _database: database,
        };
        test.admin = test.token("admin", &admin_password).await;
        test.agent_id = test.create_agent("mei").await;
        test.agent = test.token("mei", PASSWORD).await;
        test.other_id = test.create_agent("ben").await;
        test.other = test.token("ben", PASSWORD).await;
        test.customer = test.anonymous_customer().await;
        test
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.local_addr())
    }

    pub(crate) async fn send(
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

    pub(crate) async fn token(&self, login: &str, password: &str) -> String {
        let body = json!({ "login": login, "password": password });
        let response = self
            .send(Method::POST, "/api/v1/auth/login", None, Some(body))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{}", self.store);
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// A token for a new anonymous customer.
    pub(crate) async fn anonymous_customer(&self) -> String {
        let response = self
            .send(Method::POST, "/api/v1/auth/customer", None, Some(json!({})))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{}", self.store);
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Creates an agent as the admin; returns their id.
    pub(crate) async fn create_agent(&self, login: &str) -> i64 {
        let body = json!({
            "login": login, "display_name": login, "role": "agent", "password": PASSWORD,
        });
        let response = self
            .send(Method::POST, "/api/v1/users", Some(&self.admin), Some(body))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{}", self.store);
        let created: Value = response.json().await.expect("json");
        created["id"].as_i64().expect("id")
    }

    /// Sends with `token` and expects `status`; returns the body (`null` for none).
    pub(crate) async fn expect(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let response = self.send(method, path, Some(token), body).await;
        assert_eq!(response.status().as_u16(), status, "{} {path}", self.store);
        if response.status() == StatusCode::NO_CONTENT {
            return Value::Null;
        }
        response.json().await.expect("json")
    }

    /// Creates a shift template as the admin; returns its id.
    pub(crate) async fn create_shift(&self, name: &str, start: &str, end: &str) -> i64 {
        let body = json!({ "name": name, "start": start, "end": end });
        let created = self
            .expect(&self.admin, Method::POST, "/api/v1/shifts", Some(body), 201)
            .await;
        created["id"].as_i64().expect("id")
    }

    /// A conversation opened by a customer registered as `external_id` and taken by the agent
    /// `agent`.
    pub(crate) async fn taken_conversation(&self, external_id: &str, agent: i64) -> ConversationId {
        let system = Context::new(Actor::System);
        let new = NewCustomer {
            external_id: ExternalId::parse(external_id).expect("external id"),
            display_name: DisplayName::parse("李伟").expect("name"),
        };
        let customer = self.service.register_customer(&system, new).await;
        let customer = Context::new(Actor::Customer {
            id: customer.expect("customer").id,
        });
        let opened = self.service.open_conversation(&customer, None, None).await;
        let id = opened.expect("conversation").id;
        let holder = Context::new(Actor::agent(agent.try_into().expect("agent id")));
        self.service
            .take_conversation(&holder, id)
            .await
            .expect("taken");
        id
    }
}

/// A server over each store: memory and SQLite always, PostgreSQL when
/// `SHIFTDESK_TEST_DATABASE_URL` names a server.
pub(crate) async fn servers() -> Vec<TestServer> {
    servers_with(test_settings).await
}

/// [`servers`], each with the settings `settings` makes.
pub(crate) async fn servers_with(settings: impl Fn() -> Settings) -> Vec<TestServer> {
    let mut servers = Vec::new();
    let memory = open_store(&DatabaseUrl::Memory).await.expect("memory");
    servers.push(TestServer::start_with("memory", memory, None, settings()).await);

    let folder = tempfile::tempdir().expect("temp dir");
    let file = DatabaseUrl::Sqlite(folder.path().join("team.db"));
    let sqlite = open_store(&file).await.expect("sqlite");
    servers.push(TestServer::start_with("sqlite", sqlite, Some(folder), settings()).await);

    if let Some(store) = shiftdesk_store_postgres::testing::fresh_store().await {
        let opened = OpenedStore { store, pool: None };
        servers.push(TestServer::start_with("postgres", opened, None, settings()).await);
    }
    servers
}

/// The problem body, checked to be one.
pub(crate) async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert_eq!(content_type, "application/problem+json");
    response.json().await.expect("json body")
}

/// A WebSocket client of the test server.
pub(crate) struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The hello frame's payload.
    pub(crate) hello: Value,
}

/// How long a test waits for a frame before it fails instead of hanging.
const FRAME_WAIT: Duration = Duration::from_secs(20);

impl TestServer {
    /// A one-time WebSocket ticket for `token`.
    pub(crate) async fn ticket(&self, token: &str) -> String {
        let body = self
            .expect(token, Method::POST, "/api/v1/ws/tickets", None, 201)
            .await;
        body["ticket"].as_str().expect("ticket").to_owned()
    }

    /// The WebSocket URL with `ticket`.
    pub(crate) fn ws_url(&self, ticket: &str) -> String {
        format!(
            "ws://{}/api/v1/ws?ticket={ticket}",
            self.server.local_addr()
        )
    }

    /// Opens a connection for `token` and reads its hello frame.
    pub(crate) async fn connect(&self, token: &str) -> WsClient {
        self.connect_resuming(token, None).await
    }

    /// Opens a connection whose ticket carries `resume` (`{"<conversation>": last_seq}`) and
    /// reads its hello frame.
    pub(crate) async fn connect_resuming(&self, token: &str, resume: Option<Value>) -> WsClient {
        let ticket = match resume {
            None => self.ticket(token).await,
            Some(resume) => {
                let body = json!({ "resume": resume });
                let path = "/api/v1/ws/tickets";
                let answer = self
                    .expect(token, Method::POST, path, Some(body), 201)
                    .await;
                answer["ticket"].as_str().expect("ticket").to_owned()
            }
        };
        let (socket, _) = tokio_tungstenite::connect_async(self.ws_url(&ticket))
            .await
            .expect("connected");
        let mut client = WsClient {
            socket,
            hello: Value::Null,
        };
        let hello = client.next().await;
        assert_eq!(hello["type"], "hello", "{}: {hello}", self.store);
        client.hello = hello["payload"].clone();
        client
    }

    /// Puts the team in UTC and `agent` on a shift covering now.
    pub(crate) async fn on_shift_now(&self, agent: i64) {
        let mut team = self
            .expect(&self.admin, Method::GET, "/api/v1/team", None, 200)
            .await;
        team["time_zone"] = json!("UTC");
        self.expect(&self.admin, Method::PUT, "/api/v1/team", Some(team), 200)
            .await;
        let start = Utc::now() - chrono::Duration::hours(2);
        let end = (start.hour() + 10) % 24;
        let name = format!("around now {agent}");
        let shift = self
            .create_shift(
                &name,
                &format!("{:02}:00", start.hour()),
                &format!("{end:02}:00"),
            )
            .await;
        let date = start.date_naive().to_string();
        let body = json!({
            "shift": shift, "dates": { "first": date, "last": date }, "agents": [agent],
        });
        let path = "/api/v1/schedule/assignments";
        self.expect(&self.admin, Method::POST, path, Some(body), 201)
            .await;
    }
}

impl WsClient {
    /// The id the hello frame gave the connection's user.
    pub(crate) fn user_id(&self) -> i64 {
        self.hello["user"]["id"].as_i64().expect("user id")
    }

    /// Sends a JSON frame.
    pub(crate) async fn send(&mut self, frame: Value) {
        self.socket
            .send(WsMessage::Text(frame.to_string().into()))
            .await
            .expect("sent");
    }

    /// Sends raw text.
    pub(crate) async fn send_text(&mut self, text: &str) {
        self.socket
            .send(WsMessage::Text(text.to_owned().into()))
            .await
            .expect("sent");
    }

    /// Sends a binary frame.
    pub(crate) async fn send_binary(&mut self, bytes: &[u8]) {
        self.socket
            .send(WsMessage::Binary(bytes.to_vec().into()))
            .await
            .expect("sent");
    }

    /// The next text frame, or `{"type": "closed", "code": …}` once the server closed.
    pub(crate) async fn next(&mut self) -> Value {
        loop {
            let read = tokio::time::timeout(FRAME_WAIT, self.socket.next())
                .await
                .expect("a frame in time");
            match read {
                Some(Ok(WsMessage::Text(text))) => {
                    return serde_json::from_str(text.as_str()).expect("json frame");
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|frame| (u16::from(frame.code), frame.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return json!({ "type": "closed", "code": code, "reason": reason });
                }
                Some(Ok(_)) => continue,
                Some(Err(error)) => {
                    return json!({ "type": "closed", "code": 1006, "reason": error.to_string() });
                }
                None => return json!({ "type": "closed", "code": 1006, "reason": "" }),
            }
        }
    }

    /// The next frame of type `kind`, skipping others (but not a close).
    pub(crate) async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next().await;
            if frame["type"] == kind {
                return frame;
            }
            assert_ne!(
                frame["type"], "closed",
                "closed while waiting for {kind}: {frame}"
            );
        }
    }

    /// The close code, skipping every frame before it.
    pub(crate) async fn close_code(&mut self) -> u64 {
        loop {
            let frame = self.next().await;
            if frame["type"] == "closed" {
                return frame["code"].as_u64().expect("code");
            }
        }
    }

    /// Closes the connection from the client's side.
    pub(crate) async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
