//! The conversation half of a transaction: customers, conversations, messages, read
//! positions, transfers and canned replies.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shiftdesk_core::canned::{CannedReply, NewCannedReply};
use shiftdesk_core::conversation::{
    Conversation, Customer, NewConversation, NewCustomer, Owner, Transfer,
};
use shiftdesk_core::ids::{AgentId, CannedReplyId, ConversationId, CustomerId, Seq};
use shiftdesk_core::message::{Appended, Message, NewMessage, Participant};
use shiftdesk_core::routing::AgentLoad;
use shiftdesk_core::search::{
    self, AssigneeFilter, ConversationQuery, ConversationSummary, Page, Scope, TimeField,
};
use shiftdesk_core::store::{Constraint, ConversationTx, StoreError};
use shiftdesk_core::text::{ClientMessageId, ExternalId};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::SqliteTx;
use crate::error::{corrupt, db_error};
use crate::rows::{
    self, CANNED_COLUMNS, CONVERSATION_COLUMNS, CONVERSATIONS, CUSTOMER_COLUMNS, MESSAGE_COLUMNS,
    TRANSFER_COLUMNS, micros, to_json,
};
use crate::schedule::ids;

fn seq_param(seq: Option<Seq>) -> i64 {
    seq.map_or(0, |seq| i64::try_from(seq.get()).unwrap_or(i64::MAX))
}

fn participant_columns(participant: Participant) -> (&'static str, i64) {
    match participant {
        Participant::Customer(id) => ("customer", id.get()),
        Participant::Agent(id) => ("agent", id.get()),
    }
}

/// Appends the WHERE conditions of `query` for a conversations table aliased `c`.
fn push_conditions(sql: &mut QueryBuilder<'_, Sqlite>, query: &ConversationQuery) {
    sql.push(" WHERE true");
    match query.scope {
        Scope::All => {}
        Scope::HandledBy(agent) => {
            sql.push(" AND EXISTS (SELECT 1 FROM json_each(c.handled_by) WHERE value = ")
                .push_bind(agent.get())
                .push(")");
        }
        Scope::Customer(customer) => {
            sql.push(" AND c.customer_id = ").push_bind(customer.get());
        }
    }
    let filter = &query.filter;
    if !filter.statuses.is_empty() {
        let names: Vec<&str> = filter
            .statuses
            .iter()
            .map(|status| status.as_str())
            .collect();
        sql.push(" AND c.state IN (SELECT value FROM json_each(")
            .push_bind(serde_json::Value::from(names).to_string())
            .push("))");
    }
    match filter.assignee {
        Some(AssigneeFilter::Agent(agent)) => {
            sql.push(" AND c.assignee_id = ").push_bind(agent.get());
        }
        Some(AssigneeFilter::Unassigned) => {
            sql.push(" AND c.assignee_id IS NULL");
        }
        None => {}
    }
    if let Some(customer) = filter.customer {
        sql.push(" AND c.customer_id = ").push_bind(customer.get());
    }
    if let Some(window) = filter.time {
        let column = match window.field {
            TimeField::CreatedAt => "c.created_at",
            TimeField::LastActivityAt => "k.last_activity_at",
        };
        if let Some(from) = window.from {
            sql.push(format!(" AND {column} >= "))
                .push_bind(micros(from));
        }
        if let Some(until) = window.until {
            sql.push(format!(" AND {column} < "))
                .push_bind(micros(until));
        }
    }
    if let Some(topic) = &filter.topic {
        sql.push(" AND c.topic = ").push_bind(topic.to_string());
    }
    if let Some(text) = &filter.text {
        // A substring of the folded body; the messages of one conversation are found through
        // the primary key, then scanned.
        sql.push(
            " AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id \
             AND instr(m.folded, ",
        )
        .push_bind(search::fold(text.as_str()))
        .push(") > 0");
        if !query.scope.sees_notes() {
            sql.push(" AND m.kind <> 'note'");
        }
        sql.push(")");
    }
}

