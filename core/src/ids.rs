//! Typed identifiers: an agent id cannot be passed where a shift id is expected.
//!
//! Stores assign ids; they are positive 64-bit integers, so every store can keep them in a
//! native integer column.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::input::Problem;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name(i64);

        impl $name {
            /// The smallest id, for range bounds.
            pub const MIN: Self = Self(1);
            /// The largest id, for range bounds.
            pub const MAX: Self = Self(i64::MAX);

            /// The raw number, for storage and wire formats.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = Problem;

            fn try_from(raw: i64) -> Result<Self, Problem> {
                if raw > 0 {
                    Ok(Self(raw))
                } else {
                    Err(Problem::OutOfRange { min: 1, max: i64::MAX })
                }
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = Problem;

            fn from_str(raw: &str) -> Result<Self, Problem> {
                raw.trim()
                    .parse::<i64>()
                    .map_err(|_| Problem::Invalid("must be a positive whole number"))
                    .and_then(Self::try_from)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A staff member: an agent or an admin.
    AgentId
);
id_type!(
    /// A shift template.
    ShiftId
);
id_type!(
    /// One schedule entry: an agent on a shift on a date.
    EntryId
);
id_type!(
    /// A leave request.
    LeaveId
);
id_type!(
    /// A shift-swap request.
    SwapId
);
id_type!(
    /// One record of the audit log; later records have larger ids.
    AuditId
);
id_type!(
    /// A customer of the ticketing platform, as Shiftdesk knows them.
    CustomerId
);
id_type!(
    /// A conversation between a customer and the team.
    ConversationId
);
id_type!(
    /// A canned reply.
    CannedReplyId
);

/// A message's place in its conversation: 1 for the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Seq(u64);

impl Seq {
    /// The first message's number.
    pub const FIRST: Seq = Seq(1);

    /// The number after this one.
    pub fn next(self) -> Seq {
        Seq(self.0.saturating_add(1))
    }

    /// The raw number.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The number after `last`, or the first one.
    pub fn after(last: Option<Seq>) -> Seq {
        last.map_or(Seq::FIRST, Seq::next)
    }
}

impl TryFrom<u64> for Seq {
    type Error = Problem;

    fn try_from(raw: u64) -> Result<Self, Problem> {
        if raw == 0 {
            Err(Problem::OutOfRange {
                min: 1,
                max: i64::MAX,
            })
        } else {
            Ok(Seq(raw))
        }
    }
}

impl From<Seq> for u64 {
    fn from(seq: Seq) -> u64 {
        seq.0
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_positive() {
        assert!(AgentId::try_from(0).is_err());
        assert!(AgentId::try_from(-3).is_err());
        assert_eq!(AgentId::try_from(7).map(AgentId::get), Ok(7));
        assert_eq!("42".parse::<ShiftId>().map(ShiftId::get), Ok(42));
        assert!("4x".parse::<ShiftId>().is_err());
    }
}
