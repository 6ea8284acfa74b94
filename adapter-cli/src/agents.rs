//! `agents import` and `agents list`.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde::Serialize;
use shiftdesk_core::staff::{Agent, AgentUpdate, Capacity, NewAgent, Role};
use shiftdesk_core::text::{DisplayName, Login, Skill};

use crate::cli::{AgentsCommand, ListFormat};
use crate::failure::Failure;
use crate::grid::{CellProblem, CellRef, Sheet, bad_file, read_sheet};
use crate::progress;
use crate::render::{Table, print_json, say};
use crate::session::Session;

/// Runs an `agents` command.
pub(crate) async fn run(session: &Session, command: AgentsCommand) -> Result<(), Failure> {
    match command {
        AgentsCommand::Import { file, dry_run } => import(session, &file, dry_run).await,
        AgentsCommand::List { format } => list(session, format).await,
    }
}

/// The columns an agents file may have.
const COLUMNS: [&str; 6] = [
    "login",
    "display_name",
    "role",
    "skills",
    "capacity",
    "active",
];

/// One row of the file: `None` where the file has no such column.
#[derive(Debug)]
struct AgentRow {
    login: Login,
    display_name: Option<DisplayName>,
    role: Option<Role>,
    skills: Option<BTreeSet<Skill>>,
    capacity: Option<Option<Capacity>>,
    active: Option<bool>,
    at: CellRef,
}

/// What importing one row does.
enum Change {
    Create(NewAgent, Option<bool>),
    Update(Agent, AgentUpdate),
    Unchanged,
}

#[tracing::instrument(skip_all, fields(file = %file.display(), dry_run))]
async fn import(session: &Session, file: &Path, dry_run: bool) -> Result<(), Failure> {
    let (sheet, mut problems) = read_sheet(file, None)?;
    let rows = parse_rows(&sheet, &mut problems);
    let existing: HashMap<Login, Agent> = session
        .service
        .agents(&session.ctx)
        .await?
        .into_iter()
        .map(|agent| (agent.login.clone(), agent))
        .collect();
    let mut changes = Vec::with_capacity(rows.len());
    for row in rows {
        match plan(row, &existing) {
            Ok(change) => changes.push(change),
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(bad_file(file, problems));
    }

    let mut counts = [0_usize; 3];
    for change in &changes {
        counts[match change {
            Change::Create(..) => 0,
            Change::Update(..) => 1,
            Change::Unchanged => 2,
        }] += 1;
    }
    let verb = if dry_run { "would create" } else { "created" };
    let summary = format!(
        "{verb} {} staff member(s), {} {}, {} unchanged",
        counts[0],
        if dry_run { "would update" } else { "updated" },
        counts[1],
        counts[2]
    );
    if dry_run {
        return say(summary);
    }
    // Each staff member is its own audited change: a failure part-way (the store going away)
    // leaves the rows before it done, which a second run of the same file then skips.
    let bar = progress::bar(changes.len() as u64, "importing staff");
    for change in changes {
        match change {
            Change::Create(agent, active) => {
                let created = session.service.create_agent(&session.ctx, agent).await?;
                if active == Some(false) {
                    let update = AgentUpdate {
                        active: Some(false),
                        ..AgentUpdate::default()
                    };
                    session
                        .service
                        .update_agent(&session.ctx, created.id, update)
                        .await?;
                }
            }
            Change::Update(agent, update) => {
                session
                    .service
                    .update_agent(&session.ctx, agent.id, update)
                    .await?;
            }
            Change::Unchanged => {}
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    say(summary)
}

fn parse_rows(sheet: &Sheet, problems: &mut Vec<CellProblem>) -> Vec<AgentRow> {
    let mut rows_iter = sheet
        .rows
        .iter()
        .filter(|(_, cells)| cells.iter().any(|cell| !cell.is_empty()));
    let Some((header_row, header)) = rows_iter.next() else {
        return Vec::new();
    };
    let mut columns: HashMap<&str, usize> = HashMap::new();
    for (column, name) in header.iter().enumerate() {
        let at = sheet.cell(*header_row, column);
        let name = name.to_ascii_lowercase();
        match COLUMNS.iter().find(|known| **known == name) {
            Some(known) if columns.insert(known, column).is_some() => {
                problems.push(problem(at, format!("the column {known} appears twice")))
            }
            Some(_) => {}
            None if name.is_empty() => {}
            None => problems.push(problem(
                at,
                format!(
                    "unknown column {name:?}; the columns are {}",
                    COLUMNS.join(", ")
                ),
            )),
        }
    }
    let Some(&login_column) = columns.get("login") else {
        let at = sheet.cell(*header_row, 0);
        problems.push(problem(at, "the header has no login column".to_owned()));
        return Vec::new();
    };

    let mut seen: HashMap<Login, usize> = HashMap::new();
    let mut rows = Vec::new();
    for (row, cells) in rows_iter {
        let cell = |name: &str| -> Option<(CellRef, &str)> {
            let column = *columns.get(name)?;
            let text = cells.get(column).map(String::as_str).unwrap_or_default();
            Some((sheet.cell(*row, column), text))
        };
        let before = problems.len();
        // A row longer than the header has a value no column names: most often a name with
        // a comma that was not quoted, which would shift every cell after it.
        for (column, text) in cells.iter().enumerate().skip(header.len()) {
            if !text.is_empty() {
                let at = sheet.cell(*row, column);
                problems.push(problem(
                    at,
                    format!("holds {text:?} under no column; quote a value that has a comma"),
                ));
            }
        }
        let login_at = sheet.cell(*row, login_column);
        let login_text = cells
            .get(login_column)
            .map(String::as_str)
            .unwrap_or_default();
        let login = check(
            problems,
            login_at,
            "login",
            Login::parse(login_text).map_err(|p| p.to_string()),
        );
        let display_name = cell("display_name").and_then(|(at, text)| {
            if text.is_empty() {
                return None;
            }
            check(
                problems,
                at,
                "display_name",
                DisplayName::parse(text).map_err(|p| p.to_string()),
            )
        });
        let role = cell("role").and_then(|(at, text)| {
            check(
                problems,
                at,
                "role",
                match text.to_ascii_lowercase().as_str() {
                    "agent" => Ok(Role::Agent),
                    "admin" => Ok(Role::Admin),
                    _ => Err(format!("{text:?} must be agent or admin")),
                },
            )
        });
        let skills = cell("skills").and_then(|(at, text)| {
            let parsed: Result<BTreeSet<Skill>, String> = text
                .split([' ', ';'])
                .filter(|skill| !skill.is_empty())
                .map(|skill| Skill::parse(skill).map_err(|p| format!("{skill:?} {p}")))
                .collect();
            check(problems, at, "skills", parsed)
        });
        let capacity = cell("capacity").and_then(|(at, text)| {
            if text.is_empty() {
                return Some(None);
            }
            let parsed = text
                .parse::<u32>()
                .map_err(|_| format!("{text:?} must be a whole number from 1 to 1000"))
                .and_then(|number| Capacity::new(number).map_err(|p| p.to_string()));
            check(problems, at, "capacity", parsed).map(Some)
        });
        let active = cell("active").and_then(|(at, text)| {
            if text.is_empty() {
                return None;
            }
            check(
                problems,
                at,
                "active",
                match text.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "1" => Ok(true),
                    "false" | "no" | "0" => Ok(false),
                    _ => Err(format!("{text:?} must be true or false")),
                },
            )
        });
        if problems.len() > before {
            continue;
        }
        let Some(login) = login else { continue };
        if let Some(first) = seen.insert(login.clone(), *row) {
            problems.push(problem(
                login_at,
                format!("the login {login} already has row {first}"),
            ));
            continue;
        }
        rows.push(AgentRow {
            login,
            display_name,
            role,
            skills,
            capacity,
            active,
            at: login_at,
        });
    }
    rows
}

/// The value, or `None` after noting why the cell is refused.
fn check<T>(
    problems: &mut Vec<CellProblem>,
    at: CellRef,
    field: &str,
    result: Result<T, String>,
) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(reason) => {
            problems.push(problem(at, format!("{field} {reason}")));
            None
        }
    }
}

