//! Real traffic against a server already running: customers arrive on the clock, each opens
//! a conversation over REST, talks it through with the agent it was routed to, and leaves
//! once the agent resolved it.
//!
//! ```text
//! shiftdesk-load --url http://127.0.0.1:PORT --admin-password-file FILE
//!     [--agent-password-file FILE] [--agents N] [--server-pid PID]
//!     [--arrivals PER_S[,PER_S…]] [--seconds S] [--turns T] [--think-ms MS]
//!     [--stop-at-p99-ms MS] [--out FILE]
//! ```
//!
//! Agents: with `--agent-password-file` (the demo's shared password), up to `--agents` of
//! the agents whose schedule entry covers now (worked, not on leave or swapped out) log in;
//! without it, or if none is on shift, `--agents` new agents are made and put on a new shift
//! covering now, through the REST API. Each agent keeps one WebSocket connection for the run.
//!
//! Arrivals are open loop: new customers are due at a fixed rate whatever became of the
//! earlier ones. Each signs in anonymously (the server needs `--anonymous-customers`),
//! connects, and posts `POST /api/v1/conversations` with its first line; routing gives the
//! conversation to an agent, who receives its history. Then the dialog's other lines follow
//! turn by turn, customer and agent alternating, `--think-ms` apart (a turn is written once
//! the previous one was delivered); the agent resolves the conversation over REST and the
//! customer leaves when told so. Each rate of `--arrivals` runs for `--seconds`, then waits
//! for its conversations to end; with several rates the run stops after the first whose p99
//! send→deliver latency passes `--stop-at-p99-ms` (100 by default).
//!
//! Every participant's messages are checked against the store over REST at the end; any lost,
//! duplicated or reordered message makes the exit status 1. With `--server-pid`, the
//! server's CPU time and resident memory are read from `/proc` every second.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::{Value, json};
use shiftdesk_core::ids::ConversationId;
use tokio::sync::oneshot;

use super::{
    Args, Check, Command, Peer, Shared, Side, call, connect, customer_token, deliver_turn, fail,
    login, login_client, staff_named, try_call,
};

/// The traffic run's own flags.
#[derive(Debug, Clone)]
pub(super) struct Options {
    /// The running server, e.g. `http://127.0.0.1:8080`; the traffic run happens only if set.
    pub(super) url: Option<String>,
    /// The admin who reads the schedule, makes agents if needed and checks the messages.
    admin_login: String,
    /// The file holding the admin's password.
    admin_password_file: Option<PathBuf>,
    /// The file holding the agents' password (the demo prints it).
    agent_password_file: Option<PathBuf>,
    /// The server's process, whose CPU time and memory are sampled.
    server_pid: Option<u32>,
    /// New conversations a second, one rate per step.
    arrivals: Vec<f64>,
    /// Lines in each conversation, the opening one included.
    turns: usize,
    /// The pause before each turn after the opening one, as a person typing.
    think: Duration,
    /// The p99 that ends a search over several rates.
    stop_p99_ms: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            url: None,
            admin_login: "admin".to_owned(),
            admin_password_file: None,
            agent_password_file: None,
            server_pid: None,
            arrivals: Vec::new(),
            turns: 6,
            think: Duration::from_millis(1000),
            stop_p99_ms: 100.0,
        }
    }
}

impl Options {
    /// Takes one of the traffic run's flags; false if `flag` is not one.
    pub(super) fn take(&mut self, flag: &str, value: String) -> bool {
        let number = |value: &str| -> f64 {
            match value.parse::<f64>() {
                Ok(number) if number.is_finite() && number >= 0.0 => number,
                _ => fail(&format!("{flag}: {value:?} is not a number")),
            }
        };
        match flag {
            "--url" => self.url = Some(value.trim_end_matches('/').to_owned()),
            "--admin-login" => self.admin_login = value,
            "--admin-password-file" => self.admin_password_file = Some(PathBuf::from(value)),
            "--agent-password-file" => self.agent_password_file = Some(PathBuf::from(value)),
            "--server-pid" => self.server_pid = Some(number(&value) as u32),
            "--arrivals" => {
                self.arrivals = value
                    .split(',')
                    .map(|rate| number(rate.trim()))
                    .filter(|rate| *rate > 0.0)
                    .collect();
            }
            "--turns" => self.turns = (number(&value) as usize).clamp(2, 100),
            "--think-ms" => self.think = Duration::from_millis(number(&value) as u64),
            "--stop-at-p99-ms" => self.stop_p99_ms = number(&value),
            _ => return false,
        }
        true
    }
}

