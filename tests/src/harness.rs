//! The harness every case starts from: a [`Service`] over the store under test, a clock the
//! case sets, a notifier that records what was announced, a presence the case switches, and
//! helpers that set up a team, its customers and their conversations in a line each.
//!
//! Helpers that arrange a case panic on any failure: a case that cannot even be arranged has
//! found a broken store. Helpers named `try_*` return the service's answer for the case to
//! judge.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use shiftdesk_core::Service;
use shiftdesk_core::assign::{BatchAssignment, BatchMode};
use shiftdesk_core::audit::{AuditQuery, AuditRecord};
use shiftdesk_core::canned::CannedReply;
use shiftdesk_core::conflict::{Collision, Conflict, ConflictReason};
use shiftdesk_core::conversation::{
    Conversation, ConversationRefusal, Customer, NewCustomer, StatusKind,
};
use shiftdesk_core::error::{ConversationError, Resource};
use shiftdesk_core::error::{LeaveError, ScheduleError, SwapError};
use shiftdesk_core::event::{DomainEvent, RecordingNotifier};
use shiftdesk_core::ids::{AgentId, EntryId, Seq, ShiftId};
use shiftdesk_core::ids::{ConversationId, CustomerId};
use shiftdesk_core::leave::{LeaveApplication, LeaveKind, LeaveRefusal, LeaveRequest, LeaveStatus};
use shiftdesk_core::message::{Message, MessageKind};
use shiftdesk_core::routing::PresenceSet;
use shiftdesk_core::schedule::{Placement, ScheduleEntry};
use shiftdesk_core::search::{AssigneeFilter, ConversationFilter, ConversationSummary, Page};
use shiftdesk_core::service::{AssignOptions, AssignOutcome};
use shiftdesk_core::service::{ConversationDetail, Outgoing};
use shiftdesk_core::shift::{NewShift, ShiftTemplate, ShiftTimes};
use shiftdesk_core::staff::{Actor, Agent, AgentUpdate, Capacity, Context, NewAgent, Role};
use shiftdesk_core::store::{EntryQuery, LeaveQuery, Store, SwapQuery};
use shiftdesk_core::swap::{SwapApplication, SwapKind, SwapRefusal, SwapRequest};
use shiftdesk_core::team::{AllowanceDays, MinRest};
use shiftdesk_core::text::{ClientMessageId, ExternalId, MessageBody, SearchText, Topic};
use shiftdesk_core::text::{DisplayName, Login, ShiftName, Skill};
use shiftdesk_core::time::{Clock, DateRange, ManualClock, TimeZone};
use shiftdesk_core::transfer::TransferRefusal;

/// Where the clock starts: before every date a case plans, so no shift has started yet and
/// swaps are allowed.
pub const CLOCK_START: &str = "2027-01-01T00:00:00Z";

/// The year the cases plan in; [`Harness::world`] reads all of it.
pub const PLANNING_YEAR: (&str, &str) = ("2027-01-01", "2027-12-31");

/// A service over the store under test, with the clock, notifier and admin it was built with.
#[derive(Clone)]
pub struct Harness {
    /// The operations under test, over `store`.
    pub service: Service,
    /// The store under test, for cases that check the store's own contract.
    pub store: Arc<dyn Store>,
    /// The service's clock; starts at [`CLOCK_START`] and moves only when a case moves it.
    pub clock: Arc<ManualClock>,
    /// Every event the service published, in order.
    pub events: Arc<RecordingNotifier>,
    /// Who routing counts as online; nobody until a case says otherwise.
    pub presence: Arc<PresenceSet>,
    /// The admin the harness created first; plans and decides unless a case says otherwise.
    pub admin: Agent,
}

impl Harness {
    /// A harness over `store`, which must be empty, with one admin (login `lead`) created by
    /// the system.
    pub async fn new(store: Arc<dyn Store>) -> Self {
        let clock = Arc::new(ManualClock::new(at(CLOCK_START)));
        let events = Arc::new(RecordingNotifier::default());
        let presence = Arc::new(PresenceSet::default());
        let service = Service::new(store.clone(), events.clone(), clock.clone())
            .with_presence(presence.clone());
        let system = Context::new(Actor::System);
        let admin = service
            .create_agent(&system, new_agent("lead", Role::Admin, &[]))
            .await
            .expect("the first admin is created");
        Self {
            service,
            store,
            clock,
            events,
            presence,
            admin,
        }
    }

