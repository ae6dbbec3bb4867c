//! Tests of the validation area: `…/validate/email/{requestToken,submitToken}`,
//! `…/validate/msisdn/…` and `…/3pid/getValidated3pid`, v1 and v2, over real HTTP with a real
//! SMTP sink.

use crate::common::{Reply, START_MS, TestApp, at, sid as typed_sid, token_from_mail, user};
use crate::smtp_sink::Failure;
use serde_json::{Value, json};

pub const V1_REQUEST: &str = "/_matrix/identity/api/v1/validate/email/requestToken";
pub const V2_REQUEST: &str = "/_matrix/identity/v2/validate/email/requestToken";
pub const V1_SUBMIT: &str = "/_matrix/identity/api/v1/validate/email/submitToken";
pub const V2_SUBMIT: &str = "/_matrix/identity/v2/validate/email/submitToken";
pub const V1_VALIDATED: &str = "/_matrix/identity/api/v1/3pid/getValidated3pid";
pub const V2_VALIDATED: &str = "/_matrix/identity/v2/3pid/getValidated3pid";
const V1_BIND: &str = "/_matrix/identity/api/v1/3pid/bind";
const V1_MSISDN_REQUEST: &str = "/_matrix/identity/api/v1/validate/msisdn/requestToken";
const V2_MSISDN_REQUEST: &str = "/_matrix/identity/v2/validate/msisdn/requestToken";
const V1_MSISDN_SUBMIT: &str = "/_matrix/identity/api/v1/validate/msisdn/submitToken";
const V2_MSISDN_SUBMIT: &str = "/_matrix/identity/v2/validate/msisdn/submitToken";

const HOUR_MS: i64 = 3_600_000;

fn request_body(email: &str, secret: &str, attempt: i64) -> Value {
    json!({"email": email, "client_secret": secret, "send_attempt": attempt})
}

/// v1 `requestToken` (no token).
pub async fn request_v1(app: &TestApp, email: &str, secret: &str, attempt: i64) -> Reply {
    app.post(
        "emailRequestToken",
        V1_REQUEST,
        request_body(email, secret, attempt),
        None,
    )
    .await
}

/// The `sid` of a successful answer.
pub fn sid_of(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["sid"].as_str().expect("sid").to_owned()
}

/// The link of the text part of a validation mail.
pub fn link_from_mail(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("http") && l.contains("/submitToken?"))
        .expect("mail contains the link")
        .to_owned()
}

/// Path and query of an absolute link on the test server.
fn path_of(app: &TestApp, link: &str) -> String {
    link.strip_prefix(&app.base)
        .unwrap_or_else(|| panic!("{link} is not on {}", app.base))
        .to_owned()
}

/// Requests a token (v1), reads it from the mail and submits it (v1): a validated session.
/// Returns the sid.
pub async fn validated_session(app: &TestApp, email: &str, secret: &str) -> String {
    let before = app.smtp.received().len();
    let sid = sid_of(&request_v1(app, email, secret, 1).await);
    let mail = app.smtp.wait_for(before + 1).await.remove(before);
    let token = token_from_mail(&mail.text());
    let r = app
        .post(
            "emailSubmitTokenPost",
            V1_SUBMIT,
            json!({"sid": sid, "client_secret": secret, "token": token}),
            None,
        )
        .await;
    assert_eq!((r.status, &r.json), (200, &json!({"success": true})));
    sid
}

async fn submit_v1(app: &TestApp, sid: &str, secret: &str, token: &str) -> Reply {
    app.post(
        "emailSubmitTokenPost",
        V1_SUBMIT,
        json!({"sid": sid, "client_secret": secret, "token": token}),
        None,
    )
    .await
}

async fn validated_v1(app: &TestApp, sid: &str, secret: &str) -> Reply {
    app.get(
        "getValidated3pid",
        &format!("{V1_VALIDATED}?sid={sid}&client_secret={secret}"),
        None,
    )
    .await
}

