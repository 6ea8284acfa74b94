//! Conflict detection: whether agents can work the agent-days asked of them.
//!
//! [`Roster`] holds what the rules read about the agents a request touches (their working
//! entries, approved leave, skills) and answers, for a list of [`Placement`]s, every conflict
//! each one meets. It is exact: every collision is reported, by instant range rather than by
//! calendar date, and with the entry or leave it collides with.
//!
//! The rules, for one placement of agent A on shift S on date D:
//! - the same agent and date earlier in the same request makes it a duplicate (nothing else is
//!   checked for it);
//! - A must exist and be active; S must exist, and if it requires a skill, A must hold it;
//! - D must not lie in one of A's approved leaves (leave is by date: an overnight shift belongs
//!   to the date it starts);
//! - its span must not overlap any of A's working entries, nor any other placement of A in the
//!   same request; touching ends are fine;
//! - with a team minimum rest R, the time between it and each of those must be at least R.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, EntryId, LeaveId, ShiftId};
use crate::leave::LeaveRequest;
use crate::schedule::{Placement, ScheduleEntry};
use crate::shift::ShiftTemplate;
use crate::staff::Agent;
use crate::team::TeamSettings;
use crate::text::Skill;
use crate::time::{DateRange, Span};

/// One reason one requested agent-day cannot be worked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Conflict {
    /// The agent asked to work.
    pub agent: AgentId,
    /// The date asked for.
    pub date: NaiveDate,
    /// The shift asked for.
    pub shift: ShiftId,
    /// Why it cannot be worked.
    pub reason: ConflictReason,
}

/// Why a requested agent-day cannot be worked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ConflictReason {
    /// No staff member has this id.
    UnknownAgent,
    /// The staff member is deactivated.
    InactiveAgent,
    /// No shift template has this id.
    UnknownShift,
    /// The shift requires a skill the agent lacks.
    MissingSkill {
        /// The required skill.
        skill: Skill,
    },
    /// The same agent and date appear earlier in the same request.
    DuplicateInRequest,
    /// The date lies in an approved leave of the agent.
    OnLeave {
        /// The approved leave.
        leave: LeaveId,
    },
    /// The shift's time range overlaps other work of the agent.
    Overlap {
        /// What it overlaps.
        with: Collision,
    },
    /// The time between the shift and other work of the agent is under the team's minimum
    /// rest.
    RestTooShort {
        /// The work too close to it.
        with: Collision,
        /// The time between the two, in minutes.
        gap_minutes: i64,
        /// The team's minimum rest, in minutes.
        required_minutes: u32,
    },
}

/// Other work a requested agent-day collides with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Collision {
    /// An existing working entry.
    Entry {
        /// The entry.
        entry: EntryId,
        /// Its shift.
        shift: ShiftId,
        /// Its date.
        date: NaiveDate,
    },
    /// Another agent-day of the same request, for the same agent.
    Requested {
        /// Its shift.
        shift: ShiftId,
        /// Its date.
        date: NaiveDate,
    },
}

/// The result of checking placements: each one's span (when its shift is known) and every
/// conflict, tagged with the index of the placement it belongs to.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// `spans[i]` is the span of placement `i`, or `None` if its shift is unknown.
    pub spans: Vec<Option<Span>>,
    /// Every conflict, as (placement index, conflict), in placement order.
    pub conflicts: Vec<(usize, Conflict)>,
}

impl Checked {
    /// Whether placement `index` met no conflict.
    pub fn is_clear(&self, index: usize) -> bool {
        self.conflicts
            .binary_search_by_key(&index, |(at, _)| *at)
            .is_err()
    }

    /// The conflicts without their indexes.
    pub fn into_conflicts(self) -> Vec<Conflict> {
        self.conflicts
            .into_iter()
            .map(|(_, conflict)| conflict)
            .collect()
    }
}

/// Working time of one agent, sorted by start, for range lookups.
#[derive(Debug, Clone)]
struct Timeline<T> {
    items: Vec<(Span, T)>,
    /// The longest span held, which bounds how far back an overlapping item can start.
    longest: TimeDelta,
}

impl<T> Default for Timeline<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            longest: TimeDelta::zero(),
        }
    }
}

