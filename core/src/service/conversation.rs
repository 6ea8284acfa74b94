//! Conversations: opening, messages, read positions, status, transfer, search and export.

use async_trait::async_trait;

use crate::conversation::{
    self, Conversation, ConversationRefusal, ConversationStatus, Customer, NewConversation,
    NewCustomer, StatusAction, Transfer,
};

use crate::audit::{AuditAction, Snapshot, Subject};
use crate::error::{ConversationError, Resource};
use crate::event::DomainEvent;
use crate::ids::{ConversationId, Seq};
use crate::input::Problem;
use crate::message::{self, Appended, Message, MessageKind, NewMessage, Participant, Sender};
use crate::search::{
    self, ConversationFilter, ConversationQuery, ConversationSummary, ExportFormat, MAX_PAGE, Page,
    Scope,
};
use crate::staff::{Actor, Context};
use crate::store::{BoxError, Constraint, MessageRule, StoreError, Tx};
use crate::text::{ClientMessageId, MessageBody, Topic};
use crate::transfer::{self, CONTEXT_MESSAGES, TransferRequest, TransferTarget};

use super::Service;

/// The most messages one read returns.
pub const MAX_MESSAGES: usize = 500;

/// How many conversations an export reads from the store at a time.
const EXPORT_PAGE: usize = 100;

/// A message a caller writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The caller's id for it; a retry with the same id is stored once.
    pub client_id: Option<ClientMessageId>,
    /// A message or, for staff, a private note.
    pub kind: MessageKind,
    /// The text.
    pub body: MessageBody,
}

/// What opening a conversation gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The conversation.
    pub conversation: Conversation,
    /// Whether it was opened now, rather than by an earlier try of the same request.
    pub new: bool,
}

/// A conversation as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationDetail {
    /// The conversation.
    pub conversation: Conversation,
    /// Its customer.
    pub customer: Customer,
    /// Its transfers, oldest first.
    pub transfers: Vec<Transfer>,
}

/// Where an export goes, a chunk at a time, so the export never holds the whole result.
#[async_trait]
pub trait ExportSink: Send {
    /// Writes the next chunk.
    async fn write(&mut self, chunk: String) -> Result<(), BoxError>;
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Conversations written.
    pub conversations: u64,
    /// Messages written.
    pub messages: u64,
}

impl Service {
    /// Finds the customer with this external id, or records them. Admins and Shiftdesk
    /// itself (the platform's sign-in exchange) only.
    pub async fn register_customer(
        &self,
        ctx: &Context,
        customer: NewCustomer,
    ) -> Result<Customer, ConversationError> {
        if !ctx.actor.is_admin() {
            return Err(ConversationError::Forbidden);
        }
        let mut tx = self.begin().await?;
        if let Some(known) = tx.customer_by_external_id(&customer.external_id).await? {
            return Ok(known);
        }
        let created = match tx.insert_customer(&customer).await {
            Ok(created) => created,
            // A concurrent call registered them since the read above: theirs is the one.
            Err(StoreError::Constraint(Constraint::UniqueExternalId)) => {
                drop(tx);
                let mut tx = self.read().await?;
                let known = tx.customer_by_external_id(&customer.external_id).await?;
                return known.ok_or(StoreError::Constraint(Constraint::UniqueExternalId).into());
            }
            Err(error) => return Err(error.into()),
        };
        tx.commit().await?;
        Ok(created)
    }

    /// A customer opens a conversation, optionally with a first message; it joins the queue
    /// and is routed at once. See [`Service::open`].
    pub async fn open_conversation(
        &self,
        ctx: &Context,
        topic: Option<Topic>,
        first: Option<Outgoing>,
    ) -> Result<Conversation, ConversationError> {
        Ok(self.open(ctx, topic, first).await?.conversation)
    }

