//! Database errors as store errors.
//!
//! The one place where constraint violations are recognized. SQLite reports a violated
//! unique constraint by its columns (`UNIQUE constraint failed: agents.login`), or by its
//! index name for an index over an expression; the overlap triggers abort with their own
//! name. Each maps to the domain's [`Constraint`], exactly as the PostgreSQL store maps its
//! constraint names, which the service turns into a conflict instead of a failure.

use shiftdesk_core::store::{Constraint, StoreError};

/// Extended result codes of the integrity violations the schema can raise.
const CONSTRAINT_FOREIGNKEY: i32 = 787;
const CONSTRAINT_TRIGGER: i32 = 1811;
const CONSTRAINT_UNIQUE: i32 = 2067;

/// Primary result codes (the low byte of an extended one) that mean the database could not
/// be used at all: a write lock held by another process past the busy timeout, or a file
/// that cannot be opened.
const BUSY: i32 = 5;
const CANTOPEN: i32 = 14;

/// What the overlap triggers abort with.
const OVERLAP_MESSAGE: &str = "schedule_entries_no_overlap";

/// Which unique constraint a violation names, by the column list or index SQLite reports.
const UNIQUE_CONSTRAINTS: [(&str, Constraint); 4] = [
    ("agents.login", Constraint::UniqueLogin),
    ("shifts.name", Constraint::UniqueShiftName),
    ("customers.external_id", Constraint::UniqueExternalId),
    (
        "canned_replies_shortcode_unique",
        Constraint::UniqueShortcode,
    ),
];

/// Turns a database error into a store error.
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) => {
            let code = db
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                .unwrap_or(0);
            let message = db.message();
            let constraint = match code {
                CONSTRAINT_TRIGGER if message.contains(OVERLAP_MESSAGE) => {
                    Some(Constraint::Overlap)
                }
                CONSTRAINT_FOREIGNKEY => Some(Constraint::Reference),
                CONSTRAINT_UNIQUE => UNIQUE_CONSTRAINTS
                    .iter()
                    .find(|(name, _)| message.contains(name))
                    .map(|(_, constraint)| *constraint),
                _ => None,
            };
            match constraint {
                Some(constraint) => StoreError::Constraint(constraint),
                None if matches!(code & 0xff, BUSY | CANTOPEN) => {
                    StoreError::Unavailable(Box::new(error))
                }
                None => StoreError::Backend(Box::new(error)),
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(error)),
        _ => StoreError::Backend(Box::new(error)),
    }
}

/// A stored value that no longer parses into its domain type.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}
