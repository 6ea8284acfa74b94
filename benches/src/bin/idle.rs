//! What idle WebSocket connections cost the server in memory.
//!
//! ```text
//! cargo build --release -p shiftdesk-http -p shiftdesk-benches
//! target/release/shiftdesk-idle [--connections 19000] [--quick] [--out FILE]
//! ```
//!
//! It starts `shiftdesk-server` (the one built beside it) as a process of its own, over the
//! memory store on a free local port, so that the resident memory read from `/proc` is the
//! server's alone. It signs in one anonymous customer per connection first and reads the
//! server's resident memory (the baseline: the customers, their tokens and the server's own
//! warm-up are in it). Then each customer takes a ticket and opens a WebSocket connection,
//! and the connections stay open and idle, answering pings, while the memory settles. The
//! cost of a connection is the growth over the baseline divided by the connections; the
//! online statistics must count every one of them.
//!
//! `--quick` is a smoke run of 200 connections. The summary is printed and written as JSON
//! (`--out`, `target/idle-summary.json` by default); the exit status is 1 if a connection
//! failed or was not counted, 2 if the run could not start.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// What to measure.
#[derive(Debug, Parser)]
#[command(
    name = "shiftdesk-idle",
    about = "Measures the server's memory per idle WebSocket connection"
)]
struct Args {
    /// Idle connections to hold. This machine allows 20,000 open files a process, and both
    /// the server and this program need one per connection, so the default stays below.
    #[arg(long, default_value_t = 19_000)]
    connections: usize,
    /// A smoke run: 200 connections.
    #[arg(long)]
    quick: bool,
    /// The server binary; by default `shiftdesk-server` beside this program.
    #[arg(long, value_name = "PATH")]
    server: Option<PathBuf>,
    /// Where the summary goes as JSON.
    #[arg(long, value_name = "FILE", default_value = "target/idle-summary.json")]
    out: PathBuf,
}

/// The server process, stopped when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server's resident memory in bytes, from `/proc/<pid>/status`.
    fn resident(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_else(|error| fail(&format!("cannot read the server's status: {error}")));
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| {
                value
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kib| kib * 1024)
            .unwrap_or_else(|| fail("the server's status has no VmRSS line"))
    }
}

fn main() {
    let mut args = Args::parse();
    if args.quick {
        args.connections = 200;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| fail(&format!("no runtime: {error}")));
    let code = runtime.block_on(run(args));
    std::process::exit(code);
}

