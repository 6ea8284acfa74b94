//! Query strings and pages of lists, shared by every list route.
//!
//! A list answers a JSON array. When more follows, a `Link` header (RFC 8288) names the next
//! page: the same URL with an opaque `cursor`. The cursor says which list it belongs to and
//! where the page ended; clients pass it back as it is and never build one. It is not
//! signed: a made-up cursor only moves the caller within what they may see anyway.

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use shiftdesk_core::input::Problem as InputProblem;
use utoipa::IntoParams;

use crate::problem::Problem;

/// The query parameters of a page, for the OpenAPI document: the handlers read the query
/// string themselves, refusing unknown names.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by the document, not by the code.
pub(crate) struct PageParams {
    /// At most this many, 1 to 500 (1,000 for the audit log); 50 if absent.
    limit: Option<u32>,
    /// Where to go on: pass back the `cursor` of the previous answer's `Link: <…>; rel="next"`.
    cursor: Option<String>,
}

/// The parameter that carries a cursor.
const CURSOR: &str = "cursor";

/// The parameter that bounds a page.
const LIMIT: &str = "limit";

/// Refuses a query string with a parameter the route does not read, naming it.
pub(crate) fn known_only(
    params: &HashMap<String, String>,
    known: &[&'static str],
) -> Result<(), Problem> {
    let Some(unknown) = params.keys().find(|key| !known.contains(&key.as_str())) else {
        return Ok(());
    };
    Err(Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_field",
        format!(
            "{unknown}: unknown query parameter; expected {}",
            known.join(", ")
        ),
    )
    .with_field(unknown.clone()))
}

/// Which page of a list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRequest {
    /// At most this many items.
    pub(crate) limit: usize,
    /// Where the previous page ended, if this is not the first.
    pub(crate) after: Option<i64>,
}

/// How a list pages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    /// The list's name, written into its cursors so one list's cursor is refused by another.
    pub(crate) list: &'static str,
    /// The page size when the caller names none.
    pub(crate) default: usize,
    /// The largest page size a caller may ask for.
    pub(crate) max: usize,
}

impl Paging {
    /// The page `params` ask for, from their `limit` and `cursor`.
    pub(crate) fn request(&self, params: &HashMap<String, String>) -> Result<PageRequest, Problem> {
        let limit = match params.get(LIMIT) {
            None => self.default,
            Some(raw) => {
                let limit: usize = raw.parse().map_err(|_| {
                    Problem::from(InputProblem::Invalid("must be a whole number").at(LIMIT))
                })?;
                if !(1..=self.max).contains(&limit) {
                    let max = i64::try_from(self.max).unwrap_or(i64::MAX);
                    return Err(InputProblem::OutOfRange { min: 1, max }.at(LIMIT).into());
                }
                limit
            }
        };
        let after = params.get(CURSOR).map(|raw| self.decode(raw)).transpose()?;
        Ok(PageRequest { limit, after })
    }

    /// The cursor of the page after `position`.
    pub(crate) fn encode(&self, position: i64) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{position}", self.list))
    }

    fn decode(&self, raw: &str) -> Result<i64, Problem> {
        let bad = || {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_cursor",
                format!("{CURSOR}: not a cursor of this list; pass back the one a `Link` gave"),
            )
            .with_field(CURSOR)
        };
        let text = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let text = String::from_utf8(text).map_err(|_| bad())?;
        let (list, position) = text.split_once(':').ok_or_else(bad)?;
        if list != self.list {
            return Err(bad());
        }
        position.parse().map_err(|_| bad())
    }

    /// Adds the `Link` to the next page to `response` when the page was full: the request's
    /// URL with its cursor replaced by one after `last`.
    pub(crate) fn link_next(
        &self,
        mut response: Response,
        uri: &Uri,
        request: PageRequest,
        returned: usize,
        last: Option<i64>,
    ) -> Response {
        let Some(last) = last.filter(|_| returned >= request.limit) else {
            return response;
        };
        let mut pairs: Vec<(String, String)> = uri
            .query()
            .map(|query| serde_urlencoded::from_str(query).unwrap_or_default())
            .unwrap_or_default();
        pairs.retain(|(name, _)| name != CURSOR);
        pairs.push((CURSOR.to_owned(), self.encode(last)));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        let link = format!("<{}?{query}>; rel=\"next\"", uri.path());
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;

    const CONVERSATIONS: Paging = Paging {
        list: "conversations",
        default: 50,
        max: 500,
    };

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn a_cursor_reads_back_as_the_position_it_was_made_from() {
        let cursor = CONVERSATIONS.encode(41);
        let request = CONVERSATIONS.request(&params(&[("cursor", &cursor)]));
        assert_eq!(
            request,
            Ok(PageRequest {
                limit: 50,
                after: Some(41)
            })
        );
    }

    #[test]
    fn another_lists_cursor_or_a_made_up_one_is_refused() {
        let audit = Paging {
            list: "audit",
            ..CONVERSATIONS
        };
        for cursor in [audit.encode(41), "41".to_owned(), "%%%".to_owned()] {
            let refused = CONVERSATIONS.request(&params(&[("cursor", &cursor)]));
            let refused = refused.expect_err("refused");
            assert_eq!(
                (refused.code, refused.field.as_deref()),
                ("invalid_cursor", Some("cursor"))
            );
        }
    }

    #[test]
    fn a_limit_outside_the_range_is_refused_naming_it() {
        let cases = [
            ("0", "out_of_range"),
            ("501", "out_of_range"),
            ("-1", "invalid_value"),
            ("ten", "invalid_value"),
        ];
        for (limit, code) in cases {
            let refused = CONVERSATIONS.request(&params(&[("limit", limit)]));
            let refused = refused.expect_err("refused");
            assert_eq!(refused.field.as_deref(), Some("limit"), "{limit}");
            assert_eq!(refused.code, code, "{limit}");
        }
    }

    #[test]
    fn a_full_page_links_to_the_next_with_the_other_parameters_kept() {
        let uri: Uri = "/api/v1/conversations?status=open&limit=2&cursor=old"
            .parse()
            .expect("uri");
        let request = PageRequest {
            limit: 2,
            after: None,
        };
        let full = CONVERSATIONS.link_next(().into_response(), &uri, request, 2, Some(7));
        let link = full.headers()[header::LINK].to_str().expect("ascii");
        let next = CONVERSATIONS.encode(7);
        assert_eq!(
            link,
            format!("</api/v1/conversations?status=open&limit=2&cursor={next}>; rel=\"next\"")
        );

        let short = CONVERSATIONS.link_next(().into_response(), &uri, request, 1, Some(7));
        assert!(!short.headers().contains_key(header::LINK));
    }

    #[test]
    fn an_unknown_parameter_is_named() {
        let refused = known_only(&params(&[("stauts", "open")]), &["status", "limit"]);
        let refused = refused.expect_err("refused");
        assert_eq!(refused.field.as_deref(), Some("stauts"));
        assert_eq!(
            refused.detail,
            "stauts: unknown query parameter; expected status, limit"
        );
    }
}
