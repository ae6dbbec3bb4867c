//! Validation sessions (is-behaviour §9): `requestToken` (open or reuse a session and mail its
//! token), `submitToken` (prove control of the address), and the checks `getValidated3pid`,
//! `bind` and `unbind` make before trusting a session.
//!
//! Rules kept here:
//! * one session per (medium, canonical address, client_secret); the same `sid` and token come
//!   back until the session expires; a mail goes out only when `send_attempt` grows;
//! * a session expires `sessions.lifetime` after its creation or last resend while it is not
//!   validated, and after its first validation once it is (re-submitting the token, or a
//!   resend, does not extend a validated session: whoever once held the mailed link cannot
//!   keep it alive); expired sessions answer `M_SESSION_EXPIRED`;
//! * secrets and tokens are compared in constant time; after `sessions.max_submit_attempts`
//!   wrong tokens a session is locked (`400 M_NO_VALID_SESSION`, even for the right token);
//! * the mail is sent before `requestToken` answers; a failed send leaves the session in
//!   place, so the next higher `send_attempt` sends the same token again.
//!
//! Details: `[sessions] lifetime` is 24 h by default (a duration such as `"90s"`, or the older
//! `lifetime_hours`). The start of the lifetime is `ValidationSession::lifetime_start_ms`, used by
//! these checks and by the stores' "stale" test alike; `mark_session_validated` is a no-op on a
//! validated session on both backends (conformance story `validation_is_counted_once`), so
//! submitting the token again changes no timestamp (issue 21; sydent does not move a session's time
//! on validation either). Wrong tokens are counted by one conditional `UPDATE` (the cap checked in
//! the same statement), and validation is refused in the statement that would record it once the
//! cap is reached, so concurrent guesses never exceed `sessions.max_submit_attempts`. submitToken
//! takes no access token (the browser following the link has none) and redirects only to the stored
//! http(s) `next_link`, percent-encoding what a URI may not carry (`rt::server::location_value`).

use crate::clock::Clock;
use crate::crypto::constant_time_eq;
use crate::crypto::tokens::{EMAIL_TOKEN_LEN, RandomSource, new_session_id, random_token_from};
use crate::domain::{ClientSecret, EmailAddress, Medium, Sid, Timestamp};
use crate::duration::ConfigDuration;
use crate::error::{ApiError, ApiResult};
use crate::mail::{Mailer, ResponseVars, Templates, VerificationVars, verification_link};
use crate::ops::metrics::Metrics;
use crate::service::address::check_next_link;
use crate::service::ratelimit::{ClientLimiter, Limiter, check_all};
use crate::store::{NewSession, SessionStore, Threepid, ValidationSession};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Validation sessions and what they need: the session store, the mailer and its templates,
/// time, randomness, the two requestToken limits and the `[sessions]` settings.
pub struct SessionService {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) templates: Arc<Templates>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn RandomSource>,
    pub(crate) per_ip: ClientLimiter,
    pub(crate) per_address: Limiter,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) config: SessionsConfig,
    /// Where the mailed link points (`[server] public_base_url`).
    pub(crate) public_base_url: String,
}

/// Path of the `GET …/validate/email/submitToken` operation the verification link names.
/// The reference link shape (see [`verification_link`]) uses the v2 path.
const V2_SUBMIT_PATH: &str = "/_matrix/identity/v2/validate/email/submitToken";

/// A `requestToken` call for an email address, already parsed.
#[derive(Debug, Clone)]
pub struct EmailTokenRequest<'a> {
    pub client_secret: &'a ClientSecret,
    pub email: &'a EmailAddress,
    pub next_link: Option<&'a str>,
    pub send_attempt: i64,
    /// The template brand asked for (`?brand=`); unknown brands select the default one.
    pub brand: Option<&'a str>,
    /// The requester, for rate limiting and the "requested from" line of the mail.
    pub client_ip: Option<IpAddr>,
    /// Path of the `GET submitToken` operation the mail links to (v1 or v2, matching the
    /// request).
    pub submit_path: &'a str,
}

/// A validated, unexpired session: what `getValidated3pid` reports and `bind` binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedThreepid {
    pub medium: Medium,
    pub address: String,
    pub validated_at: Timestamp,
}

fn mail_error(e: &crate::mail::MailError) -> ApiError {
    if e.is_invalid_address() {
        ApiError::InvalidEmail
    } else {
        tracing::warn!(error = %e, "validation mail not sent");
        ApiError::EmailSendError
    }
}

/// A fresh session id. The generator's alphabet is within the grammar, so a refusal would be
/// a bug here, not the client's fault.
pub(crate) fn new_sid(random: &dyn RandomSource) -> ApiResult<Sid> {
    Sid::parse(new_session_id(random)?).map_err(ApiError::internal)
}

/// Expired sessions are kept for a while (so a late click still reads "expired" rather than
/// "unknown"), then deleted: after this many lifetimes, as the reference server does.
pub const KEEP_EXPIRED_LIFETIMES: u32 = 5;

