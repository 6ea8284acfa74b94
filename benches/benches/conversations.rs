//! Conversation benchmarks.
//!
//! - `append_message_memory`: a customer's message through the service on the memory store
//!   (visibility check, sequence number, commit, event). Baseline: the store alone appending
//!   the same message in a transaction.
//! - `routing_decision`: choosing an agent among 1,000 on shift and online who hold 5,000 open
//!   conversations between them, pure `core`. Baseline: finding the least loaded of the same
//!   1,000 loads with no rule applied.
//!
//! Run with `cargo bench -p shiftdesk-benches --bench conversations`.

use std::hint::black_box;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use shiftdesk_benches as fixture;
use shiftdesk_core::conversation::NewCustomer;
use shiftdesk_core::message::{MessageKind, NewMessage, Sender};
use shiftdesk_core::routing::{self, AgentLoad};
use shiftdesk_core::service::Outgoing;
use shiftdesk_core::staff::{Actor, Capacity, Context};
use shiftdesk_core::store::Store;
use shiftdesk_core::text::{ClientMessageId, DisplayName, ExternalId, MessageBody};
use shiftdesk_store_memory::MemoryStore;

fn append_message_memory(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let (service, customer_ctx, conversation, store) = runtime.block_on(async {
        let store = Arc::new(MemoryStore::new());
        let (service, admin, _, _) = fixture::seeded(store.clone(), 1).await;
        let customer = NewCustomer {
            external_id: ExternalId::parse("platform-1").expect("valid"),
            display_name: DisplayName::parse("李伟").expect("valid"),
        };
        let customer = service
            .register_customer(&admin, customer)
            .await
            .expect("customer");
        let ctx = Context::new(Actor::Customer { id: customer.id });
        let opened = service
            .open_conversation(&ctx, None, None)
            .await
            .expect("conversation");
        (service, ctx, opened.id, store)
    });
    let body = MessageBody::parse("我想退票，请问怎么操作？").expect("valid");

    let mut group = c.benchmark_group("append_message_memory");
    group.bench_function("bare_store_append_baseline", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            let message = NewMessage {
                conversation,
                client_id: ClientMessageId::parse(&format!("base-{n}")).ok(),
                sender: Sender::System,
                kind: MessageKind::Message,
                body: body.clone(),
                sent_at: DateTime::<Utc>::UNIX_EPOCH,
            };
            runtime.block_on(async {
                let mut tx = store.begin().await.expect("begin");
                black_box(tx.append_message(&message).await.expect("append"));
                tx.commit().await.expect("commit");
            })
        })
    });
    group.bench_function("service_send", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            let outgoing = Outgoing {
                client_id: ClientMessageId::parse(&format!("send-{n}")).ok(),
                kind: MessageKind::Message,
                body: body.clone(),
            };
            let sent = runtime.block_on(service.send(&customer_ctx, conversation, outgoing));
            black_box(sent.expect("sent"))
        })
    });
    group.finish();
}

fn routing_decision(c: &mut Criterion) {
    let agents = fixture::agents(1000);
    // Everyone on shift; every other agent online.
    let on_shift: Vec<_> = agents.iter().map(|agent| agent.id).collect();
    let online: Vec<_> = on_shift.iter().copied().step_by(2).collect();
    let start = DateTime::<Utc>::UNIX_EPOCH;
    // 5,000 open conversations spread over the agents: four or six each.
    let loads: Vec<AgentLoad> = agents
        .iter()
        .enumerate()
        .map(|(n, agent)| AgentLoad {
            agent: agent.id,
            open: if n % 2 == 0 { 4 } else { 6 },
            last_assigned_at: Some(start + TimeDelta::seconds((n * 7919 % 1000) as i64)),
        })
        .collect();
    let capacity = Capacity::new(8).expect("valid");

    let mut group = c.benchmark_group("routing_decision");
    group.bench_function("least_loaded_scan_baseline", |b| {
        b.iter(|| black_box(loads.iter().min_by_key(|load| (load.open, load.agent))))
    });
    group.bench_function("choose_among_1000_agents_5000_open", |b| {
        b.iter(|| {
            let candidates = routing::candidates(&agents, &on_shift, &online, &loads, capacity);
            black_box(routing::choose_agent(&candidates, &[]))
        })
    });
    group.finish();
}

criterion_group!(benches, append_message_memory, routing_decision);
criterion_main!(benches);
