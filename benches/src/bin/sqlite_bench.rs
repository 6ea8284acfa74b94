//! Benchmarks of the SQLite store, each with a baseline measured in the same run.
//!
//! ```text
//! cargo run --release -p shiftdesk-benches --bin shiftdesk-sqlite-bench -- [--quick] [NAME…]
//! ```
//!
//! NAME is any of `assign50`, `month`, `append`, `search` (all when none is given). Each run
//! works on new database files in a temporary folder, removed at the end; set `TMPDIR` to
//! measure another disk. `--quick` runs a few repetitions of each, and searches a smaller
//! corpus, for a smoke test. Figures are medians; each prints its baseline and the ratio.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, Utc};
use shiftdesk_benches as fixture;
use shiftdesk_core::Service;
use shiftdesk_core::assign::BatchAssignment;
use shiftdesk_core::conversation::NewCustomer;
use shiftdesk_core::event::SilentNotifier;
use shiftdesk_core::ids::{AgentId, ShiftId};
use shiftdesk_core::message::MessageKind;
use shiftdesk_core::schedule::{EntryOrigin, NewEntry};
use shiftdesk_core::search::{ConversationFilter, Page};
use shiftdesk_core::service::{AssignOptions, Outgoing};
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::store::Store;
use shiftdesk_core::text::{ClientMessageId, DisplayName, ExternalId, MessageBody, SearchText};
use shiftdesk_core::time::{DateRange, ManualClock};
use shiftdesk_store_sqlite::{SqliteConfig, SqliteStore};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

/// Runs a closure `times` times and returns the median duration.
async fn median<F, Fut>(times: usize, mut run: F) -> Duration
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut samples = Vec::with_capacity(times);
    for round in 0..times {
        samples.push(run(round).await);
    }
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

struct Report {
    lines: Vec<String>,
}

impl Report {
    fn line(&mut self, name: &str, value: String, baseline: String, ratio: f64) {
        let line = format!("{name:<52} {value:>14}   baseline {baseline:>14}   ratio {ratio:>6.2}");
        println!("{line}");
        self.lines.push(line);
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|arg| arg == "--quick");
    let wanted: Vec<&str> = args
        .iter()
        .filter(|arg| !arg.starts_with("--"))
        .map(String::as_str)
        .collect();
    let runs = |name: &str| wanted.is_empty() || wanted.contains(&name);
    let folder = tempfile::tempdir().unwrap_or_else(|error| {
        eprintln!("cannot create a temporary folder: {error}");
        std::process::exit(2);
    });
    let mut report = Report { lines: Vec::new() };

    if runs("assign50") || runs("month") || runs("append") {
        let store = open(&folder.path().join("bench.db")).await;
        if runs("assign50") {
            assign50(&store, quick, &mut report).await;
        }
        if runs("month") {
            month(&store, quick, &mut report).await;
        }
        if runs("append") {
            append(&store, quick, &mut report).await;
        }
        store.close().await;
    }
    if runs("search") {
        search(&folder.path().join("search.db"), quick, &mut report).await;
    }
}

async fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(&SqliteConfig::new(path))
        .await
        .expect("the bench database opens")
}

fn service(store: Arc<dyn Store>) -> Service {
    let clock = Arc::new(ManualClock::new(DateTime::<Utc>::UNIX_EPOCH));
    Service::new(store, Arc::new(SilentNotifier), clock)
}

fn day(base: NaiveDate, offset: u64) -> NaiveDate {
    base.checked_add_days(Days::new(offset)).expect("a date")
}

/// The entries a batch would write for `agents` on `dates`, for the bare-insert baselines.
fn entries(agents: &[AgentId], shift: ShiftId, dates: DateRange) -> Vec<NewEntry> {
    let team = fixture::team();
    let times = fixture::shifts()[1].times;
    let mut made = Vec::new();
    for &agent in agents {
        for date in dates.iter() {
            made.push(NewEntry {
                agent,
                shift,
                date,
                span: times.span_on(date, team.time_zone),
                origin: EntryOrigin::Assigned,
            });
        }
    }
    made
}

