//! The scheduling half of a transaction: team, staff, shifts, entries, leave, swaps, audit.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use shiftdesk_core::account::{Account, PasswordHash, TokenVersion};
use shiftdesk_core::audit::{AuditChange, AuditQuery, AuditRecord};
use shiftdesk_core::ids::{AgentId, AuditId, EntryId, LeaveId, ShiftId, SwapId};
use shiftdesk_core::leave::{LeaveRequest, NewLeave};
use shiftdesk_core::schedule::{EntryOrigin, EntryStatus, NewEntry, ScheduleEntry};
use shiftdesk_core::shift::{NewShift, ShiftTemplate};
use shiftdesk_core::staff::{Agent, NewAgent};
use shiftdesk_core::store::{EntryQuery, LeaveQuery, StoreError, SwapQuery, Tx};
use shiftdesk_core::swap::{NewSwap, SwapKind, SwapRequest};
use shiftdesk_core::team::TeamSettings;
use shiftdesk_core::text::Login;
use sqlx::postgres::PgRow;
use sqlx::types::Json;

use crate::PgTx;
use crate::error::{corrupt, db_error};
use crate::rows::{
    self, ACCOUNT_COLUMNS, AGENT_COLUMNS, AUDIT_COLUMNS, ENTRY_COLUMNS, LEAVE_COLUMNS,
    SHIFT_COLUMNS, SWAP_COLUMNS,
};

fn ids<T: Into<i64> + Copy>(ids: &[T]) -> Vec<i64> {
    ids.iter().map(|&id| id.into()).collect()
}

