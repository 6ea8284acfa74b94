//! Planning the schedule: batch assignment, moving and removing entries, reading the grid.

use crate::assign::{self, AssignmentPlan, BatchAssignment, BatchMode, MAX_PLACEMENTS};
use crate::audit::{AuditAction, Snapshot, Subject};
use crate::conflict::{Conflict, ConflictReason};
use crate::error::{Resource, ScheduleError};
use crate::event::DomainEvent;
use crate::ids::EntryId;
use crate::input::Problem;
use crate::schedule::{NewEntry, Placement, ScheduleEntry};
use crate::staff::Context;
use crate::store::{Constraint, EntryQuery, StoreError};
use crate::time::DateRange;

use super::{Service, check_planning_dates, load_roster, lock_order, span_of_dates};

/// How often an operation re-reads an entry that keeps changing agents under it.
const LOCK_ATTEMPTS: usize = 3;

/// The longest date range one batch may cover.
const MAX_BATCH_DAYS: u32 = 366;

/// How an assignment runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssignOptions {
    /// What to do about conflicting agent-days.
    pub mode: BatchMode,
    /// Check and report, but write nothing.
    pub dry_run: bool,
}

/// What an assignment did, or in a dry run would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignOutcome {
    /// A dry run: these entries would be created.
    Planned {
        /// The entries that would be created.
        entries: Vec<NewEntry>,
        /// In skip mode, the agent-days that would be left out.
        skipped: Vec<Conflict>,
    },
    /// These entries were created.
    Written {
        /// The new entries, in request order.
        entries: Vec<ScheduleEntry>,
        /// In skip mode, the agent-days left out.
        skipped: Vec<Conflict>,
    },
}

impl Service {
    /// Puts one shift on many agents over many dates. See [`Service::assign`].
    pub async fn assign_batch(
        &self,
        ctx: &Context,
        batch: &BatchAssignment,
        options: AssignOptions,
    ) -> Result<AssignOutcome, ScheduleError> {
        if batch.dates.len() > MAX_BATCH_DAYS {
            let max = i64::from(MAX_BATCH_DAYS);
            return Err(Problem::OutOfRange { min: 1, max }.at("dates").into());
        }
        if batch.agents.is_empty() {
            return Err(Problem::Empty.at("agents").into());
        }
        let placements = batch.placements();
        if placements.is_empty() {
            return Err(Problem::Invalid("selects none of the dates")
                .at("weekdays")
                .into());
        }
        self.assign(ctx, placements, options).await
    }

