//! The real server on port 0, over each store: memory and SQLite always, PostgreSQL when
//! `SHIFTDESK_TEST_DATABASE_URL` names a server.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::Value;
use shiftdesk_core::store::{Store, StoreError, Tx};
use shiftdesk_http::config::DatabaseUrl;
use shiftdesk_http::database::{OpenedStore, open_store};
use shiftdesk_http::keys::signing_key;
use shiftdesk_http::{App, RunningServer, Settings, spawn};
use shiftdesk_store_memory::MemoryStore;
use tempfile::TempDir;
use tokio::sync::{Mutex, oneshot};

/// A server over one store, with what must live as long as it.
struct TestServer {
    /// Which store it runs on, for failure messages.
    store: &'static str,
    server: RunningServer,
    client: reqwest::Client,
    _folder: Option<TempDir>,
}

impl TestServer {
    async fn start(store: &'static str, opened: OpenedStore, folder: Option<TempDir>) -> Self {
        let (key, _) = signing_key(None, &DatabaseUrl::Memory).expect("key");
        let bind = "127.0.0.1:0".parse().expect("address");
        let server = spawn(App::new(opened, key), Settings::new(bind))
            .await
            .expect("server starts");
        TestServer {
            store,
            server,
            client: reqwest::Client::new(),
            _folder: folder,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.local_addr())
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("answer")
    }
}

/// One server per store: memory, SQLite on a new file, and PostgreSQL on a fresh database
/// when one is configured.
async fn servers() -> Vec<TestServer> {
    let mut servers = Vec::new();
    let memory = open_store(&DatabaseUrl::Memory).await.expect("memory");
    servers.push(TestServer::start("memory", memory, None).await);

    let folder = tempfile::tempdir().expect("temp dir");
    let file = DatabaseUrl::Sqlite(folder.path().join("team.db"));
    let sqlite = open_store(&file).await.expect("sqlite");
    servers.push(TestServer::start("sqlite", sqlite, Some(folder)).await);

    if let Some(store) = shiftdesk_store_postgres::testing::fresh_store().await {
        let opened = OpenedStore { store, pool: None };
        servers.push(TestServer::start("postgres", opened, None).await);
    }
    servers
}

async fn problem(response: reqwest::Response) -> Value {
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let body: Value = response.json().await.expect("json body");
    assert_eq!(body["request_id"], request_id.as_str(), "{body}");
    body
}

#[tokio::test]
async fn healthz_answers_alive() {
    for server in servers().await {
        let response = server.get("/healthz").await;
        assert_eq!(response.status(), StatusCode::OK, "{}", server.store);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["status"], "alive");
    }
}

#[tokio::test]
async fn readyz_answers_ready_when_the_store_answers() {
    for server in servers().await {
        let response = server.get("/readyz").await;
        assert_eq!(response.status(), StatusCode::OK, "{}", server.store);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["status"], "ready");
    }
}

/// A store whose server cannot be reached.
struct Unreachable;

#[async_trait]
impl Store for Unreachable {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        let cause = std::io::Error::other("connection refused by db.internal:5432");
        Err(StoreError::Unavailable(Box::new(cause)))
    }
}

#[tokio::test]
async fn readyz_is_a_503_problem_when_the_store_cannot_be_reached() {
    let opened = OpenedStore {
        store: Arc::new(Unreachable),
        pool: None,
    };
    let server = TestServer::start("unreachable", opened, None).await;

    let response = server.get("/readyz").await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = problem(response).await;
    assert_eq!(body["code"], "store_unavailable");
    assert_eq!(body["status"], 503);
    assert!(!body.to_string().contains("db.internal"), "{body}");
}

