//! Oxident as the identity server of a real Synapse (issue #9): the six everyday flows, each
//! asserted on both sides, and invite delivery across a homeserver outage and an Oxident
//! restart. Synapse is the PyPI package in the venv `.ci/run` builds (`harness.rs`); without
//! it these tests print how to enable them and pass, except under CI, where they fail.
//!
//! Oxident is an in-process `TestApp` with TLS. One Synapse serves the whole test binary, started
//! on first use; the outage test starts its own and stops it, and restarts Oxident on the same
//! address (`TestApp::restart_in_place`: the room's `key_validity_url`s must stay valid). Each flow
//! asserts both sides: Synapse's client API and its database (read-only, through the venv's
//! Python), and Oxident's store, lookups and SMTP sink. A failing test prints Synapse's log for its
//! duration (without the access log).

mod harness;

use crate::common::{TestApp, token_from_mail};
use harness::{HsUser, Synapse};
use oxident::domain::Medium;
use oxident::store::Threepid;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How long a homeserver reaction to an identity-server call may take to show.
const SETTLE: Duration = Duration::from_secs(30);

/// Percent-encodes one path segment (user and room IDs carry `@`, `!`, `:`).
fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// What a Synapse client passes as `id_server`: host and port, no scheme (Synapse always
/// adds `https://`).
fn id_server(is: &TestApp) -> String {
    format!("127.0.0.1:{}", is.addr.port())
}

/// Oxident with TLS, as Synapse needs it. Synapse on a busy two-core test machine can take
/// longer than the default 10 s to answer `onbind` (it persists the invite first, so a
/// timed-out call was in fact delivered); a generous timeout keeps the tests about
/// delivery, not about this machine's load.
async fn identity_server() -> TestApp {
    TestApp::start_tls_with(|c| c.federation.timeout = Duration::from_secs(60)).await
}

/// OpenID: the user asks Synapse for a token and registers it with the identity server;
/// returns the identity server's access token.
async fn register_with_is(hs: &Synapse, is: &TestApp, user: &HsUser) -> String {
    let (status, openid) = hs
        .call(
            user,
            "POST",
            &format!(
                "/_matrix/client/v3/user/{}/openid/request_token",
                seg(&user.user_id)
            ),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "openid token: {openid}");
    assert_eq!(openid["matrix_server_name"], hs.server_name.as_str());
    let r = is
        .post(
            "registerAccount",
            "/_matrix/identity/v2/account/register",
            openid,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "register with the IS: {}", r.text);
    r.json["token"].as_str().expect("token").to_owned()
}

/// Validates `email` at the identity server (the mail caught by its SMTP sink); the sid.
async fn validate_email(is: &TestApp, is_token: &str, email: &str, secret: &str) -> String {
    let before = is.smtp.received().len();
    let r = is
        .post(
            "emailRequestTokenV2",
            "/_matrix/identity/v2/validate/email/requestToken",
            json!({"client_secret": secret, "email": email, "send_attempt": 1}),
            Some(is_token),
        )
        .await;
    assert_eq!(r.status, 200, "requestToken: {}", r.text);
    let sid = r.json["sid"].as_str().expect("sid").to_owned();
    let mail = is.smtp.wait_for(before + 1).await.remove(before);
    assert!(
        mail.rcpt_to.iter().any(|r| r == email),
        "{:?}",
        mail.rcpt_to
    );
    let token = token_from_mail(&mail.text());
    let r = is
        .post(
            "emailSubmitTokenPostV2",
            "/_matrix/identity/v2/validate/email/submitToken",
            json!({"sid": sid, "client_secret": secret, "token": token}),
            Some(is_token),
        )
        .await;
    assert_eq!(
        (r.status, &r.json),
        (200, &json!({"success": true})),
        "submitToken"
    );
    sid
}

/// Binds a validated email to `user` through Synapse's `/account/3pid/bind`.
async fn bind_via_synapse(
    hs: &Synapse,
    is: &TestApp,
    user: &HsUser,
    is_token: &str,
    sid: &str,
    secret: &str,
) {
    let (status, body) = hs
        .call(
            user,
            "POST",
            "/_matrix/client/v3/account/3pid/bind",
            Some(json!({"client_secret": secret, "id_server": id_server(is),
                        "id_access_token": is_token, "sid": sid})),
        )
        .await;
    assert_eq!((status, &body), (200, &json!({})), "3pid/bind");
}

