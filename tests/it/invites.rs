//! store-invite, ephemeral key validity and sign-ed25519, end to end over HTTP with the
//! invitation mail read back from the SMTP sink.

use crate::common::{Reply, SERVER_NAME, START_MS, TestApp, at, test_key};
use crate::lookup::form_encode;
use crate::smtp_sink::Failure;
use oxident::crypto::{PublicKey, SigningKey, b64, verify_json};
use oxident::domain::{Medium, UserId};
use oxident::store::{Association, Threepid};
use serde_json::{Value, json};
use std::path::Path;

const V1_STORE: &str = "/_matrix/identity/api/v1/store-invite";
const V2_STORE: &str = "/_matrix/identity/v2/store-invite";
const V1_SIGN: &str = "/_matrix/identity/api/v1/sign-ed25519";
const V2_SIGN: &str = "/_matrix/identity/v2/sign-ed25519";
const SENDER: &str = "@bob:example.org";

fn invite_body(address: &str) -> Value {
    json!({
        "medium": "email",
        "address": address,
        "room_id": "!tea:example.org",
        "sender": SENDER,
        "sender_display_name": "Bob Builder",
        "room_name": "Tea club",
        "room_alias": "#tea:example.org",
    })
}

async fn store_v2(app: &TestApp, token: &str, body: Value) -> Reply {
    app.post("storeInviteV2", V2_STORE, body, Some(token)).await
}

/// A brand whose invitation puts an extra request parameter in a header and prints the
/// ephemeral private key, so tests can read both back.
fn write_brand(root: &Path) {
    let brand = root.join("acme");
    std::fs::create_dir_all(&brand).expect("brand folder");
    std::fs::write(
        brand.join("invite_template.eml.j2"),
        "From: {{ from|safe }}\nTo: {{ to|safe }}\nSubject: {{ subject_header_value|safe }}\n\
         X-Note: {{ note|safe }}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
         KEY={{ ephemeral_private_key|safe }}\nTOKEN={{ token|safe }}\nNOTE={{ note|safe }}\n\
         LEVEL={{ level|safe }}\nROOM={{ room_name|safe }}\nBY={{ sender_display_name|safe }}\n",
    )
    .expect("template");
}

async fn app_with_brand() -> (TestApp, tempfile::TempDir) {
    let templates = tempfile::tempdir().expect("tmp");
    write_brand(templates.path());
    let folder = templates.path().to_path_buf();
    let app = TestApp::start_with(|c| c.email.templates.folder = Some(folder)).await;
    (app, templates)
}

/// `NAME=value` from a mail written by the `acme` brand.
fn field(mail: &str, name: &str) -> String {
    let marker = format!("\n{name}=");
    let start = mail.find(&marker).expect("field present") + marker.len();
    mail[start..]
        .chars()
        .take_while(|c| *c != '\r' && *c != '\n')
        .collect()
}

fn header_block(mail: &str) -> &str {
    mail.split_once("\r\n\r\n").expect("headers end").0
}

