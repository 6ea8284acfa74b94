//! Reading a sheet of cells from a CSV file or an `.xlsx` workbook, and the schedule grid in
//! it: one row per agent, one column per date, shift codes (or blank, or a leave code) in the
//! cells.
//!
//! Reading never stops at the first bad cell: every problem is collected with its row and
//! column, so one run of the command shows the admin everything to fix.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use calamine::{Data, Reader, open_workbook_auto};
use chrono::NaiveDate;
use shiftdesk_core::ids::AgentId;
use shiftdesk_core::schedule::Placement;
use shiftdesk_core::time::DateRange;

use crate::failure::Failure;
use crate::session::Directory;

/// The code for a day of approved leave, filed and approved through the leave rules.
pub(crate) const LEAVE_CODE: &str = "L";

/// What separates several shifts of one agent on one date when the schedule is shown; an
/// imported grid plans one per cell.
pub(crate) const SHIFT_SEPARATOR: char = '+';

/// Where a cell is: its row (counted from 1, as spreadsheets do) and column (from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CellRef {
    /// The row, from 1.
    pub(crate) row: usize,
    /// The column, from 0 (shown as a letter: 0 is A).
    pub(crate) column: usize,
}

impl fmt::Display for CellRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "row {}, column {}",
            self.row,
            column_letters(self.column)
        )
    }
}

/// A column's spreadsheet name: 0 is A, 25 is Z, 26 is AA.
pub(crate) fn column_letters(column: usize) -> String {
    let mut letters = Vec::new();
    let mut rest = column + 1;
    while rest > 0 {
        let digit = (rest - 1) % 26;
        letters.push(char::from(b'A' + u8::try_from(digit).unwrap_or(0)));
        rest = (rest - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// One bad cell (or a bad file, without a cell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CellProblem {
    /// Where, if in a cell.
    pub(crate) at: Option<CellRef>,
    /// The column's header, when it helps (a date).
    pub(crate) header: Option<String>,
    /// What is wrong.
    pub(crate) reason: String,
}

impl CellProblem {
    fn at(at: CellRef, reason: impl Into<String>) -> Self {
        Self {
            at: Some(at),
            header: None,
            reason: reason.into(),
        }
    }
}

/// Every problem found in one file, as the failure of the command (exit 2).
pub(crate) fn bad_file(file: &Path, mut problems: Vec<CellProblem>) -> Failure {
    problems.sort_by_key(|problem| problem.at);
    let mut message = format!(
        "{}: {} problem{} found; nothing was written",
        file.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for problem in problems {
        message.push_str("\n  ");
        message.push_str(&file.display().to_string());
        if let Some(at) = problem.at {
            message.push_str(&format!(": {at}"));
        }
        if let Some(header) = problem.header {
            message.push_str(&format!(" ({header})"));
        }
        message.push_str(": ");
        message.push_str(&problem.reason);
    }
    Failure::BadInput(message)
}

/// The cells of one sheet, as text, trimmed.
#[derive(Debug, Default)]
pub(crate) struct Sheet {
    /// The rows, each with the row number it had in the file.
    pub(crate) rows: Vec<(usize, Vec<String>)>,
    /// The column the first cell of each row was in (a workbook's data may start right of A).
    pub(crate) first_column: usize,
}

impl Sheet {
    /// Where cell `column` (counted in this sheet) of the row numbered `row` is.
    pub(crate) fn cell(&self, row: usize, column: usize) -> CellRef {
        CellRef {
            row,
            column: self.first_column + column,
        }
    }
}

/// Reads a file as a sheet: `.xlsx`, `.xlsm`, `.xls` or `.ods` as a workbook, anything else as
/// CSV. Cells that cannot be read (text that is not UTF-8, formulas, error values) are
/// reported, every one, and read as empty.
pub(crate) fn read_sheet(
    file: &Path,
    sheet: Option<&str>,
) -> Result<(Sheet, Vec<CellProblem>), Failure> {
    let extension = file
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("xlsx" | "xlsm" | "xls" | "xlsb" | "ods") => read_workbook(file, sheet),
        _ if sheet.is_some() => Err(Failure::input(format!(
            "--sheet: {} is not a workbook",
            file.display()
        ))),
        _ => read_csv(file),
    }
}

fn unreadable(file: &Path, error: impl fmt::Display) -> Failure {
    Failure::input(format!("{}: cannot read the file: {error}", file.display()))
}

fn read_csv(file: &Path) -> Result<(Sheet, Vec<CellProblem>), Failure> {
    let bytes = std::fs::read(file).map_err(|error| unreadable(file, error))?;
    // Spreadsheets in some languages write `;` between cells; the header line tells.
    let first_line = bytes
        .split(|byte| *byte == b'\n')
        .next()
        .unwrap_or_default();
    let delimiter = if !first_line.contains(&b',') && first_line.contains(&b';') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes.as_slice());
    let mut sheet = Sheet::default();
    let mut problems = Vec::new();
    for (index, record) in reader.byte_records().enumerate() {
        let row = index + 1;
        let record = record.map_err(|error| unreadable(file, error))?;
        let mut cells = Vec::with_capacity(record.len());
        for (column, field) in record.iter().enumerate() {
            // A byte-order mark, which spreadsheets put before the first cell, is not text.
            let field = match (row, column) {
                (1, 0) => field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field),
                _ => field,
            };
            match std::str::from_utf8(field) {
                Ok(text) => cells.push(text.trim().to_owned()),
                Err(error) => {
                    let at = CellRef { row, column };
                    let reason = format!(
                        "is not UTF-8 text (invalid byte at position {}); save the file as UTF-8",
                        error.valid_up_to() + 1
                    );
                    problems.push(CellProblem::at(at, reason));
                    cells.push(String::new());
                }
            }
        }
        sheet.rows.push((row, cells));
    }
    if sheet
        .rows
        .iter()
        .all(|(_, cells)| cells.iter().all(String::is_empty))
    {
        return Err(Failure::input(format!(
            "{}: the file is empty",
            file.display()
        )));
    }
    Ok((sheet, problems))
}