/// What every conversation of the run shares.
struct Run {
    http: reqwest::Client,
    base: String,
    shared: Arc<Shared>,
    /// The agents' connections and tokens, by the index their frames are recorded under.
    agents: Vec<(Peer, String)>,
    corpus: Vec<Vec<String>>,
    turns: usize,
    think: Duration,
    /// Every conversation opened.
    conversations: Mutex<Vec<Opened>>,
}

/// A conversation a customer opened.
#[derive(Debug, Clone, Copy)]
struct Opened {
    id: i64,
    /// The customer's index, under which their frames are recorded.
    customer: usize,
    /// Whether an agent got it before the customer gave up waiting.
    assigned: bool,
}

/// What became of one customer.
#[derive(Default)]
struct Outcome {
    /// Messages the customer and the agent sent, the opening one included.
    messages: u64,
    unassigned: bool,
    failure: Option<String>,
}

/// Runs the traffic steps against `--url` and exits.
pub(super) async fn run(args: &Args) {
    let options = &args.traffic;
    let base = options.url.clone().unwrap_or_default();
    let http = reqwest::Client::new();
    let admin_password = read_secret(
        options.admin_password_file.as_ref(),
        "--admin-password-file",
    );
    let admin = login(&http, &base, &options.admin_login, &admin_password).await;
    let shared = Arc::new(Shared::default());
    let setup = Instant::now();

    let (tokens, source) = agent_tokens(&http, &base, &admin, args).await;
    let mut agents = Vec::new();
    for (index, token) in tokens.into_iter().enumerate() {
        let (peer, _) = connect(&http, &base, &token, Side::Agent, index, &shared).await;
        agents.push((peer, token));
    }
    let team = call(
        &http,
        reqwest::Method::GET,
        format!("{base}/api/v1/team"),
        Some(&admin),
        None,
    )
    .await;
    println!(
        "{} agents ({source}) online in {:.1} s; team capacity {} conversations each",
        agents.len(),
        setup.elapsed().as_secs_f64(),
        team["default_capacity"]
    );

    let run = Arc::new(Run {
        http: http.clone(),
        base: base.clone(),
        shared: shared.clone(),
        agents,
        corpus: scripts(shiftdesk_benches::dialogs(), options.turns),
        turns: options.turns,
        think: options.think,
        conversations: Mutex::new(Vec::new()),
    });
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = tokio::spawn(sample(options.server_pid, samples.clone()));
    let rates = if options.arrivals.is_empty() {
        vec![1.0]
    } else {
        options.arrivals.clone()
    };
    let mut steps = Vec::new();
    let mut first_over = Value::Null;
    let mut customers = 0;
    for rate in &rates {
        let step = step(&run, *rate, args.seconds, &mut customers, &samples).await;
        println!("{}", serde_json::to_string(&step).unwrap_or_default());
        let p99 = step["latency_ms"]["p99"].as_f64().unwrap_or(0.0);
        steps.push(step);
        if p99 > options.stop_p99_ms {
            first_over = json!(rate);
            break;
        }
    }
    sampler.abort();

    // Let the last deliveries land, then close the agents' connections for good.
    tokio::time::sleep(Duration::from_secs(1)).await;
    shared.over.store(true, Ordering::SeqCst);
    let check = verify(&run, &admin).await;
    for (peer, _) in &run.agents {
        let _ = peer.commands.send(Command::Leave).await;
    }
    let summary = json!({
        "url": base,
        "agents": run.agents.len(),
        "agents_from": source,
        "turns_per_conversation": run.turns,
        "think_ms": run.think.as_millis() as u64,
        "steps": steps,
        "first_rate_over_p99_ms": { "limit_ms": options.stop_p99_ms, "arrivals_per_s": first_over },
        "deliveries_checked": check.expected,
        "lost": check.lost,
        "duplicated": check.duplicated,
        "reordered": check.reordered,
        "error_frames": shared.errors.load(Ordering::Relaxed),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    if let Err(error) = std::fs::write(&args.out, summary.to_string()) {
        eprintln!("cannot write {}: {error}", args.out.display());
    }
    if check.lost + check.duplicated + check.reordered > 0 {
        std::process::exit(1);
    }
}

fn read_secret(path: Option<&PathBuf>, flag: &str) -> String {
    let Some(path) = path else {
        fail(&format!("{flag} is needed with --url"));
    };
    std::fs::read_to_string(path)
        .map(|text| text.trim().to_owned())
        .unwrap_or_else(|error| fail(&format!("{}: {error}", path.display())))
}

/// Logs in the agents on shift now, or makes new ones; returns their tokens and which.
async fn agent_tokens(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    args: &Args,
) -> (Vec<String>, &'static str) {
    let options = &args.traffic;
    if let Some(file) = &options.agent_password_file {
        let password = read_secret(Some(file), "--agent-password-file");
        let logins = on_shift_now(http, base, admin).await;
        if !logins.is_empty() {
            let mut tokens = Vec::new();
            for (n, name) in logins.iter().take(args.agents).enumerate() {
                tokens.push(login(&login_client(n), base, name, &password).await);
            }
            return (tokens, "on shift now");
        }
        println!("no agent is on shift now: making {} of them", args.agents);
    }
    // Names of their own, so that a second run against the same store finds them free.
    let stamp = Utc::now().timestamp();
    let prefix = format!("traffic{stamp}x");
    let tokens = staff_named(http, base, admin, args.agents, None, &prefix).await;
    (tokens, "made for the run")
}

/// The logins of the active agents whose schedule entry covers now and is worked.
async fn on_shift_now(http: &reqwest::Client, base: &str, admin: &str) -> Vec<String> {
    let now = Utc::now();
    let day = chrono::Days::new(1);
    let (first, last) = (now.date_naive() - day, now.date_naive() + day);
    let get = reqwest::Method::GET;
    let url = format!("{base}/api/v1/schedule?from={first}&to={last}");
    let entries = call(http, get.clone(), url, Some(admin), None).await;
    let users = call(http, get, format!("{base}/api/v1/users"), Some(admin), None).await;
    let instant = |value: &Value| {
        DateTime::parse_from_rfc3339(value.as_str().unwrap_or_default())
            .map(|at| at.with_timezone(&Utc))
            .ok()
    };
    let working: std::collections::BTreeSet<i64> = entries
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["status"]["state"] == "scheduled")
        .filter(|entry| {
            let (start, end) = (instant(&entry["start"]), instant(&entry["end"]));
            start.is_some_and(|start| start <= now) && end.is_some_and(|end| now < end)
        })
        .filter_map(|entry| entry["agent"].as_i64())
        .collect();
    users
        .as_array()
        .into_iter()
        .flatten()
        .filter(|user| user["role"] == "agent" && user["active"] != false)
        .filter(|user| user["id"].as_i64().is_some_and(|id| working.contains(&id)))
        .filter_map(|user| user["login"].as_str().map(str::to_owned))
        .collect()
}

/// Conversations of exactly `turns` lines each, from consecutive dialogs of the corpus
/// (most of its dialogs have two or three lines; the few very long ones are left out).
fn scripts(dialogs: Vec<Vec<String>>, turns: usize) -> Vec<Vec<String>> {
    let lines: Vec<String> = dialogs
        .into_iter()
        .filter(|dialog| dialog.len() <= 20)
        .flatten()
        .map(|line| line.chars().take(10_000).collect())
        .collect();
    let mut scripts: Vec<Vec<String>> = lines.chunks_exact(turns).map(<[String]>::to_vec).collect();
    if scripts.is_empty() {
        let line = "Hello, my tickets did not arrive.".to_owned();
        scripts.push(vec![line; turns]);
    }
    scripts
}

/// One rate for `seconds`, then the wait for its conversations to end; its summary.
async fn step(
    run: &Arc<Run>,
    rate: f64,
    seconds: u64,
    customers: &mut usize,
    samples: &Mutex<Vec<Sample>>,
) -> Value {
    let load_before = load_average();
    let count = (rate * seconds as f64).round().max(1.0) as usize;
    let period = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for k in 0..count {
        let due = started + period.mul_f64(k as f64);
        tokio::time::sleep_until(due.into()).await;
        tasks.push(tokio::spawn(conversation(run.clone(), *customers)));
        *customers += 1;
    }
    let arriving = started.elapsed();
    let mut outcomes = Vec::with_capacity(count);
    for task in tasks {
        outcomes.push(task.await.unwrap_or_else(|error| Outcome {
            failure: Some(error.to_string()),
            ..Outcome::default()
        }));
    }
    let ended = Instant::now();

    let failures: Vec<&String> = outcomes.iter().filter_map(|o| o.failure.as_ref()).collect();
    for failure in failures.iter().take(3) {
        eprintln!("a conversation failed: {failure}");
    }
    let sent: u64 = outcomes.iter().map(|outcome| outcome.messages).sum();
    let latencies = std::mem::take(
        &mut *run
            .shared
            .latencies
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    let opening = std::mem::take(
        &mut *run
            .shared
            .open_latencies
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    let window: Vec<Sample> = samples
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|sample| sample.at >= started && sample.at <= ended)
        .cloned()
        .collect();
    json!({
        "arrivals_per_s": rate,
        "arrived_per_s": (count.max(2) - 1) as f64 / arriving.as_secs_f64().max(1e-9),
        "seconds_arriving": arriving.as_secs_f64(),
        "seconds_with_drain": (ended - started).as_secs_f64(),
        "conversations": count,
        "unassigned": outcomes.iter().filter(|outcome| outcome.unassigned).count(),
        "failed": failures.len(),
        "messages_sent": sent,
        "messages_per_s": sent as f64 / (ended - started).as_secs_f64().max(1e-9),
        "latency_ms": percentiles(latencies),
        "open_to_agent_ms": percentiles(opening),
        "late_turns": run.shared.late.swap(0, Ordering::Relaxed),
        "server": resources(&window),
        "load_average_1m": { "before": load_before, "after": load_average() },
    })
}

/// One customer, from arrival to leaving.
async fn conversation(run: Arc<Run>, customer: usize) -> Outcome {
    let mut outcome = Outcome::default();
    if let Err(failure) = talk(&run, customer, &mut outcome).await {
        outcome.failure = Some(failure);
    }
    outcome
}

async fn talk(run: &Run, customer: usize, outcome: &mut Outcome) -> Result<(), String> {
    let (http, base, shared) = (&run.http, run.base.as_str(), &run.shared);
    let token = customer_token(http, base).await;
    let (peer, _) = connect(http, base, &token, Side::Customer, customer, shared).await;
    let lines = &run.corpus[customer.wrapping_mul(7919) % run.corpus.len()];

    // The opening line goes with the conversation; it reaches the agent with the history.
    let opening = format!("t{customer}-0");
    let (reached, reach) = oneshot::channel();
    lock(&shared.waiting).insert(opening.clone(), reached);
    lock(&shared.opened_at).insert(opening.clone(), Instant::now());
    let body = json!({ "message": { "client_id": opening, "body": lines[0] } });
    let url = format!("{base}/api/v1/conversations");
    let opened = try_call(http, reqwest::Method::POST, url, Some(&token), Some(body)).await;
    let opened = match opened {
        Ok(opened) => opened,
        Err(error) => {
            lock(&shared.waiting).remove(&opening);
            let _ = peer.commands.send(Command::Leave).await;
            return Err(error);
        }
    };
    let id = opened["id"]
        .as_i64()
        .ok_or("an opened conversation without an id")?;
    let assigned = tokio::time::timeout(Duration::from_secs(60), reach)
        .await
        .is_ok();
    lock(&run.conversations).push(Opened {
        id,
        customer,
        assigned,
    });
    if !assigned {
        outcome.unassigned = true;
        lock(&shared.waiting).remove(&opening);
        let _ = peer.commands.send(Command::Leave).await;
        return Ok(());
    }

    outcome.messages += 1;
    let holder = |shared: &Shared| shared.lock_holders().get(&id).copied();
    let conversation = ConversationId::try_from(id).map_err(|_| "a conversation id")?;
    for (turn, line) in lines.iter().enumerate().skip(1) {
        tokio::time::sleep(run.think).await;
        let from = match (turn % 2, holder(shared)) {
            (1, Some(agent)) => &run.agents[agent].0,
            _ => &peer,
        };
        deliver_turn(
            shared,
            from,
            conversation,
            &format!("t{customer}-{turn}"),
            line,
        )
        .await;
        outcome.messages += 1;
    }

    // The holder resolves it; the customer leaves once told.
    let (told, hear) = oneshot::channel();
    lock(&shared.resolved).insert(id, told);
    let agent = holder(shared).ok_or("the conversation lost its agent")?;
    let url = format!("{base}/api/v1/conversations/{id}/status");
    let resolve = json!({ "action": "resolve" });
    let token = Some(run.agents[agent].1.as_str());
    let resolved = try_call(http, reqwest::Method::POST, url, token, Some(resolve)).await;
    if resolved.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(10), hear).await;
    }
    let _ = peer.commands.send(Command::Leave).await;
    resolved.map(|_| ())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Compares what every participant read with the messages the store answers over REST.
/// A conversation no agent took counts only duplicates and disorder: its customer left
/// before any agent could join it.
async fn verify(run: &Run, admin: &str) -> Check {
    let conversations = lock(&run.conversations).clone();
    let stored: Vec<(Opened, Vec<(u64, bool)>)> = futures_util::stream::iter(conversations)
        .map(|opened| async move { (opened, messages(run, admin, opened.id).await) })
        .buffer_unordered(8)
        .collect()
        .await;
    let received = lock(&run.shared.received).clone();
    let holders = run.shared.lock_holders().clone();
    let mut check = Check::default();
    let mut shown = 0;
    for (opened, messages) in stored {
        let Opened {
            id,
            customer,
            assigned,
        } = opened;
        let public: Vec<u64> = messages.iter().filter(|m| m.1).map(|m| m.0).collect();
        let all: Vec<u64> = messages.iter().map(|m| m.0).collect();
        let got = |side, index| {
            received
                .get(&(side, index, id))
                .cloned()
                .unwrap_or_default()
        };
        let mut sides = vec![(Side::Customer, customer, public)];
        if let Some(agent) = holders.get(&id) {
            sides.push((Side::Agent, *agent, all));
        }
        for (side, index, expected) in sides {
            let got = got(side, index);
            if check.tally(&got, &expected, assigned) && shown < 10 {
                shown += 1;
                eprintln!(
                    "conversation {id}, {side:?} {index}: read {got:?}, the store holds \
                     {expected:?}"
                );
            }
        }
    }
    check
}

/// Every message of a conversation, oldest first: its number and whether its customer sees
/// it. The latest page comes first, then the pages before it.
async fn messages(run: &Run, admin: &str, id: i64) -> Vec<(u64, bool)> {
    let mut all = Vec::new();
    let mut before = String::new();
    loop {
        let url = format!(
            "{}/api/v1/conversations/{id}/messages?limit=500{before}",
            run.base
        );
        let page = call(&run.http, reqwest::Method::GET, url, Some(admin), None).await;
        let page = page.as_array().cloned().unwrap_or_default();
        let mut older: Vec<(u64, bool)> = page
            .iter()
            .map(|message| {
                (
                    message["seq"].as_u64().unwrap_or_default(),
                    message["kind"] != "note",
                )
            })
            .collect();
        let first = older.first().map(|message| message.0);
        older.append(&mut all);
        all = older;
        match first {
            Some(first) if page.len() == 500 && first > 1 => before = format!("&before={first}"),
            _ => return all,
        }
    }
}

/// p50, p90, p99 and max of latencies in microseconds, in milliseconds.
fn percentiles(mut micros: Vec<u64>) -> Value {
    micros.sort_unstable();
    let at = |q: f64| -> f64 {
        let Some(last) = micros.len().checked_sub(1) else {
            return 0.0;
        };
        let index = ((last as f64) * q).round() as usize;
        micros[index.min(last)] as f64 / 1000.0
    };
    json!({ "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1.0),
        "samples": micros.len() })
}

/// One reading of the server process and the machine.
#[derive(Clone)]
struct Sample {
    at: Instant,
    /// The server's user and system CPU time, in clock ticks.
    server_ticks: Option<u64>,
    /// The server's resident memory, in KiB.
    server_rss_kib: Option<u64>,
    /// The machine's busy and total CPU time over all cores, in clock ticks.
    machine: Option<(u64, u64)>,
}

/// Reads `/proc` every second.
async fn sample(pid: Option<u32>, samples: Arc<Mutex<Vec<Sample>>>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        ticker.tick().await;
        let stat = pid.and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok());
        // The fields after the command name, which may hold spaces, start at `state`.
        let server_ticks = stat.as_deref().and_then(|stat| {
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        });
        let status =
            pid.and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok());
        let server_rss_kib = status.as_deref().and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        });
        let machine = std::fs::read_to_string("/proc/stat").ok().and_then(|stat| {
            let cpu: Vec<u64> = stat
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .filter_map(|field| field.parse().ok())
                .collect();
            let total: u64 = cpu.iter().take(8).sum();
            let idle = cpu.get(3)? + cpu.get(4)?;
            Some((total - idle, total))
        });
        lock(&samples).push(Sample {
            at: Instant::now(),
            server_ticks,
            server_rss_kib,
            machine,
        });
    }
}

