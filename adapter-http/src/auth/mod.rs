//! Authentication: who may call, and how they prove it.
//!
//! - [`token`]: HS256 access tokens signed with the server's key.
//! - [`caller`]: the [`caller::Caller`] and [`caller::Admin`] extractors, which check the
//!   token on every request against the staff member's account.
//! - [`states`]: the brief cache of each staff member's token state those checks read.
//! - [`password`]: argon2id hashing and verification on the blocking threads.
//! - [`limit`]: rate limits on login attempts per account and per client address.
//! - [`customer`]: the ticketing platform's signature of a customer's external id.
//! - [`bootstrap`]: the first admin on an empty database.
//!
//! Who may do what is decided in `core`; this module only establishes who is asking.

pub mod bootstrap;
pub mod caller;
pub mod customer;
pub mod limit;
pub mod password;
pub mod states;
pub mod token;

use std::time::Duration;

use crate::auth::customer::CustomerSecret;
use crate::auth::limit::{LoginLimiter, LoginLimits};
use crate::auth::states::TokenStateCache;
use crate::auth::token::{TokenRefused, Tokens};
use crate::keys::SigningKey;

/// How long a token is accepted after it is issued, unless configured: 8 hours.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(8 * 60 * 60);
/// How long a staff member's token state is trusted before it is read again: 2 seconds.
pub const DEFAULT_TOKEN_STATE_TTL: Duration = Duration::from_secs(2);

/// How callers authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// How long a token is accepted after it is issued.
    pub token_ttl: Duration,
    /// How long a staff member's token state is cached; zero reads it on every request.
    pub token_state_ttl: Duration,
    /// The limits on login attempts.
    pub login_limits: LoginLimits,
    /// The secret shared with the ticketing platform; without it, only anonymous customers
    /// (if allowed) get tokens.
    pub customer_secret: Option<CustomerSecret>,
    /// Whether a customer without a platform signature gets a fresh anonymous identity.
    pub anonymous_customers: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            token_ttl: DEFAULT_TOKEN_TTL,
            token_state_ttl: DEFAULT_TOKEN_STATE_TTL,
            login_limits: LoginLimits::default(),
            customer_secret: None,
            anonymous_customers: false,
        }
    }
}

/// What the authentication routes and extractors share.
#[derive(Debug)]
pub(crate) struct Auth {
    /// Issues and checks tokens.
    pub(crate) tokens: Tokens,
    /// Each staff member's token state, briefly.
    pub(crate) states: TokenStateCache,
    /// Counts login attempts.
    pub(crate) limiter: LoginLimiter,
    /// The platform's secret, if customers may sign in.
    pub(crate) customer_secret: Option<CustomerSecret>,
    /// Whether anonymous customers may chat.
    pub(crate) anonymous_customers: bool,
}

impl Auth {
    /// Authentication with `key` as `settings` say.
    pub(crate) fn new(key: &SigningKey, settings: &AuthSettings) -> Result<Auth, TokenRefused> {
        Ok(Auth {
            tokens: Tokens::new(key, settings.token_ttl)?,
            states: TokenStateCache::new(settings.token_state_ttl),
            limiter: LoginLimiter::new(settings.login_limits),
            customer_secret: settings.customer_secret.clone(),
            anonymous_customers: settings.anonymous_customers,
        })
    }
}
