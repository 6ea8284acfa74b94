//! Swap requests: what approval does to the schedule, the re-checks at every step, the
//! state machine, races between admins, and who may see and do what.
//!
//! The clock starts well before the shifts these cases swap, since shifts that have started
//! cannot change hands.

use std::sync::Arc;

use shiftdesk_core::conflict::ConflictReason;
use shiftdesk_core::error::{LeaveError, Resource, SwapError};
use shiftdesk_core::ids::{AgentId, EntryId, SwapId};
use shiftdesk_core::leave::LeaveKind;
use shiftdesk_core::schedule::{EntryOrigin, EntryStatus, ScheduleEntry};
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::store::{LeaveQuery, Store, SwapQuery};
use shiftdesk_core::swap::{
    SwapAction, SwapApplication, SwapKind, SwapRefusal, SwapRequest, SwapState, SwapStatus,
    Unswappable,
};
use shiftdesk_core::text::Note;

use crate::harness::{Harness, at, conflict, date, overlaps, swap_refusal};

fn invalid(from: SwapState, action: SwapAction) -> SwapRefusal {
    SwapRefusal::InvalidTransition { from, action }
}

fn swapped_out(entry: &ScheduleEntry, to: AgentId, swap: SwapId) -> ScheduleEntry {
    ScheduleEntry {
        status: EntryStatus::SwappedOut { to, swap },
        ..entry.clone()
    }
}

/// Asserts `taken` is `given`'s shift, now worked by `taker` on behalf of `given`'s agent.
fn assert_takes_over(taken: &ScheduleEntry, given: &ScheduleEntry, taker: AgentId, swap: SwapId) {
    assert_ne!(taken.id, given.id, "the taker gets an entry of their own");
    assert_eq!(taken.agent, taker);
    assert_eq!(
        (taken.shift, taken.date, taken.span),
        (given.shift, given.date, given.span)
    );
    assert_eq!(taken.status, EntryStatus::Scheduled);
    let origin = EntryOrigin::Swap {
        covers: given.agent,
        swap,
    };
    assert_eq!(taken.origin, origin);
}

/// Runs `action` on `swap` as whoever may do it and returns the service's answer.
async fn act(
    h: &Harness,
    swap: &SwapRequest,
    action: SwapAction,
) -> Result<SwapRequest, SwapError> {
    let id = swap.id;
    let target = h.as_agent(swap.target);
    let requester = h.as_agent(swap.requester);
    match action {
        SwapAction::Accept => h.service.accept_swap(&target, id).await,
        SwapAction::Decline => h.service.decline_swap(&target, id).await,
        SwapAction::Cancel => h.service.cancel_swap(&requester, id).await,
        SwapAction::Approve => h.service.approve_swap(&h.admin(), id).await,
        SwapAction::Reject => h.service.reject_swap(&h.admin(), id, None).await,
    }
}

/// Asserts each of `actions` on `swap` is refused as an invalid transition from `from`, and
/// changes nothing.
async fn assert_refused(h: &Harness, swap: &SwapRequest, from: SwapState, actions: &[SwapAction]) {
    let before = h.world().await;
    for &action in actions {
        assert_eq!(
            swap_refusal(act(h, swap, action).await),
            invalid(from, action)
        );
    }
    assert_eq!(
        h.world().await,
        before,
        "refused transitions change nothing"
    );
}

const ALL_ACTIONS: [SwapAction; 5] = [
    SwapAction::Accept,
    SwapAction::Decline,
    SwapAction::Cancel,
    SwapAction::Approve,
    SwapAction::Reject,
];

