//! Differential test against the real sydent 2.6.1: one script of requests (every operation
//! both serve, documented errors, v1 and v2, form bodies, the mail flows through SMTP sinks)
//! runs against sydent and against Oxident; statuses, errcodes, the shape of every answer
//! (keys and value types) and the mails (headers and body lines, with each server's own
//! tokens, ids and URLs replaced by names) are compared. Every remaining difference is listed
//! with its reason in `tests/sydent_differences.toml`; the test fails on a difference that is
//! not listed, and on a listed one that no longer happens unless it is marked `pending` (the
//! list stays true).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::common::{TestApp, check_against_spec, read_reply};
use crate::fake_homeserver::FakeHomeserver;
use crate::smtp_sink::SmtpSink;
use crate::sydent_peer::{self, Peer, SYDENT_SERVER_NAME, SydentOptions};
use oxident::crypto::lookup_hash;
use serde::Deserialize;
use serde_json::Value;

const DIFFERENCES: &str = include_str!("../sydent_differences.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    Json(&'static str),
    Form(&'static str),
}

#[derive(Debug, Clone, Copy)]
struct Step {
    /// Unique name, used in the differences file.
    name: &'static str,
    /// operationId, for checking Oxident's answer against our spec.
    op: &'static str,
    method: &'static str,
    /// `{var}` is replaced by the server's own value.
    path: &'static str,
    body: Body,
    auth: bool,
    /// `(var, JSON pointer)` taken from the answer.
    capture: &'static [(&'static str, &'static str)],
    /// `(var, name)` taken from the `name=` line of the mail this step sent.
    mail: &'static [(&'static str, &'static str)],
}

const fn step(
    name: &'static str,
    op: &'static str,
    method: &'static str,
    path: &'static str,
) -> Step {
    Step {
        name,
        op,
        method,
        path,
        body: Body::None,
        auth: false,
        capture: &[],
        mail: &[],
    }
}

const V1: &str = "/_matrix/identity/api/v1";

macro_rules! v1 {
    ($p:literal) => {
        concat!("/_matrix/identity/api/v1", $p)
    };
}
macro_rules! v2 {
    ($p:literal) => {
        concat!("/_matrix/identity/v2", $p)
    };
}

fn script() -> Vec<Step> {
    let mut s = Vec::new();
    let mut add = |st: Step| s.push(st);
    // Status and keys.
    add(step("v1 status", "ping", "GET", V1));
    add(step("v2 status", "pingV2", "GET", "/_matrix/identity/v2"));
    add(step(
        "versions",
        "getVersions",
        "GET",
        "/_matrix/identity/versions",
    ));
    add(Step {
        capture: &[("server_pk", "/public_key")],
        ..step("v1 pubkey", "getPubKey", "GET", v1!("/pubkey/ed25519:0"))
    });
    add(step(
        "v2 pubkey",
        "getPubKeyV2",
        "GET",
        v2!("/pubkey/ed25519:0"),
    ));
    add(step(
        "v1 pubkey unknown",
        "getPubKey",
        "GET",
        v1!("/pubkey/ed25519:99"),
    ));
    add(step(
        "v2 pubkey unknown",
        "getPubKeyV2",
        "GET",
        v2!("/pubkey/ed25519:99"),
    ));
    add(step(
        "v1 pubkey isvalid",
        "isPubKeyValid",
        "GET",
        v1!("/pubkey/isvalid?public_key={server_pk}"),
    ));
    add(step(
        "v2 pubkey isvalid",
        "isPubKeyValidV2",
        "GET",
        v2!("/pubkey/isvalid?public_key={server_pk}"),
    ));
    add(step(
        "v1 pubkey isvalid other",
        "isPubKeyValid",
        "GET",
        v1!("/pubkey/isvalid?public_key=AAAA"),
    ));
    add(step(
        "v1 pubkey isvalid missing",
        "isPubKeyValid",
        "GET",
        v1!("/pubkey/isvalid"),
    ));
    add(step(
        "v1 ephemeral isvalid other",
        "isEphemeralPubKeyValid",
        "GET",
        v1!("/pubkey/ephemeral/isvalid?public_key=AAAA"),
    ));

    // v1 email validation, JSON and form bodies.
    add(Step {
        body: Body::Json(r#"{"client_secret": "sec1", "send_attempt": 1}"#),
        ..step(
            "v1 requestToken no email",
            "emailRequestToken",
            "POST",
            v1!("/validate/email/requestToken"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"email": "not-an-address", "client_secret": "sec1", "send_attempt": 1}"#,
        ),
        ..step(
            "v1 requestToken bad email",
            "emailRequestToken",
            "POST",
            v1!("/validate/email/requestToken"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"email": "a@example.org", "client_secret": "bad secret!", "send_attempt": 1}"#,
        ),
        ..step(
            "v1 requestToken bad secret",
            "emailRequestToken",
            "POST",
            v1!("/validate/email/requestToken"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"email": "alice@example.org", "client_secret": "sec1", "send_attempt": 1}"#,
        ),
        capture: &[("sid1", "/sid")],
        mail: &[("token1", "token"), ("link1", "link")],
        ..step(
            "v1 requestToken",
            "emailRequestToken",
            "POST",
            v1!("/validate/email/requestToken"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"email": "alice@example.org", "client_secret": "sec1", "send_attempt": 1}"#,
        ),
        ..step(
            "v1 requestToken same attempt",
            "emailRequestToken",
            "POST",
            v1!("/validate/email/requestToken"),
        )
    });
    add(Step {
        body: Body::Form("email=bob%40example.org&client_secret=sec2&send_attempt=1"),
        capture: &[("sid2", "/sid")],
        mail: &[("token2", "token")],
        ..step(
            "v1 requestToken form",
            "emailRequestToken",
            "POST",
            v1!("/validate/email/requestToken"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"email": "lee@example.org", "client_secret": "sec9", "send_attempt": 1}"#,
        ),
        capture: &[("sid9", "/sid")],
        mail: &[("token9", "token")],
        ..step(
            "v1 requestToken legacy template",
            "emailRequestToken",
            "POST",
            v1!("/validate/email/requestToken?brand=legacy"),
        )
    });
    add(step(
        "v1 submitToken GET legacy page",
        "emailSubmitTokenGet",
        "GET",
        v1!(
            "/validate/email/submitToken?sid={sid9}&client_secret=sec9&token={token9}&brand=legacy"
        ),
    ));
    add(Step {
        body: Body::Json(
            r#"{"email": "nina@example.org", "client_secret": "sec8", "send_attempt": 1, "next_link": "https://app.example.org/after"}"#,
        ),
        capture: &[("sid8", "/sid")],
        mail: &[("token8", "token"), ("link8", "link")],
        ..step(
            "v1 requestToken next_link",
            "emailRequestToken",
            "POST",
            v1!("/validate/email/requestToken"),
        )
    });
    add(step(
        "v1 submitToken GET next_link",
        "emailSubmitTokenGet",
        "GET",
        v1!(
            "/validate/email/submitToken?sid={sid8}&client_secret=sec8&token={token8}&nextLink=https%3A%2F%2Fapp.example.org%2Fafter"
        ),
    ));
    add(Step {
        body: Body::Json(r#"{"sid": "{sid1}", "client_secret": "sec1", "token": "wrong"}"#),
        ..step(
            "v1 submitToken wrong token",
            "emailSubmitTokenPost",
            "POST",
            v1!("/validate/email/submitToken"),
        )
    });
    add(Step {
        body: Body::Json(r#"{"sid": "{sid1}", "client_secret": "sec1"}"#),
        ..step(
            "v1 submitToken missing token",
            "emailSubmitTokenPost",
            "POST",
            v1!("/validate/email/submitToken"),
        )
    });
    add(step(
        "v1 getValidated3pid not validated",
        "getValidated3pid",
        "GET",
        v1!("/3pid/getValidated3pid?sid={sid1}&client_secret=sec1"),
    ));
    add(step(
        "v1 submitToken GET wrong",
        "emailSubmitTokenGet",
        "GET",
        v1!("/validate/email/submitToken?sid={sid1}&client_secret=sec1&token=wrong"),
    ));
    add(step(
        "v1 submitToken GET",
        "emailSubmitTokenGet",
        "GET",
        v1!("/validate/email/submitToken?sid={sid1}&client_secret=sec1&token={token1}"),
    ));
    add(Step {
        body: Body::Form("sid={sid2}&client_secret=sec2&token={token2}"),
        ..step(
            "v1 submitToken form",
            "emailSubmitTokenPost",
            "POST",
            v1!("/validate/email/submitToken"),
        )
    });
    add(step(
        "v1 getValidated3pid",
        "getValidated3pid",
        "GET",
        v1!("/3pid/getValidated3pid?sid={sid1}&client_secret=sec1"),
    ));
    add(step(
        "v1 getValidated3pid unknown sid",
        "getValidated3pid",
        "GET",
        v1!("/3pid/getValidated3pid?sid=999999&client_secret=sec1"),
    ));
    add(Step {
        body: Body::Json(r#"{"sid": "{sid1}", "client_secret": "sec1", "mxid": "@alice:hs.test"}"#),
        ..step("v1 bind", "bind", "POST", v1!("/3pid/bind"))
    });
    add(Step {
        body: Body::Form("sid={sid2}&client_secret=sec2&mxid=%40bob%3Ahs.test"),
        ..step("v1 bind form", "bind", "POST", v1!("/3pid/bind"))
    });
    add(Step {
        body: Body::Json(
            r#"{"sid": "{sid1}", "client_secret": "wrong", "mxid": "@alice:hs.test"}"#,
        ),
        ..step("v1 bind wrong secret", "bind", "POST", v1!("/3pid/bind"))
    });
    add(Step {
        body: Body::Json(r#"{"sid": "{sid1}", "client_secret": "sec1"}"#),
        ..step("v1 bind missing mxid", "bind", "POST", v1!("/3pid/bind"))
    });

    // v1 lookups.
    add(step(
        "v1 lookup",
        "lookupUser",
        "GET",
        v1!("/lookup?medium=email&address=alice@example.org"),
    ));
    add(step(
        "v1 lookup case",
        "lookupUser",
        "GET",
        v1!("/lookup?medium=email&address=ALICE@example.org"),
    ));
    add(step(
        "v1 lookup unbound",
        "lookupUser",
        "GET",
        v1!("/lookup?medium=email&address=nobody@example.org"),
    ));
    add(step(
        "v1 lookup missing",
        "lookupUser",
        "GET",
        v1!("/lookup?medium=email"),
    ));
    add(Step {
        body: Body::Json(
            r#"{"threepids": [["email", "alice@example.org"], ["email", "nobody@example.org"], ["email", "bob@example.org"]]}"#,
        ),
        ..step("v1 bulk_lookup", "lookupUsers", "POST", v1!("/bulk_lookup"))
    });
    add(Step {
        body: Body::Json(r#"{"threepids": "nope"}"#),
        ..step(
            "v1 bulk_lookup bad",
            "lookupUsers",
            "POST",
            v1!("/bulk_lookup"),
        )
    });

    // v1 invites.
    add(Step {
        body: Body::Json(
            r#"{"medium": "email", "address": "carol@example.org", "room_id": "!room:hs.test", "sender": "@alice:hs.test", "room_name": "Tea room", "sender_display_name": "Alice", "extra_param": "x"}"#,
        ),
        capture: &[("invite_token", "/token")],
        mail: &[("invite_sk", "private_key")],
        ..step(
            "v1 store-invite",
            "storeInvite",
            "POST",
            v1!("/store-invite"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"medium": "email", "address": "gina@example.org", "room_id": "!room:hs.test", "sender": "@alice:hs.test", "room_name": "<Tea> & \"biscuits\"", "sender_display_name": "Alice", "org.matrix.web_client_location": "https://chat.example.org/tea?x=1&y=2"}"#,
        ),
        capture: &[("invite_token4", "/token")],
        mail: &[("invite_sk4", "private_key")],
        ..step(
            "v1 store-invite legacy template",
            "storeInvite",
            "POST",
            v1!("/store-invite?brand=legacy"),
        )
    });
    add(Step {
        body: Body::Form(
            "medium=email&address=dave%40example.org&room_id=%21room%3Ahs.test&sender=%40alice%3Ahs.test",
        ),
        capture: &[("invite_token5", "/token")],
        mail: &[("invite_sk2", "private_key")],
        ..step(
            "v1 store-invite form",
            "storeInvite",
            "POST",
            v1!("/store-invite"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"medium": "email", "address": "alice@example.org", "room_id": "!room:hs.test", "sender": "@bob:hs.test"}"#,
        ),
        ..step(
            "v1 store-invite bound",
            "storeInvite",
            "POST",
            v1!("/store-invite"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"medium": "email", "address": "carol@example.org", "room_id": "!room:hs.test"}"#,
        ),
        ..step(
            "v1 store-invite missing sender",
            "storeInvite",
            "POST",
            v1!("/store-invite"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"medium": "msisdn", "address": "447700900000", "room_id": "!room:hs.test", "sender": "@alice:hs.test"}"#,
        ),
        ..step(
            "v1 store-invite msisdn",
            "storeInvite",
            "POST",
            v1!("/store-invite"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"mxid": "@carol:hs.test", "token": "{invite_token}", "private_key": "{invite_sk}"}"#,
        ),
        ..step(
            "v1 sign-ed25519",
            "blindlySignStuff",
            "POST",
            v1!("/sign-ed25519"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"mxid": "@carol:hs.test", "token": "nope", "private_key": "{invite_sk}"}"#,
        ),
        ..step(
            "v1 sign-ed25519 unknown token",
            "blindlySignStuff",
            "POST",
            v1!("/sign-ed25519"),
        )
    });
    add(Step {
        body: Body::Json(r#"{"mxid": "@carol:hs.test", "token": "{invite_token}"}"#),
        ..step(
            "v1 sign-ed25519 missing key",
            "blindlySignStuff",
            "POST",
            v1!("/sign-ed25519"),
        )
    });

    // v1 unbind by session.
    add(Step {
        body: Body::Json(
            r#"{"sid": "{sid2}", "client_secret": "sec2", "mxid": "@bob:hs.test", "threepid": {"medium": "email", "address": "bob@example.org"}}"#,
        ),
        ..step("v1 unbind", "unbind", "POST", v1!("/3pid/unbind"))
    });
    add(step(
        "v1 lookup after unbind",
        "lookupUser",
        "GET",
        v1!("/lookup?medium=email&address=bob@example.org"),
    ));

    // v2: accounts.
    add(Step {
        body: Body::Json(
            r#"{"access_token": "{openid}", "token_type": "Bearer", "matrix_server_name": "{hs}", "expires_in": 3600}"#,
        ),
        capture: &[("access", "/token")],
        ..step(
            "v2 register",
            "registerAccount",
            "POST",
            v2!("/account/register"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"access_token": "unknown", "token_type": "Bearer", "matrix_server_name": "{hs}", "expires_in": 3600}"#,
        ),
        ..step(
            "v2 register unknown openid",
            "registerAccount",
            "POST",
            v2!("/account/register"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"token_type": "Bearer", "matrix_server_name": "{hs}", "expires_in": 3600}"#,
        ),
        ..step(
            "v2 register missing token",
            "registerAccount",
            "POST",
            v2!("/account/register"),
        )
    });
    add(Step {
        auth: true,
        ..step(
            "v2 account before terms",
            "getAccount",
            "GET",
            v2!("/account"),
        )
    });
    add(Step {
        auth: true,
        body: Body::Json(r#"{"user_accepts": ["https://terms.test/unknown.html"]}"#),
        ..step(
            "v2 terms accept unknown",
            "agreeToTerms",
            "POST",
            v2!("/terms"),
        )
    });
    add(Step {
        auth: true,
        body: Body::Json(r#"{"user_accepts": "nope"}"#),
        ..step("v2 terms accept bad", "agreeToTerms", "POST", v2!("/terms"))
    });
    add(Step {
        auth: true,
        body: Body::Json(r#"{"user_accepts": ["https://terms.test/privacy-1.0-en.html"]}"#),
        ..step("v2 terms accept", "agreeToTerms", "POST", v2!("/terms"))
    });
    add(Step {
        body: Body::Json(r#"{"user_accepts": ["https://terms.test/privacy-1.0-en.html"]}"#),
        ..step(
            "v2 terms accept no token",
            "agreeToTerms",
            "POST",
            v2!("/terms"),
        )
    });
    add(Step {
        auth: true,
        ..step("v2 account", "getAccount", "GET", v2!("/account"))
    });
    add(step(
        "v2 account no token",
        "getAccount",
        "GET",
        v2!("/account"),
    ));
    add(step("v2 terms", "getTerms", "GET", v2!("/terms")));
    add(Step {
        auth: true,
        capture: &[("pepper", "/lookup_pepper")],
        ..step(
            "v2 hash_details",
            "getHashDetails",
            "GET",
            v2!("/hash_details"),
        )
    });
    add(step(
        "v2 hash_details no token",
        "getHashDetails",
        "GET",
        v2!("/hash_details"),
    ));

    // v2 email validation and bind.
    add(Step {
        auth: true,
        body: Body::Json(
            r#"{"email": "erin@example.org", "client_secret": "sec3", "send_attempt": 1}"#,
        ),
        capture: &[("sid3", "/sid")],
        mail: &[("token3", "token"), ("link3", "link")],
        ..step(
            "v2 requestToken",
            "emailRequestTokenV2",
            "POST",
            v2!("/validate/email/requestToken"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"email": "erin@example.org", "client_secret": "sec3", "send_attempt": 2}"#,
        ),
        ..step(
            "v2 requestToken no token",
            "emailRequestTokenV2",
            "POST",
            v2!("/validate/email/requestToken"),
        )
    });
    add(Step {
        auth: true,
        body: Body::Json(r#"{"sid": "{sid3}", "client_secret": "sec3", "token": "{token3}"}"#),
        ..step(
            "v2 submitToken",
            "emailSubmitTokenPostV2",
            "POST",
            v2!("/validate/email/submitToken"),
        )
    });
    add(Step {
        auth: true,
        ..step(
            "v2 getValidated3pid",
            "getValidated3pidV2",
            "GET",
            v2!("/3pid/getValidated3pid?sid={sid3}&client_secret=sec3"),
        )
    });
    add(Step {
        auth: true,
        body: Body::Json(r#"{"sid": "{sid3}", "client_secret": "sec3", "mxid": "@erin:hs.test"}"#),
        ..step("v2 bind", "bindV2", "POST", v2!("/3pid/bind"))
    });
    add(Step {
        body: Body::Json(r#"{"sid": "{sid3}", "client_secret": "sec3", "mxid": "@erin:hs.test"}"#),
        ..step("v2 bind no token", "bindV2", "POST", v2!("/3pid/bind"))
    });

    // v2 lookups.
    add(Step {
        auth: true,
        body: Body::Json(
            r#"{"algorithm": "sha256", "pepper": "{pepper}", "addresses": ["{hash_alice}", "{hash_erin}", "{hash_nobody}"]}"#,
        ),
        ..step("v2 lookup sha256", "lookupUsersV2", "POST", v2!("/lookup"))
    });
    add(Step {
        auth: true,
        body: Body::Json(
            r#"{"algorithm": "none", "pepper": "{pepper}", "addresses": ["alice@example.org email", "nobody@example.org email"]}"#,
        ),
        ..step("v2 lookup none", "lookupUsersV2", "POST", v2!("/lookup"))
    });
    add(Step {
        auth: true,
        body: Body::Json(
            r#"{"algorithm": "sha256", "pepper": "wrong", "addresses": ["{hash_alice}"]}"#,
        ),
        ..step(
            "v2 lookup wrong pepper",
            "lookupUsersV2",
            "POST",
            v2!("/lookup"),
        )
    });
    add(Step {
        auth: true,
        body: Body::Json(
            r#"{"algorithm": "md5", "pepper": "{pepper}", "addresses": ["{hash_alice}"]}"#,
        ),
        ..step(
            "v2 lookup bad algorithm",
            "lookupUsersV2",
            "POST",
            v2!("/lookup"),
        )
    });
    add(Step {
        auth: true,
        body: Body::Json(r#"{"algorithm": "sha256", "pepper": "{pepper}"}"#),
        ..step(
            "v2 lookup missing addresses",
            "lookupUsersV2",
            "POST",
            v2!("/lookup"),
        )
    });
    add(Step {
        body: Body::Json(r#"{"algorithm": "sha256", "pepper": "{pepper}", "addresses": []}"#),
        ..step(
            "v2 lookup no token",
            "lookupUsersV2",
            "POST",
            v2!("/lookup"),
        )
    });

    // v2 invites.
    add(Step {
        auth: true,
        body: Body::Json(
            r#"{"medium": "email", "address": "frank@example.org", "room_id": "!room:hs.test", "sender": "{user}", "room_name": "Tea room"}"#,
        ),
        capture: &[("invite_token3", "/token")],
        mail: &[("invite_sk3", "private_key")],
        ..step(
            "v2 store-invite",
            "storeInviteV2",
            "POST",
            v2!("/store-invite"),
        )
    });
    add(Step {
        auth: true,
        body: Body::Json(
            r#"{"medium": "email", "address": "frank@example.org", "room_id": "!room:hs.test", "sender": "@someone:hs.test"}"#,
        ),
        ..step(
            "v2 store-invite other sender",
            "storeInviteV2",
            "POST",
            v2!("/store-invite"),
        )
    });
    add(Step {
        body: Body::Json(
            r#"{"medium": "email", "address": "frank@example.org", "room_id": "!room:hs.test", "sender": "{user}"}"#,
        ),
        ..step(
            "v2 store-invite no token",
            "storeInviteV2",
            "POST",
            v2!("/store-invite"),
        )
    });
    add(Step {
        auth: true,
        body: Body::Json(
            r#"{"mxid": "@frank:hs.test", "token": "{invite_token3}", "private_key": "{invite_sk3}"}"#,
        ),
        ..step(
            "v2 sign-ed25519",
            "blindlySignStuffV2",
            "POST",
            v2!("/sign-ed25519"),
        )
    });
    add(Step {
        auth: true,
        ..step(
            "v2 ephemeral isvalid other",
            "isEphemeralPubKeyValidV2",
            "GET",
            v2!("/pubkey/ephemeral/isvalid?public_key=AAAA"),
        )
    });

    // v2 unbind by session, then logout.
    add(Step {
        auth: true,
        body: Body::Json(
            r#"{"sid": "{sid3}", "client_secret": "sec3", "mxid": "@erin:hs.test", "threepid": {"medium": "email", "address": "erin@example.org"}}"#,
        ),
        ..step("v2 unbind", "unbindV2", "POST", v2!("/3pid/unbind"))
    });
    add(Step {
        auth: true,
        body: Body::Json(
            r#"{"sid": "{sid3}", "client_secret": "sec3", "mxid": "@erin:hs.test", "threepid": {"medium": "email", "address": "erin@example.org"}}"#,
        ),
        ..step("v2 unbind again", "unbindV2", "POST", v2!("/3pid/unbind"))
    });
    add(Step {
        auth: true,
        body: Body::Json("{}"),
        ..step("v2 logout", "logout", "POST", v2!("/account/logout"))
    });
    add(Step {
        auth: true,
        ..step(
            "v2 account after logout",
            "getAccount",
            "GET",
            v2!("/account"),
        )
    });
    add(step("unknown path", "ping", "GET", v1!("/no/such/thing")));
    s
}

/// One server under test: where it is, its mails, its own values.
struct Target<'a> {
    label: &'static str,
    base: String,
    client: reqwest::Client,
    mails: &'a SmtpSink,
    vars: BTreeMap<String, String>,
}

/// What is compared of one answer.
#[derive(Debug, Default, Clone, PartialEq)]
struct Observed {
    status: u16,
    errcode: String,
    shape: String,
    mails: usize,
    mail: Vec<String>,
    location: String,
}

impl Target<'_> {
    fn fill(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (name, value) in &self.vars {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }

    /// Replaces this server's own values by their names (longest first).
    fn normalise(&self, text: &str) -> String {
        let mut values: Vec<(&String, &String)> =
            self.vars.iter().filter(|(_, v)| v.len() >= 6).collect();
        values.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        let mut out = text.to_owned();
        for (name, value) in values {
            out = out.replace(value.as_str(), &format!("{{{name}}}"));
        }
        out
    }

    async fn run(&mut self, step: &Step) -> Observed {
        let url = format!("{}{}", self.base, self.fill(step.path));
        let method = reqwest::Method::from_bytes(step.method.as_bytes()).expect("method");
        let mut req = self.client.request(method, url);
        if step.auth
            && let Some(token) = self.vars.get("access")
        {
            req = req.bearer_auth(token);
        }
        match step.body {
            Body::None => {}
            Body::Json(text) => {
                req = req
                    .header("content-type", "application/json")
                    .body(self.fill(text));
            }
            Body::Form(text) => {
                req = req
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(self.fill(text));
            }
        }
        let before = self.mails.received().len();
        let reply = read_reply(req.send().await.expect("request")).await;
        if self.label == "oxident" {
            check_against_spec(step.op, &reply);
        }
        for (var, pointer) in step.capture {
            if let Some(value) = reply.json.pointer(pointer).and_then(Value::as_str) {
                self.vars.insert((*var).to_owned(), value.to_owned());
            }
        }
        // Mails are sent before the answer by both servers; give the sink a moment to file them.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let received = self.mails.received();
        let new = &received[before.min(received.len())..];
        let mut mail = Vec::new();
        if let Some(last) = new.last() {
            let text = String::from_utf8_lossy(&last.data).replace("\r\n", "\n");
            for (var, name) in step.mail {
                if let Some(value) = text
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}=")))
                {
                    self.vars.insert((*var).to_owned(), value.to_owned());
                }
            }
            mail = mail_shape(&self.normalise(&text));
        }
        let is_html = reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/html"));
        let shape = if is_html {
            format!("html:{}", self.normalise(&reply.text))
        } else {
            let normalised: Value =
                serde_json::from_str(&self.normalise(&reply.text)).unwrap_or(Value::Null);
            shape(&normalised).to_string()
        };
        let location = reply
            .headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(|l| self.normalise(l))
            .unwrap_or_default();
        Observed {
            location,
            status: reply.status,
            errcode: reply.json["errcode"].as_str().unwrap_or("").to_owned(),
            shape,
            mails: new.len(),
            mail,
        }
    }
}

/// Keys and value types, not values.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "error")
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::String(_) => Value::from("string"),
        Value::Number(_) => Value::from("number"),
        Value::Bool(_) => Value::from("bool"),
        Value::Null => Value::Null,
    }
}

/// Header lines (`Date`/`Message-ID` reduced to their names) and body lines.
fn mail_shape(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            for varying in ["Message-ID:", "Date:"] {
                if line.starts_with(varying) {
                    return varying.to_owned();
                }
            }
            line.to_owned()
        })
        .collect()
}

/// A mail's lines by name: `header <Name>` for headers, the `name` of `name=value` lines
/// in the body (the test templates write one per variable).
fn mail_fields(lines: &[String]) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut in_body = false;
    for line in lines {
        if line.is_empty() {
            in_body = true;
            continue;
        }
        let (key, value) = if in_body {
            line.split_once('=').unwrap_or((line.as_str(), ""))
        } else {
            match line.split_once(':') {
                Some((name, value)) => (name, value.trim()),
                None => (line.as_str(), ""),
            }
        };
        let key = if in_body {
            key.to_owned()
        } else {
            format!("header {key}")
        };
        fields.insert(key, value.to_owned());
    }
    fields
}

#[derive(Debug, Deserialize)]
struct DifferencesFile {
    difference: Vec<Listed>,
}

#[derive(Debug, Deserialize)]
struct Listed {
    step: String,
    aspect: String,
    reason: String,
    /// Expected to go away (a fix on its way): not reported when it no longer happens.
    #[serde(default)]
    pending: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oxident_answers_like_sydent() {
    let Some(venv) = sydent_peer::venv("oxident_answers_like_sydent") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let homeserver = FakeHomeserver::start().await;
    let sydent_mail = SmtpSink::start().await;
    // One terms file, sydent's YAML, for both.
    let terms = dir.path().join("terms.yaml");
    std::fs::write(
        &terms,
        "master_version: \"1.0\"\ndocs:\n  privacy_policy:\n    version: \"1.0\"\n    langs:\n      \
         en:\n        name: Privacy Policy\n        url: https://terms.test/privacy-1.0-en.html\n",
    )
    .expect("terms");
    let terms_line = format!("terms.path = {}", terms.display());
    let sydent: Peer = sydent_peer::start_sydent(
        &venv,
        dir.path(),
        &SydentOptions {
            smtp_port: sydent_mail.port(),
            // Oxident's test limits are as high (common::base_config).
            extra: &[
                ("email", "email.ratelimit_sender.burst = 1000"),
                ("general", &terms_line),
            ],
        },
    )
    .await;
    let templates = dir.path().join("res");
    let oxident = TestApp::start_with(|c| {
        c.server.server_name = SYDENT_SERVER_NAME.into();
        c.email.templates.folder = Some(templates.clone());
        c.terms.policies_file = Some(terms.clone());
        c.email.templates.from = "Sydent <noreply@sydent.test>".into();
        // sydent links invite mails to any web client a homeserver names; Oxident only to
        // configured hosts (hardening), so the script's host is configured here.
        c.email.templates.web_client_hosts = vec!["chat.example.org".into()];
        if let Some(smtp) = c.email.smtp.as_mut() {
            smtp.from = "noreply@sydent.test".into();
        }
    })
    .await;

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut targets = [
        Target {
            label: "sydent",
            base: sydent.base.clone(),
            client: client.clone(),
            mails: &sydent_mail,
            vars: BTreeMap::new(),
        },
        Target {
            label: "oxident",
            base: oxident.base.clone(),
            client,
            mails: &oxident.smtp,
            vars: BTreeMap::new(),
        },
    ];
    for (i, target) in targets.iter_mut().enumerate() {
        let user = format!("@user:{}", homeserver.server_name());
        let openid = format!("openid-{i}");
        homeserver.issue(&openid, &user);
        target.vars.insert("base".into(), target.base.clone());
        target
            .vars
            .insert("base_forurl".into(), target.base.replace(':', "%3A"));
        target.vars.insert("openid".into(), openid);
        target.vars.insert("hs".into(), homeserver.server_name());
        target.vars.insert("user".into(), user);
    }

    let mut found: Vec<(String, String, String, String)> = Vec::new();
    for step in script() {
        let mut observed = Vec::new();
        for target in &mut targets {
            if let Some(pepper) = target.vars.get("pepper").cloned() {
                for who in ["alice", "erin", "nobody"] {
                    target.vars.insert(
                        format!("hash_{who}"),
                        lookup_hash(&format!("{who}@example.org"), "email", &pepper),
                    );
                }
            }
            observed.push(target.run(&step).await);
        }
        let (s, o) = (&observed[0], &observed[1]);
        let mut differ = |aspect: &str, a: String, b: String| {
            if a != b {
                found.push((step.name.to_owned(), aspect.to_owned(), a, b));
            }
        };
        differ("status", s.status.to_string(), o.status.to_string());
        differ("errcode", s.errcode.clone(), o.errcode.clone());
        if s.status == o.status {
            differ("shape", s.shape.clone(), o.shape.clone());
        }
        differ("mails", s.mails.to_string(), o.mails.to_string());
        differ("location", s.location.clone(), o.location.clone());
        if s.mails > 0 && o.mails > 0 {
            let (sm, om) = (mail_fields(&s.mail), mail_fields(&o.mail));
            for key in sm.keys().chain(om.keys()).collect::<BTreeSet<_>>() {
                differ(
                    &format!("mail {key}"),
                    sm.get(key).cloned().unwrap_or_default(),
                    om.get(key).cloned().unwrap_or_default(),
                );
            }
        }
    }
    drop(sydent);

    let listed: DifferencesFile = toml::from_str(DIFFERENCES).expect("differences file parses");
    let listed_keys: BTreeSet<(String, String)> = listed
        .difference
        .iter()
        .inspect(|d| assert!(!d.reason.trim().is_empty(), "{d:?} has no reason"))
        .map(|d| (d.step.clone(), d.aspect.clone()))
        .collect();
    let found_keys: BTreeSet<(String, String)> = found
        .iter()
        .map(|(s, a, _, _)| (s.clone(), a.clone()))
        .collect();
    let unlisted: Vec<String> = found
        .iter()
        .filter(|(s, a, _, _)| !listed_keys.contains(&(s.clone(), a.clone())))
        .map(|(s, a, x, y)| format!("[{s}] {a}:\n  sydent:  {x}\n  oxident: {y}"))
        .collect();
    let stale: Vec<String> = listed
        .difference
        .iter()
        .filter(|d| !d.pending && !found_keys.contains(&(d.step.clone(), d.aspect.clone())))
        .map(|d| format!("[{}] {}", d.step, d.aspect))
        .collect();
    for d in &listed.difference {
        if d.pending && !found_keys.contains(&(d.step.clone(), d.aspect.clone())) {
            eprintln!(
                "pending difference now gone, delete it from tests/sydent_differences.toml: [{}] {}",
                d.step, d.aspect
            );
        }
    }
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "differences not in tests/sydent_differences.toml:\n{}\n\nlisted but gone:\n{}",
        unlisted.join("\n"),
        stale.join("\n")
    );
}
