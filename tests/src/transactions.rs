//! The [`Store`] and [`Tx`] contract itself, below the service: writes are invisible until
//! commit and vanish if the transaction is dropped, agent locks make a second writer wait,
//! and the store's own integrity rules hold.
//!
//! Stores may serialize more than the contract asks (the memory store runs one transaction at
//! a time, so even `begin` waits), so these cases never hold two transactions open in one
//! task and never assume that a second transaction can start while a first is open. Waiting
//! is checked without sleeping: the second writer's whole future (begin, lock, read) is
//! polled by hand and must stay pending while the first holds the lock. A correct store
//! cannot fail that check; a store that does not lock fails it as soon as the second writer
//! would have got through at once. Awaits that a broken store could leave hanging are
//! bounded by [`within`], so such a store fails instead of stalling the suite.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use shiftdesk_core::audit::{AuditAction, AuditChange, Subject};
use shiftdesk_core::ids::{AgentId, EntryId};
use shiftdesk_core::leave::{LeaveKind, NewLeave};
use shiftdesk_core::schedule::{EntryOrigin, EntryStatus, NewEntry, ScheduleEntry};
use shiftdesk_core::shift::{NewShift, ShiftTemplate, ShiftTimes};
use shiftdesk_core::staff::{Actor, Agent, Role};
use shiftdesk_core::store::{Constraint, EntryQuery, Store, StoreError, Tx};
use shiftdesk_core::swap::{NewSwap, SwapKind};
use shiftdesk_core::team::{AllowanceDays, MinRest, TeamSettings};
use shiftdesk_core::text::ShiftName;
use shiftdesk_core::time::{Span, TimeZone};

use crate::harness::{Harness, PLANNING_YEAR, at, by_id, date, dates, new_agent, time};

/// Awaits `future`, failing the case if it takes longer than any healthy store could.
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(30), future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within 30 s: a lock was never released"),
    }
}

/// Polls `future` once: its output if it is ready now, `None` if it would wait.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| match Pin::new(&mut *future).poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// Polls `future` several times, yielding in between so that other tasks (and a database's
/// replies) can make progress; its output if it finished.
async fn poll_a_while<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    for _ in 0..20 {
        if let Some(output) = poll_once(future).await {
            return Some(output);
        }
        tokio::task::yield_now().await;
    }
    None
}

/// Asserts `future` stays pending over several polls.
async fn assert_waits<F: Future + Unpin>(what: &str, future: &mut F) {
    assert!(poll_a_while(future).await.is_none(), "{what} must wait");
}

async fn begin(h: &Harness) -> Box<dyn Tx> {
    h.store.begin().await.expect("a transaction opens")
}

fn span(start: &str, end: &str) -> Span {
    Span::new(at(start), at(end)).expect("a span in order")
}

/// A day-shift entry for `agent` on 2027-06-01, as a store would be asked to insert it.
fn day_entry(agent: AgentId, shift: shiftdesk_core::ids::ShiftId) -> NewEntry {
    NewEntry {
        agent,
        shift,
        date: date("2027-06-01"),
        span: span("2027-06-01T08:00:00Z", "2027-06-01T16:00:00Z"),
        origin: EntryOrigin::Assigned,
    }
}

fn entries_of(agent: AgentId) -> EntryQuery {
    EntryQuery {
        dates: dates(PLANNING_YEAR.0, PLANNING_YEAR.1),
        agents: Some(vec![agent]),
        working_only: false,
    }
}

fn odd_settings() -> TeamSettings {
    let mut settings = TeamSettings {
        time_zone: TimeZone::parse("Asia/Kathmandu").expect("a known zone"),
        min_rest: Some(MinRest::from_minutes(MinRest::MAX_MINUTES).expect("a valid rest")),
        ..TeamSettings::default()
    };
    for (days, kind) in (0..).zip(LeaveKind::ALL) {
        let days = AllowanceDays::new(days).expect("a valid allowance");
        settings.leave_allowances.insert(kind, days);
    }
    settings
}

