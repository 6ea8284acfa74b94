//! Planning the schedule: batch assignment and the exact conflict rules, dry runs, moving and
//! removing entries.
//!
//! Unless a case sets a zone, the team plans in UTC, so local times and instants agree and
//! expected spans can be read off the shift times.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, TimeDelta, Weekday, WeekdaySet};
use shiftdesk_core::assign::BatchMode;
use shiftdesk_core::audit::Snapshot;
use shiftdesk_core::conflict::{Collision, ConflictReason};
use shiftdesk_core::error::{Resource, ScheduleError};
use shiftdesk_core::event::DomainEvent;
use shiftdesk_core::ids::{AgentId, EntryId, ShiftId};
use shiftdesk_core::leave::LeaveKind;
use shiftdesk_core::schedule::{EntryOrigin, EntryStatus};
use shiftdesk_core::service::{AssignOptions, AssignOutcome};
use shiftdesk_core::shift::ShiftTemplate;
use shiftdesk_core::store::Store;
use shiftdesk_core::text::Skill;

use crate::harness::{
    Harness, assert_same_items, at, batch, collision, conflict, date, dates, overlaps, placement,
    schedule_conflicts, written,
};

/// A night ending at 06:00 overlaps a shift starting at 05:00 the next morning, whichever was
/// planned first.
pub async fn an_overnight_shift_conflicts_with_the_next_mornings_shift(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let ana_night = h.assign_one(ana, &s.night, "2027-01-14").await;
    let bo_early = h.assign_one(bo, &s.early, "2027-01-15").await;
    let before = h.world().await;

    let morning_after = h
        .try_assign(vec![placement(ana, s.early.id, "2027-01-15")])
        .await;
    let night_before = h
        .try_assign(vec![placement(bo, s.night.id, "2027-01-14")])
        .await;

    let expected = conflict(ana, s.early.id, "2027-01-15", overlaps(&ana_night));
    assert_eq!(schedule_conflicts(morning_after), vec![expected]);
    let expected = conflict(bo, s.night.id, "2027-01-14", overlaps(&bo_early));
    assert_eq!(schedule_conflicts(night_before), vec![expected]);
    assert_eq!(
        h.world().await,
        before,
        "a refused assignment writes nothing"
    );
}

/// Shifts that touch (08–16 then 16–24, or a night ending 06:00 then a 06:00 start) do not
/// overlap: ranges are half-open.
pub async fn back_to_back_shifts_are_allowed(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let dawn = h.shift("dawn", "06:00", "14:00").await;
    let ana = h.agent("ana").await;

    let day = h.assign_one(ana, &s.day, "2027-01-18").await;
    let late = h.assign_one(ana, &s.late, "2027-01-18").await;
    let night = h.assign_one(ana, &s.night, "2027-01-20").await;
    let morning = h.assign_one(ana, &dawn, "2027-01-21").await;

    assert_eq!(day.span.end(), late.span.start());
    assert_eq!(late.span.end(), at("2027-01-19T00:00:00Z"));
    assert_eq!(night.span.end(), morning.span.start());
    assert_eq!(h.working_of(ana).await, vec![day, late, night, morning]);
}

/// 08–16 against 15:30–23:30: half an hour of overlap is an overlap.
pub async fn a_shift_starting_half_an_hour_before_another_ends_conflicts(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let swing = h.shift("swing", "15:30", "23:30").await;
    let ana = h.agent("ana").await;
    let day = h.assign_one(ana, &s.day, "2027-01-19").await;

    let refused = h
        .try_assign(vec![placement(ana, swing.id, "2027-01-19")])
        .await;

    let expected = conflict(ana, swing.id, "2027-01-19", overlaps(&day));
    assert_eq!(schedule_conflicts(refused), vec![expected]);
    assert_eq!(h.working_of(ana).await, vec![day]);
}

