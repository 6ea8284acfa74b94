//! The queries a store answers: each filter of [`EntryQuery`], [`LeaveQuery`], [`SwapQuery`]
//! and [`AuditQuery`], alone and together, and the order results come in.
//!
//! Expected results are worked out here from what the case wrote, by the filter's own
//! definition in `shiftdesk_core::store`, and compared whole.

use std::sync::Arc;

use shiftdesk_core::audit::{AuditQuery, Subject};
use shiftdesk_core::error::AdminError;
use shiftdesk_core::leave::{LeaveKind, LeaveRequest, LeaveState};
use shiftdesk_core::schedule::ScheduleEntry;
use shiftdesk_core::staff::{AgentUpdate, Role};
use shiftdesk_core::store::{EntryQuery, LeaveQuery, Store, SwapQuery};
use shiftdesk_core::swap::{SwapKind, SwapRequest, SwapState};
use shiftdesk_core::text::DisplayName;

use crate::harness::{Harness, dates, new_agent};

/// Entries come filtered by date (the date a shift starts on), agents and working status,
/// ordered by agent, then start.
pub async fn the_schedule_is_read_by_dates_agents_and_status_in_agent_then_start_order(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo, cy) = (
        h.agent("ana").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    // Written out of order, so order comes from the store, not from insertion.
    let mut all = vec![
        h.assign_one(cy, &s.day, "2027-03-02").await,
        h.assign_one(ana, &s.day, "2027-03-03").await,
        h.assign_one(ana, &s.night, "2027-03-02").await,
        h.assign_one(bo, &s.early, "2027-03-02").await,
        h.assign_one(ana, &s.day, "2027-03-01").await,
        h.assign_one(bo, &s.day, "2027-03-04").await,
    ];
    h.approved_leave(cy, "2027-03-02", "2027-03-02").await;
    for entry in &mut all {
        *entry = h.entry(entry.id).await;
    }
    all.sort_by_key(|entry| (entry.agent, entry.span.start()));
    let read = |first: &str, last: &str, agents: Option<Vec<_>>, working_only| {
        let query = EntryQuery {
            dates: dates(first, last),
            agents,
            working_only,
        };
        let h = h.clone();
        async move { h.service.schedule(&h.admin(), &query).await.expect("read") }
    };
    let expect = |keep: &dyn Fn(&ScheduleEntry) -> bool| -> Vec<ScheduleEntry> {
        all.iter().filter(|entry| keep(entry)).cloned().collect()
    };

    assert_eq!(read("2027-03-01", "2027-03-04", None, false).await, all);
    let middle = expect(&|e| e.date == crate::harness::date("2027-03-02"));
    assert_eq!(middle.len(), 3, "the night of the 2nd belongs to the 2nd");
    assert_eq!(read("2027-03-02", "2027-03-02", None, false).await, middle);
    let some = expect(&|e| e.agent == bo || e.agent == cy);
    assert_eq!(
        read("2027-03-01", "2027-03-04", Some(vec![cy, bo]), false).await,
        some
    );
    let working = expect(&|e| e.is_working());
    assert_eq!(working.len(), 5);
    assert_eq!(read("2027-03-01", "2027-03-04", None, true).await, working);
    let narrow = expect(&|e| e.agent == ana && e.date <= crate::harness::date("2027-03-02"));
    assert_eq!(
        read("2027-03-01", "2027-03-02", Some(vec![ana]), true).await,
        narrow
    );
    assert_eq!(
        read("2027-03-01", "2027-03-04", Some(vec![]), false).await,
        vec![]
    );
    assert_eq!(read("2027-04-01", "2027-04-30", None, false).await, vec![]);
}

