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
use shiftdesk_core::text::ExternalId;
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder};

use crate::PgTx;
use crate::error::{corrupt, db_error};
use crate::rows::{
    self, CANNED_COLUMNS, CONVERSATION_COLUMNS, CONVERSATIONS, CUSTOMER_COLUMNS, MESSAGE_COLUMNS,
    TRANSFER_COLUMNS,
};

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
fn push_conditions(sql: &mut QueryBuilder<'_, Postgres>, query: &ConversationQuery) {
    sql.push(" WHERE true");
    match query.scope {
        Scope::All => {}
        Scope::HandledBy(agent) => {
            sql.push(" AND c.handled_by @> ARRAY[")
                .push_bind(agent.get())
                .push("]::bigint[]");
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
        sql.push(" AND c.state::text = ANY(")
            .push_bind(names)
            .push(")");
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
            sql.push(format!(" AND {column} >= ")).push_bind(from);
        }
        if let Some(until) = window.until {
            sql.push(format!(" AND {column} < ")).push_bind(until);
        }
    }
    if let Some(topic) = &filter.topic {
        sql.push(" AND c.topic = ").push_bind(topic.to_string());
    }
    if let Some(text) = &filter.text {
        // Every character pair of the text must be among the message's (the GIN index finds
        // those), then the substring itself must be there. A one-character text has no pair
        // and is matched by the substring test alone.
        let needle = search::fold(text.as_str());
        sql.push(
            " AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id \
             AND strpos(m.folded, ",
        )
        .push_bind(needle.clone())
        .push(") > 0");
        let grams = search::bigrams(&needle);
        if !grams.is_empty() {
            sql.push(" AND m.grams @> ").push_bind(grams);
        }
        if !query.scope.sees_notes() {
            sql.push(" AND m.kind <> 'note'");
        }
        sql.push(")");
    }
}

