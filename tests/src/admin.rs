//! Across every area: who may do what, the audit record each change writes, the events each
//! change announces after it commits, and the team, staff and shift templates themselves.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use shiftdesk_core::Service;
use shiftdesk_core::assign::BatchMode;
use shiftdesk_core::audit::{AuditAction, AuditRecord, Snapshot, Subject};
use shiftdesk_core::conversation::Conversation;
use shiftdesk_core::error::{AdminError, LeaveError, Resource, ScheduleError, SwapError};
use shiftdesk_core::event::{DomainEvent, Notifier};
use shiftdesk_core::ids::{AgentId, ShiftId};
use shiftdesk_core::leave::{LeaveApplication, LeaveKind, LeaveState};
use shiftdesk_core::message::Message;
use shiftdesk_core::schedule::{EntryStatus, ScheduleEntry};
use shiftdesk_core::service::AssignOptions;
use shiftdesk_core::shift::{NewShift, ShiftTimes, ShiftUpdate};
use shiftdesk_core::staff::{Actor, AgentUpdate, RequestId, Role};
use shiftdesk_core::store::{EntryQuery, Store};
use shiftdesk_core::swap::{SwapApplication, SwapKind, SwapState};
use shiftdesk_core::team::{AllowanceDays, MinRest, TeamSettings};
use shiftdesk_core::text::{Login, ShiftName, Skill};
use shiftdesk_core::time::{DateRange, TimeZone};

use crate::harness::{
    Harness, at, batch, by_id, conflict, date, dates, new_agent, overlaps, placement,
    schedule_conflicts, time,
};

/// How long the audit log and the event list were before a change.
#[derive(Debug, Clone, Copy)]
struct Mark {
    audit: usize,
    events: usize,
}

async fn mark(h: &Harness) -> Mark {
    Mark {
        audit: h.audit().await.len(),
        events: h.events.events().len(),
    }
}

/// What one change should have recorded.
struct Expected {
    actor: Actor,
    action: AuditAction,
    subject: Subject,
    before: Option<Snapshot>,
    after: Option<Snapshot>,
}

/// Asserts the change since `mark` wrote exactly the `expected` audit record and published
/// exactly `events`.
async fn assert_change(h: &Harness, mark: Mark, expected: Expected, events: Vec<DomainEvent>) {
    let record: AuditRecord = h.one_new_audit_record(mark.audit).await;
    let change = record.change;
    assert_eq!(
        (change.actor, change.action, change.subject),
        (expected.actor, expected.action, expected.subject)
    );
    assert_eq!(
        change.before, expected.before,
        "{:?} before",
        expected.action
    );
    assert_eq!(change.after, expected.after, "{:?} after", expected.action);
    assert_eq!(
        h.events_since(mark.events),
        events,
        "{:?} events",
        expected.action
    );
}

fn admin_actor(h: &Harness) -> Actor {
    Actor::admin(h.admin.id)
}

fn sorted(mut agents: Vec<AgentId>) -> Vec<AgentId> {
    agents.sort_unstable();
    agents
}

fn on_leave(entry: &ScheduleEntry, leave: shiftdesk_core::ids::LeaveId) -> ScheduleEntry {
    ScheduleEntry {
        status: EntryStatus::OnLeave { leave },
        ..entry.clone()
    }
}

/// The schedule, the staff, the shift templates and the team settings are the team's own:
/// a customer reading any of them is refused, while every staff member may read them.
pub async fn customers_cannot_read_the_schedule_staff_shifts_or_team_settings(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let entry = h.assign_one(ana, &s.day, "2027-06-01").await;
    let li = h.customer("Li").await;
    let customer = h.as_customer(li.id);
    let query = EntryQuery {
        dates: dates("2027-06-01", "2027-06-30"),
        agents: None,
        working_only: false,
    };

    let schedule = h.service.schedule(&customer, &query).await;
    let one_entry = h.service.entry(&customer, entry.id).await;
    for refused in [schedule.map(|_| ()), one_entry.map(|_| ())] {
        assert!(
            matches!(refused, Err(ScheduleError::Forbidden)),
            "{refused:?}"
        );
    }
    let staff = h.service.agents(&customer).await;
    let one_agent = h.service.agent(&customer, ana).await;
    let shifts = h.service.shifts(&customer).await;
    let team = h.service.team(&customer).await;
    let outcomes = [
        staff.map(|_| ()),
        one_agent.map(|_| ()),
        shifts.map(|_| ()),
        team.map(|_| ()),
    ];
    for refused in outcomes {
        assert!(matches!(refused, Err(AdminError::Forbidden)), "{refused:?}");
    }

    let me = h.as_agent(ana);
    let read = h.service.schedule(&me, &query).await;
    assert_eq!(read.expect("staff read the schedule"), vec![entry.clone()]);
    let read = h.service.entry(&me, entry.id).await;
    assert_eq!(read.expect("staff read an entry"), entry);
    assert!(h.service.agents(&me).await.is_ok());
    assert!(h.service.agent(&me, ana).await.is_ok());
    assert!(h.service.shifts(&me).await.is_ok());
    assert!(h.service.team(&me).await.is_ok());
}

