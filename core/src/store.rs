//! What `core` needs from storage.
//!
//! A store moves data and holds locks; it decides nothing. Every service operation runs in one
//! [`Tx`] from [`Store::begin`]. Before reading what it will decide on, the operation locks the
//! agents whose schedules it may change with [`Tx::lock_agents`]; the store holds those locks
//! (taken in ascending id order, so two callers cannot deadlock) until the transaction ends.
//! That makes check-then-write safe: a second admin touching the same agents waits until the
//! first has committed, then reads what the first wrote.
//!
//! A transaction dropped without [`Tx::commit`] leaves no trace, including when the future
//! driving it is cancelled half way.
//!
//! The contract every store must meet is the shared suite in the `shiftdesk-tests` crate.

use async_trait::async_trait;

use chrono::{DateTime, Utc};

use crate::account::{Account, PasswordHash, TokenVersion};
use crate::audit::{AuditChange, AuditQuery, AuditRecord};
use crate::canned::{CannedReply, NewCannedReply};
use crate::conversation::{
    Conversation, ConversationRefusal, Customer, NewConversation, NewCustomer, Transfer,
};
use crate::ids::{
    AgentId, AuditId, CannedReplyId, ConversationId, CustomerId, EntryId, LeaveId, Seq, ShiftId,
    SwapId,
};
use crate::leave::{LeaveRequest, LeaveState, NewLeave};
use crate::message::{Appended, Message, NewMessage, Participant};
use crate::routing::AgentLoad;
use crate::schedule::{NewEntry, ScheduleEntry};
use crate::search::{ConversationQuery, ConversationSummary, Page};
use crate::shift::{NewShift, ShiftTemplate};
use crate::staff::{Agent, NewAgent};
use crate::swap::{NewSwap, SwapRequest, SwapState};
use crate::team::TeamSettings;
use crate::text::{ExternalId, Login};
use crate::time::DateRange;

/// Any error a backend reports, kept for logs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A storage failure. Domain refusals never come from a store; these are faults or the last
/// line of defence firing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached (no server, no file, pool exhausted).
    #[error("the store cannot be reached")]
    Unavailable(#[source] BoxError),
    /// A database constraint refused a write the service had found acceptable: a concurrent
    /// writer got there first, or something wrote past the service.
    #[error("the store refused the write: {0}")]
    Constraint(Constraint),
    /// Stored data that no longer parses into a domain value.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Any other backend failure.
    #[error("the store failed")]
    Backend(#[source] BoxError),
}

/// The integrity rules a store enforces on its own, as the last line of defence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Constraint {
    /// Two working entries of one agent would overlap.
    #[error("working entries of one agent must not overlap")]
    Overlap,
    /// Two staff members would share a login.
    #[error("logins must be unique")]
    UniqueLogin,
    /// Two shift templates would share a name.
    #[error("shift names must be unique")]
    UniqueShiftName,
    /// A row refers to something that does not exist, or something referred to was removed.
    #[error("a reference points nowhere")]
    Reference,
    /// Two customers would share an external id.
    #[error("customer external ids must be unique")]
    UniqueExternalId,
    /// Two canned replies in one scope would share a shortcode.
    #[error("shortcodes must be unique within their scope")]
    UniqueShortcode,
}

/// Which schedule entries to read, ordered by agent, then start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryQuery {
    /// Entries whose date lies in this range.
    pub dates: DateRange,
    /// Only these agents; `None` for everyone.
    pub agents: Option<Vec<AgentId>>,
    /// Only entries that are worked (scheduled).
    pub working_only: bool,
}

/// Which leave requests to read, ordered by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaveQuery {
    /// Only these agents' requests; `None` for everyone's.
    pub agents: Option<Vec<AgentId>>,
    /// Only requests in one of these states; `None` for all.
    pub states: Option<Vec<LeaveState>>,
    /// Only requests whose dates overlap this range.
    pub overlapping: Option<DateRange>,
    /// Only requests after this one, for paging.
    pub after: Option<LeaveId>,
    /// At most this many; `None` for all.
    pub limit: Option<usize>,
}

/// Which swap requests to read, ordered by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwapQuery {
    /// Only requests this agent filed or is asked to take.
    pub agent: Option<AgentId>,
    /// Only requests in one of these states; `None` for all.
    pub states: Option<Vec<SwapState>>,
    /// Only requests that move this entry: the requester's, or the target's in an exchange.
    pub entry: Option<EntryId>,
    /// Only requests after this one, for paging.
    pub after: Option<SwapId>,
    /// At most this many; `None` for all.
    pub limit: Option<usize>,
}

