//! Customers, conversations, messages, read positions and canned replies in memory.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shiftdesk_core::canned::{CannedReply, NewCannedReply, ReplyScope};
use shiftdesk_core::conversation::{
    Conversation, ConversationStatus, Customer, NewConversation, NewCustomer, Owner, Transfer,
};
use shiftdesk_core::ids::{AgentId, CannedReplyId, ConversationId, CustomerId, Seq};
use shiftdesk_core::message::{Appended, Message, NewMessage, Participant, Sender};
use shiftdesk_core::routing::AgentLoad;
use shiftdesk_core::search::{self, ConversationQuery, ConversationSummary, Page};
use shiftdesk_core::store::{Constraint, ConversationTx, StoreError};
use shiftdesk_core::text::{ClientMessageId, ExternalId};

use crate::MemoryTx;
use crate::state::Undo;

/// A stored message with its body folded once for search.
#[derive(Debug, Clone)]
struct Stored {
    message: Message,
    folded: String,
}

/// The conversation tables and their indexes.
#[derive(Debug, Default)]
pub(crate) struct Talk {
    customers: BTreeMap<CustomerId, Customer>,
    customer_by_external: HashMap<ExternalId, CustomerId>,
    conversations: BTreeMap<ConversationId, Conversation>,
    /// Waiting conversations by the time they joined the queue.
    queue: BTreeSet<(DateTime<Utc>, ConversationId)>,
    /// Unresolved conversations by holder.
    held: HashMap<AgentId, BTreeSet<ConversationId>>,
    /// When each agent last got a conversation.
    last_assigned: HashMap<AgentId, DateTime<Utc>>,
    /// Messages per conversation; message `seq` sits at index `seq - 1`.
    messages: HashMap<ConversationId, Vec<Stored>>,
    /// Client ids belong to their sender: another sender's equal id is another message.
    client_ids: HashMap<(ConversationId, Sender, ClientMessageId), Seq>,
    read_positions: HashMap<(ConversationId, Participant), Seq>,
    transfers: HashMap<ConversationId, Vec<Transfer>>,
    canned: BTreeMap<CannedReplyId, CannedReply>,
}

/// How to take back one write to the conversation tables.
#[derive(Debug)]
pub(crate) enum TalkUndo {
    Customer(CustomerId),
    Conversation(ConversationId, Option<Conversation>),
    LastAssigned(AgentId, Option<DateTime<Utc>>),
    /// Drop the conversation's newest message.
    Message(ConversationId),
    ReadPosition((ConversationId, Participant), Option<Seq>),
    Transfer(ConversationId),
    Canned(CannedReplyId, Option<CannedReply>),
}

impl Talk {
    pub(crate) fn revert(&mut self, undo: TalkUndo) {
        match undo {
            TalkUndo::Customer(id) => {
                if let Some(customer) = self.customers.remove(&id) {
                    self.customer_by_external.remove(&customer.external_id);
                }
            }
            TalkUndo::Conversation(id, before) => {
                self.put_conversation(id, before);
            }
            TalkUndo::LastAssigned(agent, before) => match before {
                Some(at) => {
                    self.last_assigned.insert(agent, at);
                }
                None => {
                    self.last_assigned.remove(&agent);
                }
            },
            TalkUndo::Message(conversation) => {
                let dropped = self.messages.get_mut(&conversation).and_then(Vec::pop);
                if let Some(message) = dropped.map(|stored| stored.message)
                    && let Some(client_id) = message.client_id
                {
                    self.client_ids
                        .remove(&(conversation, message.sender, client_id));
                }
            }
            TalkUndo::ReadPosition(key, before) => match before {
                Some(seq) => {
                    self.read_positions.insert(key, seq);
                }
                None => {
                    self.read_positions.remove(&key);
                }
            },
            TalkUndo::Transfer(conversation) => {
                self.transfers.get_mut(&conversation).and_then(Vec::pop);
            }
            TalkUndo::Canned(id, before) => match before {
                Some(reply) => {
                    self.canned.insert(id, reply);
                }
                None => {
                    self.canned.remove(&id);
                }
            },
        }
    }