async fn ephemeral_valid(app: &TestApp, key: &str) -> (bool, bool) {
    let mut answers = Vec::new();
    for (op, base) in [
        (
            "isEphemeralPubKeyValidV2",
            "/_matrix/identity/v2/pubkey/ephemeral/isvalid",
        ),
        (
            "isEphemeralPubKeyValid",
            "/_matrix/identity/api/v1/pubkey/ephemeral/isvalid",
        ),
    ] {
        let r = app
            .get(op, &format!("{base}?public_key={}", form_encode(key)), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        answers.push(r.json["valid"].as_bool().expect("valid is a bool"));
    }
    (answers[0], answers[1])
}

#[tokio::test]
async fn v2_store_invite_answers_keys_sends_mail_and_keeps_the_key_valid() {
    let mut app = TestApp::start().await;
    let token = app.token_for(SENDER).await;
    let r = store_v2(&app, &token, invite_body("Alice.Smith@Example.ORG")).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let invite_token = r.json["token"].as_str().expect("token").to_owned();
    assert!(!invite_token.is_empty() && invite_token.len() <= 255);
    assert!(invite_token.bytes().all(|b| b.is_ascii_alphanumeric()));
    let display = r.json["display_name"].as_str().expect("display_name");
    assert_eq!(display, "ali...@exa...");
    assert!(!display.contains("alice.smith") && !display.contains("example.org"));

    let keys = r.json["public_keys"].as_array().expect("public_keys");
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys[0],
        json!({
            "public_key": test_key().public_key().to_base64(),
            "key_validity_url": format!("{}/_matrix/identity/v2/pubkey/isvalid", app.base),
        })
    );
    assert_eq!(
        keys[1]["key_validity_url"],
        format!("{}/_matrix/identity/v2/pubkey/ephemeral/isvalid", app.base)
    );
    let ephemeral = keys[1]["public_key"].as_str().expect("key").to_owned();
    assert!(PublicKey::from_base64(&ephemeral).is_ok());
    assert_ne!(ephemeral, keys[0]["public_key"].as_str().expect("key"));
    assert_eq!(ephemeral_valid(&app, &ephemeral).await, (true, true));
    // The server key is no ephemeral key, and an ephemeral key is no long-term key.
    assert_eq!(
        ephemeral_valid(&app, &test_key().public_key().to_base64()).await,
        (false, false)
    );
    let r = app
        .get(
            "isPubKeyValidV2",
            &format!(
                "/_matrix/identity/v2/pubkey/isvalid?public_key={}",
                form_encode(&ephemeral)
            ),
            None,
        )
        .await;
    assert_eq!(r.json, json!({"valid": false}));

    // The mail went to the canonical address, naming the room and the inviter.
    let mails = app.smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].rcpt_to, vec!["alice.smith@example.org".to_owned()]);
    let text = mails[0].text();
    assert!(text.contains("Tea club"), "{text}");
    assert!(text.contains("Bob Builder"), "{text}");
    assert!(text.contains(&invite_token), "the mail carries the token");

    // Stored with what delivery reads; the key stays valid across a restart.
    let stored = app
        .store()
        .get_invite(&invite_token)
        .await
        .expect("store")
        .expect("invite stored");
    assert_eq!(stored.address, "alice.smith@example.org");
    assert_eq!(stored.sender, SENDER);
    assert_eq!(stored.room_id, "!tea:example.org");
    assert_eq!(stored.ephemeral_key.public_key, ephemeral);
    app.restart().await;
    assert_eq!(ephemeral_valid(&app, &ephemeral).await, (true, true));
}