fn read_workbook(file: &Path, wanted: Option<&str>) -> Result<(Sheet, Vec<CellProblem>), Failure> {
    let mut workbook = open_workbook_auto(file).map_err(|error| unreadable(file, error))?;
    let names = workbook.sheet_names();
    let name = match wanted {
        Some(wanted) => names
            .iter()
            .find(|name| name.as_str() == wanted)
            .cloned()
            .ok_or_else(|| {
                Failure::input(format!(
                    "--sheet: {} has no sheet {wanted:?}; it has {}",
                    file.display(),
                    names.join(", ")
                ))
            })?,
        None => names.first().cloned().ok_or_else(|| {
            Failure::input(format!("{}: the workbook has no sheet", file.display()))
        })?,
    };
    let range = workbook
        .worksheet_range(&name)
        .map_err(|error| unreadable(file, error))?;
    let Some((first_row, first_column)) = range.start() else {
        return Err(Failure::input(format!(
            "{}: the sheet {name:?} is empty",
            file.display()
        )));
    };
    let (first_row, first_column) = (first_row as usize, first_column as usize);
    let mut problems = Vec::new();

    // A formula's value is whatever the spreadsheet last computed, if it saved one at all:
    // a plan should not depend on that, so formulas are refused, each by its cell.
    if let Ok(formulas) = workbook.worksheet_formula(&name)
        && let Some((row0, column0)) = formulas.start()
    {
        for (row, column, formula) in formulas.used_cells() {
            if formula.is_empty() {
                continue;
            }
            let at = CellRef {
                row: row0 as usize + row + 1,
                column: column0 as usize + column,
            };
            let reason = format!("holds the formula ={formula}; enter the value itself");
            problems.push(CellProblem::at(at, reason));
        }
    }
    let formula_cells: std::collections::HashSet<CellRef> =
        problems.iter().filter_map(|problem| problem.at).collect();

    let mut sheet = Sheet {
        rows: Vec::with_capacity(range.height()),
        first_column,
    };
    for (index, cells) in range.rows().enumerate() {
        let row = first_row + index + 1;
        let mut texts = Vec::with_capacity(cells.len());
        for (column, cell) in cells.iter().enumerate() {
            let at = CellRef {
                row,
                column: first_column + column,
            };
            if formula_cells.contains(&at) {
                texts.push(String::new());
                continue;
            }
            match cell_text(cell) {
                Ok(text) => texts.push(text),
                Err(reason) => {
                    problems.push(CellProblem::at(at, reason));
                    texts.push(String::new());
                }
            }
        }
        sheet.rows.push((row, texts));
    }
    Ok((sheet, problems))
}

/// A workbook cell as the text the grid reads: dates as `YYYY-MM-DD`, whole numbers without
/// a decimal point.
fn cell_text(cell: &Data) -> Result<String, String> {
    match cell {
        Data::Empty => Ok(String::new()),
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => {
            Ok(text.trim().to_owned())
        }
        Data::Int(number) => Ok(number.to_string()),
        Data::Float(number) if number.fract() == 0.0 && number.abs() < 1e15 => {
            Ok(format!("{number:.0}"))
        }
        Data::Float(number) => Ok(number.to_string()),
        Data::Bool(value) => Ok(value.to_string()),
        Data::DateTime(value) => match value.as_datetime() {
            Some(at) if at.time() == chrono::NaiveTime::MIN => {
                Ok(at.date().format("%Y-%m-%d").to_string())
            }
            Some(at) => Ok(at.format("%Y-%m-%d %H:%M").to_string()),
            None => Err("holds a date the workbook cannot express".to_owned()),
        },
        Data::Error(error) => Err(format!("holds the error value {error}")),
    }
}

