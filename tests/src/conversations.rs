//! Messages and the life of a conversation: sequence numbers under concurrent senders,
//! idempotent retries, resume and history reads, the status state machine, waking up, read
//! positions and unread counts, refusals that leave no trace, and the events the real-time
//! hub hears.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use shiftdesk_core::Service;
use shiftdesk_core::canned::{NewCannedReply, ReplyScope, Template};
use shiftdesk_core::conversation::{
    Conversation, ConversationRefusal, ConversationStatus, NewCustomer, Owner, StatusAction,
    StatusKind,
};
use shiftdesk_core::error::{CannedError, ConversationError};
use shiftdesk_core::event::{DomainEvent, Notifier, RecordingNotifier};
use shiftdesk_core::ids::ConversationId;
use shiftdesk_core::message::{Message, MessageKind, NewMessage, Participant, Sender};
use shiftdesk_core::service::Outgoing;
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::store::Store;
use shiftdesk_core::text::{
    ClientMessageId, DisplayName, ExternalId, MessageBody, Shortcode, Title,
};
use shiftdesk_core::time::{Clock, ManualClock};
use shiftdesk_core::transfer::{TransferRefusal, TransferRequest};
use tokio::sync::Barrier;

use crate::admin::{Seen, Witness};
use crate::dialogs;
use crate::harness::{
    DESK_TIME, Harness, assert_conversation_not_found, at, conversation_refusal, outgoing,
    outgoing_with_id, seq, seqs, transfer_refusal,
};

/// How many tasks write at once in the concurrency case, and how many messages each.
const SENDERS: usize = 8;
const PER_SENDER: usize = 25;

/// A conversation opened by a new customer and routed to a new agent on duty, with `count`
/// more messages from the corpus, customer and agent taking turns, one in ten a private note.
async fn chat(h: &Harness, login: &str, count: usize) -> (Conversation, Vec<Message>) {
    let agent = h.agent(login).await;
    h.on_duty(&[agent]).await;
    let customer = h.customer(&format!("customer of {login}")).await;
    let opened = h.open(customer.id, "您好").await;
    assert_eq!(
        opened.assignee(),
        Some(agent),
        "the only agent on duty gets it"
    );
    let (customer, staff) = (h.as_customer(customer.id), h.as_agent(agent));
    for (n, body) in dialogs::mixed(count).into_iter().enumerate() {
        let (ctx, kind) = match n % 5 {
            0 | 2 => (&customer, MessageKind::Message),
            4 if n % 10 == 4 => (&staff, MessageKind::Note),
            _ => (&staff, MessageKind::Message),
        };
        let outgoing = Outgoing {
            client_id: None,
            kind,
            body,
        };
        h.service
            .send(ctx, opened.id, outgoing)
            .await
            .expect("stored");
        h.clock.advance(TimeDelta::seconds(30));
    }
    let all = h.messages(&h.admin(), opened.id).await;
    (h.conversation_now(opened.id).await, all)
}

/// Many customers, agents and admins writing into one conversation at the same moment get
/// numbers that rise within each sender's own sequence, never repeat, and leave no gap; every
/// message reads back under its number exactly as sent, in many scripts.
pub async fn sequence_numbers_rise_without_gaps_while_many_senders_write_at_once(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let mei = h.agent("mei").await;
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let opened = h.open(li.id, "你好").await;
    let before = h.conversation_now(opened.id).await.last_seq;
    assert_eq!(
        before,
        Some(seq(2)),
        "the first message, then the assignment"
    );
    let texts = dialogs::mixed(SENDERS * PER_SENDER);
    let start = Arc::new(Barrier::new(SENDERS));

    let mut tasks = Vec::new();
    for sender in 0..SENDERS {
        let (h, start) = (h.clone(), start.clone());
        let (ctx, kind) = match sender % 3 {
            0 => (h.as_customer(li.id), MessageKind::Message),
            1 => (h.as_agent(mei), MessageKind::Message),
            _ => (h.admin(), MessageKind::Note),
        };
        let bodies = texts[sender * PER_SENDER..][..PER_SENDER].to_vec();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut sent = Vec::new();
            for (n, body) in bodies.into_iter().enumerate() {
                let client_id = (n % 2 == 0).then(|| {
                    ClientMessageId::parse(&format!("sender-{sender}:{n}")).expect("valid")
                });
                let outgoing = Outgoing {
                    client_id,
                    kind,
                    body,
                };
                let appended = h.service.send(&ctx, opened.id, outgoing).await;
                let appended = appended.expect("the message is stored");
                assert!(!appended.duplicate, "every client id is new");
                sent.push(appended.message);
            }
            sent
        }));
    }
    let mut sent = Vec::new();
    for task in tasks {
        let mine = task.await.expect("a sender finishes");
        let numbers = seqs(&mine);
        assert!(
            numbers.windows(2).all(|pair| pair[0] < pair[1]),
            "one sender's numbers rise: {numbers:?}"
        );
        sent.extend(mine);
    }

    let total = (SENDERS * PER_SENDER) as u64 + 2;
    let mut numbers = seqs(&sent);
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (3..=total).collect::<Vec<_>>(),
        "no repeat, no gap"
    );
    let stored = h.messages(&h.admin(), opened.id).await;
    assert_eq!(seqs(&stored), (1..=total).collect::<Vec<_>>());
    for message in &sent {
        let index = usize::try_from(message.seq.get() - 1).expect("small");
        assert_eq!(&stored[index], message, "the message reads back as sent");
    }
    let now = h.conversation_now(opened.id).await;
    assert_eq!(now.last_seq, Some(seq(total)));
}

