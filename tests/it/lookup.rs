//! Public keys, v1 lookups and v2 hashed lookups, end to end over HTTP.

use crate::common::{SERVER_NAME, START_MS, TestApp, at, test_key, user};
use oxident::crypto::{PublicKey, b64, lookup_hash, verify_json};
use oxident::store::Association;
use serde_json::{Value, json};

const V2_LOOKUP: &str = "/_matrix/identity/v2/lookup";
const V2_HASH_DETAILS: &str = "/_matrix/identity/v2/hash_details";
const V1_LOOKUP: &str = "/_matrix/identity/api/v1/lookup";
const V1_BULK: &str = "/_matrix/identity/api/v1/bulk_lookup";

async fn seed(app: &TestApp, medium: &str, address: &str, mxid: &str) {
    app.store()
        .bind(&Association {
            medium: oxident::domain::Medium::parse(medium).expect("a medium"),
            address: address.into(),
            mxid: user(mxid),
            ts: at(START_MS),
            not_before: at(START_MS),
            not_after: at(START_MS + 1000),
        })
        .await
        .expect("seed association");
}

async fn seed_spec_people(app: &TestApp) {
    seed(app, "email", "alice@example.com", "@alice:example.com").await;
    seed(app, "email", "bob@example.com", "@bob:example.com").await;
    seed(app, "msisdn", "18005552067", "@phone:example.com").await;
}