#[tokio::test]
async fn v1_store_invite_is_unauthenticated_and_answers_like_v2() {
    let app = TestApp::start().await;
    let r = app
        .post(
            "storeInvite",
            V1_STORE,
            invite_body("carol@example.org"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The reference server's shape on v1 too: objects with validity URLs and `public_key`.
    let keys = r.json["public_keys"].as_array().expect("public_keys");
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys[0],
        json!({
            "public_key": test_key().public_key().to_base64(),
            "key_validity_url": format!("{}/_matrix/identity/v2/pubkey/isvalid", app.base),
        })
    );
    assert_eq!(r.json["public_key"], test_key().public_key().to_base64());
    let ephemeral = keys[1]["public_key"].as_str().expect("string key");
    assert_eq!(ephemeral_valid(&app, ephemeral).await, (true, true));
    assert_eq!(r.json["display_name"], "car...@exa...");
    assert_eq!(app.smtp.wait_for(1).await[0].rcpt_to, ["carol@example.org"]);
}

/// What Synapse sends for a fresh room and a user without avatar: empty strings for the
/// display fields, and (room version 12) a room ID without a server part.
#[tokio::test]
async fn store_invite_accepts_what_homeservers_send() {
    let app = TestApp::start().await;
    let token = app.token_for(SENDER).await;
    let mut body = invite_body("erin@example.org");
    body["room_alias"] = json!("");
    body["room_avatar_url"] = json!("");
    body["sender_avatar_url"] = json!("");
    body["room_join_rules"] = json!("invite");
    body["room_id"] = json!("!OGEhHVWSdvArJzumhm7qbdqT2vhgyiVXeR7NYJdE7q8");
    let r = store_v2(&app, &token, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["public_key"], test_key().public_key().to_base64());
    let r = app.post("storeInvite", V1_STORE, body.clone(), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // An empty room ID is still refused, on both versions.
    body["room_id"] = json!("");
    let r = store_v2(&app, &token, body.clone()).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_PARAM"),
        "{}",
        r.text
    );
    let r = app.post("storeInvite", V1_STORE, body, None).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_PARAM"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn extra_parameters_are_kept_and_cannot_inject_headers() {
    let (app, _templates) = app_with_brand().await;
    let mut body = invite_body("dave@example.org");
    body["note"] = json!("hello\r\nBcc: evil@attacker.test\r\n\r\nforged body");
    body["level"] = json!(7);
    body["sender_display_name"] = json!("Bob\nBcc: evil2@attacker.test");
    let r = app
        .post(
            "storeInvite",
            &format!("{V1_STORE}?brand=acme"),
            body.clone(),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let mails = app.smtp.wait_for(1).await;
    assert_eq!(mails[0].rcpt_to, ["dave@example.org"], "no extra recipient");
    let text = mails[0].text();
    let headers = header_block(&text);
    assert!(
        headers
            .lines()
            .all(|l| !l.to_ascii_lowercase().starts_with("bcc:")),
        "{headers}"
    );
    let note_header = headers
        .lines()
        .find(|l| l.starts_with("X-Note:"))
        .expect("X-Note header");
    assert!(note_header.contains("hello") && note_header.contains("forged body"));
    assert!(field(&text, "NOTE").contains("Bcc: evil@attacker.test"));
    assert_eq!(field(&text, "LEVEL"), "7");
    assert_eq!(field(&text, "ROOM"), "Tea club");

    let token = r.json["token"].as_str().expect("token");
    let stored = app
        .store()
        .get_invite(token)
        .await
        .expect("store")
        .expect("invite");
    assert_eq!(stored.room_id, "!tea:example.org");
}

/// Bounded growth (issue 21): the stored invite keeps only the fields delivery reads, not
/// the body (up to the body limit, 256 KiB), and a room ID longer than a Matrix identifier
/// may be (255 bytes) is refused with the spec's error on both versions.
#[tokio::test]
async fn invites_keep_only_what_delivery_reads() {
    let app = TestApp::start().await;
    let token = app.token_for(SENDER).await;
    let mut body = invite_body("frank@example.org");
    body["room_name"] = json!("x".repeat(100_000));
    body["org.example.padding"] = json!("y".repeat(100_000));
    let r = store_v2(&app, &token, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    if !crate::common::backend_is_postgres() {
        let url = format!(
            "sqlite://{}?mode=ro",
            app.dir.path().join("oxident.sqlite").display()
        );
        let db = sqlx::SqlitePool::connect(&url)
            .await
            .expect("open read-only");
        let widest: i64 = sqlx::query_scalar(
            "SELECT max(length(token) + length(address) + length(room_id) + length(sender) \
             + length(params)) FROM invites",
        )
        .fetch_one(&db)
        .await
        .expect("query");
        assert!(widest < 1_000, "an invite row holds {widest} bytes");
        db.close().await;
    }

    body["room_id"] = json!(format!("!{}:example.org", "r".repeat(250)));
    let r = store_v2(&app, &token, body.clone()).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_PARAM"),
        "{}",
        r.text
    );
    let r = app.post("storeInvite", V1_STORE, body, None).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_PARAM"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn bound_addresses_are_refused_with_the_owner() {
    let app = TestApp::start().await;
    let token = app.token_for(SENDER).await;
    app.store()
        .bind(&Association {
            medium: Medium::Email,
            address: "erin@example.org".into(),
            mxid: UserId::parse("@erin:example.org").expect("a user ID"),
            ts: at(START_MS),
            not_before: at(START_MS),
            not_after: at(START_MS + 1),
        })
        .await
        .expect("bind");
    let r = store_v2(&app, &token, invite_body("Erin@EXAMPLE.org")).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_THREEPID_IN_USE"),
        "{}",
        r.text
    );
    assert_eq!(r.json["mxid"], "@erin:example.org");
    let r = app
        .post(
            "storeInvite",
            V1_STORE,
            invite_body("erin@example.org"),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_THREEPID_IN_USE"));
    assert!(
        app.smtp.received().is_empty(),
        "no mail for a refused invite"
    );
}

#[tokio::test]
async fn invalid_invites_are_refused() {
    let app = TestApp::start().await;
    let token = app.token_for(SENDER).await;
    let mut msisdn = invite_body("15551234567");
    msisdn["medium"] = json!("msisdn");
    let r = store_v2(&app, &token, msisdn).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_UNRECOGNIZED"),
        "{}",
        r.text
    );
    let r = store_v2(&app, &token, invite_body("not an address")).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_EMAIL"),
        "{}",
        r.text
    );
    let r = store_v2(&app, &token, invite_body("x@example.org\r\nBcc: y@z.org")).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_EMAIL"),
        "{}",
        r.text
    );
    assert!(app.smtp.received().is_empty());
}

