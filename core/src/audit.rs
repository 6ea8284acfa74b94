//! The audit log: who changed what, when, and what it looked like before and after.
//!
//! Every change to the team, schedules, leave and swaps writes one record in the same atomic
//! step as the change itself, so the log never disagrees with the data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, AuditId, EntryId, LeaveId, ShiftId, SwapId};
use crate::leave::LeaveRequest;
use crate::schedule::ScheduleEntry;
use crate::shift::ShiftTemplate;
use crate::staff::{Actor, Agent, RequestId};
use crate::swap::SwapRequest;
use crate::team::TeamSettings;

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Assigned by the store, increasing.
    pub id: AuditId,
    /// The change as it was written.
    #[serde(flatten)]
    pub change: AuditChange,
}

/// A change to record: the record without its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditChange {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// The request that caused it, if known.
    pub request_id: Option<RequestId>,
    /// What was done.
    pub action: AuditAction,
    /// To what.
    pub subject: Subject,
    /// The subject before, if it existed.
    pub before: Option<Snapshot>,
    /// The subject after, if it still exists.
    pub after: Option<Snapshot>,
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // Each name says what happened to the subject.
pub enum AuditAction {
    TeamUpdated,
    AgentCreated,
    AgentUpdated,
    ShiftCreated,
    ShiftUpdated,
    ShiftRemoved,
    EntriesAssigned,
    EntryMoved,
    EntryRemoved,
    LeaveRequested,
    LeaveApproved,
    LeaveRejected,
    LeaveCancelled,
    LeaveRevoked,
    SwapRequested,
    SwapAccepted,
    SwapDeclined,
    SwapCancelled,
    SwapApproved,
    SwapRejected,
}

/// What a change was made to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    /// The team settings.
    Team,
    /// A staff member.
    Agent(AgentId),
    /// A shift template.
    Shift(ShiftId),
    /// One schedule entry.
    Entry(EntryId),
    /// Many schedule entries written by one batch.
    Schedule,
    /// A leave request.
    Leave(LeaveId),
    /// A swap request.
    Swap(SwapId),
}

/// The state of a subject at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Snapshot {
    /// The team settings.
    Team {
        /// The settings.
        settings: TeamSettings,
    },
    /// A staff member.
    Agent {
        /// The agent.
        agent: Agent,
    },
    /// A shift template.
    Shift {
        /// The template.
        shift: ShiftTemplate,
    },
    /// Schedule entries.
    Entries {
        /// The entries.
        entries: Vec<ScheduleEntry>,
    },
    /// A leave request with the entries it touches.
    Leave {
        /// The request.
        request: LeaveRequest,
        /// The entries it put on or took off leave.
        entries: Vec<ScheduleEntry>,
    },
    /// A swap request with the entries it touches.
    Swap {
        /// The request.
        request: SwapRequest,
        /// The entries it moved.
        entries: Vec<ScheduleEntry>,
    },
}

/// Which audit records to read, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only records about this subject.
    pub subject: Option<Subject>,
    /// Only records by this staff member.
    pub actor: Option<AgentId>,
    /// Only records older than this one (for paging).
    pub before: Option<AuditId>,
    /// At most this many records.
    pub limit: usize,
}
