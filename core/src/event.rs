//! Domain events and the notifier that carries them to whoever listens.
//!
//! The service publishes events only after the change they announce has committed, so a
//! listener never hears of something it cannot then read.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::conversation::ConversationStatus;
use crate::ids::{AgentId, ConversationId, CustomerId, LeaveId, Seq, SwapId};
use crate::leave::LeaveState;
use crate::message::{Message, Participant};
use crate::swap::SwapState;
use crate::time::DateRange;

/// Something that happened and that staff may want to hear about at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    /// Entries of these agents on these dates were created, moved, removed or changed status.
    ScheduleChanged {
        /// Whose schedule changed.
        agents: Vec<AgentId>,
        /// The dates touched.
        dates: DateRange,
    },
    /// An agent asked for leave.
    LeaveRequested {
        /// The request.
        leave: LeaveId,
        /// Who asked.
        agent: AgentId,
    },
    /// A leave request changed state.
    LeaveDecided {
        /// The request.
        leave: LeaveId,
        /// Whose leave it is.
        agent: AgentId,
        /// Its new state.
        state: LeaveState,
    },
    /// An agent asked a colleague to take a shift.
    SwapRequested {
        /// The request.
        swap: SwapId,
        /// Who asked.
        requester: AgentId,
        /// Who is asked.
        target: AgentId,
    },
    /// A swap request changed state.
    SwapDecided {
        /// The request.
        swap: SwapId,
        /// Who asked.
        requester: AgentId,
        /// Who was asked.
        target: AgentId,
        /// Its new state.
        state: SwapState,
    },
    /// A message was stored.
    MessagePosted {
        /// The message, with its sequence number.
        message: Message,
        /// The conversation's customer.
        customer: CustomerId,
        /// The agent holding the conversation, if any.
        assignee: Option<AgentId>,
    },
    /// Routing or an agent gave a waiting conversation to an agent.
    ConversationAssigned {
        /// The conversation.
        conversation: ConversationId,
        /// Its customer.
        customer: CustomerId,
        /// The agent who has it now.
        agent: AgentId,
    },
    /// A conversation moved from one agent to another.
    ConversationTransferred {
        /// The conversation.
        conversation: ConversationId,
        /// Its customer.
        customer: CustomerId,
        /// Who had it.
        from: Option<AgentId>,
        /// Who has it now.
        to: AgentId,
    },
    /// A conversation went back to the queue.
    ConversationQueued {
        /// The conversation.
        conversation: ConversationId,
        /// Its customer.
        customer: CustomerId,
        /// Who had it.
        from: Option<AgentId>,
    },
    /// A conversation changed state.
    ConversationStatusChanged {
        /// The conversation.
        conversation: ConversationId,
        /// Its customer.
        customer: CustomerId,
        /// Who holds it.
        assignee: Option<AgentId>,
        /// The new state.
        status: ConversationStatus,
    },
    /// Every session of a staff member ended: they logged out everywhere, their password,
    /// role or activity changed. Their live connections must end too.
    SessionsEnded {
        /// Whose sessions.
        agent: AgentId,
    },
    /// Someone read a conversation up to a message.
    ReadPositionMoved {
        /// The conversation.
        conversation: ConversationId,
        /// Its customer.
        customer: CustomerId,
        /// Who holds it.
        assignee: Option<AgentId>,
        /// Who read.
        participant: Participant,
        /// The last message they have read.
        seq: Seq,
    },
}

/// Carries domain events to listeners (the WebSocket hub, a test recorder).
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Delivers `event`. It must not block for long: the caller has already committed and is
    /// waiting to answer its own request.
    async fn publish(&self, event: DomainEvent);
}

/// A notifier that drops every event, for tools that have no listeners.
#[derive(Debug, Clone, Copy, Default)]
pub struct SilentNotifier;

#[async_trait]
impl Notifier for SilentNotifier {
    async fn publish(&self, _event: DomainEvent) {}
}

/// A notifier that keeps every event, for tests.
#[derive(Debug, Default)]
pub struct RecordingNotifier(std::sync::Mutex<Vec<DomainEvent>>);

impl RecordingNotifier {
    /// Every event published so far, oldest first.
    pub fn events(&self) -> Vec<DomainEvent> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn publish(&self, event: DomainEvent) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(event);
    }
}