fn is_html(r: &Reply) -> bool {
    r.headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"))
}

#[tokio::test]
async fn v1_email_flow_mails_a_link_and_validates() {
    let app = TestApp::start().await;
    let sid = sid_of(&request_v1(&app, "alice@example.org", "s3cret", 1).await);

    let mail = app.smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.rcpt_to, ["alice@example.org"]);
    let text = mail.text();
    let token = token_from_mail(&text);
    assert_eq!(token.len(), 32);
    let link = link_from_mail(&text);
    assert!(
        link.starts_with(&format!("{}{V1_SUBMIT}?", app.base)),
        "v1 request, v1 link: {link}"
    );
    assert!(link.contains(&format!("sid={sid}")) && link.contains("client_secret=s3cret"));

    let r = validated_v1(&app, &sid, "s3cret").await;
    assert_eq!((r.status, r.errcode()), (400, "M_SESSION_NOT_VALIDATED"));

    app.clock.advance_ms(5_000);
    let r = submit_v1(&app, &sid, "s3cret", &token).await;
    assert_eq!((r.status, &r.json), (200, &json!({"success": true})));
    // Submitting the right token again is harmless.
    let r = submit_v1(&app, &sid, "s3cret", &token).await;
    assert_eq!(r.status, 200);

    let r = validated_v1(&app, &sid, "s3cret").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"medium": "email", "address": "alice@example.org", "validated_at": START_MS + 5_000})
    );
}

#[tokio::test]
async fn v2_email_flow_needs_an_access_token() {
    let app = TestApp::start().await;
    let token = app.token_for("@alice:example.org").await;
    let body = request_body("alice@example.org", "s3cret", 1);

    let r = app
        .post("emailRequestTokenV2", V2_REQUEST, body.clone(), None)
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let r = app
        .post(
            "emailRequestTokenV2",
            V2_REQUEST,
            body.clone(),
            Some("nope"),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    assert!(app.smtp.received().is_empty(), "no mail without a token");

    let sid = sid_of(
        &app.post("emailRequestTokenV2", V2_REQUEST, body, Some(&token))
            .await,
    );
    let text = app.smtp.wait_for(1).await.remove(0).text();
    let link = link_from_mail(&text);
    assert!(
        link.starts_with(&format!("{}{V2_SUBMIT}?", app.base)),
        "v2 request, v2 link: {link}"
    );
    let mail_token = token_from_mail(&text);
    let submit = json!({"sid": sid, "client_secret": "s3cret", "token": mail_token});

    let r = app
        .post("emailSubmitTokenPostV2", V2_SUBMIT, submit.clone(), None)
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let query = format!("{V2_VALIDATED}?sid={sid}&client_secret=s3cret");
    let r = app.get("getValidated3pidV2", &query, Some(&token)).await;
    assert_eq!((r.status, r.errcode()), (400, "M_SESSION_NOT_VALIDATED"));

    let r = app
        .post("emailSubmitTokenPostV2", V2_SUBMIT, submit, Some(&token))
        .await;
    assert_eq!((r.status, &r.json), (200, &json!({"success": true})));

    let r = app.get("getValidated3pidV2", &query, None).await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let r = app.get("getValidated3pidV2", &query, Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["address"], "alice@example.org");
    assert_eq!(r.json["validated_at"], START_MS);
}

#[tokio::test]
async fn invalid_requests_are_refused_without_mail() {
    let app = TestApp::start().await;
    let token = app.token_for("@alice:example.org").await;

    for bad in ["a@b@c", "not-an-address", "Alice <alice@example.org>"] {
        let r = request_v1(&app, bad, "s3cret", 1).await;
        assert_eq!((r.status, r.errcode()), (400, "M_INVALID_EMAIL"), "{bad}");
    }
    for bad in ["has space", "slash/y", "", &"x".repeat(256)] {
        let r = request_v1(&app, "alice@example.org", bad, 1).await;
        assert_eq!((r.status, r.errcode()), (400, "M_INVALID_PARAM"), "{bad:?}");
    }
    let r = app
        .post(
            "emailRequestTokenV2",
            V2_REQUEST,
            request_body("alice@example.org", "has space", 1),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_INVALID_PARAM"));

    for bad in ["javascript:alert(1)", "file:///etc/passwd", "/relative"] {
        let mut body = request_body("alice@example.org", "s3cret", 1);
        body["next_link"] = json!(bad);
        let r = app.post("emailRequestToken", V1_REQUEST, body, None).await;
        assert_eq!((r.status, r.errcode()), (400, "M_INVALID_PARAM"), "{bad}");
    }
    assert!(app.smtp.received().is_empty());
}

/// The spec documents `M_INVALID_EMAIL` for a bad address on v2 too, where the generated
/// body validator (`format: email`) answers before the handler.
#[tokio::test]
async fn v2_bad_email_answers_m_invalid_email() {
    let app = TestApp::start().await;
    let token = app.token_for("@alice:example.org").await;
    let r = app
        .post(
            "emailRequestTokenV2",
            V2_REQUEST,
            request_body("a@b@c", "s3cret", 1),
            Some(&token),
        )
        .await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_EMAIL"),
        "{}",
        r.text
    );
    assert!(app.smtp.received().is_empty());
}

#[tokio::test]
async fn addresses_are_case_folded() {
    let app = TestApp::start().await;
    let sid = sid_of(&request_v1(&app, "Strauß@Example.COM", "s3cret", 1).await);
    let mail = app.smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.rcpt_to, ["strauss@example.com"]);

    // The folded spelling is the same session.
    let again = request_v1(&app, "STRAUSS@example.com", "s3cret", 1).await;
    assert_eq!(sid_of(&again), sid);

    let r = submit_v1(&app, &sid, "s3cret", &token_from_mail(&mail.text())).await;
    assert_eq!(r.status, 200);
    let r = validated_v1(&app, &sid, "s3cret").await;
    assert_eq!(r.json["address"], "strauss@example.com");
}

