//! One connection's loop, written over any stream of incoming frames and any sink of outgoing
//! ones, so that its logic runs in tests without a socket.
//!
//! The loop reads client frames, hub pushes, the heartbeat and the hub's close signal one at
//! a time. A `send` is answered with its ack only once [`Service::send`] returned, that is
//! once the store committed the message; the service publishes it to the other participants
//! after the same commit.
//!
//! No gap and no duplicate: once a conversation is resumed (anchored), the connection keeps
//! the highest sequence number it sent and drops anything at or below it. A resume first
//! subscribes (pushes then wait in the connection's queue), then replays from the store, then
//! goes back to the queue, whose messages already replayed are dropped. A pushed message
//! further ahead than the next number (a concurrent sender's publication overtaking
//! another's) makes the loop read the missing ones from the store first. Before a
//! conversation is resumed, its live messages are sent as they come and remembered one by
//! one, so the resume that follows fills in the earlier ones without repeating any; one that
//! overtakes an earlier message stamped since the connection opened brings that one first.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde_json::Value;
use shiftdesk_core::Service;
use shiftdesk_core::error::ConversationError;
use shiftdesk_core::event::DomainEvent;
use shiftdesk_core::ids::{ConversationId, Seq};
use shiftdesk_core::message::Message;
use shiftdesk_core::service::Outgoing;
use shiftdesk_core::staff::Context;
use shiftdesk_core::text::{ClientMessageId, MessageBody};
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use super::RealtimeSettings;
use super::hub::{Close, ConnectionId, Hub, Push};
use super::protocol::{
    ClientFrame, ErrorOut, MessageOut, PROTOCOL_VERSION, ResumePayload, SendPayload, ServerFrame,
    User, binary_refused, parse_client_frame, render,
};
use crate::problem::Problem;

/// The most messages one read from the store returns during a replay.
const REPLAY_PAGE: usize = 500;

/// The most live messages remembered one by one for a conversation not yet resumed; beyond,
/// the oldest are forgotten, and a late resume may send those again.
const LOOSE_LIMIT: usize = 1_000;

/// What this connection sent of one conversation.
#[derive(Debug, Default)]
struct Sent {
    /// The highest sequence number sent.
    highest: Option<Seq>,
    /// Whether everything up to `highest` was sent (or the client had it): true once resumed.
    anchored: bool,
    /// Before the anchor: the numbers sent live, one by one.
    loose: BTreeSet<Seq>,
}

impl Sent {
    fn has(&self, seq: Seq) -> bool {
        if self.anchored {
            self.highest.is_some_and(|highest| seq <= highest)
        } else {
            self.loose.contains(&seq)
        }
    }

    fn record(&mut self, seq: Seq) {
        self.highest = self.highest.max(Some(seq));
        if !self.anchored {
            self.loose.insert(seq);
            if self.loose.len() > LOOSE_LIMIT {
                self.loose.pop_first();
            }
        }
    }

    /// Everything up to `seq` is with the client now.
    fn anchor(&mut self, seq: Option<Seq>) {
        self.highest = self.highest.max(seq);
        self.anchored = true;
        self.loose.clear();
    }
}

/// A frame as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A text frame.
    Text(String),
    /// A binary frame (refused: the protocol is JSON text).
    Binary,
    /// The answer to a ping.
    Pong,
    /// The client closed the connection.
    Close,
}

/// A frame for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A JSON text frame.
    Text(String),
    /// A heartbeat ping.
    Ping,
    /// The closing frame, with its code and reason.
    Close(u16, &'static str),
}

/// Who a connection speaks for, and what it may reach.
#[derive(Clone)]
pub struct Session {
    /// The operations the frames call.
    pub service: Service,
    /// The hub the connection joins.
    pub hub: Arc<Hub>,
    /// The caller, as the ticket named them.
    pub ctx: Context,
    /// The caller as the hub files them.
    pub user: User,
    /// Whether the caller is an admin.
    pub admin: bool,
    /// Heartbeats, queue size, limits.
    pub settings: RealtimeSettings,
    /// Conversations to replay before anything else, with the last number the client has.
    pub resume: Vec<(ConversationId, u64)>,
}

