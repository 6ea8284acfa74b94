//! Shiftdesk's in-memory store: every table in process memory, nothing kept on exit.
//!
//! It is the reference store for the contract suite and the fastest way to run Shiftdesk in a
//! test or a demo. One transaction at a time holds the whole state behind an async mutex, so
//! every transaction is serializable and [`Tx::lock_agents`] has nothing left to lock. Writes
//! apply at once and leave an undo record; a transaction dropped without commit (including a
//! cancelled future) rolls back by replaying its undo records in reverse.
//!
//! Like the database stores, it refuses writes that would break the integrity rules of
//! [`Constraint`] even when the service let them through: overlapping working entries,
//! duplicate logins and shift names, dangling references.
//!
//! Depends on `shiftdesk-core` for the traits and types, and on tokio's mutex.

mod state;
mod talk;

use std::sync::Arc;

use async_trait::async_trait;
use shiftdesk_core::account::{Account, PasswordHash, TokenVersion};
use shiftdesk_core::audit::{AuditChange, AuditQuery, AuditRecord};
use shiftdesk_core::ids::{AgentId, AuditId, EntryId, LeaveId, ShiftId, SwapId};
use shiftdesk_core::leave::{LeaveRequest, NewLeave};
use shiftdesk_core::schedule::{NewEntry, ScheduleEntry};
use shiftdesk_core::shift::{NewShift, ShiftTemplate};
use shiftdesk_core::staff::{Agent, NewAgent};
use shiftdesk_core::store::{Constraint, EntryQuery, LeaveQuery, Store, StoreError, SwapQuery, Tx};
use shiftdesk_core::swap::{NewSwap, SwapRequest};
use shiftdesk_core::team::TeamSettings;
use shiftdesk_core::text::Login;
use tokio::sync::{Mutex, OwnedMutexGuard};

use state::{Credentials, State, Undo};

/// A store that keeps everything in memory. Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store with default team settings.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        let state = Arc::clone(&self.state).lock_owned().await;
        Ok(Box::new(MemoryTx {
            state,
            undo: Vec::new(),
            committed: false,
        }))
    }
}

/// A transaction: the whole state, held exclusively until commit or drop.
struct MemoryTx {
    state: OwnedMutexGuard<State>,
    /// How to take back each write so far, oldest first.
    undo: Vec<Undo>,
    committed: bool,
}

impl Drop for MemoryTx {
    fn drop(&mut self) {
        if !self.committed {
            while let Some(undo) = self.undo.pop() {
                self.state.revert(undo);
            }
        }
    }
}

impl MemoryTx {
    /// `agent` with their credentials.
    fn account_of(&self, agent: Agent) -> Account {
        let credentials = self.state.credentials.get(&agent.id).cloned();
        let credentials = credentials.unwrap_or_default();
        Account {
            agent,
            password_hash: credentials.password_hash,
            token_version: credentials.token_version,
        }
    }

    /// A staff member's credentials, to change.
    fn credentials_mut(&mut self, id: AgentId) -> Result<&mut Credentials, StoreError> {
        if !self.state.agents.contains_key(&id) {
            return Err(missing("agent", id));
        }
        Ok(self.state.credentials.entry(id).or_default())
    }
}

fn missing(what: &str, id: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what} {id} does not exist"))
}

#[async_trait]
impl Tx for MemoryTx {
    async fn lock_agents(&mut self, _agents: &[AgentId]) -> Result<(), StoreError> {
        // The transaction already holds the whole state.
        Ok(())
    }

    async fn team(&mut self) -> Result<TeamSettings, StoreError> {
        Ok(self.state.team.clone())
    }

    async fn put_team(&mut self, team: &TeamSettings) -> Result<(), StoreError> {
        let before = std::mem::replace(&mut self.state.team, team.clone());
        self.undo.push(Undo::Team(before));
        Ok(())
    }

