//! The tables, their indexes, and how to take a write back.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{Days, NaiveDate};
use shiftdesk_core::account::{PasswordHash, TokenVersion};
use shiftdesk_core::audit::{AuditChange, AuditQuery, AuditRecord};
use shiftdesk_core::ids::{
    AgentId, AuditId, CannedReplyId, ConversationId, CustomerId, EntryId, LeaveId, ShiftId, SwapId,
};
use shiftdesk_core::leave::LeaveRequest;
use shiftdesk_core::schedule::ScheduleEntry;
use shiftdesk_core::shift::ShiftTemplate;
use shiftdesk_core::staff::{Actor, Agent};
use shiftdesk_core::store::{Constraint, EntryQuery, LeaveQuery, StoreError, SwapQuery};
use shiftdesk_core::swap::SwapRequest;
use shiftdesk_core::team::TeamSettings;

use crate::talk::{Talk, TalkUndo};

/// How far apart, in dates, two entries of one agent can be and still overlap: a shift
/// belongs to the date it starts and lasts less than 26 hours.
const OVERLAP_REACH_DAYS: u64 = 2;

/// Every table.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) team: TeamSettings,
    pub(crate) agents: BTreeMap<AgentId, Agent>,
    /// Each staff member's password hash and token version, beside `agents`.
    pub(crate) credentials: BTreeMap<AgentId, Credentials>,
    pub(crate) shifts: BTreeMap<ShiftId, ShiftTemplate>,
    pub(crate) entries: HashMap<EntryId, ScheduleEntry>,
    /// Each agent's entries by date, for range reads.
    entries_by_agent: HashMap<AgentId, BTreeSet<(NaiveDate, EntryId)>>,
    pub(crate) leaves: BTreeMap<LeaveId, LeaveRequest>,
    pub(crate) swaps: BTreeMap<SwapId, SwapRequest>,
    /// Audit records in id order; record `i` has id `i + 1`.
    audit: Vec<AuditRecord>,
    /// The last id handed out per table. Never rolled back, so ids are never reused.
    last_ids: LastIds,
    /// Customers, conversations, messages and canned replies.
    pub(crate) talk: Talk,
}

/// What it takes to log in as a staff member.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) password_hash: Option<PasswordHash>,
    pub(crate) token_version: TokenVersion,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            password_hash: None,
            token_version: TokenVersion::FIRST,
        }
    }
}

#[derive(Debug, Default)]
struct LastIds {
    agent: i64,
    shift: i64,
    entry: i64,
    leave: i64,
    swap: i64,
    customer: i64,
    conversation: i64,
    canned_reply: i64,
}

/// How to take back one write.
#[derive(Debug)]
pub(crate) enum Undo {
    Team(TeamSettings),
    /// Put the agent back as it was (`None`: it did not exist).
    Agent(AgentId, Option<Agent>),
    Credentials(AgentId, Option<Credentials>),
    Shift(ShiftId, Option<ShiftTemplate>),
    Entry(EntryId, Option<ScheduleEntry>),
    Leave(LeaveId, Option<LeaveRequest>),
    Swap(SwapId, Option<SwapRequest>),
    /// Drop the newest audit record.
    Audit,
    /// Take back a write to the conversation tables.
    Talk(TalkUndo),
}

fn next_id<T: TryFrom<i64>>(last: &mut i64) -> Result<T, StoreError> {
    *last += 1;
    T::try_from(*last).map_err(|_| StoreError::Corrupt(format!("id {last} is out of range")))
}

impl State {
    pub(crate) fn next_agent_id(&mut self) -> Result<AgentId, StoreError> {
        next_id(&mut self.last_ids.agent)
    }

    pub(crate) fn next_shift_id(&mut self) -> Result<ShiftId, StoreError> {
        next_id(&mut self.last_ids.shift)
    }

    pub(crate) fn next_entry_id(&mut self) -> Result<EntryId, StoreError> {
        next_id(&mut self.last_ids.entry)
    }

    pub(crate) fn next_leave_id(&mut self) -> Result<LeaveId, StoreError> {
        next_id(&mut self.last_ids.leave)
    }

