//! Finding conversations: one filter that listing, counting and exporting apply alike,
//! substring search in any script and any case, exports that read back as stored, and who
//! sees what (agents their own, customers theirs without notes) everywhere.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use shiftdesk_core::conversation::{Conversation, ConversationStatus, StatusAction, StatusKind};
use shiftdesk_core::ids::{AgentId, ConversationId, CustomerId, Seq};
use shiftdesk_core::message::{Message, MessageKind, Sender};
use shiftdesk_core::search::{
    AssigneeFilter, ConversationFilter, ExportFormat, TimeField, TimeWindow,
};
use shiftdesk_core::service::{ExportSink, ExportSummary};
use shiftdesk_core::staff::Context;
use shiftdesk_core::store::{BoxError, Store};
use shiftdesk_core::text::Topic;

use crate::dialogs;
use crate::harness::{
    DESK_TIME, Harness, assert_conversation_not_found, at, outgoing, search_text, seq,
};

/// An export target that keeps each chunk apart, to show the export streams.
#[derive(Debug, Default)]
struct Chunks(Vec<String>);

// Written out by hand rather than with `#[async_trait]`, which this crate does not depend on.
impl ExportSink for Chunks {
    fn write<'life0, 'async_trait>(
        &'life0 mut self,
        chunk: String,
    ) -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.0.push(chunk);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Exports what `ctx` may see of `filter` and returns the text written and the summary,
/// after checking the export came as a header (CSV) and then one chunk per conversation.
pub(crate) async fn export(
    h: &Harness,
    ctx: &Context,
    filter: ConversationFilter,
    format: ExportFormat,
) -> (String, ExportSummary) {
    let mut sink = Chunks::default();
    let summary = h.service.export(ctx, filter, format, &mut sink).await;
    let summary = summary.expect("the export is written");
    let header = usize::from(format == ExportFormat::Csv);
    let per_conversation = u64::try_from(sink.0.len() - header).expect("small");
    assert_eq!(
        per_conversation, summary.conversations,
        "one chunk per conversation"
    );
    (sink.0.concat(), summary)
}

/// The rows of RFC 4180 CSV text (quoted fields may hold commas, quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && row.is_empty(),
        "the CSV ends a row"
    );
    rows
}

const CSV_HEADER: [&str; 13] = [
    "conversation_id",
    "customer_id",
    "status",
    "topic",
    "assignee_id",
    "created_at",
    "last_activity_at",
    "seq",
    "sent_at",
    "sender_type",
    "sender_id",
    "kind",
    "body",
];

/// The CSV rows after the header, checked to be well-formed.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = parse_csv(text);
    assert_eq!(rows.remove(0), CSV_HEADER.map(str::to_owned).to_vec());
    assert!(rows.iter().all(|row| row.len() == CSV_HEADER.len()));
    rows
}

/// The conversations of a JSON Lines export, each with its messages.
fn json_lines(text: &str) -> Vec<(Conversation, Vec<Message>)> {
    text.lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let conversation = serde_json::from_value(value["conversation"].clone());
            let messages = serde_json::from_value(value["messages"].clone());
            (
                conversation.expect("a conversation"),
                messages.expect("its messages"),
            )
        })
        .collect()
}

/// The distinct conversation ids of CSV rows, in the order they first appear.
fn csv_ids(rows: &[Vec<String>]) -> Vec<i64> {
    let mut ids: Vec<i64> = Vec::new();
    for row in rows {
        let id: i64 = row[0].parse().expect("an id");
        if ids.last() != Some(&id) {
            assert!(!ids.contains(&id), "a conversation's rows are together");
            ids.push(id);
        }
    }
    ids
}

/// What the filter case planted in one conversation, to compute what each filter must find.
#[derive(Debug, Clone)]
struct Planted {
    id: ConversationId,
    customer: CustomerId,
    topic: Option<&'static str>,
    holder: Option<AgentId>,
    status: StatusKind,
    created_at: DateTime<Utc>,
    last_activity_at: DateTime<Utc>,
    refund: bool,
}

/// How many conversations the filter case plants: more than one export page (100).
const PLANTED: usize = 130;

