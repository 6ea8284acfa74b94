//! Transferring a conversation to another agent, with its context.
//!
//! The holder or an admin hands a conversation to an active agent other than the holder who
//! has room for it (an admin may force it past capacity). The new agent gets a private note
//! from Shiftdesk with the last messages and the mover's note, so they need not scroll back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::conversation::{Conversation, Transfer};
use crate::ids::{AgentId, ConversationId};
use crate::message::{Message, Sender};
use crate::staff::{Actor, Agent, Capacity};
use crate::text::{MessageBody, Note};
use crate::time::TimeZone;

/// How many of the latest messages the context note carries.
pub const CONTEXT_MESSAGES: usize = 10;

/// The most characters of one message the context note quotes.
const QUOTED_CHARS: usize = 500;

/// A request to hand a conversation to another agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    /// The conversation.
    pub conversation: ConversationId,
    /// The agent to take it.
    pub to: AgentId,
    /// A note for the new agent.
    pub note: Option<Note>,
    /// Admins only: hand it over even if the target is at capacity.
    pub force: bool,
}

/// Why a transfer was refused; nothing changed and no message was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferRefusal {
    /// Only the holder or an admin may transfer.
    #[error("only the agent holding the conversation or an admin may transfer it")]
    NotHolder,
    /// Only admins may force a transfer past capacity.
    #[error("only an admin may force a transfer")]
    ForceNeedsAdmin,
    /// Resolved conversations are not transferred.
    #[error("the conversation is resolved")]
    Resolved,
    /// The target does not exist or is deactivated.
    #[error("agent {target} cannot take conversations")]
    TargetUnavailable {
        /// The target.
        target: AgentId,
    },
    /// The target already holds it.
    #[error("agent {target} already holds the conversation")]
    TargetIsHolder {
        /// The target.
        target: AgentId,
    },
    /// The target holds as many conversations as they may.
    #[error("agent {target} holds {open} of {capacity} conversations")]
    TargetAtCapacity {
        /// The target.
        target: AgentId,
        /// What they hold.
        open: u32,
        /// What they may hold.
        capacity: u32,
    },
}

/// What the target's side looks like at the moment of the transfer.
#[derive(Debug, Clone, Copy)]
pub struct TransferTarget<'a> {
    /// The target's record, if they exist.
    pub agent: Option<&'a Agent>,
    /// Unresolved conversations they hold.
    pub open: u32,
    /// The team's default capacity.
    pub default_capacity: Capacity,
}

/// Decides a transfer: the conversation as it becomes and the record to keep, or why not.
pub fn transfer(
    actor: &Actor,
    conversation: &Conversation,
    request: &TransferRequest,
    target: TransferTarget<'_>,
    at: DateTime<Utc>,
) -> Result<(Conversation, Transfer), TransferRefusal> {
    let holder = conversation.assignee();
    let is_holder = holder.is_some() && actor.agent_id() == holder;
    if !actor.is_admin() && !is_holder {
        return Err(TransferRefusal::NotHolder);
    }
    if request.force && !actor.is_admin() {
        return Err(TransferRefusal::ForceNeedsAdmin);
    }
    if conversation.status.is_resolved() {
        return Err(TransferRefusal::Resolved);
    }
    let to = request.to;
    let Some(agent) = target.agent.filter(|agent| agent.active) else {
        return Err(TransferRefusal::TargetUnavailable { target: to });
    };
    if holder == Some(to) {
        return Err(TransferRefusal::TargetIsHolder { target: to });
    }
    let capacity = agent.capacity.unwrap_or(target.default_capacity).get();
    if target.open >= capacity && !request.force {
        return Err(TransferRefusal::TargetAtCapacity {
            target: to,
            open: target.open,
            capacity,
        });
    }

    let record = Transfer {
        conversation: conversation.id,
        from: holder,
        to,
        by: *actor,
        note: request.note.clone(),
        at,
    };
    Ok((conversation.assigned_to(to, at), record))
}

/// The private note the new agent finds: who moved it, the mover's note, and the last
/// messages as `[time][sender type][sender] text` lines, oldest first, times in the team's
/// zone. `name` says what to call each sender.
pub fn context_note(
    record: &Transfer,
    latest: &[Message],
    name: impl Fn(Sender) -> String,
    zone: TimeZone,
) -> MessageBody {
    let mut text = match record.from {
        Some(from) => format!(
            "Transferred from {} to {}.",
            name(Sender::Agent(from)),
            name(Sender::Agent(record.to))
        ),
        None => format!("Transferred to {}.", name(Sender::Agent(record.to))),
    };
    if let Some(note) = &record.note {
        text.push_str("\nNote: ");
        text.push_str(note.as_str());
    }
    let start = latest.len().saturating_sub(CONTEXT_MESSAGES);
    if latest.len() > start {
        text.push_str("\nLast messages:");
    }
    for message in &latest[start..] {
        let time = zone.local(message.sent_at).format("%Y-%m-%d %H:%M");
        let quoted: String = message
            .body
            .as_str()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(QUOTED_CHARS)
            .collect();
        let ellipsis = if message.body.as_str().chars().count() > QUOTED_CHARS {
            "…"
        } else {
            ""
        };
        let sender = message.sender;
        text.push_str(&format!(
            "\n[{time}][{}][{}] {quoted}{ellipsis}",
            sender.type_name(),
            name(sender)
        ));
    }
    MessageBody::composed(&text)
}