    pub(crate) fn next_swap_id(&mut self) -> Result<SwapId, StoreError> {
        next_id(&mut self.last_ids.swap)
    }

    pub(crate) fn next_customer_id(&mut self) -> Result<CustomerId, StoreError> {
        next_id(&mut self.last_ids.customer)
    }

    pub(crate) fn next_conversation_id(&mut self) -> Result<ConversationId, StoreError> {
        next_id(&mut self.last_ids.conversation)
    }

    pub(crate) fn next_canned_reply_id(&mut self) -> Result<CannedReplyId, StoreError> {
        next_id(&mut self.last_ids.canned_reply)
    }

    /// Staff with a working entry whose span contains `at`.
    pub(crate) fn agents_on_shift(&self, at: chrono::DateTime<chrono::Utc>) -> Vec<AgentId> {
        // Entries belong to their local start date, which lies within two days of the
        // instant's UTC date for any zone and any shift under 26 hours.
        let day = at.date_naive();
        let first = day.checked_sub_days(Days::new(2)).unwrap_or(NaiveDate::MIN);
        let last = day.checked_add_days(Days::new(1)).unwrap_or(NaiveDate::MAX);
        let mut on_shift: Vec<AgentId> = self
            .entries_by_agent
            .keys()
            .copied()
            .filter(|&agent| {
                self.agent_entries(agent, first, last)
                    .any(|entry| entry.is_working() && entry.span.contains(at))
            })
            .collect();
        on_shift.sort_unstable();
        on_shift
    }

    /// Takes back one write.
    pub(crate) fn revert(&mut self, undo: Undo) {
        match undo {
            Undo::Team(team) => self.team = team,
            Undo::Agent(id, before) => restore(&mut self.agents, id, before),
            Undo::Credentials(id, before) => restore(&mut self.credentials, id, before),
            Undo::Shift(id, before) => restore(&mut self.shifts, id, before),
            Undo::Entry(id, before) => {
                self.put_entry(id, before);
            }
            Undo::Leave(id, before) => restore(&mut self.leaves, id, before),
            Undo::Swap(id, before) => restore(&mut self.swaps, id, before),
            Undo::Audit => {
                self.audit.pop();
            }
            Undo::Talk(undo) => self.talk.revert(undo),
        }
    }

    /// Writes or removes an entry, keeping the index in step; returns what was there.
    pub(crate) fn put_entry(
        &mut self,
        id: EntryId,
        entry: Option<ScheduleEntry>,
    ) -> Option<ScheduleEntry> {
        let before = match entry {
            Some(entry) => {
                let key = (entry.date, id);
                self.entries_by_agent
                    .entry(entry.agent)
                    .or_default()
                    .insert(key);
                self.entries.insert(id, entry)
            }
            None => self.entries.remove(&id),
        };
        if let Some(old) = &before {
            let moved = self
                .entries
                .get(&id)
                .is_none_or(|now| (now.agent, now.date) != (old.agent, old.date));
            if moved && let Some(index) = self.entries_by_agent.get_mut(&old.agent) {
                index.remove(&(old.date, id));
            }
        }
        before
    }

    /// Refuses an entry that refers to nothing or overlaps another working entry of its agent.
    pub(crate) fn check_entry(&self, entry: &ScheduleEntry) -> Result<(), StoreError> {
        if !self.agents.contains_key(&entry.agent) || !self.shifts.contains_key(&entry.shift) {
            return Err(StoreError::Constraint(Constraint::Reference));
        }
        if !entry.is_working() {
            return Ok(());
        }
        let first = entry
            .date
            .checked_sub_days(Days::new(OVERLAP_REACH_DAYS))
            .unwrap_or(NaiveDate::MIN);
        let last = entry
            .date
            .checked_add_days(Days::new(OVERLAP_REACH_DAYS))
            .unwrap_or(NaiveDate::MAX);
        let overlaps = self.agent_entries(entry.agent, first, last).any(|other| {
            other.id != entry.id && other.is_working() && other.span.overlaps(&entry.span)
        });
        if overlaps {
            Err(StoreError::Constraint(Constraint::Overlap))
        } else {
            Ok(())
        }
    }

