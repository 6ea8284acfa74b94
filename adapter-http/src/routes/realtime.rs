//! The real-time routes: connection tickets, the WebSocket itself, and who is online.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use shiftdesk_core::ids::AgentId;
use shiftdesk_core::staff::Actor;
use utoipa::ToSchema;

use crate::auth::caller::{Admin, Caller, unauthorized};
use crate::extract::parse_json;
use crate::problem::{Problem, ProblemBody};
use crate::realtime::connection::Session;
use crate::realtime::protocol::{ResumePayload, User};
use crate::realtime::socket;
use crate::realtime::ticket::Admission;
use crate::state::AppState;

/// Frames larger than this end the connection (1009) instead of getting an error frame:
/// past it, reading the frame at all costs too much.
const HARD_FRAME_LIMIT: usize = 1024 * 1024;

/// A one-time connection ticket.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TicketAnswer {
    /// Open `GET /api/v1/ws?ticket=…` with it, once, before it expires.
    ticket: String,
    /// When it stops being accepted (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    expires_at: DateTime<Utc>,
}

/// What a ticket may carry: the conversations to replay as soon as the connection opens.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketRequest {
    /// For each conversation (its id as a key), the last sequence number the client has, 0
    /// for none: the same as a `resume` frame, but replayed before any live event.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    resume: Option<ResumePayloadBody>,
}

/// The `resume` map of a ticket request.
type ResumePayloadBody = std::collections::BTreeMap<String, u64>;

/// Trades the caller's token for a one-time WebSocket ticket, valid for 30 seconds. An
/// optional body `{"resume": {"<conversation>": last_seq}}` names conversations to replay
/// when the connection opens, before any live event.
#[utoipa::path(
    post,
    path = "/api/v1/ws/tickets",
    tag = "realtime",
    security(("bearer" = [])),
    request_body(content = Option<TicketRequest>, description = "Optional: conversations to \
        resume when the connection opens."),
    responses(
        (status = 201, description = "A ticket for one connection.", body = TicketAnswer),
        (status = 422, description = "A resume key that is not a conversation id \
            (`invalid_value`, `field` names it).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn create_ticket(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<TicketAnswer>), Problem> {
    let resume = if body.iter().all(u8::is_ascii_whitespace) {
        Vec::new()
    } else {
        let request: TicketRequest = parse_json(&body)?;
        let conversations = request.resume.unwrap_or_default();
        ResumePayload { conversations }.pairs().map_err(|key| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_value",
                format!("resume.{key}: not a conversation id"),
            )
            .with_field(format!("resume.{key}"))
        })?
    };
    let tickets = &state.realtime.tickets;
    let expires_at = Utc::now() + tickets.ttl();
    let ticket = tickets
        .issue(Admission { ctx, resume })
        .map_err(|error| Problem::internal(&error))?;
    Ok((
        StatusCode::CREATED,
        Json(TicketAnswer { ticket, expires_at }),
    ))
}

/// Opens the real-time connection (see `docs/realtime.md`) with a ticket from
/// `POST /api/v1/ws/tickets`.
#[utoipa::path(
    get,
    path = "/api/v1/ws",
    tag = "realtime",
    params(("ticket" = String, Query, description = "A ticket from `POST /api/v1/ws/tickets`.")),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol."),
        (status = 401, description = "No ticket, or one unknown, used or expired \
            (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 426, description = "Not a WebSocket request (`upgrade_required`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 429, description = "Too many connections opened at once \
            (`too_many_connections`); see Retry-After.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn connect(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let gate = &state.realtime;
    if let Err(wait) = gate.admit() {
        return too_many_connections(wait);
    }
    // The ticket is the query's only secret; it is never logged, and it works once.
    let Some(ticket) = params.get("ticket") else {
        tracing::debug!("connection refused: no ticket");
        return unauthorized();
    };
    let Ok(upgrade) = upgrade else {
        return Problem::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            "this route speaks WebSocket only",
        )
        .into_response();
    };
    let Some((issued, Admission { ctx, resume })) = gate.tickets.redeem(ticket) else {
        tracing::debug!("connection refused: the ticket is unknown, used or expired");
        return unauthorized();
    };
    if let Some(agent) = ctx.actor.agent_id()
        && gate.hub.signed_out_since(agent, issued)
    {
        tracing::debug!("connection refused: the ticket's sessions ended after it was issued");
        return unauthorized();
    }
    let (user, admin) = match ctx.actor {
        Actor::Staff { id, .. } => (User::Agent(id), ctx.actor.is_admin()),
        Actor::Customer { id } => (User::Customer(id), false),
        Actor::System => return unauthorized(),
    };
    let session = Session {
        service: state.service.clone(),
        hub: gate.hub.clone(),
        ctx,
        user,
        admin,
        settings: gate.settings.clone(),
        resume,
    };
    let limit = gate.settings.max_frame_bytes.max(HARD_FRAME_LIMIT);
    upgrade
        // The WebSocket library reserves its whole read buffer (128 KiB by default) for every
        // connection up front; most connections sit idle, and a frame larger than the buffer
        // still arrives whole, the buffer growing for it.
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| socket::run(session, socket))
}

/// The read buffer a connection starts with: a few typical frames.
const READ_BUFFER_BYTES: usize = 4 * 1024;

fn too_many_connections(wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    tracing::warn!(retry_after = seconds, "connections opened over the limit");
    let mut response = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_connections",
        format!("too many connections opened at once; try again in {seconds} s, with jitter"),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Who is online now, as the hub counts them.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OnlineAnswer {
    /// How many agents (staff) have a connection open.
    agents_online: usize,
    /// Their ids, ascending.
    #[schema(value_type = Vec<i64>)]
    agents: Vec<AgentId>,
    /// Connections open, of staff and customers.
    connections: usize,
    /// Connections of staff.
    agent_connections: usize,
    /// Connections of customers.
    customer_connections: usize,
}

/// The agents online, their ids and the connections open. Admins only.
#[utoipa::path(
    get,
    path = "/api/v1/stats/online",
    tag = "realtime",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Who is online.", body = OnlineAnswer),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn online(
    State(state): State<AppState>,
    Admin(_admin): Admin,
) -> Json<OnlineAnswer> {
    let stats = state.realtime.hub.online();
    Json(OnlineAnswer {
        agents_online: stats.agents.len(),
        agents: stats.agents,
        connections: stats.agent_connections + stats.customer_connections,
        agent_connections: stats.agent_connections,
        customer_connections: stats.customer_connections,
    })
}