/// The same rows as the service writes, in one transaction of their own: no check, no
/// audit.
async fn bare_insert(store: &SqliteStore, rows: &[NewEntry]) -> Duration {
    let started = Instant::now();
    let mut tx = store.begin().await.expect("begin");
    tx.insert_entries(rows).await.expect("insert");
    tx.commit().await.expect("commit");
    started.elapsed()
}

/// 50 agents onto one date: the whole transaction, with the lock, the check and the audit.
async fn assign50(store: &SqliteStore, quick: bool, report: &mut Report) {
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let (service, ctx, agents, shifts) = fixture::seeded(shared, 1000).await;
    let base = NaiveDate::from_ymd_opt(2027, 1, 1).expect("a date");
    let rounds = if quick { 5 } else { 40 };

    let planned = median(rounds, |round| {
        let batch = BatchAssignment {
            shift: shifts[1],
            dates: DateRange::single(day(base, round as u64)),
            weekdays: None,
            agents: agents[..50].to_vec(),
        };
        let (service, ctx) = (service.clone(), ctx.clone());
        async move {
            let started = Instant::now();
            service
                .assign_batch(&ctx, &batch, AssignOptions::default())
                .await
                .expect("assigned");
            started.elapsed()
        }
    })
    .await;
    let bare = median(rounds, |round| {
        let rows = entries(
            &agents[50..100],
            shifts[1],
            DateRange::single(day(base, round as u64)),
        );
        async move { bare_insert(store, &rows).await }
    })
    .await;
    report.line(
        "assign 50 agents to one date (service, SQLite)",
        format!("{:.2} ms", ms(planned)),
        format!("{:.2} ms", ms(bare)),
        ms(planned) / ms(bare),
    );
}

/// 1,000 agents × 31 days in one request, against a bare insert of the same rows.
async fn month(store: &SqliteStore, quick: bool, report: &mut Report) {
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let service = service(shared);
    let ctx = Context::new(Actor::System);
    let agents: Vec<AgentId> = service
        .agents(&ctx)
        .await
        .expect("agents")
        .into_iter()
        .map(|agent| agent.id)
        .collect();
    let shifts = service.shifts(&ctx).await.expect("shifts");
    let base = NaiveDate::from_ymd_opt(2028, 1, 1).expect("a date");
    let rounds = if quick { 1 } else { 5 };
    let month_of = |round: usize| {
        let first = day(base, round as u64 * 80);
        DateRange::new(first, day(first, 30)).expect("31 days")
    };

    let planned = median(rounds, |round| {
        let batch = BatchAssignment {
            shift: shifts[1].id,
            dates: month_of(round),
            weekdays: None,
            agents: agents.clone(),
        };
        let (service, ctx) = (service.clone(), ctx.clone());
        async move {
            let started = Instant::now();
            service
                .assign_batch(&ctx, &batch, AssignOptions::default())
                .await
                .expect("assigned");
            started.elapsed()
        }
    })
    .await;
    let bare = median(rounds, |round| {
        let first = day(month_of(round).first(), 40);
        let rows = entries(
            &agents,
            shifts[1].id,
            DateRange::new(first, day(first, 30)).expect("dates"),
        );
        async move { bare_insert(store, &rows).await }
    })
    .await;
    report.line(
        "1,000 agents x 31 days in one request",
        format!("{:.0} ms", ms(planned)),
        format!("{:.0} ms", ms(bare)),
        ms(planned) / ms(bare),
    );
}

/// A store that commits every message in its own transaction: the baseline for group commit.
struct OneByOne(SqliteStore);

#[async_trait::async_trait]
impl Store for OneByOne {
    async fn begin(
        &self,
    ) -> Result<Box<dyn shiftdesk_core::store::Tx>, shiftdesk_core::store::StoreError> {
        self.0.begin().await
    }

