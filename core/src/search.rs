//! Finding conversations: one filter for listing, counting, searching and exporting, so they
//! never disagree, and the scope that limits what each caller may see.
//!
//! Text search is a case-insensitive substring match on message bodies. It does not split
//! words, so it works the same for scripts written without spaces: 退票 finds "我想退票".
//! The matching rules are written here once as functions; the memory store calls them, and
//! the database stores express the same rules in SQL, held to them by the contract suite.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::conversation::{Conversation, StatusKind};
use crate::ids::{AgentId, ConversationId, CustomerId};
use crate::message::{Message, Sender};
use crate::staff::Actor;
use crate::text::{SearchText, Topic};

/// The most conversations one page holds.
pub const MAX_PAGE: usize = 500;

/// Which timestamp a time window applies to; the caller always says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeField {
    /// When the conversation was opened.
    CreatedAt,
    /// When its last message was written.
    LastActivityAt,
}

/// Conversations whose `field` lies in `[from, until)`; an open end is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    /// The timestamp compared.
    pub field: TimeField,
    /// The first instant included.
    pub from: Option<DateTime<Utc>>,
    /// The first instant excluded.
    pub until: Option<DateTime<Utc>>,
}

impl TimeWindow {
    /// Whether `conversation`'s timestamp lies in the window.
    pub fn contains(&self, conversation: &Conversation) -> bool {
        let at = match self.field {
            TimeField::CreatedAt => conversation.created_at,
            TimeField::LastActivityAt => conversation.last_activity_at,
        };
        self.from.is_none_or(|from| from <= at) && self.until.is_none_or(|until| at < until)
    }
}

/// Whose conversations to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "agent", rename_all = "snake_case")]
pub enum AssigneeFilter {
    /// Held by this agent now.
    Agent(AgentId),
    /// Waiting in the queue.
    Unassigned,
}

/// The one filter over conversations. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationFilter {
    /// Only these states; empty for all.
    pub statuses: Vec<StatusKind>,
    /// Only these holders.
    pub assignee: Option<AssigneeFilter>,
    /// Only this customer's.
    pub customer: Option<CustomerId>,
    /// Only those whose creation or last activity lies in a window.
    pub time: Option<TimeWindow>,
    /// Only this topic.
    pub topic: Option<Topic>,
    /// Only those with a message whose body contains this text, ignoring case.
    pub text: Option<SearchText>,
}

/// What a caller may see. Decided from the actor by [`Scope::of`], never by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Scope {
    /// Everything: admins and Shiftdesk itself.
    All,
    /// Conversations the agent holds now or held earlier (before a transfer, or before it was
    /// resolved and routed to someone else): they keep reading what they worked on.
    HandledBy(AgentId),
    /// The customer's own conversations, without private notes.
    Customer(CustomerId),
}

impl Scope {
    /// The scope of `actor`.
    pub fn of(actor: &Actor) -> Scope {
        match *actor {
            Actor::System => Scope::All,
            Actor::Staff { .. } if actor.is_admin() => Scope::All,
            Actor::Staff { id, .. } => Scope::HandledBy(id),
            Actor::Customer { id } => Scope::Customer(id),
        }
    }

    /// Whether the scope includes private notes.
    pub fn sees_notes(&self) -> bool {
        !matches!(self, Scope::Customer(_))
    }

    /// Whether `conversation` lies in the scope.
    pub fn includes(&self, conversation: &Conversation) -> bool {
        match self {
            Scope::All => true,
            Scope::HandledBy(agent) => conversation.handled_by.contains(agent),
            Scope::Customer(customer) => conversation.customer == *customer,
        }
    }

    /// Whether `message` lies in the scope (its conversation being in it).
    pub fn shows(&self, message: &Message) -> bool {
        self.sees_notes() || message.is_public()
    }
}

