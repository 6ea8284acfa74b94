//! `shifts add|list|remove`.

use chrono::NaiveTime;
use serde::Serialize;
use shiftdesk_core::shift::{NewShift, ShiftTimes};
use shiftdesk_core::text::{ShiftName, Skill};

use crate::cli::{ListFormat, ShiftsCommand};
use crate::failure::Failure;
use crate::render::{Table, print_json, say};
use crate::session::Session;

/// Runs a `shifts` command.
pub(crate) async fn run(session: &Session, command: ShiftsCommand) -> Result<(), Failure> {
    match command {
        ShiftsCommand::Add {
            name,
            start,
            end,
            skill,
        } => {
            let name = ShiftName::parse(&name).map_err(|p| Failure::input(format!("name {p}")))?;
            let times = ShiftTimes::new(time("--start", &start)?, time("--end", &end)?)
                .map_err(|problem| Failure::input(format!("--start/--end: {problem}")))?;
            let required_skill = skill
                .map(|skill| Skill::parse(&skill))
                .transpose()
                .map_err(|problem| Failure::input(format!("--skill {problem}")))?;
            let shift = NewShift {
                name,
                times,
                required_skill,
            };
            let created = session.service.create_shift(&session.ctx, shift).await?;
            say(format!(
                "added shift {} ({}–{}{})",
                created.name,
                created.times.start().format("%H:%M"),
                created.times.end().format("%H:%M"),
                if created.times.is_overnight() {
                    ", overnight"
                } else {
                    ""
                }
            ))
        }
        ShiftsCommand::List { format } => list(session, format).await,
        ShiftsCommand::Remove { name } => {
            let directory = session.directory().await?;
            let shift = directory
                .shift(&name)
                .ok_or_else(|| Failure::input(format!("no shift template is named {name:?}")))?;
            session.service.remove_shift(&session.ctx, shift.id).await?;
            say(format!("removed shift {}", shift.name))
        }
    }
}

/// A time of day, `HH:MM`.
fn time(flag: &str, raw: &str) -> Result<NaiveTime, Failure> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M")
        .map_err(|_| Failure::input(format!("{flag} {raw:?} must be a time of day as HH:MM")))
}

#[derive(Serialize)]
struct ShiftRow {
    id: i64,
    name: String,
    start: String,
    end: String,
    overnight: bool,
    required_skill: Option<String>,
}

async fn list(session: &Session, format: ListFormat) -> Result<(), Failure> {
    let shifts = session.service.shifts(&session.ctx).await?;
    let rows: Vec<ShiftRow> = shifts
        .iter()
        .map(|shift| ShiftRow {
            id: shift.id.get(),
            name: shift.name.to_string(),
            start: shift.times.start().format("%H:%M").to_string(),
            end: shift.times.end().format("%H:%M").to_string(),
            overnight: shift.times.is_overnight(),
            required_skill: shift.required_skill.as_ref().map(ToString::to_string),
        })
        .collect();
    match format {
        ListFormat::Json => print_json(&rows),
        ListFormat::Table => {
            let mut table = Table::new(["id", "name", "start", "end", "overnight", "skill"]);
            for row in rows {
                table.row(vec![
                    row.id.to_string(),
                    row.name,
                    row.start,
                    row.end,
                    if row.overnight { "yes" } else { "" }.to_owned(),
                    row.required_skill.unwrap_or_default(),
                ]);
            }
            table.print()
        }
    }
}