impl<T> Timeline<T> {
    fn push(&mut self, span: Span, item: T) {
        self.longest = self.longest.max(span.duration());
        self.items.push((span, item));
    }

    fn sort(&mut self) {
        self.items.sort_by_key(|(span, _)| span.start());
    }

    /// The items that start close enough to `span` to overlap it or come within `reach` of it.
    fn near(&self, span: Span, reach: TimeDelta) -> impl Iterator<Item = &(Span, T)> {
        let from = span.start() - reach - self.longest;
        let until = span.end() + reach;
        let first = self.items.partition_point(|(item, _)| item.start() < from);
        self.items[first..]
            .iter()
            .take_while(move |(item, _)| item.start() < until)
    }
}

/// What the rules read about the agents a request touches.
#[derive(Debug, Clone)]
pub struct Roster {
    team: TeamSettings,
    agents: HashMap<AgentId, Agent>,
    shifts: HashMap<ShiftId, ShiftTemplate>,
    working: HashMap<AgentId, Timeline<Collision>>,
    leaves: HashMap<AgentId, Vec<(DateRange, LeaveId)>>,
}

impl Roster {
    /// Gathers the state to check against.
    ///
    /// `entries` must hold every entry of the agents involved near the dates involved (see
    /// [`Roster::window`]); entries that are not working are ignored. `leaves` may hold leave
    /// requests in any state; only approved ones count.
    pub fn new<'a>(
        team: TeamSettings,
        agents: impl IntoIterator<Item = Agent>,
        shifts: impl IntoIterator<Item = ShiftTemplate>,
        entries: impl IntoIterator<Item = &'a ScheduleEntry>,
        leaves: impl IntoIterator<Item = &'a LeaveRequest>,
    ) -> Self {
        let mut working: HashMap<AgentId, Timeline<Collision>> = HashMap::new();
        for entry in entries.into_iter().filter(|entry| entry.is_working()) {
            let collision = Collision::Entry {
                entry: entry.id,
                shift: entry.shift,
                date: entry.date,
            };
            working
                .entry(entry.agent)
                .or_default()
                .push(entry.span, collision);
        }
        working.values_mut().for_each(Timeline::sort);

        let mut approved: HashMap<AgentId, Vec<(DateRange, LeaveId)>> = HashMap::new();
        for leave in leaves
            .into_iter()
            .filter(|leave| leave.status.is_approved())
        {
            approved
                .entry(leave.agent)
                .or_default()
                .push((leave.dates, leave.id));
        }

        Self {
            team,
            agents: agents.into_iter().map(|agent| (agent.id, agent)).collect(),
            shifts: shifts.into_iter().map(|shift| (shift.id, shift)).collect(),
            working,
            leaves: approved,
        }
    }

    /// The dates whose entries can collide with work on `dates`: a shift belongs to the date
    /// it starts and lasts under 26 hours, so neighbours one day out can overlap, and the
    /// minimum rest reaches further.
    pub fn window(dates: DateRange, team: &TeamSettings) -> DateRange {
        let rest_days = team
            .min_rest
            .map_or(0, |rest| u64::from(rest.minutes()).div_ceil(24 * 60));
        dates.widened(2 + rest_days)
    }

    /// The team settings the roster checks with.
    pub fn team(&self) -> &TeamSettings {
        &self.team
    }

    /// A staff member the roster knows.
    pub fn agent(&self, id: AgentId) -> Option<&Agent> {
        self.agents.get(&id)
    }

    /// A shift template the roster knows.
    pub fn shift(&self, id: ShiftId) -> Option<&ShiftTemplate> {
        self.shifts.get(&id)
    }

    /// Every conflict of `placements`, with existing work and with each other. Entries in
    /// `set_aside` are treated as if they were not there (an entry being moved, or one an
    /// agent gives away in the same step).
    pub fn check(&self, placements: &[Placement], set_aside: &[EntryId]) -> Checked {
        // A batch repeats few (shift, date) pairs across many agents, and turning wall-clock
        // times into instants is the costly part, so each pair is computed once.
        let mut known: HashMap<(ShiftId, NaiveDate), Option<Span>> = HashMap::new();
        let spans = placements
            .iter()
            .map(|placement| {
                *known
                    .entry((placement.shift, placement.date))
                    .or_insert_with(|| {
                        let shift = self.shifts.get(&placement.shift)?;
                        Some(shift.times.span_on(placement.date, self.team.time_zone))
                    })
            })
            .collect();
        self.check_spans(placements, spans, set_aside)
    }

    /// Like [`Roster::check`], for placements whose spans are already fixed (an existing
    /// entry changing hands keeps the span it was planned with).
    pub fn check_fixed(&self, placements: &[(Placement, Span)], set_aside: &[EntryId]) -> Checked {
        let (placements, spans): (Vec<Placement>, Vec<Option<Span>>) = placements
            .iter()
            .map(|(placement, span)| (*placement, Some(*span)))
            .unzip();
        self.check_spans(&placements, spans, set_aside)
    }

    /// Like [`Roster::check_fixed`], for existing entries that come back to the schedule
    /// together (the entries of a revoked leave). An agent may hold several entries on one
    /// date, so a second one on the same date is checked like the first instead of being
    /// set aside as a duplicate; the entries are still checked against each other.
    pub fn check_returning(&self, placements: &[(Placement, Span)]) -> Checked {
        let (placements, spans): (Vec<Placement>, Vec<Option<Span>>) = placements
            .iter()
            .map(|(placement, span)| (*placement, Some(*span)))
            .unzip();
        self.check_with(&placements, spans, &[], &HashSet::new())
    }

    fn check_spans(
        &self,
        placements: &[Placement],
        spans: Vec<Option<Span>>,
        set_aside: &[EntryId],
    ) -> Checked {
        let duplicates = find_duplicates(placements);
        self.check_with(placements, spans, set_aside, &duplicates)
    }

    /// Checks `placements`, treating those in `duplicates` as repeats within the request.
    fn check_with(
        &self,
        placements: &[Placement],
        spans: Vec<Option<Span>>,
        set_aside: &[EntryId],
        duplicates: &HashSet<usize>,
    ) -> Checked {
        let mut requested: HashMap<AgentId, Timeline<(usize, Collision)>> = HashMap::new();
        for (index, placement) in placements.iter().enumerate() {
            if let (Some(span), false) = (spans[index], duplicates.contains(&index))
                && self.agents.contains_key(&placement.agent)
            {
                let with = Collision::Requested {
                    shift: placement.shift,
                    date: placement.date,
                };
                requested
                    .entry(placement.agent)
                    .or_default()
                    .push(span, (index, with));
            }
        }
        requested.values_mut().for_each(Timeline::sort);

        let mut conflicts = Vec::new();
        for (index, placement) in placements.iter().enumerate() {
            let mut found = |reason| conflicts.push((index, conflict(placement, reason)));
            if duplicates.contains(&index) {
                found(ConflictReason::DuplicateInRequest);
                continue;
            }
            self.check_one(
                placement,
                index,
                spans[index],
                &requested,
                set_aside,
                &mut found,
            );
        }
        Checked { spans, conflicts }
    }

    fn check_one(
        &self,
        placement: &Placement,
        index: usize,
        span: Option<Span>,
        requested: &HashMap<AgentId, Timeline<(usize, Collision)>>,
        set_aside: &[EntryId],
        found: &mut impl FnMut(ConflictReason),
    ) {
        let agent = self.agents.get(&placement.agent);
        match agent {
            None => found(ConflictReason::UnknownAgent),
            Some(agent) if !agent.active => found(ConflictReason::InactiveAgent),
            Some(_) => {}
        }
        let Some(span) = span else {
            found(ConflictReason::UnknownShift);
            return;
        };
        let Some(agent) = agent else { return };
        let required = self
            .shifts
            .get(&placement.shift)
            .and_then(|s| s.required_skill.as_ref());
        if let Some(skill) = required.filter(|skill| !agent.has_skill(skill)) {
            found(ConflictReason::MissingSkill {
                skill: skill.clone(),
            });
        }

        for (dates, leave) in self.leaves.get(&agent.id).into_iter().flatten() {
            if dates.contains(placement.date) {
                found(ConflictReason::OnLeave { leave: *leave });
            }
        }

        let rest = self.team.min_rest.map(|rest| rest.duration());
        let reach = rest.unwrap_or_else(TimeDelta::zero);
        if let Some(timeline) = self.working.get(&agent.id) {
            for (other, with) in timeline.near(span, reach) {
                let Collision::Entry { entry, .. } = with else {
                    continue;
                };
                if !set_aside.contains(entry) {
                    self.collide(span, *other, *with, found);
                }
            }
        }
        if let Some(timeline) = requested.get(&agent.id) {
            for (other, (at, with)) in timeline.near(span, reach) {
                if *at != index {
                    self.collide(span, *other, *with, found);
                }
            }
        }
    }

    /// Reports `with` if `span` overlaps `other` or leaves too little rest before or after it.
    fn collide(
        &self,
        span: Span,
        other: Span,
        with: Collision,
        found: &mut impl FnMut(ConflictReason),
    ) {
        if span.overlaps(&other) {
            found(ConflictReason::Overlap { with });
        } else if let Some(rest) = self.team.min_rest {
            let gap = span.gap_to(&other);
            if gap < rest.duration() {
                found(ConflictReason::RestTooShort {
                    with,
                    gap_minutes: gap.num_minutes(),
                    required_minutes: rest.minutes(),
                });
            }
        }
    }
}

