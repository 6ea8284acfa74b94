//! Assigning agents to shifts: batches, single moves, and what they would write.

use chrono::Datelike;
use chrono::WeekdaySet;
use serde::{Deserialize, Serialize};

use crate::conflict::{Conflict, Roster};
use crate::ids::{AgentId, ShiftId};
use crate::schedule::{EntryOrigin, NewEntry, Placement, ScheduleEntry};
use crate::time::DateRange;

/// The most agent-days one request may ask for: a month for a few thousand agents.
pub const MAX_PLACEMENTS: usize = 100_000;

/// What to do when some of the requested agent-days conflict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchMode {
    /// Write nothing and report every conflict.
    #[default]
    AllOrNothing,
    /// Write the agent-days that do not conflict and report the ones skipped.
    SkipConflicts,
}

/// One shift for many agents over many dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchAssignment {
    /// The shift to work.
    pub shift: ShiftId,
    /// The dates, optionally thinned by `weekdays`.
    pub dates: DateRange,
    /// Only these days of the week; `None` for every date.
    pub weekdays: Option<WeekdaySet>,
    /// Who works it, in the order conflicts should be reported.
    pub agents: Vec<AgentId>,
}

impl BatchAssignment {
    /// The agent-days asked for, agent by agent, each agent's dates in order.
    pub fn placements(&self) -> Vec<Placement> {
        let dates: Vec<_> = self
            .dates
            .iter()
            .filter(|date| {
                self.weekdays
                    .is_none_or(|days| days.contains(date.weekday()))
            })
            .collect();
        self.agents
            .iter()
            .flat_map(|&agent| {
                dates.iter().map(move |&date| Placement {
                    agent,
                    shift: self.shift,
                    date,
                })
            })
            .collect()
    }
}

/// What an assignment writes, and in skip mode what it leaves out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignmentPlan {
    /// The entries to create.
    pub create: Vec<NewEntry>,
    /// In skip mode, the conflicts of the agent-days left out.
    pub skipped: Vec<Conflict>,
}

/// Decides an assignment: every placement that meets no conflict becomes a new entry.
///
/// All or nothing: any conflict refuses the whole request, with every conflict. Skip mode
/// writes the rest and reports what it skipped.
pub fn plan_assignment(
    roster: &Roster,
    placements: &[Placement],
    mode: BatchMode,
) -> Result<AssignmentPlan, Vec<Conflict>> {
    let checked = roster.check(placements, &[]);
    if !checked.conflicts.is_empty() && mode == BatchMode::AllOrNothing {
        return Err(checked.into_conflicts());
    }
    let create = placements
        .iter()
        .zip(&checked.spans)
        .enumerate()
        .filter(|(index, _)| checked.is_clear(*index))
        .filter_map(|(_, (placement, span))| {
            Some(NewEntry {
                agent: placement.agent,
                shift: placement.shift,
                date: placement.date,
                span: (*span)?,
                origin: EntryOrigin::Assigned,
            })
        })
        .collect();
    Ok(AssignmentPlan {
        create,
        skipped: checked.into_conflicts(),
    })
}

/// Decides moving `entry` to another agent, shift or date: the entry keeps its id and origin
/// and takes the new span, unless that conflicts with anything but the entry itself.
pub fn plan_move(
    roster: &Roster,
    entry: &ScheduleEntry,
    to: Placement,
) -> Result<ScheduleEntry, Vec<Conflict>> {
    let checked = roster.check(&[to], &[entry.id]);
    match checked.spans.first().copied().flatten() {
        Some(span) if checked.conflicts.is_empty() => Ok(ScheduleEntry {
            agent: to.agent,
            shift: to.shift,
            date: to.date,
            span,
            ..entry.clone()
        }),
        _ => Err(checked.into_conflicts()),
    }
}
