//! Schedule-aware routing: who gets a waiting conversation (on shift now, online, active, with
//! room; the least loaded, then the longest idle), how the queue drains, races for an agent's
//! last free slot or for one conversation, reopened conversations, and agents going away.

use std::sync::Arc;

use chrono::TimeDelta;
use shiftdesk_core::conversation::{
    Conversation, ConversationRefusal, ConversationStatus, Owner, StatusAction,
};
use shiftdesk_core::error::ConversationError;
use shiftdesk_core::event::DomainEvent;
use shiftdesk_core::ids::{AgentId, ConversationId, CustomerId};
use shiftdesk_core::message::{Message, MessageKind, Sender};
use shiftdesk_core::service::Routed;
use shiftdesk_core::staff::AgentUpdate;
use shiftdesk_core::store::Store;
use shiftdesk_core::time::Clock;
use tokio::sync::Barrier;

use crate::dialogs;
use crate::harness::{Harness, at, conversation_refusal};

/// A customer opens a conversation with a line from the corpus; returns it as routing left it.
async fn open(h: &Harness, customer: CustomerId) -> Conversation {
    let [line] = dialogs::turns("japanese", 1).try_into().expect("one turn");
    h.open(customer, line.as_str()).await
}

/// Opens a conversation and asserts it went to `agent`, with one system message naming them.
async fn assert_routed_to(h: &Harness, customer: CustomerId, agent: AgentId, name: &str) {
    let opened = open(h, customer).await;
    assert_eq!(opened.assignee(), Some(agent), "{name} gets it");
    assert_one_assignment(h, opened.id, name).await;
}

/// Asserts the conversation holds exactly one system message, saying `name` joined.
async fn assert_one_assignment(h: &Harness, id: ConversationId, name: &str) {
    let messages = h.messages(&h.admin(), id).await;
    let system: Vec<&Message> = messages
        .iter()
        .filter(|message| message.kind == MessageKind::System)
        .collect();
    let texts: Vec<&str> = system.iter().map(|message| message.body.as_str()).collect();
    assert_eq!(texts, vec![format!("{name} joined the conversation.")]);
    assert!(
        system
            .iter()
            .all(|message| message.sender == Sender::System)
    );
}

/// The assignments announced since `before` events, in order.
fn assigned_since(h: &Harness, before: usize) -> Vec<(ConversationId, AgentId)> {
    h.events_since(before)
        .into_iter()
        .filter_map(|event| match event {
            DomainEvent::ConversationAssigned {
                conversation,
                agent,
                ..
            } => Some((conversation, agent)),
            _ => None,
        })
        .collect()
}