async fn hash_details(app: &TestApp, token: &str) -> Value {
    let r = app
        .get("getHashDetails", V2_HASH_DETAILS, Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

async fn lookup_v2(app: &TestApp, token: &str, body: Value) -> crate::common::Reply {
    app.post("lookupUsersV2", V2_LOOKUP, body, Some(token))
        .await
}

// ----- keys -----

#[tokio::test]
async fn pubkey_by_id_in_both_versions_and_percent_encoded() {
    let app = TestApp::start().await;
    let expected = test_key().public_key().to_base64();
    for (op, path) in [
        ("getPubKeyV2", "/_matrix/identity/v2/pubkey/ed25519:0"),
        ("getPubKeyV2", "/_matrix/identity/v2/pubkey/ed25519%3A0"),
        ("getPubKey", "/_matrix/identity/api/v1/pubkey/ed25519:0"),
        ("getPubKey", "/_matrix/identity/api/v1/pubkey/ed25519%3a0"),
    ] {
        let r = app.get(op, path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.json, json!({ "public_key": expected }), "{path}");
    }
    for (op, path) in [
        ("getPubKeyV2", "/_matrix/identity/v2/pubkey/ed25519:1"),
        ("getPubKey", "/_matrix/identity/api/v1/pubkey/curve25519:0"),
    ] {
        let r = app.get(op, path, None).await;
        assert_eq!((r.status, r.errcode()), (404, "M_NOT_FOUND"), "{path}");
    }
}

#[tokio::test]
async fn long_term_key_validity() {
    let app = TestApp::start().await;
    let key = test_key().public_key();
    let unpadded = key.to_base64();
    let padded = format!("{unpadded}=");
    let url_safe = key.to_base64_url_safe();
    let other = oxident::crypto::SigningKey::from_seed("0", &[8u8; 32])
        .expect("key")
        .public_key()
        .to_base64();
    let q = |k: &str| form_encode(k);
    for (op, base) in [
        ("isPubKeyValidV2", "/_matrix/identity/v2/pubkey/isvalid"),
        ("isPubKeyValid", "/_matrix/identity/api/v1/pubkey/isvalid"),
    ] {
        for (candidate, valid) in [
            (unpadded.as_str(), true),
            (padded.as_str(), true),
            (url_safe.as_str(), true),
            (other.as_str(), false),
            ("not base64!", false),
            ("", false),
        ] {
            let r = app
                .get(op, &format!("{base}?public_key={}", q(candidate)), None)
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(r.json, json!({ "valid": valid }), "{op} {candidate:?}");
        }
    }
}

/// `application/x-www-form-urlencoded` value encoding (what an HTTP client sends).
pub fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ----- v1 lookups -----

#[tokio::test]
async fn v1_lookup_returns_an_association_verifiable_with_the_published_key() {
    let app = TestApp::start().await;
    seed(&app, "email", "alice@example.com", "@alice:example.com").await;
    let r = app
        .get(
            "lookupUser",
            &format!("{V1_LOOKUP}?medium=email&address=alice%40example.com"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["mxid"], "@alice:example.com");
    assert_eq!(r.json["address"], "alice@example.com");
    assert_eq!(r.json["medium"], "email");
    assert_eq!(r.json["ts"], START_MS);
    assert_eq!(r.json["not_before"], START_MS);
    assert_eq!(r.json["not_after"], START_MS + 1000);

    let key = app
        .get("getPubKeyV2", "/_matrix/identity/v2/pubkey/ed25519:0", None)
        .await;
    let public_key =
        PublicKey::from_base64(key.json["public_key"].as_str().expect("key")).expect("valid key");
    verify_json(&r.json, SERVER_NAME, "ed25519:0", &public_key).expect("signature verifies");
    let mut tampered = r.json.clone();
    tampered["mxid"] = json!("@mallory:example.com");
    assert!(verify_json(&tampered, SERVER_NAME, "ed25519:0", &public_key).is_err());

    // Case folding: the query is canonicalised before the comparison.
    let r = app
        .get(
            "lookupUser",
            &format!("{V1_LOOKUP}?medium=email&address=Alice%40EXAMPLE.com"),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.json["mxid"].as_str()),
        (200, Some("@alice:example.com"))
    );
}

#[tokio::test]
async fn v1_lookup_of_an_unbound_3pid() {
    let app = TestApp::start().await;
    let r = app
        .get(
            "lookupUser",
            &format!("{V1_LOOKUP}?medium=email&address=nobody%40example.com"),
            None,
        )
        .await;
    // An unbound 3PID answers 200 `{}` (the spec's 200 schema allows it).
    assert_eq!((r.status, r.json.clone()), (200, json!({})), "{}", r.text);
}

#[tokio::test]
async fn v1_bulk_lookup_returns_known_threepids_as_sent() {
    let app = TestApp::start_with(|c| c.lookup.max_addresses = 3).await;
    seed_spec_people(&app).await;
    let r = app
        .post(
            "lookupUsers",
            V1_BULK,
            json!({"threepids": [
                ["email", "Alice@Example.com"],
                ["email", "nobody@example.com"],
                ["msisdn", "18005552067"],
            ]}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"threepids": [
            ["email", "Alice@Example.com", "@alice:example.com"],
            ["msisdn", "18005552067", "@phone:example.com"],
        ]})
    );

    let r = app
        .post("lookupUsers", V1_BULK, json!({"threepids": []}), None)
        .await;
    assert_eq!((r.status, r.json.clone()), (200, json!({"threepids": []})));

    let four: Vec<Value> = (0..4)
        .map(|i| json!(["email", format!("u{i}@example.com")]))
        .collect();
    let r = app
        .post("lookupUsers", V1_BULK, json!({ "threepids": four }), None)
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_TOO_LARGE"), "{}", r.text);
}

// ----- v2 -----

#[tokio::test]
async fn v2_needs_an_access_token() {
    let app = TestApp::start().await;
    let r = app.get("getHashDetails", V2_HASH_DETAILS, None).await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let r = app
        .post(
            "lookupUsersV2",
            V2_LOOKUP,
            json!({"algorithm": "sha256", "pepper": "x", "addresses": []}),
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
    let r = app
        .get("getHashDetails", V2_HASH_DETAILS, Some("not-a-token"))
        .await;
    assert_eq!((r.status, r.errcode()), (401, "M_UNAUTHORIZED"));
}

#[tokio::test]
async fn hash_details_pepper_is_stable_and_survives_a_restart() {
    let mut app = TestApp::start().await;
    let token = app.token_for("@alice:example.org").await;
    let first = hash_details(&app, &token).await;
    let pepper = first["lookup_pepper"].as_str().expect("pepper").to_owned();
    assert!(pepper.len() >= 20, "a strong pepper: {pepper:?}");
    let mut algorithms: Vec<&str> = first["algorithms"]
        .as_array()
        .expect("algorithms")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    algorithms.sort_unstable();
    assert_eq!(algorithms, ["none", "sha256"]);
    assert_eq!(hash_details(&app, &token).await["lookup_pepper"], pepper);

    app.restart().await;
    assert_eq!(hash_details(&app, &token).await["lookup_pepper"], pepper);
}

#[tokio::test]
async fn sha256_spec_vectors_through_the_api() {
    let app = TestApp::start().await;
    let token = app.token_for("@caller:example.org").await;
    seed_spec_people(&app).await;
    app.store()
        .get_or_create_lookup_pepper("matrixrocks")
        .await
        .expect("pepper");
    assert_eq!(
        hash_details(&app, &token).await["lookup_pepper"],
        "matrixrocks"
    );

    let alice = "4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc";
    let bob = "LJwSazmv46n0hlMlsb_iYxI0_HXEqy_yj6Jm636cdT8";
    let phone = "nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I";
    let unknown = lookup_hash("carol@example.com", "email", "matrixrocks");
    let r = lookup_v2(
        &app,
        &token,
        json!({
            "algorithm": "sha256",
            "pepper": "matrixrocks",
            "addresses": [alice, bob, phone, unknown, "garbage", alice],
        }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"mappings": {
            alice: "@alice:example.com",
            bob: "@bob:example.com",
            phone: "@phone:example.com",
        }})
    );

    // Other encodings of the same digest are different strings: no match.
    let padded = format!("{alice}=");
    let standard = b64::encode(&b64::decode(bob).expect("b64"));
    assert_ne!(standard, bob);
    let r = lookup_v2(
        &app,
        &token,
        json!({"algorithm": "sha256", "pepper": "matrixrocks", "addresses": [padded, standard]}),
    )
    .await;
    assert_eq!((r.status, r.json.clone()), (200, json!({"mappings": {}})));
}

#[tokio::test]
async fn sha256_lookup_hashes_the_canonical_address() {
    let app = TestApp::start().await;
    let token = app.token_for("@caller:example.org").await;
    seed(&app, "email", "strauss@example.com", "@strauss:example.com").await;
    let pepper = hash_details(&app, &token).await["lookup_pepper"]
        .as_str()
        .expect("pepper")
        .to_owned();
    let folded = lookup_hash("strauss@example.com", "email", &pepper);
    let unfolded = lookup_hash("Strauß@Example.com", "email", &pepper);
    let r = lookup_v2(
        &app,
        &token,
        json!({"algorithm": "sha256", "pepper": pepper, "addresses": [folded, unfolded]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"mappings": { folded: "@strauss:example.com" }})
    );
}

#[tokio::test]
async fn none_algorithm_folds_case_and_echoes_entries() {
    let app = TestApp::start().await;
    let token = app.token_for("@caller:example.org").await;
    seed_spec_people(&app).await;
    let pepper = hash_details(&app, &token).await["lookup_pepper"]
        .as_str()
        .expect("pepper")
        .to_owned();
    let r = lookup_v2(
        &app,
        &token,
        json!({
            "algorithm": "none",
            "pepper": pepper,
            "addresses": [
                "Alice@Example.com email",
                "18005552067 msisdn",
                "bob@example.com msisdn",
                "carol@example.com email",
                "no-medium",
                "",
            ],
        }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"mappings": {
            "Alice@Example.com email": "@alice:example.com",
            "18005552067 msisdn": "@phone:example.com",
        }})
    );
}

