//! What the database itself refuses, and how opening a file fails: each unusable file is
//! reported with its path and the reason, before anything is written.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use shiftdesk_core::Service;
use shiftdesk_core::event::SilentNotifier;
use shiftdesk_core::ids::{AgentId, ShiftId};
use shiftdesk_core::schedule::{EntryOrigin, EntryStatus, NewEntry};
use shiftdesk_core::shift::{NewShift, ShiftTimes};
use shiftdesk_core::staff::{Actor, Context, NewAgent, Role};
use shiftdesk_core::store::{Constraint, Store, StoreError};
use shiftdesk_core::text::{DisplayName, Login, ShiftName};
use shiftdesk_core::time::{ManualClock, TimeZone};
use shiftdesk_store_sqlite::{ConnectError, SqliteConfig, SqliteStore};
use sqlx::{Connection, SqliteConnection};

use common::TestStore;

fn time(text: &str) -> NaiveTime {
    NaiveTime::parse_from_str(text, "%H:%M").expect("a time")
}

/// One agent and a day shift, through the service.
async fn agent_and_shift(store: Arc<dyn Store>) -> (AgentId, ShiftId, ShiftTimes) {
    let clock = Arc::new(ManualClock::new(DateTime::<Utc>::UNIX_EPOCH));
    let service = Service::new(store, Arc::new(SilentNotifier), clock);
    let admin = Context::new(Actor::System);
    let agent = NewAgent {
        login: Login::parse("mei").expect("a login"),
        display_name: DisplayName::parse("Mei").expect("a name"),
        role: Role::Agent,
        skills: BTreeSet::new(),
        capacity: None,
    };
    let agent = service.create_agent(&admin, agent).await.expect("an agent");
    let shift = NewShift {
        name: ShiftName::parse("day").expect("a name"),
        times: ShiftTimes::new(time("08:00"), time("16:00")).expect("times"),
        required_skill: None,
    };
    let shift = service.create_shift(&admin, shift).await.expect("a shift");
    (agent.id, shift.id, shift.times)
}

fn entry_on(agent: AgentId, shift: ShiftId, times: ShiftTimes, day: &str) -> NewEntry {
    let day: NaiveDate = day.parse().expect("a date");
    NewEntry {
        agent,
        shift,
        date: day,
        span: times.span_on(day, TimeZone::UTC),
        origin: EntryOrigin::Assigned,
    }
}

/// An overlapping working entry written past the service is refused by the trigger, and
/// reported as the domain's overlap constraint, not as a failure.
#[tokio::test]
async fn an_overlap_written_past_the_service_is_refused_as_an_overlap() {
    let store: Arc<dyn Store> = Arc::new(TestStore::new().await);
    let (agent, shift, times) = agent_and_shift(store.clone()).await;
    let entry = entry_on(agent, shift, times, "2027-05-03");

    let mut tx = store.begin().await.expect("begin");
    tx.insert_entries(std::slice::from_ref(&entry))
        .await
        .expect("the first entry");
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    let second = tx.insert_entries(&[entry]).await;
    assert!(
        matches!(second, Err(StoreError::Constraint(Constraint::Overlap))),
        "the database refuses the overlap: {second:?}"
    );
}

/// Two overlapping entries in one batch are refused too, and so is moving a free entry onto
/// a working one; an entry that is not worked (on leave) may lie under a working one.
#[tokio::test]
async fn overlaps_within_a_batch_and_through_an_update_are_refused() {
    let store: Arc<dyn Store> = Arc::new(TestStore::new().await);
    let (agent, shift, times) = agent_and_shift(store.clone()).await;
    let monday = entry_on(agent, shift, times, "2027-05-03");
    let tuesday = entry_on(agent, shift, times, "2027-05-04");

    let mut tx = store.begin().await.expect("begin");
    let twice = tx.insert_entries(&[monday.clone(), monday.clone()]).await;
    assert!(
        matches!(twice, Err(StoreError::Constraint(Constraint::Overlap))),
        "{twice:?}"
    );
    drop(tx);

    let mut tx = store.begin().await.expect("begin");
    let written = tx
        .insert_entries(&[monday.clone(), tuesday])
        .await
        .expect("two days");
    let mut moved = written[1].clone();
    moved.date = monday.date;
    moved.span = monday.span;
    let refused = tx.update_entries(std::slice::from_ref(&moved)).await;
    assert!(
        matches!(refused, Err(StoreError::Constraint(Constraint::Overlap))),
        "{refused:?}"
    );
    drop(tx);

    let mut tx = store.begin().await.expect("begin");
    let written = tx
        .insert_entries(std::slice::from_ref(&monday))
        .await
        .expect("monday");
    let mut away = written[0].clone();
    away.status = EntryStatus::SwappedOut {
        to: agent,
        swap: 1.try_into().expect("an id"),
    };
    // No swap 1 exists: the reference is refused, not the span.
    let dangling = tx.update_entries(&[away]).await;
    assert!(
        matches!(dangling, Err(StoreError::Constraint(Constraint::Reference))),
        "{dangling:?}"
    );
}