#[tokio::test]
async fn metrics_count_each_request_by_route_and_status() {
    for server in servers().await {
        server.get("/healthz").await;
        server.get("/healthz").await;
        server.get("/no/such/page").await;

        let response = server.get("/metrics").await;

        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().expect("ascii");
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        let text = response.text().await.expect("text");
        let healthz =
            r#"shiftdesk_http_requests_total{route="/healthz",method="GET",status="200"} 2"#;
        assert!(text.contains(healthz), "{}: {text}", server.store);
        let unmatched =
            r#"shiftdesk_http_requests_total{route="unmatched",method="GET",status="404"} 1"#;
        assert!(text.contains(unmatched), "{}: {text}", server.store);
        assert!(
            text.contains(r#"shiftdesk_http_request_duration_seconds_bucket{route="/healthz""#),
            "{text}"
        );
        if server.store == "sqlite" {
            assert!(
                text.contains("shiftdesk_db_pool_connections{state=\"idle\"}"),
                "{text}"
            );
        }
    }
}

/// The routes opened with a one-time ticket in the query instead of a bearer token.
const BY_TICKET: [&str; 1] = ["/api/v1/ws"];

/// The routes anyone may call without a token.
const PUBLIC: [&str; 6] = [
    "/api/openapi.json",
    "/healthz",
    "/metrics",
    "/readyz",
    "/api/v1/auth/login",
    "/api/v1/auth/customer",
];

#[tokio::test]
async fn every_route_in_the_openapi_document_is_served_and_answers_problems() {
    let memory = open_store(&DatabaseUrl::Memory).await.expect("memory");
    let server = TestServer::start("memory", memory, None).await;

    let response = server.get("/api/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.expect("json");

    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{document}"
    );
    let paths = document["paths"].as_object().expect("paths");
    let listed: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().expect("path item").keys().cloned();
            methods.map(move |method| (method, path.clone()))
        })
        .collect();
    // That these are exactly the routes served, tests/roles.rs checks against its table of
    // every route and role.
    assert!(listed.len() > 50, "{listed:?}");

    // Every listed route is served, and answers its errors as problems; the ones that need
    // a token say so, and refuse a request without one.
    for (method, path) in &listed {
        let operation = &paths[path.as_str()][method.as_str()];
        let responses = &operation["responses"];
        let problem = &responses["4XX"]["content"]["application/problem+json"]["schema"];
        assert_eq!(problem["$ref"], "#/components/schemas/Problem", "{path}");
        let url = server.url(&path.replace("{id}", "1"));
        let request = match method.as_str() {
            "get" => server.client.get(url),
            "post" => server.client.post(url),
            "put" => server.client.put(url),
            "patch" => server.client.patch(url),
            "delete" => server.client.delete(url),
            other => panic!("unexpected method {other}"),
        };
        let status = request.send().await.expect("answer").status();
        if PUBLIC.contains(&path.as_str()) {
            assert!(operation.get("security").is_none(), "{method} {path}");
            if method == "get" {
                assert!(status.is_success(), "{path}: {status}");
            }
        } else if BY_TICKET.contains(&path.as_str()) {
            assert!(operation.get("security").is_none(), "{method} {path}");
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        } else {
            assert_eq!(
                operation["security"][0]["bearer"],
                serde_json::json!([]),
                "{path}"
            );
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["scheme"], "bearer", "{document}");
    let schema = &document["components"]["schemas"]["Problem"];
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        required,
        BTreeSet::from(["type", "title", "status", "detail", "code"])
    );
}

#[tokio::test]
async fn a_good_request_id_is_echoed() {
    let memory = open_store(&DatabaseUrl::Memory).await.expect("memory");
    let server = TestServer::start("memory", memory, None).await;

    let response = server
        .client
        .get(server.url("/healthz"))
        .header("x-request-id", "lb-7f3a:2026")
        .send()
        .await
        .expect("answer");

    assert_eq!(response.headers()["x-request-id"], "lb-7f3a:2026");
}

#[tokio::test]
async fn a_request_without_an_id_gets_a_new_one() {
    let memory = open_store(&DatabaseUrl::Memory).await.expect("memory");
    let server = TestServer::start("memory", memory, None).await;

    let first = server.get("/healthz").await;
    let second = server.get("/healthz").await;

    let first = first.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let second = second.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(first.len(), 36, "a UUID: {first}");
    assert_ne!(first, second);
}

