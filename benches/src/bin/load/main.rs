//! A load generator for the WebSocket side: customers and agents in live dialogs.
//!
//! ```text
//! cargo run --release -p shiftdesk-benches --bin shiftdesk-load -- [--quick]
//!     [--store memory|sqlite|postgres] [--customers N] [--agents M] [--rate MSG_PER_S]
//!     [--seconds S] [--drop-every-ms MS] [--out FILE]
//! ```
//!
//! It starts the server on a free local port over a new store (`postgres` recreates the
//! database `shiftdesk_load` on the server `SHIFTDESK_BENCH_DATABASE_URL` names), then drives
//! it over real sockets as clients would: the admin creates M agents through the REST API and
//! puts them on a shift covering now; each agent and each of N anonymous customers opens a
//! WebSocket connection with a ticket; each customer opens a conversation, which routing
//! gives to an online agent. Then dialogs from `../shared/data/dialogs.jsonl` are replayed,
//! customer and agent taking turns (a turn is sent once the previous one was delivered), at
//! most `--rate` messages a second overall, for `--seconds`. With `--drop-every-ms`, a random
//! connection is dropped that often and comes back with a resume.
//!
//! In this mode conversations are opened through the service inside the same process, all at
//! the start; everything else goes over HTTP and WebSocket. With `--url`, the generator
//! drives a server that is already running instead, with customers arriving on the clock and
//! opening their conversations over REST: see the `traffic` module.
//!
//! It measures send→deliver latency (from writing the frame at the sender to reading the
//! message at the other side) and checks, against the store, that every participant got
//! every message of their conversation exactly once and in order, across drops. The summary
//! is printed and written as JSON (`--out`, `load-summary.json` by default). `--quick` is a
//! smoke run: 20 customers, 5 agents, 200 messages a second for 3 seconds, drops every 500 ms.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use shiftdesk_core::Service;
use shiftdesk_core::ids::{ConversationId, CustomerId};
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_http::auth::bootstrap::first_admin;
use shiftdesk_http::config::DatabaseUrl;
use shiftdesk_http::database::{OpenedStore, open_store};
use shiftdesk_http::keys::signing_key;
use shiftdesk_http::{App, Settings, spawn};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

mod traffic;

/// What to run.
#[derive(Debug, Clone)]
struct Args {
    store: String,
    customers: usize,
    agents: usize,
    rate: u32,
    seconds: u64,
    drop_every: Option<Duration>,
    out: PathBuf,
    /// The traffic run against a server already running; see [`traffic`].
    traffic: traffic::Options,
}

impl Args {
    fn from_env() -> Args {
        let mut args = Args {
            store: "memory".to_owned(),
            customers: 400,
            agents: 100,
            rate: 1000,
            seconds: 20,
            drop_every: None,
            out: PathBuf::from("load-summary.json"),
            traffic: traffic::Options::default(),
        };
        let mut given = std::env::args().skip(1);
        while let Some(flag) = given.next() {
            if flag == "--quick" {
                args.customers = 20;
                args.agents = 5;
                args.rate = 200;
                args.seconds = 3;
                args.drop_every = Some(Duration::from_millis(500));
                continue;
            }
            let Some(value) = given.next() else {
                fail(&format!("{flag} needs a value"));
            };
            let number = |value: &str| -> u64 {
                value
                    .parse()
                    .unwrap_or_else(|_| fail(&format!("{flag}: {value:?} is not a number")))
            };
            match flag.as_str() {
                "--store" => args.store = value,
                "--customers" => args.customers = number(&value) as usize,
                "--agents" => args.agents = number(&value).max(1) as usize,
                "--rate" => args.rate = number(&value).clamp(1, 1_000_000) as u32,
                "--seconds" => args.seconds = number(&value),
                "--drop-every-ms" => {
                    args.drop_every = Some(Duration::from_millis(number(&value).max(1)));
                }
                "--out" => args.out = PathBuf::from(value),
                _ => {
                    if !args.traffic.take(&flag, value) {
                        fail(&format!("unknown flag {flag}"));
                    }
                }
            }
        }
        args
    }
}

