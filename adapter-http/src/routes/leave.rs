//! Leave requests over HTTP: agents ask for leave and withdraw it, admins decide. Who may see
//! and do what, overlaps, allowances and the schedule's changes are decided in `core`; these
//! handlers parse the request into core types and show the answers.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shiftdesk_core::error::LeaveError;
use shiftdesk_core::ids::LeaveId;
use shiftdesk_core::input::Problem as InputProblem;
use shiftdesk_core::leave::{
    LeaveApplication, LeaveChange, LeaveKind, LeaveRequest, LeaveState, LeaveStatus, UncoveredShift,
};
use shiftdesk_core::staff::Actor;
use shiftdesk_core::store::LeaveQuery;
use shiftdesk_core::text::Note;
use utoipa::ToSchema;

use crate::auth::caller::Caller;
use crate::extract::{ApiJson, parse_json};
use crate::problem::{Problem, ProblemBody};
use crate::routes::page::{PageParams, PageRequest, Paging, known_only};
use crate::routes::schedule::{DatesBody, EntryView, agent, date_range};
use crate::state::AppState;

/// Pages of the list, in id order.
const PAGES: Paging = Paging {
    list: "leave",
    default: 50,
    max: 500,
};

/// Every leave state, to read `status` against.
const LEAVE_STATES: [LeaveState; 5] = [
    LeaveState::Pending,
    LeaveState::Approved,
    LeaveState::Rejected,
    LeaveState::Cancelled,
    LeaveState::Revoked,
];

/// A date range as the API shows it, both ends included.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DatesView {
    /// The first date.
    #[schema(value_type = String, format = Date)]
    first: NaiveDate,
    /// The last date.
    #[schema(value_type = String, format = Date)]
    last: NaiveDate,
}

/// A leave request as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeaveView {
    /// Its id.
    id: i64,
    /// Who will be away.
    agent: i64,
    /// `annual`, `sick`, `personal` or `other`.
    #[schema(value_type = String, example = "annual")]
    kind: LeaveKind,
    /// The local dates away.
    dates: DatesView,
    /// What the agent wrote.
    reason: Option<String>,
    /// Who filed it: the agent, or an admin for them.
    #[schema(value_type = Object)]
    requested_by: Actor,
    /// When it was filed.
    #[schema(value_type = String, format = DateTime)]
    requested_at: DateTime<Utc>,
    /// `{"state": "pending"}`, `{"state": "approved", "by": …, "at": …}` and so on.
    #[schema(value_type = Object)]
    status: LeaveStatus,
}

impl From<LeaveRequest> for LeaveView {
    fn from(leave: LeaveRequest) -> Self {
        LeaveView {
            id: leave.id.get(),
            agent: leave.agent.get(),
            kind: leave.kind,
            dates: DatesView {
                first: leave.dates.first(),
                last: leave.dates.last(),
            },
            reason: leave.reason.map(|note| note.as_str().to_owned()),
            requested_by: leave.requested_by,
            requested_at: leave.requested_at,
            status: leave.status,
        }
    }
}

/// A shift an approved leave leaves without anyone to work it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UncoveredView {
    /// The entry now on leave.
    entry: i64,
    /// The agent on leave.
    agent: i64,
    /// The shift template.
    shift: i64,
    /// Its local date.
    #[schema(value_type = String, format = Date)]
    date: NaiveDate,
    /// When it starts, in UTC.
    #[schema(value_type = String, format = DateTime)]
    start: DateTime<Utc>,
    /// When it ends, in UTC.
    #[schema(value_type = String, format = DateTime)]
    end: DateTime<Utc>,
    /// When the entry was a swap cover, the colleague whose shift it was.
    covering_for: Option<i64>,
}

impl From<UncoveredShift> for UncoveredView {
    fn from(shift: UncoveredShift) -> Self {
        UncoveredView {
            entry: shift.entry.get(),
            agent: shift.agent.get(),
            shift: shift.shift.get(),
            date: shift.date,
            start: shift.span.start(),
            end: shift.span.end(),
            covering_for: shift.covering_for.map(|agent| agent.get()),
        }
    }
}

