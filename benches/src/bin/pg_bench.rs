//! Benchmarks of the PostgreSQL store, each with a baseline measured in the same run.
//!
//! ```text
//! SHIFTDESK_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release -p shiftdesk-benches --bin shiftdesk-pg-bench -- [--quick] [NAME…]
//! ```
//!
//! NAME is any of `assign50`, `month`, `append`, `search`, `grid` (all when none is given).
//! The URL names a server and a database to connect to first; the benchmarks create and drop
//! their own databases (`shiftdesk_bench`, `shiftdesk_bench_grid`, and
//! `shiftdesk_bench_search`, which is kept between runs because loading a million messages
//! takes a while). `--quick` runs a few repetitions of each, for a smoke test. Figures are
//! medians; each prints its baseline and the ratio.
//!
//! `grid` starts the HTTP server in-process on `127.0.0.1:0` over its database and reads the
//! week's schedule of 1,000 agents through `GET /api/v1/schedule`, the answer read in full and
//! parsed as JSON, against the same read through the service, in alternate rounds.

use std::sync::Arc;
use std::time::Instant;

use shiftdesk_benches as fixture;
use shiftdesk_benches::http;
use shiftdesk_benches::runs::{self, Args, Report, median, ms, paired_medians};
use shiftdesk_core::assign::BatchAssignment;
use shiftdesk_core::search::{ConversationFilter, Page};
use shiftdesk_core::service::AssignOptions;
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::store::{EntryQuery, Store};
use shiftdesk_core::text::SearchText;
use shiftdesk_http::database::OpenedStore;
use shiftdesk_store_postgres::PgStore;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args::from_env();
    let Ok(url) = std::env::var("SHIFTDESK_BENCH_DATABASE_URL") else {
        eprintln!("set SHIFTDESK_BENCH_DATABASE_URL to a postgres:// URL to run these benchmarks");
        std::process::exit(2);
    };
    let admin: PgConnectOptions = url.parse().unwrap_or_else(|error| {
        eprintln!("SHIFTDESK_BENCH_DATABASE_URL is not valid: {error}");
        std::process::exit(2);
    });
    let mut report = Report::default();

    if args.runs("assign50") || args.runs("month") || args.runs("append") {
        let store = fresh_database(&admin, "shiftdesk_bench", 40).await;
        runs::shared(Arc::new(store), "PostgreSQL", &args, &mut report).await;
    }
    if args.runs("search") {
        search(&admin, args.quick, &mut report).await;
    }
    if args.runs("grid") {
        let store = fresh_database(&admin, "shiftdesk_bench_grid", 16).await;
        grid(store, args.quick, &mut report).await;
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

/// A schedule entry as a client of the grid reads it: every field of the answer, typed.
#[derive(serde::Deserialize)]
#[allow(dead_code, reason = "read to parse the answer in full, not to be used")]
struct GridEntry {
    id: i64,
    agent: i64,
    shift: i64,
    date: String,
    start: String,
    end: String,
    status: GridStatus,
    origin: GridOrigin,
}

/// An entry's status: its state and, for some states, the leave or swap behind it.
#[derive(serde::Deserialize)]
#[allow(dead_code, reason = "read to parse the answer in full, not to be used")]
struct GridStatus {
    state: String,
    leave: Option<i64>,
    to: Option<i64>,
    swap: Option<i64>,
}

/// How an entry came to be: assigned, or taken over in a swap.
#[derive(serde::Deserialize)]
#[allow(dead_code, reason = "read to parse the answer in full, not to be used")]
struct GridOrigin {
    kind: String,
    covers: Option<i64>,
    swap: Option<i64>,
}

/// The week the grid shows: 2027-01-04 (a Monday) to 2027-01-10.
const GRID_WEEK: (u64, u64) = (3, 9);

/// The schedule grid, 1,000 agents × 7 days, over HTTP against the same read through the
/// service. The agents are spread over the four fixture shifts, 250 on each.
async fn grid(store: PgStore, quick: bool, report: &mut Report) {
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let server = http::start(OpenedStore {
        store: shared.clone(),
        pool: None,
    })
    .await
    .expect("the server starts over the grid database");
    let (service, ctx, agents, shifts) = fixture::seeded(shared, 1000).await;
    let week = fixture::dates(GRID_WEEK.0, GRID_WEEK.1);
    for (group, &shift) in agents.chunks(250).zip(&shifts) {
        let batch = BatchAssignment {
            shift,
            dates: week,
            weekdays: None,
            agents: group.to_vec(),
        };
        service
            .assign_batch(&ctx, &batch, AssignOptions::default())
            .await
            .expect("the week is assigned");
    }
    // As autovacuum would soon after a week is planned: the planner knows the table's size.
    sqlx::query("ANALYZE")
        .execute(store.pool())
        .await
        .expect("analyze");

    let expected = agents.len() * week.len() as usize;
    let client = http::client(1);
    let url = format!(
        "{}/api/v1/schedule?from={}&to={}",
        server.base_url(),
        week.first(),
        week.last()
    );
    let query = EntryQuery {
        dates: week,
        agents: None,
        working_only: false,
    };
    let over_http = || {
        let (client, url, token) = (client.clone(), url.clone(), server.admin_token.clone());
        async move {
            let started = Instant::now();
            let response = client
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .expect("the server answers");
            assert!(response.status().is_success(), "{}", response.status());
            let body = response.bytes().await.expect("the whole answer");
            let grid: Vec<GridEntry> = serde_json::from_slice(&body).expect("the grid's JSON");
            let elapsed = started.elapsed();
            assert_eq!(grid.len(), expected, "every entry of the week");
            elapsed
        }
    };
    let through_service = || {
        let (service, ctx, query) = (service.clone(), ctx.clone(), query.clone());
        async move {
            let started = Instant::now();
            let entries = service.schedule(&ctx, &query).await.expect("read");
            let elapsed = started.elapsed();
            assert_eq!(entries.len(), expected, "every entry of the week");
            elapsed
        }
    };
    // A few rounds to open connections and warm the caches before any is counted.
    paired_medians(3, |_| over_http(), |_| through_service()).await;
    let rounds = if quick { 5 } else { 101 };
    let (http_median, service_median) =
        paired_medians(rounds, |_| over_http(), |_| through_service()).await;
    report.line(
        "schedule grid, 1,000 agents x 7 days (HTTP GET)",
        format!("{:.2} ms", ms(http_median)),
        format!("{:.2} ms", ms(service_median)),
        ms(http_median) / ms(service_median),
    );
    let _ = server.server.shut_down().await;
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
    let service = runs::service(shared);
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
            let needle = shiftdesk_core::search::fold(term);
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
            let body_folded = shiftdesk_core::search::fold(&body);
            grams.push(shiftdesk_core::search::bigrams(&body_folded).join("\u{1}"));
            folded.push(body_folded);
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
