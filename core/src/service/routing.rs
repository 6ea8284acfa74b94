//! Routing: giving waiting conversations to agents on shift, online and with room.
//!
//! Each assignment is its own transaction: lock the conversation, check it still waits, choose
//! an agent from the loads as read, then lock that agent and read their load again. If a
//! concurrent router filled them meanwhile, the attempt is dropped and the next best agent is
//! tried. So one conversation never gets two owners, no agent is overfilled, and exactly one
//! system message records each assignment.

use crate::conversation::{Conversation, ConversationRefusal};
use crate::error::{ConversationError, Resource};
use crate::event::DomainEvent;
use crate::ids::{AgentId, ConversationId};
use crate::message::{MessageKind, NewMessage, Sender};
use crate::routing;
use crate::staff::{Actor, Agent, Context};
use crate::store::Tx;
use crate::text::MessageBody;

use super::Service;
use super::conversation::visible_in;

/// How many agents one routing of one conversation tries before leaving it queued.
const ROUTING_ATTEMPTS: usize = 8;

/// How many waiting conversations the queue is read in at a time.
const QUEUE_BATCH: usize = 50;

/// What routing did with one conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routed {
    /// It went to this agent.
    Assigned(AgentId),
    /// Nobody can take it now; it stays queued.
    NoAgent,
    /// It was not waiting (already held, or resolved).
    NotWaiting,
}

impl Service {
    /// Routes one waiting conversation to the best agent available now, if any. It changes
    /// only what the routing rules decide, so it needs no caller: Shiftdesk runs it when a
    /// conversation joins the queue.
    pub async fn route(&self, id: ConversationId) -> Result<Routed, ConversationError> {
        let mut passed_over = Vec::new();
        for _ in 0..ROUTING_ATTEMPTS {
            let mut tx = self.begin().await?;
            tx.lock_conversation(id).await?;
            let Some(conversation) = tx.conversation(id).await? else {
                return Err(ConversationError::NotFound(Resource::Conversation(id)));
            };
            if !conversation.is_waiting() {
                return Ok(Routed::NotWaiting);
            }
            let Some(agent) = self.choose(tx.as_mut(), &passed_over).await? else {
                return Ok(Routed::NoAgent);
            };

            tx.lock_agents(&[agent.id]).await?;
            let team = tx.team().await?;
            let open = tx
                .agent_loads(&[agent.id])
                .await?
                .first()
                .map_or(0, |load| load.open);
            if open >= agent.capacity.unwrap_or(team.default_capacity).get() {
                // A concurrent router filled this agent after we read the loads.
                passed_over.push(agent.id);
                continue;
            }
            self.give_to(tx, &conversation, &agent).await?;
            return Ok(Routed::Assigned(agent.id));
        }
        Ok(Routed::NoAgent)
    }

    /// Routes waiting conversations, oldest first, until the queue is empty or nobody can
    /// take more. Call it when an agent comes online, a shift starts or capacity frees up.
    /// Admins and Shiftdesk itself.
    pub async fn route_waiting(
        &self,
        ctx: &Context,
    ) -> Result<Vec<(ConversationId, AgentId)>, ConversationError> {
        if !ctx.actor.is_admin() {
            return Err(ConversationError::Forbidden);
        }
        self.route_waiting_quietly().await
    }

    /// [`Service::route_waiting`] on Shiftdesk's own behalf.
    pub(super) async fn route_waiting_quietly(
        &self,
    ) -> Result<Vec<(ConversationId, AgentId)>, ConversationError> {
        let mut assigned = Vec::new();
        loop {
            let waiting = {
                let mut tx = self.read().await?;
                tx.waiting_conversations(QUEUE_BATCH).await?
            };
            for conversation in &waiting {
                match self.route(conversation.id).await? {
                    Routed::Assigned(agent) => assigned.push((conversation.id, agent)),
                    Routed::NotWaiting => {}
                    Routed::NoAgent => return Ok(assigned),
                }
            }
            if waiting.len() < QUEUE_BATCH {
                return Ok(assigned);
            }
        }
    }

    /// An agent came online: the queue may drain to them.
    pub async fn agent_came_online(
        &self,
        ctx: &Context,
        agent: AgentId,
    ) -> Result<Vec<(ConversationId, AgentId)>, ConversationError> {
        if !ctx.actor.acts_for(agent) {
            return Err(ConversationError::Forbidden);
        }
        self.route_waiting_quietly().await
    }

    /// An agent went offline or their shift ended. If the team says so, their unresolved
    /// conversations go back to routing; otherwise they wait for the agent.
    pub async fn agent_went_away(
        &self,
        ctx: &Context,
        agent: AgentId,
    ) -> Result<Vec<(ConversationId, AgentId)>, ConversationError> {
        if !ctx.actor.acts_for(agent) {
            return Err(ConversationError::Forbidden);
        }
        let held = {
            let mut tx = self.read().await?;
            if !tx.team().await?.requeue_when_away {
                return Ok(Vec::new());
            }
            tx.held_by(agent).await?
        };
        for conversation in held {
            self.requeue(conversation.id, agent).await?;
        }
        self.route_waiting_quietly().await
    }

