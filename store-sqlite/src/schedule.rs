//! The scheduling half of a transaction: team, staff, shifts, entries, leave, swaps, audit.
//!
//! Lists of ids and batches of rows travel as one JSON array parameter, read in SQL with
//! `json_each`: one statement for a batch of any size (SQLite caps the number of parameters,
//! not the length of one).

use async_trait::async_trait;
use shiftdesk_core::account::{Account, PasswordHash, TokenVersion};
use shiftdesk_core::audit::{AuditChange, AuditQuery, AuditRecord};
use shiftdesk_core::ids::{AgentId, AuditId, EntryId, LeaveId, ShiftId, SwapId};
use shiftdesk_core::leave::{LeaveRequest, NewLeave};
use shiftdesk_core::schedule::{EntryOrigin, EntryStatus, NewEntry, ScheduleEntry};
use shiftdesk_core::shift::{NewShift, ShiftTemplate};
use shiftdesk_core::staff::{Agent, NewAgent};
use shiftdesk_core::store::{Constraint, EntryQuery, LeaveQuery, StoreError, SwapQuery, Tx};
use shiftdesk_core::swap::{NewSwap, SwapKind, SwapRequest};
use shiftdesk_core::team::TeamSettings;
use shiftdesk_core::text::Login;
use sqlx::sqlite::SqliteRow;

use crate::SqliteTx;
use crate::error::{corrupt, db_error};
use crate::rows::{
    self, ACCOUNT_COLUMNS, AGENT_COLUMNS, AUDIT_COLUMNS, ENTRY_COLUMNS, LEAVE_COLUMNS,
    SHIFT_COLUMNS, SWAP_COLUMNS, micros, to_json,
};

/// Ids as a JSON array, for `IN (SELECT value FROM json_each(?))`.
pub(crate) fn ids<T: Into<i64> + Copy>(ids: &[T]) -> String {
    let ids: Vec<i64> = ids.iter().map(|&id| id.into()).collect();
    serde_json::Value::from(ids).to_string()
}

