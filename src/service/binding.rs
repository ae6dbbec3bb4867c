//! Binding and unbinding 3PIDs (is-behaviour §10.1, §11): a validated, unexpired session
//! proves control of the 3PID; `bind` publishes (or replaces) its association and returns it
//! signed; `unbind` with the same proof removes it.
//!
//! Unbind signed by the homeserver (`unbind_signed`, with `federation/xmatrix.rs` and
//! `federation/server_keys.rs`): the X-Matrix header is parsed (quoted or bare values, repeated
//! parameters refused), the origin's key fetched from its `/_matrix/key/v2/server` (kept only if it
//! signed the answer itself; cached until `valid_until_ts`, at most 7 days; an answer already
//! expired is refused; an unknown key id refetched at most every 30 s), and the signature checked
//! over `{method, uri, origin, destination_is, content}` with the raw body. `destination_is` is the
//! `id_server` the client gave its homeserver, which Synapse repeats as the header's `destination`:
//! it must be one of our names (the server name, the public URL's host:port, with or without :443).
//! The origin must be the server of `mxid`. No access token, no terms gate; every refusal is `403
//! M_FORBIDDEN` with a Matrix body, so the homeserver reports an error rather than "unsupported".

use crate::clock::Clock;
use crate::domain::{ClientSecret, Medium, Sid, UserId};
use crate::error::{ApiError, ApiResult};
use crate::federation::FederationClient;
use crate::service::invite_delivery::DeliveryWaker;
use crate::service::ratelimit::ClientLimiter;
use crate::service::sessions::SessionService;
use crate::service::signed::{SignedAssociation, Signer, VALIDITY};
use crate::store::{Association, AssociationStore, Threepid};
use std::net::IpAddr;
use std::sync::Arc;

/// The one answer to a signed unbind whose origin's keys could not be had, whatever the
/// reason (denied address, no answer, a bad answer).
const KEY_FETCH_FAILED: &str = "could not fetch the homeserver's signing keys";

/// Binding and unbinding: the sessions that prove control, the association store, the
/// signer, the federation client (homeserver keys for signed unbinds), and the delivery
/// worker's waker.
pub struct BindingService {
    pub(crate) sessions: Arc<SessionService>,
    pub(crate) store: Arc<dyn AssociationStore>,
    pub(crate) signer: Arc<Signer>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) federation: FederationClient,
    pub(crate) deliveries: DeliveryWaker,
    /// The names homeservers may address this server by (see [`own_names`]).
    pub(crate) own_names: Vec<String>,
    /// `[ratelimit] outbound_per_ip_per_minute`, shared with `register`: signed unbinds
    /// are unauthenticated and make this server fetch keys from the origin they name.
    pub(crate) outbound_per_ip: Arc<ClientLimiter>,
}

/// How the caller of `unbind` proves its right.
#[derive(Debug, Clone, Copy)]
pub enum UnbindProof<'a> {
    /// `sid` + `client_secret` of a validated session for the same 3PID.
    Session {
        sid: &'a str,
        client_secret: &'a str,
    },
    /// Neither was given: the request should carry a homeserver signature (X-Matrix).
    HomeserverSignature,
}

impl<'a> UnbindProof<'a> {
    /// Both or neither of `sid` and `client_secret`; one alone is `M_MISSING_PARAMS`.
    pub fn from_parts(sid: Option<&'a str>, client_secret: Option<&'a str>) -> ApiResult<Self> {
        match (sid, client_secret) {
            (Some(sid), Some(client_secret)) => Ok(UnbindProof::Session { sid, client_secret }),
            (None, None) => Ok(UnbindProof::HomeserverSignature),
            _ => Err(ApiError::MissingParams(
                "sid and client_secret must be given together".into(),
            )),
        }
    }
}

/// A homeserver-signed request as it arrived: what the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    pub method: &'a str,
    /// Path and query exactly as sent.
    pub uri: &'a str,
    /// The JSON body as sent (the signature covers every key of it, known or not).
    pub content: Option<&'a serde_json::Value>,
    /// The requester, for the outbound-call limit.
    pub client: Option<IpAddr>,
}

/// The names homeservers may address this server by (their `destination_is`: the
/// `id_server` a client gave them, host and port): the server name and the public URL's
/// authority, with and without the default port.
pub fn own_names(server_name: &str, public_base_url: &str) -> Vec<String> {
    let mut names = vec![server_name.to_owned()];
    let public = public_base_url;
    if let Some(rest) = public
        .strip_prefix("https://")
        .or_else(|| public.strip_prefix("http://"))
    {
        let authority = rest.split('/').next().unwrap_or(rest).to_owned();
        if !authority.contains(':') || authority.ends_with(']') {
            names.push(format!("{authority}:443"));
        } else if let Some(host) = authority.strip_suffix(":443") {
            names.push(host.to_owned());
        }
        names.push(authority);
    }
    names.dedup();
    names
}