/// A cover swap filed, accepted and approved: the requester's entry is swapped out to the
/// target, who gets a new scheduled entry recording whom it covers.
pub async fn an_approved_cover_swap_hands_the_entry_to_the_target(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let given = h.assign_one(ana, &s.day, "2027-02-15").await;
    h.clock.set(at("2027-02-01T09:00:00Z"));

    let filed = h.request_swap(&given, bo, SwapKind::Cover).await;
    h.clock.set(at("2027-02-02T09:00:00Z"));
    let accepted = act(&h, &filed, SwapAction::Accept)
        .await
        .expect("bo accepts");
    h.clock.set(at("2027-02-03T09:00:00Z"));
    let approved = act(&h, &filed, SwapAction::Approve)
        .await
        .expect("approved");

    assert_eq!(
        (filed.requester, filed.requester_entry, filed.target),
        (ana, given.id, bo)
    );
    assert_eq!(filed.kind, SwapKind::Cover);
    assert_eq!(filed.status, SwapStatus::Pending);
    assert_eq!(filed.requested_at, at("2027-02-01T09:00:00Z"));
    let status = SwapStatus::Accepted {
        at: at("2027-02-02T09:00:00Z"),
    };
    assert_eq!(accepted.status, status);
    let status = SwapStatus::Approved {
        by: Actor::admin(h.admin.id),
        at: at("2027-02-03T09:00:00Z"),
    };
    assert_eq!(approved.status, status);
    assert_eq!(h.entry(given.id).await, swapped_out(&given, bo, filed.id));
    assert_eq!(h.working_of(ana).await, vec![]);
    let taken = h.working_of(bo).await;
    assert_eq!(taken.len(), 1);
    assert_takes_over(&taken[0], &given, bo, filed.id);
    let stored = h.service.swap(&h.admin(), filed.id).await;
    assert_eq!(stored.expect("readable"), approved);
}

/// An exchange trades entries on different dates: each is swapped out to the other agent,
/// and each agent gets the other's shift, recording whom it covers.
pub async fn an_approved_exchange_trades_both_entries(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let anas = h.assign_one(ana, &s.day, "2027-02-15").await;
    let bos = h.assign_one(bo, &s.late, "2027-02-17").await;

    let exchange = SwapKind::Exchange {
        target_entry: bos.id,
    };
    let swap = h.approved_swap(&anas, bo, exchange).await;

    assert_eq!(swap.status.state(), SwapState::Approved);
    assert_eq!(h.entry(anas.id).await, swapped_out(&anas, bo, swap.id));
    assert_eq!(h.entry(bos.id).await, swapped_out(&bos, ana, swap.id));
    let ana_works = h.working_of(ana).await;
    let bo_works = h.working_of(bo).await;
    assert_eq!((ana_works.len(), bo_works.len()), (1, 1));
    assert_takes_over(&ana_works[0], &bos, ana, swap.id);
    assert_takes_over(&bo_works[0], &anas, bo, swap.id);
}

/// Two agents can trade overlapping shifts on the same day: each gives one away as they take
/// the other, so neither is double-booked.
pub async fn an_exchange_of_overlapping_shifts_is_allowed_because_each_gives_one_away(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let anas = h.assign_one(ana, &s.day, "2027-02-15").await;
    let bos = h.assign_one(bo, &s.mid, "2027-02-15").await;

    let exchange = SwapKind::Exchange {
        target_entry: bos.id,
    };
    let swap = h.approved_swap(&anas, bo, exchange).await;

    let ana_works = h.working_of(ana).await;
    assert_eq!(ana_works.len(), 1);
    assert_takes_over(&ana_works[0], &bos, ana, swap.id);
    let bo_works = h.working_of(bo).await;
    assert_eq!(bo_works.len(), 1);
    assert_takes_over(&bo_works[0], &anas, bo, swap.id);
}

/// A swap to a colleague on approved leave that day is refused when filed, with a conflict
/// that names the colleague and the leave.
pub async fn a_swap_to_a_target_on_leave_is_refused_naming_the_target(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let given = h.assign_one(ana, &s.day, "2027-02-15").await;
    let leave = h.approved_leave(bo, "2027-02-14", "2027-02-16").await;
    let before = h.world().await;

    let refused = h.try_request_swap(&given, bo, SwapKind::Cover).await;

    let reason = ConflictReason::OnLeave { leave: leave.id };
    let expected = conflict(bo, s.day.id, "2027-02-15", reason);
    assert_eq!(
        swap_refusal(refused),
        SwapRefusal::Conflicts(vec![expected])
    );
    assert_eq!(h.world().await, before);
}

