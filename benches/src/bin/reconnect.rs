//! Clients coming back after the server restarts.
//!
//! ```text
//! cargo build --release -p shiftdesk-http -p shiftdesk-benches
//! target/release/shiftdesk-reconnect [--clients 2000] [--quick] [--out FILE]
//! ```
//!
//! It starts `shiftdesk-server` (the one built beside it) as a process of its own over a new
//! SQLite file, with its default connection rate limit. Each client is an anonymous customer
//! with a conversation of its own and a WebSocket connection that resumed it. Then the server
//! is stopped with SIGTERM and started again on the same port and file. Every client comes
//! back as docs/realtime.md tells clients to: a fresh ticket carrying the last sequence
//! number it saw, retried with exponential back-off and full jitter, and after a 429 no
//! sooner than its `Retry-After`. As soon as the new
//! server answers, the admin writes one more message into every conversation, racing the
//! resumes. A client is back when its replay is complete and it holds the conversation's last
//! message; every message must arrive once, in order.
//!
//! The summary says how long the server was away, how long after it answered again every
//! client was back, the messages seen twice or skipped, and how many connections the new
//! server holds (one per client when no session is duplicated). It is printed and written
//! as JSON (`--out`, `target/reconnect-summary.json` by default); the exit status is 1 if a
//! client was not back within 60 s, a message was repeated or skipped, or the connection
//! count is off; 2 if the run could not start. `--quick` is a smoke run with 50 clients.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::StreamExt;
use serde_json::{Value, json};
use shiftdesk_benches::process::{ServerProcess, fail, post, text};

/// What to run.
#[derive(Debug, Parser)]
#[command(
    name = "shiftdesk-reconnect",
    about = "Measures clients coming back after a server restart"
)]
struct Args {
    /// Clients, each a customer with one conversation and one connection.
    #[arg(long, default_value_t = 2_000)]
    clients: usize,
    /// A smoke run: 50 clients.
    #[arg(long)]
    quick: bool,
    /// The server binary; by default `shiftdesk-server` beside this program.
    #[arg(long, value_name = "PATH")]
    server: Option<PathBuf>,
    /// Where the summary goes as JSON.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "target/reconnect-summary.json"
    )]
    out: PathBuf,
}

/// What one client knows and shows.
struct Client {
    token: String,
    conversation: i64,
    /// The last sequence number received, in order.
    last_seq: AtomicU64,
    /// The sequence number it must reach to be caught up (0 until the admin wrote).
    target: AtomicU64,
    /// Whether a replay completed since the restart.
    resumed_since_restart: AtomicBool,
}

/// Counts every client adds to.
#[derive(Default)]
struct Tally {
    repeated: AtomicU64,
    skipped: AtomicU64,
    connections_opened: AtomicU64,
    tickets_refused: AtomicU64,
    /// Set when the server has been stopped: replays count from then on.
    restarted: AtomicBool,
}

fn main() {
    let mut args = Args::parse();
    if args.quick {
        args.clients = 50;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| fail(&format!("no runtime: {error}")));
    std::process::exit(runtime.block_on(run(args)));
}