#[tokio::test]
async fn wrong_pepper_names_the_current_one() {
    let app = TestApp::start().await;
    let token = app.token_for("@caller:example.org").await;
    seed_spec_people(&app).await;
    let pepper = hash_details(&app, &token).await["lookup_pepper"]
        .as_str()
        .expect("pepper")
        .to_owned();
    for algorithm in ["sha256", "none"] {
        let r = lookup_v2(
            &app,
            &token,
            json!({"algorithm": algorithm, "pepper": "stale", "addresses": ["alice@example.com email"]}),
        )
        .await;
        assert_eq!(
            (r.status, r.errcode()),
            (400, "M_INVALID_PEPPER"),
            "{}",
            r.text
        );
        assert_eq!(r.json["algorithm"], algorithm);
        assert_eq!(r.json["lookup_pepper"], pepper.as_str());
    }

    // After a rotation the old pepper is refused, the error names the new one, and the hashes
    // under the new pepper match.
    app.store()
        .rotate_lookup_pepper("fresh-pepper")
        .await
        .expect("rotate");
    let old_hash = lookup_hash("alice@example.com", "email", &pepper);
    let r = lookup_v2(
        &app,
        &token,
        json!({"algorithm": "sha256", "pepper": pepper, "addresses": [old_hash]}),
    )
    .await;
    assert_eq!((r.status, r.errcode()), (400, "M_INVALID_PEPPER"));
    assert_eq!(r.json["lookup_pepper"], "fresh-pepper");
    let new_hash = lookup_hash("alice@example.com", "email", "fresh-pepper");
    let r = lookup_v2(
        &app,
        &token,
        json!({"algorithm": "sha256", "pepper": "fresh-pepper", "addresses": [new_hash]}),
    )
    .await;
    assert_eq!(
        r.json,
        json!({"mappings": { new_hash: "@alice:example.com" }})
    );
}

#[tokio::test]
async fn wrong_pepper_before_any_hash_details_creates_the_pepper() {
    let app = TestApp::start().await;
    let token = app.token_for("@caller:example.org").await;
    let r = lookup_v2(
        &app,
        &token,
        json!({"algorithm": "sha256", "pepper": "guess", "addresses": []}),
    )
    .await;
    assert_eq!((r.status, r.errcode()), (400, "M_INVALID_PEPPER"));
    let current = hash_details(&app, &token).await["lookup_pepper"].clone();
    assert_eq!(r.json["lookup_pepper"], current);
}

