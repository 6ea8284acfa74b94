//! Staff accounts over HTTP: the caller's own profile and password, and the staff list that
//! admins manage. Who may read or change what is decided in `core`; these handlers parse,
//! hash passwords, and issue tokens.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer};
use shiftdesk_core::account::LoginRefusal;
use shiftdesk_core::error::AccountError;
use shiftdesk_core::ids::AgentId;
use shiftdesk_core::staff::{Actor, AgentUpdate, Capacity, Context, NewAgent, Role};
use shiftdesk_core::text::{DisplayName, Login, Skill};
use utoipa::ToSchema;

use crate::auth::caller::{Admin, Caller, context};
use crate::auth::password;
use crate::auth::token::Holder;
use crate::extract::ApiJson;
use crate::problem::{Problem, ProblemBody};
use crate::routes::common::{AgentView, ClientAddress, TokenAnswer, too_many};
use crate::state::AppState;

/// A new staff member, with their first password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    /// What they will log in with.
    login: String,
    /// What colleagues and customers see.
    display_name: String,
    /// `agent` or `admin`.
    #[schema(value_type = String, example = "agent")]
    role: Role,
    /// Skills that shifts may require.
    #[serde(default)]
    skills: Vec<String>,
    /// How many unresolved conversations they may hold; absent for the team default.
    #[serde(default)]
    capacity: Option<u32>,
    /// Their first password: 12 characters to 1024 bytes.
    password: String,
}

/// Changes to a staff member; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserChanges {
    /// A new display name.
    display_name: Option<String>,
    /// A new role; ends their sessions.
    #[schema(value_type = Option<String>, example = "admin")]
    role: Option<Role>,
    /// Activate or deactivate; either ends their sessions.
    active: Option<bool>,
    /// The full new set of skills.
    skills: Option<Vec<String>>,
    /// A new capacity; `null` returns them to the team default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    capacity: Option<Option<u32>>,
}

/// A field that is present, even as `null`, is `Some`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The caller's new password, with the current one as proof.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    /// The password they log in with now.
    current_password: String,
    /// The new one: 12 characters to 1024 bytes.
    new_password: String,
}

/// A password set by an admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordReset {
    /// The new password: 12 characters to 1024 bytes.
    password: String,
}

fn parse_skills(raw: &[String]) -> Result<BTreeSet<Skill>, Problem> {
    raw.iter()
        .enumerate()
        .map(|(at, skill)| Skill::parse(skill).map_err(|p| p.at(format!("skills[{at}]")).into()))
        .collect()
}

fn parse_capacity(raw: Option<u32>) -> Result<Option<Capacity>, Problem> {
    raw.map(|n| Capacity::new(n).map_err(|p| Problem::from(p.at("capacity"))))
        .transpose()
}

/// A path id; one that is not an id names nobody.
fn agent_id(raw: &str) -> Result<AgentId, Problem> {
    raw.parse().map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("staff member {raw} does not exist"),
        )
    })
}

/// The staff member behind the caller; customers have no staff account.
fn own_id(ctx: &Context) -> Result<AgentId, Problem> {
    ctx.actor.agent_id().ok_or_else(|| {
        Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only staff have an account here",
        )
    })
}

fn hash_failed(error: &password::HashError) -> Problem {
    Problem::internal(error)
}

/// The caller's own staff profile.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's profile.", body = AgentView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "A customer token (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn me(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Json<AgentView>, Problem> {
    let id = own_id(&ctx)?;
    let agent = state.service.agent(&ctx, id).await?;
    Ok(Json(agent.into()))
}

/// Changes the caller's password after checking the current one. Every session ends; the
/// answer carries a new token.
#[utoipa::path(
    put,
    path = "/api/v1/me/password",
    tag = "users",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Changed; a token for the new password.", body = TokenAnswer),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "The current password is wrong (`wrong_password`) or the \
            new one is too short or too long; `field` names which.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts (`too_many_attempts`); see Retry-After.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn change_own_password(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Caller(ctx): Caller,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<Json<TokenAnswer>, Response> {
    let id = own_id(&ctx).map_err(IntoResponse::into_response)?;
    password::check_new_password("new_password", &change.new_password)
        .map_err(IntoResponse::into_response)?;
    let me = state
        .service
        .agent(&ctx, id)
        .await
        .map_err(|error| Problem::from(error).into_response())?;
    // Guessing the current password is a login attempt by another name.
    state
        .auth
        .limiter
        .attempt(address, me.login.as_str())
        .map_err(too_many)?;

    // The hash is read as a login would read it: by Shiftdesk itself, for this request.
    let system = context(Actor::System, &headers);
    let candidate = state
        .service
        .login_candidate(&system, me.login.as_str())
        .await;
    let matches = match candidate {
        Ok(candidate) if candidate.agent.id == id => {
            password::verify(change.current_password, candidate.password_hash).await
        }
        Ok(_) | Err(AccountError::LoginRefused(_)) => false,
        Err(error) => return Err(Problem::from(error).into_response()),
    };
    if !matches {
        tracing::warn!(reason = %LoginRefusal::WrongPassword, "password change refused");
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_password",
            "current_password is not the password of this account",
        )
        .with_field("current_password")
        .into_response());
    }

    let hash = password::hash(change.new_password)
        .await
        .map_err(|error| hash_failed(&error).into_response())?;
    let version = state
        .service
        .set_password(&ctx, id, hash)
        .await
        .map_err(|error| Problem::from(error).into_response())?;
    state.auth.states.forget(id);
    let holder = Holder::Staff {
        id,
        role: me.role,
        version,
    };
    TokenAnswer::issue(&state, &holder, me)
        .map(Json)
        .map_err(IntoResponse::into_response)
}