/// Sending the same client id again stores nothing: the first message comes back with its
/// number and `duplicate` set, nothing is announced, and no number is used up, even when
/// the retries race or the conversation was resolved meanwhile. Another conversation may use
/// the same id.
pub async fn a_retried_client_id_stores_one_message_and_returns_the_same_number(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let mei = h.agent("mei").await;
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let customer = h.as_customer(li.id);
    let opened = h.open(li.id, "你好").await;
    let [first, second] = dialogs::turns("korean", 2).try_into().expect("two turns");

    let sent = Outgoing {
        client_id: Some(ClientMessageId::parse("retry-1").expect("valid")),
        kind: MessageKind::Message,
        body: first,
    };
    let stored = h.service.send(&customer, opened.id, sent.clone()).await;
    let stored = stored.expect("stored");
    assert!(!stored.duplicate);
    let events = h.events.events().len();
    let retry = Outgoing {
        body: second,
        ..sent.clone()
    };
    let again = h.service.send(&customer, opened.id, retry).await;
    let again = again.expect("answered");

    assert!(again.duplicate);
    assert_eq!(
        again.message, stored.message,
        "the first message comes back"
    );
    assert_eq!(h.events.events().len(), events, "a retry announces nothing");
    let next = h.say(&h.as_agent(mei), opened.id, "收到").await;
    assert_eq!(
        next.seq,
        stored.message.seq.next(),
        "the retry used no number"
    );

    // Retries racing each other.
    let start = Arc::new(Barrier::new(4));
    let racing = outgoing_with_id(MessageKind::Message, "在吗？", "retry-2");
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (h, start, ctx, racing) = (h.clone(), start.clone(), customer.clone(), racing.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            h.service
                .send(&ctx, opened.id, racing)
                .await
                .expect("answered")
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("a retry finishes"));
    }
    assert_eq!(answers.iter().filter(|a| !a.duplicate).count(), 1);
    assert!(answers.iter().all(|a| a.message == answers[0].message));
    let stored_now = h.messages(&h.admin(), opened.id).await;
    let with_id = |id: &str| {
        let id = ClientMessageId::parse(id).expect("valid");
        let found = stored_now
            .iter()
            .filter(|m| m.client_id.as_ref() == Some(&id));
        found.count()
    };
    assert_eq!((with_id("retry-1"), with_id("retry-2")), (1, 1));

    // A retry after the agent resolved the conversation does not reopen it.
    let resolved = h
        .service
        .change_status(&h.as_agent(mei), opened.id, StatusAction::Resolve)
        .await;
    assert!(resolved.expect("resolved").status.is_resolved());
    let late = h.service.send(&customer, opened.id, sent).await;
    assert!(late.expect("answered").duplicate);
    assert!(h.conversation_now(opened.id).await.status.is_resolved());

    // The same client id in another conversation is another message.
    let other = h.open(li.id, "还有一个问题").await;
    let elsewhere = outgoing_with_id(MessageKind::Message, "第二个", "retry-1");
    let elsewhere = h.service.send(&customer, other.id, elsewhere).await;
    let elsewhere = elsewhere.expect("stored");
    assert!(!elsewhere.duplicate);
    assert_eq!(elsewhere.message.conversation, other.id);
}

/// A client id belongs to its sender: a customer whose client happens to pick the id of a
/// private note gets their own message stored, never the note back, and an agent's retry
/// never returns the customer's message.
pub async fn a_client_id_is_the_senders_own_so_another_senders_id_never_returns_their_message(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let mei = h.agent("mei").await;
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let opened = h.open(li.id, "你好").await;
    let note = outgoing_with_id(MessageKind::Note, "客户很着急，内部跟进", "msg-1");
    let note = h.service.send(&h.as_agent(mei), opened.id, note).await;
    let note = note.expect("stored").message;

    let from_customer = outgoing_with_id(MessageKind::Message, "我想退票", "msg-1");
    let answer = h
        .service
        .send(&h.as_customer(li.id), opened.id, from_customer)
        .await;
    let answer = answer.expect("stored");

    assert!(!answer.duplicate, "another sender's id is not a retry");
    assert_eq!(answer.message.sender, Sender::Customer(li.id));
    assert_eq!(answer.message.body.as_str(), "我想退票");
    assert_eq!(answer.message.seq, note.seq.next());
    let from_admin = outgoing_with_id(MessageKind::Message, "您好", "msg-1");
    let by_admin = h.service.send(&h.admin(), opened.id, from_admin).await;
    assert!(!by_admin.expect("stored").duplicate);
    let retry = outgoing_with_id(MessageKind::Note, "客户很着急，内部跟进", "msg-1");
    let retried = h.service.send(&h.as_agent(mei), opened.id, retry).await;
    let retried = retried.expect("answered");
    assert!(
        retried.duplicate,
        "the note's own sender retrying is a retry"
    );
    assert_eq!(retried.message, note);
    let seen = h.messages(&h.as_customer(li.id), opened.id).await;
    assert!(seen.iter().all(|message| message.kind != MessageKind::Note));
}

