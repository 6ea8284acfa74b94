//! Prometheus metrics: requests by route, method and status, their latency, and the
//! database pool.
//!
//! Each server has its own recorder rather than the process-wide one, so two servers in one
//! process (as in the tests) count separately.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::request_id::route_of;

/// Requests answered, by `route`, `method` and `status`.
pub const REQUESTS_TOTAL: &str = "shiftdesk_http_requests_total";
/// Time to answer, in seconds, by `route`, `method` and `status`.
pub const REQUEST_DURATION: &str = "shiftdesk_http_request_duration_seconds";
/// Open database connections, by `state` (`idle` or `in_use`).
pub const POOL_CONNECTIONS: &str = "shiftdesk_db_pool_connections";

/// Latency buckets, in seconds: from a cached read to a request about to time out.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How many connections a store's pool holds, when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections open.
    pub open: u32,
    /// Open connections not lent out.
    pub idle: u32,
}

/// Reads a store's pool use; stores without a pool have none.
pub type PoolProbe = Arc<dyn Fn() -> PoolUse + Send + Sync>;

/// One server's metrics.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    pool: Option<PoolProbe>,
}

impl Metrics {
    /// Empty metrics, with the pool read from `pool` at each scrape.
    pub fn new(pool: Option<PoolProbe>) -> Metrics {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), BUCKETS);
        // The buckets are constant and non-empty, so setting them cannot fail; the fallback
        // (summaries instead of histograms) is only for form's sake.
        let recorder = builder
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        Metrics {
            recorder: Arc::new(recorder),
            handle,
            pool,
        }
    }

    /// Everything counted so far, in Prometheus's text format.
    pub fn render(&self) -> String {
        if let Some(pool) = &self.pool {
            let usage = pool();
            let in_use = usage.open.saturating_sub(usage.idle);
            metrics::with_local_recorder(self.recorder.as_ref(), || {
                metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(f64::from(usage.idle));
                metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set(f64::from(in_use));
            });
        }
        self.handle.render()
    }

    fn record(&self, route: String, method: String, status: u16, seconds: f64) {
        let labels = [
            ("route", route),
            ("method", method),
            ("status", status.to_string()),
        ];
        metrics::with_local_recorder(self.recorder.as_ref(), || {
            metrics::counter!(REQUESTS_TOTAL, &labels).increment(1);
            metrics::histogram!(REQUEST_DURATION, &labels).record(seconds);
        });
    }
}

/// Counts the request and its latency once it is answered.
pub(crate) async fn count(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let route = route_of(&request);
    let method = method_label(request.method()).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    metrics.record(route, method, response.status().as_u16(), seconds);
    response
}

/// The method as a label: one of the standard ones, or `other`, so that callers inventing
/// methods cannot grow the metrics without bound.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        let invented = Method::from_bytes(b"BREW").expect("a method");
        assert_eq!(method_label(&invented), "other");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
    }

    #[test]
    fn requests_are_counted_by_route_method_and_status() {
        let metrics = Metrics::new(None);
        metrics.record("/healthz".into(), "GET".into(), 200, 0.003);
        metrics.record("/healthz".into(), "GET".into(), 200, 0.004);
        metrics.record("unmatched".into(), "GET".into(), 404, 0.001);

        let text = metrics.render();

        assert!(
            text.contains(
                "shiftdesk_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("status=\"404\"} 1"), "{text}");
        assert!(
            text.contains("shiftdesk_http_request_duration_seconds_bucket"),
            "{text}"
        );
    }

    #[test]
    fn the_pool_is_read_at_each_scrape() {
        let probe: PoolProbe = Arc::new(|| PoolUse { open: 5, idle: 2 });
        let text = Metrics::new(Some(probe)).render();
        assert!(
            text.contains("shiftdesk_db_pool_connections{state=\"idle\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("shiftdesk_db_pool_connections{state=\"in_use\"} 3"),
            "{text}"
        );
    }

    #[test]
    fn servers_count_separately() {
        let one = Metrics::new(None);
        let other = Metrics::new(None);
        one.record("/readyz".into(), "GET".into(), 200, 0.01);
        assert!(!other.render().contains("/readyz"));
    }
}
