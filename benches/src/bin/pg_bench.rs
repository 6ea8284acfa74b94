//! Benchmarks of the PostgreSQL store, each with a baseline measured in the same run.
//!
//! ```text
//! SHIFTDESK_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release -p shiftdesk-benches --bin shiftdesk-pg-bench -- [--quick] [NAME…]
//! ```
//!
//! NAME is any of `assign50`, `month`, `append`, `search` (all when none is given). The URL
//! names a server and a database to connect to first; the benchmarks create and drop their
//! own databases (`shiftdesk_bench`, and `shiftdesk_bench_search`, which is kept between runs
//! because loading a million messages takes a while). `--quick` runs a few repetitions of
//! each, for a smoke test. Figures are medians; each prints its baseline and the ratio.

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
use shiftdesk_store_postgres::PgStore;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};

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
    let Ok(url) = std::env::var("SHIFTDESK_BENCH_DATABASE_URL") else {
        eprintln!("set SHIFTDESK_BENCH_DATABASE_URL to a postgres:// URL to run these benchmarks");
        std::process::exit(2);
    };
    let admin: PgConnectOptions = url.parse().unwrap_or_else(|error| {
        eprintln!("SHIFTDESK_BENCH_DATABASE_URL is not valid: {error}");
        std::process::exit(2);
    });
    let mut report = Report { lines: Vec::new() };

    if runs("assign50") || runs("month") || runs("append") {
        let store = fresh_database(&admin, "shiftdesk_bench", 40).await;
        if runs("assign50") {
            assign50(&store, quick, &mut report).await;
        }
        if runs("month") {
            month(&store, quick, &mut report).await;
        }
        if runs("append") {
            append(&store, quick, &mut report).await;
        }
    }
    if runs("search") {
        search(&admin, quick, &mut report).await;
    }
}

/// Drops and recreates a database, migrated.
async fn fresh_database(admin: &PgConnectOptions, name: &str, connections: u32) -> PgStore {
    let mut connection = PgConnection::connect_with(admin)
        .await
        .expect("the server answers");
    let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    sqlx::query(&drop)
        .execute(&mut connection)
        .await
        .expect("drop");
    let create = format!("CREATE DATABASE \"{name}\"");
    sqlx::query(&create)
        .execute(&mut connection)
        .await
        .expect("create");
    connect(admin, name, connections).await
}

async fn connect(admin: &PgConnectOptions, name: &str, connections: u32) -> PgStore {
    let pool = PgPoolOptions::new()
        .max_connections(connections)
        .connect_with(shiftdesk_store_postgres::tuned(
            admin.clone().database(name),
        ))
        .await
        .expect("the bench database opens");
    let store = PgStore::from_pool(pool);
    store.migrate().await.expect("migrations");
    store
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

async fn bare_insert(store: &PgStore, rows: &[NewEntry]) -> Duration {
    let started = Instant::now();
    let mut tx = store.begin().await.expect("begin");
    tx.insert_entries(rows).await.expect("insert");
    tx.commit().await.expect("commit");
    started.elapsed()
}

/// 50 agents onto one date: the whole transaction, with locks, the check and the audit.
async fn assign50(store: &PgStore, quick: bool, report: &mut Report) {
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
        "assign 50 agents to one date (service, PostgreSQL)",
        format!("{:.2} ms", ms(planned)),
        format!("{:.2} ms", ms(bare)),
        ms(planned) / ms(bare),
    );
}

