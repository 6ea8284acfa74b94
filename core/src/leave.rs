//! Leave requests and their state machine.
//!
//! ```text
//! pending ──approve──▶ approved ──revoke──▶ revoked
//!    │ ╲
//!    │  ╲──reject──▶ rejected
//!    ╰──cancel (requester)──▶ cancelled
//! ```
//!
//! Approval turns every working entry of the agent on the leave's dates into an on-leave entry
//! and reports the shifts it leaves uncovered; revocation gives them back. Leave is counted in
//! calendar days, per calendar year, against the team's optional allowance for its kind.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::conflict::{Conflict, ConflictReason, Roster};
use crate::ids::{AgentId, EntryId, LeaveId, ShiftId};
use crate::schedule::{EntryOrigin, EntryStatus, Placement, ScheduleEntry};
use crate::staff::Actor;
use crate::team::TeamSettings;
use crate::text::Note;
use crate::time::{DateRange, Span};

/// The longest leave one request may span, in days.
pub const MAX_LEAVE_DAYS: u32 = 366;

/// Why an agent is away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveKind {
    /// Paid holiday.
    Annual,
    /// Illness.
    Sick,
    /// Personal matters.
    Personal,
    /// Anything else.
    Other,
}

impl LeaveKind {
    /// Every kind, in a stable order.
    pub const ALL: [LeaveKind; 4] = [
        LeaveKind::Annual,
        LeaveKind::Sick,
        LeaveKind::Personal,
        LeaveKind::Other,
    ];

    /// The kind's name as the API and the stores spell it.
    pub fn as_str(&self) -> &'static str {
        match self {
            LeaveKind::Annual => "annual",
            LeaveKind::Sick => "sick",
            LeaveKind::Personal => "personal",
            LeaveKind::Other => "other",
        }
    }
}

impl fmt::Display for LeaveKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request for leave and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveRequest {
    /// Assigned by the store.
    pub id: LeaveId,
    /// Who will be away.
    pub agent: AgentId,
    /// Why.
    pub kind: LeaveKind,
    /// The local dates away, both ends included.
    pub dates: DateRange,
    /// What the agent wrote.
    pub reason: Option<Note>,
    /// Who filed it: the agent, or an admin for them.
    pub requested_by: Actor,
    /// When it was filed.
    pub requested_at: DateTime<Utc>,
    /// Where it stands.
    pub status: LeaveStatus,
}

/// Where a leave request stands, with what each state needs to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LeaveStatus {
    /// Waiting for an admin.
    Pending,
    /// Granted; the agent's entries on those dates are on leave.
    Approved {
        /// The admin who approved it.
        by: Actor,
        /// When.
        at: DateTime<Utc>,
    },
    /// Refused by an admin.
    Rejected {
        /// The admin who refused it.
        by: Actor,
        /// When.
        at: DateTime<Utc>,
        /// Why, if they said.
        note: Option<Note>,
    },
    /// Withdrawn by the requester before a decision.
    Cancelled {
        /// When.
        at: DateTime<Utc>,
    },
    /// Granted, then taken back by an admin; the entries are worked again.
    Revoked {
        /// The admin who revoked it.
        by: Actor,
        /// When.
        at: DateTime<Utc>,
        /// Why, if they said.
        note: Option<Note>,
    },
}

impl LeaveStatus {
    /// The state without its data, for filters and messages.
    pub fn state(&self) -> LeaveState {
        match self {
            LeaveStatus::Pending => LeaveState::Pending,
            LeaveStatus::Approved { .. } => LeaveState::Approved,
            LeaveStatus::Rejected { .. } => LeaveState::Rejected,
            LeaveStatus::Cancelled { .. } => LeaveState::Cancelled,
            LeaveStatus::Revoked { .. } => LeaveState::Revoked,
        }
    }

    /// Whether the leave is granted.
    pub fn is_approved(&self) -> bool {
        matches!(self, LeaveStatus::Approved { .. })
    }

    /// Whether the leave still holds its dates: pending or approved.
    pub fn holds_dates(&self) -> bool {
        matches!(self, LeaveStatus::Pending | LeaveStatus::Approved { .. })
    }
}

/// The states of a leave request, without their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveState {
    /// Waiting for an admin.
    Pending,
    /// Granted.
    Approved,
    /// Refused.
    Rejected,
    /// Withdrawn by the requester.
    Cancelled,
    /// Granted, then taken back.
    Revoked,
}

impl LeaveState {
    /// The state's name as the API and the stores spell it.
    pub fn as_str(&self) -> &'static str {
        match self {
            LeaveState::Pending => "pending",
            LeaveState::Approved => "approved",
            LeaveState::Rejected => "rejected",
            LeaveState::Cancelled => "cancelled",
            LeaveState::Revoked => "revoked",
        }
    }
}

impl fmt::Display for LeaveState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller does to a leave request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveAction {
    /// Grant it.
    Approve,
    /// Refuse it.
    Reject,
    /// Withdraw it.
    Cancel,
    /// Take back a granted one.
    Revoke,
}

