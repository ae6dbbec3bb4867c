//! The wiring, built once at start: configuration, storage, mail, keys, the clock and the
//! random source go in; per-area services ([`Services`]) come out. Request handlers see only
//! the services (`api::Api`); this struct is for the process around them (accept loop,
//! background tasks, tests). Tests build it with their own clock, RNG and mailer.

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::{OsRandom, RandomSource, SigningKey};
use crate::federation::FederationClient;
use crate::mail::{DirectoryMailer, Mailer, SmtpMailer, Templates};
use crate::ops::listener::Ops;
use crate::service::invite_delivery::DeliveryWaker;
use crate::service::terms::Policies;
use crate::service::{Services, Settings, Wiring};
use crate::store::Store;
use crate::store::postgres::{PostgresOptions, PostgresStore};
use crate::store::sqlite::SqliteStore;
use anyhow::Context;
use std::sync::Arc;

pub struct AppState {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub services: Services,
    /// Wakes the invite delivery worker (`service::invite_delivery`).
    pub deliveries: DeliveryWaker,
    /// The operator's metrics and readiness (`ops`).
    pub ops: Ops,
}

/// The swappable parts; `AppState::assemble` fills the rest from the configuration.
pub struct Parts {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub keys: Vec<SigningKey>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn RandomSource>,
    /// Made before the state, so the operator listener answers (`/ready`: 503) while the
    /// store opens and its index builds.
    pub ops: Ops,
}

impl AppState {
    /// Production wiring: SQLite, the key file (generated on first start), SMTP or the outbox
    /// folder, the system clock and the OS random source.
    pub async fn from_config(config: Config) -> anyhow::Result<Self> {
        Self::from_config_with(config, Ops::default()).await
    }

    /// [`Self::from_config`] reporting to `ops`, which the operator listener already serves.
    pub async fn from_config_with(config: Config, ops: Ops) -> anyhow::Result<Self> {
        for path in [&config.storage.sqlite_path, &config.keys.signing_key_path] {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                crate::private_files::create_private_dir_all(parent)
                    .with_context(|| format!("creating folder {}", parent.display()))?;
            }
        }
        let store = open_store(&config).await?;
        let keys = crate::crypto::keyfile::load_or_generate_key_file(&config.keys.signing_key_path)
            .with_context(|| {
                format!(
                    "loading signing key {}",
                    config.keys.signing_key_path.display()
                )
            })?;
        let mailer: Arc<dyn Mailer> = match &config.email.smtp {
            Some(smtp) => Arc::new(SmtpMailer::new(smtp).context("configuring SMTP")?),
            None => {
                tracing::warn!(
                    folder = %config.email.outbox_dir.display(),
                    "NO SMTP SERVER CONFIGURED: emails are written as .eml files into this folder, not sent. Set [email.smtp] to deliver them."
                );
                Arc::new(DirectoryMailer::new(config.email.outbox_dir.clone()))
            }
        };
        Self::assemble(Parts {
            config,
            store,
            mailer,
            keys,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            ops,
        })
    }

    pub fn assemble(parts: Parts) -> anyhow::Result<Self> {
        let Parts {
            config,
            store,
            mailer,
            keys,
            clock,
            random,
            ops,
        } = parts;
        let signing_keys = keys.len();
        let mut templates_config = config.email.templates.clone();
        if templates_config.identity_server_url
            == crate::mail::TemplatesConfig::default().identity_server_url
        {
            templates_config.identity_server_url = config.server.public_base_url.clone();
        }
        let templates = Templates::load(templates_config)
            .context("loading email templates")?
            .with_sources(clock.clone(), random.clone());
        let terms = match &config.terms.policies_file {
            Some(path) => Policies::load(path).map_err(anyhow::Error::msg)?,
            None => Policies::default(),
        };
        let federation = FederationClient::new(&config.federation, clock.clone())
            .context("building the outbound HTTP client")?;
        let sms = crate::sms::Sms::from_config(
            &config.sms,
            config.email.templates.folder.as_deref(),
            clock.clone(),
            config.ratelimit.ipv6_prefix,
        )
        .map_err(anyhow::Error::msg)
        .context("setting up SMS")?;
        let deliveries = DeliveryWaker::default();
        let services = Services::build(Wiring {
            settings: settings_of(&config),
            store: store.clone(),
            mailer,
            templates: Arc::new(templates),
            keys,
            clock: clock.clone(),
            random,
            federation,
            terms,
            deliveries: deliveries.clone(),
            sms,
            metrics: ops.metrics.clone(),
        })
        .context("the key file holds no signing key")?;
        // The store is open (its index built when it opened) and the keys are loaded.
        ops.readiness.started(store.clone(), signing_keys);
        ops.metrics.watch_store(store.clone(), clock.clone());
        Ok(Self {
            config,
            store,
            clock,
            services,
            deliveries,
            ops,
        })
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// What the services read of the configuration: each area's own section, and the values of
/// shared sections they need.
fn settings_of(config: &Config) -> Settings {
    Settings {
        server_name: config.server.server_name.clone(),
        public_base_url: config.server.public_base_url.clone(),
        default_brand: config.email.templates.default_brand.clone(),
        max_lookup_addresses: config.lookup.max_addresses,
        token_unused_lifetime: config.auth.token_unused_lifetime.0,
        max_tokens_per_account: config.auth.max_tokens_per_account,
        ratelimit: config.ratelimit.clone(),
        sessions: config.sessions.clone(),
        invites: config.invites.clone(),
    }
}

/// The configured backend: PostgreSQL when `[database] url` is set, else the SQLite file.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(url) = &config.database.url {
        let options = PostgresOptions {
            max_connections: config.database.max_connections,
            acquire_timeout: config.database.acquire_timeout.0,
            ..PostgresOptions::default()
        };
        let store = PostgresStore::open_with(url, options)
            .await
            .context("connecting to the PostgreSQL database (database.url)")?;
        return Ok(Arc::new(store));
    }
    let store = SqliteStore::open(&config.storage.sqlite_path)
        .await
        .with_context(|| format!("opening database {}", config.storage.sqlite_path.display()))?;
    crate::private_files::warn_if_shared(&config.storage.sqlite_path, "database file");
    Ok(Arc::new(store))
}
