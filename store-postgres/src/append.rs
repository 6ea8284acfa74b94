//! Group commit for messages: concurrent senders' appends share one transaction.
//!
//! A commit waits for the disk to flush, about a millisecond here, so one message per
//! transaction tops out near 3,000 messages a second however many connections send. Instead,
//! senders hand their message to a few committer tasks. A committer takes whatever is waiting
//! (at least one message, so a lone sender is not delayed), writes it all in one transaction
//! in a handful of statements, commits, and only then answers each sender. Nobody is told
//! their message is stored before it is durable.
//!
//! Inside the batch the rules are the same as for a single append: the conversations are
//! locked in id order, client ids already used return the earlier message, each message's
//! rule sees the conversation as the messages before it left it, and numbers follow on
//! without gaps. If the batch fails as a whole, each message is retried on its own, so one
//! bad message cannot fail its neighbours.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use shiftdesk_core::conversation::{Conversation, ConversationRefusal, Owner};
use shiftdesk_core::ids::Seq;
use shiftdesk_core::message::{Appended, Message, NewMessage, Sender};
use shiftdesk_core::search;
use shiftdesk_core::store::{Constraint, MessageRule, StoreError, post_in_one_transaction};
use sqlx::PgPool;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::PgStore;
use crate::error::db_error;
use crate::rows::{self, CONVERSATION_COLUMNS, CONVERSATIONS, MESSAGE_COLUMNS};

/// The most messages one transaction carries.
const MAX_BATCH: usize = 256;

/// What a sender gets back.
pub(crate) type Answer = Result<Result<Appended, ConversationRefusal>, StoreError>;

/// One sender's message waiting for a committer.
pub(crate) struct Job {
    message: NewMessage,
    rule: MessageRule,
    reply: oneshot::Sender<Answer>,
}

/// The senders' side: a queue the committer tasks drain.
#[derive(Debug)]
pub(crate) struct Committer {
    queue: mpsc::UnboundedSender<Job>,
}

