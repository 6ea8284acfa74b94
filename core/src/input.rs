//! Bad input, named by field.
//!
//! Every value that crosses into `core` is parsed into a type that cannot hold an invalid value.
//! Parsing fails with a [`Problem`]; the caller, who knows which field it was parsing, turns it
//! into an [`InputError`] with [`Problem::at`]. Adapters show both parts to the user.

use std::borrow::Cow;

/// What is wrong with one value, without saying which field held it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The value is empty or only whitespace.
    #[error("must not be empty")]
    Empty,
    /// The value has more characters (not bytes) than allowed.
    #[error("must be at most {max} characters long")]
    TooLong {
        /// The largest accepted length, in characters.
        max: usize,
    },
    /// The value contains a control character such as a newline or NUL.
    #[error("must not contain control characters")]
    ControlCharacter,
    /// The value contains a character outside its allowed set.
    #[error("contains {found:?}; allowed are {allowed}")]
    InvalidCharacter {
        /// The first character that is not allowed.
        found: char,
        /// The allowed characters, in words.
        allowed: &'static str,
    },
    /// A number or count is outside its accepted range.
    #[error("must be between {min} and {max}")]
    OutOfRange {
        /// The smallest accepted value.
        min: i64,
        /// The largest accepted value.
        max: i64,
    },
    /// A list holds more items than allowed.
    #[error("must hold at most {max} items")]
    TooMany {
        /// The largest accepted number of items.
        max: usize,
    },
    /// The name is not an IANA time zone such as `Europe/London`.
    #[error("{0:?} is not an IANA time zone name such as Europe/London")]
    UnknownTimeZone(String),
    /// A template uses a `{{variable}}` Shiftdesk does not know; named, so the writer can
    /// find it.
    #[error(
        "uses the unknown variable {{{{{0}}}}}; known are customer.name, agent.name, conversation.id"
    )]
    UnknownVariable(String),
    /// A template opens a `{{` it never closes, at this character.
    #[error("has a {{{{ at character {0} that is never closed")]
    UnclosedVariable(usize),
    /// A range whose end comes before its start.
    #[error("ends before it starts")]
    Reversed,
    /// A shift whose end equals its start, which would make it zero or 24 hours long.
    #[error("starts and ends at the same time of day")]
    ZeroLength,
    /// A rule specific to the value, stated in words.
    #[error("{0}")]
    Invalid(&'static str),
}

impl Problem {
    /// Names the field that held the bad value.
    pub fn at(self, field: impl Into<Cow<'static, str>>) -> InputError {
        InputError {
            field: field.into(),
            problem: self,
        }
    }
}

/// A value the caller sent that `core` refuses, with the field it came in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {problem}")]
pub struct InputError {
    /// The field as the caller named it, e.g. `display_name` or `dates.last`.
    pub field: Cow<'static, str>,
    /// What is wrong with it.
    pub problem: Problem,
}