/// 1,000 agents × 31 days in one request, against a bare insert of the same rows.
async fn month(store: &PgStore, quick: bool, report: &mut Report) {
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
struct OneByOne(PgStore);

#[async_trait::async_trait]
impl Store for OneByOne {
    async fn begin(
        &self,
    ) -> Result<Box<dyn shiftdesk_core::store::Tx>, shiftdesk_core::store::StoreError> {
        self.0.begin().await
    }
}

/// Messages per second from 32 concurrent senders, each waiting for its acknowledgement.
async fn append(store: &PgStore, quick: bool, report: &mut Report) {
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

/// How many messages the search corpus holds.
const CORPUS_MESSAGES: usize = 1_000_000;
const CORPUS_PER_CONVERSATION: usize = 50;

/// A substring search for a two-character Chinese term over a million messages.
async fn search(admin: &PgConnectOptions, quick: bool, report: &mut Report) {
    let name = "shiftdesk_bench_search";
    let store = match existing_corpus(admin, name).await {
        Some(store) => store,
        None => build_corpus(admin, name).await,
    };
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let service = service(shared);
    let ctx = Context::new(Actor::System);
    let rounds = if quick { 3 } else { 21 };
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
        // The same count by scanning every message body, as without the bigram index.
        let scanned = median(rounds.min(5), |_| {
            let pool = store.pool().clone();
            let needle = term.to_lowercase();
            async move {
                let started = Instant::now();
                let _: i64 = sqlx::query_scalar(
                    "SELECT count(DISTINCT conversation_id) FROM messages \
                     WHERE strpos(folded, $1) > 0",
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
            &format!("search {term:?} over 1,000,000 messages: count"),
            format!("{:.1} ms", ms(counted)),
            format!("{:.1} ms", ms(scanned)),
            ms(counted) / ms(scanned),
        );
        report.line(
            &format!("search {term:?} over 1,000,000 messages: first page"),
            format!("{:.1} ms", ms(first_page)),
            format!("{:.1} ms", ms(scanned)),
            ms(first_page) / ms(scanned),
        );
    }
}

async fn existing_corpus(admin: &PgConnectOptions, name: &str) -> Option<PgStore> {
    let mut connection = PgConnection::connect_with(admin).await.ok()?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut connection)
            .await
            .ok()?;
    if !exists {
        return None;
    }
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(shiftdesk_store_postgres::tuned(
            admin.clone().database(name),
        ))
        .await
        .ok()?;
    let store = PgStore::from_pool(pool);
    // A corpus built under another schema is rebuilt.
    store.migrate().await.ok()?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(store.pool())
        .await
        .ok()?;
    (count as usize >= CORPUS_MESSAGES).then_some(store)
}

/// Loads a million messages of real multilingual dialog text, with 我想退票 planted in one
/// message in a thousand.
async fn build_corpus(admin: &PgConnectOptions, name: &str) -> PgStore {
    eprintln!("building the search corpus (a million messages, once)…");
    let store = fresh_database(admin, name, 8).await;
    let turns = fixture::dialog_turns();
    let pool = store.pool().clone();
    let conversations = CORPUS_MESSAGES / CORPUS_PER_CONVERSATION;
    sqlx::query(
        "INSERT INTO customers (external_id, display_name) \
         SELECT 'c' || n, 'Customer ' || n FROM generate_series(1, $1) AS n",
    )
    .bind(conversations as i64)
    .execute(&pool)
    .await
    .expect("customers");
    sqlx::query(
        "INSERT INTO conversations (customer_id, state, owner_since, created_at) \
         SELECT n, 'open', now(), now() FROM generate_series(1, $1) AS n",
    )
    .bind(conversations as i64)
    .execute(&pool)
    .await
    .expect("conversations");
    sqlx::query(
        "INSERT INTO conversation_counters (conversation_id, message_count, last_activity_at) \
         SELECT id, $1, now() FROM conversations",
    )
    .bind(CORPUS_PER_CONVERSATION as i64)
    .execute(&pool)
    .await
    .expect("counters");

    let chunk = 20_000;
    let mut written = 0;
    while written < CORPUS_MESSAGES {
        let mut ids = Vec::with_capacity(chunk);
        let mut seqs = Vec::with_capacity(chunk);
        let mut bodies = Vec::with_capacity(chunk);
        let mut folded = Vec::with_capacity(chunk);
        let mut grams = Vec::with_capacity(chunk);
        for n in written..(written + chunk).min(CORPUS_MESSAGES) {
            let body = if n % 1000 == 7 {
                "我想退票，可以吗？".to_owned()
            } else {
                turns[n % turns.len()].clone()
            };
            let lower = body.to_lowercase();
            grams.push(shiftdesk_core::search::bigrams(&lower).join("\u{1}"));
            folded.push(lower);
            bodies.push(body);
            ids.push((n / CORPUS_PER_CONVERSATION + 1) as i64);
            seqs.push((n % CORPUS_PER_CONVERSATION + 1) as i64);
        }
        sqlx::query(
            "INSERT INTO messages (conversation_id, seq, sender_kind, sender_id, kind, body, \
                 sent_at, folded, grams) \
             SELECT id, seq, 'customer', id, 'message', body, now(), folded, \
                    CASE WHEN grams = '' THEN '{}'::text[] \
                         ELSE string_to_array(grams, E'\\x01') END \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[]) \
                  AS given(id, seq, body, folded, grams)",
        )
        .bind(&ids)
        .bind(&seqs)
        .bind(&bodies)
        .bind(&folded)
        .bind(&grams)
        .execute(&pool)
        .await
        .expect("messages");
        written += ids.len();
    }
    sqlx::query("ANALYZE")
        .execute(&pool)
        .await
        .expect("analyze");
    store
}