    /// The harness's admin acting.
    pub fn admin(&self) -> Context {
        Context::new(Actor::admin(self.admin.id))
    }

    /// `agent` acting as an agent.
    pub fn as_agent(&self, agent: AgentId) -> Context {
        Context::new(Actor::agent(agent))
    }

    /// Creates an active agent with no skills.
    pub async fn agent(&self, login: &str) -> AgentId {
        self.agent_with_skills(login, &[]).await
    }

    /// Creates an active agent holding `skills`.
    pub async fn agent_with_skills(&self, login: &str, skills: &[&str]) -> AgentId {
        let agent = new_agent(login, Role::Agent, skills);
        let created = self.service.create_agent(&self.admin(), agent).await;
        created.expect("an agent is created").id
    }

    /// Creates `count` active agents, logins `{prefix}-01` and up, in id order.
    pub async fn agents(&self, prefix: &str, count: usize) -> Vec<AgentId> {
        let mut ids = Vec::with_capacity(count);
        for n in 1..=count {
            ids.push(self.agent(&format!("{prefix}-{n:02}")).await);
        }
        ids
    }

    /// Deactivates a staff member.
    pub async fn deactivate(&self, agent: AgentId) {
        let update = AgentUpdate {
            active: Some(false),
            ..AgentUpdate::default()
        };
        let updated = self
            .service
            .update_agent(&self.admin(), agent, update)
            .await;
        assert!(!updated.expect("the agent is deactivated").active);
    }

    /// Creates a shift template from `start` to `end` (`"HH:MM"`, local time).
    pub async fn shift(&self, name: &str, start: &str, end: &str) -> ShiftTemplate {
        self.create_shift(name, start, end, None).await
    }

    /// Creates the shift templates most cases use; see [`Shifts`].
    pub async fn standard_shifts(&self) -> Shifts {
        Shifts {
            day: self.shift("day", "08:00", "16:00").await,
            late: self.shift("late", "16:00", "00:00").await,
            night: self.shift("night", "22:00", "06:00").await,
            early: self.shift("early", "05:00", "13:00").await,
            mid: self.shift("mid", "12:00", "20:00").await,
        }
    }

    /// Creates a shift template that requires `skill`.
    pub async fn shift_requiring(
        &self,
        name: &str,
        start: &str,
        end: &str,
        skill: &str,
    ) -> ShiftTemplate {
        self.create_shift(name, start, end, Some(skill)).await
    }

    async fn create_shift(
        &self,
        name: &str,
        start: &str,
        end: &str,
        skill: Option<&str>,
    ) -> ShiftTemplate {
        let shift = NewShift {
            name: ShiftName::parse(name).expect("a valid shift name"),
            times: ShiftTimes::new(time(start), time(end)).expect("valid shift times"),
            required_skill: skill.map(|skill| Skill::parse(skill).expect("a valid skill")),
        };
        let created = self.service.create_shift(&self.admin(), shift).await;
        created.expect("a shift template is created")
    }

    /// Sets the team's time zone (an IANA name).
    pub async fn set_time_zone(&self, zone: &str) {
        let mut team = self.team().await;
        team.time_zone = TimeZone::parse(zone).expect("a known time zone");
        self.put_team(team).await;
    }

    /// Sets the team's minimum rest between two working entries.
    pub async fn set_min_rest(&self, minutes: u32) {
        let mut team = self.team().await;
        team.min_rest = Some(MinRest::from_minutes(minutes).expect("a valid minimum rest"));
        self.put_team(team).await;
    }

    /// Sets the yearly allowance for one kind of leave.
    pub async fn set_allowance(&self, kind: LeaveKind, days: u32) {
        let mut team = self.team().await;
        let days = AllowanceDays::new(days).expect("a valid allowance");
        team.leave_allowances.insert(kind, days);
        self.put_team(team).await;
    }

