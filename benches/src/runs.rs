//! The benchmarks every durable store runs alike, each against a baseline measured in the same
//! run: assigning 50 agents, a 31,000-entry month, and message append from 32 senders.
//!
//! A store's benchmark binary opens its store, hands it over as a [`Store`], and adds what only
//! it measures (search, whose baseline is a scan in the store's own SQL). A measurement and its
//! baseline take turns round by round, so both meet the same table sizes and the same
//! background load; each figure is the median of its rounds.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, Utc};
use shiftdesk_core::Service;
use shiftdesk_core::assign::BatchAssignment;
use shiftdesk_core::conversation::NewCustomer;
use shiftdesk_core::event::SilentNotifier;
use shiftdesk_core::ids::{AgentId, ShiftId};
use shiftdesk_core::message::MessageKind;
use shiftdesk_core::schedule::{EntryOrigin, NewEntry};
use shiftdesk_core::service::{AssignOptions, Outgoing};
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::store::{Store, StoreError, Tx};
use shiftdesk_core::text::{ClientMessageId, DisplayName, ExternalId, MessageBody};
use shiftdesk_core::time::{DateRange, ManualClock};

/// What the command line asked for: `--quick` and the names of the benchmarks to run.
#[derive(Debug, Clone, Default)]
pub struct Args {
    /// A few rounds of each, for a smoke test rather than a measurement.
    pub quick: bool,
    wanted: Vec<String>,
}

impl Args {
    /// The process's own arguments.
    pub fn from_env() -> Self {
        let mut args = Args::default();
        for arg in std::env::args().skip(1) {
            if arg == "--quick" {
                args.quick = true;
            } else {
                args.wanted.push(arg);
            }
        }
        args
    }

    /// Whether the benchmark `name` runs: every one does when none was named.
    pub fn runs(&self, name: &str) -> bool {
        self.wanted.is_empty() || self.wanted.iter().any(|wanted| wanted == name)
    }
}

/// The lines printed so far, one per figure.
#[derive(Debug, Default)]
pub struct Report {
    lines: Vec<String>,
}

impl Report {
    /// Prints one figure beside its baseline and the ratio between them.
    pub fn line(&mut self, name: &str, value: String, baseline: String, ratio: f64) {
        let line = format!("{name:<52} {value:>14}   baseline {baseline:>14}   ratio {ratio:>6.2}");
        println!("{line}");
        self.lines.push(line);
    }
}

/// Runs `run` `times` times and returns the median duration.
pub async fn median<F, Fut>(times: usize, mut run: F) -> Duration
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Duration>,
{
    let mut samples = Vec::with_capacity(times);
    for round in 0..times {
        samples.push(run(round).await);
    }
    middle(samples)
}

/// Runs `measured` and `baseline` in turn, `times` rounds each, and returns both medians.
pub async fn paired_medians<A, FutA, B, FutB>(
    times: usize,
    mut measured: A,
    mut baseline: B,
) -> (Duration, Duration)
where
    A: FnMut(usize) -> FutA,
    FutA: Future<Output = Duration>,
    B: FnMut(usize) -> FutB,
    FutB: Future<Output = Duration>,
{
    let mut first = Vec::with_capacity(times);
    let mut second = Vec::with_capacity(times);
    for round in 0..times {
        first.push(measured(round).await);
        second.push(baseline(round).await);
    }
    (middle(first), middle(second))
}

