//! What `core` needs from storage.
//!
//! A store moves data and holds locks; it decides nothing. Every service operation runs in one
//! [`Tx`] from [`Store::begin`]. Before reading what it will decide on, the operation locks the
//! agents whose schedules it may change with [`Tx::lock_agents`]; the store holds those locks
//! (taken in ascending id order, so two callers cannot deadlock) until the transaction ends.
//! That makes check-then-write safe: a second admin touching the same agents waits until the
//! first has committed, then reads what the first wrote.
//!
//! A transaction dropped without [`Tx::commit`] leaves no trace, including when the future
//! driving it is cancelled half way.
//!
//! The contract every store must meet is the shared suite in the `shiftdesk-tests` crate.

use async_trait::async_trait;

use crate::audit::{AuditChange, AuditQuery, AuditRecord};
use crate::ids::{AgentId, AuditId, EntryId, LeaveId, ShiftId, SwapId};
use crate::leave::{LeaveRequest, LeaveState, NewLeave};
use crate::schedule::{NewEntry, ScheduleEntry};
use crate::shift::{NewShift, ShiftTemplate};
use crate::staff::{Agent, NewAgent};
use crate::swap::{NewSwap, SwapRequest, SwapState};
use crate::team::TeamSettings;
use crate::text::Login;
use crate::time::DateRange;

/// Any error a backend reports, kept for logs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A storage failure. Domain refusals never come from a store; these are faults or the last
/// line of defence firing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached (no server, no file, pool exhausted).
    #[error("the store cannot be reached")]
    Unavailable(#[source] BoxError),
    /// A database constraint refused a write the service had found acceptable: a concurrent
    /// writer got there first, or something wrote past the service.
    #[error("the store refused the write: {0}")]
    Constraint(Constraint),
    /// Stored data that no longer parses into a domain value.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Any other backend failure.
    #[error("the store failed")]
    Backend(#[source] BoxError),
}

/// The integrity rules a store enforces on its own, as the last line of defence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Constraint {
    /// Two working entries of one agent would overlap.
    #[error("working entries of one agent must not overlap")]
    Overlap,
    /// Two staff members would share a login.
    #[error("logins must be unique")]
    UniqueLogin,
    /// Two shift templates would share a name.
    #[error("shift names must be unique")]
    UniqueShiftName,
    /// A row refers to something that does not exist, or something referred to was removed.
    #[error("a reference points nowhere")]
    Reference,
}

/// Which schedule entries to read, ordered by agent, then start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryQuery {
    /// Entries whose date lies in this range.
    pub dates: DateRange,
    /// Only these agents; `None` for everyone.
    pub agents: Option<Vec<AgentId>>,
    /// Only entries that are worked (scheduled).
    pub working_only: bool,
}

/// Which leave requests to read, ordered by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaveQuery {
    /// Only these agents' requests; `None` for everyone's.
    pub agents: Option<Vec<AgentId>>,
    /// Only requests in one of these states; `None` for all.
    pub states: Option<Vec<LeaveState>>,
    /// Only requests whose dates overlap this range.
    pub overlapping: Option<DateRange>,
}

/// Which swap requests to read, ordered by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwapQuery {
    /// Only requests this agent filed or is asked to take.
    pub agent: Option<AgentId>,
    /// Only requests in one of these states; `None` for all.
    pub states: Option<Vec<SwapState>>,
    /// Only requests that move this entry: the requester's, or the target's in an exchange.
    pub entry: Option<EntryId>,
}

/// A place to keep Shiftdesk's data.
#[async_trait]
pub trait Store: Send + Sync {
    /// Opens a transaction.
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError>;
}

/// One transaction: reads see everything committed before the locks were granted and the
/// transaction's own writes.
#[async_trait]
pub trait Tx: Send {
    /// Locks these agents' schedules until the transaction ends, waiting for other holders.
    ///
    /// Called at most once per transaction, before the reads a decision rests on; locks are
    /// taken in ascending id order, and ids of agents that do not exist are ignored.
    async fn lock_agents(&mut self, agents: &[AgentId]) -> Result<(), StoreError>;

