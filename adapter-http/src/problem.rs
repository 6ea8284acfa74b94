//! Every error answer: an `application/problem+json` body (RFC 9457) with a stable code.
//!
//! [`Problem`] is the one HTTP error type. Each core error family converts into it with an
//! exhaustive match, so a new variant in `core` does not compile here until it has a status
//! and a code. Server faults are logged once, with their cause chain, where they are
//! converted; the client only learns that something failed and the request id to quote.

use std::error::Error as StdError;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shiftdesk_core::canned::TemplateError;
use shiftdesk_core::conflict::Conflict;
use shiftdesk_core::conversation::ConversationRefusal;
use shiftdesk_core::error::{
    AccountError, AdminError, CannedError, ConversationError, LeaveError, ScheduleError, SwapError,
};
use shiftdesk_core::input::{InputError, Problem as InputProblem};
use shiftdesk_core::leave::LeaveRefusal;
use shiftdesk_core::store::{Constraint, StoreError};
use shiftdesk_core::swap::SwapRefusal;
use shiftdesk_core::transfer::TransferRefusal;
use utoipa::ToSchema;

use crate::request_id::current_request_id;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer. Its JSON form (see [`ProblemBody`]) is the response body.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, in words, naming the field at fault if any.
    pub detail: String,
    /// The stable machine-readable code, in snake_case.
    pub code: &'static str,
    /// The request field at fault, as a dotted path such as `dates.last`.
    pub field: Option<String>,
    /// The id of the request, as in the `x-request-id` header.
    pub request_id: Option<String>,
    /// For scheduling conflicts: every conflict found, not only the first.
    pub conflicts: Option<Vec<Conflict>>,
}

/// The `application/problem+json` body of an error answer (RFC 9457, with extensions).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody<'a> {
    /// A URI naming the kind of problem: `urn:shiftdesk:problem:` and the code.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem: the status's reason phrase.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, in words, naming the field at fault if any.
    pub detail: &'a str,
    /// The stable machine-readable code, in snake_case; see the README's table.
    pub code: &'static str,
    /// The request field at fault, as a dotted path such as `dates.last`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'a str>,
    /// The id of the request, as in the `x-request-id` header; quote it when reporting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'a str>,
    /// For scheduling conflicts: every conflict found, not only the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub conflicts: Option<&'a [Conflict]>,
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.body().serialize(serializer)
    }
}

impl Problem {
    /// A problem with this status, code and detail, and the current request's id.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status: status.as_u16(),
            detail: detail.into(),
            code,
            field: None,
            request_id: current_request_id(),
            conflicts: None,
        }
    }

    /// The same problem, blaming `field`.
    pub fn with_field(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    /// The same problem, listing `conflicts`.
    pub fn with_conflicts(mut self, conflicts: Vec<Conflict>) -> Problem {
        self.conflicts = Some(conflicts);
        self
    }

    /// The body as sent.
    pub fn body(&self) -> ProblemBody<'_> {
        ProblemBody {
            kind: format!("urn:shiftdesk:problem:{}", self.code),
            title: self.status().canonical_reason().unwrap_or("Error"),
            status: self.status,
            detail: &self.detail,
            code: self.code,
            field: self.field.as_deref(),
            request_id: self.request_id.as_deref(),
            conflicts: self.conflicts.as_deref(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 404 for a path no route serves.
    pub fn no_route(path: &str) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "no_route",
            format!("nothing is served at {path}"),
        )
    }

    /// 500, after logging `error` and its cause chain once. The body says nothing internal.
    pub fn internal(error: &(dyn StdError + 'static)) -> Problem {
        tracing::error!(error = %chain(error), "the request failed on the server");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed to answer; quote the request id when reporting it",
        )
    }

    /// A generic problem for a bare error status some layer answered with, such as a 405
    /// from the router or a 413 from the body limit.
    pub fn for_status(status: StatusCode) -> Problem {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => ("no_route", "nothing is served at this path"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "this path does not accept this method; see Allow",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is too large"),
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
                ("timeout", "the request took too long and was abandoned")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "the request body has the wrong content type",
            ),
            status if status.is_server_error() => (
                "internal_error",
                "the server failed to answer; quote the request id",
            ),
            _ => ("bad_request", "the request cannot be served as sent"),
        };
        Problem::new(status, code, detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// `error: cause: cause…`, for the log line of a server fault.
pub fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn forbidden(detail: String) -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
}

fn not_found(detail: String) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found", detail)
}

