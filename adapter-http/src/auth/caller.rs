//! Who is calling: the bearer token checked on every request.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shiftdesk_core::staff::{Actor, Context, RequestId};

use crate::auth::token::Holder;
use crate::problem::Problem;
use crate::request_id::REQUEST_ID_HEADER;
use crate::state::AppState;

/// The 401 answer to a request without an acceptable token: the same body whatever the
/// reason, with `WWW-Authenticate: Bearer`.
pub fn unauthorized() -> Response {
    let mut response = Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid bearer token is required",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The request's id as core records it.
pub fn request_id(headers: &HeaderMap) -> Option<RequestId> {
    let value = headers.get(REQUEST_ID_HEADER)?.to_str().ok()?;
    Some(RequestId::new(value))
}

/// A context for `actor`, tied to the request.
pub fn context(actor: Actor, headers: &HeaderMap) -> Context {
    let ctx = Context::new(actor);
    match request_id(headers) {
        Some(id) => ctx.with_request_id(id),
        None => ctx,
    }
}

/// The token after `Bearer ` in the `Authorization` header; the scheme's case is ignored.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// An authenticated caller: the context their token speaks for, with the request's id.
///
/// For staff the token's version and role must still match their account, so a token of
/// someone deactivated, given a new role or a new password, or logged out, is refused.
#[derive(Debug, Clone)]
pub struct Caller(pub Context);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, Response> {
        let Some(token) = bearer(&parts.headers) else {
            tracing::debug!("no bearer token");
            return Err(unauthorized());
        };
        let holder = state.auth.tokens.verify(token).map_err(|refused| {
            tracing::debug!(reason = %refused, "token refused");
            unauthorized()
        })?;
        let actor = match holder {
            Holder::Staff { id, role, version } => {
                let current = state
                    .auth
                    .states
                    .get(&state.service, id)
                    .await
                    .map_err(|error| Problem::from(error).into_response())?;
                if !current.is_some_and(|current| current.accepts(version, role)) {
                    tracing::debug!(agent = id.get(), "token no longer speaks for its holder");
                    return Err(unauthorized());
                }
                Actor::Staff { id, role }
            }
            Holder::Customer { id, .. } => Actor::Customer { id },
        };
        Ok(Caller(context(actor, &parts.headers)))
    }
}

/// An authenticated admin; anyone else authenticated is answered 403 `forbidden`.
#[derive(Debug, Clone)]
pub struct Admin(pub Context);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin, Response> {
        let Caller(ctx) = Caller::from_request_parts(parts, state).await?;
        if ctx.actor.is_admin() {
            Ok(Admin(ctx))
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "only admins may do this",
            )
            .into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(authorization).expect("header"),
        );
        headers
    }

    #[test]
    fn the_bearer_token_is_read_whatever_the_scheme_case() {
        assert_eq!(bearer(&headers("Bearer abc.def.ghi")), Some("abc.def.ghi"));
        assert_eq!(bearer(&headers("bearer abc")), Some("abc"));
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_no_token() {
        for value in ["Basic bWVpOnB3", "Bearer ", "Bearer", "abc.def.ghi"] {
            assert_eq!(bearer(&headers(value)), None, "{value}");
        }
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