/// Agents read the schedule, the team and the shifts, but every planning and management
/// operation refuses them as forbidden.
pub async fn agents_cannot_plan_the_schedule_or_manage_the_team(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let entry = h.assign_one(bo, &s.day, "2027-06-01").await;
    let me = h.as_agent(ana);
    let agents_before = h.service.agents(&h.admin()).await.expect("listed");
    let before = h.world().await;

    let request = batch(&[ana], s.day.id, "2027-06-02", "2027-06-02");
    let assigned = h
        .service
        .assign_batch(&me, &request, AssignOptions::default())
        .await;
    let placed = h
        .service
        .assign(
            &me,
            vec![placement(ana, s.day.id, "2027-06-02")],
            AssignOptions::default(),
        )
        .await;
    let moved = h
        .service
        .move_entry(&me, entry.id, placement(ana, s.day.id, "2027-06-01"))
        .await;
    let removed = h.service.remove_entry(&me, entry.id).await;
    for forbidden in [
        assigned.map(|_| ()),
        placed.map(|_| ()),
        moved.map(|_| ()),
        removed,
    ] {
        assert!(
            matches!(forbidden, Err(ScheduleError::Forbidden)),
            "{forbidden:?}"
        );
    }

    let team = h.service.update_team(&me, TeamSettings::default()).await;
    let agent = h
        .service
        .create_agent(&me, new_agent("mallory", Role::Admin, &[]))
        .await;
    let promoted = AgentUpdate {
        role: Some(Role::Admin),
        ..AgentUpdate::default()
    };
    let promoted = h.service.update_agent(&me, ana, promoted).await;
    let shift = h.service.create_shift(&me, new_shift("sneaky")).await;
    let renamed = h
        .service
        .update_shift(&me, s.day.id, ShiftUpdate::default())
        .await;
    let dropped = h.service.remove_shift(&me, s.mid.id).await;
    let audit = h.service.audit_log(&me, Default::default()).await;
    let outcomes = [
        team.map(|_| ()),
        agent.map(|_| ()),
        promoted.map(|_| ()),
        shift.map(|_| ()),
        renamed.map(|_| ()),
        dropped,
        audit.map(|_| ()),
    ];
    for forbidden in outcomes {
        assert!(
            matches!(forbidden, Err(AdminError::Forbidden)),
            "{forbidden:?}"
        );
    }
    assert_eq!(h.world().await, before);
    let agents_after = h.service.agents(&me).await.expect("agents may list staff");
    assert_eq!(agents_after, agents_before);

    let query = EntryQuery {
        dates: dates("2027-06-01", "2027-06-01"),
        agents: None,
        working_only: false,
    };
    let seen = h
        .service
        .schedule(&me, &query)
        .await
        .expect("agents read it");
    assert_eq!(seen, vec![entry]);
    assert_eq!(h.service.shifts(&me).await.expect("readable").len(), 5);
    assert!(h.service.team(&me).await.is_ok());
}

fn new_shift(name: &str) -> NewShift {
    NewShift {
        name: ShiftName::parse(name).expect("a valid name"),
        times: ShiftTimes::new(time("09:00"), time("17:00")).expect("valid times"),
        required_skill: None,
    }
}