/// Shiftdesk's own messages have no sender id, yet a retry with the same client id is stored
/// once like anyone's: sent through the service one after another or racing, and appended in
/// a store transaction.
pub async fn a_retried_system_message_with_one_client_id_is_stored_once(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let li = h.customer("Li").await;
    let opened = h.open(li.id, "你好").await;
    let system = Context::new(Actor::System);
    let notice = outgoing_with_id(MessageKind::Message, "We will be back at nine.", "away-1");

    let first = h.service.send(&system, opened.id, notice.clone()).await;
    let first = first.expect("stored");
    let again = h.service.send(&system, opened.id, notice).await;
    let again = again.expect("answered");
    assert!(!first.duplicate);
    assert_eq!(first.message.sender, Sender::System);
    assert!(again.duplicate, "the retry is a retry");
    assert_eq!(again.message, first.message);

    let start = Arc::new(Barrier::new(4));
    let racing = outgoing_with_id(MessageKind::Message, "Still here.", "away-2");
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (h, start, system, racing) = (h.clone(), start.clone(), system.clone(), racing.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            h.service.send(&system, opened.id, racing).await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("a retry finishes").expect("answered"));
    }
    assert_eq!(answers.iter().filter(|a| !a.duplicate).count(), 1);
    assert!(answers.iter().all(|a| a.message == answers[0].message));

    let in_tx = NewMessage {
        conversation: opened.id,
        client_id: Some(ClientMessageId::parse("away-3").expect("valid")),
        sender: Sender::System,
        kind: MessageKind::System,
        body: MessageBody::parse("Routing resumed.").expect("valid"),
        sent_at: h.now(),
    };
    let mut tx = h.store.begin().await.expect("begin");
    let stored = tx.append_message(&in_tx).await.expect("stored");
    tx.commit().await.expect("commit");
    let mut tx = h.store.begin().await.expect("begin");
    let retried = tx.append_message(&in_tx).await.expect("answered");
    tx.commit().await.expect("commit");
    assert!(!stored.duplicate);
    assert!(retried.duplicate, "the store's own retry is a retry");
    assert_eq!(retried.message, stored.message);

    let all = h.messages(&h.admin(), opened.id).await;
    for id in ["away-1", "away-2", "away-3"] {
        let id = ClientMessageId::parse(id).expect("valid");
        let count = all.iter().filter(|m| m.client_id.as_ref() == Some(&id));
        assert_eq!(count.count(), 1, "{id:?} is stored once");
    }
}

/// Asking for the messages after any number N returns exactly those numbered above N, in
/// order, a page at a time; a customer's resume skips the notes but nothing else.
pub async fn resuming_after_a_sequence_number_returns_exactly_the_later_messages_in_order(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let (conversation, all) = chat(&h, "mei", 30).await;
    let id = conversation.id;
    let last = all.len() as u64;
    let customer = h.as_customer(conversation.customer);
    let public: Vec<Message> = all.iter().filter(|m| m.is_public()).cloned().collect();
    assert!(public.len() < all.len(), "the chat holds notes");

    for n in 0..=last + 2 {
        let after = (n > 0).then(|| seq(n));
        let read = h.service.messages_after(&h.admin(), id, after, 500).await;
        let expected: Vec<Message> = all.iter().filter(|m| m.seq.get() > n).cloned().collect();
        assert_eq!(read.expect("read"), expected, "after {n}");
        let read = h.service.messages_after(&customer, id, after, 500).await;
        let expected: Vec<Message> = public.iter().filter(|m| m.seq.get() > n).cloned().collect();
        assert_eq!(
            read.expect("read"),
            expected,
            "a customer's resume after {n}"
        );
    }
    let page = h
        .service
        .messages_after(&h.admin(), id, Some(seq(5)), 7)
        .await;
    assert_eq!(seqs(&page.expect("read")), (6..=12).collect::<Vec<_>>());
    let page = h
        .service
        .messages_after(&customer, id, Some(seq(5)), 4)
        .await;
    let expected: Vec<Message> = public
        .iter()
        .filter(|m| m.seq.get() > 5)
        .take(4)
        .cloned()
        .collect();
    assert_eq!(page.expect("read"), expected);
    for limit in [0, 501] {
        let refused = h.service.messages_after(&h.admin(), id, None, limit).await;
        assert!(
            matches!(refused, Err(ConversationError::Invalid(_))),
            "limit {limit}"
        );
    }
}

/// A page of history before number N ends just before N and holds the latest `limit` of the
/// earlier messages, oldest first; paging backwards from the end rebuilds the whole history.
pub async fn history_pages_before_a_sequence_number_end_just_before_it(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let (conversation, all) = chat(&h, "mei", 30).await;
    let id = conversation.id;
    let last = all.len() as u64;
    let customer = h.as_customer(conversation.customer);

    let latest = h.service.messages_before(&h.admin(), id, None, 10).await;
    assert_eq!(
        seqs(&latest.expect("read")),
        (last - 9..=last).collect::<Vec<_>>()
    );
    for n in 1..=last + 1 {
        let page = h
            .service
            .messages_before(&h.admin(), id, Some(seq(n)), 10)
            .await;
        let expected: Vec<u64> = (n.saturating_sub(10).max(1)..n).collect();
        assert_eq!(seqs(&page.expect("read")), expected, "before {n}");
    }
    let mut rebuilt: Vec<Message> = Vec::new();
    let mut customer_rebuilt: Vec<Message> = Vec::new();
    loop {
        let before = rebuilt.first().map(|m| m.seq);
        let page = h.service.messages_before(&h.admin(), id, before, 7).await;
        let mut page = page.expect("read");
        if page.is_empty() {
            break;
        }
        page.append(&mut rebuilt);
        rebuilt = page;
    }
    loop {
        let before = customer_rebuilt.first().map(|m| m.seq);
        let page = h.service.messages_before(&customer, id, before, 4).await;
        let mut page = page.expect("read");
        assert!(page.len() <= 4);
        if page.is_empty() {
            break;
        }
        page.append(&mut customer_rebuilt);
        customer_rebuilt = page;
    }
    assert_eq!(rebuilt, all);
    let public: Vec<Message> = all.into_iter().filter(|m| m.is_public()).collect();
    assert_eq!(
        customer_rebuilt, public,
        "customers page through without notes"
    );
}