/// A new conversation goes to the one agent who is on shift now, online, active and under
/// capacity. Each other agent misses exactly one of those (one's shift today is on approved
/// leave); nobody else available leaves the conversation queued; and once an agent's one
/// missing condition is mended (a shift that covers now, coming online, a freed slot,
/// reactivation, the leave revoked), the waiting conversation is theirs.
pub async fn a_new_conversation_goes_only_to_an_agent_on_shift_online_active_and_with_room(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let li = h.customer("Li").await;
    let full = h.agent("full").await;
    h.set_capacity(full, 1).await;
    h.on_duty(&[full]).await;
    let fulls = open(&h, li.id).await;
    assert_eq!(fulls.assignee(), Some(full));
    let ann = h.agent("ann").await;
    let off = h.agent("off").await;
    let away = h.agent("away").await;
    let gone = h.agent("gone").await;
    let resting = h.agent("resting").await;
    h.on_duty(&[ann, away, gone, resting]).await;
    let leave = h.approved_leave(resting, "2027-03-01", "2027-03-01").await;
    let dawn = h.shift("dawn", "04:00", "09:00").await;
    h.assign_one(off, &dawn, "2027-03-01").await;
    h.online(off);
    h.offline(away);
    h.deactivate(gone).await;

    assert_routed_to(&h, li.id, ann, "ann").await;
    h.offline(ann);
    let waiting = open(&h, li.id).await;
    assert_eq!(
        waiting.owner,
        Owner::Queued {
            since: waiting.created_at
        }
    );
    let messages = h.messages(&h.admin(), waiting.id).await;
    assert!(messages.iter().all(|m| m.kind != MessageKind::System));
    assert_eq!(
        h.service.route(waiting.id).await.expect("routed"),
        Routed::NoAgent
    );

    // Off shift: a shift covering now makes them available.
    let brunch = h.shift("brunch", "09:30", "17:30").await;
    h.assign_one(off, &brunch, "2027-03-01").await;
    let routed = h.service.route(waiting.id).await.expect("routed");
    assert_eq!(routed, Routed::Assigned(off));
    assert_one_assignment(&h, waiting.id, "off").await;
    h.offline(off);

    // Offline: coming online.
    let waiting = open(&h, li.id).await;
    assert_eq!(waiting.assignee(), None);
    h.online(away);
    let drained = h.service.agent_came_online(&h.as_agent(away), away).await;
    assert_eq!(drained.expect("routed"), vec![(waiting.id, away)]);
    h.offline(away);

    // At capacity: resolving frees the slot, and the waiting conversation takes it at once.
    let waiting = open(&h, li.id).await;
    assert_eq!(waiting.assignee(), None);
    h.service
        .change_status(&h.as_agent(full), fulls.id, StatusAction::Resolve)
        .await
        .expect("resolved");
    assert_eq!(h.conversation_now(waiting.id).await.assignee(), Some(full));

    // Inactive: reactivation.
    let waiting = open(&h, li.id).await;
    assert_eq!(waiting.assignee(), None);
    let back = AgentUpdate {
        active: Some(true),
        ..AgentUpdate::default()
    };
    h.service
        .update_agent(&h.admin(), gone, back)
        .await
        .expect("reactivated");
    let routed = h.service.route_waiting(&h.admin()).await.expect("routed");
    assert_eq!(routed, vec![(waiting.id, gone)]);
    h.offline(gone);

    // On leave: revoking it puts the shift back.
    let waiting = open(&h, li.id).await;
    assert_eq!(waiting.assignee(), None);
    let revoked = h.service.revoke_leave(&h.admin(), leave.id, None).await;
    revoked.expect("revoked");
    let routed = h.service.route(waiting.id).await.expect("routed");
    assert_eq!(routed, Routed::Assigned(resting));
}

/// The agent holding the fewest unresolved conversations gets the next one, even when a
/// busier colleague has waited longer; among equals, the one whose last assignment lies
/// furthest back, and someone never assigned before all.
pub async fn the_least_loaded_agent_wins_and_ties_go_to_the_longest_idle(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let li = h.customer("Li").await;
    let (a, b) = (h.agent("a").await, h.agent("b").await);
    h.on_duty(&[a, b]).await;
    let next = || {
        let h = h.clone();
        async move {
            let opened = open(&h, li.id).await;
            h.clock.advance(TimeDelta::minutes(1));
            opened
        }
    };
    let resolve = |conversation: Conversation| {
        let h = h.clone();
        async move {
            let holder = h.as_agent(conversation.assignee().expect("held"));
            h.service
                .change_status(&holder, conversation.id, StatusAction::Resolve)
                .await
                .expect("resolved");
        }
    };
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(next().await);
    }
    let winners: Vec<_> = held.iter().map(|c| c.assignee().expect("routed")).collect();
    // Both new: a (lower id); b (fewer); a (equal, idle since 10:00 against 10:01); b (fewer);
    // a (equal, idle since 10:02 against 10:03).
    assert_eq!(winners, vec![a, b, a, b, a]);

    // a drops to one while b, idle since 10:03, holds two: the load decides.
    resolve(held[0].clone()).await;
    resolve(held[2].clone()).await;
    let sixth = next().await;
    assert_eq!(
        sixth.assignee(),
        Some(a),
        "fewest first, however long b has waited"
    );
    held.push(sixth);

    // Everyone empty-handed: z never had one; then b (last at 10:03) before a (10:05).
    for conversation in [&held[1], &held[3], &held[4], &held[5]] {
        resolve(conversation.clone()).await;
    }
    let z = h.agent("z").await;
    h.on_duty(&[z]).await;
    let mut winners = Vec::new();
    for _ in 0..3 {
        winners.push(next().await.assignee().expect("routed"));
    }
    assert_eq!(winners, vec![z, b, a]);
}