/// A unique violation written past the service maps to the same constraint as in PostgreSQL.
#[tokio::test]
async fn a_taken_login_is_refused_as_a_unique_login() {
    let store: Arc<dyn Store> = Arc::new(TestStore::new().await);
    agent_and_shift(store.clone()).await;
    let mut tx = store.begin().await.expect("begin");
    let again = NewAgent {
        login: Login::parse("mei").expect("a login"),
        display_name: DisplayName::parse("Another Mei").expect("a name"),
        role: Role::Agent,
        skills: BTreeSet::new(),
        capacity: None,
    };
    let refused = tx.insert_agent(&again).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Constraint(Constraint::UniqueLogin))
        ),
        "{refused:?}"
    );
}

fn unusable_reason(result: Result<SqliteStore, ConnectError>, path: &Path) -> String {
    match result {
        Err(error @ ConnectError::Unusable { .. }) => {
            let ConnectError::Unusable { path: named, .. } = &error else {
                unreachable!("matched above")
            };
            assert_eq!(named, path, "the error names the path given");
            let text = error.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            text
        }
        Err(other) => panic!("expected an unusable file, got {other:?}"),
        Ok(_) => panic!("expected an unusable file, but it opened"),
    }
}

#[tokio::test]
async fn a_folder_is_refused_as_the_database_file() {
    let dir = tempfile::tempdir().expect("a folder");
    let text = unusable_reason(
        SqliteStore::open(&SqliteConfig::new(dir.path())).await,
        dir.path(),
    );
    assert!(text.contains("is a folder"), "{text}");
}

#[tokio::test]
async fn a_path_that_cannot_be_created_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("a folder");
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "not a folder").expect("a file");

    let under_a_file = file.join("shiftdesk.db");
    let text = unusable_reason(
        SqliteStore::open(&SqliteConfig::new(&under_a_file)).await,
        &under_a_file,
    );
    assert!(text.contains("is not a folder"), "{text}");

    let missing = dir.path().join("missing").join("shiftdesk.db");
    let text = unusable_reason(
        SqliteStore::open(&SqliteConfig::new(&missing)).await,
        &missing,
    );
    assert!(text.contains("does not exist"), "{text}");
    assert!(!missing.exists(), "nothing was created");

    // The kernel refuses files here even to root, so this holds whoever runs the tests.
    let proc_file = Path::new("/proc/shiftdesk-test.db");
    let text = unusable_reason(
        SqliteStore::open(&SqliteConfig::new(proc_file)).await,
        proc_file,
    );
    assert!(text.contains("cannot be opened or created"), "{text}");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("a folder");
    let file = dir.path().join("shiftdesk.db");
    let content = "these are somebody's notes, not a database\n".repeat(100);
    std::fs::write(&file, &content).expect("a file");

    let text = unusable_reason(SqliteStore::open(&SqliteConfig::new(&file)).await, &file);
    assert!(text.contains("not an SQLite database"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&file).expect("still there"),
        content
    );
}

/// A database migrated by a newer build is refused rather than used with the wrong schema.
#[tokio::test]
async fn a_schema_newer_than_the_code_is_refused() {
    let test = TestStore::new().await;
    let path = test.store.path().to_owned();
    test.store.close().await;
    let mut connection = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("the file opens");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from a newer Shiftdesk', true, x'00', 0)",
    )
    .execute(&mut connection)
    .await
    .expect("a migration from the future");
    connection.close().await.expect("closed");

    let refused = SqliteStore::open(&SqliteConfig::new(&path)).await;
    match refused {
        Err(error @ ConnectError::SchemaNewer { .. }) => {
            let ConnectError::SchemaNewer { database, code } = error else {
                unreachable!("matched above")
            };
            assert_eq!(database, 99_990_101_000_000);
            assert!(code < database);
            assert!(error.to_string().contains("upgrade Shiftdesk"), "{error}");
        }
        other => panic!("expected a newer schema to be refused, got {other:?}"),
    }
}