/// A conversation held by the agent and brought to `kind` (resolved at 10:00, snoozed until
/// noon).
async fn held_in(h: &Harness, agent: Context, customer: Context, kind: StatusKind) -> Conversation {
    let id = h
        .service
        .open_conversation(
            &customer,
            None,
            Some(outgoing(MessageKind::Message, "hello")),
        )
        .await
        .expect("opened")
        .id;
    let action = match kind {
        StatusKind::Open => return h.conversation_now(id).await,
        StatusKind::Pending => StatusAction::MarkPending,
        StatusKind::Snoozed => StatusAction::Snooze {
            until: at("2027-03-01T12:00:00Z"),
        },
        StatusKind::Resolved => StatusAction::Resolve,
    };
    let changed = h.service.change_status(&agent, id, action).await;
    let changed = changed.expect("the status changes");
    assert_eq!(changed.status.kind(), kind);
    changed
}

/// Every status action from every state: the allowed ones land where the state machine says
/// (snoozing again moves the wake-up time; reopening sends the conversation back through
/// routing), every other one is refused naming the state and the action, and changes nothing.
pub async fn status_changes_follow_the_state_machine_and_refuse_every_other_action(
    store: Arc<dyn Store>,
) {
    use StatusAction as A;
    use StatusKind as K;
    let h = Harness::at_desk(store).await;
    let mei = h.agent("mei").await;
    h.set_capacity(mei, 100).await;
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let (agent, customer) = (h.as_agent(mei), h.as_customer(li.id));
    let later = at("2027-03-01T15:00:00Z");
    let now = at(DESK_TIME);
    let actions = [
        A::MarkPending,
        A::MarkOpen,
        A::Snooze { until: later },
        A::Resolve,
        A::Reopen,
    ];
    let allowed = |from: K, action: A| -> Option<ConversationStatus> {
        match (from, action) {
            (K::Open, A::MarkPending) => Some(ConversationStatus::Pending),
            (K::Pending | K::Snoozed, A::MarkOpen) => Some(ConversationStatus::Open),
            (K::Open | K::Pending | K::Snoozed, A::Snooze { until }) => {
                Some(ConversationStatus::Snoozed { until })
            }
            (K::Open | K::Pending | K::Snoozed, A::Resolve) => {
                Some(ConversationStatus::Resolved { at: now })
            }
            (K::Resolved, A::Reopen) => Some(ConversationStatus::Open),
            _ => None,
        }
    };

    for from in [K::Open, K::Pending, K::Snoozed, K::Resolved] {
        for action in actions {
            let before = held_in(&h, agent.clone(), customer.clone(), from).await;
            let world = h.desk_world().await;
            let assignments = system_messages(&h, before.id).await;
            let outcome = h.service.change_status(&agent, before.id, action).await;
            match allowed(from, action) {
                Some(status) => {
                    let after = outcome.expect("an allowed transition");
                    assert_eq!(after.status, status, "{action} from {from}");
                    assert_eq!(after.assignee(), Some(mei));
                    let routed = usize::from(action == A::Reopen);
                    assert_eq!(
                        system_messages(&h, before.id).await,
                        assignments + routed,
                        "only a reopened conversation is routed (to mei) again"
                    );
                }
                None => {
                    let refusal = conversation_refusal(outcome);
                    assert_eq!(
                        refusal,
                        ConversationRefusal::InvalidTransition { from, action },
                        "{action} from {from}"
                    );
                    assert_eq!(
                        h.desk_world().await,
                        world,
                        "a refused {action} changes nothing"
                    );
                }
            }
        }
    }

    let open = held_in(&h, agent.clone(), customer.clone(), K::Open).await;
    let world = h.desk_world().await;
    for until in [now, now - TimeDelta::minutes(1)] {
        let past = h
            .service
            .change_status(&agent, open.id, A::Snooze { until })
            .await;
        assert_eq!(
            conversation_refusal(past),
            ConversationRefusal::SnoozeInPast
        );
    }
    let by_customer = h
        .service
        .change_status(&customer, open.id, A::Resolve)
        .await;
    assert!(matches!(by_customer, Err(ConversationError::Forbidden)));
    assert_eq!(h.desk_world().await, world);
}

/// A customer's message wakes a snoozed or pending conversation for the agent who holds it
/// (no routing, no new assignment); the agent's own message wakes nothing.
pub async fn a_customers_message_wakes_a_snoozed_or_pending_conversation_for_its_holder(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let (agent, customer) = (h.as_agent(mei), h.as_customer(li.id));
    h.on_duty(&[bo]).await;

    for kind in [StatusKind::Snoozed, StatusKind::Pending] {
        h.offline(bo);
        let held = held_in(&h, agent.clone(), customer.clone(), kind).await;
        h.online(bo);
        h.say(&agent, held.id, "Let me check that for you.").await;
        assert_eq!(h.conversation_now(held.id).await.status.kind(), kind);
        let assigned_before = system_messages(&h, held.id).await;

        let [text] = dialogs::turns("hindi", 1).try_into().expect("one turn");
        h.say(&customer, held.id, text.as_str()).await;

        let woken = h.conversation_now(held.id).await;
        assert_eq!(woken.status, ConversationStatus::Open, "{kind} wakes up");
        assert_eq!(woken.owner, held.owner, "the holder keeps it");
        assert_eq!(system_messages(&h, held.id).await, assigned_before);
    }
}

/// How many system messages (assignments) a conversation holds.
async fn system_messages(h: &Harness, id: ConversationId) -> usize {
    let all = h.messages(&h.admin(), id).await;
    all.iter().filter(|m| m.kind == MessageKind::System).count()
}