/// Conversations waiting in the queue go, oldest in the queue first, to an agent the moment
/// they come online, up to the agent's capacity; the rest wait for the next. A conversation
/// reopened by its customer joins the back of the queue, whatever its age.
pub async fn the_queue_drains_oldest_first_when_an_agent_comes_online(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let (li, wu) = (h.customer("Li").await, h.customer("Wu").await);
    let (a, b) = (h.agent("a").await, h.agent("b").await);
    h.set_default_capacity(3).await;
    h.on_shift_now(&[a, b]).await;
    h.online(a);
    let oldest = open(&h, li.id).await;
    h.service
        .change_status(&h.as_agent(a), oldest.id, StatusAction::Resolve)
        .await
        .expect("resolved");
    h.offline(a);
    let mut waiting = Vec::new();
    for _ in 0..5 {
        h.clock.advance(TimeDelta::minutes(1));
        waiting.push(open(&h, wu.id).await.id);
    }
    h.clock.advance(TimeDelta::minutes(1));
    h.say(&h.as_customer(li.id), oldest.id, "又是我").await;
    assert_eq!(h.conversation_now(oldest.id).await.assignee(), None);

    h.online(a);
    let first = h.service.agent_came_online(&h.as_agent(a), a).await;
    h.online(b);
    let second = h.service.agent_came_online(&h.as_agent(b), b).await;

    let expected: Vec<_> = waiting[..3].iter().map(|&id| (id, a)).collect();
    assert_eq!(first.expect("routed"), expected);
    let expected = vec![(waiting[3], b), (waiting[4], b), (oldest.id, b)];
    assert_eq!(second.expect("routed"), expected);
    let nothing = h.service.agent_came_online(&h.as_agent(b), b).await;
    assert_eq!(nothing.expect("routed"), vec![]);
}

/// A waiting conversation an admin snoozed stays out of the queue until it wakes; waking it
/// sends it to routing.
pub async fn a_snoozed_waiting_conversation_is_routed_only_once_it_wakes(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let li = h.customer("Li").await;
    let a = h.agent("a").await;
    h.on_shift_now(&[a]).await;
    let waiting = open(&h, li.id).await;
    assert_eq!(waiting.assignee(), None, "nobody is online yet");
    let until = h.clock.now() + TimeDelta::minutes(30);
    h.service
        .change_status(&h.admin(), waiting.id, StatusAction::Snooze { until })
        .await
        .expect("snoozed");

    h.online(a);
    let routed = h.service.agent_came_online(&h.as_agent(a), a).await;
    assert_eq!(
        routed.expect("routed"),
        vec![],
        "a snoozed conversation does not wait for agents"
    );
    assert_eq!(h.conversation_now(waiting.id).await.assignee(), None);

    h.clock.advance(TimeDelta::minutes(31));
    let woken = h.service.wake_snoozed(&h.admin()).await.expect("woken");
    assert_eq!(woken, 1);
    let now = h.conversation_now(waiting.id).await;
    assert_eq!(now.status, ConversationStatus::Open);
    assert_eq!(now.assignee(), Some(a), "woken, it is routed at once");
    assert_one_assignment(&h, waiting.id, "a").await;
}

