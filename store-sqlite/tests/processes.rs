//! More than one process on one database file, and a process killed mid-write.
//!
//! The binary re-executes itself (`std::env::current_exe`) with `SHIFTDESK_SQLITE_ROLE` set
//! to play the other process: so this file has its own `main` instead of the test harness.
//! Each child prints one `acked <client id>` line per write the store acknowledged, after
//! the acknowledgement; the parent then checks every acknowledged write is in the file.
//!
//! - Two processes open the same new file at once, then append to one conversation and assign
//!   the same agents to the same days at once: every acknowledged message is there once,
//!   numbered 1, 2, 3… without a gap, and each day went to exactly one of them, with no
//!   overlapping work.
//! - A writer is killed with SIGKILL mid-stream: every write it acknowledged survives, and
//!   the file passes `PRAGMA integrity_check`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use shiftdesk_core::Service;
use shiftdesk_core::assign::BatchAssignment;
use shiftdesk_core::conversation::NewCustomer;
use shiftdesk_core::error::ScheduleError;
use shiftdesk_core::event::SilentNotifier;
use shiftdesk_core::ids::{AgentId, ConversationId};
use shiftdesk_core::message::MessageKind;
use shiftdesk_core::service::{AssignOptions, Outgoing};
use shiftdesk_core::shift::{NewShift, ShiftTimes};
use shiftdesk_core::staff::{Actor, Context, NewAgent, Role};
use shiftdesk_core::text::{
    ClientMessageId, DisplayName, ExternalId, Login, MessageBody, ShiftName,
};
use shiftdesk_core::time::{DateRange, ManualClock};
use shiftdesk_store_sqlite::{SqliteConfig, SqliteStore};
use sqlx::{Connection, SqliteConnection};

/// Which part a re-executed binary plays.
const ROLE: &str = "SHIFTDESK_SQLITE_ROLE";
const FILE: &str = "SHIFTDESK_SQLITE_FILE";
const CONVERSATION: &str = "SHIFTDESK_SQLITE_CONVERSATION";
const CUSTOMER: &str = "SHIFTDESK_SQLITE_CUSTOMER";
const PREFIX: &str = "SHIFTDESK_SQLITE_PREFIX";
/// When both processes open the file: milliseconds since the Unix epoch.
const START: &str = "SHIFTDESK_SQLITE_START";
/// How long after opening both processes start writing, time enough for the first to set
/// up the agents and the conversation.
const WORK_AFTER: u64 = 1500;

/// Messages each sender task of each process sends in the two-process test.
const PER_SENDER: usize = 60;
/// Sender tasks per process, so that group commit has something to group.
const SENDERS: usize = 4;
/// Agents both processes assign, one day at a time.
const AGENTS: usize = 5;
/// Days both processes try to assign the agents to.
const DAYS: u64 = 20;

fn main() {
    if let Ok(role) = std::env::var(ROLE) {
        child(&role);
        return;
    }
    let tests: [(&str, fn()); 2] = [
        (
            "two_processes_open_one_new_file_and_append_to_one_conversation_at_once",
            two_processes_open_one_new_file_and_append_to_one_conversation_at_once,
        ),
        (
            "a_writer_killed_mid_stream_keeps_every_acknowledged_write",
            a_writer_killed_mid_stream_keeps_every_acknowledged_write,
        ),
    ];
    println!("\nrunning {} tests", tests.len());
    for (name, test) in tests {
        test();
        println!("test {name} ... ok");
    }
    println!("\ntest result: ok. {} passed\n", tests.len());
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn service(store: SqliteStore) -> Service {
    let clock = Arc::new(ManualClock::new(DateTime::<Utc>::UNIX_EPOCH));
    Service::new(Arc::new(store), Arc::new(SilentNotifier), clock)
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set for a child"))
}

/// The roles a re-executed binary plays.
fn child(role: &str) {
    let path = PathBuf::from(env(FILE));
    match role {
        "appender" => runtime().block_on(async {
            wait_until(env(START).parse().expect("an instant")).await;
            let store = SqliteStore::open(&SqliteConfig::new(&path))
                .await
                .expect("the child opens the file");
            let (customer, conversation) = wait_for_conversation(&store).await;
            let service = service(store);
            wait_until(env(START).parse::<u64>().expect("an instant") + WORK_AFTER).await;
            let prefix = env(PREFIX);
            tokio::join!(
                send_all(&service, customer, conversation, &prefix, PER_SENDER),
                assign_days(&service, true),
            );
        }),
        "endless" => runtime().block_on(async {
            let store = SqliteStore::open(&SqliteConfig::new(&path))
                .await
                .expect("the child opens the file");
            let customer = env(CUSTOMER).parse::<i64>().expect("a customer id");
            let conversation = env(CONVERSATION).parse::<i64>().expect("a conversation id");
            let customer = customer.try_into().expect("an id");
            let conversation = conversation.try_into().expect("an id");
            send_all(&service(store), customer, conversation, "k", usize::MAX).await;
        }),
        other => panic!("unknown role {other}"),
    }
}

fn millis_now() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.expect("after 1970").as_millis() as u64
}