impl Committer {
    /// Starts `workers` committer tasks on the current runtime.
    pub(crate) fn start(pool: PgPool, workers: usize) -> Committer {
        let (queue, jobs) = mpsc::unbounded_channel();
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..workers.max(1) {
            tokio::spawn(run(pool.clone(), jobs.clone()));
        }
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

/// A committer task: take a batch, commit it, answer, repeat until the store is dropped.
async fn run(pool: PgPool, jobs: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>) {
    loop {
        let batch = {
            let mut jobs = jobs.lock().await;
            let Some(first) = jobs.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        commit_batch(&pool, batch).await;
    }
}

/// A job whose outcome is decided but not yet committed.
enum Planned {
    /// Answer with this once the batch commits (a duplicate, or a refusal).
    Ready(Answer),
    /// Stored; answer with it once committed.
    Stored(Appended),
}

async fn commit_batch(pool: &PgPool, batch: Vec<Job>) {
    let mut messages = Vec::with_capacity(batch.len());
    let mut rules = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    for job in batch {
        messages.push(job.message);
        rules.push(job.rule);
        replies.push(job.reply);
    }
    match write_batch(pool, &messages, &rules).await {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        Err(error) => {
            tracing::warn!(%error, messages = messages.len(), "a message batch failed; retrying each alone");
            let store = PgStore::from_pool(pool.clone());
            for ((message, rule), reply) in messages.iter().zip(&rules).zip(replies) {
                let answer = post_in_one_transaction(&store, message, rule).await;
                let _ = reply.send(answer);
            }
        }
    }
}

/// The batch in one transaction.
async fn write_batch(
    pool: &PgPool,
    messages: &[NewMessage],
    rules: &[MessageRule],
) -> Result<Vec<Answer>, StoreError> {
    let mut tx = pool.begin().await.map_err(db_error)?;

    // Lock every conversation of the batch, in id order, and read it.
    let mut ids: Vec<i64> = messages
        .iter()
        .map(|message| message.conversation.get())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATIONS} WHERE c.id = ANY($1) \
         ORDER BY c.id FOR NO KEY UPDATE OF c"
    );
    let rows = sqlx::query(&sql)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
    let mut conversations: HashMap<i64, Conversation> = HashMap::new();
    for row in &rows {
        let conversation = rows::conversation(row)?;
        conversations.insert(conversation.id.get(), conversation);
    }

    // Client ids used before by the same senders in these conversations. Each is looked up
    // by the whole unique key, so the plan stays an index probe however the table grows.
    // System messages have no sender id; the second branch finds theirs, by `IS NULL`,
    // which the index serves too (`=` never matches a NULL).
    let mut wanted = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for message in messages {
        let Some(client_id) = &message.client_id else {
            continue;
        };
        let (kind, sender) = rows::sender_columns(message.sender);
        wanted.0.push(message.conversation.get());
        wanted.1.push(kind);
        wanted.2.push(sender);
        wanted.3.push(client_id.to_string());
    }
    let mut earlier: HashMap<(i64, Sender, String), Message> = HashMap::new();
    if !wanted.0.is_empty() {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} \
             FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[]) \
                  AS wanted(conversation_id, sender_kind, sender_id, client_id) \
             CROSS JOIN LATERAL ( \
                 SELECT * FROM messages \
                 WHERE conversation_id = wanted.conversation_id \
                   AND sender_kind = wanted.sender_kind::sender_kind \
                   AND sender_id = wanted.sender_id AND client_id = wanted.client_id \
                 UNION ALL \
                 SELECT * FROM messages \
                 WHERE wanted.sender_id IS NULL \
                   AND conversation_id = wanted.conversation_id \
                   AND sender_kind = wanted.sender_kind::sender_kind \
                   AND sender_id IS NULL AND client_id = wanted.client_id) AS m"
        );
        let rows = sqlx::query(&sql)
            .bind(&wanted.0)
            .bind(&wanted.1)
            .bind(&wanted.2)
            .bind(&wanted.3)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        for row in &rows {
            let message = rows::message(row)?;
            let client_id = message
                .client_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            earlier.insert(
                (message.conversation.get(), message.sender, client_id),
                message,
            );
        }
    }

    // Decide each message in order, against the conversation as the batch has left it, the
    // way `post_in_one_transaction` decides one.
    let mut planned = Vec::with_capacity(messages.len());
    let mut inserts = Inserts::default();
    let mut touched: Vec<i64> = Vec::new();
    let mut changed: Vec<i64> = Vec::new();
    for (message, rule) in messages.iter().zip(rules) {
        let id = message.conversation.get();
        let Some(current) = conversations.get(&id).cloned() else {
            let missing = StoreError::Constraint(Constraint::Reference);
            planned.push(Planned::Ready(Err(missing)));
            continue;
        };
        let effect = match rule(&current) {
            Ok(effect) => effect,
            Err(refusal) => {
                planned.push(Planned::Ready(Ok(Err(refusal))));
                continue;
            }
        };
        let key = message
            .client_id
            .as_ref()
            .map(|client_id| (id, message.sender, client_id.to_string()));
        if let Some(found) = key.as_ref().and_then(|key| earlier.get(key)) {
            let appended = Appended {
                message: found.clone(),
                duplicate: true,
                before: current.clone(),
                conversation: current,
            };
            planned.push(Planned::Ready(Ok(Ok(appended))));
            continue;
        }

        let seq = Seq::after(current.last_seq);
        let stored = Message {
            conversation: message.conversation,
            seq,
            client_id: message.client_id.clone(),
            sender: message.sender,
            kind: message.kind,
            body: message.body.clone(),
            sent_at: message.sent_at,
        };
        inserts.push(&stored);
        if effect.is_some() && !changed.contains(&id) {
            changed.push(id);
        }
        let base = effect.unwrap_or_else(|| current.clone());
        let after = Conversation {
            last_seq: Some(seq),
            last_activity_at: message.sent_at,
            ..base
        };
        conversations.insert(id, after.clone());
        if !touched.contains(&id) {
            touched.push(id);
        }
        if let Some(key) = key {
            earlier.insert(key, stored.clone());
        }
        let appended = Appended {
            message: stored,
            duplicate: false,
            before: current,
            conversation: after,
        };
        planned.push(Planned::Stored(appended));
    }

    inserts.write(&mut tx).await?;
    let touched_conversations = touched.iter().filter_map(|id| conversations.get(id));
    write_conversations(&mut tx, touched_conversations, &changed).await?;
    tx.commit().await.map_err(db_error)?;

    Ok(planned
        .into_iter()
        .map(|plan| match plan {
            Planned::Ready(answer) => answer,
            Planned::Stored(appended) => Ok(Ok(appended)),
        })
        .collect())
}

/// Messages as column arrays for one `UNNEST` insert.
#[derive(Default)]
struct Inserts {
    conversations: Vec<i64>,
    seqs: Vec<i64>,
    client_ids: Vec<Option<String>>,
    sender_kinds: Vec<&'static str>,
    sender_ids: Vec<Option<i64>>,
    kinds: Vec<&'static str>,
    bodies: Vec<String>,
    sent_at: Vec<DateTime<Utc>>,
    folded: Vec<String>,
    /// Each message's bigrams joined by U+0001, which message bodies never hold.
    grams: Vec<String>,
}

