//! Shift-swap requests and their state machine.
//!
//! ```text
//! pending ──accept (target)──▶ accepted ──approve (admin)──▶ approved
//!    │                            │ ╲
//!    ├──decline (target)─▶ declined  ╲──reject (admin)──▶ rejected
//!    ╰──cancel (requester, also from accepted)──▶ cancelled
//! ```
//!
//! A cover hands the requester's entry to the target; an exchange also hands one of the
//! target's entries to the requester. Approval re-checks everything at that moment, because
//! the target may have been scheduled or gone on leave since they accepted.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::conflict::{Conflict, Roster};
use crate::ids::{AgentId, EntryId, SwapId};
use crate::schedule::{EntryOrigin, EntryStatus, NewEntry, Placement, ScheduleEntry};
use crate::staff::Actor;
use crate::text::Note;

/// What the requester offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SwapKind {
    /// The target works the requester's entry; nothing comes back.
    Cover,
    /// The two trade: the target works the requester's entry and the requester the target's.
    Exchange {
        /// The target's entry the requester takes.
        target_entry: EntryId,
    },
}

/// A request to hand a shift to a colleague, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapRequest {
    /// Assigned by the store.
    pub id: SwapId,
    /// Who gives their entry away.
    pub requester: AgentId,
    /// The entry given away.
    pub requester_entry: EntryId,
    /// Who takes it.
    pub target: AgentId,
    /// Cover or exchange.
    pub kind: SwapKind,
    /// What the requester wrote.
    pub note: Option<Note>,
    /// When it was filed.
    pub requested_at: DateTime<Utc>,
    /// Where it stands.
    pub status: SwapStatus,
}

impl SwapRequest {
    /// The entries the swap moves: the requester's, and the target's in an exchange.
    pub fn entries(&self) -> Vec<EntryId> {
        match self.kind {
            SwapKind::Cover => vec![self.requester_entry],
            SwapKind::Exchange { target_entry } => vec![self.requester_entry, target_entry],
        }
    }

    /// Whether `agent` is the requester or the target.
    pub fn involves(&self, agent: AgentId) -> bool {
        self.requester == agent || self.target == agent
    }
}

/// Where a swap request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SwapStatus {
    /// Waiting for the target to accept or decline.
    Pending,
    /// The target agreed; waiting for an admin.
    Accepted {
        /// When the target agreed.
        at: DateTime<Utc>,
    },
    /// The target said no.
    Declined {
        /// When.
        at: DateTime<Utc>,
    },
    /// The requester withdrew it.
    Cancelled {
        /// When.
        at: DateTime<Utc>,
    },
    /// An admin approved it; the entries changed hands.
    Approved {
        /// The admin.
        by: Actor,
        /// When.
        at: DateTime<Utc>,
    },
    /// An admin refused it.
    Rejected {
        /// The admin.
        by: Actor,
        /// When.
        at: DateTime<Utc>,
        /// Why, if they said.
        note: Option<Note>,
    },
}

impl SwapStatus {
    /// The state without its data.
    pub fn state(&self) -> SwapState {
        match self {
            SwapStatus::Pending => SwapState::Pending,
            SwapStatus::Accepted { .. } => SwapState::Accepted,
            SwapStatus::Declined { .. } => SwapState::Declined,
            SwapStatus::Cancelled { .. } => SwapState::Cancelled,
            SwapStatus::Approved { .. } => SwapState::Approved,
            SwapStatus::Rejected { .. } => SwapState::Rejected,
        }
    }

    /// Whether the swap is still undecided (pending or accepted).
    pub fn is_open(&self) -> bool {
        matches!(self, SwapStatus::Pending | SwapStatus::Accepted { .. })
    }
}

/// The states of a swap request, without their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwapState {
    /// Waiting for the target.
    Pending,
    /// Waiting for an admin.
    Accepted,
    /// The target said no.
    Declined,
    /// The requester withdrew it.
    Cancelled,
    /// Done.
    Approved,
    /// Refused by an admin.
    Rejected,
}

impl SwapState {
    /// The state's name as the API and the stores spell it.
    pub fn as_str(&self) -> &'static str {
        match self {
            SwapState::Pending => "pending",
            SwapState::Accepted => "accepted",
            SwapState::Declined => "declined",
            SwapState::Cancelled => "cancelled",
            SwapState::Approved => "approved",
            SwapState::Rejected => "rejected",
        }
    }
}

impl fmt::Display for SwapState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller does to a swap request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwapAction {
    /// The target agrees.
    Accept,
    /// The target says no.
    Decline,
    /// The requester withdraws.
    Cancel,
    /// An admin approves.
    Approve,
    /// An admin refuses.
    Reject,
}

impl fmt::Display for SwapAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SwapAction::Accept => "accept",
            SwapAction::Decline => "decline",
            SwapAction::Cancel => "cancel",
            SwapAction::Approve => "approve",
            SwapAction::Reject => "reject",
        })
    }
}