/// Leave requests come filtered by agent, state and overlapping dates, in id order.
pub async fn leave_requests_are_read_by_agent_state_and_dates_in_id_order_a_page_at_a_time(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let (ana, bo) = (h.agent("ana").await, h.agent("bo").await);
    let pending = h
        .request_leave(ana, LeaveKind::Annual, "2027-04-01", "2027-04-03")
        .await;
    let approved = h.approved_leave(ana, "2027-04-10", "2027-04-10").await;
    let rejected = h
        .request_leave(bo, LeaveKind::Sick, "2027-04-02", "2027-04-02")
        .await;
    let rejected = h
        .service
        .reject_leave(&h.admin(), rejected.id, None)
        .await
        .expect("rejected");
    let later = h
        .request_leave(bo, LeaveKind::Personal, "2027-04-20", "2027-04-21")
        .await;
    let mut all = vec![pending, approved, rejected, later];
    all.sort_by_key(|leave| leave.id);
    let read = |query: LeaveQuery| {
        let h = h.clone();
        async move { h.service.leaves(&h.admin(), query).await.expect("read") }
    };
    let expect = |keep: &dyn Fn(&LeaveRequest) -> bool| -> Vec<LeaveRequest> {
        all.iter().filter(|leave| keep(leave)).cloned().collect()
    };

    assert_eq!(read(LeaveQuery::default()).await, all);
    let page = LeaveQuery {
        after: Some(all[0].id),
        limit: Some(2),
        ..LeaveQuery::default()
    };
    assert_eq!(
        read(page).await,
        all[1..3],
        "a page after the first, in id order"
    );
    let last = LeaveQuery {
        after: Some(all[3].id),
        limit: Some(2),
        ..LeaveQuery::default()
    };
    assert_eq!(read(last).await, [], "nothing after the last");
    let query = LeaveQuery {
        agents: Some(vec![bo]),
        ..LeaveQuery::default()
    };
    assert_eq!(read(query).await, expect(&|l| l.agent == bo));
    let states = |states: Vec<LeaveState>| LeaveQuery {
        states: Some(states),
        ..LeaveQuery::default()
    };
    let open = expect(&|l| l.status.state() == LeaveState::Pending);
    assert_eq!(open.len(), 2);
    assert_eq!(read(states(vec![LeaveState::Pending])).await, open);
    let decided = expect(&|l| {
        matches!(
            l.status.state(),
            LeaveState::Approved | LeaveState::Rejected
        )
    });
    let query = states(vec![LeaveState::Rejected, LeaveState::Approved]);
    assert_eq!(read(query).await, decided);
    let window = dates("2027-04-03", "2027-04-10");
    let query = LeaveQuery {
        overlapping: Some(window),
        ..LeaveQuery::default()
    };
    let overlapping = expect(&|l| l.dates.overlaps(&window));
    assert_eq!(overlapping.len(), 2, "touching either end counts");
    assert_eq!(read(query).await, overlapping);
    let query = LeaveQuery {
        after: None,
        limit: None,
        agents: Some(vec![ana]),
        states: Some(vec![LeaveState::Pending]),
        overlapping: Some(dates("2027-04-02", "2027-04-02")),
    };
    assert_eq!(
        read(query).await,
        expect(&|l| l.agent == ana && l.dates.len() == 3)
    );
}

