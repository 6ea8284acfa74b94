//! Concurrency on the real database: many tasks, each on its own connection, planning and
//! swapping over the same agents at once (the shared scenario of `shiftdesk_tests`), then SQL
//! over the stored rows: no two overlapping working entries, no rest shorter than the team's.

use std::sync::Arc;

use shiftdesk_store_postgres::testing::fresh_pg_store;
use shiftdesk_tests::concurrency::{TASKS, batches_and_swaps_at_once};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_and_swaps_never_overlap_and_refuse_exactly_what_they_met() {
    let Some(store) = fresh_pg_store(TASKS as u32 + 4).await else {
        return;
    };
    // The store keeps its database while it lives, so it outlives the checks below.
    let store = Arc::new(store);
    batches_and_swaps_at_once(store.clone()).await;
    let pool = store.pool();

    let overlapping: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM schedule_entries a JOIN schedule_entries b \
           ON a.agent_id = b.agent_id AND a.id < b.id \
         WHERE a.status = 'scheduled' AND b.status = 'scheduled' AND a.during && b.during",
    )
    .fetch_one(pool)
    .await
    .expect("the overlap check runs");
    assert_eq!(overlapping, 0, "no agent works two overlapping entries");
    let short_rest: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM schedule_entries a JOIN schedule_entries b \
           ON a.agent_id = b.agent_id AND a.id <> b.id \
         WHERE a.status = 'scheduled' AND b.status = 'scheduled' \
           AND upper(a.during) <= lower(b.during) \
           AND lower(b.during) - upper(a.during) < interval '8 hours'",
    )
    .fetch_one(pool)
    .await
    .expect("the rest check runs");
    assert_eq!(
        short_rest, 0,
        "every agent rests eight hours between working entries"
    );
}