impl fmt::Display for LeaveAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LeaveAction::Approve => "approve",
            LeaveAction::Reject => "reject",
            LeaveAction::Cancel => "cancel",
            LeaveAction::Revoke => "revoke",
        })
    }
}

/// A leave an agent (or an admin for them) asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveApplication {
    /// Who will be away.
    pub agent: AgentId,
    /// Why.
    pub kind: LeaveKind,
    /// The local dates away.
    pub dates: DateRange,
    /// What the agent wants to say.
    pub reason: Option<Note>,
}

/// A leave request to store; it starts pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLeave {
    /// Who will be away.
    pub agent: AgentId,
    /// Why.
    pub kind: LeaveKind,
    /// The local dates away.
    pub dates: DateRange,
    /// What the agent wrote.
    pub reason: Option<Note>,
    /// Who filed it.
    pub requested_by: Actor,
    /// When.
    pub requested_at: DateTime<Utc>,
}

/// Why a leave operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaveRefusal {
    /// The action does not apply to a request in this state.
    #[error("cannot {action} a leave request that is {from}")]
    InvalidTransition {
        /// Where the request stands.
        from: LeaveState,
        /// What was attempted.
        action: LeaveAction,
    },
    /// The dates overlap another pending or approved leave of the agent.
    #[error("the dates overlap leave request {existing}")]
    Overlapping {
        /// The leave already holding some of the dates.
        existing: LeaveId,
    },
    /// Granting it would take more days than the agent has left this year.
    #[error(
        "{kind} leave in {year}: {requested} more days would exceed the allowance of {allowance} \
         ({used} already approved)"
    )]
    AllowanceExceeded {
        /// The kind of leave.
        kind: LeaveKind,
        /// The calendar year whose allowance runs out.
        year: i32,
        /// The allowance.
        allowance: u32,
        /// Days already approved that year.
        used: u32,
        /// Days this request adds that year.
        requested: u32,
    },
    /// Revoking it would put back entries that now collide with other work.
    #[error("restoring the entries would cause {} conflicts", .0.len())]
    Conflicts(Vec<Conflict>),
}

/// A shift left without its agent by an approved leave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UncoveredShift {
    /// The entry now on leave.
    pub entry: EntryId,
    /// The agent on leave.
    pub agent: AgentId,
    /// The shift.
    pub shift: ShiftId,
    /// Its date.
    pub date: NaiveDate,
    /// Its instants.
    pub span: Span,
    /// When the entry was a swap cover, the colleague whose shift it was.
    pub covering_for: Option<AgentId>,
}

/// The outcome of approving or revoking a leave: the request and entries as they become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveChange {
    /// The request in its new state.
    pub leave: LeaveRequest,
    /// The entries whose status changes, as they become.
    pub entries: Vec<ScheduleEntry>,
    /// On approval, the shifts left uncovered.
    pub uncovered: Vec<UncoveredShift>,
}

/// Checks a new leave against the agent's other leave and allowance.
///
/// `existing` holds the agent's other leave requests, in any state. The allowance is checked
/// against approved leave only; it is checked again, with the same rule, at approval.
pub fn check_application(
    application: &LeaveApplication,
    existing: &[LeaveRequest],
    team: &TeamSettings,
) -> Result<(), LeaveRefusal> {
    check_overlap(application.agent, application.dates, None, existing)?;
    check_allowance(application.kind, application.dates, existing, team)
}

fn check_overlap(
    agent: AgentId,
    dates: DateRange,
    this: Option<LeaveId>,
    existing: &[LeaveRequest],
) -> Result<(), LeaveRefusal> {
    let clash = existing.iter().find(|other| {
        other.agent == agent
            && Some(other.id) != this
            && other.status.holds_dates()
            && other.dates.overlaps(&dates)
    });
    match clash {
        Some(other) => Err(LeaveRefusal::Overlapping { existing: other.id }),
        None => Ok(()),
    }
}

/// Refuses `dates` of `kind` if any calendar year would exceed the team's allowance,
/// counting the approved requests in `existing`.
fn check_allowance(
    kind: LeaveKind,
    dates: DateRange,
    existing: &[LeaveRequest],
    team: &TeamSettings,
) -> Result<(), LeaveRefusal> {
    let Some(allowance) = team.allowance(kind) else {
        return Ok(());
    };
    let mut used: BTreeMap<i32, u32> = BTreeMap::new();
    for other in existing
        .iter()
        .filter(|other| other.kind == kind && other.status.is_approved())
    {
        for (year, days) in days_per_year(other.dates) {
            *used.entry(year).or_default() += days;
        }
    }
    for (year, requested) in days_per_year(dates) {
        let used = used.get(&year).copied().unwrap_or(0);
        if used + requested > allowance.days() {
            return Err(LeaveRefusal::AllowanceExceeded {
                kind,
                year,
                allowance: allowance.days(),
                used,
                requested,
            });
        }
    }
    Ok(())
}

