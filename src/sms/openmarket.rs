//! OpenMarket's SMS API (`POST /sms/v4/mt`, JSON, HTTP Basic), the gateway sydent uses, with
//! the same request body: the text, the destination MSISDN, and the sender with its "type of
//! number" (long 1, short 3, alpha 5).

use async_trait::async_trait;
use serde_json::json;

use super::config::OpenMarketConfig;
use super::http::HttpTransport;
use super::routing::OriginatorKind;
use super::{OutgoingSms, SmsError, SmsGateway};

#[derive(Debug)]
pub struct OpenMarket {
    config: OpenMarketConfig,
    http: HttpTransport,
}

impl OpenMarket {
    pub fn new(config: OpenMarketConfig, http: HttpTransport) -> Self {
        Self { config, http }
    }
}

/// OpenMarket's "type of number" for a sender.
pub fn ton(kind: OriginatorKind) -> u8 {
    match kind {
        OriginatorKind::Long => 1,
        OriginatorKind::Short => 3,
        OriginatorKind::Alpha => 5,
    }
}

/// The request body for one text.
pub fn request_body(sms: &OutgoingSms) -> serde_json::Value {
    json!({
        "mobileTerminate": {
            "message": {"content": sms.body, "type": "text"},
            "destination": {"address": sms.msisdn},
            "source": {"ton": ton(sms.originator.kind), "address": sms.originator.text},
        }
    })
}

#[async_trait]
impl SmsGateway for OpenMarket {
    fn transport(&self) -> &'static str {
        "openmarket"
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<super::http::Answer, SmsError> {
        self.http
            .post_json(
                &self.config.url,
                &[],
                Some((&self.config.username, self.config.password.expose())),
                &request_body(sms),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::routing::Originator;

    #[test]
    fn the_body_is_openmarkets_mobile_terminate() {
        let sms = OutgoingSms {
            msisdn: "447400123456".into(),
            body: "Your code is 123456".into(),
            originator: Originator::parse("long:447700900123").expect("valid"),
        };
        assert_eq!(
            request_body(&sms),
            json!({"mobileTerminate": {
                "message": {"content": "Your code is 123456", "type": "text"},
                "destination": {"address": "447400123456"},
                "source": {"ton": 1, "address": "447700900123"},
            }})
        );
        assert_eq!(ton(OriginatorKind::Alpha), 5);
        assert_eq!(ton(OriginatorKind::Short), 3);
    }
}
