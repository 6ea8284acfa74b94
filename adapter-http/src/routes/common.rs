//! Pieces the login and staff routes share: the client's address that login attempts are
//! limited by, the 429 answer, the token answer and the staff member's view.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shiftdesk_core::staff::{Agent, Role};
use utoipa::ToSchema;

use crate::auth::limit::TooMany;
use crate::auth::token::{Holder, Issued};
use crate::problem::Problem;
use crate::state::AppState;

/// The client's IP address, as the connection shows it; unknown when the router is called
/// without a socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddress(pub(crate) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(ClientAddress(peer.map(|info| info.0.ip())))
    }
}

/// The 429 answer to an attempt over a limit, with `Retry-After` in whole seconds.
pub(crate) fn too_many(limit: TooMany) -> Response {
    let seconds = limit.retry_after.as_secs_f64().ceil().max(1.0) as u64;
    tracing::warn!(retry_after = seconds, "login attempts over the limit");
    let mut response = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        format!("too many login attempts; try again in {seconds} s"),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A token for a staff member.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenAnswer {
    /// The bearer token to send as `Authorization: Bearer <token>`.
    token: String,
    /// When it stops being accepted (RFC 3339).
    expires_at: String,
    /// Who it speaks for.
    agent: AgentView,
}

impl TokenAnswer {
    /// Issues a token for `holder` and answers with it.
    pub(crate) fn issue(
        state: &AppState,
        holder: &Holder,
        agent: Agent,
    ) -> Result<TokenAnswer, Problem> {
        let issued = issue(state, holder, agent.display_name.as_str())?;
        Ok(TokenAnswer {
            token: issued.token,
            expires_at: humantime::format_rfc3339_seconds(issued.expires_at).to_string(),
            agent: agent.into(),
        })
    }
}

pub(crate) fn issue(state: &AppState, holder: &Holder, name: &str) -> Result<Issued, Problem> {
    state
        .auth
        .tokens
        .issue(holder, name)
        .map_err(|error| Problem::internal(&error))
}

/// A staff member as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgentView {
    /// Their id.
    id: i64,
    /// What they log in with.
    login: String,
    /// What colleagues and customers see.
    display_name: String,
    /// `agent` or `admin`.
    #[schema(value_type = String, example = "agent")]
    role: Role,
    /// Inactive staff cannot log in or be scheduled.
    active: bool,
    /// Skills that shifts may require.
    skills: Vec<String>,
    /// How many unresolved conversations they may hold; absent for the team default.
    capacity: Option<u32>,
}

impl From<Agent> for AgentView {
    fn from(agent: Agent) -> Self {
        AgentView {
            id: agent.id.get(),
            login: agent.login.as_str().to_owned(),
            display_name: agent.display_name.as_str().to_owned(),
            role: agent.role,
            active: agent.active,
            skills: agent.skills.iter().map(|s| s.as_str().to_owned()).collect(),
            capacity: agent.capacity.map(|capacity| capacity.get()),
        }
    }
}
