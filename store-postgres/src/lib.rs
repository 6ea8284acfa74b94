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
//! entries whatever wrote them, as a last line of defence. First-start setup, which must see
//! an empty staff list and add to it before anyone else can, locks the whole agents table
//! against writers instead (`Tx::staff_exists`).
//!
//! Depends on `shiftdesk-core` for the traits and types, and on sqlx.

mod append;
pub mod config;
mod error;
mod rows;
mod schedule;
mod talk;
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use shiftdesk_core::conversation::ConversationRefusal;
use shiftdesk_core::message::{Appended, NewMessage};
use shiftdesk_core::store::{MessageRule, Store, StoreError, Tx};
use sqlx::ConnectOptions;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tokio::sync::OnceCell;

pub use config::{ConnectError, PgConfig};

use error::db_error;

/// Connection settings every pool of the store uses.
///
/// Statements are planned for their actual arguments every time. PostgreSQL otherwise
/// switches a prepared statement to one generic plan after a few runs, and a plan chosen
/// while a table was nearly empty (a new database) keeps scanning the whole table as it grows:
/// the duplicate check of a message batch went from a fraction of a millisecond to tens of
/// milliseconds that way. Planning costs far less than one round trip.
///
/// Statements slower than [`SLOW_STATEMENT`] are logged as warnings, with their text.
pub fn tuned(options: PgConnectOptions) -> PgConnectOptions {
    options
        .options([("plan_cache_mode", "force_custom_plan")])
        .log_slow_statements(log::LevelFilter::Warn, SLOW_STATEMENT)
}

/// Statements slower than this are logged as warnings.
pub const SLOW_STATEMENT: std::time::Duration = std::time::Duration::from_millis(200);

/// The migrations, embedded in the binary.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How many tasks commit message batches; two keep one batch filling while the other
/// waits for its commit.
const MESSAGE_COMMITTERS: usize = 2;

/// A store over a PostgreSQL database. Clones share the pool and the message committers.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Started on the first message, on the runtime that sends it.
    committer: Arc<OnceCell<append::Committer>>,
    /// For a test store, the database to drop when the last clone goes.
    _test_database: Option<Arc<testing::TestDatabase>>,
}

impl PgStore {
    /// A store over a pool whose database is already migrated.
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            committer: Arc::default(),
            _test_database: None,
        }
    }

    fn with_test_database(pool: PgPool, database: testing::TestDatabase) -> Self {
        Self {
            _test_database: Some(Arc::new(database)),
            ..Self::from_pool(pool)
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

    /// Group commit: see the `append` module.
    async fn post_message(
        &self,
        message: &NewMessage,
        rule: MessageRule,
    ) -> Result<Result<Appended, ConversationRefusal>, StoreError> {
        let committer = self
            .committer
            .get_or_init(|| async {
                append::Committer::start(self.pool.clone(), MESSAGE_COMMITTERS)
            })
            .await;
        committer.append(message.clone(), rule).await
    }
}

/// One transaction on one pooled connection; dropped without commit, it rolls back.
pub(crate) struct PgTx {
    pub(crate) tx: sqlx::Transaction<'static, sqlx::Postgres>,
}