fn fail(message: &str) -> ! {
    eprintln!("shiftdesk-load: {message}");
    std::process::exit(2);
}

/// What every connection and dialog shares.
#[derive(Default)]
struct Shared {
    /// When each message was written, by client id.
    sent_at: Mutex<HashMap<String, Instant>>,
    /// Who waits for each message to be delivered, by client id.
    waiting: Mutex<HashMap<String, oneshot::Sender<()>>>,
    /// Send→deliver latencies, in microseconds.
    latencies: Mutex<Vec<u64>>,
    /// Every message sequence number each participant read, per conversation, in order.
    received: Mutex<HashMap<(Side, usize, i64), Vec<u64>>>,
    /// Which agent (by index) holds each conversation.
    holders: Mutex<HashMap<i64, usize>>,
    /// Error frames received.
    errors: AtomicU64,
    /// Connections dropped and resumed.
    drops: AtomicU64,
    /// Turns not delivered within 10 seconds.
    late: AtomicU64,
    /// Set when the run is over: connections stop reconnecting.
    over: AtomicBool,
    /// When each conversation's opening message was posted, by client id.
    opened_at: Mutex<HashMap<String, Instant>>,
    /// Open→agent latencies (the opening message reaching the agent it was routed to), in
    /// microseconds.
    open_latencies: Mutex<Vec<u64>>,
    /// Who waits for the customer to hear that a conversation was resolved, by its id.
    resolved: Mutex<HashMap<i64, oneshot::Sender<()>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Customer,
    Agent,
}

enum Command {
    Send(String),
    Drop,
    /// Close the connection for good: the customer is done.
    Leave,
}

/// One participant's connection, reconnecting after drops.
struct Peer {
    commands: mpsc::Sender<Command>,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args::from_env();
    if args.traffic.url.is_some() {
        traffic::run(&args).await;
        return;
    }
    let folder = tempfile::tempdir().unwrap_or_else(|error| fail(&error.to_string()));
    let opened = open(&args.store, &folder).await;
    let (key, _) = signing_key(None, &DatabaseUrl::Memory).unwrap_or_else(|e| fail(&e.to_string()));
    let app = App::new(opened, key);
    let password_file = folder.path().join("admin-password");
    first_admin(app.service(), &password_file)
        .await
        .unwrap_or_else(|error| fail(&format!("the first admin: {error}")));
    let admin_password = std::fs::read_to_string(&password_file).unwrap_or_default();
    let service = app.service().clone();
    let mut settings = Settings::new("127.0.0.1:0".parse().unwrap_or_else(|_| fail("address")));
    settings.auth.anonymous_customers = true;
    settings.realtime.queue = 4096;
    let everyone = u32::try_from(args.customers + args.agents + 10).unwrap_or(u32::MAX);
    settings.realtime.accept_burst =
        std::num::NonZeroU32::new(everyone).unwrap_or(std::num::NonZeroU32::MIN);
    settings.request_timeout = Duration::from_secs(120);
    // Every client of the run logs in from this one address.
    let many = shiftdesk_http::auth::limit::Limit {
        burst: std::num::NonZeroU32::new(1_000_000).unwrap_or(std::num::NonZeroU32::MIN),
        period: Duration::from_millis(1),
    };
    settings.auth.login_limits.per_address = many;
    settings.auth.login_limits.per_account = many;
    let server = spawn(app, settings)
        .await
        .unwrap_or_else(|error| fail(&format!("the server: {error}")));
    let base = format!("http://{}", server.local_addr());
    let http = reqwest::Client::new();
    let setup = Instant::now();