/// Swap requests come filtered by an agent on either side, by state and by an entry on
/// either side, in id order.
pub async fn swap_requests_are_read_by_agent_state_and_entry_in_id_order_a_page_at_a_time(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let (ana, bo, cy) = (
        h.agent("ana").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    let anas = h.assign_one(ana, &s.day, "2027-02-15").await;
    let bos = h.assign_one(bo, &s.day, "2027-02-16").await;
    let anas_other = h.assign_one(ana, &s.day, "2027-02-17").await;
    let cys = h.assign_one(cy, &s.late, "2027-02-18").await;
    let anas_third = h.assign_one(ana, &s.late, "2027-02-19").await;

    let pending = h.request_swap(&anas, bo, SwapKind::Cover).await;
    let accepted = h.accepted_swap(&bos, cy, SwapKind::Cover).await;
    let declined = h.request_swap(&anas_other, cy, SwapKind::Cover).await;
    let declined = h
        .service
        .decline_swap(&h.as_agent(cy), declined.id)
        .await
        .expect("declined");
    let exchange = SwapKind::Exchange {
        target_entry: anas_third.id,
    };
    let exchange = h.request_swap(&cys, ana, exchange).await;
    let mut all = vec![pending, accepted, declined, exchange];
    all.sort_by_key(|swap| swap.id);
    let read = |query: SwapQuery| {
        let h = h.clone();
        async move { h.service.swaps(&h.admin(), query).await.expect("read") }
    };
    let expect = |keep: &dyn Fn(&SwapRequest) -> bool| -> Vec<SwapRequest> {
        all.iter().filter(|swap| keep(swap)).cloned().collect()
    };

    assert_eq!(read(SwapQuery::default()).await, all);
    let page = SwapQuery {
        after: Some(all[1].id),
        limit: Some(1),
        ..SwapQuery::default()
    };
    assert_eq!(
        read(page).await,
        all[2..3],
        "a page after the second, in id order"
    );
    let query = SwapQuery {
        agent: Some(ana),
        ..SwapQuery::default()
    };
    let involving_ana = expect(&|swap| swap.involves(ana));
    assert_eq!(involving_ana.len(), 3, "filed by ana or asked of ana");
    assert_eq!(read(query).await, involving_ana);
    let query = SwapQuery {
        states: Some(vec![SwapState::Pending, SwapState::Accepted]),
        ..SwapQuery::default()
    };
    assert_eq!(read(query).await, expect(&|swap| swap.status.is_open()));
    let query = SwapQuery {
        entry: Some(anas_third.id),
        ..SwapQuery::default()
    };
    let moving = expect(&|swap| swap.entries().contains(&anas_third.id));
    assert_eq!(moving.len(), 1, "the target's side of an exchange counts");
    assert_eq!(read(query).await, moving);
    let query = SwapQuery {
        after: None,
        limit: None,
        agent: Some(cy),
        states: Some(vec![SwapState::Declined]),
        entry: Some(anas_other.id),
    };
    assert_eq!(
        read(query).await,
        expect(&|swap| swap.status.state() == SwapState::Declined)
    );
}

/// The audit log comes newest first; it filters by subject and by acting staff member, and
/// pages with a limit and an older-than id.
pub async fn the_audit_log_reads_newest_first_with_filters_and_paging(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let s = h.standard_shifts().await;
    let ana = h.agent("ana").await;
    let rename = AgentUpdate {
        display_name: Some(DisplayName::parse("Ana María").expect("a valid name")),
        ..AgentUpdate::default()
    };
    h.service
        .update_agent(&h.admin(), ana, rename)
        .await
        .expect("renamed");
    h.assign_one(ana, &s.day, "2027-06-01").await;
    h.request_leave(ana, LeaveKind::Annual, "2027-06-02", "2027-06-02")
        .await;
    let all = h.audit().await;
    let read = |query: AuditQuery| {
        let h = h.clone();
        async move { h.service.audit_log(&h.admin(), query).await.expect("read") }
    };

    assert_eq!(
        all.len(),
        1 + 5 + 1 + 1 + 1 + 1,
        "admin, shifts, ana, rename, assign, leave"
    );
    assert!(
        all.windows(2).all(|pair| pair[0].id > pair[1].id),
        "newest first"
    );
    let page = |limit, before| AuditQuery {
        limit,
        before,
        ..AuditQuery::default()
    };
    assert_eq!(read(page(3, None)).await, all[..3].to_vec());
    assert_eq!(read(page(3, Some(all[2].id))).await, all[3..6].to_vec());
    let last = all.last().expect("records").id;
    assert_eq!(read(page(3, Some(last))).await, vec![]);

    let about_ana = AuditQuery {
        subject: Some(Subject::Agent(ana)),
        limit: 100,
        ..AuditQuery::default()
    };
    let expected: Vec<_> = all
        .iter()
        .filter(|record| record.change.subject == Subject::Agent(ana))
        .cloned()
        .collect();
    assert_eq!(expected.len(), 2, "created and renamed");
    assert_eq!(read(about_ana).await, expected);
    let by_ana = AuditQuery {
        actor: Some(ana),
        limit: 100,
        ..AuditQuery::default()
    };
    let expected: Vec<_> = all
        .iter()
        .filter(|record| record.change.actor.agent_id() == Some(ana))
        .cloned()
        .collect();
    assert_eq!(expected.len(), 1, "ana filed her leave");
    assert_eq!(read(by_ana).await, expected);

    let nothing = h.service.audit_log(&h.admin(), page(0, None)).await;
    assert!(
        matches!(nothing, Err(AdminError::Invalid(_))),
        "{nothing:?}"
    );
}

/// Staff and shift templates read back exactly as created, in id order, names in any
/// script included.
pub async fn staff_and_shift_templates_read_back_as_created(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let mut created = vec![h.admin.clone()];
    let mut agent = new_agent("wang.xm", Role::Agent, &["zh", "billing"]);
    agent.display_name = DisplayName::parse("王小明").expect("a valid name");
    created.push(
        h.service
            .create_agent(&h.admin(), agent)
            .await
            .expect("created"),
    );
    created.push(
        h.service
            .create_agent(&h.admin(), new_agent("second.admin", Role::Admin, &[]))
            .await
            .expect("created"),
    );
    created.sort_by_key(|agent| agent.id);
    let s = h.standard_shifts().await;
    let skilled = h
        .shift_requiring("billing-zh", "09:30", "18:15", "billing")
        .await;
    let mut shifts = vec![s.day, s.late, s.night, s.early, s.mid, skilled];
    shifts.sort_by_key(|shift| shift.id);

    let staff = h.service.agents(&h.admin()).await.expect("listed");
    assert_eq!(staff, created);
    let wang = staff.iter().find(|agent| agent.login.as_str() == "wang.xm");
    assert_eq!(wang.expect("listed").display_name.as_str(), "王小明");
    assert!(staff.iter().all(|agent| agent.active));
    for agent in &created {
        let read = h.service.agent(&h.admin(), agent.id).await.expect("read");
        assert_eq!(&read, agent);
    }
    assert_eq!(h.service.shifts(&h.admin()).await.expect("listed"), shifts);
}