    pub(crate) fn shift_in_use(&self, id: ShiftId) -> bool {
        self.entries.values().any(|entry| entry.shift == id)
    }

    /// One agent's entries with dates in `first..=last`, by date.
    fn agent_entries(
        &self,
        agent: AgentId,
        first: NaiveDate,
        last: NaiveDate,
    ) -> impl Iterator<Item = &ScheduleEntry> {
        let index = self.entries_by_agent.get(&agent);

        index.into_iter().flat_map(move |index| {
            index
                .range((first, EntryId::MIN)..=(last, EntryId::MAX))
                .filter_map(|(_, id)| self.entries.get(id))
        })
    }

    pub(crate) fn query_entries(&self, query: &EntryQuery) -> Vec<ScheduleEntry> {
        let agents: Vec<AgentId> = match &query.agents {
            Some(agents) => agents
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            None => self.entries_by_agent.keys().copied().collect(),
        };
        let (first, last) = (query.dates.first(), query.dates.last());
        let mut found: Vec<ScheduleEntry> = agents
            .into_iter()
            .flat_map(|agent| self.agent_entries(agent, first, last))
            .filter(|entry| !query.working_only || entry.is_working())
            .cloned()
            .collect();
        found.sort_by_key(|entry| (entry.agent, entry.span.start(), entry.id));
        found
    }

    pub(crate) fn query_leaves(&self, query: &LeaveQuery) -> Vec<LeaveRequest> {
        let agents: Option<HashSet<AgentId>> = query
            .agents
            .as_ref()
            .map(|agents| agents.iter().copied().collect());
        self.leaves
            .values()
            .filter(|leave| {
                agents
                    .as_ref()
                    .is_none_or(|agents| agents.contains(&leave.agent))
            })
            .filter(|leave| {
                query
                    .states
                    .as_ref()
                    .is_none_or(|states| states.contains(&leave.status.state()))
            })
            .filter(|leave| {
                query
                    .overlapping
                    .is_none_or(|dates| dates.overlaps(&leave.dates))
            })
            .filter(|leave| query.after.is_none_or(|after| leave.id > after))
            .take(query.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    pub(crate) fn query_swaps(&self, query: &SwapQuery) -> Vec<SwapRequest> {
        self.swaps
            .values()
            .filter(|swap| query.agent.is_none_or(|agent| swap.involves(agent)))
            .filter(|swap| {
                query
                    .states
                    .as_ref()
                    .is_none_or(|states| states.contains(&swap.status.state()))
            })
            .filter(|swap| {
                query
                    .entry
                    .is_none_or(|entry| swap.entries().contains(&entry))
            })
            .filter(|swap| query.after.is_none_or(|after| swap.id > after))
            .take(query.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    pub(crate) fn append_audit(&mut self, change: AuditChange) -> Result<AuditId, StoreError> {
        let next = i64::try_from(self.audit.len() + 1).unwrap_or(i64::MAX);
        let id = AuditId::try_from(next)
            .map_err(|_| StoreError::Corrupt("audit id out of range".to_owned()))?;
        self.audit.push(AuditRecord { id, change });
        Ok(id)
    }

    pub(crate) fn query_audit(&self, query: &AuditQuery) -> Vec<AuditRecord> {
        let end = match query.before {
            Some(before) => usize::try_from(before.get() - 1)
                .unwrap_or(0)
                .min(self.audit.len()),
            None => self.audit.len(),
        };
        self.audit[..end]
            .iter()
            .rev()
            .filter(|record| {
                query
                    .subject
                    .is_none_or(|subject| record.change.subject == subject)
            })
            .filter(|record| {
                query.actor.is_none_or(
                    |actor| matches!(record.change.actor, Actor::Staff { id, .. } if id == actor),
                )
            })
            .take(query.limit)
            .cloned()
            .collect()
    }
}

fn restore<K: Ord, V>(table: &mut BTreeMap<K, V>, id: K, before: Option<V>) {
    match before {
        Some(value) => {
            table.insert(id, value);
        }
        None => {
            table.remove(&id);
        }
    }
}
