//! The homeserver half of the API against a fake homeserver: invites delivered on bind
//! (`/3pid/onbind`, durable across outages and restarts) and unbind signed by the homeserver
//! (X-Matrix, keys fetched from `/_matrix/key/v2/server`).

use crate::binding::bound_to;
use crate::common::{Reply, SERVER_NAME, TestApp, check_against_spec, read_reply, test_key};
use crate::fake_homeserver::{FakeHomeserver, hs_key};
use crate::validation::validated_session;
use oxident::crypto::{SigningKey, sign_json, verify_json};
use serde_json::{Value, json};

const V1_STORE: &str = "/_matrix/identity/api/v1/store-invite";
const V1_BIND: &str = "/_matrix/identity/api/v1/3pid/bind";
const V1_UNBIND: &str = "/_matrix/identity/api/v1/3pid/unbind";
const V2_UNBIND: &str = "/_matrix/identity/v2/3pid/unbind";

async fn store_invite(app: &TestApp, address: &str, room: &str) -> String {
    let body = json!({"medium": "email", "address": address, "room_id": room,
                      "sender": "@bob:example.org", "room_alias": ""});
    let r = app.post("storeInvite", V1_STORE, body, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["token"].as_str().expect("token").to_owned()
}

/// Binds through a new validated session (a new client secret each time: the same one would
/// reuse the session and send no mail).
pub async fn bind(app: &TestApp, address: &str, mxid: &str) {
    static SECRETS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = SECRETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let secret = format!("secret{n}");
    let sid = validated_session(app, address, &secret).await;
    let r = app
        .post(
            "bind",
            V1_BIND,
            json!({"sid": sid, "client_secret": secret, "mxid": mxid}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn invite_state(app: &TestApp, token: &str) -> (Option<i64>, i64) {
    let invite = app
        .store()
        .get_invite(token)
        .await
        .expect("store")
        .expect("invite exists");
    (
        invite.delivered_at.map(|t| t.as_millis()),
        invite.delivery_attempts,
    )
}

/// Polls (bounded) until the invite's delivery state satisfies `done`.
async fn wait_invite(app: &TestApp, token: &str, done: impl Fn((Option<i64>, i64)) -> bool) {
    for _ in 0..200 {
        if done(invite_state(app, token).await) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!(
        "invite never reached the state: {:?}",
        invite_state(app, token).await
    );
}

#[tokio::test]
async fn bind_delivers_each_pending_invite_signed_to_the_new_owners_homeserver() {
    let hs = FakeHomeserver::start().await;
    let app = TestApp::start().await;
    let first = store_invite(&app, "Inv@Example.org", "!a:example.org").await;
    let second = store_invite(&app, "inv@example.org", "!b").await;
    let other = store_invite(&app, "other@example.org", "!c:example.org").await;
    let mxid = format!("@carol:{}", hs.server_name());
    bind(&app, "inv@example.org", &mxid).await;

    let mut onbinds = hs.wait_for_onbinds(2).await;
    onbinds.sort_by_key(|b| b["invites"][0]["room_id"].as_str().map(str::to_owned));
    let key = test_key();
    for (body, (token, room)) in onbinds
        .iter()
        .zip([(&first, "!a:example.org"), (&second, "!b")])
    {
        assert_eq!(body["medium"], "email");
        assert_eq!(body["address"], "inv@example.org");
        assert_eq!(body["mxid"], mxid);
        verify_json(body, SERVER_NAME, key.key_id(), &key.public_key())
            .expect("the whole body is signed with the long-term key");
        let invites = body["invites"].as_array().expect("invites");
        assert_eq!(invites.len(), 1, "one invite per request");
        let invite = &invites[0];
        assert_eq!(invite["token"], *token);
        assert_eq!(invite["room_id"], room);
        assert_eq!(invite["sender"], "@bob:example.org");
        assert_eq!(invite["mxid"], mxid);
        assert_eq!(invite["medium"], "email");
        assert_eq!(invite["address"], "inv@example.org");
        let signed = &invite["signed"];
        assert_eq!(signed["mxid"], mxid);
        assert_eq!(signed["token"], *token);
        verify_json(signed, SERVER_NAME, key.key_id(), &key.public_key())
            .expect("`signed` verifies with the key store-invite returned");
    }
    wait_invite(&app, &first, |(delivered, _)| delivered.is_some()).await;
    wait_invite(&app, &second, |(delivered, _)| delivered.is_some()).await;
    assert_eq!(invite_state(&app, &other).await, (None, 0));

    // Delivered invites are not sent again, on a later pass or after a restart.
    app.state().deliveries.wake();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(hs.onbinds().len(), 2);
}

#[tokio::test]
async fn delivery_survives_a_homeserver_outage_and_a_restart() {
    let hs = FakeHomeserver::start().await;
    let mut app = TestApp::start().await;
    let token = store_invite(&app, "late@example.org", "!r:example.org").await;
    hs.set_down(true);
    bind(
        &app,
        "late@example.org",
        &format!("@late:{}", hs.server_name()),
    )
    .await;
    // The bind answered at once; the delivery failed and is scheduled for a retry.
    wait_invite(&app, &token, |(delivered, attempts)| {
        delivered.is_none() && attempts == 1
    })
    .await;

    // Not retried before it is due, even when woken.
    hs.set_down(false);
    app.state().deliveries.wake();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(invite_state(&app, &token).await, (None, 1));
    assert!(hs.onbinds().is_empty());

    // Due after the first back-off (30 s); delivered by the restarted server's first pass.
    app.clock.advance_ms(30_001);
    app.restart().await;
    let onbinds = hs.wait_for_onbinds(1).await;
    assert_eq!(onbinds[0]["invites"][0]["token"], token);
    wait_invite(&app, &token, |(delivered, _)| delivered.is_some()).await;
}

/// What Synapse sends to unbind: `{method, uri, origin, destination_is, content}` signed with
/// its federation key, the signature in an X-Matrix header naming `destination_is`.
fn x_matrix(
    key: &SigningKey,
    origin: &str,
    destination_is: &str,
    uri: &str,
    content: &Value,
) -> String {
    let mut request = json!({"method": "POST", "uri": uri, "origin": origin,
                             "destination_is": destination_is, "content": content});
    sign_json(&mut request, origin, key).expect("sign");
    let sig = request["signatures"][origin][key.key_id()]
        .as_str()
        .expect("sig")
        .to_owned();
    format!(
        "X-Matrix origin=\"{origin}\",key=\"{}\",sig=\"{sig}\",destination=\"{destination_is}\"",
        key.key_id()
    )
}

async fn signed_unbind(
    app: &TestApp,
    op: &str,
    path: &str,
    auth: Option<&str>,
    content: &Value,
) -> Reply {
    let mut req = app.client.post(format!("{}{path}", app.base)).json(content);
    if let Some(auth) = auth {
        req = req.header("Authorization", auth);
    }
    let reply = read_reply(req.send().await.expect("sent")).await;
    check_against_spec(op, &reply);
    reply
}

#[tokio::test]
async fn a_homeserver_unbinds_its_users_with_a_signed_request() {
    let hs = FakeHomeserver::start().await;
    let app = TestApp::start().await;
    let origin = hs.server_name();
    let mxid = format!("@dave:{origin}");
    bind(&app, "dave@example.org", &mxid).await;
    let content =
        json!({"mxid": mxid, "threepid": {"medium": "email", "address": "Dave@example.org"}});
    // The identity server as the client named it to its homeserver: the public host:port.
    let me = app.base.trim_start_matches("http://").to_owned();
    let key = hs_key();

    // Refusals first; the binding stays through all of them.
    let stranger = SigningKey::from_seed(hs_key().version(), &[1u8; 32]).expect("key");
    let cases = [
        (None, "no signature"),
        (
            Some("X-Matrix origin=broken".to_owned()),
            "malformed header",
        ),
        (
            Some(x_matrix(&stranger, &origin, &me, V2_UNBIND, &content)),
            "another key",
        ),
        (
            Some(x_matrix(
                &key,
                &origin,
                "other-is.example",
                V2_UNBIND,
                &content,
            )),
            "another IS",
        ),
        (
            Some(x_matrix(&key, &origin, &me, V1_UNBIND, &content)),
            "another path",
        ),
        (
            Some(x_matrix(
                &key,
                &origin,
                &me,
                V2_UNBIND,
                &json!({"mxid": mxid}),
            )),
            "another body",
        ),
    ];
    for (auth, why) in &cases {
        let r = signed_unbind(&app, "unbindV2", V2_UNBIND, auth.as_deref(), &content).await;
        assert_eq!(
            (r.status, r.errcode()),
            (403, "M_FORBIDDEN"),
            "{why}: {}",
            r.text
        );
    }
    // A homeserver may unbind only its own users.
    let foreign = json!({"mxid": "@dave:elsewhere.example", "threepid": {"medium": "email", "address": "dave@example.org"}});
    let auth = x_matrix(&key, &origin, &me, V2_UNBIND, &foreign);
    let r = signed_unbind(&app, "unbindV2", V2_UNBIND, Some(&auth), &foreign).await;
    assert_eq!((r.status, r.errcode()), (403, "M_FORBIDDEN"), "{}", r.text);
    assert_eq!(
        bound_to(&app, "dave@example.org").await.as_deref(),
        Some(mxid.as_str())
    );

    // The real thing, without any access token: unbound.
    let auth = x_matrix(&key, &origin, &me, V2_UNBIND, &content);
    let r = signed_unbind(&app, "unbindV2", V2_UNBIND, Some(&auth), &content).await;
    assert_eq!((r.status, &r.json), (200, &json!({})), "{}", r.text);
    assert_eq!(bound_to(&app, "dave@example.org").await, None);
    // Again: nothing left to do, still success.
    let r = signed_unbind(&app, "unbindV2", V2_UNBIND, Some(&auth), &content).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // v1, addressed by the configured server name.
    bind(&app, "dave@example.org", &mxid).await;
    let auth = x_matrix(&key, &origin, SERVER_NAME, V1_UNBIND, &content);
    let r = signed_unbind(&app, "unbind", V1_UNBIND, Some(&auth), &content).await;
    assert_eq!((r.status, &r.json), (200, &json!({})), "{}", r.text);
    assert_eq!(bound_to(&app, "dave@example.org").await, None);
}

#[tokio::test]
async fn signed_unbind_from_an_unreachable_or_denied_homeserver_is_refused() {
    // The SSRF guard on: a loopback homeserver's keys are never fetched.
    let hs = FakeHomeserver::start().await;
    let app = TestApp::start_with(|c| c.federation.allow_private_addresses = false).await;
    let origin = hs.server_name();
    let content = json!({"mxid": format!("@e:{origin}"), "threepid": {"medium": "email", "address": "e@example.org"}});
    let me = app.base.trim_start_matches("http://").to_owned();
    let auth = x_matrix(&hs_key(), &origin, &me, V2_UNBIND, &content);
    let r = signed_unbind(&app, "unbindV2", V2_UNBIND, Some(&auth), &content).await;
    assert_eq!((r.status, r.errcode()), (403, "M_FORBIDDEN"), "{}", r.text);
    // Nobody listening.
    let content = json!({"mxid": "@e:127.0.0.1:1", "threepid": {"medium": "email", "address": "e@example.org"}});
    let app = TestApp::start().await;
    let me = app.base.trim_start_matches("http://").to_owned();
    let auth = x_matrix(&hs_key(), "127.0.0.1:1", &me, V2_UNBIND, &content);
    let silent = signed_unbind(&app, "unbindV2", V2_UNBIND, Some(&auth), &content).await;
    assert_eq!(
        (silent.status, silent.errcode()),
        (403, "M_FORBIDDEN"),
        "{}",
        silent.text
    );
    // One answer, whatever failed (issue 21): a denied address reads like no answer.
    assert_eq!(r.json, silent.json);
}

/// A homeserver whose keys could not be fetched is not asked again for 30 s (issue 21),
/// and signed unbinds count against the client's budget of requests that call out.
#[tokio::test]
async fn key_fetch_failures_are_remembered_and_signed_unbinds_are_limited() {
    let hs = FakeHomeserver::start().await;
    let app = TestApp::start_with(|c| c.ratelimit.outbound_per_ip_per_minute = 3).await;
    let origin = hs.server_name();
    let mxid = format!("@f:{origin}");
    bind(&app, "f@example.org", &mxid).await;
    let content =
        json!({"mxid": mxid, "threepid": {"medium": "email", "address": "f@example.org"}});
    let me = app.base.trim_start_matches("http://").to_owned();
    let auth = x_matrix(&hs_key(), &origin, &me, V2_UNBIND, &content);
    let unbind = || signed_unbind(&app, "unbindV2", V2_UNBIND, Some(&auth), &content);

    hs.set_calls_down(true);
    assert_eq!(unbind().await.status, 403);
    hs.set_calls_down(false);
    app.clock.advance_ms(1_000);
    assert_eq!(unbind().await.status, 403, "the failure is remembered");
    assert_eq!(
        bound_to(&app, "f@example.org").await.as_deref(),
        Some(mxid.as_str())
    );
    app.clock.advance_ms(30_000);
    let r = unbind().await;
    assert_eq!((r.status, &r.json), (200, &json!({})), "{}", r.text);
    assert_eq!(bound_to(&app, "f@example.org").await, None);
    // 3 a minute: the 4th fits after the 31 s that passed, the 5th does not.
    assert_eq!(unbind().await.status, 200);
    let r = unbind().await;
    r.assert_limited();
}

/// Invite delivery (issue 21): a homeserver that never answers holds only its own share of
/// delivery slots; a bind for another homeserver is delivered at once, not after the slow
/// one's 60 s timeout.
#[tokio::test]
async fn a_slow_homeserver_does_not_hold_back_other_deliveries() {
    let slow = FakeHomeserver::start().await;
    slow.set_hanging(true);
    let fast = FakeHomeserver::start().await;
    let app = TestApp::start_with(|c| c.invites.delivery_per_destination = 2).await;
    let wait_held = |n: usize| {
        let slow = &slow;
        async move {
            for _ in 0..200 {
                if slow.held() >= n {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            panic!(
                "the slow homeserver holds {} requests, not {n}",
                slow.held()
            );
        }
    };
    store_invite(&app, "s1@example.org", "!s1:example.org").await;
    bind(
        &app,
        "s1@example.org",
        &format!("@s1:{}", slow.server_name()),
    )
    .await;
    wait_held(1).await;

    let invite = store_invite(&app, "f@example.org", "!f:example.org").await;
    let started = std::time::Instant::now();
    bind(&app, "f@example.org", &format!("@f:{}", fast.server_name())).await;
    let onbinds = fast.wait_for_onbinds(1).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "delivered after {:?}",
        started.elapsed()
    );
    assert_eq!(onbinds[0]["invites"][0]["token"], invite.as_str());
    wait_invite(&app, &invite, |(delivered, _)| delivered.is_some()).await;

    // More invites for the slow homeserver: at most 2 of its requests are in flight.
    for i in 2..=4 {
        let address = format!("s{i}@example.org");
        store_invite(&app, &address, "!s:example.org").await;
        bind(&app, &address, &format!("@s{i}:{}", slow.server_name())).await;
    }
    wait_held(2).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(slow.held(), 2, "its share, no more");
}

/// An invite whose delivery started longer ago than `[invites] delivery_give_up_after` is
/// given up: never sent, counted, and not retried once the homeserver is back.
#[tokio::test]
async fn delivery_gives_up_after_the_configured_age() {
    let hs = FakeHomeserver::start().await;
    hs.set_down(true);
    let app = TestApp::start_with(|c| {
        c.invites.delivery_give_up_after =
            oxident::config::ConfigDuration(std::time::Duration::from_secs(3600));
    })
    .await;
    let token = store_invite(&app, "old@example.org", "!o:example.org").await;
    bind(&app, "old@example.org", &format!("@o:{}", hs.server_name())).await;
    wait_invite(&app, &token, |(_, attempts)| attempts == 1).await;
    let deliveries = app.shared_state().services.deliveries.clone();
    assert_eq!(deliveries.given_up(), 0);

    // Retried within the hour (the homeserver still down) …
    app.clock.advance_ms(31_000);
    app.state().deliveries.wake();
    wait_invite(&app, &token, |(_, attempts)| attempts == 2).await;
    // … and given up after it.
    hs.set_down(false);
    app.clock.advance_ms(3_600_000);
    app.state().deliveries.wake();
    for _ in 0..200 {
        if deliveries.given_up() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(deliveries.given_up(), 1);
    app.clock.advance_ms(3_600_000);
    app.state().deliveries.wake();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(hs.onbinds().is_empty(), "never sent once given up");
    assert_eq!(invite_state(&app, &token).await, (None, 2));
}