    /// A customer opens a conversation, optionally with a first message; it joins the queue
    /// and is routed at once. A retry whose first message has the client id of the first
    /// message of one of the customer's latest conversations answers that conversation
    /// instead of opening another (`new` is false then).
    ///
    /// Known limit: two retries racing each other, neither seeing the other's conversation
    /// yet, still open two; clients retry one request at a time.
    pub async fn open(
        &self,
        ctx: &Context,
        topic: Option<Topic>,
        first: Option<Outgoing>,
    ) -> Result<Opened, ConversationError> {
        let Actor::Customer { id: customer } = ctx.actor else {
            return Err(ConversationError::Forbidden);
        };
        let mut tx = self.begin().await?;
        if tx.customer(customer).await?.is_none() {
            return Err(ConversationError::NotFound(Resource::Customer(customer)));
        }
        let retried = first.as_ref().and_then(|first| first.client_id.as_ref());
        if let Some(client_id) = retried
            && let Some(earlier) = opened_with(tx.as_mut(), ctx, client_id).await?
        {
            return Ok(Opened {
                conversation: earlier,
                new: false,
            });
        }
        let new = NewConversation {
            customer,
            topic,
            created_at: self.now(),
        };
        let mut opened = tx.insert_conversation(&new).await?;
        if let Some(first) = &first {
            // Refused before the commit, so a refused first message leaves no conversation.
            message::sender_for(&ctx.actor, &opened, first.kind)?;
        }
        tx.commit().await?;

        self.publish([DomainEvent::ConversationQueued {
            conversation: opened.id,
            customer: opened.customer,
            from: None,
        }])
        .await;
        if let Some(first) = first {
            opened = self.send(ctx, opened.id, first).await?.conversation;
        }
        self.route(opened.id).await?;
        Ok(Opened {
            conversation: self.visible(ctx, opened.id).await?,
            new: true,
        })
    }

    /// Writes a message. It is stored with its sequence number before anyone hears of it; a
    /// retry with the same client id returns the first one. A customer's message reopens a
    /// resolved conversation, which then goes to routing.
    pub async fn send(
        &self,
        ctx: &Context,
        id: ConversationId,
        outgoing: Outgoing,
    ) -> Result<Appended, ConversationError> {
        let sender = match ctx.actor {
            Actor::Customer { id } => Sender::Customer(id),
            Actor::Staff { id, .. } => Sender::Agent(id),
            Actor::System => Sender::System,
        };
        let message = NewMessage {
            conversation: id,
            client_id: outgoing.client_id,
            sender,
            kind: outgoing.kind,
            body: outgoing.body,
            sent_at: self.now(),
        };
        // Who may see and write is decided inside the store's atomic step, on the conversation
        // as it is then: a message racing a transfer cannot land in the old holder's name.
        let (actor, kind, now) = (ctx.actor, outgoing.kind, message.sent_at);
        let rule: MessageRule = Box::new(move |conversation: &Conversation| {
            if !Scope::of(&actor).includes(conversation) {
                return Err(ConversationRefusal::NotVisible);
            }
            message::sender_for(&actor, conversation, kind)?;
            match actor {
                Actor::Customer { .. } => {
                    Ok(conversation::after_customer_message(conversation, now))
                }
                _ if conversation.status.is_resolved() => Err(ConversationRefusal::Resolved),
                _ => Ok(None),
            }
        });
        let not_found = || ConversationError::NotFound(Resource::Conversation(id));
        let appended = match self.store.post_message(&message, rule).await {
            Ok(Ok(appended)) => appended,
            Ok(Err(ConversationRefusal::NotVisible))
            | Err(StoreError::Constraint(Constraint::Reference)) => return Err(not_found()),
            Ok(Err(refusal)) => return Err(refusal.into()),
            Err(error) => return Err(error.into()),
        };
        if appended.duplicate {
            return Ok(appended);
        }

        let (before, after) = (&appended.before, &appended.conversation);
        let mut events = vec![DomainEvent::MessagePosted {
            message: appended.message.clone(),
            customer: after.customer,
            assignee: after.assignee(),
        }];
        if after.status != before.status {
            events.push(status_event(after));
        }
        let requeued = after.is_waiting() && !before.is_waiting();
        if requeued {
            events.push(DomainEvent::ConversationQueued {
                conversation: id,
                customer: after.customer,
                from: before.assignee(),
            });
        }
        self.publish(events).await;
        if requeued {
            self.route(id).await?;
        }
        Ok(appended)
    }

