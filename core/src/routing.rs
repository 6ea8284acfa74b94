//! Schedule-aware routing: which agent gets a waiting conversation.
//!
//! An agent can take a conversation only if a scheduled entry of theirs covers this instant,
//! they are online, they are active, and they hold fewer open conversations than their
//! capacity. Among those, the least loaded wins; ties go to the one idle longest (the oldest
//! last assignment, never-assigned first), then to the lowest id so the choice is repeatable.
//!
//! Presence is not stored data: `core` asks a [`Presence`], which the real-time hub implements.
//! The choice here is advisory; the service then claims the agent under their lock and checks
//! the load again, so two routers can never overfill one agent.

use std::collections::HashSet;
use std::iter::Peekable;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::AgentId;
use crate::staff::{Agent, Capacity};

/// Whether agents are connected and available right now.
pub trait Presence: Send + Sync {
    /// Whether `agent` is online and not set away.
    fn is_online(&self, agent: AgentId) -> bool;
}

/// A presence in which nobody is ever online: tools without a real-time hub.
#[derive(Debug, Clone, Copy, Default)]
pub struct NobodyOnline;

impl Presence for NobodyOnline {
    fn is_online(&self, _agent: AgentId) -> bool {
        false
    }
}

/// A presence set by hand, for tests and demos.
#[derive(Debug, Default)]
pub struct PresenceSet(RwLock<HashSet<AgentId>>);

impl PresenceSet {
    /// Marks `agent` online.
    pub fn set_online(&self, agent: AgentId) {
        self.0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(agent);
    }

    /// Marks `agent` offline.
    pub fn set_offline(&self, agent: AgentId) {
        self.0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&agent);
    }
}

impl Presence for PresenceSet {
    fn is_online(&self, agent: AgentId) -> bool {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(&agent)
    }
}

/// How busy an agent is, as the store counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AgentLoad {
    /// The agent.
    pub agent: AgentId,
    /// Unresolved conversations they hold.
    pub open: u32,
    /// When they were last given a conversation, if ever.
    pub last_assigned_at: Option<DateTime<Utc>>,
}

/// One agent as routing weighs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The agent.
    pub agent: AgentId,
    /// Whether they are active.
    pub active: bool,
    /// Whether a scheduled entry of theirs covers now.
    pub on_shift: bool,
    /// Whether they are online.
    pub online: bool,
    /// Unresolved conversations they hold.
    pub open: u32,
    /// How many they may hold.
    pub capacity: Capacity,
    /// When they were last given a conversation, if ever.
    pub last_assigned_at: Option<DateTime<Utc>>,
}

impl Candidate {
    /// Whether they could take one more conversation now.
    pub fn can_take(&self) -> bool {
        self.active && self.on_shift && self.online && self.open < self.capacity.get()
    }
}

/// Joins what the store and the hub know into candidates.
///
/// Every list must be sorted by agent id, as the store returns them, so one pass joins them;
/// an agent without a load holds nothing and was never assigned.
pub fn candidates(
    agents: &[Agent],
    on_shift: &[AgentId],
    online: &[AgentId],
    loads: &[AgentLoad],
    default_capacity: Capacity,
) -> Vec<Candidate> {
    let mut on_shift = on_shift.iter().copied().peekable();
    let mut online = online.iter().copied().peekable();
    let mut loads = loads.iter().copied().peekable();
    agents
        .iter()
        .map(|agent| {
            let id = agent.id;
            let load = step_to(&mut loads, id, |load| load.agent);
            Candidate {
                agent: id,
                active: agent.active,
                on_shift: step_to(&mut on_shift, id, |other| *other).is_some(),
                online: step_to(&mut online, id, |other| *other).is_some(),
                open: load.map_or(0, |load| load.open),
                capacity: agent.capacity.unwrap_or(default_capacity),
                last_assigned_at: load.and_then(|load| load.last_assigned_at),
            }
        })
        .collect()
}

/// Moves a sorted cursor past everything before `id` and takes the item for `id`, if any.
fn step_to<T>(
    items: &mut Peekable<impl Iterator<Item = T>>,
    id: AgentId,
    key: impl Fn(&T) -> AgentId,
) -> Option<T> {
    while items.next_if(|item| key(item) < id).is_some() {}
    items.next_if(|item| key(item) == id)
}

