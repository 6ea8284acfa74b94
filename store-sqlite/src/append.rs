//! Group commit for messages: concurrent senders' appends share one transaction.
//!
//! With `synchronous = FULL` a commit waits for the disk to flush the log, and one writer
//! commits at a time, so one message per transaction tops out at the disk's flush rate however
//! many senders there are. Instead, senders hand their message to a committer task. It takes
//! whatever is waiting (at least one message, so a lone sender is not delayed), writes it all
//! in one transaction, commits, and only then answers each sender. Nobody is told their
//! message is stored before it is durable.
//!
//! Inside the batch the rules are the same as for a single append: the transaction holds the
//! write lock, client ids already used return the earlier message, each message's rule sees
//! the conversation as the messages before it left it, and numbers follow on without gaps. If
//! the batch fails as a whole, each message is retried on its own, so one bad message cannot
//! fail its neighbours.

use std::collections::HashMap;

use async_trait::async_trait;
use shiftdesk_core::conversation::{Conversation, ConversationRefusal};
use shiftdesk_core::ids::{ConversationId, Seq};
use shiftdesk_core::message::{Appended, Message, NewMessage, Sender};
use shiftdesk_core::store::{
    Constraint, MessageRule, Store, StoreError, Tx, post_in_one_transaction,
};
use shiftdesk_core::text::ClientMessageId;
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::error::db_error;
use crate::talk;

/// The most messages one transaction carries.
const MAX_BATCH: usize = 512;

/// What a sender gets back.
pub(crate) type Answer = Result<Result<Appended, ConversationRefusal>, StoreError>;

/// One sender's message waiting for the committer.
pub(crate) struct Job {
    message: NewMessage,
    rule: MessageRule,
    reply: oneshot::Sender<Answer>,
}

/// The senders' side: a queue the committer task drains.
#[derive(Debug)]
pub(crate) struct Committer {
    queue: mpsc::UnboundedSender<Job>,
}

impl Committer {
    /// Starts the committer task on the current runtime. One is enough: every writer takes
    /// turns on the one write lock anyway, and while it commits, the next batch gathers.
    pub(crate) fn start(writer: SqlitePool) -> Committer {
        let (queue, jobs) = mpsc::unbounded_channel();
        tokio::spawn(run(writer, jobs));
        Committer { queue }
    }

    /// Queues a message and waits until it is durable (or refused).
    pub(crate) async fn append(&self, message: NewMessage, rule: MessageRule) -> Answer {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            message,
            rule,
            reply,
        };
        if self.queue.send(job).is_err() {
            return Err(StoreError::Unavailable(
                "the message committer has stopped".into(),
            ));
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the message committer stopped".into(),
            ))
        })
    }
}

/// The committer task: take a batch, commit it, answer, repeat until the store is dropped.
async fn run(writer: SqlitePool, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&writer, batch).await;
    }
}

/// The writing side of the store alone, for retrying messages one by one.
struct Writer(SqlitePool);

#[async_trait]
impl Store for Writer {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        Ok(Box::new(crate::begin_write(&self.0).await?))
    }
}

async fn commit_batch(writer: &SqlitePool, batch: Vec<Job>) {
    let mut messages = Vec::with_capacity(batch.len());
    let mut rules = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    for job in batch {
        messages.push(job.message);
        rules.push(job.rule);
        replies.push(job.reply);
    }
    match write_batch(writer, &messages, &rules).await {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        Err(error) => {
            let count = messages.len();
            tracing::warn!(%error, messages = count, "a message batch failed; retrying each alone");
            let store = Writer(writer.clone());
            for ((message, rule), reply) in messages.iter().zip(&rules).zip(replies) {
                let answer = post_in_one_transaction(&store, message, rule).await;
                let _ = reply.send(answer);
            }
        }
    }
}