    /// Up to `limit` messages after `after` (from the start if `None`), oldest first: what a
    /// client asks for when it resumes. Customers never see private notes.
    pub async fn messages_after(
        &self,
        ctx: &Context,
        id: ConversationId,
        after: Option<Seq>,
        limit: usize,
    ) -> Result<Vec<Message>, ConversationError> {
        let limit = check_limit(limit)?;
        let mut tx = self.read().await?;
        visible_in(tx.as_mut(), ctx, id).await?;
        let notes = Scope::of(&ctx.actor).sees_notes();
        Ok(tx.messages_after(id, after, limit, notes).await?)
    }

    /// Up to `limit` messages before `before` (the latest if `None`), oldest first: a page of
    /// history.
    pub async fn messages_before(
        &self,
        ctx: &Context,
        id: ConversationId,
        before: Option<Seq>,
        limit: usize,
    ) -> Result<Vec<Message>, ConversationError> {
        let limit = check_limit(limit)?;
        let mut tx = self.read().await?;
        visible_in(tx.as_mut(), ctx, id).await?;
        let notes = Scope::of(&ctx.actor).sees_notes();
        Ok(tx.messages_before(id, before, limit, notes).await?)
    }

    /// Marks the conversation read up to `seq` for the caller. Positions never move backwards
    /// and never past the last message. Returns the position now.
    pub async fn mark_read(
        &self,
        ctx: &Context,
        id: ConversationId,
        seq: Seq,
    ) -> Result<Option<Seq>, ConversationError> {
        let participant = participant(&ctx.actor)?;
        let mut tx = self.begin().await?;
        tx.lock_conversation(id).await?;
        let conversation = visible_in(tx.as_mut(), ctx, id).await?;
        let current = tx.read_position(id, participant).await?;
        let next = message::advance_read(current, seq, conversation.last_seq);
        let Some(position) = next.filter(|_| next != current) else {
            return Ok(current);
        };
        tx.set_read_position(id, participant, position).await?;
        tx.commit().await?;
        self.publish([DomainEvent::ReadPositionMoved {
            conversation: id,
            customer: conversation.customer,
            assignee: conversation.assignee(),
            participant,
            seq: position,
        }])
        .await;
        Ok(next)
    }

    /// How many messages the caller has not read: those after their read position that they
    /// did not write themselves (customers do not count private notes).
    pub async fn unread_count(
        &self,
        ctx: &Context,
        id: ConversationId,
    ) -> Result<u64, ConversationError> {
        let participant = participant(&ctx.actor)?;
        let mut tx = self.read().await?;
        visible_in(tx.as_mut(), ctx, id).await?;
        let position = tx.read_position(id, participant).await?;
        Ok(tx
            .count_after(id, position, participant, participant.sees_notes())
            .await?)
    }