#[tokio::test]
async fn send_attempt_makes_retries_idempotent() {
    let app = TestApp::start().await;
    let sid = sid_of(&request_v1(&app, "alice@example.org", "s3cret", 1).await);
    let first = app.smtp.wait_for(1).await.remove(0);

    // Same or lower attempt: same sid, no mail.
    for attempt in [1, 0, -5] {
        let r = request_v1(&app, "alice@example.org", "s3cret", attempt).await;
        assert_eq!(sid_of(&r), sid);
    }
    assert_eq!(app.smtp.received().len(), 1, "a retry sends nothing");

    // A higher attempt re-sends the same token for the same session.
    let r = request_v1(&app, "alice@example.org", "s3cret", 2).await;
    assert_eq!(sid_of(&r), sid);
    let second = app.smtp.wait_for(2).await.remove(1);
    assert_eq!(
        token_from_mail(&second.text()),
        token_from_mail(&first.text())
    );
    let r = request_v1(&app, "alice@example.org", "s3cret", 2).await;
    assert_eq!(sid_of(&r), sid);
    assert_eq!(app.smtp.received().len(), 2);

    // Another client secret is another session.
    let other = sid_of(&request_v1(&app, "alice@example.org", "other", 1).await);
    assert_ne!(other, sid);
    assert_eq!(app.smtp.wait_for(3).await.len(), 3);
}

#[tokio::test]
async fn a_failed_send_is_reported_and_can_be_retried() {
    let app = TestApp::start().await;
    app.smtp.fail(Failure::Data(554));
    let r = request_v1(&app, "alice@example.org", "s3cret", 1).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_EMAIL_SEND_ERROR"),
        "{}",
        r.text
    );
    assert!(app.smtp.received().is_empty());

    app.smtp.fail(Failure::None);
    let sid = sid_of(&request_v1(&app, "alice@example.org", "s3cret", 2).await);
    let mail = app.smtp.wait_for(1).await.remove(0);
    let r = submit_v1(&app, &sid, "s3cret", &token_from_mail(&mail.text())).await;
    assert_eq!((r.status, &r.json), (200, &json!({"success": true})));
}

