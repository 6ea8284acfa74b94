//! Shiftdesk's domain: who works when, and the rules that keep a schedule consistent.
//!
//! This crate does no I/O. It holds the domain types, the decisions as pure functions, and a
//! service layer that runs each decision inside a store transaction. Storage, notification
//! and time come in through traits, which the store and adapter crates implement.
//!
//! Map, from the ground up:
//! - [`input`], [`ids`], [`text`], [`time`]: parsed values that cannot be invalid; instant
//!   ranges, date ranges, the team's time zone and the [`time::Clock`].
//! - [`staff`], [`team`], [`shift`], [`schedule`]: agents, team settings, shift templates
//!   and schedule entries.
//! - [`account`]: password hashes (opaque to `core`), token versions, and the rules of
//!   logging in and of ending sessions.
//! - [`conflict`]: the exact conflict rules, used by every decision that places work.
//! - [`assign`], [`leave`], [`swap`]: the decisions (pure functions from state and request to
//!   a plan or a refusal) and the state machines of leave and swap requests.
//! - [`conversation`], [`message`]: customers, conversations and their states, messages with
//!   their per-conversation sequence numbers, read positions.
//! - [`routing`], [`transfer`]: who gets a waiting conversation (on shift, online, with room),
//!   and handing one to another agent with its context.
//! - [`canned`], [`search`]: canned replies with variables; the one conversation filter,
//!   the caller's scope, and export formats.
//! - [`audit`], [`event`]: what every change records, and what it announces after commit.
//! - [`store`]: the traits a store implements. Stores hold locks and move data; no rule
//!   lives there.
//! - [`service`]: the operations adapters call, each one transaction; [`error`] holds their
//!   error types.
//!
//! Dependencies point down this list; nothing here knows a database, a web framework or an
//! async runtime.

pub mod account;
pub mod assign;
pub mod audit;
pub mod canned;
pub mod conflict;
pub mod conversation;
pub mod error;
pub mod event;
pub mod ids;
pub mod input;
pub mod leave;
pub mod message;
pub mod routing;
pub mod schedule;
pub mod search;
pub mod service;
pub mod shift;
pub mod staff;
pub mod store;
pub mod swap;
pub mod team;
pub mod text;
pub mod time;
pub mod transfer;

pub use service::Service;