    /// Changes a conversation's status: the holder or an admin. Resolving frees the holder
    /// for the queue; reopening sends the conversation back to routing.
    pub async fn change_status(
        &self,
        ctx: &Context,
        id: ConversationId,
        action: StatusAction,
    ) -> Result<Conversation, ConversationError> {
        if !matches!(ctx.actor, Actor::Staff { .. } | Actor::System) {
            return Err(ConversationError::Forbidden);
        }
        let mut tx = self.begin().await?;
        tx.lock_conversation(id).await?;
        let before = visible_in(tx.as_mut(), ctx, id).await?;
        let holds = before.assignee().is_some() && before.assignee() == ctx.actor.agent_id();
        if !ctx.actor.is_admin() && !holds {
            return Err(ConversationRefusal::NotHolder.into());
        }
        let after = conversation::change_status(&before, action, self.now())?;
        tx.update_conversation(&after).await?;
        tx.commit().await?;

        let mut events = vec![status_event(&after)];
        if after.is_waiting() && !before.is_waiting() {
            events.push(DomainEvent::ConversationQueued {
                conversation: id,
                customer: after.customer,
                from: before.assignee(),
            });
        }
        self.publish(events).await;
        match after.status {
            ConversationStatus::Resolved { .. } => {
                self.route_waiting_quietly().await?;
            }
            _ if after.is_waiting() => {
                self.route(id).await?;
            }
            _ => {}
        }
        self.visible(ctx, id).await
    }

    /// Hands a conversation to another agent: the holder or an admin. In one step the holder
    /// changes, the transfer is recorded, and the new agent gets a private note with the last
    /// messages and the mover's note. A refused transfer changes nothing.
    pub async fn transfer(
        &self,
        ctx: &Context,
        request: TransferRequest,
    ) -> Result<Conversation, ConversationError> {
        let id = request.conversation;
        let mut tx = self.begin().await?;
        tx.lock_conversation(id).await?;
        let before = visible_in(tx.as_mut(), ctx, id).await?;
        tx.lock_agents(&[request.to]).await?;
        let agent = tx.agents(&[request.to]).await?.pop();
        let open = tx
            .agent_loads(&[request.to])
            .await?
            .first()
            .map_or(0, |load| load.open);
        let team = tx.team().await?;
        let target = TransferTarget {
            agent: agent.as_ref(),
            open,
            default_capacity: team.default_capacity,
        };
        let now = self.now();
        let (after, record) = transfer::transfer(&ctx.actor, &before, &request, target, now)?;

        tx.update_conversation(&after).await?;
        tx.insert_transfer(&record).await?;
        let latest = tx.messages_before(id, None, CONTEXT_MESSAGES, true).await?;
        let names = Names::load(tx.as_mut(), &latest, &record).await?;
        let body =
            transfer::context_note(&record, &latest, |sender| names.of(sender), team.time_zone);
        let note = NewMessage {
            conversation: id,
            client_id: None,
            sender: Sender::System,
            kind: MessageKind::Note,
            body,
            sent_at: now,
        };
        let appended = tx.append_message(&note).await?;
        tx.commit().await?;

        self.publish([
            DomainEvent::ConversationTransferred {
                conversation: id,
                customer: after.customer,
                from: record.from,
                to: record.to,
            },
            DomainEvent::MessagePosted {
                message: appended.message,
                customer: after.customer,
                assignee: after.assignee(),
            },
        ])
        .await;
        Ok(appended.conversation)
    }

    /// One conversation with its customer and transfers, if the caller may see it. Customers
    /// get the transfers without the movers' notes, which are written for staff.
    pub async fn conversation(
        &self,
        ctx: &Context,
        id: ConversationId,
    ) -> Result<ConversationDetail, ConversationError> {
        let mut tx = self.read().await?;
        let conversation = visible_in(tx.as_mut(), ctx, id).await?;
        let customer =
            tx.customer(conversation.customer)
                .await?
                .ok_or(ConversationError::NotFound(Resource::Customer(
                    conversation.customer,
                )))?;
        let mut transfers = tx.transfers(id).await?;
        if !Scope::of(&ctx.actor).sees_notes() {
            for transfer in &mut transfers {
                transfer.note = None;
            }
        }
        Ok(ConversationDetail {
            conversation,
            customer,
            transfers,
        })
    }