impl BindingService {
    /// Binds the 3PID of session `sid` to `mxid` (replacing any earlier binding of that 3PID) and
    /// returns the signed association.
    pub async fn bind(
        &self,
        sid: &Sid,
        client_secret: &ClientSecret,
        mxid: &UserId,
    ) -> ApiResult<SignedAssociation> {
        let threepid = self.sessions.validated_threepid(sid, client_secret).await?;
        let now = self.clock.now();
        let association = Association {
            medium: threepid.medium,
            address: threepid.address,
            mxid: mxid.clone(),
            ts: now,
            not_before: now,
            not_after: now + VALIDITY,
        };
        let replaced = self.store.bind(&association).await?;
        if let Some(old) = replaced.filter(|old| old.mxid != association.mxid) {
            tracing::info!(medium = %old.medium, "a 3PID binding moved to another Matrix ID");
        }
        // Invites waiting for this 3PID go to the new owner's homeserver in the background
        // (service::invite_delivery): a slow or absent homeserver never slows a bind down.
        self.deliveries.wake();
        self.signer.signed_association(&association)
    }

    /// Removes the binding `threepid` → `mxid` on behalf of `mxid`'s homeserver, proven by its
    /// federation signature (X-Matrix, is-behaviour §11.3): the header's key is fetched from the
    /// origin, the signature must cover this request addressed to this identity server, and the
    /// origin must be the server of `mxid`. Already unbound (or bound to someone else): success,
    /// nothing changes. Every refusal is a Matrix error, so homeservers relay it instead of
    /// concluding "unsupported" (they read only 400/404/501 without one that way).
    pub async fn unbind_signed(
        &self,
        request: SignedRequest<'_>,
        medium: Medium,
        address: &str,
        mxid: &UserId,
    ) -> ApiResult<()> {
        use crate::federation::{ServerName, xmatrix};
        let header = request.authorization.ok_or_else(|| {
            ApiError::Forbidden(
                "give the sid and client_secret of a validated session, or sign the request as \
                 the homeserver of mxid (X-Matrix)"
                    .into(),
            )
        })?;
        let header = xmatrix::parse(header).map_err(|e| ApiError::Forbidden(e.to_string()))?;
        ServerName::parse(&header.origin).map_err(|e| {
            ApiError::InvalidParam(format!("the X-Matrix origin is not a server name: {e}"))
        })?;
        if !crate::federation::user_belongs_to(mxid, &header.origin) {
            return Err(ApiError::Forbidden(
                "a homeserver may only unbind its own users".into(),
            ));
        }
        // Before anything that may call out.
        self.outbound_per_ip.check(request.client)?;
        let key = self
            .federation
            .server_key(&header.origin, &header.key, self.clock.now_ms())
            .await
            .map_err(|e| {
                // Unauthenticated callers choose the origin: one line a minute at most, and
                // one answer whatever failed (which names resolve to denied addresses, or
                // answer at all, is not this endpoint's to tell).
                static KEY_FETCH: crate::log_throttle::Throttle =
                    crate::log_throttle::Throttle::new(std::time::Duration::from_secs(60));
                crate::warn_throttled!(KEY_FETCH, origin = %header.origin, error = %e, "cannot fetch a homeserver's signing keys");
                ApiError::Forbidden(KEY_FETCH_FAILED.into())
            })?
            .ok_or_else(|| ApiError::Forbidden(format!("{} has no key {}", header.origin, header.key)))?;
        let names = &self.own_names;
        let candidates: Vec<&str> = match header.destination.as_deref() {
            // Synapse names what it signed as `destination_is`; it must be us.
            Some(destination) => names
                .iter()
                .map(String::as_str)
                .filter(|n| n.eq_ignore_ascii_case(destination))
                .map(|_| destination)
                .take(1)
                .collect(),
            None => names.iter().map(String::as_str).collect(),
        };
        if candidates.is_empty() {
            return Err(ApiError::Forbidden(
                "the request is addressed to another identity server".into(),
            ));
        }
        xmatrix::verify(
            &header,
            request.method,
            request.uri,
            request.content,
            candidates,
            &key,
        )
        .ok_or_else(|| ApiError::Forbidden("the X-Matrix signature does not verify".into()))?;
        let threepid = Threepid::canonical(medium, address);
        if self.store.unbind(&threepid, mxid).await? {
            tracing::info!(origin = %header.origin, "a homeserver unbound a 3PID of its user");
        }
        Ok(())
    }

    /// Removes the binding `threepid` → `mxid`, proven by a validated session for that 3PID.
    /// Already unbound: success. Bound to another Matrix ID, or a session for another 3PID:
    /// `403 M_FORBIDDEN`.
    pub async fn unbind_with_session(
        &self,
        sid: &Sid,
        client_secret: &ClientSecret,
        medium: Medium,
        address: &str,
        mxid: &UserId,
    ) -> ApiResult<()> {
        let threepid = Threepid::canonical(medium, address);
        let session = self.sessions.validated_threepid(sid, client_secret).await?;
        if session.medium != threepid.medium || session.address != threepid.address {
            return Err(ApiError::Forbidden(
                "the validation session is for a different 3PID".into(),
            ));
        }
        match self.store.get_association(&threepid).await? {
            None => Ok(()),
            Some(a) if *mxid != a.mxid => Err(ApiError::Forbidden(
                "this 3PID is not bound to that Matrix ID".into(),
            )),
            Some(_) => {
                self.store.unbind(&threepid, mxid).await?;
                Ok(())
            }
        }
    }
}