    async fn agents(&mut self, ids: &[AgentId]) -> Result<Vec<Agent>, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids
            .iter()
            .filter_map(|id| self.state.agents.get(id).cloned())
            .collect())
    }

    async fn all_agents(&mut self) -> Result<Vec<Agent>, StoreError> {
        Ok(self.state.agents.values().cloned().collect())
    }

    async fn agent_by_login(&mut self, login: &Login) -> Result<Option<Agent>, StoreError> {
        Ok(self
            .state
            .agents
            .values()
            .find(|agent| &agent.login == login)
            .cloned())
    }

    async fn insert_agent(&mut self, agent: &NewAgent) -> Result<Agent, StoreError> {
        if self
            .state
            .agents
            .values()
            .any(|other| other.login == agent.login)
        {
            return Err(StoreError::Constraint(Constraint::UniqueLogin));
        }
        let created = Agent {
            id: self.state.next_agent_id()?,
            login: agent.login.clone(),
            display_name: agent.display_name.clone(),
            role: agent.role,
            active: true,
            skills: agent.skills.clone(),
            capacity: agent.capacity,
        };
        self.state.agents.insert(created.id, created.clone());
        self.undo.push(Undo::Agent(created.id, None));
        let before = self
            .state
            .credentials
            .insert(created.id, Credentials::default());
        self.undo.push(Undo::Credentials(created.id, before));
        Ok(created)
    }

    async fn update_agent(&mut self, agent: &Agent) -> Result<(), StoreError> {
        let taken = self
            .state
            .agents
            .values()
            .any(|other| other.id != agent.id && other.login == agent.login);
        if taken {
            return Err(StoreError::Constraint(Constraint::UniqueLogin));
        }
        let before = self.state.agents.insert(agent.id, agent.clone());
        if before.is_none() {
            self.state.agents.remove(&agent.id);
            return Err(missing("agent", agent.id));
        }
        self.undo.push(Undo::Agent(agent.id, before));
        Ok(())
    }

    async fn account(&mut self, id: AgentId) -> Result<Option<Account>, StoreError> {
        Ok(self
            .state
            .agents
            .get(&id)
            .cloned()
            .map(|agent| self.account_of(agent)))
    }

    async fn account_by_login(&mut self, login: &Login) -> Result<Option<Account>, StoreError> {
        let found = self
            .state
            .agents
            .values()
            .find(|agent| &agent.login == login);
        Ok(found.cloned().map(|agent| self.account_of(agent)))
    }

    async fn set_password_hash(
        &mut self,
        id: AgentId,
        hash: &PasswordHash,
    ) -> Result<(), StoreError> {
        let before = self.credentials_mut(id)?;
        let after = Credentials {
            password_hash: Some(hash.clone()),
            ..before.clone()
        };
        let before = std::mem::replace(before, after);
        self.undo.push(Undo::Credentials(id, Some(before)));
        Ok(())
    }

    async fn bump_token_version(&mut self, id: AgentId) -> Result<TokenVersion, StoreError> {
        let credentials = self.credentials_mut(id)?;
        let before = credentials.clone();
        credentials.token_version = before.token_version.next();
        let after = credentials.token_version;
        self.undo.push(Undo::Credentials(id, Some(before)));
        Ok(after)
    }

    async fn staff_exists(&mut self) -> Result<bool, StoreError> {
        // The transaction holds the whole state, so nobody can add staff until it ends.
        Ok(!self.state.agents.is_empty())
    }

    async fn shifts(&mut self) -> Result<Vec<ShiftTemplate>, StoreError> {
        Ok(self.state.shifts.values().cloned().collect())
    }

    async fn insert_shift(&mut self, shift: &NewShift) -> Result<ShiftTemplate, StoreError> {
        if self
            .state
            .shifts
            .values()
            .any(|other| other.name == shift.name)
        {
            return Err(StoreError::Constraint(Constraint::UniqueShiftName));
        }
        let created = ShiftTemplate {
            id: self.state.next_shift_id()?,
            name: shift.name.clone(),
            times: shift.times,
            required_skill: shift.required_skill.clone(),
        };
        self.state.shifts.insert(created.id, created.clone());
        self.undo.push(Undo::Shift(created.id, None));
        Ok(created)
    }

    async fn update_shift(&mut self, shift: &ShiftTemplate) -> Result<(), StoreError> {
        let taken = self
            .state
            .shifts
            .values()
            .any(|other| other.id != shift.id && other.name == shift.name);
        if taken {
            return Err(StoreError::Constraint(Constraint::UniqueShiftName));
        }
        let before = self.state.shifts.insert(shift.id, shift.clone());
        if before.is_none() {
            self.state.shifts.remove(&shift.id);
            return Err(missing("shift", shift.id));
        }
        self.undo.push(Undo::Shift(shift.id, before));
        Ok(())
    }

    async fn delete_shift(&mut self, id: ShiftId) -> Result<(), StoreError> {
        if self.state.shift_in_use(id) {
            return Err(StoreError::Constraint(Constraint::Reference));
        }
        if let Some(before) = self.state.shifts.remove(&id) {
            self.undo.push(Undo::Shift(id, Some(before)));
        }
        Ok(())
    }

    async fn shift_in_use(&mut self, id: ShiftId) -> Result<bool, StoreError> {
        Ok(self.state.shift_in_use(id))
    }

    async fn entries(&mut self, query: &EntryQuery) -> Result<Vec<ScheduleEntry>, StoreError> {
        Ok(self.state.query_entries(query))
    }

    async fn entries_by_id(&mut self, ids: &[EntryId]) -> Result<Vec<ScheduleEntry>, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids
            .iter()
            .filter_map(|id| self.state.entries.get(id).cloned())
            .collect())
    }

    async fn insert_entries(
        &mut self,
        entries: &[NewEntry],
    ) -> Result<Vec<ScheduleEntry>, StoreError> {
        let mut created = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = ScheduleEntry {
                id: self.state.next_entry_id()?,
                agent: entry.agent,
                shift: entry.shift,
                date: entry.date,
                span: entry.span,
                status: shiftdesk_core::schedule::EntryStatus::Scheduled,
                origin: entry.origin,
            };
            self.state.check_entry(&entry)?;
            self.state.put_entry(entry.id, Some(entry.clone()));
            self.undo.push(Undo::Entry(entry.id, None));
            created.push(entry);
        }
        Ok(created)
    }

    async fn update_entries(&mut self, entries: &[ScheduleEntry]) -> Result<(), StoreError> {
        for entry in entries {
            if !self.state.entries.contains_key(&entry.id) {
                return Err(missing("schedule entry", entry.id));
            }
            self.state.check_entry(entry)?;
            let before = self.state.put_entry(entry.id, Some(entry.clone()));
            self.undo.push(Undo::Entry(entry.id, before));
        }
        Ok(())
    }

    async fn delete_entries(&mut self, ids: &[EntryId]) -> Result<(), StoreError> {
        for &id in ids {
            let before = self.state.put_entry(id, None);
            if before.is_some() {
                self.undo.push(Undo::Entry(id, before));
            }
        }
        Ok(())
    }

    async fn leave(&mut self, id: LeaveId) -> Result<Option<LeaveRequest>, StoreError> {
        Ok(self.state.leaves.get(&id).cloned())
    }

    async fn leaves(&mut self, query: &LeaveQuery) -> Result<Vec<LeaveRequest>, StoreError> {
        Ok(self.state.query_leaves(query))
    }

    async fn insert_leave(&mut self, leave: &NewLeave) -> Result<LeaveRequest, StoreError> {
        if !self.state.agents.contains_key(&leave.agent) {
            return Err(StoreError::Constraint(Constraint::Reference));
        }
        let created = LeaveRequest {
            id: self.state.next_leave_id()?,
            agent: leave.agent,
            kind: leave.kind,
            dates: leave.dates,
            reason: leave.reason.clone(),
            requested_by: leave.requested_by,
            requested_at: leave.requested_at,
            status: shiftdesk_core::leave::LeaveStatus::Pending,
        };
        self.state.leaves.insert(created.id, created.clone());
        self.undo.push(Undo::Leave(created.id, None));
        Ok(created)
    }

    async fn update_leave(&mut self, leave: &LeaveRequest) -> Result<(), StoreError> {
        let Some(stored) = self.state.leaves.get_mut(&leave.id) else {
            return Err(missing("leave request", leave.id));
        };
        let before = std::mem::replace(stored, leave.clone());
        self.undo.push(Undo::Leave(leave.id, Some(before)));
        Ok(())
    }

    async fn swap(&mut self, id: SwapId) -> Result<Option<SwapRequest>, StoreError> {
        Ok(self.state.swaps.get(&id).cloned())
    }

    async fn swaps(&mut self, query: &SwapQuery) -> Result<Vec<SwapRequest>, StoreError> {
        Ok(self.state.query_swaps(query))
    }

    async fn insert_swap(&mut self, swap: &NewSwap) -> Result<SwapRequest, StoreError> {
        let known = self.state.agents.contains_key(&swap.requester)
            && self.state.agents.contains_key(&swap.target)
            && self.state.entries.contains_key(&swap.requester_entry);
        if !known {
            return Err(StoreError::Constraint(Constraint::Reference));
        }
        let created = SwapRequest {
            id: self.state.next_swap_id()?,
            requester: swap.requester,
            requester_entry: swap.requester_entry,
            target: swap.target,
            kind: swap.kind,
            note: swap.note.clone(),
            requested_at: swap.requested_at,
            status: shiftdesk_core::swap::SwapStatus::Pending,
        };
        self.state.swaps.insert(created.id, created.clone());
        self.undo.push(Undo::Swap(created.id, None));
        Ok(created)
    }

    async fn update_swap(&mut self, swap: &SwapRequest) -> Result<(), StoreError> {
        let Some(stored) = self.state.swaps.get_mut(&swap.id) else {
            return Err(missing("swap request", swap.id));
        };
        let before = std::mem::replace(stored, swap.clone());
        self.undo.push(Undo::Swap(swap.id, Some(before)));
        Ok(())
    }

    async fn append_audit(&mut self, change: &AuditChange) -> Result<AuditId, StoreError> {
        let id = self.state.append_audit(change.clone())?;
        self.undo.push(Undo::Audit);
        Ok(id)
    }

    async fn audit(&mut self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(self.state.query_audit(query))
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.committed = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use shiftdesk_core::staff::Role;
    use shiftdesk_core::text::DisplayName;

    use super::*;

    fn new_agent(login: &str) -> NewAgent {
        NewAgent {
            login: Login::parse(login).unwrap(),
            display_name: DisplayName::parse(login).unwrap(),
            role: Role::Agent,
            skills: BTreeSet::new(),
            capacity: None,
        }
    }

    #[tokio::test]
    async fn a_dropped_transaction_leaves_no_trace() {
        let store = MemoryStore::new();
        let mut tx = store.begin().await.unwrap();
        tx.insert_agent(&new_agent("mei")).await.unwrap();
        drop(tx);

        let mut tx = store.begin().await.unwrap();
        assert!(tx.all_agents().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_committed_transaction_is_seen_by_the_next() {
        let store = MemoryStore::new();
        let mut tx = store.begin().await.unwrap();
        let created = tx.insert_agent(&new_agent("mei")).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.all_agents().await.unwrap(), vec![created]);
    }

    #[tokio::test]
    async fn ids_are_not_reused_after_a_rollback() {
        let store = MemoryStore::new();
        let mut tx = store.begin().await.unwrap();
        let first = tx.insert_agent(&new_agent("mei")).await.unwrap();
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        let second = tx.insert_agent(&new_agent("mei")).await.unwrap();
        assert!(second.id > first.id);
    }

    #[tokio::test]
    async fn a_second_transaction_waits_for_the_first() {
        let store = MemoryStore::new();
        let first = store.begin().await.unwrap();
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(20), store.begin());
        assert!(waiting.await.is_err(), "the second transaction must wait");
        drop(first);
        assert!(store.begin().await.is_ok());
    }
}