    /// A page of the conversations matching `filter` that the caller may see, newest first,
    /// each with a preview of the latest message the caller may see.
    pub async fn conversations(
        &self,
        ctx: &Context,
        filter: ConversationFilter,
        page: Page,
    ) -> Result<Vec<ConversationSummary>, ConversationError> {
        let page = Page {
            limit: check_page(page.limit)?,
            ..page
        };
        let query = ConversationQuery {
            filter,
            scope: Scope::of(&ctx.actor),
        };
        let mut tx = self.read().await?;
        Ok(tx.conversations(&query, &page).await?)
    }

    /// How many conversations match `filter` among those the caller may see.
    pub async fn count_conversations(
        &self,
        ctx: &Context,
        filter: ConversationFilter,
    ) -> Result<u64, ConversationError> {
        let query = ConversationQuery {
            filter,
            scope: Scope::of(&ctx.actor),
        };
        let mut tx = self.read().await?;
        Ok(tx.count_conversations(&query).await?)
    }

    /// Writes every conversation matching `filter` that the caller may see, newest first,
    /// with its messages (private notes only for staff), to `sink`, a page at a time. The
    /// audit log records who exported what before the first line is written.
    pub async fn export(
        &self,
        ctx: &Context,
        filter: ConversationFilter,
        format: ExportFormat,
        sink: &mut dyn ExportSink,
    ) -> Result<ExportSummary, ConversationError> {
        let scope = Scope::of(&ctx.actor);
        // Recorded before anything is written: an export cut short has still shown some data.
        let record = self.audit(
            ctx,
            AuditAction::ConversationsExported,
            Subject::Conversations,
            None,
            Some(Snapshot::Export {
                filter: filter.clone(),
                format,
            }),
        );
        let mut tx = self.begin().await?;
        tx.append_audit(&record).await?;
        tx.commit().await?;

        let query = ConversationQuery { filter, scope };
        let mut summary = ExportSummary::default();
        if format == ExportFormat::Csv {
            sink.write(search::csv_header())
                .await
                .map_err(ConversationError::Export)?;
        }
        let mut page = Page {
            before: None,
            limit: EXPORT_PAGE,
        };
        loop {
            let batch = {
                let mut tx = self.read().await?;
                tx.conversations(&query, &page).await?
            };
            let Some(last) = batch.last() else { break };
            page.before = Some(last.conversation.id);
            for item in &batch {
                let messages = self
                    .all_messages(item.conversation.id, scope.sees_notes())
                    .await?;
                let chunk = match format {
                    ExportFormat::Csv => search::csv_rows(&item.conversation, &messages),
                    ExportFormat::JsonLines => search::json_line(&item.conversation, &messages),
                };
                sink.write(chunk).await.map_err(ConversationError::Export)?;
                summary.conversations += 1;
                summary.messages += messages.len() as u64;
            }
            if batch.len() < EXPORT_PAGE {
                break;
            }
        }
        Ok(summary)
    }