/// Assigning, moving and removing each write one audit record (who, what, before and after)
/// and announce the agents and dates whose schedule changed.
pub async fn every_schedule_change_is_audited_once_and_announced(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let admin = admin_actor(&h);

    let m = mark(&h).await;
    let created = h
        .assign(&[bo, ana], &s.day, "2027-06-01", "2027-06-02")
        .await;
    let expected = Expected {
        actor: admin,
        action: AuditAction::EntriesAssigned,
        subject: Subject::Schedule,
        before: None,
        after: Some(Snapshot::assigned(&created)),
    };
    let announced = DomainEvent::ScheduleChanged {
        agents: sorted(vec![ana, bo]),
        dates: dates("2027-06-01", "2027-06-02"),
    };
    assert_change(&h, m, expected, vec![announced]).await;

    let m = mark(&h).await;
    let entry = created[0].clone();
    let to = placement(ana, s.late.id, "2027-06-03");
    let moved = h
        .service
        .move_entry(&h.admin(), entry.id, to)
        .await
        .expect("moved");
    let expected = Expected {
        actor: admin,
        action: AuditAction::EntryMoved,
        subject: Subject::Entry(entry.id),
        before: Some(Snapshot::Entries {
            entries: vec![entry],
        }),
        after: Some(Snapshot::Entries {
            entries: vec![moved.clone()],
        }),
    };
    let announced = DomainEvent::ScheduleChanged {
        agents: sorted(vec![ana, bo]),
        dates: dates("2027-06-01", "2027-06-03"),
    };
    assert_change(&h, m, expected, vec![announced]).await;

    let m = mark(&h).await;
    h.service
        .remove_entry(&h.admin(), moved.id)
        .await
        .expect("removed");
    let expected = Expected {
        actor: admin,
        action: AuditAction::EntryRemoved,
        subject: Subject::Entry(moved.id),
        before: Some(Snapshot::Entries {
            entries: vec![moved],
        }),
        after: None,
    };
    let announced = DomainEvent::ScheduleChanged {
        agents: vec![ana],
        dates: DateRange::single(date("2027-06-03")),
    };
    assert_change(&h, m, expected, vec![announced]).await;
}

/// Filing, approving, revoking, rejecting and cancelling leave each write one audit record,
/// with the entries the change touched, and announce the decision (and the schedule change
/// when entries moved).
pub async fn every_leave_change_is_audited_once_and_announced(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let admin = admin_actor(&h);
    let day = h.assign_one(ana, &s.day, "2027-06-01").await;
    let leave_dates = dates("2027-06-01", "2027-06-01");
    let decided = |leave, state| DomainEvent::LeaveDecided {
        leave,
        agent: ana,
        state,
    };
    let snapshot = |request, entries| Some(Snapshot::Leave { request, entries });

    let m = mark(&h).await;
    let filed = h
        .request_leave(ana, LeaveKind::Annual, "2027-06-01", "2027-06-01")
        .await;
    let expected = Expected {
        actor: Actor::agent(ana),
        action: AuditAction::LeaveRequested,
        subject: Subject::Leave(filed.id),
        before: None,
        after: snapshot(filed.clone(), vec![]),
    };
    let announced = DomainEvent::LeaveRequested {
        leave: filed.id,
        agent: ana,
    };
    assert_change(&h, m, expected, vec![announced]).await;

    let m = mark(&h).await;
    let approved = h.service.approve_leave(&h.admin(), filed.id).await;
    let approved = approved.expect("approved").leave;
    let expected = Expected {
        actor: admin,
        action: AuditAction::LeaveApproved,
        subject: Subject::Leave(filed.id),
        before: snapshot(filed.clone(), vec![day.clone()]),
        after: snapshot(approved.clone(), vec![on_leave(&day, filed.id)]),
    };
    let schedule_changed = DomainEvent::ScheduleChanged {
        agents: vec![ana],
        dates: leave_dates,
    };
    let events = vec![
        decided(filed.id, LeaveState::Approved),
        schedule_changed.clone(),
    ];
    assert_change(&h, m, expected, events).await;

    let m = mark(&h).await;
    let revoked = h.service.revoke_leave(&h.admin(), filed.id, None).await;
    let revoked = revoked.expect("revoked").leave;
    let expected = Expected {
        actor: admin,
        action: AuditAction::LeaveRevoked,
        subject: Subject::Leave(filed.id),
        before: snapshot(approved, vec![on_leave(&day, filed.id)]),
        after: snapshot(revoked, vec![day.clone()]),
    };
    let events = vec![decided(filed.id, LeaveState::Revoked), schedule_changed];
    assert_change(&h, m, expected, events).await;

    let second = h
        .request_leave(ana, LeaveKind::Sick, "2027-06-01", "2027-06-01")
        .await;
    let m = mark(&h).await;
    let rejected = h.service.reject_leave(&h.admin(), second.id, None).await;
    let expected = Expected {
        actor: admin,
        action: AuditAction::LeaveRejected,
        subject: Subject::Leave(second.id),
        before: snapshot(second.clone(), vec![]),
        after: snapshot(rejected.expect("rejected"), vec![]),
    };
    let events = vec![decided(second.id, LeaveState::Rejected)];
    assert_change(&h, m, expected, events).await;

    let third = h
        .request_leave(ana, LeaveKind::Other, "2027-06-02", "2027-06-02")
        .await;
    let m = mark(&h).await;
    let cancelled = h.service.cancel_leave(&h.as_agent(ana), third.id).await;
    let expected = Expected {
        actor: Actor::agent(ana),
        action: AuditAction::LeaveCancelled,
        subject: Subject::Leave(third.id),
        before: snapshot(third.clone(), vec![]),
        after: snapshot(cancelled.expect("cancelled"), vec![]),
    };
    let events = vec![decided(third.id, LeaveState::Cancelled)];
    assert_change(&h, m, expected, events).await;
}

