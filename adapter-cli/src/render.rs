//! Printing listings: aligned columns for a person, JSON for scripts, CSV for spreadsheets.

use std::io::Write;

use serde::Serialize;

use crate::failure::Failure;

/// Rows of text under a header, printed with columns aligned.
#[derive(Debug, Default)]
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub(crate) fn new<I: IntoIterator<Item = S>, S: Into<String>>(header: I) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Writes the table, columns padded to their widest cell (counted in characters).
    pub(crate) fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut widths: Vec<usize> = self
            .header
            .iter()
            .map(|cell| cell.chars().count())
            .collect();
        for row in &self.rows {
            for (at, cell) in row.iter().enumerate() {
                let width = cell.chars().count();
                match widths.get_mut(at) {
                    Some(known) => *known = (*known).max(width),
                    None => widths.push(width),
                }
            }
        }
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (at, cell) in row.iter().enumerate() {
                if at > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = widths.get(at).copied().unwrap_or(0) - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad));
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }

    /// Prints the table on standard output.
    pub(crate) fn print(&self) -> Result<(), Failure> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        self.write(&mut out)?;
        out.flush()?;
        Ok(())
    }
}

/// Prints `value` as pretty JSON on standard output.
pub(crate) fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    serde_json::to_writer_pretty(&mut out, value)
        .map_err(|error| Failure::Other(format!("cannot write JSON: {error}")))?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Prints a line on standard output.
pub(crate) fn say(line: impl std::fmt::Display) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{line}")?;
    Ok(())
}