    /// Writes or removes a conversation, keeping the queue and holder indexes in step.
    fn put_conversation(
        &mut self,
        id: ConversationId,
        conversation: Option<Conversation>,
    ) -> Option<Conversation> {
        let before = match conversation {
            Some(conversation) => self.conversations.insert(id, conversation),
            None => self.conversations.remove(&id),
        };
        if let Some(old) = &before {
            self.unindex(old);
        }
        if let Some(new) = self.conversations.get(&id).cloned() {
            self.index(&new);
        }
        before
    }

    fn index(&mut self, conversation: &Conversation) {
        match conversation.owner {
            Owner::Queued { since } if conversation.is_waiting() => {
                self.queue.insert((since, conversation.id));
            }
            Owner::Agent { agent, .. } if conversation.holds_capacity() => {
                self.held.entry(agent).or_default().insert(conversation.id);
            }
            _ => {}
        }
    }

    fn unindex(&mut self, conversation: &Conversation) {
        match conversation.owner {
            Owner::Queued { since } => {
                self.queue.remove(&(since, conversation.id));
            }
            Owner::Agent { agent, .. } => {
                if let Some(held) = self.held.get_mut(&agent) {
                    held.remove(&conversation.id);
                }
            }
        }
    }

    fn stored(&self, conversation: ConversationId) -> &[Stored] {
        self.messages.get(&conversation).map_or(&[], Vec::as_slice)
    }

    fn matches(&self, query: &ConversationQuery, conversation: &Conversation) -> bool {
        query.matches_fields(conversation)
            && (query.filter.text.is_none()
                || self
                    .stored(conversation.id)
                    .iter()
                    .any(|stored| query.matches_message(&stored.message, &stored.folded)))
    }

    fn preview(&self, conversation: ConversationId, notes: bool) -> Option<Message> {
        let stored = self.stored(conversation);
        let visible = stored
            .iter()
            .rev()
            .find(|stored| notes || stored.message.is_public());
        visible.map(|stored| stored.message.clone())
    }
}

fn reference() -> StoreError {
    StoreError::Constraint(Constraint::Reference)
}

impl MemoryTx {
    fn talk_undo(&mut self, undo: TalkUndo) {
        self.undo.push(Undo::Talk(undo));
    }

    fn set_conversation(&mut self, conversation: Conversation) {
        let id = conversation.id;
        if let Owner::Agent { agent, since } = conversation.owner {
            let before = self.state.talk.conversations.get(&id).map(|old| old.owner);
            if before != Some(conversation.owner) {
                let previous = self.state.talk.last_assigned.insert(agent, since);
                self.talk_undo(TalkUndo::LastAssigned(agent, previous));
            }
        }
        let before = self.state.talk.put_conversation(id, Some(conversation));
        self.talk_undo(TalkUndo::Conversation(id, before));
    }
}

#[async_trait]
impl ConversationTx for MemoryTx {
    async fn lock_conversation(&mut self, _id: ConversationId) -> Result<(), StoreError> {
        // The transaction already holds the whole state.
        Ok(())
    }

    async fn customer(&mut self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        Ok(self.state.talk.customers.get(&id).cloned())
    }

    async fn customers(&mut self, ids: &[CustomerId]) -> Result<Vec<Customer>, StoreError> {
        let ids: BTreeSet<&CustomerId> = ids.iter().collect();
        Ok(ids
            .into_iter()
            .filter_map(|id| self.state.talk.customers.get(id).cloned())
            .collect())
    }

    async fn customer_by_external_id(
        &mut self,
        external_id: &ExternalId,
    ) -> Result<Option<Customer>, StoreError> {
        let talk = &self.state.talk;
        let found = talk.customer_by_external.get(external_id);
        Ok(found.and_then(|id| talk.customers.get(id)).cloned())
    }

