//! The Prometheus series (text format 0.0.4), one registry per server instance.
//!
//! Why `prometheus-client` (the Prometheus project's own Rust client) rather than the `metrics`
//! facade with its exporter: the facade records into one process-wide recorder, so two
//! servers in one process (the integration tests run dozens) would count into each other, and
//! a test could not assert exact counts; here every `AppState` owns its [`Metrics`].
//!
//! Names follow the Prometheus conventions: the `oxident_` prefix, base units (`_seconds`),
//! `_total` on counters (the encoder adds it). Values something else keeps anyway (open
//! connections, the store's index, pools and delivery queue) are read at scrape time by a
//! collector; events nothing else counts (mails, texts, delivery attempts, rate-limit
//! refusals) are counted where they happen, through the small methods below, so services
//! never name a `prometheus-client` type. Services get the instance's `Metrics` through
//! `service::Wiring`, never a global; a rate limit's refusals are a [`RefusalCount`] its
//! limiter keeps.
//!
//! The store's numbers are read by [`Metrics::scrape`] (one `Store::readings` per scrape: an
//! indexed count of the delivery queue, on PostgreSQL also `max(seq)` of the change log),
//! not cached: Prometheus scrapes every 15 s or so. Store query latency is not measured: no
//! single place sees every statement, and timing each store call would put a clock read on
//! the lookup path for a number the request latency per operation already bounds.

use crate::clock::Clock;
use crate::edge::connection_limits::{ConnectionCounter, Refusal};
use crate::edge::{Body, Hook};
use crate::logging::RequestInfo;
use crate::store::{Store, StoreReadings};
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
use std::sync::{Arc, Mutex, OnceLock};
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
pub struct MailLabels {
    /// The template brand the mail was rendered with (an operator's folder name, or the
    /// default brand: never a client's free text).
    pub brand: String,
    pub transport: &'static str,
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TextLabels {
    pub transport: &'static str,
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    /// The limit's `[ratelimit]` (or `[sms]`) setting.
    pub limit: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

/// What became of one invite the delivery worker took up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The homeserver accepted it.
    Delivered,
    /// The attempt failed; it will be retried.
    Failed,
    /// Not attempted now: its homeserver is busy or backing off.
    Deferred,
    /// Not delivered within `[invites] delivery_give_up_after`: never retried.
    GivenUp,
}

impl Delivery {
    const ALL: [Delivery; 4] = [
        Delivery::Delivered,
        Delivery::Failed,
        Delivery::Deferred,
        Delivery::GivenUp,
    ];

    fn label(self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
            Delivery::Deferred => "deferred",
            Delivery::GivenUp => "given_up",
        }
    }
}

fn outcome(sent: bool) -> &'static str {
    if sent { "sent" } else { "failed" }
}

/// One rate limit's refusals, kept by its limiter (`service::ratelimit`). The default counts
/// into no registry (a limiter built without metrics, as unit tests build them).
#[derive(Debug, Clone, Default)]
pub struct RefusalCount(Counter);

