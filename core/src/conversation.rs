//! Customers, conversations and the states a conversation goes through.
//!
//! ```text
//!            ┌── mark pending ──▶ pending ──┐
//! open ◀─────┤                              ├── resolve ──▶ resolved
//!            └── snooze ──▶ snoozed(until) ─┘                  │
//!   ▲                                                           │
//!   └─────── reopen (staff) or a customer's new message ◀───────┘
//! ```
//!
//! A conversation is either waiting in the queue or owned by an agent. A customer's message on
//! a resolved conversation reopens it and puts it back in the queue, so routing finds an agent
//! on shift now instead of the one who last had it; on a snoozed or pending one it just wakes
//! it up for its owner.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ConversationId, CustomerId, Seq};
use crate::staff::Actor;
use crate::text::{DisplayName, ExternalId, Note, Topic};

/// A customer of the ticketing platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// Assigned by the store.
    pub id: CustomerId,
    /// The platform's id for them; unique.
    pub external_id: ExternalId,
    /// What agents see.
    pub display_name: DisplayName,
}

/// A customer to record the first time they write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCustomer {
    /// The platform's id for them.
    pub external_id: ExternalId,
    /// What agents see.
    pub display_name: DisplayName,
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Someone on the team should act.
    Open,
    /// Waiting on the customer.
    Pending,
    /// Put aside until a time, or until the customer writes.
    Snoozed {
        /// When it wakes up by itself.
        until: DateTime<Utc>,
    },
    /// Done, until the customer writes again.
    Resolved {
        /// When it was resolved.
        at: DateTime<Utc>,
    },
}

impl ConversationStatus {
    /// The state without its data, for filters.
    pub fn kind(&self) -> StatusKind {
        match self {
            ConversationStatus::Open => StatusKind::Open,
            ConversationStatus::Pending => StatusKind::Pending,
            ConversationStatus::Snoozed { .. } => StatusKind::Snoozed,
            ConversationStatus::Resolved { .. } => StatusKind::Resolved,
        }
    }

    /// Whether the conversation is done.
    pub fn is_resolved(&self) -> bool {
        matches!(self, ConversationStatus::Resolved { .. })
    }
}

/// The states of a conversation, without their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// Someone should act.
    Open,
    /// Waiting on the customer.
    Pending,
    /// Put aside.
    Snoozed,
    /// Done.
    Resolved,
}

impl StatusKind {
    /// The name as the API and the stores spell it.
    pub fn as_str(&self) -> &'static str {
        match self {
            StatusKind::Open => "open",
            StatusKind::Pending => "pending",
            StatusKind::Snoozed => "snoozed",
            StatusKind::Resolved => "resolved",
        }
    }
}

impl fmt::Display for StatusKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who holds a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Owner {
    /// Nobody: it waits for routing.
    Queued {
        /// When it joined the queue; the queue drains oldest first.
        since: DateTime<Utc>,
    },
    /// An agent.
    Agent {
        /// The agent.
        agent: AgentId,
        /// When they got it.
        since: DateTime<Utc>,
    },
}

/// A conversation between a customer and the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Assigned by the store.
    pub id: ConversationId,
    /// The customer.
    pub customer: CustomerId,
    /// What it is about, if known.
    pub topic: Option<Topic>,
    /// Where it stands.
    pub status: ConversationStatus,
    /// Who holds it.
    pub owner: Owner,
    /// Every agent it has ever been assigned to, the current one included. An agent may read
    /// the conversations they hold or held.
    pub handled_by: BTreeSet<AgentId>,
    /// When the customer opened it.
    pub created_at: DateTime<Utc>,
    /// When the last message was written.
    pub last_activity_at: DateTime<Utc>,
    /// The sequence number of the last message, if any.
    pub last_seq: Option<Seq>,
}

impl Conversation {
    /// The agent holding it, if any.
    pub fn assignee(&self) -> Option<AgentId> {
        match self.owner {
            Owner::Agent { agent, .. } => Some(agent),
            Owner::Queued { .. } => None,
        }
    }

    /// Whether it waits in the queue for an agent: unowned, not resolved and not snoozed.
    /// A snoozed conversation waits for its wake-up first, then for an agent.
    pub fn is_waiting(&self) -> bool {
        let parked = matches!(
            self.status,
            ConversationStatus::Resolved { .. } | ConversationStatus::Snoozed { .. }
        );
        matches!(self.owner, Owner::Queued { .. }) && !parked
    }