    let admin = login(&http, &base, "admin", admin_password.trim()).await;
    let agent_tokens = staff(&http, &base, &admin, args.agents, args.customers).await;
    let shared = Arc::new(Shared::default());
    let mut agents = Vec::new();
    for (index, token) in agent_tokens.iter().enumerate() {
        let peer = connect(&http, &base, token, Side::Agent, index, &shared).await;
        agents.push(peer.0);
    }
    let mut customers = Vec::new();
    let mut conversations = Vec::new();
    for index in 0..args.customers {
        let token = customer_token(&http, &base).await;
        let (peer, id) = connect(&http, &base, &token, Side::Customer, index, &shared).await;
        let ctx = Context::new(Actor::Customer {
            id: CustomerId::try_from(id).unwrap_or_else(|_| fail("customer id")),
        });
        let opened = service.open_conversation(&ctx, None, None).await;
        let conversation = opened.unwrap_or_else(|error| fail(&format!("open: {error}")));
        customers.push(peer);
        conversations.push((conversation.id, index));
    }
    wait_for_holders(&shared, &conversations).await;
    println!(
        "set up {} agents and {} customers with a conversation each in {:.1} s",
        args.agents,
        args.customers,
        setup.elapsed().as_secs_f64()
    );

    // The run: dialogs at the rate, drops on the side.
    let permits = Arc::new(Semaphore::new(0));
    let ticker = tokio::spawn(pace(permits.clone(), args.rate));
    let dropper = args.drop_every.map(|every| {
        let peers: Vec<mpsc::Sender<Command>> = customers
            .iter()
            .chain(agents.iter())
            .map(|peer| peer.commands.clone())
            .collect();
        tokio::spawn(drop_now_and_then(peers, every))
    });
    let corpus = Arc::new(shiftdesk_benches::dialogs());
    let customers = Arc::new(customers);
    let agents = Arc::new(agents);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut dialogs = Vec::new();
    for (n, (id, customer)) in conversations.iter().copied().enumerate() {
        let shared = shared.clone();
        let (permits, corpus) = (permits.clone(), corpus.clone());
        let (customers, agents) = (customers.clone(), agents.clone());
        dialogs.push(tokio::spawn(async move {
            let mut turns = 0u64;
            let mut dialog = n;
            while Instant::now() < deadline {
                let lines = &corpus[dialog % corpus.len().max(1)];
                for (i, line) in lines.iter().enumerate() {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let Ok(permit) = permits.acquire().await else {
                        return turns;
                    };
                    permit.forget();
                    let holder = shared.lock_holders().get(&id.get()).copied();
                    let peer = match (i % 2, holder) {
                        (0, _) | (_, None) => &customers[customer],
                        (_, Some(agent)) => &agents[agent],
                    };
                    let client_id = format!("c{}-{turns}", id.get());
                    deliver_turn(&shared, peer, id, &client_id, line).await;
                    turns += 1;
                }
                dialog += corpus.len().max(1) / 7 + 1;
            }
            turns
        }));
    }
    let mut turns = 0;
    for dialog in dialogs {
        turns += dialog.await.unwrap_or(0);
    }
    let elapsed = started.elapsed();
    ticker.abort();
    if let Some(dropper) = dropper {
        dropper.abort();
    }
    // Let drops resume and the last deliveries land.
    tokio::time::sleep(Duration::from_secs(2)).await;
    shared.over.store(true, Ordering::SeqCst);

    let check = verify(&service, &shared, &conversations).await;
    let summary = summarize(&args, &shared, turns, elapsed, check);
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    if let Err(error) = std::fs::write(&args.out, summary.to_string()) {
        eprintln!("cannot write {}: {error}", args.out.display());
    }
    let _ = server.shut_down().await;
    let bad = summary["lost"].as_u64().unwrap_or(1)
        + summary["duplicated"].as_u64().unwrap_or(1)
        + summary["reordered"].as_u64().unwrap_or(1);
    if bad > 0 {
        std::process::exit(1);
    }
}

