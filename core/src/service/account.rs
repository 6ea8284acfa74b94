//! Staff accounts: logging in, passwords, ending sessions, and the first admin.
//!
//! The adapter hashes and verifies passwords; these operations keep what it needs, decide
//! who may log in and whose account a caller may change, and audit each step. Nothing here
//! ever sees a password, and no audit record holds a hash.

use crate::account::{
    self, Account, AttemptedLogin, LoginCandidate, LoginRefusal, PasswordHash, Session, TokenState,
    TokenVersion,
};
use crate::audit::{AuditAction, Snapshot, Subject};
use crate::error::{AccountError, Resource};
use crate::event::DomainEvent;
use crate::ids::AgentId;
use crate::staff::{Actor, Agent, Context, NewAgent, Role};
use crate::store::{Constraint, StoreError, Tx};
use crate::text::{DisplayName, Login};

use super::Service;

impl Service {
    /// The first step of a login: the staff member with `login` and the hash to verify the
    /// password against, if they may log in at all. Writes nothing; the adapter reports the
    /// outcome with [`Service::complete_login`] or [`Service::record_failed_login`].
    ///
    /// Only Shiftdesk itself asks, for a caller who has not logged in yet.
    pub async fn login_candidate(
        &self,
        ctx: &Context,
        login: &str,
    ) -> Result<LoginCandidate, AccountError> {
        ensure_system(ctx)?;
        let Ok(login) = Login::parse(login) else {
            return Err(AccountError::LoginRefused(LoginRefusal::UnknownLogin));
        };
        let mut tx = self.read().await?;
        let found = tx.account_by_login(&login).await?;
        let account = found.ok_or(AccountError::LoginRefused(LoginRefusal::UnknownLogin))?;
        account::login_candidate(account).map_err(AccountError::LoginRefused)
    }

