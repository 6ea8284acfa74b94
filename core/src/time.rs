//! Time: instant ranges, date ranges, the team's time zone and the clock.
//!
//! Schedules are planned in local dates and times of day, but conflicts are decided on instants:
//! a shift becomes a [`Span`] of UTC instants through the team's [`TimeZone`], so a night that
//! crosses midnight or a clock change is compared by how long it really lasts.

use std::fmt;
use std::sync::Mutex;

use chrono::{
    DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, Offset, SubsecRound, TimeDelta,
    TimeZone as _, Utc,
};
use serde::{Deserialize, Serialize};

use crate::input::Problem;

/// A half-open range of instants `[start, end)` that is never empty.
///
/// Half-open, so a shift ending at 16:00 and one starting at 16:00 touch without overlapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawSpan")]
pub struct Span {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Deserialize)]
struct RawSpan {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TryFrom<RawSpan> for Span {
    type Error = Problem;

    fn try_from(raw: RawSpan) -> Result<Self, Problem> {
        Span::new(raw.start, raw.end)
    }
}

impl Span {
    /// The range from `start` up to, not including, `end`; `end` must come after `start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, Problem> {
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(Problem::Reversed)
        }
    }

    /// A span from bounds the caller has already ordered.
    pub(crate) fn from_ordered(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        debug_assert!(start < end, "span bounds out of order");
        Self { start, end }
    }

    /// The first instant in the range.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The first instant after the range.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// How long the range lasts.
    pub fn duration(&self) -> TimeDelta {
        self.end - self.start
    }

    /// Whether the two ranges share at least one instant.
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Whether `instant` lies in the range.
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.start <= instant && instant < self.end
    }

    /// The time between two ranges that do not overlap; zero when they touch or overlap.
    pub fn gap_to(&self, other: &Span) -> TimeDelta {
        let after = other.start - self.end;
        let before = self.start - other.end;
        after.max(before).max(TimeDelta::zero())
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.start.to_rfc3339(), self.end.to_rfc3339())
    }
}

/// An inclusive range of calendar dates, `first..=last`, never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawDateRange")]
pub struct DateRange {
    first: NaiveDate,
    last: NaiveDate,
}

#[derive(Deserialize)]
struct RawDateRange {
    first: NaiveDate,
    last: NaiveDate,
}

impl TryFrom<RawDateRange> for DateRange {
    type Error = Problem;

    fn try_from(raw: RawDateRange) -> Result<Self, Problem> {
        DateRange::new(raw.first, raw.last)
    }
}

impl DateRange {
    /// The dates from `first` through `last`; `last` may equal `first` but not precede it.
    pub fn new(first: NaiveDate, last: NaiveDate) -> Result<Self, Problem> {
        if first <= last {
            Ok(Self { first, last })
        } else {
            Err(Problem::Reversed)
        }
    }

    /// The range holding the one date.
    pub fn single(date: NaiveDate) -> Self {
        Self {
            first: date,
            last: date,
        }
    }

    /// The first date in the range.
    pub fn first(&self) -> NaiveDate {
        self.first
    }

    /// The last date in the range, included.
    pub fn last(&self) -> NaiveDate {
        self.last
    }

    /// How many dates the range holds (at least one).
    pub fn len(&self) -> u32 {
        let days = (self.last - self.first).num_days() + 1;
        u32::try_from(days).unwrap_or(u32::MAX)
    }

    /// Always false: a range holds at least one date. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `date` lies in the range.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.first <= date && date <= self.last
    }

    /// Whether the two ranges share a date.
    pub fn overlaps(&self, other: &DateRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }

    /// The range grown by `days` on each side, saturating at the calendar's ends.
    pub fn widened(&self, days: u64) -> DateRange {
        let first = self
            .first
            .checked_sub_days(Days::new(days))
            .unwrap_or(NaiveDate::MIN);
        let last = self
            .last
            .checked_add_days(Days::new(days))
            .unwrap_or(NaiveDate::MAX);
        DateRange { first, last }
    }

    /// The smallest range holding both.
    pub fn union(&self, other: &DateRange) -> DateRange {
        DateRange {
            first: self.first.min(other.first),
            last: self.last.max(other.last),
        }
    }

    /// The dates in order.
    pub fn iter(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let last = self.last;
        self.first.iter_days().take_while(move |date| *date <= last)
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

/// The IANA time zone the team plans in, e.g. `Asia/Shanghai`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// Coordinated Universal Time.
    pub const UTC: TimeZone = TimeZone(chrono_tz::UTC);

    /// Parses an IANA zone name such as `America/Chicago`.
    pub fn parse(name: &str) -> Result<Self, Problem> {
        name.trim()
            .parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| Problem::UnknownTimeZone(name.to_owned()))
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The instant a local wall-clock time stands for in this zone.
    ///
    /// Around clock changes a wall-clock time can be ambiguous or missing. A time that occurs
    /// twice (clocks going back) means its first occurrence; a time skipped by clocks going
    /// forward is moved forward by the length of the gap, so 02:30 on a night that jumps from
    /// 02:00 to 03:00 means 03:30.
    pub fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
            LocalResult::None => self.instant_in_gap(local),
        }
    }

    /// Reads a skipped wall-clock time with the offset in force just before the gap.
    fn instant_in_gap(&self, local: NaiveDateTime) -> DateTime<Utc> {
        // Gaps last an hour or so; the widest on record (a skipped calendar day) is 24 hours.
        for hours_back in 1..=48 {
            let probe = local - TimeDelta::hours(hours_back);
            if let LocalResult::Single(before) = self.0.from_local_datetime(&probe) {
                let offset = before.offset().fix();
                return (local - offset).and_utc();
            }
        }
        local.and_utc()
    }

    /// The wall-clock time of an instant in this zone.
    pub fn local(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        instant.with_timezone(&self.0).naive_local()
    }

    /// The local date of an instant in this zone.
    pub fn date_of(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.0).date_naive()
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self::UTC
    }
}