/// How many of the dates fall in each calendar year.
fn days_per_year(dates: DateRange) -> BTreeMap<i32, u32> {
    let mut days = BTreeMap::new();
    for date in dates.iter() {
        *days.entry(date.year()).or_default() += 1;
    }
    days
}

/// The state a simple transition (reject, cancel) leads to, or why it is refused.
///
/// Who may act is the service's concern; this decides only whether the state allows it.
pub fn transition(
    leave: &LeaveRequest,
    action: LeaveAction,
    by: Actor,
    at: DateTime<Utc>,
    note: Option<Note>,
) -> Result<LeaveStatus, LeaveRefusal> {
    let refused = || LeaveRefusal::InvalidTransition {
        from: leave.status.state(),
        action,
    };
    match (&leave.status, action) {
        (LeaveStatus::Pending, LeaveAction::Approve) => Ok(LeaveStatus::Approved { by, at }),
        (LeaveStatus::Pending, LeaveAction::Reject) => Ok(LeaveStatus::Rejected { by, at, note }),
        (LeaveStatus::Pending, LeaveAction::Cancel) => Ok(LeaveStatus::Cancelled { at }),
        (LeaveStatus::Approved { .. }, LeaveAction::Revoke) => {
            Ok(LeaveStatus::Revoked { by, at, note })
        }
        _ => Err(refused()),
    }
}

/// Approves `leave`: re-checks overlap and allowance, then puts every working entry of the
/// agent on the leave's dates on leave and reports the shifts left uncovered.
///
/// `existing` holds the agent's other leave requests; `entries` the agent's entries on the
/// leave's dates (others are ignored).
pub fn approve(
    leave: &LeaveRequest,
    existing: &[LeaveRequest],
    entries: &[ScheduleEntry],
    team: &TeamSettings,
    by: Actor,
    at: DateTime<Utc>,
) -> Result<LeaveChange, LeaveRefusal> {
    let status = transition(leave, LeaveAction::Approve, by, at, None)?;
    check_overlap(leave.agent, leave.dates, Some(leave.id), existing)?;
    let others: Vec<LeaveRequest> = existing
        .iter()
        .filter(|other| other.id != leave.id)
        .cloned()
        .collect();
    check_allowance(leave.kind, leave.dates, &others, team)?;

    let mut changed = Vec::new();
    let mut uncovered = Vec::new();
    let affected = entries.iter().filter(|entry| {
        entry.agent == leave.agent && entry.is_working() && leave.dates.contains(entry.date)
    });
    for entry in affected {
        uncovered.push(UncoveredShift {
            entry: entry.id,
            agent: entry.agent,
            shift: entry.shift,
            date: entry.date,
            span: entry.span,
            covering_for: match entry.origin {
                EntryOrigin::Swap { covers, .. } => Some(covers),
                EntryOrigin::Assigned => None,
            },
        });
        changed.push(ScheduleEntry {
            status: EntryStatus::OnLeave { leave: leave.id },
            ..*entry
        });
    }
    Ok(LeaveChange {
        leave: LeaveRequest {
            status,
            ..leave.clone()
        },
        entries: changed,
        uncovered,
    })
}

/// Revokes an approved `leave`: its on-leave entries are worked again, unless that would
/// collide with work planned since, in which case nothing changes and the conflicts come back.
///
/// `roster` must cover the agent's working entries around the leave's dates and must not
/// count this leave as approved; `entries` holds the agent's entries on the leave's dates.
pub fn revoke(
    leave: &LeaveRequest,
    entries: &[ScheduleEntry],
    roster: &Roster,
    by: Actor,
    at: DateTime<Utc>,
    note: Option<Note>,
) -> Result<LeaveChange, LeaveRefusal> {
    let status = transition(leave, LeaveAction::Revoke, by, at, note)?;
    let restored: Vec<ScheduleEntry> = entries
        .iter()
        .filter(|entry| entry.status == EntryStatus::OnLeave { leave: leave.id })
        .map(|entry| ScheduleEntry {
            status: EntryStatus::Scheduled,
            ..*entry
        })
        .collect();

    let placements: Vec<(Placement, Span)> = restored
        .iter()
        .map(|entry| {
            let placement = Placement {
                agent: entry.agent,
                shift: entry.shift,
                date: entry.date,
            };
            (placement, entry.span)
        })
        .collect();
    // Only time collisions matter: the entries existed before, so skills and activity were
    // already checked when they were made. Every entry is checked, however many share a date.
    let conflicts: Vec<Conflict> = roster
        .check_returning(&placements)
        .into_conflicts()
        .into_iter()
        .filter(|conflict| {
            matches!(
                conflict.reason,
                ConflictReason::Overlap { .. }
                    | ConflictReason::RestTooShort { .. }
                    | ConflictReason::OnLeave { .. }
            )
        })
        .collect();
    if !conflicts.is_empty() {
        return Err(LeaveRefusal::Conflicts(conflicts));
    }
    let leave = LeaveRequest {
        status,
        ..leave.clone()
    };
    Ok(LeaveChange {
        leave,
        entries: restored,
        uncovered: Vec::new(),
    })
}
