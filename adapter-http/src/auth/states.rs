//! The token-state cache: each staff member's token version and role, read from the store at
//! most once per TTL, so a burst of requests does not read it once each.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use shiftdesk_core::Service;
use shiftdesk_core::account::TokenState;
use shiftdesk_core::error::AccountError;
use shiftdesk_core::ids::AgentId;

/// The keys kept before the cache is emptied, so it cannot grow without bound.
const CACHE_LIMIT: usize = 10_000;

/// A short-lived copy of each staff member's token state, so that a burst of requests does
/// not read the store once each. A change made elsewhere is seen once the entry is older
/// than the TTL; changes made through this server drop the entry at once.
#[derive(Debug)]
pub struct TokenStateCache {
    ttl: Duration,
    entries: Mutex<HashMap<AgentId, (Instant, Option<TokenState>)>>,
}

impl TokenStateCache {
    /// A cache keeping each entry for `ttl`; zero keeps nothing.
    pub fn new(ttl: Duration) -> TokenStateCache {
        TokenStateCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The token state of `agent`, from the cache while fresh, else from the service.
    pub async fn get(
        &self,
        service: &Service,
        agent: AgentId,
    ) -> Result<Option<TokenState>, AccountError> {
        if let Some(state) = self.fresh(agent) {
            return Ok(state);
        }
        let state = service.token_state(agent).await?;
        if !self.ttl.is_zero()
            && let Ok(mut entries) = self.entries.lock()
        {
            if entries.len() >= CACHE_LIMIT {
                entries.clear();
            }
            entries.insert(agent, (Instant::now(), state));
        }
        Ok(state)
    }

    /// Drops what is known of `agent`, after a change that may end their sessions.
    pub fn forget(&self, agent: AgentId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&agent);
        }
    }

    fn fresh(&self, agent: AgentId) -> Option<Option<TokenState>> {
        let entries = self.entries.lock().ok()?;
        let (at, state) = entries.get(&agent)?;
        (at.elapsed() < self.ttl).then_some(*state)
    }
}