/// A snooze ends by itself: waking before its time does nothing, at its time the
/// conversation is open again for its holder, once. Only admins (and Shiftdesk) run it.
pub async fn a_snoozed_conversation_wakes_by_itself_once_its_time_has_come(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let mei = h.agent("mei").await;
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let (agent, customer) = (h.as_agent(mei), h.as_customer(li.id));
    let snoozed = held_in(&h, agent.clone(), customer.clone(), StatusKind::Snoozed).await;
    let open = held_in(&h, agent.clone(), customer, StatusKind::Open).await;

    h.clock.set(at("2027-03-01T11:59:59Z"));
    let early = h.service.wake_snoozed(&h.admin()).await;
    assert_eq!(early.expect("run"), 0);
    assert_eq!(h.conversation_now(snoozed.id).await, snoozed);
    let by_agent = h.service.wake_snoozed(&agent).await;
    assert!(matches!(by_agent, Err(ConversationError::Forbidden)));

    h.clock.set(at("2027-03-01T12:00:00Z"));
    let events = h.events.events().len();
    let woken = h.service.wake_snoozed(&h.admin()).await;
    assert_eq!(woken.expect("run"), 1);
    let now = h.conversation_now(snoozed.id).await;
    assert_eq!(now.status, ConversationStatus::Open);
    assert_eq!(now.owner, snoozed.owner);
    assert_eq!(h.conversation_now(open.id).await, open);
    assert_eq!(
        h.events.events().split_off(events),
        vec![DomainEvent::ConversationStatusChanged {
            conversation: snoozed.id,
            customer: li.id,
            assignee: Some(mei),
            status: ConversationStatus::Open,
        }]
    );
    let again = h.service.wake_snoozed(&Context::new(Actor::System)).await;
    assert_eq!(again.expect("run"), 0, "it wakes once");
}

/// Unread counts hold the messages after the reader's position that others wrote: staff
/// count notes and system messages, customers count neither notes nor their own messages.
pub async fn unread_counts_leave_out_own_messages_and_customers_never_count_notes(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let (agent, customer) = (h.as_agent(mei), h.as_customer(li.id));
    let id = h.open(li.id, "Доброе утро! Как дела?").await.id; // 1, and 2: mei joins
    h.say(&agent, id, "Хорошо, а у тебя?").await; // 3
    h.note(mei, id, "постоянный клиент").await; // 4
    h.say(&customer, id, "Да, тоже не плохо").await; // 5
    h.say(&customer, id, "Рад слышать.").await; // 6
    h.say(&h.admin(), id, "Добрый день").await; // 7
    let unread = |ctx: Context| {
        let h = h.clone();
        async move { h.service.unread_count(&ctx, id).await.expect("counted") }
    };

    assert_eq!(unread(customer.clone()).await, 3, "2, 3 and 7");
    assert_eq!(
        unread(agent.clone()).await,
        5,
        "1, 2, 5, 6 and 7; 3 and 4 are hers"
    );
    assert_eq!(unread(h.admin()).await, 6, "all but 7");
    h.service
        .mark_read(&customer, id, seq(3))
        .await
        .expect("marked");
    assert_eq!(unread(customer.clone()).await, 1, "7");
    h.service
        .mark_read(&agent, id, seq(7))
        .await
        .expect("marked");
    assert_eq!(unread(agent.clone()).await, 0);

    h.service
        .transfer(&agent, transfer_to(id, bo))
        .await
        .expect("transferred"); // 8: a note from Shiftdesk
    h.say(&customer, id, "Спасибо").await; // 9
    assert_eq!(
        unread(customer.clone()).await,
        1,
        "7; the transfer note is private"
    );
    assert_eq!(unread(agent).await, 2, "the transfer note and 9");
    assert_eq!(
        unread(h.as_agent(bo)).await,
        9,
        "everything: bo wrote nothing"
    );
    let system = h
        .service
        .unread_count(&Context::new(Actor::System), id)
        .await;
    assert!(matches!(system, Err(ConversationError::Forbidden)));
}

fn transfer_to(conversation: ConversationId, to: shiftdesk_core::ids::AgentId) -> TransferRequest {
    TransferRequest {
        conversation,
        to,
        note: None,
        force: false,
    }
}

/// Marking read moves the position forward only, stops at the last message, announces only
/// a real move, and leaves a conversation without messages unread-free and position-free.
pub async fn read_positions_never_move_backwards_or_past_the_last_message(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let (conversation, all) = chat(&h, "mei", 8).await;
    let (id, last) = (conversation.id, all.len() as u64);
    let customer = h.as_customer(conversation.customer);
    let marked = |n: u64| {
        let (h, ctx) = (h.clone(), customer.clone());
        async move { h.service.mark_read(&ctx, id, seq(n)).await.expect("marked") }
    };

    assert_eq!(marked(5).await, Some(seq(5)));
    let events = h.events.events().len();
    assert_eq!(marked(3).await, Some(seq(5)), "never backwards");
    assert_eq!(marked(5).await, Some(seq(5)));
    assert_eq!(h.events.events().len(), events, "no move, no event");
    assert_eq!(
        marked(last + 50).await,
        Some(seq(last)),
        "never past the last"
    );
    assert_eq!(
        h.service
            .unread_count(&customer, id)
            .await
            .expect("counted"),
        0
    );
    let agent = h.as_agent(conversation.assignee().expect("held"));
    h.say(&agent, id, "还有别的问题吗？").await;
    assert_eq!(
        h.service
            .unread_count(&customer, id)
            .await
            .expect("counted"),
        1
    );
    assert_eq!(marked(last + 50).await, Some(seq(last + 1)));

    let quiet = h.customer("Quiet").await;
    h.presence
        .set_offline(conversation.assignee().expect("held"));
    let empty = h.open_about(quiet.id, None, None).await;
    let read = h
        .service
        .mark_read(&h.as_customer(quiet.id), empty.id, seq(1))
        .await;
    assert_eq!(read.expect("answered"), None, "nothing to read yet");
    let unread = h
        .service
        .unread_count(&h.as_customer(quiet.id), empty.id)
        .await;
    assert_eq!(unread.expect("counted"), 0);
}