#[tokio::test]
async fn v2_store_invite_requires_the_senders_own_token() {
    let app = TestApp::start().await;
    let r = app
        .post(
            "storeInviteV2",
            V2_STORE,
            invite_body("f@example.org"),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let other = app.token_for("@mallory:example.org").await;
    let r = store_v2(&app, &other, invite_body("f@example.org")).await;
    assert_eq!(
        (r.status, r.errcode()),
        (403, "M_UNAUTHORIZED"),
        "{}",
        r.text
    );
    assert!(app.smtp.received().is_empty());
}

#[tokio::test]
async fn v2_invitation_endpoints_are_terms_gated() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("policies.json");
    std::fs::write(
        &file,
        json!({"policies": {"tos": {"version": "1", "en": {"name": "Terms", "url": "https://is.test/tos/1"}}}})
            .to_string(),
    )
    .expect("write policies");
    let app = TestApp::start_with(|c| c.terms.policies_file = Some(file)).await;
    let token = app.token_for(SENDER).await;
    let r = store_v2(&app, &token, invite_body("g@example.org")).await;
    assert_eq!((r.status, r.errcode()), (403, "M_TERMS_NOT_SIGNED"));
    let r = app
        .post(
            "blindlySignStuffV2",
            V2_SIGN,
            json!({"mxid": "@g:example.org", "token": "t", "private_key": "k"}),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (403, "M_TERMS_NOT_SIGNED"));
}

#[tokio::test]
async fn a_failed_mail_leaves_no_invite_behind() {
    let app = TestApp::start().await;
    let token = app.token_for(SENDER).await;
    app.smtp.fail(Failure::Data(554));
    let r = store_v2(&app, &token, invite_body("henry@example.org")).await;
    assert_eq!(r.errcode(), "M_EMAIL_SEND_ERROR", "{}", r.text);

    // Nothing to deliver once the address gets bound: no invite was stored.
    let threepid = Threepid::new(Medium::Email, "henry@example.org");
    assert!(
        app.store()
            .undelivered_invites(&threepid)
            .await
            .expect("store")
            .is_empty()
    );

    app.smtp.fail(Failure::None);
    let r = store_v2(&app, &token, invite_body("henry@example.org")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let pending = app
        .store()
        .undelivered_invites(&threepid)
        .await
        .expect("store");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].token, r.json["token"]);
}

