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

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::AgentId;
use crate::input::Problem;
use crate::staff::Agent;

/// How many unresolved conversations an agent may hold at once: 1 to 1,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Capacity(u32);

impl Capacity {
    /// The team default when nobody set one.
    pub const DEFAULT: Capacity = Capacity(5);

    /// A capacity of `conversations`.
    pub fn new(conversations: u32) -> Result<Self, Problem> {
        if (1..=1000).contains(&conversations) {
            Ok(Self(conversations))
        } else {
            Err(Problem::OutOfRange { min: 1, max: 1000 })
        }
    }

    /// The number of conversations.
    pub fn get(&self) -> u32 {
        self.0
    }
}

impl Default for Capacity {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u32> for Capacity {
    type Error = Problem;

    fn try_from(conversations: u32) -> Result<Self, Problem> {
        Self::new(conversations)
    }
}

impl From<Capacity> for u32 {
    fn from(capacity: Capacity) -> u32 {
        capacity.0
    }
}

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

/// What routing reads.
#[derive(Clone, Copy)]
pub struct RoutingInputs<'a> {
    /// Staff with a scheduled entry covering now.
    pub on_shift: &'a HashSet<AgentId>,
    /// Their records (capacity, active flag); others are ignored.
    pub agents: &'a [Agent],
    /// Their loads; an agent without one holds nothing.
    pub loads: &'a HashMap<AgentId, AgentLoad>,
    /// Who is online.
    pub presence: &'a dyn Presence,
    /// The capacity of agents without their own.
    pub default_capacity: Capacity,
}

impl RoutingInputs<'_> {
    /// Whether `agent` could take one more conversation now.
    pub fn can_take(&self, agent: &Agent) -> bool {
        agent.active
            && self.on_shift.contains(&agent.id)
            && self.presence.is_online(agent.id)
            && self.load(agent.id).open < self.capacity(agent).get()
    }

    /// The capacity that applies to `agent`.
    pub fn capacity(&self, agent: &Agent) -> Capacity {
        agent.capacity.unwrap_or(self.default_capacity)
    }

    fn load(&self, agent: AgentId) -> AgentLoad {
        self.loads.get(&agent).copied().unwrap_or(AgentLoad {
            agent,
            open: 0,
            last_assigned_at: None,
        })
    }
}

/// The agent who should get the next waiting conversation, leaving out `exclude` (agents a
/// concurrent router filled meanwhile), or `None` if nobody can take one.
pub fn choose_agent(inputs: &RoutingInputs<'_>, exclude: &[AgentId]) -> Option<AgentId> {
    inputs
        .agents
        .iter()
        .filter(|agent| !exclude.contains(&agent.id) && inputs.can_take(agent))
        .map(|agent| inputs.load(agent.id))
        .min_by_key(|load| (load.open, load.last_assigned_at, load.agent))
        .map(|load| load.agent)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

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
        on_shift: HashSet<AgentId>,
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
            let inputs = RoutingInputs {
                on_shift: &self.on_shift,
                agents: &self.agents,
                loads: &self.loads,
                presence: &self.presence,
                default_capacity: Capacity::new(capacity).unwrap(),
            };
            choose_agent(&inputs, &[]).map(AgentId::get)
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
        world.on_shift.remove(&AgentId::try_from(1).unwrap());
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
