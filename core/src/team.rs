//! Team-wide settings that the scheduling rules read.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::input::Problem;
use crate::leave::LeaveKind;
use crate::staff::Capacity;
use crate::time::TimeZone;

/// The settings every scheduling decision reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamSettings {
    /// The zone in which dates and shift times are meant.
    pub time_zone: TimeZone,
    /// The least time an agent must have between two working entries; `None` checks only
    /// for overlaps.
    pub min_rest: Option<MinRest>,
    /// Days of leave each agent may take per calendar year, by kind; kinds not listed are
    /// unlimited.
    pub leave_allowances: BTreeMap<LeaveKind, AllowanceDays>,
    /// How many unresolved conversations an agent without their own capacity may hold.
    #[serde(default)]
    pub default_capacity: Capacity,
    /// Whether an agent's open conversations go back to routing when they go offline or their
    /// shift ends; otherwise they wait for the agent.
    #[serde(default)]
    pub requeue_when_away: bool,
}

impl TeamSettings {
    /// The yearly allowance for `kind`, if the team limits it.
    pub fn allowance(&self, kind: LeaveKind) -> Option<AllowanceDays> {
        self.leave_allowances.get(&kind).copied()
    }
}

/// A minimum rest between two working entries: from one minute to 48 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct MinRest(u32);

impl MinRest {
    /// The longest rest the team may require, in minutes.
    pub const MAX_MINUTES: u32 = 48 * 60;

    /// A rest of `minutes`.
    pub fn from_minutes(minutes: u32) -> Result<Self, Problem> {
        if (1..=Self::MAX_MINUTES).contains(&minutes) {
            Ok(Self(minutes))
        } else {
            Err(Problem::OutOfRange {
                min: 1,
                max: i64::from(Self::MAX_MINUTES),
            })
        }
    }

    /// The rest in minutes.
    pub fn minutes(&self) -> u32 {
        self.0
    }

    /// The rest as a duration.
    pub fn duration(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.0))
    }
}

impl TryFrom<u32> for MinRest {
    type Error = Problem;

    fn try_from(minutes: u32) -> Result<Self, Problem> {
        Self::from_minutes(minutes)
    }
}

impl From<MinRest> for u32 {
    fn from(rest: MinRest) -> u32 {
        rest.0
    }
}

/// A yearly leave allowance in calendar days, up to 366.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct AllowanceDays(u32);

impl AllowanceDays {
    /// An allowance of `days` a year.
    pub fn new(days: u32) -> Result<Self, Problem> {
        if days <= 366 {
            Ok(Self(days))
        } else {
            Err(Problem::OutOfRange { min: 0, max: 366 })
        }
    }

    /// The allowance in days.
    pub fn days(&self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for AllowanceDays {
    type Error = Problem;

    fn try_from(days: u32) -> Result<Self, Problem> {
        Self::new(days)
    }
}

impl From<AllowanceDays> for u32 {
    fn from(days: AllowanceDays) -> u32 {
        days.0
    }
}
