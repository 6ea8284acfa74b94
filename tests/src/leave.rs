//! Leave requests: what approval and revocation do to the schedule, the state machine, the
//! overlap and allowance rules, and who may see and decide what.

use std::sync::Arc;

use shiftdesk_core::error::{LeaveError, Resource};
use shiftdesk_core::ids::{AgentId, LeaveId};
use shiftdesk_core::leave::{
    LeaveAction, LeaveApplication, LeaveKind, LeaveRefusal, LeaveRequest, LeaveState, LeaveStatus,
    UncoveredShift,
};
use shiftdesk_core::schedule::{EntryOrigin, EntryStatus, ScheduleEntry};
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::store::{LeaveQuery, Store};
use shiftdesk_core::swap::SwapKind;
use shiftdesk_core::text::Note;

use crate::harness::{
    Harness, at, by_id, conflict, date, dates, leave_refusal, overlaps, placement,
    schedule_conflicts,
};

/// The refusal for doing `action` to a request that is `from`.
fn invalid(from: LeaveState, action: LeaveAction) -> LeaveRefusal {
    LeaveRefusal::InvalidTransition { from, action }
}

/// Runs every leave action on `leave` and asserts each is refused as an invalid transition
/// from `state`, except those in `allowed`; nothing changes.
async fn assert_only_allowed(
    h: &Harness,
    leave: &LeaveRequest,
    state: LeaveState,
    allowed: &[LeaveAction],
) {
    let before = h.world().await;
    let requester = h.as_agent(leave.agent);
    let id = leave.id;
    for action in [
        LeaveAction::Approve,
        LeaveAction::Reject,
        LeaveAction::Cancel,
        LeaveAction::Revoke,
    ] {
        if allowed.contains(&action) {
            continue;
        }
        let refusal = match action {
            LeaveAction::Approve => leave_refusal(h.service.approve_leave(&h.admin(), id).await),
            LeaveAction::Reject => {
                leave_refusal(h.service.reject_leave(&h.admin(), id, None).await)
            }
            LeaveAction::Cancel => leave_refusal(h.service.cancel_leave(&requester, id).await),
            LeaveAction::Revoke => {
                leave_refusal(h.service.revoke_leave(&h.admin(), id, None).await)
            }
        };
        assert_eq!(refusal, invalid(state, action));
    }
    assert_eq!(
        h.world().await,
        before,
        "refused transitions change nothing"
    );
}

fn admin_actor(h: &Harness) -> Actor {
    Actor::admin(h.admin.id)
}

fn note(text: &str) -> Note {
    Note::parse(text).expect("a valid note")
}

fn on_leave(entry: &ScheduleEntry, leave: LeaveId) -> ScheduleEntry {
    ScheduleEntry {
        status: EntryStatus::OnLeave { leave },
        ..entry.clone()
    }
}

fn uncovered(entry: &ScheduleEntry, covering_for: Option<AgentId>) -> UncoveredShift {
    UncoveredShift {
        entry: entry.id,
        agent: entry.agent,
        shift: entry.shift,
        date: entry.date,
        span: entry.span,
        covering_for,
    }
}

/// Approval turns every working entry of the agent on the leave's dates to on-leave, in one
/// step, and lists them as uncovered; entries on other dates and colleagues' entries stay.
pub async fn approving_a_leave_puts_the_agents_work_on_leave_and_reports_the_gaps(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let day = h.assign_one(ana, &s.day, "2027-06-01").await;
    let night = h.assign_one(ana, &s.night, "2027-06-02").await;
    let later = h.assign_one(ana, &s.day, "2027-06-03").await;
    let colleague = h.assign_one(bo, &s.day, "2027-06-01").await;
    let leave = h
        .request_leave(ana, LeaveKind::Annual, "2027-06-01", "2027-06-02")
        .await;
    h.clock.set(at("2027-05-20T09:00:00Z"));

    let change = h
        .service
        .approve_leave(&h.admin(), leave.id)
        .await
        .expect("the leave is approved");

    let approved = LeaveStatus::Approved {
        by: admin_actor(&h),
        at: at("2027-05-20T09:00:00Z"),
    };
    assert_eq!(change.leave.status, approved);
    let away = vec![on_leave(&day, leave.id), on_leave(&night, leave.id)];
    assert_eq!(by_id(change.entries.clone()), away);
    let mut gaps = change.uncovered.clone();
    gaps.sort_by_key(|gap| gap.entry);
    assert_eq!(gaps, vec![uncovered(&day, None), uncovered(&night, None)]);

    let mut expected = away;
    expected.push(later);
    assert_eq!(h.schedule_of(ana).await, expected);
    assert_eq!(h.schedule_of(bo).await, vec![colleague]);
    let stored = h.service.leave(&h.admin(), leave.id).await;
    assert_eq!(stored.expect("the leave is readable"), change.leave);
}

