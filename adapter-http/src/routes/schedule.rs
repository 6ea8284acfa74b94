//! The schedule over HTTP: every staff member reads it, admins assign, move and remove
//! entries. Conflicts, who may do what and the batch limits are decided in `core`; these
//! handlers parse the request into core types and show the entries with their instants.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc, Weekday, WeekdaySet};
use serde::{Deserialize, Serialize, Serializer};
use shiftdesk_core::assign::{BatchAssignment, BatchMode};
use shiftdesk_core::conflict::Conflict;
use shiftdesk_core::ids::{AgentId, EntryId, ShiftId};
use shiftdesk_core::input::Problem as InputProblem;
use shiftdesk_core::schedule::{EntryOrigin, EntryStatus, NewEntry, Placement, ScheduleEntry};
use shiftdesk_core::service::{AssignOptions, AssignOutcome};
use shiftdesk_core::store::EntryQuery;
use shiftdesk_core::time::DateRange;
use utoipa::ToSchema;

use crate::auth::caller::Caller;
use crate::extract::ApiJson;
use crate::problem::{Problem, ProblemBody};
use crate::routes::page::known_only;
use crate::state::AppState;

/// The most days one schedule read covers: two months, so one answer stays small.
const MAX_READ_DAYS: u32 = 62;

/// A schedule entry as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EntryView {
    /// Its id; absent for an entry a dry run would create.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    /// Who works it.
    agent: i64,
    /// The shift template it follows.
    shift: i64,
    /// The local date the shift starts on; an overnight shift belongs to this date.
    #[schema(value_type = String, format = Date)]
    #[serde(serialize_with = "as_one_string")]
    date: NaiveDate,
    /// When it starts, in UTC.
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "as_one_string")]
    start: DateTime<Utc>,
    /// When it ends, in UTC.
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "as_one_string")]
    end: DateTime<Utc>,
    /// `{"state": "scheduled"}`, `{"state": "on_leave", "leave": …}` or
    /// `{"state": "swapped_out", "to": …, "swap": …}`.
    #[schema(value_type = Object)]
    status: EntryStatus,
    /// `{"kind": "assigned"}` or `{"kind": "swap", "covers": …, "swap": …}`.
    #[schema(value_type = Object)]
    origin: EntryOrigin,
}

/// Writes a date or an instant as the same text chrono's own `Serialize` writes (its `Debug`
/// form: ISO 8601, `Z` for UTC), but formatted into a buffer first and handed to the JSON
/// writer whole. chrono's `Serialize` passes it on a few characters at a time, each piece
/// through the escaper, which made up a good part of a 7,000-entry schedule's answer time.
fn as_one_string<T: fmt::Debug, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut text = ShortText::default();
    match write!(text, "{value:?}") {
        Ok(()) => serializer.serialize_str(text.as_str()),
        Err(_) => serializer.collect_str(&format_args!("{value:?}")),
    }
}

/// Text of up to 64 bytes, on the stack.
struct ShortText {
    bytes: [u8; 64],
    len: usize,
}

impl Default for ShortText {
    fn default() -> Self {
        ShortText {
            bytes: [0; 64],
            len: 0,
        }
    }
}

impl ShortText {
    fn as_str(&self) -> &str {
        // Only whole `str`s are ever copied in, so the bytes are always UTF-8.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for ShortText {
    fn write_str(&mut self, piece: &str) -> fmt::Result {
        let end = self.len + piece.len();
        let room = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        room.copy_from_slice(piece.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl From<ScheduleEntry> for EntryView {
    fn from(entry: ScheduleEntry) -> Self {
        EntryView {
            id: Some(entry.id.get()),
            agent: entry.agent.get(),
            shift: entry.shift.get(),
            date: entry.date,
            start: entry.span.start(),
            end: entry.span.end(),
            status: entry.status,
            origin: entry.origin,
        }
    }
}

impl From<NewEntry> for EntryView {
    fn from(entry: NewEntry) -> Self {
        EntryView {
            id: None,
            agent: entry.agent.get(),
            shift: entry.shift.get(),
            date: entry.date,
            start: entry.span.start(),
            end: entry.span.end(),
            status: EntryStatus::Scheduled,
            origin: entry.origin,
        }
    }
}

/// A date range, both ends included.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatesBody {
    /// The first date, `YYYY-MM-DD`.
    pub(crate) first: String,
    /// The last date, `YYYY-MM-DD`.
    pub(crate) last: String,
}

/// One shift for many agents over many dates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignmentBody {
    /// The shift template's id.
    shift: i64,
    /// The dates, optionally thinned by `weekdays`.
    dates: DatesBody,
    /// Only these days of the week (`mon` … `sun`); absent for every date.
    #[serde(default)]
    weekdays: Option<Vec<String>>,
    /// Who works it, in the order conflicts are reported.
    agents: Vec<i64>,
    /// Write the agent-days that do not conflict and report the rest as `skipped`; by
    /// default any conflict writes nothing.
    #[serde(default)]
    skip_conflicts: bool,
    /// Check and answer what would be written, but write nothing.
    #[serde(default)]
    dry_run: bool,
}

/// What an assignment wrote, or in a dry run would write.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AssignmentAnswer {
    /// Whether this was a dry run, so nothing was written.
    dry_run: bool,
    /// The entries written (with ids) or, in a dry run, that would be.
    entries: Vec<EntryView>,
    /// With `skip_conflicts`, the agent-days left out and why.
    #[schema(value_type = Vec<Object>)]
    skipped: Vec<Conflict>,
}

/// Where to move an entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveBody {
    /// The agent to work it.
    agent: i64,
    /// The shift template to follow.
    shift: i64,
    /// The local date, `YYYY-MM-DD`.
    date: String,
}

