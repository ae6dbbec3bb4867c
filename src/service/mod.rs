//! HTTP-agnostic rules: address canonicalisation, sessions, associations, lookups, invites,
//! accounts and terms, rate limits. Nothing here names axum or reads a request.
//!
//! Each area is a service value that owns exactly what it needs (its store, the mailer, the
//! clock, its limits and settings); [`Services::build`] is the one place they are wired, so a
//! new dependency of one area shows up in one struct and one line here.
//!
//! Adding a field to the session flow touches the spec, `api/`'s mapping,
//! `service/sessions.rs`, `store/sessions.rs`, the one implementation `store/sql/sessions.rs`
//! and both backends' migrations (a backend's own `sessions.rs` only where its dialect needs
//! its own SQL).

pub mod accounts;
pub mod address;
pub mod admin;
pub mod binding;
pub mod invite_delivery;
pub mod invites;
pub mod keys;
pub mod lookup;
pub mod msisdn;
pub mod ratelimit;
pub mod sessions;
pub mod signed;
pub mod terms;

use crate::clock::Clock;
use crate::crypto::{RandomSource, SigningKey};
use crate::federation::FederationClient;
use crate::mail::{Mailer, Templates};
use crate::ops::metrics::Metrics;
use crate::store::Store;
use accounts::AccountService;
use binding::BindingService;
use invite_delivery::{DeliveryService, DeliveryWaker};
use invites::{InviteService, InvitesConfig};
use keys::KeyService;
use lookup::LookupService;
use msisdn::MsisdnService;
use ratelimit::{ClientLimiter, Limiter, RateLimitConfig};
use sessions::{SessionService, SessionsConfig};
use signed::Signer;
use std::sync::Arc;
use std::time::Duration;
use terms::Policies;

/// Sends a rendered mail (a failed rendering is a mail not sent) and counts it by brand and
/// transport: the one place the validation and invitation mails go out.
pub(crate) async fn send_mail(
    mailer: &dyn Mailer,
    metrics: &Metrics,
    brand: &str,
    to: &str,
    message: Result<Vec<u8>, crate::mail::MailError>,
) -> Result<(), crate::mail::MailError> {
    let sent = match message {
        Ok(message) => mailer.send(to, &message).await,
        Err(e) => Err(e),
    };
    metrics.mail(brand, mailer.transport(), sent.is_ok());
    sent
}

/// Every area's service. Cloning is a reference count per area.
#[derive(Clone)]
pub struct Services {
    pub sessions: Arc<SessionService>,
    pub msisdn: Arc<MsisdnService>,
    pub bindings: Arc<BindingService>,
    pub lookup: Arc<LookupService>,
    pub invites: Arc<InviteService>,
    pub accounts: Arc<AccountService>,
    pub keys: Arc<KeyService>,
    pub deliveries: Arc<DeliveryService>,
    pub admin: Arc<admin::AdminService>,
}

/// The settings the services read: each area's own section as its service file defines it,
/// and the few values of sections no area owns. Composed from the configuration by
/// `state.rs`, so this module, like every area, never names `crate::config` (the two would
/// import each other).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `[server] server_name`: who signs.
    pub server_name: String,
    /// `[server] public_base_url`: where mailed links point.
    pub public_base_url: String,
    /// `[email.templates] default_brand`, for texts.
    pub default_brand: String,
    /// `[lookup] max_addresses`.
    pub max_lookup_addresses: usize,
    /// `[auth] token_unused_lifetime`.
    pub token_unused_lifetime: Duration,
    /// `[auth] max_tokens_per_account` (0: no cap).
    pub max_tokens_per_account: u32,
    pub ratelimit: RateLimitConfig,
    pub sessions: SessionsConfig,
    pub invites: InvitesConfig,
}

/// What the services are built from: the swappable parts and the parts built from the
/// configuration.
pub struct Wiring {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub templates: Arc<Templates>,
    pub keys: Vec<SigningKey>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn RandomSource>,
    pub federation: FederationClient,
    pub terms: Policies,
    pub deliveries: DeliveryWaker,
    /// Texting (`[sms]`), built by the caller (it can fail); `None`: no gateway.
    pub sms: Option<crate::sms::Sms>,
    /// Where mails, texts, deliveries and rate-limit refusals are counted.
    pub metrics: Arc<Metrics>,
}