/// An agent who took a colleague's shift by swap and then goes on leave leaves that shift
/// uncovered; the gap names the colleague it was covering for.
pub async fn leave_over_a_swapped_in_entry_puts_it_on_leave_and_names_whom_it_covered(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let given = h.assign_one(ana, &s.day, "2027-06-10").await;
    let swap = h.approved_swap(&given, bo, SwapKind::Cover).await;
    let taken = h.working_of(bo).await.pop().expect("bo covers ana's shift");
    assert_eq!(
        taken.origin,
        EntryOrigin::Swap {
            covers: ana,
            swap: swap.id
        }
    );
    let leave = h
        .request_leave(bo, LeaveKind::Sick, "2027-06-10", "2027-06-10")
        .await;

    let change = h
        .service
        .approve_leave(&h.admin(), leave.id)
        .await
        .expect("the leave is approved");

    assert_eq!(change.uncovered, vec![uncovered(&taken, Some(ana))]);
    assert_eq!(change.entries, vec![on_leave(&taken, leave.id)]);
    assert_eq!(h.entry(taken.id).await, on_leave(&taken, leave.id));
    let swapped_out = EntryStatus::SwappedOut {
        to: bo,
        swap: swap.id,
    };
    assert_eq!(h.entry(given.id).await.status, swapped_out);
    assert_eq!(h.working_of(ana).await, vec![]);
    assert_eq!(h.working_of(bo).await, vec![]);
}

/// An admin rejects a pending leave with a note; a rejected leave cannot be approved,
/// rejected, cancelled or revoked.
pub async fn a_pending_leave_can_be_rejected_and_is_then_final(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let day = h.assign_one(ana, &s.day, "2027-06-14").await;
    let leave = h
        .request_leave(ana, LeaveKind::Annual, "2027-06-14", "2027-06-14")
        .await;
    h.clock.set(at("2027-01-02T10:00:00Z"));

    let rejected = h
        .service
        .reject_leave(&h.admin(), leave.id, Some(note("short-staffed")))
        .await
        .expect("the leave is rejected");

    let status = LeaveStatus::Rejected {
        by: admin_actor(&h),
        at: at("2027-01-02T10:00:00Z"),
        note: Some(note("short-staffed")),
    };
    assert_eq!(rejected.status, status);
    assert_eq!(h.schedule_of(ana).await, vec![day], "the work stays");
    assert_only_allowed(&h, &rejected, LeaveState::Rejected, &[]).await;
}

/// The requester withdraws a pending leave; a cancelled leave is final.
pub async fn a_requester_can_cancel_a_pending_leave_and_it_is_then_final(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let ana = h.agent("ana").await;
    let leave = h
        .request_leave(ana, LeaveKind::Personal, "2027-06-14", "2027-06-15")
        .await;
    h.clock.set(at("2027-01-03T08:00:00Z"));

    let cancelled = h
        .service
        .cancel_leave(&h.as_agent(ana), leave.id)
        .await
        .expect("the requester cancels");

    let status = LeaveStatus::Cancelled {
        at: at("2027-01-03T08:00:00Z"),
    };
    assert_eq!(cancelled.status, status);
    assert_only_allowed(&h, &cancelled, LeaveState::Cancelled, &[]).await;
}

