//! `shiftdesk demo`: fills an empty store with a realistic team, so the server and the CLI
//! can be tried on something that looks like a real month.
//!
//! Everything goes through the service, as the acting admin or as the agents and customers
//! themselves, so the demo data obeys every rule real data does. The historical conversations
//! are written through a second service over the same store whose clock is set back to when
//! each one happened.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use serde::Deserialize;
use shiftdesk_core::Service;
use shiftdesk_core::canned::{NewCannedReply, ReplyScope, Template};
use shiftdesk_core::conversation::{NewCustomer, StatusAction};
use shiftdesk_core::event::SilentNotifier;
use shiftdesk_core::ids::{AgentId, EntryId, ShiftId};
use shiftdesk_core::leave::{LeaveApplication, LeaveKind};
use shiftdesk_core::message::MessageKind;
use shiftdesk_core::schedule::Placement;
use shiftdesk_core::search::ConversationFilter;
use shiftdesk_core::service::{AssignOptions, AssignOutcome, Outgoing};
use shiftdesk_core::shift::{NewShift, ShiftTimes};
use shiftdesk_core::staff::{Actor, Context, NewAgent, Role};
use shiftdesk_core::store::EntryQuery;
use shiftdesk_core::swap::{SwapApplication, SwapKind};
use shiftdesk_core::text::{
    DisplayName, ExternalId, Login, MessageBody, Note, ShiftName, Shortcode, Skill, Title, Topic,
};
use shiftdesk_core::time::{DateRange, ManualClock};

use crate::cli::DemoArgs;
use crate::failure::Failure;
use crate::progress;
use crate::render::say;
use crate::session::Session;

/// The dialogs the historical conversations replay; see `data/README.md`.
const DIALOGS: &str = include_str!("../../data/dialogs.jsonl");

/// The shift templates: name, start, end. The night crosses midnight.
const SHIFTS: [(&str, &str, &str); 4] = [
    ("early", "06:00", "14:00"),
    ("day", "09:00", "17:00"),
    ("late", "14:00", "22:00"),
    ("night", "22:00", "06:00"),
];

/// Skills agents hold, a few each.
const SKILLS: [&str; 8] = [
    "english", "chinese", "spanish", "german", "japanese", "refunds", "billing", "events",
];

/// First names the demo agents and customers are called by, from many languages.
const NAMES: [&str; 24] = [
    "Mei", "李伟", "Ana", "Jonas", "Олег", "Ayşe", "Priya", "健太", "지민", "Fatima", "Lucas",
    "Sofia", "Ngozi", "Mateo", "Anya", "Tomás", "Chloé", "Oskar", "Lina", "Ravi", "Yuki", "Emre",
    "Zanele", "Ines",
];

/// Public canned replies: shortcode, title, category, body.
const REPLIES: [(&str, &str, &str, &str); 8] = [
    (
        "hello",
        "Greeting",
        "greetings",
        "Hello {{customer.name}}, this is {{agent.name}}. How can I help?",
    ),
    (
        "hola",
        "Saludo",
        "greetings",
        "Hola {{customer.name}}, soy {{agent.name}}. ¿En qué puedo ayudarte?",
    ),
    (
        "nihao",
        "问候",
        "greetings",
        "{{customer.name}}您好，我是{{agent.name}}，请问有什么可以帮您？",
    ),
    (
        "hallo",
        "Begrüßung",
        "greetings",
        "Hallo {{customer.name}}, hier ist {{agent.name}}. Wie kann ich helfen?",
    ),
    (
        "konnichiwa",
        "挨拶",
        "greetings",
        "{{customer.name}}様、{{agent.name}}です。ご用件をお聞かせください。",
    ),
    (
        "refund",
        "Refund started",
        "refunds",
        "{{customer.name}}, the refund for conversation #{{conversation.id}} is on its way: 3 to 5 working days.",
    ),
    (
        "tickets-resent",
        "Tickets resent",
        "events",
        "I have sent your tickets again, {{customer.name}}. Please check your spam folder too.",
    ),
    (
        "goodbye",
        "Closing",
        "greetings",
        "Thank you for writing, {{customer.name}}. Have a good day!",
    ),
];

/// One line of `dialogs.jsonl`.
#[derive(Debug, Deserialize)]
struct Dialog {
    topic: String,
    turns: Vec<String>,
}