#[tokio::test]
async fn sessions_expire_after_their_lifetime() {
    let app = TestApp::start().await;
    let lifetime = app.config.sessions.lifetime_ms();
    assert_eq!(lifetime, 24 * HOUR_MS);

    // Unvalidated session: submitToken refused once expired.
    let sid = sid_of(&request_v1(&app, "bob@example.org", "s3cret", 1).await);
    let token = token_from_mail(&app.smtp.wait_for(1).await.remove(0).text());
    app.clock.advance_ms(lifetime + 1);
    let r = submit_v1(&app, &sid, "s3cret", &token).await;
    assert_eq!((r.status, r.errcode()), (400, "M_SESSION_EXPIRED"));
    // …and a new request with the same secret opens a new session with a new mail.
    let fresh = sid_of(&request_v1(&app, "bob@example.org", "s3cret", 1).await);
    assert_ne!(fresh, sid);
    assert_eq!(app.smtp.wait_for(2).await.len(), 2);

    // Validated session: usable until the lifetime has passed since validation.
    let sid = validated_session(&app, "carol@example.org", "s3cret").await;
    app.clock.advance_ms(lifetime);
    assert_eq!(validated_v1(&app, &sid, "s3cret").await.status, 200);
    app.clock.advance_ms(1);
    let r = validated_v1(&app, &sid, "s3cret").await;
    assert_eq!((r.status, r.errcode()), (400, "M_SESSION_EXPIRED"));
}

/// Issue 21: a validated session expires its lifetime after its FIRST validation. Submitting
/// the token again (anyone who once had the mailed link can) and asking for a resend are
/// answered as before but extend nothing. The lifetime is set as a duration, `"2s"`.
#[tokio::test]
async fn resubmitting_the_token_does_not_extend_a_validated_session() {
    use oxident::clock::Clock as _;
    let app = TestApp::start_with(|c| {
        c.sessions.lifetime = Some("2s".parse().expect("a duration"));
    })
    .await;
    assert_eq!(app.config.sessions.lifetime_ms(), 2_000);
    let sid = sid_of(&request_v1(&app, "dora@example.org", "s3cret", 1).await);
    let token = token_from_mail(&app.smtp.wait_for(1).await.remove(0).text());
    let r = submit_v1(&app, &sid, "s3cret", &token).await;
    assert_eq!((r.status, &r.json), (200, &json!({"success": true})));
    let first_validation = app.clock.now_ms();

    // One second later: the token again (still accepted), and a resend.
    app.clock.advance_ms(1_000);
    let r = submit_v1(&app, &sid, "s3cret", &token).await;
    assert_eq!((r.status, &r.json), (200, &json!({"success": true})));
    assert_eq!(
        sid_of(&request_v1(&app, "dora@example.org", "s3cret", 2).await),
        sid
    );
    let r = validated_v1(&app, &sid, "s3cret").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["validated_at"], json!(first_validation));

    // Just past the lifetime counted from the first validation (1 s after the second one):
    // refused, as expired, whatever is asked.
    app.clock.advance_ms(1_001);
    let r = validated_v1(&app, &sid, "s3cret").await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_SESSION_EXPIRED"),
        "{}",
        r.text
    );
    let r = submit_v1(&app, &sid, "s3cret", &token).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_SESSION_EXPIRED"),
        "{}",
        r.text
    );
    let r = app
        .post(
            "bind",
            V1_BIND,
            json!({"sid": sid, "client_secret": "s3cret", "mxid": "@dora:example.org"}),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_SESSION_EXPIRED"),
        "{}",
        r.text
    );
    // A new request with the same secret opens a new session.
    let fresh = sid_of(&request_v1(&app, "dora@example.org", "s3cret", 1).await);
    assert_ne!(fresh, sid);
}

