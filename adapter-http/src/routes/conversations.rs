//! Conversations over HTTP: listing and searching with the one filter, reading a conversation
//! and its messages, writing (the fallback to the WebSocket), taking, transferring, changing
//! status, read positions, and streamed exports. Who sees and does what is decided in `core`
//! (agents: what they hold or held; admins: everything; customers: their own, never private
//! notes); these handlers parse requests into core types and show the answers.

use std::collections::HashMap;

use async_trait::async_trait;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiftdesk_core::conversation::{
    Conversation, ConversationStatus, Customer, Owner, StatusAction, StatusKind, Transfer,
};
use shiftdesk_core::error::ConversationError;
use shiftdesk_core::ids::{ConversationId, CustomerId, Seq};
use shiftdesk_core::input::Problem as InputProblem;
use shiftdesk_core::message::{Message, MessageKind, Sender};
use shiftdesk_core::search::{
    AssigneeFilter, ConversationFilter, ConversationSummary, ExportFormat, MAX_PAGE, Page,
    TimeField, TimeWindow,
};
use shiftdesk_core::service::{ConversationDetail, ExportSink, MAX_MESSAGES, Outgoing};
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::store::BoxError;
use shiftdesk_core::text::{ClientMessageId, MessageBody, SearchText, Topic};
use shiftdesk_core::transfer::TransferRequest;
use tokio::sync::mpsc;
use tracing::Instrument;
use utoipa::{IntoParams, ToSchema};

use crate::auth::caller::Caller;
use crate::extract::ApiJson;
use crate::problem::{Problem, ProblemBody};
use crate::routes::leave::note;
use crate::routes::page::{PageParams, Paging, known_only};
use crate::state::AppState;

/// The parameters of the one filter, shared by the list, the count and the export.
const FILTER: [&str; 8] = [
    "status",
    "assignee",
    "customer",
    "topic",
    "q",
    "time_field",
    "from",
    "until",
];

/// Pages of the conversation list, newest first.
const LIST: Paging = Paging {
    list: "conversations",
    default: 50,
    max: MAX_PAGE,
};

/// How many messages a read returns when the caller names no limit.
const DEFAULT_MESSAGES: usize = 100;

/// How many export chunks wait for a slow client before the export waits too.
const EXPORT_BUFFER: usize = 8;

/// Every conversation state, to read `status` against.
const STATES: [StatusKind; 4] = [
    StatusKind::Open,
    StatusKind::Pending,
    StatusKind::Snoozed,
    StatusKind::Resolved,
];

/// A conversation as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConversationView {
    /// Its id.
    id: i64,
    /// The customer.
    customer: i64,
    /// What it is about, if known.
    topic: Option<String>,
    /// `{"state": "open"}`, `{"state": "snoozed", "until": …}`,
    /// `{"state": "resolved", "at": …}` or `{"state": "pending"}`.
    #[schema(value_type = Object)]
    status: ConversationStatus,
    /// The agent holding it; absent while it waits in the queue.
    assignee: Option<i64>,
    /// Since when the holder has it, or since when it waits.
    #[schema(value_type = String, format = DateTime)]
    since: DateTime<Utc>,
    /// Every agent who has held it, the holder included.
    handled_by: Vec<i64>,
    /// When the customer opened it.
    #[schema(value_type = String, format = DateTime)]
    created_at: DateTime<Utc>,
    /// When its last message was written.
    #[schema(value_type = String, format = DateTime)]
    last_activity_at: DateTime<Utc>,
    /// The sequence number of its last message; absent before the first.
    last_seq: Option<u64>,
}

impl From<Conversation> for ConversationView {
    fn from(conversation: Conversation) -> Self {
        let (assignee, since) = match conversation.owner {
            Owner::Queued { since } => (None, since),
            Owner::Agent { agent, since } => (Some(agent.get()), since),
        };
        ConversationView {
            id: conversation.id.get(),
            customer: conversation.customer.get(),
            topic: conversation.topic.map(|topic| topic.as_str().to_owned()),
            status: conversation.status,
            assignee,
            since,
            handled_by: conversation.handled_by.iter().map(|a| a.get()).collect(),
            created_at: conversation.created_at,
            last_activity_at: conversation.last_activity_at,
            last_seq: conversation.last_seq.map(Seq::get),
        }
    }
}