/// Everything a transaction writes (staff, shifts, settings, entries, leave, swaps, audit)
/// is visible to itself, invisible to others until commit, and gone when it is dropped.
pub async fn a_transaction_dropped_without_commit_leaves_no_trace(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let before = h.world().await;
    let staff = h.service.agents(&h.admin()).await.expect("listed");
    let shifts = h.service.shifts(&h.admin()).await.expect("listed");

    let mut tx = begin(&h).await;
    let mut locked = vec![ana, bo];
    locked.sort_unstable();
    tx.lock_agents(&locked).await.expect("locked");
    tx.insert_agent(&new_agent("ghost", Role::Agent, &[]))
        .await
        .expect("written");
    let inactive = Agent {
        active: false,
        ..staff.iter().find(|a| a.id == ana).expect("ana").clone()
    };
    tx.update_agent(&inactive).await.expect("written");
    let ghost_shift = NewShift {
        name: ShiftName::parse("ghost").expect("a valid name"),
        times: ShiftTimes::new(time("01:00"), time("02:00")).expect("valid times"),
        required_skill: None,
    };
    tx.insert_shift(&ghost_shift).await.expect("written");
    tx.put_team(&odd_settings()).await.expect("written");
    let entries = tx
        .insert_entries(&[day_entry(ana, s.day.id)])
        .await
        .expect("written");
    let leave = NewLeave {
        agent: bo,
        kind: LeaveKind::Sick,
        dates: dates("2027-06-01", "2027-06-01"),
        reason: None,
        requested_by: Actor::agent(bo),
        requested_at: at("2027-01-01T00:00:00Z"),
    };
    let leave = tx.insert_leave(&leave).await.expect("written");
    let swap = NewSwap {
        requester: ana,
        requester_entry: entries[0].id,
        target: bo,
        kind: SwapKind::Cover,
        note: None,
        requested_at: at("2027-01-01T00:00:00Z"),
    };
    let swap = tx.insert_swap(&swap).await.expect("written");
    let change = AuditChange {
        at: at("2027-01-01T00:00:00Z"),
        actor: Actor::System,
        request_id: None,
        action: AuditAction::TeamUpdated,
        subject: Subject::Team,
        before: None,
        after: None,
    };
    tx.append_audit(&change).await.expect("written");

    assert_eq!(
        tx.entries_by_id(&[entries[0].id]).await.expect("read"),
        entries
    );
    assert_eq!(tx.leave(leave.id).await.expect("read"), Some(leave));
    assert_eq!(tx.swap(swap.id).await.expect("read"), Some(swap));
    assert_eq!(tx.team().await.expect("read"), odd_settings());
    // Another reader either waits for the transaction to end or reads around it; either
    // way it must not see the uncommitted writes.
    let mut outside = Box::pin(h.world());
    let early = poll_a_while(&mut outside).await;
    drop(tx);
    let outside = match early {
        Some(seen) => seen,
        None => within("reading after a rollback", outside).await,
    };
    assert_eq!(
        outside, before,
        "uncommitted writes are invisible to others"
    );

    assert_eq!(h.world().await, before);
    assert_eq!(h.service.agents(&h.admin()).await.expect("listed"), staff);
    assert_eq!(h.service.shifts(&h.admin()).await.expect("listed"), shifts);
    let team = h.service.team(&h.admin()).await.expect("read");
    assert_eq!(team, TeamSettings::default());
}

/// A transaction abandoned half way (its task cancelled while it holds a lock) releases the
/// lock and leaves no trace.
pub async fn a_dropped_transaction_releases_its_locks(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let (holding, held) = tokio::sync::oneshot::channel();
    let store = h.store.clone();
    let entry = day_entry(ana, s.day.id);

    let abandoned = tokio::spawn(async move {
        let mut tx = store.begin().await.expect("a transaction opens");
        tx.lock_agents(&[ana]).await.expect("locked");
        tx.insert_entries(&[entry]).await.expect("written");
        let _ = holding.send(());
        std::future::pending::<()>().await;
        tx.commit().await.expect("never reached");
    });
    held.await
        .expect("the abandoned transaction holds the lock");
    abandoned.abort();
    let stopped = abandoned.await;
    assert!(stopped.is_err_and(|error| error.is_cancelled()));

    let mut tx = within("beginning after an abandoned transaction", begin(&h)).await;
    within(
        "locking after an abandoned transaction",
        tx.lock_agents(&[ana]),
    )
    .await
    .expect("locked");
    assert_eq!(tx.entries(&entries_of(ana)).await.expect("read"), vec![]);
}

/// While one transaction holds an agent's lock, a second writer that needs that agent (and
/// another) waits; once the first commits, the second gets through and reads what the first
/// wrote.
pub async fn a_second_writer_on_an_agent_waits_and_then_reads_the_first_commit(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let mut both = vec![ana, bo];
    both.sort_unstable();
    let mut first = begin(&h).await;
    first.lock_agents(&[ana]).await.expect("locked");
    let second = async {
        let mut tx = begin(&h).await;
        tx.lock_agents(&both).await.expect("locked");
        tx.entries(&entries_of(ana)).await.expect("read")
    };
    let mut second = Box::pin(second);

    assert_waits("a second writer on a locked agent", &mut second).await;
    let written = first
        .insert_entries(&[day_entry(ana, s.day.id)])
        .await
        .expect("written");
    assert_waits("a second writer before the first commits", &mut second).await;
    first.commit().await.expect("committed");
    let seen = within("the second writer after the first commit", second).await;

    assert_eq!(
        seen, written,
        "the second writer reads the first one's commit"
    );
}

