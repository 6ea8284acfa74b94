//! Canned replies: managing them, finding them by shortcode, rendering them.

use crate::canned::{
    self, CannedReply, CannedReplyUpdate, NewCannedReply, ReplyScope, TemplateValues,
};
use crate::error::{CannedError, Resource};
use crate::ids::{CannedReplyId, ConversationId};
use crate::search::Scope;
use crate::staff::{Actor, Context};
use crate::store::{Constraint, StoreError, Tx};

use super::Service;

impl Service {
    /// Creates a canned reply: agents create personal ones for themselves, admins also public
    /// ones.
    pub async fn create_canned_reply(
        &self,
        ctx: &Context,
        reply: NewCannedReply,
    ) -> Result<CannedReply, CannedError> {
        may_manage(ctx, reply.scope)?;
        let mut tx = self.begin().await?;
        let taken = tx
            .canned_replies(owner_of(reply.scope))
            .await?
            .into_iter()
            .any(|other| other.scope == reply.scope && other.shortcode == reply.shortcode);
        if taken {
            return Err(CannedError::ShortcodeTaken(reply.shortcode));
        }
        let created = tx
            .insert_canned_reply(&reply)
            .await
            .map_err(|error| match error {
                StoreError::Constraint(Constraint::UniqueShortcode) => {
                    CannedError::ShortcodeTaken(reply.shortcode.clone())
                }
                other => other.into(),
            })?;
        tx.commit().await?;
        Ok(created)
    }

    /// Changes a canned reply its caller may manage.
    pub async fn update_canned_reply(
        &self,
        ctx: &Context,
        id: CannedReplyId,
        update: CannedReplyUpdate,
    ) -> Result<CannedReply, CannedError> {
        let mut tx = self.begin().await?;
        let before = visible_reply(tx.as_mut(), ctx, id).await?;
        may_manage(ctx, before.scope)?;
        if let Some(code) = &update.shortcode {
            let taken = tx
                .canned_replies(owner_of(before.scope))
                .await?
                .into_iter()
                .any(|other| {
                    other.id != id && other.scope == before.scope && &other.shortcode == code
                });
            if taken {
                return Err(CannedError::ShortcodeTaken(code.clone()));
            }
        }
        let after = CannedReply {
            shortcode: update.shortcode.unwrap_or_else(|| before.shortcode.clone()),
            title: update.title.unwrap_or_else(|| before.title.clone()),
            category: update.category.unwrap_or_else(|| before.category.clone()),
            body: update.body.unwrap_or_else(|| before.body.clone()),
            ..before
        };
        // The check above can pass for two requests at once; the store refuses the later. The
        // reply may also have been deleted since it was read.
        tx.update_canned_reply(&after)
            .await
            .map_err(|error| match error {
                StoreError::Constraint(Constraint::UniqueShortcode) => {
                    CannedError::ShortcodeTaken(after.shortcode.clone())
                }
                StoreError::Constraint(Constraint::Reference) => {
                    CannedError::NotFound(Resource::CannedReply(id))
                }
                other => other.into(),
            })?;
        tx.commit().await?;
        Ok(after)
    }

    /// Removes a canned reply its caller may manage.
    pub async fn delete_canned_reply(
        &self,
        ctx: &Context,
        id: CannedReplyId,
    ) -> Result<(), CannedError> {
        let mut tx = self.begin().await?;
        let reply = visible_reply(tx.as_mut(), ctx, id).await?;
        may_manage(ctx, reply.scope)?;
        tx.delete_canned_reply(id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The replies the caller sees: public ones and their own, personal shadowing public.
    pub async fn canned_replies(&self, ctx: &Context) -> Result<Vec<CannedReply>, CannedError> {
        let mut tx = self.read().await?;
        visible_replies(tx.as_mut(), ctx).await
    }

    /// One reply the caller sees; another agent's personal reply, or any reply asked for by a
    /// customer, is not found.
    pub async fn canned_reply(
        &self,
        ctx: &Context,
        id: CannedReplyId,
    ) -> Result<CannedReply, CannedError> {
        let mut tx = self.read().await?;
        visible_reply(tx.as_mut(), ctx, id).await
    }

    /// The caller's replies matching `query`: exact shortcode, then prefix, then title.
    pub async fn lookup_canned_replies(
        &self,
        ctx: &Context,
        query: &str,
    ) -> Result<Vec<CannedReply>, CannedError> {
        let mut tx = self.read().await?;
        let visible = visible_replies(tx.as_mut(), ctx).await?;
        Ok(canned::lookup(&visible, query)
            .into_iter()
            .cloned()
            .collect())
    }

    /// A reply's text filled in for a conversation the caller may see, as the caller would
    /// send it. An unknown variable is an error naming it.
    pub async fn render_canned_reply(
        &self,
        ctx: &Context,
        id: CannedReplyId,
        conversation: ConversationId,
    ) -> Result<String, CannedError> {
        let Actor::Staff { id: agent_id, .. } = ctx.actor else {
            return Err(CannedError::Forbidden);
        };
        let mut tx = self.read().await?;
        let reply = visible_reply(tx.as_mut(), ctx, id).await?;
        let found = tx
            .conversation(conversation)
            .await?
            .filter(|found| Scope::of(&ctx.actor).includes(found))
            .ok_or(CannedError::NotFound(Resource::Conversation(conversation)))?;
        let customer = tx
            .customer(found.customer)
            .await?
            .ok_or(CannedError::NotFound(Resource::Customer(found.customer)))?;
        let agent = tx
            .agents(&[agent_id])
            .await?
            .pop()
            .ok_or(CannedError::NotFound(Resource::Agent(agent_id)))?;
        let values = TemplateValues {
            customer_name: customer.display_name.to_string(),
            agent_name: agent.display_name.to_string(),
            conversation,
        };
        Ok(reply.body.render(&values)?)
    }
}

/// Whether the caller may create or change replies in `scope`.
fn may_manage(ctx: &Context, scope: ReplyScope) -> Result<(), CannedError> {
    let allowed = match scope {
        ReplyScope::Public => ctx.actor.is_admin(),
        ReplyScope::Personal { owner } => ctx.actor.agent_id() == Some(owner),
    };
    if allowed {
        Ok(())
    } else {
        Err(CannedError::Forbidden)
    }
}

fn owner_of(scope: ReplyScope) -> Option<crate::ids::AgentId> {
    match scope {
        ReplyScope::Public => None,
        ReplyScope::Personal { owner } => Some(owner),
    }
}

async fn visible_replies(tx: &mut dyn Tx, ctx: &Context) -> Result<Vec<CannedReply>, CannedError> {
    match ctx.actor {
        Actor::Staff { id, .. } => Ok(canned::visible_to(tx.canned_replies(Some(id)).await?, id)),
        Actor::System => Ok(tx.canned_replies(None).await?),
        Actor::Customer { .. } => Err(CannedError::Forbidden),
    }
}

/// The reply, if the caller sees it (shadowed public replies stay reachable by id).
async fn visible_reply(
    tx: &mut dyn Tx,
    ctx: &Context,
    id: CannedReplyId,
) -> Result<CannedReply, CannedError> {
    let reply = tx.canned_reply(id).await?;
    let visible = reply.filter(|reply| match reply.scope {
        ReplyScope::Public => matches!(ctx.actor, Actor::Staff { .. } | Actor::System),
        ReplyScope::Personal { owner } => ctx.actor.agent_id() == Some(owner),
    });
    visible.ok_or(CannedError::NotFound(Resource::CannedReply(id)))
}
