//! The audit log: who changed what, when, and what it looked like before and after.
//!
//! Every change to the team, schedules, leave and swaps writes one record in the same atomic
//! step as the change itself, so the log never disagrees with the data. Logins and exports of
//! conversations are recorded too: they change nothing, but who did them matters.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::account::{AttemptedLogin, LoginRefusal, TokenVersion};
use crate::ids::{AgentId, AuditId, EntryId, LeaveId, ShiftId, SwapId};
use crate::leave::LeaveRequest;
use crate::schedule::{EntryOrigin, EntryStatus, ScheduleEntry};
use crate::search::{ConversationFilter, ExportFormat};
use crate::shift::ShiftTemplate;
use crate::staff::{Actor, Agent, RequestId};
use crate::swap::SwapRequest;
use crate::team::TeamSettings;
use crate::time::Span;

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
    LoginSucceeded,
    LoginFailed,
    PasswordChanged,
    LoggedOutEverywhere,
    ConversationsExported,
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
    /// A login no staff member holds, tried in a failed login; the record's snapshot says
    /// which.
    UnknownLogin,
    /// The conversations an export matched; the record's snapshot holds its filter.
    Conversations,
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
    /// The entries one assignment created, grouped by shift, date and span: a batch repeats
    /// few of those, so a month for a thousand agents is recorded in kilobytes, not megabytes.
    /// Every entry an assignment creates is scheduled and of assigned origin.
    Assigned {
        /// The groups, in the order their first entry was created.
        groups: Vec<AssignedGroup>,
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
    /// A staff member's sessions: the version their tokens carry. Never a password or a hash.
    Sessions {
        /// The version tokens must carry.
        token_version: TokenVersion,
    },
    /// A failed login attempt. Never the password tried.
    LoginAttempt {
        /// The login as typed, cleaned and cut short.
        login: AttemptedLogin,
        /// Why it failed.
        refusal: LoginRefusal,
    },
    /// What an export was asked for, within the exporter's scope.
    Export {
        /// The filter.
        filter: ConversationFilter,
        /// The format.
        format: ExportFormat,
    },
}

/// Entries an assignment created on one shift and date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedGroup {
    /// Their shift.
    pub shift: ShiftId,
    /// Their date.
    pub date: NaiveDate,
    /// Their span.
    pub span: Span,
    /// Each entry's id and agent, in creation order.
    pub entries: Vec<(EntryId, AgentId)>,
}

impl Snapshot {
    /// The record of entries an assignment created.
    pub fn assigned(entries: &[ScheduleEntry]) -> Snapshot {
        let mut groups: Vec<AssignedGroup> = Vec::new();
        let mut index: HashMap<(ShiftId, NaiveDate, Span), usize> = HashMap::new();
        for entry in entries {
            let key = (entry.shift, entry.date, entry.span);
            let at = *index.entry(key).or_insert_with(|| {
                groups.push(AssignedGroup {
                    shift: entry.shift,
                    date: entry.date,
                    span: entry.span,
                    entries: Vec::new(),
                });
                groups.len() - 1
            });
            groups[at].entries.push((entry.id, entry.agent));
        }
        Snapshot::Assigned { groups }
    }

    /// The schedule entries the snapshot holds, whichever form it records them in.
    pub fn entries(&self) -> Vec<ScheduleEntry> {
        match self {
            Snapshot::Entries { entries }
            | Snapshot::Leave { entries, .. }
            | Snapshot::Swap { entries, .. } => entries.clone(),
            Snapshot::Assigned { groups } => groups
                .iter()
                .flat_map(|group| {
                    group.entries.iter().map(|&(id, agent)| ScheduleEntry {
                        id,
                        agent,
                        shift: group.shift,
                        date: group.date,
                        span: group.span,
                        status: EntryStatus::Scheduled,
                        origin: EntryOrigin::Assigned,
                    })
                })
                .collect(),
            Snapshot::Team { .. }
            | Snapshot::Agent { .. }
            | Snapshot::Shift { .. }
            | Snapshot::Sessions { .. }
            | Snapshot::LoginAttempt { .. }
            | Snapshot::Export { .. } => Vec::new(),
        }
    }
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
