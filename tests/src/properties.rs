//! Properties checked on random inputs, each generic over a store factory so every store can
//! run them, a slow one with fewer cases.
//!
//! Each property drives a fresh store from the factory per case, through the service, on a
//! multi-threaded tokio runtime (proptest itself is synchronous, so each case is one
//! `block_on`). The random teams plan in a zone chosen per case, often across a clock change,
//! sometimes with a minimum rest, and always with overnight shifts among their templates.
//!
//! Failures are not written to a regressions file: the same properties run against several
//! stores, and a file beside this source would mix their histories. The failing input is in
//! the panic message instead.

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use chrono::{Days, NaiveDate, TimeDelta};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use shiftdesk_core::assign::{BatchAssignment, BatchMode};
use shiftdesk_core::conflict::{Collision, Conflict, ConflictReason};
use shiftdesk_core::conversation::{Conversation, Owner, StatusAction};
use shiftdesk_core::error::ConversationError;
use shiftdesk_core::error::{LeaveError, ScheduleError, SwapError};
use shiftdesk_core::event::DomainEvent;
use shiftdesk_core::ids::{AgentId, ConversationId, CustomerId, Seq, ShiftId};
use shiftdesk_core::leave::{LeaveKind, LeaveState};
use shiftdesk_core::message::{MessageKind, Sender};
use shiftdesk_core::schedule::{Placement, ScheduleEntry};
use shiftdesk_core::search::ConversationFilter;
use shiftdesk_core::service::AssignOutcome;
use shiftdesk_core::shift::ShiftTemplate;
use shiftdesk_core::staff::Agent;
use shiftdesk_core::staff::Context;
use shiftdesk_core::store::{LeaveQuery, Store};
use shiftdesk_core::swap::SwapKind;
use shiftdesk_core::time::{DateRange, Span, TimeZone};
use shiftdesk_core::transfer::TransferRequest;

use crate::harness::{Harness, World, assert_same_items, date, outgoing};

/// Cases per property when a store does not choose: enough to meet clock changes, rests and
/// races every run, few enough that the in-memory store takes a few seconds for all.
pub const DEFAULT_CASES: u32 = 32;

/// How many agents the random teams have.
const AGENTS: usize = 4;

/// How many days the random requests spread over.
const WINDOW_DAYS: u32 = 10;

/// Zones paired with the first date of a window; most windows hold a clock change.
const ZONES_AND_WINDOWS: [(&str, &str); 6] = [
    ("UTC", "2027-05-03"),
    ("Asia/Shanghai", "2027-05-03"),
    ("America/Chicago", "2027-03-10"),
    ("America/Chicago", "2027-11-03"),
    ("Europe/London", "2027-03-24"),
    ("Europe/London", "2027-10-27"),
];

/// The templates the random teams plan with: overnight ones, touching ones, and one that
/// starts inside the hour skipped when clocks go forward.
const SHIFTS: [(&str, &str, &str); 7] = [
    ("day", "08:00", "16:00"),
    ("late", "16:00", "00:00"),
    ("night", "22:00", "06:00"),
    ("early", "05:00", "13:00"),
    ("mid", "12:00", "20:00"),
    ("small-hours", "02:30", "10:30"),
    ("long-night", "20:00", "08:00"),
];