impl Shared {
    fn lock_holders(&self) -> std::sync::MutexGuard<'_, HashMap<i64, usize>> {
        self.holders.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Opens the store to test: a new one each run.
async fn open(store: &str, folder: &tempfile::TempDir) -> OpenedStore {
    let url = match store {
        "memory" => DatabaseUrl::Memory,
        "sqlite" => DatabaseUrl::Sqlite(folder.path().join("load.db")),
        "postgres" => {
            let Ok(url) = std::env::var("SHIFTDESK_BENCH_DATABASE_URL") else {
                fail("set SHIFTDESK_BENCH_DATABASE_URL to a postgres:// URL for --store postgres");
            };
            return fresh_postgres(&url).await;
        }
        other => fail(&format!(
            "--store: {other:?} is not memory, sqlite or postgres"
        )),
    };
    open_store(&url)
        .await
        .unwrap_or_else(|error| fail(&format!("the store: {error}")))
}

/// Drops and recreates the database `shiftdesk_load`, migrated.
async fn fresh_postgres(url: &str) -> OpenedStore {
    use sqlx::Connection;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    let admin: PgConnectOptions = url.parse().unwrap_or_else(|e| fail(&format!("{e}")));
    let mut connection = sqlx::PgConnection::connect_with(&admin)
        .await
        .unwrap_or_else(|e| fail(&format!("PostgreSQL: {e}")));
    for statement in [
        "DROP DATABASE IF EXISTS shiftdesk_load WITH (FORCE)",
        "CREATE DATABASE shiftdesk_load",
    ] {
        sqlx::query(statement)
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| fail(&format!("{statement}: {e}")));
    }
    let options = shiftdesk_store_postgres::tuned(admin.database("shiftdesk_load"));
    let pool = PgPoolOptions::new()
        .max_connections(40)
        .connect_with(options)
        .await
        .unwrap_or_else(|e| fail(&format!("PostgreSQL: {e}")));
    let store = shiftdesk_store_postgres::PgStore::from_pool(pool);
    store
        .migrate()
        .await
        .unwrap_or_else(|e| fail(&format!("migrations: {e}")));
    OpenedStore {
        store: Arc::new(store),
        pool: None,
    }
}

/// Makes a request; any failure ends the run.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> Value {
    try_call(http, method, url, token, body)
        .await
        .unwrap_or_else(|error| fail(&error))
}

/// Makes a request; a transport error or a status other than 2xx is the error.
async fn try_call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut request = http.request(method, &url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("{url}: {status} {body}"));
    }
    Ok(body)
}

/// A client whose connections leave from loopback address `127.0.0.x`, a different one for
/// every 16 logins: the server allows 20 login attempts per address before it slows them
/// down, and a team's agents sign in from many machines, not one.
fn login_client(n: usize) -> reqwest::Client {
    let last = u8::try_from(2 + n / 16).unwrap_or(u8::MAX);
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, last]))
        .build()
        .unwrap_or_else(|error| fail(&format!("an HTTP client: {error}")))
}

/// Logs in; over the server's limit on attempts, waits as long as `Retry-After` says.
async fn login(http: &reqwest::Client, base: &str, login: &str, password: &str) -> String {
    let body = json!({ "login": login, "password": password });
    let url = format!("{base}/api/v1/auth/login");
    for _ in 0..10 {
        let sent = http.post(&url).json(&body).send().await;
        let response = sent.unwrap_or_else(|e| fail(&format!("{url}: {e}")));
        let status = response.status();
        let wait = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        match (status, wait) {
            (reqwest::StatusCode::TOO_MANY_REQUESTS, Some(seconds)) => {
                eprintln!("login {login}: over the limit, trying again in {seconds} s");
                tokio::time::sleep(Duration::from_secs(seconds)).await;
            }
            (status, _) if status.is_success() => {
                return answer["token"].as_str().unwrap_or_default().to_owned();
            }
            (status, _) => fail(&format!("{url}: {status} {answer}")),
        }
    }
    fail(&format!("login {login}: still over the limit"))
}

async fn customer_token(http: &reqwest::Client, base: &str) -> String {
    let url = format!("{base}/api/v1/auth/customer");
    let answer = call(http, reqwest::Method::POST, url, None, Some(json!({}))).await;
    answer["token"].as_str().unwrap_or_default().to_owned()
}

/// Creates `count` agents on a shift covering now, with room for their share of
/// `customers`; returns their tokens.
async fn staff(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    count: usize,
    customers: usize,
) -> Vec<String> {
    let capacity = Some(customers / count + 2);
    staff_named(http, base, admin, count, capacity, "load").await
}

