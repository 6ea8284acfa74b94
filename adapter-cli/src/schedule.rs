//! `schedule assign`, `schedule import` and `schedule show`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, Weekday, WeekdaySet};
use serde::Serialize;
use shiftdesk_core::assign::{BatchAssignment, BatchMode};
use shiftdesk_core::conflict::{Collision, Conflict, ConflictReason};
use shiftdesk_core::error::{LeaveError, ScheduleError};
use shiftdesk_core::ids::AgentId;
use shiftdesk_core::leave::{self, LeaveApplication, LeaveKind, LeaveRefusal, LeaveState};
use shiftdesk_core::schedule::{EntryStatus, ScheduleEntry};
use shiftdesk_core::service::{AssignOptions, AssignOutcome};
use shiftdesk_core::store::{EntryQuery, LeaveQuery};
use shiftdesk_core::time::DateRange;

use crate::cli::{AssignArgs, ImportArgs, ListFormat, ScheduleCommand, ShowArgs, ShowFormat};
use crate::failure::Failure;
use crate::grid::{self, CellRef, LEAVE_CODE, SHIFT_SEPARATOR, bad_file};
use crate::ics;
use crate::progress;
use crate::render::{Table, print_json, say};
use crate::session::{Directory, Session, split_list};

/// Runs a `schedule` command.
pub(crate) async fn run(session: &Session, command: ScheduleCommand) -> Result<(), Failure> {
    match command {
        ScheduleCommand::Assign(args) => assign(session, args).await,
        ScheduleCommand::Import(args) => import(session, args).await,
        ScheduleCommand::Show(args) => show(session, args).await,
    }
}

/// A date, `YYYY-MM-DD`.
pub(crate) fn date(flag: &str, raw: &str) -> Result<NaiveDate, Failure> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| Failure::input(format!("{flag} {raw:?} must be a date as YYYY-MM-DD")))
}

/// `FIRST..LAST`, or one date.
pub(crate) fn date_range(flag: &str, raw: &str) -> Result<DateRange, Failure> {
    let (first, last) = raw.split_once("..").unwrap_or((raw, raw));
    let (first, last) = (date(flag, first)?, date(flag, last)?);
    DateRange::new(first, last).map_err(|problem| Failure::input(format!("{flag} {problem}")))
}

/// `mon-fri`, `sat,sun`, `mon,wed-fri`: days and wrapping ranges of days.
fn weekdays(raw: &str) -> Result<WeekdaySet, Failure> {
    let day = |text: &str| -> Result<Weekday, Failure> {
        text.trim().parse().map_err(|_| {
            Failure::input(format!(
                "--weekdays: {text:?} is not a day of the week such as mon or tuesday"
            ))
        })
    };
    let mut set = WeekdaySet::EMPTY;
    for part in split_list(raw) {
        match part.split_once('-') {
            Some((from, to)) => {
                let (mut at, to) = (day(from)?, day(to)?);
                set.insert(at);
                while at != to {
                    at = at.succ();
                    set.insert(at);
                }
            }
            None => {
                set.insert(day(part)?);
            }
        }
    }
    if set.is_empty() {
        return Err(Failure::input("--weekdays names no day"));
    }
    Ok(set)
}

#[tracing::instrument(skip_all, fields(shift = %args.shift, dates = %args.dates))]
async fn assign(session: &Session, args: AssignArgs) -> Result<(), Failure> {
    let directory = session.directory().await?;
    let shift = directory.shift(&args.shift).ok_or_else(|| {
        Failure::input(format!(
            "--shift: no shift template is named {:?}",
            args.shift
        ))
    })?;
    let dates = date_range("--dates", &args.dates)?;
    let weekdays = args.weekdays.as_deref().map(weekdays).transpose()?;
    let logins = match (&args.agents, &args.agents_file) {
        (Some(list), _) => split_list(list).into_iter().map(str::to_owned).collect(),
        (None, Some(file)) => grid::read_login_file(file)?,
        (None, None) => Vec::new(),
    };
    let field = if args.agents.is_some() {
        "--agents"
    } else {
        "--agents-file"
    };
    let agents = directory.agent_ids(logins.iter().map(String::as_str), field)?;
    let batch = BatchAssignment {
        shift: shift.id,
        dates,
        weekdays,
        agents,
    };
    let mode = if args.skip_conflicts {
        BatchMode::SkipConflicts
    } else {
        BatchMode::AllOrNothing
    };
    let options = AssignOptions {
        mode,
        dry_run: args.dry_run,
    };
    let outcome = session
        .service
        .assign_batch(&session.ctx, &batch, options)
        .await;
    report_assignment(outcome, &directory, None, args.format)
}