/// In America/Chicago the 22:00–06:00 night lasts 7 hours when clocks go forward and 9 when
/// they go back, always ending at 06:00 local; the stored spans say so, and conflicts use
/// them.
pub async fn dst_nights_in_chicago_last_seven_and_nine_hours_and_end_at_six_local(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    h.set_time_zone("America/Chicago").await;
    let s = h.standard_shifts().await;
    let dawn = h.shift("dawn", "06:00", "14:00").await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);

    // 22:00 CST (UTC-6) to 06:00 CDT (UTC-5); 22:00 CDT to 06:00 CST; 22:00 to 06:00 CDT.
    let nights = [
        (
            "2027-03-13",
            "2027-03-14T04:00:00Z",
            "2027-03-14T11:00:00Z",
            7,
        ),
        (
            "2027-11-06",
            "2027-11-07T03:00:00Z",
            "2027-11-07T12:00:00Z",
            9,
        ),
        (
            "2027-06-12",
            "2027-06-13T03:00:00Z",
            "2027-06-13T11:00:00Z",
            8,
        ),
    ];
    assert_nights(&h, ana, &s.night, &nights).await;

    // A 06:00 local start touches each DST night; 05:00 local overlaps the short one.
    h.assign_one(ana, &dawn, "2027-03-14").await;
    h.assign_one(ana, &dawn, "2027-11-07").await;
    let bo_night = h.assign_one(bo, &s.night, "2027-03-13").await;
    let refused = h
        .try_assign(vec![placement(bo, s.early.id, "2027-03-14")])
        .await;
    let expected = conflict(bo, s.early.id, "2027-03-14", overlaps(&bo_night));
    assert_eq!(schedule_conflicts(refused), vec![expected]);
}

/// In Europe/London the 22:00–06:00 night lasts 7 hours when clocks go forward and 9 when
/// they go back, always ending at 06:00 local.
pub async fn dst_nights_in_london_last_seven_and_nine_hours_and_end_at_six_local(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    h.set_time_zone("Europe/London").await;
    let s = h.standard_shifts().await;
    let dawn = h.shift("dawn", "06:00", "14:00").await;
    let ana = h.agent("ana").await;

    // 22:00 GMT to 06:00 BST; 22:00 BST to 06:00 GMT; 22:00 to 06:00 BST.
    let nights = [
        (
            "2027-03-27",
            "2027-03-27T22:00:00Z",
            "2027-03-28T05:00:00Z",
            7,
        ),
        (
            "2027-10-30",
            "2027-10-30T21:00:00Z",
            "2027-10-31T06:00:00Z",
            9,
        ),
        (
            "2027-06-12",
            "2027-06-12T21:00:00Z",
            "2027-06-13T05:00:00Z",
            8,
        ),
    ];
    assert_nights(&h, ana, &s.night, &nights).await;

    let spring_dawn = h.assign_one(ana, &dawn, "2027-03-28").await;
    assert_eq!(spring_dawn.span.start(), at("2027-03-28T05:00:00Z"));
    let autumn_dawn = h.assign_one(ana, &dawn, "2027-10-31").await;
    assert_eq!(autumn_dawn.span.start(), at("2027-10-31T06:00:00Z"));
}

/// Assigns `shift` to `agent` on each night's date and checks the span the store kept.
async fn assert_nights(
    h: &Harness,
    agent: AgentId,
    shift: &ShiftTemplate,
    nights: &[(&str, &str, &str, i64)],
) {
    for &(day, start, end, hours) in nights {
        let created = h.assign_one(agent, shift, day).await;
        let stored = h.entry(created.id).await;
        assert_eq!(stored, created, "the store keeps the entry as created");
        assert_eq!(stored.span.start(), at(start), "the night of {day} starts");
        assert_eq!(stored.span.end(), at(end), "the night of {day} ends");
        assert_eq!(stored.span.duration(), TimeDelta::hours(hours));
    }
}

/// A weekday 08–16 planned in July through November in Europe/London is 08–16 local on
/// every date: 07:00–15:00 UTC in summer time, 08:00–16:00 UTC after the clocks go back.
pub async fn a_recurring_day_shift_planned_in_july_is_still_eight_to_four_in_november(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    h.clock.set(at("2027-07-01T09:00:00Z"));
    h.set_time_zone("Europe/London").await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let mut weekdays = batch(&[ana], s.day.id, "2027-07-05", "2027-11-26");
    weekdays.weekdays = Some(WORKING_WEEK);

    let created = written(h.try_batch(&weekdays, BatchMode::AllOrNothing).await);

    let stored = h.working_of(ana).await;
    assert_eq!(stored, created);
    assert_eq!(stored.len(), 21 * 5, "21 working weeks");
    let clocks_go_back = date("2027-10-31");
    for entry in &stored {
        assert!(WORKING_WEEK.contains(entry.date.weekday()));
        let utc_start = if entry.date < clocks_go_back { 7 } else { 8 };
        let start = entry
            .date
            .and_hms_opt(utc_start, 0, 0)
            .expect("a valid time");
        assert_eq!(
            entry.span.start(),
            start.and_utc(),
            "{} starts 08:00",
            entry.date
        );
        assert_eq!(entry.span.duration(), TimeDelta::hours(8));
    }
    let november = stored
        .iter()
        .find(|entry| entry.date == date("2027-11-01"))
        .expect("Monday 1 November is planned");
    assert_eq!(november.span.start(), at("2027-11-01T08:00:00Z"));
    assert_eq!(november.span.end(), at("2027-11-01T16:00:00Z"));
}