    /// An agent takes a waiting conversation by hand, if they have room. When two agents take
    /// the same one at once, one gets it and the other is told who did.
    pub async fn take_conversation(
        &self,
        ctx: &Context,
        id: ConversationId,
    ) -> Result<Conversation, ConversationError> {
        let Actor::Staff { id: agent_id, .. } = ctx.actor else {
            return Err(ConversationError::Forbidden);
        };
        let mut tx = self.begin().await?;
        tx.lock_conversation(id).await?;
        let Some(conversation) = tx.conversation(id).await? else {
            return Err(ConversationError::NotFound(Resource::Conversation(id)));
        };
        if let Some(holder) = conversation
            .assignee()
            .filter(|_| !conversation.status.is_resolved())
        {
            return Err(ConversationRefusal::AlreadyTaken { holder }.into());
        }
        if conversation.status.is_resolved() {
            return Err(ConversationRefusal::Resolved.into());
        }
        tx.lock_agents(&[agent_id]).await?;
        let agent = tx
            .agents(&[agent_id])
            .await?
            .pop()
            .filter(|agent| agent.active)
            .ok_or(ConversationRefusal::InactiveAgent { agent: agent_id })?;
        let team = tx.team().await?;
        let open = tx
            .agent_loads(&[agent_id])
            .await?
            .first()
            .map_or(0, |load| load.open);
        let capacity = agent.capacity.unwrap_or(team.default_capacity).get();
        if open >= capacity {
            return Err(ConversationRefusal::AtCapacity {
                agent: agent_id,
                open,
                capacity,
            }
            .into());
        }
        let assigned = self.give_to(tx, &conversation, &agent).await?;
        Ok(assigned)
    }

    /// Wakes every snoozed conversation whose time has come. Admins and Shiftdesk itself.
    pub async fn wake_snoozed(&self, ctx: &Context) -> Result<usize, ConversationError> {
        if !ctx.actor.is_admin() {
            return Err(ConversationError::Forbidden);
        }
        let now = self.now();
        let due = {
            let mut tx = self.read().await?;
            tx.snoozes_due(now).await?
        };
        let mut woken = 0;
        for conversation in due {
            let mut tx = self.begin().await?;
            tx.lock_conversation(conversation.id).await?;
            let current = visible_in(tx.as_mut(), ctx, conversation.id).await?;
            if let Some(next) = crate::conversation::wake_if_due(&current, now) {
                tx.update_conversation(&next).await?;
                tx.commit().await?;
                self.publish([super::conversation::status_event(&next)])
                    .await;
                woken += 1;
                if next.is_waiting() {
                    self.route(next.id).await?;
                }
            }
        }
        Ok(woken)
    }

    /// The best agent for a conversation now, leaving out `passed_over`.
    async fn choose(
        &self,
        tx: &mut dyn Tx,
        passed_over: &[AgentId],
    ) -> Result<Option<Agent>, ConversationError> {
        let on_shift = tx.agents_on_shift(self.now()).await?;
        let online: Vec<AgentId> = on_shift
            .iter()
            .copied()
            .filter(|agent| self.presence.is_online(*agent))
            .collect();
        if online.is_empty() {
            return Ok(None);
        }
        let agents = tx.agents(&online).await?;
        let loads = tx.agent_loads(&online).await?;
        let team = tx.team().await?;
        let candidates =
            routing::candidates(&agents, &on_shift, &online, &loads, team.default_capacity);
        let chosen = routing::choose_agent(&candidates, passed_over);
        Ok(chosen.and_then(|id| agents.into_iter().find(|agent| agent.id == id)))
    }

    /// Gives `conversation` to `agent` with one system message, commits, and announces it.
    async fn give_to(
        &self,
        mut tx: Box<dyn Tx>,
        conversation: &Conversation,
        agent: &Agent,
    ) -> Result<Conversation, ConversationError> {
        let now = self.now();
        let after = conversation.assigned_to(agent.id, now);
        tx.update_conversation(&after).await?;
        let text = format!("{} joined the conversation.", agent.display_name);
        let message = NewMessage {
            conversation: conversation.id,
            client_id: None,
            sender: Sender::System,
            kind: MessageKind::System,
            body: MessageBody::parse(&text).map_err(|problem| problem.at("display_name"))?,
            sent_at: now,
        };
        let appended = tx.append_message(&message).await?;
        tx.commit().await?;

        self.publish([
            DomainEvent::ConversationAssigned {
                conversation: conversation.id,
                customer: conversation.customer,
                agent: agent.id,
            },
            DomainEvent::MessagePosted {
                message: appended.message,
                customer: conversation.customer,
                assignee: Some(agent.id),
            },
        ])
        .await;
        Ok(appended.conversation)
    }

    /// Puts a conversation `agent` holds back in the queue.
    async fn requeue(&self, id: ConversationId, agent: AgentId) -> Result<(), ConversationError> {
        let mut tx = self.begin().await?;
        tx.lock_conversation(id).await?;
        let Some(conversation) = tx.conversation(id).await? else {
            return Ok(());
        };
        if conversation.assignee() != Some(agent) || conversation.status.is_resolved() {
            return Ok(());
        }
        let after = conversation.queued(self.now());
        tx.update_conversation(&after).await?;
        tx.commit().await?;
        self.publish([DomainEvent::ConversationQueued {
            conversation: id,
            customer: after.customer,
            from: Some(agent),
        }])
        .await;
        Ok(())
    }
}
