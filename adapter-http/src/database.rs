//! Opening the configured store, migrated, as the `Store` the service runs on.

use std::sync::Arc;

use shiftdesk_core::store::Store;
use shiftdesk_store_memory::MemoryStore;
use shiftdesk_store_postgres::PgStore;
use shiftdesk_store_postgres::config::{ConnectError as PgError, PgConfig};
use shiftdesk_store_sqlite::SqliteStore;
use shiftdesk_store_sqlite::config::{ConnectError as SqliteError, SqliteConfig};

use crate::config::DatabaseUrl;
use crate::metrics::{PoolProbe, PoolUse};

/// A store ready for the service, with a way to read its pool's use.
pub struct OpenedStore {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Its connection pool's use, for stores that have one.
    pub pool: Option<PoolProbe>,
}

/// Why the store cannot be used; the server exits with code 3.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The SQLite file cannot be opened, migrated, or is newer than this build.
    #[error(transparent)]
    Sqlite(#[from] SqliteError),
    /// The PostgreSQL server cannot be reached, migrated, or is newer than this build.
    #[error(transparent)]
    Postgres(#[from] PgError),
}

/// Opens the store `url` names and applies pending migrations.
#[tracing::instrument(skip_all, fields(database = %url))]
pub async fn open_store(url: &DatabaseUrl) -> Result<OpenedStore, OpenError> {
    match url {
        DatabaseUrl::Memory => {
            tracing::warn!("the store is in memory: everything is lost when the server stops");
            Ok(OpenedStore {
                store: Arc::new(MemoryStore::new()),
                pool: None,
            })
        }
        DatabaseUrl::Sqlite(path) => {
            let store = SqliteStore::open(&SqliteConfig::new(path)).await?;
            let readers = store.readers().clone();
            let pool: PoolProbe = Arc::new(move || PoolUse {
                open: readers.size(),
                idle: u32::try_from(readers.num_idle()).unwrap_or(u32::MAX),
            });
            Ok(OpenedStore {
                store: Arc::new(store),
                pool: Some(pool),
            })
        }
        DatabaseUrl::Postgres(url) => {
            let store = PgStore::connect(&PgConfig::new(url.clone())).await?;
            let connections = store.pool().clone();
            let pool: PoolProbe = Arc::new(move || PoolUse {
                open: connections.size(),
                idle: u32::try_from(connections.num_idle()).unwrap_or(u32::MAX),
            });
            tracing::info!("the database is migrated");
            Ok(OpenedStore {
                store: Arc::new(store),
                pool: Some(pool),
            })
        }
    }
}