/// Every step of a swap writes one audit record by whoever took it; approval records the
/// entries as they were and as they became, and announces the schedule change.
pub async fn every_swap_change_is_audited_once_and_announced(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let admin = admin_actor(&h);
    let given = h.assign_one(ana, &s.day, "2027-06-10").await;
    let snapshot = |request, entries| Some(Snapshot::Swap { request, entries });
    let decided = |swap, state| DomainEvent::SwapDecided {
        swap,
        requester: ana,
        target: bo,
        state,
    };

    let m = mark(&h).await;
    let filed = h.request_swap(&given, bo, SwapKind::Cover).await;
    let expected = Expected {
        actor: Actor::agent(ana),
        action: AuditAction::SwapRequested,
        subject: Subject::Swap(filed.id),
        before: None,
        after: snapshot(filed.clone(), vec![]),
    };
    let announced = DomainEvent::SwapRequested {
        swap: filed.id,
        requester: ana,
        target: bo,
    };
    assert_change(&h, m, expected, vec![announced]).await;

    let m = mark(&h).await;
    let accepted = h.service.accept_swap(&h.as_agent(bo), filed.id).await;
    let accepted = accepted.expect("accepted");
    let expected = Expected {
        actor: Actor::agent(bo),
        action: AuditAction::SwapAccepted,
        subject: Subject::Swap(filed.id),
        before: snapshot(filed.clone(), vec![]),
        after: snapshot(accepted.clone(), vec![]),
    };
    assert_change(
        &h,
        m,
        expected,
        vec![decided(filed.id, SwapState::Accepted)],
    )
    .await;

    let m = mark(&h).await;
    let approved = h.service.approve_swap(&h.admin(), filed.id).await;
    let approved = approved.expect("approved");
    let taken = h.working_of(bo).await.pop().expect("bo covers");
    let expected = Expected {
        actor: admin,
        action: AuditAction::SwapApproved,
        subject: Subject::Swap(filed.id),
        before: snapshot(accepted, vec![given.clone()]),
        after: snapshot(approved, vec![h.entry(given.id).await, taken]),
    };
    let events = vec![
        decided(filed.id, SwapState::Approved),
        DomainEvent::ScheduleChanged {
            agents: sorted(vec![ana, bo]),
            dates: DateRange::single(given.date),
        },
    ];
    assert_change(&h, m, expected, events).await;

    let steps: [(&str, AuditAction, SwapState); 3] = [
        ("2027-06-11", AuditAction::SwapDeclined, SwapState::Declined),
        (
            "2027-06-12",
            AuditAction::SwapCancelled,
            SwapState::Cancelled,
        ),
        ("2027-06-13", AuditAction::SwapRejected, SwapState::Rejected),
    ];
    for (day, action, state) in steps {
        let entry = h.assign_one(ana, &s.day, day).await;
        let open = if state == SwapState::Rejected {
            h.accepted_swap(&entry, bo, SwapKind::Cover).await
        } else {
            h.request_swap(&entry, bo, SwapKind::Cover).await
        };
        let m = mark(&h).await;
        let (actor, after) = match state {
            SwapState::Declined => (
                Actor::agent(bo),
                h.service.decline_swap(&h.as_agent(bo), open.id).await,
            ),
            SwapState::Cancelled => (
                Actor::agent(ana),
                h.service.cancel_swap(&h.as_agent(ana), open.id).await,
            ),
            _ => (
                admin,
                h.service.reject_swap(&h.admin(), open.id, None).await,
            ),
        };
        let expected = Expected {
            actor,
            action,
            subject: Subject::Swap(open.id),
            before: snapshot(open.clone(), vec![]),
            after: snapshot(after.expect("the step is taken"), vec![]),
        };
        assert_change(&h, m, expected, vec![decided(open.id, state)]).await;
    }
}