    async fn insert_customer(&mut self, customer: &NewCustomer) -> Result<Customer, StoreError> {
        if self
            .state
            .talk
            .customer_by_external
            .contains_key(&customer.external_id)
        {
            return Err(StoreError::Constraint(Constraint::UniqueExternalId));
        }
        let created = Customer {
            id: self.state.next_customer_id()?,
            external_id: customer.external_id.clone(),
            display_name: customer.display_name.clone(),
        };
        let talk = &mut self.state.talk;
        talk.customer_by_external
            .insert(created.external_id.clone(), created.id);
        talk.customers.insert(created.id, created.clone());
        self.talk_undo(TalkUndo::Customer(created.id));
        Ok(created)
    }

    async fn conversation(
        &mut self,
        id: ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(self.state.talk.conversations.get(&id).cloned())
    }

    async fn insert_conversation(
        &mut self,
        conversation: &NewConversation,
    ) -> Result<Conversation, StoreError> {
        if !self
            .state
            .talk
            .customers
            .contains_key(&conversation.customer)
        {
            return Err(reference());
        }
        let created = Conversation {
            id: self.state.next_conversation_id()?,
            customer: conversation.customer,
            topic: conversation.topic.clone(),
            status: ConversationStatus::Open,
            owner: Owner::Queued {
                since: conversation.created_at,
            },
            handled_by: BTreeSet::new(),
            created_at: conversation.created_at,
            last_activity_at: conversation.created_at,
            last_seq: None,
        };
        self.set_conversation(created.clone());
        Ok(created)
    }

    async fn update_conversation(&mut self, conversation: &Conversation) -> Result<(), StoreError> {
        let Some(stored) = self.state.talk.conversations.get(&conversation.id) else {
            return Err(reference());
        };
        if let Owner::Agent { agent, .. } = conversation.owner
            && !self.state.agents.contains_key(&agent)
        {
            return Err(reference());
        }
        // Only status, topic, owner and handlers change here; the message counters belong to
        // `append_message`.
        let updated = Conversation {
            last_seq: stored.last_seq,
            last_activity_at: stored.last_activity_at,
            ..conversation.clone()
        };
        self.set_conversation(updated);
        Ok(())
    }

    async fn waiting_conversations(
        &mut self,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let talk = &self.state.talk;
        Ok(talk
            .queue
            .iter()
            .take(limit)
            .filter_map(|(_, id)| talk.conversations.get(id).cloned())
            .collect())
    }

    async fn snoozes_due(&mut self, now: DateTime<Utc>) -> Result<Vec<Conversation>, StoreError> {
        let due = |conversation: &&Conversation| matches!(conversation.status, ConversationStatus::Snoozed { until } if until <= now);
        Ok(self
            .state
            .talk
            .conversations
            .values()
            .filter(due)
            .cloned()
            .collect())
    }

    async fn held_by(&mut self, agent: AgentId) -> Result<Vec<Conversation>, StoreError> {
        let talk = &self.state.talk;
        let held = talk.held.get(&agent).into_iter().flatten();
        Ok(held
            .filter_map(|id| talk.conversations.get(id).cloned())
            .collect())
    }

    async fn conversations(
        &mut self,
        query: &ConversationQuery,
        page: &Page,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let talk = &self.state.talk;
        let candidates = match page.before {
            Some(before) => talk.conversations.range(..before),
            None => talk.conversations.range(..),
        };
        let notes = query.scope.sees_notes();
        Ok(candidates
            .rev()
            .map(|(_, conversation)| conversation)
            .filter(|conversation| talk.matches(query, conversation))
            .take(page.limit)
            .map(|conversation| ConversationSummary {
                conversation: conversation.clone(),
                preview: talk.preview(conversation.id, notes),
            })
            .collect())
    }

    async fn count_conversations(&mut self, query: &ConversationQuery) -> Result<u64, StoreError> {
        let talk = &self.state.talk;
        let count = talk
            .conversations
            .values()
            .filter(|c| talk.matches(query, c))
            .count();
        Ok(count as u64)
    }

