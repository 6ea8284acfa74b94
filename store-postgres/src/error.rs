//! Database errors as store errors.
//!
//! The one place where constraint violations are recognized: the schema names every unique
//! and exclusion constraint, and each name maps to the domain's [`Constraint`], which the
//! service turns into a conflict for the caller instead of a failure.

use shiftdesk_core::store::{Constraint, StoreError};

/// SQLSTATE codes of the integrity violations the schema can raise.
const UNIQUE_VIOLATION: &str = "23505";
const FOREIGN_KEY_VIOLATION: &str = "23503";
const EXCLUSION_VIOLATION: &str = "23P01";

/// Turns a database error into a store error.
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) => {
            let constraint = match db.code().as_deref() {
                Some(EXCLUSION_VIOLATION) => Some(Constraint::Overlap),
                Some(FOREIGN_KEY_VIOLATION) => Some(Constraint::Reference),
                Some(UNIQUE_VIOLATION) => match db.constraint() {
                    Some("agents_login_unique") => Some(Constraint::UniqueLogin),
                    Some("shifts_name_unique") => Some(Constraint::UniqueShiftName),
                    Some("customers_external_id_unique") => Some(Constraint::UniqueExternalId),
                    Some("canned_replies_shortcode_unique") => Some(Constraint::UniqueShortcode),
                    _ => None,
                },
                _ => None,
            };
            match constraint {
                Some(constraint) => StoreError::Constraint(constraint),
                None => StoreError::Backend(Box::new(error)),
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(error)),
        _ => StoreError::Backend(Box::new(error)),
    }
}

/// A stored value that no longer parses into its domain type.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}
