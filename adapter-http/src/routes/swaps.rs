//! Swap requests over HTTP: an agent offers an entry to a colleague, who accepts or
//! declines, and an admin decides. Who may see and do what, and whether the target is free,
//! are decided in `core`; these handlers parse the request into core types and show the
//! answers.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiftdesk_core::ids::{EntryId, SwapId};
use shiftdesk_core::input::Problem as InputProblem;
use shiftdesk_core::store::SwapQuery;
use shiftdesk_core::swap::{SwapApplication, SwapKind, SwapRequest, SwapState, SwapStatus};
use shiftdesk_core::text::Note;
use utoipa::ToSchema;

use crate::auth::caller::Caller;
use crate::extract::{ApiJson, parse_json};
use crate::problem::{Problem, ProblemBody};
use crate::routes::leave::note;
use crate::routes::page::{PageParams, PageRequest, Paging, known_only};
use crate::routes::schedule::agent;
use crate::state::AppState;

/// Pages of the list, in id order.
const PAGES: Paging = Paging {
    list: "swaps",
    default: 50,
    max: 500,
};

/// Every swap state, to read `status` against.
const SWAP_STATES: [SwapState; 6] = [
    SwapState::Pending,
    SwapState::Accepted,
    SwapState::Declined,
    SwapState::Cancelled,
    SwapState::Approved,
    SwapState::Rejected,
];

/// A swap request as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SwapView {
    /// Its id.
    id: i64,
    /// Who gives their entry away.
    requester: i64,
    /// The entry given away.
    entry: i64,
    /// Who takes it.
    target: i64,
    /// `{"kind": "cover"}` or `{"kind": "exchange", "target_entry": …}`.
    #[schema(value_type = Object)]
    kind: SwapKind,
    /// What the requester wrote.
    note: Option<String>,
    /// When it was filed.
    #[schema(value_type = String, format = DateTime)]
    requested_at: DateTime<Utc>,
    /// `{"state": "pending"}`, `{"state": "accepted", "at": …}` and so on.
    #[schema(value_type = Object)]
    status: SwapStatus,
}

impl From<SwapRequest> for SwapView {
    fn from(swap: SwapRequest) -> Self {
        SwapView {
            id: swap.id.get(),
            requester: swap.requester.get(),
            entry: swap.requester_entry.get(),
            target: swap.target.get(),
            kind: swap.kind,
            note: swap.note.map(|note| note.as_str().to_owned()),
            requested_at: swap.requested_at,
            status: swap.status,
        }
    }
}

/// A new swap request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SwapBody {
    /// The caller's entry to give away (an admin may name anyone's).
    entry: i64,
    /// The colleague asked to take it.
    target: i64,
    /// `cover` (the target works it) or `exchange` (the two trade entries).
    kind: String,
    /// For an exchange, the target's entry the requester takes.
    #[serde(default)]
    target_entry: Option<i64>,
    /// A note for the target and the admin.
    #[serde(default)]
    note: Option<String>,
}

/// Why an admin refuses a swap.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SwapDecisionBody {
    /// A note for the two agents.
    #[serde(default)]
    note: Option<String>,
}

/// A path id; one that is not an id names no request.
fn swap_id(raw: &str) -> Result<SwapId, Problem> {
    raw.parse().map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("swap request {raw} does not exist"),
        )
    })
}

fn entry(field: &'static str, raw: i64) -> Result<EntryId, Problem> {
    EntryId::try_from(raw).map_err(|p| p.at(field).into())
}

fn swap_kind(kind: &str, target_entry: Option<i64>) -> Result<SwapKind, Problem> {
    match (kind, target_entry) {
        ("cover", None) => Ok(SwapKind::Cover),
        ("cover", Some(_)) => Err(InputProblem::Invalid("only an exchange names one")
            .at("target_entry")
            .into()),
        ("exchange", Some(raw)) => Ok(SwapKind::Exchange {
            target_entry: entry("target_entry", raw)?,
        }),
        ("exchange", None) => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_field",
            "target_entry: an exchange names the entry taken in return",
        )
        .with_field("target_entry")),
        _ => Err(InputProblem::Invalid("must be cover or exchange")
            .at("kind")
            .into()),
    }
}

/// An optional decision body: none at all, or `{"note": …}`.
fn decision_note(body: &Bytes) -> Result<Option<Note>, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body: SwapDecisionBody = parse_json(body)?;
    note("note", body.note.as_deref())
}

/// The list's query, optionally `status` and `agent`.
fn swap_query(params: &HashMap<String, String>) -> Result<(SwapQuery, PageRequest), Problem> {
    known_only(params, &["status", "agent", "limit", "cursor"])?;
    let page = PAGES.request(params)?;
    let after = page
        .after
        .map(|id| SwapId::try_from(id).map_err(|p| Problem::from(p.at("cursor"))))
        .transpose()?;
    let states = params
        .get("status")
        .map(|raw| {
            SWAP_STATES
                .into_iter()
                .find(|state| state.as_str() == raw)
                .map(|state| vec![state])
                .ok_or_else(|| {
                    Problem::from(
                        InputProblem::Invalid(
                            "must be pending, accepted, declined, cancelled, approved or \
                             rejected",
                        )
                        .at("status"),
                    )
                })
        })
        .transpose()?;
    let agent = params
        .get("agent")
        .map(|raw| {
            raw.parse()
                .map_err(|p: InputProblem| Problem::from(p.at("agent")))
        })
        .transpose()?;
    let query = SwapQuery {
        after,
        limit: Some(page.limit),
        agent,
        states,
        entry: None,
    };
    Ok((query, page))
}

