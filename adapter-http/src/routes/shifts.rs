//! Shift templates over HTTP: every staff member reads them, admins add, change and remove
//! them. Who may do what, and whether a template is still in use, is decided in `core`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveTime;
use serde::{Deserialize, Deserializer, Serialize};
use shiftdesk_core::ids::ShiftId;
use shiftdesk_core::input::Problem as InputProblem;
use shiftdesk_core::shift::{NewShift, ShiftTemplate, ShiftTimes, ShiftUpdate};
use shiftdesk_core::text::{ShiftName, Skill};
use utoipa::ToSchema;

use crate::auth::caller::Caller;
use crate::extract::ApiJson;
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;

/// A shift template as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ShiftView {
    /// Its id.
    id: i64,
    /// Unique in the team.
    name: String,
    /// Local start, `HH:MM`.
    start: String,
    /// Local end, `HH:MM`; at or before `start` means the next day.
    end: String,
    /// Whether it ends on the day after it starts.
    overnight: bool,
    /// A skill every agent on it must hold.
    required_skill: Option<String>,
}

impl From<ShiftTemplate> for ShiftView {
    fn from(shift: ShiftTemplate) -> Self {
        ShiftView {
            id: shift.id.get(),
            name: shift.name.as_str().to_owned(),
            start: shift.times.start().format("%H:%M").to_string(),
            end: shift.times.end().format("%H:%M").to_string(),
            overnight: shift.times.is_overnight(),
            required_skill: shift.required_skill.map(|s| s.as_str().to_owned()),
        }
    }
}

/// A new shift template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewShiftBody {
    /// Unique in the team.
    name: String,
    /// Local start, `HH:MM`.
    start: String,
    /// Local end, `HH:MM`; at or before `start` means the shift ends the next day. Equal to
    /// `start` is refused.
    end: String,
    /// A skill every agent on it must hold.
    #[serde(default)]
    required_skill: Option<String>,
}

/// Changes to a shift template; its times are fixed once created.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShiftChanges {
    /// A new unique name.
    name: Option<String>,
    /// A new required skill; `null` removes the requirement.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    required_skill: Option<Option<String>>,
}

/// A field that is present, even as `null`, is `Some`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A local time of day written `HH:MM`.
fn time_of_day(field: &'static str, raw: &str) -> Result<NaiveTime, Problem> {
    NaiveTime::parse_from_str(raw, "%H:%M").map_err(|_| {
        Problem::from(
            InputProblem::Invalid("must be a time of day as HH:MM, such as 06:00").at(field),
        )
    })
}

fn parse_name(raw: &str) -> Result<ShiftName, Problem> {
    ShiftName::parse(raw).map_err(|p| Problem::from(p.at("name")))
}

fn parse_skill(raw: Option<&str>) -> Result<Option<Skill>, Problem> {
    raw.map(|skill| Skill::parse(skill).map_err(|p| Problem::from(p.at("required_skill"))))
        .transpose()
}

/// A path id; one that is not an id names no shift.
pub(crate) fn shift_id(raw: &str) -> Result<ShiftId, Problem> {
    raw.parse().map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("shift {raw} does not exist"),
        )
    })
}

/// Every shift template, in id order. Staff only.
#[utoipa::path(
    get,
    path = "/api/v1/shifts",
    tag = "shifts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The shift templates.", body = Vec<ShiftView>),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not staff (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list_shifts(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Json<Vec<ShiftView>>, Problem> {
    let shifts = state.service.shifts(&ctx).await?;
    Ok(Json(shifts.into_iter().map(ShiftView::from).collect()))
}

/// Adds a shift template. Admins only.
#[utoipa::path(
    post,
    path = "/api/v1/shifts",
    tag = "shifts",
    security(("bearer" = [])),
    request_body = NewShiftBody,
    responses(
        (status = 201, description = "Created; `Location` names it.", body = ShiftView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken (`shift_name_taken`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable, such as a time not written \
            `HH:MM` or an end equal to the start (`zero_length`); `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn create_shift(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(shift): ApiJson<NewShiftBody>,
) -> Result<Response, Problem> {
    let start = time_of_day("start", &shift.start)?;
    let end = time_of_day("end", &shift.end)?;
    let new = NewShift {
        name: parse_name(&shift.name)?,
        times: ShiftTimes::new(start, end).map_err(|p| Problem::from(p.at("end")))?,
        required_skill: parse_skill(shift.required_skill.as_deref())?,
    };

    let created = state.service.create_shift(&ctx, new).await?;
    let location = format!("/api/v1/shifts/{}", created.id.get());
    let mut response = (StatusCode::CREATED, Json(ShiftView::from(created))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Renames a shift template or changes its required skill. Admins only. Its times are fixed:
/// entries already planned keep them; create a new template for other times.
#[utoipa::path(
    patch,
    path = "/api/v1/shifts/{id}",
    tag = "shifts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The shift template's id.")),
    request_body = ShiftChanges,
    responses(
        (status = 200, description = "The template as changed.", body = ShiftView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such shift template (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken (`shift_name_taken`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn update_shift(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    ApiJson(changes): ApiJson<ShiftChanges>,
) -> Result<Json<ShiftView>, Problem> {
    let id = shift_id(&id)?;
    let update = ShiftUpdate {
        name: changes.name.as_deref().map(parse_name).transpose()?,
        required_skill: changes
            .required_skill
            .map(|skill| parse_skill(skill.as_deref()))
            .transpose()?,
    };
    Ok(Json(
        state.service.update_shift(&ctx, id, update).await?.into(),
    ))
}

/// Removes a shift template that no schedule entry follows. Admins only.
#[utoipa::path(
    delete,
    path = "/api/v1/shifts/{id}",
    tag = "shifts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The shift template's id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such shift template (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "A schedule entry follows it (`shift_in_use`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn remove_shift(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = shift_id(&id)?;
    state.service.remove_shift(&ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