/// The agent who should get the next waiting conversation, leaving out `exclude` (agents a
/// concurrent router filled meanwhile), or `None` if nobody can take one.
pub fn choose_agent(candidates: &[Candidate], exclude: &[AgentId]) -> Option<AgentId> {
    candidates
        .iter()
        .filter(|candidate| candidate.can_take() && !exclude.contains(&candidate.agent))
        .min_by_key(|candidate| (candidate.open, candidate.last_assigned_at, candidate.agent))
        .map(|candidate| candidate.agent)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use std::collections::HashMap;

    use super::*;
    use crate::staff::Role;
    use crate::text::{DisplayName, Login};

    fn agent(id: i64) -> Agent {
        Agent {
            id: AgentId::try_from(id).unwrap(),
            login: Login::parse(&format!("agent{id}")).unwrap(),
            display_name: DisplayName::parse(&format!("Agent {id}")).unwrap(),
            role: Role::Agent,
            active: true,
            skills: BTreeSet::new(),
            capacity: None,
        }
    }

    fn at(minute: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2027-01-04T09:{minute:02}:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn load(id: i64, open: u32, last: Option<u32>) -> (AgentId, AgentLoad) {
        let agent = AgentId::try_from(id).unwrap();
        (
            agent,
            AgentLoad {
                agent,
                open,
                last_assigned_at: last.map(at),
            },
        )
    }

    struct World {
        agents: Vec<Agent>,
        on_shift: Vec<AgentId>,
        loads: HashMap<AgentId, AgentLoad>,
        presence: PresenceSet,
    }

    impl World {
        fn new(ids: &[i64]) -> Self {
            let presence = PresenceSet::default();
            for &id in ids {
                presence.set_online(AgentId::try_from(id).unwrap());
            }
            Self {
                agents: ids.iter().map(|&id| agent(id)).collect(),
                on_shift: ids
                    .iter()
                    .map(|&id| AgentId::try_from(id).unwrap())
                    .collect(),
                loads: HashMap::new(),
                presence,
            }
        }

        fn choose(&self, capacity: u32) -> Option<i64> {
            let mut loads: Vec<AgentLoad> = self.loads.values().copied().collect();
            loads.sort_by_key(|load| load.agent);
            let default = Capacity::new(capacity).unwrap();
            let online: Vec<AgentId> = self
                .agents
                .iter()
                .map(|agent| agent.id)
                .filter(|agent| self.presence.is_online(*agent))
                .collect();
            let candidates = candidates(&self.agents, &self.on_shift, &online, &loads, default);
            choose_agent(&candidates, &[]).map(AgentId::get)
        }
    }

    #[test]
    fn the_least_loaded_agent_wins() {
        let mut world = World::new(&[1, 2, 3]);
        world
            .loads
            .extend([load(1, 2, Some(1)), load(2, 1, Some(2)), load(3, 3, None)]);
        assert_eq!(world.choose(5), Some(2));
    }

    #[test]
    fn ties_go_to_the_agent_idle_longest() {
        let mut world = World::new(&[1, 2, 3]);
        world.loads.extend([
            load(1, 1, Some(30)),
            load(2, 1, Some(10)),
            load(3, 1, Some(20)),
        ]);
        assert_eq!(world.choose(5), Some(2));
        world.loads.extend([load(3, 1, None)]);
        assert_eq!(
            world.choose(5),
            Some(3),
            "never assigned counts as idle longest"
        );
    }

    #[test]
    fn agents_off_shift_offline_inactive_or_full_are_passed_over() {
        let mut world = World::new(&[1, 2, 3, 4]);
        world.on_shift.retain(|agent| agent.get() != 1);
        world.presence.set_offline(AgentId::try_from(2).unwrap());
        world.agents[2].active = false;
        world.loads.extend([load(4, 2, None)]);
        assert_eq!(world.choose(3), Some(4));
        assert_eq!(world.choose(2), None, "agent 4 is at capacity");
    }

    #[test]
    fn an_agents_own_capacity_overrides_the_default() {
        let mut world = World::new(&[1]);
        world.loads.extend([load(1, 2, None)]);
        world.agents[0].capacity = Some(Capacity::new(3).unwrap());
        assert_eq!(world.choose(2), Some(1));
    }
}
