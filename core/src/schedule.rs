//! Schedule entries: an agent on a shift on a date, and what became of it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, EntryId, LeaveId, ShiftId, SwapId};
use crate::time::Span;

/// One agent working one shift on one date.
///
/// The concrete span is fixed when the entry is made, so later changes to the team's time zone
/// do not silently move shifts that were already planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleEntry {
    /// Assigned by the store.
    pub id: EntryId,
    /// Who works it.
    pub agent: AgentId,
    /// Which shift template it follows.
    pub shift: ShiftId,
    /// The local date the shift starts on; an overnight shift belongs to the date it starts.
    pub date: NaiveDate,
    /// The instants it covers.
    pub span: Span,
    /// Whether it is still worked, and if not, why.
    pub status: EntryStatus,
    /// How it came to be.
    pub origin: EntryOrigin,
}

impl ScheduleEntry {
    /// Whether the agent actually works it: only these count for overlaps and rest.
    pub fn is_working(&self) -> bool {
        self.status == EntryStatus::Scheduled
    }
}

/// Whether an entry is worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EntryStatus {
    /// The agent works it.
    Scheduled,
    /// The agent is on approved leave.
    OnLeave {
        /// The approved leave request.
        leave: LeaveId,
    },
    /// Another agent took it over through an approved swap.
    SwappedOut {
        /// Who works it instead.
        to: AgentId,
        /// The swap that moved it.
        swap: SwapId,
    },
}

/// How an entry was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryOrigin {
    /// An admin assigned it.
    Assigned,
    /// The agent took it over from a colleague through a swap.
    Swap {
        /// The colleague whose shift this covers.
        covers: AgentId,
        /// The approved swap.
        swap: SwapId,
    },
}

/// An entry to create; it starts out scheduled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry {
    /// Who works it.
    pub agent: AgentId,
    /// Which shift template it follows.
    pub shift: ShiftId,
    /// The local date the shift starts on.
    pub date: NaiveDate,
    /// The instants it covers.
    pub span: Span,
    /// How it came to be.
    pub origin: EntryOrigin,
}

/// One requested agent-day: put `agent` on `shift` on `date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Placement {
    /// Who should work.
    pub agent: AgentId,
    /// Which shift.
    pub shift: ShiftId,
    /// On which local date.
    pub date: NaiveDate,
}