/// What approving or revoking a leave changed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeaveChangeView {
    /// The request in its new state.
    leave: LeaveView,
    /// The schedule entries whose status changed, as they are now.
    entries: Vec<EntryView>,
    /// On approval, the shifts now without anyone to work them.
    uncovered: Vec<UncoveredView>,
}

impl From<LeaveChange> for LeaveChangeView {
    fn from(change: LeaveChange) -> Self {
        LeaveChangeView {
            leave: change.leave.into(),
            entries: change.entries.into_iter().map(EntryView::from).collect(),
            uncovered: change
                .uncovered
                .into_iter()
                .map(UncoveredView::from)
                .collect(),
        }
    }
}

/// A new leave request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LeaveBody {
    /// Who will be away; absent for the caller. Only admins name someone else.
    #[serde(default)]
    agent: Option<i64>,
    /// `annual`, `sick`, `personal` or `other`.
    kind: String,
    /// The local dates away, both ends included.
    dates: DatesBody,
    /// What the agent wants to say.
    #[serde(default)]
    reason: Option<String>,
}

/// Why an admin refuses or takes back a leave.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionBody {
    /// A note for the agent.
    #[serde(default)]
    note: Option<String>,
}

/// A path id; one that is not an id names no request.
fn leave_id(raw: &str) -> Result<LeaveId, Problem> {
    raw.parse().map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("leave request {raw} does not exist"),
        )
    })
}

fn kind(raw: &str) -> Result<LeaveKind, Problem> {
    LeaveKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == raw)
        .ok_or_else(|| {
            InputProblem::Invalid("must be annual, sick, personal or other")
                .at("kind")
                .into()
        })
}

/// An optional note, named `field` if it is not acceptable.
pub(crate) fn note(field: &'static str, raw: Option<&str>) -> Result<Option<Note>, Problem> {
    raw.map(|text| Note::parse(text).map_err(|p| p.at(field).into()))
        .transpose()
}

/// An optional decision body: none at all, or `{"note": …}`.
fn decision_note(body: &Bytes) -> Result<Option<Note>, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body: DecisionBody = parse_json(body)?;
    note("note", body.note.as_deref())
}

/// The list's query, optionally `status` and `agent`.
fn leave_query(params: &HashMap<String, String>) -> Result<(LeaveQuery, PageRequest), Problem> {
    known_only(params, &["status", "agent", "limit", "cursor"])?;
    let page = PAGES.request(params)?;
    let after = page
        .after
        .map(|id| LeaveId::try_from(id).map_err(|p| Problem::from(p.at("cursor"))))
        .transpose()?;
    let states = params
        .get("status")
        .map(|raw| {
            LEAVE_STATES
                .into_iter()
                .find(|state| state.as_str() == raw)
                .map(|state| vec![state])
                .ok_or_else(|| {
                    Problem::from(
                        InputProblem::Invalid(
                            "must be pending, approved, rejected, cancelled or revoked",
                        )
                        .at("status"),
                    )
                })
        })
        .transpose()?;
    let agents = params
        .get("agent")
        .map(|raw| {
            raw.parse()
                .map(|id| vec![id])
                .map_err(|p: InputProblem| Problem::from(p.at("agent")))
        })
        .transpose()?;
    let query = LeaveQuery {
        after,
        limit: Some(page.limit),
        agents,
        states,
        overlapping: None,
    };
    Ok((query, page))
}