fn conflict(code: &'static str, detail: String) -> Problem {
    Problem::new(StatusCode::CONFLICT, code, detail)
}

fn unprocessable(code: &'static str, detail: String) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
}

fn conflicts(detail: String, list: Vec<Conflict>) -> Problem {
    conflict("schedule_conflicts", detail).with_conflicts(list)
}

impl From<InputError> for Problem {
    fn from(error: InputError) -> Problem {
        let code = match &error.problem {
            InputProblem::Empty => "empty",
            InputProblem::TooLong { .. } => "too_long",
            InputProblem::ControlCharacter => "control_character",
            InputProblem::InvalidCharacter { .. } => "invalid_character",
            InputProblem::OutOfRange { .. } => "out_of_range",
            InputProblem::TooMany { .. } => "too_many",
            InputProblem::UnknownTimeZone(_) => "unknown_time_zone",
            InputProblem::UnknownVariable(_) => "unknown_variable",
            InputProblem::UnclosedVariable(_) => "unclosed_variable",
            InputProblem::Reversed => "reversed_range",
            InputProblem::ZeroLength => "zero_length",
            InputProblem::Invalid(_) => "invalid_value",
        };
        let field = error.field.to_string();
        unprocessable(code, error.to_string()).with_field(field)
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Problem {
        match &error {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %chain(cause.as_ref()), "the store cannot be reached");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the database cannot be reached just now; try again shortly",
                )
            }
            StoreError::Constraint(constraint) => {
                let code = match constraint {
                    Constraint::Overlap => "overlapping_work",
                    Constraint::UniqueLogin => "login_taken",
                    Constraint::UniqueShiftName => "shift_name_taken",
                    Constraint::Reference => "reference_gone",
                    Constraint::UniqueExternalId => "external_id_taken",
                    Constraint::UniqueShortcode => "shortcode_taken",
                };
                conflict(code, format!("{constraint}; someone else changed it first"))
            }
            StoreError::Corrupt(_) | StoreError::Backend(_) => Problem::internal(&error),
        }
    }
}

impl From<AdminError> for Problem {
    fn from(error: AdminError) -> Problem {
        let detail = error.to_string();
        match error {
            AdminError::Forbidden => forbidden(detail),
            AdminError::NotFound(_) => not_found(detail),
            AdminError::Invalid(input) => input.into(),
            AdminError::LoginTaken(_) => conflict("login_taken", detail).with_field("login"),
            AdminError::ShiftNameTaken(_) => {
                conflict("shift_name_taken", detail).with_field("name")
            }
            AdminError::ShiftInUse(_) => conflict("shift_in_use", detail),
            AdminError::LastAdmin(_) => conflict("last_admin", detail),
            AdminError::Store(store) => store.into(),
        }
    }
}

impl From<ScheduleError> for Problem {
    fn from(error: ScheduleError) -> Problem {
        let detail = error.to_string();
        match error {
            ScheduleError::Forbidden => forbidden(detail),
            ScheduleError::NotFound(_) => not_found(detail),
            ScheduleError::Invalid(input) => input.into(),
            ScheduleError::Conflicts(list) => conflicts(detail, list),
            ScheduleError::Contended(_) => conflict("contended", detail),
            ScheduleError::NotScheduled { .. } => conflict("entry_not_scheduled", detail),
            ScheduleError::Store(store) => store.into(),
        }
    }
}

