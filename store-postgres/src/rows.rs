//! Rows into domain values. Every value goes back through its domain parser, so a row that
//! was edited into something the domain cannot hold is reported as corrupt, not passed on.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::de::DeserializeOwned;
use shiftdesk_core::account::{Account, PasswordHash, TokenVersion};
use shiftdesk_core::audit::{AuditChange, AuditRecord};
use shiftdesk_core::canned::{CannedReply, ReplyScope, Template};
use shiftdesk_core::conversation::{Conversation, ConversationStatus, Customer, Owner, Transfer};
use shiftdesk_core::ids::Seq;
use shiftdesk_core::input::Problem;
use shiftdesk_core::leave::{LeaveKind, LeaveRequest, LeaveStatus};
use shiftdesk_core::message::{Message, MessageKind, Sender};
use shiftdesk_core::schedule::{EntryOrigin, EntryStatus, ScheduleEntry};
use shiftdesk_core::shift::{ShiftTemplate, ShiftTimes};
use shiftdesk_core::staff::{Actor, Agent, Role};
use shiftdesk_core::store::StoreError;
use shiftdesk_core::swap::{SwapKind, SwapRequest, SwapStatus};
use shiftdesk_core::text::{
    ClientMessageId, DisplayName, ExternalId, Login, MessageBody, Note, ShiftName, Shortcode,
    Skill, Title, Topic,
};
use shiftdesk_core::time::{DateRange, Span};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Decode, Postgres, Row, Type};

use crate::error::corrupt;

/// A column's value.
pub(crate) fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, StoreError>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(column).map_err(|error| corrupt(column, error))
}

/// A column holding a typed id.
pub(crate) fn id<T: TryFrom<i64, Error = Problem>>(
    row: &PgRow,
    column: &str,
) -> Result<T, StoreError> {
    let raw: i64 = get(row, column)?;
    T::try_from(raw).map_err(|problem| corrupt(column, problem))
}

/// A nullable column holding a typed id.
pub(crate) fn id_opt<T: TryFrom<i64, Error = Problem>>(
    row: &PgRow,
    column: &str,
) -> Result<Option<T>, StoreError> {
    let raw: Option<i64> = get(row, column)?;
    raw.map(|raw| T::try_from(raw).map_err(|problem| corrupt(column, problem)))
        .transpose()
}

/// A text column parsed by a domain parser.
pub(crate) fn parsed<T>(
    row: &PgRow,
    column: &str,
    parse: impl Fn(&str) -> Result<T, Problem>,
) -> Result<T, StoreError> {
    let raw: String = get(row, column)?;
    parse(&raw).map_err(|problem| corrupt(column, problem))
}

/// A nullable text column parsed by a domain parser.
pub(crate) fn parsed_opt<T>(
    row: &PgRow,
    column: &str,
    parse: impl Fn(&str) -> Result<T, Problem>,
) -> Result<Option<T>, StoreError> {
    let raw: Option<String> = get(row, column)?;
    raw.map(|raw| parse(&raw).map_err(|problem| corrupt(column, problem)))
        .transpose()
}

/// A jsonb column holding a serialized domain value.
pub(crate) fn json<T: DeserializeOwned>(row: &PgRow, column: &str) -> Result<T, StoreError> {
    let Json(value): Json<T> = get(row, column)?;
    Ok(value)
}

/// A nullable jsonb column holding a serialized domain value.
pub(crate) fn json_opt<T: DeserializeOwned>(
    row: &PgRow,
    column: &str,
) -> Result<Option<T>, StoreError> {
    let value: Option<Json<T>> = get(row, column)?;
    Ok(value.map(|Json(value)| value))
}

fn dates(row: &PgRow) -> Result<DateRange, StoreError> {
    let first: NaiveDate = get(row, "first_date")?;
    let last: NaiveDate = get(row, "last_date")?;
    DateRange::new(first, last).map_err(|problem| corrupt("first_date", problem))
}

fn unknown(column: &str, value: &str) -> StoreError {
    corrupt(column, format!("unknown value {value:?}"))
}

/// The columns [`entry`] reads, by position: see [`entry_at`].
pub(crate) const ENTRY_COLUMNS: &str = "id, agent_id, shift_id, work_date, lower(during) AS starts, \
     upper(during) AS ends, status::text AS status, leave_id, swapped_to, swap_id, \
     covers_agent, cover_swap";