/// Team settings, staff and shift templates: each change writes one audit record with the
/// state before and after; the first admin's creation is recorded as the system's doing.
/// None of these are schedule events, so nothing is announced.
pub async fn every_team_staff_and_shift_change_is_audited_once(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let admin = admin_actor(&h);
    let first = h.audit().await;
    assert_eq!(first.len(), 1);
    let expected = Expected {
        actor: Actor::System,
        action: AuditAction::AgentCreated,
        subject: Subject::Agent(h.admin.id),
        before: None,
        after: Some(Snapshot::Agent {
            agent: h.admin.clone(),
        }),
    };
    assert_change(
        &h,
        Mark {
            audit: 0,
            events: 0,
        },
        expected,
        vec![],
    )
    .await;

    let m = mark(&h).await;
    let settings = shanghai_settings();
    let written = h.service.update_team(&h.admin(), settings.clone()).await;
    assert_eq!(written.expect("written"), settings);
    let expected = Expected {
        actor: admin,
        action: AuditAction::TeamUpdated,
        subject: Subject::Team,
        before: Some(Snapshot::Team {
            settings: TeamSettings::default(),
        }),
        after: Some(Snapshot::Team { settings }),
    };
    assert_change(&h, m, expected, vec![]).await;

    let m = mark(&h).await;
    let ana = h.agent_with_skills("ana", &["zh"]).await;
    let created = h.service.agent(&h.admin(), ana).await.expect("readable");
    let expected = Expected {
        actor: admin,
        action: AuditAction::AgentCreated,
        subject: Subject::Agent(ana),
        before: None,
        after: Some(Snapshot::Agent {
            agent: created.clone(),
        }),
    };
    assert_change(&h, m, expected, vec![]).await;

    let m = mark(&h).await;
    let update = AgentUpdate {
        skills: Some([skill("zh"), skill("billing")].into()),
        ..AgentUpdate::default()
    };
    let updated = h.service.update_agent(&h.admin(), ana, update).await;
    let updated = updated.expect("updated");
    assert!(updated.has_skill(&skill("billing")));
    let expected = Expected {
        actor: admin,
        action: AuditAction::AgentUpdated,
        subject: Subject::Agent(ana),
        before: Some(Snapshot::Agent { agent: created }),
        after: Some(Snapshot::Agent { agent: updated }),
    };
    assert_change(&h, m, expected, vec![]).await;

    let m = mark(&h).await;
    let shift = h.shift("day", "08:00", "16:00").await;
    let expected = Expected {
        actor: admin,
        action: AuditAction::ShiftCreated,
        subject: Subject::Shift(shift.id),
        before: None,
        after: Some(Snapshot::Shift {
            shift: shift.clone(),
        }),
    };
    assert_change(&h, m, expected, vec![]).await;

    let m = mark(&h).await;
    let update = ShiftUpdate {
        name: Some(ShiftName::parse("day-billing").expect("a valid name")),
        required_skill: Some(Some(skill("billing"))),
    };
    let renamed = h.service.update_shift(&h.admin(), shift.id, update).await;
    let renamed = renamed.expect("updated");
    assert_eq!(renamed.name.as_str(), "day-billing");
    assert_eq!(renamed.times, shift.times);
    let expected = Expected {
        actor: admin,
        action: AuditAction::ShiftUpdated,
        subject: Subject::Shift(shift.id),
        before: Some(Snapshot::Shift { shift }),
        after: Some(Snapshot::Shift {
            shift: renamed.clone(),
        }),
    };
    assert_change(&h, m, expected, vec![]).await;

    let m = mark(&h).await;
    h.service
        .remove_shift(&h.admin(), renamed.id)
        .await
        .expect("removed");
    let expected = Expected {
        actor: admin,
        action: AuditAction::ShiftRemoved,
        subject: Subject::Shift(renamed.id),
        before: Some(Snapshot::Shift { shift: renamed }),
        after: None,
    };
    assert_change(&h, m, expected, vec![]).await;
}

fn skill(name: &str) -> Skill {
    Skill::parse(name).expect("a valid skill")
}

fn shanghai_settings() -> TeamSettings {
    let mut settings = TeamSettings {
        time_zone: TimeZone::parse("Asia/Shanghai").expect("a known zone"),
        min_rest: Some(MinRest::from_minutes(11 * 60).expect("a valid rest")),
        ..TeamSettings::default()
    };
    for (kind, days) in [(LeaveKind::Annual, 20), (LeaveKind::Sick, 10)] {
        let days = AllowanceDays::new(days).expect("a valid allowance");
        settings.leave_allowances.insert(kind, days);
    }
    settings
}