const WORKING_WEEK: WeekdaySet = WeekdaySet::from_array([
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
]);

/// Fifty agents, three of whom cannot work the day shift on 2027-02-10, and five who nearly
/// cannot.
struct PlantedBatch {
    agents: Vec<AgentId>,
    day: ShiftTemplate,
    expected: Vec<shiftdesk_core::conflict::Conflict>,
}

async fn plant_three_conflicts(h: &Harness) -> PlantedBatch {
    let s = h.standard_shifts().await;
    let long_night = h.shift("long-night", "23:00", "09:00").await;
    let agents = h.agents("agent", 50).await;

    // The three conflicts: overlapping work that day, approved leave, and a night from the
    // day before that runs into the morning.
    let mid = h.assign_one(agents[6], &s.mid, "2027-02-10").await;
    let leave = h
        .approved_leave(agents[22], "2027-02-09", "2027-02-11")
        .await;
    let night = h.assign_one(agents[40], &long_night, "2027-02-09").await;

    // Near misses the rules must not report: touching shifts, a night that ends at 06:00,
    // a pending leave, work on the next day.
    h.assign_one(agents[11], &s.late, "2027-02-10").await;
    h.assign_one(agents[12], &s.night, "2027-02-09").await;
    h.request_leave(agents[29], LeaveKind::Annual, "2027-02-10", "2027-02-10")
        .await;
    h.assign_one(agents[44], &s.day, "2027-02-11").await;

    let day = "2027-02-10";
    let expected = vec![
        conflict(agents[6], s.day.id, day, overlaps(&mid)),
        conflict(
            agents[22],
            s.day.id,
            day,
            ConflictReason::OnLeave { leave: leave.id },
        ),
        conflict(agents[40], s.day.id, day, overlaps(&night)),
    ];
    PlantedBatch {
        agents,
        day: s.day,
        expected,
    }
}

/// All or nothing: a batch of fifty agents with three conflicts writes nothing and lists
/// exactly those three, each with the entry or leave it collides with.
pub async fn three_conflicts_among_fifty_agents_write_nothing_and_are_listed_exactly(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let planted = plant_three_conflicts(&h).await;
    let before = h.world().await;

    let all = batch(&planted.agents, planted.day.id, "2027-02-10", "2027-02-10");
    let refused = h.try_batch(&all, BatchMode::AllOrNothing).await;

    let conflicts = schedule_conflicts(refused);
    assert_eq!(conflicts.len(), 3, "{conflicts:#?}");
    assert_same_items(&conflicts, &planted.expected);
    assert_eq!(h.world().await, before, "nothing was written or announced");
}

/// Skip mode writes the 47 agent-days that are free and reports the 3 it skipped.
pub async fn skip_mode_writes_the_forty_seven_free_agents_and_reports_three_skipped(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let planted = plant_three_conflicts(&h).await;
    let day = planted.day.id;
    let before = h.schedule().await;
    let (audit_before, events_before) = (h.audit().await.len(), h.events.events().len());

    let all = batch(&planted.agents, day, "2027-02-10", "2027-02-10");
    let outcome = h.try_batch(&all, BatchMode::SkipConflicts).await;

    let Ok(AssignOutcome::Written { entries, skipped }) = outcome else {
        panic!("skip mode writes what it can, got {outcome:?}");
    };
    assert_same_items(&skipped, &planted.expected);
    let refused: BTreeSet<AgentId> = planted.expected.iter().map(|c| c.agent).collect();
    let free: Vec<AgentId> = planted
        .agents
        .iter()
        .copied()
        .filter(|agent| !refused.contains(agent))
        .collect();
    assert_eq!(free.len(), 47);
    let written: Vec<AgentId> = entries.iter().map(|entry| entry.agent).collect();
    assert_eq!(written, free, "entries come back in request order");
    for entry in &entries {
        assert_eq!((entry.shift, entry.date), (day, date("2027-02-10")));
        assert_eq!(entry.span.start(), at("2027-02-10T08:00:00Z"));
        assert_eq!(entry.span.end(), at("2027-02-10T16:00:00Z"));
        assert_eq!(entry.status, EntryStatus::Scheduled);
        assert_eq!(entry.origin, EntryOrigin::Assigned);
    }

    let after = h.schedule().await;
    let new: Vec<_> = after.iter().filter(|e| !before.contains(e)).collect();
    assert_eq!(new.len(), 47);
    assert!(new.iter().all(|entry| entries.contains(entry)));
    assert_eq!(after.len(), before.len() + 47, "nothing else changed");
    let record = h.one_new_audit_record(audit_before).await;
    let snapshot = record
        .change
        .after
        .expect("the created entries are recorded");
    assert_eq!(snapshot, Snapshot::assigned(&entries));
    assert_eq!(
        snapshot.entries(),
        entries,
        "the record gives back exactly the entries"
    );
    let mut agents = free;
    agents.sort_unstable();
    let announced = DomainEvent::ScheduleChanged {
        agents,
        dates: dates("2027-02-10", "2027-02-10"),
    };
    assert_eq!(h.events_since(events_before), vec![announced]);
}

