//! The audit log over HTTP, newest first, a page at a time. Admins only, as `core` decides.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Serialize;
use shiftdesk_core::audit::{AuditQuery, AuditRecord, Subject};
use shiftdesk_core::ids::{AgentId, AuditId};
use shiftdesk_core::input::Problem as InputProblem;
use utoipa::ToSchema;

use crate::auth::caller::Caller;
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;

/// How many records a page holds when the caller does not say.
const DEFAULT_PAGE: usize = 50;

/// The query parameters the audit log reads.
const PARAMETERS: [&str; 4] = ["subject", "actor", "before", "limit"];

/// One page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditPage {
    /// The records, newest first: `id`, `at`, `actor`, `request_id`, `action`, `subject`,
    /// and the subject's `before` and `after` snapshots.
    #[schema(value_type = Vec<Object>)]
    records: Vec<AuditRecord>,
    /// When the page is full, the `before` that reads the next, older page.
    next_before: Option<i64>,
}

fn invalid(field: &'static str, rule: &'static str) -> Problem {
    InputProblem::Invalid(rule).at(field).into()
}

/// `team`, `schedule`, `unknown_login`, or a kind and an id such as `shift:3`.
fn subject(raw: &str) -> Result<Subject, Problem> {
    const RULE: &str = "must be team, schedule, unknown_login, or agent, shift, entry, leave or \
        swap followed by :id, such as shift:3";
    let bad = || invalid("subject", RULE);
    let (kind, id) = match raw.split_once(':') {
        Some((kind, id)) => (kind, Some(id)),
        None => (raw, None),
    };
    let subject = match (kind, id) {
        ("team", None) => Subject::Team,
        ("schedule", None) => Subject::Schedule,
        ("unknown_login", None) => Subject::UnknownLogin,
        ("agent", Some(id)) => Subject::Agent(id.parse().map_err(|_| bad())?),
        ("shift", Some(id)) => Subject::Shift(id.parse().map_err(|_| bad())?),
        ("entry", Some(id)) => Subject::Entry(id.parse().map_err(|_| bad())?),
        ("leave", Some(id)) => Subject::Leave(id.parse().map_err(|_| bad())?),
        ("swap", Some(id)) => Subject::Swap(id.parse().map_err(|_| bad())?),
        _ => return Err(bad()),
    };
    Ok(subject)
}

fn audit_query(params: &HashMap<String, String>) -> Result<AuditQuery, Problem> {
    if let Some(unknown) = params
        .keys()
        .find(|key| !PARAMETERS.contains(&key.as_str()))
    {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_field",
            format!("{unknown}: unknown query parameter; expected subject, actor, before, limit"),
        )
        .with_field(unknown.clone()));
    }
    let actor = params
        .get("actor")
        .map(|id| {
            id.parse::<AgentId>()
                .map_err(|p| Problem::from(p.at("actor")))
        })
        .transpose()?;
    let before = params
        .get("before")
        .map(|id| {
            id.parse::<AuditId>()
                .map_err(|p| Problem::from(p.at("before")))
        })
        .transpose()?;
    let limit = match params.get("limit") {
        Some(raw) => raw
            .parse()
            .map_err(|_| invalid("limit", "must be a positive whole number"))?,
        None => DEFAULT_PAGE,
    };
    Ok(AuditQuery {
        subject: params.get("subject").map(|raw| subject(raw)).transpose()?,
        actor,
        before,
        limit,
    })
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
            `unknown_login`, or `agent`, `shift`, `entry`, `leave` or `swap` and an id, such \
            as `shift:3`."),
        ("actor" = Option<i64>, Query, description = "Only records by this staff member."),
        ("before" = Option<i64>, Query, description = "Only records older than this one: \
            the previous page's `next_before`."),
        ("limit" = Option<u32>, Query, description = "At most this many records, 1 to 1000; \
            50 if absent."),
    ),
    responses(
        (status = 200, description = "One page of records.", body = AuditPage),
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
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<AuditPage>, Problem> {
    let query = audit_query(&params)?;
    let records = state.service.audit_log(&ctx, query.clone()).await?;
    let next_before = if records.len() == query.limit {
        records.last().map(|record| record.id.get())
    } else {
        None
    };
    Ok(Json(AuditPage {
        records,
        next_before,
    }))
}
