//! Concurrency over a real store: many tasks planning and swapping over the same agents at
//! once, for every durable store to run against its own database.
//!
//! Every refused request must have named exactly the conflicts it met: replaying the audit log
//! (whose order agrees with the commit order of any two changes that share an agent), some
//! prefix of the history gives, through the same rules, exactly the refusal reported. The
//! stores' own tests add the check only their SQL can make independently of `core`: no two
//! overlapping working entries and no short rest in the stored rows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use shiftdesk_core::Service;
use shiftdesk_core::assign::BatchAssignment;
use shiftdesk_core::audit::{AuditQuery, AuditRecord};
use shiftdesk_core::conflict::{Conflict, Roster};
use shiftdesk_core::error::{ScheduleError, SwapError};
use shiftdesk_core::event::SilentNotifier;
use shiftdesk_core::ids::{AgentId, AuditId, EntryId};
use shiftdesk_core::schedule::ScheduleEntry;
use shiftdesk_core::service::AssignOptions;
use shiftdesk_core::shift::{NewShift, ShiftTemplate, ShiftTimes};
use shiftdesk_core::staff::{Actor, Agent, Context, NewAgent, Role};
use shiftdesk_core::store::{EntryQuery, Store};
use shiftdesk_core::swap::{self, SwapApplication, SwapKind, SwapParties, SwapRefusal};
use shiftdesk_core::team::{MinRest, TeamSettings};
use shiftdesk_core::text::{DisplayName, Login, ShiftName};
use shiftdesk_core::time::{DateRange, ManualClock, TimeZone};

/// How many tasks plan at once; a store needs as many connections, and a few more.
pub const TASKS: usize = 16;
const OPERATIONS: usize = 24;
const AGENTS: usize = 10;

/// A small deterministic generator, so a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % sides as u64) as usize
    }
}

/// What a task asked for and what it was told.
enum Attempt {
    Batch(BatchAssignment, Result<(), Vec<Conflict>>),
    Swap {
        requester_entry: EntryId,
        target: AgentId,
        refused: Option<Vec<Conflict>>,
    },
}

fn date(offset: usize) -> NaiveDate {
    // Around the night Europe/London moves its clocks forward (2027-03-28).
    NaiveDate::from_ymd_opt(2027, 3, 24).expect("a date") + TimeDelta::days(offset as i64)
}

/// Runs [`TASKS`] tasks at once over `store`, each planning batches and swaps over the same
/// agents, then checks that every refused request named exactly the conflicts it met. The
/// caller checks the stored rows afterwards with its own queries: no overlapping working
/// entries, and no rest under eight hours between two of one agent's.
pub async fn batches_and_swaps_at_once(store: Arc<dyn Store>) {
    let now = DateTime::parse_from_rfc3339("2027-03-01T00:00:00Z").expect("an instant");
    let clock = Arc::new(ManualClock::new(now.with_timezone(&Utc)));
    let service = Service::new(store.clone(), Arc::new(SilentNotifier), clock);
    let admin = Context::new(Actor::System);
    let (agents, shifts) = set_up(&service, &admin).await;

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (service, agents, shifts) = (service.clone(), agents.clone(), shifts.clone());
        tasks.push(tokio::spawn(async move {
            let mut dice = Dice(0x9e37_79b9_7f4a_7c15 ^ (task as u64 + 1));
            let mut attempts = Vec::new();
            for _ in 0..OPERATIONS {
                let attempt = if dice.roll(10) < 7 {
                    batch(&service, &agents, &shifts, &mut dice).await
                } else {
                    swap(&service, &agents, &mut dice).await
                };
                attempts.extend(attempt);
            }
            attempts
        }));
    }
    let mut attempts = Vec::new();
    for task in tasks {
        attempts.extend(task.await.expect("a task finishes"));
    }

    let history = History::read(&service, &admin).await;
    let team = service.team(&admin).await.expect("team settings");
    let refused = attempts
        .iter()
        .filter(|attempt| {
            matches!(
                attempt,
                Attempt::Batch(_, Err(_))
                    | Attempt::Swap {
                        refused: Some(_),
                        ..
                    }
            )
        })
        .count();
    assert!(
        refused > 10,
        "the run produced real contention ({refused} refusals)"
    );
    for attempt in &attempts {
        history.assert_explained(attempt, &team, &agents, &shifts);
    }
}

async fn set_up(service: &Service, admin: &Context) -> (Vec<Agent>, Vec<ShiftTemplate>) {
    let team = TeamSettings {
        time_zone: TimeZone::parse("Europe/London").expect("a zone"),
        min_rest: Some(MinRest::from_minutes(8 * 60).expect("a rest")),
        ..TeamSettings::default()
    };
    service
        .update_team(admin, team)
        .await
        .expect("team settings");
    let mut agents = Vec::new();
    for n in 0..AGENTS {
        let agent = NewAgent {
            login: Login::parse(&format!("agent{n}")).expect("a login"),
            display_name: DisplayName::parse(&format!("Agent {n}")).expect("a name"),
            role: Role::Agent,
            skills: BTreeSet::new(),
            capacity: None,
        };
        agents.push(service.create_agent(admin, agent).await.expect("an agent"));
    }
    let mut shifts = Vec::new();
    for (name, start, end) in [
        ("early", "06:00", "14:00"),
        ("day", "09:00", "17:00"),
        ("late", "14:00", "22:00"),
        ("night", "22:00", "06:00"),
    ] {
        let time = |text| NaiveTime::parse_from_str(text, "%H:%M").expect("a time");
        let shift = NewShift {
            name: ShiftName::parse(name).expect("a name"),
            times: ShiftTimes::new(time(start), time(end)).expect("times"),
            required_skill: None,
        };
        shifts.push(service.create_shift(admin, shift).await.expect("a shift"));
    }
    (agents, shifts)
}