/// Ids of agents that do not exist are ignored when locking.
pub async fn locking_agents_that_do_not_exist_is_allowed(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let ana = h.agent("ana").await;
    let nobody = AgentId::try_from(999_999).expect("a valid id");
    let mut ids = vec![ana, nobody];
    ids.sort_unstable();

    let mut tx = begin(&h).await;
    within("locking a missing agent", tx.lock_agents(&ids))
        .await
        .expect("locked");
    tx.commit().await.expect("committed");

    let mut again = begin(&h).await;
    within("locking again", again.lock_agents(&ids))
        .await
        .expect("the locks were released");
}

/// Asserts `outcome` is the store refusing a write for breaking `rule`.
fn assert_refused<T: std::fmt::Debug>(outcome: Result<T, StoreError>, rule: Constraint) {
    assert!(
        matches!(outcome, Err(StoreError::Constraint(broken)) if broken == rule),
        "expected the store to refuse for {rule:?}, got {outcome:?}"
    );
}

/// Behind the service's checks, the store itself refuses a taken login or shift name,
/// overlapping working entries of one agent, and references to nothing; each refusal is
/// tried in a transaction of its own, as a database aborts the transaction it fails in.
pub async fn stores_refuse_writes_that_break_their_integrity_rules(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let ana = h.agent("ana").await;
    let day = h.shift("day", "08:00", "16:00").await;
    let mid = h.shift("mid", "12:00", "20:00").await;
    let nobody = AgentId::try_from(999_999).expect("a valid id");
    let new_shift = |name: &str| NewShift {
        name: ShiftName::parse(name).expect("a valid name"),
        times: ShiftTimes::new(time("09:00"), time("17:00")).expect("valid times"),
        required_skill: None,
    };
    let mid_entry = NewEntry {
        shift: mid.id,
        span: span("2027-06-01T12:00:00Z", "2027-06-01T20:00:00Z"),
        ..day_entry(ana, day.id)
    };

    let mut tx = begin(&h).await;
    let login = tx.insert_agent(&new_agent("ana", Role::Admin, &[])).await;
    assert_refused(login, Constraint::UniqueLogin);
    drop(tx);
    let mut tx = begin(&h).await;
    tx.insert_agent(&new_agent("zed", Role::Agent, &[]))
        .await
        .expect("a new login");
    let twice = tx.insert_agent(&new_agent("zed", Role::Agent, &[])).await;
    assert_refused(twice, Constraint::UniqueLogin);
    drop(tx);
    let mut tx = begin(&h).await;
    assert_refused(
        tx.insert_shift(&new_shift("day")).await,
        Constraint::UniqueShiftName,
    );
    drop(tx);
    let mut tx = begin(&h).await;
    let renamed = ShiftTemplate {
        name: ShiftName::parse("day").expect("a valid name"),
        ..mid.clone()
    };
    assert_refused(tx.update_shift(&renamed).await, Constraint::UniqueShiftName);
    drop(tx);

    let mut tx = begin(&h).await;
    tx.lock_agents(&[ana]).await.expect("locked");
    let both = tx
        .insert_entries(&[day_entry(ana, day.id), mid_entry.clone()])
        .await;
    assert_refused(both, Constraint::Overlap);
    drop(tx);
    let mut tx = begin(&h).await;
    tx.lock_agents(&[ana]).await.expect("locked");
    let late = NewEntry {
        span: span("2027-06-01T16:00:00Z", "2027-06-02T00:00:00Z"),
        ..mid_entry.clone()
    };
    let written = tx
        .insert_entries(&[day_entry(ana, day.id), late])
        .await
        .expect("touching entries do not overlap");
    tx.commit().await.expect("committed");
    let mut tx = begin(&h).await;
    tx.lock_agents(&[ana]).await.expect("locked");
    let earlier = ScheduleEntry {
        span: mid_entry.span,
        ..written[1].clone()
    };
    assert_refused(tx.update_entries(&[earlier]).await, Constraint::Overlap);
    drop(tx);

    let mut tx = begin(&h).await;
    let orphan = NewEntry {
        agent: nobody,
        date: date("2027-06-05"),
        ..day_entry(ana, day.id)
    };
    assert_refused(tx.insert_entries(&[orphan]).await, Constraint::Reference);
    drop(tx);
    let mut tx = begin(&h).await;
    let leave = NewLeave {
        agent: nobody,
        kind: LeaveKind::Annual,
        dates: dates("2027-06-01", "2027-06-01"),
        reason: None,
        requested_by: Actor::System,
        requested_at: at("2027-01-01T00:00:00Z"),
    };
    assert_refused(tx.insert_leave(&leave).await, Constraint::Reference);
    drop(tx);
    let mut tx = begin(&h).await;
    assert_refused(tx.delete_shift(day.id).await, Constraint::Reference);
    drop(tx);

    let mut tx = begin(&h).await;
    assert_eq!(tx.entries(&entries_of(ana)).await.expect("read"), written);
}

