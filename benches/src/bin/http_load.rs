//! An open-loop load run against the HTTP server: GET requests on one route at a fixed rate,
//! and the same on a baseline route, the two taking turns in 5-second slices; each latency
//! is counted from the instant its request was due rather than from when it was sent.
//!
//! ```text
//! cargo run --release -p shiftdesk-benches --bin shiftdesk-http-load -- [--quick] \
//!     [--rate 2000] [--connections 32] [--duration 30] [--route /api/v1/shifts] \
//!     [--baseline /healthz] [--url http://127.0.0.1:8080 --token TOKEN] [--database-url URL]
//! ```
//!
//! Requests are scheduled by the clock: the n-th is due at `start + n / rate` whether or not
//! earlier ones have been answered, and waits for one of the `--connections` keep-alive
//! connections if all are busy. A slow server therefore shows as queueing in the latencies
//! instead of slowing the senders down (no coordinated omission).
//!
//! Without `--url` the server runs in this process, on a runtime of its own, over a SQLite
//! file in a temporary folder (or `--database-url`, which must name an empty database), with
//! the fixture shifts and an agent whose token the route is loaded with. With `--url` and
//! `--token` it drives a server already running on the loopback address.
//!
//! It prints p50/p90/p99/max, the achieved rate, errors and status counts of each phase,
//! the route's p50 and p99 against the baseline's, and writes the same as JSON to `--out`.
//! It exits with 1 when any request failed (a transport error or a status other than 2xx),
//! and with 2 when the run cannot start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use reqwest::{Client, StatusCode, Url};
use serde::Serialize;
use serde_json::json;
use shiftdesk_benches::http::{self, BenchServer};
use shiftdesk_benches::runs::Report;
use shiftdesk_http::config::DatabaseUrl;
use shiftdesk_http::database::{OpenedStore, open_store};
use sqlx::postgres::PgConnectOptions;
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The agent the in-process server's route is loaded as.
const AGENT_LOGIN: &str = "loadagent";
const AGENT_PASSWORD: &str = "a long enough password";

/// The slowest latency the histograms hold, in microseconds; slower ones count as this.
const SLOWEST_US: u64 = 60_000_000;

/// What the command line asks for.
#[derive(Debug, Parser)]
#[command(
    name = "shiftdesk-http-load",
    about = "Open-loop load on one GET route of Shiftdesk's HTTP server, against a baseline route"
)]
struct Options {
    /// Requests per second, sent on the clock whatever the answers' pace.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    rate: u32,
    /// Keep-alive connections the requests share.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    connections: u32,
    /// Seconds each measured phase lasts.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,
    /// Seconds of unrecorded load before each phase, to open connections and warm caches.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    warmup: u64,
    /// The route to load: a GET path, with its query if any.
    #[arg(long, default_value = "/api/v1/shifts")]
    route: String,
    /// The route loaded the same way for the baseline, without a token; `none` for no
    /// baseline.
    #[arg(long, default_value = "/healthz")]
    baseline: String,
    /// A running server's base URL on the loopback address (127.0.0.1, ::1 or localhost);
    /// without it a server is started in this process.
    #[arg(long, requires = "token")]
    url: Option<String>,
    /// The bearer token sent on the route to the server at `--url`.
    #[arg(long, requires = "url")]
    token: Option<String>,
    /// The in-process server's store: `sqlite://PATH`, `memory`, or `postgres://…` on the
    /// loopback address, an empty database; by default a SQLite file in a temporary folder.
    #[arg(long, conflicts_with = "url")]
    database_url: Option<String>,
    /// Worker threads of the in-process server's runtime.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    server_threads: u32,
    /// Where the JSON report is written.
    #[arg(long, default_value = "target/http-load.json")]
    out: PathBuf,
    /// A smoke run instead of a measurement: 1 second on each route at 200 requests/s over
    /// 8 connections, no warm-up.
    #[arg(long)]
    quick: bool,
}