/// An approved leave cannot be approved again, rejected or cancelled; an admin can revoke
/// it, once.
pub async fn an_approved_leave_can_only_be_revoked(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let ana = h.agent("ana").await;
    let leave = h.approved_leave(ana, "2027-06-14", "2027-06-15").await;
    assert_only_allowed(&h, &leave, LeaveState::Approved, &[LeaveAction::Revoke]).await;
    h.clock.set(at("2027-01-04T08:00:00Z"));

    let revoked = h
        .service
        .revoke_leave(&h.admin(), leave.id, Some(note("needed on the phones")))
        .await
        .expect("the admin revokes")
        .leave;

    let status = LeaveStatus::Revoked {
        by: admin_actor(&h),
        at: at("2027-01-04T08:00:00Z"),
        note: Some(note("needed on the phones")),
    };
    assert_eq!(revoked.status, status);
    assert_only_allowed(&h, &revoked, LeaveState::Revoked, &[]).await;
}

/// Revocation applies only to granted leave.
pub async fn a_pending_leave_cannot_be_revoked(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let ana = h.agent("ana").await;
    let leave = h
        .request_leave(ana, LeaveKind::Annual, "2027-06-14", "2027-06-14")
        .await;

    let refused = h.service.revoke_leave(&h.admin(), leave.id, None).await;

    assert_eq!(
        leave_refusal(refused),
        invalid(LeaveState::Pending, LeaveAction::Revoke)
    );
    let allowed = [
        LeaveAction::Approve,
        LeaveAction::Reject,
        LeaveAction::Cancel,
    ];
    assert_only_allowed(&h, &leave, LeaveState::Pending, &allowed).await;
}

/// Revoking gives the agent their entries back, scheduled as before, and they count as work
/// again.
pub async fn revoking_a_leave_puts_its_entries_back_on_the_schedule(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let day = h.assign_one(ana, &s.day, "2027-07-01").await;
    let night = h.assign_one(ana, &s.night, "2027-07-02").await;
    let leave = h.approved_leave(ana, "2027-07-01", "2027-07-02").await;
    assert_eq!(h.working_of(ana).await, vec![]);

    let change = h
        .service
        .revoke_leave(&h.admin(), leave.id, None)
        .await
        .expect("the leave is revoked");

    assert_eq!(by_id(change.entries), vec![day.clone(), night.clone()]);
    assert!(change.uncovered.is_empty());
    assert_eq!(change.leave.status.state(), LeaveState::Revoked);
    assert_eq!(h.schedule_of(ana).await, vec![day.clone(), night]);
    let refused = h
        .try_assign(vec![placement(ana, s.mid.id, "2027-07-01")])
        .await;
    let expected = conflict(ana, s.mid.id, "2027-07-01", overlaps(&day));
    assert_eq!(schedule_conflicts(refused), vec![expected]);
    h.request_leave(ana, LeaveKind::Annual, "2027-07-01", "2027-07-01")
        .await;
}

/// If work was planned over the leave since it was approved (a night from the day before
/// that runs into it), revoking would double-book the agent: it is refused with the
/// conflicts and nothing changes.
pub async fn revoking_is_refused_with_conflicts_when_work_was_planned_over_the_leave(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let long_night = h.shift("long-night", "22:00", "09:00").await;
    let ana = h.agent("ana").await;
    let day = h.assign_one(ana, &s.day, "2027-07-06").await;
    let leave = h.approved_leave(ana, "2027-07-06", "2027-07-06").await;
    let night = h.assign_one(ana, &long_night, "2027-07-05").await;
    let before = h.world().await;

    let refused = h.service.revoke_leave(&h.admin(), leave.id, None).await;

    let expected = conflict(ana, s.day.id, "2027-07-06", overlaps(&night));
    assert_eq!(
        leave_refusal(refused),
        LeaveRefusal::Conflicts(vec![expected])
    );
    assert_eq!(h.world().await, before);
    assert_eq!(h.entry(day.id).await, on_leave(&day, leave.id));
}