/// The batch in one transaction, in a handful of statements whatever its size (each
/// statement is a round trip to SQLite's thread); the answers are given only once it has
/// committed.
async fn write_batch(
    writer: &SqlitePool,
    messages: &[NewMessage],
    rules: &[MessageRule],
) -> Result<Vec<Answer>, StoreError> {
    let mut tx = crate::begin_write(writer).await?.tx;

    // Every conversation of the batch, and the client ids its senders used before.
    let mut conversations: HashMap<i64, Conversation> = HashMap::new();
    let wanted: Vec<ConversationId> = messages.iter().map(|m| m.conversation).collect();
    for conversation in talk::read_conversations(&mut tx, &wanted).await? {
        conversations.insert(conversation.id.get(), conversation);
    }
    let mut earlier: HashMap<(i64, Sender, String), Message> = HashMap::new();
    for message in talk::earlier_messages(&mut tx, messages).await? {
        if let Some(key) = client_key(&message.conversation, message.sender, &message.client_id) {
            earlier.insert(key, message);
        }
    }

    // Decide each message in order, against the conversation as the batch has left it, the
    // way `post_in_one_transaction` decides one.
    let mut answers = Vec::with_capacity(messages.len());
    let mut stored_messages = Vec::new();
    let mut touched: Vec<i64> = Vec::new();
    let mut changed: Vec<i64> = Vec::new();
    for (message, rule) in messages.iter().zip(rules) {
        let id = message.conversation.get();
        let Some(current) = conversations.get(&id).cloned() else {
            answers.push(Err(StoreError::Constraint(Constraint::Reference)));
            continue;
        };
        let effect = match rule(&current) {
            Ok(effect) => effect,
            Err(refusal) => {
                answers.push(Ok(Err(refusal)));
                continue;
            }
        };
        let key = client_key(&message.conversation, message.sender, &message.client_id);
        if let Some(found) = key.as_ref().and_then(|key| earlier.get(key)) {
            answers.push(Ok(Ok(Appended {
                message: found.clone(),
                duplicate: true,
                before: current.clone(),
                conversation: current,
            })));
            continue;
        }

        let stored = Message {
            conversation: message.conversation,
            seq: Seq::after(current.last_seq),
            client_id: message.client_id.clone(),
            sender: message.sender,
            kind: message.kind,
            body: message.body.clone(),
            sent_at: message.sent_at,
        };
        if effect.is_some() && !changed.contains(&id) {
            changed.push(id);
        }
        if !touched.contains(&id) {
            touched.push(id);
        }
        let after = Conversation {
            last_seq: Some(stored.seq),
            last_activity_at: message.sent_at,
            ..effect.unwrap_or_else(|| current.clone())
        };
        conversations.insert(id, after.clone());
        if let Some(key) = key {
            earlier.insert(key, stored.clone());
        }
        stored_messages.push(stored.clone());
        answers.push(Ok(Ok(Appended {
            message: stored,
            duplicate: false,
            before: current,
            conversation: after,
        })));
    }

    talk::insert_messages(&mut tx, &stored_messages).await?;
    let touched: Vec<&Conversation> = touched
        .iter()
        .filter_map(|id| conversations.get(id))
        .collect();
    talk::write_counters(&mut tx, &touched).await?;
    // A message never hands a conversation to an agent (it can only requeue it), but the
    // whole conversation is written anyway: it is rare and keeps one way of writing it.
    for id in &changed {
        if let Some(conversation) = conversations.get(id) {
            talk::write_conversation(&mut tx, conversation).await?;
        }
    }
    tx.commit().await.map_err(db_error)?;
    Ok(answers)
}

/// What makes a client id unique: conversation, sender and the id itself.
fn client_key(
    conversation: &ConversationId,
    sender: Sender,
    client_id: &Option<ClientMessageId>,
) -> Option<(i64, Sender, String)> {
    client_id
        .as_ref()
        .map(|client_id| (conversation.get(), sender, client_id.to_string()))
}