/// The load each phase is put under.
#[derive(Debug, Clone, Copy, Serialize)]
struct Load {
    /// Requests per second.
    rate: u32,
    /// Keep-alive connections.
    connections: u32,
    /// Seconds recorded.
    duration_s: u64,
    /// Seconds sent before recording.
    warmup_s: u64,
}

impl Options {
    fn load(&self) -> Load {
        if self.quick {
            Load {
                rate: 200,
                connections: 8,
                duration_s: 1,
                warmup_s: 0,
            }
        } else {
            Load {
                rate: self.rate,
                connections: self.connections,
                duration_s: self.duration,
                warmup_s: self.warmup,
            }
        }
    }
}

/// The server under load and how to call it.
struct Target {
    /// `http://host:port`, without a trailing slash.
    base: String,
    /// The token sent on the loaded route.
    token: Option<String>,
    /// What the report says it was.
    description: String,
}

/// A server this process started, with what must outlive it.
struct InProcess {
    runtime: Runtime,
    server: BenchServer,
    _folder: Option<TempDir>,
}

fn main() -> ExitCode {
    let options = Options::parse();
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("shiftdesk-http-load: {message}");
            ExitCode::from(2)
        }
    }
}

/// The whole run; `Ok(false)` when some request failed.
fn run(options: &Options) -> Result<bool, String> {
    check_path("--route", &options.route)?;
    if options.baseline != "none" {
        check_path("--baseline", &options.baseline)?;
    }
    let load = options.load();
    // One thread sends and reads every request: at a few thousand a second that is a small
    // part of a core, and it leaves the machine's other cores to the server.
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("the client's runtime: {e}"))?;

    let (target, in_process) = match (&options.url, &options.token) {
        (Some(url), Some(token)) => {
            let base = loopback_url(url)?;
            let target = Target {
                description: base.clone(),
                base,
                token: Some(token.clone()),
            };
            (target, None)
        }
        _ => {
            let server = start_in_process(options)?;
            let target = client_runtime.block_on(prepare(&server.server));
            (target, Some(server))
        }
    };

    let outcome = client_runtime.block_on(measure(options, load, &target));
    drop(client_runtime);
    if let Some(InProcess {
        runtime, server, ..
    }) = in_process
    {
        let _ = runtime.block_on(server.server.shut_down());
    }
    let outcome = outcome?;
    write_report(&options.out, &outcome)?;
    let failed = outcome.route.errors + outcome.baseline.as_ref().map_or(0, |b| b.errors);
    if failed > 0 {
        eprintln!("shiftdesk-http-load: {failed} requests failed");
    }
    Ok(failed == 0)
}

/// A route must be a path on the server: it starts with `/`.
fn check_path(flag: &str, path: &str) -> Result<(), String> {
    if path.starts_with('/') {
        Ok(())
    } else {
        Err(format!("{flag}: {path:?} is not a path starting with /"))
    }
}