/// Runs `case` on `cases` random inputs from `strategy`, each against a fresh store.
fn check<F, Fut, S, C, CaseFut>(factory: F, cases: u32, strategy: S, case: C)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<Arc<dyn Store>>>,
    S: Strategy,
    S::Value: Debug,
    C: Fn(Arc<dyn Store>, S::Value) -> CaseFut,
    CaseFut: Future<Output = ()>,
{
    let runtime = crate::runtime();
    if runtime.block_on(factory()).is_none() {
        eprintln!("skipped: the store is not available here");
        return;
    }
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let outcome = runner.run(&strategy, |input| {
        let store = runtime
            .block_on(factory())
            .expect("the store was available before");
        runtime.block_on(case(store, input));
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

/// A random team to plan for, in a harness over a fresh store.
struct Team {
    h: Harness,
    agents: Vec<AgentId>,
    shifts: Vec<ShiftTemplate>,
    first_day: NaiveDate,
    zone: TimeZone,
    min_rest: Option<TimeDelta>,
}

/// The settings a random team is set up with.
#[derive(Debug, Clone, Copy)]
struct Setting {
    zone: &'static str,
    window: &'static str,
    min_rest_minutes: Option<u32>,
}

fn setting() -> impl Strategy<Value = Setting> {
    let rest = prop_oneof![
        2 => Just(None),
        1 => Just(Some(8 * 60)),
        1 => Just(Some(11 * 60)),
    ];
    (prop::sample::select(ZONES_AND_WINDOWS.to_vec()), rest).prop_map(
        |((zone, window), min_rest_minutes)| Setting {
            zone,
            window,
            min_rest_minutes,
        },
    )
}

impl Team {
    async fn new(store: Arc<dyn Store>, setting: Setting) -> Self {
        let h = Harness::new(store).await;
        h.set_time_zone(setting.zone).await;
        if let Some(minutes) = setting.min_rest_minutes {
            h.set_min_rest(minutes).await;
        }
        let mut shifts = Vec::with_capacity(SHIFTS.len());
        for (name, start, end) in SHIFTS {
            shifts.push(h.shift(name, start, end).await);
        }
        let agents = h.agents("agent", AGENTS).await;
        Self {
            h,
            agents,
            shifts,
            first_day: date(setting.window),
            zone: TimeZone::parse(setting.zone).expect("a known zone"),
            min_rest: setting
                .min_rest_minutes
                .map(|minutes| TimeDelta::minutes(i64::from(minutes))),
        }
    }

    fn day(&self, offset: u32) -> NaiveDate {
        self.first_day + Days::new(u64::from(offset))
    }

    fn dates(&self, offset: u32, days: u32) -> DateRange {
        DateRange::new(self.day(offset), self.day(offset + days - 1)).expect("dates in order")
    }

    /// The span a placement would get.
    fn span_of(&self, shift: &ShiftTemplate, date: NaiveDate) -> Span {
        shift.times.span_on(date, self.zone)
    }

    /// Every working entry, by agent.
    async fn working(&self) -> HashMap<AgentId, Vec<ScheduleEntry>> {
        let mut by_agent: HashMap<AgentId, Vec<ScheduleEntry>> = HashMap::new();
        for entry in self
            .h
            .schedule()
            .await
            .into_iter()
            .filter(|e| e.is_working())
        {
            by_agent.entry(entry.agent).or_default().push(entry);
        }
        by_agent
    }

    /// Asserts no agent has two working entries that overlap or sit closer than the
    /// minimum rest, comparing every pair.
    async fn assert_consistent(&self, after: &dyn Debug) {
        for (agent, entries) in self.working().await {
            for (i, a) in entries.iter().enumerate() {
                for b in &entries[i + 1..] {
                    assert!(
                        !a.span.overlaps(&b.span),
                        "agent {agent} works two overlapping entries after {after:?}:\n\
                         {a:?}\n{b:?}"
                    );
                    if let Some(rest) = self.min_rest {
                        assert!(
                            a.span.gap_to(&b.span) >= rest,
                            "agent {agent} rests too little between two entries after \
                             {after:?}:\n{a:?}\n{b:?}"
                        );
                    }
                }
            }
        }
    }
}

/// A refusal by the rules is an acceptable answer to a random request; anything else (not
/// found, forbidden, invalid input, a store failure) is a bug in the store or the suite.
fn allowed_schedule<T: Debug>(outcome: Result<T, ScheduleError>) -> Option<T> {
    match outcome {
        Ok(value) => Some(value),
        Err(ScheduleError::Conflicts(_) | ScheduleError::NotScheduled { .. }) => None,
        Err(other) => panic!("a planning request failed: {other:?}"),
    }
}

fn allowed_leave<T: Debug>(outcome: Result<T, LeaveError>) -> Option<T> {
    match outcome {
        Ok(value) => Some(value),
        Err(LeaveError::Refused(_)) => None,
        Err(other) => panic!("a leave request failed: {other:?}"),
    }
}

fn allowed_swap<T: Debug>(outcome: Result<T, SwapError>) -> Option<T> {
    match outcome {
        Ok(value) => Some(value),
        Err(SwapError::Refused(_)) => None,
        Err(other) => panic!("a swap request failed: {other:?}"),
    }
}

/// One step of a random history. Indexes pick agents, shifts, dates and entries; `pick`
/// values are taken modulo whatever there is to pick from at that moment.
#[derive(Debug, Clone)]
enum Step {
    /// A batch assignment.
    Assign {
        shift: usize,
        agents: Vec<usize>,
        first: u32,
        days: u32,
        mode: BatchMode,
    },
    /// An agent files leave, which an admin may approve.
    Leave {
        agent: usize,
        first: u32,
        days: u32,
        approve: bool,
    },
    /// An agent offers one of their entries; the target may accept, an admin approve.
    Swap {
        requester: usize,
        pick: usize,
        target: usize,
        exchange: Option<usize>,
        accept: bool,
        approve: bool,
    },
    /// An admin revokes an approved leave.
    Revoke { pick: usize },
    /// An admin moves a working entry.
    Move {
        pick: usize,
        agent: usize,
        shift: usize,
        day: u32,
    },
}

fn mode() -> impl Strategy<Value = BatchMode> {
    prop_oneof![
        Just(BatchMode::AllOrNothing),
        Just(BatchMode::SkipConflicts)
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let assign = (
        0..SHIFTS.len(),
        vec(0..AGENTS, 1..=4),
        0..WINDOW_DAYS,
        1..=3u32,
        mode(),
    )
        .prop_map(|(shift, agents, first, days, mode)| Step::Assign {
            shift,
            agents,
            first,
            days,
            mode,
        });
    let leave = (
        0..AGENTS,
        0..WINDOW_DAYS,
        1..=3u32,
        prop::bool::weighted(0.7),
    )
        .prop_map(|(agent, first, days, approve)| Step::Leave {
            agent,
            first,
            days,
            approve,
        });
    let swap = (
        0..AGENTS,
        any::<usize>(),
        0..AGENTS,
        prop::option::of(any::<usize>()),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.8),
    )
        .prop_map(
            |(requester, pick, target, exchange, accept, approve)| Step::Swap {
                requester,
                pick,
                target,
                exchange,
                accept,
                approve,
            },
        );
    let revoke = any::<usize>().prop_map(|pick| Step::Revoke { pick });
    let moved = (any::<usize>(), 0..AGENTS, 0..SHIFTS.len(), 0..WINDOW_DAYS).prop_map(
        |(pick, agent, shift, day)| Step::Move {
            pick,
            agent,
            shift,
            day,
        },
    );
    prop_oneof![
        5 => assign,
        2 => leave,
        3 => swap,
        1 => revoke,
        1 => moved,
    ]
}

/// Picks `pick` modulo the length, if there is anything to pick.
fn nth<T: Clone>(items: &[T], pick: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[pick % items.len()].clone())
}

impl Team {
    async fn apply(&self, step: &Step) {
        let h = &self.h;
        match *step {
            Step::Assign {
                shift,
                ref agents,
                first,
                days,
                mode,
            } => {
                let batch = BatchAssignment {
                    shift: self.shifts[shift].id,
                    dates: self.dates(first, days),
                    weekdays: None,
                    agents: agents.iter().map(|&i| self.agents[i]).collect(),
                };
                allowed_schedule(h.try_batch(&batch, mode).await);
            }
            Step::Leave {
                agent,
                first,
                days,
                approve,
            } => {
                let dates = self.dates(first, days);
                let (first, last) = (dates.first().to_string(), dates.last().to_string());
                let agent = self.agents[agent];
                let filed = h
                    .try_request_leave(agent, LeaveKind::Annual, &first, &last)
                    .await;
                if let (Some(filed), true) = (allowed_leave(filed), approve) {
                    allowed_leave(h.service.approve_leave(&h.admin(), filed.id).await);
                }
            }
            Step::Swap {
                requester,
                pick,
                target,
                exchange,
                accept,
                approve,
            } => {
                self.swap(requester, pick, target, exchange, accept, approve)
                    .await;
            }
            Step::Revoke { pick } => {
                let approved = LeaveQuery {
                    states: Some(vec![LeaveState::Approved]),
                    ..LeaveQuery::default()
                };
                let approved = h.service.leaves(&h.admin(), approved).await;
                if let Some(leave) = nth(&approved.expect("leave is listed"), pick) {
                    let revoked = h.service.revoke_leave(&h.admin(), leave.id, None).await;
                    allowed_leave(revoked);
                }
            }
            Step::Move {
                pick,
                agent,
                shift,
                day,
            } => {
                let working: Vec<_> = h
                    .schedule()
                    .await
                    .into_iter()
                    .filter(|entry| entry.is_working())
                    .collect();
                if let Some(entry) = nth(&working, pick) {
                    let to = Placement {
                        agent: self.agents[agent],
                        shift: self.shifts[shift].id,
                        date: self.day(day),
                    };
                    allowed_schedule(h.service.move_entry(&h.admin(), entry.id, to).await);
                }
            }
        }
    }

    async fn swap(
        &self,
        requester: usize,
        pick: usize,
        target: usize,
        exchange: Option<usize>,
        accept: bool,
        approve: bool,
    ) {
        let h = &self.h;
        let (requester, target) = (self.agents[requester], self.agents[target]);
        let Some(given) = nth(&h.working_of(requester).await, pick) else {
            return;
        };
        let kind = match exchange {
            None => SwapKind::Cover,
            Some(pick) => match nth(&h.working_of(target).await, pick) {
                Some(taken) => SwapKind::Exchange {
                    target_entry: taken.id,
                },
                None => SwapKind::Cover,
            },
        };
        let Some(filed) = allowed_swap(h.try_request_swap(&given, target, kind).await) else {
            return;
        };
        if !accept {
            return;
        }
        let accepted = h.service.accept_swap(&h.as_agent(target), filed.id).await;
        if allowed_swap(accepted).is_some() && approve {
            allowed_swap(h.service.approve_swap(&h.admin(), filed.id).await);
        }
    }
}

/// Property: after any sequence of batch assignments (both modes), leave requests and
/// approvals, revocations, moves, and swap requests, acceptances and approvals, no agent
/// works two overlapping entries, nor two entries closer than the team's minimum rest.
pub fn no_agent_ever_works_two_overlapping_entries<F, Fut>(factory: F, cases: u32)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<Arc<dyn Store>>>,
{
    let strategy = (setting(), vec(step(), 1..24));
    check(
        factory,
        cases,
        strategy,
        |store, (setting, steps)| async move {
            let team = Team::new(store, setting).await;
            for (index, step) in steps.iter().enumerate() {
                team.apply(step).await;
                team.assert_consistent(&(index, step)).await;
            }
        },
    );
}

/// A random starting state and a request to check against it.
#[derive(Debug, Clone)]
struct Probe {
    setting: Setting,
    /// Skip-mode batches that build the schedule: (shift, agents, first day, days).
    seed: Vec<(usize, Vec<usize>, u32, u32)>,
    /// Approved leave: (agent, first day, days).
    leave: Vec<(usize, u32, u32)>,
    /// Whether the last agent is deactivated before the request.
    deactivate_last: bool,
    /// The request: (agent, shift, day); an index one past the end names a missing agent or
    /// shift.
    request: Vec<(usize, usize, u32)>,
}

fn probe() -> impl Strategy<Value = Probe> {
    let seed = vec(
        (
            0..SHIFTS.len(),
            vec(0..AGENTS, 1..=3),
            0..WINDOW_DAYS,
            1..=3u32,
        ),
        0..6,
    );
    let leave = vec((0..AGENTS, 0..WINDOW_DAYS, 1..=2u32), 0..3);
    let request = vec((0..=AGENTS, 0..=SHIFTS.len(), 0..WINDOW_DAYS), 1..10);
    (setting(), seed, leave, any::<bool>(), request).prop_map(
        |(setting, seed, leave, deactivate_last, request)| Probe {
            setting,
            seed,
            leave,
            deactivate_last,
            request,
        },
    )
}

/// What the brute-force oracle reads: the state the request is checked against.
struct State {
    agents: HashMap<AgentId, Agent>,
    shifts: HashMap<ShiftId, ShiftTemplate>,
    working: Vec<ScheduleEntry>,
    /// Approved leave: (agent, dates, id).
    leaves: Vec<(AgentId, DateRange, shiftdesk_core::ids::LeaveId)>,
}

/// Every conflict `placements` meet, found the slow and obvious way: every placement against
/// every entry, leave and other placement, straight from the rules in
/// `shiftdesk_core::conflict`.
fn brute_force_conflicts(team: &Team, state: &State, placements: &[Placement]) -> Vec<Conflict> {
    let rest = team.min_rest;
    let span_of = |p: &Placement| {
        let shift = state.shifts.get(&p.shift)?;
        Some(team.span_of(shift, p.date))
    };
    let duplicate = |index: usize| {
        let p = placements[index];
        placements[..index]
            .iter()
            .any(|q| q.agent == p.agent && q.date == p.date)
    };
    // Overlap, or a gap shorter than the rest: the reason to report for two spans, if any.
    let collide = |a: Span, b: Span, with: Collision| {
        if a.overlaps(&b) {
            return Some(ConflictReason::Overlap { with });
        }
        let gap = if a.end() <= b.start() {
            b.start() - a.end()
        } else {
            a.start() - b.end()
        };
        let rest = rest?;
        (gap < rest).then(|| ConflictReason::RestTooShort {
            with,
            gap_minutes: gap.num_minutes(),
            required_minutes: u32::try_from(rest.num_minutes()).expect("a small rest"),
        })
    };

    let mut found = Vec::new();
    for (index, p) in placements.iter().enumerate() {
        let mut report = |reason| {
            found.push(Conflict {
                agent: p.agent,
                date: p.date,
                shift: p.shift,
                reason,
            })
        };
        if duplicate(index) {
            report(ConflictReason::DuplicateInRequest);
            continue;
        }
        let agent = state.agents.get(&p.agent);
        match agent {
            None => report(ConflictReason::UnknownAgent),
            Some(agent) if !agent.active => report(ConflictReason::InactiveAgent),
            Some(_) => {}
        }
        let Some(span) = span_of(p) else {
            report(ConflictReason::UnknownShift);
            continue;
        };
        let Some(agent) = agent else { continue };
        if let Some(skill) = &state.shifts[&p.shift].required_skill
            && !agent.has_skill(skill)
        {
            report(ConflictReason::MissingSkill {
                skill: skill.clone(),
            });
        }
        for (owner, dates, leave) in &state.leaves {
            if *owner == p.agent && dates.contains(p.date) {
                report(ConflictReason::OnLeave { leave: *leave });
            }
        }
        for entry in state.working.iter().filter(|e| e.agent == p.agent) {
            let with = Collision::Entry {
                entry: entry.id,
                shift: entry.shift,
                date: entry.date,
            };
            if let Some(reason) = collide(span, entry.span, with) {
                report(reason);
            }
        }
        for (other, q) in placements.iter().enumerate() {
            if other == index || q.agent != p.agent || duplicate(other) {
                continue;
            }
            let Some(other_span) = span_of(q) else {
                continue;
            };
            let with = Collision::Requested {
                shift: q.shift,
                date: q.date,
            };
            if let Some(reason) = collide(span, other_span, with) {
                report(reason);
            }
        }
    }
    found
}

impl Team {
    async fn state(&self) -> State {
        let h = &self.h;
        let agents = h.service.agents(&h.admin()).await.expect("staff listed");
        let shifts = h.service.shifts(&h.admin()).await.expect("shifts listed");
        let approved = LeaveQuery {
            states: Some(vec![LeaveState::Approved]),
            ..LeaveQuery::default()
        };
        let leaves = h.service.leaves(&h.admin(), approved).await;
        State {
            agents: agents.into_iter().map(|a| (a.id, a)).collect(),
            shifts: shifts.into_iter().map(|s| (s.id, s)).collect(),
            working: h
                .schedule()
                .await
                .into_iter()
                .filter(|e| e.is_working())
                .collect(),
            leaves: leaves
                .expect("leave listed")
                .into_iter()
                .map(|leave| (leave.agent, leave.dates, leave.id))
                .collect(),
        }
    }
}

/// Property: an all-or-nothing request reports exactly the conflicts a brute-force check of
/// every pair finds; when it reports any, the schedule, the requests, the audit log and the
/// events are unchanged, and when it reports none, every agent-day is written.
pub fn a_refused_batch_changes_nothing_and_reports_what_a_brute_force_check_finds<F, Fut>(
    factory: F,
    cases: u32,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<Arc<dyn Store>>>,
{
    check(factory, cases, probe(), |store, probe| async move {
        let team = Team::new(store, probe.setting).await;
        let h = &team.h;
        for (shift, agents, first, days) in &probe.seed {
            let batch = BatchAssignment {
                shift: team.shifts[*shift].id,
                dates: team.dates(*first, *days),
                weekdays: None,
                agents: agents.iter().map(|&i| team.agents[i]).collect(),
            };
            allowed_schedule(h.try_batch(&batch, BatchMode::SkipConflicts).await);
        }
        for &(agent, first, days) in &probe.leave {
            let dates = team.dates(first, days);
            let (first, last) = (dates.first().to_string(), dates.last().to_string());
            let agent = team.agents[agent];
            let filed = h.try_request_leave(agent, LeaveKind::Annual, &first, &last);
            if let Some(filed) = allowed_leave(filed.await) {
                allowed_leave(h.service.approve_leave(&h.admin(), filed.id).await);
            }
        }
        if probe.deactivate_last {
            h.deactivate(team.agents[AGENTS - 1]).await;
        }
        let missing_agent = AgentId::try_from(999_999).expect("a valid id");
        let missing_shift = ShiftId::try_from(999_999).expect("a valid id");
        let placements: Vec<Placement> = probe
            .request
            .iter()
            .map(|&(agent, shift, day)| Placement {
                agent: team.agents.get(agent).copied().unwrap_or(missing_agent),
                shift: team.shifts.get(shift).map_or(missing_shift, |s| s.id),
                date: team.day(day),
            })
            .collect();
        let state = team.state().await;
        let expected = brute_force_conflicts(&team, &state, &placements);
        let before: World = h.world().await;

        let outcome = h.try_assign(placements.clone()).await;

        if expected.is_empty() {
            let written = crate::harness::written(outcome);
            let got: Vec<_> = written.iter().map(|e| (e.agent, e.shift, e.date)).collect();
            let asked: Vec<_> = placements
                .iter()
                .map(|p| (p.agent, p.shift, p.date))
                .collect();
            assert_eq!(got, asked, "a request without conflicts is written whole");
        } else {
            let reported = crate::harness::schedule_conflicts(outcome);
            assert_same_items(&reported, &expected);
            assert_eq!(h.world().await, before, "a refused request changes nothing");
        }
    });
}

/// One random batch a concurrent task runs.
type RandomBatch = (usize, Vec<usize>, u32, u32, BatchMode);

fn concurrent_work() -> impl Strategy<Value = (Setting, Vec<Vec<RandomBatch>>)> {
    let batch = (
        0..SHIFTS.len(),
        vec(0..AGENTS, 1..=AGENTS),
        0..WINDOW_DAYS,
        1..=3u32,
        mode(),
    );
    (setting(), vec(vec(batch, 1..6), 2..=4))
}

/// Property: tasks running random batch assignments at the same time on one store never
/// leave an agent double-booked (or short of rest), lose no write, and every conflict they
/// were refused or skipped for is real: the entry it names exists and collides, or the
/// request itself holds the clash.
pub fn concurrent_batches_never_overlap_and_refuse_only_for_real_conflicts<F, Fut>(
    factory: F,
    cases: u32,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<Arc<dyn Store>>>,
{
    check(
        factory,
        cases,
        concurrent_work(),
        |store, (setting, tasks)| async move {
            let team = Arc::new(Team::new(store, setting).await);
            let mut running = Vec::new();
            for batches in tasks {
                let team = team.clone();
                running.push(tokio::spawn(async move {
                    let mut done = Vec::new();
                    for (shift, agents, first, days, mode) in batches {
                        let batch = BatchAssignment {
                            shift: team.shifts[shift].id,
                            dates: team.dates(first, days),
                            weekdays: None,
                            agents: agents.iter().map(|&i| team.agents[i]).collect(),
                        };
                        let outcome = team.h.try_batch(&batch, mode).await;
                        done.push((batch, mode, outcome));
                    }
                    done
                }));
            }
            let mut results = Vec::new();
            for task in running {
                results.extend(task.await.expect("a task finishes"));
            }

            team.assert_consistent(&"the concurrent batches").await;
            let stored = team.h.schedule().await;
            let mut written = Vec::new();
            for (batch, mode, outcome) in &results {
                let (entries, conflicts) = match outcome {
                    Ok(AssignOutcome::Written { entries, skipped }) => (entries.clone(), skipped),
                    Err(ScheduleError::Conflicts(conflicts)) => (Vec::new(), conflicts),
                    other => panic!("a batch failed: {other:?}"),
                };
                assert!(
                    *mode == BatchMode::SkipConflicts || conflicts.is_empty() || entries.is_empty(),
                    "all or nothing wrote part of a batch"
                );
                for conflict in conflicts {
                    team.assert_real(conflict, batch, &stored);
                }
                team.assert_answered(batch, &entries, conflicts);
                written.extend(entries);
            }
            let mut stored = stored;
            stored.sort_by_key(|entry| entry.id);
            written.sort_by_key(|entry| entry.id);
            assert_eq!(
                stored, written,
                "the store holds exactly what the tasks wrote"
            );
        },
    );
}

impl Team {
    /// Asserts `conflict`, reported for `batch`, is real in the final schedule `stored`
    /// (entries are only ever added here, so what collided then still collides).
    fn assert_real(&self, conflict: &Conflict, batch: &BatchAssignment, stored: &[ScheduleEntry]) {
        let placements = batch.placements();
        let shift = self
            .shifts
            .iter()
            .find(|shift| shift.id == conflict.shift)
            .expect("a known shift");
        let span = self.span_of(shift, conflict.date);
        let other = |with: &Collision| match *with {
            Collision::Entry { entry, shift, date } => {
                let found = stored.iter().find(|e| e.id == entry);
                let found = found.unwrap_or_else(|| panic!("{conflict:?} names no entry"));
                assert_eq!(
                    (found.agent, found.shift, found.date),
                    (conflict.agent, shift, date)
                );
                found.span
            }
            Collision::Requested { shift, date } => {
                let asked = placements
                    .iter()
                    .any(|p| p.agent == conflict.agent && p.shift == shift && p.date == date);
                assert!(asked, "{conflict:?} names an agent-day not in the request");
                let template = self.shifts.iter().find(|s| s.id == shift).expect("known");
                self.span_of(template, date)
            }
        };
        match &conflict.reason {
            ConflictReason::DuplicateInRequest => {
                let times = placements
                    .iter()
                    .filter(|p| p.agent == conflict.agent && p.date == conflict.date)
                    .count();
                assert!(times > 1, "{conflict:?} is not a duplicate");
            }
            ConflictReason::Overlap { with } => {
                assert!(span.overlaps(&other(with)), "{conflict:?} does not overlap");
            }
            ConflictReason::RestTooShort {
                with,
                gap_minutes,
                required_minutes,
            } => {
                let gap = span.gap_to(&other(with));
                let rest = self.min_rest.expect("a rest is set");
                assert_eq!(gap.num_minutes(), *gap_minutes);
                assert_eq!(i64::from(*required_minutes), rest.num_minutes());
                assert!(gap < rest && !span.overlaps(&other(with)), "{conflict:?}");
            }
            reason => panic!("nothing here can cause {reason:?}: {conflict:?}"),
        }
    }

    /// Asserts every agent-day of `batch` was either written or reported.
    fn assert_answered(
        &self,
        batch: &BatchAssignment,
        entries: &[ScheduleEntry],
        conflicts: &[Conflict],
    ) {
        for p in batch.placements() {
            let made = entries
                .iter()
                .any(|e| (e.agent, e.shift, e.date) == (p.agent, p.shift, p.date));
            let refused = conflicts
                .iter()
                .any(|c| c.agent == p.agent && c.date == p.date);
            let refused_whole = entries.is_empty() && !conflicts.is_empty();
            assert!(
                made || refused || refused_whole,
                "{p:?} was neither written nor reported"
            );
        }
    }
}

// Conversations: random interleavings of the operations that move a conversation between
// owners, run a few at a time concurrently, against the invariants routing promises.

/// How many agents and customers the random desks have.
const DESK_AGENTS: usize = 3;
const DESK_CUSTOMERS: usize = 2;

/// Who writes in a [`Move::Send`].
#[derive(Debug, Clone, Copy)]
enum Writer {
    /// The conversation's customer: reopens a resolved one, wakes a pending one.
    Customer,
    /// The holder, a message.
    Holder,
    /// The holder, a private note.
    Note,
    /// An admin, who may write anywhere that is not resolved.
    Admin,
}

/// One operation on the desk. `pick` values choose among the conversations opened so far,
/// modulo their number.
#[derive(Debug, Clone)]
enum Move {
    /// A customer opens a conversation with a first message; it is routed at once.
    Open { customer: usize },
    /// Someone writes in a conversation.
    Send { pick: usize, writer: Writer },
    /// The holder (or an admin, when nobody holds it or `by_admin`) transfers it, unforced.
    Transfer {
        pick: usize,
        to: usize,
        by_admin: bool,
    },
    /// The holder (or an admin) marks it pending or resolves it.
    Status { pick: usize, resolve: bool },
    /// An admin reopens a resolved conversation.
    Reopen { pick: usize },
    /// Routing tries one conversation, or the whole queue.
    Route { pick: Option<usize> },
    /// An agent takes a conversation by hand.
    Take { pick: usize, agent: usize },
    /// An agent comes online and the queue drains to them, or goes offline and reports it.
    Presence { agent: usize, online: bool },
    /// A minute passes.
    Tick,
}

fn desk_move() -> impl Strategy<Value = Move> {
    let writer = prop_oneof![
        3 => Just(Writer::Customer),
        2 => Just(Writer::Holder),
        1 => Just(Writer::Note),
        1 => Just(Writer::Admin),
    ];
    prop_oneof![
        5 => (0..DESK_CUSTOMERS).prop_map(|customer| Move::Open { customer }),
        4 => (any::<usize>(), writer).prop_map(|(pick, writer)| Move::Send { pick, writer }),
        3 => (any::<usize>(), 0..DESK_AGENTS, prop::bool::weighted(0.3))
            .prop_map(|(pick, to, by_admin)| Move::Transfer { pick, to, by_admin }),
        3 => (any::<usize>(), prop::bool::weighted(0.7))
            .prop_map(|(pick, resolve)| Move::Status { pick, resolve }),
        1 => any::<usize>().prop_map(|pick| Move::Reopen { pick }),
        2 => prop::option::of(any::<usize>()).prop_map(|pick| Move::Route { pick }),
        3 => (any::<usize>(), 0..DESK_AGENTS).prop_map(|(pick, agent)| Move::Take { pick, agent }),
        2 => (0..DESK_AGENTS, prop::bool::weighted(0.6))
            .prop_map(|(agent, online)| Move::Presence { agent, online }),
        1 => Just(Move::Tick),
    ]
}

/// A random desk: each agent's capacity, who starts online, whether agents going away hand
/// their conversations back, and rounds of moves; the moves of one round run concurrently.
#[derive(Debug, Clone)]
struct DeskPlan {
    capacities: Vec<u32>,
    online: Vec<bool>,
    requeue_when_away: bool,
    rounds: Vec<Vec<Move>>,
}

fn desk_plan() -> impl Strategy<Value = DeskPlan> {
    (
        vec(1..=2u32, DESK_AGENTS),
        vec(any::<bool>(), DESK_AGENTS),
        any::<bool>(),
        vec(vec(desk_move(), 1..=4), 8..24),
    )
        .prop_map(|(capacities, online, requeue_when_away, rounds)| DeskPlan {
            capacities,
            online,
            requeue_when_away,
            rounds,
        })
}

/// The desk a plan runs on.
struct Desk {
    h: Harness,
    agents: Vec<Agent>,
    customers: Vec<CustomerId>,
    /// Every conversation opened so far, in the order they were opened.
    opened: std::sync::Mutex<Vec<ConversationId>>,
}

/// A refusal by the conversation or transfer rules is an acceptable answer to a random
/// move (a race may have changed the conversation meanwhile); anything else is a bug.
fn allowed_conversation<T: Debug>(outcome: Result<T, ConversationError>) -> Option<T> {
    match outcome {
        Ok(value) => Some(value),
        Err(ConversationError::Refused(_) | ConversationError::Transfer(_)) => None,
        Err(other) => panic!("a conversation operation failed: {other:?}"),
    }
}

impl Desk {
    async fn new(store: Arc<dyn Store>, plan: &DeskPlan) -> Self {
        let h = Harness::at_desk(store).await;
        h.set_requeue_when_away(plan.requeue_when_away).await;
        let ids = h.agents("agent", DESK_AGENTS).await;
        h.on_shift_now(&ids).await;
        for (&agent, &capacity) in ids.iter().zip(&plan.capacities) {
            h.set_capacity(agent, capacity).await;
        }
        for (&agent, &online) in ids.iter().zip(&plan.online) {
            if online {
                h.online(agent);
            }
        }
        let mut customers = Vec::new();
        for n in 0..DESK_CUSTOMERS {
            customers.push(h.customer(&format!("customer {n}")).await.id);
        }
        let agents = h.service.agents(&h.admin()).await.expect("staff listed");
        let agents = agents.into_iter().filter(|a| ids.contains(&a.id)).collect();
        Self {
            h,
            agents,
            customers,
            opened: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn pick(&self, pick: usize) -> Option<ConversationId> {
        let opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        nth(&opened, pick)
    }

    /// The conversation `pick` names and who may act on it: its holder, or an admin.
    async fn picked(&self, pick: usize, by_admin: bool) -> Option<(Conversation, Context)> {
        let h = &self.h;
        let conversation = h.conversation_now(self.pick(pick)?).await;
        let actor = match conversation.assignee() {
            Some(holder) if !by_admin => h.as_agent(holder),
            _ => h.admin(),
        };
        Some((conversation, actor))
    }

    async fn apply(&self, step: &Move, text: &str) {
        let h = &self.h;
        match *step {
            Move::Open { customer } => {
                let first = outgoing(MessageKind::Message, text);
                let opened = h
                    .service
                    .open_conversation(&h.as_customer(self.customers[customer]), None, Some(first))
                    .await;
                let opened = opened.expect("a customer opens a conversation");
                self.opened
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(opened.id);
            }
            Move::Send { pick, writer } => {
                let Some((conversation, holder)) = self.picked(pick, false).await else {
                    return;
                };
                let (ctx, kind) = match writer {
                    Writer::Customer => {
                        (h.as_customer(conversation.customer), MessageKind::Message)
                    }
                    Writer::Holder => (holder, MessageKind::Message),
                    Writer::Note => (holder, MessageKind::Note),
                    Writer::Admin => (h.admin(), MessageKind::Message),
                };
                let sent = h.service.send(&ctx, conversation.id, outgoing(kind, text));
                allowed_conversation(sent.await);
            }
            Move::Transfer { pick, to, by_admin } => {
                let Some((conversation, actor)) = self.picked(pick, by_admin).await else {
                    return;
                };
                let request = TransferRequest {
                    conversation: conversation.id,
                    to: self.agents[to].id,
                    note: None,
                    force: false,
                };
                allowed_conversation(h.service.transfer(&actor, request).await);
            }
            Move::Status { pick, resolve } => {
                let Some((conversation, actor)) = self.picked(pick, false).await else {
                    return;
                };
                let action = if resolve {
                    StatusAction::Resolve
                } else {
                    StatusAction::MarkPending
                };
                let changed = h.service.change_status(&actor, conversation.id, action);
                allowed_conversation(changed.await);
            }
            Move::Reopen { pick } => {
                if let Some(id) = self.pick(pick) {
                    let admin = h.admin();
                    let reopened = h.service.change_status(&admin, id, StatusAction::Reopen);
                    allowed_conversation(reopened.await);
                }
            }
            Move::Route { pick: Some(pick) } => {
                if let Some(id) = self.pick(pick) {
                    h.service.route(id).await.expect("routing runs");
                }
            }
            Move::Route { pick: None } => {
                h.service
                    .route_waiting(&h.admin())
                    .await
                    .expect("routing runs");
            }
            Move::Take { pick, agent } => {
                if let Some(id) = self.pick(pick) {
                    let agent = h.as_agent(self.agents[agent].id);
                    allowed_conversation(h.service.take_conversation(&agent, id).await);
                }
            }
            Move::Presence { agent, online } => {
                let agent = self.agents[agent].id;
                let ctx = h.as_agent(agent);
                if online {
                    h.online(agent);
                    h.service
                        .agent_came_online(&ctx, agent)
                        .await
                        .expect("routed");
                } else {
                    h.offline(agent);
                    h.service
                        .agent_went_away(&ctx, agent)
                        .await
                        .expect("reported");
                }
            }
            Move::Tick => h.clock.advance(TimeDelta::minutes(1)),
        }
    }

    /// Asserts the invariants after `round`: one owner per conversation in the store's own
    /// indexes too, no agent over capacity, gap-free numbers, one system message per
    /// assignment and one context note per transfer, and `handled_by` naming exactly the
    /// agents the conversation was given to.
    async fn assert_invariants(&self, round: &dyn Debug) {
        let h = &self.h;
        let listed = h.list(&h.admin(), &ConversationFilter::default()).await;
        let conversations: Vec<Conversation> = listed
            .into_iter()
            .map(|summary| summary.conversation)
            .collect();
        let events = h.events.events();

        let mut tx = h.store.begin().await.expect("a transaction opens");
        let ids: Vec<AgentId> = self.agents.iter().map(|agent| agent.id).collect();
        let loads = tx.agent_loads(&ids).await.expect("loads read");
        for agent in &self.agents {
            let holds: Vec<ConversationId> = conversations
                .iter()
                .rev()
                .filter(|c| c.holds_capacity() && c.assignee() == Some(agent.id))
                .map(|c| c.id)
                .collect();
            let capacity = agent.capacity.expect("set").get() as usize;
            assert!(
                holds.len() <= capacity,
                "{} holds {holds:?}, over {capacity}, after {round:?}",
                agent.id
            );
            let load = loads.iter().find(|load| load.agent == agent.id);
            assert_eq!(
                load.map_or(0, |load| load.open as usize),
                holds.len(),
                "the store's load of {} after {round:?}",
                agent.id
            );
            let held = tx.held_by(agent.id).await.expect("held read");
            let held: Vec<ConversationId> = held.iter().map(|c| c.id).collect();
            assert_eq!(held, holds, "what the store says {} holds", agent.id);
        }
        let queue = tx.waiting_conversations(1000).await.expect("queue read");
        let mut waiting: Vec<&Conversation> =
            conversations.iter().filter(|c| c.is_waiting()).collect();
        waiting.sort_by_key(|c| match c.owner {
            Owner::Queued { since } => (since, c.id),
            Owner::Agent { .. } => unreachable!("waiting conversations are queued"),
        });
        let waiting: Vec<ConversationId> = waiting.iter().map(|c| c.id).collect();
        let queue: Vec<ConversationId> = queue.iter().map(|c| c.id).collect();
        assert_eq!(queue, waiting, "the queue, oldest first, after {round:?}");
        drop(tx);

        for conversation in &conversations {
            let id = conversation.id;
            let messages = h.messages(&h.admin(), id).await;
            let numbers: Vec<u64> = messages.iter().map(|m| m.seq.get()).collect();
            let gap_free: Vec<u64> = (1..=messages.len() as u64).collect();
            assert_eq!(numbers, gap_free, "numbers of {id} after {round:?}");
            assert_eq!(conversation.last_seq.map(Seq::get), numbers.last().copied());

            let mut assigned: Vec<String> = Vec::new();
            let mut handled = std::collections::BTreeSet::new();
            let mut transfers = 0;
            for event in &events {
                match *event {
                    DomainEvent::ConversationAssigned {
                        conversation,
                        agent,
                        ..
                    } if conversation == id => {
                        let name = &self.agents.iter().find(|a| a.id == agent).expect("ours");
                        assigned.push(format!("{} joined the conversation.", name.display_name));
                        handled.insert(agent);
                    }
                    DomainEvent::ConversationTransferred {
                        conversation, to, ..
                    } if conversation == id => {
                        transfers += 1;
                        handled.insert(to);
                    }
                    _ => {}
                }
            }
            let mut joined: Vec<String> = messages
                .iter()
                .filter(|m| m.kind == MessageKind::System)
                .map(|m| m.body.to_string())
                .collect();
            assigned.sort();
            joined.sort();
            assert_eq!(
                joined, assigned,
                "one system message per assignment of {id}"
            );
            let notes = messages
                .iter()
                .filter(|m| m.sender == Sender::System && m.kind == MessageKind::Note);
            assert_eq!(
                notes.count(),
                transfers,
                "one context note per transfer of {id}"
            );
            let records = h.service.conversation(&h.admin(), id).await;
            assert_eq!(records.expect("readable").transfers.len(), transfers);
            assert_eq!(conversation.handled_by, handled, "who handled {id}");
        }
    }
}

/// Property: random interleavings of opening, writing (customers reopening and waking),
/// transfers, resolving, reopening, routing, taking and agents coming and going, a few at a
/// time concurrently, keep exactly one owner per conversation (in the store's indexes too),
/// never put an agent over capacity, number every conversation's messages without gaps, and
/// record each assignment with exactly one system message.
pub fn conversations_keep_one_owner_no_overfilled_agent_and_gap_free_numbers<F, Fut>(
    factory: F,
    cases: u32,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<Arc<dyn Store>>>,
{
    check(factory, cases, desk_plan(), |store, plan| async move {
        let desk = Arc::new(Desk::new(store, &plan).await);
        let texts = crate::dialogs::mixed(plan.rounds.iter().map(Vec::len).sum());
        let mut texts = texts.into_iter();
        for round in &plan.rounds {
            let mut running = Vec::new();
            for step in round {
                let (desk, step) = (desk.clone(), step.clone());
                let text = texts.next().expect("a text per move");
                running.push(tokio::spawn(async move {
                    desk.apply(&step, text.as_str()).await;
                }));
            }
            for task in running {
                task.await.expect("a move finishes");
            }
            desk.assert_invariants(round).await;
        }
    });
}