fn middle(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Milliseconds, for printing.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A service over `store` whose clock stands still.
pub fn service(store: Arc<dyn Store>) -> Service {
    let clock = Arc::new(ManualClock::new(DateTime::<Utc>::UNIX_EPOCH));
    Service::new(store, Arc::new(SilentNotifier), clock)
}

fn day(base: NaiveDate, offset: u64) -> NaiveDate {
    base.checked_add_days(Days::new(offset)).expect("a date")
}

/// The entries a batch would write for `agents` on `dates`, for the bare-insert baselines.
fn entries(agents: &[AgentId], shift: ShiftId, dates: DateRange) -> Vec<NewEntry> {
    let team = crate::team();
    let times = crate::shifts()[1].times;
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

/// The same rows as the service writes, in a transaction of their own: no lock, no check, no
/// audit, into the same table with its constraints and indexes.
async fn bare_insert(store: &dyn Store, rows: &[NewEntry]) -> Duration {
    let started = Instant::now();
    let mut tx = store.begin().await.expect("begin");
    tx.insert_entries(rows).await.expect("insert");
    tx.commit().await.expect("commit");
    started.elapsed()
}

/// How long the service takes to plan `batch`: locks, the check, the write and the audit.
async fn assign(service: &Service, ctx: &Context, batch: BatchAssignment) -> Duration {
    let started = Instant::now();
    service
        .assign_batch(ctx, &batch, AssignOptions::default())
        .await
        .expect("assigned");
    started.elapsed()
}

/// Runs the named ones of `assign50`, `month` and `append` on `store`, which must be empty:
/// it is seeded first with 1,000 agents and the fixture shifts.
pub async fn shared(store: Arc<dyn Store>, label: &str, args: &Args, report: &mut Report) {
    if !(args.runs("assign50") || args.runs("month") || args.runs("append")) {
        return;
    }
    let team = crate::seeded(store.clone(), 1000).await;
    if args.runs("assign50") {
        assign50(&store, &team, label, args, report).await;
    }
    if args.runs("month") {
        month(&store, &team, args, report).await;
    }
    if args.runs("append") {
        append(store, args, report).await;
    }
}

/// The seeded service, its caller, agents and shifts.
type Team = (Service, Context, Vec<AgentId>, Vec<ShiftId>);

/// 50 agents onto one date through the service, against a bare insert of 50 other agents'
/// entries on the same date.
async fn assign50(
    store: &Arc<dyn Store>,
    (service, ctx, agents, shifts): &Team,
    label: &str,
    args: &Args,
    report: &mut Report,
) {
    let base = NaiveDate::from_ymd_opt(2027, 1, 1).expect("a date");
    let rounds = if args.quick { 5 } else { 40 };
    let (planned, bare) = paired_medians(
        rounds,
        |round| {
            let batch = BatchAssignment {
                shift: shifts[1],
                dates: DateRange::single(day(base, round as u64)),
                weekdays: None,
                agents: agents[..50].to_vec(),
            };
            let (service, ctx) = (service.clone(), ctx.clone());
            async move { assign(&service, &ctx, batch).await }
        },
        |round| {
            let date = DateRange::single(day(base, round as u64));
            let rows = entries(&agents[50..100], shifts[1], date);
            let store = store.clone();
            async move { bare_insert(store.as_ref(), &rows).await }
        },
    )
    .await;
    report.line(
        &format!("assign 50 agents to one date (service, {label})"),
        format!("{:.2} ms", ms(planned)),
        format!("{:.2} ms", ms(bare)),
        ms(planned) / ms(bare),
    );
}

/// 1,000 agents × 31 days in one request, against a bare insert of the same number of rows on
/// other dates.
async fn month(
    store: &Arc<dyn Store>,
    (service, ctx, agents, shifts): &Team,
    args: &Args,
    report: &mut Report,
) {
    let shift = shifts[1];
    let base = NaiveDate::from_ymd_opt(2028, 1, 1).expect("a date");
    let rounds = if args.quick { 1 } else { 5 };
    let month_from = |offset: u64| DateRange::new(day(base, offset), day(base, offset + 30));
    let (planned, bare) = paired_medians(
        rounds,
        |round| {
            let batch = BatchAssignment {
                shift,
                dates: month_from(round as u64 * 80).expect("31 days"),
                weekdays: None,
                agents: agents.clone(),
            };
            let (service, ctx) = (service.clone(), ctx.clone());
            async move { assign(&service, &ctx, batch).await }
        },
        |round| {
            let dates = month_from(round as u64 * 80 + 40).expect("31 days");
            let rows = entries(agents, shift, dates);
            let store = store.clone();
            async move { bare_insert(store.as_ref(), &rows).await }
        },
    )
    .await;
    report.line(
        "1,000 agents x 31 days in one request",
        format!("{:.0} ms", ms(planned)),
        format!("{:.0} ms", ms(bare)),
        ms(planned) / ms(bare),
    );
}

/// A store that commits every message in a transaction of its own (the trait's default
/// `post_message`): the baseline for group commit.
struct OneByOne(Arc<dyn Store>);

#[async_trait::async_trait]
impl Store for OneByOne {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.0.begin().await
    }

    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.0.begin_read().await
    }
}

/// Messages per second from 32 concurrent senders, each waiting for its acknowledgement, with
/// the store's group commit against one transaction per message.
async fn append(store: Arc<dyn Store>, args: &Args, report: &mut Report) {
    let per_sender = if args.quick { 50 } else { 400 };
    let rounds = if args.quick { 1 } else { 3 };
    let alone: Arc<dyn Store> = Arc::new(OneByOne(store.clone()));
    let (grouped, one_by_one) = paired_medians(
        rounds,
        |round| send_all(store.clone(), round * 2, per_sender),
        |round| send_all(alone.clone(), round * 2 + 1, per_sender),
    )
    .await;
    let total = (32 * per_sender) as f64;
    let rate = total / grouped.as_secs_f64();
    let baseline = total / one_by_one.as_secs_f64();
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