/// What the demo wrote, for the summary.
#[derive(Debug, Default)]
struct Written {
    agents: usize,
    entries: usize,
    leave: usize,
    swaps: usize,
    replies: usize,
    conversations: usize,
    messages: usize,
}

/// Fills the store; refuses one that already holds a team unless `--force`.
pub(crate) async fn run(session: &Session, args: DemoArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let service = &session.service;
    let ctx = &session.ctx;
    if !args.force {
        let staff = service.agents(ctx).await?.len();
        let shifts = service.shifts(ctx).await?.len();
        let conversations = service
            .count_conversations(ctx, ConversationFilter::default())
            .await?;
        if staff > 1 || shifts > 0 || conversations > 0 {
            return Err(Failure::input(format!(
                "the store already holds data ({staff} staff, {shifts} shift templates, \
                 {conversations} conversations); the demo fills an empty one, or pass --force \
                 to add to it"
            )));
        }
    }
    if !(4..=5_000).contains(&args.agents) {
        return Err(Failure::input("--agents: must be from 4 to 5000"));
    }
    let first = match args.from {
        Some(first) => first,
        None => next_monday(Utc::now().date_naive()),
    };
    let mut written = Written::default();

    let shifts = create_shifts(service, ctx).await?;
    let password = demo_password()?;
    let agents = create_agents(session, args.agents, &password, &mut written).await?;
    let weeks = i64::from(args.weeks);
    let dates = DateRange::new(first, first + Duration::days(7 * weeks - 1))
        .map_err(|problem| Failure::input(format!("--weeks: {problem}")))?;
    plan(service, ctx, &agents, &shifts, dates, &mut written).await?;
    file_requests(service, ctx, &agents, dates, &mut written).await?;
    create_replies(service, ctx, &mut written).await?;
    replay_history(session, &agents, args.conversations, &mut written).await?;

    say(format!(
        "demo team written in {:.1} s: {} agents, {} shift templates, {} schedule entries from \
         {} to {}, {} leave and {} swap requests, {} canned replies, {} conversations with {} \
         messages",
        started.elapsed().as_secs_f64(),
        written.agents,
        shifts.len(),
        written.entries,
        dates.first(),
        dates.last(),
        written.leave,
        written.swaps,
        written.replies,
        written.conversations,
        written.messages,
    ))?;
    say(format!(
        "agents log in as demo0001 … demo{:04} with the password {password}",
        written.agents
    ))?;
    Ok(())
}

/// The Monday on or after `date`.
fn next_monday(date: NaiveDate) -> NaiveDate {
    let ahead = (7 - date.weekday().num_days_from_monday()) % 7;
    date + Duration::days(i64::from(ahead))
}

/// A password for every demo agent, printed once at the end.
fn demo_password() -> Result<String, Failure> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes)
        .map_err(|error| Failure::Other(format!("no randomness for the password: {error}")))?;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!("demo-{hex}"))
}

async fn create_shifts(service: &Service, ctx: &Context) -> Result<Vec<ShiftId>, Failure> {
    let mut ids = Vec::new();
    for (name, start, end) in SHIFTS {
        let time = |raw: &str| {
            NaiveTime::parse_from_str(raw, "%H:%M")
                .map_err(|error| Failure::Other(format!("demo shift time {raw}: {error}")))
        };
        let times = ShiftTimes::new(time(start)?, time(end)?)
            .map_err(|problem| Failure::Other(format!("demo shift {name}: {problem}")))?;
        let shift = NewShift {
            name: ShiftName::parse(name).map_err(|p| Failure::Other(p.to_string()))?,
            times,
            required_skill: None,
        };
        ids.push(service.create_shift(ctx, shift).await?.id);
    }
    Ok(ids)
}

fn parsed<T>(what: &str, parsed: Result<T, shiftdesk_core::input::Problem>) -> Result<T, Failure> {
    parsed.map_err(|problem| Failure::Other(format!("demo {what}: {problem}")))
}

