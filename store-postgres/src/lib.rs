//! Shiftdesk's PostgreSQL store, the production store.
//!
//! Modules:
//! - [`config`]: the database URL and pool settings, and connecting (which migrates).
//! - `error`: how database errors become [`StoreError`]s; constraint violations become
//!   [`shiftdesk_core::store::Constraint`]s, never opaque failures.
//! - `schedule`, `talk`: the two halves of [`Tx`], one SQL statement per call; batches go in
//!   as arrays (`UNNEST`), never one statement per row.
//! - `rows`: turning rows into domain values and back.
//! - [`testing`]: a fresh database per test, for the contract suite.
//!
//! Transactions run at READ COMMITTED. A decision's transaction first locks the rows of the
//! agents (or the conversation) it decides about, in ascending id order, then reads: so it
//! sees every write committed before it got the locks, and no one else can change what it
//! read until it commits. The schema's exclusion constraint refuses overlapping working
//! entries whatever wrote them, as a last line of defence.
//!
//! Depends on `shiftdesk-core` for the traits and types, and on sqlx.

pub mod config;
mod error;
mod rows;
mod schedule;
mod talk;
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use shiftdesk_core::store::{Store, StoreError, Tx};
use sqlx::PgPool;

pub use config::{ConnectError, PgConfig};

use error::db_error;

/// The migrations, embedded in the binary.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A store over a PostgreSQL database. Clones share the pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// For a test store, the database to drop when the last clone goes.
    _test_database: Option<Arc<testing::TestDatabase>>,
}

impl PgStore {
    /// A store over a pool whose database is already migrated.
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            _test_database: None,
        }
    }

    fn with_test_database(pool: PgPool, database: testing::TestDatabase) -> Self {
        Self {
            pool,
            _test_database: Some(Arc::new(database)),
        }
    }

    /// The pool, for health checks and metrics.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        let tx = self.pool.begin().await.map_err(db_error)?;
        Ok(Box::new(PgTx { tx }))
    }
}

/// One transaction on one pooled connection; dropped without commit, it rolls back.
pub(crate) struct PgTx {
    pub(crate) tx: sqlx::Transaction<'static, sqlx::Postgres>,
}
