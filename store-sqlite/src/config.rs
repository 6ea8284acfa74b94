//! Opening: the file, the connections' settings, and migrations on start-up.
//!
//! Opening creates the file if it is missing, switches it to WAL mode, and migrates it under
//! the write lock, so two processes opening the same new file at once take turns: the second
//! finds the schema in place. Problems with the file itself are reported before any SQL runs,
//! with the path and the reason.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};

use crate::{BEGIN_WRITE, MIGRATOR, SqliteStore};

/// Which file to use and how patient to be with other processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConfig {
    /// The database file, created if missing; SQLite keeps its `-wal` and `-shm` companion
    /// files beside it.
    pub path: PathBuf,
    /// The most connections open for read-only transactions at once.
    pub max_readers: u32,
    /// How long a writer waits for the write lock (held by another process, or by this
    /// process's other writers) before the store reports itself unavailable.
    pub busy_timeout: Duration,
}

impl SqliteConfig {
    /// Settings for the file at `path` with the defaults: 4 readers, 10 seconds of patience.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            max_readers: 4,
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the store could not open.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The path cannot hold a database: a folder, a missing folder, a file that is not an
    /// SQLite database, or a place this process may not write.
    #[error("cannot use {path} as the database file: {reason}")]
    Unusable {
        /// The path given.
        path: PathBuf,
        /// Why, in words.
        reason: String,
        /// What SQLite or the file system said, if it said anything.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The database was migrated by a newer Shiftdesk than this one.
    #[error(
        "the database schema is at version {database}, newer than this Shiftdesk knows \
         ({code}); upgrade Shiftdesk or use another database file"
    )]
    SchemaNewer {
        /// The newest migration applied to the database.
        database: i64,
        /// The newest migration this build carries.
        code: i64,
    },
    /// Applying migrations failed.
    #[error("migrating the database failed: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
    /// Reading the migration history failed.
    #[error("reading the migration history failed: {0}")]
    History(#[source] sqlx::Error),
}

impl ConnectError {
    fn unusable(path: &Path, reason: impl Into<String>, source: Option<sqlx::Error>) -> Self {
        ConnectError::Unusable {
            path: path.to_owned(),
            reason: reason.into(),
            source: source.map(|source| Box::new(source) as _),
        }
    }
}

/// Where the schema stands, as `db status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Migrations applied to the database, oldest first: (version, description).
    pub applied: Vec<(i64, String)>,
    /// Migrations this build carries that the database lacks.
    pub pending: Vec<(i64, String)>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file, refuses a schema newer than this
    /// build, and applies pending migrations.
    #[tracing::instrument(skip_all, fields(path = %config.path.display()))]
    pub async fn open(config: &SqliteConfig) -> Result<SqliteStore, ConnectError> {
        let options = options(config)?;
        create_private(&config.path)?;
        let mut connection = first_connection(&config.path, &options, config.busy_timeout).await?;
        let migrated = migrate(&mut connection).await;
        let _ = connection.close().await;
        migrated?;
        tracing::info!(
            readers = config.max_readers,
            busy_timeout_ms = config.busy_timeout.as_millis() as u64,
            "the database file is open"
        );
        Ok(Self::with_pools(config, options))
    }

    /// Opens the file without touching the schema (it must exist).
    pub async fn open_unmigrated(config: &SqliteConfig) -> Result<SqliteStore, ConnectError> {
        let options = options(config)?.create_if_missing(false);
        let connection = first_connection(&config.path, &options, config.busy_timeout).await?;
        let _ = connection.close().await;
        Ok(Self::with_pools(config, options))
    }

    fn with_pools(config: &SqliteConfig, options: SqliteConnectOptions) -> SqliteStore {
        // Writers queue for the one connection at most as long as they would for the lock.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(config.busy_timeout)
            .test_before_acquire(false)
            .connect_lazy_with(options.clone());
        // Readers refuse to write, so a write sent through a read-only transaction fails
        // loudly instead of racing the writer for the lock.
        let readers = SqlitePoolOptions::new()
            .max_connections(config.max_readers.max(1))
            .acquire_timeout(config.busy_timeout)
            .test_before_acquire(false)
            .connect_lazy_with(options.pragma("query_only", "ON"));
        SqliteStore {
            writer,
            readers,
            path: config.path.clone(),
            committer: Default::default(),
        }
    }

    /// Applies pending migrations, after refusing a schema newer than this build.
    pub async fn migrate(&self) -> Result<(), ConnectError> {
        let mut connection =
            self.writer.acquire().await.map_err(|source| {
                ConnectError::unusable(&self.path, "cannot open it", Some(source))
            })?;
        migrate(&mut connection).await
    }

    /// The applied and pending migrations.
    pub async fn schema_status(&self) -> Result<SchemaStatus, ConnectError> {
        let mut connection = self
            .readers
            .acquire()
            .await
            .map_err(ConnectError::History)?;
        schema_status(&mut connection).await
    }
}

/// The connection settings every connection of the store uses.
/// Creates the database file readable and writable by its owner only, if it is missing: it
/// holds password hashes and every conversation. SQLite gives its `-wal` and `-shm` files the
/// same permissions. An existing file keeps the permissions it has.
fn create_private(path: &Path) -> Result<(), ConnectError> {
    if path.exists() {
        return Ok(());
    }
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    file.open(path).map(drop).map_err(|error| {
        ConnectError::unusable(
            path,
            format!("it cannot be opened or created: {error}"),
            None,
        )
    })
}

