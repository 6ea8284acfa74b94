//! Connecting: the database URL, the pool's settings, and migrations on start-up.

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::{MIGRATOR, PgStore};

/// How to reach the database and how many connections to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgConfig {
    /// A `postgres://user@host:port/database` URL.
    pub url: String,
    /// The most connections the pool opens.
    pub max_connections: u32,
    /// How long a caller waits for a free connection before the store reports itself
    /// unavailable.
    pub acquire_timeout: Duration,
}

impl PgConfig {
    /// Settings for `url` with the defaults: 16 connections, 5 seconds to get one.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Why the store could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL does not parse.
    #[error("the database URL is not valid: {0}")]
    InvalidUrl(#[source] sqlx::Error),
    /// Nothing answers at the URL, or it refuses the login.
    #[error("cannot reach the database at {target}: {source}")]
    Unreachable {
        /// Host, port and database, without credentials.
        target: String,
        /// What the driver said.
        #[source]
        source: sqlx::Error,
    },
    /// The database was migrated by a newer Shiftdesk than this one.
    #[error(
        "the database schema is at version {database}, newer than this Shiftdesk knows \
         ({code}); upgrade Shiftdesk or use another database"
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

/// Where the schema stands, as `db status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Migrations applied to the database, oldest first: (version, description).
    pub applied: Vec<(i64, String)>,
    /// Migrations this build carries that the database lacks.
    pub pending: Vec<(i64, String)>,
}

impl PgStore {
    /// Connects, refuses a schema newer than this build, and applies pending migrations.
    pub async fn connect(config: &PgConfig) -> Result<PgStore, ConnectError> {
        let store = Self::connect_unmigrated(config).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without touching the schema.
    pub async fn connect_unmigrated(config: &PgConfig) -> Result<PgStore, ConnectError> {
        let options: PgConnectOptions = config.url.parse().map_err(ConnectError::InvalidUrl)?;
        let options = crate::tuned(options);
        let target = describe(&options);
        // One direct connection first, so an unreachable server fails now with its reason
        // rather than later as a pool timeout.
        let probe = sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(|source| ConnectError::Unreachable {
                target: target.clone(),
                source,
            })?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(|source| ConnectError::Unreachable { target, source })?;
        Ok(PgStore::from_pool(pool))
    }

    /// Applies pending migrations, after refusing a schema newer than this build.
    pub async fn migrate(&self) -> Result<(), ConnectError> {
        let status = self.schema_status().await?;
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
        MIGRATOR
            .run(self.pool())
            .await
            .map_err(ConnectError::Migration)
    }

    /// The applied and pending migrations.
    pub async fn schema_status(&self) -> Result<SchemaStatus, ConnectError> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(self.pool())
            .await
            .map_err(ConnectError::History)?;
        let applied: Vec<(i64, String)> = if exists {
            sqlx::query_as(
                "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version",
            )
            .fetch_all(self.pool())
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
}

/// Host, port and database of a connection, without credentials, for messages.
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default database)")
    )
}