impl From<LeaveRefusal> for Problem {
    fn from(refusal: LeaveRefusal) -> Problem {
        let detail = refusal.to_string();
        match refusal {
            LeaveRefusal::InvalidTransition { .. } => conflict("invalid_transition", detail),
            LeaveRefusal::Overlapping { .. } => {
                conflict("leave_overlaps", detail).with_field("dates")
            }
            LeaveRefusal::AllowanceExceeded { .. } => {
                conflict("allowance_exceeded", detail).with_field("dates")
            }
            LeaveRefusal::Conflicts(list) => conflicts(detail, list),
        }
    }
}

impl From<LeaveError> for Problem {
    fn from(error: LeaveError) -> Problem {
        let detail = error.to_string();
        match error {
            LeaveError::Forbidden => forbidden(detail),
            LeaveError::NotFound(_) => not_found(detail),
            LeaveError::Invalid(input) => input.into(),
            LeaveError::Refused(refusal) => refusal.into(),
            LeaveError::Store(store) => store.into(),
        }
    }
}

impl From<SwapRefusal> for Problem {
    fn from(refusal: SwapRefusal) -> Problem {
        let detail = refusal.to_string();
        match refusal {
            SwapRefusal::InvalidTransition { .. } => conflict("invalid_transition", detail),
            SwapRefusal::SelfSwap => unprocessable("self_swap", detail).with_field("target"),
            SwapRefusal::TargetUnavailable { .. } => {
                unprocessable("target_unavailable", detail).with_field("target")
            }
            SwapRefusal::Unswappable { .. } => conflict("entry_unswappable", detail),
            SwapRefusal::AlreadyOffered { .. } => conflict("entry_already_offered", detail),
            SwapRefusal::Conflicts(list) => conflicts(detail, list),
        }
    }
}

impl From<SwapError> for Problem {
    fn from(error: SwapError) -> Problem {
        let detail = error.to_string();
        match error {
            SwapError::Forbidden => forbidden(detail),
            SwapError::NotFound(_) => not_found(detail),
            SwapError::Invalid(input) => input.into(),
            SwapError::Refused(refusal) => refusal.into(),
            SwapError::Store(store) => store.into(),
        }
    }
}

impl From<ConversationRefusal> for Problem {
    fn from(refusal: ConversationRefusal) -> Problem {
        let detail = refusal.to_string();
        match refusal {
            ConversationRefusal::InvalidTransition { .. } => conflict("invalid_transition", detail),
            ConversationRefusal::SnoozeInPast => {
                unprocessable("snooze_in_past", detail).with_field("until")
            }
            ConversationRefusal::NotHolder => {
                Problem::new(StatusCode::FORBIDDEN, "not_holder", detail)
            }
            ConversationRefusal::CustomerKind | ConversationRefusal::SystemKind => {
                Problem::new(StatusCode::FORBIDDEN, "message_kind_not_allowed", detail)
                    .with_field("kind")
            }
            ConversationRefusal::AlreadyTaken { .. } => conflict("already_taken", detail),
            ConversationRefusal::Resolved => conflict("conversation_resolved", detail),
            ConversationRefusal::AtCapacity { .. } => conflict("at_capacity", detail),
            // The caller may not see it, so it does not exist for them.
            ConversationRefusal::NotVisible => not_found(detail),
            ConversationRefusal::InactiveAgent { .. } => conflict("agent_inactive", detail),
        }
    }
}