impl Inserts {
    fn push(&mut self, message: &Message) {
        let (sender_kind, sender_id) = rows::sender_columns(message.sender);
        let folded = search::fold(message.body.as_str());
        self.conversations.push(message.conversation.get());
        self.seqs
            .push(i64::try_from(message.seq.get()).unwrap_or(i64::MAX));
        self.client_ids
            .push(message.client_id.as_ref().map(ToString::to_string));
        self.sender_kinds.push(sender_kind);
        self.sender_ids.push(sender_id);
        self.kinds.push(message.kind.as_str());
        self.bodies.push(message.body.to_string());
        self.sent_at.push(message.sent_at);
        self.grams.push(search::bigrams(&folded).join("\u{1}"));
        self.folded.push(folded);
    }

    async fn write(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    ) -> Result<(), StoreError> {
        if self.seqs.is_empty() {
            return Ok(());
        }
        // Arrays of arrays must be rectangular in PostgreSQL, so each message's bigrams
        // travel as one joined string and are split back on the server.
        sqlx::query(
            "INSERT INTO messages (conversation_id, seq, client_id, sender_kind, sender_id, kind, \
                 body, sent_at, folded, grams) \
             SELECT conversation_id, seq, client_id, sender_kind::sender_kind, sender_id, \
                    kind::message_kind, body, sent_at, folded, \
                    CASE WHEN grams = '' THEN '{}'::text[] \
                         ELSE string_to_array(grams, E'\\x01') END \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], \
                         $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[]) \
                  AS given(conversation_id, seq, client_id, sender_kind, sender_id, kind, body, \
                           sent_at, folded, grams)",
        )
        .bind(&self.conversations)
        .bind(&self.seqs)
        .bind(&self.client_ids)
        .bind(&self.sender_kinds)
        .bind(&self.sender_ids)
        .bind(&self.kinds)
        .bind(&self.bodies)
        .bind(&self.sent_at)
        .bind(&self.folded)
        .bind(&self.grams)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}

/// Writes the batch's counters back, and the status of conversations a message changed.
async fn write_conversations<'a>(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    touched: impl Iterator<Item = &'a Conversation>,
    changed: &[i64],
) -> Result<(), StoreError> {
    let mut ids = Vec::new();
    let mut counts = Vec::new();
    let mut activity = Vec::new();
    let mut states = Vec::new();
    let mut snoozed = Vec::new();
    let mut resolved = Vec::new();
    let mut assignees = Vec::new();
    let mut since = Vec::new();
    let mut changed_ids = Vec::new();
    for conversation in touched {
        let id = conversation.id.get();
        ids.push(id);
        let count = conversation.last_seq.map_or(0, |seq| seq.get());
        counts.push(i64::try_from(count).unwrap_or(i64::MAX));
        activity.push(conversation.last_activity_at);
        if changed.contains(&id) {
            let (state, until, at) = rows::conversation_status_columns(conversation.status);
            let (assignee, owner_since) = match conversation.owner {
                Owner::Queued { since } => (None, since),
                Owner::Agent { agent, since } => (Some(agent.get()), since),
            };
            changed_ids.push(id);
            states.push(state);
            snoozed.push(until);
            resolved.push(at);
            assignees.push(assignee);
            since.push(owner_since);
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE conversation_counters AS k SET message_count = given.count, \
             last_activity_at = given.activity \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::timestamptz[]) \
              AS given(id, count, activity) \
         WHERE k.conversation_id = given.id",
    )
    .bind(&ids)
    .bind(&counts)
    .bind(&activity)
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    if changed_ids.is_empty() {
        return Ok(());
    }
    // A message never hands a conversation to an agent (it can only requeue it), so the
    // handlers and the agents' last assignment stay as they are.
    sqlx::query(
        "UPDATE conversations AS c SET state = given.state::conversation_state, \
             snoozed_until = given.snoozed, resolved_at = given.resolved, \
             assignee_id = given.assignee, owner_since = given.since \
         FROM UNNEST($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[], \
                     $5::bigint[], $6::timestamptz[]) \
              AS given(id, state, snoozed, resolved, assignee, since) \
         WHERE c.id = given.id",
    )
    .bind(&changed_ids)
    .bind(&states)
    .bind(&snoozed)
    .bind(&resolved)
    .bind(&assignees)
    .bind(&since)
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    Ok(())
}
