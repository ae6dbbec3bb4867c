//! Status, versions, account registration (OpenID via a fake homeserver), logout, terms.

use crate::common::TestApp;
use crate::fake_homeserver::FakeHomeserver;
use serde_json::json;

const REGISTER: &str = "/_matrix/identity/v2/account/register";

fn openid_body(server_name: &str, token: &str) -> serde_json::Value {
    json!({"access_token": token, "token_type": "Bearer", "matrix_server_name": server_name, "expires_in": 3600})
}

#[tokio::test]
async fn status_endpoints_answer_empty_objects() {
    let app = TestApp::start().await;
    let r = app.get("pingV2", "/_matrix/identity/v2", None).await;
    assert_eq!((r.status, r.json.clone()), (200, json!({})));
    let r = app.get("ping", "/_matrix/identity/api/v1", None).await;
    assert_eq!((r.status, r.json.clone()), (200, json!({})));
}

#[tokio::test]
async fn versions_follow_the_query_token_setting() {
    let app = TestApp::start().await;
    let r = app
        .get("getVersions", "/_matrix/identity/versions", None)
        .await;
    let versions: Vec<&str> = r.json["versions"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(versions.contains(&"r0.3.0") && versions.contains(&"v1.19"));
    assert!(!versions.contains(&"v1.20"));

    let strict = TestApp::start_with(|c| c.auth.accept_query_access_token = false).await;
    let r = strict
        .get("getVersions", "/_matrix/identity/versions", None)
        .await;
    assert_eq!(r.json["versions"], json!(["v1.20"]));
}

#[tokio::test]
async fn register_with_openid_then_account_and_logout() {
    let hs = FakeHomeserver::start().await;
    hs.issue("openid-abc", &format!("@alice:{}", hs.server_name()));
    let app = TestApp::start().await;

    let r = app
        .post(
            "registerAccount",
            REGISTER,
            openid_body(&hs.server_name(), "openid-abc"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json["token"].as_str().expect("token").to_string();
    assert_eq!(r.json["access_token"], r.json["token"]);

    // Every register issues a new token.
    let again = app
        .post(
            "registerAccount",
            REGISTER,
            openid_body(&hs.server_name(), "openid-abc"),
            None,
        )
        .await;
    assert_ne!(again.json["token"], r.json["token"]);

    let me = app
        .get("getAccount", "/_matrix/identity/v2/account", Some(&token))
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["user_id"], format!("@alice:{}", hs.server_name()));

    let out = app
        .post(
            "logout",
            "/_matrix/identity/v2/account/logout",
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!((out.status, out.json.clone()), (200, json!({})));
    let after = app
        .get("getAccount", "/_matrix/identity/v2/account", Some(&token))
        .await;
    assert_eq!((after.status, after.errcode()), (401, "M_UNAUTHORIZED"));
}

/// sydent and the clients written against it send only these two fields.
#[tokio::test]
async fn register_needs_only_the_token_and_server_name() {
    let hs = FakeHomeserver::start().await;
    hs.issue("openid-min", &format!("@min:{}", hs.server_name()));
    let app = TestApp::start().await;
    let body = json!({"access_token": "openid-min", "matrix_server_name": hs.server_name()});
    let r = app.post("registerAccount", REGISTER, body, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json["access_token"].as_str().expect("access_token");
    assert_eq!(r.json["token"], token);
    let me = app
        .get("getAccount", "/_matrix/identity/v2/account", Some(token))
        .await;
    assert_eq!(me.json["user_id"], format!("@min:{}", hs.server_name()));
    // A token_type that is given must still be Bearer.
    let body = json!({"access_token": "openid-min", "matrix_server_name": hs.server_name(),
                      "token_type": "MAC"});
    let r = app.post("registerAccount", REGISTER, body, None).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_PARAM"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn register_refuses_unknown_tokens_foreign_users_and_bad_names() {
    let hs = FakeHomeserver::start().await;
    hs.issue("foreign", "@mallory:evil.example");
    let app = TestApp::start().await;
    let r = app
        .post(
            "registerAccount",
            REGISTER,
            openid_body(&hs.server_name(), "nope"),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let r = app
        .post(
            "registerAccount",
            REGISTER,
            openid_body(&hs.server_name(), "foreign"),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (403, "M_FORBIDDEN"));
    let r = app
        .post(
            "registerAccount",
            REGISTER,
            openid_body("bad/name", "x"),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_INVALID_PARAM"));
}

#[tokio::test]
async fn loopback_homeservers_are_refused_unless_allowed() {
    let hs = FakeHomeserver::start().await;
    hs.issue("t", &format!("@a:{}", hs.server_name()));
    let app = TestApp::start_with(|c| c.federation.allow_private_addresses = false).await;
    let r = app
        .post(
            "registerAccount",
            REGISTER,
            openid_body(&hs.server_name(), "t"),
            None,
        )
        .await;
    // The same answer as for a homeserver that does not answer (issue 21).
    assert_eq!((r.status, r.errcode()), (502, "M_UNKNOWN"), "{}", r.text);
}

/// Unauthenticated requests that make us call out (issue 21): one answer whatever the
/// outbound call's failure (a denied address reads like no answer), a failed homeserver is
/// not asked again for a while, and each client has a budget of such requests.
#[tokio::test]
async fn register_fails_one_way_remembers_failures_and_is_limited_per_client() {
    let hs = FakeHomeserver::start().await;
    hs.issue("good", &format!("@a:{}", hs.server_name()));
    let app = TestApp::start_with(|c| {
        c.federation.extra_denied = vec!["127.0.0.3/32".parse().expect("net")];
        c.ratelimit.outbound_per_ip_per_minute = 4;
    })
    .await;
    let register = |name: String, token: &'static str| {
        let app = &app;
        async move {
            app.post("registerAccount", REGISTER, openid_body(&name, token), None)
                .await
        }
    };
    let denied = register("127.0.0.3:1".into(), "x").await;
    let silent = register("127.0.0.1:1".into(), "x").await;
    assert_eq!(
        (denied.status, denied.errcode()),
        (502, "M_UNKNOWN"),
        "{}",
        denied.text
    );
    assert_eq!(
        (denied.status, &denied.json),
        (silent.status, &silent.json),
        "a denied address and a dead port answer alike"
    );

    // A homeserver that failed is not asked again for 30 s, even once it is back.
    hs.set_calls_down(true);
    assert_eq!(register(hs.server_name(), "good").await.status, 502);
    hs.set_calls_down(false);
    app.clock.advance_ms(1_000);
    assert_eq!(
        register(hs.server_name(), "good").await.status,
        502,
        "remembered"
    );
    // That was the client's 4th such request this minute: the 5th is refused at once.
    let r = register(hs.server_name(), "good").await;
    r.assert_limited();
    assert!(r.headers.contains_key("retry-after"));
    app.clock.advance_ms(60_000);
    let r = register(hs.server_name(), "good").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn access_token_in_query_only_when_allowed() {
    let app = TestApp::start().await;
    let token = app.token_for("@q:hs.test").await;
    let path = format!("/_matrix/identity/v2/account?access_token={token}");
    let r = app.get("getAccount", &path, None).await;
    assert_eq!(
        (r.status, r.json["user_id"].as_str()),
        (200, Some("@q:hs.test"))
    );

    let strict = TestApp::start_with(|c| c.auth.accept_query_access_token = false).await;
    let token = strict.token_for("@q:hs.test").await;
    let r = strict
        .get(
            "getAccount",
            &format!("/_matrix/identity/v2/account?access_token={token}"),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let r = strict
        .get("getAccount", "/_matrix/identity/v2/account", Some(&token))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn missing_or_malformed_tokens_are_unauthorized() {
    let app = TestApp::start().await;
    let r = app
        .get("getAccount", "/_matrix/identity/v2/account", None)
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let r = app
        .get(
            "getAccount",
            "/_matrix/identity/v2/account",
            Some("unknown"),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let r = app
        .post(
            "logout",
            "/_matrix/identity/v2/account/logout",
            json!({}),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
}

fn write_policies(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("policies.json");
    std::fs::write(
        &path,
        json!({"policies": {
            "privacy": {"version": "1.0",
                        "en": {"name": "Privacy Policy", "url": "https://is.test/privacy/en/1.0"},
                        "fr": {"name": "Politique", "url": "https://is.test/privacy/fr/1.0"}},
            "tos": {"version": "2.0", "en": {"name": "Terms", "url": "https://is.test/tos/en/2.0"}}}})
        .to_string(),
    )
    .expect("write policies");
    path
}

#[tokio::test]
async fn terms_gate_until_every_policy_is_accepted() {
    let policies_dir = tempfile::tempdir().expect("tmp");
    let file = write_policies(policies_dir.path());
    let app = TestApp::start_with(|c| c.terms.policies_file = Some(file)).await;
    let terms = app
        .get("getTerms", "/_matrix/identity/v2/terms", None)
        .await;
    assert_eq!(terms.status, 200);
    assert_eq!(terms.json["policies"]["tos"]["version"], "2.0");
    assert_eq!(
        terms.json["policies"]["privacy"]["fr"]["url"],
        "https://is.test/privacy/fr/1.0"
    );

    let token = app.token_for("@t:hs.test").await;
    let r = app
        .get("getAccount", "/_matrix/identity/v2/account", Some(&token))
        .await;
    assert_eq!((r.status, r.errcode()), (403, "M_TERMS_NOT_SIGNED"));
    // Lookups are gated too, as in the reference server.
    let r = app
        .get(
            "getHashDetails",
            "/_matrix/identity/v2/hash_details",
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (403, "M_TERMS_NOT_SIGNED"));
    let lookup = json!({"algorithm": "none", "pepper": "p", "addresses": ["a@b.c email"]});
    let r = app
        .post(
            "lookupUsersV2",
            "/_matrix/identity/v2/lookup",
            lookup.clone(),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (403, "M_TERMS_NOT_SIGNED"));

    // Piecemeal acceptance is appended; one language of a policy is enough.
    let r = app
        .post(
            "agreeToTerms",
            "/_matrix/identity/v2/terms",
            json!({"user_accepts": ["https://is.test/privacy/fr/1.0"]}),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.json.clone()), (200, json!({})));
    let r = app
        .get("getAccount", "/_matrix/identity/v2/account", Some(&token))
        .await;
    assert_eq!(r.errcode(), "M_TERMS_NOT_SIGNED");
    app.post(
        "agreeToTerms",
        "/_matrix/identity/v2/terms",
        json!({"user_accepts": ["https://is.test/tos/en/2.0"]}),
        Some(&token),
    )
    .await;
    let r = app
        .get("getAccount", "/_matrix/identity/v2/account", Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .get(
            "getHashDetails",
            "/_matrix/identity/v2/hash_details",
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = app
        .post(
            "agreeToTerms",
            "/_matrix/identity/v2/terms",
            json!({"user_accepts": ["https://elsewhere/"]}),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_INVALID_PARAM"));
}

#[tokio::test]
async fn no_policies_means_no_gate_and_empty_terms() {
    let app = TestApp::start().await;
    let r = app
        .get("getTerms", "/_matrix/identity/v2/terms", None)
        .await;
    assert_eq!(r.json, json!({"policies": {}}));
}

/// sydent's `enable_v1_access` / `enable_v1_associations`: switched-off v1 paths answer as
/// unknown paths; v2 is untouched.
#[tokio::test]
async fn v1_can_be_switched_off_whole_or_bind_only() {
    let app = TestApp::start_with(|c| c.api.enable_v1_access = false).await;
    let r = app.get("ping", "/_matrix/identity/api/v1", None).await;
    assert_eq!(
        (r.status, r.errcode()),
        (404, "M_UNRECOGNIZED"),
        "{}",
        r.text
    );
    let r = app
        .get(
            "lookupUser",
            "/_matrix/identity/api/v1/lookup?medium=email&address=a@b.c",
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (404, "M_UNRECOGNIZED"));
    let r = app.get("pingV2", "/_matrix/identity/v2", None).await;
    assert_eq!(r.status, 200);

    let app = TestApp::start_with(|c| c.api.enable_v1_associations = false).await;
    let bind = json!({"sid": "1", "client_secret": "s", "mxid": "@a:b.c"});
    let r = app
        .post("bind", "/_matrix/identity/api/v1/3pid/bind", bind, None)
        .await;
    assert_eq!(
        (r.status, r.errcode()),
        (404, "M_UNRECOGNIZED"),
        "{}",
        r.text
    );
    let r = app.get("ping", "/_matrix/identity/api/v1", None).await;
    assert_eq!(r.status, 200);
}

/// Bounded growth (issue 21): a token unused for `[auth] token_unused_lifetime` stops
/// working and housekeeping deletes it; a token in use stays (use is recorded hourly);
/// registering past `[auth] max_tokens_per_account` drops the account's oldest token.
#[tokio::test]
async fn unused_tokens_expire_and_accounts_keep_their_newest() {
    const DAY: i64 = 86_400_000;
    let hs = FakeHomeserver::start().await;
    let user = format!("@many:{}", hs.server_name());
    let app = TestApp::start_with(|c| c.auth.max_tokens_per_account = 3).await;
    let account = |token: String| {
        let app = &app;
        async move {
            app.get("getAccount", "/_matrix/identity/v2/account", Some(&token))
                .await
                .status
        }
    };
    let mut tokens = Vec::new();
    for i in 0..4 {
        hs.issue(&format!("openid-{i}"), &user);
        let r = app
            .post(
                "registerAccount",
                REGISTER,
                openid_body(&hs.server_name(), &format!("openid-{i}")),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        tokens.push(r.json["token"].as_str().expect("token").to_owned());
        app.clock.advance_ms(1_000);
    }
    assert_eq!(
        account(tokens[0].clone()).await,
        401,
        "the oldest of 4 is gone"
    );
    for t in &tokens[1..] {
        assert_eq!(account(t.clone()).await, 200);
    }

    // tokens[1] is used every 20 days, tokens[2] never again: only the used one lasts.
    for _ in 0..3 {
        app.clock.advance_ms(20 * DAY);
        assert_eq!(account(tokens[1].clone()).await, 200);
    }
    assert_eq!(account(tokens[2].clone()).await, 401, "unused for 60 days");
    let purged = app
        .shared_state()
        .services
        .accounts
        .purge_unused_tokens()
        .await
        .expect("purge");
    assert_eq!(purged, 2, "tokens[2] and tokens[3]");
    assert!(
        app.store()
            .access_token_owner(&tokens[2])
            .await
            .expect("store")
            .is_none(),
        "the row is deleted"
    );
    assert_eq!(account(tokens[1].clone()).await, 200);
}