/// A message as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MessageView {
    /// The conversation.
    conversation: i64,
    /// Its place in the conversation: 1, 2, 3… without gaps.
    seq: u64,
    /// The sender's own id for it, if they gave one.
    client_id: Option<String>,
    /// `customer`, `agent` or `system`.
    sender_type: &'static str,
    /// The customer's or agent's id; absent for Shiftdesk's own messages.
    sender_id: Option<i64>,
    /// `message`, `note` (staff only) or `system`.
    kind: &'static str,
    /// The text.
    body: String,
    /// When the store accepted it.
    #[schema(value_type = String, format = DateTime)]
    sent_at: DateTime<Utc>,
}

impl From<Message> for MessageView {
    fn from(message: Message) -> Self {
        let sender_id = match message.sender {
            Sender::Customer(id) => Some(id.get()),
            Sender::Agent(id) => Some(id.get()),
            Sender::System => None,
        };
        MessageView {
            conversation: message.conversation.get(),
            seq: message.seq.get(),
            client_id: message.client_id.map(|id| id.as_str().to_owned()),
            sender_type: message.sender.type_name(),
            sender_id,
            kind: message.kind.as_str(),
            body: message.body.as_str().to_owned(),
            sent_at: message.sent_at,
        }
    }
}

/// A conversation as lists show it: with the latest message the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SummaryView {
    /// The conversation.
    conversation: ConversationView,
    /// The latest message the caller may see, for a preview line.
    preview: Option<MessageView>,
}

impl From<ConversationSummary> for SummaryView {
    fn from(summary: ConversationSummary) -> Self {
        SummaryView {
            conversation: summary.conversation.into(),
            preview: summary.preview.map(MessageView::from),
        }
    }
}

/// A customer as conversations show them.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CustomerView {
    /// Their id.
    id: i64,
    /// The ticketing platform's id for them.
    external_id: String,
    /// What agents see.
    display_name: String,
}

impl From<Customer> for CustomerView {
    fn from(customer: Customer) -> Self {
        CustomerView {
            id: customer.id.get(),
            external_id: customer.external_id.as_str().to_owned(),
            display_name: customer.display_name.as_str().to_owned(),
        }
    }
}

/// A transfer as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TransferView {
    /// Who had it; absent if it was waiting in the queue.
    from: Option<i64>,
    /// Who has it since.
    to: i64,
    /// Who moved it.
    #[schema(value_type = Object)]
    by: Actor,
    /// What the mover wrote for the new agent; staff only.
    note: Option<String>,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    at: DateTime<Utc>,
}

impl From<Transfer> for TransferView {
    fn from(transfer: Transfer) -> Self {
        TransferView {
            from: transfer.from.map(|agent| agent.get()),
            to: transfer.to.get(),
            by: transfer.by,
            note: transfer.note.map(|note| note.as_str().to_owned()),
            at: transfer.at,
        }
    }
}

/// One conversation with its customer, its transfers and the caller's unread count.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DetailView {
    /// The conversation.
    conversation: ConversationView,
    /// Its customer.
    customer: CustomerView,
    /// Its transfers, oldest first.
    transfers: Vec<TransferView>,
    /// How many messages the caller has not read.
    unread: u64,
}

/// How many conversations match.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CountView {
    /// The number.
    count: u64,
}

/// Where the caller's reading stands.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReadView {
    /// The last message the caller has read; absent before the first.
    read_up_to: Option<u64>,
    /// How many messages the caller has not read.
    unread: u64,
}

/// A message to write.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageBodyIn {
    /// The caller's own id for it, up to 64 characters; a retry with the same id returns the
    /// message stored the first time instead of writing it again.
    #[serde(default)]
    client_id: Option<String>,
    /// `message` (the default) or, for staff, `note`: a private note customers never see.
    #[serde(default)]
    kind: Option<String>,
    /// The text.
    body: String,
}

