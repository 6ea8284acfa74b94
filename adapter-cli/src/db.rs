//! `db migrate` and `db status`.

use serde::Serialize;
use shiftdesk_http::auth::bootstrap::{first_admin, password_path};
use shiftdesk_http::config::DatabaseUrl;
use shiftdesk_store_postgres::PgStore;
use shiftdesk_store_postgres::config::PgConfig;
use shiftdesk_store_sqlite::{SqliteConfig, SqliteStore};

use crate::cli::{DbCommand, ListFormat};
use crate::failure::{Failure, with_sources};
use crate::render::{Table, print_json, say};
use crate::session::open_service;

/// Runs a `db` command.
pub(crate) async fn run(url: &DatabaseUrl, command: DbCommand) -> Result<(), Failure> {
    match command {
        DbCommand::Migrate {
            admin_password_file,
        } => {
            let (_, service) = open_service(url).await?;
            let path = password_path(admin_password_file.as_deref(), url);
            let created = first_admin(&service, &path)
                .await
                .map_err(|error| Failure::Other(with_sources(&error)))?;
            say(format!("{}: the schema is up to date", url.redacted()))?;
            if let Some(login) = created {
                say(format!(
                    "created the first admin {login}; the password is in {}",
                    path.display()
                ))?;
            }
            Ok(())
        }
        DbCommand::Status { format } => status(url, format).await,
    }
}

/// Where the schema stands, read without migrating.
#[derive(Debug, Serialize)]
struct Status {
    database: String,
    /// The newest migration applied; `None` on an empty database.
    version: Option<i64>,
    applied: Vec<Migration>,
    pending: Vec<Migration>,
}

#[derive(Debug, Serialize)]
struct Migration {
    version: i64,
    description: String,
}

async fn status(url: &DatabaseUrl, format: ListFormat) -> Result<(), Failure> {
    let unusable = |error: &dyn std::error::Error| {
        Failure::Store(format!("{}: {}", url.redacted(), with_sources(error)))
    };
    let (applied, pending) = match url {
        DatabaseUrl::Memory => (Vec::new(), Vec::new()),
        DatabaseUrl::Sqlite(path) => {
            if !path.exists() {
                return Err(Failure::Store(format!(
                    "{}: the file does not exist; `shiftdesk db migrate` creates it",
                    path.display()
                )));
            }
            let store = SqliteStore::open_unmigrated(&SqliteConfig::new(path))
                .await
                .map_err(|error| unusable(&error))?;
            let status = store.schema_status().await.map_err(|e| unusable(&e));
            store.close().await;
            let status = status?;
            (status.applied, status.pending)
        }
        DatabaseUrl::Postgres(raw) => {
            let store = PgStore::connect_unmigrated(&PgConfig::new(raw.clone()))
                .await
                .map_err(|error| unusable(&error))?;
            let status = store.schema_status().await.map_err(|e| unusable(&e))?;
            (status.applied, status.pending)
        }
    };
    let migrations = |list: Vec<(i64, String)>| -> Vec<Migration> {
        list.into_iter()
            .map(|(version, description)| Migration {
                version,
                description,
            })
            .collect()
    };
    let status = Status {
        database: url.redacted(),
        version: applied.last().map(|(version, _)| *version),
        applied: migrations(applied),
        pending: migrations(pending),
    };
    match format {
        ListFormat::Json => print_json(&status),
        ListFormat::Table => {
            say(format!("database: {}", status.database))?;
            match status.version {
                Some(version) => say(format!("schema version: {version}"))?,
                None => say("schema version: none (nothing applied)")?,
            }
            let mut table = Table::new(["version", "state", "migration"]);
            for (state, list) in [("applied", &status.applied), ("pending", &status.pending)] {
                for migration in list {
                    table.row(vec![
                        migration.version.to_string(),
                        state.to_owned(),
                        migration.description.clone(),
                    ]);
                }
            }
            table.print()
        }
    }
}