/// The mxid the identity server's v1 lookup returns for `email` (signed, unauthenticated).
async fn is_lookup(is: &TestApp, email: &str) -> Option<String> {
    let r = is
        .get(
            "lookupUser",
            &format!(
                "/_matrix/identity/api/v1/lookup?medium=email&address={}",
                seg(email)
            ),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["mxid"].as_str().map(str::to_owned)
}

/// The identity servers Synapse recorded `user` as bound to for `email`.
fn synapse_bindings(hs: &Synapse, user: &HsUser, email: &str) -> Vec<Value> {
    hs.sql(&format!(
        "SELECT id_server FROM user_threepid_id_server WHERE user_id = '{}' \
         AND medium = 'email' AND address = '{}'",
        user.user_id, email
    ))
}

async fn create_room(hs: &Synapse, user: &HsUser, name: &str) -> String {
    let (status, body) = hs
        .call(
            user,
            "POST",
            "/_matrix/client/v3/createRoom",
            Some(json!({"name": name, "preset": "private_chat"})),
        )
        .await;
    assert_eq!(status, 200, "createRoom: {body}");
    body["room_id"].as_str().expect("room_id").to_owned()
}

/// `inviter` invites `email` to `room` through Synapse, which asks the identity server.
async fn invite_email(
    hs: &Synapse,
    is: &TestApp,
    inviter: &HsUser,
    is_token: &str,
    room: &str,
    email: &str,
) {
    let (status, body) = hs
        .call(
            inviter,
            "POST",
            &format!("/_matrix/client/v3/rooms/{}/invite", seg(room)),
            Some(
                json!({"id_server": id_server(is), "id_access_token": is_token,
                        "medium": "email", "address": email}),
            ),
        )
        .await;
    assert_eq!((status, &body), (200, &json!({})), "invite {email}");
}

/// The room's current state as `user` sees it.
async fn room_state(hs: &Synapse, user: &HsUser, room: &str) -> Vec<Value> {
    let (status, body) = hs
        .call(
            user,
            "GET",
            &format!("/_matrix/client/v3/rooms/{}/state", seg(room)),
            None,
        )
        .await;
    assert_eq!(status, 200, "room state: {body}");
    body.as_array().cloned().unwrap_or_default()
}

fn third_party_invites(state: &[Value]) -> Vec<Value> {
    state
        .iter()
        .filter(|e| e["type"] == "m.room.third_party_invite")
        .cloned()
        .collect()
}

/// `target`'s `m.room.member` content in `room`, read by `reader` (`Null` when none).
async fn membership(hs: &Synapse, reader: &HsUser, room: &str, target: &str) -> Value {
    let (status, body) = hs
        .call(
            reader,
            "GET",
            &format!(
                "/_matrix/client/v3/rooms/{}/state/m.room.member/{}",
                seg(room),
                seg(target)
            ),
            None,
        )
        .await;
    if status == 200 { body } else { Value::Null }
}

/// Waits (bounded) until `target` is invited to `room`; the member event content.
async fn wait_for_invite(
    hs: &Synapse,
    reader: &HsUser,
    room: &str,
    target: &str,
    within: Duration,
    mut meanwhile: impl FnMut(),
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let m = membership(hs, reader, room, target).await;
        if m["membership"] == "invite" {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "{target} was not invited to {room} within {within:?} (membership: {m})"
        );
        meanwhile();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Rooms `user` is invited to, from a `/sync`.
async fn invited_rooms(hs: &Synapse, user: &HsUser) -> Vec<String> {
    let (status, body) = hs
        .call(user, "GET", "/_matrix/client/v3/sync?timeout=0", None)
        .await;
    assert_eq!(status, 200, "sync: {body}");
    body["rooms"]["invite"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Waits (bounded) until the identity server has recorded the invite as delivered: Synapse
/// shows the membership before its answer to `onbind` reaches the identity server. Retries
/// are due by the identity server's (manual) clock, which moves along meanwhile as real
/// time would.
async fn wait_until_delivered(is: &TestApp, token: &str) -> oxident::store::Invite {
    let deadline = Instant::now() + 2 * SETTLE;
    loop {
        let invite = is
            .store()
            .get_invite(token)
            .await
            .expect("store")
            .expect("invite");
        if invite.delivered_at.is_some() {
            return invite;
        }
        assert!(
            Instant::now() < deadline,
            "not marked delivered within {:?}: {invite:?}",
            2 * SETTLE
        );
        is.clock.advance_ms(10_000);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn email_threepid(email: &str) -> Threepid {
    Threepid::new(Medium::Email, email)
}

// ---------------------------------------------------------------------------------------------
// The six flows
// ---------------------------------------------------------------------------------------------

/// Flow 1: a Synapse user registers with the identity server by OpenID; the identity server
/// asks Synapse who the token belongs to over federation (`/openid/userinfo`).
#[tokio::test]
async fn synapse_openid_registration() {
    let Some(hs) = harness::shared("synapse_openid_registration").await else {
        return;
    };
    let _log = hs.log_on_failure();
    let is = identity_server().await;
    let alice = hs.register("alice").await;

    let token = register_with_is(hs, &is, &alice).await;
    let r = is
        .get("getAccount", "/_matrix/identity/v2/account", Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["user_id"], alice.user_id.as_str());
    // Synapse issued exactly the OpenID token the identity server redeemed, for alice.
    let issued = hs.sql(&format!(
        "SELECT user_id FROM open_id_tokens WHERE user_id = '{}'",
        alice.user_id
    ));
    assert_eq!(issued, vec![json!([alice.user_id])]);
    // A token Synapse never issued is refused.
    let r = is
        .post(
            "registerAccount",
            "/_matrix/identity/v2/account/register",
            json!({"access_token": "not-a-synapse-token", "token_type": "Bearer",
                   "matrix_server_name": hs.server_name, "expires_in": 3600}),
            None,
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
}

/// Flow 2: an email validated at the identity server and bound through Synapse's
/// `/account/3pid/bind`.
#[tokio::test]
async fn synapse_bind_through_the_homeserver() {
    let Some(hs) = harness::shared("synapse_bind_through_the_homeserver").await else {
        return;
    };
    let _log = hs.log_on_failure();
    let is = identity_server().await;
    let alice = hs.register("alice").await;
    let token = register_with_is(hs, &is, &alice).await;
    let email = format!(
        "{}@example.org",
        &alice.user_id[1..alice.user_id.find(':').unwrap_or(1)]
    );

    let sid = validate_email(&is, &token, &email, "bind-secret").await;
    bind_via_synapse(hs, &is, &alice, &token, &sid, "bind-secret").await;

    // Oxident: bound, found by lookup, stored for alice.
    assert_eq!(
        is_lookup(&is, &email).await.as_deref(),
        Some(alice.user_id.as_str())
    );
    let stored = is
        .store()
        .get_association(&email_threepid(&email))
        .await
        .expect("store")
        .expect("association stored");
    assert_eq!(stored.mxid, alice.user_id);
    // Synapse: remembers where it bound the address (what unbind without id_server uses).
    assert_eq!(
        synapse_bindings(hs, &alice, &email),
        vec![json!([id_server(&is)])]
    );
}

/// Flow 3: an email invite into a room → Synapse calls store-invite, the identity server
/// stores the invite and mails the address; the room gets the `m.room.third_party_invite`.
#[tokio::test]
async fn synapse_email_invite_is_stored_and_mailed() {
    let Some(hs) = harness::shared("synapse_email_invite_is_stored_and_mailed").await else {
        return;
    };
    let _log = hs.log_on_failure();
    let is = identity_server().await;
    let alice = hs.register("alice").await;
    let token = register_with_is(hs, &is, &alice).await;
    let room = create_room(hs, &alice, "Oxident flow three").await;
    let email = "carol.flow3@example.org";
    let mails_before = is.smtp.received().len();

    invite_email(hs, &is, &alice, &token, &room, email).await;

    // Synapse: the room holds the third-party invite with the identity server's keys.
    let state = room_state(hs, &alice, &room).await;
    let invites = third_party_invites(&state);
    assert_eq!(invites.len(), 1, "{invites:?}");
    let event = &invites[0];
    let invite_token = event["state_key"].as_str().expect("token").to_owned();
    let keys = event["content"]["public_keys"]
        .as_array()
        .expect("public_keys");
    assert!(!keys.is_empty());
    for k in keys {
        let url = k["key_validity_url"].as_str().expect("key_validity_url");
        assert!(url.starts_with(&is.base), "{url} is not on {}", is.base);
    }
    assert!(event["content"]["public_key"].is_string());
    assert_eq!(event["sender"], alice.user_id.as_str());

    // Oxident: the invite is stored under the token Synapse put in the room, with the room
    // and the inviter, and not yet delivered.
    let stored = is
        .store()
        .get_invite(&invite_token)
        .await
        .expect("store")
        .expect("invite stored under the room's token");
    assert_eq!(stored.room_id, room);
    assert_eq!(stored.sender, alice.user_id);
    assert_eq!(stored.address, email);
    assert!(stored.delivered_at.is_none());
    assert!(
        keys.iter()
            .any(|k| k["public_key"] == stored.ephemeral_key.public_key.as_str()),
        "the room does not carry the invite's ephemeral key: {keys:?}"
    );
    // …and the invite mail went to the address, naming the room.
    let mails = is.smtp.wait_for(mails_before + 1).await;
    let mail = &mails[mails_before];
    assert_eq!(mail.rcpt_to, vec![email.to_owned()]);
    assert!(
        mail.text().contains("Oxident flow three"),
        "{}",
        mail.text()
    );
}

/// Flow 4: the invited address is then bound by another user → the identity server calls
/// Synapse's `/3pid/onbind` → that user is invited to the room.
#[tokio::test]
async fn synapse_onbind_turns_the_email_invite_into_an_invite() {
    let Some(hs) = harness::shared("synapse_onbind_turns_the_email_invite_into_an_invite").await
    else {
        return;
    };
    let _log = hs.log_on_failure();
    let is = identity_server().await;
    let alice = hs.register("alice").await;
    let bob = hs.register("bob").await;
    let alice_token = register_with_is(hs, &is, &alice).await;
    let bob_token = register_with_is(hs, &is, &bob).await;
    let room = create_room(hs, &alice, "Oxident flow four").await;
    let email = "carol.flow4@example.org";
    invite_email(hs, &is, &alice, &alice_token, &room, email).await;
    let invite_token = third_party_invites(&room_state(hs, &alice, &room).await)[0]["state_key"]
        .as_str()
        .expect("token")
        .to_owned();

    let sid = validate_email(&is, &bob_token, email, "bob-secret").await;
    bind_via_synapse(hs, &is, &bob, &bob_token, &sid, "bob-secret").await;

    // Synapse: bob is invited, by the third-party invite the identity server signed.
    let member = wait_for_invite(hs, &alice, &room, &bob.user_id, SETTLE, || {}).await;
    assert_eq!(
        member["third_party_invite"]["signed"]["token"],
        invite_token.as_str()
    );
    assert_eq!(
        member["third_party_invite"]["signed"]["mxid"],
        bob.user_id.as_str()
    );
    assert!(invited_rooms(hs, &bob).await.contains(&room));
    // Oxident: the invite is marked delivered.
    wait_until_delivered(&is, &invite_token).await;
}

/// Flow 5: unbind through Synapse, by `/account/3pid/unbind` (naming the identity server)
/// and by `/account/3pid/delete` (Synapse finds the identity server itself); both answer
/// `id_server_unbind_result: success` and the lookup no longer finds the address. Synapse
/// signs these requests (X-Matrix); the identity server checks the signature against
/// Synapse's published key.
#[tokio::test]
async fn synapse_unbind_and_delete() {
    let Some(hs) = harness::shared("synapse_unbind_and_delete").await else {
        return;
    };
    let _log = hs.log_on_failure();
    let is = identity_server().await;
    let alice = hs.register("alice").await;
    let token = register_with_is(hs, &is, &alice).await;

    for (how, email) in [
        ("unbind", "dora.unbind@example.org"),
        ("delete", "dora.delete@example.org"),
    ] {
        let secret = format!("{how}-secret");
        let sid = validate_email(&is, &token, email, &secret).await;
        bind_via_synapse(hs, &is, &alice, &token, &sid, &secret).await;
        assert_eq!(
            is_lookup(&is, email).await.as_deref(),
            Some(alice.user_id.as_str())
        );

        let body = if how == "unbind" {
            json!({"medium": "email", "address": email, "id_server": id_server(&is)})
        } else {
            json!({"medium": "email", "address": email})
        };
        let (status, answer) = hs
            .call(
                &alice,
                "POST",
                &format!("/_matrix/client/v3/account/3pid/{how}"),
                Some(body),
            )
            .await;
        assert_eq!(
            (status, &answer),
            (200, &json!({"id_server_unbind_result": "success"})),
            "3pid/{how}"
        );
        // Oxident: gone.
        assert_eq!(is_lookup(&is, email).await, None, "{how}");
        assert!(
            is.store()
                .get_association(&email_threepid(email))
                .await
                .expect("store")
                .is_none(),
            "{how}"
        );
        // Synapse: forgot the binding.
        assert!(synapse_bindings(hs, &alice, email).is_empty(), "{how}");
    }
}

/// Flow 6: inviting an address that is already bound → Synapse looks it up (v2 hashed
/// lookup) and invites the user directly; no invite is stored or mailed.
#[tokio::test]
async fn synapse_invite_to_a_bound_address_is_direct() {
    let Some(hs) = harness::shared("synapse_invite_to_a_bound_address_is_direct").await else {
        return;
    };
    let _log = hs.log_on_failure();
    let is = identity_server().await;
    let alice = hs.register("alice").await;
    let bob = hs.register("bob").await;
    let alice_token = register_with_is(hs, &is, &alice).await;
    let bob_token = register_with_is(hs, &is, &bob).await;
    let email = "erin.flow6@example.org";
    let sid = validate_email(&is, &bob_token, email, "erin-secret").await;
    bind_via_synapse(hs, &is, &bob, &bob_token, &sid, "erin-secret").await;
    let room = create_room(hs, &alice, "Oxident flow six").await;
    let mails_before = is.smtp.received().len();

    invite_email(hs, &is, &alice, &alice_token, &room, email).await;

    // Synapse: bob is invited directly; no third-party invite in the room.
    let member = membership(hs, &alice, &room, &bob.user_id).await;
    assert_eq!(member["membership"], "invite", "{member}");
    assert!(member.get("third_party_invite").is_none(), "{member}");
    assert!(third_party_invites(&room_state(hs, &alice, &room).await).is_empty());
    assert!(invited_rooms(hs, &bob).await.contains(&room));
    // Oxident: no invite stored, no mail sent.
    assert!(
        is.store()
            .undelivered_invites(&email_threepid(email))
            .await
            .expect("store")
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        is.smtp.received().len(),
        mails_before,
        "an invite mail was sent"
    );
}

// ---------------------------------------------------------------------------------------------
// Delivery across an outage
// ---------------------------------------------------------------------------------------------

/// The invited address is bound while the homeserver is down: the bind still answers fast
/// and OK; after an Oxident restart (same data folder) and the homeserver's return, the
/// invite is delivered. A Synapse of its own, since this one gets stopped.
#[tokio::test]
async fn synapse_onbind_survives_an_outage_and_a_restart() {
    const TEST: &str = "synapse_onbind_survives_an_outage_and_a_restart";
    let Some(venv) = harness::venv_or_skip(TEST) else {
        return;
    };
    let hs = Synapse::start(venv).await;
    let _log = hs.log_on_failure();
    let mut is = identity_server().await;
    let alice = hs.register("alice").await;
    let bob = hs.register("bob").await;
    let alice_token = register_with_is(&hs, &is, &alice).await;
    let bob_token = register_with_is(&hs, &is, &bob).await;
    let room = create_room(&hs, &alice, "Oxident outage").await;
    let email = "frank.outage@example.org";
    invite_email(&hs, &is, &alice, &alice_token, &room, email).await;
    let invite_token = third_party_invites(&room_state(&hs, &alice, &room).await)[0]["state_key"]
        .as_str()
        .expect("token")
        .to_owned();
    let sid = validate_email(&is, &bob_token, email, "frank-secret").await;

    hs.stop();
    let started = Instant::now();
    let r = is
        .post(
            "bindV2",
            "/_matrix/identity/v2/3pid/bind",
            json!({"sid": sid, "client_secret": "frank-secret", "mxid": bob.user_id}),
            Some(&bob_token),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(
        r.status, 200,
        "bind while the homeserver is down: {}",
        r.text
    );
    assert!(took < Duration::from_secs(5), "bind took {took:?}");
    assert_eq!(
        is_lookup(&is, email).await.as_deref(),
        Some(bob.user_id.as_str())
    );
    let stored = is
        .store()
        .get_invite(&invite_token)
        .await
        .expect("store")
        .expect("invite");
    assert!(
        stored.delivered_at.is_none(),
        "delivered to a stopped homeserver?"
    );

    let address = is.addr;
    is.restart_in_place().await;
    assert_eq!(is.addr, address);
    hs.start_again().await;
    // Retries are due by the identity server's clock (a manual one here): move it along
    // while waiting, as real time would.
    let clock = is.clock.clone();
    let member = wait_for_invite(
        &hs,
        &alice,
        &room,
        &bob.user_id,
        Duration::from_secs(120),
        || clock.advance_ms(60_000),
    )
    .await;
    assert_eq!(
        member["third_party_invite"]["signed"]["token"],
        invite_token.as_str()
    );
    wait_until_delivered(&is, &invite_token).await;
}
