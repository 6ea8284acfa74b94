//! What can go wrong, and the exit code each failure ends with.

use std::fmt;

use shiftdesk_core::error::{AdminError, ConversationError, LeaveError, ScheduleError, SwapError};
use shiftdesk_core::store::StoreError;

/// The exit codes, as the README documents them.
pub(crate) mod exit {
    /// Conflicts or a refusal by the rules: nothing was written. Also any other failure
    /// while running.
    pub(crate) const FAILED: u8 = 1;
    /// Bad input: a flag, a file, a cell, an unknown name or id, or a login that is not an
    /// active admin. Nothing was written.
    pub(crate) const BAD_INPUT: u8 = 2;
    /// The store cannot be used: unreachable, unusable, or migrated by a newer Shiftdesk.
    pub(crate) const STORE: u8 = 3;
}

/// Why a command failed; its message is printed to standard error.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The rules refused: conflicts, a decision that does not apply. Exit 1.
    Refused(String),
    /// The input cannot be used. Exit 2.
    BadInput(String),
    /// The store cannot be used. Exit 3.
    Store(String),
    /// Anything else, such as standard output closing. Exit 1.
    Other(String),
}

impl Failure {
    /// Bad input, in words.
    pub(crate) fn input(message: impl Into<String>) -> Self {
        Failure::BadInput(message.into())
    }

    /// The exit code this failure ends the command with.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Failure::Refused(_) | Failure::Other(_) => exit::FAILED,
            Failure::BadInput(_) => exit::BAD_INPUT,
            Failure::Store(_) => exit::STORE,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(message)
            | Failure::BadInput(message)
            | Failure::Store(message)
            | Failure::Other(message) => f.write_str(message),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Other(format!("cannot write the output: {error}"))
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        match error {
            // A constraint refusing a write is a conflict another writer caused, not an outage.
            StoreError::Constraint(constraint) => {
                Failure::Refused(format!("the store refused the write: {constraint}"))
            }
            other => Failure::Store(with_sources(&other)),
        }
    }
}

impl From<AdminError> for Failure {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Store(error) => error.into(),
            AdminError::ShiftInUse(_) | AdminError::LastAdmin(_) => {
                Failure::Refused(error.to_string())
            }
            other => Failure::BadInput(other.to_string()),
        }
    }
}

impl From<ScheduleError> for Failure {
    fn from(error: ScheduleError) -> Self {
        match error {
            ScheduleError::Store(error) => error.into(),
            ScheduleError::Conflicts(_)
            | ScheduleError::Contended(_)
            | ScheduleError::NotScheduled { .. } => Failure::Refused(error.to_string()),
            other => Failure::BadInput(other.to_string()),
        }
    }
}

impl From<LeaveError> for Failure {
    fn from(error: LeaveError) -> Self {
        match error {
            LeaveError::Store(error) => error.into(),
            LeaveError::Refused(_) => Failure::Refused(error.to_string()),
            other => Failure::BadInput(other.to_string()),
        }
    }
}

impl From<SwapError> for Failure {
    fn from(error: SwapError) -> Self {
        match error {
            SwapError::Store(error) => error.into(),
            SwapError::Refused(_) => Failure::Refused(error.to_string()),
            other => Failure::BadInput(other.to_string()),
        }
    }
}

impl From<ConversationError> for Failure {
    fn from(error: ConversationError) -> Self {
        match error {
            ConversationError::Store(error) => error.into(),
            ConversationError::Export(source) => {
                Failure::Other(format!("cannot write the export: {source}"))
            }
            ConversationError::Refused(_) | ConversationError::Transfer(_) => {
                Failure::Refused(error.to_string())
            }
            other => Failure::BadInput(other.to_string()),
        }
    }
}

/// An error's message followed by its causes, so "cannot be reached" says why.
pub(crate) fn with_sources(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        // Many errors repeat their cause in their own message; say each thing once.
        let said = cause.to_string();
        if !message.contains(&said) {
            message.push_str(": ");
            message.push_str(&said);
        }
        source = cause.source();
    }
    message
}
