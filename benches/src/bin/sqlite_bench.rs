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
use std::time::Instant;

use shiftdesk_benches as fixture;
use shiftdesk_benches::runs::{self, Args, Report, median, ms};
use shiftdesk_core::search::{ConversationFilter, Page};
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::store::Store;
use shiftdesk_core::text::SearchText;
use shiftdesk_store_sqlite::{SqliteConfig, SqliteStore};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args::from_env();
    let folder = tempfile::tempdir().unwrap_or_else(|error| {
        eprintln!("cannot create a temporary folder: {error}");
        std::process::exit(2);
    });
    let mut report = Report::default();

    if args.runs("assign50") || args.runs("month") || args.runs("append") {
        let store = open(&folder.path().join("bench.db")).await;
        runs::shared(Arc::new(store.clone()), "SQLite", &args, &mut report).await;
        store.close().await;
    }
    if args.runs("search") {
        search(&folder.path().join("search.db"), args.quick, &mut report).await;
    }
}

async fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(&SqliteConfig::new(path))
        .await
        .expect("the bench database opens")
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
    let service = runs::service(shared);
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