    /// The second step of a login whose password matched `candidate`'s hash: checks that the
    /// account has not changed since, records the login as done by the staff member, and says
    /// what their token must carry. A login that no longer stands is recorded as failed and
    /// refused.
    pub async fn complete_login(
        &self,
        ctx: &Context,
        candidate: &LoginCandidate,
    ) -> Result<Session, AccountError> {
        ensure_system(ctx)?;
        let id = candidate.agent.id;
        let mut tx = self.begin().await?;
        tx.lock_agents(&[id]).await?;
        let Some(now) = tx.account(id).await? else {
            return Err(AccountError::NotFound(Resource::Agent(id)));
        };
        if let Err(refusal) = account::confirm_login(candidate, &now) {
            let login = AttemptedLogin::new(now.agent.login.as_str());
            self.write_failed_login(&mut *tx, ctx, Subject::Agent(id), login, refusal)
                .await?;
            tx.commit().await?;
            return Err(AccountError::LoginRefused(refusal));
        }

        let staff = Context {
            actor: Actor::Staff {
                id,
                role: now.agent.role,
            },
            request_id: ctx.request_id.clone(),
        };
        let change = self.audit(
            &staff,
            AuditAction::LoginSucceeded,
            Subject::Agent(id),
            None,
            Some(sessions(now.token_version)),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        Ok(Session {
            agent: now.agent,
            token_version: now.token_version,
        })
    }

    /// Records a failed login: `login` as the caller typed it (cleaned and cut short, never
    /// checked against anything but the staff list) and why it failed. The record is about the
    /// staff member holding the login, or about an unknown login.
    pub async fn record_failed_login(
        &self,
        ctx: &Context,
        login: &str,
        refusal: LoginRefusal,
    ) -> Result<(), AccountError> {
        ensure_system(ctx)?;
        let mut tx = self.begin().await?;
        let holder = match Login::parse(login) {
            Ok(login) => tx.agent_by_login(&login).await?,
            Err(_) => None,
        };
        let subject = holder.map_or(Subject::UnknownLogin, |agent| Subject::Agent(agent.id));
        let login = AttemptedLogin::new(login);
        self.write_failed_login(&mut *tx, ctx, subject, login, refusal)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a staff member's password hash and ends their sessions. Staff change their
    /// own; admins anyone's. Returns the version new tokens must carry.
    pub async fn set_password(
        &self,
        ctx: &Context,
        agent: AgentId,
        hash: PasswordHash,
    ) -> Result<TokenVersion, AccountError> {
        ensure_acts_for(ctx, agent)?;
        let mut tx = self.begin().await?;
        let before = locked_account(&mut *tx, agent).await?;
        tx.set_password_hash(agent, &hash).await?;
        let after = tx.bump_token_version(agent).await?;
        let change = self.audit(
            ctx,
            AuditAction::PasswordChanged,
            Subject::Agent(agent),
            Some(sessions(before.token_version)),
            Some(sessions(after)),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        self.publish([DomainEvent::SessionsEnded { agent }]).await;
        Ok(after)
    }

    /// Ends every session of a staff member: each token issued so far is refused from its next
    /// request on. Staff log themselves out; admins anyone. Returns the version new tokens
    /// must carry.
    pub async fn log_out_everywhere(
        &self,
        ctx: &Context,
        agent: AgentId,
    ) -> Result<TokenVersion, AccountError> {
        ensure_acts_for(ctx, agent)?;
        let mut tx = self.begin().await?;
        let before = locked_account(&mut *tx, agent).await?;
        let after = tx.bump_token_version(agent).await?;
        let change = self.audit(
            ctx,
            AuditAction::LoggedOutEverywhere,
            Subject::Agent(agent),
            Some(sessions(before.token_version)),
            Some(sessions(after)),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        self.publish([DomainEvent::SessionsEnded { agent }]).await;
        Ok(after)
    }

    /// What a token of `agent` must match to be accepted, for the check on every request;
    /// `None` if there is no such staff member. See [`TokenState::accepts`].
    pub async fn token_state(&self, agent: AgentId) -> Result<Option<TokenState>, AccountError> {
        let mut tx = self.read().await?;
        let found = tx.account(agent).await?;
        Ok(found.as_ref().map(TokenState::from))
    }

    /// On first start, creates the first admin with this password hash, as done by Shiftdesk
    /// itself, if and only if no staff member exists yet. Returns `None` when staff exist;
    /// two servers starting at once on an empty database create one admin between them.
    pub async fn bootstrap_admin(
        &self,
        login: Login,
        display_name: DisplayName,
        hash: PasswordHash,
    ) -> Result<Option<Agent>, AccountError> {
        let mut tx = self.begin().await?;
        if tx.staff_exists().await? {
            return Ok(None);
        }
        let admin = NewAgent {
            login,
            display_name,
            role: Role::Admin,
            skills: Default::default(),
            capacity: None,
        };
        let created = tx.insert_agent(&admin).await.map_err(|error| match error {
            StoreError::Constraint(Constraint::UniqueLogin) => {
                AccountError::LoginTaken(admin.login.clone())
            }
            other => other.into(),
        })?;
        tx.set_password_hash(created.id, &hash).await?;
        let change = self.audit(
            &Context::new(Actor::System),
            AuditAction::AgentCreated,
            Subject::Agent(created.id),
            None,
            Some(Snapshot::Agent {
                agent: created.clone(),
            }),
        );
        tx.append_audit(&change).await?;
        tx.commit().await?;
        Ok(Some(created))
    }

    async fn write_failed_login(
        &self,
        tx: &mut dyn Tx,
        ctx: &Context,
        subject: Subject,
        login: AttemptedLogin,
        refusal: LoginRefusal,
    ) -> Result<(), StoreError> {
        let attempt = Snapshot::LoginAttempt { login, refusal };
        let change = self.audit(ctx, AuditAction::LoginFailed, subject, None, Some(attempt));
        tx.append_audit(&change).await.map(drop)
    }
}

/// The audit snapshot of a staff member's sessions.
fn sessions(token_version: TokenVersion) -> Snapshot {
    Snapshot::Sessions { token_version }
}

/// Locks `agent` and reads their account.
async fn locked_account(tx: &mut dyn Tx, agent: AgentId) -> Result<Account, AccountError> {
    tx.lock_agents(&[agent]).await?;
    let found = tx.account(agent).await?;
    found.ok_or(AccountError::NotFound(Resource::Agent(agent)))
}

/// Logins run before anyone is authenticated, so only Shiftdesk itself runs them.
fn ensure_system(ctx: &Context) -> Result<(), AccountError> {
    if ctx.actor == Actor::System {
        Ok(())
    } else {
        Err(AccountError::Forbidden)
    }
}

/// Staff act on their own account; admins on anyone's; customers on none.
fn ensure_acts_for(ctx: &Context, agent: AgentId) -> Result<(), AccountError> {
    if ctx.actor.acts_for(agent) {
        Ok(())
    } else {
        Err(AccountError::Forbidden)
    }
}