/// A conversation a customer opens.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenBody {
    /// What it is about.
    #[serde(default)]
    topic: Option<String>,
    /// The first message.
    #[serde(default)]
    message: Option<MessageBodyIn>,
}

/// A hand-over to another agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransferBody {
    /// The agent to take it.
    to: i64,
    /// A note for them, carried over with the last messages as a private note.
    #[serde(default)]
    note: Option<String>,
    /// Admins only: hand it over even if the agent is at capacity.
    #[serde(default)]
    force: bool,
}

/// A change of status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    /// `resolve`, `reopen`, `mark_pending`, `mark_open` or `snooze`.
    action: String,
    /// For `snooze`: when it wakes up (RFC 3339), in the future.
    #[serde(default)]
    until: Option<String>,
}

/// A read position to move to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadBody {
    /// The last message read. Positions never move back, nor past the last message.
    seq: u64,
}

fn invalid(field: &'static str, rule: &'static str) -> Problem {
    InputProblem::Invalid(rule).at(field).into()
}

/// A path id; one that is not an id names no conversation.
fn conversation_id(raw: &str) -> Result<ConversationId, Problem> {
    raw.parse().map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("conversation {raw} does not exist"),
        )
    })
}

fn instant(field: &'static str, raw: &str) -> Result<DateTime<Utc>, Problem> {
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            invalid(
                field,
                "must be an instant as RFC 3339, such as 2027-01-31T09:00:00Z",
            )
        })
}

fn seq(field: &'static str, raw: &str) -> Result<Seq, Problem> {
    let number: u64 = raw
        .parse()
        .map_err(|_| invalid(field, "must be a sequence number, 1 or more"))?;
    Seq::try_from(number).map_err(|p| p.at(field).into())
}

/// The one filter, from the query string.
fn filter(params: &HashMap<String, String>, ctx: &Context) -> Result<ConversationFilter, Problem> {
    let mut filter = ConversationFilter::default();
    if let Some(raw) = params.get("status") {
        for name in raw.split(',') {
            let state = STATES.into_iter().find(|state| state.as_str() == name);
            let state = state.ok_or_else(|| {
                invalid(
                    "status",
                    "must be open, pending, snoozed or resolved, or several joined by commas",
                )
            })?;
            filter.statuses.push(state);
        }
    }
    filter.assignee = match params.get("assignee").map(String::as_str) {
        None => None,
        Some("unassigned") => Some(AssigneeFilter::Unassigned),
        Some("me") => {
            let me = ctx.actor.agent_id();
            let me =
                me.ok_or_else(|| invalid("assignee", "`me` is for staff, who hold conversations"))?;
            Some(AssigneeFilter::Agent(me))
        }
        Some(raw) => {
            let agent = raw
                .parse()
                .map_err(|_| invalid("assignee", "must be me, unassigned or an agent's id"))?;
            Some(AssigneeFilter::Agent(agent))
        }
    };
    if let Some(raw) = params.get("customer") {
        let customer: CustomerId = raw.parse().map_err(|p: InputProblem| p.at("customer"))?;
        filter.customer = Some(customer);
    }
    if let Some(raw) = params.get("topic") {
        filter.topic = Some(Topic::parse(raw).map_err(|p| p.at("topic"))?);
    }
    if let Some(raw) = params.get("q") {
        filter.text = Some(SearchText::parse(raw).map_err(|p| p.at("q"))?);
    }
    let from = params
        .get("from")
        .map(|raw| instant("from", raw))
        .transpose()?;
    let until = params
        .get("until")
        .map(|raw| instant("until", raw))
        .transpose()?;
    let field = match params.get("time_field").map(String::as_str) {
        None if from.is_none() && until.is_none() => None,
        None => {
            return Err(invalid(
                "time_field",
                "must be given with from or until: created_at or last_activity_at",
            ));
        }
        Some("created_at") => Some(TimeField::CreatedAt),
        Some("last_activity_at") => Some(TimeField::LastActivityAt),
        Some(_) => {
            return Err(invalid(
                "time_field",
                "must be created_at or last_activity_at",
            ));
        }
    };
    if let (Some(from), Some(until)) = (from, until)
        && until <= from
    {
        return Err(invalid("until", "must be later than from"));
    }
    filter.time = field.map(|field| TimeWindow { field, from, until });
    Ok(filter)
}