/// Sleeps until the agreed instant, so that two processes open the file together.
async fn wait_until(start: u64) {
    let wait = start.saturating_sub(millis_now());
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
}

/// The shared conversation, once the first process has opened it.
async fn wait_for_conversation(
    store: &SqliteStore,
) -> (shiftdesk_core::ids::CustomerId, ConversationId) {
    loop {
        let found: Option<(i64, i64)> =
            sqlx::query_as("SELECT customer_id, id FROM conversations ORDER BY id LIMIT 1")
                .fetch_optional(store.readers())
                .await
                .expect("a read");
        if let Some((customer, conversation)) = found {
            return (
                customer.try_into().expect("an id"),
                conversation.try_into().expect("an id"),
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// `SENDERS` tasks sending `count` messages each as the customer, printing each
/// acknowledgement.
async fn send_all(
    service: &Service,
    customer: shiftdesk_core::ids::CustomerId,
    conversation: ConversationId,
    prefix: &str,
    count: usize,
) {
    // Only a child reports: its parent reads the reports.
    let announce = std::env::var(ROLE).is_ok();
    let ctx = Context::new(Actor::Customer { id: customer });
    let mut tasks = Vec::new();
    for task in 0..SENDERS {
        let (service, ctx, prefix) = (service.clone(), ctx.clone(), prefix.to_owned());
        tasks.push(tokio::spawn(async move {
            for n in 0..count {
                let client_id = format!("{prefix}-{task}-{n}");
                let outgoing = Outgoing {
                    client_id: Some(ClientMessageId::parse(&client_id).expect("a client id")),
                    kind: MessageKind::Message,
                    body: MessageBody::parse("我想退票，可以吗？").expect("a body"),
                };
                service
                    .send(&ctx, conversation, outgoing)
                    .await
                    .expect("acknowledged");
                if announce {
                    println!("acked {client_id}");
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("a sender finishes");
    }
}

/// Assigns every agent to the day shift, one day after another (from the last day if
/// `backwards`, so that two processes meet half way), and reports (a child prints) the days
/// it won. A day the other process won first is refused with conflicts.
async fn assign_days(service: &Service, backwards: bool) -> BTreeSet<u64> {
    let admin = Context::new(Actor::System);
    let agents: Vec<AgentId> = service
        .agents(&admin)
        .await
        .expect("agents")
        .iter()
        .map(|agent| agent.id)
        .collect();
    let shift = service.shifts(&admin).await.expect("shifts")[0].id;
    let first = NaiveDate::from_ymd_opt(2027, 6, 1).expect("a date");
    let mut won = BTreeSet::new();
    for step in 0..DAYS {
        let offset = if backwards { DAYS - 1 - step } else { step };
        let day = first + Days::new(offset);
        let batch = BatchAssignment {
            shift,
            dates: DateRange::single(day),
            weekdays: None,
            agents: agents.clone(),
        };
        match service
            .assign_batch(&admin, &batch, AssignOptions::default())
            .await
        {
            Ok(_) => {
                if std::env::var(ROLE).is_ok() {
                    println!("assigned {offset}");
                }
                won.insert(offset);
            }
            Err(ScheduleError::Conflicts(_)) => {}
            Err(other) => panic!("assigning failed: {other:?}"),
        }
    }
    won
}

/// Staff and a shift for `assign_days`.
async fn agents_and_shift(service: &Service) {
    let admin = Context::new(Actor::System);
    for n in 0..AGENTS {
        let agent = NewAgent {
            login: Login::parse(&format!("agent{n}")).expect("a login"),
            display_name: DisplayName::parse(&format!("Agent {n}")).expect("a name"),
            role: Role::Agent,
            skills: BTreeSet::new(),
            capacity: None,
        };
        service.create_agent(&admin, agent).await.expect("an agent");
    }
    let time = |text| NaiveTime::parse_from_str(text, "%H:%M").expect("a time");
    let shift = NewShift {
        name: ShiftName::parse("day").expect("a name"),
        times: ShiftTimes::new(time("08:00"), time("16:00")).expect("times"),
        required_skill: None,
    };
    service.create_shift(&admin, shift).await.expect("a shift");
}

fn spawn_child(role: &str, path: &Path, vars: &[(&str, String)]) -> Child {
    let mut command = Command::new(std::env::current_exe().expect("this test binary"));
    command
        .env(ROLE, role)
        .env(FILE, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in vars {
        command.env(name, value);
    }
    command.spawn().expect("the child starts")
}

/// What a child acknowledged: the client ids of its messages and the days it assigned,
/// read from its output until it ends (or until `stop_after` messages, when given: then the
/// child is killed at once).
fn acknowledged(child: &mut Child, stop_after: Option<usize>) -> (BTreeSet<String>, BTreeSet<u64>) {
    let stdout = child.stdout.take().expect("the child's output");
    let mut acked = BTreeSet::new();
    let mut days = BTreeSet::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if let Some(client_id) = line.strip_prefix("acked ") {
            acked.insert(client_id.to_owned());
        }
        if let Some(day) = line.strip_prefix("assigned ") {
            days.insert(day.parse().expect("a day"));
        }
        if stop_after.is_some_and(|stop| acked.len() >= stop) {
            child.kill().expect("SIGKILL");
            // Lines the child printed before it died still count: each was acknowledged.
            continue;
        }
    }
    (acked, days)
}

/// What the file holds for the conversation, checked for gaps, and the integrity check.
async fn stored_client_ids(path: &Path, conversation: i64) -> BTreeSet<String> {
    let mut connection = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("the file opens");
    let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut connection)
        .await
        .expect("the check runs");
    assert_eq!(integrity, ["ok"], "the file is intact");
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT seq, client_id FROM messages WHERE conversation_id = ?1 ORDER BY seq",
    )
    .bind(conversation)
    .fetch_all(&mut connection)
    .await
    .expect("messages");
    for (expected, (seq, _)) in (1..).zip(&rows) {
        assert_eq!(*seq, expected, "numbers run without a gap");
    }
    let count: i64 = sqlx::query_scalar(
        "SELECT message_count FROM conversation_counters WHERE conversation_id = ?1",
    )
    .bind(conversation)
    .fetch_one(&mut connection)
    .await
    .expect("the counter");
    assert_eq!(
        count as usize,
        rows.len(),
        "the counter matches the messages"
    );
    let switches = rows
        .windows(2)
        .filter(|pair| pair[0].1.split('-').next() != pair[1].1.split('-').next())
        .count();
    eprintln!("writers alternated {switches} times");
    let ids: BTreeSet<String> = rows.into_iter().map(|(_, id)| id).collect();
    connection.close().await.expect("closed");
    ids
}

fn two_processes_open_one_new_file_and_append_to_one_conversation_at_once() {
    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join("shiftdesk.db");
    // Both processes create and migrate the new file at the same moment.
    let start = millis_now() + 500;
    let vars = [(PREFIX, "child".to_owned()), (START, start.to_string())];
    let mut other = spawn_child("appender", &path, &vars);

    let runtime = runtime();
    let (conversation, ours) = runtime.block_on(async {
        wait_until(start).await;
        let store = SqliteStore::open(&SqliteConfig::new(&path))
            .await
            .expect("the parent opens the file");
        let service = service(store);
        let admin = Context::new(Actor::System);
        agents_and_shift(&service).await;
        let customer = NewCustomer {
            external_id: ExternalId::parse("shared").expect("an id"),
            display_name: DisplayName::parse("Shared").expect("a name"),
        };
        let customer = service
            .register_customer(&admin, customer)
            .await
            .expect("a customer");
        let ctx = Context::new(Actor::Customer { id: customer.id });
        let opened = service
            .open_conversation(&ctx, None, None)
            .await
            .expect("a conversation");
        wait_until(start + WORK_AFTER).await;
        let (_, our_days) = tokio::join!(
            send_all(&service, customer.id, opened.id, "parent", PER_SENDER),
            assign_days(&service, false),
        );
        let ours: BTreeSet<String> = (0..SENDERS)
            .flat_map(|task| (0..PER_SENDER).map(move |n| format!("parent-{task}-{n}")))
            .collect();
        (opened.id.get(), (ours, our_days))
    });
    let (ours, our_days) = ours;

    let (theirs, their_days) = acknowledged(&mut other, None);
    let status = other.wait().expect("the child ends");
    assert!(status.success(), "the second process succeeded: {status}");
    assert_eq!(
        theirs.len(),
        SENDERS * PER_SENDER,
        "the child acknowledged all"
    );

    let stored = runtime.block_on(stored_client_ids(&path, conversation));
    let expected: BTreeSet<String> = ours.union(&theirs).cloned().collect();
    assert_eq!(
        stored, expected,
        "every acknowledged message is stored once"
    );

    assert!(
        our_days.is_disjoint(&their_days),
        "no day was won twice: {our_days:?} {their_days:?}"
    );
    let won: BTreeSet<u64> = our_days.union(&their_days).copied().collect();
    assert_eq!(won, (0..DAYS).collect(), "every day went to one process");
    let (entries, overlaps) = runtime.block_on(schedule_counts(&path));
    assert_eq!(
        entries,
        AGENTS as i64 * DAYS as i64,
        "one entry per agent and day"
    );
    assert_eq!(overlaps, 0, "no agent works two overlapping entries");
    eprintln!(
        "days won: this process {}, the other {}",
        our_days.len(),
        their_days.len()
    );
}

/// Working entries in the file, and pairs of them that overlap.
async fn schedule_counts(path: &Path) -> (i64, i64) {
    let mut connection = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("the file opens");
    let entries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM schedule_entries WHERE status = 'scheduled'")
            .fetch_one(&mut connection)
            .await
            .expect("a count");
    let overlaps: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM schedule_entries a JOIN schedule_entries b \
           ON a.agent_id = b.agent_id AND a.id < b.id \
         WHERE a.status = 'scheduled' AND b.status = 'scheduled' \
           AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at",
    )
    .fetch_one(&mut connection)
    .await
    .expect("a count");
    connection.close().await.expect("closed");
    (entries, overlaps)
}

fn a_writer_killed_mid_stream_keeps_every_acknowledged_write() {
    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join("shiftdesk.db");
    let runtime = runtime();
    let (customer, conversation) = runtime.block_on(async {
        let store = SqliteStore::open(&SqliteConfig::new(&path))
            .await
            .expect("the file opens");
        let service = service(store.clone());
        let admin = Context::new(Actor::System);
        let customer = NewCustomer {
            external_id: ExternalId::parse("doomed").expect("an id"),
            display_name: DisplayName::parse("Doomed").expect("a name"),
        };
        let customer = service
            .register_customer(&admin, customer)
            .await
            .expect("a customer");
        let ctx = Context::new(Actor::Customer { id: customer.id });
        let opened = service
            .open_conversation(&ctx, None, None)
            .await
            .expect("a conversation");
        store.close().await;
        (customer.id.get(), opened.id.get())
    });

    let vars = [
        (CUSTOMER, customer.to_string()),
        (CONVERSATION, conversation.to_string()),
    ];
    let mut writer = spawn_child("endless", &path, &vars);
    let (acked, _) = acknowledged(&mut writer, Some(300));
    let status = writer.wait().expect("the child ends");
    assert!(
        !status.success(),
        "the writer was killed, not finished: {status}"
    );
    assert!(acked.len() >= 300, "{} acknowledged", acked.len());

    let stored = runtime.block_on(stored_client_ids(&path, conversation));
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
}