/// Leave requests, by id: admins see everyone's, agents their own, customers none.
#[utoipa::path(
    get,
    path = "/api/v1/leave",
    tag = "leave",
    security(("bearer" = [])),
    params(
        ("status" = Option<String>, Query, description = "Only requests in this state: \
            `pending`, `approved`, `rejected`, `cancelled` or `revoked`."),
        ("agent" = Option<i64>, Query, description = "Only this agent's requests."),
        PageParams,
    ),
    responses(
        (status = 200, description = "The requests the caller may see, in id order; a full \
            page carries `Link: <…>; rel=\"next\"`.", body = Vec<LeaveView>),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list_leave(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    uri: Uri,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let (query, page) = leave_query(&params)?;
    let found = state.service.leaves(&ctx, query).await?;
    let (returned, last) = (found.len(), found.last().map(|request| request.id.get()));
    let views: Vec<LeaveView> = found.into_iter().map(LeaveView::from).collect();
    Ok(PAGES.link_next(Json(views).into_response(), &uri, page, returned, last))
}

/// Asks for leave, for the caller or, by an admin, for an agent. It starts pending.
#[utoipa::path(
    post,
    path = "/api/v1/leave",
    tag = "leave",
    security(("bearer" = [])),
    request_body = LeaveBody,
    responses(
        (status = 201, description = "Filed; `Location` names it.", body = LeaveView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not for the caller to ask (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "It overlaps other leave or exceeds the allowance.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn request_leave(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(body): ApiJson<LeaveBody>,
) -> Result<Response, Problem> {
    let who = match body.agent {
        Some(raw) => agent("agent".to_owned(), raw)?,
        // Only staff ask for their own leave; core refuses anyone else.
        None => ctx.actor.agent_id().ok_or(LeaveError::Forbidden)?,
    };
    let application = LeaveApplication {
        agent: who,
        kind: kind(&body.kind)?,
        dates: date_range(
            ("dates.first", &body.dates.first),
            ("dates.last", &body.dates.last),
        )?,
        reason: note("reason", body.reason.as_deref())?,
    };

    let leave = state.service.request_leave(&ctx, application).await?;
    let location = format!("/api/v1/leave/{}", leave.id.get());
    let mut response = (StatusCode::CREATED, Json(LeaveView::from(leave))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// One leave request, if the caller may see it.
#[utoipa::path(
    get,
    path = "/api/v1/leave/{id}",
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "The request.", body = LeaveView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such request the caller may see (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get_leave(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<LeaveView>, Problem> {
    let id = leave_id(&id)?;
    Ok(Json(state.service.leave(&ctx, id).await?.into()))
}

/// Grants a pending leave: the agent's entries on those dates go on leave. Admins only.
/// Answers the shifts left without anyone to work them.
#[utoipa::path(
    post,
    path = "/api/v1/leave/{id}/approve",
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "Approved: the request, the entries now on leave and \
            the shifts left uncovered.", body = LeaveChangeView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such request (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "Not pending (`invalid_transition`), or the allowance \
            or schedule refuses it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn approve_leave(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<LeaveChangeView>, Problem> {
    let id = leave_id(&id)?;
    Ok(Json(state.service.approve_leave(&ctx, id).await?.into()))
}

/// Refuses a pending leave, optionally with `{"note": …}`. Admins only.
#[utoipa::path(
    post,
    path = "/api/v1/leave/{id}/reject",
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id.")),
    request_body(content = DecisionBody, description = "Optional: a note for the agent."),
    responses(
        (status = 200, description = "Rejected.", body = LeaveView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such request (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "Not pending (`invalid_transition`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A bad note; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn reject_leave(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<LeaveView>, Problem> {
    let id = leave_id(&id)?;
    let note = decision_note(&body)?;
    Ok(Json(
        state.service.reject_leave(&ctx, id, note).await?.into(),
    ))
}

/// Withdraws a pending leave. The requester only.
#[utoipa::path(
    post,
    path = "/api/v1/leave/{id}/cancel",
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "Cancelled.", body = LeaveView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not the requester (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such request the caller may see (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "Not pending (`invalid_transition`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn cancel_leave(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<LeaveView>, Problem> {
    let id = leave_id(&id)?;
    Ok(Json(state.service.cancel_leave(&ctx, id).await?.into()))
}

/// Takes back an approved leave, optionally with `{"note": …}`: the entries are worked
/// again. Admins only.
#[utoipa::path(
    post,
    path = "/api/v1/leave/{id}/revoke",
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id.")),
    request_body(content = DecisionBody, description = "Optional: a note for the agent."),
    responses(
        (status = 200, description = "Revoked: the request and the entries worked again.",
            body = LeaveChangeView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such request (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "Not approved (`invalid_transition`), or the entries' \
            places are taken (`schedule_conflicts`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A bad note; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn revoke_leave(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<LeaveChangeView>, Problem> {
    let id = leave_id(&id)?;
    let note = decision_note(&body)?;
    Ok(Json(
        state.service.revoke_leave(&ctx, id, note).await?.into(),
    ))
}
