//! Phone numbers end to end over HTTP, with a fake SMS gateway on loopback that records what
//! it receives: requestToken → text with a code → submitToken (POST, GET) → bind → lookup
//! (v1, v2 hashed) → unbind, v1 and v2, both gateway kinds, and every error path.

use crate::common::{Reply, TestApp};
use crate::fake_sms_gateway::FakeSmsGateway;
use oxident::config::Config;
use oxident::crypto::lookup_hash;
use oxident::domain::Medium;
use oxident::sms::GatewayKind;
use oxident::sms::config::Secret;
use oxident::store::Threepid;
use serde_json::{Value, json};

const V1_REQUEST: &str = "/_matrix/identity/api/v1/validate/msisdn/requestToken";
const V2_REQUEST: &str = "/_matrix/identity/v2/validate/msisdn/requestToken";
const V1_SUBMIT: &str = "/_matrix/identity/api/v1/validate/msisdn/submitToken";
const V2_SUBMIT: &str = "/_matrix/identity/v2/validate/msisdn/submitToken";
const V1_VALIDATED: &str = "/_matrix/identity/api/v1/3pid/getValidated3pid";
const V1_BIND: &str = "/_matrix/identity/api/v1/3pid/bind";
const V2_BIND: &str = "/_matrix/identity/v2/3pid/bind";
const V1_UNBIND: &str = "/_matrix/identity/api/v1/3pid/unbind";
const V2_UNBIND: &str = "/_matrix/identity/v2/3pid/unbind";
const V1_LOOKUP: &str = "/_matrix/identity/api/v1/lookup";
const V2_LOOKUP: &str = "/_matrix/identity/v2/lookup";
const V2_HASH_DETAILS: &str = "/_matrix/identity/v2/hash_details";

/// A UK mobile number as dialled in the UK, and its MSISDN.
const UK_NATIONAL: &str = "07400 123456";
const UK_MSISDN: &str = "447400123456";

fn openmarket(gw: &FakeSmsGateway) -> impl FnOnce(&mut Config) {
    let url = gw.url("/sms/v4/mt");
    move |c: &mut Config| {
        c.sms.gateway = Some(GatewayKind::Openmarket);
        c.sms.openmarket.url = url;
        c.sms.openmarket.username = "om-user".into();
        c.sms.openmarket.password = Secret::new("om-pass");
        c.sms.originators = [
            ("44".to_owned(), vec!["long:447700900123".to_owned()]),
            ("default".to_owned(), vec!["alpha:Oxident".to_owned()]),
        ]
        .into();
    }
}

fn webhook(gw: &FakeSmsGateway) -> impl FnOnce(&mut Config) {
    let url = gw.url("/hook");
    move |c: &mut Config| {
        c.sms.gateway = Some(GatewayKind::Webhook);
        c.sms.webhook.url = url;
        c.sms.webhook.auth_header_name = Some("X-Api-Key".into());
        c.sms.webhook.auth_header = Some(Secret::new("k3y"));
        c.sms.webhook.body = Some(json!({
            "recipients": ["{e164}"], "sender": "{originator}", "text": "{message}"
        }));
    }
}

fn request_body(secret: &str, country: &str, number: &str, attempt: i64) -> Value {
    json!({"client_secret": secret, "country": country, "phone_number": number,
           "send_attempt": attempt})
}

async fn request_v1(app: &TestApp, secret: &str, number: &str, attempt: i64) -> Reply {
    app.post(
        "msisdnRequestToken",
        V1_REQUEST,
        request_body(secret, "GB", number, attempt),
        None,
    )
    .await
}

async fn submit_v1(app: &TestApp, sid: &str, secret: &str, code: &str) -> Reply {
    app.post(
        "msisdnSubmitTokenPost",
        V1_SUBMIT,
        json!({"sid": sid, "client_secret": secret, "token": code}),
        None,
    )
    .await
}

fn sid_of(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["sid"].as_str().expect("sid").to_owned()
}

async fn bound_to(app: &TestApp, msisdn: &str) -> Option<String> {
    app.store()
        .get_association(&Threepid::new(Medium::Msisdn, msisdn))
        .await
        .expect("store")
        .map(|a| a.mxid.into_string())
}

