//! `leave list|approve|reject` and `swap list|approve|reject`.

use serde::Serialize;
use shiftdesk_core::error::SwapError;
use shiftdesk_core::ids::{LeaveId, SwapId};
use shiftdesk_core::leave::{LeaveState, LeaveStatus};
use shiftdesk_core::store::{LeaveQuery, SwapQuery};
use shiftdesk_core::swap::{SwapKind, SwapRefusal, SwapState};
use shiftdesk_core::text::Note;

use crate::cli::{ListFormat, RequestCommand};
use crate::failure::Failure;
use crate::render::{Table, print_json, say};
use crate::session::Session;

fn note(raw: Option<String>) -> Result<Option<Note>, Failure> {
    raw.map(|text| Note::parse(&text))
        .transpose()
        .map_err(|problem| Failure::input(format!("--note {problem}")))
}

fn id<T: std::str::FromStr<Err = shiftdesk_core::input::Problem>>(raw: &str) -> Result<T, Failure> {
    raw.parse()
        .map_err(|problem| Failure::input(format!("ID {raw:?} {problem}")))
}

#[derive(Serialize)]
struct LeaveListing {
    id: i64,
    agent: String,
    kind: String,
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
    days: u32,
    status: String,
    reason: Option<String>,
}

/// Runs a `leave` command.
pub(crate) async fn leave(session: &Session, command: RequestCommand) -> Result<(), Failure> {
    let service = &session.service;
    match command {
        RequestCommand::List { pending, format } => {
            let directory = session.directory().await?;
            let query = LeaveQuery {
                states: pending.then(|| vec![LeaveState::Pending]),
                ..LeaveQuery::default()
            };
            let requests = service.leaves(&session.ctx, query).await?;
            let rows: Vec<LeaveListing> = requests
                .iter()
                .map(|request| LeaveListing {
                    id: request.id.get(),
                    agent: directory.login(request.agent),
                    kind: request.kind.to_string(),
                    first: request.dates.first(),
                    last: request.dates.last(),
                    days: request.dates.len(),
                    status: request.status.state().to_string(),
                    reason: request.reason.as_ref().map(ToString::to_string),
                })
                .collect();
            match format {
                ListFormat::Json => print_json(&rows),
                ListFormat::Table => {
                    let mut table =
                        Table::new(["id", "agent", "kind", "first", "last", "days", "status"]);
                    for row in rows {
                        table.row(vec![
                            row.id.to_string(),
                            row.agent,
                            row.kind,
                            row.first.to_string(),
                            row.last.to_string(),
                            row.days.to_string(),
                            row.status,
                        ]);
                    }
                    table.print()
                }
            }
        }
        RequestCommand::Approve { id: raw } => {
            let change = service
                .approve_leave(&session.ctx, id::<LeaveId>(&raw)?)
                .await?;
            let directory = session.directory().await?;
            let request = &change.leave;
            say(format!(
                "approved leave request {} of {} for {}..{}: {} entries now on leave",
                request.id,
                directory.login(request.agent),
                request.dates.first(),
                request.dates.last(),
                change.entries.len()
            ))?;
            for shift in &change.uncovered {
                say(format!(
                    "  uncovered: {} on {} (entry {})",
                    directory.shift_name(shift.shift),
                    shift.date,
                    shift.entry
                ))?;
            }
            Ok(())
        }
        RequestCommand::Reject {
            id: raw,
            note: text,
        } => {
            let request = service
                .reject_leave(&session.ctx, id::<LeaveId>(&raw)?, note(text)?)
                .await?;
            debug_assert!(matches!(request.status, LeaveStatus::Rejected { .. }));
            say(format!("rejected leave request {}", request.id))
        }
    }
}

#[derive(Serialize)]
struct SwapListing {
    id: i64,
    requester: String,
    entry: i64,
    shift: Option<String>,
    date: Option<chrono::NaiveDate>,
    target: String,
    kind: &'static str,
    target_entry: Option<i64>,
    status: String,
}

/// Runs a `swap` command.
pub(crate) async fn swap(session: &Session, command: RequestCommand) -> Result<(), Failure> {
    let service = &session.service;
    match command {
        RequestCommand::List { pending, format } => {
            let directory = session.directory().await?;
            // Undecided: waiting for the colleague, or agreed and waiting for an admin.
            let query = SwapQuery {
                states: pending.then(|| vec![SwapState::Pending, SwapState::Accepted]),
                ..SwapQuery::default()
            };
            let requests = service.swaps(&session.ctx, query).await?;
            let mut rows = Vec::with_capacity(requests.len());
            for request in requests {
                let entry = service
                    .entry(&session.ctx, request.requester_entry)
                    .await
                    .ok();
                rows.push(SwapListing {
                    id: request.id.get(),
                    requester: directory.login(request.requester),
                    entry: request.requester_entry.get(),
                    shift: entry
                        .as_ref()
                        .map(|entry| directory.shift_name(entry.shift)),
                    date: entry.as_ref().map(|entry| entry.date),
                    target: directory.login(request.target),
                    kind: match request.kind {
                        SwapKind::Cover => "cover",
                        SwapKind::Exchange { .. } => "exchange",
                    },
                    target_entry: match request.kind {
                        SwapKind::Cover => None,
                        SwapKind::Exchange { target_entry } => Some(target_entry.get()),
                    },
                    status: request.status.state().to_string(),
                });
            }
            match format {
                ListFormat::Json => print_json(&rows),
                ListFormat::Table => {
                    let mut table = Table::new([
                        "id",
                        "requester",
                        "entry",
                        "shift",
                        "date",
                        "target",
                        "kind",
                        "status",
                    ]);
                    for row in rows {
                        table.row(vec![
                            row.id.to_string(),
                            row.requester,
                            row.entry.to_string(),
                            row.shift.unwrap_or_default(),
                            row.date.map(|date| date.to_string()).unwrap_or_default(),
                            row.target,
                            match row.target_entry {
                                Some(entry) => format!("{} for entry {entry}", row.kind),
                                None => row.kind.to_owned(),
                            },
                            row.status,
                        ]);
                    }
                    table.print()
                }
            }
        }
        RequestCommand::Approve { id: raw } => {
            match service
                .approve_swap(&session.ctx, id::<SwapId>(&raw)?)
                .await
            {
                Ok(request) => say(format!("approved swap request {}", request.id)),
                Err(SwapError::Refused(SwapRefusal::Conflicts(conflicts))) => {
                    let directory = session.directory().await?;
                    let rows = crate::schedule::conflict_rows(&conflicts, &directory, None);
                    let table = crate::schedule::conflict_table(&rows);
                    table.print()?;
                    Err(Failure::Refused(format!(
                        "the swap would cause {} conflicts; nothing changed",
                        conflicts.len()
                    )))
                }
                Err(error) => Err(error.into()),
            }
        }
        RequestCommand::Reject {
            id: raw,
            note: text,
        } => {
            let request = service
                .reject_swap(&session.ctx, id::<SwapId>(&raw)?, note(text)?)
                .await?;
            say(format!("rejected swap request {}", request.id))
        }
    }
}
