//! Shiftdesk's HTTP server: a thin adapter that parses requests into `core` types, calls the
//! service, and maps the results to responses.
//!
//! It serves the operational routes (health, readiness, metrics, the OpenAPI document) and
//! under `/api/v1/`: logging in and out, the caller's profile and password, the staff list,
//! customer sign-in, the team settings, shift templates, the schedule, leave and swap
//! requests, canned replies, conversations (lists and search, messages, transfers, status,
//! read positions, exports), the audit log, and the real-time WebSocket connection with its
//! tickets and online statistics.
//! Every route that serves team data authenticates its caller first.
//!
//! Map, in the order a request meets it:
//! - [`config`]: flags and environment variables, each with its default; the database URL.
//! - [`keys`]: the token-signing key, configured or kept beside the database.
//! - [`database`]: opening and migrating the configured store.
//! - [`server`]: the [`server::App`], its router and middleware, [`server::spawn`] and
//!   graceful shutdown.
//! - `watch`: the store as the server uses it, its slow calls logged as warnings.
//! - `state`: what every handler can reach, shared by the routes and the extractors.
//! - [`request_id`]: the request id and the span every log line of a request carries.
//! - [`auth`]: tokens, the caller extractors, passwords, login limits, customer sign-in
//!   and the first admin.
//! - [`realtime`]: the WebSocket side: the hub (core's `Notifier` and `Presence`), the
//!   connection loop, tickets, and the protocol's frames.
//! - [`metrics`]: request counts, latencies and pool use in Prometheus's format.
//! - [`extract`]: JSON bodies whose rejections name the field at fault.
//! - `routes`: every route with its OpenAPI description, one module per resource; `page`
//!   holds the query-string checks and cursor pages every list shares.
//! - [`problem`]: the one error type, `application/problem+json`, and the mapping of every
//!   `core` error to a status and a stable code.
//! - [`telemetry`]: the log writer, plain or JSON.
//!
//! Dependencies point into `core` and the store crates; nothing in `core` knows this crate.

pub mod auth;
pub mod config;
pub mod database;
pub mod extract;
pub mod keys;
pub mod metrics;
pub mod problem;
pub mod realtime;
pub mod request_id;
mod routes;
pub mod server;
mod state;
pub mod telemetry;
mod watch;

pub use problem::Problem;
pub use server::{App, RunningServer, Settings, Shutdown, spawn};

/// Exit codes of `shiftdesk-server`.
pub mod exit {
    /// Stopped after a shutdown signal, every request answered.
    pub const OK: u8 = 0;
    /// The server failed while running.
    pub const FAILED: u8 = 1;
    /// A setting cannot be used: a flag, the key file, the customer secret file, the first
    /// admin's password file, or the address to listen on.
    pub const BAD_CONFIGURATION: u8 = 2;
    /// The store cannot be used: unreachable, unusable, or migrated by a newer Shiftdesk.
    pub const STORE_UNUSABLE: u8 = 3;
}