/// A batch over two weeks on Monday, Wednesday and Friday writes those dates only, agent by
/// agent in request order.
pub async fn a_batch_on_chosen_weekdays_writes_only_those_dates(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let mut request = batch(&[bo, ana], s.day.id, "2027-03-01", "2027-03-14");
    request.weekdays = Some(WeekdaySet::from_array([
        Weekday::Mon,
        Weekday::Wed,
        Weekday::Fri,
    ]));

    let entries = written(h.try_batch(&request, BatchMode::AllOrNothing).await);

    let days = ["01", "03", "05", "08", "10", "12"];
    let expected: Vec<(AgentId, NaiveDate)> = [bo, ana]
        .into_iter()
        .flat_map(|agent| days.map(|day| (agent, date(&format!("2027-03-{day}")))))
        .collect();
    let got: Vec<_> = entries.iter().map(|e| (e.agent, e.date)).collect();
    assert_eq!(got, expected);
    assert_eq!(h.schedule().await.len(), 12);
}

/// With an 11-hour minimum rest, work closer than that to other work conflicts, before or
/// after it; exactly 11 hours is enough.
pub async fn min_rest_refuses_work_that_starts_too_soon_after_other_work(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    h.set_min_rest(11 * 60).await;
    let s = h.standard_shifts().await;
    let dawn = h.shift("dawn", "03:00", "11:00").await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let ana_day = h.assign_one(ana, &s.day, "2027-03-01").await;
    let bo_day = h.assign_one(bo, &s.day, "2027-03-10").await;

    let touching = h
        .try_assign(vec![placement(ana, s.late.id, "2027-03-01")])
        .await;
    let six_hours_after = h
        .try_assign(vec![placement(ana, s.night.id, "2027-03-01")])
        .await;
    let two_hours_before = h
        .try_assign(vec![placement(bo, s.night.id, "2027-03-09")])
        .await;

    let rest = |with, gap_minutes| ConflictReason::RestTooShort {
        with,
        gap_minutes,
        required_minutes: 660,
    };
    let expected = conflict(ana, s.late.id, "2027-03-01", rest(collision(&ana_day), 0));
    assert_eq!(schedule_conflicts(touching), vec![expected]);
    let expected = conflict(
        ana,
        s.night.id,
        "2027-03-01",
        rest(collision(&ana_day), 360),
    );
    assert_eq!(schedule_conflicts(six_hours_after), vec![expected]);
    let expected = conflict(bo, s.night.id, "2027-03-09", rest(collision(&bo_day), 120));
    assert_eq!(schedule_conflicts(two_hours_before), vec![expected]);

    // 16:00 to 03:00 the next day is exactly the minimum.
    let exact = h.assign_one(ana, &dawn, "2027-03-02").await;
    assert_eq!(
        exact.span.start() - ana_day.span.end(),
        TimeDelta::hours(11)
    );
}

