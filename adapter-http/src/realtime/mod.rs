//! The real-time side: WebSocket connections, the hub that fans domain events out to them,
//! and the one-time tickets a connection is opened with. The protocol is written down in
//! `docs/realtime.md`.
//!
//! - [`protocol`]: the frames, their parsing, and the close codes.
//! - [`hub`]: the [`hub::Hub`], `core`'s `Notifier` and `Presence`: connections per user,
//!   who hears of which event, bounded send queues.
//! - [`connection`]: one connection's loop over any stream and sink of frames.
//! - [`ticket`]: one-time connection tickets, kept in memory.
//! - [`socket`]: the loop over an axum WebSocket; the ticker that wakes snoozed
//!   conversations and routes the queue.
//!
//! Decisions stay in `core`: a frame becomes a service call, an event becomes frames.

pub mod connection;
pub mod hub;
pub mod protocol;
pub mod socket;
pub mod ticket;

use std::num::NonZeroU32;
use std::time::Duration;

/// How the real-time side behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealtimeSettings {
    /// How often the server pings each connection.
    pub ping_interval: Duration,
    /// How many pings in a row may go unanswered before the connection is dropped.
    pub missed_pongs: u32,
    /// How many pushes wait for a slow connection before it is closed for a resume.
    pub queue: usize,
    /// The largest client frame read, in bytes; larger ones get an error frame.
    pub max_frame_bytes: usize,
    /// Whether a user may keep several connections (devices) at once; if not, a new one
    /// closes the older.
    pub several_devices: bool,
    /// How long a connection ticket may wait to be used.
    pub ticket_ttl: Duration,
    /// How many connections are accepted per second, across all clients, after a burst.
    pub accept_per_second: NonZeroU32,
    /// How many connections are accepted at once before the rate applies.
    pub accept_burst: NonZeroU32,
    /// How long a typing indicator lasts unless renewed.
    pub typing_expires: Duration,
    /// How often snoozed conversations are woken and the queue routed (so an agent whose
    /// shift starts picks up waiting conversations).
    pub tick: Duration,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        RealtimeSettings {
            ping_interval: Duration::from_secs(20),
            missed_pongs: 2,
            queue: 256,
            max_frame_bytes: 64 * 1024,
            several_devices: false,
            ticket_ttl: Duration::from_secs(30),
            accept_per_second: NonZeroU32::new(200).unwrap_or(NonZeroU32::MIN),
            accept_burst: NonZeroU32::new(500).unwrap_or(NonZeroU32::MIN),
            typing_expires: Duration::from_secs(6),
            tick: Duration::from_secs(15),
        }
    }
}

/// What the real-time routes share: the hub, the tickets, and the limit on new connections.
pub(crate) struct Gate {
    /// The connections and their fan-out.
    pub(crate) hub: std::sync::Arc<hub::Hub>,
    /// Tickets waiting to be used.
    pub(crate) tickets: ticket::Tickets,
    /// Connections accepted per second, across all clients.
    pub(crate) accept: governor::DefaultDirectRateLimiter,
    /// The settings connections run with.
    pub(crate) settings: RealtimeSettings,
}

impl Gate {
    /// The gate in front of `hub`.
    pub(crate) fn new(hub: std::sync::Arc<hub::Hub>, settings: RealtimeSettings) -> Gate {
        let quota = governor::Quota::per_second(settings.accept_per_second)
            .allow_burst(settings.accept_burst);
        Gate {
            hub,
            tickets: ticket::Tickets::new(settings.ticket_ttl),
            accept: governor::RateLimiter::direct(quota),
            settings,
        }
    }

    /// Counts a new connection; refuses it, with the wait until the next, over the limit.
    pub(crate) fn admit(&self) -> Result<(), Duration> {
        use governor::clock::Clock;
        self.accept
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.accept.clock().now()))
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("hub", &self.hub)
            .field("tickets", &self.tickets)
            .finish_non_exhaustive()
    }
}
