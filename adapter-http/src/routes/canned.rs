//! Canned replies over HTTP: every staff member reads the public ones and their own, creates
//! and changes their own, and renders them for a conversation; admins manage the public ones.
//! Who may do what, what a caller sees and how a lookup ranks is decided in `core`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use shiftdesk_core::canned::{
    CannedReply, CannedReplyUpdate, NewCannedReply, ReplyScope, Template,
};
use shiftdesk_core::ids::{CannedReplyId, ConversationId};
use shiftdesk_core::text::{Shortcode, Title, Topic};
use utoipa::ToSchema;

use crate::auth::caller::Caller;
use crate::extract::ApiJson;
use crate::problem::{Problem, ProblemBody};
use crate::routes::page::known_only;
use crate::state::AppState;

/// The query parameters the list takes.
const PARAMETERS: [&str; 2] = ["prefix", "category"];

/// A canned reply as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CannedReplyView {
    /// Its id.
    id: i64,
    /// Whether the whole team sees it; otherwise it is its owner's alone.
    public: bool,
    /// The agent it belongs to, for a personal reply.
    owner: Option<i64>,
    /// What agents type to find it; unique within its scope.
    shortcode: String,
    /// A human title.
    title: String,
    /// A category to group it under.
    category: Option<String>,
    /// The text, with variables such as `{{customer.name}}`.
    body: String,
}

impl From<CannedReply> for CannedReplyView {
    fn from(reply: CannedReply) -> Self {
        let owner = match reply.scope {
            ReplyScope::Public => None,
            ReplyScope::Personal { owner } => Some(owner.get()),
        };
        CannedReplyView {
            id: reply.id.get(),
            public: owner.is_none(),
            owner,
            shortcode: reply.shortcode.as_str().to_owned(),
            title: reply.title.as_str().to_owned(),
            category: reply.category.map(|topic| topic.as_str().to_owned()),
            body: reply.body.as_str().to_owned(),
        }
    }
}

/// A new canned reply.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewCannedReplyBody {
    /// What agents type to find it: 1 to 32 of `a-z 0-9 _ -`.
    shortcode: String,
    /// A human title.
    title: String,
    /// A category to group it under.
    #[serde(default)]
    category: Option<String>,
    /// The text; variables are `{{customer.name}}`, `{{agent.name}}` and
    /// `{{conversation.id}}`.
    body: String,
    /// Whether the whole team sees it (admins only); otherwise it is the caller's own.
    #[serde(default)]
    public: bool,
}

/// Changes to a canned reply; whose it is stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CannedReplyChanges {
    /// A new shortcode.
    shortcode: Option<String>,
    /// A new title.
    title: Option<String>,
    /// A new category; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    category: Option<Option<String>>,
    /// A new body.
    body: Option<String>,
}

/// What a reply is rendered for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RenderBody {
    /// The conversation whose customer and number fill the variables.
    conversation: i64,
}

/// A rendered reply.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RenderedReply {
    /// The text with every variable filled in, as the caller would send it.
    text: String,
}

/// A field that is present, even as `null`, is `Some`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

fn parse_shortcode(raw: &str) -> Result<Shortcode, Problem> {
    Shortcode::parse(raw).map_err(|p| Problem::from(p.at("shortcode")))
}

fn parse_title(raw: &str) -> Result<Title, Problem> {
    Title::parse(raw).map_err(|p| Problem::from(p.at("title")))
}

fn parse_category(raw: Option<&str>) -> Result<Option<Topic>, Problem> {
    raw.map(|topic| Topic::parse(topic).map_err(|p| Problem::from(p.at("category"))))
        .transpose()
}

fn parse_body(raw: &str) -> Result<Template, Problem> {
    Template::parse(raw).map_err(|p| Problem::from(p.at("body")))
}

/// A path id; one that is not an id names no canned reply.
fn reply_id(raw: &str) -> Result<CannedReplyId, Problem> {
    raw.parse().map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("canned reply {raw} does not exist"),
        )
    })
}

/// The list's parameters, refusing any other.
fn list_query(params: &HashMap<String, String>) -> Result<(Option<&str>, Option<Topic>), Problem> {
    known_only(params, &PARAMETERS)?;
    let category = parse_category(params.get("category").map(String::as_str))?;
    Ok((params.get("prefix").map(String::as_str), category))
}