/// The rest after a night runs from when it ends the next morning, not from midnight.
pub async fn min_rest_is_measured_from_the_end_of_a_night_shift(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    h.set_min_rest(11 * 60).await;
    let s = h.standard_shifts().await;
    let afternoon = h.shift("afternoon", "14:00", "22:00").await;
    let evening = h.shift("evening", "17:00", "01:00").await;
    let ana = h.agent("ana").await;
    let night = h.assign_one(ana, &s.night, "2027-03-02").await;

    let eight_hours_after = h
        .try_assign(vec![placement(ana, afternoon.id, "2027-03-03")])
        .await;

    let reason = ConflictReason::RestTooShort {
        with: collision(&night),
        gap_minutes: 480,
        required_minutes: 660,
    };
    let expected = conflict(ana, afternoon.id, "2027-03-03", reason);
    assert_eq!(schedule_conflicts(eight_hours_after), vec![expected]);
    let eleven_hours_after = h.assign_one(ana, &evening, "2027-03-03").await;
    assert_eq!(
        eleven_hours_after.span.start() - night.span.end(),
        TimeDelta::hours(11)
    );
}

/// Two agent-days of one request too close together both report the other.
pub async fn min_rest_applies_between_agent_days_of_one_request(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    h.set_min_rest(11 * 60).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let before = h.world().await;

    let refused = h
        .try_assign(vec![
            placement(ana, s.late.id, "2027-03-05"),
            placement(ana, s.early.id, "2027-03-06"),
        ])
        .await;

    // 00:00 to 05:00 is five hours of rest.
    let rest = |shift, day: &str| ConflictReason::RestTooShort {
        with: Collision::Requested {
            shift,
            date: date(day),
        },
        gap_minutes: 300,
        required_minutes: 660,
    };
    let expected = [
        conflict(ana, s.late.id, "2027-03-05", rest(s.early.id, "2027-03-06")),
        conflict(ana, s.early.id, "2027-03-06", rest(s.late.id, "2027-03-05")),
    ];
    assert_same_items(&schedule_conflicts(refused), &expected);
    assert_eq!(h.world().await, before);
}

/// A night and the next early shift asked for together overlap each other, and each is
/// reported against the other.
pub async fn overlapping_agent_days_of_one_request_conflict_with_each_other(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let before = h.world().await;

    let refused = h
        .try_assign(vec![
            placement(ana, s.night.id, "2027-03-05"),
            placement(ana, s.early.id, "2027-03-06"),
        ])
        .await;

    let requested = |shift, day: &str| ConflictReason::Overlap {
        with: Collision::Requested {
            shift,
            date: date(day),
        },
    };
    let expected = [
        conflict(
            ana,
            s.night.id,
            "2027-03-05",
            requested(s.early.id, "2027-03-06"),
        ),
        conflict(
            ana,
            s.early.id,
            "2027-03-06",
            requested(s.night.id, "2027-03-05"),
        ),
    ];
    assert_same_items(&schedule_conflicts(refused), &expected);
    assert_eq!(h.world().await, before);
}

/// Work on a date inside an approved leave conflicts, naming the leave; a pending leave
/// blocks nothing, and a night starting the day before belongs to that day.
pub async fn an_entry_inside_an_approved_leave_conflicts(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let leave = h.approved_leave(ana, "2027-04-05", "2027-04-07").await;
    h.request_leave(bo, LeaveKind::Annual, "2027-04-06", "2027-04-06")
        .await;

    let refused = h
        .try_batch(
            &batch(&[ana], s.day.id, "2027-04-04", "2027-04-08"),
            BatchMode::AllOrNothing,
        )
        .await;

    let on_leave = ConflictReason::OnLeave { leave: leave.id };
    let expected: Vec<_> = ["2027-04-05", "2027-04-06", "2027-04-07"]
        .into_iter()
        .map(|day| conflict(ana, s.day.id, day, on_leave.clone()))
        .collect();
    assert_same_items(&schedule_conflicts(refused), &expected);
    h.assign_one(ana, &s.night, "2027-04-04").await;
    h.assign_one(ana, &s.day, "2027-04-08").await;
    h.assign_one(bo, &s.day, "2027-04-06").await;
}

/// An agent id nobody has is a conflict, not an error.
pub async fn an_unknown_agent_is_a_conflict(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let nobody = AgentId::try_from(999_999).expect("a valid id");
    let before = h.world().await;

    let refused = h
        .try_assign(vec![placement(nobody, s.day.id, "2027-05-01")])
        .await;

    let expected = conflict(nobody, s.day.id, "2027-05-01", ConflictReason::UnknownAgent);
    assert_eq!(schedule_conflicts(refused), vec![expected]);
    assert_eq!(h.world().await, before);
}