#[tokio::test]
async fn wrong_tokens_are_counted_and_lock_the_session() {
    let app = TestApp::start_with(|c| c.sessions.max_submit_attempts = 3).await;
    let token = app.token_for("@alice:example.org").await;
    let sid = sid_of(&request_v1(&app, "alice@example.org", "s3cret", 1).await);
    let right = token_from_mail(&app.smtp.wait_for(1).await.remove(0).text());

    let r = submit_v1(&app, &sid, "s3cret", "wrongtoken").await;
    assert_eq!((r.status, r.errcode()), (400, "M_TOKEN_INCORRECT"));
    let r = submit_v1(&app, &sid, "s3cret", &right[..31]).await;
    assert_eq!((r.status, r.errcode()), (400, "M_TOKEN_INCORRECT"));
    let r = app
        .post(
            "emailSubmitTokenPostV2",
            V2_SUBMIT,
            json!({"sid": sid, "client_secret": "s3cret", "token": ""}),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_TOKEN_INCORRECT"));

    // Three failures: locked, even for the right token.
    let r = submit_v1(&app, &sid, "s3cret", &right).await;
    assert_eq!((r.status, r.errcode()), (400, "M_NO_VALID_SESSION"));
    let r = validated_v1(&app, &sid, "s3cret").await;
    assert_eq!((r.status, r.errcode()), (400, "M_SESSION_NOT_VALIDATED"));
}

/// 200 wrong tokens at once for one session: the cap holds however they interleave (the
/// check and the count are one statement), and the right token sent among them cannot
/// validate a session they locked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_tokens_never_pass_the_cap() {
    const CAP: u32 = 10;
    let app =
        std::sync::Arc::new(TestApp::start_with(|c| c.sessions.max_submit_attempts = CAP).await);
    let sid = sid_of(&request_v1(&app, "race@example.org", "s3cret", 1).await);
    let right = token_from_mail(&app.smtp.wait_for(1).await.remove(0).text());

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (app, sid) = (app.clone(), sid.clone());
        tasks.spawn(async move { submit_v1(&app, &sid, "s3cret", &format!("wrong{i}")).await });
    }
    let mut incorrect = 0;
    while let Some(r) = tasks.join_next().await {
        let r = r.expect("task");
        match (r.status, r.errcode()) {
            (400, "M_TOKEN_INCORRECT") => incorrect += 1,
            (400, "M_NO_VALID_SESSION") => {}
            other => panic!("unexpected answer {other:?}: {}", r.text),
        }
    }
    assert_eq!(incorrect, CAP, "wrong tokens answered M_TOKEN_INCORRECT");
    let r = submit_v1(&app, &sid, "s3cret", &right).await;
    assert_eq!((r.status, r.errcode()), (400, "M_NO_VALID_SESSION"));
    let stored = app
        .store()
        .get_session(&typed_sid(&sid))
        .await
        .expect("get")
        .expect("session");
    assert_eq!(stored.failed_submits, i64::from(CAP));
}

#[tokio::test]
async fn unknown_sessions_and_wrong_secrets_look_the_same() {
    let app = TestApp::start().await;
    let sid = validated_session(&app, "alice@example.org", "s3cret").await;
    let token = token_from_mail(&app.smtp.received()[0].text());

    let unknown = submit_v1(&app, "nosuchsid", "s3cret", &token).await;
    let wrong_secret = submit_v1(&app, &sid, "other", &token).await;
    for r in [&unknown, &wrong_secret] {
        assert_eq!((r.status, r.errcode()), (400, "M_NO_VALID_SESSION"));
    }
    assert_eq!(unknown.json, wrong_secret.json);
    let r = submit_v1(&app, &sid, "bad secret", &token).await;
    assert_eq!((r.status, r.errcode()), (400, "M_INVALID_PARAM"));

    let unknown = validated_v1(&app, "nosuchsid", "s3cret").await;
    let wrong_secret = validated_v1(&app, &sid, "other").await;
    for r in [&unknown, &wrong_secret] {
        assert_eq!((r.status, r.errcode()), (404, "M_NO_VALID_SESSION"));
    }
    assert_eq!(unknown.json, wrong_secret.json);
}

