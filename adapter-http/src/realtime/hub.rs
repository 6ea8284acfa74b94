//! The hub: which connections are open, for whom, and who hears of each domain event.
//!
//! It is `core`'s [`Notifier`] (events arrive after their change committed) and its
//! [`Presence`] (an agent is online while a connection of theirs is open). Delivery never
//! blocks: each connection has a bounded queue, and a connection whose queue is full is told
//! to close with [`close::RESUME_NEEDED`] rather than slowing the hub or growing memory. The
//! client then resumes from its last sequence numbers and loses nothing.
//!
//! Who hears what:
//! - a conversation's events go to its customer (never a private note), to its current
//!   assignee, to the agents a transfer or a re-queue moved it between, and to every
//!   connection watching it (one that resumed it, as an admin following a conversation does);
//! - a read position goes to the other side (the reader's own devices skip it);
//! - schedule, leave and swap events go to the agents they name and to every admin (admins
//!   decide requests); presence changes go to admins;
//! - admins get no conversation traffic they have not resumed, so a thousand agents'
//!   messages do not all flow to every admin's browser.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use shiftdesk_core::event::{DomainEvent, Notifier};
use shiftdesk_core::ids::{AgentId, ConversationId};
use shiftdesk_core::message::Participant;
use shiftdesk_core::routing::Presence;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::protocol::{User, close};

/// A connection's number within this server.
pub type ConnectionId = u64;

/// Why the server closes a connection: a close code and its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    /// The WebSocket close code.
    pub code: u16,
    /// The reason sent with it.
    pub reason: &'static str,
}

impl Close {
    /// The server is shutting down.
    pub const GOING_AWAY: Close = Close {
        code: close::GOING_AWAY,
        reason: "server shutting down",
    };
    /// A newer connection of the same user took over.
    pub const REPLACED: Close = Close {
        code: close::REPLACED,
        reason: "replaced by a newer connection",
    };
    /// The send queue overflowed.
    pub const RESUME_NEEDED: Close = Close {
        code: close::RESUME_NEEDED,
        reason: "too far behind: resume",
    };
    /// Pings went unanswered.
    pub const HEARTBEAT_MISSED: Close = Close {
        code: close::HEARTBEAT_MISSED,
        reason: "pings unanswered",
    };
    /// The staff member's sessions ended: logged out, or their password, role or activity
    /// changed.
    pub const SIGNED_OUT: Close = Close {
        code: close::SIGNED_OUT,
        reason: "signed out: sign in again",
    };
}

/// Something the hub hands one connection.
#[derive(Debug, Clone)]
pub enum Push {
    /// A domain event, shared by every connection it goes to.
    Event(Arc<DomainEvent>),
    /// Someone is typing in a conversation, or stopped.
    Typing {
        /// The conversation.
        conversation: ConversationId,
        /// Who.
        participant: Participant,
        /// Whether they are typing.
        active: bool,
    },
    /// An agent came online or went offline.
    Presence {
        /// The agent.
        agent: AgentId,
        /// Whether they are online now.
        online: bool,
    },
}

/// What a connection gets when it joins the hub.
#[derive(Debug)]
pub struct Registration {
    /// Its number.
    pub id: ConnectionId,
    /// What the hub sends it.
    pub pushes: mpsc::Receiver<Push>,
    /// Set when the hub wants it closed.
    pub close: watch::Receiver<Option<Close>>,
    /// Whether it is the only connection of an agent, who has just come online.
    pub came_online: bool,
}

/// Who is online, as the hub counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineStats {
    /// The agents with at least one connection, by id.
    pub agents: Vec<AgentId>,
    /// Connections of staff.
    pub agent_connections: usize,
    /// Connections of customers.
    pub customer_connections: usize,
}

struct Connection {
    user: User,
    admin: bool,
    queue: mpsc::Sender<Push>,
    close: watch::Sender<Option<Close>>,
    watching: HashSet<ConversationId>,
}

#[derive(Default)]
struct State {
    connections: HashMap<ConnectionId, Connection>,
    by_user: HashMap<User, Vec<ConnectionId>>,
    watchers: HashMap<ConversationId, HashSet<ConnectionId>>,
    /// Set once the server shuts down: connections arriving after are closed at once.
    closing: bool,
    /// When each staff member's sessions last ended: tickets issued before open nothing.
    signed_out: HashMap<AgentId, Instant>,
}