fn options(config: &SqliteConfig) -> Result<SqliteConnectOptions, ConnectError> {
    let path = &config.path;
    // SQLite's own message for these is "unable to open database file", whatever the cause.
    if path.is_dir() {
        return Err(ConnectError::unusable(path, "it is a folder", None));
    }
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() && !parent.is_dir() => {
            let reason = if parent.exists() {
                format!("{} is not a folder", parent.display())
            } else {
                format!("the folder {} does not exist", parent.display())
            };
            return Err(ConnectError::unusable(path, reason, None));
        }
        _ => {}
    }
    Ok(SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: the log is flushed at every commit, so an acknowledged write survives a
        // power cut too, not only a killed process.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(config.busy_timeout)
        .log_slow_statements(log::LevelFilter::Warn, SLOW_STATEMENT))
}

/// Statements slower than this are logged as warnings, with their text.
pub const SLOW_STATEMENT: std::time::Duration = std::time::Duration::from_millis(200);

/// One direct connection first, so a file that cannot be used fails now with its reason.
///
/// Switching a new file to WAL mode takes a lock for which SQLite does not always wait (the
/// busy timeout does not apply to it), so when two processes open a new file at once, one of
/// them may be told the file is busy: it tries again until the busy timeout has passed.
async fn first_connection(
    path: &Path,
    options: &SqliteConnectOptions,
    patience: Duration,
) -> Result<SqliteConnection, ConnectError> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match try_connect(options).await {
            Ok(connection) => return Ok(connection),
            Err(source) if is_busy(&source) && tokio::time::Instant::now() < deadline => {
                tracing::debug!(path = %path.display(), "the new file is busy; opening again");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(source) => {
                return Err(ConnectError::unusable(
                    path,
                    describe(&source),
                    Some(source),
                ));
            }
        }
    }
}

async fn try_connect(options: &SqliteConnectOptions) -> Result<SqliteConnection, sqlx::Error> {
    let mut connection = SqliteConnection::connect_with(options).await?;
    // Opening does not read the file; the first statement does, and finds out whether it is
    // a database at all.
    sqlx::query("SELECT count(*) FROM sqlite_master")
        .execute(&mut connection)
        .await?;
    Ok(connection)
}

/// The primary result code of an SQLite error: the low byte of the extended one.
fn primary_code(error: &sqlx::Error) -> Option<i32> {
    let sqlx::Error::Database(db) = error else {
        return None;
    };
    db.code()
        .and_then(|code| code.parse::<i32>().ok())
        .map(|code| code & 0xff)
}

/// SQLITE_BUSY or SQLITE_LOCKED: another connection holds a lock just now.
fn is_busy(error: &sqlx::Error) -> bool {
    matches!(primary_code(error), Some(5 | 6))
}

/// Why SQLite refused a file, in words.
fn describe(error: &sqlx::Error) -> String {
    match (primary_code(error), error) {
        (Some(26), _) => "it is not an SQLite database".to_owned(),
        (Some(14), _) => "it cannot be opened or created here".to_owned(),
        (Some(8), _) => "it is read-only here".to_owned(),
        (Some(23), _) => "this process may not open it".to_owned(),
        (Some(5 | 6), _) => "another process kept it locked past the busy timeout".to_owned(),
        (_, sqlx::Error::Database(db)) => db.message().to_owned(),
        (_, other) => other.to_string(),
    }
}

/// Migrates under the write lock, so concurrent openers take turns and each sees what the
/// previous one did.
async fn migrate(connection: &mut SqliteConnection) -> Result<(), ConnectError> {
    let mut tx = connection
        .begin_with(BEGIN_WRITE)
        .await
        .map_err(ConnectError::History)?;
    let status = schema_status(&mut tx).await?;
    let code = MIGRATOR
        .iter()
        .map(|migration| migration.version)
        .max()
        .unwrap_or(0);
    let database = status
        .applied
        .iter()
        .map(|(version, _)| *version)
        .max()
        .unwrap_or(0);
    if database > code {
        return Err(ConnectError::SchemaNewer { database, code });
    }
    if !status.pending.is_empty() {
        tracing::info!(
            pending = status.pending.len(),
            "migrating the database file"
        );
        MIGRATOR
            .run(&mut *tx)
            .await
            .map_err(ConnectError::Migration)?;
    }
    tx.commit().await.map_err(ConnectError::History)
}

async fn schema_status(connection: &mut SqliteConnection) -> Result<SchemaStatus, ConnectError> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master \
         WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(&mut *connection)
    .await
    .map_err(ConnectError::History)?;
    let applied: Vec<(i64, String)> = if exists {
        sqlx::query_as(
            "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&mut *connection)
        .await
        .map_err(ConnectError::History)?
    } else {
        Vec::new()
    };
    let pending = MIGRATOR
        .iter()
        .filter(|migration| {
            !applied
                .iter()
                .any(|(version, _)| *version == migration.version)
        })
        .map(|migration| (migration.version, migration.description.to_string()))
        .collect();
    Ok(SchemaStatus { applied, pending })
}