/// A swap to a colleague already working then is refused when filed, naming the colleague
/// and the entry in the way.
pub async fn a_swap_to_a_busy_target_is_refused_naming_the_target(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let given = h.assign_one(ana, &s.day, "2027-02-15").await;
    let busy = h.assign_one(bo, &s.mid, "2027-02-15").await;
    let before = h.world().await;

    let refused = h.try_request_swap(&given, bo, SwapKind::Cover).await;

    let expected = conflict(bo, s.day.id, "2027-02-15", overlaps(&busy));
    assert_eq!(
        swap_refusal(refused),
        SwapRefusal::Conflicts(vec![expected])
    );
    assert_eq!(h.world().await, before);
}

/// The target was free when they accepted but was scheduled since: approval checks again,
/// refuses with the conflict, and nothing changes.
pub async fn approval_rechecks_and_refuses_when_the_target_was_scheduled_after_accepting(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let given = h.assign_one(ana, &s.day, "2027-02-15").await;
    let swap = h.accepted_swap(&given, bo, SwapKind::Cover).await;
    let busy = h.assign_one(bo, &s.mid, "2027-02-15").await;
    let before = h.world().await;

    let refused = act(&h, &swap, SwapAction::Approve).await;

    let expected = conflict(bo, s.day.id, "2027-02-15", overlaps(&busy));
    assert_eq!(
        swap_refusal(refused),
        SwapRefusal::Conflicts(vec![expected])
    );
    assert_eq!(h.world().await, before);
    let still = h.service.swap(&h.admin(), swap.id).await;
    assert_eq!(still.expect("readable").status.state(), SwapState::Accepted);
}

/// The target went on leave after accepting: approval refuses with the leave.
pub async fn approval_rechecks_and_refuses_when_the_target_went_on_leave_after_accepting(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let given = h.assign_one(ana, &s.day, "2027-02-15").await;
    let swap = h.accepted_swap(&given, bo, SwapKind::Cover).await;
    let leave = h.approved_leave(bo, "2027-02-15", "2027-02-15").await;
    let before = h.world().await;

    let refused = act(&h, &swap, SwapAction::Approve).await;

    let reason = ConflictReason::OnLeave { leave: leave.id };
    let expected = conflict(bo, s.day.id, "2027-02-15", reason);
    assert_eq!(
        swap_refusal(refused),
        SwapRefusal::Conflicts(vec![expected])
    );
    assert_eq!(h.world().await, before);
}

/// The target was deactivated after accepting: approval refuses, naming them.
pub async fn approval_refuses_a_target_deactivated_after_accepting(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let given = h.assign_one(ana, &s.day, "2027-02-15").await;
    let swap = h.accepted_swap(&given, bo, SwapKind::Cover).await;
    h.deactivate(bo).await;
    let before = h.world().await;

    let refused = act(&h, &swap, SwapAction::Approve).await;

    assert_eq!(
        swap_refusal(refused),
        SwapRefusal::TargetUnavailable { target: bo }
    );
    assert_eq!(h.world().await, before);
}