/// Where [`entry`] finds each of [`ENTRY_COLUMNS`], with the name errors give it. A week's
/// schedule is thousands of rows, and looking twelve columns up by name in each took longer
/// than decoding them.
mod entry_at {
    /// A column's position in [`super::ENTRY_COLUMNS`] and its name.
    pub(super) type At = (usize, &'static str);

    pub(super) const ID: At = (0, "id");
    pub(super) const AGENT: At = (1, "agent_id");
    pub(super) const SHIFT: At = (2, "shift_id");
    pub(super) const DATE: At = (3, "work_date");
    pub(super) const STARTS: At = (4, "starts");
    pub(super) const ENDS: At = (5, "ends");
    pub(super) const STATUS: At = (6, "status");
    pub(super) const LEAVE: At = (7, "leave_id");
    pub(super) const SWAPPED_TO: At = (8, "swapped_to");
    pub(super) const SWAP: At = (9, "swap_id");
    pub(super) const COVERS: At = (10, "covers_agent");
    pub(super) const COVER_SWAP: At = (11, "cover_swap");

    /// Every one, for the test that holds them to the column list.
    #[cfg(test)]
    pub(super) const ALL: [At; 12] = [
        ID, AGENT, SHIFT, DATE, STARTS, ENDS, STATUS, LEAVE, SWAPPED_TO, SWAP, COVERS, COVER_SWAP,
    ];
}

/// A column's value, found by position.
fn get_at<'r, T>(row: &'r PgRow, (index, column): entry_at::At) -> Result<T, StoreError>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(index).map_err(|error| corrupt(column, error))
}

/// A column holding a typed id, found by position.
fn id_at<T: TryFrom<i64, Error = Problem>>(row: &PgRow, at: entry_at::At) -> Result<T, StoreError> {
    let raw: i64 = get_at(row, at)?;
    T::try_from(raw).map_err(|problem| corrupt(at.1, problem))
}

/// A nullable column holding a typed id, found by position.
fn id_opt_at<T: TryFrom<i64, Error = Problem>>(
    row: &PgRow,
    at: entry_at::At,
) -> Result<Option<T>, StoreError> {
    let raw: Option<i64> = get_at(row, at)?;
    raw.map(|raw| T::try_from(raw).map_err(|problem| corrupt(at.1, problem)))
        .transpose()
}

/// A row of [`ENTRY_COLUMNS`], which must come first and in that order.
pub(crate) fn entry(row: &PgRow) -> Result<ScheduleEntry, StoreError> {
    let status = match get_at::<&str>(row, entry_at::STATUS)? {
        "scheduled" => EntryStatus::Scheduled,
        "on_leave" => EntryStatus::OnLeave {
            leave: id_at(row, entry_at::LEAVE)?,
        },
        "swapped_out" => EntryStatus::SwappedOut {
            to: id_at(row, entry_at::SWAPPED_TO)?,
            swap: id_at(row, entry_at::SWAP)?,
        },
        other => return Err(unknown("status", other)),
    };
    let covers = id_opt_at(row, entry_at::COVERS)?;
    let origin = match (covers, id_opt_at(row, entry_at::COVER_SWAP)?) {
        (Some(covers), Some(swap)) => EntryOrigin::Swap { covers, swap },
        _ => EntryOrigin::Assigned,
    };
    let starts: DateTime<Utc> = get_at(row, entry_at::STARTS)?;
    let ends: DateTime<Utc> = get_at(row, entry_at::ENDS)?;
    Ok(ScheduleEntry {
        id: id_at(row, entry_at::ID)?,
        agent: id_at(row, entry_at::AGENT)?,
        shift: id_at(row, entry_at::SHIFT)?,
        date: get_at(row, entry_at::DATE)?,
        span: Span::new(starts, ends).map_err(|problem| corrupt("during", problem))?,
        status,
        origin,
    })
}

/// The columns [`agent`] reads.
pub(crate) const AGENT_COLUMNS: &str =
    "id, login, display_name, role::text AS role, active, skills, capacity";