/// Swap requests, by id: admins see all, agents those they filed or are asked to take,
/// customers none.
#[utoipa::path(
    get,
    path = "/api/v1/swaps",
    tag = "swaps",
    security(("bearer" = [])),
    params(
        ("status" = Option<String>, Query, description = "Only requests in this state: \
            `pending`, `accepted`, `declined`, `cancelled`, `approved` or `rejected`."),
        ("agent" = Option<i64>, Query, description = "Only requests this agent filed or is \
            asked to take."),
        PageParams,
    ),
    responses(
        (status = 200, description = "The requests the caller may see, in id order; a full \
            page carries `Link: <…>; rel=\"next\"`.", body = Vec<SwapView>),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list_swaps(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    uri: Uri,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let (query, page) = swap_query(&params)?;
    let found = state.service.swaps(&ctx, query).await?;
    let (returned, last) = (found.len(), found.last().map(|request| request.id.get()));
    let views: Vec<SwapView> = found.into_iter().map(SwapView::from).collect();
    Ok(PAGES.link_next(Json(views).into_response(), &uri, page, returned, last))
}

/// Offers an entry to a colleague, to cover or in exchange for one of theirs. It starts
/// pending, waiting for the target.
#[utoipa::path(
    post,
    path = "/api/v1/swaps",
    tag = "swaps",
    security(("bearer" = [])),
    request_body = SwapBody,
    responses(
        (status = 201, description = "Filed; `Location` names it.", body = SwapView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not the caller's entry (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such entry or agent (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "The entries or the target cannot be swapped now.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn request_swap(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(body): ApiJson<SwapBody>,
) -> Result<Response, Problem> {
    let application = SwapApplication {
        requester_entry: entry("entry", body.entry)?,
        target: agent("target".to_owned(), body.target)?,
        kind: swap_kind(&body.kind, body.target_entry)?,
        note: note("note", body.note.as_deref())?,
    };

    let swap = state.service.request_swap(&ctx, application).await?;
    let location = format!("/api/v1/swaps/{}", swap.id.get());
    let mut response = (StatusCode::CREATED, Json(SwapView::from(swap))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// One swap request, if the caller may see it.
#[utoipa::path(
    get,
    path = "/api/v1/swaps/{id}",
    tag = "swaps",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "The request.", body = SwapView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such request the caller may see (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get_swap(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<SwapView>, Problem> {
    let id = swap_id(&id)?;
    Ok(Json(state.service.swap(&ctx, id).await?.into()))
}

/// The target agrees to take the entry; an admin decides next. The target only.
#[utoipa::path(
    post,
    path = "/api/v1/swaps/{id}/accept",
    tag = "swaps",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "Accepted.", body = SwapView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not the target (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such request the caller may see (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "Not pending (`invalid_transition`), or the target is \
            not free.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn accept_swap(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<SwapView>, Problem> {
    let id = swap_id(&id)?;
    Ok(Json(state.service.accept_swap(&ctx, id).await?.into()))
}

/// The target says no. The target only.
#[utoipa::path(
    post,
    path = "/api/v1/swaps/{id}/decline",
    tag = "swaps",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "Declined.", body = SwapView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not the target (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such request the caller may see (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "Not pending (`invalid_transition`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn decline_swap(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<SwapView>, Problem> {
    let id = swap_id(&id)?;
    Ok(Json(state.service.decline_swap(&ctx, id).await?.into()))
}

/// The requester withdraws it before an admin decides. The requester only.
#[utoipa::path(
    post,
    path = "/api/v1/swaps/{id}/cancel",
    tag = "swaps",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "Cancelled.", body = SwapView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not the requester (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such request the caller may see (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "Already decided (`invalid_transition`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn cancel_swap(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<SwapView>, Problem> {
    let id = swap_id(&id)?;
    Ok(Json(state.service.cancel_swap(&ctx, id).await?.into()))
}

/// Approves an accepted swap: the entries change hands, if the target is still free.
/// Admins only.
#[utoipa::path(
    post,
    path = "/api/v1/swaps/{id}/approve",
    tag = "swaps",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "Approved; the entries changed hands.", body = SwapView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such request (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "Not accepted (`invalid_transition`), or the new places \
            conflict (`schedule_conflicts`, listed in `conflicts`); nothing changed.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn approve_swap(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<SwapView>, Problem> {
    let id = swap_id(&id)?;
    Ok(Json(state.service.approve_swap(&ctx, id).await?.into()))
}

/// Refuses a swap the target accepted, optionally with `{"note": …}`. Admins only.
#[utoipa::path(
    post,
    path = "/api/v1/swaps/{id}/reject",
    tag = "swaps",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id.")),
    request_body(content = SwapDecisionBody, description = "Optional: a note for the agents."),
    responses(
        (status = 200, description = "Rejected.", body = SwapView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such request (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "Not accepted by the target, or already decided \
            (`invalid_transition`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A bad note; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn reject_swap(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<SwapView>, Problem> {
    let id = swap_id(&id)?;
    let note = decision_note(&body)?;
    Ok(Json(
        state.service.reject_swap(&ctx, id, note).await?.into(),
    ))
}