/// An agent may work two shifts on one date. Revoking a leave over that date checks both
/// entries, not only the first: work planned since over the second one refuses the revocation,
/// and once that work is gone both entries come back.
pub async fn revoking_checks_and_restores_every_entry_of_a_date_with_two_shifts(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let morning = h.shift("morning", "06:00", "10:00").await;
    let evening = h.shift("evening", "20:00", "04:00").await;
    let small_hours = h.shift("small-hours", "02:00", "08:00").await;
    let ana = h.agent("ana").await;
    let first = h.assign_one(ana, &morning, "2027-07-06").await;
    let second = h.assign_one(ana, &evening, "2027-07-06").await;
    let leave = h.approved_leave(ana, "2027-07-06", "2027-07-06").await;
    let after = h.assign_one(ana, &small_hours, "2027-07-07").await;
    let before = h.world().await;

    let refused = h.service.revoke_leave(&h.admin(), leave.id, None).await;

    let expected = conflict(ana, evening.id, "2027-07-06", overlaps(&after));
    assert_eq!(
        leave_refusal(refused),
        LeaveRefusal::Conflicts(vec![expected])
    );
    assert_eq!(h.world().await, before);
    assert_eq!(h.entry(second.id).await, on_leave(&second, leave.id));

    h.service
        .remove_entry(&h.admin(), after.id)
        .await
        .expect("the later entry is removed");
    let change = h
        .service
        .revoke_leave(&h.admin(), leave.id, None)
        .await
        .expect("the leave is revoked");
    assert_eq!(by_id(change.entries), vec![first.clone(), second.clone()]);
    assert_eq!(h.working_of(ana).await, vec![first, second]);
}