/// A deactivated agent cannot be given new work.
pub async fn an_inactive_agent_is_a_conflict(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    h.deactivate(ana).await;
    let before = h.world().await;

    let refused = h
        .try_assign(vec![placement(ana, s.day.id, "2027-05-01")])
        .await;

    let expected = conflict(ana, s.day.id, "2027-05-01", ConflictReason::InactiveAgent);
    assert_eq!(schedule_conflicts(refused), vec![expected]);
    assert_eq!(h.world().await, before);
}

/// A shift id no template has is a conflict.
pub async fn an_unknown_shift_is_a_conflict(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let ana = h.agent("ana").await;
    let nothing = ShiftId::try_from(999_999).expect("a valid id");
    let before = h.world().await;

    let refused = h
        .try_assign(vec![placement(ana, nothing, "2027-05-01")])
        .await;

    let expected = conflict(ana, nothing, "2027-05-01", ConflictReason::UnknownShift);
    assert_eq!(schedule_conflicts(refused), vec![expected]);
    assert_eq!(h.world().await, before);
}

/// A shift that requires a skill refuses agents without it and takes agents with it.
pub async fn a_shift_needing_a_skill_the_agent_lacks_is_a_conflict(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let billing = h
        .shift_requiring("billing-day", "08:00", "16:00", "billing")
        .await;
    let ana = h.agent_with_skills("ana", &["zh"]).await;
    let bo = h.agent_with_skills("bo", &["billing", "zh"]).await;

    let refused = h
        .try_assign(vec![placement(ana, billing.id, "2027-05-01")])
        .await;

    let skill = Skill::parse("billing").expect("a valid skill");
    let expected = conflict(
        ana,
        billing.id,
        "2027-05-01",
        ConflictReason::MissingSkill { skill },
    );
    assert_eq!(schedule_conflicts(refused), vec![expected]);
    assert_eq!(h.schedule().await, vec![]);
    h.assign_one(bo, &billing, "2027-05-01").await;
}

/// The same agent and date twice in one request: the repeat is the conflict, reported alone.
pub async fn the_same_agent_twice_in_one_request_is_a_conflict(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let before = h.world().await;

    let listed_twice = h
        .try_batch(
            &batch(&[ana, bo, ana], s.day.id, "2027-05-03", "2027-05-04"),
            BatchMode::AllOrNothing,
        )
        .await;
    let two_shifts_one_day = h
        .try_assign(vec![
            placement(ana, s.day.id, "2027-05-06"),
            placement(ana, s.mid.id, "2027-05-06"),
        ])
        .await;

    let duplicate = ConflictReason::DuplicateInRequest;
    let expected = [
        conflict(ana, s.day.id, "2027-05-03", duplicate.clone()),
        conflict(ana, s.day.id, "2027-05-04", duplicate.clone()),
    ];
    assert_same_items(&schedule_conflicts(listed_twice), &expected);
    let expected = conflict(ana, s.mid.id, "2027-05-06", duplicate);
    assert_eq!(schedule_conflicts(two_shifts_one_day), vec![expected]);
    assert_eq!(h.world().await, before);
}

/// One agent-day that breaks four rules at once reports all four.
pub async fn an_assignment_reports_every_conflict_not_only_the_first(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let billing = h
        .shift_requiring("billing-day", "08:00", "16:00", "billing")
        .await;
    let long_night = h.shift("long-night", "23:00", "09:00").await;
    let ana = h.agent("ana").await;
    let night = h.assign_one(ana, &long_night, "2027-05-09").await;
    let leave = h.approved_leave(ana, "2027-05-10", "2027-05-10").await;
    h.deactivate(ana).await;

    let refused = h
        .try_assign(vec![placement(ana, billing.id, "2027-05-10")])
        .await;

    let skill = Skill::parse("billing").expect("a valid skill");
    let reasons = [
        ConflictReason::InactiveAgent,
        ConflictReason::MissingSkill { skill },
        ConflictReason::OnLeave { leave: leave.id },
        overlaps(&night),
    ];
    let expected: Vec<_> = reasons
        .into_iter()
        .map(|reason| conflict(ana, billing.id, "2027-05-10", reason))
        .collect();
    assert_same_items(&schedule_conflicts(refused), &expected);
}