/// A listener that, on each event, both records it and reads what it announces.
struct Both {
    events: RecordingNotifier,
    witness: Witness,
}

// Written out by hand rather than with `#[async_trait]`, which this crate does not depend on.
impl Notifier for Both {
    fn publish<'life0, 'async_trait>(
        &'life0 self,
        event: DomainEvent,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.events.publish(event.clone()).await;
            self.witness.look(event).await;
        })
    }
}

/// Each step of a conversation announces exactly what the hub needs to reach the right
/// people (the message with its number, the customer, the holder; who took, gave or lost a
/// conversation; the new status; who read how far), and only once the change can be read.
pub async fn events_announce_each_conversation_change_after_commit_with_what_the_hub_needs(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    h.on_duty(&[mei, bo]).await;
    h.offline(bo);
    let li = h.customer("Li").await;
    let heard = Arc::new(Both {
        events: RecordingNotifier::default(),
        witness: Witness::new(h.store.clone()),
    });
    let service = Service::new(h.store.clone(), heard.clone(), h.clock.clone())
        .with_presence(h.presence.clone());
    let (agent, customer) = (h.as_agent(mei), h.as_customer(li.id));
    let message = |text: &str| outgoing(MessageKind::Message, text);
    let posted = |message: &Message, assignee| DomainEvent::MessagePosted {
        message: message.clone(),
        customer: li.id,
        assignee,
    };

    // Opening: the conversation joins the queue, then the first message, then the assignment
    // and its system message.
    let opened = service
        .open_conversation(&customer, None, Some(message("早上好，你好吗?")))
        .await
        .expect("opened");
    let id = opened.id;
    let m = h.messages(&h.admin(), id).await;
    let created = Conversation {
        owner: Owner::Queued {
            since: opened.created_at,
        },
        handled_by: BTreeSet::new(),
        last_seq: None,
        last_activity_at: opened.created_at,
        ..opened.clone()
    };
    let mut expected = vec![
        DomainEvent::ConversationQueued {
            conversation: id,
            customer: li.id,
            from: None,
        },
        posted(&m[0], None),
        DomainEvent::ConversationAssigned {
            conversation: id,
            customer: li.id,
            agent: mei,
        },
        posted(&m[1], Some(mei)),
    ];
    let mut seen = vec![
        Seen::Conversation(Some(created)),
        Seen::Message(Some(m[0].clone())),
        Seen::Conversation(Some(opened.clone())),
        Seen::Message(Some(m[1].clone())),
    ];

    // A reply, a note, a read position.
    let reply = service.send(&agent, id, message("我挺好的，你呢")).await;
    let reply = reply.expect("stored").message;
    let note = service
        .send(&agent, id, outgoing(MessageKind::Note, "VIP"))
        .await;
    let note = note.expect("stored");
    service
        .mark_read(&customer, id, reply.seq)
        .await
        .expect("marked");
    expected.extend([
        posted(&reply, Some(mei)),
        posted(&note.message, Some(mei)),
        DomainEvent::ReadPositionMoved {
            conversation: id,
            customer: li.id,
            assignee: Some(mei),
            participant: Participant::Customer(li.id),
            seq: reply.seq,
        },
    ]);
    seen.extend([
        Seen::Message(Some(reply.clone())),
        Seen::Message(Some(note.message.clone())),
        Seen::Conversation(Some(note.conversation.clone())),
    ]);

    // A transfer, then the new holder resolves.
    let given = service.transfer(&agent, transfer_to(id, bo)).await;
    let given = given.expect("transferred");
    let context = h
        .messages(&h.admin(), id)
        .await
        .pop()
        .expect("the context note");
    let resolved = service
        .change_status(&h.as_agent(bo), id, StatusAction::Resolve)
        .await;
    let resolved = resolved.expect("resolved");
    expected.extend([
        DomainEvent::ConversationTransferred {
            conversation: id,
            customer: li.id,
            from: Some(mei),
            to: bo,
        },
        posted(&context, Some(bo)),
        DomainEvent::ConversationStatusChanged {
            conversation: id,
            customer: li.id,
            assignee: Some(bo),
            status: resolved.status,
        },
    ]);
    seen.extend([
        Seen::Conversation(Some(given)),
        Seen::Message(Some(context)),
        Seen::Conversation(Some(resolved)),
    ]);

    // The customer writes again: reopened, queued, routed to mei (bo is offline).
    let back = service.send(&customer, id, message("我也还不错")).await;
    let back = back.expect("stored");
    let joined = h
        .messages(&h.admin(), id)
        .await
        .pop()
        .expect("the assignment");
    let now = h.conversation_now(id).await;
    assert_eq!(now.assignee(), Some(mei));
    expected.extend([
        posted(&back.message, None),
        DomainEvent::ConversationStatusChanged {
            conversation: id,
            customer: li.id,
            assignee: None,
            status: ConversationStatus::Open,
        },
        DomainEvent::ConversationQueued {
            conversation: id,
            customer: li.id,
            from: Some(bo),
        },
        DomainEvent::ConversationAssigned {
            conversation: id,
            customer: li.id,
            agent: mei,
        },
        posted(&joined, Some(mei)),
    ]);
    seen.extend([
        Seen::Message(Some(back.message.clone())),
        Seen::Conversation(Some(back.conversation.clone())),
        Seen::Conversation(Some(back.conversation)),
        Seen::Conversation(Some(now)),
        Seen::Message(Some(joined)),
    ]);

    assert_eq!(heard.events.events(), expected);
    assert_eq!(
        heard.witness.take(),
        seen,
        "each event is readable when it arrives"
    );
    let note_event = &heard.events.events()[5];
    assert!(
        matches!(note_event, DomainEvent::MessagePosted { message, .. } if !message.is_public()),
        "the hub can tell a note from a message"
    );
}