/// The audit record keeps the request id the adapter passed, and the clock's time.
pub async fn audit_records_carry_the_request_id_and_the_time_of_the_change(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    h.clock.set(at("2027-04-01T07:30:00Z"));
    let traced = h.admin().with_request_id(RequestId::new("req-42"));

    let request = batch(&[ana], s.day.id, "2027-06-01", "2027-06-01");
    let outcome = h
        .service
        .assign_batch(&traced, &request, AssignOptions::default())
        .await;
    outcome.expect("assigned");
    let traced_record = h.audit().await.remove(0);
    h.clock.set(at("2027-04-02T07:30:00Z"));
    h.assign_one(ana, &s.day, "2027-06-02").await;
    let plain_record = h.audit().await.remove(0);

    assert_eq!(
        traced_record.change.request_id,
        Some(RequestId::new("req-42"))
    );
    assert_eq!(traced_record.change.at, at("2027-04-01T07:30:00Z"));
    assert_eq!(plain_record.change.request_id, None);
    assert_eq!(plain_record.change.at, at("2027-04-02T07:30:00Z"));
    assert!(
        plain_record.id > traced_record.id,
        "later records have larger ids"
    );
}

/// What a [`Witness`] saw in the store when an event reached it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// The announced agents' entries on the announced dates.
    Schedule(Vec<ScheduleEntry>),
    /// The announced leave request's state.
    Leave(Option<LeaveState>),
    /// The announced swap request's state.
    Swap(Option<SwapState>),
    /// The announced message, read back from its conversation.
    Message(Option<Message>),
    /// The conversation an event announces a change of.
    Conversation(Option<Conversation>),
    /// The staff member whose sessions ended.
    Agent(Option<shiftdesk_core::staff::Agent>),
}

/// A notifier that, on every event, reads from the store what the event announces.
pub(crate) struct Witness {
    store: Arc<dyn Store>,
    seen: Mutex<Vec<Seen>>,
}

impl Witness {
    /// A witness reading from `store`, having seen nothing yet.
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            seen: Mutex::new(Vec::new()),
        }
    }

    /// What it saw since the last call, oldest first.
    pub(crate) fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Reads from the store what `event` announces.
    pub(crate) async fn look(&self, event: DomainEvent) {
        // Bounded: a service that published before committing would hold the store here.
        let begin = self.store.begin();
        let begun = crate::transactions::within("reading the store when an event arrives", begin);
        let mut tx = begun.await.expect("the witness reads the store");
        let seen = match event {
            DomainEvent::ScheduleChanged { agents, dates } => {
                let query = EntryQuery {
                    dates,
                    agents: Some(agents),
                    working_only: false,
                };
                Seen::Schedule(by_id(tx.entries(&query).await.expect("read")))
            }
            DomainEvent::LeaveRequested { leave, .. } | DomainEvent::LeaveDecided { leave, .. } => {
                let found = tx.leave(leave).await.expect("read");
                Seen::Leave(found.map(|leave| leave.status.state()))
            }
            DomainEvent::SwapRequested { swap, .. } | DomainEvent::SwapDecided { swap, .. } => {
                let found = tx.swap(swap).await.expect("read");
                Seen::Swap(found.map(|swap| swap.status.state()))
            }
            DomainEvent::MessagePosted { message, .. } => {
                let id = message.conversation;
                let page = tx
                    .messages_before(id, Some(message.seq.next()), 1, true)
                    .await;
                let found = page
                    .expect("read")
                    .pop()
                    .filter(|found| found.seq == message.seq);
                Seen::Message(found)
            }
            DomainEvent::ConversationAssigned { conversation, .. }
            | DomainEvent::ConversationTransferred { conversation, .. }
            | DomainEvent::ConversationQueued { conversation, .. }
            | DomainEvent::ConversationStatusChanged { conversation, .. }
            | DomainEvent::ReadPositionMoved { conversation, .. } => {
                Seen::Conversation(tx.conversation(conversation).await.expect("read"))
            }
            DomainEvent::SessionsEnded { agent } => {
                Seen::Agent(tx.agents(&[agent]).await.expect("read").pop())
            }
        };
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(seen);
    }
}

// Written out by hand rather than with `#[async_trait]`, which this crate does not depend on.
impl Notifier for Witness {
    fn publish<'life0, 'async_trait>(
        &'life0 self,
        event: DomainEvent,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.look(event))
    }
}