/// A filter applied within a scope: what list, count, search and export all take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationQuery {
    /// What the caller asked for.
    pub filter: ConversationFilter,
    /// What the caller may see.
    pub scope: Scope,
}

impl ConversationQuery {
    /// Whether `conversation` matches everything but the text, which needs its messages.
    pub fn matches_fields(&self, conversation: &Conversation) -> bool {
        let filter = &self.filter;
        self.scope.includes(conversation)
            && (filter.statuses.is_empty() || filter.statuses.contains(&conversation.status.kind()))
            && filter.assignee.is_none_or(|assignee| match assignee {
                AssigneeFilter::Agent(agent) => conversation.assignee() == Some(agent),
                AssigneeFilter::Unassigned => conversation.assignee().is_none(),
            })
            && filter
                .customer
                .is_none_or(|customer| conversation.customer == customer)
            && filter
                .time
                .is_none_or(|window| window.contains(conversation))
            && filter
                .topic
                .as_ref()
                .is_none_or(|topic| conversation.topic.as_ref() == Some(topic))
    }

    /// Whether `message` satisfies the text part: visible in the scope and containing the
    /// text. Always true without a text.
    pub fn matches_message(&self, message: &Message, folded_body: &str) -> bool {
        match &self.filter.text {
            None => true,
            Some(text) => self.scope.shows(message) && folded_body.contains(&fold(text.as_str())),
        }
    }
}

/// Text as search compares it: lower-cased, Unicode-aware, one character at a time.
///
/// Folding each character on its own, without looking at its neighbours, keeps substring
/// search sound: the fold of a text holds the fold of each of its parts, so a query folded
/// alone is found in a body folded whole. Greek needs two steps more, because one word is
/// spelt differently by case. A capital sigma lower-cases to final ς at the end of a word and
/// to σ elsewhere, so every sigma folds to σ; and capitals drop the tonos (ΟΔΟΣ is οδός), so
/// the tonos is dropped. Stored folds depend on this function: a store that keeps them must
/// refold its messages when it changes.
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(fold_greek)
        .collect()
}

/// One lower-case character with every sigma as σ and without a Greek tonos.
fn fold_greek(c: char) -> char {
    match c {
        'ς' => 'σ',
        'ά' => 'α',
        'έ' => 'ε',
        'ή' => 'η',
        'ί' => 'ι',
        'ό' => 'ο',
        'ύ' => 'υ',
        'ώ' => 'ω',
        'ΐ' => 'ϊ',
        'ΰ' => 'ϋ',
        other => other,
    }
}

/// The distinct pairs of adjacent characters of folded `text`, for stores that index message
/// bodies by character bigrams (which serve unsegmented scripts, unlike word indexes).
pub fn bigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = fold(text).chars().collect();
    let mut grams: Vec<String> = chars.windows(2).map(|pair| pair.iter().collect()).collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// Where a page of conversations starts: newest first, before a conversation id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Only conversations with smaller ids than this (the last one of the previous page).
    pub before: Option<ConversationId>,
    /// At most this many.
    pub limit: usize,
}

/// A conversation as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    /// The conversation.
    pub conversation: Conversation,
    /// The latest message the caller may see, for a preview line.
    pub preview: Option<Message>,
}

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// One row per message, with its conversation's fields repeated (one row with empty
    /// message fields for a conversation without messages); a header row first.
    Csv,
    /// One JSON object per conversation, with its messages in order.
    JsonLines,
}

/// The CSV header row, ending in a line break.
pub fn csv_header() -> String {
    "conversation_id,customer_id,status,topic,assignee_id,created_at,last_activity_at,seq,\
     sent_at,sender_type,sender_id,kind,body\r\n"
        .to_owned()
}