fn problem(at: CellRef, reason: String) -> CellProblem {
    CellProblem {
        at: Some(at),
        header: None,
        reason,
    }
}

/// What a row changes: a new staff member, the fields that differ, or nothing.
fn plan(row: AgentRow, existing: &HashMap<Login, Agent>) -> Result<Change, CellProblem> {
    let Some(agent) = existing.get(&row.login) else {
        let Some(display_name) = row.display_name else {
            return Err(problem(
                row.at,
                format!(
                    "{} is a new staff member and needs a display_name",
                    row.login
                ),
            ));
        };
        let agent = NewAgent {
            login: row.login,
            display_name,
            role: row.role.unwrap_or(Role::Agent),
            skills: row.skills.unwrap_or_default(),
            capacity: row.capacity.flatten(),
        };
        return Ok(Change::Create(agent, row.active));
    };
    let update = AgentUpdate {
        display_name: row.display_name.filter(|name| *name != agent.display_name),
        role: row.role.filter(|role| *role != agent.role),
        active: row.active.filter(|active| *active != agent.active),
        skills: row.skills.filter(|skills| *skills != agent.skills),
        capacity: row.capacity.filter(|capacity| *capacity != agent.capacity),
    };
    if update == AgentUpdate::default() {
        Ok(Change::Unchanged)
    } else {
        Ok(Change::Update(agent.clone(), update))
    }
}

#[derive(Serialize)]
struct AgentListing {
    id: i64,
    login: String,
    display_name: String,
    role: Role,
    active: bool,
    skills: Vec<String>,
    capacity: Option<u32>,
}

async fn list(session: &Session, format: ListFormat) -> Result<(), Failure> {
    let agents = session.service.agents(&session.ctx).await?;
    let rows: Vec<AgentListing> = agents
        .into_iter()
        .map(|agent| AgentListing {
            id: agent.id.get(),
            login: agent.login.to_string(),
            display_name: agent.display_name.to_string(),
            role: agent.role,
            active: agent.active,
            skills: agent.skills.iter().map(ToString::to_string).collect(),
            capacity: agent.capacity.map(|capacity| capacity.get()),
        })
        .collect();
    match format {
        ListFormat::Json => print_json(&rows),
        ListFormat::Table => {
            let mut table = Table::new([
                "id", "login", "name", "role", "active", "skills", "capacity",
            ]);
            for row in rows {
                table.row(vec![
                    row.id.to_string(),
                    row.login,
                    row.display_name,
                    match row.role {
                        Role::Agent => "agent",
                        Role::Admin => "admin",
                    }
                    .to_owned(),
                    if row.active { "yes" } else { "no" }.to_owned(),
                    row.skills.join(" "),
                    row.capacity.map(|c| c.to_string()).unwrap_or_default(),
                ]);
            }
            table.print()
        }
    }
}