    pub(crate) async fn team(&self) -> shiftdesk_core::team::TeamSettings {
        let team = self.service.team(&self.admin()).await;
        team.expect("the team settings are read")
    }

    pub(crate) async fn put_team(&self, team: shiftdesk_core::team::TeamSettings) {
        let updated = self.service.update_team(&self.admin(), team).await;
        updated.expect("the team settings are written");
    }

    /// Assigns `shift` to `agents` on every date from `first` to `last`, all or nothing, and
    /// returns the new entries; panics if anything conflicts.
    pub async fn assign(
        &self,
        agents: &[AgentId],
        shift: &ShiftTemplate,
        first: &str,
        last: &str,
    ) -> Vec<ScheduleEntry> {
        let batch = batch(agents, shift.id, first, last);
        let outcome = self.try_batch(&batch, BatchMode::AllOrNothing).await;
        written(outcome)
    }

    /// Assigns one agent-day and returns the new entry; panics if it conflicts.
    pub async fn assign_one(
        &self,
        agent: AgentId,
        shift: &ShiftTemplate,
        day: &str,
    ) -> ScheduleEntry {
        let mut entries = self.assign(&[agent], shift, day, day).await;
        assert_eq!(entries.len(), 1, "one agent-day makes one entry");
        entries.remove(0)
    }

    /// Runs a batch assignment (not a dry run) and returns the service's answer.
    pub async fn try_batch(
        &self,
        batch: &BatchAssignment,
        mode: BatchMode,
    ) -> Result<AssignOutcome, ScheduleError> {
        let options = AssignOptions {
            mode,
            dry_run: false,
        };
        self.service
            .assign_batch(&self.admin(), batch, options)
            .await
    }

    /// Assigns single agent-days all or nothing and returns the service's answer.
    pub async fn try_assign(
        &self,
        placements: Vec<Placement>,
    ) -> Result<AssignOutcome, ScheduleError> {
        let options = AssignOptions::default();
        self.service
            .assign(&self.admin(), placements, options)
            .await
    }

    /// Every entry dated in [`PLANNING_YEAR`], ordered by agent, then start.
    pub async fn schedule(&self) -> Vec<ScheduleEntry> {
        self.read_schedule(None, false).await
    }

    /// One agent's entries dated in [`PLANNING_YEAR`], in start order.
    pub async fn schedule_of(&self, agent: AgentId) -> Vec<ScheduleEntry> {
        self.read_schedule(Some(vec![agent]), false).await
    }

    /// One agent's working entries dated in [`PLANNING_YEAR`], in start order.
    pub async fn working_of(&self, agent: AgentId) -> Vec<ScheduleEntry> {
        self.read_schedule(Some(vec![agent]), true).await
    }

    async fn read_schedule(
        &self,
        agents: Option<Vec<AgentId>>,
        working_only: bool,
    ) -> Vec<ScheduleEntry> {
        let query = EntryQuery {
            dates: dates(PLANNING_YEAR.0, PLANNING_YEAR.1),
            agents,
            working_only,
        };
        let entries = self.service.schedule(&self.admin(), &query).await;
        entries.expect("the schedule is read")
    }

    /// One entry as it is now.
    pub async fn entry(&self, id: EntryId) -> ScheduleEntry {
        let entry = self.service.entry(&self.admin(), id).await;
        entry.expect("the entry exists")
    }

    /// Files a leave request as the agent and returns it, pending.
    pub async fn request_leave(
        &self,
        agent: AgentId,
        kind: LeaveKind,
        first: &str,
        last: &str,
    ) -> LeaveRequest {
        let filed = self
            .try_request_leave(agent, kind, first, last)
            .await
            .expect("the leave request is filed");
        assert_eq!(filed.status, LeaveStatus::Pending);
        filed
    }

    /// Files a leave request as the agent and returns the service's answer.
    pub async fn try_request_leave(
        &self,
        agent: AgentId,
        kind: LeaveKind,
        first: &str,
        last: &str,
    ) -> Result<LeaveRequest, LeaveError> {
        let application = LeaveApplication {
            agent,
            kind,
            dates: dates(first, last),
            reason: None,
        };
        self.service
            .request_leave(&self.as_agent(agent), application)
            .await
    }