/// A message to write, from its body.
fn outgoing(body: MessageBodyIn, prefix: &str) -> Result<Outgoing, Problem> {
    let field = |name: &str| format!("{prefix}{name}");
    let client_id = body
        .client_id
        .map(|raw| ClientMessageId::parse(&raw).map_err(|p| p.at(field("client_id"))))
        .transpose()?;
    let kind = match body.kind.as_deref() {
        None | Some("message") => MessageKind::Message,
        Some("note") => MessageKind::Note,
        Some(_) => {
            return Err(Problem::from(
                InputProblem::Invalid("must be message or note").at(field("kind")),
            ));
        }
    };
    let text = MessageBody::parse(&body.body).map_err(|p| p.at(field("body")))?;
    Ok(Outgoing {
        client_id,
        kind,
        body: text,
    })
}

/// The one filter's query parameters, documented once for the list, the count and the export.
/// Only documentation: the handlers read the query string themselves, refusing unknown names.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by the document, not by the code.
pub(crate) struct FilterParams {
    /// Only these states, joined by commas: `open`, `pending`, `snoozed`, `resolved`.
    status: Option<String>,
    /// `me`, `unassigned`, or an agent's id: only conversations held by them now.
    assignee: Option<String>,
    /// Only this customer's.
    customer: Option<i64>,
    /// Only this topic.
    topic: Option<String>,
    /// Only those with a message containing this text, ignoring case; scripts written without
    /// spaces are found too.
    q: Option<String>,
    /// Which instant `from` and `until` bound: `created_at` or `last_activity_at`; required
    /// with either.
    time_field: Option<String>,
    /// The first instant included (RFC 3339).
    from: Option<String>,
    /// The first instant excluded (RFC 3339).
    until: Option<String>,
}