impl RefusalCount {
    pub fn refused(&self) {
        self.0.inc();
    }
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
    mails: Family<MailLabels, Counter>,
    texts: Family<TextLabels, Counter>,
    deliveries: Family<OutcomeLabels, Counter>,
    rate_limited: Family<LimitLabels, Counter>,
    connections: Arc<OnceLock<Arc<ConnectionCounter>>>,
    store: OnceLock<(Arc<dyn Store>, Arc<dyn Clock>)>,
    store_readings: Arc<Mutex<Option<StoreReadings>>>,
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
        let mails = Family::<MailLabels, Counter>::default();
        registry.register(
            "mails",
            "Mails handed to the mail transport (sent) or not (failed: rendering or transport), \
             by template brand and transport",
            mails.clone(),
        );
        let texts = Family::<TextLabels, Counter>::default();
        registry.register(
            "texts",
            "Validation texts handed to the SMS gateway (sent) or refused by it or unreachable \
             (failed), by gateway",
            texts.clone(),
        );
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        for outcome in Delivery::ALL {
            // Present from the start at 0, so a rate over them is defined before the first.
            let _ = deliveries.get_or_create(&OutcomeLabels {
                outcome: outcome.label(),
            });
        }
        registry.register(
            "invite_deliveries",
            "Invites the delivery worker took up, by what became of them (onbind to the \
             invitee's homeserver)",
            deliveries.clone(),
        );
        let rate_limited = Family::<LimitLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit, by limit (its setting's name); a request several \
             limits refuse counts in each",
            rate_limited.clone(),
        );
        let connections = Arc::new(OnceLock::new());
        registry.register_collector(Box::new(ConnectionReadings(connections.clone())));
        let store_readings = Arc::new(Mutex::new(None));
        registry.register_collector(Box::new(StoreSeries(store_readings.clone())));
        Self {
            registry,
            requests,
            request_duration,
            mails,
            texts,
            deliveries,
            rate_limited,
            connections,
            store: OnceLock::new(),
            store_readings,
        }
    }

    /// Reads the store's numbers ([`Store::readings`]) at each scrape of [`Self::scrape`].
    pub fn watch_store(&self, store: Arc<dyn Store>, clock: Arc<dyn Clock>) {
        let _ = self.store.set((store, clock));
    }

    /// Counts one mail: rendered and handed to `transport` (`sent`), or not.
    pub fn mail(&self, brand: &str, transport: &'static str, sent: bool) {
        self.mails
            .get_or_create(&MailLabels {
                brand: brand.to_owned(),
                transport,
                outcome: outcome(sent),
            })
            .inc();
    }

    /// Counts one validation text: accepted by the gateway `transport` (`sent`), or not.
    pub fn text(&self, transport: &'static str, sent: bool) {
        self.texts
            .get_or_create(&TextLabels {
                transport,
                outcome: outcome(sent),
            })
            .inc();
    }

    /// Counts `n` invites the delivery worker took up with this outcome.
    pub fn deliveries(&self, what: Delivery, n: u64) {
        self.deliveries
            .get_or_create(&OutcomeLabels {
                outcome: what.label(),
            })
            .inc_by(n);
    }

    /// Invites with this outcome since start.
    pub fn delivered(&self, what: Delivery) -> u64 {
        self.deliveries
            .get_or_create(&OutcomeLabels {
                outcome: what.label(),
            })
            .get()
    }

    /// The refusal count of the rate limit `limit`, for its limiter to keep; the series is
    /// exported from now on, at 0 until a refusal.
    pub fn rate_limit(&self, limit: &'static str) -> RefusalCount {
        RefusalCount(
            self.rate_limited
                .get_or_create(&LimitLabels { limit })
                .clone(),
        )
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

    /// The exposition with the store's numbers read now: what `/metrics` answers. One store
    /// reading per scrape (an indexed count; Prometheus scrapes every 15 s or so), no cache.
    pub async fn scrape(&self) -> String {
        if let Some((store, clock)) = self.store.get() {
            let readings = store.readings(clock.now()).await;
            *self
                .store_readings
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(readings);
        }
        self.encode()
    }

    /// The exposition: every series, as Prometheus scrapes it (the store's as last read).
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

/// The store's numbers, as [`Metrics::scrape`] last read them: the lookup index, the pools, the
/// invite delivery queue, PostgreSQL's change-log lag. A number the store could not read is
/// left out (no series), not written as 0.
#[derive(Debug)]
struct StoreSeries(Arc<Mutex<Option<StoreReadings>>>);

fn gauge(value: u64) -> ConstGauge {
    ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX))
}

impl Collector for StoreSeries {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(readings) = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone() else {
            return Ok(());
        };
        if let Some(index) = readings.lookup_index {
            let entries = gauge(index.entries);
            entries.encode(encoder.encode_descriptor(
                "lookup_index_entries",
                "Lookup hashes held in memory for v2 lookups",
                None,
                entries.metric_type(),
            )?)?;
            let bytes = gauge(index.bytes);
            bytes.encode(encoder.encode_descriptor(
                "lookup_index",
                "Heap memory of the in-memory lookup index (its table and arena)",
                Some(&Unit::Bytes),
                bytes.metric_type(),
            )?)?;
        }
        if !readings.pools.is_empty() {
            let mut pools = encoder.encode_descriptor(
                "store_connections",
                "Database connections of each pool, lent out (in_use) or waiting (idle)",
                None,
                MetricType::Gauge,
            )?;
            for p in &readings.pools {
                for (state, n) in [("in_use", p.in_use), ("idle", p.idle)] {
                    gauge(u64::from(n)).encode(pools.encode_family(&PoolLabels {
                        pool: p.pool,
                        state,
                    })?)?;
                }
            }
        }
        if let Some(queue) = readings.pending_deliveries {
            let pending = gauge(queue.invites);
            pending.encode(encoder.encode_descriptor(
                "invites_pending_delivery",
                "Invites whose address is bound and that no homeserver has accepted yet",
                None,
                pending.metric_type(),
            )?)?;
            // Always written, 0 with an empty queue: an alert on it needs no `absent()`.
            let age = ConstGauge::new(queue.oldest_age.unwrap_or_default().as_secs_f64());
            age.encode(encoder.encode_descriptor(
                "invites_pending_delivery_oldest_age",
                "How long the oldest invite pending delivery has waited since it became due",
                Some(&Unit::Seconds),
                age.metric_type(),
            )?)?;
        }
        if let Some(lag) = readings.change_log_lag {
            let lag = gauge(lag);
            lag.encode(encoder.encode_descriptor(
                "association_log_lag",
                "PostgreSQL: association changes in the shared change log that this \
                 instance's lookup index has not applied yet",
                None,
                lag.metric_type(),
            )?)?;
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