/// Runs one connection until the client leaves, the hub closes it, or its heartbeat stops.
pub async fn serve<I, O>(session: Session, mut incoming: I, outgoing: O)
where
    I: Stream<Item = Inbound> + Unpin,
    O: Sink<Outbound> + Unpin,
{
    let settings = session.settings.clone();
    // Messages stamped from now on are live for this connection: each is pushed to it.
    let opened_at = session.service.now();
    let registration = session.hub.register(
        session.user,
        session.admin,
        settings.queue,
        !settings.several_devices,
    );
    let mut pushes = registration.pushes;
    let mut close = registration.close;
    let mut leave = Leave {
        session: session.clone(),
        id: registration.id,
        shutdown: false,
    };
    if registration.came_online
        && let User::Agent(agent) = session.user
    {
        // Routing may take a while; the hello should not wait for it.
        let (service, ctx) = (session.service.clone(), session.ctx.clone());
        tokio::spawn(async move {
            if let Err(error) = service.agent_came_online(&ctx, agent).await {
                tracing::warn!(agent = agent.get(), %error, "routing on coming online failed");
            }
        });
    }

    let mut connection = Connection {
        session,
        id: registration.id,
        outgoing,
        sent: HashMap::new(),
        typing_to: HashMap::new(),
        opened_at,
    };
    let hello = ServerFrame::Hello {
        protocol: PROTOCOL_VERSION,
        ping_interval_ms: millis(settings.ping_interval),
        typing_expires_ms: millis(settings.typing_expires),
        max_frame_bytes: settings.max_frame_bytes,
        user: connection.session.user.participant(),
    };
    if connection.frame(&hello).await.is_err() {
        return;
    }
    // The resume the ticket carried runs before any push is read: live messages then come
    // after the replay, in order.
    let resume = std::mem::take(&mut connection.session.resume);
    if connection.resume(resume, Value::Null).await.is_err() {
        return;
    }

    let mut heartbeat = interval_at(
        Instant::now() + settings.ping_interval,
        settings.ping_interval,
    );
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut unanswered = 0u32;
    loop {
        let step = tokio::select! {
            biased;
            changed = close.changed() => {
                let reason = *close.borrow_and_update();
                match (changed, reason) {
                    (Ok(()), Some(reason)) => {
                        leave.shutdown = reason == Close::GOING_AWAY;
                        let _ = connection.close(reason).await;
                        break;
                    }
                    (Ok(()), None) => Ok(()),
                    (Err(_), _) => break,
                }
            }
            frame = incoming.next() => match frame {
                None | Some(Inbound::Close) => break,
                Some(Inbound::Text(text)) => connection.on_text(&text).await,
                Some(Inbound::Binary) => {
                    connection.frame(&ServerFrame::Error(binary_refused())).await
                }
                Some(Inbound::Pong) => {
                    unanswered = 0;
                    Ok(())
                }
            },
            push = pushes.recv() => match push {
                Some(push) => connection.on_push(push).await,
                None => break,
            },
            _ = heartbeat.tick() => {
                if unanswered >= settings.missed_pongs {
                    let _ = connection.close(Close::HEARTBEAT_MISSED).await;
                    break;
                }
                unanswered += 1;
                connection.send(Outbound::Ping).await
            }
        };
        if step.is_err() {
            break;
        }
    }
    connection.stop_typing();
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The sink refused a frame: the client is gone.
#[derive(Debug)]
struct Gone;

/// Leaves the hub when the connection ends, however it ends; the last connection of an
/// agent takes them offline, which may send their conversations back to routing. A server
/// shutting down does not: its agents reconnect to the next one and keep their work.
struct Leave {
    session: Session,
    id: ConnectionId,
    shutdown: bool,
}

impl Drop for Leave {
    fn drop(&mut self) {
        let went_offline = self.session.hub.unregister(self.id) && !self.shutdown;
        if let (true, User::Agent(agent)) = (went_offline, self.session.user) {
            let (service, ctx) = (self.session.service.clone(), self.session.ctx.clone());
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(error) = service.agent_went_away(&ctx, agent).await {
                        tracing::warn!(agent = agent.get(), %error, "handling going away failed");
                    }
                });
            }
        }
    }
}

