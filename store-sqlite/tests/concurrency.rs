//! Concurrency on a real database file: many tasks planning and swapping over the same agents
//! at once (the shared scenario of `shiftdesk_tests`), their writing transactions taking turns
//! on the write lock while reads run beside them; then SQL over the stored rows: no two
//! overlapping working entries, no rest shorter than the team's.

mod common;

use std::sync::Arc;

use common::TestStore;
use shiftdesk_tests::concurrency::batches_and_swaps_at_once;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_and_swaps_never_overlap_and_refuse_exactly_what_they_met() {
    let test = Arc::new(TestStore::new().await);
    batches_and_swaps_at_once(test.clone()).await;
    let pool = test.store.readers().clone();

    let overlapping: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM schedule_entries a JOIN schedule_entries b \
           ON a.agent_id = b.agent_id AND a.id < b.id \
         WHERE a.status = 'scheduled' AND b.status = 'scheduled' \
           AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at",
    )
    .fetch_one(&pool)
    .await
    .expect("the overlap check runs");
    assert_eq!(overlapping, 0, "no agent works two overlapping entries");
    let short_rest: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM schedule_entries a JOIN schedule_entries b \
           ON a.agent_id = b.agent_id AND a.id <> b.id \
         WHERE a.status = 'scheduled' AND b.status = 'scheduled' \
           AND a.ends_at <= b.starts_at \
           AND b.starts_at - a.ends_at < 8 * 3600 * 1000000",
    )
    .fetch_one(&pool)
    .await
    .expect("the rest check runs");
    assert_eq!(
        short_rest, 0,
        "every agent rests eight hours between working entries"
    );
}
