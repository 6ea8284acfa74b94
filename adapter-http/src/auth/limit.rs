//! Rate limits on login attempts, per account (the login typed) and per client address.
//!
//! Every attempt counts, not only failures: a limit that only failures spend would tell an
//! attacker which guess was right by whether it still answers. Each limit is a token bucket
//! (GCRA): a burst of attempts, then one more each period.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

/// The keys kept before forgotten ones are swept out, so a flood of made-up logins cannot
/// grow the limiter without bound.
const SWEEP_ABOVE: usize = 10_000;

/// The characters of a typed login that key its limit: no login is longer, and a huge one
/// must not be kept whole.
const MAX_KEY_CHARS: usize = 128;

/// One limit: `burst` attempts at once, then one more every `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Attempts allowed at once.
    pub burst: NonZeroU32,
    /// How long it takes to earn one more attempt.
    pub period: Duration,
}

impl Limit {
    fn quota(self) -> Quota {
        Quota::with_period(self.period)
            .unwrap_or_else(|| Quota::per_second(self.burst))
            .allow_burst(self.burst)
    }
}

/// Five attempts per login, then one a minute.
pub const DEFAULT_PER_ACCOUNT: Limit = Limit {
    burst: NonZeroU32::new(5).expect("non-zero"),
    period: Duration::from_secs(60),
};

/// Twenty attempts per client address, then one every ten seconds.
pub const DEFAULT_PER_ADDRESS: Limit = Limit {
    burst: NonZeroU32::new(20).expect("non-zero"),
    period: Duration::from_secs(10),
};

/// The limits on login attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Per login name as typed (trimmed, lower-cased).
    pub per_account: Limit,
    /// Per client IP address.
    pub per_address: Limit,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_account: DEFAULT_PER_ACCOUNT,
            per_address: DEFAULT_PER_ADDRESS,
        }
    }
}

/// The attempt is over a limit; it may be tried again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany {
    /// How long until the next attempt is allowed.
    pub retry_after: Duration,
}

/// Counts login attempts against [`LoginLimits`].
pub struct LoginLimiter {
    accounts: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginLimiter")
    }
}

impl LoginLimiter {
    /// A limiter with no attempts counted yet.
    pub fn new(limits: LoginLimits) -> LoginLimiter {
        LoginLimiter {
            accounts: DefaultKeyedRateLimiter::keyed(limits.per_account.quota()),
            addresses: DefaultKeyedRateLimiter::keyed(limits.per_address.quota()),
        }
    }

    /// Counts an attempt from `address` (if known) at `login`; refuses it when either is
    /// over its limit. The address is checked first, so an address over its limit spends
    /// nothing of the account's.
    pub fn attempt(&self, address: Option<IpAddr>, login: &str) -> Result<(), TooMany> {
        if let Some(address) = address {
            check(&self.addresses, &address)?;
        }
        let key: String = login.trim().chars().take(MAX_KEY_CHARS).collect();
        check(&self.accounts, &key.to_lowercase())
    }
}

fn check<K: Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), TooMany> {
    if limiter.len() > SWEEP_ABOVE {
        limiter.retain_recent();
    }
    limiter.check_key(key).map_err(|not_until| TooMany {
        retry_after: not_until.wait_time_from(limiter.clock().now()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(account: u32, address: u32) -> LoginLimits {
        let limit = |burst| Limit {
            burst: NonZeroU32::new(burst).expect("non-zero"),
            period: Duration::from_secs(3600),
        };
        LoginLimits {
            per_account: limit(account),
            per_address: limit(address),
        }
    }

    fn address(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn an_account_is_limited_whatever_the_address() {
        let limiter = LoginLimiter::new(limits(2, 100));
        assert!(limiter.attempt(address(1), "mei").is_ok());
        assert!(limiter.attempt(address(2), "MEI ").is_ok());
        let refused = limiter.attempt(address(3), "mei").expect_err("third");
        assert!(refused.retry_after > Duration::from_secs(60));
        assert!(limiter.attempt(address(3), "ana").is_ok());
        let long = "x".repeat(1000);
        assert!(limiter.attempt(None, &long).is_ok());
        assert!(limiter.attempt(None, &long[..200]).is_ok());
        assert!(limiter.attempt(None, &long[..128]).is_err(), "the same key");
    }

    #[test]
    fn an_address_is_limited_whatever_the_account() {
        let limiter = LoginLimiter::new(limits(100, 2));
        assert!(limiter.attempt(address(1), "mei").is_ok());
        assert!(limiter.attempt(address(1), "ana").is_ok());
        assert!(limiter.attempt(address(1), "raj").is_err());
        assert!(limiter.attempt(address(2), "raj").is_ok());
    }
}