struct Connection<O> {
    session: Session,
    id: ConnectionId,
    outgoing: O,
    /// What was sent on this connection, per conversation.
    sent: HashMap<ConversationId, Sent>,
    /// The conversations the client said it is typing in, and who was told.
    typing_to: HashMap<ConversationId, Vec<User>>,
    /// When the connection opened, on the service's clock.
    opened_at: DateTime<Utc>,
}

impl<O: Sink<Outbound> + Unpin> Connection<O> {
    async fn send(&mut self, frame: Outbound) -> Result<(), Gone> {
        self.outgoing.send(frame).await.map_err(|_| Gone)
    }

    async fn frame(&mut self, frame: &ServerFrame) -> Result<(), Gone> {
        self.send(Outbound::Text(render(frame))).await
    }

    async fn close(&mut self, reason: Close) -> Result<(), Gone> {
        self.send(Outbound::Close(reason.code, reason.reason)).await
    }

    async fn refuse(&mut self, error: ErrorOut) -> Result<(), Gone> {
        self.frame(&ServerFrame::Error(error)).await
    }

    fn ctx(&self) -> &Context {
        &self.session.ctx
    }

    async fn on_text(&mut self, text: &str) -> Result<(), Gone> {
        let (frame, raw) = match parse_client_frame(text, self.session.settings.max_frame_bytes) {
            Ok(parsed) => parsed,
            Err(error) => return self.refuse(error).await,
        };
        let result = match frame {
            ClientFrame::Send(send) => return self.on_send(send, raw).await,
            ClientFrame::Read(read) => self
                .session
                .service
                .mark_read(self.ctx(), read.conversation, read.seq)
                .await
                .map(|_| ()),
            ClientFrame::Typing(typing) => self.on_typing(typing.conversation).await,
            ClientFrame::Resume(resume) => return self.on_resume(resume, raw).await,
        };
        match result {
            Ok(()) => Ok(()),
            Err(error) => self.refuse(refusal(error, None, raw)).await,
        }
    }

    async fn on_send(&mut self, send: SendPayload, raw: Value) -> Result<(), Gone> {
        let client_id = match ClientMessageId::parse(&send.client_id) {
            Ok(id) => id,
            Err(problem) => {
                let error = Problem::from(problem.at("client_id"));
                return self.refuse(problem_out(error, raw)).await;
            }
        };
        let body = match MessageBody::parse(&send.body) {
            Ok(body) => body,
            Err(problem) => {
                let error = Problem::from(problem.at("body"));
                return self.refuse(problem_out(error, raw)).await;
            }
        };
        let outgoing = Outgoing {
            client_id: Some(client_id),
            kind: send.kind,
            body,
        };
        let sent = self
            .session
            .service
            .send(self.ctx(), send.conversation, outgoing)
            .await;
        match sent {
            Ok(appended) => {
                let ack = ServerFrame::Ack {
                    client_id: send.client_id,
                    conversation: send.conversation,
                    seq: appended.message.seq,
                    at: appended.message.sent_at,
                    duplicate: appended.duplicate,
                };
                self.frame(&ack).await
            }
            Err(error) => self.refuse(refusal(error, None, raw)).await,
        }
    }

    async fn on_typing(&mut self, id: ConversationId) -> Result<(), ConversationError> {
        let detail = self.session.service.conversation(self.ctx(), id).await?;
        let conversation = detail.conversation;
        let to = match self.session.user {
            User::Customer(_) => conversation
                .assignee()
                .map(User::Agent)
                .into_iter()
                .collect(),
            User::Agent(_) => vec![User::Customer(conversation.customer)],
        };
        self.session.hub.typing(id, self.session.user, &to, true);
        self.typing_to.insert(id, to);
        Ok(())
    }

    /// Clears the typing indicators this connection set: the client has gone.
    fn stop_typing(&mut self) {
        for (conversation, to) in self.typing_to.drain() {
            self.session
                .hub
                .typing(conversation, self.session.user, &to, false);
        }
    }