/// Opening an existing file migrates nothing twice and finds what was written.
#[tokio::test]
async fn reopening_a_file_keeps_its_data_and_schema() {
    let test = TestStore::new().await;
    let path = test.store.path().to_owned();
    let store: Arc<dyn Store> = Arc::new(test.store.clone());
    let (agent, _, _) = agent_and_shift(store).await;
    test.store.close().await;

    let reopened = SqliteStore::open(&SqliteConfig::new(&path))
        .await
        .expect("reopens");
    let status = reopened.schema_status().await.expect("a status");
    assert!(status.pending.is_empty(), "{status:?}");
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("the migrations folder")
        .count();
    assert_eq!(status.applied.len(), migrations);
    let mut tx = reopened.begin_read().await.expect("a read");
    let agents = tx.agents(&[agent]).await.expect("read");
    assert_eq!(agents.len(), 1);
}

/// Reads run beside the writer on connections that refuse to write, so a write sent through
/// a read-only transaction fails instead of racing the writer for the lock.
#[tokio::test]
async fn a_read_only_transaction_refuses_to_write() {
    let store: Arc<dyn Store> = Arc::new(TestStore::new().await);
    let mut tx = store.begin_read().await.expect("a read");
    let refused = tx.put_team(&Default::default()).await;
    assert!(
        matches!(refused, Err(StoreError::Backend(_))),
        "{refused:?}"
    );
}

/// A writer finding the write lock taken by another connection (as another process would
/// hold it) waits for it rather than failing at once; past the busy timeout the store says it
/// is unavailable, not that the operation failed.
#[tokio::test]
async fn a_writer_waits_for_the_lock_and_is_unavailable_past_the_busy_timeout() {
    let dir = tempfile::tempdir().expect("a folder");
    let config = SqliteConfig {
        busy_timeout: std::time::Duration::from_millis(300),
        ..SqliteConfig::new(dir.path().join("shiftdesk.db"))
    };
    let store = SqliteStore::open(&config).await.expect("opens");
    let url = format!("sqlite://{}", config.path.display());
    let mut other = SqliteConnection::connect(&url)
        .await
        .expect("another connection");

    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .expect("the other holds the lock");
    let started = std::time::Instant::now();
    let refused = store.begin().await.err();
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(250),
        "it waited for the lock first: {:?}",
        started.elapsed()
    );
    assert!(
        matches!(refused, Some(StoreError::Unavailable(_))),
        "{refused:?}"
    );

    // Released within the timeout, the writer gets the lock.
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        sqlx::query("COMMIT")
            .execute(&mut other)
            .await
            .expect("released");
        other
    });
    let mut tx = store.begin().await.expect("the lock once released");
    tx.put_team(&Default::default()).await.expect("written");
    tx.commit().await.expect("committed");
    release.await.expect("the other finishes");
}

/// The settings acknowledged writes rely on: the log flushed at every commit (FULL is 2),
/// WAL so that readers run beside the writer, and references enforced.
#[tokio::test]
async fn the_file_is_in_wal_mode_with_full_sync_and_foreign_keys() {
    let test = TestStore::new().await;
    let mut connection = test.store.readers().acquire().await.expect("a connection");
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *connection)
        .await
        .expect("read");
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *connection)
        .await
        .expect("read");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *connection)
        .await
        .expect("read");
    assert_eq!((journal.as_str(), synchronous, foreign_keys), ("wal", 2, 1));
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_database_file_and_its_log_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let test = TestStore::new().await;
    let store: Arc<dyn Store> = Arc::new(test.store.clone());
    agent_and_shift(store).await;

    for name in ["shiftdesk.db", "shiftdesk.db-wal"] {
        let path = test.dir.path().join(name);
        let mode = std::fs::metadata(&path).expect(name).permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
    }
}
