//! What every handler can reach: the state the router hands each request. Kept apart from
//! [`crate::server`] so that routes and extractors depend on it without depending on the
//! server that builds them.

use std::sync::Arc;

use shiftdesk_core::Service;
use shiftdesk_core::store::Store;

use crate::auth::Auth;
use crate::metrics::Metrics;
use crate::realtime::Gate;

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    /// The operations the routes call.
    pub(crate) service: Service,
    /// Tokens, login limits and customer sign-in.
    pub(crate) auth: Arc<Auth>,
    /// The store, for readiness.
    pub(crate) store: Arc<dyn Store>,
    /// The server's metrics.
    pub(crate) metrics: Metrics,
    /// The hub, connection tickets and the connection limit.
    pub(crate) realtime: Arc<Gate>,
    /// The OpenAPI document, rendered once.
    pub(crate) openapi: Arc<str>,
}