/// A dry run returns the entries it would create, spans included, and writes, audits and
/// announces nothing; the real run then writes exactly those.
pub async fn a_dry_run_reports_what_it_would_write_and_writes_nothing(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let request = batch(&[ana, bo], s.day.id, "2027-06-01", "2027-06-02");
    let before = h.world().await;
    let dry = AssignOptions {
        mode: BatchMode::AllOrNothing,
        dry_run: true,
    };

    let planned = h.service.assign_batch(&h.admin(), &request, dry).await;

    let Ok(AssignOutcome::Planned { entries, skipped }) = planned else {
        panic!("a dry run plans, got {planned:?}");
    };
    assert!(skipped.is_empty());
    assert_eq!(h.world().await, before, "a dry run writes nothing");
    let real = written(h.try_batch(&request, BatchMode::AllOrNothing).await);
    let as_planned: Vec<_> = real
        .iter()
        .map(|e| (e.agent, e.shift, e.date, e.span, e.origin))
        .collect();
    let plan: Vec<_> = entries
        .iter()
        .map(|e| (e.agent, e.shift, e.date, e.span, e.origin))
        .collect();
    assert_eq!(plan, as_planned);
    assert_eq!(plan[0].3.start(), at("2027-06-01T08:00:00Z"));

    // A dry run that meets a conflict refuses like the real thing, and still writes nothing.
    let before = h.world().await;
    let refused = h.service.assign_batch(&h.admin(), &request, dry).await;
    assert_eq!(schedule_conflicts(refused).len(), 4);
    assert_eq!(h.world().await, before);
}

/// A dry run in skip mode lists what it would skip and writes nothing.
pub async fn a_dry_run_in_skip_mode_reports_the_skips_and_writes_nothing(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let mid = h.assign_one(ana, &s.mid, "2027-06-01").await;
    let before = h.world().await;
    let options = AssignOptions {
        mode: BatchMode::SkipConflicts,
        dry_run: true,
    };

    let request = batch(&[ana, bo], s.day.id, "2027-06-01", "2027-06-01");
    let planned = h.service.assign_batch(&h.admin(), &request, options).await;

    let Ok(AssignOutcome::Planned { entries, skipped }) = planned else {
        panic!("a dry run plans, got {planned:?}");
    };
    let expected = conflict(ana, s.day.id, "2027-06-01", overlaps(&mid));
    assert_eq!(skipped, vec![expected]);
    let agents: Vec<_> = entries.iter().map(|entry| entry.agent).collect();
    assert_eq!(agents, vec![bo]);
    assert_eq!(h.world().await, before);
}

/// Requests that make no sense (no agents, no dates left after the weekday filter, dates
/// outside the planning years, no placements) are refused as invalid input.
pub async fn malformed_batches_are_refused_before_anything_is_checked(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let before = h.world().await;
    let field_of = |outcome: Result<AssignOutcome, ScheduleError>| match outcome {
        Err(ScheduleError::Invalid(error)) => error.field.into_owned(),
        other => panic!("expected invalid input, got {other:?}"),
    };

    let nobody = batch(&[], s.day.id, "2027-06-01", "2027-06-01");
    let mut saturdays = batch(&[ana], s.day.id, "2027-03-01", "2027-03-02");
    saturdays.weekdays = Some(WeekdaySet::single(Weekday::Sat));
    let long_ago = batch(&[ana], s.day.id, "1999-06-01", "1999-06-01");
    let too_long = batch(&[ana], s.day.id, "2027-01-01", "2028-01-02");

    let mode = BatchMode::AllOrNothing;
    assert_eq!(field_of(h.try_batch(&nobody, mode).await), "agents");
    assert_eq!(field_of(h.try_batch(&saturdays, mode).await), "weekdays");
    assert_eq!(field_of(h.try_batch(&long_ago, mode).await), "dates");
    assert_eq!(field_of(h.try_batch(&too_long, mode).await), "dates");
    assert_eq!(field_of(h.try_assign(vec![]).await), "placements");
    assert_eq!(h.world().await, before);
}

/// A move keeps the entry's id and origin and gives it the new agent, shift, date and span;
/// the old slot is free again.
pub async fn moving_an_entry_keeps_its_id_and_takes_the_new_agent_date_and_span(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let entry = h.assign_one(ana, &s.day, "2027-05-03").await;

    let to = placement(bo, s.late.id, "2027-05-04");
    let moved = h
        .service
        .move_entry(&h.admin(), entry.id, to)
        .await
        .expect("the move is allowed");

    assert_eq!(moved.id, entry.id);
    assert_eq!(
        (moved.agent, moved.shift, moved.date),
        (bo, s.late.id, date("2027-05-04"))
    );
    assert_eq!(moved.span.start(), at("2027-05-04T16:00:00Z"));
    assert_eq!(moved.span.end(), at("2027-05-05T00:00:00Z"));
    assert_eq!(moved.status, EntryStatus::Scheduled);
    assert_eq!(moved.origin, EntryOrigin::Assigned);
    assert_eq!(h.entry(entry.id).await, moved);
    assert_eq!(h.schedule_of(ana).await, vec![]);
    assert_eq!(h.schedule_of(bo).await, vec![moved]);
    h.assign_one(ana, &s.day, "2027-05-03").await;
}