#[tokio::test]
async fn unknown_algorithm_and_too_many_addresses() {
    let app = TestApp::start_with(|c| c.lookup.max_addresses = 2).await;
    let token = app.token_for("@caller:example.org").await;
    let pepper = hash_details(&app, &token).await["lookup_pepper"]
        .as_str()
        .expect("pepper")
        .to_owned();
    let r = lookup_v2(
        &app,
        &token,
        json!({"algorithm": "md5", "pepper": pepper, "addresses": ["x"]}),
    )
    .await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_PARAM"),
        "{}",
        r.text
    );
    let r = lookup_v2(
        &app,
        &token,
        json!({"algorithm": "sha256", "pepper": pepper, "addresses": ["a", "b", "c"]}),
    )
    .await;
    assert_eq!((r.status, r.errcode()), (400, "M_TOO_LARGE"), "{}", r.text);
    let r = lookup_v2(
        &app,
        &token,
        json!({"algorithm": "sha256", "pepper": pepper, "addresses": ["a", "b"]}),
    )
    .await;
    assert_eq!((r.status, r.json.clone()), (200, json!({"mappings": {}})));
}

#[tokio::test]
async fn lookups_are_rate_limited_per_client() {
    let app = TestApp::start_with(|c| c.ratelimit.lookup_per_ip_per_second = 2).await;
    let path = format!("{V1_LOOKUP}?medium=email&address=a%40example.com");
    for _ in 0..2 {
        let r = app.get("lookupUser", &path, None).await;
        assert_ne!(r.status, 429);
    }
    let r = app.get("lookupUser", &path, None).await;
    assert_eq!((r.status, r.errcode()), (429, "M_LIMIT_EXCEEDED"));
    assert!(r.json["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0));
    let token = app.token_for("@caller:example.org").await;
    let r = lookup_v2(
        &app,
        &token,
        json!({"algorithm": "sha256", "pepper": "x", "addresses": []}),
    )
    .await;
    assert_eq!((r.status, r.errcode()), (429, "M_LIMIT_EXCEEDED"));
}

/// Enumeration (issue 21): an account's v2 lookups are counted in hashes against an hourly
/// and a daily budget (off by default); over it, 429 `M_LIMIT_EXCEEDED` with `Retry-After`
/// and `retry_after_ms`. A refused request spends nothing; other accounts are not affected.
#[tokio::test]
async fn v2_lookups_spend_an_account_budget_counted_in_hashes() {
    let app = TestApp::start_with(|c| {
        c.lookup.max_addresses = 4;
        c.ratelimit.lookup_hashes_per_account_per_hour = 5;
        c.ratelimit.lookup_hashes_per_account_per_day = 8;
    })
    .await;
    let token = app.token_for("@counter:example.org").await;
    let pepper = hash_details(&app, &token).await["lookup_pepper"]
        .as_str()
        .expect("pepper")
        .to_owned();
    let hashes = |n: usize| -> Value {
        let addresses: Vec<String> = (0..n).map(|i| format!("h{i}")).collect();
        json!({"algorithm": "sha256", "pepper": pepper, "addresses": addresses})
    };
    // One request of 4 hashes, then 3 more do not fit in the hour's 5 …
    assert_eq!(lookup_v2(&app, &token, hashes(4)).await.status, 200);
    let r = lookup_v2(&app, &token, hashes(3)).await;
    r.assert_limited();
    let retry_ms = r.json["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!(retry_ms > 0);
    let header: u64 = r.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        header >= 1 && header * 1000 >= retry_ms,
        "{header} s, {retry_ms} ms"
    );
    // … but 1 does: the refused request spent nothing.
    assert_eq!(lookup_v2(&app, &token, hashes(1)).await.status, 200);
    assert_eq!(lookup_v2(&app, &token, hashes(1)).await.status, 429);
    // Another account has its own budget.
    let other = app.token_for("@other:example.org").await;
    assert_eq!(lookup_v2(&app, &other, hashes(4)).await.status, 200);
    // An hour later the hourly budget is back, and the day's 8 is what binds.
    app.clock.advance_ms(3_600_000);
    assert_eq!(lookup_v2(&app, &token, hashes(3)).await.status, 200);
    let r = lookup_v2(&app, &token, hashes(1)).await;
    r.assert_limited();
    assert!(
        r.json["retry_after_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 3_600_000)
    );
}