/// The server's CPU use (100 % is one core) and memory, and the machine's CPU use (100 % is
/// every core busy), over the samples of a step.
fn resources(window: &[Sample]) -> Value {
    let (Some(first), Some(last)) = (window.first(), window.last()) else {
        return Value::Null;
    };
    let seconds = (last.at - first.at).as_secs_f64().max(1e-9);
    let ticks = clock_ticks();
    let cpu = match (first.server_ticks, last.server_ticks) {
        (Some(a), Some(b)) => json!((b.saturating_sub(a)) as f64 / ticks / seconds * 100.0),
        _ => Value::Null,
    };
    let mut rss: Vec<u64> = window.iter().filter_map(|s| s.server_rss_kib).collect();
    rss.sort_unstable();
    let mib = |kib: Option<&u64>| kib.map_or(Value::Null, |kib| json!(*kib as f64 / 1024.0));
    let machine = match (first.machine, last.machine) {
        (Some((busy_a, total_a)), Some((busy_b, total_b))) if total_b > total_a => {
            json!((busy_b - busy_a) as f64 / (total_b - total_a) as f64 * 100.0)
        }
        _ => Value::Null,
    };
    json!({
        "cpu_percent_of_one_core": cpu,
        "rss_mib_median": mib(rss.get(rss.len() / 2)),
        "rss_mib_max": mib(rss.last()),
        "machine_cpu_busy_percent": machine,
    })
}