/// The connections of this server and the fan-out of events to them.
pub struct Hub {
    state: Mutex<State>,
    next_id: AtomicU64,
    live: watch::Sender<usize>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("connections", &*self.live.borrow())
            .finish_non_exhaustive()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    /// A hub without connections.
    pub fn new() -> Hub {
        Hub {
            state: Mutex::new(State::default()),
            next_id: AtomicU64::new(1),
            live: watch::channel(0).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Files a new connection of `user` with a send queue of `queue` pushes. With
    /// `single_device`, the user's older connections are told to close with
    /// [`Close::REPLACED`].
    pub fn register(
        &self,
        user: User,
        admin: bool,
        queue: usize,
        single_device: bool,
    ) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, pushes) = mpsc::channel(queue.max(1));
        let (close_sender, close) = watch::channel(None);
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.closing {
            close_sender.send_replace(Some(Close::GOING_AWAY));
        }
        let older = state.by_user.entry(user).or_default();
        if single_device {
            for older in older.iter() {
                if let Some(connection) = state.connections.get(older) {
                    connection.close.send_replace(Some(Close::REPLACED));
                }
            }
        }
        let older = state.by_user.entry(user).or_default();
        older.push(id);
        let came_online = matches!(user, User::Agent(_)) && older.len() == 1;
        state.connections.insert(
            id,
            Connection {
                user,
                admin,
                queue: sender,
                close: close_sender,
                watching: HashSet::new(),
            },
        );
        if let (true, User::Agent(agent)) = (came_online, user) {
            let admins = admins(state, Some(id));
            deliver(
                state,
                admins,
                &Push::Presence {
                    agent,
                    online: true,
                },
            );
        }
        self.live.send_replace(state.connections.len());
        Registration {
            id,
            pushes,
            close,
            came_online,
        }
    }

    /// Forgets a connection. Returns whether it was the last of an agent, who is now offline.
    pub fn unregister(&self, id: ConnectionId) -> bool {
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(connection) = state.connections.remove(&id) else {
            return false;
        };
        for conversation in &connection.watching {
            if let Some(watchers) = state.watchers.get_mut(conversation) {
                watchers.remove(&id);
                if watchers.is_empty() {
                    state.watchers.remove(conversation);
                }
            }
        }
        let user = connection.user;
        let mut last = false;
        if let Some(ids) = state.by_user.get_mut(&user) {
            ids.retain(|other| *other != id);
            if ids.is_empty() {
                state.by_user.remove(&user);
                last = true;
            }
        }
        let went_offline = last && matches!(user, User::Agent(_));
        if let (true, User::Agent(agent)) = (went_offline, user) {
            let admins = admins(state, None);
            deliver(
                state,
                admins,
                &Push::Presence {
                    agent,
                    online: false,
                },
            );
        }
        self.live.send_replace(state.connections.len());
        went_offline
    }

    /// Sends the connection `id` the events of `conversation` from now on. Call it only for
    /// a conversation the connection's user may read.
    pub fn watch(&self, id: ConnectionId, conversation: ConversationId) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(connection) = state.connections.get_mut(&id) else {
            return;
        };
        if connection.watching.insert(conversation) {
            state.watchers.entry(conversation).or_default().insert(id);
        }
    }

    /// Tells `to` that `from` is typing in `conversation` (or stopped).
    pub fn typing(&self, conversation: ConversationId, from: User, to: &[User], active: bool) {
        let state = self.lock();
        let ids = to
            .iter()
            .filter(|user| **user != from)
            .flat_map(|user| state.by_user.get(user).into_iter().flatten().copied())
            .collect();
        let push = Push::Typing {
            conversation,
            participant: from.participant(),
            active,
        };
        deliver(&state, ids, &push);
    }

    /// Closes every connection of `agent` with [`Close::SIGNED_OUT`] and remembers when, so
    /// that a ticket issued before opens nothing (see [`Hub::signed_out_since`]).
    pub fn sessions_ended(&self, agent: AgentId) {
        let mut guard = self.lock();
        let state = &mut *guard;
        state.signed_out.insert(agent, Instant::now());
        let ids = state.by_user.get(&User::Agent(agent)).into_iter().flatten();
        for id in ids {
            if let Some(connection) = state.connections.get(id) {
                connection.close.send_replace(Some(Close::SIGNED_OUT));
            }
        }
    }

    /// Whether `agent`'s sessions ended at or after `issued`, when their ticket was issued.
    pub fn signed_out_since(&self, agent: AgentId, issued: Instant) -> bool {
        self.lock()
            .signed_out
            .get(&agent)
            .is_some_and(|ended| *ended >= issued)
    }

    /// Tells every connection to close with `reason`, and every later one at once.
    pub fn close_all(&self, reason: Close) {
        let mut state = self.lock();
        state.closing = true;
        for connection in state.connections.values() {
            connection.close.send_replace(Some(reason));
        }
    }

    /// Resolves once no connection is left.
    pub async fn until_empty(&self) {
        let mut live = self.live.subscribe();
        let _ = live.wait_for(|count| *count == 0).await;
    }

    /// The agents online and the connections open.
    pub fn online(&self) -> OnlineStats {
        let state = self.lock();
        let mut agents: Vec<AgentId> = state
            .by_user
            .keys()
            .filter_map(|user| match user {
                User::Agent(id) => Some(*id),
                User::Customer(_) => None,
            })
            .collect();
        agents.sort_unstable();
        let agent_connections = state
            .connections
            .values()
            .filter(|connection| matches!(connection.user, User::Agent(_)))
            .count();
        OnlineStats {
            agents,
            agent_connections,
            customer_connections: state.connections.len() - agent_connections,
        }
    }
}