async fn batch(
    service: &Service,
    agents: &[Agent],
    shifts: &[ShiftTemplate],
    dice: &mut Dice,
) -> Option<Attempt> {
    let first = dice.roll(10);
    let request = BatchAssignment {
        shift: shifts[dice.roll(shifts.len())].id,
        dates: DateRange::new(date(first), date(first + dice.roll(3))).expect("dates"),
        weekdays: None,
        agents: (0..1 + dice.roll(3))
            .map(|_| agents[dice.roll(agents.len())].id)
            .collect(),
    };
    let admin = Context::new(Actor::System);
    let outcome = service
        .assign_batch(&admin, &request, AssignOptions::default())
        .await;
    let outcome = match outcome {
        Ok(_) => Ok(()),
        Err(ScheduleError::Conflicts(conflicts)) => Err(conflicts),
        Err(other) => panic!("a batch failed: {other:?}"),
    };
    Some(Attempt::Batch(request, outcome))
}

/// Offers a random working entry to a random colleague and approves it at once.
async fn swap(service: &Service, agents: &[Agent], dice: &mut Dice) -> Option<Attempt> {
    let admin = Context::new(Actor::System);
    let query = EntryQuery {
        dates: DateRange::new(date(0), date(12)).expect("dates"),
        agents: None,
        working_only: true,
    };
    let working = service
        .schedule(&admin, &query)
        .await
        .expect("the schedule");
    if working.is_empty() {
        return None;
    }
    let given = &working[dice.roll(working.len())];
    let target = agents[dice.roll(agents.len())].id;
    let application = SwapApplication {
        requester_entry: given.id,
        target,
        kind: SwapKind::Cover,
        note: None,
    };
    // Filing and accepting check too, but only approval decides; refusals before it are
    // expected under contention and not what this test examines.
    let Ok(request) = service.request_swap(&admin, application).await else {
        return None;
    };
    if service.accept_swap(&admin, request.id).await.is_err() {
        return None;
    }
    let refused = match service.approve_swap(&admin, request.id).await {
        Ok(_) => None,
        Err(SwapError::Refused(SwapRefusal::Conflicts(conflicts))) => Some(conflicts),
        Err(SwapError::Refused(_)) => return None,
        Err(other) => panic!("an approval failed: {other:?}"),
    };
    Some(Attempt::Swap {
        requester_entry: given.id,
        target,
        refused,
    })
}

/// The audit log, oldest first, as the schedule it built step by step.
struct History {
    records: Vec<AuditRecord>,
}

impl History {
    async fn read(service: &Service, admin: &Context) -> History {
        let mut records = Vec::new();
        let mut before: Option<AuditId> = None;
        loop {
            let query = AuditQuery {
                before,
                limit: 1000,
                ..AuditQuery::default()
            };
            let page = service
                .audit_log(admin, query)
                .await
                .expect("the audit log");
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            records.extend(page);
        }
        records.reverse();
        History { records }
    }

    /// The working entries after the first `steps` records.
    fn entries_after(&self, steps: usize) -> BTreeMap<EntryId, ScheduleEntry> {
        let mut entries = BTreeMap::new();
        for record in &self.records[..steps] {
            let Some(after) = &record.change.after else {
                continue;
            };
            for entry in after.entries() {
                entries.insert(entry.id, entry);
            }
        }
        entries
    }

    /// Asserts some prefix of the history explains the attempt's refusal exactly.
    fn assert_explained(
        &self,
        attempt: &Attempt,
        team: &TeamSettings,
        agents: &[Agent],
        shifts: &[ShiftTemplate],
    ) {
        let reported = match attempt {
            Attempt::Batch(_, Err(conflicts)) => conflicts,
            Attempt::Swap {
                refused: Some(conflicts),
                ..
            } => conflicts,
            _ => return,
        };
        let explained = (0..=self.records.len()).any(|steps| {
            let entries = self.entries_after(steps);
            let roster = Roster::new(
                team.clone(),
                agents.to_vec(),
                shifts.to_vec(),
                entries.values(),
                [],
            );
            match attempt {
                Attempt::Batch(request, _) => {
                    roster.check(&request.placements(), &[]).into_conflicts() == *reported
                }
                Attempt::Swap {
                    requester_entry,
                    target,
                    ..
                } => {
                    let given = entries.get(requester_entry);
                    let Some(given) = given else { return false };
                    let parties = SwapParties {
                        requester: given.agent,
                        target: *target,
                        entries: std::slice::from_ref(given),
                        roster: &roster,
                        now: DateTime::<Utc>::MIN_UTC,
                    };
                    matches!(
                        swap::check(&parties, *requester_entry, SwapKind::Cover),
                        Err(SwapRefusal::Conflicts(found)) if found == *reported
                    )
                }
            }
        });
        assert!(explained, "no state in the history explains {reported:?}");
    }
}