/// A clock that, the first time it is read after being armed, runs a change to completion
/// first: it places a concurrent writer at an exact point inside a service operation (the
/// moment the operation takes the time), without sleeping or guessing at timing.
struct Interrupting {
    clock: Arc<ManualClock>,
    change: Mutex<Option<Pin<Box<dyn Future<Output = ()> + Send>>>>,
}

impl Clock for Interrupting {
    fn now(&self) -> DateTime<Utc> {
        let change = self.change.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(change) = change {
            let runtime = tokio::runtime::Handle::current();
            tokio::task::block_in_place(|| runtime.block_on(change));
        }
        self.clock.now()
    }
}

/// When the agent resolves a conversation while its customer's message is on its way, the
/// message reopens it; the hub hears the reopening (the status back to open, the queueing,
/// the new assignment), so its view ends where the store does.
pub async fn a_customer_writing_while_the_agent_resolves_reopens_the_conversation_audibly(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let mei = h.agent("mei").await;
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let id = h.open(li.id, "我想退票").await.id;
    let interrupting = Arc::new(Interrupting {
        clock: h.clock.clone(),
        change: Mutex::new(None),
    });
    let service = Service::new(h.store.clone(), h.events.clone(), interrupting.clone())
        .with_presence(h.presence.clone());
    let resolving = h.clone();
    let resolve = async move {
        let agent = resolving.as_agent(mei);
        let resolved = resolving
            .service
            .change_status(&agent, id, StatusAction::Resolve)
            .await;
        assert!(resolved.expect("resolved").status.is_resolved());
    };
    *interrupting
        .change
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(Box::pin(resolve));
    let before = h.events.events().len();

    let sent = service
        .send(
            &h.as_customer(li.id),
            id,
            outgoing(MessageKind::Message, "还有一个问题"),
        )
        .await;
    sent.expect("stored");

    let now = h.conversation_now(id).await;
    assert_eq!(
        now.status,
        ConversationStatus::Open,
        "the message reopened it"
    );
    assert_eq!(
        now.assignee(),
        Some(mei),
        "and routing gave it back to mei, on duty"
    );
    let statuses: Vec<ConversationStatus> = h
        .events_since(before)
        .into_iter()
        .filter_map(|event| match event {
            DomainEvent::ConversationStatusChanged { status, .. } => Some(status),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ConversationStatus::Resolved { at: h.now() },
            ConversationStatus::Open
        ],
        "the hub hears it resolved, then open again"
    );
}