/// Creates `count` agents called `{prefix}{n}` on a new shift `prefix` covering now; with
/// `capacity`, makes it the team's default. Returns their tokens.
async fn staff_named(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    count: usize,
    capacity: Option<usize>,
    prefix: &str,
) -> Vec<String> {
    use chrono::Timelike;
    let post = reqwest::Method::POST;
    let mut team = call(
        http,
        reqwest::Method::GET,
        format!("{base}/api/v1/team"),
        Some(admin),
        None,
    )
    .await;
    team["time_zone"] = json!("UTC");
    if let Some(capacity) = capacity {
        team["default_capacity"] = json!(capacity.min(1000));
    }
    call(
        http,
        reqwest::Method::PUT,
        format!("{base}/api/v1/team"),
        Some(admin),
        Some(team),
    )
    .await;
    let start = chrono::Utc::now() - chrono::Duration::hours(2);
    let shift = json!({
        "name": prefix, "start": format!("{:02}:00", start.hour()),
        "end": format!("{:02}:00", (start.hour() + 12) % 24),
    });
    let shift = call(
        http,
        post.clone(),
        format!("{base}/api/v1/shifts"),
        Some(admin),
        Some(shift),
    )
    .await;
    let password = "load generator password";
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for n in 0..count {
        let login_name = format!("{prefix}{n}");
        let body = json!({
            "login": login_name, "display_name": format!("Agent {n}"), "role": "agent",
            "password": password,
        });
        let created = call(
            http,
            post.clone(),
            format!("{base}/api/v1/users"),
            Some(admin),
            Some(body),
        )
        .await;
        ids.push(created["id"].clone());
        tokens.push(login(&login_client(n), base, &login_name, password).await);
    }
    let date = start.date_naive().to_string();
    let assign = json!({
        "shift": shift["id"], "dates": { "first": date, "last": date }, "agents": ids,
    });
    let url = format!("{base}/api/v1/schedule/assignments");
    call(http, post, url, Some(admin), Some(assign)).await;
    tokens
}

/// Connects a participant; returns the peer and the user id the hello frame gave.
async fn connect(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    side: Side,
    index: usize,
    shared: &Arc<Shared>,
) -> (Peer, i64) {
    let (commands, receiver) = mpsc::channel(1024);
    let (ready, user) = oneshot::channel();
    let (http, base, token, shared) = (
        http.clone(),
        base.to_owned(),
        token.to_owned(),
        shared.clone(),
    );
    tokio::spawn(run_peer(
        http, base, token, side, index, shared, receiver, ready,
    ));
    let id = user
        .await
        .unwrap_or_else(|_| fail("a connection failed to open"));
    (Peer { commands }, id)
}

