//! The audit log over HTTP, newest first, a page at a time. Admins only, as `core` decides.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use shiftdesk_core::audit::{AuditQuery, Subject};
use shiftdesk_core::ids::{AgentId, AuditId};
use shiftdesk_core::input::Problem as InputProblem;

use crate::auth::caller::Caller;
use crate::problem::{Problem, ProblemBody};
use crate::routes::page::{PageRequest, Paging, known_only};
use crate::state::AppState;

/// Pages of the audit log, newest first.
const PAGES: Paging = Paging {
    list: "audit",
    default: 50,
    max: 1000,
};

/// The query parameters the audit log reads.
const PARAMETERS: [&str; 4] = ["subject", "actor", "cursor", "limit"];

fn invalid(field: &'static str, rule: &'static str) -> Problem {
    InputProblem::Invalid(rule).at(field).into()
}

/// `team`, `schedule`, `unknown_login`, or a kind and an id such as `shift:3`.
fn subject(raw: &str) -> Result<Subject, Problem> {
    const RULE: &str = "must be team, schedule, unknown_login, conversations, or agent, shift, \
        entry, leave or swap followed by :id, such as shift:3";
    let bad = || invalid("subject", RULE);
    let (kind, id) = match raw.split_once(':') {
        Some((kind, id)) => (kind, Some(id)),
        None => (raw, None),
    };
    let subject = match (kind, id) {
        ("team", None) => Subject::Team,
        ("schedule", None) => Subject::Schedule,
        ("unknown_login", None) => Subject::UnknownLogin,
        ("conversations", None) => Subject::Conversations,
        ("agent", Some(id)) => Subject::Agent(id.parse().map_err(|_| bad())?),
        ("shift", Some(id)) => Subject::Shift(id.parse().map_err(|_| bad())?),
        ("entry", Some(id)) => Subject::Entry(id.parse().map_err(|_| bad())?),
        ("leave", Some(id)) => Subject::Leave(id.parse().map_err(|_| bad())?),
        ("swap", Some(id)) => Subject::Swap(id.parse().map_err(|_| bad())?),
        _ => return Err(bad()),
    };
    Ok(subject)
}

/// The query and the page it asks for.
fn audit_query(params: &HashMap<String, String>) -> Result<(AuditQuery, PageRequest), Problem> {
    known_only(params, &PARAMETERS)?;
    let actor = params
        .get("actor")
        .map(|id| {
            id.parse::<AgentId>()
                .map_err(|p| Problem::from(p.at("actor")))
        })
        .transpose()?;
    let page = PAGES.request(params)?;
    let before = page
        .after
        .map(|id| AuditId::try_from(id).map_err(|p| Problem::from(p.at("cursor"))))
        .transpose()?;
    let query = AuditQuery {
        subject: params.get("subject").map(|raw| subject(raw)).transpose()?,
        actor,
        before,
        limit: page.limit,
    };
    Ok((query, page))
}

/// Audit records, newest first, optionally only about one subject or by one staff member.
/// Admins only.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    security(("bearer" = [])),
    params(
        ("subject" = Option<String>, Query, description = "`team`, `schedule`, \
            `unknown_login`, `conversations`, or `agent`, `shift`, `entry`, `leave` or `swap` \
            and an id, such as `shift:3`."),
        ("actor" = Option<i64>, Query, description = "Only records by this staff member."),
        ("limit" = Option<u32>, Query, description = "At most this many records, 1 to 1000; \
            50 if absent."),
        ("cursor" = Option<String>, Query, description = "Where to go on: the `cursor` of \
            the previous answer's `Link: <…>; rel=\"next\"`."),
    ),
    responses(
        (status = 200, description = "One page of records, newest first: `id`, `at`, \
            `actor`, `request_id`, `action`, `subject`, and the subject's `before` and `after` \
            snapshots. A full page carries `Link: <…>; rel=\"next\"`.", body = Vec<Object>),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn audit_log(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    uri: Uri,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let (query, page) = audit_query(&params)?;
    let records = state.service.audit_log(&ctx, query).await?;
    let (returned, last) = (records.len(), records.last().map(|record| record.id.get()));
    Ok(PAGES.link_next(Json(records).into_response(), &uri, page, returned, last))
}