#[tokio::test]
async fn get_submit_token_shows_a_page_without_access_token() {
    let app = TestApp::start().await;
    let sid = sid_of(&request_v1(&app, "alice@example.org", "s3cret", 1).await);
    let text = app.smtp.wait_for(1).await.remove(0).text();
    assert!(link_from_mail(&text).contains(&format!("token={}", token_from_mail(&text))));

    let bad = app
        .get(
            "emailSubmitTokenGet",
            &format!("{V1_SUBMIT}?sid={sid}&client_secret=s3cret&token=wrong"),
            None,
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        is_html(&bad) && bad.text.contains("not confirmed"),
        "{}",
        bad.text
    );

    // The emailed link itself works in a browser (no token, extra `nextLink`-free query).
    let r = app
        .get(
            "emailSubmitTokenGet",
            &path_of(&app, &link_from_mail(&text)),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        is_html(&r) && r.text.contains("Email address confirmed"),
        "{}",
        r.text
    );
    assert_eq!(validated_v1(&app, &sid, "s3cret").await.status, 200);

    // v2 GET: no access token needed either.
    let app2 = TestApp::start().await;
    let user = app2.token_for("@bob:example.org").await;
    let sid = sid_of(
        &app2
            .post(
                "emailRequestTokenV2",
                V2_REQUEST,
                request_body("bob@example.org", "s3cret", 1),
                Some(&user),
            )
            .await,
    );
    let token = token_from_mail(&app2.smtp.wait_for(1).await.remove(0).text());
    let r = app2
        .get(
            "emailSubmitTokenGetV2",
            &format!("{V2_SUBMIT}?sid={sid}&client_secret=s3cret&token={token}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(is_html(&r) && r.text.contains("Email address confirmed"));
    let r = app2
        .get(
            "emailSubmitTokenGetV2",
            &format!("{V2_SUBMIT}?sid=nosuchsid&client_secret=s3cret&token={token}"),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(is_html(&r));
}

#[tokio::test]
async fn get_submit_token_redirects_to_next_link() {
    let app = TestApp::start().await;
    let next = "https://app.example.org/done?step=2";
    let mut body = request_body("alice@example.org", "s3cret", 1);
    body["next_link"] = json!(next);
    let sid = sid_of(&app.post("emailRequestToken", V1_REQUEST, body, None).await);
    let token = token_from_mail(&app.smtp.wait_for(1).await.remove(0).text());

    // A failure shows the error page, never the redirect.
    let r = app
        .get(
            "emailSubmitTokenGet",
            &format!("{V1_SUBMIT}?sid={sid}&client_secret=s3cret&token=wrong"),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.headers.get("location").is_none());

    let r = app
        .get(
            "emailSubmitTokenGet",
            &format!("{V1_SUBMIT}?sid={sid}&client_secret=s3cret&token={token}"),
            None,
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert_eq!(
        r.headers.get("location").and_then(|v| v.to_str().ok()),
        Some(next)
    );
    assert_eq!(validated_v1(&app, &sid, "s3cret").await.status, 200);
}

/// Decodes a quoted-printable body in the crate's strict mode: a malformed escape or an
/// over-long line fails the test.
fn decode_quoted_printable(encoded: &str) -> String {
    let bytes = quoted_printable::decode(encoded, quoted_printable::ParseMode::Strict)
        .expect("valid quoted-printable");
    String::from_utf8(bytes).expect("utf-8")
}

/// A `next_link` is at most 2048 bytes; the longest one, full of characters that
/// percent-encoding triples, still makes a mail whose lines fit RFC 5322 (quoted-printable),
/// and the redirect to it is a valid, percent-encoded `Location`.
#[tokio::test]
async fn long_and_non_ascii_next_links_make_valid_mails_and_redirects() {
    let app = TestApp::start().await;
    let mut body = request_body("alice@example.org", "s3cret", 1);
    body["next_link"] = json!(format!("https://app.example.org/{}", "a".repeat(5000)));
    let r = app.post("emailRequestToken", V1_REQUEST, body, None).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_PARAM"),
        "{}",
        r.text
    );

    let prefix = "https://app.example.org/dé jà?q=";
    let next = format!("{prefix}{}", "\u{fc} ".repeat((2048 - prefix.len()) / 3));
    assert!(next.len() <= 2048);
    let mut body = request_body("alice@example.org", "s3cret", 1);
    body["next_link"] = json!(next);
    let sid = sid_of(&app.post("emailRequestToken", V1_REQUEST, body, None).await);
    let mail = app.smtp.wait_for(1).await.remove(0).text();
    let longest = mail.split("\r\n").map(str::len).max().unwrap_or(0);
    assert!(longest <= 998, "a mail line has {longest} characters");
    let qp_part = mail
        .split("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
        .nth(1)
        .and_then(|rest| rest.split("\r\n--").next())
        .expect("a quoted-printable part");
    let decoded = decode_quoted_printable(qp_part);
    let encoded_next = decoded
        .split("&nextLink=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the link names next_link");
    assert!(
        encoded_next.len() > 2048 * 2,
        "next_link was cut: {encoded_next}"
    );

    let token = app
        .store()
        .get_session(&typed_sid(&sid))
        .await
        .expect("get")
        .expect("session")
        .token;
    let r = app
        .get(
            "emailSubmitTokenGet",
            &format!("{V1_SUBMIT}?sid={sid}&client_secret=s3cret&token={token}"),
            None,
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.headers.get("location").and_then(|v| v.to_str().ok());
    let expected = format!(
        "https://app.example.org/d%C3%A9%20j%C3%A0?q={}",
        "%C3%BC%20".repeat((2048 - prefix.len()) / 3)
    );
    assert_eq!(location, Some(expected.as_str()));
}

#[tokio::test]
async fn request_token_is_rate_limited() {
    let app = TestApp::start_with(|c| c.ratelimit.request_token_per_ip_per_minute = 2).await;
    assert_eq!(request_v1(&app, "a@example.org", "s1", 1).await.status, 200);
    assert_eq!(request_v1(&app, "b@example.org", "s2", 1).await.status, 200);
    // Idempotent retries cost nothing.
    assert_eq!(request_v1(&app, "b@example.org", "s2", 1).await.status, 200);
    let r = request_v1(&app, "c@example.org", "s3", 1).await;
    r.assert_limited();
    let ms = r.json["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!(ms > 0);
    // RFC 9110: every 429 says when to come back, in whole seconds rounded up.
    let retry_after = r.headers.get("retry-after").and_then(|v| v.to_str().ok());
    assert_eq!(retry_after, Some(ms.div_ceil(1000).to_string().as_str()));
    assert_eq!(app.smtp.received().len(), 2);

    let app = TestApp::start_with(|c| c.ratelimit.request_token_per_address_per_hour = 1).await;
    assert_eq!(request_v1(&app, "a@example.org", "s1", 1).await.status, 200);
    let r = request_v1(&app, "A@Example.org", "s2", 1).await;
    assert_eq!((r.status, r.errcode()), (429, "M_LIMIT_EXCEEDED"));
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(request_v1(&app, "b@example.org", "s2", 1).await.status, 200);
    assert_eq!(app.smtp.received().len(), 2);
}

#[tokio::test]
async fn v2_validation_is_terms_gated() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("policies.json");
    std::fs::write(
        &file,
        json!({"policies": {"tos": {"version": "1", "en": {"name": "Terms", "url": "https://is.test/tos/1"}}}})
            .to_string(),
    )
    .expect("write policies");
    let app = TestApp::start_with(|c| c.terms.policies_file = Some(file)).await;
    let token = app.token_for("@alice:example.org").await;
    let body = request_body("alice@example.org", "s3cret", 1);

    let r = app
        .post(
            "emailRequestTokenV2",
            V2_REQUEST,
            body.clone(),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (403, "M_TERMS_NOT_SIGNED"));
    let r = app
        .post(
            "emailSubmitTokenPostV2",
            V2_SUBMIT,
            json!({"sid": "x", "client_secret": "s3cret", "token": "t"}),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (403, "M_TERMS_NOT_SIGNED"));
    assert!(app.smtp.received().is_empty());

    app.store()
        .accept_terms(
            &user("@alice:example.org"),
            &["https://is.test/tos/1".to_owned()],
            at(START_MS),
        )
        .await
        .expect("accept terms");
    let r = app
        .post("emailRequestTokenV2", V2_REQUEST, body, Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn sms_is_not_configured() {
    let app = TestApp::start().await;
    let token = app.token_for("@alice:example.org").await;
    let body = json!({"client_secret": "s3cret", "country": "GB", "phone_number": "07700900001", "send_attempt": 1});

    let r = app
        .post("msisdnRequestToken", V1_MSISDN_REQUEST, body.clone(), None)
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_DESTINATION_REJECTED"));
    assert!(r.json["error"].as_str().is_some_and(|e| e.contains("SMS")));
    let r = app
        .post(
            "msisdnRequestTokenV2",
            V2_MSISDN_REQUEST,
            body.clone(),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let r = app
        .post(
            "msisdnRequestTokenV2",
            V2_MSISDN_REQUEST,
            body,
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_DESTINATION_REJECTED"));

    // An email session cannot be validated through the msisdn endpoints.
    let sid = sid_of(&request_v1(&app, "alice@example.org", "s3cret", 1).await);
    let mail_token = token_from_mail(&app.smtp.wait_for(1).await.remove(0).text());
    let submit = json!({"sid": sid, "client_secret": "s3cret", "token": mail_token});
    let r = app
        .post(
            "msisdnSubmitTokenPost",
            V1_MSISDN_SUBMIT,
            submit.clone(),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_NO_VALID_SESSION"));
    let r = app
        .post(
            "msisdnSubmitTokenPostV2",
            V2_MSISDN_SUBMIT,
            submit,
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_NO_VALID_SESSION"));
    let query = format!("?sid={sid}&client_secret=s3cret&token={mail_token}");
    let r = app
        .get(
            "msisdnSubmitTokenGet",
            &format!("{V1_MSISDN_SUBMIT}{query}"),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(is_html(&r));
    let r = app
        .get(
            "msisdnSubmitTokenGetV2",
            &format!("{V2_MSISDN_SUBMIT}{query}"),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    let r = validated_v1(&app, &sid, "s3cret").await;
    assert_eq!((r.status, r.errcode()), (400, "M_SESSION_NOT_VALIDATED"));
}

#[tokio::test]
async fn long_expired_sessions_are_purged_but_recent_ones_kept() {
    let app = crate::common::TestApp::start().await;
    let request = |secret: &'static str| {
        app.post(
            "emailRequestToken",
            "/_matrix/identity/api/v1/validate/email/requestToken",
            serde_json::json!({"email": "purge@example.org", "client_secret": secret, "send_attempt": 1}),
            None,
        )
    };
    let old = request("old-1").await.json["sid"]
        .as_str()
        .expect("sid")
        .to_string();
    let lifetime = app.state().config.sessions.lifetime_ms();
    app.clock
        .advance_ms(lifetime * i64::from(oxident::service::sessions::KEEP_EXPIRED_LIFETIMES) + 1);
    let fresh = request("new-1").await.json["sid"]
        .as_str()
        .expect("sid")
        .to_string();
    let purged = app
        .state()
        .services
        .sessions
        .purge_old_sessions()
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    assert!(
        app.store()
            .get_session(&typed_sid(&old))
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        app.store()
            .get_session(&typed_sid(&fresh))
            .await
            .expect("read")
            .is_some()
    );
}