#[tokio::test]
async fn v1_phone_number_life_over_openmarket() {
    let gw = FakeSmsGateway::start().await;
    let app = TestApp::start_with(openmarket(&gw)).await;

    let r = request_v1(&app, "s3cret", UK_NATIONAL, 1).await;
    let sid = sid_of(&r);
    assert_eq!(
        r.json,
        json!({"sid": sid, "msisdn": UK_MSISDN, "intl_fmt": "+44 7400 123456", "success": true})
    );
    let got = gw.received();
    assert_eq!(got.len(), 1);
    let sent = &got[0];
    assert_eq!(sent.path, "/sms/v4/mt");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("om-user:om-pass");
    assert_eq!(
        sent.authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
    let code = gw.last_code();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert_eq!(
        sent.body,
        json!({"mobileTerminate": {
            "message": {"content": format!("Your Matrix verification code is {code}"), "type": "text"},
            "destination": {"address": UK_MSISDN},
            "source": {"ton": 1, "address": "447700900123"},
        }})
    );

    // The same send_attempt sends nothing; a higher one sends the same code again.
    assert_eq!(
        sid_of(&request_v1(&app, "s3cret", UK_NATIONAL, 1).await),
        sid
    );
    assert_eq!(gw.received().len(), 1);
    // The same number written internationally is the same session.
    assert_eq!(
        sid_of(&request_v1(&app, "s3cret", "+44 7400 123456", 2).await),
        sid
    );
    assert_eq!(gw.received().len(), 2);
    assert_eq!(gw.last_code(), code);

    // Not validated yet: nothing to bind.
    let bind = json!({"sid": sid, "client_secret": "s3cret", "mxid": "@alice:example.org"});
    let r = app.post("bind", V1_BIND, bind.clone(), None).await;
    assert_eq!((r.status, r.errcode()), (400, "M_SESSION_NOT_VALIDATED"));

    let r = submit_v1(&app, &sid, "s3cret", &code).await;
    assert_eq!((r.status, &r.json), (200, &json!({"success": true})));
    let r = app
        .get(
            "getValidated3pid",
            &format!("{V1_VALIDATED}?sid={sid}&client_secret=s3cret"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (&r.json["medium"], &r.json["address"]),
        (&json!("msisdn"), &json!(UK_MSISDN))
    );

    let r = app.post("bind", V1_BIND, bind, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (&r.json["medium"], &r.json["address"], &r.json["mxid"]),
        (
            &json!("msisdn"),
            &json!(UK_MSISDN),
            &json!("@alice:example.org")
        )
    );
    let lookup = format!("{V1_LOOKUP}?medium=msisdn&address={UK_MSISDN}");
    let r = app.get("lookupUser", &lookup, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["mxid"], "@alice:example.org");

    let unbind = json!({"sid": sid, "client_secret": "s3cret", "mxid": "@alice:example.org",
                        "threepid": {"medium": "msisdn", "address": UK_MSISDN}});
    let r = app.post("unbind", V1_UNBIND, unbind, None).await;
    assert_eq!((r.status, &r.json), (200, &json!({})), "{}", r.text);
    assert_eq!(bound_to(&app, UK_MSISDN).await, None);
    let r = app.get("lookupUser", &lookup, None).await;
    assert_eq!((r.status, &r.json), (200, &json!({})));
}

#[tokio::test]
async fn v2_phone_number_life_over_a_webhook() {
    let gw = FakeSmsGateway::start().await;
    let app = TestApp::start_with(webhook(&gw)).await;
    let token = app.token_for("@bob:example.org").await;
    let body = request_body("s3cret", "US", "(800) 555-2067", 1);

    let r = app
        .post("msisdnRequestTokenV2", V2_REQUEST, body.clone(), None)
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    assert!(gw.received().is_empty());
    let r = app
        .post("msisdnRequestTokenV2", V2_REQUEST, body, Some(&token))
        .await;
    let sid = sid_of(&r);
    assert_eq!(
        (&r.json["msisdn"], &r.json["intl_fmt"], &r.json["success"]),
        (
            &json!("18005552067"),
            &json!("+1 800-555-2067"),
            &json!(true)
        )
    );
    let got = gw.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/hook");
    assert!(
        got[0]
            .headers
            .iter()
            .any(|(k, v)| k == "x-api-key" && v == "k3y"),
        "{:?}",
        got[0].headers
    );
    assert_eq!(got[0].authorization, None);
    let code = gw.last_code();
    assert_eq!(
        got[0].body,
        json!({"recipients": ["+18005552067"], "sender": "Matrix",
               "text": format!("Your Matrix verification code is {code}")})
    );

    // GET submitToken (the link form) needs no access token.
    let r = app
        .get(
            "msisdnSubmitTokenGetV2",
            &format!("{V2_SUBMIT}?sid={sid}&client_secret=s3cret&token={code}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Phone number confirmed"), "{}", r.text);
    assert!(
        !r.text.contains("Email"),
        "the page names the phone number: {}",
        r.text
    );
    let r = app
        .get(
            "msisdnSubmitTokenGetV2",
            &format!("{V2_SUBMIT}?sid={sid}&client_secret=wrong&token={code}"),
            None,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("Phone number not confirmed"), "{}", r.text);
    assert!(r.text.contains("another verification text"), "{}", r.text);

    let bind = json!({"sid": sid, "client_secret": "s3cret", "mxid": "@bob:example.org"});
    let r = app.post("bindV2", V2_BIND, bind, Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["address"], "18005552067");

    let r = app
        .get("getHashDetails", V2_HASH_DETAILS, Some(&token))
        .await;
    let pepper = r.json["lookup_pepper"].as_str().expect("pepper").to_owned();
    let hash = lookup_hash("18005552067", "msisdn", &pepper);
    let r = app
        .post(
            "lookupUsersV2",
            V2_LOOKUP,
            json!({"algorithm": "sha256", "pepper": pepper, "addresses": [hash]}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!({"mappings": { hash: "@bob:example.org" }}));
    let r = app
        .post(
            "lookupUsersV2",
            V2_LOOKUP,
            json!({"algorithm": "none", "pepper": pepper, "addresses": ["18005552067 msisdn"]}),
            Some(&token),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"mappings": { "18005552067 msisdn": "@bob:example.org" }})
    );

    let unbind = json!({"sid": sid, "client_secret": "s3cret", "mxid": "@bob:example.org",
                        "threepid": {"medium": "msisdn", "address": "18005552067"}});
    let r = app.post("unbindV2", V2_UNBIND, unbind, Some(&token)).await;
    assert_eq!((r.status, &r.json), (200, &json!({})), "{}", r.text);
    assert_eq!(bound_to(&app, "18005552067").await, None);
}

#[tokio::test]
async fn post_submit_token_v2_and_codes_typed_with_spaces() {
    let gw = FakeSmsGateway::start().await;
    let app = TestApp::start_with(openmarket(&gw)).await;
    let token = app.token_for("@carol:example.org").await;
    let sid = sid_of(
        &app.post(
            "msisdnRequestTokenV2",
            V2_REQUEST,
            request_body("s3cret", "GB", UK_NATIONAL, 1),
            Some(&token),
        )
        .await,
    );
    let code = gw.last_code();
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let submit = json!({"sid": sid, "client_secret": "s3cret", "token": spaced});
    let r = app
        .post("msisdnSubmitTokenPostV2", V2_SUBMIT, submit.clone(), None)
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let r = app
        .post("msisdnSubmitTokenPostV2", V2_SUBMIT, submit, Some(&token))
        .await;
    assert_eq!((r.status, &r.json), (200, &json!({"success": true})));
    // An msisdn session is not an email session.
    let r = app
        .post(
            "emailSubmitTokenPost",
            "/_matrix/identity/api/v1/validate/email/submitToken",
            json!({"sid": sid, "client_secret": "s3cret", "token": code}),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_NO_VALID_SESSION"));
}

#[tokio::test]
async fn invalid_numbers_and_countries_are_invalid_addresses() {
    let gw = FakeSmsGateway::start().await;
    let app = TestApp::start_with(openmarket(&gw)).await;
    let token = app.token_for("@alice:example.org").await;
    for (country, number) in [
        ("GB", "12"),
        ("GB", "not a number"),
        ("XX", "07400123456"),
        ("GB", "0740 0123"),
    ] {
        let body = request_body("s3cret", country, number, 1);
        let r = app
            .post("msisdnRequestToken", V1_REQUEST, body.clone(), None)
            .await;
        assert_eq!(
            (r.status, r.errcode()),
            (400, "M_INVALID_ADDRESS"),
            "{country} {number}"
        );
        let r = app
            .post("msisdnRequestTokenV2", V2_REQUEST, body, Some(&token))
            .await;
        assert_eq!((r.status, r.errcode()), (400, "M_INVALID_ADDRESS"));
    }
    let r = app
        .post(
            "msisdnRequestToken",
            V1_REQUEST,
            json!({"client_secret": "bad secret!", "country": "GB", "phone_number": UK_NATIONAL,
                   "send_attempt": 1}),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_INVALID_PARAM"));
    assert!(gw.received().is_empty(), "nothing was texted");
}

#[tokio::test]
async fn rejected_countries_are_destination_rejected() {
    let gw = FakeSmsGateway::start().await;
    let open = openmarket(&gw);
    let app = TestApp::start_with(|c| {
        open(c);
        c.sms.rules = [
            ("1".to_owned(), "reject".to_owned()),
            ("CA".to_owned(), "allow".to_owned()),
        ]
        .into();
    })
    .await;
    let r = app
        .post(
            "msisdnRequestToken",
            V1_REQUEST,
            request_body("s3cret", "US", "(800) 555-2067", 1),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_DESTINATION_REJECTED"));
    assert!(gw.received().is_empty());
    // Canada shares +1 but has its own rule.
    let r = app
        .post(
            "msisdnRequestToken",
            V1_REQUEST,
            request_body("s3cret", "CA", "416 555 0123", 1),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = request_v1(&app, "s3cret", UK_NATIONAL, 1).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(gw.received().len(), 2);
    // Canada's default sender: the `default` list.
    assert_eq!(
        gw.received()[0].body["mobileTerminate"]["source"],
        json!({"ton": 5, "address": "Oxident"})
    );
}

#[tokio::test]
async fn a_failing_gateway_is_a_send_error_and_the_session_survives() {
    let gw = FakeSmsGateway::start().await;
    let app = TestApp::start_with(openmarket(&gw)).await;
    gw.fail_with(503);
    let r = request_v1(&app, "s3cret", UK_NATIONAL, 1).await;
    assert_eq!((r.status, r.errcode()), (400, "M_SEND_ERROR"));
    assert_eq!(gw.received().len(), 1);
    assert_eq!(gw.received()[0].answered, 503);
    let failed_code = gw.last_code();

    gw.fail_with(0);
    let sid = sid_of(&request_v1(&app, "s3cret", UK_NATIONAL, 2).await);
    assert_eq!(gw.received().len(), 2);
    let code = gw.last_code();
    assert_eq!(code, failed_code, "the same session and code");
    let r = submit_v1(&app, &sid, "s3cret", &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn an_unreachable_gateway_is_a_send_error() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let app = TestApp::start_with(|c| {
        c.sms.gateway = Some(GatewayKind::Webhook);
        c.sms.webhook.url = format!("http://127.0.0.1:{port}/hook");
        c.sms.timeout_secs = 2;
    })
    .await;
    let r = request_v1(&app, "s3cret", UK_NATIONAL, 1).await;
    assert_eq!((r.status, r.errcode()), (400, "M_SEND_ERROR"));
}

#[tokio::test]
async fn a_gateway_that_does_not_answer_is_a_send_error_after_the_timeout() {
    let gw = FakeSmsGateway::start().await;
    let open = openmarket(&gw);
    let app = TestApp::start_with(|c| {
        open(c);
        c.sms.timeout_secs = 1;
    })
    .await;
    gw.delay_ms(5_000);
    let started = std::time::Instant::now();
    let r = request_v1(&app, "s3cret", UK_NATIONAL, 1).await;
    assert_eq!((r.status, r.errcode()), (400, "M_SEND_ERROR"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    gw.delay_ms(0);
    let sid = sid_of(&request_v1(&app, "s3cret", UK_NATIONAL, 2).await);
    let r = submit_v1(&app, &sid, "s3cret", &gw.last_code()).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn wrong_codes_are_counted_and_capped() {
    let gw = FakeSmsGateway::start().await;
    let open = openmarket(&gw);
    let app = TestApp::start_with(|c| {
        open(c);
        c.sessions.max_submit_attempts = 3;
    })
    .await;
    let sid = sid_of(&request_v1(&app, "s3cret", UK_NATIONAL, 1).await);
    let code = gw.last_code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..3 {
        let r = submit_v1(&app, &sid, "s3cret", wrong).await;
        assert_eq!((r.status, r.errcode()), (400, "M_TOKEN_INCORRECT"));
    }
    let r = submit_v1(&app, &sid, "s3cret", &code).await;
    assert_eq!((r.status, r.errcode()), (400, "M_NO_VALID_SESSION"));
    let r = submit_v1(&app, &sid, "other", &code).await;
    assert_eq!((r.status, r.errcode()), (400, "M_NO_VALID_SESSION"));
}

#[tokio::test]
async fn texts_are_rate_limited_per_number_and_per_client() {
    let gw = FakeSmsGateway::start().await;
    let open = openmarket(&gw);
    let app = TestApp::start_with(|c| {
        open(c);
        c.sms.per_number_per_hour = 2;
        c.sms.per_ip_per_minute = 3;
    })
    .await;
    for secret in ["a", "b"] {
        assert_eq!(request_v1(&app, secret, UK_NATIONAL, 1).await.status, 200);
    }
    let r = request_v1(&app, "c", UK_NATIONAL, 1).await;
    assert_eq!((r.status, r.errcode()), (429, "M_LIMIT_EXCEEDED"));
    let retry_after: u64 = r
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=1800).contains(&retry_after), "{retry_after}");
    // A retry that sends nothing is not limited.
    assert_eq!(request_v1(&app, "a", UK_NATIONAL, 1).await.status, 200);
    assert_eq!(gw.received().len(), 2);

    // Another number: the client's third text is allowed, its fourth is not.
    assert_eq!(request_v1(&app, "a", "07400 654321", 1).await.status, 200);
    let r = request_v1(&app, "a", "07400 111222", 1).await;
    assert_eq!((r.status, r.errcode()), (429, "M_LIMIT_EXCEEDED"));
    assert_eq!(gw.received().len(), 3);
}

#[tokio::test]
async fn the_text_comes_from_the_brand_template() {
    let gw = FakeSmsGateway::start().await;
    let folder = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(folder.path().join("vector-im")).expect("mkdir");
    std::fs::write(
        folder.path().join("vector-im/sms_template.txt"),
        "Element: {token} is your code\n",
    )
    .expect("write");
    let open = openmarket(&gw);
    let path = folder.path().to_path_buf();
    let app = TestApp::start_with(move |c| {
        open(c);
        c.email.templates.folder = Some(path);
        c.sms.body_template = Some("Server-wide {token}".into());
    })
    .await;
    let r = app
        .post(
            "msisdnRequestToken",
            &format!("{V1_REQUEST}?brand=vector-im"),
            request_body("s1", "GB", UK_NATIONAL, 1),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = gw.last_code();
    assert_eq!(gw.last_text(), format!("Element: {code} is your code"));
    let r = request_v1(&app, "s2", UK_NATIONAL, 1).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        gw.last_text(),
        format!("Server-wide {}", gw.last_code()),
        "the default brand has no file: the configured text"
    );
}

#[tokio::test]
async fn sessions_expire_like_email_sessions() {
    let gw = FakeSmsGateway::start().await;
    let app = TestApp::start_with(openmarket(&gw)).await;
    let sid = sid_of(&request_v1(&app, "s3cret", UK_NATIONAL, 1).await);
    let code = gw.last_code();
    app.clock.advance_ms(app.config.sessions.lifetime_ms() + 1);
    let r = submit_v1(&app, &sid, "s3cret", &code).await;
    assert_eq!((r.status, r.errcode()), (400, "M_SESSION_EXPIRED"));
    // The same request again opens a new session and texts it, whatever the send_attempt.
    let again = sid_of(&request_v1(&app, "s3cret", UK_NATIONAL, 1).await);
    assert_ne!(again, sid);
    assert_eq!(gw.received().len(), 2);
    let r = submit_v1(&app, &again, "s3cret", &gw.last_code()).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// v1 clients may send the form-encoded body r0.3.0 allows.
#[tokio::test]
async fn v1_request_token_takes_a_form_body() {
    let gw = FakeSmsGateway::start().await;
    let app = TestApp::start_with(openmarket(&gw)).await;
    let resp = app
        .client
        .post(format!("{}{V1_REQUEST}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("client_secret=f0rm&country=GB&phone_number=07400%20123456&send_attempt=1")
        .send()
        .await
        .expect("request sent");
    let r = crate::common::read_reply(resp).await;
    crate::common::check_against_spec("msisdnRequestToken", &r);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["msisdn"], UK_MSISDN);
    assert_eq!(gw.received().len(), 1);
}

/// Development: `gateway = "outbox"` writes each text into a private file instead.
#[tokio::test]
async fn the_outbox_gateway_writes_texts_into_files() {
    let folder = tempfile::tempdir().expect("tempdir");
    let outbox = folder.path().join("sms-outbox");
    let dir = outbox.clone();
    let app = TestApp::start_with(move |c| {
        c.sms.gateway = Some(GatewayKind::Outbox);
        c.sms.outbox_dir = dir;
    })
    .await;
    let sid = sid_of(&request_v1(&app, "s3cret", UK_NATIONAL, 1).await);
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .expect("the outbox exists")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&files[0])
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "only the server's user reads a code");
    let text = std::fs::read_to_string(&files[0]).expect("read");
    assert!(
        text.starts_with("To: +447400123456\nFrom: alpha:Matrix\n\n"),
        "{text}"
    );
    let code: String = text.rsplit(' ').next().unwrap_or("").trim().to_owned();
    assert_eq!(code.len(), 6, "{text}");
    let r = submit_v1(&app, &sid, "s3cret", &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
}