#[tokio::test]
async fn a_bad_request_id_is_replaced() {
    let memory = open_store(&DatabaseUrl::Memory).await.expect("memory");
    let server = TestServer::start("memory", memory, None).await;

    for bad in ["x".repeat(65), "two words".to_owned()] {
        let response = server
            .client
            .get(server.url("/no/such/page"))
            .header("x-request-id", &bad)
            .send()
            .await
            .expect("answer");
        let id = response.headers()["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_ne!(id, bad);
        assert_eq!(id.len(), 36, "{id}");
        let body = problem(response).await;
        assert_eq!(body["request_id"], id.as_str());
    }
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    for server in servers().await {
        let response = server.get("/api/agents/1").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = problem(response).await;
        assert_eq!(body["code"], "no_route");
        assert_eq!(body["type"], "urn:shiftdesk:problem:no_route");
        assert_eq!(body["title"], "Not Found");
        assert!(
            body["detail"]
                .as_str()
                .expect("detail")
                .contains("/api/agents/1")
        );
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_saying_what_is_allowed() {
    let memory = open_store(&DatabaseUrl::Memory).await.expect("memory");
    let server = TestServer::start("memory", memory, None).await;

    let response = server
        .client
        .delete(server.url("/healthz"))
        .send()
        .await
        .expect("answer");

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = response.headers()["allow"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(allow.contains("GET"), "{allow}");
    let body = problem(response).await;
    assert_eq!(body["code"], "method_not_allowed");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let memory = open_store(&DatabaseUrl::Memory).await.expect("memory");
    let server = TestServer::start("memory", memory, None).await;

    let response = server
        .client
        .post(server.url("/healthz"))
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .expect("answer");

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = problem(response).await;
    assert_eq!(body["code"], "body_too_large");
}

/// A store whose transactions wait at a gate: the test learns when a request reached the
/// store, and decides when it may go on.
struct Gated {
    inner: MemoryStore,
    reached: Mutex<Option<oneshot::Sender<()>>>,
    opens: Mutex<Option<oneshot::Receiver<()>>>,
}

#[async_trait]
impl Store for Gated {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        if let Some(reached) = self.reached.lock().await.take() {
            let _ = reached.send(());
        }
        if let Some(opens) = self.opens.lock().await.take() {
            let _ = opens.await;
        }
        self.inner.begin().await
    }
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_and_refuses_new_ones() {
    let (reached_tx, reached) = oneshot::channel();
    let (open, opens_rx) = oneshot::channel();
    let store = Gated {
        inner: MemoryStore::new(),
        reached: Mutex::new(Some(reached_tx)),
        opens: Mutex::new(Some(opens_rx)),
    };
    let opened = OpenedStore {
        store: Arc::new(store),
        pool: None,
    };
    let server = TestServer::start("gated", opened, None).await;
    let address = server.server.local_addr();
    let in_flight = tokio::spawn(server.client.get(server.url("/readyz")).send());
    reached.await.expect("the request reaches the store");

    server.server.shutdown_handle().trigger();

    // The listener closes while the request is still waiting at the gate.
    let refused = async {
        loop {
            if tokio::net::TcpStream::connect(address).await.is_err() {
                break;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), refused)
        .await
        .expect("new connections are refused");
    assert!(!in_flight.is_finished());

    open.send(()).expect("the request is still waiting");
    let response = in_flight.await.expect("task").expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.server.stopped()).await;
    stopped
        .expect("stops once the request is answered")
        .expect("clean stop");
}

#[tokio::test]
async fn a_request_past_the_timeout_is_a_503_problem() {
    let (reached_tx, reached) = oneshot::channel();
    let (_never_opens, opens_rx) = oneshot::channel::<()>();
    let store = Gated {
        inner: MemoryStore::new(),
        reached: Mutex::new(Some(reached_tx)),
        opens: Mutex::new(Some(opens_rx)),
    };
    let opened = OpenedStore {
        store: Arc::new(store),
        pool: None,
    };
    let (key, _) = signing_key(None, &DatabaseUrl::Memory).expect("key");
    let mut settings = Settings::new("127.0.0.1:0".parse().expect("address"));
    settings.request_timeout = Duration::from_millis(200);
    let server = spawn(App::new(opened, key), settings)
        .await
        .expect("starts");
    let url = format!("http://{}/readyz", server.local_addr());

    let response = reqwest::get(url).await.expect("answer");

    reached.await.expect("the request reached the store");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = problem(response).await;
    assert_eq!(body["code"], "timeout");
}