    async fn on_resume(&mut self, resume: ResumePayload, raw: Value) -> Result<(), Gone> {
        self.resume(resume.pairs().unwrap_or_default(), raw).await
    }

    async fn resume(&mut self, pairs: Vec<(ConversationId, u64)>, raw: Value) -> Result<(), Gone> {
        for (conversation, last) in pairs {
            let after = Seq::try_from(last).ok();
            if let Err(error) = self.catch_up(conversation, after).await {
                let field = format!("payload.conversations.{conversation}");
                let refused = refusal(error, Some(field), raw.clone());
                self.refuse(refused).await?;
            }
        }
        Ok(())
    }

    /// Watches a conversation, sends every message after `after` that this connection has
    /// not sent, and says the replay is complete.
    async fn catch_up(
        &mut self,
        id: ConversationId,
        after: Option<Seq>,
    ) -> Result<Result<(), Gone>, ConversationError> {
        // Reading first checks that the caller may see the conversation; watching before the
        // replay makes every message committed from now on wait in the queue.
        let service = self.session.service.clone();
        // A number past the conversation's last message would hide the next ones.
        let last = service
            .conversation(self.ctx(), id)
            .await?
            .conversation
            .last_seq;
        let after = after.min(last);
        let sent = self.sent.entry(id).or_default();
        let mut cursor = if sent.anchored {
            after.max(sent.highest)
        } else {
            after
        };
        let mut page = service
            .messages_after(self.ctx(), id, cursor, REPLAY_PAGE)
            .await?;
        self.session.hub.watch(self.id, id);
        loop {
            let full = page.len() == REPLAY_PAGE;
            for message in &page {
                if let Err(gone) = self.message(message).await {
                    return Ok(Err(gone));
                }
                cursor = Some(message.seq);
            }
            // The watch may have started after the first page was read: read once more, so a
            // message committed in between is replayed rather than missed.
            let next = service
                .messages_after(self.ctx(), id, cursor, REPLAY_PAGE)
                .await?;
            if next.is_empty() && !full {
                break;
            }
            page = next;
        }
        let sent = self.sent.entry(id).or_default();
        sent.anchor(cursor);
        let done = ServerFrame::Resumed {
            conversation: id,
            seq: sent.highest,
        };
        Ok(self.frame(&done).await)
    }

    /// Sends a message unless this connection sent it already.
    async fn message(&mut self, message: &Message) -> Result<(), Gone> {
        let sent = self.sent.entry(message.conversation).or_default();
        if sent.has(message.seq) {
            return Ok(());
        }
        if matches!(self.session.user, User::Customer(_)) && !message.is_public() {
            return Ok(());
        }
        sent.record(message.seq);
        self.frame(&ServerFrame::Message(MessageOut::from(message)))
            .await
    }

    async fn on_push(&mut self, push: Push) -> Result<(), Gone> {
        match push {
            Push::Event(event) => self.on_event(&event).await,
            Push::Typing {
                conversation,
                participant,
                active,
            } => {
                let frame = ServerFrame::Typing {
                    conversation,
                    participant,
                    active,
                    expires_in_ms: millis(self.session.settings.typing_expires),
                };
                self.frame(&frame).await
            }
            Push::Presence { agent, online } => {
                self.frame(&ServerFrame::Presence { agent, online }).await
            }
        }
    }