/// An agent whose shift starts later is passed over until it starts; then routing the queue
/// gives them what waited.
pub async fn waiting_conversations_go_to_an_agent_once_their_shift_starts(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let li = h.customer("Li").await;
    let late = h.agent("late").await;
    let noon = h.shift("noon", "12:00", "20:00").await;
    h.assign_one(late, &noon, "2027-03-01").await;
    h.online(late);
    let waiting = open(&h, li.id).await;
    assert_eq!(waiting.assignee(), None);

    h.clock.set(at("2027-03-01T11:59:00Z"));
    assert_eq!(
        h.service.route_waiting(&h.admin()).await.expect("run"),
        vec![]
    );
    h.clock.set(at("2027-03-01T12:00:00Z"));
    let routed = h.service.route_waiting(&h.admin()).await.expect("run");

    assert_eq!(routed, vec![(waiting.id, late)]);
    let now = h.conversation_now(waiting.id).await;
    let since = at("2027-03-01T12:00:00Z");
    assert_eq!(now.owner, Owner::Agent { agent: late, since });
}

/// Several routers racing for the last free slot of the only available agent fill it once:
/// one conversation is assigned, the others stay queued without a system message, and the
/// agent never holds more than their capacity. Repeated with a growing capacity.
pub async fn routers_racing_for_an_agents_last_free_slot_fill_it_once(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let li = h.customer("Li").await;
    let a = h.agent("a").await;
    h.set_capacity(a, 1).await;
    h.on_shift_now(&[a]).await;
    let racers = 3;

    for capacity in 1..=4u32 {
        h.set_capacity(a, capacity).await;
        h.offline(a);
        let mut waiting = Vec::new();
        for _ in 0..racers {
            waiting.push(open(&h, li.id).await.id);
        }
        assert_eq!(h.load_of(a).await, u64::from(capacity - 1));
        h.online(a);
        let start = Arc::new(Barrier::new(racers));
        let mut tasks = Vec::new();
        for &id in &waiting {
            let (h, start) = (h.clone(), start.clone());
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                (id, h.service.route(id).await.expect("routed"))
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("a router finishes"));
        }

        let won: Vec<_> = outcomes
            .iter()
            .filter(|(_, routed)| *routed == Routed::Assigned(a))
            .collect();
        assert_eq!(won.len(), 1, "one router wins: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|(_, routed)| matches!(routed, Routed::Assigned(_) | Routed::NoAgent))
        );
        assert_eq!(
            h.load_of(a).await,
            u64::from(capacity),
            "full, not overfilled"
        );
        for &id in &waiting {
            let now = h.conversation_now(id).await;
            let assignments = h.messages(&h.admin(), id).await;
            let assignments = assignments.iter().filter(|m| m.kind == MessageKind::System);
            let expected = usize::from(id == won[0].0);
            assert_eq!(
                assignments.count(),
                expected,
                "one system message per assignment"
            );
            assert_eq!(now.assignee().is_some(), id == won[0].0);
        }
        // Resolve the losers, so the next round starts with an empty queue.
        for &id in waiting.iter().filter(|&&id| id != won[0].0) {
            h.service
                .change_status(&h.admin(), id, StatusAction::Resolve)
                .await
                .expect("resolved");
        }
    }
}

