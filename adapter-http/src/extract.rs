//! Request bodies: JSON whose every rejection is a problem naming the field at fault.
//!
//! axum's own `Json` answers a bad body in plain text. [`ApiJson`] answers in the problem
//! format instead: 415 for a body that is not JSON, 400 for malformed JSON, 422 for JSON of
//! the wrong shape (naming the field serde stopped at), 413 for a body over the limit.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::problem::Problem;

/// A JSON request body of type `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        if !is_json(request.headers().get(header::CONTENT_TYPE)) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| Problem::for_status(rejection.status()))?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// `application/json`, or another JSON media type such as `application/merge-patch+json`.
fn is_json(content_type: Option<&header::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON body, naming the field at fault when it does not fit `T`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| shape_problem(&error))?;
    deserializer.end().map_err(|error| malformed(&error))?;
    Ok(value)
}

fn malformed(error: &serde_json::Error) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        format!("the body is not valid JSON: {error}"),
    )
}

fn shape_problem(error: &serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let inner = error.inner();
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => return malformed(inner),
        Category::Data => {}
    }

    // serde names a missing field in its message, at the path of the object lacking it.
    let message = inner.to_string();
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    let mut field = match error.path().to_string() {
        path if path == "." => None,
        path => Some(path),
    };
    let code = if let Some(name) = message.strip_prefix("missing field ") {
        let name = name.trim_matches('`');
        field = Some(match field {
            Some(parent) => format!("{parent}.{name}"),
            None => name.to_owned(),
        });
        "missing_field"
    } else if message.starts_with("unknown variant") {
        "unknown_value"
    } else if message.starts_with("unknown field") {
        "unknown_field"
    } else if message.starts_with("invalid type") {
        "wrong_type"
    } else {
        "invalid_value"
    };

    let detail = match &field {
        Some(field) => format!("{field}: {message}"),
        None => message,
    };
    let problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail);
    match field {
        Some(field) => problem.with_field(field),
        None => problem,
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use serde::Deserialize;
    use tower::ServiceExt;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Leave {
        kind: Kind,
        days: u32,
        dates: Dates,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Vacation,
        Sick,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Dates {
        first: String,
        last: String,
    }

    const GOOD: &str =
        r#"{"kind":"sick","days":2,"dates":{"first":"2026-03-02","last":"2026-03-03"}}"#;

    fn refused(body: &str) -> Problem {
        parse_json::<Leave>(body.as_bytes()).expect_err(body)
    }

    #[test]
    fn a_fitting_body_parses() {
        let leave: Leave = parse_json(GOOD.as_bytes()).expect("fits");
        assert_eq!(leave.kind, Kind::Sick);
        assert_eq!(leave.dates.last, "2026-03-03");
    }

    #[test]
    fn malformed_json_is_400() {
        for body in [
            r#"{"kind":"sick","#,
            "not json",
            "",
            &format!("{GOOD} trailing"),
        ] {
            let problem = refused(body);
            assert_eq!(problem.status, 400, "{body}");
            assert_eq!(problem.code, "malformed_json", "{body}");
        }
    }

    #[test]
    fn a_wrong_type_is_422_naming_the_field() {
        let problem = refused(r#"{"kind":"sick","days":"two","dates":{"first":"a","last":"b"}}"#);
        assert_eq!((problem.status, problem.code), (422, "wrong_type"));
        assert_eq!(problem.field.as_deref(), Some("days"));
        assert!(
            problem.detail.starts_with("days: invalid type"),
            "{}",
            problem.detail
        );
    }

    #[test]
    fn a_negative_count_is_422_naming_the_field() {
        let problem = refused(r#"{"kind":"sick","days":-1,"dates":{"first":"a","last":"b"}}"#);
        assert_eq!(problem.status, 422);
        assert_eq!(problem.field.as_deref(), Some("days"));
    }

    #[test]
    fn a_missing_nested_field_is_named_with_its_path() {
        let problem = refused(r#"{"kind":"sick","days":1,"dates":{"first":"a"}}"#);
        assert_eq!((problem.status, problem.code), (422, "missing_field"));
        assert_eq!(problem.field.as_deref(), Some("dates.last"));
    }

    #[test]
    fn an_unknown_enum_value_is_422_naming_the_field() {
        let problem = refused(r#"{"kind":"holiday","days":1,"dates":{"first":"a","last":"b"}}"#);
        assert_eq!((problem.status, problem.code), (422, "unknown_value"));
        assert_eq!(problem.field.as_deref(), Some("kind"));
        assert!(problem.detail.contains("vacation"), "{}", problem.detail);
    }

    #[test]
    fn an_unknown_field_is_422() {
        let problem =
            refused(r#"{"kind":"sick","days":1,"dates":{"first":"a","last":"b"},"extra":true}"#);
        assert_eq!((problem.status, problem.code), (422, "unknown_field"));
    }

    async fn post_body(content_type: Option<&str>, body: Vec<u8>) -> (StatusCode, String) {
        async fn accept(ApiJson(leave): ApiJson<Leave>) -> String {
            format!("{} days", leave.days)
        }
        let app = Router::new()
            .route("/leave", post(accept))
            .layer(axum::extract::DefaultBodyLimit::max(1024));
        let mut request = Request::post("/leave");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response = app
            .oneshot(request.body(Body::from(body)).expect("request"))
            .await
            .expect("answer");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|value| value.to_str().expect("ascii").to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        if !status.is_success() {
            assert_eq!(content_type.as_deref(), Some("application/problem+json"));
        }
        (status, String::from_utf8(bytes.to_vec()).expect("utf-8"))
    }

    #[tokio::test]
    async fn the_extractor_accepts_json_with_a_charset() {
        let (status, body) = post_body(Some("application/json; charset=utf-8"), GOOD.into()).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "2 days"));
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_is_415() {
        for content_type in [None, Some("text/plain")] {
            let (status, body) = post_body(content_type, GOOD.into()).await;
            assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
            assert!(body.contains("unsupported_media_type"), "{body}");
        }
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413() {
        let padded = format!("{}{}", " ".repeat(2048), GOOD);
        let (status, body) = post_body(Some("application/json"), padded.into()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body.contains("body_too_large"), "{body}");
    }

    #[tokio::test]
    async fn the_extractor_answers_a_wrong_shape_with_the_field() {
        let (status, body) =
            post_body(Some("application/json"), br#"{"kind":"sick"}"#.to_vec()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let problem: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(problem["field"], "days");
        assert_eq!(problem["code"], "missing_field");
    }
}