fn all<T>(
    rows: Vec<PgRow>,
    parse: fn(&PgRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(parse).collect()
}

/// An entry's status and origin as the columns status, leave_id, swapped_to, swap_id,
/// covers_agent, cover_swap.
type StatusColumns = (
    &'static str,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn status_columns(status: EntryStatus, origin: EntryOrigin) -> StatusColumns {
    let (covers, cover_swap) = match origin {
        EntryOrigin::Assigned => (None, None),
        EntryOrigin::Swap { covers, swap } => (Some(covers.get()), Some(swap.get())),
    };
    match status {
        EntryStatus::Scheduled => ("scheduled", None, None, None, covers, cover_swap),
        EntryStatus::OnLeave { leave } => (
            "on_leave",
            Some(leave.get()),
            None,
            None,
            covers,
            cover_swap,
        ),
        EntryStatus::SwappedOut { to, swap } => (
            "swapped_out",
            None,
            Some(to.get()),
            Some(swap.get()),
            covers,
            cover_swap,
        ),
    }
}

/// Entries as column arrays, in the order given, for `UNNEST`.
#[derive(Default)]
struct EntryArrays {
    ids: Vec<i64>,
    agents: Vec<i64>,
    shifts: Vec<i64>,
    dates: Vec<NaiveDate>,
    starts: Vec<DateTime<Utc>>,
    ends: Vec<DateTime<Utc>>,
    statuses: Vec<&'static str>,
    leaves: Vec<Option<i64>>,
    swapped_to: Vec<Option<i64>>,
    swaps: Vec<Option<i64>>,
    covers: Vec<Option<i64>>,
    cover_swaps: Vec<Option<i64>>,
}

impl EntryArrays {
    fn push(
        &mut self,
        id: Option<EntryId>,
        fields: (AgentId, ShiftId, NaiveDate, shiftdesk_core::time::Span),
        status: EntryStatus,
        origin: EntryOrigin,
    ) {
        let (agent, shift, date, span) = fields;
        let (state, leave, to, swap, covers, cover_swap) = status_columns(status, origin);
        self.ids.extend(id.map(EntryId::get));
        self.agents.push(agent.get());
        self.shifts.push(shift.get());
        self.dates.push(date);
        self.starts.push(span.start());
        self.ends.push(span.end());
        self.statuses.push(state);
        self.leaves.push(leave);
        self.swapped_to.push(to);
        self.swaps.push(swap);
        self.covers.push(covers);
        self.cover_swaps.push(cover_swap);
    }
}

#[async_trait]
impl Tx for PgTx {
    async fn lock_agents(&mut self, agents: &[AgentId]) -> Result<(), StoreError> {
        // NO KEY UPDATE: strong enough to keep other deciders out, weak enough not to block
        // inserts that merely refer to the agent (foreign keys take KEY SHARE).
        sqlx::query("SELECT id FROM agents WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
            .bind(ids(agents))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn team(&mut self) -> Result<TeamSettings, StoreError> {
        let found: Option<Json<TeamSettings>> =
            sqlx::query_scalar("SELECT settings FROM team_settings")
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(db_error)?;
        Ok(found.map(|Json(team)| team).unwrap_or_default())
    }

    async fn put_team(&mut self, team: &TeamSettings) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO team_settings (settings) VALUES ($1) \
             ON CONFLICT (singleton) DO UPDATE SET settings = EXCLUDED.settings",
        )
        .bind(Json(team))
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn agents(&mut self, agent_ids: &[AgentId]) -> Result<Vec<Agent>, StoreError> {
        let query = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ANY($1) ORDER BY id");
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
        let query = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE login = $1");
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
             VALUES ($1, $2, $3::staff_role, true, $4, $5) RETURNING {AGENT_COLUMNS}"
        );
        let skills: Vec<String> = agent.skills.iter().map(ToString::to_string).collect();
        let row = sqlx::query(&query)
            .bind(agent.login.as_str())
            .bind(agent.display_name.as_str())
            .bind(rows::role_name(agent.role))
            .bind(skills)
            .bind(agent.capacity.map(|capacity| capacity.get() as i32))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows::agent(&row)
    }

    async fn update_agent(&mut self, agent: &Agent) -> Result<(), StoreError> {
        let skills: Vec<String> = agent.skills.iter().map(ToString::to_string).collect();
        let done = sqlx::query(
            "UPDATE agents SET login = $2, display_name = $3, role = $4::staff_role, \
             active = $5, skills = $6, capacity = $7 WHERE id = $1",
        )
        .bind(agent.id.get())
        .bind(agent.login.as_str())
        .bind(agent.display_name.as_str())
        .bind(rows::role_name(agent.role))
        .bind(agent.active)
        .bind(skills)
        .bind(agent.capacity.map(|capacity| capacity.get() as i32))
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(corrupt("agent", format!("{} does not exist", agent.id)));
        }
        Ok(())
    }

    async fn account(&mut self, id: AgentId) -> Result<Option<Account>, StoreError> {
        let query = format!("SELECT {ACCOUNT_COLUMNS} FROM agents WHERE id = $1");
        let row = sqlx::query(&query)
            .bind(id.get())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn account_by_login(&mut self, login: &Login) -> Result<Option<Account>, StoreError> {
        let query = format!("SELECT {ACCOUNT_COLUMNS} FROM agents WHERE login = $1");
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
        let done = sqlx::query("UPDATE agents SET password_hash = $2 WHERE id = $1")
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
            "UPDATE agents SET token_version = token_version + 1 WHERE id = $1 \
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
        // Held until the transaction ends, and taken by no one else but this method: other
        // writers of staff wait, and a second caller waits and then sees the first's staff.
        sqlx::query("LOCK TABLE agents IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents)")
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)
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
             VALUES ($1, $2, $3, $4) RETURNING {SHIFT_COLUMNS}"
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
            "UPDATE shifts SET name = $2, starts_at = $3, ends_at = $4, required_skill = $5 \
             WHERE id = $1",
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
        sqlx::query("DELETE FROM shifts WHERE id = $1")
            .bind(id.get())
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn shift_in_use(&mut self, id: ShiftId) -> Result<bool, StoreError> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM schedule_entries WHERE shift_id = $1)")
            .bind(id.get())
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)
    }

    async fn entries(&mut self, query: &EntryQuery) -> Result<Vec<ScheduleEntry>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM schedule_entries \
             WHERE work_date BETWEEN $1 AND $2 \
               AND ($3::bigint[] IS NULL OR agent_id = ANY($3)) \
               AND (NOT $4 OR status = 'scheduled') \
             ORDER BY agent_id, lower(during), id"
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
        let sql =
            format!("SELECT {ENTRY_COLUMNS} FROM schedule_entries WHERE id = ANY($1) ORDER BY id");
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
        let mut arrays = EntryArrays::default();
        for entry in entries {
            let fields = (entry.agent, entry.shift, entry.date, entry.span);
            arrays.push(None, fields, EntryStatus::Scheduled, entry.origin);
        }
        // One statement for the whole batch. Identity values are drawn in the order the rows
        // are inserted, which the ORDER BY fixes, so ascending ids follow the input order.
        let mut new_ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO schedule_entries \
                 (agent_id, shift_id, work_date, during, status, covers_agent, cover_swap) \
             SELECT agent, shift, work_date, tstzrange(starts, ends, '[)'), 'scheduled', \
                    covers, cover_swap \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::date[], $4::timestamptz[], \
                         $5::timestamptz[], $6::bigint[], $7::bigint[]) \
                  WITH ORDINALITY AS given(agent, shift, work_date, starts, ends, covers, \
                                           cover_swap, position) \
             ORDER BY position \
             RETURNING id",
        )
        .bind(&arrays.agents)
        .bind(&arrays.shifts)
        .bind(&arrays.dates)
        .bind(&arrays.starts)
        .bind(&arrays.ends)
        .bind(&arrays.covers)
        .bind(&arrays.cover_swaps)
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
        let mut arrays = EntryArrays::default();
        for entry in entries {
            let fields = (entry.agent, entry.shift, entry.date, entry.span);
            arrays.push(Some(entry.id), fields, entry.status, entry.origin);
        }
        let done = sqlx::query(
            "UPDATE schedule_entries AS entry SET \
                 agent_id = given.agent, shift_id = given.shift, work_date = given.work_date, \
                 during = tstzrange(given.starts, given.ends, '[)'), \
                 status = given.status::entry_status, leave_id = given.leave, \
                 swapped_to = given.swapped_to, swap_id = given.swap, \
                 covers_agent = given.covers, cover_swap = given.cover_swap \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::date[], \
                         $5::timestamptz[], $6::timestamptz[], $7::text[], $8::bigint[], \
                         $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[]) \
                  AS given(id, agent, shift, work_date, starts, ends, status, leave, \
                           swapped_to, swap, covers, cover_swap) \
             WHERE entry.id = given.id",
        )
        .bind(&arrays.ids)
        .bind(&arrays.agents)
        .bind(&arrays.shifts)
        .bind(&arrays.dates)
        .bind(&arrays.starts)
        .bind(&arrays.ends)
        .bind(&arrays.statuses)
        .bind(&arrays.leaves)
        .bind(&arrays.swapped_to)
        .bind(&arrays.swaps)
        .bind(&arrays.covers)
        .bind(&arrays.cover_swaps)
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() != entries.len() as u64 {
            return Err(corrupt("schedule entry", "an updated entry does not exist"));
        }
        Ok(())
    }

    async fn delete_entries(&mut self, entry_ids: &[EntryId]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM schedule_entries WHERE id = ANY($1)")
            .bind(ids(entry_ids))
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn leave(&mut self, id: LeaveId) -> Result<Option<LeaveRequest>, StoreError> {
        let sql = format!("SELECT {LEAVE_COLUMNS} FROM leave_requests WHERE id = $1");
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
             WHERE ($1::bigint[] IS NULL OR agent_id = ANY($1)) \
               AND ($2::text[] IS NULL OR state::text = ANY($2)) \
               AND ($3::date IS NULL OR (first_date <= $4 AND $3 <= last_date)) \
               AND ($5::bigint IS NULL OR id > $5) \
             ORDER BY id LIMIT $6"
        );
        let states: Option<Vec<&str>> = query
            .states
            .as_ref()
            .map(|states| states.iter().map(|state| state.as_str()).collect());
        let rows = sqlx::query(&sql)
            .bind(query.agents.as_deref().map(ids))
            .bind(states)
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
             VALUES ($1, $2::leave_kind, $3, $4, $5, $6, $7, 'pending') \
             RETURNING {LEAVE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(leave.agent.get())
            .bind(leave.kind.as_str())
            .bind(leave.dates.first())
            .bind(leave.dates.last())
            .bind(leave.reason.as_ref().map(ToString::to_string))
            .bind(Json(leave.requested_by))
            .bind(leave.requested_at)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows::leave(&row)
    }

    async fn update_leave(&mut self, leave: &LeaveRequest) -> Result<(), StoreError> {
        let columns = rows::leave_status_columns(&leave.status);
        let done = sqlx::query(
            "UPDATE leave_requests SET state = $2::leave_state, decided_by = $3, \
             decided_at = $4, decision_note = $5 WHERE id = $1",
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
        let sql = format!("SELECT {SWAP_COLUMNS} FROM swap_requests WHERE id = $1");
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
             WHERE ($1::bigint IS NULL OR requester_id = $1 OR target_id = $1) \
               AND ($2::text[] IS NULL OR state::text = ANY($2)) \
               AND ($3::bigint IS NULL OR requester_entry = $3 OR target_entry = $3) \
               AND ($4::bigint IS NULL OR id > $4) \
             ORDER BY id LIMIT $5"
        );
        let states: Option<Vec<&str>> = query
            .states
            .as_ref()
            .map(|states| states.iter().map(|state| state.as_str()).collect());
        let rows = sqlx::query(&sql)
            .bind(query.agent.map(AgentId::get))
            .bind(states)
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
             SELECT $1, $2, $3, $4, $5, $6, 'pending' \
             WHERE EXISTS (SELECT 1 FROM schedule_entries WHERE id = $2) \
             RETURNING {SWAP_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(swap.requester.get())
            .bind(swap.requester_entry.get())
            .bind(swap.target.get())
            .bind(target_entry)
            .bind(swap.note.as_ref().map(ToString::to_string))
            .bind(swap.requested_at)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        match row {
            Some(row) => rows::swap(&row),
            None => Err(StoreError::Constraint(
                shiftdesk_core::store::Constraint::Reference,
            )),
        }
    }

    async fn update_swap(&mut self, swap: &SwapRequest) -> Result<(), StoreError> {
        let columns = rows::swap_status_columns(&swap.status);
        let done = sqlx::query(
            "UPDATE swap_requests SET state = $2::swap_state, state_at = $3, decided_by = $4, \
             decision_note = $5 WHERE id = $1",
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
             VALUES ($1, $2, $3, $4, $5::audit_action, $6, $7, $8) RETURNING id",
        )
        .bind(change.at)
        .bind(Json(change.actor))
        .bind(change.actor.agent_id().map(AgentId::get))
        .bind(change.request_id.as_ref().map(|id| id.as_str().to_owned()))
        .bind(action)
        .bind(Json(change.subject))
        .bind(change.before.as_ref().map(Json))
        .bind(change.after.as_ref().map(Json))
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db_error)?;
        AuditId::try_from(id).map_err(|problem| corrupt("id", problem))
    }

    async fn audit(&mut self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log \
             WHERE ($1::jsonb IS NULL OR subject @> $1) \
               AND ($2::bigint IS NULL OR actor_agent = $2) \
               AND ($3::bigint IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(query.subject.map(Json))
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

/// A `LIMIT` argument: `NULL` (no limit) for none.
fn limit(limit: Option<usize>) -> Option<i64> {
    limit.map(|limit| i64::try_from(limit).unwrap_or(i64::MAX))
}