/// Every admin connection but `except`.
fn admins(state: &State, except: Option<ConnectionId>) -> BTreeSet<ConnectionId> {
    state
        .connections
        .iter()
        .filter(|(id, connection)| connection.admin && Some(**id) != except)
        .map(|(id, _)| *id)
        .collect()
}

/// Queues `push` for each connection, without waiting: a full queue closes its connection.
fn deliver(state: &State, ids: BTreeSet<ConnectionId>, push: &Push) {
    for id in ids {
        let Some(connection) = state.connections.get(&id) else {
            continue;
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = connection.queue.try_send(push.clone()) {
            tracing::debug!(connection = id, "send queue full; closing for a resume");
            connection.close.send_replace(Some(Close::RESUME_NEEDED));
        }
    }
}

/// Who hears of an event: users by id, a conversation's watchers, admins.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    /// Users, each at every connection of theirs.
    pub users: Vec<User>,
    /// The conversation whose watchers hear of it.
    pub conversation: Option<ConversationId>,
    /// Whether every admin hears of it.
    pub admins: bool,
}

/// Who hears of `event`; see the module's documentation.
pub fn recipients(event: &DomainEvent) -> Recipients {
    let agent = |id: AgentId| User::Agent(id);
    let of_conversation = |conversation, users: Vec<User>| Recipients {
        users,
        conversation: Some(conversation),
        admins: false,
    };
    let of_team = |users: Vec<User>| Recipients {
        users,
        conversation: None,
        admins: true,
    };
    match event {
        // Not pushed: the hub closes the staff member's connections instead.
        DomainEvent::SessionsEnded { .. } => Recipients::default(),
        DomainEvent::ScheduleChanged { agents, .. } => Recipients {
            users: agents.iter().copied().map(agent).collect(),
            ..Recipients::default()
        },
        DomainEvent::LeaveRequested { agent: who, .. }
        | DomainEvent::LeaveDecided { agent: who, .. } => of_team(vec![agent(*who)]),
        DomainEvent::SwapRequested {
            requester, target, ..
        }
        | DomainEvent::SwapDecided {
            requester, target, ..
        } => of_team(vec![agent(*requester), agent(*target)]),
        DomainEvent::MessagePosted {
            message,
            customer,
            assignee,
        } => {
            let mut users: Vec<User> = assignee.iter().copied().map(agent).collect();
            if message.is_public() {
                users.push(User::Customer(*customer));
            }
            of_conversation(message.conversation, users)
        }
        DomainEvent::ConversationAssigned {
            conversation,
            customer,
            agent: to,
        } => of_conversation(*conversation, vec![User::Customer(*customer), agent(*to)]),
        DomainEvent::ConversationTransferred {
            conversation,
            customer,
            from,
            to,
        } => {
            let mut users = vec![User::Customer(*customer), agent(*to)];
            users.extend(from.iter().copied().map(agent));
            of_conversation(*conversation, users)
        }
        DomainEvent::ConversationQueued {
            conversation,
            customer,
            from,
        } => {
            let mut users = vec![User::Customer(*customer)];
            users.extend(from.iter().copied().map(agent));
            of_conversation(*conversation, users)
        }
        DomainEvent::ConversationStatusChanged {
            conversation,
            customer,
            assignee,
            ..
        } => {
            let mut users = vec![User::Customer(*customer)];
            users.extend(assignee.iter().copied().map(agent));
            of_conversation(*conversation, users)
        }
        DomainEvent::ReadPositionMoved {
            conversation,
            customer,
            assignee,
            participant,
            ..
        } => {
            let users = match participant {
                Participant::Customer(_) => assignee.iter().copied().map(agent).collect(),
                Participant::Agent(_) => vec![User::Customer(*customer)],
            };
            of_conversation(*conversation, users)
        }
    }
}

