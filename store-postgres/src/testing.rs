//! A fresh, migrated database for each test, so tests run in parallel without sharing state.
//!
//! The server comes from `SHIFTDESK_TEST_DATABASE_URL` (a `postgres://` URL whose user may
//! create databases). Without it the tests say so once and are skipped, unless
//! `SHIFTDESK_REQUIRE_POSTGRES=1`, which CI sets so that a missing server fails the run.
//!
//! The migrations run once per schema version into a template database; each test database
//! is a copy of it, and is dropped when its store is. Databases left behind by test processes
//! that died are dropped the next time tests start.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};

use shiftdesk_core::store::Store;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

use crate::{MIGRATOR, PgStore};

/// The variable naming the test server.
pub const URL_VARIABLE: &str = "SHIFTDESK_TEST_DATABASE_URL";
/// The variable that turns a missing server from a skip into a failure.
pub const REQUIRE_VARIABLE: &str = "SHIFTDESK_REQUIRE_POSTGRES";

const PREFIX: &str = "shiftdesk_test_";

/// A database that exists for one test and is dropped with it.
#[derive(Debug)]
pub(crate) struct TestDatabase {
    admin: PgConnectOptions,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived
        // thread with its own runtime does the work and is waited for.
        let dropping = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok(mut connection) = PgConnection::connect_with(&admin).await {
                        let _ = sqlx::query(&sql).execute(&mut connection).await;
                        let _ = connection.close().await;
                    }
                });
            }
        });
        let _ = dropping.join();
    }
}

/// A new store over a new, migrated, empty database, or `None` when no test server is
/// configured (and none is required).
///
/// # Panics
/// If a server is configured but unusable, or required but not configured: a test run that
/// silently tested nothing would be worse.
pub async fn fresh_store() -> Option<Arc<dyn Store>> {
    let store = fresh_pg_store(8).await?;
    Some(Arc::new(store))
}

/// Like [`fresh_store`], as the concrete store with a pool of `max_connections`, for tests
/// that also inspect the database with SQL.
pub async fn fresh_pg_store(max_connections: u32) -> Option<PgStore> {
    let (admin, database) = fresh_database().await?;
    let options = crate::tuned(admin.clone().database(&database.name));
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await
        .unwrap_or_else(|error| panic!("cannot open test database {}: {error}", database.name));
    Some(PgStore::with_test_database(pool, database))
}

/// A new, migrated, empty database that lives as long as this value, for tests of programs
/// that connect by URL themselves (the command line).
#[derive(Debug)]
pub struct FreshDatabaseUrl {
    url: String,
    _database: TestDatabase,
}

impl FreshDatabaseUrl {
    /// The database's URL: the test server's, naming the new database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Like [`fresh_store`], as a URL for another process to connect to; `None` when no test
/// server is configured (and none is required).
///
/// # Panics
/// As [`fresh_store`].
pub async fn fresh_database_url() -> Option<FreshDatabaseUrl> {
    let (_, database) = fresh_database().await?;
    let base = std::env::var(URL_VARIABLE).ok()?;
    // postgres://user@host:port/database?options: only the database part changes.
    let (without_query, query) = base.split_once('?').unwrap_or((base.as_str(), ""));
    let host_start = without_query.find("://").map_or(0, |at| at + 3);
    let host_end = without_query[host_start..]
        .find('/')
        .map_or(without_query.len(), |at| host_start + at);
    let mut url = format!("{}/{}", &without_query[..host_end], database.name);
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    Some(FreshDatabaseUrl {
        url,
        _database: database,
    })
}

/// A copy of the template database, with the options to reach the server.
async fn fresh_database() -> Option<(PgConnectOptions, TestDatabase)> {
    let Ok(url) = std::env::var(URL_VARIABLE) else {
        if std::env::var(REQUIRE_VARIABLE).is_ok_and(|value| value == "1") {
            panic!("{REQUIRE_VARIABLE}=1 but {URL_VARIABLE} is not set");
        }
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            eprintln!("{URL_VARIABLE} is not set: the PostgreSQL store tests are skipped");
        });
        return None;
    };
    let admin: PgConnectOptions = url
        .parse()
        .unwrap_or_else(|error| panic!("{URL_VARIABLE} is not a valid URL: {error}"));
    let template = template(&admin).await;
    let database = create_copy(&admin, template).await;
    Some((admin, database))
}

/// The template database for this schema version, created on first use.
async fn template(admin: &PgConnectOptions) -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let mut connection = connect(admin).await;
            drop_abandoned(&mut connection).await;
            let version: u64 = MIGRATOR
                .iter()
                .fold(0xcbf2_9ce4_8422_2325, |hash, migration| {
                    migration.checksum.iter().fold(hash, |hash, byte| {
                        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
                    })
                });
            let name = format!("shiftdesk_template_{version:016x}");
            // Processes running tests at once take turns building it.
            sqlx::query("SELECT pg_advisory_lock(7301552)")
                .execute(&mut connection)
                .await
                .unwrap_or_else(|error| panic!("cannot lock the template: {error}"));
            if !exists(&mut connection, &name).await {
                build_template(&mut connection, admin, &name).await;
            }
            let _ = sqlx::query("SELECT pg_advisory_unlock(7301552)")
                .execute(&mut connection)
                .await;
            let _ = connection.close().await;
            name
        })
        .await
}

/// Migrates a scratch database, then renames it into place, so a half-built template is
/// never used.
async fn build_template(connection: &mut PgConnection, admin: &PgConnectOptions, name: &str) {
    let scratch = format!("{name}_building_{}", std::process::id());
    execute(
        connection,
        &format!("DROP DATABASE IF EXISTS \"{scratch}\""),
    )
    .await;
    execute(connection, &format!("CREATE DATABASE \"{scratch}\"")).await;
    let mut scratch_connection = connect(&admin.clone().database(&scratch)).await;
    MIGRATOR
        .run(&mut scratch_connection)
        .await
        .unwrap_or_else(|error| panic!("migrating the test template failed: {error}"));
    let _ = scratch_connection.close().await;
    execute(
        connection,
        &format!("ALTER DATABASE \"{scratch}\" RENAME TO \"{name}\""),
    )
    .await;
}

async fn create_copy(admin: &PgConnectOptions, template: &str) -> TestDatabase {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let name = format!(
        "{PREFIX}{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut connection = connect(admin).await;
    execute(
        &mut connection,
        &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
    )
    .await;
    let _ = connection.close().await;
    TestDatabase {
        admin: admin.clone(),
        name,
    }
}

/// Drops test databases whose process is gone.
async fn drop_abandoned(connection: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'shiftdesk_test_%'")
            .fetch_all(&mut *connection)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name
            .trim_start_matches(PREFIX)
            .split('_')
            .next()
            .unwrap_or("");
        let alive = std::path::Path::new("/proc").join(pid).exists();
        if !alive || pid.is_empty() {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            let _ = sqlx::query(&sql).execute(&mut *connection).await;
        }
    }
}

async fn exists(connection: &mut PgConnection, name: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(connection)
        .await
        .unwrap_or_else(|error| panic!("cannot list databases: {error}"))
}

async fn connect(options: &PgConnectOptions) -> PgConnection {
    PgConnection::connect_with(options)
        .await
        .unwrap_or_else(|error| panic!("cannot reach the test database server: {error}"))
}

async fn execute(connection: &mut PgConnection, sql: &str) {
    sqlx::query(sql)
        .execute(connection)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}
