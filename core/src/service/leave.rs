//! Leave requests: filing, deciding, reading.

use crate::audit::{AuditAction, Snapshot, Subject};
use crate::conflict::Roster;
use crate::error::{LeaveError, Resource};
use crate::event::DomainEvent;
use crate::ids::LeaveId;
use crate::input::Problem;
use crate::leave::{
    self, LeaveAction, LeaveApplication, LeaveChange, LeaveRequest, LeaveState, MAX_LEAVE_DAYS,
    NewLeave,
};
use crate::staff::Context;
use crate::store::{EntryQuery, LeaveQuery, Tx};
use crate::text::Note;

use super::{Service, check_planning_dates};

impl Service {
    /// Files a leave request. Agents file their own; admins may file for anyone.
    pub async fn request_leave(
        &self,
        ctx: &Context,
        application: LeaveApplication,
    ) -> Result<LeaveRequest, LeaveError> {
        if !ctx.actor.acts_for(application.agent) {
            return Err(LeaveError::Forbidden);
        }
        if application.dates.len() > MAX_LEAVE_DAYS {
            let max = i64::from(MAX_LEAVE_DAYS);
            return Err(Problem::OutOfRange { min: 1, max }.at("dates").into());
        }
        check_planning_dates(application.dates).map_err(|problem| problem.at("dates"))?;

        let mut tx = self.begin().await?;
        tx.lock_agents(&[application.agent]).await?;
        if tx.agents(&[application.agent]).await?.is_empty() {
            return Err(LeaveError::NotFound(Resource::Agent(application.agent)));
        }
        let team = tx.team().await?;
        let existing = holding_leaves(tx.as_mut(), &application).await?;
        leave::check_application(&application, &existing, &team)?;

        let new = NewLeave {
            agent: application.agent,
            kind: application.kind,
            dates: application.dates,
            reason: application.reason,
            requested_by: ctx.actor,
            requested_at: self.now(),
        };
        let created = tx.insert_leave(&new).await?;
        let after = Snapshot::Leave {
            request: created.clone(),
            entries: Vec::new(),
        };
        let change = self.audit(
            ctx,
            AuditAction::LeaveRequested,
            Subject::Leave(created.id),
            None,
            Some(after),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        let event = DomainEvent::LeaveRequested {
            leave: created.id,
            agent: created.agent,
        };
        self.publish([event]).await;
        Ok(created)
    }

    /// Approves a pending leave: in one step the agent's working entries on those dates go on
    /// leave. Returns the shifts left uncovered. Admins only.
    pub async fn approve_leave(
        &self,
        ctx: &Context,
        id: LeaveId,
    ) -> Result<LeaveChange, LeaveError> {
        let (mut tx, before) = self.open_leave(ctx, id, LeaveAction::Approve).await?;
        let team = tx.team().await?;
        let query = LeaveQuery {
            after: None,
            limit: None,
            agents: Some(vec![before.agent]),
            states: Some(vec![LeaveState::Pending, LeaveState::Approved]),
            overlapping: None,
        };
        let existing = tx.leaves(&query).await?;
        let entries = entries_on(tx.as_mut(), &before, true).await?;
        let change = leave::approve(&before, &existing, &entries, &team, ctx.actor, self.now())?;
        self.finish_leave(ctx, tx, before, entries, change, AuditAction::LeaveApproved)
            .await
    }

    /// Revokes an approved leave: its entries are worked again, unless that now collides with
    /// other work. Admins only.
    pub async fn revoke_leave(
        &self,
        ctx: &Context,
        id: LeaveId,
        note: Option<Note>,
    ) -> Result<LeaveChange, LeaveError> {
        let (mut tx, before) = self.open_leave(ctx, id, LeaveAction::Revoke).await?;
        let team = tx.team().await?;
        let window = Roster::window(before.dates, &team);
        let staff = tx.agents(&[before.agent]).await?;
        let shifts = tx.shifts().await?;
        let query = EntryQuery {
            dates: window,
            agents: Some(vec![before.agent]),
            working_only: true,
        };
        let working = tx.entries(&query).await?;
        let query = LeaveQuery {
            after: None,
            limit: None,
            agents: Some(vec![before.agent]),
            states: Some(vec![LeaveState::Approved]),
            overlapping: Some(window),
        };
        let others: Vec<LeaveRequest> = tx
            .leaves(&query)
            .await?
            .into_iter()
            .filter(|other| other.id != id)
            .collect();
        let roster = Roster::new(team, staff, shifts, &working, &others);

        let entries = entries_on(tx.as_mut(), &before, false).await?;
        let change = leave::revoke(&before, &entries, &roster, ctx.actor, self.now(), note)?;
        self.finish_leave(ctx, tx, before, entries, change, AuditAction::LeaveRevoked)
            .await
    }

    /// Refuses a pending leave. Admins only.
    pub async fn reject_leave(
        &self,
        ctx: &Context,
        id: LeaveId,
        note: Option<Note>,
    ) -> Result<LeaveRequest, LeaveError> {
        let (tx, before) = self.open_leave(ctx, id, LeaveAction::Reject).await?;
        let status = leave::transition(&before, LeaveAction::Reject, ctx.actor, self.now(), note)?;
        let change = LeaveChange {
            leave: LeaveRequest {
                status,
                ..before.clone()
            },
            entries: Vec::new(),
            uncovered: Vec::new(),
        };
        let done = self
            .finish_leave(
                ctx,
                tx,
                before,
                Vec::new(),
                change,
                AuditAction::LeaveRejected,
            )
            .await?;
        Ok(done.leave)
    }

    /// Withdraws a pending leave. The requesting agent or an admin.
    pub async fn cancel_leave(
        &self,
        ctx: &Context,
        id: LeaveId,
    ) -> Result<LeaveRequest, LeaveError> {
        let (tx, before) = self.open_leave(ctx, id, LeaveAction::Cancel).await?;
        let status = leave::transition(&before, LeaveAction::Cancel, ctx.actor, self.now(), None)?;
        let change = LeaveChange {
            leave: LeaveRequest {
                status,
                ..before.clone()
            },
            entries: Vec::new(),
            uncovered: Vec::new(),
        };
        let done = self
            .finish_leave(
                ctx,
                tx,
                before,
                Vec::new(),
                change,
                AuditAction::LeaveCancelled,
            )
            .await?;
        Ok(done.leave)
    }

    /// One leave request: agents see their own, admins all.
    pub async fn leave(&self, ctx: &Context, id: LeaveId) -> Result<LeaveRequest, LeaveError> {
        let mut tx = self.read().await?;
        visible(ctx, tx.leave(id).await?, id)
    }

    /// Leave requests matching `query`: agents see only their own, whatever they ask for,
    /// customers none.
    pub async fn leaves(
        &self,
        ctx: &Context,
        mut query: LeaveQuery,
    ) -> Result<Vec<LeaveRequest>, LeaveError> {
        if !ctx.actor.is_admin() {
            let Some(me) = ctx.actor.agent_id() else {
                return Ok(Vec::new());
            };
            query.agents = Some(vec![me]);
        }
        let mut tx = self.read().await?;
        Ok(tx.leaves(&query).await?)
    }

    /// Opens a transaction holding the lock of the leave's agent, with the request as it is
    /// now, after checking that the caller may do `action` to it.
    async fn open_leave(
        &self,
        ctx: &Context,
        id: LeaveId,
        action: LeaveAction,
    ) -> Result<(Box<dyn Tx>, LeaveRequest), LeaveError> {
        let mut tx = self.begin().await?;
        let leave = visible(ctx, tx.leave(id).await?, id)?;
        let allowed = match action {
            LeaveAction::Cancel => true,
            LeaveAction::Approve | LeaveAction::Reject | LeaveAction::Revoke => {
                ctx.actor.is_admin()
            }
        };
        if !allowed {
            return Err(LeaveError::Forbidden);
        }
        tx.lock_agents(&[leave.agent]).await?;
        let current = tx
            .leave(id)
            .await?
            .ok_or(LeaveError::NotFound(Resource::Leave(id)))?;
        Ok((tx, current))
    }

    /// Writes a decided change with its audit record, commits, and tells listeners.
    async fn finish_leave(
        &self,
        ctx: &Context,
        mut tx: Box<dyn Tx>,
        before: LeaveRequest,
        entries_before: Vec<crate::schedule::ScheduleEntry>,
        change: LeaveChange,
        action: AuditAction,
    ) -> Result<LeaveChange, LeaveError> {
        tx.update_entries(&change.entries).await?;
        tx.update_leave(&change.leave).await?;
        let touched: Vec<_> = entries_before
            .into_iter()
            .filter(|entry| change.entries.iter().any(|after| after.id == entry.id))
            .collect();
        let audit = self.audit(
            ctx,
            action,
            Subject::Leave(before.id),
            Some(Snapshot::Leave {
                request: before,
                entries: touched,
            }),
            Some(Snapshot::Leave {
                request: change.leave.clone(),
                entries: change.entries.clone(),
            }),
        );
        tx.append_audit(&audit).await?;
        tx.commit().await?;

        let leave = &change.leave;
        let mut events = vec![DomainEvent::LeaveDecided {
            leave: leave.id,
            agent: leave.agent,
            state: leave.status.state(),
        }];
        if !change.entries.is_empty() {
            events.push(DomainEvent::ScheduleChanged {
                agents: vec![leave.agent],
                dates: leave.dates,
            });
        }
        self.publish(events).await;
        Ok(change)
    }
}

/// The agent's pending and approved leave, for the overlap and allowance rules.
async fn holding_leaves(
    tx: &mut dyn Tx,
    application: &LeaveApplication,
) -> Result<Vec<LeaveRequest>, LeaveError> {
    let query = LeaveQuery {
        after: None,
        limit: None,
        agents: Some(vec![application.agent]),
        states: Some(vec![LeaveState::Pending, LeaveState::Approved]),
        overlapping: None,
    };
    Ok(tx.leaves(&query).await?)
}

/// The leave's agent's entries on its dates.
async fn entries_on(
    tx: &mut dyn Tx,
    leave: &LeaveRequest,
    working_only: bool,
) -> Result<Vec<crate::schedule::ScheduleEntry>, LeaveError> {
    let query = EntryQuery {
        dates: leave.dates,
        agents: Some(vec![leave.agent]),
        working_only,
    };
    Ok(tx.entries(&query).await?)
}

/// The request, if the caller may see it: agents see their own, admins all.
fn visible(
    ctx: &Context,
    leave: Option<LeaveRequest>,
    id: LeaveId,
) -> Result<LeaveRequest, LeaveError> {
    leave
        .filter(|leave| ctx.actor.acts_for(leave.agent))
        .ok_or(LeaveError::NotFound(Resource::Leave(id)))
}
