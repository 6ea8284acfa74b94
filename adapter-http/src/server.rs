//! Building the application, serving it, and stopping it gracefully.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use shiftdesk_core::Service;
use shiftdesk_core::store::Store;
use shiftdesk_core::time::SystemClock;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::auth::{self, Auth, AuthSettings};
use crate::database::OpenedStore;
use crate::keys::SigningKey;
use crate::metrics::Metrics;
use crate::problem::{PROBLEM_JSON, Problem};
use crate::realtime::hub::{Close, Hub};
use crate::realtime::{Gate, RealtimeSettings, socket};
use crate::request_id;
use crate::routes;
use crate::state::AppState;
use crate::watch::Watched;

/// The largest request body accepted, in bytes (1 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// How long a request may take before it is answered 503 `timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a shutdown waits for WebSocket connections to send their last frames and close.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How the server listens and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The address to listen on; port 0 picks a free one.
    pub bind: SocketAddr,
    /// How long a request may take.
    pub request_timeout: Duration,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// How callers authenticate: token lifetime, login limits, customers.
    pub auth: AuthSettings,
    /// The WebSocket side: heartbeats, queues, devices per user, connection limits.
    pub realtime: RealtimeSettings,
}

impl Settings {
    /// Listening on `bind`, with the default timeout and body limit.
    pub fn new(bind: SocketAddr) -> Settings {
        Settings {
            bind,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            body_limit: DEFAULT_BODY_LIMIT,
            auth: AuthSettings::default(),
            realtime: RealtimeSettings::default(),
        }
    }
}

/// What the server serves: the service over a store, the hub its events go to, and the key
/// that signs tokens.
#[derive(Clone)]
pub struct App {
    service: Service,
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    metrics: Metrics,
    signing_key: SigningKey,
}

impl App {
    /// The application over an opened store, with the system clock. Domain events go to the
    /// WebSocket hub, which also tells routing who is online.
    pub fn new(opened: OpenedStore, signing_key: SigningKey) -> App {
        let store: Arc<dyn Store> = Arc::new(Watched(opened.store));
        let hub = Arc::new(Hub::new());
        let service = Service::new(store.clone(), hub.clone(), Arc::new(SystemClock))
            .with_presence(hub.clone());
        App {
            service,
            store,
            hub,
            metrics: Metrics::new(opened.pool),
            signing_key,
        }
    }

    /// The hub: who is connected, and where domain events go.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// The operations the API's routes call.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The key access tokens are signed with.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }
}

/// The OpenAPI document of every route the server has.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::api().into_openapi()
}

/// The whole application as one router, with its middleware. Fails only if the signing key
/// cannot sign tokens.
pub fn router(app: &App, settings: &Settings) -> io::Result<Router> {
    let (routes, document) = routes::api().split_for_parts();
    let openapi = document
        .to_json()
        .unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"));
    let auth = Auth::new(&app.signing_key, &settings.auth).map_err(io::Error::other)?;
    let state = AppState {
        service: app.service.clone(),
        auth: Arc::new(auth),
        store: app.store.clone(),
        metrics: app.metrics.clone(),
        realtime: Arc::new(Gate::new(app.hub.clone(), settings.realtime.clone())),
        openapi: openapi.into(),
    };

    // Layers run outside in, last added first: the request id and span wrap everything, so
    // even a refusal by the body limit is counted and logged with its id.
    Ok(routes
        .fallback(no_route)
        .with_state(state)
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            Problem::for_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            settings.request_timeout,
        ))
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(RequestBodyLimitLayer::new(settings.body_limit))
        .layer(middleware::from_fn(problem_for_bare_errors))
        .layer(middleware::from_fn_with_state(
            app.metrics.clone(),
            crate::metrics::count,
        ))
        .layer(middleware::from_fn(request_id::identify)))
}

async fn no_route(uri: Uri) -> Problem {
    Problem::no_route(uri.path())
}

/// Gives an error answer without a problem body one: the router's 405, the body limit's
/// 413, the timeout's 503. Headers such as `Allow` are kept.
async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes() == PROBLEM_JSON.as_bytes());
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let problem = Problem::for_status(status).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, problem.into_body())
}

/// Asks a running server to stop. Clones ask the same server.
#[derive(Debug, Clone)]
pub struct Shutdown(Arc<watch::Sender<bool>>);

impl Shutdown {
    /// Stops accepting connections; requests in flight are finished first.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

/// A server answering on its own task.
#[derive(Debug)]
pub struct RunningServer {
    address: SocketAddr,
    shutdown: Shutdown,
    task: JoinHandle<io::Result<()>>,
}

impl RunningServer {
    /// The address it listens on (with the port chosen, if 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// A handle that stops it.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Waits until it has stopped: after a shutdown, once every request in flight is
    /// answered.
    pub async fn stopped(self) -> io::Result<()> {
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(io::Error::other(join)),
        }
    }

    /// Stops it gracefully and waits until it has.
    pub async fn shut_down(self) -> io::Result<()> {
        self.shutdown.trigger();
        self.stopped().await
    }
}

/// Binds `settings.bind` and serves `app` on a task of its own until shut down.
pub async fn spawn(app: App, settings: Settings) -> io::Result<RunningServer> {
    let listener = TcpListener::bind(settings.bind).await?;
    let address = listener.local_addr()?;
    let router = router(&app, &settings)?;
    auth::password::prepare().await;
    let (sender, receiver) = watch::channel(false);
    let ticker = tokio::spawn(socket::tick(
        app.service.clone(),
        settings.realtime.tick,
        receiver.clone(),
    ));
    let hub = app.hub.clone();
    let mut stopping = receiver;
    let stop = {
        let hub = hub.clone();
        async move {
            // A dropped sender also stops the server: nobody is left to ask.
            let _ = stopping.wait_for(|stop| *stop).await;
            tracing::info!("stopping: no new connections; finishing requests in flight");
            // Each connection finishes the frame it is handling (so its acks go out), then
            // closes with 1001.
            hub.close_all(Close::GOING_AWAY);
        }
    };
    let task = tokio::spawn(async move {
        // The peer address is what login attempts are limited by.
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        // Small frames (acks, pushed messages) go out at once instead of waiting, under
        // Nagle's algorithm, for the peer's delayed acknowledgement of the previous one.
        let listener = listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
            }
        });
        let served = axum::serve(listener, service)
            .with_graceful_shutdown(stop)
            .await;
        // Upgraded connections live on their own tasks, which the server does not wait for.
        if tokio::time::timeout(CLOSE_GRACE, hub.until_empty())
            .await
            .is_err()
        {
            tracing::warn!("WebSocket connections still open after the grace period");
        }
        ticker.abort();
        served
    });
    Ok(RunningServer {
        address,
        shutdown: Shutdown(Arc::new(sender)),
        task,
    })
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("interrupted"),
        () = terminate => tracing::info!("terminated"),
    }
}