impl Services {
    /// `None` when `keys` is empty (nothing to sign with).
    pub fn build(w: Wiring) -> Option<Self> {
        let Wiring {
            settings,
            store,
            mailer,
            templates,
            keys,
            clock,
            random,
            federation,
            terms,
            deliveries,
            sms,
            metrics,
        } = w;
        let sms = sms.map(|mut sms| {
            sms.per_ip = sms
                .per_ip
                .counting(metrics.rate_limit("sms.per_ip_per_minute"));
            sms.per_number = sms
                .per_number
                .counting(metrics.rate_limit("sms.per_number_per_hour"));
            sms
        });
        let limits = &settings.ratelimit;
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3600);
        let signer = Arc::new(Signer::new(settings.server_name.clone(), keys)?);
        let public_base_url = settings.public_base_url.clone();
        let sessions = Arc::new(SessionService {
            store: store.clone(),
            mailer: mailer.clone(),
            templates: templates.clone(),
            clock: clock.clone(),
            random: random.clone(),
            per_ip: ClientLimiter::new(
                limits.request_token_per_ip_per_minute,
                minute,
                clock.clone(),
                limits.ipv6_prefix,
            )
            .counting(metrics.rate_limit("request_token_per_ip_per_minute")),
            per_address: Limiter::new(
                limits.request_token_per_address_per_hour,
                hour,
                clock.clone(),
            )
            .counting(metrics.rate_limit("request_token_per_address_per_hour")),
            metrics: metrics.clone(),
            config: settings.sessions.clone(),
            public_base_url: public_base_url.clone(),
        });
        let msisdn = Arc::new(MsisdnService {
            sessions: sessions.clone(),
            store: store.clone(),
            clock: clock.clone(),
            random: random.clone(),
            sms,
            metrics: metrics.clone(),
            default_brand: settings.default_brand.clone(),
            session_lifetime: settings.sessions.lifetime(),
        });
        // One budget for both unauthenticated requests that make this server call out.
        let outbound_per_ip = Arc::new(
            ClientLimiter::new(
                limits.outbound_per_ip_per_minute,
                minute,
                clock.clone(),
                limits.ipv6_prefix,
            )
            .counting(metrics.rate_limit("outbound_per_ip_per_minute")),
        );
        let bindings = Arc::new(BindingService {
            outbound_per_ip: outbound_per_ip.clone(),
            sessions: sessions.clone(),
            store: store.clone(),
            signer: signer.clone(),
            clock: clock.clone(),
            federation: federation.clone(),
            deliveries: deliveries.clone(),
            own_names: binding::own_names(&settings.server_name, &public_base_url),
        });
        let lookup = Arc::new(LookupService {
            store: store.clone(),
            random: random.clone(),
            signer: signer.clone(),
            max_addresses: settings.max_lookup_addresses,
            per_ip: ClientLimiter::new(
                limits.lookup_per_ip_per_second,
                Duration::from_secs(1),
                clock.clone(),
                limits.ipv6_prefix,
            )
            .counting(metrics.rate_limit("lookup_per_ip_per_second")),
            hashes_per_hour: Limiter::new(
                limits.lookup_hashes_per_account_per_hour,
                hour,
                clock.clone(),
            )
            .counting(metrics.rate_limit("lookup_hashes_per_account_per_hour")),
            hashes_per_day: Limiter::new(
                limits.lookup_hashes_per_account_per_day,
                24 * hour,
                clock.clone(),
            )
            .counting(metrics.rate_limit("lookup_hashes_per_account_per_day")),
        });
        let invites = Arc::new(InviteService {
            store: store.clone(),
            associations: store.clone(),
            mailer,
            templates,
            random: random.clone(),
            clock: clock.clone(),
            signer: signer.clone(),
            per_ip: ClientLimiter::new(
                limits.invite_per_ip_per_minute,
                minute,
                clock.clone(),
                limits.ipv6_prefix,
            )
            .counting(metrics.rate_limit("invite_per_ip_per_minute")),
            per_address: Limiter::new(limits.invite_per_address_per_hour, hour, clock.clone())
                .counting(metrics.rate_limit("invite_per_address_per_hour")),
            metrics: metrics.clone(),
            config: settings.invites.clone(),
            public_base_url,
        });
        let admin = Arc::new(admin::AdminService {
            bindings: bindings.clone(),
            store: store.clone(),
            associations: store.clone(),
            random: random.clone(),
        });
        let accounts = Arc::new(AccountService {
            store: store.clone(),
            federation: federation.clone(),
            random,
            clock: clock.clone(),
            terms,
            token_unused_lifetime: settings.token_unused_lifetime,
            max_tokens_per_account: settings.max_tokens_per_account,
            outbound_per_ip,
        });
        let keys = Arc::new(KeyService {
            signer: signer.clone(),
            store: store.clone(),
            clock: clock.clone(),
        });
        let deliveries = Arc::new(DeliveryService {
            associations: store.clone(),
            store,
            signer,
            federation,
            clock,
            waker: deliveries,
            give_up_after: settings.invites.delivery_give_up_after.0,
            per_destination: settings.invites.delivery_per_destination,
            destinations: Default::default(),
            metrics,
        });
        Some(Self {
            sessions,
            msisdn,
            bindings,
            lookup,
            invites,
            accounts,
            keys,
            deliveries,
            admin,
        })
    }
}