/// Plants [`PLANTED`] conversations across customers, topics, holders, states and times, some
/// asking about a refund (退票), and one per customer without any message; returns what each
/// holds.
async fn plant(h: &Harness, customers: &[CustomerId], agents: &[AgentId]) -> Vec<Planted> {
    h.set_default_capacity(100).await;
    let texts = dialogs::mixed(PLANTED);
    let topics = [Some("refunds"), Some("billing"), None];
    let mut planted = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        h.clock.advance(TimeDelta::minutes(1));
        let customer = customers[i % customers.len()];
        let topic = topics[i % topics.len()];
        let refund = i % 5 == 0;
        let first = if refund {
            "您好，我想退票"
        } else {
            text.as_str()
        };
        let first = Some(outgoing(MessageKind::Message, first));
        let opened = h.open_about(customer, topic, first).await;
        let holder = (i % 4 != 3).then(|| agents[i % agents.len()]);
        if let Some(agent) = holder {
            let taken = h
                .service
                .take_conversation(&h.as_agent(agent), opened.id)
                .await;
            taken.expect("taken");
        }
        planted.push(Planted {
            id: opened.id,
            customer,
            topic,
            holder,
            status: StatusKind::Open,
            created_at: opened.created_at,
            last_activity_at: h.now(),
            refund,
        });
    }
    // Conversations opened without a word, while nobody is online: queued, no messages.
    for customer in customers {
        h.clock.advance(TimeDelta::minutes(1));
        let opened = h.open_about(*customer, Some("billing"), None).await;
        planted.push(Planted {
            id: opened.id,
            customer: *customer,
            topic: Some("billing"),
            holder: None,
            status: StatusKind::Open,
            created_at: opened.created_at,
            last_activity_at: opened.created_at,
            refund: false,
        });
    }
    for (i, p) in planted.iter_mut().enumerate() {
        let Some(agent) = p.holder else { continue };
        let ctx = h.as_agent(agent);
        if i % 2 == 0 {
            h.clock.advance(TimeDelta::minutes(1));
            h.say(&ctx, p.id, "好的，我看一下").await;
            p.last_activity_at = h.now();
        }
        let action = match i % 6 {
            1 => StatusAction::Resolve,
            2 => StatusAction::MarkPending,
            4 => StatusAction::Snooze {
                until: h.now() + TimeDelta::hours(1),
            },
            _ => continue,
        };
        let changed = h.service.change_status(&ctx, p.id, action).await;
        p.status = changed.expect("changed").status.kind();
    }
    planted
}

fn filter_matches(filter: &ConversationFilter, p: &Planted) -> bool {
    (filter.statuses.is_empty() || filter.statuses.contains(&p.status))
        && filter.assignee.is_none_or(|assignee| match assignee {
            AssigneeFilter::Agent(agent) => p.holder == Some(agent),
            AssigneeFilter::Unassigned => p.holder.is_none(),
        })
        && filter
            .customer
            .is_none_or(|customer| p.customer == customer)
        && filter.time.is_none_or(|window| {
            let at = match window.field {
                TimeField::CreatedAt => p.created_at,
                TimeField::LastActivityAt => p.last_activity_at,
            };
            window.from.is_none_or(|from| from <= at) && window.until.is_none_or(|until| at < until)
        })
        && filter
            .topic
            .as_ref()
            .is_none_or(|topic| p.topic == Some(topic.as_str()))
        && (filter.text.is_none() || p.refund)
}

/// Asserts list (paged through), count and both exports give `ctx` exactly `expected`,
/// newest first.
async fn assert_agree(h: &Harness, ctx: &Context, filter: &ConversationFilter, expected: &[i64]) {
    let listed: Vec<i64> = h
        .list_in_pages(ctx, filter, 7)
        .await
        .iter()
        .map(|summary| summary.conversation.id.get())
        .collect();
    let count = h.service.count_conversations(ctx, filter.clone()).await;
    let count = count.expect("counted");
    let (csv, csv_summary) = export(h, ctx, filter.clone(), ExportFormat::Csv).await;
    let (json, json_summary) = export(h, ctx, filter.clone(), ExportFormat::JsonLines).await;
    let from_csv = csv_ids(&csv_rows(&csv));
    let from_json: Vec<i64> = json_lines(&json)
        .iter()
        .map(|(conversation, _)| conversation.id.get())
        .collect();

    assert_eq!(listed, expected, "listed for {filter:?}");
    assert_eq!(count, expected.len() as u64, "counted for {filter:?}");
    assert_eq!(from_csv, expected, "exported as CSV for {filter:?}");
    assert_eq!(from_json, expected, "exported as JSON Lines for {filter:?}");
    assert_eq!(csv_summary.conversations, count);
    assert_eq!(json_summary, csv_summary);
}

