//! Tests of the binding area: `…/3pid/bind` and `…/3pid/unbind`, v1 and v2, on sessions
//! validated over real HTTP.

use crate::common::{Reply, SERVER_NAME, START_MS, TestApp, at, test_key, user};
use crate::validation::{request_v1, sid_of, validated_session};
use oxident::crypto::verify_json;
use oxident::domain::Medium;
use oxident::service::signed::VALIDITY;
use oxident::store::Threepid;
use serde_json::{Value, json};

const V1_BIND: &str = "/_matrix/identity/api/v1/3pid/bind";
const V2_BIND: &str = "/_matrix/identity/v2/3pid/bind";
const V1_UNBIND: &str = "/_matrix/identity/api/v1/3pid/unbind";
const V2_UNBIND: &str = "/_matrix/identity/v2/3pid/unbind";

fn bind_body(sid: &str, secret: &str, mxid: &str) -> Value {
    json!({"sid": sid, "client_secret": secret, "mxid": mxid})
}

async fn bind_v1(app: &TestApp, sid: &str, secret: &str, mxid: &str) -> Reply {
    app.post("bind", V1_BIND, bind_body(sid, secret, mxid), None)
        .await
}

fn unbind_body(sid: &str, secret: &str, address: &str, mxid: &str) -> Value {
    json!({"sid": sid, "client_secret": secret, "mxid": mxid,
           "threepid": {"medium": "email", "address": address}})
}

/// The Matrix ID `address` is bound to, read from storage.
pub async fn bound_to(app: &TestApp, address: &str) -> Option<String> {
    app.store()
        .get_association(&Threepid::new(Medium::Email, address))
        .await
        .expect("store")
        .map(|a| a.mxid.into_string())
}

#[tokio::test]
async fn v1_bind_returns_a_signed_association() {
    let app = TestApp::start().await;
    let sid = validated_session(&app, "alice@example.org", "s3cret").await;
    app.clock.advance_ms(1_000);

    let r = bind_v1(&app, &sid, "s3cret", "@alice:example.org").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let now = START_MS + 1_000;
    assert_eq!(r.json["medium"], "email");
    assert_eq!(r.json["address"], "alice@example.org");
    assert_eq!(r.json["mxid"], "@alice:example.org");
    assert_eq!(r.json["ts"], now);
    assert_eq!(r.json["not_before"], now);
    assert_eq!(
        r.json["not_after"],
        now + i64::try_from(VALIDITY.as_millis()).expect("fits")
    );
    let key = test_key();
    verify_json(&r.json, SERVER_NAME, key.key_id(), &key.public_key())
        .expect("signed by the server key");
    let mut tampered = r.json.clone();
    tampered["mxid"] = json!("@mallory:example.org");
    assert!(verify_json(&tampered, SERVER_NAME, key.key_id(), &key.public_key()).is_err());

    assert_eq!(
        bound_to(&app, "alice@example.org").await.as_deref(),
        Some("@alice:example.org")
    );
}

#[tokio::test]
async fn bind_needs_a_validated_unexpired_session() {
    let app = TestApp::start().await;
    let pending = sid_of(&request_v1(&app, "bob@example.org", "s3cret", 1).await);
    let r = bind_v1(&app, &pending, "s3cret", "@bob:example.org").await;
    assert_eq!((r.status, r.errcode()), (400, "M_SESSION_NOT_VALIDATED"));

    let sid = validated_session(&app, "alice@example.org", "s3cret").await;
    let r = bind_v1(&app, "nosuchsid", "s3cret", "@alice:example.org").await;
    assert_eq!((r.status, r.errcode()), (404, "M_NO_VALID_SESSION"));
    let r = bind_v1(&app, &sid, "other", "@alice:example.org").await;
    assert_eq!((r.status, r.errcode()), (404, "M_NO_VALID_SESSION"));
    let r = bind_v1(&app, &sid, "s3cret", "alice").await;
    assert_eq!((r.status, r.errcode()), (400, "M_INVALID_PARAM"));

    app.clock.advance_ms(app.config.sessions.lifetime_ms() + 1);
    let r = bind_v1(&app, &sid, "s3cret", "@alice:example.org").await;
    assert_eq!((r.status, r.errcode()), (400, "M_SESSION_EXPIRED"));
    assert_eq!(bound_to(&app, "alice@example.org").await, None);
    assert_eq!(bound_to(&app, "bob@example.org").await, None);
}