async fn create_agents(
    session: &Session,
    count: u32,
    password: &str,
    written: &mut Written,
) -> Result<Vec<AgentId>, Failure> {
    let (service, ctx) = (&session.service, &session.ctx);
    // One hash for every demo agent: hashing a thousand passwords would take most of a minute.
    let hash = shiftdesk_http::auth::password::hash(password.to_owned())
        .await
        .map_err(|error| Failure::Other(format!("cannot hash the demo password: {error}")))?;
    let bar = progress::bar(u64::from(count), "agents");
    let mut ids = Vec::new();
    for n in 1..=count {
        let name = NAMES[n as usize % NAMES.len()];
        let skills: BTreeSet<Skill> = [n, n / 3, n / 7]
            .iter()
            .map(|pick| Skill::parse(SKILLS[*pick as usize % SKILLS.len()]))
            .collect::<Result<_, _>>()
            .map_err(|problem| Failure::Other(format!("demo skill: {problem}")))?;
        let agent = NewAgent {
            login: parsed("login", Login::parse(&format!("demo{n:04}")))?,
            display_name: parsed("name", DisplayName::parse(&format!("{name} {n:04}")))?,
            role: Role::Agent,
            skills,
            capacity: None,
        };
        let created = service.create_agent(ctx, agent).await?;
        service
            .set_password(ctx, created.id, hash.clone())
            .await
            .map_err(|error| Failure::Other(format!("cannot set a demo password: {error}")))?;
        ids.push(created.id);
        bar.inc(1);
    }
    bar.finish_and_clear();
    written.agents = ids.len();
    Ok(ids)
}

/// The days agent number `n` has off: two days in a row, different from agent to agent.
fn days_off(n: usize) -> [Weekday; 2] {
    let first = Weekday::try_from(((n / SHIFTS.len()) % 7) as u8).unwrap_or(Weekday::Sat);
    [first, first.succ()]
}

/// Every agent works one shift five days a week for the whole range, in one batch.
async fn plan(
    service: &Service,
    ctx: &Context,
    agents: &[AgentId],
    shifts: &[ShiftId],
    dates: DateRange,
    written: &mut Written,
) -> Result<(), Failure> {
    let spinner = progress::spinner("schedule");
    let mut placements = Vec::new();
    for (n, agent) in agents.iter().enumerate() {
        let off = days_off(n);
        for date in dates.iter() {
            if !off.contains(&date.weekday()) {
                placements.push(Placement {
                    agent: *agent,
                    shift: shifts[n % shifts.len()],
                    date,
                });
            }
        }
    }
    let outcome = service
        .assign(ctx, placements, AssignOptions::default())
        .await?;
    spinner.finish_and_clear();
    written.entries = match outcome {
        AssignOutcome::Written { entries, .. } => entries.len(),
        AssignOutcome::Planned { entries, .. } => entries.len(),
    };
    Ok(())
}

/// Some agents ask for leave (a few of them approved) and some ask a colleague on the same
/// shift, who is off that day, to cover for them.
async fn file_requests(
    service: &Service,
    ctx: &Context,
    agents: &[AgentId],
    dates: DateRange,
    written: &mut Written,
) -> Result<(), Failure> {
    let third_week = dates.first() + Duration::days(14);
    for (at, n) in (0..agents.len()).step_by(47).take(20).enumerate() {
        let agent = agents[n];
        let first = third_week + Duration::days((at % 5) as i64);
        let application = LeaveApplication {
            agent,
            kind: if at % 4 == 0 {
                LeaveKind::Sick
            } else {
                LeaveKind::Annual
            },
            dates: parsed(
                "leave dates",
                DateRange::new(first, first + Duration::days(1)),
            )?,
            reason: Some(parsed("reason", Note::parse("family visit"))?),
        };
        let leave = service
            .request_leave(&Context::new(Actor::agent(agent)), application)
            .await?;
        if at % 5 == 0 {
            service.approve_leave(ctx, leave.id).await?;
        }
        written.leave += 1;
    }

    let second_week = dates.first() + Duration::days(7);
    for n in (5..agents.len()).step_by(53).take(10) {
        let date = (0..7)
            .map(|day| second_week + Duration::days(day))
            .find(|date| !days_off(n).contains(&date.weekday()));
        let Some(date) = date else { continue };
        // A colleague on the same shift whose day off it is.
        let colleague = (0..agents.len())
            .filter(|m| m % SHIFTS.len() == n % SHIFTS.len() && *m != n)
            .find(|m| days_off(*m).contains(&date.weekday()));
        let Some(colleague) = colleague else { continue };
        let Some(entry) = entry_of(service, ctx, agents[n], date).await? else {
            continue;
        };
        let application = SwapApplication {
            requester_entry: entry,
            target: agents[colleague],
            kind: SwapKind::Cover,
            note: Some(parsed(
                "note",
                Note::parse("could you take this one? I owe you"),
            )?),
        };
        service
            .request_swap(&Context::new(Actor::agent(agents[n])), application)
            .await?;
        written.swaps += 1;
    }
    Ok(())
}