/// One filter, many ways to read it: for every field of the filter alone and combined,
/// for an admin and an agent, the list paged through, the count, and the CSV and JSON
/// Lines exports (read back) hold the same conversations, the ones the filter describes,
/// newest first, across more than one export page.
pub async fn the_same_filter_finds_the_same_conversations_in_list_count_and_export(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let mut customers = Vec::new();
    for name in ["Li", "Wu", "Olga", "Priya"] {
        customers.push(h.customer(name).await.id);
    }
    let agents = h.agents("agent", 3).await;
    h.on_shift_now(&agents).await;
    let planted = plant(&h, &customers, &agents).await;
    let minute = |n: i64| at(DESK_TIME) + TimeDelta::minutes(n);
    let topic = |name: &str| Some(Topic::parse(name).expect("a valid topic"));
    let window = |field, from: i64, until: i64| {
        Some(TimeWindow {
            field,
            from: Some(minute(from)),
            until: Some(minute(until)),
        })
    };
    let filters = vec![
        ConversationFilter::default(),
        ConversationFilter {
            statuses: vec![StatusKind::Resolved],
            ..ConversationFilter::default()
        },
        ConversationFilter {
            statuses: vec![StatusKind::Open, StatusKind::Pending, StatusKind::Snoozed],
            ..ConversationFilter::default()
        },
        ConversationFilter {
            assignee: Some(AssigneeFilter::Agent(agents[1])),
            ..ConversationFilter::default()
        },
        ConversationFilter {
            assignee: Some(AssigneeFilter::Unassigned),
            ..ConversationFilter::default()
        },
        ConversationFilter {
            customer: Some(customers[2]),
            ..ConversationFilter::default()
        },
        ConversationFilter {
            time: window(TimeField::CreatedAt, 20, 50),
            ..ConversationFilter::default()
        },
        ConversationFilter {
            time: window(TimeField::LastActivityAt, 120, 160),
            ..ConversationFilter::default()
        },
        ConversationFilter {
            time: Some(TimeWindow {
                field: TimeField::LastActivityAt,
                from: Some(minute(140)),
                until: None,
            }),
            ..ConversationFilter::default()
        },
        ConversationFilter {
            topic: topic("refunds"),
            ..ConversationFilter::default()
        },
        ConversationFilter {
            text: Some(search_text("退票")),
            ..ConversationFilter::default()
        },
        ConversationFilter {
            statuses: vec![StatusKind::Open],
            assignee: Some(AssigneeFilter::Agent(agents[0])),
            topic: topic("refunds"),
            text: Some(search_text("退票")),
            ..ConversationFilter::default()
        },
    ];

    for filter in &filters {
        let expected: Vec<i64> = planted
            .iter()
            .rev()
            .filter(|p| filter_matches(filter, p))
            .map(|p| p.id.get())
            .collect();
        assert!(
            filter.text.is_some() || filter.statuses.len() == 1 || !expected.is_empty(),
            "the planted data exercises {filter:?}"
        );
        assert_agree(&h, &h.admin(), filter, &expected).await;
        let agent = agents[1];
        let theirs: Vec<i64> = planted
            .iter()
            .rev()
            .filter(|p| p.holder == Some(agent) && filter_matches(filter, p))
            .map(|p| p.id.get())
            .collect();
        assert_agree(&h, &h.as_agent(agent), filter, &theirs).await;
    }
}

