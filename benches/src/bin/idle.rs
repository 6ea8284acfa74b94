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

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::StreamExt;
use serde_json::{Value, json};
use shiftdesk_benches::process::{ServerProcess, fail, mb, post, text};
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
    let binary = args.server.clone().unwrap_or_else(ServerProcess::beside_me);
    let password_file = folder.path().join("admin-password");
    let password_arg = password_file.to_string_lossy().into_owned();
    let server = ServerProcess::start(
        &binary,
        &[
            "--database-url",
            "memory",
            "--anonymous-customers",
            "--ws-accept-per-second",
            "5000",
            "--admin-password-file",
            &password_arg,
        ],
    );
    let http = reqwest::Client::new();
    server.wait_until_ready(&http).await;
    let admin = server.admin_token(&http, &password_file).await;

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
    let within = Duration::from_secs(600);
    let online = server
        .wait_for_customer_connections(&http, &admin, args.connections, within)
        .await;
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
