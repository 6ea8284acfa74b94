//! The routes and their OpenAPI descriptions, declared together: the router and the
//! document are built from the same list, so neither can list a route the other lacks.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::{Problem, ProblemBody, chain};
use crate::state::AppState;

pub(crate) mod audit;
pub(crate) mod canned;
pub(crate) mod common;
pub(crate) mod conversations;
pub(crate) mod leave;
pub(crate) mod login;
pub(crate) mod page;
pub(crate) mod realtime;
pub(crate) mod schedule;
pub(crate) mod shifts;
pub(crate) mod swaps;
pub(crate) mod team;
pub(crate) mod users;

/// The document's fixed parts; the paths come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Shiftdesk",
        description = "Shiftdesk's HTTP API. Every error answer is an \
            `application/problem+json` body with a stable `code`."
    ),
    components(schemas(ProblemBody<'static>)),
    modifiers(&BearerToken),
    tags(
        (name = "operations", description = "Health, readiness, metrics and this document."),
        (name = "auth", description = "Logging in and out, for staff and customers."),
        (name = "users", description = "Staff accounts: the caller's own, and the staff list."),
        (name = "team", description = "The team settings every scheduling rule reads."),
        (name = "shifts", description = "Shift templates: named local times of day."),
        (name = "schedule", description = "Schedule entries: reading, assigning, moving."),
        (name = "leave", description = "Leave requests: asking, withdrawing, deciding."),
        (name = "swaps", description = "Swap requests: offering a shift, answering, deciding."),
        (name = "canned replies", description = "Saved replies with variables, personal or \
            public, and rendering them for a conversation."),
        (name = "conversations", description = "Conversations: finding, reading, writing, \
            handing over, closing and exporting them."),
        (name = "audit", description = "The audit log: who changed what, and when."),
        (name = "realtime", description = "The WebSocket connection (see docs/realtime.md), \
            its tickets, and who is online."),
    )
)]
struct ApiDoc;

/// Declares the `bearer` security scheme the authenticated routes name.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every route, with its description.
pub(crate) fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
        .routes(routes!(login::login))
        .routes(routes!(login::logout))
        .routes(routes!(login::customer))
        .routes(routes!(users::me))
        .routes(routes!(users::change_own_password))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user, users::update_user))
        .routes(routes!(users::reset_password))
        .routes(routes!(team::get_team, team::update_team))
        .routes(routes!(shifts::list_shifts, shifts::create_shift))
        .routes(routes!(shifts::update_shift, shifts::remove_shift))
        .routes(routes!(schedule::read_schedule))
        .routes(routes!(schedule::assign))
        .routes(routes!(
            schedule::get_entry,
            schedule::move_entry,
            schedule::remove_entry
        ))
        .routes(routes!(leave::list_leave, leave::request_leave))
        .routes(routes!(leave::get_leave))
        .routes(routes!(leave::approve_leave))
        .routes(routes!(leave::reject_leave))
        .routes(routes!(leave::cancel_leave))
        .routes(routes!(leave::revoke_leave))
        .routes(routes!(swaps::list_swaps, swaps::request_swap))
        .routes(routes!(swaps::get_swap))
        .routes(routes!(swaps::accept_swap))
        .routes(routes!(swaps::decline_swap))
        .routes(routes!(swaps::cancel_swap))
        .routes(routes!(swaps::approve_swap))
        .routes(routes!(swaps::reject_swap))
        .routes(routes!(
            canned::list_canned_replies,
            canned::create_canned_reply
        ))
        .routes(routes!(
            canned::get_canned_reply,
            canned::update_canned_reply,
            canned::delete_canned_reply
        ))
        .routes(routes!(canned::render_canned_reply))
        .routes(routes!(
            conversations::list_conversations,
            conversations::open_conversation
        ))
        .routes(routes!(conversations::count_conversations))
        .routes(routes!(conversations::export_conversations))
        .routes(routes!(conversations::get_conversation))
        .routes(routes!(
            conversations::list_messages,
            conversations::send_message
        ))
        .routes(routes!(conversations::take_conversation))
        .routes(routes!(conversations::transfer_conversation))
        .routes(routes!(conversations::change_status))
        .routes(routes!(conversations::mark_read))
        .routes(routes!(audit::audit_log))
        .routes(routes!(realtime::create_ticket))
        .routes(routes!(realtime::connect))
        .routes(routes!(realtime::online))
}

/// The answer of a health or readiness check.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `alive` or `ready`.
    pub(crate) status: &'static str,
}

/// Whether the server process answers at all.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "The server is alive.", body = Health),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
async fn healthz() -> Json<Health> {
    Json(Health { status: "alive" })
}

/// Whether the server can serve requests: the store opens a read transaction.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "The store answers.", body = Health),
        (status = 503, description = "The store cannot be reached (`store_unavailable`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, Problem> {
    let checked = async {
        let mut tx = state.store.begin_read().await?;
        tx.team().await
    }
    .await;
    match checked {
        Ok(_) => Ok(Json(Health { status: "ready" })),
        Err(error) => {
            tracing::warn!(error = %chain(&error), "not ready: the store does not answer");
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the database cannot be reached just now",
            ))
        }
    }
}

/// Counters and latency histograms of the requests served, and the database pool's use.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format.", body = String,
            content_type = "text/plain; version=0.0.4"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// This document: every route, its answers, and the problem format.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", body = Object,
            content_type = "application/json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
async fn openapi_json(State(state): State<AppState>) -> Response {
    let mut response = state.openapi.to_string().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
