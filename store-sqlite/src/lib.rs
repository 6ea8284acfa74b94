//! Shiftdesk's SQLite store: the embedded default store, one database file that the server
//! and the admin command line share.
//!
//! Modules:
//! - [`config`]: the file, the pools and the busy timeout, and opening (which creates the
//!   file if missing and migrates it).
//! - `error`: how SQLite errors become [`StoreError`]s; constraint violations become
//!   [`shiftdesk_core::store::Constraint`]s, never opaque failures.
//! - `schedule`, `talk`: the two halves of [`Tx`]; batches go in as one JSON array read by
//!   `json_each`, never one statement per row.
//! - `append`: group commit for messages.
//! - `rows`: turning rows into domain values and back.
//!
//! Depends on `shiftdesk-core` for the traits and types, and on sqlx's SQLite driver (which
//! bundles SQLite itself).
//!
//! # Locking
//! SQLite has one write lock per database file and no row locks. Every transaction from
//! [`Store::begin`] takes it at its start (`BEGIN IMMEDIATE`), so a decision's reads and its
//! writes are serialized against every other writer, in this process or another one: the
//! agent and conversation locks of [`Tx`] are already held and cost nothing. In one process,
//! writers queue for the store's single writing connection; across processes, a writer that
//! finds the lock taken waits up to the busy timeout instead of failing with "database is
//! locked". Read-only transactions ([`Store::begin_read`]) run on other connections beside the
//! writer, each on a consistent snapshot (WAL mode). There are no exclusion constraints:
//! `core` finds every conflict before writing, and triggers refusing overlapping working
//! entries are the last line of defence.
//!
//! SQLite's lock is not handed out in turn: a process waiting for it polls, and while another
//! process writes without a pause it may wait long (up to the busy timeout, then the store
//! reports itself unavailable). A server's writes come in bursts with pauses between them, so
//! a command-line process gets its turn; a server saturated with writes would need one
//! process to write for both.
//!
//! # Durability
//! WAL mode with `synchronous = FULL`: a commit returns only after the log is flushed to
//! disk, so an acknowledged write survives a killed process and a power cut. Messages are
//! committed in groups (see `append`) so that the flush is shared rather than skipped.
//!
//! # Search
//! Each message keeps its body case-folded by `core`'s `search::fold`; a text search is a
//! substring test (`instr`) over that column, which works for unsegmented scripts (退票 in
//! 我想退票) with no tokenizer. There is no text index: FTS5's trigram index cannot serve the
//! two-character terms common in Chinese (it needs three), and the plain scan is fast enough
//! for the teams an embedded store serves. Measured by `shiftdesk-sqlite-bench search` over a
//! million messages: about 0.2 s to count every match, about 10 ms for a first page.

mod append;
pub mod config;
mod error;
mod rows;
mod schedule;
mod talk;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use shiftdesk_core::conversation::ConversationRefusal;
use shiftdesk_core::message::{Appended, NewMessage};
use shiftdesk_core::store::{MessageRule, Store, StoreError, Tx};
use sqlx::SqlitePool;
use tokio::sync::OnceCell;

pub use config::{ConnectError, SchemaStatus, SqliteConfig};

use error::db_error;

/// The migrations, embedded in the binary.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How every writing transaction starts: with the database's write lock.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// A store over one SQLite database file. Clones share the connections and the message
/// committer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// One connection: every writing transaction, in turn.
    writer: SqlitePool,
    /// Read-only transactions, alongside the writer.
    readers: SqlitePool,
    /// The database file.
    path: PathBuf,
    /// Started on the first message, on the runtime that sends it.
    committer: Arc<OnceCell<append::Committer>>,
}

impl SqliteStore {
    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pool of read-only connections, for health checks and inspection.
    pub fn readers(&self) -> &SqlitePool {
        &self.readers
    }

    /// Closes every connection, waiting for them to finish; afterwards the store fails with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.writer.close().await;
        self.readers.close().await;
    }
}

/// A writing transaction on the one writing connection.
async fn begin_write(writer: &SqlitePool) -> Result<SqliteTx, StoreError> {
    let tx = writer.begin_with(BEGIN_WRITE).await.map_err(db_error)?;
    Ok(SqliteTx { tx })
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        Ok(Box::new(begin_write(&self.writer).await?))
    }

    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError> {
        let tx = self.readers.begin().await.map_err(db_error)?;
        Ok(Box::new(SqliteTx { tx }))
    }

    /// Group commit: see the `append` module.
    async fn post_message(
        &self,
        message: &NewMessage,
        rule: MessageRule,
    ) -> Result<Result<Appended, ConversationRefusal>, StoreError> {
        let committer = self
            .committer
            .get_or_init(|| async { append::Committer::start(self.writer.clone()) })
            .await;
        committer.append(message.clone(), rule).await
    }
}

/// One transaction on one pooled connection; dropped without commit, it rolls back.
pub(crate) struct SqliteTx {
    pub(crate) tx: sqlx::Transaction<'static, sqlx::Sqlite>,
}