/// Both export formats write every message with its conversation's fields exactly as
/// stored: CSV quotes commas, quotes and line breaks and defuses formulas; JSON Lines
/// carries whole conversations and messages that parse back equal.
pub async fn exports_write_every_message_as_stored_in_csv_and_json_lines(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let mei = h.agent("mei").await;
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let first = Some(outgoing(MessageKind::Message, "Hello, \"team\""));
    let id = h.open_about(li.id, Some("refunds"), first).await.id;
    let agent = h.as_agent(mei);
    h.say(&agent, id, "=SUM(A1:A9)").await;
    h.note(mei, id, "line one\nline two, with a comma").await;
    for turn in dialogs::mixed(12) {
        h.clock.advance(TimeDelta::seconds(10));
        h.say(&h.as_customer(li.id), id, turn.as_str()).await;
    }
    let conversation = h.conversation_now(id).await;
    let stored = h.messages(&h.admin(), id).await;
    let everything = ConversationFilter::default();

    let (csv, summary) = export(&h, &h.admin(), everything.clone(), ExportFormat::Csv).await;
    let rows = csv_rows(&csv);
    assert_eq!(rows.len(), stored.len());
    assert_eq!(summary.messages, stored.len() as u64);
    for (row, message) in rows.iter().zip(&stored) {
        let body = message.body.as_str();
        let defused = if body.starts_with(['=', '+', '-', '@']) {
            format!("'{body}")
        } else {
            body.to_owned()
        };
        let sender_id = match message.sender {
            Sender::Customer(id) => id.to_string(),
            Sender::Agent(id) => id.to_string(),
            Sender::System => String::new(),
        };
        let expected = [
            id.to_string(),
            li.id.to_string(),
            "open".to_owned(),
            "refunds".to_owned(),
            mei.to_string(),
            conversation.created_at.to_rfc3339(),
            conversation.last_activity_at.to_rfc3339(),
            message.seq.to_string(),
            message.sent_at.to_rfc3339(),
            message.sender.type_name().to_owned(),
            sender_id,
            message.kind.as_str().to_owned(),
            defused,
        ];
        assert_eq!(row[..], expected[..]);
    }
    assert!(csv.contains("'=SUM(A1:A9)"), "a formula is defused");

    let (json, summary) = export(&h, &h.admin(), everything, ExportFormat::JsonLines).await;
    assert_eq!(summary.messages, stored.len() as u64);
    assert_eq!(json_lines(&json), vec![(conversation, stored)]);
}

/// Search matches a substring of any message without splitting words, so two Chinese
/// characters are found inside a sentence written without spaces (退票 in 我想退票), and so
/// are pieces of Japanese and Korean turns; characters in another order are not.
pub async fn searching_two_chinese_characters_finds_them_inside_unsegmented_text(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let mei = h.agent("mei").await;
    h.set_capacity(mei, 20).await;
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let refund = h.open(li.id, "我想退票").await.id;
    let mut by_language = Vec::new();
    for lang in ["chinese", "japanese", "korean", "traditionalchinese"] {
        let turn = dialogs::all()
            .iter()
            .filter(|dialog| dialog.lang == lang)
            .flat_map(|dialog| dialog.turns.iter())
            .find(|turn| turn.as_str().chars().count() >= 8)
            .expect("a long enough turn");
        let id = h.open(li.id, turn.as_str()).await.id;
        let piece: String = turn.as_str().chars().skip(3).take(2).collect();
        by_language.push((id, piece));
    }
    let found = |text: &str| {
        let h = h.clone();
        let filter = ConversationFilter {
            text: Some(search_text(text)),
            ..ConversationFilter::default()
        };
        async move {
            let listed = h.list(&h.admin(), &filter).await;
            listed
                .iter()
                .map(|summary| summary.conversation.id)
                .collect::<BTreeSet<_>>()
        }
    };

    assert_eq!(found("退票").await, [refund].into());
    assert_eq!(found("想退").await, [refund].into());
    assert!(found("票退").await.is_empty());
    for (id, piece) in by_language {
        assert!(found(&piece).await.contains(&id), "{piece:?} is found");
    }
    h.say(&h.as_customer(li.id), refund, "退票要多久？").await;
    let filter = ConversationFilter {
        text: Some(search_text("退票")),
        ..ConversationFilter::default()
    };
    let count = h.service.count_conversations(&h.admin(), filter).await;
    assert_eq!(
        count.expect("counted"),
        1,
        "two matching messages, one conversation"
    );
}

/// Search ignores case in Latin and Cyrillic script alike, in both directions.
pub async fn search_ignores_case_in_latin_and_cyrillic_text(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let mei = h.agent("mei").await;
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let russian = dialogs::dialog("russian", "conversations", 1).turns[0].clone();
    let english = dialogs::dialog("english", "conversations", 1).turns[0].clone();
    let in_russian = h.open(li.id, russian.as_str()).await.id;
    let in_english = h.open(li.id, english.as_str()).await.id;
    h.open(li.id, "你好").await;

    for (query, id) in [
        (russian.as_str().to_uppercase(), in_russian),
        (russian.as_str().to_lowercase(), in_russian),
        ("ДОБРОЕ утро".to_owned(), in_russian),
        (english.as_str().to_uppercase(), in_english),
        ("gOOD MORNING".to_owned(), in_english),
    ] {
        let filter = ConversationFilter {
            text: Some(search_text(&query)),
            ..ConversationFilter::default()
        };
        let listed = h.list(&h.admin(), &filter).await;
        let ids: Vec<ConversationId> = listed.iter().map(|s| s.conversation.id).collect();
        assert_eq!(ids, vec![id], "{query:?}");
    }
}