    async fn on_event(&mut self, event: &DomainEvent) -> Result<(), Gone> {
        let me = self.session.user;
        match event {
            // The hub closes the connections themselves (see `Hub::publish`).
            DomainEvent::SessionsEnded { .. } => Ok(()),
            DomainEvent::MessagePosted { message, .. } => self.pushed_message(message).await,
            DomainEvent::ConversationAssigned {
                conversation,
                agent,
                ..
            } => {
                let frame = ServerFrame::Assigned {
                    conversation: *conversation,
                    agent: *agent,
                };
                self.frame(&frame).await?;
                self.new_holder(*conversation, me == User::Agent(*agent))
                    .await
            }
            DomainEvent::ConversationTransferred {
                conversation,
                from,
                to,
                ..
            } => {
                let frame = ServerFrame::Transferred {
                    conversation: *conversation,
                    from: *from,
                    to: *to,
                };
                self.frame(&frame).await?;
                self.new_holder(*conversation, me == User::Agent(*to)).await
            }
            DomainEvent::ConversationQueued {
                conversation, from, ..
            } => {
                let frame = ServerFrame::Queued {
                    conversation: *conversation,
                    from: *from,
                };
                self.frame(&frame).await
            }
            DomainEvent::ConversationStatusChanged {
                conversation,
                status,
                ..
            } => {
                let frame = ServerFrame::Status {
                    conversation: *conversation,
                    status: *status,
                };
                self.frame(&frame).await
            }
            DomainEvent::ReadPositionMoved {
                conversation,
                participant,
                seq,
                ..
            } => {
                if *participant == me.participant() {
                    return Ok(());
                }
                let frame = ServerFrame::Read {
                    conversation: *conversation,
                    participant: *participant,
                    seq: *seq,
                };
                self.frame(&frame).await
            }
            DomainEvent::ScheduleChanged { agents, dates } => {
                let frame = ServerFrame::ScheduleChanged {
                    agents: agents.clone(),
                    dates: *dates,
                };
                self.frame(&frame).await
            }
            DomainEvent::LeaveRequested { leave, agent } => {
                let frame = ServerFrame::LeaveRequested {
                    leave: *leave,
                    agent: *agent,
                };
                self.frame(&frame).await
            }
            DomainEvent::LeaveDecided {
                leave,
                agent,
                state,
            } => {
                let frame = ServerFrame::LeaveDecided {
                    leave: *leave,
                    agent: *agent,
                    state: *state,
                };
                self.frame(&frame).await
            }
            DomainEvent::SwapRequested {
                swap,
                requester,
                target,
            } => {
                let frame = ServerFrame::SwapRequested {
                    swap: *swap,
                    requester: *requester,
                    target: *target,
                };
                self.frame(&frame).await
            }
            DomainEvent::SwapDecided {
                swap,
                requester,
                target,
                state,
            } => {
                let frame = ServerFrame::SwapDecided {
                    swap: *swap,
                    requester: *requester,
                    target: *target,
                    state: *state,
                };
                self.frame(&frame).await
            }
        }
    }

    /// An agent given a conversation gets its messages at once, from where this connection
    /// stands (from the start for a conversation new to it).
    async fn new_holder(&mut self, id: ConversationId, is_me: bool) -> Result<(), Gone> {
        if !is_me {
            return Ok(());
        }
        match self.catch_up(id, None).await {
            Ok(sent) => sent,
            Err(error) => {
                tracing::warn!(conversation = id.get(), %error, "replay to a new holder failed");
                Ok(())
            }
        }
    }

    /// A message pushed by the hub: sent in order, after any it skipped over.
    async fn pushed_message(&mut self, message: &Message) -> Result<(), Gone> {
        let id = message.conversation;
        let sent = self.sent.entry(id).or_default();
        if !sent.anchored {
            return self.loose_message(message).await;
        }
        let highest = match sent.highest {
            Some(highest) if message.seq > highest.next() => highest,
            _ => return self.message(message).await,
        };
        // Numbers between were skipped: private notes a customer does not see, or a message
        // whose publication this one overtook. The store has them all.
        let missing = self
            .session
            .service
            .messages_after(self.ctx(), id, Some(highest), REPLAY_PAGE)
            .await;
        match missing {
            Ok(missing) => {
                for earlier in missing
                    .iter()
                    .take_while(|earlier| earlier.seq < message.seq)
                {
                    self.message(earlier).await?;
                }
            }
            Err(error) => {
                tracing::debug!(conversation = id.get(), %error, "filling a gap failed");
            }
        }
        self.message(message).await
    }
}