/// `url` without its trailing slash, if it is plain HTTP on the loopback address.
fn loopback_url(url: &str) -> Result<String, String> {
    let parsed = Url::parse(url).map_err(|e| format!("--url: {url:?} is not a URL: {e}"))?;
    let host = parsed.host_str().unwrap_or_default();
    if parsed.scheme() != "http" || !["127.0.0.1", "[::1]", "localhost"].contains(&host) {
        return Err(format!(
            "--url: {url:?} must be http:// on 127.0.0.1, [::1] or localhost"
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Opens the store and starts the server on a runtime of its own, so that its threads are
/// not the load's.
fn start_in_process(options: &Options) -> Result<InProcess, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.server_threads as usize)
        .thread_name("shiftdesk-server")
        .enable_all()
        .build()
        .map_err(|e| format!("the server's runtime: {e}"))?;
    let (url, folder) = match &options.database_url {
        Some(given) => {
            let url = DatabaseUrl::parse(given).map_err(|e| e.to_string())?;
            if let DatabaseUrl::Postgres(raw) = &url {
                check_loopback_database(raw)?;
            }
            (url, None)
        }
        None => {
            let folder = tempfile::tempdir().map_err(|e| format!("a temporary folder: {e}"))?;
            let url = DatabaseUrl::Sqlite(folder.path().join("load.db"));
            (url, Some(folder))
        }
    };
    let server = runtime.block_on(async {
        let opened: OpenedStore = open_store(&url)
            .await
            .map_err(|e| format!("--database-url: {e}"))?;
        http::start(opened).await
    })?;
    Ok(InProcess {
        runtime,
        server,
        _folder: folder,
    })
}

/// A PostgreSQL URL must name a server on the loopback address or a local socket.
fn check_loopback_database(url: &str) -> Result<(), String> {
    let options: PgConnectOptions = url
        .parse()
        .map_err(|e| format!("--database-url: not a PostgreSQL URL: {e}"))?;
    let host = options.get_host();
    if ["127.0.0.1", "::1", "localhost"].contains(&host) || host.starts_with('/') {
        Ok(())
    } else {
        Err("--database-url: the server must be on 127.0.0.1, ::1 or a local socket".to_owned())
    }
}

/// Gives the in-process server what a realistic read needs: the fixture shifts, and an
/// agent logged in whose token the route is loaded with.
async fn prepare(server: &BenchServer) -> Target {
    let client = http::client(1);
    let base = server.base_url();
    let admin = Some(server.admin_token.as_str());
    for (name, start, end) in shiftdesk_benches::SHIFTS {
        let body = json!({ "name": name, "start": start, "end": end });
        http::send(
            &client,
            &base,
            "/api/v1/shifts",
            admin,
            body,
            StatusCode::CREATED,
        )
        .await;
    }
    let body = json!({
        "login": AGENT_LOGIN, "display_name": "Load Agent", "role": "agent",
        "password": AGENT_PASSWORD,
    });
    http::send(
        &client,
        &base,
        "/api/v1/users",
        admin,
        body,
        StatusCode::CREATED,
    )
    .await;
    let token = http::login(&client, &base, AGENT_LOGIN, AGENT_PASSWORD).await;
    Target {
        description: format!("in process at {base}"),
        base,
        token: Some(token),
    }
}

/// The whole run's figures.
#[derive(Debug, Serialize)]
struct Outcome {
    /// The server loaded.
    server: String,
    /// The load each phase was put under.
    load: Load,
    /// The loaded route.
    route: PhaseReport,
    /// The baseline route, if one was loaded.
    baseline: Option<PhaseReport>,
    /// The route's p50 over the baseline's.
    ratio_p50: Option<f64>,
    /// The route's p99 over the baseline's.
    ratio_p99: Option<f64>,
}

/// Loads the route, then the baseline, and prints their figures side by side.
async fn measure(options: &Options, load: Load, target: &Target) -> Result<Outcome, String> {
    let client = http::client(load.connections as usize);
    let route_url = format!("{}{}", target.base, options.route);
    let baseline_url =
        (options.baseline != "none").then(|| format!("{}{}", target.base, options.baseline));
    let route = (route_url.as_str(), target.token.as_deref());
    let (route, baseline) = phases(&client, route, baseline_url.as_deref(), load).await;
    let route = route.report(&options.route, load);
    let baseline = baseline.map(|tally| tally.report(&options.baseline, load));

    print_phase(&route);
    let mut report = Report::default();
    let mut ratios = (None, None);
    if let Some(baseline) = &baseline {
        print_phase(baseline);
        let name = format!("GET {} at {} req/s", options.route, load.rate);
        let (route_ms, base_ms) = (route.latency_ms, baseline.latency_ms);
        let ratio_p50 = route_ms.p50 / base_ms.p50;
        let ratio_p99 = route_ms.p99 / base_ms.p99;
        report.line(
            &format!("{name}: p50"),
            format!("{:.2} ms", route_ms.p50),
            format!("{:.2} ms", base_ms.p50),
            ratio_p50,
        );
        report.line(
            &format!("{name}: p99"),
            format!("{:.2} ms", route_ms.p99),
            format!("{:.2} ms", base_ms.p99),
            ratio_p99,
        );
        ratios = (Some(ratio_p50), Some(ratio_p99));
    }
    Ok(Outcome {
        server: target.description.clone(),
        load,
        route,
        baseline,
        ratio_p50: ratios.0,
        ratio_p99: ratios.1,
    })
}

fn print_phase(phase: &PhaseReport) {
    let latency = phase.latency_ms;
    println!(
        "GET {}: {} requests, {:.0} req/s achieved, {} errors, statuses {:?}; latency p50 {:.2} \
         ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        phase.path,
        phase.requests,
        phase.achieved_rate,
        phase.errors,
        phase.statuses,
        latency.p50,
        latency.p90,
        latency.p99,
        latency.max,
    );
}

fn write_report(path: &Path, outcome: &Outcome) -> Result<(), String> {
    let text = serde_json::to_string_pretty(outcome).map_err(|e| e.to_string())?;
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder).map_err(|e| format!("--out {}: {e}", path.display()))?;
    }
    std::fs::write(path, text + "\n").map_err(|e| format!("--out {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// What one phase's answers came to.
struct Tally {
    /// Latency from due to fully read, in microseconds.
    latencies: Histogram<u64>,
    /// Answers by status code.
    statuses: BTreeMap<u16, u64>,
    /// Requests that got no complete answer.
    transport_errors: u64,
    /// From the first request due to the last answer, summed over the phase's slices.
    elapsed: Duration,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latencies: Histogram::new_with_bounds(1, SLOWEST_US, 3)
                .expect("constant bounds are valid"),
            statuses: BTreeMap::new(),
            transport_errors: 0,
            elapsed: Duration::ZERO,
        }
    }

    /// Adds another slice of the same phase.
    fn merge(&mut self, other: Tally) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latencies.add(&other.latencies);
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.transport_errors += other.transport_errors;
        self.elapsed += other.elapsed;
    }

    fn record(&mut self, due: Instant, done: Instant, status: Option<StatusCode>) {
        let micros = u64::try_from(done.duration_since(due).as_micros()).unwrap_or(SLOWEST_US);
        self.latencies
            .saturating_record(micros.clamp(1, SLOWEST_US));
        match status {
            Some(status) => *self.statuses.entry(status.as_u16()).or_default() += 1,
            None => self.transport_errors += 1,
        }
    }

    fn report(&self, path: &str, load: Load) -> PhaseReport {
        let requests = self.latencies.len();
        let failed_statuses: u64 = self
            .statuses
            .iter()
            .filter(|(status, _)| !(200..300).contains(*status))
            .map(|(_, count)| count)
            .sum();
        let elapsed = self.elapsed;
        let ms = |micros: u64| micros as f64 / 1000.0;
        PhaseReport {
            path: path.to_owned(),
            offered_rate: f64::from(load.rate),
            achieved_rate: requests as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
            requests,
            errors: self.transport_errors + failed_statuses,
            transport_errors: self.transport_errors,
            statuses: self
                .statuses
                .iter()
                .map(|(status, count)| (status.to_string(), *count))
                .collect(),
            latency_ms: Percentiles {
                p50: ms(self.latencies.value_at_quantile(0.50)),
                p90: ms(self.latencies.value_at_quantile(0.90)),
                p99: ms(self.latencies.value_at_quantile(0.99)),
                max: ms(self.latencies.max()),
            },
        }
    }
}