    /// Files annual leave for the agent and has the admin approve it.
    pub async fn approved_leave(&self, agent: AgentId, first: &str, last: &str) -> LeaveRequest {
        let filed = self
            .request_leave(agent, LeaveKind::Annual, first, last)
            .await;
        let approved = self.service.approve_leave(&self.admin(), filed.id).await;
        approved.expect("the leave is approved").leave
    }

    /// Files a swap of `entry` to `target`, as the entry's agent, and returns the service's
    /// answer.
    pub async fn try_request_swap(
        &self,
        entry: &ScheduleEntry,
        target: AgentId,
        kind: SwapKind,
    ) -> Result<SwapRequest, SwapError> {
        let application = SwapApplication {
            requester_entry: entry.id,
            target,
            kind,
            note: None,
        };
        self.service
            .request_swap(&self.as_agent(entry.agent), application)
            .await
    }

    /// Files a swap of `entry` to `target` and returns it, pending.
    pub async fn request_swap(
        &self,
        entry: &ScheduleEntry,
        target: AgentId,
        kind: SwapKind,
    ) -> SwapRequest {
        let filed = self.try_request_swap(entry, target, kind).await;
        filed.expect("the swap request is filed")
    }

    /// Files a swap of `entry` to `target` and has the target accept it.
    pub async fn accepted_swap(
        &self,
        entry: &ScheduleEntry,
        target: AgentId,
        kind: SwapKind,
    ) -> SwapRequest {
        let filed = self.request_swap(entry, target, kind).await;
        let accepted = self
            .service
            .accept_swap(&self.as_agent(target), filed.id)
            .await;
        accepted.expect("the target accepts the swap")
    }

    /// Files, accepts and approves a swap of `entry` to `target`.
    pub async fn approved_swap(
        &self,
        entry: &ScheduleEntry,
        target: AgentId,
        kind: SwapKind,
    ) -> SwapRequest {
        let accepted = self.accepted_swap(entry, target, kind).await;
        let approved = self.service.approve_swap(&self.admin(), accepted.id).await;
        approved.expect("the admin approves the swap")
    }

    /// The whole audit log, newest first.
    pub async fn audit(&self) -> Vec<AuditRecord> {
        let query = AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        };
        let records = self.service.audit_log(&self.admin(), query).await;
        records.expect("the audit log is read")
    }

    /// The one audit record written since the log held `before` records; panics unless there
    /// is exactly one.
    pub async fn one_new_audit_record(&self, before: usize) -> AuditRecord {
        let mut records = self.audit().await;
        assert_eq!(
            records.len(),
            before + 1,
            "the change writes exactly one audit record"
        );
        records.remove(0)
    }

    /// The events published since `before` events had been.
    pub fn events_since(&self, before: usize) -> Vec<DomainEvent> {
        self.events.events().split_off(before)
    }

    /// Everything a refused operation must leave as it was.
    pub async fn world(&self) -> World {
        let leaves = self
            .service
            .leaves(&self.admin(), LeaveQuery::default())
            .await
            .expect("leave requests are read");
        let swaps = self
            .service
            .swaps(&self.admin(), SwapQuery::default())
            .await
            .expect("swap requests are read");
        World {
            entries: self.schedule().await,
            leaves,
            swaps,
            audit: self.audit().await,
            events: self.events.events(),
        }
    }
}

/// The shift templates most cases use, local times in the team's zone.
#[derive(Debug, Clone)]
pub struct Shifts {
    /// 08:00–16:00.
    pub day: ShiftTemplate,
    /// 16:00–00:00: starts when `day` ends, ends at midnight.
    pub late: ShiftTemplate,
    /// 22:00–06:00 the next morning.
    pub night: ShiftTemplate,
    /// 05:00–13:00: overlaps the end of the previous `night` and the start of `day`.
    pub early: ShiftTemplate,
    /// 12:00–20:00: overlaps both `day` and `late`.
    pub mid: ShiftTemplate,
}

