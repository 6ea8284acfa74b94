//! Logging in and out: staff by login and password, customers by the ticketing platform's
//! signature (or anonymously, where allowed).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shiftdesk_core::Service;
use shiftdesk_core::account::LoginRefusal;
use shiftdesk_core::conversation::NewCustomer;
use shiftdesk_core::error::AccountError;
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::text::{DisplayName, ExternalId};
use utoipa::ToSchema;

use crate::auth::caller::{Caller, context};
use crate::auth::password;
use crate::auth::token::Holder;
use crate::extract::ApiJson;
use crate::problem::{Problem, ProblemBody};
use crate::routes::common::{ClientAddress, TokenAnswer, issue, too_many};
use crate::state::AppState;

/// The display name of a customer the platform did not name.
const UNNAMED_CUSTOMER: &str = "Customer";
/// The display name of an anonymous customer who gave none.
const ANONYMOUS_CUSTOMER: &str = "Anonymous customer";

/// A staff member's credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credentials {
    /// What they log in with.
    login: String,
    /// Their password.
    password: String,
}

/// Records a failed login in the audit log and answers it.
async fn failed(service: &Service, ctx: &Context, login: &str, refusal: LoginRefusal) -> Response {
    match service.record_failed_login(ctx, login, refusal).await {
        Ok(()) => refused(refusal),
        Err(error) => Problem::from(error).into_response(),
    }
}

fn refused(refusal: LoginRefusal) -> Response {
    tracing::warn!(reason = %refusal, "login refused");
    Problem::from(AccountError::LoginRefused(refusal)).into_response()
}

/// Logs a staff member in. Every refusal gets the same answer, whatever its reason.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 200, description = "Logged in.", body = TokenAnswer),
        (status = 401, description = "The login or the password is wrong (`login_refused`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts for this login or from this address \
            (`too_many_attempts`); see Retry-After.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Result<Json<TokenAnswer>, Response> {
    state
        .auth
        .limiter
        .attempt(address, &credentials.login)
        .map_err(too_many)?;
    let system = context(Actor::System, &headers);
    let service = &state.service;
    let failed = |refusal| failed(service, &system, &credentials.login, refusal);

    let candidate = match service.login_candidate(&system, &credentials.login).await {
        Ok(candidate) => candidate,
        Err(AccountError::LoginRefused(refusal)) => {
            password::verify_nobody(credentials.password).await;
            return Err(failed(refusal).await);
        }
        Err(error) => return Err(Problem::from(error).into_response()),
    };
    let hash = candidate.password_hash.clone();
    if !password::verify(credentials.password.clone(), hash).await {
        return Err(failed(LoginRefusal::WrongPassword).await);
    }
    let session = match service.complete_login(&system, &candidate).await {
        Ok(session) => session,
        Err(AccountError::LoginRefused(refusal)) => return Err(refused(refusal)),
        Err(error) => return Err(Problem::from(error).into_response()),
    };
    let holder = Holder::Staff {
        id: session.agent.id,
        role: session.agent.role,
        version: session.token_version,
    };
    tracing::debug!(agent = session.agent.id.get(), "logged in");
    TokenAnswer::issue(&state, &holder, session.agent)
        .map(Json)
        .map_err(IntoResponse::into_response)
}

/// Ends every session of the caller: each token issued to them so far is refused from its
/// next request on.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out everywhere."),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "A customer token (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<StatusCode, Problem> {
    let Some(id) = ctx.actor.agent_id() else {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "customer tokens end when they expire",
        ));
    };
    state.service.log_out_everywhere(&ctx, id).await?;
    state.auth.states.forget(id);
    Ok(StatusCode::NO_CONTENT)
}

/// A customer's sign-in: the ticketing platform's signature of their external id, or
/// nothing at all for an anonymous chat where the server allows one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomerSignIn {
    /// The platform's id for the customer.
    external_id: Option<String>,
    /// What agents see; not covered by the signature.
    display_name: Option<String>,
    /// Hex HMAC-SHA256 of `external_id` with the secret shared with the platform.
    signature: Option<String>,
}