/// Conversations the caller may see that match the filter, newest first, a page at a time,
/// each with a preview of its latest message. With `q`, this is the search.
#[utoipa::path(
    get,
    path = "/api/v1/conversations",
    tag = "conversations",
    security(("bearer" = [])),
    params(FilterParams, PageParams),
    responses(
        (status = 200, description = "One page; a full page carries `Link: <…>; rel=\"next\"`.",
            body = Vec<SummaryView>),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list_conversations(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    uri: Uri,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    known_only(&params, &[&FILTER[..], &["limit", "cursor"]].concat())?;
    let filter = filter(&params, &ctx)?;
    let request = LIST.request(&params)?;
    let before = request
        .after
        .map(|id| ConversationId::try_from(id).map_err(|p| p.at("cursor")))
        .transpose()?;
    let page = Page {
        before,
        limit: request.limit,
    };
    let found = state.service.conversations(&ctx, filter, page).await?;
    let (returned, last) = (found.len(), found.last().map(|s| s.conversation.id.get()));
    let views: Vec<SummaryView> = found.into_iter().map(SummaryView::from).collect();
    Ok(LIST.link_next(Json(views).into_response(), &uri, request, returned, last))
}

/// How many conversations the caller may see match the filter.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/count",
    tag = "conversations",
    security(("bearer" = [])),
    params(FilterParams),
    responses(
        (status = 200, description = "The count.", body = CountView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn count_conversations(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<CountView>, Problem> {
    known_only(&params, &FILTER)?;
    let filter = filter(&params, &ctx)?;
    let count = state.service.count_conversations(&ctx, filter).await?;
    Ok(Json(CountView { count }))
}

/// Where an export's chunks go: to the response body, through a bounded channel, so a slow
/// client slows the export down instead of filling memory.
struct ChannelSink(mpsc::Sender<Result<String, Problem>>);

#[async_trait]
impl ExportSink for ChannelSink {
    async fn write(&mut self, chunk: String) -> Result<(), BoxError> {
        self.0
            .send(Ok(chunk))
            .await
            .map_err(|_| BoxError::from("the client stopped reading the export"))
    }
}

/// Every conversation the caller may see that matches the filter, with its messages, streamed
/// as CSV (one row per message) or JSON Lines (one conversation per line). The audit log
/// records the export, its filter and its format.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/export",
    tag = "conversations",
    security(("bearer" = [])),
    params(
        ("format" = String, Query, description = "`csv` or `jsonl`."),
        FilterParams,
    ),
    responses(
        (status = 200, description = "The export, streamed.", content(
            (String = "text/csv"),
            (String = "application/x-ndjson"),
        )),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn export_conversations(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    known_only(&params, &[&FILTER[..], &["format"]].concat())?;
    let (format, media_type, file) = match params.get("format").map(String::as_str) {
        Some("csv") => (
            ExportFormat::Csv,
            "text/csv; charset=utf-8",
            "conversations.csv",
        ),
        Some("jsonl") => (
            ExportFormat::JsonLines,
            "application/x-ndjson",
            "conversations.jsonl",
        ),
        _ => return Err(invalid("format", "must be csv or jsonl")),
    };
    let filter = filter(&params, &ctx)?;

    let (sender, mut chunks) = mpsc::channel(EXPORT_BUFFER);
    let service = state.service.clone();
    let export = async move {
        let mut sink = ChannelSink(sender.clone());
        match service.export(&ctx, filter, format, &mut sink).await {
            Ok(summary) => tracing::info!(
                conversations = summary.conversations,
                messages = summary.messages,
                "export written"
            ),
            Err(ConversationError::Export(cause)) if sender.is_closed() => {
                tracing::info!(reason = %cause, "export stopped: the client went away");
            }
            Err(error) => {
                // Converting logs a server fault once; the client gets the problem, or a
                // cut-off body if the export had begun.
                let _ = sender.send(Err(Problem::from(error))).await;
            }
        }
    };
    tokio::spawn(export.in_current_span());

    // Refusals come before the first chunk, so they can still be answered as problems.
    let first = match chunks.recv().await {
        Some(Err(problem)) => return Err(problem),
        first => first,
    };
    // A fault after the first chunk ends the body without its proper end, so the client
    // sees a broken transfer rather than a short export.
    let cut_off = |chunk: Result<String, Problem>| chunk.map_err(|p| BoxError::from(p.detail));
    let rest = futures_util::stream::unfold(chunks, move |mut chunks| async move {
        let chunk = chunks.recv().await?;
        Some((cut_off(chunk), chunks))
    });
    let body = futures_util::stream::iter(first.map(cut_off));
    let body = Body::from_stream(futures_util::StreamExt::chain(body, rest));

    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    let disposition = format!("attachment; filename=\"{file}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// A customer opens a conversation, optionally with a first message; it joins the queue and
/// goes to an agent on shift, online and with room, if there is one.
#[utoipa::path(
    post,
    path = "/api/v1/conversations",
    tag = "conversations",
    security(("bearer" = [])),
    request_body = OpenBody,
    responses(
        (status = 201, description = "Opened; `Location` names it.", body = ConversationView),
        (status = 200, description = "A retry: the first message's `client_id` is that of the \
            first message of one of the customer's latest conversations, which is answered.",
            body = ConversationView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn open_conversation(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(body): ApiJson<OpenBody>,
) -> Result<Response, Problem> {
    let topic = body
        .topic
        .map(|raw| Topic::parse(&raw).map_err(|p| p.at("topic")))
        .transpose()?;
    let first = body
        .message
        .map(|message| outgoing(message, "message."))
        .transpose()?;
    let opened = state.service.open(&ctx, topic, first).await?;
    if opened.new {
        return Ok(created(opened.conversation));
    }
    Ok(Json(ConversationView::from(opened.conversation)).into_response())
}

/// 201 with the conversation and its `Location`.
fn created(conversation: Conversation) -> Response {
    let location = format!("/api/v1/conversations/{}", conversation.id);
    let mut response = (
        StatusCode::CREATED,
        Json(ConversationView::from(conversation)),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// One conversation with its customer, its transfers and the caller's unread count.
/// Customers see no transfer notes.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}",
    tag = "conversations",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The conversation's id.")),
    responses(
        (status = 200, description = "The conversation.", body = DetailView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not one the caller may see \
            (`not_found`).", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get_conversation(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(raw): Path<String>,
) -> Result<Json<DetailView>, Problem> {
    let id = conversation_id(&raw)?;
    let ConversationDetail {
        conversation,
        customer,
        transfers,
    } = state.service.conversation(&ctx, id).await?;
    let unread = state.service.unread_count(&ctx, id).await?;
    Ok(Json(DetailView {
        conversation: conversation.into(),
        customer: customer.into(),
        transfers: transfers.into_iter().map(TransferView::from).collect(),
        unread,
    }))
}

/// Messages, oldest first: those after `after` (what a client resuming asks for), or a page
/// of history before `before`, or the latest. Customers never see private notes.
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}/messages",
    tag = "conversations",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The conversation's id."),
        ("after" = Option<u64>, Query, description = "Only messages after this sequence \
            number."),
        ("before" = Option<u64>, Query, description = "Only messages before this sequence \
            number; not with `after`."),
        ("limit" = Option<u32>, Query, description = "At most this many, 1 to 500; 100 if \
            absent."),
    ),
    responses(
        (status = 200, description = "The messages; a full page carries `Link: <…>; \
            rel=\"next\"` to the page after it (with `after`) or before it.",
            body = Vec<MessageView>),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not one the caller may see \
            (`not_found`).", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list_messages(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(raw): Path<String>,
    uri: Uri,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let id = conversation_id(&raw)?;
    known_only(&params, &["after", "before", "limit"])?;
    let limit = match params.get("limit") {
        None => DEFAULT_MESSAGES,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|limit| (1..=MAX_MESSAGES).contains(limit))
            .ok_or_else(|| invalid("limit", "must be a whole number from 1 to 500"))?,
    };
    let after = params
        .get("after")
        .map(|raw| seq("after", raw))
        .transpose()?;
    let before = params
        .get("before")
        .map(|raw| seq("before", raw))
        .transpose()?;
    let (messages, next) = match (after, before) {
        (Some(_), Some(_)) => return Err(invalid("before", "cannot be given with after")),
        (Some(after), None) => {
            let messages = state
                .service
                .messages_after(&ctx, id, Some(after), limit)
                .await?;
            let next = messages.last().map(|m| ("after", m.seq));
            (messages, next)
        }
        (None, before) => {
            let messages = state
                .service
                .messages_before(&ctx, id, before, limit)
                .await?;
            let next = messages.first().map(|m| ("before", m.seq));
            (messages, next)
        }
    };
    let full = messages.len() == limit;
    let views: Vec<MessageView> = messages.into_iter().map(MessageView::from).collect();
    let mut response = Json(views).into_response();
    if let Some((name, at)) = next.filter(|_| full) {
        let link = format!(
            "<{}?{name}={}&limit={limit}>; rel=\"next\"",
            uri.path(),
            at.get()
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// Writes a message over HTTP, the fallback to the WebSocket: it is stored with its sequence
/// number before anyone hears of it. A retry with the same `client_id` answers the message
/// stored the first time, with 200 instead of 201.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/messages",
    tag = "conversations",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The conversation's id.")),
    request_body = MessageBodyIn,
    responses(
        (status = 201, description = "Stored.", body = MessageView),
        (status = 200, description = "Stored before under this `client_id`.", body = MessageView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not for the caller to write here, such as a customer's \
            note or an agent who does not hold it.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not one the caller may see \
            (`not_found`).", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
        (status = 409, description = "Resolved: staff cannot write until it is reopened.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn send_message(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<MessageBodyIn>,
) -> Result<Response, Problem> {
    let id = conversation_id(&raw)?;
    let outgoing = outgoing(body, "")?;
    let appended = state.service.send(&ctx, id, outgoing).await?;
    let status = if appended.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(MessageView::from(appended.message))).into_response())
}

/// An agent takes a conversation waiting in the queue, if they have room.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/take",
    tag = "conversations",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The conversation's id.")),
    responses(
        (status = 200, description = "Theirs now.", body = ConversationView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not staff (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "Someone holds it, it is resolved, or the agent is at \
            capacity.", body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn take_conversation(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(raw): Path<String>,
) -> Result<Json<ConversationView>, Problem> {
    let id = conversation_id(&raw)?;
    let taken = state.service.take_conversation(&ctx, id).await?;
    Ok(Json(taken.into()))
}

/// Hands a conversation to another agent: its holder or an admin. The new agent gets the last
/// messages and the note as a private note; a refused transfer changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/transfer",
    tag = "conversations",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The conversation's id.")),
    request_body = TransferBody,
    responses(
        (status = 200, description = "Transferred.", body = ConversationView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not its holder or an admin, or `force` by an agent.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not one the caller may see \
            (`not_found`).", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
        (status = 409, description = "The agent cannot take it: inactive, at capacity, the \
            holder already, or it is resolved.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn transfer_conversation(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<TransferBody>,
) -> Result<Json<ConversationView>, Problem> {
    let id = conversation_id(&raw)?;
    let request = TransferRequest {
        conversation: id,
        to: crate::routes::schedule::agent("to".to_owned(), body.to)?,
        note: note("note", body.note.as_deref())?,
        force: body.force,
    };
    let moved = state.service.transfer(&ctx, request).await?;
    Ok(Json(moved.into()))
}

/// Resolves, reopens, snoozes or marks a conversation pending or open: its holder or an
/// admin. Resolving frees the holder for the queue; reopening sends it back to routing.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/status",
    tag = "conversations",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The conversation's id.")),
    request_body = StatusBody,
    responses(
        (status = 200, description = "Its new state.", body = ConversationView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not its holder or an admin.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not one the caller may see \
            (`not_found`).", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
        (status = 409, description = "Not a change its state allows.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn change_status(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Json<ConversationView>, Problem> {
    let id = conversation_id(&raw)?;
    let action = match (body.action.as_str(), body.until.as_deref()) {
        ("snooze", Some(until)) => StatusAction::Snooze {
            until: instant("until", until)?,
        },
        ("snooze", None) => return Err(invalid("until", "is required to snooze")),
        (_, Some(_)) => return Err(invalid("until", "is only for snooze")),
        ("resolve", None) => StatusAction::Resolve,
        ("reopen", None) => StatusAction::Reopen,
        ("mark_pending", None) => StatusAction::MarkPending,
        ("mark_open", None) => StatusAction::MarkOpen,
        _ => {
            return Err(invalid(
                "action",
                "must be resolve, reopen, mark_pending, mark_open or snooze",
            ));
        }
    };
    let changed = state.service.change_status(&ctx, id, action).await?;
    Ok(Json(changed.into()))
}

/// Moves the caller's read position, never back and never past the last message, and
/// answers where it stands with the unread count.
#[utoipa::path(
    put,
    path = "/api/v1/conversations/{id}/read",
    tag = "conversations",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The conversation's id.")),
    request_body = ReadBody,
    responses(
        (status = 200, description = "Where the caller's reading stands.", body = ReadView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation, or not one the caller may see \
            (`not_found`).", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn mark_read(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<ReadBody>,
) -> Result<Json<ReadView>, Problem> {
    let id = conversation_id(&raw)?;
    let position = Seq::try_from(body.seq).map_err(|p| p.at("seq"))?;
    let read_up_to = state.service.mark_read(&ctx, id, position).await?;
    let unread = state.service.unread_count(&ctx, id).await?;
    Ok(Json(ReadView {
        read_up_to: read_up_to.map(Seq::get),
        unread,
    }))
}