/// Two accepted swaps would give one agent two shifts at the same time; approved at the same
/// moment by two admins, exactly one wins and the other is refused with the winner's entry
/// as the conflict. Repeated over several days to give the race room to go wrong.
pub async fn two_approvals_racing_for_the_same_target_slot_let_exactly_one_win(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo, cy) = (
        h.agent("ana").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );

    for day in 1..=8 {
        let day = format!("2027-03-{day:02}");
        let from_ana = h.assign_one(ana, &s.day, &day).await;
        let from_cy = h.assign_one(cy, &s.day, &day).await;
        let first = h.accepted_swap(&from_ana, bo, SwapKind::Cover).await;
        let second = h.accepted_swap(&from_cy, bo, SwapKind::Cover).await;

        let approve = |swap: SwapId| {
            let h = h.clone();
            tokio::spawn(async move { h.service.approve_swap(&h.admin(), swap).await })
        };
        let (one, two) = (approve(first.id), approve(second.id));
        let one = one.await.expect("the first approval finishes");
        let two = two.await.expect("the second approval finishes");

        let (winner, loser, refused) = match (one, two) {
            (Ok(_), Err(refused)) => ((&first, &from_ana), (&second, &from_cy), refused),
            (Err(refused), Ok(_)) => ((&second, &from_cy), (&first, &from_ana), refused),
            (one, two) => panic!("exactly one approval must win on {day}: {one:?}, {two:?}"),
        };
        let bo_works: Vec<_> = h
            .working_of(bo)
            .await
            .into_iter()
            .filter(|entry| entry.date == date(&day))
            .collect();
        assert_eq!(bo_works.len(), 1, "bo works one shift on {day}");
        assert_takes_over(&bo_works[0], winner.1, bo, winner.0.id);
        let expected = conflict(bo, s.day.id, &day, overlaps(&bo_works[0]));
        assert_eq!(
            swap_refusal::<SwapRequest>(Err(refused)),
            SwapRefusal::Conflicts(vec![expected])
        );
        assert_eq!(
            h.entry(loser.1.id).await,
            *loser.1,
            "the loser's entry stays"
        );
        let lost = h.service.swap(&h.admin(), loser.0.id).await;
        assert_eq!(lost.expect("readable").status.state(), SwapState::Accepted);
    }
}

/// The target says no to a pending swap; a declined swap is final.
pub async fn a_target_can_decline_a_pending_swap_and_it_is_then_final(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let given = h.assign_one(ana, &s.day, "2027-02-15").await;
    let filed = h.request_swap(&given, bo, SwapKind::Cover).await;
    h.clock.set(at("2027-01-10T10:00:00Z"));

    let declined = act(&h, &filed, SwapAction::Decline)
        .await
        .expect("bo declines");

    let status = SwapStatus::Declined {
        at: at("2027-01-10T10:00:00Z"),
    };
    assert_eq!(declined.status, status);
    assert_eq!(h.entry(given.id).await, given);
    assert_refused(&h, &declined, SwapState::Declined, &ALL_ACTIONS).await;
}

/// The requester withdraws a swap, pending or already accepted; a cancelled swap is final.
pub async fn a_requester_can_cancel_a_pending_or_accepted_swap(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let pending = h.assign_one(ana, &s.day, "2027-02-15").await;
    let accepted = h.assign_one(ana, &s.day, "2027-02-16").await;
    let pending = h.request_swap(&pending, bo, SwapKind::Cover).await;
    let accepted = h.accepted_swap(&accepted, bo, SwapKind::Cover).await;
    h.clock.set(at("2027-01-11T10:00:00Z"));

    let cancelled_pending = act(&h, &pending, SwapAction::Cancel).await;
    let cancelled_accepted = act(&h, &accepted, SwapAction::Cancel).await;

    let status = SwapStatus::Cancelled {
        at: at("2027-01-11T10:00:00Z"),
    };
    let cancelled_pending = cancelled_pending.expect("a pending swap is cancelled");
    assert_eq!(cancelled_pending.status, status);
    assert_eq!(cancelled_accepted.expect("cancelled").status, status);
    assert_eq!(h.working_of(bo).await, vec![]);
    assert_refused(&h, &cancelled_pending, SwapState::Cancelled, &ALL_ACTIONS).await;
}

/// An admin cannot decide a swap the target has not accepted; once approved, a swap is
/// final.
pub async fn an_admin_decides_only_after_the_target_accepts(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let first = h.assign_one(ana, &s.day, "2027-02-15").await;
    let second = h.assign_one(ana, &s.day, "2027-02-16").await;
    let pending = h.request_swap(&first, bo, SwapKind::Cover).await;

    let decide = [SwapAction::Approve, SwapAction::Reject];
    assert_refused(&h, &pending, SwapState::Pending, &decide).await;
    let approved = h.approved_swap(&second, bo, SwapKind::Cover).await;
    assert_refused(&h, &approved, SwapState::Approved, &ALL_ACTIONS).await;
}