/// Greek is found however it is cased: a capital sigma is the final ς at the end of a word
/// and σ inside one, and capitals drop the tonos, so ΟΔΟΣ, οδός, οδος and οδοσ find the same
/// conversations, whichever way the message wrote the word, and inside longer words too.
pub async fn search_finds_greek_words_whatever_their_case_sigma_or_tonos(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let mei = h.agent("mei").await;
    h.on_duty(&[mei]).await;
    let eleni = h.customer("Eleni").await;
    let in_capitals = h.open(eleni.id, "Η ΟΔΟΣ ΕΙΝΑΙ ΚΛΕΙΣΤΗ").await.id;
    let in_small = h.open(eleni.id, "Ποια οδός είναι κλειστή;").await.id;
    let inside = h.open(eleni.id, "ΟΔΟΣΗΜΑΝΣΗ").await.id;
    h.open(eleni.id, "Καλημέρα").await;

    for query in ["ΟΔΟΣ", "οδός", "οδος", "οδοσ", "Οδός"] {
        let filter = ConversationFilter {
            text: Some(search_text(query)),
            ..ConversationFilter::default()
        };
        let listed = h.list(&h.admin(), &filter).await;
        let ids: BTreeSet<ConversationId> = listed.iter().map(|s| s.conversation.id).collect();
        let expected = BTreeSet::from([in_capitals, in_small, inside]);
        assert_eq!(ids, expected, "{query:?}");
        let count = h.service.count_conversations(&h.admin(), filter).await;
        assert_eq!(count.expect("counted"), 3, "{query:?}");
    }
}

/// An agent never sees a conversation they have not held: not in a list, a count, a search,
/// an export or a filter naming its holder, and reading, marking, writing, changing or
/// rendering a reply for it answers "not found". Customers see only their own.
pub async fn an_agent_never_sees_another_agents_conversation_anywhere(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    let (li, wu) = (h.customer("Li").await, h.customer("Wu").await);
    h.on_duty(&[mei]).await;
    let meis = h.open(li.id, "我想退票").await.id;
    h.offline(mei);
    h.on_duty(&[bo]).await;
    let bos = h.open(wu.id, "我也想退票").await.id;
    h.offline(bo);
    let queued = h.open(wu.id, "有人吗？退票").await.id;
    let agent = h.as_agent(mei);
    let everything = ConversationFilter::default();
    let refunds = ConversationFilter {
        text: Some(search_text("退票")),
        ..ConversationFilter::default()
    };
    let bos_filter = ConversationFilter {
        assignee: Some(AssigneeFilter::Agent(bo)),
        ..ConversationFilter::default()
    };

    for filter in [&everything, &refunds] {
        let listed = h.list(&agent, filter).await;
        let ids: Vec<_> = listed.iter().map(|s| s.conversation.id).collect();
        assert_eq!(ids, vec![meis]);
        let count = h.service.count_conversations(&agent, filter.clone()).await;
        assert_eq!(count.expect("counted"), 1);
        let (json, _) = export(&h, &agent, filter.clone(), ExportFormat::JsonLines).await;
        let exported: Vec<_> = json_lines(&json).iter().map(|(c, _)| c.id).collect();
        assert_eq!(exported, vec![meis]);
    }
    assert!(h.list(&agent, &bos_filter).await.is_empty());
    let count = h.service.count_conversations(&agent, bos_filter).await;
    assert_eq!(count.expect("counted"), 0);
    let (csv, _) = export(&h, &agent, everything.clone(), ExportFormat::Csv).await;
    assert!(!csv.contains("我也想退票") && !csv.contains("有人吗"));

    for id in [bos, queued] {
        assert_conversation_not_found(h.service.conversation(&agent, id).await, id);
        let after = h.service.messages_after(&agent, id, None, 10).await;
        assert_conversation_not_found(after, id);
        let before = h.service.messages_before(&agent, id, None, 10).await;
        assert_conversation_not_found(before, id);
        assert_conversation_not_found(h.service.mark_read(&agent, id, seq(1)).await, id);
        assert_conversation_not_found(h.service.unread_count(&agent, id).await, id);
        let sent = h
            .service
            .send(&agent, id, outgoing(MessageKind::Message, "hi"))
            .await;
        assert_conversation_not_found(sent, id);
        let changed = h
            .service
            .change_status(&agent, id, StatusAction::Resolve)
            .await;
        assert_conversation_not_found(changed, id);
    }

    let customer = h.as_customer(li.id);
    let listed = h.list(&customer, &everything).await;
    assert_eq!(
        listed.iter().map(|s| s.conversation.id).collect::<Vec<_>>(),
        vec![meis]
    );
    let count = h.service.count_conversations(&customer, refunds).await;
    assert_eq!(count.expect("counted"), 1);
    assert_conversation_not_found(h.service.conversation(&customer, bos).await, bos);
    let after = h.service.messages_after(&customer, bos, None, 10).await;
    assert_conversation_not_found(after, bos);
    let (json, _) = export(&h, &customer, everything, ExportFormat::JsonLines).await;
    let exported: Vec<_> = json_lines(&json).iter().map(|(c, _)| c.id).collect();
    assert_eq!(exported, vec![meis]);
}