/// The grid, parsed against the staff and shift templates.
#[derive(Debug, Default)]
pub(crate) struct Grid {
    /// The date columns, in file order.
    pub(crate) dates: Vec<NaiveDate>,
    /// The agents' rows, in file order.
    pub(crate) agents: Vec<AgentId>,
    /// Every shift to work, with the cell it came from.
    pub(crate) placements: Vec<(Placement, CellRef)>,
    /// Every day of leave, with the cell it came from.
    pub(crate) leave: Vec<(AgentId, NaiveDate, CellRef)>,
}

impl Grid {
    /// The cell that asked for `agent` on `date`.
    pub(crate) fn cells(&self) -> HashMap<(AgentId, NaiveDate), CellRef> {
        self.placements
            .iter()
            .map(|(placement, at)| ((placement.agent, placement.date), *at))
            .chain(
                self.leave
                    .iter()
                    .map(|(agent, date, at)| ((*agent, *date), *at)),
            )
            .collect()
    }

    /// The days of leave as runs of consecutive dates per agent, each one leave request.
    pub(crate) fn leave_runs(&self) -> Vec<(AgentId, DateRange)> {
        let mut days: BTreeMap<AgentId, Vec<NaiveDate>> = BTreeMap::new();
        for (agent, date, _) in &self.leave {
            days.entry(*agent).or_default().push(*date);
        }
        let mut runs = Vec::new();
        for (agent, mut dates) in days {
            dates.sort_unstable();
            let mut start: Option<(NaiveDate, NaiveDate)> = None;
            for date in dates {
                start = match start {
                    Some((first, last)) if last.succ_opt() == Some(date) => Some((first, date)),
                    Some((first, last)) => {
                        runs.extend(DateRange::new(first, last).ok().map(|range| (agent, range)));
                        Some((date, date))
                    }
                    None => Some((date, date)),
                };
            }
            if let Some((first, last)) = start {
                runs.extend(DateRange::new(first, last).ok().map(|range| (agent, range)));
            }
        }
        runs
    }
}

/// Parses a sheet as the schedule grid: a header row of `agent` then dates (`YYYY-MM-DD`),
/// then one row per agent (login) with a shift code, the leave code, or nothing in each
/// cell. Every problem is returned, not only the first.
pub(crate) fn parse_grid(
    sheet: &Sheet,
    directory: &Directory,
    within: Option<DateRange>,
) -> (Grid, Vec<CellProblem>) {
    let mut grid = Grid::default();
    let mut problems = Vec::new();
    let mut rows = sheet
        .rows
        .iter()
        .filter(|(_, cells)| cells.iter().any(|cell| !cell.is_empty()));
    let Some((header_row, header)) = rows.next() else {
        problems.push(CellProblem {
            at: None,
            header: None,
            reason: "the sheet is empty".to_owned(),
        });
        return (grid, problems);
    };

    // The header: `agent`, then one date per column; blank columns at the end are ignored.
    let mut columns: Vec<Option<NaiveDate>> = Vec::new();
    let mut seen: HashMap<NaiveDate, CellRef> = HashMap::new();
    for (column, text) in header.iter().enumerate().skip(1) {
        let at = sheet.cell(*header_row, column);
        if text.is_empty() {
            columns.push(None);
            continue;
        }
        let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") else {
            let reason = format!("the header {text:?} is not a date as YYYY-MM-DD");
            problems.push(CellProblem::at(at, reason));
            columns.push(None);
            continue;
        };
        if let Some(first) = seen.get(&date) {
            problems.push(CellProblem::at(
                at,
                format!(
                    "the date {date} is already column {}",
                    column_letters(first.column)
                ),
            ));
            columns.push(None);
            continue;
        }
        if let Some(range) = within
            && !range.contains(date)
        {
            let reason = format!(
                "the date {date} lies outside --dates {}..{}",
                range.first(),
                range.last()
            );
            problems.push(CellProblem::at(at, reason));
            columns.push(None);
            continue;
        }
        seen.insert(date, at);
        grid.dates.push(date);
        columns.push(Some(date));
    }
    if grid.dates.is_empty() && problems.is_empty() {
        let at = sheet.cell(*header_row, 1);
        problems.push(CellProblem::at(at, "the header names no date column"));
    }
    let leave_is_shift = directory.shift(LEAVE_CODE).is_some();

    // The agents' rows.
    let mut agent_rows: HashMap<AgentId, usize> = HashMap::new();
    for (row, cells) in rows {
        let login = cells.first().map(String::as_str).unwrap_or_default();
        let at = sheet.cell(*row, 0);
        let agent = if login.is_empty() {
            problems.push(CellProblem::at(at, "names no agent"));
            None
        } else {
            match directory.agent(login) {
                None => {
                    problems.push(CellProblem::at(
                        at,
                        format!("no staff member logs in as {login:?}"),
                    ));
                    None
                }
                Some(agent) => match agent_rows.insert(agent.id, *row) {
                    Some(first) => {
                        let reason = format!("the agent {login} already has row {first}");
                        problems.push(CellProblem::at(at, reason));
                        None
                    }
                    None => {
                        grid.agents.push(agent.id);
                        Some(agent.id)
                    }
                },
            }
        };
        for (column, text) in cells.iter().enumerate().skip(1) {
            if text.is_empty() {
                continue;
            }
            let at = sheet.cell(*row, column);
            let date = match columns.get(column - 1) {
                Some(Some(date)) => *date,
                Some(None) if header.get(column).is_some_and(|h| !h.is_empty()) => continue,
                _ => {
                    problems.push(CellProblem::at(at, format!("holds {text:?} under no date")));
                    continue;
                }
            };
            let codes: Vec<&str> = text.split(SHIFT_SEPARATOR).map(str::trim).collect();
            let mut cell_problem = |reason: String| {
                problems.push(CellProblem {
                    at: Some(at),
                    header: Some(date.to_string()),
                    reason,
                });
            };
            let mut placements = Vec::new();
            let mut leave = false;
            for code in &codes {
                if code.is_empty() {
                    cell_problem(format!("{text:?} has an empty shift code"));
                } else if *code == LEAVE_CODE && leave_is_shift {
                    cell_problem(format!(
                        "{LEAVE_CODE} is both the leave code and a shift template's name; \
                         rename the template"
                    ));
                } else if *code == LEAVE_CODE {
                    leave = true;
                } else {
                    match directory.shift(code) {
                        Some(shift) => placements.push(shift.id),
                        None => cell_problem(unknown_shift(code, directory)),
                    }
                }
            }
            if leave && !placements.is_empty() {
                cell_problem(format!("{text:?} puts leave and work on the same day"));
                continue;
            }
            // The rules take one new entry per agent and date in a request.
            if placements.len() > 1 {
                cell_problem(format!(
                    "{text:?} holds several shifts; a grid plans one shift per agent and date"
                ));
                continue;
            }
            let Some(agent) = agent else { continue };
            if leave {
                grid.leave.push((agent, date, at));
            }
            for shift in placements {
                grid.placements.push((Placement { agent, shift, date }, at));
            }
        }
    }
    (grid, problems)
}