#[async_trait]
impl ConversationTx for PgTx {
    async fn lock_conversation(&mut self, id: ConversationId) -> Result<(), StoreError> {
        sqlx::query("SELECT id FROM conversations WHERE id = $1 FOR NO KEY UPDATE")
            .bind(id.get())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn customer(&mut self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.get())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::customer).transpose()
    }

    async fn customers(&mut self, ids: &[CustomerId]) -> Result<Vec<Customer>, StoreError> {
        let sql =
            format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ANY($1) ORDER BY id");
        let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
        let rows = sqlx::query(&sql)
            .bind(ids)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::customer).collect()
    }

    async fn customer_by_external_id(
        &mut self,
        external_id: &ExternalId,
    ) -> Result<Option<Customer>, StoreError> {
        let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE external_id = $1");
        let row = sqlx::query(&sql)
            .bind(external_id.as_str())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::customer).transpose()
    }

    async fn insert_customer(&mut self, customer: &NewCustomer) -> Result<Customer, StoreError> {
        let sql = format!(
            "INSERT INTO customers (external_id, display_name) VALUES ($1, $2) \
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
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATIONS} WHERE c.id = $1");
        let row = sqlx::query(&sql)
            .bind(id.get())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::conversation).transpose()
    }

    async fn insert_conversation(
        &mut self,
        conversation: &NewConversation,
    ) -> Result<Conversation, StoreError> {
        let sql = format!(
            "WITH c AS (INSERT INTO conversations (customer_id, topic, state, owner_since, \
                            created_at) \
                        VALUES ($1, $2, 'open', $3, $3) RETURNING *), \
                  k AS (INSERT INTO conversation_counters (conversation_id, last_activity_at) \
                        SELECT id, created_at FROM c RETURNING *) \
             SELECT {CONVERSATION_COLUMNS} FROM c JOIN k ON k.conversation_id = c.id"
        );
        let row = sqlx::query(&sql)
            .bind(conversation.customer.get())
            .bind(conversation.topic.as_ref().map(ToString::to_string))
            .bind(conversation.created_at)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows::conversation(&row)
    }

    async fn update_conversation(&mut self, conversation: &Conversation) -> Result<(), StoreError> {
        let (state, snoozed_until, resolved_at) =
            rows::conversation_status_columns(conversation.status);
        let (assignee, since) = match conversation.owner {
            Owner::Queued { since } => (None, since),
            Owner::Agent { agent, since } => (Some(agent.get()), since),
        };
        let handled_by: Vec<i64> = conversation
            .handled_by
            .iter()
            .map(|agent| agent.get())
            .collect();
        let done = sqlx::query(
            "UPDATE conversations SET topic = $2, state = $3::conversation_state, \
             snoozed_until = $4, resolved_at = $5, assignee_id = $6, owner_since = $7, \
             handled_by = $8 WHERE id = $1",
        )
        .bind(conversation.id.get())
        .bind(conversation.topic.as_ref().map(ToString::to_string))
        .bind(state)
        .bind(snoozed_until)
        .bind(resolved_at)
        .bind(assignee)
        .bind(since)
        .bind(handled_by)
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Constraint(Constraint::Reference));
        }
        if let Some(agent) = assignee {
            // The latest time the agent was given a conversation; re-writing an older
            // assignment leaves it alone.
            sqlx::query(
                "UPDATE agents SET last_assigned_at = $2 WHERE id = $1 \
                 AND (last_assigned_at IS NULL OR last_assigned_at < $2)",
            )
            .bind(agent)
            .bind(since)
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        }
        Ok(())
    }

    async fn waiting_conversations(
        &mut self,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATIONS} \
             WHERE c.assignee_id IS NULL AND c.state NOT IN ('resolved', 'snoozed') \
             ORDER BY c.owner_since, c.id LIMIT $1"
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
             WHERE c.state = 'snoozed' AND c.snoozed_until <= $1 ORDER BY c.id"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::conversation).collect()
    }

    async fn held_by(&mut self, agent: AgentId) -> Result<Vec<Conversation>, StoreError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATIONS} \
             WHERE c.assignee_id = $1 AND c.state <> 'resolved' ORDER BY c.id"
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
        let mut sql = QueryBuilder::<Postgres>::new(format!(
            "SELECT {CONVERSATION_COLUMNS}, p.* FROM {CONVERSATIONS} \
             LEFT JOIN LATERAL (SELECT m.conversation_id AS p_conversation_id, m.seq AS p_seq, \
                 m.client_id AS p_client_id, m.sender_kind::text AS p_sender_kind, \
                 m.sender_id AS p_sender_id, m.kind::text AS p_kind, m.body AS p_body, \
                 m.sent_at AS p_sent_at \
                 FROM messages m WHERE m.conversation_id = c.id{note_filter} \
                 ORDER BY m.seq DESC LIMIT 1) p ON true"
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
        let mut sql =
            QueryBuilder::<Postgres>::new(format!("SELECT count(*) FROM {CONVERSATIONS}"));
        push_conditions(&mut sql, query);
        let count: i64 = sql
            .build_query_scalar()
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)?;
        u64::try_from(count).map_err(|_| corrupt("count", count))
    }

    async fn agent_loads(&mut self, agents: &[AgentId]) -> Result<Vec<AgentLoad>, StoreError> {
        let ids: Vec<i64> = agents.iter().map(|agent| agent.get()).collect();
        let rows: Vec<(i64, i64, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT a.id, (SELECT count(*) FROM conversations c \
                           WHERE c.assignee_id = a.id AND c.state <> 'resolved'), \
                    a.last_assigned_at \
             FROM agents a WHERE a.id = ANY($1) ORDER BY a.id",
        )
        .bind(ids)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .map(|(agent, open, last_assigned_at)| {
                Ok(AgentLoad {
                    agent: AgentId::try_from(agent).map_err(|problem| corrupt("id", problem))?,
                    open: u32::try_from(open).unwrap_or(u32::MAX),
                    last_assigned_at,
                })
            })
            .collect()
    }

    async fn agents_on_shift(&mut self, at: DateTime<Utc>) -> Result<Vec<AgentId>, StoreError> {
        // The box condition finds the entries through the no-overlap constraint's index (see
        // the migration that builds it); `during @>` says the same thing exactly.
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT agent_id FROM schedule_entries \
             WHERE status = 'scheduled' \
               AND schedule_entry_box(agent_id, during) && schedule_instant_box($1) \
               AND during @> $1::timestamptz \
             ORDER BY agent_id",
        )
        .bind(at)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        ids.into_iter()
            .map(|id| AgentId::try_from(id).map_err(|problem| corrupt("agent_id", problem)))
            .collect()
    }

    async fn insert_transfer(&mut self, transfer: &Transfer) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO transfers (conversation_id, from_agent, to_agent, moved_by, note, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(transfer.conversation.get())
        .bind(transfer.from.map(AgentId::get))
        .bind(transfer.to.get())
        .bind(Json(transfer.by))
        .bind(transfer.note.as_ref().map(ToString::to_string))
        .bind(transfer.at)
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
            "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE conversation_id = $1 ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(conversation.get())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::transfer).collect()
    }

    async fn append_message(&mut self, message: &NewMessage) -> Result<Appended, StoreError> {
        let id = message.conversation.get();
        if let Some(client_id) = &message.client_id {
            // Client ids belong to their sender: another sender's equal id is another message.
            // System messages have no sender id, and `=` never matches a NULL.
            let (sender_kind, sender_id) = rows::sender_columns(message.sender);
            let same_sender = match sender_id {
                Some(_) => "m.sender_id = $4",
                None => "m.sender_id IS NULL AND $4::bigint IS NULL",
            };
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages m \
                 WHERE m.conversation_id = $1 AND m.client_id = $2 \
                   AND m.sender_kind = $3::sender_kind AND {same_sender}"
            );
            let earlier = sqlx::query(&sql)
                .bind(id)
                .bind(client_id.as_str())
                .bind(sender_kind)
                .bind(sender_id)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(db_error)?;
            if let Some(row) = earlier {
                let conversation = self
                    .conversation(message.conversation)
                    .await?
                    .ok_or(StoreError::Constraint(Constraint::Reference))?;
                return Ok(Appended {
                    message: rows::message(&row)?,
                    duplicate: true,
                    before: conversation.clone(),
                    conversation,
                });
            }
        }

        // The counter row: bumping it takes its row lock, so appends to one conversation
        // queue up here and each gets the next number, with no global lock.
        let counted: Option<(i64, DateTime<Utc>)> = sqlx::query_as(
            "UPDATE conversation_counters k SET message_count = k.message_count + 1, \
                 last_activity_at = $2 \
             FROM (SELECT last_activity_at FROM conversation_counters \
                   WHERE conversation_id = $1 FOR UPDATE) AS previous \
             WHERE k.conversation_id = $1 \
             RETURNING k.message_count, previous.last_activity_at",
        )
        .bind(id)
        .bind(message.sent_at)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_error)?;
        let (count, previous_activity) =
            counted.ok_or(StoreError::Constraint(Constraint::Reference))?;
        let conversation = self
            .conversation(message.conversation)
            .await?
            .ok_or(StoreError::Constraint(Constraint::Reference))?;
        let seq = u64::try_from(count)
            .ok()
            .and_then(|count| Seq::try_from(count).ok())
            .ok_or_else(|| corrupt("message_count", "did not move"))?;
        let before = Conversation {
            last_seq: seq.get().checked_sub(1).and_then(|n| Seq::try_from(n).ok()),
            last_activity_at: previous_activity,
            ..conversation.clone()
        };

        let (sender_kind, sender_id) = rows::sender_columns(message.sender);
        let folded = search::fold(message.body.as_str());
        let grams = search::bigrams(&folded);
        sqlx::query(
            "INSERT INTO messages (conversation_id, seq, client_id, sender_kind, sender_id, kind, \
                 body, sent_at, folded, grams) \
             VALUES ($1, $2, $3, $4::sender_kind, $5, $6::message_kind, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(seq_param(Some(seq)))
        .bind(message.client_id.as_ref().map(ToString::to_string))
        .bind(sender_kind)
        .bind(sender_id)
        .bind(message.kind.as_str())
        .bind(message.body.as_str())
        .bind(message.sent_at)
        .bind(folded)
        .bind(grams)
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;

        let stored = Message {
            conversation: message.conversation,
            seq,
            client_id: message.client_id.clone(),
            sender: message.sender,
            kind: message.kind,
            body: message.body.clone(),
            sent_at: message.sent_at,
        };
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
             WHERE m.conversation_id = $1 AND m.seq > $2 AND ($3 OR m.kind <> 'note') \
             ORDER BY m.seq LIMIT $4"
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
             WHERE m.conversation_id = $1 AND ($2::bigint IS NULL OR m.seq < $2) \
               AND ($3 OR m.kind <> 'note') \
             ORDER BY m.seq DESC LIMIT $4"
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
             WHERE conversation_id = $1 AND seq > $2 \
               AND NOT (sender_kind::text = $3 AND sender_id = $4) \
               AND ($5 OR kind <> 'note')",
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
            "SELECT seq FROM read_positions WHERE conversation_id = $1 \
             AND participant_kind = $2::participant_kind AND participant_id = $3",
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
             VALUES ($1, $2::participant_kind, $3, $4) \
             ON CONFLICT (conversation_id, participant_kind, participant_id) \
             DO UPDATE SET seq = EXCLUDED.seq",
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
             WHERE owner_id IS NULL OR owner_id = $1 ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(owner.map(AgentId::get))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::canned).collect()
    }

    async fn canned_reply(&mut self, id: CannedReplyId) -> Result<Option<CannedReply>, StoreError> {
        let sql = format!("SELECT {CANNED_COLUMNS} FROM canned_replies WHERE id = $1");
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
             VALUES ($1, $2, $3, $4, $5) RETURNING {CANNED_COLUMNS}"
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
            "UPDATE canned_replies SET owner_id = $2, shortcode = $3, title = $4, category = $5, \
             body = $6 WHERE id = $1",
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
        sqlx::query("DELETE FROM canned_replies WHERE id = $1")
            .bind(id.get())
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