#[allow(clippy::too_many_arguments)]
async fn run_peer(
    http: reqwest::Client,
    base: String,
    token: String,
    side: Side,
    index: usize,
    shared: Arc<Shared>,
    mut commands: mpsc::Receiver<Command>,
    ready: oneshot::Sender<i64>,
) {
    let mut ready = Some(ready);
    let mut last: HashMap<i64, u64> = HashMap::new();
    let mut me = Value::Null;
    loop {
        // The resume rides on the ticket, so the replay comes before any live message.
        let conversations: serde_json::Map<String, Value> = last
            .iter()
            .map(|(id, seq)| (id.to_string(), json!(seq)))
            .collect();
        let body = json!({ "resume": conversations });
        let url = format!("{base}/api/v1/ws/tickets");
        let ticket = call(&http, reqwest::Method::POST, url, Some(&token), Some(body)).await;
        let ws = format!(
            "{}/api/v1/ws?ticket={}",
            base.replacen("http", "ws", 1),
            ticket["ticket"].as_str().unwrap_or_default()
        );
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(&ws).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        loop {
            tokio::select! {
                read = socket.next() => {
                    let Some(Ok(frame)) = read else { break };
                    let Message::Text(text) = frame else {
                        if matches!(frame, Message::Close(_)) { break }
                        continue;
                    };
                    let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                    let payload = &frame["payload"];
                    match frame["type"].as_str() {
                        Some("hello") => {
                            me = payload["user"].clone();
                            if let Some(ready) = ready.take() {
                                let _ = ready.send(me["id"].as_i64().unwrap_or_default());
                            }
                        }
                        Some("message") => {
                            let conversation = payload["conversation"].as_i64().unwrap_or_default();
                            let seq = payload["seq"].as_u64().unwrap_or_default();
                            last.insert(conversation, seq);
                            shared.received.lock().unwrap_or_else(|p| p.into_inner())
                                .entry((side, index, conversation)).or_default().push(seq);
                            let theirs = payload["sender"] != me;
                            if let (true, Some(client_id)) = (theirs, payload["client_id"].as_str()) {
                                delivered(&shared, client_id);
                            }
                        }
                        Some("assigned") | Some("transferred") if side == Side::Agent => {
                            let agent = payload["agent"].as_i64().or(payload["to"].as_i64());
                            if agent == me["id"].as_i64() {
                                let conversation = payload["conversation"].as_i64().unwrap_or_default();
                                shared.lock_holders().insert(conversation, index);
                            }
                        }
                        Some("status") if side == Side::Customer
                            && payload["status"]["state"] == "resolved" => {
                            let conversation = payload["conversation"].as_i64().unwrap_or_default();
                            let waiter = shared.resolved.lock().unwrap_or_else(|p| p.into_inner())
                                .remove(&conversation);
                            if let Some(waiter) = waiter {
                                let _ = waiter.send(());
                            }
                        }
                        Some("error") => {
                            shared.errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("error frame: {payload}");
                        }
                        _ => {}
                    }
                }
                command = commands.recv() => match command {
                    Some(Command::Send(text)) => {
                        if socket.send(Message::Text(text.into())).await.is_err() { break }
                    }
                    Some(Command::Drop) => {
                        shared.drops.fetch_add(1, Ordering::Relaxed);
                        let _ = socket.close(None).await;
                        break;
                    }
                    Some(Command::Leave) => {
                        let _ = socket.close(None).await;
                        return;
                    }
                    None => return,
                },
            }
        }
        if shared.over.load(Ordering::SeqCst) {
            return;
        }
    }
}

fn delivered(shared: &Shared, client_id: &str) {
    // Only the first delivery counts: a replay after a drop delivers it again.
    let sent = shared
        .sent_at
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(client_id);
    if let Some(sent) = sent {
        let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        shared
            .latencies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(micros);
    } else {
        // An opening message reaches the agent with the conversation's history.
        let opened = shared
            .opened_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(client_id);
        if let Some(opened) = opened {
            let micros = u64::try_from(opened.elapsed().as_micros()).unwrap_or(u64::MAX);
            shared
                .open_latencies
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(micros);
        }
    }
    if let Some(waiter) = shared
        .waiting
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(client_id)
    {
        let _ = waiter.send(());
    }
}

/// Sends one turn and waits (up to 10 s) until the other side has it. A turn written into a
/// connection that is dropping is sent again on the next attempt: the client id makes it
/// one message.
async fn deliver_turn(
    shared: &Shared,
    peer: &Peer,
    id: ConversationId,
    client_id: &str,
    line: &str,
) {
    let (done, wait) = oneshot::channel();
    shared
        .waiting
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(client_id.to_owned(), done);
    let frame = json!({ "type": "send", "payload": {
        "conversation": id.get(), "client_id": client_id, "body": line,
    } })
    .to_string();
    shared
        .sent_at
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(client_id.to_owned(), Instant::now());
    let _ = peer.commands.send(Command::Send(frame.clone())).await;
    let mut wait = wait;
    for _ in 0..20 {
        match tokio::time::timeout(Duration::from_millis(500), &mut wait).await {
            Ok(_) => return,
            // Perhaps written into a connection that was dropping: send again, same id.
            Err(_) => {
                let _ = peer.commands.send(Command::Send(frame.clone())).await;
            }
        }
    }
    shared.late.fetch_add(1, Ordering::Relaxed);
}

/// Adds permits at `rate` a second, in 10 ms steps.
async fn pace(permits: Arc<Semaphore>, rate: u32) {
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    let mut owed = 0.0f64;
    loop {
        ticker.tick().await;
        owed += f64::from(rate) / 100.0;
        let whole = owed.floor();
        owed -= whole;
        if permits.available_permits() < rate as usize {
            permits.add_permits(whole as usize);
        }
    }
}