/// A listener that reads the store the moment it hears an event finds the change already
/// there: events are published after commit.
pub async fn events_are_published_only_after_the_change_is_visible(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo, cy) = (
        h.agent("ana").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    let bos = h.assign_one(bo, &s.day, "2027-06-10").await;
    let witness = Arc::new(Witness {
        store: h.store.clone(),
        seen: Mutex::new(Vec::new()),
    });
    let service = Service::new(h.store.clone(), witness.clone(), h.clock.clone());
    let admin = h.admin();

    let request = batch(&[ana], s.day.id, "2027-06-01", "2027-06-01");
    let outcome = service.assign_batch(&admin, &request, AssignOptions::default());
    let created = crate::harness::written(outcome.await);
    assert_eq!(witness.take(), vec![Seen::Schedule(created.clone())]);

    let application = LeaveApplication {
        agent: ana,
        kind: LeaveKind::Annual,
        dates: dates("2027-06-01", "2027-06-01"),
        reason: None,
    };
    let filed = service.request_leave(&h.as_agent(ana), application).await;
    let filed = filed.expect("filed");
    assert_eq!(witness.take(), vec![Seen::Leave(Some(LeaveState::Pending))]);
    service
        .approve_leave(&admin, filed.id)
        .await
        .expect("approved");
    let away = vec![on_leave(&created[0], filed.id)];
    let expected = vec![
        Seen::Leave(Some(LeaveState::Approved)),
        Seen::Schedule(away),
    ];
    assert_eq!(witness.take(), expected);

    let application = SwapApplication {
        requester_entry: bos.id,
        target: cy,
        kind: SwapKind::Cover,
        note: None,
    };
    let swap = service.request_swap(&h.as_agent(bo), application).await;
    let swap = swap.expect("filed");
    assert_eq!(witness.take(), vec![Seen::Swap(Some(SwapState::Pending))]);
    service
        .accept_swap(&h.as_agent(cy), swap.id)
        .await
        .expect("accepted");
    assert_eq!(witness.take(), vec![Seen::Swap(Some(SwapState::Accepted))]);
    service
        .approve_swap(&admin, swap.id)
        .await
        .expect("approved");
    let mut after = h.schedule_of(bo).await;
    after.extend(h.schedule_of(cy).await);
    let expected = vec![
        Seen::Swap(Some(SwapState::Approved)),
        Seen::Schedule(by_id(after)),
    ];
    assert_eq!(witness.take(), expected);
}

/// Refused operations of every kind leave the schedule, the requests, the audit log and the
/// event list exactly as they were.
pub async fn refused_operations_publish_no_events_and_write_no_audit(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    h.set_allowance(LeaveKind::Annual, 1).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let anas = h.assign_one(ana, &s.day, "2027-06-01").await;
    let bos = h.assign_one(bo, &s.mid, "2027-06-01").await;
    let pending = h
        .request_leave(bo, LeaveKind::Annual, "2027-06-21", "2027-06-21")
        .await;
    h.approved_leave(bo, "2027-06-20", "2027-06-20").await;
    let swap = h
        .request_swap(
            &anas,
            bo,
            SwapKind::Exchange {
                target_entry: bos.id,
            },
        )
        .await;
    let before = h.world().await;

    let conflicting = h
        .try_batch(
            &batch(&[ana], s.mid.id, "2027-06-01", "2027-06-01"),
            BatchMode::AllOrNothing,
        )
        .await;
    assert_eq!(
        schedule_conflicts(conflicting),
        vec![conflict(ana, s.mid.id, "2027-06-01", overlaps(&anas))]
    );
    let moved = h
        .service
        .move_entry(&h.admin(), anas.id, placement(bo, s.day.id, "2027-06-01"))
        .await;
    assert!(matches!(moved, Err(ScheduleError::Conflicts(_))));
    let over_allowance = h.service.approve_leave(&h.admin(), pending.id).await;
    assert!(matches!(over_allowance, Err(LeaveError::Refused(_))));
    let overlapping = h
        .try_request_leave(bo, LeaveKind::Sick, "2027-06-21", "2027-06-22")
        .await;
    assert!(matches!(overlapping, Err(LeaveError::Refused(_))));
    let not_accepted = h.service.approve_swap(&h.admin(), swap.id).await;
    assert!(matches!(not_accepted, Err(SwapError::Refused(_))));
    let by_requester = h.service.accept_swap(&h.as_agent(ana), swap.id).await;
    assert!(matches!(by_requester, Err(SwapError::Forbidden)));
    let removed = h.service.remove_entry(&h.as_agent(ana), anas.id).await;
    assert!(matches!(removed, Err(ScheduleError::Forbidden)));

    assert_eq!(h.world().await, before);
}