async fn entry_of(
    service: &Service,
    ctx: &Context,
    agent: AgentId,
    date: NaiveDate,
) -> Result<Option<EntryId>, Failure> {
    let query = EntryQuery {
        dates: parsed("date", DateRange::new(date, date))?,
        agents: Some(vec![agent]),
        working_only: true,
    };
    let entries = service.schedule(ctx, &query).await?;
    Ok(entries.first().map(|entry| entry.id))
}

async fn create_replies(
    service: &Service,
    ctx: &Context,
    written: &mut Written,
) -> Result<(), Failure> {
    for (shortcode, title, category, body) in REPLIES {
        let reply = NewCannedReply {
            scope: ReplyScope::Public,
            shortcode: parsed("shortcode", Shortcode::parse(shortcode))?,
            title: parsed("title", Title::parse(title))?,
            category: Some(parsed("category", Topic::parse(category))?),
            body: Template::parse(body)
                .map_err(|error| Failure::Other(format!("demo reply {shortcode}: {error}")))?,
        };
        service
            .create_canned_reply(ctx, reply)
            .await
            .map_err(|error| Failure::Other(format!("demo reply {shortcode}: {error}")))?;
        written.replies += 1;
    }
    Ok(())
}

/// Conversations spread over the four weeks before now: a customer opens with a dialog's
/// first turn, an agent takes it, they take turns, and most are resolved.
async fn replay_history(
    session: &Session,
    agents: &[AgentId],
    count: u32,
    written: &mut Written,
) -> Result<(), Failure> {
    let dialogs: Vec<Dialog> = DIALOGS
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|dialog: &Dialog| dialog.turns.len() >= 2)
        .collect();
    if dialogs.is_empty() || count == 0 {
        return Ok(());
    }
    let now = Utc::now();
    let start = now - TimeDelta::days(28);
    let clock = Arc::new(ManualClock::new(start));
    let past = Service::new(
        session.store.clone(),
        Arc::new(SilentNotifier),
        clock.clone(),
    );
    let system = Context::new(Actor::System);
    let spacing = TimeDelta::days(28) / i32::try_from(count).unwrap_or(i32::MAX);
    let bar = progress::bar(u64::from(count), "conversations");

    for n in 0..count as usize {
        // Spread over dialogs in every language rather than the first ones in the file.
        let dialog = &dialogs[(n * 7919) % dialogs.len()];
        clock.set(start + spacing * i32::try_from(n).unwrap_or(i32::MAX));
        let customer = NewCustomer {
            external_id: parsed(
                "customer",
                ExternalId::parse(&format!("demo-customer-{n:05}")),
            )?,
            display_name: parsed("customer", DisplayName::parse(NAMES[(n / 3) % NAMES.len()]))?,
        };
        let customer = past.register_customer(&system, customer).await?;
        let customer = Context::new(Actor::Customer { id: customer.id });
        let agent = Context::new(Actor::agent(agents[(n * 31) % agents.len()]));
        let topic = Topic::parse(&dialog.topic).ok();
        let Some(first) = outgoing(&dialog.turns[0]) else {
            continue;
        };
        let opened = past
            .open_conversation(&customer, topic, Some(first))
            .await?;
        clock.advance(TimeDelta::seconds(20 + (n % 40) as i64));
        past.take_conversation(&agent, opened.id).await?;
        written.messages += 2;
        for (turn, text) in dialog.turns.iter().enumerate().skip(1) {
            clock.advance(TimeDelta::seconds(30 + ((n + turn) % 60) as i64));
            let Some(message) = outgoing(text) else {
                continue;
            };
            let speaker = if turn % 2 == 1 { &agent } else { &customer };
            past.send(speaker, opened.id, message).await?;
            written.messages += 1;
        }
        // One in ten is still open, as on any day.
        if n % 10 != 0 {
            clock.advance(TimeDelta::minutes(2));
            past.change_status(&agent, opened.id, StatusAction::Resolve)
                .await?;
        }
        written.conversations += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

/// A turn as a message, or nothing for text a message cannot hold.
fn outgoing(text: &str) -> Option<Outgoing> {
    Some(Outgoing {
        client_id: None,
        kind: MessageKind::Message,
        body: MessageBody::parse(text).ok()?,
    })
}