/// Everything the service can show: a refused operation must leave all of it unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    /// Every entry in [`PLANNING_YEAR`].
    pub entries: Vec<ScheduleEntry>,
    /// Every leave request.
    pub leaves: Vec<LeaveRequest>,
    /// Every swap request.
    pub swaps: Vec<SwapRequest>,
    /// The audit log, newest first.
    pub audit: Vec<AuditRecord>,
    /// Every event published.
    pub events: Vec<DomainEvent>,
}

/// A staff member to create.
pub fn new_agent(login: &str, role: Role, skills: &[&str]) -> NewAgent {
    NewAgent {
        login: Login::parse(login).expect("a valid login"),
        display_name: DisplayName::parse(login).expect("a valid display name"),
        role,
        skills: skills
            .iter()
            .map(|skill| Skill::parse(skill).expect("a valid skill"))
            .collect::<BTreeSet<_>>(),
        capacity: None,
    }
}

/// A date written `YYYY-MM-DD`.
pub fn date(text: &str) -> NaiveDate {
    text.parse().expect("a date written YYYY-MM-DD")
}

/// A time of day written `HH:MM`.
pub fn time(text: &str) -> NaiveTime {
    NaiveTime::parse_from_str(text, "%H:%M").expect("a time written HH:MM")
}

/// An instant written in RFC 3339, e.g. `2027-03-14T04:00:00Z`.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 instant")
        .with_timezone(&Utc)
}

/// The dates from `first` through `last`.
pub fn dates(first: &str, last: &str) -> DateRange {
    DateRange::new(date(first), date(last)).expect("a date range in order")
}

/// One requested agent-day.
pub fn placement(agent: AgentId, shift: ShiftId, day: &str) -> Placement {
    Placement {
        agent,
        shift,
        date: date(day),
    }
}

/// One shift for `agents` on every date from `first` to `last`.
pub fn batch(agents: &[AgentId], shift: ShiftId, first: &str, last: &str) -> BatchAssignment {
    BatchAssignment {
        shift,
        dates: dates(first, last),
        weekdays: None,
        agents: agents.to_vec(),
    }
}

/// A conflict of `agent` working `shift` on `day`.
pub fn conflict(agent: AgentId, shift: ShiftId, day: &str, reason: ConflictReason) -> Conflict {
    Conflict {
        agent,
        date: date(day),
        shift,
        reason,
    }
}

/// The overlap of a requested agent-day with an existing entry.
pub fn overlaps(entry: &ScheduleEntry) -> ConflictReason {
    ConflictReason::Overlap {
        with: collision(entry),
    }
}

/// An existing entry as a conflict names it.
pub fn collision(entry: &ScheduleEntry) -> Collision {
    Collision::Entry {
        entry: entry.id,
        shift: entry.shift,
        date: entry.date,
    }
}

/// The entries an assignment wrote; panics unless it wrote.
pub fn written(outcome: Result<AssignOutcome, ScheduleError>) -> Vec<ScheduleEntry> {
    match outcome {
        Ok(AssignOutcome::Written { entries, skipped }) => {
            assert!(skipped.is_empty(), "nothing was skipped: {skipped:?}");
            entries
        }
        other => panic!("expected the assignment to be written, got {other:?}"),
    }
}

/// The conflicts an assignment was refused with; panics unless it was refused for conflicts.
pub fn schedule_conflicts<T: std::fmt::Debug>(outcome: Result<T, ScheduleError>) -> Vec<Conflict> {
    match outcome {
        Err(ScheduleError::Conflicts(conflicts)) => conflicts,
        other => panic!("expected conflicts, got {other:?}"),
    }
}

/// The refusal a leave operation met; panics unless the rules refused it.
pub fn leave_refusal<T: std::fmt::Debug>(outcome: Result<T, LeaveError>) -> LeaveRefusal {
    match outcome {
        Err(LeaveError::Refused(refusal)) => refusal,
        other => panic!("expected the leave rules to refuse, got {other:?}"),
    }
}

/// The refusal a swap operation met; panics unless the rules refused it.
pub fn swap_refusal<T: std::fmt::Debug>(outcome: Result<T, SwapError>) -> SwapRefusal {
    match outcome {
        Err(SwapError::Refused(refusal)) => refusal,
        other => panic!("expected the swap rules to refuse, got {other:?}"),
    }
}