/// Clock ticks a second, as `/proc` counts CPU time.
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The one-minute load average.
fn load_average() -> Value {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(Value::Null, |load| json!(load))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(count: usize, prefix: &str) -> Vec<String> {
        (0..count).map(|n| format!("{prefix}{n}")).collect()
    }

    #[test]
    fn every_conversation_has_exactly_the_lines_asked_for_and_long_dialogs_are_left_out() {
        let dialogs = vec![
            lines(2, "a"),
            lines(3, "b"),
            lines(25, "long"),
            lines(2, "c"),
        ];

        let scripts = scripts(dialogs, 3);

        assert_eq!(scripts.len(), 2);
        assert!(scripts.iter().all(|script| script.len() == 3));
        assert_eq!(scripts[0], ["a0", "a1", "b0"]);
        assert!(
            scripts
                .iter()
                .flatten()
                .all(|line| !line.starts_with("long"))
        );
    }

    #[test]
    fn a_corpus_too_short_for_one_conversation_still_gives_one() {
        let scripts = scripts(vec![lines(1, "a")], 4);

        assert_eq!(scripts.len(), 1);
        assert_eq!(scripts[0].len(), 4);
    }

    #[test]
    fn arrival_rates_are_read_from_a_comma_separated_list_without_zeros() {
        let mut options = Options::default();

        assert!(options.take("--arrivals", "1, 2.5,0,10".to_owned()));
        assert!(options.take("--url", "http://127.0.0.1:8080/".to_owned()));
        assert!(!options.take("--rate", "5".to_owned()));

        assert_eq!(options.arrivals, [1.0, 2.5, 10.0]);
        assert_eq!(options.url.as_deref(), Some("http://127.0.0.1:8080"));
    }

    #[test]
    fn percentiles_are_read_from_the_sorted_latencies_in_milliseconds() {
        let micros: Vec<u64> = (1..=100).rev().map(|n| n * 1000).collect();

        let summary = percentiles(micros);

        assert_eq!(summary["p50"], json!(51.0));
        assert_eq!(summary["p99"], json!(99.0));
        assert_eq!(summary["max"], json!(100.0));
        assert_eq!(summary["samples"], json!(100));
        assert_eq!(percentiles(Vec::new())["p99"], json!(0.0));
    }
}