    /// Whether it counts against its agent's capacity: owned and not resolved.
    pub fn holds_capacity(&self) -> bool {
        matches!(self.owner, Owner::Agent { .. }) && !self.status.is_resolved()
    }

    /// The conversation given to `agent` at `at`.
    pub fn assigned_to(&self, agent: AgentId, at: DateTime<Utc>) -> Conversation {
        let mut handled_by = self.handled_by.clone();
        handled_by.insert(agent);
        Conversation {
            owner: Owner::Agent { agent, since: at },
            handled_by,
            ..self.clone()
        }
    }

    /// The conversation put back in the queue at `at`.
    pub fn queued(&self, at: DateTime<Utc>) -> Conversation {
        Conversation {
            owner: Owner::Queued { since: at },
            ..self.clone()
        }
    }
}

/// A conversation to open; it starts open and queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewConversation {
    /// The customer.
    pub customer: CustomerId,
    /// What it is about, if known.
    pub topic: Option<Topic>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// One hand-over of a conversation from one agent (or the queue) to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// The conversation.
    pub conversation: ConversationId,
    /// Who had it; `None` if it was waiting in the queue.
    pub from: Option<AgentId>,
    /// Who has it now.
    pub to: AgentId,
    /// Who moved it.
    pub by: Actor,
    /// What the mover wrote for the new agent.
    pub note: Option<Note>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A change of status asked for by staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StatusAction {
    /// Waiting on the customer.
    MarkPending,
    /// Back to open from pending or snoozed.
    MarkOpen,
    /// Put aside until a time.
    Snooze {
        /// When it wakes up; must be in the future.
        until: DateTime<Utc>,
    },
    /// Done.
    Resolve,
    /// Not done after all: back to open, and back to the queue for routing.
    Reopen,
}

impl fmt::Display for StatusAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StatusAction::MarkPending => "mark pending",
            StatusAction::MarkOpen => "mark open",
            StatusAction::Snooze { .. } => "snooze",
            StatusAction::Resolve => "resolve",
            StatusAction::Reopen => "reopen",
        })
    }
}

/// Why a conversation operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversationRefusal {
    /// The action does not apply in the conversation's state.
    #[error("cannot {action} a conversation that is {from}")]
    InvalidTransition {
        /// Where it stands.
        from: StatusKind,
        /// What was attempted.
        action: StatusAction,
    },
    /// A snooze must end in the future.
    #[error("a snooze must end in the future")]
    SnoozeInPast,
    /// Only the agent holding the conversation, or an admin, may write in it or change it.
    #[error("only the agent holding the conversation or an admin may do this")]
    NotHolder,
    /// Customers write messages only, not notes or system messages.
    #[error("customers may only send messages")]
    CustomerKind,
    /// Staff may not write system messages.
    #[error("system messages are written by Shiftdesk only")]
    SystemKind,
    /// Someone else took the conversation first.
    #[error("the conversation is already held by agent {holder}")]
    AlreadyTaken {
        /// Who holds it.
        holder: AgentId,
    },
    /// The conversation is resolved; reopen it first.
    #[error("the conversation is resolved")]
    Resolved,
    /// The agent holds as many conversations as they may.
    #[error("agent {agent} holds {open} of {capacity} conversations")]
    AtCapacity {
        /// The agent.
        agent: AgentId,
        /// What they hold.
        open: u32,
        /// What they may hold.
        capacity: u32,
    },
    /// The conversation is not the caller's to see. The service reports it as "not found", so
    /// nobody learns that it exists.
    #[error("the conversation does not exist")]
    NotVisible,
    /// Only active staff take conversations.
    #[error("agent {agent} is not active")]
    InactiveAgent {
        /// The agent.
        agent: AgentId,
    },
}

