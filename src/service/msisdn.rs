//! Phone number validation (is-behaviour §9, msisdn): `requestToken` parses the number, checks
//! the operator's country rules, opens or reuses the session and texts its code;
//! `submitToken` validates it. Sessions are the email sessions' (`service::sessions`, medium
//! `msisdn`): one per (msisdn, client_secret), the same `sid` and code until it expires, a
//! text only when `send_attempt` grows, wrong codes counted and capped, the same expiry.
//!
//! * The number is stored, bound and hashed as its MSISDN (E.164 digits, no `+`).
//! * Codes are `sms.token_length` digits from the state's random source.
//! * The text is sent before `requestToken` answers: a gateway failure is `400 M_SEND_ERROR`
//!   and leaves the session in place, so a higher `send_attempt` sends the same code again.
//! * Texts cost money: per client address and per number limits of their own (`[sms]`),
//!   spent only when a text is due.
//! * Codes and message bodies are never logged.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::crypto::tokens::{RandomSource, random_digits_from};
use crate::domain::{ClientSecret, Medium, Msisdn, Sid};
use crate::error::{ApiError, ApiResult};
use crate::ops::metrics::Metrics;
use crate::service::address::check_next_link;
use crate::service::ratelimit::check_all;
use crate::service::sessions::{SessionService, new_sid};
use crate::sms::{OutgoingSms, ParsedNumber, Sms, phone};
use crate::store::{NewSession, SessionStore, Threepid, ValidationSession};

/// Phone number sessions and what they need: the email sessions (submitToken and the
/// session rules are theirs), the store, time, randomness, and SMS when it is configured.
pub struct MsisdnService {
    pub(crate) sessions: Arc<SessionService>,
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn RandomSource>,
    /// `None` while `[sms]` names no gateway.
    pub(crate) sms: Option<Sms>,
    pub(crate) metrics: Arc<Metrics>,
    /// The brand whose `sms_template.txt` is used when the request's has none.
    pub(crate) default_brand: String,
    pub(crate) session_lifetime: Duration,
}

/// A `requestToken` call for a phone number, its secret parsed (the number is parsed here,
/// with the country it is dialled from).
#[derive(Debug, Clone)]
pub struct MsisdnTokenRequest<'a> {
    pub client_secret: &'a ClientSecret,
    /// ISO 3166-1 alpha-2 code of the country `phone_number` is dialled from.
    pub country: &'a str,
    pub phone_number: &'a str,
    pub next_link: Option<&'a str>,
    pub send_attempt: i64,
    /// The template brand asked for (`?brand=`); unknown brands select the default one.
    pub brand: Option<&'a str>,
    pub client_ip: Option<IpAddr>,
}

/// What `requestToken` answers: the session, and the number as the server understood it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsisdnSession {
    pub sid: String,
    /// E.164 digits without `+`.
    pub msisdn: String,
    /// The international format for people.
    pub intl_fmt: String,
}

const NOT_CONFIGURED: &str = "SMS is not configured on this server";
const COUNTRY_REJECTED: &str = "Phone numbers in this country are not currently supported";

impl MsisdnService {
    fn sms(&self) -> ApiResult<&Sms> {
        self.sms
            .as_ref()
            .ok_or_else(|| ApiError::DestinationRejected(NOT_CONFIGURED.into()))
    }

    /// `requestToken` for a phone number: the session, after the text was sent when one was
    /// due.
    pub async fn request_token(&self, req: MsisdnTokenRequest<'_>) -> ApiResult<MsisdnSession> {
        let sms = self.sms()?;
        let number = phone::parse(req.country, req.phone_number).map_err(|e| {
            tracing::debug!(error = %e, "phone number refused");
            ApiError::InvalidAddress
        })?;
        let msisdn = Msisdn::parse(&number.msisdn)?;
        if !sms.routing.allows(&number) {
            return Err(ApiError::DestinationRejected(COUNTRY_REJECTED.into()));
        }
        let next_link = req.next_link.filter(|l| !l.is_empty());
        if let Some(link) = next_link {
            check_next_link(link)?;
        }
        let answer = |sid: String| MsisdnSession {
            sid,
            msisdn: number.msisdn.clone(),
            intl_fmt: number.intl_fmt.clone(),
        };
        let now = self.clock.now();
        let stale_before = now - self.session_lifetime;
        let threepid = Threepid::new(Medium::Msisdn, msisdn.into_string());

        // A retry that would send nothing answers at once and costs no text budget.
        if let Some(existing) = self
            .store
            .find_session(&threepid, req.client_secret)
            .await?
            && existing.lifetime_start() >= stale_before
            && req.send_attempt <= existing.send_attempt
        {
            return Ok(answer(existing.sid.into_string()));
        }

        // Both limits or neither: a refusal for a flooded number costs the client no budget,
        // and a client over its own limit spends none of the number's.
        let client = sms.per_ip.key(req.client_ip);
        check_all(&[
            &sms.per_number.charge(number.msisdn.as_str()),
            &sms.per_ip.charge(&client),
        ])?;

        let candidate = NewSession {
            sid: new_sid(self.random.as_ref())?,
            medium: threepid.medium,
            address: threepid.address,
            client_secret: req.client_secret.clone(),
            token: random_digits_from(self.random.as_ref(), sms.token_length)?,
            send_attempt: req.send_attempt,
            next_link: next_link.map(str::to_owned),
        };
        let outcome = self
            .store
            .request_session(&candidate, stale_before, now)
            .await?;
        if outcome.should_send() {
            self.send_code(sms, &number, req.brand, &outcome.session)
                .await?;
        }
        Ok(answer(outcome.session.sid.into_string()))
    }

    async fn send_code(
        &self,
        sms: &Sms,
        number: &ParsedNumber,
        brand: Option<&str>,
        session: &ValidationSession,
    ) -> ApiResult<()> {
        let text = OutgoingSms {
            msisdn: number.msisdn.clone(),
            body: sms
                .templates
                .render(brand, &self.default_brand, &session.token),
            originator: sms.routing.originator(number).clone(),
        };
        let sent = sms.gateway.send(&text).await;
        self.metrics.text(sms.gateway.transport(), sent.is_ok());
        match sent {
            Ok(answer) => {
                tracing::debug!(
                    status = answer.status,
                    reference = answer.reference.as_deref().unwrap_or("-"),
                    "validation SMS handed to the gateway"
                );
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, "validation SMS not sent");
                Err(ApiError::SendError)
            }
        }
    }

    /// `submitToken` (POST or GET) for a phone number session. People copy codes with spaces
    /// or dashes (`123 456`); those are dropped before the comparison (the spec lets a server
    /// normalise tokens).
    pub async fn submit_token(
        &self,
        sid: &Sid,
        client_secret: &ClientSecret,
        token: &str,
    ) -> ApiResult<ValidationSession> {
        let code: String = token
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        self.sessions
            .submit_token(Medium::Msisdn, sid, client_secret, &code)
            .await
    }
}
