//! Calendar files (RFC 5545): every worked entry as a timed event in UTC, every approved
//! leave as an all-day event. UIDs come from the ids, so importing the same file twice into
//! a calendar updates events instead of doubling them.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Days, Utc};
use shiftdesk_core::ids::AgentId;
use shiftdesk_core::leave::LeaveRequest;
use shiftdesk_core::schedule::ScheduleEntry;

use crate::failure::Failure;
use crate::session::Directory;

/// The longest line RFC 5545 allows, in octets, before it must be folded (§3.1).
const MAX_LINE_OCTETS: usize = 75;

/// Events grouped by agent.
pub(crate) struct Calendars {
    events: Vec<(AgentId, Vec<String>)>,
    stamp: String,
}

impl Calendars {
    /// The events of working `entries` and of approved `leave`.
    pub(crate) fn new(
        entries: &[ScheduleEntry],
        leave: &[LeaveRequest],
        directory: &Directory,
    ) -> Self {
        let stamp = utc(Utc::now());
        let mut events = Vec::new();
        for entry in entries.iter().filter(|entry| entry.is_working()) {
            let name = directory.agent_by_id(entry.agent).map_or_else(
                || directory.login(entry.agent),
                |a| a.display_name.to_string(),
            );
            let shift = directory.shift_name(entry.shift);
            let lines = vec![
                "BEGIN:VEVENT".to_owned(),
                format!("UID:entry-{}@shiftdesk", entry.id),
                format!("DTSTAMP:{stamp}"),
                format!("DTSTART:{}", utc(entry.span.start())),
                format!("DTEND:{}", utc(entry.span.end())),
                format!("SUMMARY:{}", text(&format!("{shift} – {name}"))),
                format!(
                    "DESCRIPTION:{}",
                    text(&format!("Shift {shift} on {}", entry.date))
                ),
                "END:VEVENT".to_owned(),
            ];
            events.push((entry.agent, lines));
        }
        for request in leave {
            let name = directory.agent_by_id(request.agent).map_or_else(
                || directory.login(request.agent),
                |a| a.display_name.to_string(),
            );
            let after = request
                .dates
                .last()
                .checked_add_days(Days::new(1))
                .unwrap_or(request.dates.last());
            let lines = vec![
                "BEGIN:VEVENT".to_owned(),
                format!("UID:leave-{}@shiftdesk", request.id),
                format!("DTSTAMP:{stamp}"),
                format!(
                    "DTSTART;VALUE=DATE:{}",
                    request.dates.first().format("%Y%m%d")
                ),
                format!("DTEND;VALUE=DATE:{}", after.format("%Y%m%d")),
                format!("SUMMARY:{}", text(&format!("Leave – {name}"))),
                "TRANSP:TRANSPARENT".to_owned(),
                "END:VEVENT".to_owned(),
            ];
            events.push((request.agent, lines));
        }
        Self { events, stamp }
    }

    /// One calendar holding everyone's events, on standard output.
    pub(crate) fn print_combined(&self) -> Result<(), Failure> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let all = self.events.iter().map(|(_, lines)| lines);
        out.write_all(calendar("Shiftdesk schedule", all).as_bytes())?;
        out.flush()?;
        Ok(())
    }

    /// One `LOGIN.ics` per agent in `folder` (created if missing); agents without events
    /// get an empty calendar, so a subscribed calendar empties too.
    pub(crate) fn write_per_agent(
        &self,
        folder: &Path,
        agents: &[AgentId],
        directory: &Directory,
    ) -> Result<(), Failure> {
        let cannot = |error: std::io::Error| {
            Failure::Other(format!("cannot write into {}: {error}", folder.display()))
        };
        std::fs::create_dir_all(folder).map_err(cannot)?;
        let mut by_agent: HashMap<AgentId, Vec<&Vec<String>>> = HashMap::new();
        for (agent, lines) in &self.events {
            by_agent.entry(*agent).or_default().push(lines);
        }
        for agent in agents {
            let login = directory.login(*agent);
            let events = by_agent.remove(agent).unwrap_or_default();
            let body = calendar(&format!("Shiftdesk: {login}"), events.into_iter());
            std::fs::write(folder.join(format!("{login}.ics")), body).map_err(cannot)?;
        }
        crate::render::say(format!(
            "wrote {} calendars into {} (stamped {})",
            agents.len(),
            folder.display(),
            self.stamp
        ))
    }
}

/// A whole calendar: the wrapper, the events, every line folded and ended by CRLF.
fn calendar<'a>(name: &str, events: impl Iterator<Item = &'a Vec<String>>) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Shiftdesk//Shiftdesk schedule//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        format!("X-WR-CALNAME:{}", text(name)),
    ];
    for event in events {
        lines.extend(event.iter().cloned());
    }
    lines.push("END:VCALENDAR".to_owned());
    let mut out = String::new();
    for line in lines {
        fold(&line, &mut out);
    }
    out
}

/// An instant in UTC form (§3.3.5, form #2).
fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A TEXT value with its special characters escaped (§3.3.11).
fn text(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\n' => escaped.push_str("\\n"),
            '\r' => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// Appends `line` folded into lines of at most 75 octets, continuation lines starting with
/// a space, never splitting a character (§3.1), each ended by CRLF.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let octets = c.len_utf8();
        if width + octets > MAX_LINE_OCTETS {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += octets;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let line = format!("SUMMARY:{}", "退".repeat(40));
        fold(&line, &mut out);
        for physical in out.split_terminator("\r\n") {
            assert!(
                physical.len() <= MAX_LINE_OCTETS,
                "{physical:?} is too long"
            );
        }
        let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
    }

    #[test]
    fn text_values_escape_commas_semicolons_and_line_breaks() {
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