/// The replies the caller sees: the public ones and their own, a personal reply hiding a
/// public one with the same shortcode. With `prefix`, only matches, best first. Staff only.
#[utoipa::path(
    get,
    path = "/api/v1/canned-replies",
    tag = "canned replies",
    security(("bearer" = [])),
    params(
        ("prefix" = Option<String>, Query, description = "Only replies matching it, best \
            first: the exact shortcode, then shortcodes starting with it, then titles \
            containing it; at most 20."),
        ("category" = Option<String>, Query, description = "Only replies in this category."),
    ),
    responses(
        (status = 200, description = "The replies.", body = Vec<CannedReplyView>),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not staff (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list_canned_replies(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<CannedReplyView>>, Problem> {
    let (prefix, category) = list_query(&params)?;
    let replies = match prefix {
        Some(prefix) => state.service.lookup_canned_replies(&ctx, prefix).await?,
        None => state.service.canned_replies(&ctx).await?,
    };
    let shown = replies
        .into_iter()
        .filter(|reply| category.is_none() || reply.category == category)
        .map(CannedReplyView::from);
    Ok(Json(shown.collect()))
}

/// Creates a canned reply: a personal one for the caller, or a public one (admins only).
#[utoipa::path(
    post,
    path = "/api/v1/canned-replies",
    tag = "canned replies",
    security(("bearer" = [])),
    request_body = NewCannedReplyBody,
    responses(
        (status = 201, description = "Created; `Location` names it.", body = CannedReplyView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not staff, or a public reply by an agent \
            (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "The shortcode is taken in that scope \
            (`shortcode_taken`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable, such as a body with a \
            variable Shiftdesk does not know (`unknown_variable`); `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn create_canned_reply(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(reply): ApiJson<NewCannedReplyBody>,
) -> Result<Response, Problem> {
    let scope = match (reply.public, ctx.actor.agent_id()) {
        (true, _) => ReplyScope::Public,
        (false, Some(owner)) => ReplyScope::Personal { owner },
        // Only staff own personal replies; core refuses anyone else.
        (false, None) => ReplyScope::Public,
    };
    let new = NewCannedReply {
        scope,
        shortcode: parse_shortcode(&reply.shortcode)?,
        title: parse_title(&reply.title)?,
        category: parse_category(reply.category.as_deref())?,
        body: parse_body(&reply.body)?,
    };

    let created = state.service.create_canned_reply(&ctx, new).await?;
    let location = format!("/api/v1/canned-replies/{}", created.id.get());
    let mut response = (StatusCode::CREATED, Json(CannedReplyView::from(created))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// One canned reply the caller sees. Another agent's personal reply is not found.
#[utoipa::path(
    get,
    path = "/api/v1/canned-replies/{id}",
    tag = "canned replies",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The canned reply's id.")),
    responses(
        (status = 200, description = "The reply.", body = CannedReplyView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such reply the caller sees; customers see none \
            (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get_canned_reply(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<CannedReplyView>, Problem> {
    let id = reply_id(&id)?;
    Ok(Json(state.service.canned_reply(&ctx, id).await?.into()))
}

/// Changes a canned reply: agents their own, admins the public ones.
#[utoipa::path(
    patch,
    path = "/api/v1/canned-replies/{id}",
    tag = "canned replies",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The canned reply's id.")),
    request_body = CannedReplyChanges,
    responses(
        (status = 200, description = "The reply as changed.", body = CannedReplyView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "A public reply changed by an agent (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such reply the caller sees; customers see none \
            (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "The shortcode is taken in that scope \
            (`shortcode_taken`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn update_canned_reply(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    ApiJson(changes): ApiJson<CannedReplyChanges>,
) -> Result<Json<CannedReplyView>, Problem> {
    let id = reply_id(&id)?;
    let update = CannedReplyUpdate {
        shortcode: changes
            .shortcode
            .as_deref()
            .map(parse_shortcode)
            .transpose()?,
        title: changes.title.as_deref().map(parse_title).transpose()?,
        category: changes
            .category
            .map(|topic| parse_category(topic.as_deref()))
            .transpose()?,
        body: changes.body.as_deref().map(parse_body).transpose()?,
    };
    Ok(Json(
        state
            .service
            .update_canned_reply(&ctx, id, update)
            .await?
            .into(),
    ))
}

/// Removes a canned reply: agents their own, admins the public ones.
#[utoipa::path(
    delete,
    path = "/api/v1/canned-replies/{id}",
    tag = "canned replies",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The canned reply's id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "A public reply removed by an agent (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such reply the caller sees; customers see none \
            (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn delete_canned_reply(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = reply_id(&id)?;
    state.service.delete_canned_reply(&ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A reply's text filled in for a conversation the caller may see, as the caller would send
/// it. Staff only.
#[utoipa::path(
    post,
    path = "/api/v1/canned-replies/{id}/render",
    tag = "canned replies",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The canned reply's id.")),
    request_body = RenderBody,
    responses(
        (status = 200, description = "The rendered text.", body = RenderedReply),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not staff (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such reply or conversation the caller sees \
            (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "The body uses a variable Shiftdesk does not know \
            (`unknown_variable`), named in `detail`; or a field is not acceptable.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn render_canned_reply(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    ApiJson(render): ApiJson<RenderBody>,
) -> Result<Json<RenderedReply>, Problem> {
    let id = reply_id(&id)?;
    let conversation = ConversationId::try_from(render.conversation)
        .map_err(|p| Problem::from(p.at("conversation")))?;
    let text = state
        .service
        .render_canned_reply(&ctx, id, conversation)
        .await?;
    Ok(Json(RenderedReply { text }))
}
