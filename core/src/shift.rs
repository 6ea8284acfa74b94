//! Shift templates: a named time of day that becomes a concrete span on each date.

use chrono::{Days, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::ids::ShiftId;
use crate::input::Problem;
use crate::text::{ShiftName, Skill};
use crate::time::{Span, TimeZone};

/// A shift's start and end time of day. An end at or before the start means the shift ends
/// the next day (22:00–06:00); an end equal to the start is refused as ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawShiftTimes")]
pub struct ShiftTimes {
    start: NaiveTime,
    end: NaiveTime,
}

#[derive(Deserialize)]
struct RawShiftTimes {
    start: NaiveTime,
    end: NaiveTime,
}

impl TryFrom<RawShiftTimes> for ShiftTimes {
    type Error = Problem;

    fn try_from(raw: RawShiftTimes) -> Result<Self, Problem> {
        ShiftTimes::new(raw.start, raw.end)
    }
}

impl ShiftTimes {
    /// A shift from `start` to `end` local time.
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, Problem> {
        if start == end {
            Err(Problem::ZeroLength)
        } else {
            Ok(Self { start, end })
        }
    }

    /// When the shift starts, local time.
    pub fn start(&self) -> NaiveTime {
        self.start
    }

    /// When the shift ends, local time.
    pub fn end(&self) -> NaiveTime {
        self.end
    }

    /// Whether the shift ends on the day after it starts.
    pub fn is_overnight(&self) -> bool {
        self.end < self.start
    }

    /// The instants the shift covers when worked on `date` in `zone`.
    ///
    /// Computed from the wall clock on that very date, so a night across a clock change lasts
    /// an hour more or less, and an 08:00–16:00 shift stays 08:00–16:00 local all year.
    pub fn span_on(&self, date: NaiveDate, zone: TimeZone) -> Span {
        let end_date = if self.is_overnight() {
            date.checked_add_days(Days::new(1)).unwrap_or(date)
        } else {
            date
        };
        let start = zone.instant(date.and_time(self.start));
        let end = zone.instant(end_date.and_time(self.end));
        if end > start {
            return Span::from_ordered(start, end);
        }
        // Only a short shift inside one skipped hour (02:30–03:15 on the night clocks jump
        // from 02:00 to 03:00) maps to reversed instants; it keeps its nominal length.
        let nominal = end_date.and_time(self.end) - date.and_time(self.start);
        Span::from_ordered(start, start + nominal)
    }
}

/// A shift the team works, such as "early" 06:00–14:00 or "night" 22:00–06:00.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftTemplate {
    /// Assigned by the store.
    pub id: ShiftId,
    /// Unique in the team; the code admins type in grids.
    pub name: ShiftName,
    /// Local start and end.
    pub times: ShiftTimes,
    /// A skill every agent on this shift must hold.
    pub required_skill: Option<Skill>,
}

/// A shift template to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewShift {
    /// Unique in the team.
    pub name: ShiftName,
    /// Local start and end.
    pub times: ShiftTimes,
    /// A skill every agent on this shift must hold.
    pub required_skill: Option<Skill>,
}

/// Changes to a shift template. Its times are fixed once created: entries already planned keep
/// the span they were planned with, and a template whose times changed would no longer describe
/// them. Create a new template instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftUpdate {
    /// A new unique name.
    pub name: Option<ShiftName>,
    /// A new skill requirement: `Some(None)` removes it.
    pub required_skill: Option<Option<Skill>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(text: &str) -> NaiveTime {
        NaiveTime::parse_from_str(text, "%H:%M").unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn hours(span: Span) -> f64 {
        span.duration().num_minutes() as f64 / 60.0
    }

    #[test]
    fn equal_start_and_end_is_refused() {
        assert_eq!(
            ShiftTimes::new(time("08:00"), time("08:00")),
            Err(Problem::ZeroLength)
        );
    }

    #[test]
    fn a_night_shift_ends_the_next_morning() {
        let night = ShiftTimes::new(time("22:00"), time("06:00")).unwrap();
        let span = night.span_on(
            date("2027-01-14"),
            TimeZone::parse("Asia/Shanghai").unwrap(),
        );
        assert_eq!(span.start().to_rfc3339(), "2027-01-14T14:00:00+00:00");
        assert_eq!(span.end().to_rfc3339(), "2027-01-14T22:00:00+00:00");
        assert!(night.is_overnight());
    }

    #[test]
    fn nights_across_clock_changes_last_seven_or_nine_hours() {
        let night = ShiftTimes::new(time("22:00"), time("06:00")).unwrap();
        let chicago = TimeZone::parse("America/Chicago").unwrap();
        let london = TimeZone::parse("Europe/London").unwrap();
        assert_eq!(hours(night.span_on(date("2027-03-13"), chicago)), 7.0);
        assert_eq!(hours(night.span_on(date("2027-11-06"), chicago)), 9.0);
        assert_eq!(hours(night.span_on(date("2027-03-27"), london)), 7.0);
        assert_eq!(hours(night.span_on(date("2027-10-30"), london)), 9.0);
        assert_eq!(hours(night.span_on(date("2027-06-12"), london)), 8.0);
    }
}