/// Asserts that two lists hold the same items, each as often, in any order.
pub fn assert_same_items<T: Hash + Eq + std::fmt::Debug>(actual: &[T], expected: &[T]) {
    fn counts<T: Hash + Eq>(items: &[T]) -> HashMap<&T, usize> {
        let mut counts = HashMap::new();
        for item in items {
            *counts.entry(item).or_default() += 1;
        }
        counts
    }
    assert_eq!(
        counts(actual),
        counts(expected),
        "\nactual:   {actual:#?}\nexpected: {expected:#?}"
    );
}

/// The entries sorted by id, for comparing lists whose order the contract leaves open.
pub fn by_id(mut entries: Vec<ScheduleEntry>) -> Vec<ScheduleEntry> {
    entries.sort_by_key(|entry| entry.id);
    entries
}

// Conversations: customers, presence, agents on duty, messages, and a snapshot of everything a
// refused conversation operation must leave as it was.

/// Where conversation cases set the clock: a Monday at 10:00 in the team's default zone (UTC),
/// inside the desk shift [`Harness::on_shift_now`] plans.
pub const DESK_TIME: &str = "2027-03-01T10:00:00Z";

/// The local hours of the desk shift [`Harness::on_shift_now`] plans.
const DESK_HOURS: (&str, &str) = ("08:00", "16:00");

/// How many conversations or messages the snapshot helpers read at a time.
const READ_PAGE: usize = 500;

impl Harness {
    /// A harness over `store` whose clock shows [`DESK_TIME`].
    pub async fn at_desk(store: Arc<dyn Store>) -> Self {
        let h = Self::new(store).await;
        h.clock.set(at(DESK_TIME));
        h
    }

    /// What the clock shows.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Creates an active agent whose display name differs from their login.
    pub async fn agent_named(&self, login: &str, display_name: &str) -> AgentId {
        let agent = NewAgent {
            display_name: DisplayName::parse(display_name).expect("a valid display name"),
            ..new_agent(login, Role::Agent, &[])
        };
        let created = self.service.create_agent(&self.admin(), agent).await;
        created.expect("an agent is created").id
    }

    /// Gives `agent` their own capacity.
    pub async fn set_capacity(&self, agent: AgentId, conversations: u32) {
        let capacity = Capacity::new(conversations).expect("a valid capacity");
        let update = AgentUpdate {
            capacity: Some(Some(capacity)),
            ..AgentUpdate::default()
        };
        let updated = self
            .service
            .update_agent(&self.admin(), agent, update)
            .await;
        assert_eq!(
            updated.expect("the agent is updated").capacity,
            Some(capacity)
        );
    }

    /// Sets the capacity of agents without their own.
    pub async fn set_default_capacity(&self, conversations: u32) {
        let mut team = self.team().await;
        team.default_capacity = Capacity::new(conversations).expect("a valid capacity");
        self.put_team(team).await;
    }

    /// Sets whether an agent's open conversations go back to routing when they go away.
    pub async fn set_requeue_when_away(&self, requeue: bool) {
        let mut team = self.team().await;
        team.requeue_when_away = requeue;
        self.put_team(team).await;
    }

    /// Plans `agents` on a desk shift (08:00–16:00 local) on the clock's date, so that routing
    /// finds them on shift now; panics if the clock is outside those hours.
    pub async fn on_shift_now(&self, agents: &[AgentId]) -> Vec<ScheduleEntry> {
        let shifts = self.service.shifts(&self.admin()).await;
        let desk = match shifts
            .expect("the shift templates are read")
            .into_iter()
            .find(|shift| shift.name.as_str() == "desk")
        {
            Some(desk) => desk,
            None => self.shift("desk", DESK_HOURS.0, DESK_HOURS.1).await,
        };
        let now = self.now();
        let today = self.team().await.time_zone.date_of(now).to_string();
        let entries = self.assign(agents, &desk, &today, &today).await;
        for entry in &entries {
            assert!(
                entry.span.contains(now),
                "the clock ({now}) must lie in the desk shift {}",
                entry.span
            );
        }
        entries
    }

    /// Marks `agent` online, as the real-time hub would; routing is not told.
    pub fn online(&self, agent: AgentId) {
        self.presence.set_online(agent);
    }