/// Entries come back exactly as inserted (scheduled, in the order given) and as updated
/// (every field, every status and origin); reads by id skip missing ids; deleted entries are
/// gone, and a template is in use only while an entry follows it.
pub async fn entries_read_back_exactly_as_written_and_updated(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let leave = h
        .request_leave(ana, LeaveKind::Annual, "2027-06-01", "2027-06-01")
        .await;
    let offered = h.assign_one(ana, &s.early, "2027-05-01").await;
    let swap = h.request_swap(&offered, bo, SwapKind::Cover).await;
    let mut both = vec![ana, bo];
    both.sort_unstable();
    let new = vec![
        day_entry(ana, s.day.id),
        NewEntry {
            agent: bo,
            shift: s.night.id,
            date: date("2027-06-01"),
            span: span("2027-06-01T22:00:00Z", "2027-06-02T06:00:00Z"),
            origin: EntryOrigin::Assigned,
        },
        NewEntry {
            agent: bo,
            shift: s.early.id,
            date: date("2027-05-01"),
            span: offered.span,
            origin: EntryOrigin::Swap {
                covers: ana,
                swap: swap.id,
            },
        },
    ];

    let mut tx = begin(&h).await;
    tx.lock_agents(&both).await.expect("locked");
    let created = tx.insert_entries(&new).await.expect("written");
    tx.commit().await.expect("committed");
    assert_eq!(created.len(), 3);
    for (made, asked) in created.iter().zip(&new) {
        assert_eq!(made.status, EntryStatus::Scheduled);
        let fields = (made.agent, made.shift, made.date, made.span, made.origin);
        assert_eq!(
            fields,
            (
                asked.agent,
                asked.shift,
                asked.date,
                asked.span,
                asked.origin
            )
        );
    }
    let missing = EntryId::try_from(999_999).expect("a valid id");
    let mut tx = begin(&h).await;
    tx.lock_agents(&both).await.expect("locked");
    let read = tx
        .entries_by_id(&[created[2].id, missing, created[0].id])
        .await
        .expect("read");
    assert_eq!(read, by_id(vec![created[0].clone(), created[2].clone()]));

    let changed = vec![
        ScheduleEntry {
            status: EntryStatus::OnLeave { leave: leave.id },
            ..created[0].clone()
        },
        ScheduleEntry {
            agent: ana,
            shift: s.mid.id,
            date: date("2027-06-02"),
            span: span("2027-06-02T12:00:00Z", "2027-06-02T20:00:00Z"),
            status: EntryStatus::SwappedOut {
                to: bo,
                swap: swap.id,
            },
            origin: EntryOrigin::Swap {
                covers: bo,
                swap: swap.id,
            },
            ..created[1].clone()
        },
    ];
    tx.update_entries(&changed).await.expect("written");
    tx.commit().await.expect("committed");
    let ids: Vec<EntryId> = created.iter().map(|entry| entry.id).collect();
    let mut tx = begin(&h).await;
    tx.lock_agents(&both).await.expect("locked");
    let read = tx.entries_by_id(&ids).await.expect("read");
    let mut expected = changed.clone();
    expected.push(created[2].clone());
    assert_eq!(read, by_id(expected));
    assert!(tx.shift_in_use(s.mid.id).await.expect("read"));
    tx.delete_entries(&[changed[1].id]).await.expect("deleted");
    tx.commit().await.expect("committed");
    let mut tx = begin(&h).await;
    let read = tx.entries_by_id(&ids).await.expect("read");
    assert_eq!(read, by_id(vec![changed[0].clone(), created[2].clone()]));
    assert!(!tx.shift_in_use(s.mid.id).await.expect("read"));
    assert!(tx.shift_in_use(s.early.id).await.expect("read"));
}

/// Team settings read back exactly as written, an unusual zone, the longest rest and every
/// allowance included; a fresh store holds the defaults.
pub async fn team_settings_read_back_exactly_as_written(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;

    let mut tx = begin(&h).await;
    assert_eq!(tx.team().await.expect("read"), TeamSettings::default());
    tx.put_team(&odd_settings()).await.expect("written");
    tx.commit().await.expect("committed");

    let mut tx = begin(&h).await;
    assert_eq!(tx.team().await.expect("read"), odd_settings());
    let settings = TeamSettings::default();
    tx.put_team(&settings).await.expect("written");
    tx.commit().await.expect("committed");
    let mut tx = begin(&h).await;
    assert_eq!(tx.team().await.expect("read"), settings);
}
