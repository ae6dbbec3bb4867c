//! The Prometheus series (text format 0.0.4), one registry per server instance.
//!
//! Why `prometheus-client` (the Prometheus project's own Rust client) rather than the `metrics`
//! facade with its exporter: the facade records into one process-wide recorder, so two
//! servers in one process (the integration tests run dozens) would count into each other, and
//! a test could not assert exact counts; here every `AppState` owns its [`Metrics`].
//!
//! Names follow the Prometheus conventions: the `oxident_` prefix, base units (`_seconds`),
//! `_total` on counters (the encoder adds it). Values something else keeps anyway (open
//! connections) are read at scrape time by a collector.

use crate::edge::connection_limits::{ConnectionCounter, Refusal};
use crate::edge::{Body, Hook};
use crate::logging::RequestInfo;
use http::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A request's operation (its `operationId`; `none` for requests no operation answers: an
/// unknown path, a wrong method, a refusal at the edge) and status.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub operation: &'static str,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
}

/// Latency buckets, in seconds: a lookup answers in well under a millisecond, a mail or an
/// outbound call can take seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Every series the server exports, and the registry that writes them.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Family<OperationLabels, Histogram, fn() -> Histogram>,
    connections: Arc<OnceLock<Arc<ConnectionCounter>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("oxident");
        registry.register(
            "build",
            "The running build: its version and the commit it was built from",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                commit: option_env!("OXIDENT_COMMIT").unwrap_or("unknown"),
            }),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by operation and HTTP status",
            requests.clone(),
        );
        let request_duration =
            Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's head to its answer, by operation",
            Unit::Seconds,
            request_duration.clone(),
        );
        let connections = Arc::new(OnceLock::new());
        registry.register_collector(Box::new(ConnectionReadings(connections.clone())));
        Self {
            registry,
            requests,
            request_duration,
            connections,
        }
    }

    /// Reads open and refused connections from the accept loop's counter at each scrape.
    pub fn watch_connections(&self, counter: Arc<ConnectionCounter>) {
        let _ = self.connections.set(counter);
    }

    /// Counts one answered request.
    pub fn observe_request(&self, operation: &'static str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels { operation, status })
            .inc();
        self.request_duration
            .get_or_create(&OperationLabels { operation })
            .observe(elapsed.as_secs_f64());
    }

    /// The exposition: every series, as Prometheus scrapes it.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

/// Open and refused connections, read from the accept loop's counter at each scrape (it
/// counts them anyway; copying into series of our own would be a second count to keep right).
#[derive(Debug)]
struct ConnectionReadings(Arc<OnceLock<Arc<ConnectionCounter>>>);

impl Collector for ConnectionReadings {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(counter) = self.0.get() else {
            return Ok(());
        };
        let open = ConstGauge::new(i64::try_from(counter.open()).unwrap_or(i64::MAX));
        open.encode(encoder.encode_descriptor(
            "connections_open",
            "Client connections open now",
            None,
            open.metric_type(),
        )?)?;
        let mut refused = encoder.encode_descriptor(
            "connections_refused",
            "Client connections refused at a connection cap, by cap",
            None,
            MetricType::Counter,
        )?;
        for (reason, why) in [
            ("address_full", Refusal::AddressFull),
            ("server_full", Refusal::ServerFull),
        ] {
            ConstCounter::new(counter.refused(why))
                .encode(refused.encode_family(&ReasonLabels { reason })?)?;
        }
        Ok(())
    }
}

/// The edge hook that counts every answer by operation, status and duration.
pub struct RequestMetrics(pub Arc<Metrics>);

impl Hook for RequestMetrics {
    fn wants_timing(&self) -> bool {
        true
    }

    fn on_response(
        &self,
        request: &RequestInfo,
        response: &mut Response<Body>,
        elapsed: Option<Duration>,
    ) {
        // Routing again costs a `match` on the path (no allocation for literal paths); only
        // servers with metrics on pay it, and the dispatcher's hot path stays as it is.
        let operation = oxident_api::server::route(&request.method, request.uri.path())
            .map_or("none", |(route, _)| route.operation_id());
        self.0.observe_request(
            operation,
            response.status().as_u16(),
            elapsed.unwrap_or_default(),
        );
    }
}