/// CSV rows for one conversation's messages (RFC 4180 quoting, CRLF line ends).
pub fn csv_rows(conversation: &Conversation, messages: &[Message]) -> String {
    let mut out = String::new();
    // A conversation without messages still gets a row, its message fields empty, so that a
    // CSV export lists the same conversations as the list, the count and JSON Lines.
    let rows = messages.iter().map(Some);
    for message in rows.chain(messages.is_empty().then_some(None)) {
        let [seq, sent_at, sender_type, sender, kind, body] = match message {
            Some(message) => [
                message.seq.to_string(),
                message.sent_at.to_rfc3339(),
                message.sender.type_name().to_owned(),
                sender_id(message.sender),
                message.kind.as_str().to_owned(),
                message.body.to_string(),
            ],
            None => Default::default(),
        };
        let fields = [
            conversation.id.to_string(),
            conversation.customer.to_string(),
            conversation.status.kind().to_string(),
            conversation
                .topic
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            conversation
                .assignee()
                .map(|agent| agent.to_string())
                .unwrap_or_default(),
            conversation.created_at.to_rfc3339(),
            conversation.last_activity_at.to_rfc3339(),
            seq,
            sent_at,
            sender_type,
            sender,
            kind,
            body,
        ];
        let quoted: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One JSON line for a conversation and its messages, ending in a line break.
pub fn json_line(conversation: &Conversation, messages: &[Message]) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        conversation: &'a Conversation,
        messages: &'a [Message],
    }
    let mut line = serde_json::to_string(&Line {
        conversation,
        messages,
    })
    .unwrap_or_else(|error| format!("{{\"error\":{:?}}}", error.to_string()));
    line.push('\n');
    line
}

fn sender_id(sender: Sender) -> String {
    match sender {
        Sender::Customer(id) => id.to_string(),
        Sender::Agent(id) => id.to_string(),
        Sender::System => String::new(),
    }
}

/// Quotes a field if it holds a comma, quote or line break; doubles inner quotes. A field
/// starting with `=`, `+`, `-` or `@` gets a leading apostrophe so spreadsheets do not run it
/// as a formula.
fn csv_field(field: &str) -> String {
    let guarded = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_matches_unsegmented_scripts_and_any_case() {
        assert!(fold("我想退票").contains(&fold("退票")));
        assert!(fold("Hello WORLD").contains(&fold("o wor")));
        assert!(fold("ПРИВЕТ мир").contains(&fold("привет")));
    }

    #[test]
    fn greek_folds_alike_in_capitals_and_small_letters_with_or_without_final_sigma() {
        let folded = ["ΟΔΟΣ", "οδος", "οδός", "ΟΔΌΣ", "οδοσ"].map(fold);
        assert!(folded.iter().all(|f| *f == "οδοσ"), "{folded:?}");
        assert!(fold("Η ΟΔΟΣ ΕΙΝΑΙ ΚΛΕΙΣΤΗ").contains(&fold("οδός")));
        assert!(fold("ΟΔΟΣΗΜΑΝΣΗ").contains(&fold("ΟΔΟΣ")));
        assert_eq!(bigrams("ΟΔΟΣ"), bigrams("οδός"));
    }

    #[test]
    fn bigrams_cover_every_adjacent_pair_once() {
        assert_eq!(bigrams("我想退票"), vec!["想退", "我想", "退票"]);
        assert_eq!(bigrams("aAa"), vec!["aa"]);
        assert!(bigrams("x").is_empty());
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }

    proptest::proptest! {
        #[test]
        fn folding_is_one_character_at_a_time_and_settles_at_once(
            a in "[a-zA-Zа-яА-Яα-ωΑ-Ωάέήίόύώςΐΰ 我退票]{0,12}",
            b in "\\PC{0,12}",
        ) {
            let whole = format!("{a}{b}");
            proptest::prop_assert_eq!(fold(&whole), format!("{}{}", fold(&a), fold(&b)));
            proptest::prop_assert_eq!(fold(&fold(&whole)), fold(&whole));
            proptest::prop_assert_eq!(bigrams(&fold(&whole)), bigrams(&whole));
        }
    }
}