/// A fresh store holds the default settings (UTC, no minimum rest, no allowances); written
/// settings read back whole, to admins and agents alike.
pub async fn team_settings_start_at_defaults_and_read_back_as_written(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let ana = h.agent("ana").await;

    let fresh = h.service.team(&h.admin()).await.expect("readable");
    assert_eq!(fresh, TeamSettings::default());
    assert_eq!(fresh.time_zone, TimeZone::UTC);

    h.service
        .update_team(&h.admin(), shanghai_settings())
        .await
        .expect("written");
    let read = h.service.team(&h.as_agent(ana)).await.expect("readable");
    assert_eq!(read, shanghai_settings());
}

/// Two staff members cannot share a login (compared after lower-casing), nor two shift
/// templates a name, whether created or renamed.
pub async fn logins_and_shift_names_are_unique(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    h.agent("ana").await;
    let staff = h.service.agents(&h.admin()).await.expect("listed");
    let shifts = h.service.shifts(&h.admin()).await.expect("listed");
    let audit = h.audit().await.len();

    let again = h
        .service
        .create_agent(&h.admin(), new_agent("ANA", Role::Agent, &[]))
        .await;
    let same_name = h.service.create_shift(&h.admin(), new_shift("day")).await;
    let rename = ShiftUpdate {
        name: Some(ShiftName::parse("day").expect("a valid name")),
        ..ShiftUpdate::default()
    };
    let renamed = h.service.update_shift(&h.admin(), s.late.id, rename).await;

    let login = Login::parse("ana").expect("a valid login");
    assert!(matches!(again, Err(AdminError::LoginTaken(taken)) if taken == login));
    let name = ShiftName::parse("day").expect("a valid name");
    assert!(matches!(same_name, Err(AdminError::ShiftNameTaken(ref taken)) if *taken == name));
    assert!(matches!(renamed, Err(AdminError::ShiftNameTaken(ref taken)) if *taken == name));
    assert_eq!(h.service.agents(&h.admin()).await.expect("listed"), staff);
    assert_eq!(h.service.shifts(&h.admin()).await.expect("listed"), shifts);
    assert_eq!(h.audit().await.len(), audit);
}

/// A template that entries follow cannot be removed; an unused one can, once.
pub async fn a_shift_template_in_use_cannot_be_removed(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let entry = h.assign_one(ana, &s.day, "2027-06-01").await;
    h.approved_leave(ana, "2027-06-01", "2027-06-01").await;

    let in_use = h.service.remove_shift(&h.admin(), s.day.id).await;
    assert!(
        matches!(in_use, Err(AdminError::ShiftInUse(Resource::Shift(id))) if id == s.day.id),
        "an entry on leave still follows its template: {in_use:?}"
    );
    h.service
        .remove_shift(&h.admin(), s.mid.id)
        .await
        .expect("an unused template is removed");
    let again = h.service.remove_shift(&h.admin(), s.mid.id).await;
    assert!(matches!(again, Err(AdminError::NotFound(Resource::Shift(id))) if id == s.mid.id));
    let ids: Vec<ShiftId> = h
        .service
        .shifts(&h.admin())
        .await
        .expect("listed")
        .iter()
        .map(|shift| shift.id)
        .collect();
    assert!(!ids.contains(&s.mid.id) && ids.contains(&s.day.id));

    h.service
        .remove_entry(&h.admin(), entry.id)
        .await
        .expect("removed");
    h.service
        .remove_shift(&h.admin(), s.day.id)
        .await
        .expect("no entry follows it any more");
}

/// Deactivation keeps an agent's planned entries but refuses new work until reactivated;
/// unknown staff are not found.
pub async fn deactivating_an_agent_keeps_their_entries_but_blocks_new_ones(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let entry = h.assign_one(ana, &s.day, "2027-06-01").await;

    h.deactivate(ana).await;

    assert_eq!(h.schedule_of(ana).await, vec![entry]);
    let refused = h
        .try_assign(vec![placement(ana, s.day.id, "2027-06-02")])
        .await;
    assert_eq!(schedule_conflicts(refused).len(), 1);
    let back = AgentUpdate {
        active: Some(true),
        ..AgentUpdate::default()
    };
    let back = h.service.update_agent(&h.admin(), ana, back).await;
    assert!(back.expect("reactivated").active);
    h.assign_one(ana, &s.day, "2027-06-02").await;

    let nobody = AgentId::try_from(999_999).expect("a valid id");
    let read = h.service.agent(&h.admin(), nobody).await;
    assert!(matches!(read, Err(AdminError::NotFound(Resource::Agent(id))) if id == nobody));
    let update = h
        .service
        .update_agent(&h.admin(), nobody, AgentUpdate::default())
        .await;
    assert!(matches!(update, Err(AdminError::NotFound(Resource::Agent(id))) if id == nobody));
}