/// An agent cannot hold two overlapping leaves that are pending or approved; rejected and
/// cancelled leave free their dates, and colleagues are not affected.
pub async fn overlapping_leave_requests_are_refused_while_the_first_holds_its_dates(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let (ana, bo, cy) = (
        h.agent("ana").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    let first = h
        .request_leave(ana, LeaveKind::Annual, "2027-08-02", "2027-08-06")
        .await;
    let overlapping = LeaveRefusal::Overlapping { existing: first.id };

    let at_the_end = h
        .try_request_leave(ana, LeaveKind::Sick, "2027-08-06", "2027-08-08")
        .await;
    let at_the_start = h
        .try_request_leave(ana, LeaveKind::Annual, "2027-08-01", "2027-08-02")
        .await;
    assert_eq!(leave_refusal(at_the_end), overlapping);
    assert_eq!(leave_refusal(at_the_start), overlapping);

    h.service
        .approve_leave(&h.admin(), first.id)
        .await
        .expect("the first leave is approved");
    let inside = h
        .try_request_leave(ana, LeaveKind::Personal, "2027-08-04", "2027-08-04")
        .await;
    assert_eq!(leave_refusal(inside), overlapping);

    h.request_leave(ana, LeaveKind::Annual, "2027-08-07", "2027-08-08")
        .await;
    h.request_leave(bo, LeaveKind::Annual, "2027-08-02", "2027-08-06")
        .await;
    let rejected = h
        .request_leave(cy, LeaveKind::Annual, "2027-08-02", "2027-08-02")
        .await;
    h.service
        .reject_leave(&h.admin(), rejected.id, None)
        .await
        .expect("the leave is rejected");
    let cancelled = h
        .request_leave(cy, LeaveKind::Annual, "2027-08-02", "2027-08-02")
        .await;
    h.service
        .cancel_leave(&h.as_agent(cy), cancelled.id)
        .await
        .expect("the leave is cancelled");
    h.request_leave(cy, LeaveKind::Annual, "2027-08-02", "2027-08-02")
        .await;
}

/// Four one-day annual leaves can all be filed against an allowance of three, because only
/// approved days count; the fourth approval is refused and leaves everything as it was.
pub async fn four_one_day_leaves_against_an_allowance_of_three_refuse_the_fourth_approval(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    h.set_allowance(LeaveKind::Annual, 3).await;
    let ana = h.agent("ana").await;
    let mut leaves = Vec::new();
    for day in ["2027-09-06", "2027-09-07", "2027-09-08", "2027-09-09"] {
        leaves.push(h.request_leave(ana, LeaveKind::Annual, day, day).await);
    }
    for leave in &leaves[..3] {
        h.service
            .approve_leave(&h.admin(), leave.id)
            .await
            .expect("within the allowance");
    }
    let before = h.world().await;

    let fourth = h.service.approve_leave(&h.admin(), leaves[3].id).await;

    let exceeded = LeaveRefusal::AllowanceExceeded {
        kind: LeaveKind::Annual,
        year: 2027,
        allowance: 3,
        used: 3,
        requested: 1,
    };
    assert_eq!(leave_refusal(fourth), exceeded);
    assert_eq!(h.world().await, before);
    let still = h.service.leave(&h.admin(), leaves[3].id).await;
    assert_eq!(still.expect("readable").status, LeaveStatus::Pending);
}

/// Filing is checked against the allowance too: a request bigger than what is left is
/// refused at once.
pub async fn a_request_longer_than_the_remaining_allowance_is_refused_when_filed(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    h.set_allowance(LeaveKind::Annual, 3).await;
    let ana = h.agent("ana").await;
    h.approved_leave(ana, "2027-09-01", "2027-09-02").await;
    let before = h.world().await;

    let too_long = h
        .try_request_leave(ana, LeaveKind::Annual, "2027-09-10", "2027-09-11")
        .await;

    let exceeded = LeaveRefusal::AllowanceExceeded {
        kind: LeaveKind::Annual,
        year: 2027,
        allowance: 3,
        used: 2,
        requested: 2,
    };
    assert_eq!(leave_refusal(too_long), exceeded);
    assert_eq!(h.world().await, before);
    h.request_leave(ana, LeaveKind::Annual, "2027-09-10", "2027-09-10")
        .await;
}

/// The allowance limits one kind of leave per calendar year: other kinds and other years are
/// not touched, and a leave across new year counts its days in each year.
pub async fn allowances_count_each_kind_and_calendar_year_apart(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    h.set_allowance(LeaveKind::Annual, 3).await;
    let ana = h.agent("ana").await;
    h.approved_leave(ana, "2027-03-01", "2027-03-03").await;

    let sick = h
        .request_leave(ana, LeaveKind::Sick, "2027-04-05", "2027-04-09")
        .await;
    h.service
        .approve_leave(&h.admin(), sick.id)
        .await
        .expect("sick leave is unlimited");
    let next_year = h
        .request_leave(ana, LeaveKind::Annual, "2028-01-03", "2028-01-05")
        .await;
    h.service
        .approve_leave(&h.admin(), next_year.id)
        .await
        .expect("2028 has its own allowance");
    let across = h
        .try_request_leave(ana, LeaveKind::Annual, "2027-12-31", "2028-01-01")
        .await;

    let exceeded = LeaveRefusal::AllowanceExceeded {
        kind: LeaveKind::Annual,
        year: 2027,
        allowance: 3,
        used: 3,
        requested: 1,
    };
    assert_eq!(leave_refusal(across), exceeded);
}

/// Revoked days no longer count against the allowance.
pub async fn revoked_leave_gives_its_days_back_to_the_allowance(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    h.set_allowance(LeaveKind::Annual, 2).await;
    let ana = h.agent("ana").await;
    let first = h.approved_leave(ana, "2027-10-04", "2027-10-05").await;
    let refused = h
        .try_request_leave(ana, LeaveKind::Annual, "2027-10-11", "2027-10-11")
        .await;
    assert!(matches!(
        leave_refusal(refused),
        LeaveRefusal::AllowanceExceeded { used: 2, .. }
    ));

    h.service
        .revoke_leave(&h.admin(), first.id, None)
        .await
        .expect("the leave is revoked");

    h.approved_leave(ana, "2027-10-11", "2027-10-12").await;
}

/// Deciding leave is for admins: an agent cannot approve, reject or revoke even their own.
pub async fn agents_cannot_approve_reject_or_revoke_leave(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let ana = h.agent("ana").await;
    let me = h.as_agent(ana);
    let pending = h
        .request_leave(ana, LeaveKind::Annual, "2027-06-01", "2027-06-01")
        .await;
    let approved = h.approved_leave(ana, "2027-06-08", "2027-06-08").await;
    let before = h.world().await;

    let approve = h.service.approve_leave(&me, pending.id).await;
    let reject = h.service.reject_leave(&me, pending.id, None).await;
    let revoke = h.service.revoke_leave(&me, approved.id, None).await;

    assert!(matches!(approve, Err(LeaveError::Forbidden)), "{approve:?}");
    assert!(matches!(reject, Err(LeaveError::Forbidden)), "{reject:?}");
    assert!(matches!(revoke, Err(LeaveError::Forbidden)), "{revoke:?}");
    assert_eq!(h.world().await, before);
}

/// A colleague's leave is "not found" to an agent, whatever they try, so ids reveal nothing;
/// listing shows an agent only their own.
pub async fn agents_cannot_see_or_touch_a_colleagues_leave(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let mine = h
        .request_leave(ana, LeaveKind::Annual, "2027-06-01", "2027-06-01")
        .await;
    let theirs = h
        .request_leave(bo, LeaveKind::Annual, "2027-06-01", "2027-06-01")
        .await;
    let me = h.as_agent(ana);
    let before = h.world().await;
    let hidden = |outcome: Result<LeaveRequest, LeaveError>| {
        matches!(
            outcome,
            Err(LeaveError::NotFound(Resource::Leave(id))) if id == theirs.id
        )
    };

    assert!(hidden(h.service.leave(&me, theirs.id).await));
    assert!(hidden(h.service.cancel_leave(&me, theirs.id).await));
    assert!(hidden(h.service.reject_leave(&me, theirs.id, None).await));
    let approve = h.service.approve_leave(&me, theirs.id).await;
    assert!(hidden(approve.map(|change| change.leave)));
    let revoke = h.service.revoke_leave(&me, theirs.id, None).await;
    assert!(hidden(revoke.map(|change| change.leave)));
    assert_eq!(h.world().await, before);

    let asked_for_bo = LeaveQuery {
        agents: Some(vec![bo]),
        ..LeaveQuery::default()
    };
    let listed = h.service.leaves(&me, asked_for_bo).await;
    assert_eq!(listed.expect("the list is read"), vec![mine.clone()]);
    let own = h.service.leave(&me, mine.id).await;
    assert_eq!(own.expect("their own leave is visible"), mine);
}

/// Agents file leave for themselves only; admins file for anyone, and are recorded as the
/// requester; leave for nobody is not found.
pub async fn agents_file_leave_only_for_themselves_and_admins_for_anyone(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let application = |agent| LeaveApplication {
        agent,
        kind: LeaveKind::Annual,
        dates: dates("2027-06-01", "2027-06-02"),
        reason: Some(note("family visit")),
    };
    let before = h.world().await;

    let for_a_colleague = h
        .service
        .request_leave(&h.as_agent(ana), application(bo))
        .await;
    assert!(
        matches!(for_a_colleague, Err(LeaveError::Forbidden)),
        "{for_a_colleague:?}"
    );
    let nobody = AgentId::try_from(999_999).expect("a valid id");
    let for_nobody = h
        .service
        .request_leave(&h.admin(), application(nobody))
        .await;
    assert!(
        matches!(for_nobody, Err(LeaveError::NotFound(Resource::Agent(id))) if id == nobody),
        "{for_nobody:?}"
    );
    assert_eq!(h.world().await, before);

    h.clock.set(at("2027-01-05T12:00:00Z"));
    let filed = h
        .service
        .request_leave(&h.admin(), application(bo))
        .await
        .expect("an admin files for anyone");
    assert_eq!(filed.agent, bo);
    assert_eq!(filed.requested_by, admin_actor(&h));
    assert_eq!(filed.requested_at, at("2027-01-05T12:00:00Z"));
    assert_eq!(filed.status, LeaveStatus::Pending);
    assert_eq!(filed.reason, Some(note("family visit")));
    assert_eq!(filed.dates.first(), date("2027-06-01"));
    let own = h
        .service
        .request_leave(&Context::new(Actor::agent(ana)), application(ana))
        .await
        .expect("an agent files their own");
    assert_eq!(own.requested_by, Actor::agent(ana));
}
