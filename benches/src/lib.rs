//! Fixtures shared by Shiftdesk's benchmarks: a team, its shifts and a schedule history of
//! any size, built directly as domain values or through the service over a store.
//!
//! The criterion benchmarks live in `benches/`; the store benchmark binaries in `src/bin/`
//! share the runs in [`runs`], and those that go through the HTTP server (the schedule grid,
//! the load run) start it with [`http`]; those that measure it from outside run it as a
//! process with [`process`]. The figures they produce are recorded in the README
//! with the command that produced them.

pub mod http;
pub mod process;
pub mod runs;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use shiftdesk_core::Service;
use shiftdesk_core::event::SilentNotifier;
use shiftdesk_core::ids::{AgentId, EntryId, ShiftId};
use shiftdesk_core::schedule::{EntryOrigin, EntryStatus, ScheduleEntry};
use shiftdesk_core::shift::{NewShift, ShiftTemplate, ShiftTimes};
use shiftdesk_core::staff::{Actor, Agent, Context, NewAgent, Role};
use shiftdesk_core::store::Store;
use shiftdesk_core::team::{MinRest, TeamSettings};
use shiftdesk_core::text::{DisplayName, Login, ShiftName};
use shiftdesk_core::time::{DateRange, ManualClock, TimeZone};

/// The shifts every fixture team works: (name, start, end).
pub const SHIFTS: [(&str, &str, &str); 4] = [
    ("early", "06:00", "14:00"),
    ("day", "08:00", "16:00"),
    ("late", "14:00", "22:00"),
    ("night", "22:00", "06:00"),
];

/// A team planning in Shanghai time with an 11-hour minimum rest.
pub fn team() -> TeamSettings {
    TeamSettings {
        time_zone: TimeZone::parse("Asia/Shanghai").unwrap_or_default(),
        min_rest: MinRest::from_minutes(11 * 60).ok(),
        ..TeamSettings::default()
    }
}

/// `count` active agents with ids `1..=count`.
pub fn agents(count: usize) -> Vec<Agent> {
    (1..=count)
        .map(|n| Agent {
            id: id(n),
            login: login(n),
            display_name: display_name(n),
            role: Role::Agent,
            active: true,
            skills: BTreeSet::new(),
            capacity: None,
        })
        .collect()
}

/// The fixture shifts with ids `1..=4`, in the order of [`SHIFTS`].
pub fn shifts() -> Vec<ShiftTemplate> {
    SHIFTS
        .iter()
        .enumerate()
        .map(|(index, (name, start, end))| ShiftTemplate {
            id: id(index + 1),
            name: ShiftName::parse(name).expect("fixture names are valid"),
            times: times(start, end),
            required_skill: None,
        })
        .collect()
}

/// Every agent on `shift` on every date of `dates`, ids counting from 1.
pub fn history(
    agents: &[Agent],
    shift: &ShiftTemplate,
    dates: DateRange,
    team: &TeamSettings,
) -> Vec<ScheduleEntry> {
    let mut entries = Vec::with_capacity(agents.len() * dates.len() as usize);
    for agent in agents {
        for date in dates.iter() {
            entries.push(ScheduleEntry {
                id: id(entries.len() + 1),
                agent: agent.id,
                shift: shift.id,
                date,
                span: shift.times.span_on(date, team.time_zone),
                status: EntryStatus::Scheduled,
                origin: EntryOrigin::Assigned,
            });
        }
    }
    entries
}

/// A date `offset` days after 2027-01-01.
pub fn date(offset: u64) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default();
    start.checked_add_days(Days::new(offset)).unwrap_or(start)
}

/// The dates `first..=last` as offsets from 2027-01-01.
pub fn dates(first: u64, last: u64) -> DateRange {
    DateRange::new(date(first), date(last)).unwrap_or_else(|_| DateRange::single(date(first)))
}

/// A service over `store` with `count` agents and the fixture shifts, created through the
/// service itself; returns the agent ids and shift ids.
pub async fn seeded(
    store: Arc<dyn Store>,
    count: usize,
) -> (Service, Context, Vec<AgentId>, Vec<ShiftId>) {
    let clock = Arc::new(ManualClock::new(DateTime::<Utc>::UNIX_EPOCH));
    let service = Service::new(store, Arc::new(SilentNotifier), clock);
    let ctx = Context::new(Actor::System);
    let _ = service.update_team(&ctx, team()).await;
    let mut agent_ids = Vec::with_capacity(count);
    for n in 1..=count {
        let agent = NewAgent {
            login: login(n),
            display_name: display_name(n),
            role: Role::Agent,
            skills: BTreeSet::new(),
            capacity: None,
        };
        if let Ok(agent) = service.create_agent(&ctx, agent).await {
            agent_ids.push(agent.id);
        }
    }
    let mut shift_ids = Vec::new();
    for (name, start, end) in SHIFTS {
        let name = ShiftName::parse(name).expect("fixture names are valid");
        let shift = NewShift {
            name,
            times: times(start, end),
            required_skill: None,
        };
        if let Ok(shift) = service.create_shift(&ctx, shift).await {
            shift_ids.push(shift.id);
        }
    }
    (service, ctx, agent_ids, shift_ids)
}

/// Entry ids for fixtures built without a store.
pub fn entry_id(n: usize) -> EntryId {
    id(n)
}

fn id<T: TryFrom<i64>>(n: usize) -> T {
    let raw = i64::try_from(n).unwrap_or(i64::MAX).max(1);
    T::try_from(raw).ok().expect("positive ids are valid")
}

fn login(n: usize) -> Login {
    Login::parse(&format!("agent{n:05}")).expect("fixture logins are valid")
}

fn display_name(n: usize) -> DisplayName {
    DisplayName::parse(&format!("Agent {n}")).expect("fixture names are valid")
}

fn times(start: &str, end: &str) -> ShiftTimes {
    let parse = |text: &str| NaiveTime::parse_from_str(text, "%H:%M").unwrap_or_default();
    ShiftTimes::new(parse(start), parse(end)).expect("fixture shifts have length")
}

/// Where the shared multilingual dialogs live unless `SHIFTDESK_DIALOGS` says otherwise.
const DIALOGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/dialogs.jsonl"
);
/// The sample of them kept in the repository, for clones without the shared folder.
const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/dialogs.jsonl");

/// Every dialog of the shared corpus (real text in 22 languages, turns alternating between
/// the two sides), or of the repository's sample of it, without empty turns.
pub fn dialogs() -> Vec<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Dialog {
        turns: Vec<String>,
    }
    let path = std::env::var("SHIFTDESK_DIALOGS").unwrap_or_else(|_| {
        let shared = std::path::Path::new(DIALOGS).exists();
        if shared { DIALOGS } else { SAMPLE }.to_owned()
    });
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Dialog>(line).ok())
        .map(|dialog| {
            let turns = dialog.turns.into_iter();
            turns.filter(|turn| !turn.trim().is_empty()).collect()
        })
        .filter(|turns: &Vec<String>| !turns.is_empty())
        .collect()
}

/// Every turn of every dialog in the shared corpus (real text in 22 languages), or of the
/// repository's sample of it, or a few built-in lines if neither can be read.
pub fn dialog_turns() -> Vec<String> {
    let turns: Vec<String> = dialogs().into_iter().flatten().collect();
    if turns.is_empty() {
        [
            "你好，我的订单还没到。",
            "Hello, where is my ticket?",
            "こんにちは",
            "Привет",
        ]
        .map(str::to_owned)
        .to_vec()
    } else {
        turns
    }
}