#[tokio::test]
async fn v2_bind_only_binds_the_token_owner() {
    let app = TestApp::start().await;
    let token = app.token_for("@alice:example.org").await;
    let sid = validated_session(&app, "alice@example.org", "s3cret").await;

    let r = app
        .post(
            "bindV2",
            V2_BIND,
            bind_body(&sid, "s3cret", "@alice:example.org"),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let r = app
        .post(
            "bindV2",
            V2_BIND,
            bind_body(&sid, "s3cret", "@bob:example.org"),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (403, "M_UNAUTHORIZED"));
    assert_eq!(bound_to(&app, "alice@example.org").await, None);

    let r = app
        .post(
            "bindV2",
            V2_BIND,
            bind_body(&sid, "s3cret", "@alice:example.org"),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["mxid"], "@alice:example.org");
    assert_eq!(
        bound_to(&app, "alice@example.org").await.as_deref(),
        Some("@alice:example.org")
    );
}

#[tokio::test]
async fn bind_replaces_an_older_binding() {
    let app = TestApp::start().await;
    let first = validated_session(&app, "shared@example.org", "one").await;
    assert_eq!(
        bind_v1(&app, &first, "one", "@alice:example.org")
            .await
            .status,
        200
    );

    app.clock.advance_ms(60_000);
    let second = validated_session(&app, "shared@example.org", "two").await;
    let r = bind_v1(&app, &second, "two", "@bob:example.org").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["ts"], START_MS + 60_000);

    let stored = app
        .store()
        .get_association(&Threepid::new(Medium::Email, "shared@example.org"))
        .await
        .expect("store")
        .expect("bound");
    assert_eq!(
        (stored.mxid.as_str(), stored.ts),
        ("@bob:example.org", at(START_MS + 60_000))
    );
}

#[tokio::test]
async fn binding_uses_the_case_folded_address() {
    let app = TestApp::start().await;
    let sid = validated_session(&app, "Strauß@Example.COM", "s3cret").await;
    let r = bind_v1(&app, &sid, "s3cret", "@strauss:example.org").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["address"], "strauss@example.com");
    assert_eq!(
        bound_to(&app, "strauss@example.com").await.as_deref(),
        Some("@strauss:example.org")
    );
    assert_eq!(bound_to(&app, "Strauß@Example.COM").await, None);
}