impl From<TransferRefusal> for Problem {
    fn from(refusal: TransferRefusal) -> Problem {
        let detail = refusal.to_string();
        match refusal {
            TransferRefusal::NotHolder => Problem::new(StatusCode::FORBIDDEN, "not_holder", detail),
            TransferRefusal::ForceNeedsAdmin => {
                Problem::new(StatusCode::FORBIDDEN, "force_needs_admin", detail).with_field("force")
            }
            TransferRefusal::Resolved => conflict("conversation_resolved", detail),
            TransferRefusal::TargetUnavailable { .. } => {
                unprocessable("target_unavailable", detail).with_field("target")
            }
            TransferRefusal::TargetIsHolder { .. } => {
                conflict("target_is_holder", detail).with_field("target")
            }
            TransferRefusal::TargetAtCapacity { .. } => {
                conflict("target_at_capacity", detail).with_field("target")
            }
        }
    }
}

impl From<ConversationError> for Problem {
    fn from(error: ConversationError) -> Problem {
        let detail = error.to_string();
        match error {
            ConversationError::Forbidden => forbidden(detail),
            ConversationError::NotFound(_) => not_found(detail),
            ConversationError::Invalid(input) => input.into(),
            ConversationError::Refused(refusal) => refusal.into(),
            ConversationError::Transfer(refusal) => refusal.into(),
            ConversationError::Export(cause) => Problem::internal(cause.as_ref()),
            ConversationError::Store(store) => store.into(),
        }
    }
}

impl From<TemplateError> for Problem {
    fn from(error: TemplateError) -> Problem {
        let detail = error.to_string();
        let code = match error {
            TemplateError::UnknownVariable(_) => "unknown_variable",
            TemplateError::Unclosed(_) => "unclosed_variable",
        };
        unprocessable(code, detail).with_field("body")
    }
}

impl From<CannedError> for Problem {
    fn from(error: CannedError) -> Problem {
        let detail = error.to_string();
        match error {
            CannedError::Forbidden => forbidden(detail),
            CannedError::NotFound(_) => not_found(detail),
            CannedError::Invalid(input) => input.into(),
            CannedError::ShortcodeTaken(_) => {
                conflict("shortcode_taken", detail).with_field("shortcode")
            }
            CannedError::Template(template) => template.into(),
            CannedError::Store(store) => store.into(),
        }
    }
}

