//! Messages in a conversation, their order, and who has read what.
//!
//! The store numbers each conversation's messages 1, 2, 3, … in the same atomic step as the
//! insert: strictly increasing, without gaps, never reused. A client resumes after a reconnect
//! by asking for everything after the last number it saw. Private notes are numbered like the
//! rest but never shown to customers, so a customer's view skips their numbers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::conversation::{Conversation, ConversationRefusal};
use crate::ids::{AgentId, ConversationId, CustomerId, Seq};
use crate::staff::Actor;
use crate::text::{ClientMessageId, MessageBody};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Sender {
    /// The customer.
    Customer(CustomerId),
    /// A staff member.
    Agent(AgentId),
    /// Shiftdesk itself (assignments, transfers).
    System,
}

impl Sender {
    /// The sender's type as the API and exports spell it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Sender::Customer(_) => "customer",
            Sender::Agent(_) => "agent",
            Sender::System => "system",
        }
    }
}

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Said to the other side.
    Message,
    /// A private note among staff; customers never see it.
    Note,
    /// Written by Shiftdesk for everyone to see (an agent joined, and so on).
    System,
}

impl MessageKind {
    /// The kind's name as the API and the stores spell it.
    pub fn as_str(&self) -> &'static str {
        match self {
            MessageKind::Message => "message",
            MessageKind::Note => "note",
            MessageKind::System => "system",
        }
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The conversation.
    pub conversation: ConversationId,
    /// Its place in the conversation.
    pub seq: Seq,
    /// The sender's id for it, which makes a retried send idempotent.
    pub client_id: Option<ClientMessageId>,
    /// Who wrote it.
    pub sender: Sender,
    /// What it is.
    pub kind: MessageKind,
    /// The text.
    pub body: MessageBody,
    /// When the store accepted it.
    pub sent_at: DateTime<Utc>,
}

impl Message {
    /// Whether customers may see it.
    pub fn is_public(&self) -> bool {
        self.kind != MessageKind::Note
    }
}

/// A message to store; the store gives it its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    /// The conversation.
    pub conversation: ConversationId,
    /// The sender's id for it; a second message from the same sender with the same id in the
    /// same conversation is not stored again.
    pub client_id: Option<ClientMessageId>,
    /// Who wrote it.
    pub sender: Sender,
    /// What it is.
    pub kind: MessageKind,
    /// The text.
    pub body: MessageBody,
    /// When.
    pub sent_at: DateTime<Utc>,
}

/// The result of storing a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The stored message: the new one, or the one stored earlier under the same client id.
    pub message: Message,
    /// Whether the client id had been seen before, so nothing was stored this time.
    pub duplicate: bool,
    /// The conversation just before the message.
    pub before: Conversation,
    /// The conversation after the message.
    pub conversation: Conversation,
}

/// Someone with a read position in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Participant {
    /// The customer.
    Customer(CustomerId),
    /// A staff member.
    Agent(AgentId),
}

impl Participant {
    /// The sender this participant writes as.
    pub fn as_sender(&self) -> Sender {
        match *self {
            Participant::Customer(id) => Sender::Customer(id),
            Participant::Agent(id) => Sender::Agent(id),
        }
    }

    /// Whether they may see private notes.
    pub fn sees_notes(&self) -> bool {
        matches!(self, Participant::Agent(_))
    }
}

/// The sender a caller writes as in `conversation`, or why they may not write a `kind`.
///
/// Customers write messages in their own conversations; staff write messages and notes in the
/// conversations they hold, admins in any; nobody but Shiftdesk writes system messages.
/// Whether the caller may see the conversation at all is checked before.
pub fn sender_for(
    actor: &Actor,
    conversation: &Conversation,
    kind: MessageKind,
) -> Result<Sender, ConversationRefusal> {
    match (actor, kind) {
        (_, MessageKind::System) => Err(ConversationRefusal::SystemKind),
        (Actor::Customer { id }, MessageKind::Message) => Ok(Sender::Customer(*id)),
        (Actor::Customer { .. }, _) => Err(ConversationRefusal::CustomerKind),
        (Actor::Staff { id, .. }, _) if actor.is_admin() => Ok(Sender::Agent(*id)),
        (Actor::Staff { id, .. }, _) if conversation.assignee() == Some(*id) => {
            Ok(Sender::Agent(*id))
        }
        (Actor::Staff { .. }, _) => Err(ConversationRefusal::NotHolder),
        (Actor::System, _) => Ok(Sender::System),
    }
}

/// The read position after marking `seq` read: positions never move backwards, and never
/// past the last message.
pub fn advance_read(current: Option<Seq>, seq: Seq, last: Option<Seq>) -> Option<Seq> {
    let capped = last.map(|last| seq.min(last));
    match (current, capped) {
        (Some(current), Some(capped)) => Some(current.max(capped)),
        (current, capped) => current.or(capped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(n: u64) -> Seq {
        Seq::try_from(n).unwrap()
    }

    #[test]
    fn read_positions_never_move_backwards() {
        assert_eq!(
            advance_read(Some(seq(5)), seq(3), Some(seq(9))),
            Some(seq(5))
        );
        assert_eq!(
            advance_read(Some(seq(5)), seq(7), Some(seq(9))),
            Some(seq(7))
        );
        assert_eq!(advance_read(None, seq(2), Some(seq(9))), Some(seq(2)));
    }

    #[test]
    fn read_positions_stop_at_the_last_message() {
        assert_eq!(
            advance_read(Some(seq(5)), seq(70), Some(seq(9))),
            Some(seq(9))
        );
        assert_eq!(advance_read(None, seq(3), None), None);
    }

    #[test]
    fn sequence_numbers_start_at_one() {
        assert!(Seq::try_from(0).is_err());
        assert_eq!(Seq::after(None), Seq::FIRST);
        assert_eq!(Seq::after(Some(seq(41))), seq(42));
    }
}
