//! Team settings, staff, shift templates and the audit log.

use crate::account::{leaves_no_admin, token_must_change};
use crate::audit::{AuditAction, AuditQuery, AuditRecord, Snapshot, Subject};
use crate::error::{AdminError, Resource};
use crate::event::DomainEvent;
use crate::ids::{AgentId, ShiftId};
use crate::input::Problem;
use crate::shift::{NewShift, ShiftTemplate, ShiftUpdate};
use crate::staff::{Agent, AgentUpdate, Context, NewAgent, Role};
use crate::store::{Constraint, StoreError};
use crate::team::TeamSettings;

use super::Service;

/// The most audit records one read returns.
const MAX_AUDIT_PAGE: usize = 1000;

impl Service {
    /// The team settings. Anyone on the staff may read them; customers may not.
    pub async fn team(&self, ctx: &Context) -> Result<TeamSettings, AdminError> {
        ensure_staff(ctx)?;
        let mut tx = self.read().await?;
        Ok(tx.team().await?)
    }

    /// Replaces the team settings. Entries already planned keep their spans.
    pub async fn update_team(
        &self,
        ctx: &Context,
        settings: TeamSettings,
    ) -> Result<TeamSettings, AdminError> {
        ensure_admin(ctx)?;
        let mut tx = self.begin().await?;
        let before = tx.team().await?;
        tx.put_team(&settings).await?;
        let change = self.audit(
            ctx,
            AuditAction::TeamUpdated,
            Subject::Team,
            Some(Snapshot::Team { settings: before }),
            Some(Snapshot::Team {
                settings: settings.clone(),
            }),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        Ok(settings)
    }

    /// Every staff member, in id order. Staff only.
    pub async fn agents(&self, ctx: &Context) -> Result<Vec<Agent>, AdminError> {
        ensure_staff(ctx)?;
        let mut tx = self.read().await?;
        Ok(tx.all_agents().await?)
    }

    /// One staff member. Staff only.
    pub async fn agent(&self, ctx: &Context, id: AgentId) -> Result<Agent, AdminError> {
        ensure_staff(ctx)?;
        let mut tx = self.read().await?;
        let found = tx.agents(&[id]).await?.pop();
        found.ok_or(AdminError::NotFound(Resource::Agent(id)))
    }

    /// Adds a staff member.
    pub async fn create_agent(&self, ctx: &Context, agent: NewAgent) -> Result<Agent, AdminError> {
        ensure_admin(ctx)?;
        let mut tx = self.begin().await?;
        if tx.agent_by_login(&agent.login).await?.is_some() {
            return Err(AdminError::LoginTaken(agent.login));
        }
        let created = tx.insert_agent(&agent).await.map_err(|error| match error {
            StoreError::Constraint(Constraint::UniqueLogin) => {
                AdminError::LoginTaken(agent.login.clone())
            }
            other => other.into(),
        })?;
        let change = self.audit(
            ctx,
            AuditAction::AgentCreated,
            Subject::Agent(created.id),
            None,
            Some(Snapshot::Agent {
                agent: created.clone(),
            }),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Changes a staff member's name, role, skills or activity: admins, or staff changing
    /// their own display name.
    ///
    /// Deactivating an agent keeps their entries; new ones cannot be planned for them. A new
    /// role or activity ends their sessions in the same transaction (see
    /// [`token_must_change`]).
    pub async fn update_agent(
        &self,
        ctx: &Context,
        id: AgentId,
        update: AgentUpdate,
    ) -> Result<Agent, AdminError> {
        let own_profile = ctx.actor.agent_id() == Some(id) && update.is_own_profile_change();
        if !own_profile {
            ensure_admin(ctx)?;
        }
        let mut tx = self.begin().await?;
        // A change that could take an admin away locks the active admins too (in id order,
        // with the one changed), so that two admins demoting each other at once cannot leave
        // the team with none.
        let may_remove_admin = update.role == Some(Role::Agent) || update.active == Some(false);
        let mut locked = vec![id];
        if may_remove_admin {
            let admins = tx.all_agents().await?.into_iter();
            locked.extend(
                admins
                    .filter(|agent| agent.active && agent.role == Role::Admin)
                    .map(|agent| agent.id),
            );
            locked.sort_unstable();
            locked.dedup();
        }
        tx.lock_agents(&locked).await?;
        let team = if may_remove_admin {
            tx.all_agents().await?
        } else {
            tx.agents(&[id]).await?
        };
        let before = team
            .iter()
            .find(|agent| agent.id == id)
            .cloned()
            .ok_or(AdminError::NotFound(Resource::Agent(id)))?;
        let after = Agent {
            display_name: update
                .display_name
                .unwrap_or_else(|| before.display_name.clone()),
            role: update.role.unwrap_or(before.role),
            active: update.active.unwrap_or(before.active),
            skills: update.skills.unwrap_or_else(|| before.skills.clone()),
            capacity: update.capacity.unwrap_or(before.capacity),
            ..before.clone()
        };
        if leaves_no_admin(&before, &after, &team) {
            return Err(AdminError::LastAdmin(Resource::Agent(id)));
        }
        tx.update_agent(&after).await?;
        let sessions_end = token_must_change(&before, &after);
        if sessions_end {
            tx.bump_token_version(id).await?;
        }
        let change = self.audit(
            ctx,
            AuditAction::AgentUpdated,
            Subject::Agent(id),
            Some(Snapshot::Agent { agent: before }),
            Some(Snapshot::Agent {
                agent: after.clone(),
            }),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        if sessions_end {
            self.publish([DomainEvent::SessionsEnded { agent: id }])
                .await;
        }
        Ok(after)
    }

    /// Every shift template, in id order. Staff only.
    pub async fn shifts(&self, ctx: &Context) -> Result<Vec<ShiftTemplate>, AdminError> {
        ensure_staff(ctx)?;
        let mut tx = self.read().await?;
        Ok(tx.shifts().await?)
    }

    /// Adds a shift template.
    pub async fn create_shift(
        &self,
        ctx: &Context,
        shift: NewShift,
    ) -> Result<ShiftTemplate, AdminError> {
        ensure_admin(ctx)?;
        let mut tx = self.begin().await?;
        if tx
            .shifts()
            .await?
            .iter()
            .any(|existing| existing.name == shift.name)
        {
            return Err(AdminError::ShiftNameTaken(shift.name));
        }
        let created = tx.insert_shift(&shift).await.map_err(|error| match error {
            StoreError::Constraint(Constraint::UniqueShiftName) => {
                AdminError::ShiftNameTaken(shift.name.clone())
            }
            other => other.into(),
        })?;
        let change = self.audit(
            ctx,
            AuditAction::ShiftCreated,
            Subject::Shift(created.id),
            None,
            Some(Snapshot::Shift {
                shift: created.clone(),
            }),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Renames a shift template or changes its required skill. Existing entries are not
    /// re-checked against a new skill requirement; it applies to assignments from now on.
    pub async fn update_shift(
        &self,
        ctx: &Context,
        id: ShiftId,
        update: ShiftUpdate,
    ) -> Result<ShiftTemplate, AdminError> {
        ensure_admin(ctx)?;
        let mut tx = self.begin().await?;
        let shifts = tx.shifts().await?;
        let before = shifts
            .iter()
            .find(|shift| shift.id == id)
            .cloned()
            .ok_or(AdminError::NotFound(Resource::Shift(id)))?;
        if let Some(name) = &update.name
            && shifts
                .iter()
                .any(|shift| shift.id != id && &shift.name == name)
        {
            return Err(AdminError::ShiftNameTaken(name.clone()));
        }
        let after = ShiftTemplate {
            name: update.name.unwrap_or_else(|| before.name.clone()),
            required_skill: update
                .required_skill
                .unwrap_or_else(|| before.required_skill.clone()),
            ..before.clone()
        };
        // The check above can pass for two requests at once; the store refuses the later.
        tx.update_shift(&after).await.map_err(|error| match error {
            StoreError::Constraint(Constraint::UniqueShiftName) => {
                AdminError::ShiftNameTaken(after.name.clone())
            }
            other => other.into(),
        })?;
        let change = self.audit(
            ctx,
            AuditAction::ShiftUpdated,
            Subject::Shift(id),
            Some(Snapshot::Shift { shift: before }),
            Some(Snapshot::Shift {
                shift: after.clone(),
            }),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Removes a shift template that no schedule entry follows.
    pub async fn remove_shift(&self, ctx: &Context, id: ShiftId) -> Result<(), AdminError> {
        ensure_admin(ctx)?;
        let mut tx = self.begin().await?;
        let before = tx
            .shifts()
            .await?
            .into_iter()
            .find(|shift| shift.id == id)
            .ok_or(AdminError::NotFound(Resource::Shift(id)))?;
        if tx.shift_in_use(id).await? {
            return Err(AdminError::ShiftInUse(Resource::Shift(id)));
        }
        // An entry written since the check above still holds the template.
        tx.delete_shift(id).await.map_err(|error| match error {
            StoreError::Constraint(Constraint::Reference) => {
                AdminError::ShiftInUse(Resource::Shift(id))
            }
            other => other.into(),
        })?;
        let change = self.audit(
            ctx,
            AuditAction::ShiftRemoved,
            Subject::Shift(id),
            Some(Snapshot::Shift { shift: before }),
            None,
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Audit records, newest first. Admins only.
    pub async fn audit_log(
        &self,
        ctx: &Context,
        query: AuditQuery,
    ) -> Result<Vec<AuditRecord>, AdminError> {
        ensure_admin(ctx)?;
        if query.limit == 0 || query.limit > MAX_AUDIT_PAGE {
            let max = i64::try_from(MAX_AUDIT_PAGE).unwrap_or(i64::MAX);
            return Err(Problem::OutOfRange { min: 1, max }.at("limit").into());
        }
        let mut tx = self.read().await?;
        Ok(tx.audit(&query).await?)
    }
}

/// Refuses customers: the team's own data is for the team.
fn ensure_staff(ctx: &Context) -> Result<(), AdminError> {
    if ctx.actor.is_staff() {
        Ok(())
    } else {
        Err(AdminError::Forbidden)
    }
}

fn ensure_admin(ctx: &Context) -> Result<(), AdminError> {
    if ctx.actor.is_admin() {
        Ok(())
    } else {
        Err(AdminError::Forbidden)
    }
}