/// Private notes never reach a customer: not in their messages (resuming or paging back),
/// not as the preview even when a note is the latest message, not through a search for a
/// note's text, not in either export, and not in their unread count. Staff see all of it.
pub async fn customers_never_see_private_notes_anywhere(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let mei = h.agent("mei").await;
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let customer = h.as_customer(li.id);
    let [question, answer] = dialogs::turns("bengali", 2).try_into().expect("two turns");
    let id = h.open(li.id, question.as_str()).await.id;
    h.say(&h.as_agent(mei), id, answer.as_str()).await;
    let note = h.note(mei, id, "内部备注：客户情绪激动").await;
    let everything = ConversationFilter::default();
    let by_note = ConversationFilter {
        text: Some(search_text("情绪激动")),
        ..ConversationFilter::default()
    };

    let seen = h.messages(&customer, id).await;
    assert_eq!(seen.len(), 3, "the question, mei joining, the answer");
    assert!(seen.iter().all(Message::is_public));
    let back = h.service.messages_before(&customer, id, None, 10).await;
    assert_eq!(back.expect("read"), seen);
    let after_answer = h
        .service
        .messages_after(&customer, id, Some(seq(3)), 10)
        .await;
    assert_eq!(after_answer.expect("read"), vec![]);
    let listed = h.list(&customer, &everything).await;
    let preview = listed[0].preview.as_ref().expect("a preview");
    assert_eq!(preview.body, answer);
    let staff_view = h.list(&h.admin(), &everything).await;
    assert_eq!(
        staff_view[0].preview.as_ref(),
        Some(&note),
        "staff preview the note"
    );
    assert!(h.list(&customer, &by_note).await.is_empty());
    let count = h
        .service
        .count_conversations(&customer, by_note.clone())
        .await;
    assert_eq!(count.expect("counted"), 0);
    let count = h
        .service
        .count_conversations(&h.as_agent(mei), by_note.clone())
        .await;
    assert_eq!(count.expect("counted"), 1);
    let (csv, summary) = export(&h, &customer, everything.clone(), ExportFormat::Csv).await;
    assert_eq!(summary.messages, 3);
    assert!(!csv.contains("情绪激动") && !csv.contains(",note,"));
    let (json, _) = export(&h, &customer, everything.clone(), ExportFormat::JsonLines).await;
    assert_eq!(json_lines(&json)[0].1, seen);
    let (json, _) = export(&h, &customer, by_note, ExportFormat::JsonLines).await;
    assert!(json.is_empty());
    let unread = h
        .service
        .unread_count(&customer, id)
        .await
        .expect("counted");
    assert_eq!(unread, 2, "mei joining and her answer, not her note");
    let marked = h.service.mark_read(&customer, id, Seq::FIRST).await;
    assert_eq!(marked.expect("marked"), Some(Seq::FIRST));
    let unread = h
        .service
        .unread_count(&customer, id)
        .await
        .expect("counted");
    assert_eq!(unread, 2);
    let status = h.conversation_now(id).await.status;
    assert_eq!(status, ConversationStatus::Open);
}