/// The rule a new message must pass, decided by `core` and run by the store inside the atomic
/// step that stores the message: given the conversation as it was, either refuse the message
/// or say what the conversation becomes (reopened, woken up), if anything.
///
/// A store may ask it more than once for the same message (a batch retried message by
/// message), so it must give the same answer for the same conversation.
pub type MessageRule =
    Box<dyn Fn(&Conversation) -> Result<Option<Conversation>, ConversationRefusal> + Send + Sync>;

/// A place to keep Shiftdesk's data.
#[async_trait]
pub trait Store: Send + Sync {
    /// Opens a transaction.
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError>;

    /// Opens a transaction that will only read. A store may run it alongside writers (SQLite
    /// does, where every writing transaction holds the database's one write lock); the
    /// service never writes through it. By default, the same as [`Store::begin`].
    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.begin().await
    }

    /// Asks `rule` about the conversation as it is, then stores the message with the next
    /// sequence number of its conversation and applies what the rule said, all in one atomic
    /// step. A message whose client id its sender used before in the conversation is not stored
    /// again: the earlier one comes back and the rule's effect is not applied. A refused
    /// message leaves no trace.
    ///
    /// This is the hot path of every conversation. The default runs one transaction; a store
    /// may gather concurrent calls into one commit, as long as no call returns before its
    /// message is durable.
    async fn post_message(
        &self,
        message: &NewMessage,
        rule: MessageRule,
    ) -> Result<Result<Appended, ConversationRefusal>, StoreError> {
        post_in_one_transaction(self, message, &rule).await
    }
}