pub(crate) fn date(field: &'static str, raw: &str) -> Result<NaiveDate, Problem> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        InputProblem::Invalid("must be a date as YYYY-MM-DD")
            .at(field)
            .into()
    })
}

pub(crate) fn date_range(
    first: (&'static str, &str),
    last: (&'static str, &str),
) -> Result<DateRange, Problem> {
    let from = date(first.0, first.1)?;
    let to = date(last.0, last.1)?;
    DateRange::new(from, to).map_err(|p| p.at(last.0).into())
}

pub(crate) fn agent(field: String, raw: i64) -> Result<AgentId, Problem> {
    AgentId::try_from(raw).map_err(|p| p.at(field).into())
}

fn shift(raw: i64) -> Result<ShiftId, Problem> {
    ShiftId::try_from(raw).map_err(|p| p.at("shift").into())
}

fn weekdays(raw: &[String]) -> Result<WeekdaySet, Problem> {
    let mut set = WeekdaySet::EMPTY;
    for (at, day) in raw.iter().enumerate() {
        let day: Weekday = day.parse().map_err(|_| {
            Problem::from(
                InputProblem::Invalid("must be a day of the week such as mon or tuesday")
                    .at(format!("weekdays[{at}]")),
            )
        })?;
        set.insert(day);
    }
    if set.is_empty() {
        return Err(InputProblem::Empty.at("weekdays").into());
    }
    Ok(set)
}

/// A path id; one that is not an id names no entry.
fn entry_id(raw: &str) -> Result<EntryId, Problem> {
    raw.parse().map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("schedule entry {raw} does not exist"),
        )
    })
}

/// The schedule read's query, `from`, `to` and optionally `agents`.
fn entry_query(params: &HashMap<String, String>) -> Result<EntryQuery, Problem> {
    known_only(params, &["from", "to", "agents"])?;
    let required = |name: &'static str| {
        params.get(name).ok_or_else(|| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing_field",
                format!("{name}: missing query parameter"),
            )
            .with_field(name)
        })
    };
    let dates = date_range(("from", required("from")?), ("to", required("to")?))?;
    if dates.len() > MAX_READ_DAYS {
        let max = i64::from(MAX_READ_DAYS);
        return Err(InputProblem::OutOfRange { min: 1, max }.at("to").into());
    }
    let agents = params
        .get("agents")
        .map(|list| {
            list.split(',')
                .enumerate()
                .map(|(at, id)| {
                    id.parse::<AgentId>()
                        .map_err(|p| Problem::from(p.at(format!("agents[{at}]"))))
                })
                .collect::<Result<Vec<_>, Problem>>()
        })
        .transpose()?;
    Ok(EntryQuery {
        dates,
        agents,
        working_only: false,
    })
}