/// Moving an entry onto an agent who already works then is refused with the conflict, and
/// nothing changes.
pub async fn moving_an_entry_onto_other_work_is_refused_and_changes_nothing(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let entry = h.assign_one(ana, &s.day, "2027-05-03").await;
    let busy = h.assign_one(bo, &s.mid, "2027-05-03").await;
    let before = h.world().await;

    let refused = h
        .service
        .move_entry(&h.admin(), entry.id, placement(bo, s.day.id, "2027-05-03"))
        .await;

    let expected = conflict(bo, s.day.id, "2027-05-03", overlaps(&busy));
    assert_eq!(schedule_conflicts(refused), vec![expected]);
    assert_eq!(h.world().await, before);
}

/// Moving an entry a few hours later, overlapping where it was, does not collide with its
/// own old place.
pub async fn moving_an_entry_later_the_same_day_does_not_collide_with_itself(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let entry = h.assign_one(ana, &s.day, "2027-05-03").await;

    let moved = h
        .service
        .move_entry(&h.admin(), entry.id, placement(ana, s.mid.id, "2027-05-03"))
        .await
        .expect("an entry does not collide with itself");

    assert_eq!(moved.span.start(), at("2027-05-03T12:00:00Z"));
    assert_eq!(h.working_of(ana).await, vec![moved]);
}

/// Only scheduled entries move: an entry on leave is refused with its status.
pub async fn an_entry_that_is_not_scheduled_cannot_be_moved(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let entry = h.assign_one(ana, &s.day, "2027-05-03").await;
    let leave = h.approved_leave(ana, "2027-05-03", "2027-05-03").await;
    let before = h.world().await;

    let refused = h
        .service
        .move_entry(&h.admin(), entry.id, placement(ana, s.day.id, "2027-05-04"))
        .await;

    let on_leave = EntryStatus::OnLeave { leave: leave.id };
    assert!(
        matches!(
            refused,
            Err(ScheduleError::NotScheduled { entry: id, status })
                if id == entry.id && status == on_leave
        ),
        "{refused:?}"
    );
    assert_eq!(h.world().await, before);
}

/// Removing an entry deletes it, whatever its status, and frees its slot.
pub async fn removing_an_entry_frees_its_slot_and_records_what_it_was(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let entry = h.assign_one(ana, &s.day, "2027-05-03").await;
    let on_leave = h.assign_one(ana, &s.day, "2027-05-05").await;
    h.approved_leave(ana, "2027-05-05", "2027-05-05").await;

    h.service
        .remove_entry(&h.admin(), entry.id)
        .await
        .expect("the entry is removed");
    h.service
        .remove_entry(&h.admin(), on_leave.id)
        .await
        .expect("an entry on leave is removed too");

    let gone = h.service.entry(&h.admin(), entry.id).await;
    assert!(matches!(
        gone,
        Err(ScheduleError::NotFound(Resource::Entry(id))) if id == entry.id
    ));
    assert_eq!(h.schedule_of(ana).await, vec![]);
    h.assign_one(ana, &s.day, "2027-05-03").await;
}

/// An entry id that does not exist is not found, for moves and removals alike.
pub async fn moving_or_removing_an_unknown_entry_is_not_found(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let missing = EntryId::try_from(999_999).expect("a valid id");
    let before = h.world().await;

    let moved = h
        .service
        .move_entry(&h.admin(), missing, placement(ana, s.day.id, "2027-05-03"))
        .await;
    let removed = h.service.remove_entry(&h.admin(), missing).await;

    let not_found = |outcome: Result<(), ScheduleError>| {
        matches!(
            outcome,
            Err(ScheduleError::NotFound(Resource::Entry(id))) if id == missing
        )
    };
    assert!(not_found(moved.map(|_| ())), "moving an unknown entry");
    assert!(not_found(removed), "removing an unknown entry");
    assert_eq!(h.world().await, before);
}