async fn run(args: Args) -> i32 {
    let folder = tempfile::tempdir().unwrap_or_else(|error| fail(&error.to_string()));
    let database = folder.path().join("team.db");
    let database_url = format!("sqlite://{}", database.display());
    let binary = args.server.clone().unwrap_or_else(ServerProcess::beside_me);
    let mut server = ServerProcess::start(
        &binary,
        &["--database-url", &database_url, "--anonymous-customers"],
    );
    let http = reqwest::Client::new();
    server.wait_until_ready(&http).await;
    let password_file = folder.path().join("team.db.admin-password");
    let admin = server.admin_token(&http, &password_file).await;

    let clients = open_conversations(&http, &server.base, args.clients).await;
    let tally = Arc::new(Tally::default());
    for client in &clients {
        tokio::spawn(keep_connected(
            http.clone(),
            server.base.clone(),
            client.clone(),
            tally.clone(),
        ));
    }
    let within = Duration::from_secs(120);
    let connected = server
        .wait_for_customer_connections(&http, &admin, args.clients, within)
        .await;
    if connected < args.clients as u64 {
        fail(&format!(
            "only {connected} of {} clients connected within {within:?}",
            args.clients
        ));
    }

    let stopping = Instant::now();
    tally.restarted.store(true, Ordering::SeqCst);
    server.restart();
    server.wait_until_ready(&http).await;
    let answering = Instant::now();
    let away = answering.duration_since(stopping);
    write_after_restart(&http, &server.base, &admin, &clients).await;

    let mut back_after = None;
    while answering.elapsed() < Duration::from_secs(60) {
        if clients.iter().all(|client| caught_up(client)) {
            back_after = Some(answering.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A late duplicate session would show as more connections than clients.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let online = server.online(&http, &admin).await.unwrap_or(Value::Null);
    let connections = online["customer_connections"].as_u64().unwrap_or(0);
    let summary = json!({
        "clients": args.clients,
        "server_away_s": away.as_secs_f64(),
        "all_back_and_caught_up_s": back_after.map(|elapsed| elapsed.as_secs_f64()),
        "back": clients.iter().filter(|client| caught_up(client)).count(),
        "repeated": tally.repeated.load(Ordering::Relaxed),
        "skipped": tally.skipped.load(Ordering::Relaxed),
        "connections_opened": tally.connections_opened.load(Ordering::Relaxed),
        "tickets_refused_or_unreachable": tally.tickets_refused.load(Ordering::Relaxed),
        "connections_after": connections,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    if let Err(error) = std::fs::write(&args.out, summary.to_string()) {
        eprintln!("cannot write {}: {error}", args.out.display());
    }
    let good = back_after.is_some()
        && summary["repeated"] == 0
        && summary["skipped"] == 0
        && connections == args.clients as u64;
    i32::from(!good)
}

fn caught_up(client: &Client) -> bool {
    let target = client.target.load(Ordering::SeqCst);
    client.resumed_since_restart.load(Ordering::SeqCst)
        && target > 0
        && client.last_seq.load(Ordering::SeqCst) >= target
}

/// Signs in `count` customers, each opening a conversation with a first message.
async fn open_conversations(http: &reqwest::Client, base: &str, count: usize) -> Vec<Arc<Client>> {
    futures_util::stream::iter(0..count)
        .map(|index| {
            let (http, base) = (http.clone(), base.to_owned());
            async move {
                let sign_in = format!("{base}/api/v1/auth/customer");
                let token = text(&post(&http, &sign_in, None, &json!({})).await, "token");
                let first = json!({
                    "client_id": format!("first-{index}"),
                    "body": "Where are my tickets?",
                });
                let body = json!({ "topic": "tickets", "message": first });
                let open = format!("{base}/api/v1/conversations");
                let opened = post(&http, &open, Some(&token), &body).await;
                let conversation = opened["id"]
                    .as_i64()
                    .unwrap_or_else(|| fail(&format!("no conversation id in {opened}")));
                Arc::new(Client {
                    token,
                    conversation,
                    last_seq: AtomicU64::new(0),
                    target: AtomicU64::new(0),
                    resumed_since_restart: AtomicBool::new(false),
                })
            }
        })
        .buffer_unordered(16)
        .collect()
        .await
}

/// One message from the admin into every conversation, as soon as the server is back.
async fn write_after_restart(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    clients: &[Arc<Client>],
) {
    futures_util::stream::iter(clients)
        .for_each_concurrent(16, |client| async move {
            let url = format!(
                "{base}/api/v1/conversations/{}/messages",
                client.conversation
            );
            let body = json!({
                "client_id": "after-restart",
                "kind": "message",
                "body": "We are back: your tickets are on their way.",
            });
            let written = post(http, &url, Some(admin), &body).await;
            let seq = written["seq"]
                .as_u64()
                .unwrap_or_else(|| fail(&format!("no seq in {written}")));
            client.target.store(seq, Ordering::SeqCst);
        })
        .await;
}

/// Keeps one client connected for the whole run: ticket, connection, replay, live messages;
/// after any end, again, with back-off and full jitter.
async fn keep_connected(
    http: reqwest::Client,
    base: String,
    client: Arc<Client>,
    tally: Arc<Tally>,
) {
    let mut attempt: u32 = 0;
    let mut random = Jitter::new(client.conversation as u64);
    // No back-off before the first connection, nor right after waiting as a 429 asked.
    let mut waited = true;
    loop {
        if !waited {
            // delay = random(0, min(30 s, 0.5 s × 2^attempt)), as docs/realtime.md says.
            let ceiling_ms = (500u64 << attempt.min(6)).min(30_000);
            tokio::time::sleep(Duration::from_millis(random.below(ceiling_ms))).await;
            attempt = attempt.saturating_add(1);
        }
        waited = false;
        let last = client.last_seq.load(Ordering::SeqCst);
        let mut conversations = serde_json::Map::new();
        conversations.insert(client.conversation.to_string(), json!(last));
        let resume = json!({ "resume": conversations });
        let ticket = http
            .post(format!("{base}/api/v1/ws/tickets"))
            .bearer_auth(&client.token)
            .json(&resume)
            .send()
            .await;
        let ticket = match ticket {
            Ok(answer) if answer.status().is_success() => answer.json::<Value>().await.ok(),
            _ => None,
        };
        let Some(ticket) = ticket.and_then(|body| body["ticket"].as_str().map(str::to_owned))
        else {
            tally.tickets_refused.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let address = format!(
            "{}/api/v1/ws?ticket={ticket}",
            base.replacen("http", "ws", 1)
        );
        let mut socket = match tokio_tungstenite::connect_async(address).await {
            Ok((socket, _)) => socket,
            Err(refusal) => {
                tally.tickets_refused.fetch_add(1, Ordering::Relaxed);
                // Told to wait: Retry-After seconds plus up to one second of jitter.
                if let Some(seconds) = retry_after(&refusal) {
                    let jitter = random.below(1_000);
                    tokio::time::sleep(Duration::from_millis(seconds * 1_000 + jitter)).await;
                    waited = true;
                }
                continue;
            }
        };
        tally.connections_opened.fetch_add(1, Ordering::Relaxed);
        let connected_at = Instant::now();
        let after_restart = tally.restarted.load(Ordering::SeqCst);
        while let Some(Ok(frame)) = socket.next().await {
            let Ok(text) = frame.to_text() else { continue };
            let Ok(frame) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let payload = &frame["payload"];
            match frame["type"].as_str() {
                Some("message") if payload["conversation"] == client.conversation => {
                    let seq = payload["seq"].as_u64().unwrap_or(0);
                    let last = client.last_seq.load(Ordering::SeqCst);
                    if seq <= last {
                        tally.repeated.fetch_add(1, Ordering::Relaxed);
                    } else {
                        if seq > last + 1 {
                            tally.skipped.fetch_add(seq - last - 1, Ordering::Relaxed);
                        }
                        client.last_seq.store(seq, Ordering::SeqCst);
                    }
                }
                Some("resumed") if after_restart => {
                    client.resumed_since_restart.store(true, Ordering::SeqCst);
                }
                _ => {}
            }
        }
        // The back-off starts over only after a connection that stayed up for a minute.
        if connected_at.elapsed() >= Duration::from_secs(60) {
            attempt = 0;
        }
    }
}

/// The seconds a 429 refusal asks to wait.
fn retry_after(refusal: &tokio_tungstenite::tungstenite::Error) -> Option<u64> {
    let tokio_tungstenite::tungstenite::Error::Http(answer) = refusal else {
        return None;
    };
    if answer.status().as_u16() != 429 {
        return None;
    }
    answer
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// A small xorshift generator, so each client draws its own delays.
struct Jitter(u64);

impl Jitter {
    fn new(seed: u64) -> Jitter {
        Jitter(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}