    /// Every message of a conversation, read in pages.
    async fn all_messages(
        &self,
        id: ConversationId,
        notes: bool,
    ) -> Result<Vec<Message>, ConversationError> {
        let mut all = Vec::new();
        loop {
            let after = all.last().map(|message: &Message| message.seq);
            let mut tx = self.read().await?;
            let page = tx.messages_after(id, after, MAX_MESSAGES, notes).await?;
            let done = page.len() < MAX_MESSAGES;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    /// The conversation, if the caller may see it.
    pub(super) async fn visible(
        &self,
        ctx: &Context,
        id: ConversationId,
    ) -> Result<Conversation, ConversationError> {
        let mut tx = self.read().await?;
        visible_in(tx.as_mut(), ctx, id).await
    }
}

/// How many of a customer's latest conversations a retried opening is looked for in.
const RETRY_WINDOW: usize = 5;

/// The one of the caller's latest conversations whose first message has `client_id` and was
/// theirs, if any: the conversation an earlier try of the same opening made.
async fn opened_with(
    tx: &mut dyn Tx,
    ctx: &Context,
    client_id: &ClientMessageId,
) -> Result<Option<Conversation>, ConversationError> {
    let Actor::Customer { id: customer } = ctx.actor else {
        return Ok(None);
    };
    let query = ConversationQuery {
        filter: ConversationFilter {
            customer: Some(customer),
            ..ConversationFilter::default()
        },
        scope: Scope::Customer(customer),
    };
    let page = Page {
        before: None,
        limit: RETRY_WINDOW,
    };
    for summary in tx.conversations(&query, &page).await? {
        let first = tx
            .messages_after(summary.conversation.id, None, 1, false)
            .await?;
        let same = first.first().is_some_and(|message| {
            message.client_id.as_ref() == Some(client_id)
                && message.sender == Sender::Customer(customer)
        });
        if same {
            return Ok(Some(summary.conversation));
        }
    }
    Ok(None)
}

/// The conversation, if the caller's scope includes it; "not found" otherwise.
pub(super) async fn visible_in(
    tx: &mut dyn Tx,
    ctx: &Context,
    id: ConversationId,
) -> Result<Conversation, ConversationError> {
    tx.conversation(id)
        .await?
        .filter(|conversation| Scope::of(&ctx.actor).includes(conversation))
        .ok_or(ConversationError::NotFound(Resource::Conversation(id)))
}

/// The event announcing a conversation's status.
pub(super) fn status_event(conversation: &Conversation) -> DomainEvent {
    DomainEvent::ConversationStatusChanged {
        conversation: conversation.id,
        customer: conversation.customer,
        assignee: conversation.assignee(),
        status: conversation.status,
    }
}

fn participant(actor: &Actor) -> Result<Participant, ConversationError> {
    match *actor {
        Actor::Customer { id } => Ok(Participant::Customer(id)),
        Actor::Staff { id, .. } => Ok(Participant::Agent(id)),
        Actor::System => Err(ConversationError::Forbidden),
    }
}

fn check_limit(limit: usize) -> Result<usize, ConversationError> {
    if (1..=MAX_MESSAGES).contains(&limit) {
        Ok(limit)
    } else {
        let max = i64::try_from(MAX_MESSAGES).unwrap_or(i64::MAX);
        Err(Problem::OutOfRange { min: 1, max }.at("limit").into())
    }
}

fn check_page(limit: usize) -> Result<usize, ConversationError> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        let max = i64::try_from(MAX_PAGE).unwrap_or(i64::MAX);
        Err(Problem::OutOfRange { min: 1, max }.at("limit").into())
    }
}

/// Display names of everyone a context note mentions.
struct Names {
    customers: Vec<Customer>,
    agents: Vec<crate::staff::Agent>,
}

impl Names {
    async fn load(
        tx: &mut dyn Tx,
        messages: &[Message],
        record: &Transfer,
    ) -> Result<Names, ConversationError> {
        let mut customers = Vec::new();
        let mut agents: Vec<_> = record.from.into_iter().chain([record.to]).collect();
        for message in messages {
            match message.sender {
                Sender::Customer(id) => customers.push(id),
                Sender::Agent(id) => agents.push(id),
                Sender::System => {}
            }
        }
        customers.sort_unstable();
        customers.dedup();
        let customers = tx.customers(&customers).await?;
        let agents = tx.agents(&agents).await?;
        Ok(Names { customers, agents })
    }

    fn of(&self, sender: Sender) -> String {
        let found = match sender {
            Sender::Customer(id) => self
                .customers
                .iter()
                .find(|customer| customer.id == id)
                .map(|customer| customer.display_name.to_string()),
            Sender::Agent(id) => self
                .agents
                .iter()
                .find(|agent| agent.id == id)
                .map(|agent| agent.display_name.to_string()),
            Sender::System => Some("Shiftdesk".to_owned()),
        };
        found.unwrap_or_else(|| "unknown".to_owned())
    }
}
