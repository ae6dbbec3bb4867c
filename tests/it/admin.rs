//! The admin listener (`[admin] bind`, `spec/admin.yaml`): sydent's internal bind and unbind as
//! sydent answers them (and invites delivered on such a bind), list / export / erase / revoke,
//! the secret, the listener refusing to start off loopback without one, admin paths unknown
//! on the client port, and pepper rotation while lookups run (one instance, and two on one
//! PostgreSQL database).

use crate::common::{Reply, TestApp, read_reply};
use crate::fake_homeserver::FakeHomeserver;
use crate::validation::validated_session;
use oxident::crypto::lookup_hash;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const SECRET: &str = "an admin secret for the tests";
const V1_LOOKUP: &str = "/_matrix/identity/api/v1/lookup";
const V2_LOOKUP: &str = "/_matrix/identity/v2/lookup";
const V2_HASH_DETAILS: &str = "/_matrix/identity/v2/hash_details";

async fn admin_app() -> TestApp {
    TestApp::start_with(|c| c.admin.bind = Some("127.0.0.1:0".parse().expect("addr"))).await
}

async fn internal(app: &TestApp, op: &str, path: &str, body: Value) -> Reply {
    app.admin(op, "POST", path, Some(body), None).await
}

async fn bind(app: &TestApp, address: &str, mxid: &str) -> Reply {
    let body = json!({"medium": "email", "address": address, "mxid": mxid});
    let r = internal(app, "internalBind", "/bind", body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

async fn v1_lookup(app: &TestApp, address: &str) -> Value {
    let r = app
        .get(
            "lookupUser",
            &format!("{V1_LOOKUP}?medium=email&address={address}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

#[tokio::test]
async fn internal_bind_and_unbind_answer_as_sydent_does() {
    let app = admin_app().await;
    let r = bind(&app, "Louise@Bobs.Burgers", "@ears:example.org").await;
    // The address is case-folded and the association signed, as a validated bind's is.
    assert_eq!(r.json["address"], "louise@bobs.burgers");
    assert_eq!(r.json["mxid"], "@ears:example.org");
    assert!(r.json["signatures"]["is.test"]["ed25519:0"].is_string());
    assert_eq!(
        v1_lookup(&app, "louise@bobs.burgers").await["mxid"],
        "@ears:example.org"
    );

    // Unbinding someone else's binding changes nothing, and is still `{}`.
    let body =
        json!({"medium": "email", "address": "louise@bobs.burgers", "mxid": "@other:example.org"});
    let r = internal(&app, "internalUnbind", "/unbind", body).await;
    assert_eq!((r.status, &r.json), (200, &json!({})), "{}", r.text);
    assert_eq!(
        v1_lookup(&app, "louise@bobs.burgers").await["mxid"],
        "@ears:example.org"
    );
    let body =
        json!({"medium": "email", "address": "LOUISE@bobs.burgers", "mxid": "@ears:example.org"});
    let r = internal(&app, "internalUnbind", "/unbind", body).await;
    assert_eq!((r.status, &r.json), (200, &json!({})), "{}", r.text);
    assert_eq!(v1_lookup(&app, "louise@bobs.burgers").await, json!({}));

    // Missing fields and broken JSON: sydent's errcodes.
    let r = internal(&app, "internalBind", "/bind", json!({"medium": "email"})).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_MISSING_PARAMS"),
        "{}",
        r.text
    );
    let base = app.admin_base.as_deref().expect("admin listener");
    let raw = app
        .client
        .post(format!("{base}/_matrix/identity/internal/unbind"))
        .body("{not json")
        .send()
        .await
        .expect("sent");
    let r = read_reply(raw).await;
    crate::common::check_against_spec("internalUnbind", &r);
    assert_eq!((r.status, r.errcode()), (400, "M_BAD_JSON"), "{}", r.text);
    let body = json!({"medium": "email", "address": "a@b.c", "mxid": "not a user id"});
    let r = internal(&app, "internalBind", "/bind", body).await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn an_internal_bind_delivers_the_invites_waiting_for_the_address() {
    let hs = FakeHomeserver::start().await;
    let app = admin_app().await;
    let body = json!({"medium": "email", "address": "inv@example.org", "room_id": "!room:example.org",
                      "sender": "@bob:example.org"});
    let r = app
        .post(
            "storeInvite",
            "/_matrix/identity/api/v1/store-invite",
            body,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json["token"].as_str().expect("token").to_owned();
    let mxid = format!("@carol:{}", hs.server_name());
    bind(&app, "inv@example.org", &mxid).await;
    let onbinds = hs.wait_for_onbinds(1).await;
    assert_eq!(onbinds[0]["mxid"], mxid);
    assert_eq!(onbinds[0]["invites"][0]["token"], token);
}

#[tokio::test]
async fn admin_paths_are_unknown_on_the_client_port_and_only_they_are_served_on_the_admin_one() {
    let app = admin_app().await;
    let client_port = |path: &str| {
        let url = format!("{}{path}", app.base);
        let client = app.client.clone();
        async move {
            let r = client
                .post(url)
                .json(&json!({"medium": "email", "address": "a@b.c", "mxid": "@a:b.c"}))
                .send()
                .await
                .expect("sent");
            read_reply(r).await
        }
    };
    let unknown = client_port("/_matrix/identity/nothing_here").await;
    for path in [
        "/_matrix/identity/internal/bind",
        "/_matrix/identity/internal/unbind",
        "/_matrix/identity/internal/rotate_pepper",
        "/_matrix/identity/internal",
    ] {
        let r = client_port(path).await;
        assert_eq!(
            (r.status, r.errcode()),
            (404, "M_UNRECOGNIZED"),
            "{path}: {}",
            r.text
        );
        assert_eq!(
            r.json, unknown.json,
            "{path}: answered exactly as an unknown path"
        );
    }
    assert_eq!(
        v1_lookup(&app, "a@b.c").await,
        json!({}),
        "nothing was bound"
    );

    let base = app.admin_base.as_deref().expect("admin listener");
    let r = read_reply(
        app.client
            .get(format!("{base}/_matrix/identity/v2"))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(
        (r.status, r.errcode()),
        (404, "M_UNRECOGNIZED"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn with_a_secret_every_admin_request_must_carry_it() {
    let app = TestApp::start_with(|c| {
        c.admin.bind = Some("127.0.0.1:0".parse().expect("addr"));
        c.admin.secret = Some(oxident::ops::admin::AdminSecret::new(SECRET));
    })
    .await;
    let body = json!({"medium": "email", "address": "a@b.c", "mxid": "@a:b.c"});
    for secret in [None, Some("wrong"), Some("an admin secret for the test")] {
        let r = app
            .admin("internalBind", "POST", "/bind", Some(body.clone()), secret)
            .await;
        assert_eq!(
            (r.status, r.errcode()),
            (401, "M_UNAUTHORIZED"),
            "{}",
            r.text
        );
    }
    assert_eq!(
        v1_lookup(&app, "a@b.c").await,
        json!({}),
        "nothing was bound"
    );
    let r = app
        .admin("internalBind", "POST", "/bind", Some(body), Some(SECRET))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn the_server_refuses_an_admin_listener_off_loopback_without_a_secret() {
    let mut config = oxident::config::Config::default();
    config.server.bind = "127.0.0.1:0".into();
    config.admin.bind = Some("0.0.0.0:0".parse().expect("addr"));
    assert!(
        config
            .problems()
            .iter()
            .any(|p| p.to_string().starts_with("admin.bind:")),
        "check-config names it"
    );
    let refused = tokio::time::timeout(std::time::Duration::from_secs(10), oxident::serve(config))
        .await
        .expect("refused at once, not served");
    let e = refused.expect_err("refused");
    assert!(e.to_string().contains("admin.secret"), "{e}");
}

/// A user with a token, accepted terms, two bound addresses (each with a session), an invite
/// waiting for one of them, and an invite the user sent; plus someone else's binding.
async fn seed_person(app: &TestApp) -> String {
    let token = app.token_for("@ears:example.org").await;
    app.store()
        .accept_terms(
            &oxident::domain::UserId::parse("@ears:example.org").expect("user id"),
            &["https://terms/1".into()],
            oxident::domain::Timestamp::from_millis(0),
        )
        .await
        .expect("terms");
    validated_session(app, "one@example.org", "secret1").await;
    validated_session(app, "two@example.org", "secret2").await;
    for (address, sender) in [
        ("one@example.org", "@bob:example.org"),
        ("friend@example.org", "@ears:example.org"),
    ] {
        let body = json!({"medium": "email", "address": address, "room_id": "!r:example.org",
                          "sender": sender});
        let r = app
            .post(
                "storeInvite",
                "/_matrix/identity/api/v1/store-invite",
                body,
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // Bound after the invite: store-invite refuses an address already bound.
    bind(app, "one@example.org", "@ears:example.org").await;
    bind(app, "two@example.org", "@ears:example.org").await;
    bind(app, "other@example.org", "@other:example.org").await;
    token
}

/// Erases a subject; the counts.
async fn erase(app: &TestApp, subject: Value) -> Value {
    let r = app
        .admin("adminErase", "POST", "/erase", Some(subject), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

#[tokio::test]
async fn list_export_and_erase_a_user() {
    let app = admin_app().await;
    let token = seed_person(&app).await;
    let r = app
        .admin(
            "adminListRecords",
            "GET",
            "/records?mxid=%40ears%3Aexample.org",
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let addresses: Vec<&str> = r.json["associations"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["address"].as_str())
        .collect();
    assert_eq!(addresses, ["one@example.org", "two@example.org"]);
    assert_eq!(r.json["pending_invites"].as_array().expect("list").len(), 2);

    let r = app
        .admin(
            "adminExport",
            "GET",
            "/export?mxid=%40ears%3Aexample.org",
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["sessions"].as_array().expect("list").len(), 2);
    assert_eq!(r.json["invites"].as_array().expect("list").len(), 2);
    assert_eq!(
        r.json["account"]["tokens"].as_array().expect("list").len(),
        1
    );
    assert_eq!(
        r.json["account"]["accepted_terms"],
        json!(["https://terms/1"])
    );
    assert!(!r.text.contains(&token), "no token is exported");
    assert!(!r.text.contains("secret1"), "no client secret is exported");

    let erased = erase(&app, json!({"mxid": "@ears:example.org"})).await;
    assert_eq!(
        erased,
        json!({"associations": 2, "invites": 2, "ephemeral_keys": 2, "sessions": 2,
               "tokens": 1, "accepted_terms": 1})
    );
    // Gone from lookups, the token no longer works, and nothing is left to export.
    assert_eq!(v1_lookup(&app, "one@example.org").await, json!({}));
    assert_eq!(
        v1_lookup(&app, "other@example.org").await["mxid"],
        "@other:example.org"
    );
    let r = app
        .get("getAccount", "/_matrix/identity/v2/account", Some(&token))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = app
        .admin(
            "adminExport",
            "GET",
            "/export?mxid=%40ears%3Aexample.org",
            None,
            None,
        )
        .await;
    assert_eq!(r.json["associations"], json!([]));
    assert_eq!(r.json["sessions"], json!([]));
    assert_eq!(r.json["invites"], json!([]));
    assert!(
        r.json.get("account").is_none_or(Value::is_null),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn erase_a_3pid_and_refuse_unclear_subjects() {
    let app = admin_app().await;
    seed_person(&app).await;
    let erased = erase(
        &app,
        json!({"medium": "email", "address": "ONE@example.org"}),
    )
    .await;
    assert_eq!(
        erased,
        json!({"associations": 1, "invites": 1, "ephemeral_keys": 1, "sessions": 1,
               "tokens": 0, "accepted_terms": 0})
    );
    assert_eq!(v1_lookup(&app, "one@example.org").await, json!({}));
    assert_eq!(
        v1_lookup(&app, "two@example.org").await["mxid"],
        "@ears:example.org"
    );

    for (query, errcode) in [
        ("", "M_MISSING_PARAMS"),
        ("?medium=email", "M_MISSING_PARAMS"),
        (
            "?mxid=%40a%3Ab.c&medium=email&address=a%40b.c",
            "M_INVALID_PARAM",
        ),
    ] {
        let r = app
            .admin(
                "adminListRecords",
                "GET",
                &format!("/records{query}"),
                None,
                None,
            )
            .await;
        assert_eq!(
            (r.status, r.errcode()),
            (400, errcode),
            "{query}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn revoked_tokens_stop_working_at_once() {
    let app = admin_app().await;
    let token = app.token_for("@ears:example.org").await;
    let r = app
        .get("getAccount", "/_matrix/identity/v2/account", Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .admin(
            "adminRevokeTokens",
            "POST",
            "/revoke_tokens",
            Some(json!({"mxid": "@ears:example.org"})),
            None,
        )
        .await;
    assert_eq!(
        (r.status, &r.json),
        (200, &json!({"revoked": 1})),
        "{}",
        r.text
    );
    let r = app
        .get("getAccount", "/_matrix/identity/v2/account", Some(&token))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
}

fn lookup_body(pepper: &str, addresses: &[String]) -> Value {
    let hashes: Vec<String> = addresses
        .iter()
        .map(|a| lookup_hash(a, "email", pepper))
        .collect();
    json!({"algorithm": "sha256", "pepper": pepper, "addresses": hashes})
}

/// A v2 lookup of `addresses` hashed with `pepper`, by the holder of `token`.
async fn v2_lookup(app: &TestApp, token: &str, pepper: &str, addresses: &[String]) -> Reply {
    app.post(
        "lookupUsersV2",
        V2_LOOKUP,
        lookup_body(pepper, addresses),
        Some(token),
    )
    .await
}

/// Lookups with `pepper` on `app` until `stop`: every answer must be the full set of matches
/// (the old pepper still current) or `M_INVALID_PEPPER` naming a new pepper (after the
/// switch); returns (full answers, invalid-pepper answers).
async fn look_up_until(
    app: &TestApp,
    token: &str,
    pepper: &str,
    addresses: &[String],
    stop: &AtomicBool,
) -> (usize, usize) {
    let (mut full, mut switched) = (0, 0);
    while !stop.load(Ordering::Acquire) {
        let r = v2_lookup(app, token, pepper, addresses).await;
        match (r.status, r.errcode()) {
            (200, _) => {
                assert_eq!(
                    r.json["mappings"].as_object().map(|m| m.len()),
                    Some(addresses.len()),
                    "an answer under the old pepper is complete: {}",
                    r.text
                );
                assert_eq!(switched, 0, "once switched, the old pepper stays refused");
                full += 1;
            }
            (400, "M_INVALID_PEPPER") => {
                assert_ne!(r.json["lookup_pepper"], pepper, "{}", r.text);
                switched += 1;
            }
            _ => panic!("a lookup failed during rotation: {} {}", r.status, r.text),
        }
    }
    (full, switched)
}

async fn pepper_of(app: &TestApp, token: &str) -> String {
    let r = app
        .get("getHashDetails", V2_HASH_DETAILS, Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["lookup_pepper"].as_str().expect("pepper").to_owned()
}

async fn seed_many(app: &TestApp, n: usize) -> Vec<String> {
    let addresses: Vec<String> = (0..n).map(|i| format!("user{i}@example.org")).collect();
    for (i, address) in addresses.iter().enumerate() {
        bind(app, address, &format!("@user{i}:example.org")).await;
    }
    addresses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_answers_every_lookup_meanwhile_then_refuses_the_old_pepper() {
    let app = Arc::new(admin_app().await);
    let token = app.token_for("@looker:example.org").await;
    let addresses = seed_many(&app, 200).await;
    let old = pepper_of(&app, &token).await;
    let stop = Arc::new(AtomicBool::new(false));
    let lookups = {
        let (app, token, old, addresses, stop) = (
            app.clone(),
            token.clone(),
            old.clone(),
            addresses.clone(),
            stop.clone(),
        );
        tokio::spawn(async move { look_up_until(&app, &token, &old, &addresses, &stop).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let r = app
        .admin("adminRotatePepper", "POST", "/rotate_pepper", None, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["rehashed"], 200);
    let new = r.json["lookup_pepper"].as_str().expect("pepper").to_owned();
    assert_ne!(new, old);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    stop.store(true, Ordering::Release);
    let (full, switched) = lookups.await.expect("no lookup failed");
    assert!(
        full > 0 && switched > 0,
        "lookups ran before and after: {full}, {switched}"
    );

    assert_eq!(pepper_of(&app, &token).await, new);
    let r = v2_lookup(&app, &token, &old, &addresses).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_PEPPER"),
        "{}",
        r.text
    );
    assert_eq!(r.json["lookup_pepper"], new.as_str());
    let r = v2_lookup(&app, &token, &new, &addresses).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["mappings"].as_object().map(|m| m.len()), Some(200));
    // v1 lookups hash with the new pepper too.
    assert_eq!(
        v1_lookup(&app, "user7@example.org").await["mxid"],
        "@user7:example.org"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_on_one_instance_reaches_the_other() {
    let Ok(cluster) = std::env::var("TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty()),
            "CI is set but TEST_POSTGRES_URL is not"
        );
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED admin rotation with two instances: no PostgreSQL (scripts/test-postgres.sh)"
        );
        return;
    };
    let url = crate::common::fresh_postgres_database(&cluster, "rot").await;
    let start = |url: String| {
        TestApp::start_with(move |c| {
            c.database.url = Some(url);
            c.admin.bind = Some("127.0.0.1:0".parse().expect("addr"));
        })
    };
    let a = Arc::new(start(url.clone()).await);
    let b = Arc::new(start(url).await);
    let token = a.token_for("@looker:example.org").await;
    let addresses = seed_many(&a, 100).await;
    // Made by A (both instances draw the same test randomness: B's first pepper would be the
    // one A's rotation draws).
    let old = pepper_of(&a, &token).await;
    assert_eq!(pepper_of(&b, &token).await, old);
    // B follows A's binds and the pepper's creation through the change log (polled every
    // 100 ms): wait until it answers all of them before rotating, or its first answers are
    // short for a reason that has nothing to do with rotation (CI once saw exactly that).
    // Answers alone do not show that B's index has followed (B answers through SQL while its
    // index lacks the pepper), so wait for its log lag to be 0 too: else B's index could
    // catch up with the pepper's creation only after the switch, and B accept the old pepper
    // again after refusing it (seen here about once in a dozen runs).
    let converged = async {
        loop {
            let lag = b
                .state()
                .store
                .readings(oxident::domain::Timestamp::from_millis(0))
                .await
                .change_log_lag;
            if lag != Some(0) {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
            let r = v2_lookup(&b, &token, &old, &addresses).await;
            if r.status == 200 && r.json["mappings"].as_object().map(|m| m.len()) == Some(100) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), converged)
        .await
        .expect("B follows A's binds within the change-log delay");
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let lookups = {
        let (b, token, old, addresses, stop, answered) = (
            b.clone(),
            token.clone(),
            old.clone(),
            addresses.clone(),
            stop.clone(),
            answered.clone(),
        );
        tokio::spawn(async move {
            let counts = look_up_until(&b, &token, &old, &addresses, &stop).await;
            answered.store(counts.0 + counts.1, Ordering::Release);
            counts
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let r = a
        .admin("adminRotatePepper", "POST", "/rotate_pepper", None, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let new = r.json["lookup_pepper"].as_str().expect("pepper").to_owned();
    assert_ne!(new, old);
    // Within the change-log delay B answers the old pepper `M_INVALID_PEPPER`.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    stop.store(true, Ordering::Release);
    let (full, switched) = lookups
        .await
        .expect("no lookup failed on the other instance");
    assert!(
        full > 0 && switched > 0,
        "B answered before and after: {full}, {switched}"
    );
    assert_eq!(pepper_of(&b, &token).await, new);
    let r = v2_lookup(&b, &token, &new, &addresses).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["mappings"].as_object().map(|m| m.len()), Some(100));
}

/// Runs `oxident` with `args` and the configuration file `config`; (exit code, stdout, stderr).
async fn oxident(config: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_oxident"));
    command.arg("--config").arg(config).args(args);
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joined")
        .expect("run oxident");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_asks_the_running_server_and_rotates_a_stopped_one_directly() {
    let mut app = TestApp::start_with(|c| {
        c.admin.bind = Some("127.0.0.1:0".parse().expect("addr"));
        c.admin.secret = Some(oxident::ops::admin::AdminSecret::new(SECRET));
    })
    .await;
    let admin_addr = app
        .admin_base
        .as_deref()
        .and_then(|b| b.strip_prefix("http://"))
        .expect("admin listener")
        .to_owned();
    let database = match &app.config.database.url {
        Some(url) => format!("[database]\nurl = \"{url}\"\n"),
        None => format!(
            "[storage]\nsqlite_path = \"{}\"\n",
            app.config.storage.sqlite_path.display()
        ),
    };
    let config = app.dir.path().join("cli.toml");
    let write = |admin: &str| {
        std::fs::write(&config, format!("{database}[admin]\n{admin}")).expect("write config")
    };
    write(&format!("bind = \"{admin_addr}\"\nsecret = \"{SECRET}\"\n"));

    let (code, out, err) = oxident(
        &config,
        &[
            "admin",
            "bind",
            "--medium",
            "email",
            "--address",
            "cli@example.org",
            "--mxid",
            "@cli:example.org",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        v1_lookup(&app, "cli@example.org").await["mxid"],
        "@cli:example.org"
    );
    let (code, out, err) = oxident(&config, &["admin", "list", "--mxid", "@cli:example.org"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let listed: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(listed["associations"][0]["address"], "cli@example.org");
    // Through the running server: its lookups switch at once.
    let token = app.token_for("@looker:example.org").await;
    let before = pepper_of(&app, &token).await;
    let (code, out, err) = oxident(&config, &["rotate-pepper"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let rotated: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(rotated["rehashed"], 1);
    assert_eq!(
        pepper_of(&app, &token).await,
        rotated["lookup_pepper"].as_str().expect("pepper")
    );
    assert_ne!(rotated["lookup_pepper"], before.as_str());

    // A wrong secret is refused; nothing listening: `admin` fails, `rotate-pepper` opens the
    // store itself.
    write(&format!(
        "bind = \"{admin_addr}\"\nsecret = \"not the admin secret at all\"\n"
    ));
    let (code, _, err) = oxident(
        &config,
        &["admin", "revoke-tokens", "--mxid", "@cli:example.org"],
    )
    .await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("M_UNAUTHORIZED"), "{err}");
    let stopped = crate::sydent_peer::free_port();
    write(&format!("bind = \"127.0.0.1:{stopped}\"\n"));
    let (code, _, err) = oxident(&config, &["admin", "list", "--mxid", "@cli:example.org"]).await;
    assert_eq!(code, 2, "{err}");
    // The server stops; its data folder stays.
    let _dir = std::mem::replace(&mut app.dir, tempfile::tempdir().expect("temp dir"));
    drop(app);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (code, out, err) = oxident(&config, &["rotate-pepper"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let offline: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(offline["rehashed"], 1);
    assert_ne!(offline["lookup_pepper"], rotated["lookup_pepper"]);
}