#[tokio::test]
async fn v2_bind_is_terms_gated() {
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
    let sid = validated_session(&app, "alice@example.org", "s3cret").await;
    let body = bind_body(&sid, "s3cret", "@alice:example.org");

    let r = app
        .post("bindV2", V2_BIND, body.clone(), Some(&token))
        .await;
    assert_eq!((r.status, r.errcode()), (403, "M_TERMS_NOT_SIGNED"));
    let query =
        format!("/_matrix/identity/v2/3pid/getValidated3pid?sid={sid}&client_secret=s3cret");
    let r = app.get("getValidated3pidV2", &query, Some(&token)).await;
    assert_eq!((r.status, r.errcode()), (403, "M_TERMS_NOT_SIGNED"));
    assert_eq!(bound_to(&app, "alice@example.org").await, None);

    app.store()
        .accept_terms(
            &user("@alice:example.org"),
            &["https://is.test/tos/1".to_owned()],
            at(START_MS),
        )
        .await
        .expect("accept");
    let r = app.post("bindV2", V2_BIND, body, Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn v1_unbind_with_the_session() {
    let app = TestApp::start().await;
    let sid = validated_session(&app, "alice@example.org", "s3cret").await;
    assert_eq!(
        bind_v1(&app, &sid, "s3cret", "@alice:example.org")
            .await
            .status,
        200
    );

    // The 3PID is case-folded before comparison with the session's.
    let body = unbind_body(&sid, "s3cret", "Alice@Example.org", "@alice:example.org");
    let r = app.post("unbind", V1_UNBIND, body.clone(), None).await;
    assert_eq!((r.status, &r.json), (200, &json!({})), "{}", r.text);
    assert_eq!(bound_to(&app, "alice@example.org").await, None);
    // Already gone: still success.
    let r = app.post("unbind", V1_UNBIND, body, None).await;
    assert_eq!((r.status, &r.json), (200, &json!({})));
}

#[tokio::test]
async fn unbind_refusals() {
    let app = TestApp::start().await;
    let sid = validated_session(&app, "alice@example.org", "s3cret").await;
    assert_eq!(
        bind_v1(&app, &sid, "s3cret", "@alice:example.org")
            .await
            .status,
        200
    );
    let other = validated_session(&app, "other@example.org", "s3cret").await;

    // A session for another 3PID.
    let r = app
        .post(
            "unbind",
            V1_UNBIND,
            unbind_body(&other, "s3cret", "alice@example.org", "@alice:example.org"),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (403, "M_FORBIDDEN"));
    // The binding belongs to another Matrix ID.
    let r = app
        .post(
            "unbind",
            V1_UNBIND,
            unbind_body(&sid, "s3cret", "alice@example.org", "@bob:example.org"),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (403, "M_FORBIDDEN"));
    // Bad session credentials.
    let r = app
        .post(
            "unbind",
            V1_UNBIND,
            unbind_body(&sid, "wrong", "alice@example.org", "@alice:example.org"),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (404, "M_NO_VALID_SESSION"));
    let pending = sid_of(&request_v1(&app, "alice@example.org", "fresh", 1).await);
    let r = app
        .post(
            "unbind",
            V1_UNBIND,
            unbind_body(&pending, "fresh", "alice@example.org", "@alice:example.org"),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_SESSION_NOT_VALIDATED"));
    // Only half of the session credentials.
    let r = app
        .post(
            "unbind",
            V1_UNBIND,
            json!({"sid": sid, "mxid": "@alice:example.org",
                   "threepid": {"medium": "email", "address": "alice@example.org"}}),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_MISSING_PARAMS"));

    // Neither session nor homeserver signature: a Matrix 403 naming both ways, on v1 and v2
    // (homeserver-signed unbinds are tested in `homeserver.rs`).
    let signed = json!({"mxid": "@alice:example.org",
                        "threepid": {"medium": "email", "address": "alice@example.org"}});
    let r = app.post("unbind", V1_UNBIND, signed.clone(), None).await;
    assert_eq!((r.status, r.errcode()), (403, "M_FORBIDDEN"));
    assert!(
        r.json["error"]
            .as_str()
            .is_some_and(|e| e.contains("X-Matrix") && e.contains("client_secret"))
    );
    let r = app.post("unbindV2", V2_UNBIND, signed, None).await;
    assert_eq!((r.status, r.errcode()), (403, "M_FORBIDDEN"));

    assert_eq!(
        bound_to(&app, "alice@example.org").await.as_deref(),
        Some("@alice:example.org"),
        "nothing was unbound"
    );
}

#[tokio::test]
async fn v2_unbind_with_the_session_needs_a_token() {
    let app = TestApp::start().await;
    let token = app.token_for("@alice:example.org").await;
    let sid = validated_session(&app, "alice@example.org", "s3cret").await;
    assert_eq!(
        bind_v1(&app, &sid, "s3cret", "@alice:example.org")
            .await
            .status,
        200
    );
    let body = unbind_body(&sid, "s3cret", "alice@example.org", "@alice:example.org");

    let r = app.post("unbindV2", V2_UNBIND, body.clone(), None).await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    assert!(bound_to(&app, "alice@example.org").await.is_some());

    let r = app.post("unbindV2", V2_UNBIND, body, Some(&token)).await;
    assert_eq!((r.status, &r.json), (200, &json!({})), "{}", r.text);
    assert_eq!(bound_to(&app, "alice@example.org").await, None);
}