/// A swap an agent (or an admin for them) asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapApplication {
    /// The entry to give away; its agent is the requester.
    pub requester_entry: EntryId,
    /// Who should take it.
    pub target: AgentId,
    /// Cover or exchange.
    pub kind: SwapKind,
    /// A note for the target and the admin.
    pub note: Option<Note>,
}

/// A swap request to store; it starts pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSwap {
    /// Who gives their entry away.
    pub requester: AgentId,
    /// The entry given away.
    pub requester_entry: EntryId,
    /// Who takes it.
    pub target: AgentId,
    /// Cover or exchange.
    pub kind: SwapKind,
    /// What the requester wrote.
    pub note: Option<Note>,
    /// When.
    pub requested_at: DateTime<Utc>,
}

/// Why an entry cannot change hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Unswappable {
    /// The entry does not exist (any more).
    Missing,
    /// The entry belongs to someone else.
    NotTheirs {
        /// Its agent.
        owner: AgentId,
    },
    /// The entry is not worked (on leave or already swapped out).
    NotScheduled {
        /// What it is instead.
        status: EntryStatus,
    },
    /// The shift has already started.
    Started,
}

impl fmt::Display for Unswappable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unswappable::Missing => f.write_str("does not exist"),
            Unswappable::NotTheirs { owner } => write!(f, "belongs to agent {owner}"),
            Unswappable::NotScheduled { .. } => f.write_str("is not scheduled to be worked"),
            Unswappable::Started => f.write_str("has already started"),
        }
    }
}

/// Why a swap operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwapRefusal {
    /// The action does not apply to a request in this state.
    #[error("cannot {action} a swap request that is {from}")]
    InvalidTransition {
        /// Where the request stands.
        from: SwapState,
        /// What was attempted.
        action: SwapAction,
    },
    /// An agent cannot swap with themselves.
    #[error("the target is the requester")]
    SelfSwap,
    /// The target is not an active staff member.
    #[error("agent {target} cannot take shifts")]
    TargetUnavailable {
        /// The target.
        target: AgentId,
    },
    /// One of the entries cannot change hands.
    #[error("entry {entry} {why}")]
    Unswappable {
        /// The entry.
        entry: EntryId,
        /// Why.
        why: Unswappable,
    },
    /// The entry is already offered in another open swap request.
    #[error("entry {entry} is already offered in swap request {swap}")]
    AlreadyOffered {
        /// The entry.
        entry: EntryId,
        /// The open request offering it.
        swap: SwapId,
    },
    /// Taking the entries would collide with other work or leave.
    #[error("the swap would cause {} conflicts", .0.len())]
    Conflicts(Vec<Conflict>),
}

/// The outcome of approving a swap: what changes, all in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapChange {
    /// The request, approved.
    pub swap: SwapRequest,
    /// Entries given away, now swapped out.
    pub swapped_out: Vec<ScheduleEntry>,
    /// Entries the takers now work.
    pub taken_over: Vec<NewEntry>,
}

/// The state a transition other than approval leads to, or why it is refused.
///
/// Who may act is the service's concern; this decides only whether the state allows it.
pub fn transition(
    swap: &SwapRequest,
    action: SwapAction,
    by: Actor,
    at: DateTime<Utc>,
    note: Option<Note>,
) -> Result<SwapStatus, SwapRefusal> {
    let refused = SwapRefusal::InvalidTransition {
        from: swap.status.state(),
        action,
    };
    match (&swap.status, action) {
        (SwapStatus::Pending, SwapAction::Accept) => Ok(SwapStatus::Accepted { at }),
        (SwapStatus::Pending, SwapAction::Decline) => Ok(SwapStatus::Declined { at }),
        (SwapStatus::Pending | SwapStatus::Accepted { .. }, SwapAction::Cancel) => {
            Ok(SwapStatus::Cancelled { at })
        }
        (SwapStatus::Accepted { .. }, SwapAction::Approve) => Ok(SwapStatus::Approved { by, at }),
        (SwapStatus::Accepted { .. }, SwapAction::Reject) => {
            Ok(SwapStatus::Rejected { by, at, note })
        }
        _ => Err(refused),
    }
}

/// What a swap check reads: the entries, who they belong to, and the roster around them.
#[derive(Debug, Clone, Copy)]
pub struct SwapParties<'a> {
    /// The requester.
    pub requester: AgentId,
    /// The target.
    pub target: AgentId,
    /// The entries of both agents named by the request that still exist.
    pub entries: &'a [ScheduleEntry],
    /// The roster for both agents around both entries.
    pub roster: &'a Roster,
    /// Now, to refuse entries that have started.
    pub now: DateTime<Utc>,
}

