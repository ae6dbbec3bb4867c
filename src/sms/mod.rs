//! Texting validation codes: phone numbers (`phone`), the gateways that send texts
//! (`openmarket`, `webhook`, over `http`; `outbox` writes them into files for development), where texts may go and who they come from
//! (`routing`), their text per brand (`templates`) and `[sms]` (`config`).
//!
//! The msisdn validation rules (sessions, `send_attempt`, limits) are
//! `service::msisdn`'s (`MsisdnService`); this module only turns "text this code to this number" into a
//! gateway request. A text's body holds a code, so neither bodies nor codes are ever logged,
//! and [`OutgoingSms`]'s `Debug` leaves the body out.

pub mod config;
pub mod http;
pub mod openmarket;
pub mod outbox;
pub mod phone;
pub mod routing;
pub mod templates;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::client_net::Ipv6Prefix;
use crate::clock::Clock;
use crate::service::ratelimit::{ClientLimiter, Limiter};
pub use config::{GatewayKind, SmsConfig};
pub use http::Answer;
pub use phone::{ParsedNumber, PhoneError};
pub use routing::{Originator, OriginatorKind, Routing, Rule};
pub use templates::SmsTemplates;

/// One text to send.
#[derive(Clone)]
pub struct OutgoingSms {
    /// E.164 digits without `+`.
    pub msisdn: String,
    pub body: String,
    pub originator: Originator,
}

impl std::fmt::Debug for OutgoingSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingSms")
            .field("msisdn", &self.msisdn)
            .field("body", &"[redacted]")
            .field("originator", &self.originator)
            .finish()
    }
}

/// Why a text was not handed over (→ `M_SEND_ERROR`; the session stays usable).
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// Connection refused, DNS, TLS, timeout.
    #[error("SMS gateway unreachable: {0}")]
    Unreachable(String),
    /// The gateway answered with a status other than 2xx.
    #[error("SMS gateway refused the message with HTTP status {status}")]
    Refused { status: u16 },
    /// The client could not be built or the request not encoded.
    #[error("SMS gateway client: {0}")]
    Setup(String),
}

/// Something that delivers texts.
#[async_trait]
pub trait SmsGateway: Send + Sync + std::fmt::Debug {
    async fn send(&self, sms: &OutgoingSms) -> Result<Answer, SmsError>;

    /// The gateway's name in the operator's metrics (`openmarket`, `webhook`, `outbox`).
    fn transport(&self) -> &'static str;
}

/// Everything msisdn validation needs, built once from `[sms]` when a gateway is configured.
#[derive(Debug)]
pub struct Sms {
    pub gateway: Arc<dyn SmsGateway>,
    pub routing: Routing,
    pub templates: SmsTemplates,
    pub token_length: usize,
    pub per_ip: ClientLimiter,
    pub per_number: Limiter,
}

impl Sms {
    /// `None` when `[sms] gateway` is not set (SMS switched off). `templates_folder` is the
    /// email brands' folder, where brands keep `sms_template.txt` too; `ipv6_prefix` is
    /// `[ratelimit] ipv6_prefix`, the per-client limit's unit.
    pub fn from_config(
        config: &SmsConfig,
        templates_folder: Option<&std::path::Path>,
        clock: Arc<dyn Clock>,
        ipv6_prefix: Ipv6Prefix,
    ) -> Result<Option<Self>, String> {
        let Some(kind) = config.gateway else {
            return Ok(None);
        };
        let http = || http::HttpTransport::new(config.timeout()).map_err(|e| e.to_string());
        let gateway: Arc<dyn SmsGateway> = match kind {
            GatewayKind::Openmarket => Arc::new(openmarket::OpenMarket::new(
                config.openmarket.clone(),
                http()?,
            )),
            GatewayKind::Webhook => {
                Arc::new(webhook::Webhook::new(config.webhook.clone(), http()?))
            }
            GatewayKind::Outbox => {
                tracing::warn!(
                    folder = %config.outbox_dir.display(),
                    "SMS GATEWAY IS THE OUTBOX: texts are written as .txt files into this folder, not sent"
                );
                Arc::new(outbox::Outbox::new(
                    config.outbox_dir.clone(),
                    clock.clone(),
                ))
            }
        };
        Self::with_gateway(config, templates_folder, gateway, clock, ipv6_prefix).map(Some)
    }

    /// As [`Self::from_config`] with a gateway of the caller's (tests, embedding).
    pub fn with_gateway(
        config: &SmsConfig,
        templates_folder: Option<&std::path::Path>,
        gateway: Arc<dyn SmsGateway>,
        clock: Arc<dyn Clock>,
        ipv6_prefix: Ipv6Prefix,
    ) -> Result<Self, String> {
        let routing = Routing::new(config.parsed_rules()?, config.parsed_originators()?);
        phone::warm_up();
        let templates = SmsTemplates::load(templates_folder, config.body_template.as_deref())?;
        Ok(Self {
            gateway,
            routing,
            templates,
            token_length: config.token_length,
            per_ip: ClientLimiter::new(
                config.per_ip_per_minute,
                Duration::from_secs(60),
                clock.clone(),
                ipv6_prefix,
            ),
            per_number: Limiter::new(config.per_number_per_hour, Duration::from_secs(3600), clock),
        })
    }
}