impl TryFrom<String> for TimeZone {
    type Error = Problem;

    fn try_from(name: String) -> Result<Self, Problem> {
        Self::parse(&name)
    }
}

impl From<TimeZone> for String {
    fn from(zone: TimeZone) -> String {
        zone.name().to_owned()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where `core` learns the current instant; injected so tests can set it.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock, to the microsecond: the precision every store keeps, so an
/// instant answered when something is written equals the one read back later.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock that stands still until told otherwise, for tests and demos.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(now))
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: DateTime<Utc>) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = now;
    }

    /// Moves the clock forward by `step`.
    pub fn advance(&self, step: TimeDelta) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += step;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_reads_whole_microseconds() {
        let readings: Vec<u32> = (0..20)
            .map(|_| SystemClock.now().timestamp_subsec_nanos())
            .collect();
        assert!(
            readings.iter().all(|nanos| nanos % 1000 == 0),
            "{readings:?}"
        );
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn touching_spans_do_not_overlap() {
        let morning = Span::new(at("2027-01-04T08:00:00Z"), at("2027-01-04T16:00:00Z")).unwrap();
        let evening = Span::new(at("2027-01-04T16:00:00Z"), at("2027-01-05T00:00:00Z")).unwrap();
        assert!(!morning.overlaps(&evening));
        assert_eq!(morning.gap_to(&evening), TimeDelta::zero());
        assert!(Span::new(morning.end(), morning.start()).is_err());
    }

    #[test]
    fn gap_is_measured_in_either_order() {
        let a = Span::new(at("2027-01-04T08:00:00Z"), at("2027-01-04T16:00:00Z")).unwrap();
        let b = Span::new(at("2027-01-04T20:00:00Z"), at("2027-01-05T04:00:00Z")).unwrap();
        assert_eq!(a.gap_to(&b), TimeDelta::hours(4));
        assert_eq!(b.gap_to(&a), TimeDelta::hours(4));
    }

    #[test]
    fn a_skipped_local_time_moves_forward_by_the_gap() {
        let chicago = TimeZone::parse("America/Chicago").unwrap();
        // 2027-03-14 02:30 does not exist in Chicago: clocks jump from 02:00 CST to 03:00 CDT.
        assert_eq!(
            chicago.instant(local("2027-03-14 02:30")),
            at("2027-03-14T08:30:00Z")
        );
    }

    #[test]
    fn a_repeated_local_time_means_its_first_occurrence() {
        let chicago = TimeZone::parse("America/Chicago").unwrap();
        // 2027-11-07 01:30 happens twice; the first is still daylight time (UTC-5).
        assert_eq!(
            chicago.instant(local("2027-11-07 01:30")),
            at("2027-11-07T06:30:00Z")
        );
    }

    #[test]
    fn unknown_zone_names_are_refused() {
        assert!(matches!(
            TimeZone::parse("Mars/Olympus"),
            Err(Problem::UnknownTimeZone(_))
        ));
        assert_eq!(
            TimeZone::parse("Asia/Shanghai").unwrap().name(),
            "Asia/Shanghai"
        );
    }

    #[test]
    fn date_ranges_iterate_inclusively() {
        let first = NaiveDate::from_ymd_opt(2027, 1, 30).unwrap();
        let last = NaiveDate::from_ymd_opt(2027, 2, 2).unwrap();
        let range = DateRange::new(first, last).unwrap();
        assert_eq!(range.len(), 4);
        assert_eq!(range.iter().count(), 4);
        assert!(DateRange::new(last, first).is_err());
    }
}