/// The entries a swap that passed its check would move.
#[derive(Debug, Clone, Copy)]
pub struct Handover<'a> {
    /// The requester's entry, which the target takes.
    given: &'a ScheduleEntry,
    /// In an exchange, the target's entry, which the requester takes.
    taken: Option<&'a ScheduleEntry>,
    requester: AgentId,
    target: AgentId,
}

impl Handover<'_> {
    /// The entries given away, as swapped out, and the entries the takers get.
    pub fn apply(&self, swap: SwapId) -> (Vec<ScheduleEntry>, Vec<NewEntry>) {
        let mut swapped_out = vec![hand_over(self.given, self.target, swap)];
        let mut taken_over = vec![take_over(self.given, self.target, swap)];
        if let Some(taken) = self.taken {
            swapped_out.push(hand_over(taken, self.requester, swap));
            taken_over.push(take_over(taken, self.requester, swap));
        }
        (swapped_out, taken_over)
    }
}

/// Checks that the swap can happen now: both entries exist, belong to their agents, are worked
/// and have not started, the target is active, and neither agent's new work collides with
/// anything (the entry each gives away is set aside).
///
/// Used when the request is filed, when the target accepts, and again, decisively, at
/// approval.
pub fn check<'a>(
    parties: &SwapParties<'a>,
    requester_entry: EntryId,
    kind: SwapKind,
) -> Result<Handover<'a>, SwapRefusal> {
    if parties.requester == parties.target {
        return Err(SwapRefusal::SelfSwap);
    }
    match parties.roster.agent(parties.target) {
        Some(agent) if agent.active => {}
        _ => {
            return Err(SwapRefusal::TargetUnavailable {
                target: parties.target,
            });
        }
    }
    let given = swappable(parties, requester_entry, parties.requester)?;
    let taken = match kind {
        SwapKind::Cover => None,
        SwapKind::Exchange { target_entry } => {
            Some(swappable(parties, target_entry, parties.target)?)
        }
    };

    let mut placements = vec![(to_placement(given, parties.target), given.span)];
    let mut set_aside = vec![given.id];
    if let Some(taken) = taken {
        placements.push((to_placement(taken, parties.requester), taken.span));
        set_aside.push(taken.id);
    }
    let conflicts = parties
        .roster
        .check_fixed(&placements, &set_aside)
        .into_conflicts();
    if !conflicts.is_empty() {
        return Err(SwapRefusal::Conflicts(conflicts));
    }
    Ok(Handover {
        given,
        taken,
        requester: parties.requester,
        target: parties.target,
    })
}

/// Refuses an entry that another open swap request already offers.
pub fn check_not_offered(entry: EntryId, open: &[SwapRequest]) -> Result<(), SwapRefusal> {
    match open
        .iter()
        .find(|swap| swap.status.is_open() && swap.entries().contains(&entry))
    {
        Some(swap) => Err(SwapRefusal::AlreadyOffered {
            entry,
            swap: swap.id,
        }),
        None => Ok(()),
    }
}

/// Approves `swap`: the state must allow it and [`check`] must pass now.
pub fn approve(
    swap: &SwapRequest,
    parties: &SwapParties<'_>,
    by: Actor,
) -> Result<SwapChange, SwapRefusal> {
    let status = transition(swap, SwapAction::Approve, by, parties.now, None)?;
    let (swapped_out, taken_over) = check(parties, swap.requester_entry, swap.kind)?.apply(swap.id);
    let swap = SwapRequest {
        status,
        ..swap.clone()
    };
    Ok(SwapChange {
        swap,
        swapped_out,
        taken_over,
    })
}

fn swappable<'a>(
    parties: &SwapParties<'a>,
    id: EntryId,
    owner: AgentId,
) -> Result<&'a ScheduleEntry, SwapRefusal> {
    let why = match parties.entries.iter().find(|entry| entry.id == id) {
        None => Unswappable::Missing,
        Some(entry) if entry.agent != owner => Unswappable::NotTheirs { owner: entry.agent },
        Some(entry) if !entry.is_working() => Unswappable::NotScheduled {
            status: entry.status,
        },
        Some(entry) if entry.span.start() <= parties.now => Unswappable::Started,
        Some(entry) => return Ok(entry),
    };
    Err(SwapRefusal::Unswappable { entry: id, why })
}

fn to_placement(entry: &ScheduleEntry, agent: AgentId) -> Placement {
    Placement {
        agent,
        shift: entry.shift,
        date: entry.date,
    }
}

fn hand_over(entry: &ScheduleEntry, to: AgentId, swap: SwapId) -> ScheduleEntry {
    ScheduleEntry {
        status: EntryStatus::SwappedOut { to, swap },
        ..*entry
    }
}

fn take_over(entry: &ScheduleEntry, taker: AgentId, swap: SwapId) -> NewEntry {
    NewEntry {
        agent: taker,
        shift: entry.shift,
        date: entry.date,
        span: entry.span,
        origin: EntryOrigin::Swap {
            covers: entry.agent,
            swap,
        },
    }
}