/// The entries whose date lies in `from`..=`to` (at most 62 days), of every agent or of
/// `agents`, whatever their status. Staff only.
#[utoipa::path(
    get,
    path = "/api/v1/schedule",
    tag = "schedule",
    security(("bearer" = [])),
    params(
        ("from" = String, Query, description = "The first date, `YYYY-MM-DD`."),
        ("to" = String, Query, description = "The last date, `YYYY-MM-DD`; at most 61 days \
            after `from`."),
        ("agents" = Option<String>, Query, description = "Agent ids separated by commas; \
            absent for everyone."),
    ),
    responses(
        (status = 200, description = "The entries, by date and agent.", body = Vec<EntryView>),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not staff (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A bad, reversed or too long date range, or a bad agent \
            id; `field` names the parameter.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn read_schedule(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<EntryView>>, Problem> {
    let query = entry_query(&params)?;
    let entries = state.service.schedule(&ctx, &query).await?;
    Ok(Json(entries.into_iter().map(EntryView::from).collect()))
}

/// Puts one shift on many agents over many dates. Admins only. By default any conflict
/// writes nothing and answers every conflict; with `skip_conflicts` the rest is written.
#[utoipa::path(
    post,
    path = "/api/v1/schedule/assignments",
    tag = "schedule",
    security(("bearer" = [])),
    request_body = AssignmentBody,
    responses(
        (status = 201, description = "Written: the new entries and any skipped agent-days.",
            body = AssignmentAnswer),
        (status = 200, description = "A dry run: what would be written and skipped.",
            body = AssignmentAnswer),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "Conflicts (`schedule_conflicts`), every one listed in \
            `conflicts`, including an unknown shift or agent; nothing was written.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn assign(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(body): ApiJson<AssignmentBody>,
) -> Result<Response, Problem> {
    let batch = BatchAssignment {
        shift: shift(body.shift)?,
        dates: date_range(
            ("dates.first", &body.dates.first),
            ("dates.last", &body.dates.last),
        )?,
        weekdays: body.weekdays.as_deref().map(weekdays).transpose()?,
        agents: body
            .agents
            .iter()
            .enumerate()
            .map(|(at, &id)| agent(format!("agents[{at}]"), id))
            .collect::<Result<_, _>>()?,
    };
    let options = AssignOptions {
        mode: if body.skip_conflicts {
            BatchMode::SkipConflicts
        } else {
            BatchMode::AllOrNothing
        },
        dry_run: body.dry_run,
    };

    let outcome = state.service.assign_batch(&ctx, &batch, options).await?;
    let (status, answer) = match outcome {
        AssignOutcome::Planned { entries, skipped } => (
            StatusCode::OK,
            AssignmentAnswer {
                dry_run: true,
                entries: entries.into_iter().map(EntryView::from).collect(),
                skipped,
            },
        ),
        AssignOutcome::Written { entries, skipped } => (
            StatusCode::CREATED,
            AssignmentAnswer {
                dry_run: false,
                entries: entries.into_iter().map(EntryView::from).collect(),
                skipped,
            },
        ),
    };
    Ok((status, Json(answer)).into_response())
}

/// One schedule entry. Staff only.
#[utoipa::path(
    get,
    path = "/api/v1/schedule/entries/{id}",
    tag = "schedule",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The entry's id.")),
    responses(
        (status = 200, description = "The entry.", body = EntryView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not staff (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such entry (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get_entry(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<EntryView>, Problem> {
    let id = entry_id(&id)?;
    Ok(Json(state.service.entry(&ctx, id).await?.into()))
}

/// Moves a scheduled entry to another agent, shift or date, if the new place is free.
/// Admins only.
#[utoipa::path(
    patch,
    path = "/api/v1/schedule/entries/{id}",
    tag = "schedule",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The entry's id.")),
    request_body = MoveBody,
    responses(
        (status = 200, description = "The entry as moved.", body = EntryView),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such entry (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 409, description = "The new place conflicts (`schedule_conflicts`, listed \
            in `conflicts`) or the entry is not worked (`entry_not_scheduled`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it.",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn move_entry(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MoveBody>,
) -> Result<Json<EntryView>, Problem> {
    let id = entry_id(&id)?;
    let to = Placement {
        agent: agent("agent".to_owned(), body.agent)?,
        shift: shift(body.shift)?,
        date: date("date", &body.date)?,
    };
    Ok(Json(state.service.move_entry(&ctx, id, to).await?.into()))
}

/// Removes an entry, whatever its status. Admins only.
#[utoipa::path(
    delete,
    path = "/api/v1/schedule/entries/{id}",
    tag = "schedule",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The entry's id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, description = "No valid token (`unauthorized`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = 404, description = "No such entry (`not_found`).",
            body = ProblemBody<'static>, content_type = "application/problem+json"),
        (status = "4XX", description = "The request was refused.", body = ProblemBody<'static>,
            content_type = "application/problem+json"),
    )
)]
pub(crate) async fn remove_entry(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = entry_id(&id)?;
    state.service.remove_entry(&ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDateTime, TimeZone};
    use serde_json::Value;

    use super::*;

    #[derive(Serialize)]
    struct Ours {
        #[serde(serialize_with = "as_one_string")]
        date: NaiveDate,
        #[serde(serialize_with = "as_one_string")]
        instant: DateTime<Utc>,
    }

    #[derive(Serialize)]
    struct Chronos {
        date: NaiveDate,
        instant: DateTime<Utc>,
    }

    fn instant(text: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("instant");
        Utc.from_utc_datetime(&naive)
    }

    #[test]
    fn dates_and_instants_read_exactly_as_chrono_writes_them() {
        let cases = [
            ("2027-01-04", "2027-01-03 22:00:00"),
            ("1999-12-31", "2027-01-03 22:00:00.5"),
            ("2027-02-28", "2027-01-03 22:00:00.123456"),
            ("0001-01-01", "2027-01-03 22:00:00.000000007"),
            ("9999-12-31", "9999-12-31 23:59:59.999"),
        ];
        for (date, at) in cases {
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
            let instant = instant(at);
            let ours = serde_json::to_value(Ours { date, instant }).expect("ours");
            let chronos = serde_json::to_value(Chronos { date, instant }).expect("chrono's");
            assert_eq!(ours, chronos);
            assert!(matches!(ours["instant"], Value::String(_)));
        }
    }

    #[test]
    fn text_longer_than_the_buffer_is_still_written_whole() {
        struct Long;
        impl fmt::Debug for Long {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&"é".repeat(40))
            }
        }
        #[derive(Serialize)]
        struct Holder {
            #[serde(serialize_with = "as_one_string")]
            long: Long,
        }
        let written = serde_json::to_value(Holder { long: Long }).expect("json");
        assert_eq!(written["long"], Value::String("é".repeat(40)));
    }
}