impl SessionService {
    fn lifetime(&self) -> Duration {
        self.config.lifetime()
    }

    fn is_expired(&self, session: &ValidationSession, now: Timestamp) -> bool {
        now.since(session.lifetime_start()) > self.lifetime()
    }

    /// The page a browser shows after following the mailed link (`GET submitToken`).
    pub fn response_page(&self, brand: Option<&str>, vars: &ResponseVars) -> ApiResult<String> {
        self.templates
            .render_verify_response(brand, vars)
            .map_err(ApiError::internal)
    }

    /// `requestToken` for an email address: returns the session id, after the mail was sent when
    /// one was due.
    pub async fn request_email_token(&self, req: EmailTokenRequest<'_>) -> ApiResult<String> {
        let address = req.email;
        let next_link = req.next_link.filter(|l| !l.is_empty());
        if let Some(link) = next_link {
            check_next_link(link)?;
        }
        let now = self.clock.now();
        let stale_before = now - self.lifetime();
        let threepid = Threepid::new(Medium::Email, address.as_str());

        // A retry that would send nothing answers at once and costs no rate-limit budget.
        if let Some(existing) = self
            .store
            .find_session(&threepid, req.client_secret)
            .await?
            && existing.lifetime_start() >= stale_before
            && req.send_attempt <= existing.send_attempt
        {
            return Ok(existing.sid.into_string());
        }

        // Both limits or neither: a client over its own limit spends no inbox's budget.
        let client = self.per_ip.key(req.client_ip);
        check_all(&[
            &self.per_ip.charge(&client),
            &self.per_address.charge(address.as_str()),
        ])?;

        let candidate = NewSession {
            sid: new_sid(self.random.as_ref())?,
            medium: threepid.medium,
            address: threepid.address,
            client_secret: req.client_secret.clone(),
            token: random_token_from(self.random.as_ref(), EMAIL_TOKEN_LEN)?,
            send_attempt: req.send_attempt,
            next_link: next_link.map(str::to_owned),
        };
        let outcome = self
            .store
            .request_session(&candidate, stale_before, now)
            .await?;
        if outcome.should_send() {
            self.send_verification_mail(&req, &outcome.session).await?;
        }
        Ok(outcome.session.sid.into_string())
    }

    /// The link placed in the mail: the reference shape, on the `GET submitToken` path of the API
    /// version the request came in on.
    fn submit_link(&self, session: &ValidationSession, submit_path: &str) -> String {
        let base = self.public_base_url.trim_end_matches('/');
        let link = verification_link(
            base,
            &session.sid,
            &session.token,
            &session.client_secret,
            session.next_link.as_deref(),
        );
        match link.strip_prefix(&format!("{base}{V2_SUBMIT_PATH}")) {
            Some(query) => format!("{base}{submit_path}{query}"),
            None => link,
        }
    }

    async fn send_verification_mail(
        &self,
        req: &EmailTokenRequest<'_>,
        session: &ValidationSession,
    ) -> ApiResult<()> {
        let vars = VerificationVars {
            to: session.address.clone(),
            token: session.token.clone(),
            link: self.submit_link(session, req.submit_path),
            ipaddress: req.client_ip.map(|ip| ip.to_string()),
        };
        super::send_mail(
            self.mailer.as_ref(),
            &self.metrics,
            self.templates.resolve_brand(req.brand),
            &session.address,
            self.templates.render_verification(req.brand, &vars),
        )
        .await
        .map_err(|e| mail_error(&e))
    }

    /// `submitToken` (POST or GET): validates the session of `medium` when `sid`,
    /// `client_secret` and `token` match. Returns the session as stored before this call (its
    /// `next_link` is where the GET form redirects).
    pub async fn submit_token(
        &self,
        medium: Medium,
        sid: &Sid,
        client_secret: &ClientSecret,
        token: &str,
    ) -> ApiResult<ValidationSession> {
        let no_session = || {
            ApiError::SessionUnusable(
                "no validation session matches this sid and client_secret".into(),
            )
        };
        let session = self
            .store
            .get_session(sid)
            .await?
            .filter(|s| s.medium == medium)
            .ok_or_else(no_session)?;
        if !client_secret.matches(&session.client_secret) {
            return Err(no_session());
        }
        let now = self.clock.now();
        if self.is_expired(&session, now) {
            return Err(ApiError::SessionExpired);
        }
        let max_failures = i64::from(self.config.max_submit_attempts);
        let locked = || {
            ApiError::SessionUnusable(
                "too many wrong tokens were submitted for this session; start a new one".into(),
            )
        };
        if session.failed_submits >= max_failures {
            return Err(locked());
        }
        // The read above may be stale under concurrent submissions: the store re-checks the cap
        // in the same statement that counts the failure or validates, so no more than
        // `max_failures` wrong tokens are ever answered `M_TOKEN_INCORRECT`.
        if !constant_time_eq(session.token.as_bytes(), token.as_bytes()) {
            return match self.store.record_failed_submit(sid, max_failures).await? {
                Some(_) => Err(ApiError::TokenIncorrect),
                None => Err(locked()),
            };
        }
        if !self
            .store
            .mark_session_validated(sid, now, max_failures)
            .await?
        {
            return Err(self
                .locked_or_gone(sid, max_failures, locked, no_session)
                .await);
        }
        Ok(session)
    }

