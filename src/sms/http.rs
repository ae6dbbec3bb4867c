//! The gateways' HTTP transport. The gateway URL is the operator's (not chosen by any
//! request), so this client has no SSRF guard and may reach loopback or a private network
//! where an operator runs an SMS relay; it follows no redirects, uses no proxy, has a timeout,
//! and reads no response body. The one place outside `federation/` that names reqwest
//! (tests/it/tidy.rs).

use std::time::Duration;

use super::SmsError;

/// A gateway's answer: what is worth logging of it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// `X-Request-Id` or `Location`, whichever the gateway sent: its handle on the text.
    pub reference: Option<String>,
}

#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

/// A request header (name, value).
pub type Header<'a> = (&'a str, &'a str);

impl HttpTransport {
    pub fn new(timeout: Duration) -> Result<Self, SmsError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("oxident/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| SmsError::Setup(e.without_url().to_string()))?;
        Ok(Self { client })
    }

    /// POSTs `body` as JSON; any 2xx is success. `basic` is HTTP Basic (user, password).
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[Header<'_>],
        basic: Option<(&str, &str)>,
        body: &serde_json::Value,
    ) -> Result<Answer, SmsError> {
        let bytes = serde_json::to_vec(body).map_err(|e| SmsError::Setup(e.to_string()))?;
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bytes);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some((user, password)) = basic {
            request = request.basic_auth(user, Some(password));
        }
        // The error text names the gateway's host at most, never the message.
        let response = request
            .send()
            .await
            .map_err(|e| SmsError::Unreachable(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let reference = ["x-request-id", "location"]
            .iter()
            .find_map(|h| response.headers().get(*h)?.to_str().ok())
            .map(|v| v.chars().take(200).collect());
        if !(200..300).contains(&status) {
            return Err(SmsError::Refused { status });
        }
        Ok(Answer { status, reference })
    }
}
