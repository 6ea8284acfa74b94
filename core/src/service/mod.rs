//! The service layer: runs each decision inside one store transaction.
//!
//! Every operation follows the same steps: check who is acting, open a transaction, lock the
//! agents involved, read the state the decision needs, call the pure decision function, write
//! its plan together with an audit record, commit, and only then publish domain events. The
//! decisions themselves live in the domain modules; nothing here decides a rule.

mod account;
mod admin;
mod canned;
mod conversation;
mod leave;
mod routing;
mod schedule;
mod swap;

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::audit::{AuditAction, AuditChange, Snapshot, Subject};
use crate::conflict::Roster;
use crate::event::{DomainEvent, Notifier};
use crate::ids::AgentId;
use crate::input::Problem;
use crate::leave::LeaveState;
use crate::routing::{NobodyOnline, Presence};
use crate::staff::Context;
use crate::store::{EntryQuery, LeaveQuery, Store, StoreError, Tx};
use crate::team::TeamSettings;
use crate::time::{Clock, DateRange};

pub use conversation::{
    ConversationDetail, ExportSink, ExportSummary, MAX_MESSAGES, Opened, Outgoing,
};
pub use routing::Routed;
pub use schedule::{AssignOptions, AssignOutcome};

/// The earliest and latest years a schedule may be planned in; outside them a date is a typo.
const PLANNING_YEARS: std::ops::RangeInclusive<i32> = 2000..=2200;

/// Shiftdesk's operations, over any store.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    presence: Arc<dyn Presence>,
}

impl Service {
    /// A service over `store` that tells `notifier` what happened and reads time from `clock`.
    /// Nobody counts as online until [`Service::with_presence`] says how to tell.
    pub fn new(store: Arc<dyn Store>, notifier: Arc<dyn Notifier>, clock: Arc<dyn Clock>) -> Self {
        let presence = Arc::new(NobodyOnline);
        Self {
            store,
            notifier,
            clock,
            presence,
        }
    }

    /// The same service, asking `presence` who is online when routing.
    pub fn with_presence(mut self, presence: Arc<dyn Presence>) -> Self {
        self.presence = presence;
        self
    }

    /// The time on the service's clock, the one messages are stamped with.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.store.begin().await
    }

    /// A transaction that only reads.
    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.store.begin_read().await
    }

    /// Publishes events of a committed change.
    async fn publish(&self, events: impl IntoIterator<Item = DomainEvent>) {
        for event in events {
            self.notifier.publish(event).await;
        }
    }

    /// An audit record of a change made now by the caller.
    fn audit(
        &self,
        ctx: &Context,
        action: AuditAction,
        subject: Subject,
        before: Option<Snapshot>,
        after: Option<Snapshot>,
    ) -> AuditChange {
        AuditChange {
            at: self.now(),
            actor: ctx.actor,
            request_id: ctx.request_id.clone(),
            action,
            subject,
            before,
            after,
        }
    }
}

/// Reads what the conflict rules need about `agents` around `dates`.
async fn load_roster(
    tx: &mut dyn Tx,
    team: TeamSettings,
    agents: &[AgentId],
    dates: DateRange,
) -> Result<Roster, StoreError> {
    let window = Roster::window(dates, &team);
    let staff = tx.agents(agents).await?;
    let shifts = tx.shifts().await?;
    let query = EntryQuery {
        dates: window,
        agents: Some(agents.to_vec()),
        working_only: true,
    };
    let entries = tx.entries(&query).await?;
    let query = LeaveQuery {
        after: None,
        limit: None,
        agents: Some(agents.to_vec()),
        states: Some(vec![LeaveState::Approved]),
        overlapping: Some(dates),
    };
    let leaves = tx.leaves(&query).await?;
    Ok(Roster::new(team, staff, shifts, &entries, &leaves))
}

/// Sorted, without repeats: the order locks are taken in.
fn lock_order(agents: impl IntoIterator<Item = AgentId>) -> Vec<AgentId> {
    let mut agents: Vec<AgentId> = agents.into_iter().collect();
    agents.sort_unstable();
    agents.dedup();
    agents
}

/// The smallest date range holding every date, if there is one.
fn span_of_dates(dates: impl IntoIterator<Item = NaiveDate>) -> Option<DateRange> {
    let mut dates = dates.into_iter();
    let first = dates.next()?;
    let (min, max) = dates.fold((first, first), |(min, max), date| {
        (min.min(date), max.max(date))
    });
    DateRange::new(min, max).ok()
}

/// Refuses dates outside the years anyone plans in.
fn check_planning_dates(dates: DateRange) -> Result<(), Problem> {
    let years = (dates.first().year(), dates.last().year());
    if PLANNING_YEARS.contains(&years.0) && PLANNING_YEARS.contains(&years.1) {
        Ok(())
    } else {
        Err(Problem::OutOfRange {
            min: i64::from(*PLANNING_YEARS.start()),
            max: i64::from(*PLANNING_YEARS.end()),
        })
    }
}
