//! The team settings over HTTP: every staff member reads them, admins replace them. Who may
//! do what is decided in `core`; these handlers parse and translate.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shiftdesk_core::leave::LeaveKind;
use shiftdesk_core::staff::Capacity;
use shiftdesk_core::team::{AllowanceDays, MinRest, TeamSettings};
use shiftdesk_core::time::TimeZone;
use utoipa::ToSchema;

use crate::auth::caller::Caller;
use crate::extract::ApiJson;
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;

/// The team settings as the API shows and takes them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TeamView {
    /// The IANA time zone in which dates and shift times are meant, e.g. `Europe/London`.
    time_zone: String,
    /// The least time between two working entries of an agent, in minutes (1 to 2880);
    /// absent or `null` checks only for overlaps.
    #[serde(default)]
    min_rest_minutes: Option<u32>,
    /// Days of leave per calendar year by kind (`annual`, `sick`, `personal`, `other`), 0 to
    /// 366; kinds not listed are unlimited.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, u32>)]
    leave_allowances: BTreeMap<LeaveKind, u32>,
    /// How many unresolved conversations an agent without their own capacity may hold.
    default_capacity: u32,
    /// Whether an agent's open conversations go back to routing when they go offline or
    /// their shift ends.
    #[serde(default)]
    requeue_when_away: bool,
}

impl From<TeamSettings> for TeamView {
    fn from(team: TeamSettings) -> Self {
        TeamView {
            time_zone: team.time_zone.name().to_owned(),
            min_rest_minutes: team.min_rest.map(|rest| rest.minutes()),
            leave_allowances: team
                .leave_allowances
                .iter()
                .map(|(kind, days)| (*kind, days.days()))
                .collect(),
            default_capacity: team.default_capacity.get(),
            requeue_when_away: team.requeue_when_away,
        }
    }
}

impl TryFrom<TeamView> for TeamSettings {
    type Error = Problem;

    fn try_from(view: TeamView) -> Result<Self, Problem> {
        let leave_allowances = view
            .leave_allowances
            .into_iter()
            .map(|(kind, days)| {
                let field = format!("leave_allowances.{}", kind.as_str());
                AllowanceDays::new(days)
                    .map(|days| (kind, days))
                    .map_err(|p| Problem::from(p.at(field)))
            })
            .collect::<Result<_, Problem>>()?;
        Ok(TeamSettings {
            time_zone: TimeZone::parse(&view.time_zone)
                .map_err(|p| Problem::from(p.at("time_zone")))?,
            min_rest: view
                .min_rest_minutes
                .map(|minutes| {
                    MinRest::from_minutes(minutes)
                        .map_err(|p| Problem::from(p.at("min_rest_minutes")))
                })
                .transpose()?,
            leave_allowances,
            default_capacity: Capacity::new(view.default_capacity)
                .map_err(|p| Problem::from(p.at("default_capacity")))?,
            requeue_when_away: view.requeue_when_away,
        })
    }
}

/// The team settings. Staff only.
#[utoipa::path(
    get,
    path = "/api/v1/team",
    tag = "team",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The team settings.", body = TeamView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not staff (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get_team(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Json<TeamView>, Problem> {
    Ok(Json(state.service.team(&ctx).await?.into()))
}

/// Replaces the team settings. Admins only. Entries already planned keep their instants.
#[utoipa::path(
    put,
    path = "/api/v1/team",
    tag = "team",
    security(("bearer" = [])),
    request_body = TeamView,
    responses(
        (status = 200, description = "The settings as stored.", body = TeamView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable, such as an unknown time zone \
            (`unknown_time_zone`); `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn update_team(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(view): ApiJson<TeamView>,
) -> Result<Json<TeamView>, Problem> {
    let settings = TeamSettings::try_from(view)?;
    Ok(Json(
        state.service.update_team(&ctx, settings).await?.into(),
    ))
}