#[async_trait]
impl Notifier for Hub {
    async fn publish(&self, event: DomainEvent) {
        if let DomainEvent::SessionsEnded { agent } = event {
            self.sessions_ended(agent);
            return;
        }
        let to = recipients(&event);
        let state = self.lock();
        let mut ids: BTreeSet<ConnectionId> = to
            .users
            .iter()
            .flat_map(|user| state.by_user.get(user).into_iter().flatten().copied())
            .collect();
        if let Some(watchers) = to.conversation.and_then(|id| state.watchers.get(&id)) {
            ids.extend(watchers.iter().copied());
        }
        if to.admins {
            ids.extend(admins(&state, None));
        }
        if ids.is_empty() {
            return;
        }
        deliver(&state, ids, &Push::Event(Arc::new(event)));
    }
}

impl Presence for Hub {
    fn is_online(&self, agent: AgentId) -> bool {
        self.lock().by_user.contains_key(&User::Agent(agent))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use shiftdesk_core::ids::{CustomerId, Seq};
    use shiftdesk_core::message::{Message, MessageKind, Sender};
    use shiftdesk_core::text::MessageBody;

    use super::*;

    fn agent(id: i64) -> AgentId {
        AgentId::try_from(id).expect("id")
    }

    fn customer(id: i64) -> CustomerId {
        CustomerId::try_from(id).expect("id")
    }

    fn posted(kind: MessageKind, seq: u64) -> DomainEvent {
        DomainEvent::MessagePosted {
            message: Message {
                conversation: ConversationId::try_from(1).expect("id"),
                seq: Seq::try_from(seq).expect("seq"),
                client_id: None,
                sender: Sender::Agent(agent(2)),
                kind,
                body: MessageBody::parse("hello").expect("body"),
                sent_at: Utc::now(),
            },
            customer: customer(9),
            assignee: Some(agent(2)),
        }
    }

    #[test]
    fn a_private_note_never_goes_to_the_customer() {
        let note = recipients(&posted(MessageKind::Note, 1));
        assert_eq!(note.users, vec![User::Agent(agent(2))]);
        let message = recipients(&posted(MessageKind::Message, 1));
        assert!(message.users.contains(&User::Customer(customer(9))));
    }

    #[tokio::test]
    async fn a_full_queue_closes_its_connection_for_a_resume_and_spares_the_others() {
        let hub = Hub::new();
        let slow = hub.register(User::Customer(customer(9)), false, 2, true);
        let mut fast = hub.register(User::Agent(agent(2)), false, 64, true);
        for seq in 1..=3 {
            hub.publish(posted(MessageKind::Message, seq)).await;
        }
        assert_eq!(*slow.close.borrow(), Some(Close::RESUME_NEEDED));
        assert_eq!(*fast.close.borrow(), None);
        for _ in 1..=3 {
            assert!(matches!(fast.pushes.try_recv(), Ok(Push::Event(_))));
        }
    }

    #[tokio::test]
    async fn a_second_connection_replaces_the_first_unless_devices_may_be_several() {
        let hub = Hub::new();
        let first = hub.register(User::Agent(agent(2)), false, 8, true);
        assert!(first.came_online);
        let second = hub.register(User::Agent(agent(2)), false, 8, true);
        assert!(!second.came_online);
        assert_eq!(*first.close.borrow(), Some(Close::REPLACED));
        let third = hub.register(User::Agent(agent(2)), false, 8, false);
        assert_eq!(*second.close.borrow(), None);
        assert!(!hub.unregister(first.id));
        assert!(!hub.unregister(second.id));
        assert!(hub.is_online(agent(2)));
        assert!(
            hub.unregister(third.id),
            "the last connection takes the agent offline"
        );
        assert!(!hub.is_online(agent(2)));
    }

    #[tokio::test]
    async fn admins_hear_presence_and_online_stats_count_connections() {
        let hub = Hub::new();
        let mut admin = hub.register(User::Agent(agent(1)), true, 8, true);
        let _mei = hub.register(User::Agent(agent(2)), false, 8, true);
        let _customer = hub.register(User::Customer(customer(9)), false, 8, true);
        match admin.pushes.try_recv() {
            Ok(Push::Presence { agent: who, online }) => {
                assert_eq!((who, online), (agent(2), true))
            }
            other => panic!("expected presence, got {other:?}"),
        }
        let stats = hub.online();
        assert_eq!(stats.agents, vec![agent(1), agent(2)]);
        assert_eq!(
            (stats.agent_connections, stats.customer_connections),
            (2, 1)
        );
    }
}
