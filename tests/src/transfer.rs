//! Transfers: the hand-over and its record, the capacity rule and who may force past it, the
//! private context note for the new agent, the refusals that change nothing, and what the
//! previous holder may still do.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::TimeDelta;
use shiftdesk_core::conversation::{ConversationRefusal, StatusAction, Transfer};
use shiftdesk_core::ids::{AgentId, ConversationId};
use shiftdesk_core::message::{Message, MessageKind, Sender};
use shiftdesk_core::search::{ConversationFilter, ExportFormat};
use shiftdesk_core::staff::Actor;
use shiftdesk_core::store::Store;
use shiftdesk_core::text::Note;
use shiftdesk_core::time::TimeZone;
use shiftdesk_core::transfer::{CONTEXT_MESSAGES, TransferRefusal, TransferRequest};

use crate::dialogs;
use crate::harness::{
    Harness, assert_conversation_not_found, at, conversation_refusal, outgoing, search_text,
    transfer_refusal,
};
use crate::search::export;

fn request(conversation: ConversationId, to: AgentId, note: Option<&str>) -> TransferRequest {
    TransferRequest {
        conversation,
        to,
        note: note.map(|note| Note::parse(note).expect("a valid note")),
        force: false,
    }
}

fn forced(conversation: ConversationId, to: AgentId) -> TransferRequest {
    TransferRequest {
        force: true,
        ..request(conversation, to, None)
    }
}

/// The notes Shiftdesk wrote into a conversation: one per transfer.
async fn context_notes(h: &Harness, id: ConversationId) -> Vec<Message> {
    let all = h.messages(&h.admin(), id).await;
    all.into_iter()
        .filter(|m| m.sender == Sender::System && m.kind == MessageKind::Note)
        .collect()
}