/// An admin refuses an accepted swap with a note: nothing moves, and the decision is final.
pub async fn an_admin_can_reject_an_accepted_swap_and_nothing_moves(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let given = h.assign_one(ana, &s.day, "2027-02-15").await;
    let swap = h.accepted_swap(&given, bo, SwapKind::Cover).await;
    h.clock.set(at("2027-01-12T10:00:00Z"));
    let note = Note::parse("bo lacks training").expect("a valid note");

    let rejected = h
        .service
        .reject_swap(&h.admin(), swap.id, Some(note.clone()))
        .await
        .expect("the admin rejects");

    let status = SwapStatus::Rejected {
        by: Actor::admin(h.admin.id),
        at: at("2027-01-12T10:00:00Z"),
        note: Some(note),
    };
    assert_eq!(rejected.status, status);
    assert_eq!(h.entry(given.id).await, given);
    assert_eq!(h.working_of(bo).await, vec![]);
    assert_refused(&h, &rejected, SwapState::Rejected, &ALL_ACTIONS).await;
}

/// A shift that has begun cannot be offered, and a swap whose shift begins before the admin
/// decides can no longer be approved.
pub async fn a_shift_that_has_started_cannot_be_swapped(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let today = h.assign_one(ana, &s.day, "2027-02-15").await;
    let tomorrow = h.assign_one(ana, &s.day, "2027-02-16").await;
    let accepted = h.accepted_swap(&tomorrow, bo, SwapKind::Cover).await;

    h.clock.set(at("2027-02-15T08:00:00Z"));
    let offered = h.try_request_swap(&today, bo, SwapKind::Cover).await;
    h.clock.set(at("2027-02-16T09:00:00Z"));
    let approved = act(&h, &accepted, SwapAction::Approve).await;

    let started = |entry: EntryId| SwapRefusal::Unswappable {
        entry,
        why: Unswappable::Started,
    };
    assert_eq!(swap_refusal(offered), started(today.id));
    assert_eq!(swap_refusal(approved), started(tomorrow.id));
    assert_eq!(h.working_of(bo).await, vec![]);
}

/// An entry in an open swap request cannot be offered to someone else until that request is
/// closed.
pub async fn an_entry_offered_in_an_open_swap_cannot_be_offered_again(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo, cy) = (
        h.agent("ana").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    let given = h.assign_one(ana, &s.day, "2027-02-15").await;
    let first = h.request_swap(&given, bo, SwapKind::Cover).await;

    let while_pending = h.try_request_swap(&given, cy, SwapKind::Cover).await;
    act(&h, &first, SwapAction::Accept)
        .await
        .expect("bo accepts");
    let while_accepted = h.try_request_swap(&given, cy, SwapKind::Cover).await;

    let offered = SwapRefusal::AlreadyOffered {
        entry: given.id,
        swap: first.id,
    };
    assert_eq!(swap_refusal(while_pending), offered);
    assert_eq!(swap_refusal(while_accepted), offered);
    act(&h, &first, SwapAction::Cancel)
        .await
        .expect("ana cancels");
    h.request_swap(&given, cy, SwapKind::Cover).await;

    // The entry a target would give back in an open exchange is offered too.
    let cys = h.assign_one(cy, &s.day, "2027-02-20").await;
    let anas = h.assign_one(ana, &s.day, "2027-02-21").await;
    let exchange = SwapKind::Exchange {
        target_entry: anas.id,
    };
    let open = h.request_swap(&cys, ana, exchange).await;
    let refused = h.try_request_swap(&anas, bo, SwapKind::Cover).await;
    let offered = SwapRefusal::AlreadyOffered {
        entry: anas.id,
        swap: open.id,
    };
    assert_eq!(swap_refusal(refused), offered);
}

