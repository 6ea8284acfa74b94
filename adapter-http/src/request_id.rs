//! The request id, and the span every log line of a request is written in.
//!
//! A caller's `x-request-id` is kept if it is 1 to 64 visible ASCII characters, so a proxy's
//! id follows the request through; anything else is replaced by a new UUID v7 (time-ordered,
//! so ids sort by arrival). The id goes back in the response header, into the `request`
//! span with the method and the matched route, and into every problem body.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header carrying the request id, both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id kept from a caller.
pub const MAX_REQUEST_ID_LEN: usize = 64;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being answered, if called while answering one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The caller's id if it is acceptable: 1 to 64 visible ASCII characters (no spaces).
pub fn accepted_request_id(header: Option<&HeaderValue>) -> Option<String> {
    let bytes = header?.as_bytes();
    let visible = bytes.iter().all(|byte| (0x21..=0x7e).contains(byte));
    if bytes.is_empty() || bytes.len() > MAX_REQUEST_ID_LEN || !visible {
        return None;
    }
    String::from_utf8(bytes.to_vec()).ok()
}

/// Names the request, opens its span, and returns the id in the response.
pub(crate) async fn identify(mut request: Request, next: Next) -> Response {
    let id = accepted_request_id(request.headers().get(&REQUEST_ID_HEADER))
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let route = route_of(&request);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        route = %route,
    );

    let started = std::time::Instant::now();
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "answered"
        );
    });

    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// The route template that matched (`/healthz`), or `unmatched`: never the raw path, whose
/// values would make every log line and metric series unique.
pub(crate) fn route_of(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs `make` as if answering the request `id`.
    pub(crate) async fn within_request<T>(id: &str, make: impl FnOnce() -> T) -> T {
        REQUEST_ID.scope(id.to_owned(), async { make() }).await
    }

    fn header(value: &[u8]) -> HeaderValue {
        HeaderValue::from_bytes(value).expect("header value")
    }

    #[test]
    fn a_visible_ascii_id_is_kept() {
        let kept = accepted_request_id(Some(&header(b"proxy-4f2a:7")));
        assert_eq!(kept.as_deref(), Some("proxy-4f2a:7"));
    }

    #[test]
    fn the_longest_accepted_id_has_64_characters() {
        let longest = "a".repeat(64);
        assert_eq!(
            accepted_request_id(Some(&header(longest.as_bytes()))),
            Some(longest)
        );
        assert_eq!(
            accepted_request_id(Some(&header("a".repeat(65).as_bytes()))),
            None
        );
    }

    #[test]
    fn empty_spaced_or_non_ascii_ids_are_replaced() {
        for value in [&b""[..], b"two words", b"tab\there", "caf\u{e9}".as_bytes()] {
            assert_eq!(accepted_request_id(Some(&header(value))), None, "{value:?}");
        }
        assert_eq!(accepted_request_id(None), None);
    }

    #[tokio::test]
    async fn the_id_is_known_inside_the_request_only() {
        assert_eq!(current_request_id(), None);
        let inside = REQUEST_ID
            .scope("r-1".to_owned(), async { current_request_id() })
            .await;
        assert_eq!(inside.as_deref(), Some("r-1"));
    }
}