/// Refused writes of every kind (wrong sender, wrong kind, wrong state, a conversation the
/// caller may not see, a full agent, a taken conversation, a manager without the right)
/// leave every conversation, message, transfer, canned reply and event as they were, and
/// use up no sequence number.
pub async fn every_refused_conversation_operation_writes_nothing_and_announces_nothing(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    let gone = h.agent("gone").await;
    h.deactivate(gone).await;
    h.set_capacity(bo, 1).await;
    h.on_duty(&[mei]).await;
    let (li, wu) = (h.customer("Li").await, h.customer("Wu").await);
    let held = h.open(li.id, "我想退票").await;
    let resolved = h.open(li.id, "谢谢").await;
    h.on_duty(&[bo]).await;
    h.offline(mei);
    let bos = h.open(wu.id, "Здравствуйте").await;
    assert_eq!(bos.assignee(), Some(bo));
    let queued = h.open(wu.id, "Привет").await;
    assert_eq!(queued.assignee(), None, "mei is offline, bo is full");
    h.service
        .change_status(&h.as_agent(mei), resolved.id, StatusAction::Resolve)
        .await
        .expect("resolved");
    let retry = outgoing_with_id(MessageKind::Message, "再问一次", "once");
    h.service
        .send(&h.as_customer(li.id), held.id, retry.clone())
        .await
        .expect("stored");
    let last = h.conversation_now(held.id).await.last_seq;
    let last = last.expect("messages");
    let public = NewCannedReply {
        scope: ReplyScope::Public,
        shortcode: Shortcode::parse("refund").expect("valid"),
        title: Title::parse("Refund").expect("valid"),
        category: None,
        body: Template::parse("您好 {{customer.name}}").expect("valid"),
    };
    let reply = h
        .service
        .create_canned_reply(&h.admin(), public.clone())
        .await;
    let reply = reply.expect("created");
    let world = h.desk_world().await;
    let (agent, customer) = (h.as_agent(mei), h.as_customer(li.id));

    // Messages.
    let note = outgoing(MessageKind::Note, "内部");
    let system = outgoing(MessageKind::System, "Shiftdesk says");
    let message = outgoing(MessageKind::Message, "你好");
    let refused = h.service.send(&customer, held.id, note).await;
    assert_eq!(
        conversation_refusal(refused),
        ConversationRefusal::CustomerKind
    );
    let refused = h.service.send(&agent, held.id, system.clone()).await;
    assert_eq!(
        conversation_refusal(refused),
        ConversationRefusal::SystemKind
    );
    let refused = h.service.send(&h.admin(), held.id, system).await;
    assert_eq!(
        conversation_refusal(refused),
        ConversationRefusal::SystemKind
    );
    let refused = h.service.send(&agent, resolved.id, message.clone()).await;
    assert_eq!(conversation_refusal(refused), ConversationRefusal::Resolved);
    let refused = h
        .service
        .send(&h.as_agent(bo), held.id, message.clone())
        .await;
    assert_conversation_not_found(refused, held.id);
    let refused = h
        .service
        .send(&h.as_customer(wu.id), held.id, message.clone())
        .await;
    assert_conversation_not_found(refused, held.id);
    let refused = h.service.send(&h.as_agent(bo), queued.id, message).await;
    assert_conversation_not_found(refused, queued.id);

    // Status, routing, taking.
    let refused = h
        .service
        .change_status(&agent, held.id, StatusAction::MarkOpen)
        .await;
    assert!(matches!(
        conversation_refusal(refused),
        ConversationRefusal::InvalidTransition { .. }
    ));
    let refused = h
        .service
        .change_status(&h.as_agent(bo), held.id, StatusAction::Resolve)
        .await;
    assert_conversation_not_found(refused, held.id);
    let refused = h.service.take_conversation(&h.as_agent(bo), held.id).await;
    assert_eq!(
        conversation_refusal(refused),
        ConversationRefusal::AlreadyTaken { holder: mei }
    );
    let refused = h
        .service
        .take_conversation(&h.as_agent(bo), queued.id)
        .await;
    assert_eq!(
        conversation_refusal(refused),
        ConversationRefusal::AtCapacity {
            agent: bo,
            open: 1,
            capacity: 1
        }
    );
    let refused = h.service.take_conversation(&agent, resolved.id).await;
    assert_eq!(conversation_refusal(refused), ConversationRefusal::Resolved);
    let refused = h.service.take_conversation(&customer, queued.id).await;
    assert!(matches!(refused, Err(ConversationError::Forbidden)));
    let refused = h
        .service
        .take_conversation(&h.as_agent(gone), queued.id)
        .await;
    assert_eq!(
        conversation_refusal(refused),
        ConversationRefusal::InactiveAgent { agent: gone }
    );
    let refused = h.service.wake_snoozed(&agent).await;
    assert!(matches!(refused, Err(ConversationError::Forbidden)));
    let refused = h.service.route_waiting(&agent).await;
    assert!(matches!(refused, Err(ConversationError::Forbidden)));
    let refused = h.service.agent_came_online(&h.as_agent(bo), mei).await;
    assert!(matches!(refused, Err(ConversationError::Forbidden)));
    let refused = h.service.agent_went_away(&h.as_agent(bo), mei).await;
    assert!(matches!(refused, Err(ConversationError::Forbidden)));

    // Transfers.
    let refused = h.service.transfer(&agent, transfer_to(held.id, bo)).await;
    assert!(matches!(
        transfer_refusal(refused),
        TransferRefusal::TargetAtCapacity { .. }
    ));
    let refused = h
        .service
        .transfer(&agent, transfer_to(resolved.id, bo))
        .await;
    assert_eq!(transfer_refusal(refused), TransferRefusal::Resolved);

    // Reads and the rest.
    let refused = h
        .service
        .mark_read(&Context::new(Actor::System), held.id, seq(1))
        .await;
    assert!(matches!(refused, Err(ConversationError::Forbidden)));
    let refused = h.service.open_conversation(&agent, None, None).await;
    assert!(matches!(refused, Err(ConversationError::Forbidden)));
    for (kind, refusal) in [
        (MessageKind::Note, ConversationRefusal::CustomerKind),
        (MessageKind::System, ConversationRefusal::SystemKind),
    ] {
        let first = Some(outgoing(kind, "第一条"));
        let refused = h.service.open_conversation(&customer, None, first).await;
        assert_eq!(
            conversation_refusal(refused),
            refusal,
            "no conversation is left behind"
        );
    }
    let again = h.service.send(&customer, held.id, retry).await;
    assert!(again.expect("answered").duplicate, "a retry stores nothing");
    let refused = h.service.create_canned_reply(&agent, public.clone()).await;
    assert!(matches!(refused, Err(CannedError::Forbidden)));
    let refused = h.service.create_canned_reply(&h.admin(), public).await;
    assert!(matches!(refused, Err(CannedError::ShortcodeTaken(_))));
    let refused = h.service.delete_canned_reply(&agent, reply.id).await;
    assert!(matches!(refused, Err(CannedError::Forbidden)));

    assert_eq!(h.desk_world().await, world);
    let next = h.say(&agent, held.id, "好的").await;
    assert_eq!(next.seq, last.next(), "refusals used no number");
}

/// The platform may sign the same customer in twice at once: every call answers with the one
/// customer, never with a failure, however the calls interleave.
pub async fn registering_one_customer_from_many_tasks_at_once_gives_them_all_one_id(
    store: Arc<dyn Store>,
) {
    const ROUNDS: usize = 8;
    const TASKS: usize = 4;
    let h = Harness::at_desk(store).await;
    for round in 0..ROUNDS {
        let start = Arc::new(Barrier::new(TASKS));
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let (h, start) = (h.clone(), start.clone());
            let customer = NewCustomer {
                external_id: ExternalId::parse(&format!("sso-{round}")).expect("valid"),
                display_name: DisplayName::parse("Ngozi").expect("valid"),
            };
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                h.service.register_customer(&h.admin(), customer).await
            }));
        }
        let mut ids = BTreeSet::new();
        for task in tasks {
            let registered = task.await.expect("a registration finishes");
            ids.insert(registered.expect("every caller gets the customer").id);
        }
        assert_eq!(ids.len(), 1, "round {round}: one customer, got {ids:?}");
    }
}