    /// Marks `agent` offline, as the real-time hub would; routing is not told.
    pub fn offline(&self, agent: AgentId) {
        self.presence.set_offline(agent);
    }

    /// Puts `agents` on shift now and online, ready for routing.
    pub async fn on_duty(&self, agents: &[AgentId]) {
        self.on_shift_now(agents).await;
        for &agent in agents {
            self.online(agent);
        }
    }

    /// Registers a customer whose external id is `ext-` and their name, lower-cased.
    pub async fn customer(&self, display_name: &str) -> Customer {
        let customer = NewCustomer {
            external_id: ExternalId::parse(&format!("ext-{}", display_name.to_lowercase()))
                .expect("a valid external id"),
            display_name: DisplayName::parse(display_name).expect("a valid display name"),
        };
        let registered = self
            .service
            .register_customer(&self.admin(), customer)
            .await;
        registered.expect("the customer is registered")
    }

    /// `customer` acting.
    pub fn as_customer(&self, customer: CustomerId) -> Context {
        Context::new(Actor::Customer { id: customer })
    }

    /// The customer opens a conversation with a first message; it is routed at once.
    pub async fn open(&self, customer: CustomerId, first: &str) -> Conversation {
        let first = Some(outgoing(MessageKind::Message, first));
        self.open_about(customer, None, first).await
    }

    /// The customer opens a conversation about `topic`, with an optional first message.
    pub async fn open_about(
        &self,
        customer: CustomerId,
        topic: Option<&str>,
        first: Option<Outgoing>,
    ) -> Conversation {
        let topic = topic.map(|topic| Topic::parse(topic).expect("a valid topic"));
        let opened = self
            .service
            .open_conversation(&self.as_customer(customer), topic, first)
            .await;
        opened.expect("the conversation is opened")
    }

    /// Sends a message (not a note) as `ctx`; panics if it is refused.
    pub async fn say(&self, ctx: &Context, id: ConversationId, text: &str) -> Message {
        let sent = self
            .service
            .send(ctx, id, outgoing(MessageKind::Message, text))
            .await;
        sent.expect("the message is stored").message
    }

    /// Writes a private note as `agent`; panics if it is refused.
    pub async fn note(&self, agent: AgentId, id: ConversationId, text: &str) -> Message {
        let sent = self
            .service
            .send(&self.as_agent(agent), id, outgoing(MessageKind::Note, text))
            .await;
        sent.expect("the note is stored").message
    }

    /// Every message of a conversation that `ctx` may read, oldest first.
    pub async fn messages(&self, ctx: &Context, id: ConversationId) -> Vec<Message> {
        let mut all: Vec<Message> = Vec::new();
        loop {
            let after = all.last().map(|message| message.seq);
            let page = self.service.messages_after(ctx, id, after, READ_PAGE).await;
            let page = page.expect("the messages are read");
            let done = page.len() < READ_PAGE;
            all.extend(page);
            if done {
                return all;
            }
        }
    }

    /// A conversation as it is now, as an admin reads it.
    pub async fn conversation_now(&self, id: ConversationId) -> Conversation {
        let detail = self.service.conversation(&self.admin(), id).await;
        detail.expect("the conversation is readable").conversation
    }

    /// Every conversation `ctx` may see that matches `filter`, newest first, read a page at
    /// a time.
    pub async fn list(
        &self,
        ctx: &Context,
        filter: &ConversationFilter,
    ) -> Vec<ConversationSummary> {
        self.list_in_pages(ctx, filter, READ_PAGE).await
    }

    /// Like [`Harness::list`], with pages of `limit`.
    pub async fn list_in_pages(
        &self,
        ctx: &Context,
        filter: &ConversationFilter,
        limit: usize,
    ) -> Vec<ConversationSummary> {
        let mut all: Vec<ConversationSummary> = Vec::new();
        loop {
            let page = Page {
                before: all.last().map(|summary| summary.conversation.id),
                limit,
            };
            let listed = self.service.conversations(ctx, filter.clone(), page).await;
            let listed = listed.expect("the conversations are listed");
            let done = listed.len() < limit;
            all.extend(listed);
            if done {
                return all;
            }
        }
    }