    async fn begin_read(
        &self,
    ) -> Result<Box<dyn shiftdesk_core::store::Tx>, shiftdesk_core::store::StoreError> {
        self.0.begin_read().await
    }
}

/// Messages per second from 32 concurrent senders, each waiting for its acknowledgement.
async fn append(store: &SqliteStore, quick: bool, report: &mut Report) {
    let per_sender = if quick { 50 } else { 400 };
    let rounds = if quick { 1 } else { 3 };
    let grouped: Arc<dyn Store> = Arc::new(store.clone());
    let alone: Arc<dyn Store> = Arc::new(OneByOne(store.clone()));
    let with_groups = median(rounds, |round| {
        send_all(grouped.clone(), round * 2, per_sender)
    })
    .await;
    let without = median(rounds, |round| {
        send_all(alone.clone(), round * 2 + 1, per_sender)
    })
    .await;
    let total = (32 * per_sender) as f64;
    let rate = total / with_groups.as_secs_f64();
    let baseline = total / without.as_secs_f64();
    report.line(
        "message append, 32 concurrent senders",
        format!("{rate:.0} msg/s"),
        format!("{baseline:.0} msg/s"),
        rate / baseline,
    );
}

/// Elapsed time for 32 customers to send `count` messages each, one after another.
async fn send_all(store: Arc<dyn Store>, round: usize, count: usize) -> Duration {
    let service = service(store);
    let admin = Context::new(Actor::System);
    let mut senders = Vec::new();
    for n in 0..32 {
        let customer = NewCustomer {
            external_id: ExternalId::parse(&format!("bench-{round}-{n}")).expect("an id"),
            display_name: DisplayName::parse(&format!("Customer {n}")).expect("a name"),
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
        senders.push((ctx, opened.id));
    }
    let body = MessageBody::parse("您好，我想改签明天的航班，可以吗？").expect("a body");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (ctx, conversation) in senders {
        let (service, body) = (service.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..count {
                let outgoing = Outgoing {
                    client_id: ClientMessageId::parse(&format!("m{n}")).ok(),
                    kind: MessageKind::Message,
                    body: body.clone(),
                };
                service
                    .send(&ctx, conversation, outgoing)
                    .await
                    .expect("sent");
            }
        }));
    }
    for task in tasks {
        task.await.expect("a sender finishes");
    }
    started.elapsed()
}

const CORPUS_PER_CONVERSATION: usize = 50;