/// An agent with one free slot taking two waiting conversations at once gets exactly one;
/// the other is refused naming their load and capacity, and stays queued. The same holds
/// when the agent's take races a router.
pub async fn an_agent_taking_two_conversations_with_one_free_slot_gets_exactly_one(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let li = h.customer("Li").await;
    let a = h.agent("a").await;
    h.set_capacity(a, 2).await;
    h.on_duty(&[a]).await;
    open(&h, li.id).await;
    h.offline(a);
    let (first, second) = (open(&h, li.id).await.id, open(&h, li.id).await.id);

    let start = Arc::new(Barrier::new(2));
    let mut tasks = Vec::new();
    for id in [first, second] {
        let (h, start) = (h.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            h.service.take_conversation(&h.as_agent(a), id).await
        }));
    }
    let mut taken = 0;
    for task in tasks {
        match task.await.expect("a take finishes") {
            Ok(conversation) => {
                assert_eq!(conversation.assignee(), Some(a));
                taken += 1;
            }
            refused => assert_eq!(
                conversation_refusal(refused),
                ConversationRefusal::AtCapacity {
                    agent: a,
                    open: 2,
                    capacity: 2
                }
            ),
        }
    }
    assert_eq!(taken, 1);
    assert_eq!(h.load_of(a).await, 2);
    let mut waiting = 0;
    for id in [first, second] {
        waiting += usize::from(h.conversation_now(id).await.assignee().is_none());
    }
    assert_eq!(waiting, 1, "the refused one stays queued");

    // A take racing a router for the last slot.
    h.set_capacity(a, 3).await;
    h.online(a);
    let third = open(&h, li.id).await;
    assert_eq!(third.assignee(), Some(a), "routing fills the new slot");
    h.set_capacity(a, 4).await;
    h.offline(a);
    let (routed, grabbed) = (open(&h, li.id).await.id, open(&h, li.id).await.id);
    h.online(a);
    let start = Arc::new(Barrier::new(2));
    let router = {
        let (h, start) = (h.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            h.service.route(routed).await.expect("routed") == Routed::Assigned(a)
        })
    };
    let taker = {
        let (h, start) = (h.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            h.service
                .take_conversation(&h.as_agent(a), grabbed)
                .await
                .is_ok()
        })
    };
    let won = [router.await.expect("done"), taker.await.expect("done")];
    assert_eq!(won.iter().filter(|&&won| won).count(), 1, "{won:?}");
    assert_eq!(h.load_of(a).await, 4);
}

/// Agents taking the same waiting conversation at once leave it with one owner and one
/// system message; everyone else is told who has it. Repeated for several conversations.
pub async fn agents_taking_the_same_conversation_at_once_leave_one_owner_and_one_system_message(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let li = h.customer("Li").await;
    let agents = h.agents("agent", 3).await;
    h.on_shift_now(&agents).await;

    for _ in 0..4 {
        let id = open(&h, li.id).await.id;
        let before = h.events.events().len();
        let start = Arc::new(Barrier::new(agents.len()));
        let mut tasks = Vec::new();
        for &agent in &agents {
            let (h, start) = (h.clone(), start.clone());
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                (
                    agent,
                    h.service.take_conversation(&h.as_agent(agent), id).await,
                )
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("a take finishes"));
        }

        let winners: Vec<AgentId> = outcomes
            .iter()
            .filter(|(_, outcome)| outcome.is_ok())
            .map(|(agent, _)| *agent)
            .collect();
        assert_eq!(winners.len(), 1, "one owner: {outcomes:?}");
        let owner = winners[0];
        for (agent, outcome) in outcomes.into_iter().filter(|(agent, _)| *agent != owner) {
            assert_eq!(
                conversation_refusal(outcome),
                ConversationRefusal::AlreadyTaken { holder: owner },
                "{agent} is told who has it"
            );
        }
        let now = h.conversation_now(id).await;
        assert_eq!(now.assignee(), Some(owner));
        assert_eq!(now.handled_by, [owner].into());
        let name = format!(
            "agent-{:02}",
            agents.iter().position(|&a| a == owner).expect("known") + 1
        );
        assert_one_assignment(&h, id, &name).await;
        assert_eq!(assigned_since(&h, before), vec![(id, owner)]);
    }
}