pub(crate) fn agent(row: &PgRow) -> Result<Agent, StoreError> {
    let role: String = get(row, "role")?;
    let role = match role.as_str() {
        "agent" => Role::Agent,
        "admin" => Role::Admin,
        other => return Err(unknown("role", other)),
    };
    let skills: Vec<String> = get(row, "skills")?;
    let skills = skills
        .iter()
        .map(|skill| Skill::parse(skill).map_err(|problem| corrupt("skills", problem)))
        .collect::<Result<_, _>>()?;
    let capacity: Option<i32> = get(row, "capacity")?;
    let capacity = capacity
        .map(|raw| {
            u32::try_from(raw)
                .map_err(|_| Problem::OutOfRange { min: 1, max: 1000 })
                .and_then(shiftdesk_core::staff::Capacity::new)
                .map_err(|problem| corrupt("capacity", problem))
        })
        .transpose()?;
    Ok(Agent {
        id: id(row, "id")?,
        login: parsed(row, "login", Login::parse)?,
        display_name: parsed(row, "display_name", DisplayName::parse)?,
        role,
        active: get(row, "active")?,
        skills,
        capacity,
    })
}

/// The columns [`account`] reads: [`AGENT_COLUMNS`] and the credentials.
pub(crate) const ACCOUNT_COLUMNS: &str = "id, login, display_name, role::text AS role, active, skills, capacity, password_hash, token_version";

pub(crate) fn account(row: &PgRow) -> Result<Account, StoreError> {
    let token_version: i64 = get(row, "token_version")?;
    Ok(Account {
        agent: agent(row)?,
        password_hash: parsed_opt(row, "password_hash", PasswordHash::parse)?,
        token_version: TokenVersion::new(token_version)
            .map_err(|problem| corrupt("token_version", problem))?,
    })
}

pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Agent => "agent",
        Role::Admin => "admin",
    }
}

/// The columns [`shift`] reads.
pub(crate) const SHIFT_COLUMNS: &str = "id, name, starts_at, ends_at, required_skill";

pub(crate) fn shift(row: &PgRow) -> Result<ShiftTemplate, StoreError> {
    let starts: NaiveTime = get(row, "starts_at")?;
    let ends: NaiveTime = get(row, "ends_at")?;
    Ok(ShiftTemplate {
        id: id(row, "id")?,
        name: parsed(row, "name", ShiftName::parse)?,
        times: ShiftTimes::new(starts, ends).map_err(|problem| corrupt("ends_at", problem))?,
        required_skill: parsed_opt(row, "required_skill", Skill::parse)?,
    })
}

/// The columns [`leave`] reads.
pub(crate) const LEAVE_COLUMNS: &str = "id, agent_id, kind::text AS kind, first_date, last_date, \
     reason, requested_by, requested_at, state::text AS state, decided_by, decided_at, \
     decision_note";

pub(crate) fn leave(row: &PgRow) -> Result<LeaveRequest, StoreError> {
    let kind: String = get(row, "kind")?;
    let kind = LeaveKind::ALL
        .into_iter()
        .find(|candidate| candidate.as_str() == kind)
        .ok_or_else(|| unknown("kind", &kind))?;
    let state: String = get(row, "state")?;
    let decided = || -> Result<(Actor, DateTime<Utc>), StoreError> {
        let by = json_opt(row, "decided_by")?.ok_or_else(|| corrupt("decided_by", "missing"))?;
        let at: Option<DateTime<Utc>> = get(row, "decided_at")?;
        Ok((by, at.ok_or_else(|| corrupt("decided_at", "missing"))?))
    };
    let note = || parsed_opt(row, "decision_note", Note::parse);
    let status = match state.as_str() {
        "pending" => LeaveStatus::Pending,
        "approved" => {
            let (by, at) = decided()?;
            LeaveStatus::Approved { by, at }
        }
        "rejected" => {
            let (by, at) = decided()?;
            LeaveStatus::Rejected {
                by,
                at,
                note: note()?,
            }
        }
        "revoked" => {
            let (by, at) = decided()?;
            LeaveStatus::Revoked {
                by,
                at,
                note: note()?,
            }
        }
        "cancelled" => {
            let at: Option<DateTime<Utc>> = get(row, "decided_at")?;
            LeaveStatus::Cancelled {
                at: at.ok_or_else(|| corrupt("decided_at", "missing"))?,
            }
        }
        other => return Err(unknown("state", other)),
    };
    Ok(LeaveRequest {
        id: id(row, "id")?,
        agent: id(row, "agent_id")?,
        kind,
        dates: dates(row)?,
        reason: parsed_opt(row, "reason", Note::parse)?,
        requested_by: json(row, "requested_by")?,
        requested_at: get(row, "requested_at")?,
        status,
    })
}