/// One conversation with its counter.
pub(crate) async fn read_conversation(
    connection: &mut SqliteConnection,
    id: ConversationId,
) -> Result<Option<Conversation>, StoreError> {
    let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATIONS} WHERE c.id = ?1");
    let row = sqlx::query(&sql)
        .bind(id.get())
        .fetch_optional(connection)
        .await
        .map_err(db_error)?;
    row.as_ref().map(rows::conversation).transpose()
}

/// The message `sender` sent earlier with this client id in the conversation, if any.
pub(crate) async fn earlier_message(
    connection: &mut SqliteConnection,
    message: &NewMessage,
) -> Result<Option<Message>, StoreError> {
    let Some(client_id) = &message.client_id else {
        return Ok(None);
    };
    let (sender_kind, sender_id) = rows::sender_columns(message.sender);
    // Client ids belong to their sender: another sender's equal id is another message. The
    // terms are those of the unique index, which counts Shiftdesk's missing sender id as 0.
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m \
         WHERE m.conversation_id = ?1 AND m.sender_kind = ?2 \
           AND ifnull(m.sender_id, 0) = ifnull(?3, 0) AND m.client_id = ?4"
    );
    let row = sqlx::query(&sql)
        .bind(message.conversation.get())
        .bind(sender_kind)
        .bind(sender_id)
        .bind(client_id.as_str())
        .fetch_optional(connection)
        .await
        .map_err(db_error)?;
    row.as_ref().map(rows::message).transpose()
}

/// Stores a message with its number, folding its body for search.
pub(crate) async fn insert_message(
    connection: &mut SqliteConnection,
    message: &Message,
) -> Result<(), StoreError> {
    let (sender_kind, sender_id) = rows::sender_columns(message.sender);
    sqlx::query(
        "INSERT INTO messages (conversation_id, seq, client_id, sender_kind, sender_id, kind, \
             body, sent_at, folded) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .bind(message.conversation.get())
    .bind(seq_param(Some(message.seq)))
    .bind(message.client_id.as_ref().map(ToString::to_string))
    .bind(sender_kind)
    .bind(sender_id)
    .bind(message.kind.as_str())
    .bind(message.body.as_str())
    .bind(micros(message.sent_at))
    .bind(search::fold(message.body.as_str()))
    .execute(connection)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Moves a conversation's counter to its last message.
pub(crate) async fn write_counter(
    connection: &mut SqliteConnection,
    conversation: &Conversation,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE conversation_counters SET message_count = ?2, last_activity_at = ?3 \
         WHERE conversation_id = ?1",
    )
    .bind(conversation.id.get())
    .bind(seq_param(conversation.last_seq))
    .bind(micros(conversation.last_activity_at))
    .execute(connection)
    .await
    .map_err(db_error)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Constraint(Constraint::Reference));
    }
    Ok(())
}

/// The conversations with these ids that exist, with their counters.
pub(crate) async fn read_conversations(
    connection: &mut SqliteConnection,
    conversations: &[ConversationId],
) -> Result<Vec<Conversation>, StoreError> {
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATIONS} \
         WHERE c.id IN (SELECT value FROM json_each(?1))"
    );
    let rows = sqlx::query(&sql)
        .bind(ids(conversations))
        .fetch_all(connection)
        .await
        .map_err(db_error)?;
    rows.iter().map(rows::conversation).collect()
}