/// Prints what an assignment did or refused; conflicts without skipping end with exit 1.
fn report_assignment(
    outcome: Result<AssignOutcome, ScheduleError>,
    directory: &Directory,
    cells: Option<&HashMap<(AgentId, NaiveDate), CellRef>>,
    format: ListFormat,
) -> Result<(), Failure> {
    let (written, dry_run, skipped) = match outcome {
        Ok(AssignOutcome::Planned { entries, skipped }) => (entries.len(), true, skipped),
        Ok(AssignOutcome::Written { entries, skipped }) => (entries.len(), false, skipped),
        Err(ScheduleError::Conflicts(conflicts)) => {
            let rows = conflict_rows(&conflicts, directory, cells);
            match format {
                ListFormat::Json => print_json(&serde_json::json!({ "conflicts": rows }))?,
                ListFormat::Table => conflict_table(&rows).print()?,
            }
            return Err(Failure::Refused(format!(
                "{} conflict{}; nothing was written",
                conflicts.len(),
                if conflicts.len() == 1 { "" } else { "s" }
            )));
        }
        Err(error) => return Err(error.into()),
    };
    let rows = conflict_rows(&skipped, directory, cells);
    match format {
        ListFormat::Json => print_json(&serde_json::json!({
            "dry_run": dry_run,
            "entries": written,
            "skipped": rows,
        })),
        ListFormat::Table => {
            let verb = if dry_run { "would write" } else { "wrote" };
            say(format!("{verb} {written} entries"))?;
            if !rows.is_empty() {
                say(format!("skipped {} agent-days:", rows.len()))?;
                conflict_table(&rows).print()?;
            }
            Ok(())
        }
    }
}

/// One conflict, in words.
#[derive(Debug, Serialize)]
pub(crate) struct ConflictRow {
    agent: String,
    date: NaiveDate,
    shift: String,
    /// A stable code: `overlap`, `rest_too_short`, `on_leave`, …
    reason: &'static str,
    detail: String,
    collides_with: Option<String>,
    /// The grid cell that asked for it, on import.
    cell: Option<String>,
}

pub(crate) fn conflict_rows(
    conflicts: &[Conflict],
    directory: &Directory,
    cells: Option<&HashMap<(AgentId, NaiveDate), CellRef>>,
) -> Vec<ConflictRow> {
    let describe = |with: &Collision| match with {
        Collision::Entry { entry, shift, date } => {
            format!("entry {entry}: {} on {date}", directory.shift_name(*shift))
        }
        Collision::Requested { shift, date } => {
            format!("{} on {date} in this request", directory.shift_name(*shift))
        }
    };
    conflicts
        .iter()
        .map(|conflict| {
            let (reason, detail, collides_with) = match &conflict.reason {
                ConflictReason::UnknownAgent => ("unknown_agent", "no such agent".into(), None),
                ConflictReason::InactiveAgent => {
                    ("inactive_agent", "the agent is deactivated".into(), None)
                }
                ConflictReason::UnknownShift => ("unknown_shift", "no such shift".into(), None),
                ConflictReason::MissingSkill { skill } => (
                    "missing_skill",
                    format!("the shift needs the skill {skill}"),
                    None,
                ),
                ConflictReason::DuplicateInRequest => {
                    ("duplicate", "asked for twice in this request".into(), None)
                }
                ConflictReason::OnLeave { leave } => (
                    "on_leave",
                    "the agent is on approved leave".into(),
                    Some(format!("leave request {leave}")),
                ),
                ConflictReason::Overlap { with } => (
                    "overlap",
                    "overlaps other work".into(),
                    Some(describe(with)),
                ),
                ConflictReason::RestTooShort {
                    with,
                    gap_minutes,
                    required_minutes,
                } => (
                    "rest_too_short",
                    format!("{gap_minutes} min of rest, under the team's {required_minutes}"),
                    Some(describe(with)),
                ),
            };
            ConflictRow {
                agent: directory.login(conflict.agent),
                date: conflict.date,
                shift: directory.shift_name(conflict.shift),
                reason,
                detail,
                collides_with,
                cell: cells
                    .and_then(|cells| cells.get(&(conflict.agent, conflict.date)))
                    .map(|at| format!("{}{}", grid::column_letters(at.column), at.row)),
            }
        })
        .collect()
}