/// The target must be someone else, and someone who can take shifts.
pub async fn agents_cannot_swap_with_themselves_or_with_inactive_colleagues(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, cy) = (h.agent("ana").await, h.agent("cy").await);
    let given = h.assign_one(ana, &s.day, "2027-02-15").await;
    h.deactivate(cy).await;
    let nobody = AgentId::try_from(999_999).expect("a valid id");
    let before = h.world().await;

    let to_self = h.try_request_swap(&given, ana, SwapKind::Cover).await;
    let to_inactive = h.try_request_swap(&given, cy, SwapKind::Cover).await;
    let to_nobody = h.try_request_swap(&given, nobody, SwapKind::Cover).await;

    assert_eq!(swap_refusal(to_self), SwapRefusal::SelfSwap);
    let unavailable = |target| SwapRefusal::TargetUnavailable { target };
    assert_eq!(swap_refusal(to_inactive), unavailable(cy));
    assert_eq!(swap_refusal(to_nobody), unavailable(nobody));
    assert_eq!(h.world().await, before);
}

/// Only worked entries change hands, and an exchange must name an entry of the target.
pub async fn only_scheduled_entries_of_the_right_agents_can_change_hands(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo, cy) = (
        h.agent("ana").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    let on_leave = h.assign_one(ana, &s.day, "2027-02-15").await;
    let leave = h.approved_leave(ana, "2027-02-15", "2027-02-15").await;
    let given_away = h.assign_one(ana, &s.day, "2027-02-16").await;
    let swap = h.approved_swap(&given_away, bo, SwapKind::Cover).await;
    let mine = h.assign_one(ana, &s.day, "2027-02-17").await;
    let cys = h.assign_one(cy, &s.late, "2027-02-18").await;
    let missing = EntryId::try_from(999_999).expect("a valid id");
    let on_leave = h.entry(on_leave.id).await;
    let given_away = h.entry(given_away.id).await;
    let before = h.world().await;

    let leave_refused = h.try_request_swap(&on_leave, bo, SwapKind::Cover).await;
    let again_refused = h.try_request_swap(&given_away, cy, SwapKind::Cover).await;
    let not_bos = SwapKind::Exchange {
        target_entry: cys.id,
    };
    let not_bos = h.try_request_swap(&mine, bo, not_bos).await;
    let nothing = SwapKind::Exchange {
        target_entry: missing,
    };
    let nothing = h.try_request_swap(&mine, bo, nothing).await;

    let unswappable = |entry, why| SwapRefusal::Unswappable { entry, why };
    let status = EntryStatus::OnLeave { leave: leave.id };
    let expected = unswappable(on_leave.id, Unswappable::NotScheduled { status });
    assert_eq!(swap_refusal(leave_refused), expected);
    let status = EntryStatus::SwappedOut {
        to: bo,
        swap: swap.id,
    };
    let expected = unswappable(given_away.id, Unswappable::NotScheduled { status });
    assert_eq!(swap_refusal(again_refused), expected);
    let expected = unswappable(cys.id, Unswappable::NotTheirs { owner: cy });
    assert_eq!(swap_refusal(not_bos), expected);
    assert_eq!(
        swap_refusal(nothing),
        unswappable(missing, Unswappable::Missing)
    );
    assert_eq!(h.world().await, before);
}

/// The requester files and cancels, the target accepts and declines, an admin decides; each
/// party trying another's step is forbidden, and an agent cannot offer a colleague's entry.
pub async fn agents_act_on_swaps_only_in_their_own_role(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo, cy) = (
        h.agent("ana").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    let anas = h.assign_one(ana, &s.day, "2027-02-15").await;
    let bos = h.assign_one(bo, &s.day, "2027-02-16").await;
    let pending = h.request_swap(&anas, bo, SwapKind::Cover).await;
    let (as_ana, as_bo) = (h.as_agent(ana), h.as_agent(bo));
    let before = h.world().await;
    let forbidden =
        |outcome: Result<SwapRequest, SwapError>| matches!(outcome, Err(SwapError::Forbidden));

    let offering_bos = SwapApplication {
        requester_entry: bos.id,
        target: cy,
        kind: SwapKind::Cover,
        note: None,
    };
    assert!(forbidden(
        h.service.request_swap(&as_ana, offering_bos).await
    ));
    assert!(forbidden(h.service.accept_swap(&as_ana, pending.id).await));
    assert!(forbidden(h.service.decline_swap(&as_ana, pending.id).await));
    assert!(forbidden(h.service.cancel_swap(&as_bo, pending.id).await));
    assert!(forbidden(h.service.approve_swap(&as_bo, pending.id).await));
    assert_eq!(h.world().await, before);

    let accepted = act(&h, &pending, SwapAction::Accept)
        .await
        .expect("accepted");
    let before = h.world().await;
    for who in [&as_ana, &as_bo] {
        assert!(forbidden(h.service.approve_swap(who, accepted.id).await));
        assert!(forbidden(
            h.service.reject_swap(who, accepted.id, None).await
        ));
    }
    assert_eq!(h.world().await, before);
}