impl<O: Sink<Outbound> + Unpin> Connection<O> {
    /// A live message of a conversation not resumed on this connection. Messages stamped
    /// since the connection opened are all pushed to it, but two committed at almost the same
    /// moment may be published in the other order; one further ahead than the next number
    /// sends the earlier live ones from the store first, and their own pushes are dropped
    /// when they come. What came before the connection is the client's to resume.
    async fn loose_message(&mut self, message: &Message) -> Result<(), Gone> {
        let id = message.conversation;
        let highest = self.sent.get(&id).and_then(|sent| sent.highest);
        let next = highest.map_or(Seq::FIRST, Seq::next);
        let opened_at = self.opened_at;
        if message.seq > next && message.sent_at >= opened_at {
            let earlier = self
                .session
                .service
                .messages_after(self.ctx(), id, highest, REPLAY_PAGE)
                .await;
            match earlier {
                Ok(earlier) => {
                    let live = earlier.iter().filter(|earlier| {
                        earlier.seq < message.seq && earlier.sent_at >= opened_at
                    });
                    for earlier in live {
                        self.message(earlier).await?;
                    }
                }
                Err(error) => {
                    let conversation = id.get();
                    tracing::debug!(conversation, %error, "reading earlier live messages failed");
                }
            }
        }
        self.message(message).await
    }
}

/// The error frame for a refused operation.
fn refusal(error: ConversationError, field: Option<String>, raw: Value) -> ErrorOut {
    let mut out = problem_out(Problem::from(error), raw);
    if field.is_some() {
        out.field = field;
    }
    out
}

