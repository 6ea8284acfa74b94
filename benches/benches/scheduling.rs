//! Scheduling benchmarks.
//!
//! - `conflict_check`: a batch of 1,000 agents × 31 days checked against 100,000 existing
//!   entries, pure `core` (index the history, then check every agent-day). Baseline: indexing
//!   the history alone.
//! - `assign_50_agents_memory`: 50 agents onto one date through the service on the memory
//!   store, the whole transaction (lock, read, check, write, audit, commit). Baseline: the
//!   store writing the same 50 entries in a transaction with no check and no audit.
//!
//! Run with `cargo bench -p shiftdesk-benches --bench scheduling`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use shiftdesk_benches as fixture;
use shiftdesk_core::assign::BatchAssignment;
use shiftdesk_core::conflict::Roster;
use shiftdesk_core::schedule::{EntryOrigin, NewEntry};
use shiftdesk_core::service::AssignOptions;
use shiftdesk_core::store::Store;
use shiftdesk_store_memory::MemoryStore;

fn conflict_check(c: &mut Criterion) {
    let team = fixture::team();
    let agents = fixture::agents(1000);
    let shifts = fixture::shifts();
    // 100 days of day shifts before the month being planned: 100,000 entries.
    let history = fixture::history(&agents, &shifts[1], fixture::dates(0, 99), &team);
    // Nights for everyone over the next 31 days; the first night is too close to the last
    // day shift for an 11-hour rest, so every agent meets one conflict.
    let batch = BatchAssignment {
        shift: shifts[3].id,
        dates: fixture::dates(99, 129),
        weekdays: None,
        agents: agents.iter().map(|agent| agent.id).collect(),
    };
    let placements = batch.placements();

    let mut group = c.benchmark_group("conflict_check");
    group.sample_size(30);
    group.bench_function("index_100k_history_baseline", |b| {
        b.iter_batched(
            || (agents.clone(), shifts.clone()),
            |(agents, shifts)| black_box(Roster::new(team.clone(), agents, shifts, &history, [])),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("check_1000x31_against_100k", |b| {
        b.iter_batched(
            || (agents.clone(), shifts.clone()),
            |(agents, shifts)| {
                let roster = Roster::new(team.clone(), agents, shifts, &history, []);
                black_box(roster.check(&placements, &[]))
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn assign_50_agents_memory(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("assign_50_agents_memory");

    group.bench_function("bare_store_insert_baseline", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let store = Arc::new(MemoryStore::new());
                let (_, _, agents, shifts) = fixture::seeded(store.clone(), 50).await;
                let started = Instant::now();
                for day in 0..iters {
                    let entries = new_entries(&agents, shifts[1], day);
                    let mut tx = store.begin().await.expect("begin");
                    black_box(tx.insert_entries(&entries).await.expect("insert"));
                    tx.commit().await.expect("commit");
                }
                started.elapsed()
            })
        })
    });
    group.bench_function("service_assign", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let store = Arc::new(MemoryStore::new());
                let (service, ctx, agents, shifts) = fixture::seeded(store, 50).await;
                let mut elapsed = Duration::ZERO;
                for day in 0..iters {
                    let batch = BatchAssignment {
                        shift: shifts[1],
                        dates: fixture::dates(day, day),
                        weekdays: None,
                        agents: agents.clone(),
                    };
                    let started = Instant::now();
                    let outcome = service.assign_batch(&ctx, &batch, AssignOptions::default());
                    black_box(outcome.await.expect("no conflicts on a fresh date"));
                    elapsed += started.elapsed();
                }
                elapsed
            })
        })
    });
    group.finish();
}

/// The entries the service would write for `agents` on day `day`.
fn new_entries(
    agents: &[shiftdesk_core::ids::AgentId],
    shift: shiftdesk_core::ids::ShiftId,
    day: u64,
) -> Vec<NewEntry> {
    let team = fixture::team();
    let times = fixture::shifts()[1].times;
    agents
        .iter()
        .map(|&agent| NewEntry {
            agent,
            shift,
            date: fixture::date(day),
            span: times.span_on(fixture::date(day), team.time_zone),
            origin: EntryOrigin::Assigned,
        })
        .collect()
}

criterion_group!(benches, conflict_check, assign_50_agents_memory);
criterion_main!(benches);
