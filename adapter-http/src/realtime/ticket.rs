//! One-time connection tickets: a browser cannot put a bearer token in a WebSocket request's
//! headers, and a token in a URL would end up in logs. So the client trades its token for a
//! ticket over the REST API and opens the connection with the ticket, which works once,
//! for a few seconds, and is never logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use shiftdesk_core::ids::ConversationId;
use shiftdesk_core::staff::Context;
use tokio::time::Instant;

/// What a ticket stands for: who, and the conversations to replay before anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The caller the ticket was issued to.
    pub ctx: Context,
    /// For each conversation, the last sequence number the client has (0 for none).
    pub resume: Vec<(ConversationId, u64)>,
}

/// Tickets kept before expired ones are swept out; beyond, the oldest go.
const MAX_TICKETS: usize = 100_000;

/// Tickets waiting to be used. Its `Debug` form shows how many, never the tickets.
pub struct Tickets {
    ttl: Duration,
    waiting: Mutex<HashMap<String, (Instant, Admission)>>,
}

impl std::fmt::Debug for Tickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let waiting = self.waiting.lock().map_or(0, |waiting| waiting.len());
        f.debug_struct("Tickets")
            .field("ttl", &self.ttl)
            .field("waiting", &waiting)
            .finish()
    }
}

impl Tickets {
    /// Tickets valid for `ttl`.
    pub fn new(ttl: Duration) -> Tickets {
        Tickets {
            ttl,
            waiting: Mutex::new(HashMap::new()),
        }
    }

    /// How long a ticket stays valid.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new ticket for `admission`: 32 random bytes in hex. Fails only if the system has no
    /// randomness to give.
    pub fn issue(&self, admission: Admission) -> Result<String, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        let ticket = hex::encode(bytes);
        let now = Instant::now();
        let mut waiting = self
            .waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if waiting.len() >= MAX_TICKETS {
            waiting.retain(|_, (issued, _)| now.duration_since(*issued) < self.ttl);
        }
        if waiting.len() >= MAX_TICKETS
            && let Some(oldest) = waiting
                .iter()
                .min_by_key(|(_, (issued, _))| *issued)
                .map(|(key, _)| key.clone())
        {
            waiting.remove(&oldest);
        }
        waiting.insert(ticket.clone(), (now, admission));
        Ok(ticket)
    }

    /// What a ticket was issued for and when, if it is known and fresh; it cannot be used
    /// again.
    pub fn redeem(&self, ticket: &str) -> Option<(Instant, Admission)> {
        let mut waiting = self
            .waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (issued, admission) = waiting.remove(ticket)?;
        (issued.elapsed() < self.ttl).then_some((issued, admission))
    }
}

#[cfg(test)]
mod tests {
    use shiftdesk_core::ids::AgentId;
    use shiftdesk_core::staff::Actor;

    use super::*;

    fn mei() -> Admission {
        Admission {
            ctx: Context::new(Actor::agent(AgentId::try_from(2).expect("id"))),
            resume: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_ticket_works_once() {
        let tickets = Tickets::new(Duration::from_secs(30));
        let ticket = tickets.issue(mei()).expect("ticket");
        assert_eq!(ticket.len(), 64);
        let (_, admission) = tickets.redeem(&ticket).expect("a fresh ticket");
        assert_eq!(admission, mei());
        assert!(tickets.redeem(&ticket).is_none());
        assert!(tickets.redeem("made-up").is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_ticket_expires() {
        let tickets = Tickets::new(Duration::from_secs(30));
        let ticket = tickets.issue(mei()).expect("ticket");
        tokio::time::advance(Duration::from_secs(31)).await;
        assert!(tickets.redeem(&ticket).is_none());
    }
}