fn conflict(placement: &Placement, reason: ConflictReason) -> Conflict {
    Conflict {
        agent: placement.agent,
        date: placement.date,
        shift: placement.shift,
        reason,
    }
}

/// Indexes of placements whose agent and date appeared earlier in the list.
fn find_duplicates(placements: &[Placement]) -> HashSet<usize> {
    let mut seen = HashSet::with_capacity(placements.len());
    placements
        .iter()
        .enumerate()
        .filter(|(_, placement)| !seen.insert((placement.agent, placement.date)))
        .map(|(index, _)| index)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::NaiveTime;
    use proptest::prelude::*;

    use super::*;
    use crate::leave::{LeaveKind, LeaveStatus};
    use crate::schedule::{EntryOrigin, EntryStatus};
    use crate::shift::ShiftTimes;
    use crate::staff::{Actor, Role};
    use crate::team::MinRest;
    use crate::text::{DisplayName, Login, ShiftName};
    use crate::time::TimeZone;

    /// Day, late, night (needs the `night` skill) and a long overnight shift.
    const SHIFTS: [(&str, &str, Option<&str>); 4] = [
        ("08:00", "16:00", None),
        ("15:30", "23:30", None),
        ("22:00", "06:00", Some("night")),
        ("20:00", "10:00", None),
    ];
    const ZONES: [&str; 3] = ["UTC", "America/Chicago", "Europe/London"];

    fn id<T: TryFrom<i64>>(raw: i64) -> T {
        T::try_from(raw).ok().expect("test ids are positive")
    }

    /// Dates around the spring clock changes in Chicago (Mar 14) and London (Mar 28).
    fn day(offset: u8) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 3, 10).unwrap() + chrono::Days::new(u64::from(offset))
    }

    fn time(text: &str) -> NaiveTime {
        NaiveTime::parse_from_str(text, "%H:%M").unwrap()
    }

    /// Agents 1 to 4; even ones hold the night skill; agent 4 is inactive.
    fn agents() -> Vec<Agent> {
        (1..=4)
            .map(|n| Agent {
                id: id(n),
                login: Login::parse(&format!("agent{n}")).unwrap(),
                display_name: DisplayName::parse(&format!("Agent {n}")).unwrap(),
                role: Role::Agent,
                active: n != 4,
                skills: if n % 2 == 0 {
                    BTreeSet::from([Skill::parse("night").unwrap()])
                } else {
                    BTreeSet::new()
                },
                capacity: None,
            })
            .collect()
    }

    fn shifts() -> Vec<ShiftTemplate> {
        SHIFTS
            .iter()
            .zip(1..)
            .map(|((start, end, skill), n)| ShiftTemplate {
                id: id(n),
                name: ShiftName::parse(&format!("shift {n}")).unwrap(),
                times: ShiftTimes::new(time(start), time(end)).unwrap(),
                required_skill: skill.map(|skill| Skill::parse(skill).unwrap()),
            })
            .collect()
    }

    /// A requested agent-day; agent 5 and shift 5 do not exist.
    fn placement() -> impl Strategy<Value = Placement> {
        (1..=5i64, 1..=5i64, 0..20u8).prop_map(|(agent, shift, offset)| Placement {
            agent: id(agent),
            shift: id(shift),
            date: day(offset),
        })
    }

    #[derive(Debug, Clone)]
    struct Case {
        zone: usize,
        rest: Option<u32>,
        /// (agent, shift, date offset, working) of existing entries; they may overlap.
        existing: Vec<(i64, i64, u8, bool)>,
        /// (agent, first date offset, extra days); every third one is still pending.
        leaves: Vec<(i64, u8, u8)>,
        placements: Vec<Placement>,
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            0..ZONES.len(),
            prop::option::of(prop::sample::select(vec![60u32, 8 * 60, 11 * 60, 30 * 60])),
            prop::collection::vec((1..=4i64, 1..=4i64, 0..20u8, any::<bool>()), 0..25),
            prop::collection::vec((1..=4i64, 0..20u8, 0..4u8), 0..3),
            prop::collection::vec(placement(), 0..20),
        )
            .prop_map(|(zone, rest, existing, leaves, placements)| Case {
                zone,
                rest,
                existing,
                leaves,
                placements,
            })
    }

    fn build(case: &Case) -> (Roster, Vec<ScheduleEntry>, Vec<LeaveRequest>) {
        let team = TeamSettings {
            time_zone: TimeZone::parse(ZONES[case.zone]).unwrap(),
            min_rest: case
                .rest
                .map(|minutes| MinRest::from_minutes(minutes).unwrap()),
            ..TeamSettings::default()
        };
        let shifts = shifts();
        let entries: Vec<ScheduleEntry> = case
            .existing
            .iter()
            .zip(1..)
            .map(|(&(agent, shift, offset, working), n)| {
                let shift = &shifts[usize::try_from(shift - 1).unwrap()];
                ScheduleEntry {
                    id: id(n),
                    agent: id(agent),
                    shift: shift.id,
                    date: day(offset),
                    span: shift.times.span_on(day(offset), team.time_zone),
                    status: if working {
                        EntryStatus::Scheduled
                    } else {
                        EntryStatus::OnLeave { leave: id(99) }
                    },
                    origin: EntryOrigin::Assigned,
                }
            })
            .collect();
        let at = chrono::DateTime::UNIX_EPOCH;
        let leaves: Vec<LeaveRequest> = case
            .leaves
            .iter()
            .zip(1..)
            .map(|(&(agent, offset, length), n)| LeaveRequest {
                id: id(n),
                agent: id(agent),
                kind: LeaveKind::Annual,
                dates: DateRange::new(day(offset), day(offset + length)).unwrap(),
                reason: None,
                requested_by: Actor::System,
                requested_at: at,
                status: if n % 3 == 0 {
                    LeaveStatus::Pending
                } else {
                    LeaveStatus::Approved {
                        by: Actor::System,
                        at,
                    }
                },
            })
            .collect();
        let roster = Roster::new(team, agents(), shifts, &entries, &leaves);
        (roster, entries, leaves)
    }

    /// The rules of the module documentation, applied pair by pair, without any index.
    fn oracle(
        roster: &Roster,
        entries: &[ScheduleEntry],
        leaves: &[LeaveRequest],
        placements: &[Placement],
    ) -> Vec<(usize, Conflict)> {
        let team = roster.team();
        let span_of = |p: &Placement| {
            roster
                .shift(p.shift)
                .map(|shift| shift.times.span_on(p.date, team.time_zone))
        };
        let is_duplicate = |i: usize| {
            let key = (placements[i].agent, placements[i].date);
            placements[..i].iter().any(|q| (q.agent, q.date) == key)
        };
        let collide = |a: Span, b: Span, with: Collision| {
            if a.overlaps(&b) {
                return Some(ConflictReason::Overlap { with });
            }
            let rest = team.min_rest?;
            let gap = a.gap_to(&b);
            (gap < rest.duration()).then(|| ConflictReason::RestTooShort {
                with,
                gap_minutes: gap.num_minutes(),
                required_minutes: rest.minutes(),
            })
        };

        let mut found = Vec::new();
        for (i, p) in placements.iter().enumerate() {
            let mut push = |reason| found.push((i, conflict(p, reason)));
            if is_duplicate(i) {
                push(ConflictReason::DuplicateInRequest);
                continue;
            }
            let agent = roster.agent(p.agent);
            match agent {
                None => push(ConflictReason::UnknownAgent),
                Some(agent) if !agent.active => push(ConflictReason::InactiveAgent),
                Some(_) => {}
            }
            let Some(span) = span_of(p) else {
                push(ConflictReason::UnknownShift);
                continue;
            };
            let Some(agent) = agent else { continue };
            if let Some(skill) = &roster.shift(p.shift).unwrap().required_skill
                && !agent.has_skill(skill)
            {
                push(ConflictReason::MissingSkill {
                    skill: skill.clone(),
                });
            }
            for leave in leaves {
                let covers = leave.dates.contains(p.date);
                if leave.agent == p.agent && leave.status.is_approved() && covers {
                    push(ConflictReason::OnLeave { leave: leave.id });
                }
            }
            for entry in entries
                .iter()
                .filter(|e| e.agent == p.agent && e.is_working())
            {
                let with = Collision::Entry {
                    entry: entry.id,
                    shift: entry.shift,
                    date: entry.date,
                };
                if let Some(reason) = collide(span, entry.span, with) {
                    push(reason);
                }
            }
            for (j, q) in placements.iter().enumerate() {
                if j == i || q.agent != p.agent || is_duplicate(j) {
                    continue;
                }
                let Some(other) = span_of(q) else { continue };
                let with = Collision::Requested {
                    shift: q.shift,
                    date: q.date,
                };
                if let Some(reason) = collide(span, other, with) {
                    push(reason);
                }
            }
        }
        found
    }

    fn sorted(conflicts: &[(usize, Conflict)]) -> Vec<String> {
        let mut lines: Vec<String> = conflicts.iter().map(|c| format!("{c:?}")).collect();
        lines.sort();
        lines
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn reported_conflicts_equal_the_brute_force_oracle(case in case()) {
            let (roster, entries, leaves) = build(&case);
            let checked = roster.check(&case.placements, &[]);
            let expected = oracle(&roster, &entries, &leaves, &case.placements);
            prop_assert_eq!(sorted(&checked.conflicts), sorted(&expected));
            for (index, _) in &checked.conflicts {
                prop_assert!(!checked.is_clear(*index));
            }
        }
    }

    #[test]
    fn an_overnight_shift_collides_with_an_early_start_the_next_morning() {
        let mut shifts = shifts();
        shifts.push(ShiftTemplate {
            id: id(9),
            name: ShiftName::parse("early").unwrap(),
            times: ShiftTimes::new(time("05:00"), time("13:00")).unwrap(),
            required_skill: None,
        });
        let night = ScheduleEntry {
            id: id(1),
            agent: id(1),
            shift: id(3),
            date: day(4),
            span: shifts[2].times.span_on(day(4), TimeZone::UTC),
            status: EntryStatus::Scheduled,
            origin: EntryOrigin::Assigned,
        };
        let roster = Roster::new(TeamSettings::default(), agents(), shifts, [&night], []);

        let next_morning = Placement {
            agent: id(1),
            shift: id(9),
            date: day(5),
        };
        let conflicts = roster.check(&[next_morning], &[]).into_conflicts();

        let with = Collision::Entry {
            entry: id(1),
            shift: id(3),
            date: day(4),
        };
        assert_eq!(
            conflicts,
            vec![conflict(&next_morning, ConflictReason::Overlap { with })]
        );
    }

    #[test]
    fn set_aside_entries_do_not_collide() {
        let shifts = shifts();
        let day_shift = ScheduleEntry {
            id: id(1),
            agent: id(1),
            shift: id(1),
            date: day(0),
            span: shifts[0].times.span_on(day(0), TimeZone::UTC),
            status: EntryStatus::Scheduled,
            origin: EntryOrigin::Assigned,
        };
        let roster = Roster::new(TeamSettings::default(), agents(), shifts, [&day_shift], []);
        let same_again = Placement {
            agent: id(1),
            shift: id(1),
            date: day(0),
        };

        assert_eq!(roster.check(&[same_again], &[]).conflicts.len(), 1);
        assert!(roster.check(&[same_again], &[id(1)]).conflicts.is_empty());
    }
}