/// One phase's figures.
#[derive(Debug, Serialize)]
struct PhaseReport {
    /// The route loaded.
    path: String,
    /// Requests per second sent.
    offered_rate: f64,
    /// Requests per second answered, from the first due to the last answer.
    achieved_rate: f64,
    /// Requests recorded.
    requests: u64,
    /// Transport errors and answers other than 2xx.
    errors: u64,
    /// Requests without a complete answer: refused, reset, or timed out.
    transport_errors: u64,
    /// Answers by status code.
    statuses: BTreeMap<String, u64>,
    /// Latency from the instant a request was due until its answer was read.
    latency_ms: Percentiles,
}

/// Latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
struct Percentiles {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

/// How long the route and the baseline take turns for: they alternate in slices of this
/// many seconds, so both meet the same background load on a shared machine.
const SLICE_S: u64 = 5;

/// Warms up on both routes, then loads them in alternate slices until each has had the
/// phase's duration; the warm-up is not recorded.
async fn phases(
    client: &Client,
    route: (&str, Option<&str>),
    baseline: Option<&str>,
    load: Load,
) -> (Tally, Option<Tally>) {
    let (rate, connections) = (load.rate, load.connections);
    if load.warmup_s > 0 {
        open_loop(client, route.0, route.1, rate, connections, load.warmup_s).await;
        if let Some(url) = baseline {
            open_loop(client, url, None, rate, connections, load.warmup_s).await;
        }
    }
    let (mut routed, mut based) = (Tally::new(), baseline.map(|_| Tally::new()));
    let mut left = load.duration_s;
    while left > 0 {
        let seconds = left.min(SLICE_S);
        routed.merge(open_loop(client, route.0, route.1, rate, connections, seconds).await);
        if let (Some(url), Some(based)) = (baseline, based.as_mut()) {
            based.merge(open_loop(client, url, None, rate, connections, seconds).await);
        }
        left -= seconds;
    }
    (routed, based)
}

/// Sends `rate` GET requests a second for `seconds`, each due at its own instant on the
/// clock, at most `connections` at once; a request due while all are busy waits, and its
/// wait counts in its latency.
async fn open_loop(
    client: &Client,
    url: &str,
    token: Option<&str>,
    rate: u32,
    connections: u32,
    seconds: u64,
) -> Tally {
    let total = u64::from(rate) * seconds;
    let slots = Arc::new(Semaphore::new(connections as usize));
    let started = Instant::now() + Duration::from_millis(5);
    let tally = Arc::new(Mutex::new(Tally::new()));
    let last_done = Arc::new(Mutex::new(started));

    // The clock is a thread of its own: the runtime's timer wakes on whole milliseconds,
    // which would add up to a millisecond of its own lateness to every latency, while a
    // thread's sleep ends within tens of microseconds of the instant asked for.
    let (ticks, mut due_times) = tokio::sync::mpsc::unbounded_channel();
    let clock = std::thread::spawn(move || {
        for n in 0..total {
            let due = started + Duration::from_nanos(n * 1_000_000_000 / u64::from(rate));
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if ticks.send(due).is_err() {
                break;
            }
        }
    });

    let mut requests = JoinSet::new();
    while let Some(due) = due_times.recv().await {
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let (slots, tally, last_done) = (slots.clone(), tally.clone(), last_done.clone());
        requests.spawn(async move {
            let status = match slots.acquire_owned().await {
                Ok(_slot) => answer(request).await,
                Err(_) => None,
            };
            let done = Instant::now();
            if let Ok(mut tally) = tally.lock() {
                tally.record(due, done, status);
            }
            if let Ok(mut last) = last_done.lock() {
                *last = (*last).max(done);
            }
        });
        // Finished requests are let go as the run goes, so the set holds only those in
        // flight.
        while requests.try_join_next().is_some() {}
    }
    // The channel closes only once the clock has sent every tick and stopped.
    drop(clock);
    while requests.join_next().await.is_some() {}
    let mut tally = tally
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut tally = std::mem::replace(&mut *tally, Tally::new());
    if let Ok(last) = last_done.lock() {
        tally.elapsed = last.saturating_duration_since(started);
    }
    tally
}

/// The answer's status once its body is read in full; `None` if none came whole.
async fn answer(request: reqwest::RequestBuilder) -> Option<StatusCode> {
    let response = request.send().await.ok()?;
    let status = response.status();
    response.bytes().await.ok()?;
    Some(status)
}
