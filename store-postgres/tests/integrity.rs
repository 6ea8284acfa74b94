//! What the database itself refuses, what never reaches it, and how connecting fails.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use shiftdesk_core::Service;
use shiftdesk_core::assign::BatchAssignment;
use shiftdesk_core::error::ScheduleError;
use shiftdesk_core::event::SilentNotifier;
use shiftdesk_core::input::Problem;
use shiftdesk_core::schedule::{EntryOrigin, NewEntry};
use shiftdesk_core::service::AssignOptions;
use shiftdesk_core::shift::{NewShift, ShiftTimes};
use shiftdesk_core::staff::{Actor, Context, NewAgent, Role};
use shiftdesk_core::store::{Constraint, Store, StoreError};
use shiftdesk_core::text::{DisplayName, Login, ShiftName};
use shiftdesk_core::time::{DateRange, ManualClock, TimeZone};
use shiftdesk_store_postgres::testing::fresh_pg_store;
use shiftdesk_store_postgres::{ConnectError, PgConfig, PgStore};

fn time(text: &str) -> NaiveTime {
    NaiveTime::parse_from_str(text, "%H:%M").expect("a time")
}

fn date(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

/// An overlapping working entry written past the service is refused by the exclusion
/// constraint, and reported as the domain's overlap constraint, not as a failure.
#[tokio::test]
async fn an_overlap_written_past_the_service_is_refused_as_an_overlap() {
    let Some(store) = fresh_pg_store(4).await else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(DateTime::<Utc>::UNIX_EPOCH));
    let service = Service::new(store.clone(), Arc::new(SilentNotifier), clock);
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
    let day = date("2027-05-03");
    let entry = NewEntry {
        agent: agent.id,
        shift: shift.id,
        date: day,
        span: shift.times.span_on(day, TimeZone::UTC),
        origin: EntryOrigin::Assigned,
    };

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

/// Values the domain cannot hold never become SQL: they cannot even be built, and a request
/// over a store that cannot answer is refused for its input, not for the store.
#[tokio::test]
async fn bad_input_is_refused_before_any_sql() {
    assert_eq!(
        DisplayName::parse(&"名".repeat(81)),
        Err(Problem::TooLong { max: 80 })
    );
    assert!(matches!(
        TimeZone::parse("Mars/Olympus_Mons"),
        Err(Problem::UnknownTimeZone(_))
    ));
    assert_eq!(
        ShiftTimes::new(time("09:00"), time("09:00")),
        Err(Problem::ZeroLength)
    );

    // A pool that was never connected: any statement would fail as unavailable.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(200))
        .connect_lazy("postgres://nobody@127.0.0.1:1/none")
        .expect("a lazy pool");
    let store: Arc<dyn Store> = Arc::new(PgStore::from_pool(pool));
    let clock = Arc::new(ManualClock::new(DateTime::<Utc>::UNIX_EPOCH));
    let service = Service::new(store, Arc::new(SilentNotifier), clock);
    let batch = BatchAssignment {
        shift: 1.try_into().expect("an id"),
        dates: DateRange::new(date("2027-01-01"), date("2028-06-30")).expect("dates"),
        weekdays: None,
        agents: vec![1.try_into().expect("an id")],
    };
    let admin = Context::new(Actor::System);
    let refused = service
        .assign_batch(&admin, &batch, AssignOptions::default())
        .await;
    assert!(
        matches!(refused, Err(ScheduleError::Invalid(ref error)) if error.field == "dates"),
        "refused for its dates before reaching the store: {refused:?}"
    );
}

/// Nothing listening: the error says which server could not be reached.
#[tokio::test]
async fn an_unreachable_server_is_reported_as_such() {
    let config = PgConfig::new("postgres://postgres@127.0.0.1:1/shiftdesk");
    let failed = PgStore::connect(&config).await;
    match failed {
        Err(ConnectError::Unreachable { target, .. }) => {
            assert_eq!(target, "127.0.0.1:1/shiftdesk");
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
    let invalid = PgStore::connect(&PgConfig::new("not a url")).await;
    assert!(
        matches!(invalid, Err(ConnectError::InvalidUrl(_))),
        "{invalid:?}"
    );
}

/// A database migrated by a newer build is refused rather than used with the wrong schema.
#[tokio::test]
async fn a_schema_newer_than_the_code_is_refused() {
    let Some(store) = fresh_pg_store(2).await else {
        return;
    };
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from a newer Shiftdesk', true, '\\x00', 0)",
    )
    .execute(store.pool())
    .await
    .expect("a migration from the future");

    let refused = store.migrate().await;
    match refused {
        Err(ConnectError::SchemaNewer { database, code }) => {
            assert_eq!(database, 99_990_101_000_000);
            assert!(code < database);
        }
        other => panic!("expected a newer schema to be refused, got {other:?}"),
    }
}