/// Drops a pseudo-random connection every `every`.
async fn drop_now_and_then(peers: Vec<mpsc::Sender<Command>>, every: Duration) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let Some(peer) = peers.get((state % peers.len().max(1) as u64) as usize) else {
            return;
        };
        let _ = peer.send(Command::Drop).await;
    }
}

async fn wait_for_holders(shared: &Shared, conversations: &[(ConversationId, usize)]) {
    for _ in 0..600 {
        let held = shared.lock_holders().len();
        if held >= conversations.len() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fail("not every conversation was given to an agent within 30 s");
}

/// What the check against the store found.
#[derive(Debug, Default)]
struct Check {
    expected: u64,
    lost: u64,
    duplicated: u64,
    reordered: u64,
}

/// Compares what each participant read with what the store holds.
async fn verify(
    service: &Service,
    shared: &Shared,
    conversations: &[(ConversationId, usize)],
) -> Check {
    let system = Context::new(Actor::System);
    let received = shared
        .received
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let holders = shared.lock_holders().clone();
    let mut check = Check::default();
    for (id, customer) in conversations {
        let mut stored = Vec::new();
        let mut after = None;
        loop {
            let page = service.messages_after(&system, *id, after, 500).await;
            let page = page.unwrap_or_else(|error| fail(&format!("reading back: {error}")));
            let full = page.len() == 500;
            after = page.last().map(|message| message.seq);
            stored.extend(page);
            if !full {
                break;
            }
        }
        let public: Vec<u64> = stored
            .iter()
            .filter(|message| message.is_public())
            .map(|message| message.seq.get())
            .collect();
        let all: Vec<u64> = stored.iter().map(|message| message.seq.get()).collect();
        let mut sides = vec![((Side::Customer, *customer), public)];
        if let Some(agent) = holders.get(&id.get()) {
            sides.push(((Side::Agent, *agent), all));
        }
        for ((side, index), expected) in sides {
            let got = received
                .get(&(side, index, id.get()))
                .cloned()
                .unwrap_or_default();
            let _ = check.tally(&got, &expected, true);
        }
    }
    check
}

impl Check {
    /// Counts what one participant read (`got`, in order) against what the store holds
    /// for them (`expected`); `lost` is counted only if `count_lost`. True if anything
    /// was lost, duplicated or reordered.
    fn tally(&mut self, got: &[u64], expected: &[u64], count_lost: bool) -> bool {
        let before = self.lost + self.duplicated + self.reordered;
        self.expected += expected.len() as u64;
        let mut seen = std::collections::HashSet::new();
        for pair in got.windows(2) {
            if pair[1] < pair[0] {
                self.reordered += 1;
            }
        }
        for seq in got {
            if !seen.insert(*seq) {
                self.duplicated += 1;
            }
        }
        if count_lost {
            self.lost += expected.iter().filter(|seq| !seen.contains(seq)).count() as u64;
        }
        self.lost + self.duplicated + self.reordered > before
    }
}

fn summarize(args: &Args, shared: &Shared, turns: u64, elapsed: Duration, check: Check) -> Value {
    let mut latencies = shared
        .latencies
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    latencies.sort_unstable();
    let at = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies[index.min(latencies.len() - 1)] as f64 / 1000.0
    };
    json!({
        "store": args.store,
        "customers": args.customers,
        "agents": args.agents,
        "connections": args.customers + args.agents,
        "target_rate_per_s": args.rate,
        "seconds": elapsed.as_secs_f64(),
        "messages_sent": turns,
        "rate_per_s": turns as f64 / elapsed.as_secs_f64().max(1e-9),
        "latency_ms": { "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1.0),
            "samples": latencies.len() },
        "deliveries_checked": check.expected,
        "lost": check.lost,
        "duplicated": check.duplicated,
        "reordered": check.reordered,
        "late_turns": shared.late.load(Ordering::Relaxed),
        "drops": shared.drops.load(Ordering::Relaxed),
        "error_frames": shared.errors.load(Ordering::Relaxed),
    })
}