/// Every staff member, in id order. Staff only.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The staff list.", body = Vec<AgentView>),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not staff (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Json<Vec<AgentView>>, Problem> {
    let agents = state.service.agents(&ctx).await?;
    Ok(Json(agents.into_iter().map(AgentView::from).collect()))
}

/// Adds a staff member with a first password. Admins only.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    security(("bearer" = [])),
    request_body = NewUser,
    responses(
        (status = 201, description = "Created; `Location` names it.", body = AgentView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "The login is taken (`login_taken`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(user): ApiJson<NewUser>,
) -> Result<Response, Problem> {
    let new = NewAgent {
        login: Login::parse(&user.login).map_err(|p| Problem::from(p.at("login")))?,
        display_name: DisplayName::parse(&user.display_name)
            .map_err(|p| Problem::from(p.at("display_name")))?,
        role: user.role,
        skills: parse_skills(&user.skills)?,
        capacity: parse_capacity(user.capacity)?,
    };
    password::check_new_password("password", &user.password)?;

    let created = state.service.create_agent(&ctx, new).await?;
    let hash = password::hash(user.password)
        .await
        .map_err(|error| hash_failed(&error))?;
    state.service.set_password(&ctx, created.id, hash).await?;

    let location = format!("/api/v1/users/{}", created.id.get());
    let mut response = (StatusCode::CREATED, Json(AgentView::from(created))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// One staff member. Staff only.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The staff member's id.")),
    responses(
        (status = 200, description = "The staff member.", body = AgentView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not staff (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such staff member (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<AgentView>, Problem> {
    let id = agent_id(&id)?;
    Ok(Json(state.service.agent(&ctx, id).await?.into()))
}

/// Changes a staff member's name, role, activity, skills or capacity. Admins only. A new
/// role or activity ends their sessions.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The staff member's id.")),
    request_body = UserChanges,
    responses(
        (status = 200, description = "The staff member as changed.", body = AgentView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such staff member (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "The change would leave no active admin (`last_admin`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    ApiJson(changes): ApiJson<UserChanges>,
) -> Result<Json<AgentView>, Problem> {
    let id = agent_id(&id)?;
    let update = AgentUpdate {
        display_name: changes
            .display_name
            .map(|name| DisplayName::parse(&name).map_err(|p| Problem::from(p.at("display_name"))))
            .transpose()?,
        role: changes.role,
        active: changes.active,
        skills: changes.skills.as_deref().map(parse_skills).transpose()?,
        capacity: changes.capacity.map(parse_capacity).transpose()?,
    };
    let updated = state.service.update_agent(&ctx, id, update).await?;
    state.auth.states.forget(id);
    Ok(Json(updated.into()))
}

/// Sets a staff member's password and ends their sessions. Admins only; staff change their
/// own through `/api/v1/me/password`, which asks for the current one.
#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/password",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The staff member's id.")),
    request_body = PasswordReset,
    responses(
        (status = 204, description = "Set; their tokens are refused from now on."),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such staff member (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "The password is too short or too long.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Path(id): Path<String>,
    ApiJson(reset): ApiJson<PasswordReset>,
) -> Result<StatusCode, Problem> {
    let id = agent_id(&id)?;
    password::check_new_password("password", &reset.password)?;
    // Refuse an unknown id before spending a hash on it.
    state.service.agent(&ctx, id).await?;
    let hash = password::hash(reset.password)
        .await
        .map_err(|error| hash_failed(&error))?;
    state.service.set_password(&ctx, id, hash).await?;
    state.auth.states.forget(id);
    Ok(StatusCode::NO_CONTENT)
}