    async fn agent_loads(&mut self, agents: &[AgentId]) -> Result<Vec<AgentLoad>, StoreError> {
        let talk = &self.state.talk;
        let agents: BTreeSet<&AgentId> = agents.iter().collect();
        Ok(agents
            .into_iter()
            .map(|&agent| AgentLoad {
                agent,
                open: talk.held.get(&agent).map_or(0, |held| held.len() as u32),
                last_assigned_at: talk.last_assigned.get(&agent).copied(),
            })
            .collect())
    }

    async fn agents_on_shift(&mut self, at: DateTime<Utc>) -> Result<Vec<AgentId>, StoreError> {
        Ok(self.state.agents_on_shift(at))
    }

    async fn insert_transfer(&mut self, transfer: &Transfer) -> Result<(), StoreError> {
        if !self
            .state
            .talk
            .conversations
            .contains_key(&transfer.conversation)
        {
            return Err(reference());
        }
        let transfers = self
            .state
            .talk
            .transfers
            .entry(transfer.conversation)
            .or_default();
        transfers.push(transfer.clone());
        self.talk_undo(TalkUndo::Transfer(transfer.conversation));
        Ok(())
    }

    async fn transfers(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Vec<Transfer>, StoreError> {
        Ok(self
            .state
            .talk
            .transfers
            .get(&conversation)
            .cloned()
            .unwrap_or_default())
    }

    async fn append_message(&mut self, message: &NewMessage) -> Result<Appended, StoreError> {
        let id = message.conversation;
        let Some(conversation) = self.state.talk.conversations.get(&id).cloned() else {
            return Err(reference());
        };
        let client_key = message
            .client_id
            .clone()
            .map(|client_id| (id, message.sender, client_id));
        if let Some(key) = &client_key
            && let Some(seq) = self.state.talk.client_ids.get(key)
        {
            let index = usize::try_from(seq.get() - 1).unwrap_or(usize::MAX);
            let stored = self.state.talk.stored(id).get(index).ok_or_else(|| {
                StoreError::Corrupt(format!("message {seq} of conversation {id} is missing"))
            })?;
            let message = stored.message.clone();
            return Ok(Appended {
                message,
                duplicate: true,
                before: conversation.clone(),
                conversation,
            });
        }

        let seq = Seq::after(conversation.last_seq);
        let stored = Message {
            conversation: id,
            seq,
            client_id: message.client_id.clone(),
            sender: message.sender,
            kind: message.kind,
            body: message.body.clone(),
            sent_at: message.sent_at,
        };
        let talk = &mut self.state.talk;
        if let Some(key) = client_key {
            talk.client_ids.insert(key, seq);
        }
        let folded = search::fold(stored.body.as_str());
        talk.messages.entry(id).or_default().push(Stored {
            message: stored.clone(),
            folded,
        });
        self.talk_undo(TalkUndo::Message(id));

        let after = Conversation {
            last_seq: Some(seq),
            last_activity_at: message.sent_at,
            ..conversation.clone()
        };
        self.set_conversation(after.clone());
        Ok(Appended {
            message: stored,
            duplicate: false,
            before: conversation,
            conversation: after,
        })
    }

    async fn messages_after(
        &mut self,
        conversation: ConversationId,
        after: Option<Seq>,
        limit: usize,
        notes: bool,
    ) -> Result<Vec<Message>, StoreError> {
        let start = after.map_or(0, |seq| usize::try_from(seq.get()).unwrap_or(usize::MAX));
        let stored = self.state.talk.stored(conversation);
        Ok(stored
            .iter()
            .skip(start)
            .filter(|stored| notes || stored.message.is_public())
            .take(limit)
            .map(|stored| stored.message.clone())
            .collect())
    }

    async fn messages_before(
        &mut self,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: usize,
        notes: bool,
    ) -> Result<Vec<Message>, StoreError> {
        let stored = self.state.talk.stored(conversation);
        let end = before.map_or(stored.len(), |seq| {
            usize::try_from(seq.get() - 1)
                .unwrap_or(usize::MAX)
                .min(stored.len())
        });
        let mut page: Vec<Message> = stored[..end]
            .iter()
            .rev()
            .filter(|stored| notes || stored.message.is_public())
            .take(limit)
            .map(|stored| stored.message.clone())
            .collect();
        page.reverse();
        Ok(page)
    }

    async fn count_after(
        &mut self,
        conversation: ConversationId,
        after: Option<Seq>,
        reader: Participant,
        notes: bool,
    ) -> Result<u64, StoreError> {
        let start = after.map_or(0, |seq| usize::try_from(seq.get()).unwrap_or(usize::MAX));
        let own = reader.as_sender();
        let stored = self.state.talk.stored(conversation);
        let unread = stored
            .iter()
            .skip(start)
            .filter(|stored| stored.message.sender != own && (notes || stored.message.is_public()))
            .count();
        Ok(unread as u64)
    }

    async fn read_position(
        &mut self,
        conversation: ConversationId,
        participant: Participant,
    ) -> Result<Option<Seq>, StoreError> {
        Ok(self
            .state
            .talk
            .read_positions
            .get(&(conversation, participant))
            .copied())
    }

    async fn set_read_position(
        &mut self,
        conversation: ConversationId,
        participant: Participant,
        seq: Seq,
    ) -> Result<(), StoreError> {
        if !self.state.talk.conversations.contains_key(&conversation) {
            return Err(reference());
        }
        let key = (conversation, participant);
        let before = self.state.talk.read_positions.insert(key, seq);
        self.talk_undo(TalkUndo::ReadPosition(key, before));
        Ok(())
    }

    async fn canned_replies(
        &mut self,
        owner: Option<AgentId>,
    ) -> Result<Vec<CannedReply>, StoreError> {
        let wanted = |reply: &&CannedReply| match reply.scope {
            ReplyScope::Public => true,
            ReplyScope::Personal { owner: of } => owner == Some(of),
        };
        Ok(self
            .state
            .talk
            .canned
            .values()
            .filter(wanted)
            .cloned()
            .collect())
    }

    async fn canned_reply(&mut self, id: CannedReplyId) -> Result<Option<CannedReply>, StoreError> {
        Ok(self.state.talk.canned.get(&id).cloned())
    }

    async fn insert_canned_reply(
        &mut self,
        reply: &NewCannedReply,
    ) -> Result<CannedReply, StoreError> {
        let taken = self
            .state
            .talk
            .canned
            .values()
            .any(|other| other.scope == reply.scope && other.shortcode == reply.shortcode);
        if taken {
            return Err(StoreError::Constraint(Constraint::UniqueShortcode));
        }
        let created = CannedReply {
            id: self.state.next_canned_reply_id()?,
            scope: reply.scope,
            shortcode: reply.shortcode.clone(),
            title: reply.title.clone(),
            category: reply.category.clone(),
            body: reply.body.clone(),
        };
        self.state.talk.canned.insert(created.id, created.clone());
        self.talk_undo(TalkUndo::Canned(created.id, None));
        Ok(created)
    }

    async fn update_canned_reply(&mut self, reply: &CannedReply) -> Result<(), StoreError> {
        let taken = self.state.talk.canned.values().any(|other| {
            other.id != reply.id && other.scope == reply.scope && other.shortcode == reply.shortcode
        });
        if taken {
            return Err(StoreError::Constraint(Constraint::UniqueShortcode));
        }
        let Some(stored) = self.state.talk.canned.get_mut(&reply.id) else {
            return Err(reference());
        };
        let before = std::mem::replace(stored, reply.clone());
        self.talk_undo(TalkUndo::Canned(reply.id, Some(before)));
        Ok(())
    }

    async fn delete_canned_reply(&mut self, id: CannedReplyId) -> Result<(), StoreError> {
        if let Some(before) = self.state.talk.canned.remove(&id) {
            self.talk_undo(TalkUndo::Canned(id, Some(before)));
        }
        Ok(())
    }
}