fn problem_out(problem: Problem, raw: Value) -> ErrorOut {
    ErrorOut {
        code: problem.code,
        message: problem.detail,
        field: problem.field.map(|field| format!("payload.{field}")),
        frame: Some(raw),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use shiftdesk_core::conversation::NewCustomer;
    use shiftdesk_core::staff::Actor;
    use shiftdesk_core::text::{DisplayName, ExternalId};
    use shiftdesk_core::time::SystemClock;
    use shiftdesk_store_memory::MemoryStore;
    use tokio::sync::mpsc;
    use tokio::task::JoinHandle;

    use super::*;

    /// A service over a memory store whose events go to `hub`.
    fn service(hub: &Arc<Hub>) -> Service {
        Service::new(
            Arc::new(MemoryStore::new()),
            hub.clone(),
            Arc::new(SystemClock),
        )
        .with_presence(hub.clone())
    }

    /// A customer with a conversation of their own.
    async fn customer_with_conversation(service: &Service) -> (Context, ConversationId) {
        let new = NewCustomer {
            external_id: ExternalId::parse("c-1").expect("external id"),
            display_name: DisplayName::parse("Ana").expect("name"),
        };
        let system = Context::new(Actor::System);
        let registered = service.register_customer(&system, new).await;
        let ctx = Context::new(Actor::Customer {
            id: registered.expect("customer").id,
        });
        let opened = service.open_conversation(&ctx, None, None).await;
        (ctx, opened.expect("opened").id)
    }

    async fn write(service: &Service, ctx: &Context, id: ConversationId, count: usize) {
        for n in 0..count {
            let outgoing = Outgoing {
                client_id: None,
                kind: shiftdesk_core::message::MessageKind::Message,
                body: MessageBody::parse(&format!("line {n}")).expect("body"),
            };
            service.send(ctx, id, outgoing).await.expect("sent");
        }
    }

    /// One connection's loop over channels: frames go in through `client`, come out of
    /// `server`.
    struct Wire {
        client: mpsc::Sender<Inbound>,
        server: mpsc::Receiver<Outbound>,
        task: JoinHandle<()>,
    }

    fn open(session: Session, room: usize) -> Wire {
        let (client, inbound) = mpsc::channel::<Inbound>(16);
        let (outbound, server) = mpsc::channel::<Outbound>(room);
        let incoming = futures_util::stream::unfold(inbound, |mut inbound| async move {
            inbound.recv().await.map(|frame| (frame, inbound))
        });
        let outgoing =
            futures_util::sink::unfold(outbound, |outbound, frame: Outbound| async move {
                outbound.send(frame).await.map_err(|_| Gone)?;
                Ok::<_, Gone>(outbound)
            });
        let task = tokio::spawn(serve(session, Box::pin(incoming), Box::pin(outgoing)));
        Wire {
            client,
            server,
            task,
        }
    }

    impl Wire {
        async fn send(&self, frame: Value) {
            let text = frame.to_string();
            self.client.send(Inbound::Text(text)).await.expect("sent");
        }

        /// The next frame, answering pings.
        async fn next(&mut self) -> Outbound {
            loop {
                match self.server.recv().await.expect("a frame") {
                    Outbound::Ping => {
                        let _ = self.client.send(Inbound::Pong).await;
                    }
                    frame => return frame,
                }
            }
        }

        async fn next_json(&mut self) -> Value {
            match self.next().await {
                Outbound::Text(text) => serde_json::from_str(&text).expect("json"),
                other => panic!("expected a text frame, got {other:?}"),
            }
        }

        /// The message sequence numbers of `id` up to its `resumed` frame.
        async fn replayed(&mut self, id: ConversationId) -> Vec<u64> {
            let mut seqs = Vec::new();
            loop {
                let frame = self.next_json().await;
                match frame["type"].as_str() {
                    Some("message") if frame["payload"]["conversation"] == id.get() => {
                        seqs.push(frame["payload"]["seq"].as_u64().expect("seq"));
                    }
                    Some("resumed") => return seqs,
                    _ => {}
                }
            }
        }
    }

    fn session(service: &Service, hub: &Arc<Hub>, ctx: &Context) -> Session {
        let Actor::Customer { id } = ctx.actor else {
            panic!("a customer")
        };
        Session {
            service: service.clone(),
            hub: hub.clone(),
            ctx: ctx.clone(),
            user: User::Customer(id),
            admin: false,
            settings: RealtimeSettings::default(),
            resume: Vec::new(),
        }
    }

    fn resume(id: ConversationId, last: u64) -> Value {
        serde_json::json!({ "type": "resume", "payload": {
            "conversations": { id.get().to_string(): last },
        } })
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_minute_away_a_resume_from_40_delivers_41_onward() {
        let hub = Arc::new(Hub::new());
        let service = service(&hub);
        let (ctx, id) = customer_with_conversation(&service).await;
        write(&service, &ctx, id, 40).await;

        let mut first = open(session(&service, &hub, &ctx), 64);
        assert_eq!(first.next_json().await["type"], "hello");
        first.client.send(Inbound::Close).await.expect("closed");
        first.task.await.expect("ended");

        tokio::time::advance(Duration::from_secs(60)).await;
        write(&service, &ctx, id, 20).await;
        let mut second = open(session(&service, &hub, &ctx), 64);
        assert_eq!(second.next_json().await["type"], "hello");
        second.send(resume(id, 40)).await;
        assert_eq!(second.replayed(id).await, (41..=60).collect::<Vec<u64>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_message_committed_during_the_replay_is_sent_once_in_order() {
        let hub = Arc::new(Hub::new());
        let service = service(&hub);
        let (ctx, id) = customer_with_conversation(&service).await;
        write(&service, &ctx, id, 30).await;

        let mut wire = open(session(&service, &hub, &ctx), 1024);
        assert_eq!(wire.next_json().await["type"], "hello");
        wire.send(resume(id, 0)).await;
        // These commit while the replay runs, before it or after it: each must come once.
        write(&service, &ctx, id, 10).await;
        let mut seqs = wire.replayed(id).await;
        while seqs.last() != Some(&40) {
            let frame = wire.next_json().await;
            if frame["type"] == "message" {
                seqs.push(frame["payload"]["seq"].as_u64().expect("seq"));
            }
        }
        assert_eq!(seqs, (1..=40).collect::<Vec<u64>>());
    }

    #[tokio::test]
    async fn live_messages_published_the_other_way_round_arrive_in_order_once() {
        use shiftdesk_core::event::{Notifier, SilentNotifier};

        let hub = Arc::new(Hub::new());
        let store: Arc<dyn shiftdesk_core::store::Store> = Arc::new(MemoryStore::new());
        let service = Service::new(store.clone(), hub.clone(), Arc::new(SystemClock));
        let (ctx, id) = customer_with_conversation(&service).await;
        let Actor::Customer { id: customer } = ctx.actor else {
            panic!("a customer")
        };
        let mut wire = open(session(&service, &hub, &ctx), 64);
        assert_eq!(wire.next_json().await["type"], "hello");

        // Two messages committed by requests that publish late, the second one first.
        let quiet = Service::new(store, Arc::new(SilentNotifier), Arc::new(SystemClock));
        write(&quiet, &ctx, id, 2).await;
        let stored = service
            .messages_after(&ctx, id, None, 10)
            .await
            .expect("read");
        for message in stored.iter().rev() {
            let event = DomainEvent::MessagePosted {
                message: message.clone(),
                customer,
                assignee: None,
            };
            hub.publish(event).await;
        }
        write(&service, &ctx, id, 1).await;

        let mut seqs = Vec::new();
        while seqs.last() != Some(&3) {
            let frame = wire.next_json().await;
            if frame["type"] == "message" {
                seqs.push(frame["payload"]["seq"].as_u64().expect("seq"));
            }
        }
        assert_eq!(seqs, [1, 2, 3]);
    }

    #[tokio::test]
    async fn an_ack_comes_after_the_commit_and_before_the_echo() {
        let hub = Arc::new(Hub::new());
        let service = service(&hub);
        let (ctx, id) = customer_with_conversation(&service).await;
        let mut wire = open(session(&service, &hub, &ctx), 64);
        assert_eq!(wire.next_json().await["type"], "hello");

        wire.send(serde_json::json!({ "type": "send", "payload": {
            "conversation": id.get(), "client_id": "k-1", "body": "hello",
        } }))
        .await;
        let ack = wire.next_json().await;
        assert_eq!(ack["type"], "ack");
        let stored = service
            .messages_after(&ctx, id, None, 10)
            .await
            .expect("read");
        assert_eq!(ack["payload"]["seq"], stored[0].seq.get());
        let echo = wire.next_json().await;
        assert_eq!(
            (echo["type"].clone(), echo["payload"]["seq"].clone()),
            ("message".into(), 1.into())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_answers_no_pings_is_dropped() {
        let hub = Arc::new(Hub::new());
        let service = service(&hub);
        let (ctx, _) = customer_with_conversation(&service).await;
        let mut wire = open(session(&service, &hub, &ctx), 64);
        assert!(matches!(wire.server.recv().await, Some(Outbound::Text(_))));

        assert_eq!(wire.server.recv().await, Some(Outbound::Ping));
        assert_eq!(wire.server.recv().await, Some(Outbound::Ping));
        let closed = wire.server.recv().await;
        assert_eq!(closed, Some(Outbound::Close(4003, "pings unanswered")));
        wire.task.await.expect("ended");
        assert_eq!(hub.online().customer_connections, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_answers_pings_stays() {
        let hub = Arc::new(Hub::new());
        let service = service(&hub);
        let (ctx, _) = customer_with_conversation(&service).await;
        let mut wire = open(session(&service, &hub, &ctx), 64);
        assert!(matches!(wire.server.recv().await, Some(Outbound::Text(_))));
        for _ in 0..5 {
            assert_eq!(wire.server.recv().await, Some(Outbound::Ping));
            wire.client.send(Inbound::Pong).await.expect("pong");
        }
        assert_eq!(hub.online().customer_connections, 1);
    }

    #[tokio::test]
    async fn a_consumer_that_stops_reading_is_closed_for_a_resume() {
        let hub = Arc::new(Hub::new());
        let service = service(&hub);
        let (ctx, id) = customer_with_conversation(&service).await;
        let settings = RealtimeSettings {
            queue: 4,
            ..RealtimeSettings::default()
        };
        let mut wire = open(
            Session {
                settings,
                ..session(&service, &hub, &ctx)
            },
            1,
        );
        assert_eq!(wire.next_json().await["type"], "hello");
        // Nobody reads: the sink holds one frame, the loop blocks on the next, the queue
        // fills, and the hub asks the connection to close rather than wait.
        write(&service, &ctx, id, 20).await;
        let mut server = wire.server;
        let mut last = None;
        while let Some(frame) = server.recv().await {
            last = Some(frame);
        }
        assert_eq!(last, Some(Outbound::Close(4002, "too far behind: resume")));
    }
}