    /// Creates an entry for every placement, after checking them all against each other and
    /// against the schedule as it stands. Admins only.
    ///
    /// All or nothing by default: any conflict writes nothing and returns every conflict.
    pub async fn assign(
        &self,
        ctx: &Context,
        placements: Vec<Placement>,
        options: AssignOptions,
    ) -> Result<AssignOutcome, ScheduleError> {
        ensure_admin(ctx)?;
        if placements.len() > MAX_PLACEMENTS {
            return Err(Problem::TooMany {
                max: MAX_PLACEMENTS,
            }
            .at("placements")
            .into());
        }
        let Some(dates) = span_of_dates(placements.iter().map(|placement| placement.date)) else {
            return Err(Problem::Empty.at("placements").into());
        };
        check_planning_dates(dates).map_err(|problem| problem.at("dates"))?;
        let agents = lock_order(placements.iter().map(|placement| placement.agent));

        let mut tx = self.begin().await?;
        if !options.dry_run {
            tx.lock_agents(&agents).await?;
        }
        let team = tx.team().await?;
        let roster = load_roster(tx.as_mut(), team, &agents, dates).await?;
        let AssignmentPlan { create, skipped } =
            assign::plan_assignment(&roster, &placements, options.mode)
                .map_err(ScheduleError::Conflicts)?;
        if options.dry_run {
            return Ok(AssignOutcome::Planned {
                entries: create,
                skipped,
            });
        }
        if create.is_empty() {
            return Ok(AssignOutcome::Written {
                entries: Vec::new(),
                skipped,
            });
        }

        let created = match tx.insert_entries(&create).await {
            Ok(created) => created,
            Err(StoreError::Constraint(Constraint::Reference)) => {
                drop(tx);
                let placements = create.iter().map(|entry| Placement {
                    agent: entry.agent,
                    shift: entry.shift,
                    date: entry.date,
                });
                return Err(self.removed_shifts(placements).await);
            }
            Err(error) => return Err(error.into()),
        };
        let change = self.audit(
            ctx,
            AuditAction::EntriesAssigned,
            Subject::Schedule,
            None,
            Some(Snapshot::assigned(&created)),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;

        let agents = lock_order(created.iter().map(|entry| entry.agent));
        self.publish([DomainEvent::ScheduleChanged { agents, dates }])
            .await;
        Ok(AssignOutcome::Written {
            entries: created,
            skipped,
        })
    }

    /// Moves a scheduled entry to another agent, shift or date, if the new place is free.
    /// Admins only.
    pub async fn move_entry(
        &self,
        ctx: &Context,
        id: EntryId,
        to: Placement,
    ) -> Result<ScheduleEntry, ScheduleError> {
        ensure_admin(ctx)?;
        check_planning_dates(DateRange::single(to.date)).map_err(|problem| problem.at("date"))?;
        let (mut tx, before) = self.locked_entry(id, Some(to.agent)).await?;
        if !before.is_working() {
            return Err(ScheduleError::NotScheduled {
                entry: id,
                status: before.status,
            });
        }

        let dates = DateRange::single(before.date).union(&DateRange::single(to.date));
        let team = tx.team().await?;
        let agents = lock_order([before.agent, to.agent]);
        let roster = load_roster(tx.as_mut(), team, &agents, dates).await?;
        let after = assign::plan_move(&roster, &before, to).map_err(ScheduleError::Conflicts)?;

        match tx.update_entries(std::slice::from_ref(&after)).await {
            Ok(()) => {}
            Err(StoreError::Constraint(Constraint::Reference)) => {
                drop(tx);
                return Err(self.removed_shifts([to].into_iter()).await);
            }
            Err(error) => return Err(error.into()),
        }
        let change = self.audit(
            ctx,
            AuditAction::EntryMoved,
            Subject::Entry(id),
            Some(Snapshot::Entries {
                entries: vec![before],
            }),
            Some(Snapshot::Entries {
                entries: vec![after.clone()],
            }),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        self.publish([DomainEvent::ScheduleChanged { agents, dates }])
            .await;
        Ok(after)
    }

    /// Removes an entry, whatever its status. Admins only.
    pub async fn remove_entry(&self, ctx: &Context, id: EntryId) -> Result<(), ScheduleError> {
        ensure_admin(ctx)?;
        let (mut tx, before) = self.locked_entry(id, None).await?;
        tx.delete_entries(&[id]).await?;
        let change = self.audit(
            ctx,
            AuditAction::EntryRemoved,
            Subject::Entry(id),
            Some(Snapshot::Entries {
                entries: vec![before.clone()],
            }),
            None,
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        let event = DomainEvent::ScheduleChanged {
            agents: vec![before.agent],
            dates: DateRange::single(before.date),
        };
        self.publish([event]).await;
        Ok(())
    }

    /// The schedule: entries on these dates, of these agents or everyone. All staff may read
    /// it; customers may not.
    pub async fn schedule(
        &self,
        ctx: &Context,
        query: &EntryQuery,
    ) -> Result<Vec<ScheduleEntry>, ScheduleError> {
        ensure_staff(ctx)?;
        if query.dates.len() > MAX_BATCH_DAYS {
            let max = i64::from(MAX_BATCH_DAYS);
            return Err(Problem::OutOfRange { min: 1, max }.at("dates").into());
        }
        let mut tx = self.read().await?;
        Ok(tx.entries(query).await?)
    }

    /// One schedule entry. Staff only.
    pub async fn entry(&self, ctx: &Context, id: EntryId) -> Result<ScheduleEntry, ScheduleError> {
        ensure_staff(ctx)?;
        let mut tx = self.read().await?;
        read_entry(tx.as_mut(), id).await
    }
}

impl Service {
    /// The answer when the store refused entries for a reference that the roster found: a
    /// shift template was removed in between. Its agent-days conflict as unknown shifts, as
    /// they would had the removal come first; anything else stays a store failure.
    async fn removed_shifts(&self, placements: impl Iterator<Item = Placement>) -> ScheduleError {
        let shifts = match self.read().await {
            Ok(mut tx) => tx.shifts().await,
            Err(error) => Err(error),
        };
        let shifts = match shifts {
            Ok(shifts) => shifts,
            Err(error) => return error.into(),
        };
        let conflicts: Vec<Conflict> = placements
            .filter(|placement| !shifts.iter().any(|shift| shift.id == placement.shift))
            .map(|placement| Conflict {
                agent: placement.agent,
                date: placement.date,
                shift: placement.shift,
                reason: ConflictReason::UnknownShift,
            })
            .collect();
        if conflicts.is_empty() {
            StoreError::Constraint(Constraint::Reference).into()
        } else {
            ScheduleError::Conflicts(conflicts)
        }
    }

    /// Opens a transaction holding the lock of the entry's agent (and of `also`), with the
    /// entry as it is under that lock. An entry moved to another agent between the first read
    /// and the lock is read again under the new agent's lock.
    async fn locked_entry(
        &self,
        id: EntryId,
        also: Option<crate::ids::AgentId>,
    ) -> Result<(Box<dyn crate::store::Tx>, ScheduleEntry), ScheduleError> {
        for _ in 0..LOCK_ATTEMPTS {
            let mut tx = self.begin().await?;
            let seen = read_entry(tx.as_mut(), id).await?;
            tx.lock_agents(&lock_order([Some(seen.agent), also].into_iter().flatten()))
                .await?;
            let current = read_entry(tx.as_mut(), id).await?;
            if current.agent == seen.agent {
                return Ok((tx, current));
            }
        }
        Err(ScheduleError::Contended(Resource::Entry(id)))
    }
}

async fn read_entry(
    tx: &mut dyn crate::store::Tx,
    id: EntryId,
) -> Result<ScheduleEntry, ScheduleError> {
    let found = tx.entries_by_id(&[id]).await?.pop();
    found.ok_or(ScheduleError::NotFound(Resource::Entry(id)))
}

fn ensure_admin(ctx: &Context) -> Result<(), ScheduleError> {
    if ctx.actor.is_admin() {
        Ok(())
    } else {
        Err(ScheduleError::Forbidden)
    }
}

/// Refuses customers: the schedule is the team's own business.
fn ensure_staff(ctx: &Context) -> Result<(), ScheduleError> {
    if ctx.actor.is_staff() {
        Ok(())
    } else {
        Err(ScheduleError::Forbidden)
    }
}