impl From<AccountError> for Problem {
    fn from(error: AccountError) -> Problem {
        let detail = error.to_string();
        match error {
            AccountError::Forbidden => forbidden(detail),
            AccountError::NotFound(_) => not_found(detail),
            AccountError::Invalid(input) => input.into(),
            // One answer for every refusal, so a caller cannot tell an unknown login from a
            // wrong password or an inactive account.
            AccountError::LoginRefused(_) => Problem::new(
                StatusCode::UNAUTHORIZED,
                "login_refused",
                "the login or the password is wrong",
            ),
            AccountError::LoginTaken(_) => conflict("login_taken", detail).with_field("login"),
            AccountError::Store(store) => store.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use shiftdesk_core::account::LoginRefusal;
    use shiftdesk_core::conflict::ConflictReason;
    use shiftdesk_core::error::Resource;
    use shiftdesk_core::ids::{AgentId, ConversationId, LeaveId, ShiftId};
    use shiftdesk_core::leave::{LeaveAction, LeaveState};
    use shiftdesk_core::text::Login;

    use super::*;

    fn agent(id: i64) -> AgentId {
        AgentId::try_from(id).expect("id")
    }

    fn a_conflict(agent_id: i64) -> Conflict {
        Conflict {
            agent: agent(agent_id),
            date: NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"),
            shift: ShiftId::try_from(1).expect("id"),
            reason: ConflictReason::InactiveAgent,
        }
    }

    fn backend_failure() -> StoreError {
        let cause = std::io::Error::other("relation \"agents\" is locked by pid 4242");
        StoreError::Backend(Box::new(cause))
    }

    fn summary(problem: &Problem) -> (u16, &str) {
        (problem.status, problem.code)
    }

    #[test]
    fn bad_input_is_422_naming_the_field_and_its_rule() {
        let error = AdminError::Invalid(InputProblem::TooLong { max: 80 }.at("display_name"));
        let problem = Problem::from(error);
        assert_eq!(summary(&problem), (422, "too_long"));
        assert_eq!(problem.field.as_deref(), Some("display_name"));
        assert_eq!(
            problem.detail,
            "display_name must be at most 80 characters long"
        );

        let zone = InputProblem::UnknownTimeZone("Mars/Olympus".into()).at("time_zone");
        assert_eq!(summary(&Problem::from(zone)), (422, "unknown_time_zone"));
    }

    #[test]
    fn what_does_not_exist_or_is_not_visible_is_404() {
        let missing = LeaveError::NotFound(Resource::Leave(LeaveId::try_from(9).expect("id")));
        assert_eq!(summary(&Problem::from(missing)), (404, "not_found"));

        let hidden = ConversationError::Refused(ConversationRefusal::NotVisible);
        assert_eq!(summary(&Problem::from(hidden)), (404, "not_found"));

        let gone = ConversationError::NotFound(Resource::Conversation(
            ConversationId::try_from(3).expect("id"),
        ));
        assert_eq!(Problem::from(gone).detail, "conversation 3 does not exist");
    }

    #[test]
    fn every_login_refusal_answers_alike() {
        let answers: Vec<(u16, &str, String)> = [
            LoginRefusal::UnknownLogin,
            LoginRefusal::Inactive,
            LoginRefusal::NoPassword,
            LoginRefusal::WrongPassword,
            LoginRefusal::Changed,
        ]
        .into_iter()
        .map(|refusal| {
            let problem = Problem::from(AccountError::LoginRefused(refusal));
            (problem.status, problem.code, problem.detail)
        })
        .collect();
        assert_eq!(answers[0].0, 401);
        assert_eq!(answers[0].1, "login_refused");
        assert!(
            answers.iter().all(|answer| *answer == answers[0]),
            "{answers:?}"
        );
    }

    #[test]
    fn forbidden_is_403_for_what_the_caller_can_see() {
        assert_eq!(
            summary(&Problem::from(ScheduleError::Forbidden)),
            (403, "forbidden")
        );
        let not_holder = ConversationError::Refused(ConversationRefusal::NotHolder);
        assert_eq!(summary(&Problem::from(not_holder)), (403, "not_holder"));
        let force = ConversationError::Transfer(TransferRefusal::ForceNeedsAdmin);
        assert_eq!(summary(&Problem::from(force)), (403, "force_needs_admin"));
    }

    #[test]
    fn schedule_conflicts_are_409_with_every_conflict_listed() {
        let list = vec![a_conflict(1), a_conflict(2), a_conflict(3)];
        let problem = Problem::from(ScheduleError::Conflicts(list.clone()));

        assert_eq!(summary(&problem), (409, "schedule_conflicts"));
        assert_eq!(problem.conflicts.as_ref(), Some(&list));
        let body = serde_json::to_value(&problem).expect("json");
        assert_eq!(body["conflicts"].as_array().map(Vec::len), Some(3));
        assert_eq!(body["conflicts"][1]["reason"]["code"], "inactive_agent");
    }

    #[test]
    fn refusals_carrying_conflicts_list_them_too() {
        let leave = LeaveError::Refused(LeaveRefusal::Conflicts(vec![a_conflict(4)]));
        let swap = SwapError::Refused(SwapRefusal::Conflicts(vec![a_conflict(5)]));
        for problem in [Problem::from(leave), Problem::from(swap)] {
            assert_eq!(summary(&problem), (409, "schedule_conflicts"));
            assert_eq!(problem.conflicts.map(|list| list.len()), Some(1));
        }
    }

    #[test]
    fn taken_names_are_409_naming_the_field() {
        let login = Login::parse("mei.lin").expect("login");
        let problem = Problem::from(AdminError::LoginTaken(login));
        assert_eq!(summary(&problem), (409, "login_taken"));
        assert_eq!(problem.field.as_deref(), Some("login"));
    }

    #[test]
    fn an_invalid_transition_is_409() {
        let refusal = LeaveRefusal::InvalidTransition {
            from: LeaveState::Rejected,
            action: LeaveAction::Approve,
        };
        let problem = Problem::from(LeaveError::Refused(refusal));
        assert_eq!(summary(&problem), (409, "invalid_transition"));
        assert!(problem.detail.contains("rejected"), "{}", problem.detail);
    }

    #[test]
    fn constraint_violations_are_409_not_500() {
        let cases = [
            (Constraint::Overlap, "overlapping_work"),
            (Constraint::UniqueLogin, "login_taken"),
            (Constraint::UniqueShiftName, "shift_name_taken"),
            (Constraint::Reference, "reference_gone"),
            (Constraint::UniqueExternalId, "external_id_taken"),
            (Constraint::UniqueShortcode, "shortcode_taken"),
        ];
        for (constraint, code) in cases {
            let problem = Problem::from(ScheduleError::Store(StoreError::Constraint(constraint)));
            assert_eq!(summary(&problem), (409, code));
        }
    }

    #[test]
    fn an_unreachable_store_is_503() {
        let cause = std::io::Error::other("connection refused");
        let error = AdminError::Store(StoreError::Unavailable(Box::new(cause)));
        let problem = Problem::from(error);
        assert_eq!(summary(&problem), (503, "store_unavailable"));
        assert!(!problem.detail.contains("refused"), "{}", problem.detail);
    }

    #[test]
    fn backend_faults_are_500_without_database_text() {
        let corrupt = StoreError::Corrupt("agents.login holds \"\"".into());
        for error in [backend_failure(), corrupt] {
            let problem = Problem::from(CannedError::Store(error));
            assert_eq!(summary(&problem), (500, "internal_error"));
            let body = serde_json::to_string(&problem).expect("json");
            assert!(
                !body.contains("relation") && !body.contains("agents"),
                "{body}"
            );
        }
    }

    #[test]
    fn the_cause_chain_is_spelled_out_for_the_log() {
        let text = chain(&backend_failure());
        assert_eq!(
            text,
            "the store failed: relation \"agents\" is locked by pid 4242"
        );
    }

    #[test]
    fn template_errors_are_422_on_the_body() {
        let error = CannedError::Template(TemplateError::Unclosed(7));
        let problem = Problem::from(error);
        assert_eq!(summary(&problem), (422, "unclosed_variable"));
        assert_eq!(problem.field.as_deref(), Some("body"));
    }

    #[test]
    fn the_body_is_problem_json_with_type_title_and_code() {
        let response = Problem::from(SwapError::Refused(SwapRefusal::SelfSwap)).into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);

        let problem = Problem::from(SwapError::Refused(SwapRefusal::SelfSwap));
        let body = serde_json::to_value(&problem).expect("json");
        assert_eq!(body["type"], "urn:shiftdesk:problem:self_swap");
        assert_eq!(body["title"], "Unprocessable Entity");
        assert_eq!(body["status"], 422);
        assert_eq!(body["field"], "target");
        assert!(body.get("conflicts").is_none());
        assert!(
            body.get("request_id").is_none(),
            "no request is being answered"
        );
    }

    #[test]
    fn the_request_id_is_taken_from_the_request_being_answered() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let problem = runtime.block_on(crate::request_id::tests::within_request("r-77", || {
            Problem::from(ScheduleError::Forbidden)
        }));
        assert_eq!(problem.request_id.as_deref(), Some("r-77"));
    }

    #[test]
    fn bare_statuses_get_their_own_codes() {
        let cases = [
            (StatusCode::NOT_FOUND, "no_route"),
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            (StatusCode::BAD_GATEWAY, "internal_error"),
            (StatusCode::BAD_REQUEST, "bad_request"),
        ];
        for (status, code) in cases {
            assert_eq!(
                summary(&Problem::for_status(status)),
                (status.as_u16(), code)
            );
        }
    }
}