/// A token for a customer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CustomerToken {
    /// The bearer token to send as `Authorization: Bearer <token>`.
    token: String,
    /// When it stops being accepted (RFC 3339).
    expires_at: String,
    /// The customer's id.
    customer_id: i64,
    /// What agents see.
    display_name: String,
    /// Whether the server made the customer up for this chat.
    anonymous: bool,
}

fn customers_disabled() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "customers_disabled",
        "this server does not sign customers in",
    )
}

fn signature_refused(detail: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "signature_refused", detail)
}

fn display_name(given: Option<&str>, default: &str) -> Result<DisplayName, Problem> {
    DisplayName::parse(given.unwrap_or(default))
        .map_err(|problem| Problem::from(problem.at("display_name")))
}

/// Exchanges the ticketing platform's signature of a customer's external id for a customer
/// token, which reaches only that customer's own conversations.
#[utoipa::path(
    post,
    path = "/api/v1/auth/customer",
    tag = "auth",
    request_body = CustomerSignIn,
    responses(
        (status = 200, description = "Signed in.", body = CustomerToken),
        (status = 401, description = "The signature does not match, or none was given and \
            anonymous customers are not served (`signature_refused`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "This server signs no customers in \
            (`customers_disabled`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or not acceptable.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn customer(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(sign_in): ApiJson<CustomerSignIn>,
) -> Result<Json<CustomerToken>, Response> {
    let auth = &state.auth;
    let missing = |field: &str| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_field",
            format!("{field} is required with the other"),
        )
        .with_field(field)
        .into_response()
    };
    let (new, anonymous) = match (&sign_in.external_id, &sign_in.signature) {
        (Some(external_id), Some(signature)) => {
            let Some(secret) = &auth.customer_secret else {
                return Err(customers_disabled().into_response());
            };
            if !secret.verifies(external_id, signature) {
                tracing::warn!("customer sign-in refused: the signature does not match");
                return Err(signature_refused("the signature does not match").into_response());
            }
            let external_id = ExternalId::parse(external_id)
                .map_err(|problem| Problem::from(problem.at("external_id")).into_response())?;
            let name = display_name(sign_in.display_name.as_deref(), UNNAMED_CUSTOMER)
                .map_err(IntoResponse::into_response)?;
            let customer = NewCustomer {
                external_id,
                display_name: name,
            };
            (customer, false)
        }
        (Some(_), None) => return Err(missing("signature")),
        (None, Some(_)) => return Err(missing("external_id")),
        (None, None) if auth.anonymous_customers => {
            let made_up = format!("anonymous-{}", uuid::Uuid::now_v7());
            let external_id = ExternalId::parse(&made_up)
                .map_err(|problem| Problem::from(problem.at("external_id")).into_response())?;
            let name = display_name(sign_in.display_name.as_deref(), ANONYMOUS_CUSTOMER)
                .map_err(IntoResponse::into_response)?;
            let customer = NewCustomer {
                external_id,
                display_name: name,
            };
            (customer, true)
        }
        (None, None) if auth.customer_secret.is_none() => {
            return Err(customers_disabled().into_response());
        }
        (None, None) => {
            return Err(signature_refused(
                "anonymous customers are not served: send external_id and signature",
            )
            .into_response());
        }
    };

    let system = context(Actor::System, &headers);
    let customer = state
        .service
        .register_customer(&system, new)
        .await
        .map_err(|error| Problem::from(error).into_response())?;
    let holder = Holder::Customer {
        id: customer.id,
        anonymous,
    };
    let issued = issue(&state, &holder, customer.display_name.as_str())
        .map_err(IntoResponse::into_response)?;
    Ok(Json(CustomerToken {
        token: issued.token,
        expires_at: humantime::format_rfc3339_seconds(issued.expires_at).to_string(),
        customer_id: customer.id.get(),
        display_name: customer.display_name.as_str().to_owned(),
        anonymous,
    }))
}