    /// The team settings (defaults until first written).
    async fn team(&mut self) -> Result<TeamSettings, StoreError>;
    /// Replaces the team settings.
    async fn put_team(&mut self, team: &TeamSettings) -> Result<(), StoreError>;

    /// The staff members with these ids that exist, in id order.
    async fn agents(&mut self, ids: &[AgentId]) -> Result<Vec<Agent>, StoreError>;
    /// Every staff member, in id order.
    async fn all_agents(&mut self) -> Result<Vec<Agent>, StoreError>;
    /// The staff member with this login.
    async fn agent_by_login(&mut self, login: &Login) -> Result<Option<Agent>, StoreError>;
    /// Creates a staff member; fails with [`Constraint::UniqueLogin`] on a taken login.
    async fn insert_agent(&mut self, agent: &NewAgent) -> Result<Agent, StoreError>;
    /// Overwrites a staff member.
    async fn update_agent(&mut self, agent: &Agent) -> Result<(), StoreError>;

    /// Every shift template, in id order.
    async fn shifts(&mut self) -> Result<Vec<ShiftTemplate>, StoreError>;
    /// Creates a shift template; fails with [`Constraint::UniqueShiftName`] on a taken name.
    async fn insert_shift(&mut self, shift: &NewShift) -> Result<ShiftTemplate, StoreError>;
    /// Overwrites a shift template.
    async fn update_shift(&mut self, shift: &ShiftTemplate) -> Result<(), StoreError>;
    /// Removes a shift template no entry refers to.
    async fn delete_shift(&mut self, id: ShiftId) -> Result<(), StoreError>;
    /// Whether any entry refers to the template.
    async fn shift_in_use(&mut self, id: ShiftId) -> Result<bool, StoreError>;

    /// Entries matching `query`, ordered by agent, then start.
    async fn entries(&mut self, query: &EntryQuery) -> Result<Vec<ScheduleEntry>, StoreError>;
    /// The entries with these ids that exist, in id order.
    async fn entries_by_id(&mut self, ids: &[EntryId]) -> Result<Vec<ScheduleEntry>, StoreError>;
    /// Creates entries, all scheduled, returned in the order given. Fails with
    /// [`Constraint::Overlap`] if a working entry would overlap another working entry of the
    /// same agent, and with [`Constraint::Reference`] for an unknown agent or shift.
    async fn insert_entries(
        &mut self,
        entries: &[NewEntry],
    ) -> Result<Vec<ScheduleEntry>, StoreError>;
    /// Overwrites entries (agent, shift, date, span, status, origin), with the same
    /// constraints as [`Tx::insert_entries`].
    async fn update_entries(&mut self, entries: &[ScheduleEntry]) -> Result<(), StoreError>;
    /// Removes entries.
    async fn delete_entries(&mut self, ids: &[EntryId]) -> Result<(), StoreError>;

    /// One leave request.
    async fn leave(&mut self, id: LeaveId) -> Result<Option<LeaveRequest>, StoreError>;
    /// Leave requests matching `query`, in id order.
    async fn leaves(&mut self, query: &LeaveQuery) -> Result<Vec<LeaveRequest>, StoreError>;
    /// Creates a pending leave request.
    async fn insert_leave(&mut self, leave: &NewLeave) -> Result<LeaveRequest, StoreError>;
    /// Overwrites a leave request's status.
    async fn update_leave(&mut self, leave: &LeaveRequest) -> Result<(), StoreError>;

    /// One swap request.
    async fn swap(&mut self, id: SwapId) -> Result<Option<SwapRequest>, StoreError>;
    /// Swap requests matching `query`, in id order.
    async fn swaps(&mut self, query: &SwapQuery) -> Result<Vec<SwapRequest>, StoreError>;
    /// Creates a pending swap request.
    async fn insert_swap(&mut self, swap: &NewSwap) -> Result<SwapRequest, StoreError>;
    /// Overwrites a swap request's status.
    async fn update_swap(&mut self, swap: &SwapRequest) -> Result<(), StoreError>;

    /// Appends a record to the audit log.
    async fn append_audit(&mut self, change: &AuditChange) -> Result<AuditId, StoreError>;
    /// Audit records matching `query`, newest first.
    async fn audit(&mut self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;

    /// Makes every write of the transaction durable and visible at once, and releases the
    /// locks.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}