fn unknown_shift(code: &str, directory: &Directory) -> String {
    let mut known: Vec<String> = directory
        .shifts
        .iter()
        .take(12)
        .map(|shift| shift.name.to_string())
        .collect();
    if directory.shifts.len() > known.len() {
        known.push("…".to_owned());
    }
    known.push(format!("{LEAVE_CODE} (leave)"));
    format!(
        "unknown shift code {code:?}; the codes are {}",
        known.join(", ")
    )
}

/// A file of logins, one per line; blank lines and `#` comments are skipped.
pub(crate) fn read_login_file(file: &PathBuf) -> Result<Vec<String>, Failure> {
    let bytes = std::fs::read(file).map_err(|error| unreadable(file, error))?;
    let text = String::from_utf8(bytes).map_err(|error| {
        Failure::input(format!(
            "{}: is not UTF-8 text (invalid byte at position {})",
            file.display(),
            error.utf8_error().valid_up_to() + 1
        ))
    })?;
    Ok(text
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn columns_are_named_as_spreadsheets_name_them() {
        let names: Vec<String> = [0, 1, 25, 26, 31, 701, 702].map(column_letters).to_vec();
        assert_eq!(names, ["A", "B", "Z", "AA", "AF", "ZZ", "AAA"]);
    }

    #[test]
    fn consecutive_leave_days_become_one_request_per_run() {
        let agent = AgentId::try_from(7).unwrap();
        let other = AgentId::try_from(9).unwrap();
        let at = CellRef { row: 2, column: 1 };
        let grid = Grid {
            leave: ["2027-01-05", "2027-01-03", "2027-01-04", "2027-01-09"]
                .iter()
                .map(|text| (agent, day(text), at))
                .chain([(other, day("2027-01-04"), at)])
                .collect(),
            ..Grid::default()
        };

        let runs: Vec<(AgentId, String)> = grid
            .leave_runs()
            .into_iter()
            .map(|(agent, dates)| (agent, format!("{}..{}", dates.first(), dates.last())))
            .collect();

        assert_eq!(
            runs,
            [
                (agent, "2027-01-03..2027-01-05".to_owned()),
                (agent, "2027-01-09..2027-01-09".to_owned()),
                (other, "2027-01-04..2027-01-04".to_owned()),
            ]
        );
    }
}