/// Each transfer moves the conversation to its target in one step, keeps a record of who
/// moved it from whom to whom, when and why (a conversation keeps every hand-over, oldest
/// first), and writes one context note; every agent it passed through may still read it.
pub async fn a_transfer_hands_the_conversation_over_and_keeps_a_record_of_every_hand_over(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let (mei, bo, cy) = (
        h.agent("mei").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let id = h.open(li.id, "我想退票").await.id;

    h.clock.advance(TimeDelta::minutes(1));
    let first = h
        .service
        .transfer(&h.as_agent(mei), request(id, bo, Some("退票，已核实订单")))
        .await;
    let first = first.expect("transferred");
    let first_at = h.now();
    h.clock.advance(TimeDelta::minutes(1));
    h.service
        .transfer(&h.as_agent(bo), request(id, cy, None))
        .await
        .expect("transferred");
    let second_at = h.now();
    h.clock.advance(TimeDelta::minutes(1));
    let back = h
        .service
        .transfer(&h.admin(), request(id, mei, Some("back")))
        .await;
    let back = back.expect("transferred");

    assert_eq!(first.assignee(), Some(bo));
    assert_eq!(back.assignee(), Some(mei));
    assert_eq!(back.handled_by, [mei, bo, cy].into());
    let detail = h.service.conversation(&h.admin(), id).await;
    let record = |from, to, by, note: Option<&str>, at| Transfer {
        conversation: id,
        from: Some(from),
        to,
        by,
        note: note.map(|note| Note::parse(note).expect("valid")),
        at,
    };
    assert_eq!(
        detail.expect("readable").transfers,
        vec![
            record(
                mei,
                bo,
                Actor::agent(mei),
                Some("退票，已核实订单"),
                first_at
            ),
            record(bo, cy, Actor::agent(bo), None, second_at),
            record(cy, mei, Actor::admin(h.admin.id), Some("back"), h.now()),
        ]
    );
    assert_eq!(context_notes(&h, id).await.len(), 3);
    assert_eq!(
        (
            h.load_of(mei).await,
            h.load_of(bo).await,
            h.load_of(cy).await
        ),
        (1, 0, 0)
    );
    for agent in [mei, bo, cy] {
        let read = h.service.conversation(&h.as_agent(agent), id).await;
        assert!(read.is_ok(), "every agent it passed through may read it");
    }

    // An admin may also hand a waiting conversation to someone: from nobody.
    h.offline(mei);
    let waiting = h.open(li.id, "还有一个问题").await.id;
    let given = h
        .service
        .transfer(&h.admin(), request(waiting, bo, None))
        .await;
    assert_eq!(given.expect("transferred").assignee(), Some(bo));
    let detail = h.service.conversation(&h.admin(), waiting).await;
    assert_eq!(detail.expect("readable").transfers[0].from, None);
}

/// A transfer to an agent who already holds their capacity (their own, or the team's
/// default) is refused naming their load, for the holder and an admin alike: the holder,
/// the records, the messages and the events stay as they were.
pub async fn a_transfer_to_an_agent_at_capacity_is_refused_and_changes_nothing(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let (mei, bo, cy) = (
        h.agent("mei").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    h.set_default_capacity(2).await;
    h.set_capacity(bo, 1).await;
    let li = h.customer("Li").await;
    h.on_duty(&[bo]).await;
    h.open(li.id, "bo's").await;
    h.offline(bo);
    h.on_duty(&[cy]).await;
    h.open(li.id, "cy's").await;
    h.open(li.id, "cy's too").await;
    h.offline(cy);
    h.on_duty(&[mei]).await;
    let id = h.open(li.id, "我想退票").await.id;
    let world = h.desk_world().await;

    let to_bo = h
        .service
        .transfer(&h.as_agent(mei), request(id, bo, Some("x")))
        .await;
    let to_cy = h.service.transfer(&h.admin(), request(id, cy, None)).await;

    assert_eq!(
        transfer_refusal(to_bo),
        TransferRefusal::TargetAtCapacity {
            target: bo,
            open: 1,
            capacity: 1
        }
    );
    assert_eq!(
        transfer_refusal(to_cy),
        TransferRefusal::TargetAtCapacity {
            target: cy,
            open: 2,
            capacity: 2
        }
    );
    assert_eq!(h.desk_world().await, world);
}

/// Only an admin may force a transfer past the target's capacity; the agent who holds the
/// conversation asking to force is refused. Forced, the target holds more than their
/// capacity, and routing gives them nothing more until they are below it again.
pub async fn only_an_admin_may_force_a_transfer_past_capacity(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    h.set_capacity(bo, 1).await;
    let li = h.customer("Li").await;
    h.on_duty(&[bo]).await;
    let bos = h.open(li.id, "bo's").await.id;
    h.offline(bo);
    h.on_duty(&[mei]).await;
    let id = h.open(li.id, "我想退票").await.id;
    let world = h.desk_world().await;

    let by_agent = h.service.transfer(&h.as_agent(mei), forced(id, bo)).await;
    assert_eq!(transfer_refusal(by_agent), TransferRefusal::ForceNeedsAdmin);
    assert_eq!(h.desk_world().await, world);
    let by_admin = h.service.transfer(&h.admin(), forced(id, bo)).await;

    assert_eq!(by_admin.expect("forced").assignee(), Some(bo));
    assert_eq!(
        h.load_of(bo).await,
        2,
        "over capacity, by an admin's choice"
    );
    h.online(bo);
    h.offline(mei);
    let next = h.open(li.id, "第三个").await;
    assert_eq!(
        next.assignee(),
        None,
        "routing passes over an overfilled agent"
    );
    for done in [bos, id] {
        h.service
            .change_status(&h.as_agent(bo), done, StatusAction::Resolve)
            .await
            .expect("resolved");
    }
    assert_eq!(h.conversation_now(next.id).await.assignee(), Some(bo));
}

/// The note Shiftdesk writes for the new agent holds the mover's note and the last ten
/// messages before the transfer, oldest first, one line each as `[time][sender type][sender]
/// text` with the time in the team's zone, line breaks flattened and long texts cut; it is a
/// private note, which customers never see, count, find or export, and they do not read the
/// mover's note in the transfer record either. With fewer than ten messages it lists them all.
pub async fn the_transfer_context_note_quotes_the_last_ten_messages_and_the_note_for_staff_only(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    h.set_time_zone("Asia/Shanghai").await;
    h.clock.set(at("2027-03-01T02:00:00Z"));
    let mei = h.agent_named("mei", "Mei 梅").await;
    let bo = h.agent_named("bo", "Bo Wang").await;
    h.on_duty(&[mei]).await;
    let li = h.customer("李伟").await;
    let (agent, customer) = (h.as_agent(mei), h.as_customer(li.id));
    let dialog = dialogs::dialog("chinese", "conversations", 10);
    let id = h.open(li.id, dialog.turns[0].as_str()).await.id;
    for (n, turn) in dialog.turns[1..10].iter().enumerate() {
        h.clock.advance(TimeDelta::minutes(1));
        let ctx = if n % 2 == 0 { &agent } else { &customer };
        h.say(ctx, id, turn.as_str()).await;
    }
    h.note(mei, id, "老客户\n请优先处理").await;
    let long = dialogs::turns("english", 40)
        .iter()
        .map(|turn| turn.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(long.chars().count() > 500);
    h.say(&customer, id, &long).await;
    let before = h.messages(&h.admin(), id).await;
    assert!(before.len() > CONTEXT_MESSAGES);

    let note = "客户要退票，请跟进";
    h.service
        .transfer(&agent, request(id, bo, Some(note)))
        .await
        .expect("transferred");

    let context = h.messages(&h.admin(), id).await.pop().expect("the note");
    assert_eq!(context.seq, before.last().expect("messages").seq.next());
    assert_eq!(
        (context.sender, context.kind),
        (Sender::System, MessageKind::Note)
    );
    let text = context.body.as_str();
    let names = HashMap::from([
        (Sender::Customer(li.id), "李伟"),
        (Sender::Agent(mei), "Mei 梅"),
        (Sender::System, "Shiftdesk"),
    ]);
    let zone = TimeZone::parse("Asia/Shanghai").expect("a known zone");
    let quoted: Vec<String> = before[before.len() - CONTEXT_MESSAGES..]
        .iter()
        .map(|m| quote(m, names[&m.sender], zone))
        .collect();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[lines.len() - CONTEXT_MESSAGES..],
        quoted[..],
        "{text}"
    );
    assert!(
        lines[lines.len() - 1].ends_with('…'),
        "the long text is cut"
    );
    assert!(lines.contains(&format!("Note: {note}").as_str()), "{text}");
    assert!(
        text.contains("Mei 梅") && text.contains("Bo Wang"),
        "{text}"
    );
    assert_eq!(
        lines.iter().filter(|line| line.starts_with('[')).count(),
        CONTEXT_MESSAGES
    );
    let last = lines[lines.len() - 1];
    assert!(
        last.starts_with("[2027-03-01 10:09][customer][李伟] "),
        "local time: {last}"
    );

    // Staff only, the mover's note in the transfer record included.
    let detail = h.service.conversation(&customer, id).await;
    let records = detail.expect("the customer's own").transfers;
    assert_eq!(records.len(), 1, "the customer may know it changed hands");
    assert_eq!(records[0].note, None, "but not what the mover wrote");
    let detail = h.service.conversation(&h.as_agent(bo), id).await;
    let records = detail.expect("readable").transfers;
    assert_eq!(records[0].note.as_ref().map(Note::as_str), Some(note));
    let seen = h.messages(&customer, id).await;
    assert!(seen.iter().all(|m| m.seq != context.seq && m.is_public()));
    let unread = h
        .service
        .unread_count(&customer, id)
        .await
        .expect("counted");
    let from_staff = seen.iter().filter(|m| m.sender != Sender::Customer(li.id));
    assert_eq!(unread, from_staff.count() as u64);
    let listed = h.list(&customer, &ConversationFilter::default()).await;
    let preview = listed[0].preview.as_ref().expect("a preview");
    assert_eq!(
        preview.body.as_str(),
        long.as_str(),
        "the preview skips the notes"
    );
    let find = ConversationFilter {
        text: Some(search_text("请跟进")),
        ..ConversationFilter::default()
    };
    let count = h.service.count_conversations(&customer, find.clone()).await;
    assert_eq!(count.expect("counted"), 0);
    let count = h.service.count_conversations(&h.as_agent(bo), find).await;
    assert_eq!(count.expect("counted"), 1, "staff find it");
    let (csv, _) = export(
        &h,
        &customer,
        ConversationFilter::default(),
        ExportFormat::Csv,
    )
    .await;
    let (json, _) = export(
        &h,
        &customer,
        ConversationFilter::default(),
        ExportFormat::JsonLines,
    )
    .await;
    for written in [csv, json] {
        assert!(!written.contains("请跟进") && !written.contains("Last messages"));
    }

    // A short conversation lists what there is.
    let short = h.open(li.id, "你好").await.id;
    h.service
        .transfer(&h.admin(), request(short, bo, None))
        .await
        .expect("transferred");
    let context = context_notes(&h, short).await.pop().expect("the note");
    let quoted_lines = context.body.as_str().lines().filter(|l| l.starts_with('['));
    assert_eq!(quoted_lines.count(), 2, "the first message and mei joining");
}

/// A message as the context note quotes it.
fn quote(message: &Message, name: &str, zone: TimeZone) -> String {
    let time = zone.local(message.sent_at).format("%Y-%m-%d %H:%M");
    let flat: String = message
        .body
        .as_str()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cut: String = flat.chars().take(500).collect();
    let ellipsis = if flat.chars().count() > 500 {
        "…"
    } else {
        ""
    };
    let kind = message.sender.type_name();
    format!("[{time}][{kind}][{name}] {cut}{ellipsis}")
}

/// A transfer is refused, changing nothing, when the target is unknown or deactivated, is
/// already the holder, or the conversation is resolved; and when the caller is not its
/// holder (an agent who held it before), or may not see it at all (not found).
pub async fn transfers_to_unknown_inactive_or_current_holders_and_of_resolved_conversations_are_refused(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let (mei, bo, cy) = (
        h.agent("mei").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    let gone = h.agent("gone").await;
    h.deactivate(gone).await;
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let id = h.open(li.id, "我想退票").await.id;
    let resolved = h.open(li.id, "谢谢").await.id;
    let agent = h.as_agent(mei);
    h.service
        .change_status(&agent, resolved, StatusAction::Resolve)
        .await
        .expect("resolved");
    let passed = h.open(li.id, "转给 bo").await.id;
    h.service
        .transfer(&agent, request(passed, bo, None))
        .await
        .expect("transferred");
    let world = h.desk_world().await;
    let nobody = AgentId::try_from(999_999).expect("a valid id");

    let refusals = [
        (
            h.service.transfer(&agent, request(id, nobody, None)).await,
            nobody,
        ),
        (
            h.service.transfer(&agent, request(id, gone, None)).await,
            gone,
        ),
    ];
    for (refused, target) in refusals {
        assert_eq!(
            transfer_refusal(refused),
            TransferRefusal::TargetUnavailable { target }
        );
    }
    let to_self = h.service.transfer(&agent, request(id, mei, None)).await;
    assert_eq!(
        transfer_refusal(to_self),
        TransferRefusal::TargetIsHolder { target: mei }
    );
    let done = h
        .service
        .transfer(&h.admin(), request(resolved, bo, None))
        .await;
    assert_eq!(transfer_refusal(done), TransferRefusal::Resolved);
    let former = h.service.transfer(&agent, request(passed, cy, None)).await;
    assert_eq!(transfer_refusal(former), TransferRefusal::NotHolder);
    let stranger = h
        .service
        .transfer(&h.as_agent(cy), request(id, bo, None))
        .await;
    assert_conversation_not_found(stranger, id);
    let customer = h
        .service
        .transfer(&h.as_customer(li.id), request(id, bo, None))
        .await;
    assert_eq!(transfer_refusal(customer), TransferRefusal::NotHolder);

    assert_eq!(h.desk_world().await, world);
}

/// After handing a conversation over, the previous holder still finds and reads it (list,
/// count, search, export, messages, detail, unread) but may no longer write in it, change
/// its status or transfer it again; the new holder may.
pub async fn an_agent_keeps_reading_a_conversation_they_handed_over_but_no_longer_acts_on_it(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let (mei, bo, cy) = (
        h.agent("mei").await,
        h.agent("bo").await,
        h.agent("cy").await,
    );
    h.on_duty(&[mei]).await;
    let li = h.customer("Li").await;
    let id = h.open(li.id, "我想退票").await.id;
    let agent = h.as_agent(mei);
    h.service
        .transfer(&agent, request(id, bo, None))
        .await
        .expect("transferred");

    let everything = ConversationFilter::default();
    let listed = h.list(&agent, &everything).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].conversation.id, id);
    let count = h
        .service
        .count_conversations(&agent, everything.clone())
        .await;
    assert_eq!(count.expect("counted"), 1);
    let found = ConversationFilter {
        text: Some(search_text("退票")),
        ..ConversationFilter::default()
    };
    assert_eq!(h.list(&agent, &found).await.len(), 1);
    let (_, summary) = export(&h, &agent, everything, ExportFormat::JsonLines).await;
    assert_eq!(summary.conversations, 1);
    assert_eq!(
        h.messages(&agent, id).await,
        h.messages(&h.admin(), id).await
    );
    assert!(h.service.conversation(&agent, id).await.is_ok());
    assert!(h.service.unread_count(&agent, id).await.is_ok());

    let message = outgoing(MessageKind::Message, "我来看看");
    let write = h.service.send(&agent, id, message.clone()).await;
    assert_eq!(conversation_refusal(write), ConversationRefusal::NotHolder);
    let status = h
        .service
        .change_status(&agent, id, StatusAction::Resolve)
        .await;
    assert_eq!(conversation_refusal(status), ConversationRefusal::NotHolder);
    let again = h.service.transfer(&agent, request(id, cy, None)).await;
    assert_eq!(transfer_refusal(again), TransferRefusal::NotHolder);
    let stranger = h.service.send(&h.as_agent(cy), id, message.clone()).await;
    assert_conversation_not_found(stranger, id);
    h.service
        .send(&h.as_agent(bo), id, message)
        .await
        .expect("the new holder writes");
}