/// A request's state as its columns: the state's name, who decided, when, and the note.
pub(crate) struct StateColumns {
    pub(crate) state: &'static str,
    pub(crate) by: Option<Json<Actor>>,
    pub(crate) at: Option<DateTime<Utc>>,
    pub(crate) note: Option<String>,
}

impl StateColumns {
    fn new(state: &'static str, by: Option<Actor>, at: Option<DateTime<Utc>>) -> Self {
        Self {
            state,
            by: by.map(Json),
            at,
            note: None,
        }
    }

    fn noted(self, note: &Option<Note>) -> Self {
        Self {
            note: note.as_ref().map(ToString::to_string),
            ..self
        }
    }
}

/// A leave status as the columns state, decided_by, decided_at, decision_note.
pub(crate) fn leave_status_columns(status: &LeaveStatus) -> StateColumns {
    match status {
        LeaveStatus::Pending => StateColumns::new("pending", None, None),
        LeaveStatus::Approved { by, at } => StateColumns::new("approved", Some(*by), Some(*at)),
        LeaveStatus::Rejected { by, at, note } => {
            StateColumns::new("rejected", Some(*by), Some(*at)).noted(note)
        }
        LeaveStatus::Cancelled { at } => StateColumns::new("cancelled", None, Some(*at)),
        LeaveStatus::Revoked { by, at, note } => {
            StateColumns::new("revoked", Some(*by), Some(*at)).noted(note)
        }
    }
}

/// The columns [`swap`] reads.
pub(crate) const SWAP_COLUMNS: &str = "id, requester_id, requester_entry, target_id, \
     target_entry, note, requested_at, state::text AS state, state_at, decided_by, decision_note";

pub(crate) fn swap(row: &PgRow) -> Result<SwapRequest, StoreError> {
    let state: String = get(row, "state")?;
    let at = || -> Result<DateTime<Utc>, StoreError> {
        let at: Option<DateTime<Utc>> = get(row, "state_at")?;
        at.ok_or_else(|| corrupt("state_at", "missing"))
    };
    let by = || -> Result<Actor, StoreError> {
        json_opt(row, "decided_by")?.ok_or_else(|| corrupt("decided_by", "missing"))
    };
    let status = match state.as_str() {
        "pending" => SwapStatus::Pending,
        "accepted" => SwapStatus::Accepted { at: at()? },
        "declined" => SwapStatus::Declined { at: at()? },
        "cancelled" => SwapStatus::Cancelled { at: at()? },
        "approved" => SwapStatus::Approved {
            by: by()?,
            at: at()?,
        },
        "rejected" => SwapStatus::Rejected {
            by: by()?,
            at: at()?,
            note: parsed_opt(row, "decision_note", Note::parse)?,
        },
        other => return Err(unknown("state", other)),
    };
    let kind = match id_opt(row, "target_entry")? {
        Some(target_entry) => SwapKind::Exchange { target_entry },
        None => SwapKind::Cover,
    };
    Ok(SwapRequest {
        id: id(row, "id")?,
        requester: id(row, "requester_id")?,
        requester_entry: id(row, "requester_entry")?,
        target: id(row, "target_id")?,
        kind,
        note: parsed_opt(row, "note", Note::parse)?,
        requested_at: get(row, "requested_at")?,
        status,
    })
}

/// A swap status as the columns state, state_at, decided_by, decision_note.
pub(crate) fn swap_status_columns(status: &SwapStatus) -> StateColumns {
    match status {
        SwapStatus::Pending => StateColumns::new("pending", None, None),
        SwapStatus::Accepted { at } => StateColumns::new("accepted", None, Some(*at)),
        SwapStatus::Declined { at } => StateColumns::new("declined", None, Some(*at)),
        SwapStatus::Cancelled { at } => StateColumns::new("cancelled", None, Some(*at)),
        SwapStatus::Approved { by, at } => StateColumns::new("approved", Some(*by), Some(*at)),
        SwapStatus::Rejected { by, at, note } => {
            StateColumns::new("rejected", Some(*by), Some(*at)).noted(note)
        }
    }
}