pub(crate) fn conflict_table(rows: &[ConflictRow]) -> Table {
    let with_cells = rows.iter().any(|row| row.cell.is_some());
    let mut header = vec!["agent", "date", "shift", "reason", "collides with"];
    if with_cells {
        header.insert(0, "cell");
    }
    let mut table = Table::new(header);
    for row in rows {
        let mut cells = vec![
            row.agent.clone(),
            row.date.to_string(),
            row.shift.clone(),
            row.detail.clone(),
            row.collides_with.clone().unwrap_or_default(),
        ];
        if with_cells {
            cells.insert(0, row.cell.clone().unwrap_or_default());
        }
        table.row(cells);
    }
    table
}

#[tracing::instrument(skip_all, fields(file = %args.file.display(), dry_run = args.dry_run))]
async fn import(session: &Session, args: ImportArgs) -> Result<(), Failure> {
    let reading = progress::spinner("reading the grid");
    let within = args
        .dates
        .as_deref()
        .map(|raw| date_range("--dates", raw))
        .transpose()?;
    let (sheet, mut problems) = grid::read_sheet(&args.file, args.sheet.as_deref())?;
    let directory = session.directory().await?;
    let (grid, more) = grid::parse_grid(&sheet, &directory, within);
    problems.extend(more);
    reading.finish_and_clear();
    if !problems.is_empty() {
        tracing::warn!(problems = problems.len(), "the grid is refused");
        return Err(bad_file(&args.file, problems));
    }
    let cells = grid.cells();

    // Leave is checked first and written last: each run of leave days is checked against
    // the agent's other leave and allowance; the shifts are then checked (and, when nothing
    // at all is refused, written) in one all-or-nothing assignment.
    let runs = grid.leave_runs();
    let refused = check_leave(session, &runs, &directory, &cells).await?;
    let checking = progress::spinner("checking and writing the schedule");
    let placements: Vec<_> = grid
        .placements
        .iter()
        .map(|(placement, _)| *placement)
        .collect();
    let count = placements.len();
    let mut conflicts = Vec::new();
    if count > 0 {
        let options = AssignOptions {
            mode: BatchMode::AllOrNothing,
            dry_run: args.dry_run || !refused.is_empty(),
        };
        let outcome = session
            .service
            .assign(&session.ctx, placements, options)
            .await;
        match outcome {
            Ok(_) => {}
            Err(ScheduleError::Conflicts(found)) => conflicts = found,
            Err(error) => return Err(error.into()),
        }
    }
    checking.finish_and_clear();
    if !conflicts.is_empty() || !refused.is_empty() {
        let mut rows = conflict_rows(&conflicts, &directory, Some(&cells));
        rows.extend(refused);
        rows.sort_by(|a, b| (&a.agent, a.date).cmp(&(&b.agent, b.date)));
        match args.format {
            ListFormat::Json => print_json(&serde_json::json!({ "conflicts": rows }))?,
            ListFormat::Table => conflict_table(&rows).print()?,
        }
        return Err(Failure::Refused(format!(
            "{}: {} conflict{}; nothing was written",
            args.file.display(),
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        )));
    }

    let mut uncovered = 0;
    if !args.dry_run {
        let bar = progress::bar(runs.len() as u64, "filing leave");
        for (done, (agent, dates)) in runs.iter().enumerate() {
            // The shifts are committed by now; a failure here says so, and what is left.
            uncovered += file_leave(session, *agent, *dates)
                .await
                .map_err(|failure| {
                    let message = format!(
                        "the {count} entries were written and {done} of {} leave requests filed, \
                     then leave for {} on {}..{} failed: {failure}",
                        runs.len(),
                        directory.login(*agent),
                        dates.first(),
                        dates.last()
                    );
                    match failure {
                        Failure::Store(_) => Failure::Store(message),
                        _ => Failure::Refused(message),
                    }
                })?;
            bar.inc(1);
        }
        bar.finish_and_clear();
    }
    tracing::info!(
        entries = count,
        leave = runs.len(),
        uncovered,
        "grid imported"
    );
    let summary = ImportSummary {
        file: args.file.display().to_string(),
        dry_run: args.dry_run,
        agents: grid.agents.len(),
        dates: grid.dates.len(),
        entries: count,
        leave_requests: runs.len(),
        leave_days: grid.leave.len(),
        uncovered_shifts: uncovered,
    };
    match args.format {
        ListFormat::Json => print_json(&summary),
        ListFormat::Table => {
            let (entries, leave) = if args.dry_run {
                ("would write", "would file and approve")
            } else {
                ("wrote", "filed and approved")
            };
            say(format!(
                "{}: {} agents × {} dates: {entries} {} entries; {leave} {} leave requests \
                 ({} days)",
                summary.file,
                summary.agents,
                summary.dates,
                summary.entries,
                summary.leave_requests,
                summary.leave_days
            ))?;
            if uncovered > 0 {
                say(format!(
                    "{uncovered} shifts planned before are now uncovered"
                ))?;
            }
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct ImportSummary {
    file: String,
    dry_run: bool,
    agents: usize,
    dates: usize,
    entries: usize,
    leave_requests: usize,
    leave_days: usize,
    uncovered_shifts: usize,
}

/// Checks every run of leave days by the rules a request must pass (overlap with other
/// leave, the yearly allowance); each refusal becomes a row of the conflict report.
///
/// Known gap: several runs of one agent in one year are each checked against the allowance
/// alone; approval checks them together, and a refusal there comes after the shifts were
/// written.
async fn check_leave(
    session: &Session,
    runs: &[(AgentId, DateRange)],
    directory: &Directory,
    cells: &HashMap<(AgentId, NaiveDate), CellRef>,
) -> Result<Vec<ConflictRow>, Failure> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let team = session.service.team(&session.ctx).await?;
    let agents: Vec<AgentId> = runs.iter().map(|(agent, _)| *agent).collect();
    let query = LeaveQuery {
        agents: Some(agents),
        states: Some(vec![LeaveState::Pending, LeaveState::Approved]),
        ..LeaveQuery::default()
    };
    let existing = session.service.leaves(&session.ctx, query).await?;
    let mut refused = Vec::new();
    for (agent, dates) in runs {
        let application = application(*agent, *dates);
        let theirs: Vec<_> = existing
            .iter()
            .filter(|request| request.agent == *agent)
            .cloned()
            .collect();
        if let Err(refusal) = leave::check_application(&application, &theirs, &team) {
            let collides_with = match &refusal {
                LeaveRefusal::Overlapping { existing } => Some(format!("leave request {existing}")),
                _ => None,
            };
            refused.push(ConflictRow {
                agent: directory.login(*agent),
                date: dates.first(),
                shift: LEAVE_CODE.to_owned(),
                reason: "leave_refused",
                detail: format!("leave {}..{}: {refusal}", dates.first(), dates.last()),
                collides_with,
                cell: cells
                    .get(&(*agent, dates.first()))
                    .map(|at| format!("{}{}", grid::column_letters(at.column), at.row)),
            });
        }
    }
    Ok(refused)
}

fn application(agent: AgentId, dates: DateRange) -> LeaveApplication {
    LeaveApplication {
        agent,
        kind: LeaveKind::Annual,
        dates,
        reason: None,
    }
}

/// Files a leave request for the agent and approves it; returns how many shifts it left
/// uncovered.
async fn file_leave(session: &Session, agent: AgentId, dates: DateRange) -> Result<usize, Failure> {
    let service = &session.service;
    let request = service
        .request_leave(&session.ctx, application(agent, dates))
        .await?;
    let change = service
        .approve_leave(&session.ctx, request.id)
        .await
        .map_err(|error: LeaveError| Failure::from(error))?;
    Ok(change.uncovered.len())
}

/// The grid of one agent: what each date holds.
type Row = BTreeMap<NaiveDate, Vec<String>>;

#[tracing::instrument(skip_all, fields(from = %args.from, to = %args.to))]
async fn show(session: &Session, args: ShowArgs) -> Result<(), Failure> {
    let from = date("--from", &args.from)?;
    let to = date("--to", &args.to)?;
    let dates = DateRange::new(from, to)
        .map_err(|problem| Failure::input(format!("--from/--to: the range {problem}")))?;
    if args.output_dir.is_some() && args.format != ShowFormat::Ics {
        return Err(Failure::input("--output-dir goes with --format ics"));
    }
    let directory = session.directory().await?;
    let only = args
        .agents
        .as_deref()
        .map(|list| directory.agent_ids(split_list(list), "--agents"))
        .transpose()?;
    let query = EntryQuery {
        dates,
        agents: only.clone(),
        working_only: false,
    };
    let entries = session.service.schedule(&session.ctx, &query).await?;
    let query = LeaveQuery {
        agents: only.clone(),
        states: Some(vec![LeaveState::Approved]),
        overlapping: Some(dates),
        ..LeaveQuery::default()
    };
    let leave = session.service.leaves(&session.ctx, query).await?;

    // Rows: the agents asked for, else every active agent and anyone with work or leave.
    let mut agents: BTreeSet<AgentId> = match &only {
        Some(only) => only.iter().copied().collect(),
        None => directory
            .agents
            .iter()
            .filter(|agent| agent.active)
            .map(|agent| agent.id)
            .collect(),
    };
    agents.extend(entries.iter().map(|entry| entry.agent));
    agents.extend(leave.iter().map(|request| request.agent));
    let mut agents: Vec<AgentId> = agents.into_iter().collect();
    agents.sort_by_key(|agent| directory.login(*agent));

    let mut rows: HashMap<AgentId, Row> = HashMap::new();
    for request in &leave {
        for day in request.dates.iter().filter(|day| dates.contains(*day)) {
            let row = rows.entry(request.agent).or_default();
            row.entry(day).or_default().push(LEAVE_CODE.to_owned());
        }
    }
    let mut working: Vec<&ScheduleEntry> = entries.iter().filter(|e| e.is_working()).collect();
    working.sort_by_key(|entry| (entry.span.start(), entry.id));
    for entry in working {
        let row = rows.entry(entry.agent).or_default();
        row.entry(entry.date)
            .or_default()
            .push(directory.shift_name(entry.shift));
    }

    match args.format {
        ShowFormat::Table => show_table(&agents, &rows, dates, &directory),
        ShowFormat::Csv => show_csv(&agents, &rows, dates, &directory),
        ShowFormat::Json => show_json(&entries, &leave, &directory),
        ShowFormat::Ics => {
            let calendars = ics::Calendars::new(&entries, &leave, &directory);
            match &args.output_dir {
                Some(folder) => calendars.write_per_agent(folder, &agents, &directory),
                None => calendars.print_combined(),
            }
        }
    }
}

fn cell_text(row: Option<&Row>, date: NaiveDate) -> String {
    row.and_then(|row| row.get(&date))
        .map(|codes| codes.join(&SHIFT_SEPARATOR.to_string()))
        .unwrap_or_default()
}

fn show_table(
    agents: &[AgentId],
    rows: &HashMap<AgentId, Row>,
    dates: DateRange,
    directory: &Directory,
) -> Result<(), Failure> {
    let overnight: BTreeSet<String> = directory
        .shifts
        .iter()
        .filter(|shift| shift.times.is_overnight())
        .map(|shift| shift.name.to_string())
        .collect();
    let mut header = vec!["agent".to_owned()];
    header.extend(dates.iter().map(|date| date.format("%m-%d %a").to_string()));
    let mut table = Table::new(header);
    for agent in agents {
        let mut cells = vec![directory.login(*agent)];
        for date in dates.iter() {
            let codes = rows.get(agent).and_then(|row| row.get(&date));
            let text = codes.map_or_else(String::new, |codes| {
                codes
                    .iter()
                    .map(|code| {
                        if overnight.contains(code) {
                            format!("{code}*")
                        } else {
                            code.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(&SHIFT_SEPARATOR.to_string())
            });
            cells.push(if text.is_empty() {
                ".".to_owned()
            } else {
                text
            });
        }
        table.row(cells);
    }
    table.print()?;
    say(format!(
        "{LEAVE_CODE} = on leave; * = overnight, ends the next day; . = nothing planned"
    ))
}

fn show_csv(
    agents: &[AgentId],
    rows: &HashMap<AgentId, Row>,
    dates: DateRange,
    directory: &Directory,
) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut writer = csv::Writer::from_writer(stdout.lock());
    let csv_failed = |error: csv::Error| Failure::Other(format!("cannot write CSV: {error}"));
    let mut header = vec!["agent".to_owned()];
    header.extend(dates.iter().map(|date| date.to_string()));
    writer.write_record(&header).map_err(csv_failed)?;
    for agent in agents {
        let mut record = vec![directory.login(*agent)];
        record.extend(dates.iter().map(|date| cell_text(rows.get(agent), date)));
        writer.write_record(&record).map_err(csv_failed)?;
    }
    writer.flush()?;
    Ok(())
}

#[derive(Serialize)]
struct EntryListing {
    id: i64,
    agent: String,
    date: NaiveDate,
    shift: String,
    start: String,
    end: String,
    overnight: bool,
    status: &'static str,
}

#[derive(Serialize)]
struct LeaveListing {
    id: i64,
    agent: String,
    kind: String,
    first: NaiveDate,
    last: NaiveDate,
}

fn show_json(
    entries: &[ScheduleEntry],
    leave: &[shiftdesk_core::leave::LeaveRequest],
    directory: &Directory,
) -> Result<(), Failure> {
    let entries: Vec<EntryListing> = entries
        .iter()
        .map(|entry| EntryListing {
            id: entry.id.get(),
            agent: directory.login(entry.agent),
            date: entry.date,
            shift: directory.shift_name(entry.shift),
            start: entry.span.start().to_rfc3339(),
            end: entry.span.end().to_rfc3339(),
            overnight: directory
                .shift_by_id(entry.shift)
                .is_some_and(|shift| shift.times.is_overnight()),
            status: match entry.status {
                EntryStatus::Scheduled => "scheduled",
                EntryStatus::OnLeave { .. } => "on_leave",
                EntryStatus::SwappedOut { .. } => "swapped_out",
            },
        })
        .collect();
    let leave: Vec<LeaveListing> = leave
        .iter()
        .map(|request| LeaveListing {
            id: request.id.get(),
            agent: directory.login(request.agent),
            kind: request.kind.to_string(),
            first: request.dates.first(),
            last: request.dates.last(),
        })
        .collect();
    print_json(&serde_json::json!({ "entries": entries, "leave": leave }))
}