fn all<T>(
    rows: Vec<SqliteRow>,
    parse: fn(&SqliteRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(parse).collect()
}

/// An entry as one JSON array, in the column order the batch statements read:
/// id, agent, shift, date, starts, ends, status, leave, swapped_to, swap, covers, cover_swap.
fn entry_json(
    id: Option<EntryId>,
    fields: (
        AgentId,
        ShiftId,
        chrono::NaiveDate,
        shiftdesk_core::time::Span,
    ),
    status: EntryStatus,
    origin: EntryOrigin,
) -> serde_json::Value {
    let (agent, shift, date, span) = fields;
    let (covers, cover_swap) = match origin {
        EntryOrigin::Assigned => (None, None),
        EntryOrigin::Swap { covers, swap } => (Some(covers.get()), Some(swap.get())),
    };
    let (state, leave, to, swap) = match status {
        EntryStatus::Scheduled => ("scheduled", None, None, None),
        EntryStatus::OnLeave { leave } => ("on_leave", Some(leave.get()), None, None),
        EntryStatus::SwappedOut { to, swap } => {
            ("swapped_out", None, Some(to.get()), Some(swap.get()))
        }
    };
    serde_json::json!([
        id.map(EntryId::get),
        agent.get(),
        shift.get(),
        date.format("%Y-%m-%d").to_string(),
        micros(span.start()),
        micros(span.end()),
        state,
        leave,
        to,
        swap,
        covers,
        cover_swap,
    ])
}

/// Skills as a JSON array.
fn skills_json(skills: &std::collections::BTreeSet<shiftdesk_core::text::Skill>) -> String {
    let skills: Vec<String> = skills.iter().map(ToString::to_string).collect();
    serde_json::Value::from(skills).to_string()
}

/// Request states as a JSON array, or nothing for all states.
fn names_json<T>(names: &Option<Vec<T>>, name: fn(&T) -> &'static str) -> Option<String> {
    names.as_ref().map(|names| {
        let names: Vec<&str> = names.iter().map(name).collect();
        serde_json::Value::from(names).to_string()
    })
}

#[async_trait]
impl Tx for SqliteTx {
    async fn lock_agents(&mut self, _agents: &[AgentId]) -> Result<(), StoreError> {
        // Already held: a writing transaction holds the database's write lock from its start.
        Ok(())
    }

    async fn team(&mut self) -> Result<TeamSettings, StoreError> {
        let found: Option<String> = sqlx::query_scalar("SELECT settings FROM team_settings")
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        match found {
            Some(raw) => serde_json::from_str(&raw).map_err(|error| corrupt("settings", error)),
            None => Ok(TeamSettings::default()),
        }
    }

    async fn put_team(&mut self, team: &TeamSettings) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO team_settings (singleton, settings) VALUES (1, ?1) \
             ON CONFLICT (singleton) DO UPDATE SET settings = excluded.settings",
        )
        .bind(to_json(team)?)
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn agents(&mut self, agent_ids: &[AgentId]) -> Result<Vec<Agent>, StoreError> {
        let query = format!(
            "SELECT {AGENT_COLUMNS} FROM agents \
             WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id"
        );
        let rows = sqlx::query(&query)
            .bind(ids(agent_ids))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        all(rows, rows::agent)
    }

    async fn all_agents(&mut self) -> Result<Vec<Agent>, StoreError> {
        let query = format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY id");
        let rows = sqlx::query(&query)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        all(rows, rows::agent)
    }

    async fn agent_by_login(&mut self, login: &Login) -> Result<Option<Agent>, StoreError> {
        let query = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE login = ?1");
        let row = sqlx::query(&query)
            .bind(login.as_str())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::agent).transpose()
    }

    async fn insert_agent(&mut self, agent: &NewAgent) -> Result<Agent, StoreError> {
        let query = format!(
            "INSERT INTO agents (login, display_name, role, active, skills, capacity) \
             VALUES (?1, ?2, ?3, 1, ?4, ?5) RETURNING {AGENT_COLUMNS}"
        );
        let row = sqlx::query(&query)
            .bind(agent.login.as_str())
            .bind(agent.display_name.as_str())
            .bind(rows::role_name(agent.role))
            .bind(skills_json(&agent.skills))
            .bind(agent.capacity.map(|capacity| i64::from(capacity.get())))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows::agent(&row)
    }

    async fn update_agent(&mut self, agent: &Agent) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE agents SET login = ?2, display_name = ?3, role = ?4, active = ?5, \
             skills = ?6, capacity = ?7 WHERE id = ?1",
        )
        .bind(agent.id.get())
        .bind(agent.login.as_str())
        .bind(agent.display_name.as_str())
        .bind(rows::role_name(agent.role))
        .bind(agent.active)
        .bind(skills_json(&agent.skills))
        .bind(agent.capacity.map(|capacity| i64::from(capacity.get())))
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(corrupt("agent", format!("{} does not exist", agent.id)));
        }
        Ok(())
    }

    async fn account(&mut self, id: AgentId) -> Result<Option<Account>, StoreError> {
        let query = format!("SELECT {ACCOUNT_COLUMNS} FROM agents WHERE id = ?1");
        let row = sqlx::query(&query)
            .bind(id.get())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn account_by_login(&mut self, login: &Login) -> Result<Option<Account>, StoreError> {
        let query = format!("SELECT {ACCOUNT_COLUMNS} FROM agents WHERE login = ?1");
        let row = sqlx::query(&query)
            .bind(login.as_str())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn set_password_hash(
        &mut self,
        id: AgentId,
        hash: &PasswordHash,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE agents SET password_hash = ?2 WHERE id = ?1")
            .bind(id.get())
            .bind(hash.as_str())
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(corrupt("agent", format!("{id} does not exist")));
        }
        Ok(())
    }

    async fn bump_token_version(&mut self, id: AgentId) -> Result<TokenVersion, StoreError> {
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE agents SET token_version = token_version + 1 WHERE id = ?1 \
             RETURNING token_version",
        )
        .bind(id.get())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_error)?;
        let version = version.ok_or_else(|| corrupt("agent", format!("{id} does not exist")))?;
        TokenVersion::new(version).map_err(|problem| corrupt("token_version", problem))
    }

    async fn staff_exists(&mut self) -> Result<bool, StoreError> {
        // The transaction began with the database's write lock, so no one can add staff
        // until it ends.
        let exists: i64 = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents)")
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(exists != 0)
    }

    async fn shifts(&mut self) -> Result<Vec<ShiftTemplate>, StoreError> {
        let query = format!("SELECT {SHIFT_COLUMNS} FROM shifts ORDER BY id");
        let rows = sqlx::query(&query)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        all(rows, rows::shift)
    }

    async fn insert_shift(&mut self, shift: &NewShift) -> Result<ShiftTemplate, StoreError> {
        let query = format!(
            "INSERT INTO shifts (name, starts_at, ends_at, required_skill) \
             VALUES (?1, ?2, ?3, ?4) RETURNING {SHIFT_COLUMNS}"
        );
        let row = sqlx::query(&query)
            .bind(shift.name.as_str())
            .bind(shift.times.start())
            .bind(shift.times.end())
            .bind(shift.required_skill.as_ref().map(ToString::to_string))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows::shift(&row)
    }

    async fn update_shift(&mut self, shift: &ShiftTemplate) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE shifts SET name = ?2, starts_at = ?3, ends_at = ?4, required_skill = ?5 \
             WHERE id = ?1",
        )
        .bind(shift.id.get())
        .bind(shift.name.as_str())
        .bind(shift.times.start())
        .bind(shift.times.end())
        .bind(shift.required_skill.as_ref().map(ToString::to_string))
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(corrupt("shift", format!("{} does not exist", shift.id)));
        }
        Ok(())
    }

    async fn delete_shift(&mut self, id: ShiftId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM shifts WHERE id = ?1")
            .bind(id.get())
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn shift_in_use(&mut self, id: ShiftId) -> Result<bool, StoreError> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM schedule_entries WHERE shift_id = ?1)")
            .bind(id.get())
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)
    }

    async fn entries(&mut self, query: &EntryQuery) -> Result<Vec<ScheduleEntry>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM schedule_entries \
             WHERE work_date BETWEEN ?1 AND ?2 \
               AND (?3 IS NULL OR agent_id IN (SELECT value FROM json_each(?3))) \
               AND (NOT ?4 OR status = 'scheduled') \
             ORDER BY agent_id, starts_at, id"
        );
        let agents = query.agents.as_deref().map(ids);
        let rows = sqlx::query(&sql)
            .bind(query.dates.first())
            .bind(query.dates.last())
            .bind(agents)
            .bind(query.working_only)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        all(rows, rows::entry)
    }

    async fn entries_by_id(
        &mut self,
        entry_ids: &[EntryId],
    ) -> Result<Vec<ScheduleEntry>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM schedule_entries \
             WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(ids(entry_ids))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        all(rows, rows::entry)
    }

    async fn insert_entries(
        &mut self,
        entries: &[NewEntry],
    ) -> Result<Vec<ScheduleEntry>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let given: Vec<serde_json::Value> = entries
            .iter()
            .map(|entry| {
                let fields = (entry.agent, entry.shift, entry.date, entry.span);
                entry_json(None, fields, EntryStatus::Scheduled, entry.origin)
            })
            .collect();
        // One statement for the whole batch, rows inserted in the order given (ORDER BY the
        // array index), so ascending ids follow the input order.
        let mut new_ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO schedule_entries (agent_id, shift_id, work_date, starts_at, ends_at, \
                 status, covers_agent, cover_swap) \
             SELECT value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
                    'scheduled', value ->> 10, value ->> 11 \
             FROM json_each(?1) WHERE true ORDER BY key \
             RETURNING id",
        )
        .bind(serde_json::Value::from(given).to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        new_ids.sort_unstable();
        entries
            .iter()
            .zip(new_ids)
            .map(|(entry, id)| {
                Ok(ScheduleEntry {
                    id: EntryId::try_from(id).map_err(|problem| corrupt("id", problem))?,
                    agent: entry.agent,
                    shift: entry.shift,
                    date: entry.date,
                    span: entry.span,
                    status: EntryStatus::Scheduled,
                    origin: entry.origin,
                })
            })
            .collect()
    }

    async fn update_entries(&mut self, entries: &[ScheduleEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let given: Vec<serde_json::Value> = entries
            .iter()
            .map(|entry| {
                let fields = (entry.agent, entry.shift, entry.date, entry.span);
                entry_json(Some(entry.id), fields, entry.status, entry.origin)
            })
            .collect();
        let done = sqlx::query(
            "UPDATE schedule_entries AS entry SET \
                 agent_id = given.value ->> 1, shift_id = given.value ->> 2, \
                 work_date = given.value ->> 3, starts_at = given.value ->> 4, \
                 ends_at = given.value ->> 5, status = given.value ->> 6, \
                 leave_id = given.value ->> 7, swapped_to = given.value ->> 8, \
                 swap_id = given.value ->> 9, covers_agent = given.value ->> 10, \
                 cover_swap = given.value ->> 11 \
             FROM json_each(?1) AS given \
             WHERE entry.id = given.value ->> 0",
        )
        .bind(serde_json::Value::from(given).to_string())
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() != entries.len() as u64 {
            return Err(corrupt("schedule entry", "an updated entry does not exist"));
        }
        Ok(())
    }

    async fn delete_entries(&mut self, entry_ids: &[EntryId]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM schedule_entries WHERE id IN (SELECT value FROM json_each(?1))")
            .bind(ids(entry_ids))
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn leave(&mut self, id: LeaveId) -> Result<Option<LeaveRequest>, StoreError> {
        let sql = format!("SELECT {LEAVE_COLUMNS} FROM leave_requests WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.get())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::leave).transpose()
    }

    async fn leaves(&mut self, query: &LeaveQuery) -> Result<Vec<LeaveRequest>, StoreError> {
        let sql = format!(
            "SELECT {LEAVE_COLUMNS} FROM leave_requests \
             WHERE (?1 IS NULL OR agent_id IN (SELECT value FROM json_each(?1))) \
               AND (?2 IS NULL OR state IN (SELECT value FROM json_each(?2))) \
               AND (?3 IS NULL OR (first_date <= ?4 AND ?3 <= last_date)) \
               AND (?5 IS NULL OR id > ?5) \
             ORDER BY id LIMIT ifnull(?6, -1)"
        );
        let rows = sqlx::query(&sql)
            .bind(query.agents.as_deref().map(ids))
            .bind(names_json(&query.states, |state| state.as_str()))
            .bind(query.overlapping.map(|dates| dates.first()))
            .bind(query.overlapping.map(|dates| dates.last()))
            .bind(query.after.map(LeaveId::get))
            .bind(limit(query.limit))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        all(rows, rows::leave)
    }

    async fn insert_leave(&mut self, leave: &NewLeave) -> Result<LeaveRequest, StoreError> {
        let sql = format!(
            "INSERT INTO leave_requests (agent_id, kind, first_date, last_date, reason, \
                 requested_by, requested_at, state) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending') \
             RETURNING {LEAVE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(leave.agent.get())
            .bind(leave.kind.as_str())
            .bind(leave.dates.first())
            .bind(leave.dates.last())
            .bind(leave.reason.as_ref().map(ToString::to_string))
            .bind(to_json(&leave.requested_by)?)
            .bind(micros(leave.requested_at))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows::leave(&row)
    }

    async fn update_leave(&mut self, leave: &LeaveRequest) -> Result<(), StoreError> {
        let columns = rows::leave_status_columns(&leave.status);
        let done = sqlx::query(
            "UPDATE leave_requests SET state = ?2, decided_by = ?3, decided_at = ?4, \
             decision_note = ?5 WHERE id = ?1",
        )
        .bind(leave.id.get())
        .bind(columns.state)
        .bind(columns.by)
        .bind(columns.at)
        .bind(columns.note)
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(corrupt(
                "leave request",
                format!("{} does not exist", leave.id),
            ));
        }
        Ok(())
    }

    async fn swap(&mut self, id: SwapId) -> Result<Option<SwapRequest>, StoreError> {
        let sql = format!("SELECT {SWAP_COLUMNS} FROM swap_requests WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.get())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::swap).transpose()
    }

    async fn swaps(&mut self, query: &SwapQuery) -> Result<Vec<SwapRequest>, StoreError> {
        let sql = format!(
            "SELECT {SWAP_COLUMNS} FROM swap_requests \
             WHERE (?1 IS NULL OR requester_id = ?1 OR target_id = ?1) \
               AND (?2 IS NULL OR state IN (SELECT value FROM json_each(?2))) \
               AND (?3 IS NULL OR requester_entry = ?3 OR target_entry = ?3) \
               AND (?4 IS NULL OR id > ?4) \
             ORDER BY id LIMIT ifnull(?5, -1)"
        );
        let rows = sqlx::query(&sql)
            .bind(query.agent.map(AgentId::get))
            .bind(names_json(&query.states, |state| state.as_str()))
            .bind(query.entry.map(EntryId::get))
            .bind(query.after.map(SwapId::get))
            .bind(limit(query.limit))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        all(rows, rows::swap)
    }

    async fn insert_swap(&mut self, swap: &NewSwap) -> Result<SwapRequest, StoreError> {
        let target_entry = match swap.kind {
            SwapKind::Cover => None,
            SwapKind::Exchange { target_entry } => Some(target_entry.get()),
        };
        let sql = format!(
            "INSERT INTO swap_requests (requester_id, requester_entry, target_id, target_entry, \
                 note, requested_at, state) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, 'pending' \
             WHERE EXISTS (SELECT 1 FROM schedule_entries WHERE id = ?2) \
             RETURNING {SWAP_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(swap.requester.get())
            .bind(swap.requester_entry.get())
            .bind(swap.target.get())
            .bind(target_entry)
            .bind(swap.note.as_ref().map(ToString::to_string))
            .bind(micros(swap.requested_at))
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        match row {
            Some(row) => rows::swap(&row),
            None => Err(StoreError::Constraint(Constraint::Reference)),
        }
    }

    async fn update_swap(&mut self, swap: &SwapRequest) -> Result<(), StoreError> {
        let columns = rows::swap_status_columns(&swap.status);
        let done = sqlx::query(
            "UPDATE swap_requests SET state = ?2, state_at = ?3, decided_by = ?4, \
             decision_note = ?5 WHERE id = ?1",
        )
        .bind(swap.id.get())
        .bind(columns.state)
        .bind(columns.at)
        .bind(columns.by)
        .bind(columns.note)
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(corrupt(
                "swap request",
                format!("{} does not exist", swap.id),
            ));
        }
        Ok(())
    }

    async fn append_audit(&mut self, change: &AuditChange) -> Result<AuditId, StoreError> {
        let action = serde_json::to_value(change.action)
            .ok()
            .and_then(|value| value.as_str().map(ToOwned::to_owned))
            .ok_or_else(|| corrupt("action", "does not serialize to a name"))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor, actor_agent, request_id, action, subject, before, \
                 after) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        )
        .bind(micros(change.at))
        .bind(to_json(&change.actor)?)
        .bind(change.actor.agent_id().map(AgentId::get))
        .bind(change.request_id.as_ref().map(|id| id.as_str().to_owned()))
        .bind(action)
        .bind(to_json(&change.subject)?)
        .bind(change.before.as_ref().map(to_json).transpose()?)
        .bind(change.after.as_ref().map(to_json).transpose()?)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db_error)?;
        AuditId::try_from(id).map_err(|problem| corrupt("id", problem))
    }

    async fn audit(&mut self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        // A subject serializes to the same text every time, so matching one is comparing
        // the text.
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log \
             WHERE (?1 IS NULL OR subject = ?1) \
               AND (?2 IS NULL OR actor_agent = ?2) \
               AND (?3 IS NULL OR id < ?3) \
             ORDER BY id DESC LIMIT ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(query.subject.as_ref().map(to_json).transpose()?)
            .bind(query.actor.map(AgentId::get))
            .bind(query.before.map(AuditId::get))
            .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        all(rows, rows::audit)
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().await.map_err(db_error)
    }
}

/// A `LIMIT` argument: `NULL`, read as no limit, for none.
fn limit(limit: Option<usize>) -> Option<i64> {
    limit.map(|limit| i64::try_from(limit).unwrap_or(i64::MAX))
}