/// The conversation after a staff member's status change, or why it is refused.
pub fn change_status(
    conversation: &Conversation,
    action: StatusAction,
    now: DateTime<Utc>,
) -> Result<Conversation, ConversationRefusal> {
    use ConversationStatus as S;
    let refused = ConversationRefusal::InvalidTransition {
        from: conversation.status.kind(),
        action,
    };
    let next = match (conversation.status, action) {
        (S::Open, StatusAction::MarkPending) => S::Pending,
        (S::Pending | S::Snoozed { .. }, StatusAction::MarkOpen) => S::Open,
        (S::Open | S::Pending | S::Snoozed { .. }, StatusAction::Snooze { until }) => {
            if until <= now {
                return Err(ConversationRefusal::SnoozeInPast);
            }
            S::Snoozed { until }
        }
        (S::Open | S::Pending | S::Snoozed { .. }, StatusAction::Resolve) => {
            S::Resolved { at: now }
        }
        (S::Resolved { .. }, StatusAction::Reopen) => {
            return Ok(Conversation {
                status: S::Open,
                ..conversation.queued(now)
            });
        }
        _ => return Err(refused),
    };
    Ok(Conversation {
        status: next,
        ..conversation.clone()
    })
}

/// What a customer's new message does to its conversation: a resolved one reopens and goes
/// back to the queue; a snoozed or pending one becomes open for its owner; an open one stays.
pub fn after_customer_message(
    conversation: &Conversation,
    at: DateTime<Utc>,
) -> Option<Conversation> {
    match conversation.status {
        ConversationStatus::Open => None,
        ConversationStatus::Pending | ConversationStatus::Snoozed { .. } => Some(Conversation {
            status: ConversationStatus::Open,
            ..conversation.clone()
        }),
        ConversationStatus::Resolved { .. } => Some(Conversation {
            status: ConversationStatus::Open,
            ..conversation.queued(at)
        }),
    }
}

/// The conversation woken up, if its snooze has ended by `now`.
pub fn wake_if_due(conversation: &Conversation, now: DateTime<Utc>) -> Option<Conversation> {
    match conversation.status {
        ConversationStatus::Snoozed { until } if until <= now => Some(Conversation {
            status: ConversationStatus::Open,
            ..conversation.clone()
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2027-01-04T{hour:02}:00:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn held(status: ConversationStatus) -> Conversation {
        let agent = AgentId::try_from(7).unwrap();
        Conversation {
            id: ConversationId::try_from(1).unwrap(),
            customer: CustomerId::try_from(1).unwrap(),
            topic: None,
            status,
            owner: Owner::Agent {
                agent,
                since: at(8),
            },
            handled_by: BTreeSet::from([agent]),
            created_at: at(8),
            last_activity_at: at(8),
            last_seq: None,
        }
    }

    #[test]
    fn a_customer_message_on_a_resolved_conversation_requeues_it() {
        let resolved = held(ConversationStatus::Resolved { at: at(9) });
        let reopened = after_customer_message(&resolved, at(10)).unwrap();
        assert_eq!(reopened.status, ConversationStatus::Open);
        assert_eq!(reopened.owner, Owner::Queued { since: at(10) });
        assert!(reopened.handled_by.contains(&AgentId::try_from(7).unwrap()));
    }

    #[test]
    fn a_customer_message_wakes_a_snoozed_conversation_for_its_owner() {
        let snoozed = held(ConversationStatus::Snoozed { until: at(20) });
        let woken = after_customer_message(&snoozed, at(10)).unwrap();
        assert_eq!(woken.status, ConversationStatus::Open);
        assert_eq!(woken.owner, snoozed.owner);
        assert_eq!(
            after_customer_message(&held(ConversationStatus::Open), at(10)),
            None
        );
    }

    #[test]
    fn a_snooze_must_end_in_the_future() {
        let open = held(ConversationStatus::Open);
        let refused = change_status(&open, StatusAction::Snooze { until: at(9) }, at(10));
        assert_eq!(refused, Err(ConversationRefusal::SnoozeInPast));
        let snoozed = change_status(&open, StatusAction::Snooze { until: at(11) }, at(10));
        assert_eq!(
            snoozed.unwrap().status,
            ConversationStatus::Snoozed { until: at(11) }
        );
    }

    #[test]
    fn only_resolved_conversations_reopen() {
        let open = held(ConversationStatus::Open);
        assert!(matches!(
            change_status(&open, StatusAction::Reopen, at(10)),
            Err(ConversationRefusal::InvalidTransition {
                from: StatusKind::Open,
                ..
            })
        ));
    }

    #[test]
    fn a_snooze_wakes_when_due() {
        let snoozed = held(ConversationStatus::Snoozed { until: at(11) });
        assert_eq!(wake_if_due(&snoozed, at(10)), None);
        assert_eq!(
            wake_if_due(&snoozed, at(11)).unwrap().status,
            ConversationStatus::Open
        );
    }
}