    /// How many unresolved conversations `agent` holds, counted through the filter.
    pub async fn load_of(&self, agent: AgentId) -> u64 {
        let filter = ConversationFilter {
            statuses: vec![StatusKind::Open, StatusKind::Pending, StatusKind::Snoozed],
            assignee: Some(AssigneeFilter::Agent(agent)),
            ..ConversationFilter::default()
        };
        let count = self
            .service
            .count_conversations(&self.admin(), filter)
            .await;
        count.expect("the conversations are counted")
    }

    /// Everything on the conversation side that the service can show an admin.
    pub async fn desk_world(&self) -> DeskWorld {
        let admin = self.admin();
        let mut conversations = Vec::new();
        for summary in self.list(&admin, &ConversationFilter::default()).await {
            let id = summary.conversation.id;
            let detail = self.service.conversation(&admin, id).await;
            let detail = detail.expect("the conversation is readable");
            let messages = self.messages(&admin, id).await;
            conversations.push((summary, detail, messages));
        }
        let staff = self.service.agents(&admin).await;
        let mut replies = Vec::new();
        for agent in staff.expect("the staff is listed") {
            let seen = self.service.canned_replies(&self.as_agent(agent.id)).await;
            replies.push((agent.id, seen.expect("the canned replies are listed")));
        }
        DeskWorld {
            conversations,
            replies,
            events: self.events.events(),
        }
    }
}

/// Everything on the conversation side an admin can see: a refused operation must leave all
/// of it unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskWorld {
    /// Every conversation, newest first: as listed, in detail, and its messages.
    pub conversations: Vec<(ConversationSummary, ConversationDetail, Vec<Message>)>,
    /// The canned replies each staff member sees.
    pub replies: Vec<(AgentId, Vec<CannedReply>)>,
    /// Every event published.
    pub events: Vec<DomainEvent>,
}

/// A message or note to send, without a client id.
pub fn outgoing(kind: MessageKind, text: &str) -> Outgoing {
    Outgoing {
        client_id: None,
        kind,
        body: body(text),
    }
}

/// A message to send under a client id.
pub fn outgoing_with_id(kind: MessageKind, text: &str, client_id: &str) -> Outgoing {
    Outgoing {
        client_id: Some(ClientMessageId::parse(client_id).expect("a valid client id")),
        ..outgoing(kind, text)
    }
}

/// A message body.
pub fn body(text: &str) -> MessageBody {
    MessageBody::parse(text).expect("a valid message body")
}

/// Text to search for.
pub fn search_text(text: &str) -> SearchText {
    SearchText::parse(text).expect("valid search text")
}

/// The sequence numbers of `messages`, in their order.
pub fn seqs(messages: &[Message]) -> Vec<u64> {
    messages.iter().map(|message| message.seq.get()).collect()
}

/// A sequence number.
pub fn seq(n: u64) -> Seq {
    Seq::try_from(n).expect("a positive sequence number")
}

/// The refusal a conversation operation met; panics unless the rules refused it.
pub fn conversation_refusal<T: std::fmt::Debug>(
    outcome: Result<T, ConversationError>,
) -> ConversationRefusal {
    match outcome {
        Err(ConversationError::Refused(refusal)) => refusal,
        other => panic!("expected the conversation rules to refuse, got {other:?}"),
    }
}

/// The refusal a transfer met; panics unless the transfer rules refused it.
pub fn transfer_refusal<T: std::fmt::Debug>(
    outcome: Result<T, ConversationError>,
) -> TransferRefusal {
    match outcome {
        Err(ConversationError::Transfer(refusal)) => refusal,
        other => panic!("expected the transfer rules to refuse, got {other:?}"),
    }
}

/// Asserts that a conversation operation answered "not found" for conversation `id`.
pub fn assert_conversation_not_found<T: std::fmt::Debug>(
    outcome: Result<T, ConversationError>,
    id: ConversationId,
) {
    assert!(
        matches!(
            outcome,
            Err(ConversationError::NotFound(Resource::Conversation(found))) if found == id
        ),
        "expected conversation {id} not to be found, got {outcome:?}"
    );
}