/// A substring search for a two-character Chinese term and an English word over a corpus of
/// real multilingual dialog text (a million messages; a hundred thousand with `--quick`),
/// against a bare scan of every folded body.
async fn search(path: &Path, quick: bool, report: &mut Report) {
    let messages = if quick { 100_000 } else { 1_000_000 };
    let store = open(path).await;
    let started = Instant::now();
    build_corpus(path, messages).await;
    eprintln!(
        "search corpus: {messages} messages loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let service = service(shared);
    let ctx = Context::new(Actor::System);
    let rounds = if quick { 3 } else { 11 };
    let scale = if quick { "100,000" } else { "1,000,000" };
    for term in ["退票", "hello"] {
        let filter = ConversationFilter {
            text: Some(SearchText::parse(term).expect("a term")),
            ..ConversationFilter::default()
        };
        let first_page = median(rounds, |_| {
            let (service, ctx, filter) = (service.clone(), ctx.clone(), filter.clone());
            async move {
                let started = Instant::now();
                let page = Page {
                    before: None,
                    limit: 50,
                };
                service
                    .conversations(&ctx, filter, page)
                    .await
                    .expect("searched");
                started.elapsed()
            }
        })
        .await;
        let counted = median(rounds, |_| {
            let (service, ctx, filter) = (service.clone(), ctx.clone(), filter.clone());
            async move {
                let started = Instant::now();
                service
                    .count_conversations(&ctx, filter)
                    .await
                    .expect("counted");
                started.elapsed()
            }
        })
        .await;
        // The same count by scanning every folded body once, with nothing else to do.
        let scanned = median(rounds, |_| {
            let pool = store.readers().clone();
            let needle = shiftdesk_core::search::fold(term);
            async move {
                let started = Instant::now();
                let _: i64 = sqlx::query_scalar(
                    "SELECT count(DISTINCT conversation_id) FROM messages \
                     WHERE instr(folded, ?1) > 0",
                )
                .bind(needle)
                .fetch_one(&pool)
                .await
                .expect("scanned");
                started.elapsed()
            }
        })
        .await;
        report.line(
            &format!("search {term:?} over {scale} messages: count"),
            format!("{:.1} ms", ms(counted)),
            format!("{:.1} ms", ms(scanned)),
            ms(counted) / ms(scanned),
        );
        report.line(
            &format!("search {term:?} over {scale} messages: first page"),
            format!("{:.1} ms", ms(first_page)),
            format!("{:.1} ms", ms(scanned)),
            ms(first_page) / ms(scanned),
        );
    }
    store.close().await;
}

/// Loads `messages` messages of dialog text, 50 to a conversation, with 我想退票 planted in
/// one message in a thousand, straight into the tables.
async fn build_corpus(path: &Path, messages: usize) {
    let options = SqliteConnectOptions::new().filename(path);
    let mut connection = SqliteConnection::connect_with(&options)
        .await
        .expect("the corpus file opens");
    let conversations = messages / CORPUS_PER_CONVERSATION;
    let mut tx = connection.begin().await.expect("begin");
    sqlx::query(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?1) \
         INSERT INTO customers (external_id, display_name) \
         SELECT 'c' || x, 'Customer ' || x FROM n",
    )
    .bind(conversations as i64)
    .execute(&mut *tx)
    .await
    .expect("customers");
    sqlx::query(
        "INSERT INTO conversations (customer_id, state, owner_since, created_at) \
         SELECT id, 'open', 0, 0 FROM customers ORDER BY id",
    )
    .execute(&mut *tx)
    .await
    .expect("conversations");
    sqlx::query(
        "INSERT INTO conversation_counters (conversation_id, message_count, last_activity_at) \
         SELECT id, ?1, 0 FROM conversations",
    )
    .bind(CORPUS_PER_CONVERSATION as i64)
    .execute(&mut *tx)
    .await
    .expect("counters");

    let turns = fixture::dialog_turns();
    let chunk = 20_000;
    let mut written = 0;
    while written < messages {
        let mut rows = Vec::with_capacity(chunk);
        for n in written..(written + chunk).min(messages) {
            let body = if n % 1000 == 7 {
                "我想退票，可以吗？".to_owned()
            } else {
                turns[n % turns.len()].clone()
            };
            let folded = shiftdesk_core::search::fold(&body);
            let conversation = (n / CORPUS_PER_CONVERSATION + 1) as i64;
            let seq = (n % CORPUS_PER_CONVERSATION + 1) as i64;
            rows.push(serde_json::json!([conversation, seq, body, folded]));
        }
        sqlx::query(
            "INSERT INTO messages (conversation_id, seq, sender_kind, sender_id, kind, body, \
                 sent_at, folded) \
             SELECT value ->> 0, value ->> 1, 'customer', value ->> 0, 'message', \
                    value ->> 2, 0, value ->> 3 \
             FROM json_each(?1)",
        )
        .bind(serde_json::Value::from(rows).to_string())
        .execute(&mut *tx)
        .await
        .expect("messages");
        written = (written + chunk).min(messages);
    }
    tx.commit().await.expect("commit");
    sqlx::query("ANALYZE")
        .execute(&mut connection)
        .await
        .expect("analyze");
    connection.close().await.expect("closed");
}
