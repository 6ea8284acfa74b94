//! Staff (agents and admins) and who is acting in a request.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, CustomerId};
use crate::input::Problem;
use crate::text::{DisplayName, Login, Skill};

/// What a staff member may do. Admins plan and decide; agents work and ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works shifts and conversations; asks for leave and swaps.
    Agent,
    /// Plans schedules, decides requests, manages the team.
    Admin,
}

/// A staff member as the schedule sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Assigned by the store.
    pub id: AgentId,
    /// Unique in the team; what they log in with.
    pub login: Login,
    /// What colleagues and customers see.
    pub display_name: DisplayName,
    /// What they may do.
    pub role: Role,
    /// Inactive staff keep their history but cannot be scheduled or log in.
    pub active: bool,
    /// Skills that shifts may require.
    pub skills: BTreeSet<Skill>,
    /// How many unresolved conversations they may hold; `None` for the team default.
    pub capacity: Option<Capacity>,
}

impl Agent {
    /// Whether the agent holds `skill`.
    pub fn has_skill(&self, skill: &Skill) -> bool {
        self.skills.contains(skill)
    }
}

/// A staff member to create; active from the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAgent {
    /// Unique in the team.
    pub login: Login,
    /// What colleagues and customers see.
    pub display_name: DisplayName,
    /// What they may do.
    pub role: Role,
    /// Skills that shifts may require.
    pub skills: BTreeSet<Skill>,
    /// How many unresolved conversations they may hold; `None` for the team default.
    pub capacity: Option<Capacity>,
}

/// Changes to a staff member; fields left `None` stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentUpdate {
    /// A new display name.
    pub display_name: Option<DisplayName>,
    /// A new role.
    pub role: Option<Role>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// The full new set of skills.
    pub skills: Option<BTreeSet<Skill>>,
    /// A new capacity: `Some(None)` returns them to the team default.
    pub capacity: Option<Option<Capacity>>,
}

impl AgentUpdate {
    /// Whether the update only touches what staff may change about themselves: their display
    /// name. Role, activity, skills and capacity are the admins' to decide.
    pub fn is_own_profile_change(&self) -> bool {
        let AgentUpdate {
            display_name,
            role,
            active,
            skills,
            capacity,
        } = self;
        display_name.is_some()
            && role.is_none()
            && active.is_none()
            && skills.is_none()
            && capacity.is_none()
    }
}

/// Who is acting: every service call names one, and every rule about who may do what reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A logged-in staff member with the role their credentials carry.
    Staff {
        /// Who they are.
        id: AgentId,
        /// The role the caller was authenticated with.
        role: Role,
    },
    /// A customer of the ticketing platform, reaching only their own conversations.
    Customer {
        /// Who they are.
        id: CustomerId,
    },
    /// Shiftdesk itself: first-start setup, demo data, automatic routing.
    System,
}

impl Actor {
    /// A staff member acting as an admin.
    pub fn admin(id: AgentId) -> Self {
        Actor::Staff {
            id,
            role: Role::Admin,
        }
    }

    /// A staff member acting as an agent.
    pub fn agent(id: AgentId) -> Self {
        Actor::Staff {
            id,
            role: Role::Agent,
        }
    }

    /// Whether the actor may do what admins may (the system may too).
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Actor::Staff {
                role: Role::Admin,
                ..
            } | Actor::System
        )
    }

    /// Whether the actor is on the team's side: a staff member or Shiftdesk itself, never a
    /// customer. Only they may read the schedule, the staff and the team's settings.
    pub fn is_staff(&self) -> bool {
        matches!(self, Actor::Staff { .. } | Actor::System)
    }

    /// The staff member behind the actor, if any.
    pub fn agent_id(&self) -> Option<AgentId> {
        match self {
            Actor::Staff { id, .. } => Some(*id),
            Actor::Customer { .. } | Actor::System => None,
        }
    }

    /// Whether the actor is `agent` themselves or someone allowed to act for anyone.
    pub fn acts_for(&self, agent: AgentId) -> bool {
        self.is_admin() || self.agent_id() == Some(agent)
    }
}

/// An opaque id that ties a service call to the request that caused it, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(String);

impl RequestId {
    /// Wraps an id chosen by the adapter; kept to at most 64 characters.
    pub fn new(id: &str) -> Self {
        Self(id.chars().filter(|c| !c.is_control()).take(64).collect())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The caller of a service operation: who acts, and for which request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Who is acting.
    pub actor: Actor,
    /// The request behind the call, if the adapter has one.
    pub request_id: Option<RequestId>,
}

impl Context {
    /// A call by `actor` outside any request.
    pub fn new(actor: Actor) -> Self {
        Self {
            actor,
            request_id: None,
        }
    }

    /// The same caller, tied to `request_id`.
    pub fn with_request_id(mut self, request_id: RequestId) -> Self {
        self.request_id = Some(request_id);
        self
    }
}

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