/// A customer writing in a resolved conversation reopens it and it is routed afresh: to an
/// agent on shift and online now, not back to its previous holder who went offline or whose
/// shift ended. With nobody available it waits in the queue rather than going back to them.
pub async fn a_conversation_reopened_by_its_customer_goes_to_an_agent_on_duty_not_its_absent_holder(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let li = h.customer("Li").await;
    let customer = h.as_customer(li.id);
    let (mei, bo, cy) = (
        h.agent("mei").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    h.on_duty(&[mei]).await;
    let first = open(&h, li.id).await;
    let second = open(&h, li.id).await;
    for conversation in [&first, &second] {
        assert_eq!(conversation.assignee(), Some(mei));
        h.service
            .change_status(&h.as_agent(mei), conversation.id, StatusAction::Resolve)
            .await
            .expect("resolved");
    }

    // Mei goes offline; nobody else is on duty: the reopened conversation waits.
    h.offline(mei);
    h.clock.advance(TimeDelta::minutes(5));
    let before = h.events.events().len();
    h.say(&customer, first.id, "还在吗？").await;
    let waiting = h.conversation_now(first.id).await;
    assert_eq!(waiting.status, ConversationStatus::Open);
    assert_eq!(waiting.owner, Owner::Queued { since: h.now() });
    assert!(waiting.handled_by.contains(&mei), "mei may still read it");
    assert!(
        h.events_since(before)
            .contains(&DomainEvent::ConversationQueued {
                conversation: first.id,
                customer: li.id,
                from: Some(mei),
            })
    );
    h.on_duty(&[bo]).await;
    h.online(bo);
    let drained = h.service.agent_came_online(&h.as_agent(bo), bo).await;
    assert_eq!(drained.expect("routed"), vec![(first.id, bo)]);
    let now = h.conversation_now(first.id).await;
    assert_eq!(now.handled_by, [mei, bo].into());

    // Mei is online again but her shift has ended; cy's late shift has begun.
    h.online(mei);
    let late = h.shift("late", "16:00", "23:00").await;
    h.assign_one(cy, &late, "2027-03-01").await;
    h.online(cy);
    h.offline(bo);
    h.clock.set(at("2027-03-01T17:00:00Z"));
    h.say(&customer, second.id, "Doch noch eine Frage").await;
    let now = h.conversation_now(second.id).await;
    assert_eq!(now.assignee(), Some(cy));
    assert_eq!(now.status, ConversationStatus::Open);
}

/// When an agent goes offline or their shift ends, their open conversations stay with them
/// unless the team says to hand them back; then each goes back to routing (to a colleague on
/// duty) and resolved ones stay put. Only the agent themselves or an admin reports it.
pub async fn an_agent_going_away_hands_back_open_conversations_only_when_the_team_says_so(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let li = h.customer("Li").await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    h.on_duty(&[mei]).await;
    let open_one = open(&h, li.id).await.id;
    let pending = open(&h, li.id).await.id;
    let resolved = open(&h, li.id).await.id;
    let mei_ctx = h.as_agent(mei);
    h.service
        .change_status(&mei_ctx, pending, StatusAction::MarkPending)
        .await
        .expect("pending");
    h.service
        .change_status(&mei_ctx, resolved, StatusAction::Resolve)
        .await
        .expect("resolved");
    h.on_duty(&[bo]).await;

    h.offline(mei);
    let kept = h.service.agent_went_away(&mei_ctx, mei).await;
    assert_eq!(kept.expect("reported"), vec![]);
    assert_eq!(
        h.load_of(mei).await,
        2,
        "without the setting she keeps them"
    );
    let refused = h.service.agent_went_away(&h.as_agent(bo), mei).await;
    assert!(matches!(refused, Err(ConversationError::Forbidden)));

    h.set_requeue_when_away(true).await;
    let before = h.events.events().len();
    let handed = h.service.agent_went_away(&mei_ctx, mei).await;
    let mut handed = handed.expect("reported");
    handed.sort_unstable();

    assert_eq!(handed, vec![(open_one, bo), (pending, bo)]);
    assert_eq!(h.load_of(mei).await, 0);
    assert_eq!(h.conversation_now(resolved).await.assignee(), Some(mei));
    let queued: Vec<_> = h
        .events_since(before)
        .into_iter()
        .filter(|event| matches!(event, DomainEvent::ConversationQueued { from: Some(from), .. } if *from == mei))
        .collect();
    assert_eq!(queued.len(), 2);
    let now = h.conversation_now(pending).await;
    assert_eq!(
        now.status,
        ConversationStatus::Pending,
        "the status travels along"
    );
    assert_eq!(now.handled_by, [mei, bo].into());
}