/// The messages stored earlier under the client ids of `messages`, each looked up by its
/// whole unique key (conversation, sender, client id).
pub(crate) async fn earlier_messages(
    connection: &mut SqliteConnection,
    messages: &[NewMessage],
) -> Result<Vec<Message>, StoreError> {
    let wanted: Vec<serde_json::Value> = messages
        .iter()
        .filter_map(|message| {
            let (kind, sender) = rows::sender_columns(message.sender);
            let client_id = message.client_id.as_ref()?;
            Some(serde_json::json!([
                message.conversation.get(),
                kind,
                sender.unwrap_or(0),
                client_id.as_str()
            ]))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM json_each(?1) AS w \
         JOIN messages m ON m.conversation_id = w.value ->> 0 \
             AND m.sender_kind = w.value ->> 1 AND ifnull(m.sender_id, 0) = w.value ->> 2 \
             AND m.client_id = w.value ->> 3"
    );
    let rows = sqlx::query(&sql)
        .bind(serde_json::Value::from(wanted).to_string())
        .fetch_all(connection)
        .await
        .map_err(db_error)?;
    rows.iter().map(rows::message).collect()
}

/// Stores messages with their numbers in one statement, folding their bodies for search.
pub(crate) async fn insert_messages(
    connection: &mut SqliteConnection,
    messages: &[Message],
) -> Result<(), StoreError> {
    if messages.is_empty() {
        return Ok(());
    }
    let given: Vec<serde_json::Value> = messages
        .iter()
        .map(|message| {
            let (sender_kind, sender_id) = rows::sender_columns(message.sender);
            serde_json::json!([
                message.conversation.get(),
                seq_param(Some(message.seq)),
                message.client_id.as_ref().map(ClientMessageId::as_str),
                sender_kind,
                sender_id,
                message.kind.as_str(),
                message.body.as_str(),
                micros(message.sent_at),
                search::fold(message.body.as_str()),
            ])
        })
        .collect();
    sqlx::query(
        "INSERT INTO messages (conversation_id, seq, client_id, sender_kind, sender_id, kind, \
             body, sent_at, folded) \
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
                value ->> 6, value ->> 7, value ->> 8 \
         FROM json_each(?1) ORDER BY key",
    )
    .bind(serde_json::Value::from(given).to_string())
    .execute(connection)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Moves conversations' counters to their last messages, in one statement.
pub(crate) async fn write_counters(
    connection: &mut SqliteConnection,
    conversations: &[&Conversation],
) -> Result<(), StoreError> {
    if conversations.is_empty() {
        return Ok(());
    }
    let given: Vec<serde_json::Value> = conversations
        .iter()
        .map(|conversation| {
            serde_json::json!([
                conversation.id.get(),
                seq_param(conversation.last_seq),
                micros(conversation.last_activity_at),
            ])
        })
        .collect();
    let done = sqlx::query(
        "UPDATE conversation_counters AS k SET message_count = given.value ->> 1, \
             last_activity_at = given.value ->> 2 \
         FROM json_each(?1) AS given WHERE k.conversation_id = given.value ->> 0",
    )
    .bind(serde_json::Value::from(given).to_string())
    .execute(connection)
    .await
    .map_err(db_error)?;
    if done.rows_affected() != conversations.len() as u64 {
        return Err(StoreError::Constraint(Constraint::Reference));
    }
    Ok(())
}

/// Overwrites a conversation's status, topic, owner and handlers.
pub(crate) async fn write_conversation(
    connection: &mut SqliteConnection,
    conversation: &Conversation,
) -> Result<(), StoreError> {
    let (state, snoozed_until, resolved_at) =
        rows::conversation_status_columns(conversation.status);
    let (assignee, since) = match conversation.owner {
        Owner::Queued { since } => (None, since),
        Owner::Agent { agent, since } => (Some(agent.get()), since),
    };
    let handled_by: Vec<AgentId> = conversation.handled_by.iter().copied().collect();
    let done = sqlx::query(
        "UPDATE conversations SET topic = ?2, state = ?3, snoozed_until = ?4, \
         resolved_at = ?5, assignee_id = ?6, owner_since = ?7, handled_by = ?8 WHERE id = ?1",
    )
    .bind(conversation.id.get())
    .bind(conversation.topic.as_ref().map(ToString::to_string))
    .bind(state)
    .bind(snoozed_until.map(micros))
    .bind(resolved_at.map(micros))
    .bind(assignee)
    .bind(micros(since))
    .bind(ids(&handled_by))
    .execute(&mut *connection)
    .await
    .map_err(db_error)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Constraint(Constraint::Reference));
    }
    if let Some(agent) = assignee {
        // The latest time the agent was given a conversation; re-writing an older
        // assignment leaves it alone.
        sqlx::query(
            "UPDATE agents SET last_assigned_at = ?2 WHERE id = ?1 \
             AND (last_assigned_at IS NULL OR last_assigned_at < ?2)",
        )
        .bind(agent)
        .bind(micros(since))
        .execute(&mut *connection)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

#[async_trait]
impl ConversationTx for SqliteTx {
    async fn lock_conversation(&mut self, _id: ConversationId) -> Result<(), StoreError> {
        // Already held: a writing transaction holds the database's write lock from its start.
        Ok(())
    }

    async fn customer(&mut self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.get())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::customer).transpose()
    }

    async fn customers(
        &mut self,
        customer_ids: &[CustomerId],
    ) -> Result<Vec<Customer>, StoreError> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers \
             WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(ids(customer_ids))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::customer).collect()
    }

    async fn customer_by_external_id(
        &mut self,
        external_id: &ExternalId,
    ) -> Result<Option<Customer>, StoreError> {
        let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE external_id = ?1");
        let row = sqlx::query(&sql)
            .bind(external_id.as_str())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::customer).transpose()
    }

    async fn insert_customer(&mut self, customer: &NewCustomer) -> Result<Customer, StoreError> {
        let sql = format!(
            "INSERT INTO customers (external_id, display_name) VALUES (?1, ?2) \
             RETURNING {CUSTOMER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(customer.external_id.as_str())
            .bind(customer.display_name.as_str())
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows::customer(&row)
    }

    async fn conversation(
        &mut self,
        id: ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        read_conversation(&mut self.tx, id).await
    }

    async fn insert_conversation(
        &mut self,
        conversation: &NewConversation,
    ) -> Result<Conversation, StoreError> {
        let created = micros(conversation.created_at);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO conversations (customer_id, topic, state, owner_since, created_at) \
             VALUES (?1, ?2, 'open', ?3, ?3) RETURNING id",
        )
        .bind(conversation.customer.get())
        .bind(conversation.topic.as_ref().map(ToString::to_string))
        .bind(created)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db_error)?;
        sqlx::query(
            "INSERT INTO conversation_counters (conversation_id, last_activity_at) VALUES (?1, ?2)",
        )
        .bind(id)
        .bind(created)
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        let id = ConversationId::try_from(id).map_err(|problem| corrupt("id", problem))?;
        read_conversation(&mut self.tx, id)
            .await?
            .ok_or_else(|| corrupt("conversation", "vanished while it was written"))
    }

    async fn update_conversation(&mut self, conversation: &Conversation) -> Result<(), StoreError> {
        write_conversation(&mut self.tx, conversation).await
    }

    async fn waiting_conversations(
        &mut self,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATIONS} \
             WHERE c.assignee_id IS NULL AND c.state NOT IN ('resolved', 'snoozed') \
             ORDER BY c.owner_since, c.id LIMIT ?1"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::conversation).collect()
    }

    async fn snoozes_due(&mut self, now: DateTime<Utc>) -> Result<Vec<Conversation>, StoreError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATIONS} \
             WHERE c.state = 'snoozed' AND c.snoozed_until <= ?1 ORDER BY c.id"
        );
        let rows = sqlx::query(&sql)
            .bind(micros(now))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::conversation).collect()
    }

    async fn held_by(&mut self, agent: AgentId) -> Result<Vec<Conversation>, StoreError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATIONS} \
             WHERE c.assignee_id = ?1 AND c.state <> 'resolved' ORDER BY c.id"
        );
        let rows = sqlx::query(&sql)
            .bind(agent.get())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::conversation).collect()
    }

    async fn conversations(
        &mut self,
        query: &ConversationQuery,
        page: &Page,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let note_filter = if query.scope.sees_notes() {
            ""
        } else {
            " AND m.kind <> 'note'"
        };
        let mut sql = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {CONVERSATION_COLUMNS}, p.conversation_id AS p_conversation_id, \
                 p.seq AS p_seq, p.client_id AS p_client_id, p.sender_kind AS p_sender_kind, \
                 p.sender_id AS p_sender_id, p.kind AS p_kind, p.body AS p_body, \
                 p.sent_at AS p_sent_at \
             FROM {CONVERSATIONS} \
             LEFT JOIN messages p ON p.conversation_id = c.id AND p.seq = \
                 (SELECT max(m.seq) FROM messages m WHERE m.conversation_id = c.id{note_filter})"
        ));
        push_conditions(&mut sql, query);
        if let Some(before) = page.before {
            sql.push(" AND c.id < ").push_bind(before.get());
        }
        sql.push(" ORDER BY c.id DESC LIMIT ")
            .push_bind(i64::try_from(page.limit).unwrap_or(i64::MAX));
        let rows = sql
            .build()
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let has_preview: Option<i64> = rows::get(row, "p_seq")?;
                Ok(ConversationSummary {
                    conversation: rows::conversation(row)?,
                    preview: has_preview
                        .map(|_| rows::message_with(row, "p_"))
                        .transpose()?,
                })
            })
            .collect()
    }

    async fn count_conversations(&mut self, query: &ConversationQuery) -> Result<u64, StoreError> {
        let mut sql = QueryBuilder::<Sqlite>::new(format!("SELECT count(*) FROM {CONVERSATIONS}"));
        push_conditions(&mut sql, query);
        let count: i64 = sql
            .build_query_scalar()
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)?;
        u64::try_from(count).map_err(|_| corrupt("count", count))
    }

    async fn agent_loads(&mut self, agents: &[AgentId]) -> Result<Vec<AgentLoad>, StoreError> {
        let rows: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT a.id, (SELECT count(*) FROM conversations c \
                           WHERE c.assignee_id = a.id AND c.state <> 'resolved'), \
                    a.last_assigned_at \
             FROM agents a WHERE a.id IN (SELECT value FROM json_each(?1)) ORDER BY a.id",
        )
        .bind(ids(agents))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .map(|(agent, open, last_assigned_at)| {
                Ok(AgentLoad {
                    agent: AgentId::try_from(agent).map_err(|problem| corrupt("id", problem))?,
                    open: u32::try_from(open).unwrap_or(u32::MAX),
                    last_assigned_at: last_assigned_at
                        .map(|at| rows::from_micros("last_assigned_at", at))
                        .transpose()?,
                })
            })
            .collect()
    }

    async fn agents_on_shift(&mut self, at: DateTime<Utc>) -> Result<Vec<AgentId>, StoreError> {
        let agents: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT agent_id FROM schedule_entries \
             WHERE status = 'scheduled' AND starts_at <= ?1 AND ends_at > ?1 ORDER BY agent_id",
        )
        .bind(micros(at))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        agents
            .into_iter()
            .map(|id| AgentId::try_from(id).map_err(|problem| corrupt("agent_id", problem)))
            .collect()
    }

    async fn insert_transfer(&mut self, transfer: &Transfer) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO transfers (conversation_id, from_agent, to_agent, moved_by, note, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(transfer.conversation.get())
        .bind(transfer.from.map(AgentId::get))
        .bind(transfer.to.get())
        .bind(to_json(&transfer.by)?)
        .bind(transfer.note.as_ref().map(ToString::to_string))
        .bind(micros(transfer.at))
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn transfers(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Vec<Transfer>, StoreError> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE conversation_id = ?1 ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(conversation.get())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::transfer).collect()
    }

    async fn append_message(&mut self, message: &NewMessage) -> Result<Appended, StoreError> {
        let before = read_conversation(&mut self.tx, message.conversation)
            .await?
            .ok_or(StoreError::Constraint(Constraint::Reference))?;
        if let Some(earlier) = earlier_message(&mut self.tx, message).await? {
            return Ok(Appended {
                message: earlier,
                duplicate: true,
                before: before.clone(),
                conversation: before,
            });
        }

        // The write lock is held from the transaction's start, so the number read with the
        // conversation is still the last one: the next follows it without a gap.
        let stored = Message {
            conversation: message.conversation,
            seq: Seq::after(before.last_seq),
            client_id: message.client_id.clone(),
            sender: message.sender,
            kind: message.kind,
            body: message.body.clone(),
            sent_at: message.sent_at,
        };
        let conversation = Conversation {
            last_seq: Some(stored.seq),
            last_activity_at: message.sent_at,
            ..before.clone()
        };
        write_counter(&mut self.tx, &conversation).await?;
        insert_message(&mut self.tx, &stored).await?;
        Ok(Appended {
            message: stored,
            duplicate: false,
            before,
            conversation,
        })
    }

    async fn messages_after(
        &mut self,
        conversation: ConversationId,
        after: Option<Seq>,
        limit: usize,
        notes: bool,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m \
             WHERE m.conversation_id = ?1 AND m.seq > ?2 AND (?3 OR m.kind <> 'note') \
             ORDER BY m.seq LIMIT ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(conversation.get())
            .bind(seq_param(after))
            .bind(notes)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::message).collect()
    }

    async fn messages_before(
        &mut self,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: usize,
        notes: bool,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m \
             WHERE m.conversation_id = ?1 AND (?2 IS NULL OR m.seq < ?2) \
               AND (?3 OR m.kind <> 'note') \
             ORDER BY m.seq DESC LIMIT ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(conversation.get())
            .bind(before.map(|seq| seq_param(Some(seq))))
            .bind(notes)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        let mut page: Vec<Message> = rows.iter().map(rows::message).collect::<Result<_, _>>()?;
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
        let (kind, id) = participant_columns(reader);
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM messages \
             WHERE conversation_id = ?1 AND seq > ?2 \
               AND NOT (sender_kind = ?3 AND sender_id IS ?4) \
               AND (?5 OR kind <> 'note')",
        )
        .bind(conversation.get())
        .bind(seq_param(after))
        .bind(kind)
        .bind(id)
        .bind(notes)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db_error)?;
        u64::try_from(count).map_err(|_| corrupt("count", count))
    }

    async fn read_position(
        &mut self,
        conversation: ConversationId,
        participant: Participant,
    ) -> Result<Option<Seq>, StoreError> {
        let (kind, id) = participant_columns(participant);
        let seq: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM read_positions WHERE conversation_id = ?1 \
             AND participant_kind = ?2 AND participant_id = ?3",
        )
        .bind(conversation.get())
        .bind(kind)
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_error)?;
        seq.map(|seq| {
            u64::try_from(seq)
                .ok()
                .and_then(|seq| Seq::try_from(seq).ok())
                .ok_or_else(|| corrupt("seq", seq))
        })
        .transpose()
    }

    async fn set_read_position(
        &mut self,
        conversation: ConversationId,
        participant: Participant,
        seq: Seq,
    ) -> Result<(), StoreError> {
        let (kind, id) = participant_columns(participant);
        sqlx::query(
            "INSERT INTO read_positions (conversation_id, participant_kind, participant_id, seq) \
             VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (conversation_id, participant_kind, participant_id) \
             DO UPDATE SET seq = excluded.seq",
        )
        .bind(conversation.get())
        .bind(kind)
        .bind(id)
        .bind(seq_param(Some(seq)))
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn canned_replies(
        &mut self,
        owner: Option<AgentId>,
    ) -> Result<Vec<CannedReply>, StoreError> {
        let sql = format!(
            "SELECT {CANNED_COLUMNS} FROM canned_replies \
             WHERE owner_id IS NULL OR owner_id = ?1 ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(owner.map(AgentId::get))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::canned).collect()
    }

    async fn canned_reply(&mut self, id: CannedReplyId) -> Result<Option<CannedReply>, StoreError> {
        let sql = format!("SELECT {CANNED_COLUMNS} FROM canned_replies WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.get())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::canned).transpose()
    }

    async fn insert_canned_reply(
        &mut self,
        reply: &NewCannedReply,
    ) -> Result<CannedReply, StoreError> {
        let sql = format!(
            "INSERT INTO canned_replies (owner_id, shortcode, title, category, body) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {CANNED_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(rows::owner_column(reply.scope))
            .bind(reply.shortcode.as_str())
            .bind(reply.title.as_str())
            .bind(reply.category.as_ref().map(ToString::to_string))
            .bind(reply.body.as_str())
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows::canned(&row)
    }

    async fn update_canned_reply(&mut self, reply: &CannedReply) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE canned_replies SET owner_id = ?2, shortcode = ?3, title = ?4, \
             category = ?5, body = ?6 WHERE id = ?1",
        )
        .bind(reply.id.get())
        .bind(rows::owner_column(reply.scope))
        .bind(reply.shortcode.as_str())
        .bind(reply.title.as_str())
        .bind(reply.category.as_ref().map(ToString::to_string))
        .bind(reply.body.as_str())
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Constraint(Constraint::Reference));
        }
        Ok(())
    }

    async fn delete_canned_reply(&mut self, id: CannedReplyId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM canned_replies WHERE id = ?1")
            .bind(id.get())
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