/// The columns [`audit`] reads.
pub(crate) const AUDIT_COLUMNS: &str =
    "id, at, actor, request_id, action::text AS action, subject, before, after";

pub(crate) fn audit(row: &PgRow) -> Result<AuditRecord, StoreError> {
    let action: String = get(row, "action")?;
    let action = serde_json::from_value(serde_json::Value::String(action))
        .map_err(|error| corrupt("action", error))?;
    let request_id: Option<String> = get(row, "request_id")?;
    Ok(AuditRecord {
        id: id(row, "id")?,
        change: AuditChange {
            at: get(row, "at")?,
            actor: json(row, "actor")?,
            request_id: request_id.map(|id| shiftdesk_core::staff::RequestId::new(&id)),
            action,
            subject: json(row, "subject")?,
            before: json_opt(row, "before")?,
            after: json_opt(row, "after")?,
        },
    })
}

/// The columns [`customer`] reads.
pub(crate) const CUSTOMER_COLUMNS: &str = "id, external_id, display_name";

pub(crate) fn customer(row: &PgRow) -> Result<Customer, StoreError> {
    Ok(Customer {
        id: id(row, "id")?,
        external_id: parsed(row, "external_id", ExternalId::parse)?,
        display_name: parsed(row, "display_name", DisplayName::parse)?,
    })
}

/// The columns [`conversation`] reads, from [`CONVERSATIONS`].
pub(crate) const CONVERSATION_COLUMNS: &str = "c.id, c.customer_id, c.topic, \
     c.state::text AS state, c.snoozed_until, c.resolved_at, c.assignee_id, c.owner_since, \
     c.handled_by, c.created_at, k.last_activity_at, k.message_count";

/// Conversations with their counter rows, aliased `c` and `k`.
pub(crate) const CONVERSATIONS: &str =
    "conversations c JOIN conversation_counters k ON k.conversation_id = c.id";

pub(crate) fn conversation(row: &PgRow) -> Result<Conversation, StoreError> {
    let state: String = get(row, "state")?;
    let status = match state.as_str() {
        "open" => ConversationStatus::Open,
        "pending" => ConversationStatus::Pending,
        "snoozed" => {
            let until: Option<DateTime<Utc>> = get(row, "snoozed_until")?;
            ConversationStatus::Snoozed {
                until: until.ok_or_else(|| corrupt("snoozed_until", "missing"))?,
            }
        }
        "resolved" => {
            let at: Option<DateTime<Utc>> = get(row, "resolved_at")?;
            ConversationStatus::Resolved {
                at: at.ok_or_else(|| corrupt("resolved_at", "missing"))?,
            }
        }
        other => return Err(unknown("state", other)),
    };
    let since: DateTime<Utc> = get(row, "owner_since")?;
    let owner = match id_opt(row, "assignee_id")? {
        Some(agent) => Owner::Agent { agent, since },
        None => Owner::Queued { since },
    };
    let handled: Vec<i64> = get(row, "handled_by")?;
    let handled_by = handled
        .into_iter()
        .map(|raw| {
            raw.try_into()
                .map_err(|problem| corrupt("handled_by", problem))
        })
        .collect::<Result<_, _>>()?;
    let count: i64 = get(row, "message_count")?;
    let last_seq = u64::try_from(count)
        .ok()
        .and_then(|count| Seq::try_from(count).ok());
    Ok(Conversation {
        id: id(row, "id")?,
        customer: id(row, "customer_id")?,
        topic: parsed_opt(row, "topic", Topic::parse)?,
        status,
        owner,
        handled_by,
        created_at: get(row, "created_at")?,
        last_activity_at: get(row, "last_activity_at")?,
        last_seq,
    })
}

/// A conversation status as the columns state, snoozed_until, resolved_at.
pub(crate) fn conversation_status_columns(
    status: ConversationStatus,
) -> (&'static str, Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    match status {
        ConversationStatus::Open => ("open", None, None),
        ConversationStatus::Pending => ("pending", None, None),
        ConversationStatus::Snoozed { until } => ("snoozed", Some(until), None),
        ConversationStatus::Resolved { at } => ("resolved", None, Some(at)),
    }
}