async fn run(args: Args) -> i32 {
    let folder = tempfile::tempdir().unwrap_or_else(|error| fail(&error.to_string()));
    let server = start(&args, &folder);
    let http = reqwest::Client::new();
    wait_until_ready(&http, &server).await;
    let admin = admin_token(&http, &server, &folder).await;

    let started = server.resident();
    let tokens = sign_in_customers(&http, &server.base, args.connections).await;
    // Let the allocator settle after the sign-ins before the baseline is read.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let baseline = server.resident();

    let opening = Instant::now();
    let failed = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(64));
    let mut opened = Vec::with_capacity(tokens.len());
    for token in tokens {
        let permit = gate
            .clone()
            .acquire_owned()
            .await
            .expect("the gate stays open");
        let (http, base) = (http.clone(), server.base.clone());
        let (failed, closed) = (failed.clone(), closed.clone());
        opened.push(tokio::spawn(async move {
            let socket = connect(&http, &base, &token).await;
            drop(permit);
            match socket {
                Some(socket) => hold(socket, closed).await,
                None => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let online = wait_for_online(&http, &server.base, &admin, args.connections).await;
    let open_seconds = opening.elapsed().as_secs_f64();
    // Idle long enough for a heartbeat or two, then read the memory a few times.
    tokio::time::sleep(Duration::from_secs(if args.quick { 2 } else { 30 })).await;
    let mut samples: Vec<u64> = Vec::new();
    for _ in 0..5 {
        samples.push(server.resident());
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    samples.sort_unstable();
    let held = samples[samples.len() / 2];
    let connections = args.connections as u64;
    let per_connection = held.saturating_sub(baseline) / connections.max(1);
    let projected = baseline + per_connection * 20_000;
    let summary = json!({
        "connections": connections,
        "failed": failed.load(Ordering::Relaxed),
        "closed_while_idle": closed.load(Ordering::Relaxed),
        "counted_online": online,
        "open_seconds": open_seconds,
        "server_resident_at_start_mb": mb(started),
        "server_resident_baseline_mb": mb(baseline),
        "server_resident_held_median_mb": mb(held),
        "per_connection_kb": per_connection as f64 / 1024.0,
        "projected_resident_at_20000_mb": mb(projected),
        "ratio_held_to_baseline": held as f64 / baseline.max(1) as f64,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    if let Err(error) = std::fs::write(&args.out, summary.to_string()) {
        eprintln!("cannot write {}: {error}", args.out.display());
    }
    for task in opened {
        task.abort();
    }
    let bad = summary["failed"].as_u64() != Some(0)
        || summary["closed_while_idle"].as_u64() != Some(0)
        || online != connections;
    i32::from(bad)
}

fn mb(bytes: u64) -> f64 {
    (bytes as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0
}

fn start(args: &Args, folder: &tempfile::TempDir) -> Server {
    let binary = args.server.clone().unwrap_or_else(|| {
        let me = std::env::current_exe().unwrap_or_else(|error| fail(&error.to_string()));
        me.with_file_name("shiftdesk-server")
    });
    if !binary.exists() {
        fail(&format!(
            "no server at {}: build it with `cargo build --release -p shiftdesk-http`",
            binary.display()
        ));
    }
    // A free port: asked of the system, then handed to the server.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|error| fail(&format!("no free port: {error}")));
    let child = Command::new(&binary)
        .args(["--database-url", "memory", "--bind"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--log-level", "warn", "--anonymous-customers"])
        .args(["--ws-accept-per-second", "5000"])
        .arg("--admin-password-file")
        .arg(folder.path().join("admin-password"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| fail(&format!("cannot start {}: {error}", binary.display())));
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_until_ready(http: &reqwest::Client, server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ready = http.get(format!("{}/readyz", server.base)).send().await;
        if ready.is_ok_and(|answer| answer.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fail("the server did not become ready within 30 s");
}

async fn admin_token(
    http: &reqwest::Client,
    server: &Server,
    folder: &tempfile::TempDir,
) -> String {
    let password = std::fs::read_to_string(folder.path().join("admin-password"))
        .unwrap_or_else(|error| fail(&format!("no admin password file: {error}")));
    let body = json!({ "login": "admin", "password": password.trim() });
    let answer = post(
        http,
        &format!("{}/api/v1/auth/login", server.base),
        None,
        &body,
    )
    .await;
    text(&answer, "token")
}

async fn sign_in_customers(http: &reqwest::Client, base: &str, count: usize) -> Vec<String> {
    let url = format!("{base}/api/v1/auth/customer");
    let signed = futures_util::stream::iter(0..count)
        .map(|_| {
            let (http, url) = (http.clone(), url.clone());
            async move { text(&post(&http, &url, None, &json!({})).await, "token") }
        })
        .buffer_unordered(32);
    signed.collect().await
}

/// Takes a ticket and opens the connection; `None` if either fails.
async fn connect(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> Option<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    let url = format!("{base}/api/v1/ws/tickets");
    let answer = http
        .post(url)
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .ok()?;
    if !answer.status().is_success() {
        return None;
    }
    let ticket: Value = answer.json().await.ok()?;
    let ws = format!(
        "{}/api/v1/ws?ticket={}",
        base.replacen("http", "ws", 1),
        ticket["ticket"].as_str()?
    );
    let (socket, _) = tokio_tungstenite::connect_async(ws).await.ok()?;
    Some(socket)
}

/// Reads until the connection ends (pings are answered while reading); counts an end.
async fn hold<S>(mut socket: S, closed: Arc<AtomicUsize>)
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    while let Some(frame) = socket.next().await {
        if frame.is_err() {
            break;
        }
    }
    closed.fetch_add(1, Ordering::Relaxed);
}

/// Waits until the hub counts `expected` customer connections, or 10 minutes; the last count.
async fn wait_for_online(http: &reqwest::Client, base: &str, admin: &str, expected: usize) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut counted = 0;
    while Instant::now() < deadline {
        let answer = http
            .get(format!("{base}/api/v1/stats/online"))
            .bearer_auth(admin)
            .send()
            .await;
        if let Ok(answer) = answer
            && let Ok(online) = answer.json::<Value>().await
        {
            counted = online["customer_connections"].as_u64().unwrap_or(0);
            if counted >= expected as u64 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    counted
}

async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, body: &Value) -> Value {
    let mut request = http.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request
        .send()
        .await
        .unwrap_or_else(|error| fail(&format!("POST {url}: {error}")));
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        fail(&format!("POST {url}: {status} {body}"));
    }
    body
}

fn text(body: &Value, field: &str) -> String {
    body[field]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| fail(&format!("no `{field}` in {body}")))
}

fn fail(message: &str) -> ! {
    eprintln!("shiftdesk-idle: {message}");
    std::process::exit(2);
}