/// A swap that does not involve an agent is "not found" to them, whatever they try, and
/// their lists hold only swaps they are part of.
pub async fn agents_cannot_see_swaps_that_do_not_involve_them(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo, cy) = (
        h.agent("ana").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    let anas = h.assign_one(ana, &s.day, "2027-02-15").await;
    let swap = h.request_swap(&anas, bo, SwapKind::Cover).await;
    let as_cy = h.as_agent(cy);
    let before = h.world().await;
    let hidden = |outcome: Result<SwapRequest, SwapError>| {
        matches!(
            outcome,
            Err(SwapError::NotFound(Resource::Swap(id))) if id == swap.id
        )
    };

    assert!(hidden(h.service.swap(&as_cy, swap.id).await));
    assert!(hidden(h.service.accept_swap(&as_cy, swap.id).await));
    assert!(hidden(h.service.decline_swap(&as_cy, swap.id).await));
    assert!(hidden(h.service.cancel_swap(&as_cy, swap.id).await));
    assert!(hidden(h.service.approve_swap(&as_cy, swap.id).await));
    assert!(hidden(h.service.reject_swap(&as_cy, swap.id, None).await));
    assert_eq!(h.world().await, before);

    let anyones = SwapQuery {
        agent: Some(ana),
        ..SwapQuery::default()
    };
    let listed = |ctx: Context| {
        let query = anyones.clone();
        let h = h.clone();
        async move { h.service.swaps(&ctx, query).await.expect("listed") }
    };
    assert_eq!(listed(as_cy.clone()).await, vec![]);
    assert_eq!(listed(h.as_agent(ana)).await, vec![swap.clone()]);
    assert_eq!(listed(h.as_agent(bo)).await, vec![swap.clone()]);
    let seen = h.service.swap(&h.as_agent(bo), swap.id).await;
    assert_eq!(seen.expect("the target sees it"), swap);
}

/// Swaps are staff business: a customer listing them, with or without naming an agent, gets
/// none, and reading one by id is not found.
pub async fn customers_see_no_swap_or_leave_requests(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let anas = h.assign_one(ana, &s.day, "2027-02-15").await;
    let swap = h.request_swap(&anas, bo, SwapKind::Cover).await;
    let leave = h
        .request_leave(bo, LeaveKind::Annual, "2027-03-01", "2027-03-02")
        .await;
    let li = h.customer("Li").await;
    let customer = h.as_customer(li.id);

    let everyone = h.service.swaps(&customer, SwapQuery::default()).await;
    let anas_query = SwapQuery {
        agent: Some(ana),
        ..SwapQuery::default()
    };
    let named = h.service.swaps(&customer, anas_query).await;
    assert_eq!(everyone.expect("answered"), vec![]);
    assert_eq!(named.expect("answered"), vec![]);
    let one = h.service.swap(&customer, swap.id).await;
    assert!(
        matches!(one, Err(SwapError::NotFound(Resource::Swap(id))) if id == swap.id),
        "got {one:?}"
    );

    let leaves = h.service.leaves(&customer, LeaveQuery::default()).await;
    assert_eq!(leaves.expect("answered"), vec![]);
    let one = h.service.leave(&customer, leave.id).await;
    assert!(
        matches!(one, Err(LeaveError::NotFound(Resource::Leave(id))) if id == leave.id),
        "got {one:?}"
    );
}