/// The columns [`message`] reads, for a table aliased `m`.
pub(crate) const MESSAGE_COLUMNS: &str = "m.conversation_id, m.seq, m.client_id, \
     m.sender_kind::text AS sender_kind, m.sender_id, m.kind::text AS kind, m.body, m.sent_at";

pub(crate) fn message(row: &PgRow) -> Result<Message, StoreError> {
    message_with(row, "")
}

/// A message read from columns with a prefix (`p_` for a preview joined to a conversation).
pub(crate) fn message_with(row: &PgRow, prefix: &str) -> Result<Message, StoreError> {
    let column = |name: &str| format!("{prefix}{name}");
    let sender_kind: String = get(row, &column("sender_kind"))?;
    let sender = match sender_kind.as_str() {
        "customer" => Sender::Customer(id(row, &column("sender_id"))?),
        "agent" => Sender::Agent(id(row, &column("sender_id"))?),
        "system" => Sender::System,
        other => return Err(unknown("sender_kind", other)),
    };
    let kind: String = get(row, &column("kind"))?;
    let kind = match kind.as_str() {
        "message" => MessageKind::Message,
        "note" => MessageKind::Note,
        "system" => MessageKind::System,
        other => return Err(unknown("kind", other)),
    };
    let seq: i64 = get(row, &column("seq"))?;
    let seq = u64::try_from(seq)
        .map_err(|_| Problem::OutOfRange {
            min: 1,
            max: i64::MAX,
        })
        .and_then(Seq::try_from)
        .map_err(|problem| corrupt("seq", problem))?;
    Ok(Message {
        conversation: id(row, &column("conversation_id"))?,
        seq,
        client_id: parsed_opt(row, &column("client_id"), ClientMessageId::parse)?,
        sender,
        kind,
        body: parsed(row, &column("body"), MessageBody::parse)?,
        sent_at: get(row, &column("sent_at"))?,
    })
}

/// A sender as the columns sender_kind, sender_id.
pub(crate) fn sender_columns(sender: Sender) -> (&'static str, Option<i64>) {
    match sender {
        Sender::Customer(id) => ("customer", Some(id.get())),
        Sender::Agent(id) => ("agent", Some(id.get())),
        Sender::System => ("system", None),
    }
}

/// The columns [`transfer`] reads.
pub(crate) const TRANSFER_COLUMNS: &str =
    "conversation_id, from_agent, to_agent, moved_by, note, at";

pub(crate) fn transfer(row: &PgRow) -> Result<Transfer, StoreError> {
    Ok(Transfer {
        conversation: id(row, "conversation_id")?,
        from: id_opt(row, "from_agent")?,
        to: id(row, "to_agent")?,
        by: json(row, "moved_by")?,
        note: parsed_opt(row, "note", Note::parse)?,
        at: get(row, "at")?,
    })
}

/// The columns [`canned`] reads.
pub(crate) const CANNED_COLUMNS: &str = "id, owner_id, shortcode, title, category, body";

pub(crate) fn canned(row: &PgRow) -> Result<CannedReply, StoreError> {
    let scope = match id_opt(row, "owner_id")? {
        Some(owner) => ReplyScope::Personal { owner },
        None => ReplyScope::Public,
    };
    Ok(CannedReply {
        id: id(row, "id")?,
        scope,
        shortcode: parsed(row, "shortcode", Shortcode::parse)?,
        title: parsed(row, "title", Title::parse)?,
        category: parsed_opt(row, "category", Topic::parse)?,
        body: parsed(row, "body", Template::parse)?,
    })
}

/// A canned reply's scope as its owner column.
pub(crate) fn owner_column(scope: ReplyScope) -> Option<i64> {
    match scope {
        ReplyScope::Public => None,
        ReplyScope::Personal { owner } => Some(owner.get()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_columns_are_read_where_the_column_list_puts_them() {
        let named: Vec<&str> = ENTRY_COLUMNS
            .split(',')
            .map(|column| column.rsplit(" AS ").next().unwrap_or(column).trim())
            .collect();
        let read: Vec<&str> = entry_at::ALL.iter().map(|&(_, name)| name).collect();
        assert_eq!(named, read);
        for (position, (index, name)) in entry_at::ALL.iter().enumerate() {
            assert_eq!(position, *index, "{name}");
        }
    }
}