    /// Why a validation that matched the token changed nothing: the session was locked meanwhile,
    /// or it is gone (purged or replaced).
    async fn locked_or_gone(
        &self,
        sid: &Sid,
        max_failures: i64,
        locked: impl FnOnce() -> ApiError,
        gone: impl FnOnce() -> ApiError,
    ) -> ApiError {
        match self.store.get_session(sid).await {
            Ok(Some(s)) if s.failed_submits >= max_failures => locked(),
            Ok(_) => gone(),
            Err(e) => e.into(),
        }
    }

    /// The checks before a session is trusted (`getValidated3pid`, `bind`, `unbind`): it exists
    /// with this secret (`404 M_NO_VALID_SESSION`, the same answer for an unknown sid and a wrong
    /// secret), has not expired (`M_SESSION_EXPIRED`) and was validated
    /// (`M_SESSION_NOT_VALIDATED`).
    pub async fn validated_threepid(
        &self,
        sid: &Sid,
        client_secret: &ClientSecret,
    ) -> ApiResult<ValidatedThreepid> {
        let session = self
            .store
            .get_session(sid)
            .await?
            .filter(|s| client_secret.matches(&s.client_secret))
            .ok_or(ApiError::NoValidSession)?;
        if self.is_expired(&session, self.clock.now()) {
            return Err(ApiError::SessionExpired);
        }
        let validated_at = session.validated_at.ok_or(ApiError::SessionNotValidated)?;
        Ok(ValidatedThreepid {
            medium: session.medium,
            address: session.address,
            validated_at,
        })
    }

    /// Deletes sessions older than [`KEEP_EXPIRED_LIFETIMES`] lifetimes; returns how many.
    pub async fn purge_old_sessions(&self) -> ApiResult<u64> {
        let cutoff = self.clock.now() - self.lifetime().saturating_mul(KEEP_EXPIRED_LIFETIMES);
        Ok(self.store.delete_sessions_modified_before(cutoff).await?)
    }
}

/// `[sessions]`: how long validation sessions live and how many wrong tokens they tolerate.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsConfig {
    /// How long a validation session lives: from its creation or last `requestToken` resend
    /// while it is not validated, from its (first) validation once it is. A duration such as
    /// `"24h"`, `"90m"`, `"90s"` (units `ms`, `s`, `m`, `h`, `d`). Default 24 h.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<ConfigDuration>,
    /// The same in whole hours (the older key); `lifetime` is its successor, set one of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime_hours: Option<u64>,
    /// Wrong tokens tolerated per session before it is locked.
    pub max_submit_attempts: u32,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            lifetime: None,
            lifetime_hours: None,
            max_submit_attempts: 10,
        }
    }
}

/// The session lifetime when neither key is set.
const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(24 * 3600);

impl SessionsConfig {
    pub fn lifetime(&self) -> Duration {
        match (self.lifetime, self.lifetime_hours) {
            (Some(d), _) => d.0,
            (None, Some(h)) => Duration::from_secs(h.saturating_mul(3600)),
            (None, None) => DEFAULT_SESSION_LIFETIME,
        }
    }

    pub fn lifetime_ms(&self) -> i64 {
        i64::try_from(self.lifetime().as_millis()).unwrap_or(i64::MAX)
    }

    /// Every problem of `[sessions]` (the configuration gathers all areas' at once).
    pub fn validate(&self) -> Vec<SessionsConfigError> {
        let mut p = Vec::new();
        if self.lifetime.is_some() && self.lifetime_hours.is_some() {
            p.push(SessionsConfigError::TwoLifetimes);
        }
        if self.lifetime_hours == Some(0) {
            p.push(SessionsConfigError::ZeroLifetimeHours);
        }
        if self.lifetime.is_some_and(|d| d.0 < Duration::from_secs(1)) {
            p.push(SessionsConfigError::LifetimeUnderASecond);
        }
        if self.max_submit_attempts == 0 {
            p.push(SessionsConfigError::NoSubmitAttempts);
        }
        p
    }
}

/// What is wrong with `[sessions]`; the text names the key, as every configuration problem does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionsConfigError {
    #[error("sessions: set `lifetime` or `lifetime_hours`, not both (`lifetime` replaces it)")]
    TwoLifetimes,
    #[error("sessions.lifetime_hours: must be at least 1")]
    ZeroLifetimeHours,
    #[error("sessions.lifetime: must be at least 1s")]
    LifetimeUnderASecond,
    #[error("sessions.max_submit_attempts: must be at least 1")]
    NoSubmitAttempts,
}
