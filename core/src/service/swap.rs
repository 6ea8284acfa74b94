//! Swap requests: filing, answering, deciding, reading.

use crate::audit::{AuditAction, Snapshot, Subject};
use crate::error::{Resource, SwapError};
use crate::event::DomainEvent;
use crate::ids::{EntryId, SwapId};
use crate::schedule::ScheduleEntry;
use crate::staff::Context;
use crate::store::{SwapQuery, Tx};
use crate::swap::{
    self, NewSwap, SwapAction, SwapApplication, SwapKind, SwapParties, SwapRequest, SwapState,
};
use crate::text::Note;

use super::{Service, load_roster, lock_order, span_of_dates};

impl Service {
    /// Files a swap request for one of the requester's future entries. The entry's agent, or
    /// an admin for them.
    pub async fn request_swap(
        &self,
        ctx: &Context,
        application: SwapApplication,
    ) -> Result<SwapRequest, SwapError> {
        let mut tx = self.begin().await?;
        let entry = read_entry(tx.as_mut(), application.requester_entry).await?;
        if !ctx.actor.acts_for(entry.agent) {
            return Err(SwapError::Forbidden);
        }
        let requester = entry.agent;
        tx.lock_agents(&lock_order([requester, application.target]))
            .await?;

        let entries =
            swap_entries(tx.as_mut(), application.requester_entry, application.kind).await?;
        let open = SwapQuery {
            after: None,
            limit: None,
            agent: None,
            states: Some(vec![SwapState::Pending, SwapState::Accepted]),
            entry: Some(application.requester_entry),
        };
        let open = tx.swaps(&open).await?;
        swap::check_not_offered(application.requester_entry, &open)?;
        self.check_swap(tx.as_mut(), requester, &application, &entries)
            .await?;

        let new = NewSwap {
            requester,
            requester_entry: application.requester_entry,
            target: application.target,
            kind: application.kind,
            note: application.note,
            requested_at: self.now(),
        };
        let created = tx.insert_swap(&new).await?;
        let after = Snapshot::Swap {
            request: created.clone(),
            entries: Vec::new(),
        };
        let change = self.audit(
            ctx,
            AuditAction::SwapRequested,
            Subject::Swap(created.id),
            None,
            Some(after),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        let event = DomainEvent::SwapRequested {
            swap: created.id,
            requester: created.requester,
            target: created.target,
        };
        self.publish([event]).await;
        Ok(created)
    }

    /// The target agrees to take the shift, if they still can. The target or an admin.
    pub async fn accept_swap(&self, ctx: &Context, id: SwapId) -> Result<SwapRequest, SwapError> {
        let (mut tx, before) = self.open_swap(ctx, id, SwapAction::Accept).await?;
        let status = swap::transition(&before, SwapAction::Accept, ctx.actor, self.now(), None)?;
        let entries = swap_entries(tx.as_mut(), before.requester_entry, before.kind).await?;
        let application = SwapApplication {
            requester_entry: before.requester_entry,
            target: before.target,
            kind: before.kind,
            note: None,
        };
        self.check_swap(tx.as_mut(), before.requester, &application, &entries)
            .await?;
        let after = SwapRequest {
            status,
            ..before.clone()
        };
        self.finish_swap(
            ctx,
            tx,
            before,
            after,
            Default::default(),
            AuditAction::SwapAccepted,
        )
        .await
    }

    /// The target says no. The target or an admin.
    pub async fn decline_swap(&self, ctx: &Context, id: SwapId) -> Result<SwapRequest, SwapError> {
        self.simple_swap_transition(
            ctx,
            id,
            SwapAction::Decline,
            None,
            AuditAction::SwapDeclined,
        )
        .await
    }

    /// The requester withdraws. The requester or an admin.
    pub async fn cancel_swap(&self, ctx: &Context, id: SwapId) -> Result<SwapRequest, SwapError> {
        self.simple_swap_transition(
            ctx,
            id,
            SwapAction::Cancel,
            None,
            AuditAction::SwapCancelled,
        )
        .await
    }

    /// An admin refuses an accepted swap.
    pub async fn reject_swap(
        &self,
        ctx: &Context,
        id: SwapId,
        note: Option<Note>,
    ) -> Result<SwapRequest, SwapError> {
        self.simple_swap_transition(ctx, id, SwapAction::Reject, note, AuditAction::SwapRejected)
            .await
    }

    /// An admin approves an accepted swap: everything is checked again now, and in one step
    /// the given entries become swapped out and the takers get entries recording whom they
    /// cover. Any conflict changes nothing.
    pub async fn approve_swap(&self, ctx: &Context, id: SwapId) -> Result<SwapRequest, SwapError> {
        let (mut tx, before) = self.open_swap(ctx, id, SwapAction::Approve).await?;
        let entries = swap_entries(tx.as_mut(), before.requester_entry, before.kind).await?;
        let dates = span_of_dates(entries.iter().map(|entry| entry.date))
            .ok_or(SwapError::NotFound(Resource::Entry(before.requester_entry)))?;
        let team = tx.team().await?;
        let agents = lock_order([before.requester, before.target]);
        let roster = load_roster(tx.as_mut(), team, &agents, dates).await?;
        let parties = SwapParties {
            requester: before.requester,
            target: before.target,
            entries: &entries,
            roster: &roster,
            now: self.now(),
        };
        let change = swap::approve(&before, &parties, ctx.actor)?;

        tx.update_entries(&change.swapped_out).await?;
        let mut touched = change.swapped_out.clone();
        touched.extend(tx.insert_entries(&change.taken_over).await?);
        let after = change.swap;
        let done = self
            .finish_swap(
                ctx,
                tx,
                before,
                after,
                (entries, touched),
                AuditAction::SwapApproved,
            )
            .await?;
        let event = DomainEvent::ScheduleChanged { agents, dates };
        self.publish([event]).await;
        Ok(done)
    }

    /// One swap request: agents see the ones they filed or are asked to take, admins all.
    pub async fn swap(&self, ctx: &Context, id: SwapId) -> Result<SwapRequest, SwapError> {
        let mut tx = self.read().await?;
        visible(ctx, tx.swap(id).await?, id)
    }

    /// Swap requests matching `query`: agents see only those that involve them, customers
    /// none.
    pub async fn swaps(
        &self,
        ctx: &Context,
        mut query: SwapQuery,
    ) -> Result<Vec<SwapRequest>, SwapError> {
        if !ctx.actor.is_admin() {
            // Without a staff member to narrow to, the query would name no one and read all.
            let Some(me) = ctx.actor.agent_id() else {
                return Ok(Vec::new());
            };
            query.agent = Some(me);
        }
        let mut tx = self.read().await?;
        Ok(tx.swaps(&query).await?)
    }

    async fn simple_swap_transition(
        &self,
        ctx: &Context,
        id: SwapId,
        action: SwapAction,
        note: Option<Note>,
        audit: AuditAction,
    ) -> Result<SwapRequest, SwapError> {
        let (tx, before) = self.open_swap(ctx, id, action).await?;
        let status = swap::transition(&before, action, ctx.actor, self.now(), note)?;
        let after = SwapRequest {
            status,
            ..before.clone()
        };
        self.finish_swap(ctx, tx, before, after, Default::default(), audit)
            .await
    }

    /// Checks, with the roster of both agents, that the swap could happen now.
    async fn check_swap(
        &self,
        tx: &mut dyn Tx,
        requester: crate::ids::AgentId,
        application: &SwapApplication,
        entries: &[ScheduleEntry],
    ) -> Result<(), SwapError> {
        let dates = span_of_dates(entries.iter().map(|entry| entry.date)).ok_or(
            SwapError::NotFound(Resource::Entry(application.requester_entry)),
        )?;
        let team = tx.team().await?;
        let agents = lock_order([requester, application.target]);
        let roster = load_roster(tx, team, &agents, dates).await?;
        let parties = SwapParties {
            requester,
            target: application.target,
            entries,
            roster: &roster,
            now: self.now(),
        };
        swap::check(&parties, application.requester_entry, application.kind)?;
        Ok(())
    }

    /// Opens a transaction holding the locks of both agents, with the request as it is now,
    /// after checking that the caller may do `action` to it.
    async fn open_swap(
        &self,
        ctx: &Context,
        id: SwapId,
        action: SwapAction,
    ) -> Result<(Box<dyn Tx>, SwapRequest), SwapError> {
        let mut tx = self.begin().await?;
        let found = visible(ctx, tx.swap(id).await?, id)?;
        let allowed = match action {
            SwapAction::Accept | SwapAction::Decline => ctx.actor.acts_for(found.target),
            SwapAction::Cancel => ctx.actor.acts_for(found.requester),
            SwapAction::Approve | SwapAction::Reject => ctx.actor.is_admin(),
        };
        if !allowed {
            return Err(SwapError::Forbidden);
        }
        tx.lock_agents(&lock_order([found.requester, found.target]))
            .await?;
        let current = tx
            .swap(id)
            .await?
            .ok_or(SwapError::NotFound(Resource::Swap(id)))?;
        Ok((tx, current))
    }

    /// Writes the request's new state with its audit record, commits, and tells listeners.
    async fn finish_swap(
        &self,
        ctx: &Context,
        mut tx: Box<dyn Tx>,
        before: SwapRequest,
        after: SwapRequest,
        entries: (Vec<ScheduleEntry>, Vec<ScheduleEntry>),
        action: AuditAction,
    ) -> Result<SwapRequest, SwapError> {
        tx.update_swap(&after).await?;
        let (entries_before, entries_after) = entries;
        let change = self.audit(
            ctx,
            action,
            Subject::Swap(after.id),
            Some(Snapshot::Swap {
                request: before,
                entries: entries_before,
            }),
            Some(Snapshot::Swap {
                request: after.clone(),
                entries: entries_after,
            }),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        let event = DomainEvent::SwapDecided {
            swap: after.id,
            requester: after.requester,
            target: after.target,
            state: after.status.state(),
        };
        self.publish([event]).await;
        Ok(after)
    }
}

/// The entries a swap names, as they are now (missing ones left out).
async fn swap_entries(
    tx: &mut dyn Tx,
    requester_entry: EntryId,
    kind: SwapKind,
) -> Result<Vec<ScheduleEntry>, SwapError> {
    let mut ids = vec![requester_entry];
    if let SwapKind::Exchange { target_entry } = kind {
        ids.push(target_entry);
    }
    Ok(tx.entries_by_id(&ids).await?)
}

async fn read_entry(tx: &mut dyn Tx, id: EntryId) -> Result<ScheduleEntry, SwapError> {
    let found = tx.entries_by_id(&[id]).await?.pop();
    found.ok_or(SwapError::NotFound(Resource::Entry(id)))
}

/// The request, if the caller may see it.
fn visible(ctx: &Context, swap: Option<SwapRequest>, id: SwapId) -> Result<SwapRequest, SwapError> {
    swap.filter(|swap| {
        ctx.actor.is_admin() || ctx.actor.agent_id().is_some_and(|me| swap.involves(me))
    })
    .ok_or(SwapError::NotFound(Resource::Swap(id)))
}