#[tokio::test]
async fn sign_ed25519_signs_with_the_ephemeral_key_from_the_mail() {
    let (app, _templates) = app_with_brand().await;
    let token = app.token_for("@ivy:example.org").await;
    let r = app
        .post(
            "storeInvite",
            &format!("{V1_STORE}?brand=acme"),
            invite_body("ivy@example.org"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let invite_token = r.json["token"].as_str().expect("token").to_owned();
    let ephemeral = PublicKey::from_base64(
        r.json["public_keys"][1]["public_key"]
            .as_str()
            .expect("key"),
    )
    .expect("ephemeral key");
    let mail = app.smtp.wait_for(1).await[0].text();
    let private_key = field(&mail, "KEY");
    assert_eq!(field(&mail, "TOKEN"), invite_token);
    assert_eq!(
        SigningKey::from_base64_seed("0", &private_key)
            .expect("seed")
            .public_key(),
        ephemeral
    );

    let body =
        json!({"mxid": "@ivy:example.org", "token": invite_token, "private_key": private_key});
    let r = app
        .post("blindlySignStuff", V1_SIGN, body.clone(), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["mxid"], "@ivy:example.org");
    assert_eq!(r.json["sender"], SENDER);
    assert_eq!(r.json["token"], invite_token.as_str());
    verify_json(&r.json, SERVER_NAME, "ed25519:0", &ephemeral).expect("verifies");
    assert!(verify_json(&r.json, SERVER_NAME, "ed25519:0", &test_key().public_key()).is_err());

    // v2: same answer with a token; the other alphabet of the same seed works too.
    let r = app
        .post("blindlySignStuffV2", V2_SIGN, body.clone(), None)
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let seed = b64::decode(&private_key).expect("seed");
    let mut standard = body.clone();
    standard["private_key"] = json!(b64::encode(&seed));
    let r = app
        .post("blindlySignStuffV2", V2_SIGN, standard, Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    verify_json(&r.json, SERVER_NAME, "ed25519:0", &ephemeral).expect("verifies");
}

#[tokio::test]
async fn sign_ed25519_errors() {
    let app = TestApp::start().await;
    let r = app
        .post(
            "storeInvite",
            V1_STORE,
            invite_body("jay@example.org"),
            None,
        )
        .await;
    let invite_token = r.json["token"].as_str().expect("token").to_owned();
    let some_seed = b64::encode(&[9u8; 32]);

    let r = app
        .post(
            "blindlySignStuff",
            V1_SIGN,
            json!({"mxid": "@jay:example.org", "token": "no-such-token", "private_key": some_seed}),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.errcode()),
        (404, "M_UNRECOGNIZED"),
        "{}",
        r.text
    );

    for bad in ["not base64!", "", "AAAA", &b64::encode(&[1u8; 33])] {
        let r = app
            .post(
                "blindlySignStuff",
                V1_SIGN,
                json!({"mxid": "@jay:example.org", "token": invite_token, "private_key": bad}),
                None,
            )
            .await;
        assert_eq!(
            (r.status, r.errcode()),
            (400, "M_INVALID_PARAM"),
            "{bad:?}: {}",
            r.text
        );
    }

    // A well-formed key that is not this invitation's.
    let r = app
        .post(
            "blindlySignStuff",
            V1_SIGN,
            json!({"mxid": "@jay:example.org", "token": invite_token, "private_key": some_seed}),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_PARAM"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn store_invite_is_rate_limited_per_client() {
    let app = TestApp::start_with(|c| c.ratelimit.invite_per_ip_per_minute = 1).await;
    let r = app
        .post(
            "storeInvite",
            V1_STORE,
            invite_body("kim@example.org"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .post(
            "storeInvite",
            V1_STORE,
            invite_body("lee@example.org"),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (429, "M_LIMIT_EXCEEDED"));
    assert_eq!(app.smtp.wait_for(1).await.len(), 1);
}

/// Homeservers of the v1 era sent store-invite form-encoded (sydent accepts it).
#[tokio::test]
async fn v1_store_invite_takes_a_form_body() {
    let app = TestApp::start().await;
    let resp = app
        .client
        .post(format!("{}{V1_STORE}", app.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("medium=email&address=form%40example.org&room_id=%21r%3Aexample.org&sender=%40bob%3Aexample.org&room_name=Form+room")
        .send()
        .await
        .expect("sent");
    let r = crate::common::read_reply(resp).await;
    crate::common::check_against_spec("storeInvite", &r);
    assert_eq!(r.status, 200, "{}", r.text);
    let mail = app.smtp.wait_for(1).await[0].text();
    assert!(mail.contains("Form room"), "{mail}");
    let stored = app
        .store()
        .get_invite(r.json["token"].as_str().expect("token"))
        .await
        .expect("store")
        .expect("stored");
    assert_eq!(stored.room_id, "!r:example.org");
}

/// Many senders (30 addresses, the attack seen) cannot flood one recipient: invitations to one
/// address are limited per hour whoever sends them, like requestToken's per-address limit;
/// other recipients are unaffected, and every 429 says when to retry.
#[tokio::test]
async fn store_invite_is_rate_limited_per_recipient() {
    let app = TestApp::start_with(|c| c.ratelimit.invite_per_address_per_hour = 3).await;
    let mut answered = Vec::new();
    for sender in 0..30 {
        let mut body = invite_body("Victim@Example.org");
        body["sender"] = json!(format!("@spammer{sender}:example.org"));
        let r = app.post("storeInvite", V1_STORE, body, None).await;
        if r.status == 429 {
            assert_eq!(r.errcode(), "M_LIMIT_EXCEEDED");
            assert!(
                r.headers.contains_key("retry-after"),
                "429 without Retry-After"
            );
        }
        answered.push(r.status);
    }
    assert_eq!(
        answered.iter().filter(|s| **s == 200).count(),
        3,
        "{answered:?}"
    );
    assert_eq!(
        answered.iter().filter(|s| **s == 429).count(),
        27,
        "{answered:?}"
    );
    let r = app
        .post(
            "storeInvite",
            V1_STORE,
            invite_body("other@example.org"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.smtp.wait_for(4).await.len(), 4);
}