/// [`Store::post_message`] as one transaction of its own. Stores that batch messages fall
/// back on it, and must decide each message the same way.
pub async fn post_in_one_transaction<S: Store + ?Sized>(
    store: &S,
    message: &NewMessage,
    rule: &MessageRule,
) -> Result<Result<Appended, ConversationRefusal>, StoreError> {
    let mut tx = store.begin().await?;
    tx.lock_conversation(message.conversation).await?;
    let Some(before) = tx.conversation(message.conversation).await? else {
        return Err(StoreError::Constraint(Constraint::Reference));
    };
    let effect = match rule(&before) {
        Ok(effect) => effect,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let mut appended = tx.append_message(message).await?;
    if appended.duplicate {
        return Ok(Ok(appended));
    }
    if let Some(next) = effect {
        tx.update_conversation(&next).await?;
        appended.conversation = Conversation {
            last_seq: appended.conversation.last_seq,
            last_activity_at: appended.conversation.last_activity_at,
            ..next
        };
    }
    tx.commit().await?;
    Ok(Ok(appended))
}

/// The conversation half of a transaction. Every [`Tx`] has it.
///
/// Lock order, to keep transactions from waiting on each other in a circle: a transaction
/// locks at most one conversation, before any agent.
#[async_trait]
pub trait ConversationTx: Send {
    /// Locks one conversation until the transaction ends, waiting for other holders.
    async fn lock_conversation(&mut self, id: ConversationId) -> Result<(), StoreError>;

    /// One customer.
    async fn customer(&mut self, id: CustomerId) -> Result<Option<Customer>, StoreError>;
    /// The customers with these ids that exist, in id order.
    async fn customers(&mut self, ids: &[CustomerId]) -> Result<Vec<Customer>, StoreError>;
    /// The customer with this external id.
    async fn customer_by_external_id(
        &mut self,
        external_id: &ExternalId,
    ) -> Result<Option<Customer>, StoreError>;
    /// Records a customer; fails with [`Constraint::UniqueExternalId`] on a known one.
    async fn insert_customer(&mut self, customer: &NewCustomer) -> Result<Customer, StoreError>;

    /// One conversation.
    async fn conversation(
        &mut self,
        id: ConversationId,
    ) -> Result<Option<Conversation>, StoreError>;
    /// Opens a conversation: open, queued since its creation, no messages.
    async fn insert_conversation(
        &mut self,
        conversation: &NewConversation,
    ) -> Result<Conversation, StoreError>;
    /// Overwrites a conversation's status, topic, owner and handlers.
    async fn update_conversation(&mut self, conversation: &Conversation) -> Result<(), StoreError>;
    /// Conversations waiting for an agent, oldest in the queue first.
    async fn waiting_conversations(
        &mut self,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError>;
    /// Snoozed conversations whose snooze ends at or before `now`.
    async fn snoozes_due(&mut self, now: DateTime<Utc>) -> Result<Vec<Conversation>, StoreError>;
    /// Unresolved conversations `agent` holds, in id order.
    async fn held_by(&mut self, agent: AgentId) -> Result<Vec<Conversation>, StoreError>;
    /// Conversations matching `query`, newest first, with the latest message the query's
    /// scope shows.
    async fn conversations(
        &mut self,
        query: &ConversationQuery,
        page: &Page,
    ) -> Result<Vec<ConversationSummary>, StoreError>;
    /// How many conversations match `query`.
    async fn count_conversations(&mut self, query: &ConversationQuery) -> Result<u64, StoreError>;

    /// How many unresolved conversations each of `agents` holds, and when each was last given
    /// one. Agents holding none and never given one may be left out.
    async fn agent_loads(&mut self, agents: &[AgentId]) -> Result<Vec<AgentLoad>, StoreError>;
    /// Staff with a scheduled (working) entry whose span contains `at`, in id order.
    async fn agents_on_shift(&mut self, at: DateTime<Utc>) -> Result<Vec<AgentId>, StoreError>;

    /// Keeps a transfer record.
    async fn insert_transfer(&mut self, transfer: &Transfer) -> Result<(), StoreError>;
    /// A conversation's transfers, oldest first.
    async fn transfers(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Vec<Transfer>, StoreError>;

    /// Stores a message with the next sequence number and moves the conversation's last
    /// activity; or, if its sender used its client id before in the conversation, returns
    /// the message stored then and changes nothing. Client ids of different senders never
    /// match: a customer must not get a private note back by guessing its id.
    async fn append_message(&mut self, message: &NewMessage) -> Result<Appended, StoreError>;
    /// Up to `limit` messages after `after` (from the first if `None`), oldest first; private
    /// notes only if `notes`.
    async fn messages_after(
        &mut self,
        conversation: ConversationId,
        after: Option<Seq>,
        limit: usize,
        notes: bool,
    ) -> Result<Vec<Message>, StoreError>;
    /// Up to `limit` messages before `before` (the latest if `None`), oldest first; private
    /// notes only if `notes`.
    async fn messages_before(
        &mut self,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: usize,
        notes: bool,
    ) -> Result<Vec<Message>, StoreError>;
    /// How many messages come after `after` that `reader` did not write; private notes only
    /// if `notes`.
    async fn count_after(
        &mut self,
        conversation: ConversationId,
        after: Option<Seq>,
        reader: Participant,
        notes: bool,
    ) -> Result<u64, StoreError>;
    /// The last message `participant` has read.
    async fn read_position(
        &mut self,
        conversation: ConversationId,
        participant: Participant,
    ) -> Result<Option<Seq>, StoreError>;
    /// Records the last message `participant` has read.
    async fn set_read_position(
        &mut self,
        conversation: ConversationId,
        participant: Participant,
        seq: Seq,
    ) -> Result<(), StoreError>;

    /// Public canned replies and, if `owner` is given, that agent's personal ones.
    async fn canned_replies(
        &mut self,
        owner: Option<AgentId>,
    ) -> Result<Vec<CannedReply>, StoreError>;
    /// One canned reply.
    async fn canned_reply(&mut self, id: CannedReplyId) -> Result<Option<CannedReply>, StoreError>;
    /// Creates a canned reply; fails with [`Constraint::UniqueShortcode`] on a shortcode taken
    /// in its scope.
    async fn insert_canned_reply(
        &mut self,
        reply: &NewCannedReply,
    ) -> Result<CannedReply, StoreError>;
    /// Overwrites a canned reply.
    async fn update_canned_reply(&mut self, reply: &CannedReply) -> Result<(), StoreError>;
    /// Removes a canned reply.
    async fn delete_canned_reply(&mut self, id: CannedReplyId) -> Result<(), StoreError>;
}

/// One transaction: reads see everything committed before the locks were granted and the
/// transaction's own writes.
#[async_trait]
pub trait Tx: ConversationTx + Send {
    /// Locks these agents' schedules until the transaction ends, waiting for other holders.
    ///
    /// Called at most once per transaction, before the reads a decision rests on; locks are
    /// taken in ascending id order, and ids of agents that do not exist are ignored.
    async fn lock_agents(&mut self, agents: &[AgentId]) -> Result<(), StoreError>;

    /// The team settings (defaults until first written).
    async fn team(&mut self) -> Result<TeamSettings, StoreError>;
    /// Replaces the team settings.
    async fn put_team(&mut self, team: &TeamSettings) -> Result<(), StoreError>;

    /// The staff members with these ids that exist, in id order.
    async fn agents(&mut self, ids: &[AgentId]) -> Result<Vec<Agent>, StoreError>;
    /// Every staff member, in id order.
    async fn all_agents(&mut self) -> Result<Vec<Agent>, StoreError>;
    /// The staff member with this login.
    async fn agent_by_login(&mut self, login: &Login) -> Result<Option<Agent>, StoreError>;
    /// Creates a staff member; fails with [`Constraint::UniqueLogin`] on a taken login.
    async fn insert_agent(&mut self, agent: &NewAgent) -> Result<Agent, StoreError>;
    /// Overwrites a staff member; their password hash and token version stay as they are.
    async fn update_agent(&mut self, agent: &Agent) -> Result<(), StoreError>;

    /// The staff member with this id, with their password hash and token version.
    async fn account(&mut self, id: AgentId) -> Result<Option<Account>, StoreError>;
    /// The staff member with this login, with their password hash and token version.
    async fn account_by_login(&mut self, login: &Login) -> Result<Option<Account>, StoreError>;
    /// Replaces a staff member's password hash. The token version stays as it is: moving it
    /// is the service's decision, made in the same transaction.
    async fn set_password_hash(
        &mut self,
        id: AgentId,
        hash: &PasswordHash,
    ) -> Result<(), StoreError>;
    /// Moves a staff member's token version up by one and returns the new version.
    async fn bump_token_version(&mut self, id: AgentId) -> Result<TokenVersion, StoreError>;
    /// Whether any staff member exists. Until the transaction ends, no other transaction can
    /// add one: two servers starting on one empty database create one first admin.
    async fn staff_exists(&mut self) -> Result<bool, StoreError>;

    /// Every shift template, in id order.
    async fn shifts(&mut self) -> Result<Vec<ShiftTemplate>, StoreError>;
    /// Creates a shift template; fails with [`Constraint::UniqueShiftName`] on a taken name.
    async fn insert_shift(&mut self, shift: &NewShift) -> Result<ShiftTemplate, StoreError>;
    /// Overwrites a shift template.
    async fn update_shift(&mut self, shift: &ShiftTemplate) -> Result<(), StoreError>;
    /// Removes a shift template no entry refers to.
    async fn delete_shift(&mut self, id: ShiftId) -> Result<(), StoreError>;
    /// Whether any entry refers to the template.
    async fn shift_in_use(&mut self, id: ShiftId) -> Result<bool, StoreError>;

    /// Entries matching `query`, ordered by agent, then start.
    async fn entries(&mut self, query: &EntryQuery) -> Result<Vec<ScheduleEntry>, StoreError>;
    /// The entries with these ids that exist, in id order.
    async fn entries_by_id(&mut self, ids: &[EntryId]) -> Result<Vec<ScheduleEntry>, StoreError>;
    /// Creates entries, all scheduled, returned in the order given. Fails with
    /// [`Constraint::Overlap`] if a working entry would overlap another working entry of the
    /// same agent, and with [`Constraint::Reference`] for an unknown agent or shift.
    async fn insert_entries(
        &mut self,
        entries: &[NewEntry],
    ) -> Result<Vec<ScheduleEntry>, StoreError>;
    /// Overwrites entries (agent, shift, date, span, status, origin), with the same
    /// constraints as [`Tx::insert_entries`].
    async fn update_entries(&mut self, entries: &[ScheduleEntry]) -> Result<(), StoreError>;
    /// Removes entries.
    async fn delete_entries(&mut self, ids: &[EntryId]) -> Result<(), StoreError>;

    /// One leave request.
    async fn leave(&mut self, id: LeaveId) -> Result<Option<LeaveRequest>, StoreError>;
    /// Leave requests matching `query`, in id order.
    async fn leaves(&mut self, query: &LeaveQuery) -> Result<Vec<LeaveRequest>, StoreError>;
    /// Creates a pending leave request.
    async fn insert_leave(&mut self, leave: &NewLeave) -> Result<LeaveRequest, StoreError>;
    /// Overwrites a leave request's status.
    async fn update_leave(&mut self, leave: &LeaveRequest) -> Result<(), StoreError>;

    /// One swap request.
    async fn swap(&mut self, id: SwapId) -> Result<Option<SwapRequest>, StoreError>;
    /// Swap requests matching `query`, in id order.
    async fn swaps(&mut self, query: &SwapQuery) -> Result<Vec<SwapRequest>, StoreError>;
    /// Creates a pending swap request.
    async fn insert_swap(&mut self, swap: &NewSwap) -> Result<SwapRequest, StoreError>;
    /// Overwrites a swap request's status.
    async fn update_swap(&mut self, swap: &SwapRequest) -> Result<(), StoreError>;

    /// Appends a record to the audit log.
    async fn append_audit(&mut self, change: &AuditChange) -> Result<AuditId, StoreError>;
    /// Audit records matching `query`, newest first.
    async fn audit(&mut self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;

    /// Makes every write of the transaction durable and visible at once, and releases the
    /// locks.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}
