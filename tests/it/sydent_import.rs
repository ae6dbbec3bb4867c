//! `oxident import-sydent` on a database the real sydent 2.6.1 wrote: bind, invite, register
//! and accept terms through sydent's HTTP API, stop it, import (twice: the second run writes
//! nothing), then serve with the `oxident` binary and find every row again.

use crate::common::{check_against_spec, read_reply};
use crate::fake_homeserver::FakeHomeserver;
use crate::smtp_sink::SmtpSink;
use crate::sydent_peer::{self, SYDENT_KEY, SYDENT_SERVER_NAME, SydentOptions};
use oxident::crypto::{PublicKey, SigningKey, lookup_hash, verify_json};
use serde_json::{Value, json};

const TERMS_URL: &str = "https://terms.test/privacy-1.0-en.html";

fn terms_yaml() -> String {
    format!(
        "master_version: \"1.0\"\ndocs:\n  privacy_policy:\n    version: \"1.0\"\n    langs:\n      \
         en:\n        name: Privacy Policy\n        url: {TERMS_URL}\n"
    )
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let mut req = client.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn mail_value(mail: &[u8], name: &str) -> String {
    let text = String::from_utf8_lossy(mail);
    let start = text
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("{name}= in {text}"))
        + name.len()
        + 1;
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

/// requestToken → mail → submitToken → bind, all v1, against sydent.
async fn bind_on_sydent(
    client: &reqwest::Client,
    base: &str,
    smtp: &SmtpSink,
    address: &str,
    mxid: &str,
) -> Value {
    let v1 = format!("{base}/_matrix/identity/api/v1");
    let before = smtp.received().len();
    let (status, body) = send(
        client,
        reqwest::Method::POST,
        format!("{v1}/validate/email/requestToken"),
        Some(json!({"email": address, "client_secret": "secret1", "send_attempt": 1})),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let sid = body["sid"].as_str().expect("sid").to_owned();
    let mails = smtp.wait_for(before + 1).await;
    let token = mail_value(&mails[before].data, "token");
    let (status, body) = send(
        client,
        reqwest::Method::POST,
        format!("{v1}/validate/email/submitToken"),
        Some(json!({"sid": sid, "client_secret": "secret1", "token": token})),
        None,
    )
    .await;
    assert_eq!((status, &body["success"]), (200, &json!(true)), "{body}");
    let (status, body) = send(
        client,
        reqwest::Method::POST,
        format!("{v1}/3pid/bind"),
        Some(json!({"sid": sid, "client_secret": "secret1", "mxid": mxid})),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_sydent_database_is_served_after_import() {
    let Some(venv) = sydent_peer::venv("a_real_sydent_database_is_served_after_import") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let smtp = SmtpSink::start().await;
    let homeserver = FakeHomeserver::start().await;
    let terms = dir.path().join("terms.yaml");
    std::fs::write(&terms, terms_yaml()).expect("terms");
    let terms_line = format!("terms.path = {}", terms.display());
    let sydent = sydent_peer::start_sydent(
        &venv,
        dir.path(),
        &SydentOptions {
            smtp_port: smtp.port(),
            extra: &[("general", &terms_line)],
        },
    )
    .await;
    let client = reqwest::Client::new();
    let base = sydent.base.clone();

    // Two binds (one address with capitals), one invite, one account with accepted terms.
    let alice_sydent =
        bind_on_sydent(&client, &base, &smtp, "alice@example.org", "@alice:hs.test").await;
    bind_on_sydent(&client, &base, &smtp, "Bob@Example.org", "@bob:hs.test").await;
    let before = smtp.received().len();
    let (status, invite) = send(
        &client,
        reqwest::Method::POST,
        format!("{base}/_matrix/identity/api/v1/store-invite"),
        Some(json!({"medium": "email", "address": "carol@example.org",
                    "room_id": "!room:hs.test", "sender": "@alice:hs.test",
                    "room_name": "Tea"})),
        None,
    )
    .await;
    assert_eq!(status, 200, "{invite}");
    let mails = smtp.wait_for(before + 1).await;
    let invite_token = mail_value(&mails[before].data, "token");
    let private_key = mail_value(&mails[before].data, "private_key");
    assert_eq!(invite["token"].as_str(), Some(invite_token.as_str()));
    let ephemeral_public = invite["public_keys"]
        .as_array()
        .and_then(|keys| keys.last())
        .and_then(|k| k["public_key"].as_str().or_else(|| k.as_str()))
        .expect("ephemeral key")
        .to_owned();

    // sydent insists the user belongs to the homeserver it asked.
    let v2_user = format!("@alice:{}", homeserver.server_name());
    homeserver.issue("openid-1", &v2_user);
    let (status, registered) = send(
        &client,
        reqwest::Method::POST,
        format!("{base}/_matrix/identity/v2/account/register"),
        Some(json!({"access_token": "openid-1", "token_type": "Bearer",
                    "matrix_server_name": homeserver.server_name(), "expires_in": 3600})),
        None,
    )
    .await;
    assert_eq!(status, 200, "sydent register: {registered}");
    let access_token = registered["token"].as_str().expect("token").to_owned();
    let (status, body) = send(
        &client,
        reqwest::Method::POST,
        format!("{base}/_matrix/identity/v2/terms"),
        Some(json!({"user_accepts": [TERMS_URL]})),
        Some(&access_token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, details) = send(
        &client,
        reqwest::Method::GET,
        format!("{base}/_matrix/identity/v2/hash_details"),
        None,
        Some(&access_token),
    )
    .await;
    assert_eq!(status, 200, "{details}");
    let pepper = details["lookup_pepper"]
        .as_str()
        .expect("pepper")
        .to_owned();
    sydent.stop();

    // Import into a fresh Oxident, twice.
    let port = sydent_peer::free_port();
    let data = dir.path().join("oxident");
    let config = dir.path().join("oxident.toml");
    std::fs::write(
        &config,
        format!(
            // The server name, templates, terms (sydent's YAML) and SMTP come from sydent.conf.
            "[sydent]\nconfig_file = \"{conf}\"\n\
             [server]\nbind = \"127.0.0.1:{port}\"\npublic_base_url = \"http://127.0.0.1:{port}\"\n\
             [storage]\nsqlite_path = \"{db}\"\n[keys]\nsigning_key_path = \"{key}\"\n",
            conf = dir.path().join("sydent.conf").display(),
            db = data.join("oxident.sqlite").display(),
            key = data.join("signing.key").display(),
        ),
    )
    .expect("config");
    let db = dir.path().join("sydent.db");
    let conf = dir.path().join("sydent.conf");
    let args = [
        "import-sydent",
        "--db",
        db.to_str().expect("path"),
        "--sydent-config",
        conf.to_str().expect("path"),
    ];
    let (ok, out, err) = sydent_peer::oxident(&config, &args);
    assert!(ok, "import failed: {err}\n{out}");
    for line in [
        "lookup pepper: imported",
        "associations: 2 imported, 0 already present",
        "invites: 1 imported, 0 already present",
        "accounts: 1 imported, 0 already present",
        "access tokens: 1 imported, 0 already present",
        "accepted terms: 1 imported, 0 already present",
    ] {
        assert!(out.contains(line), "missing `{line}` in:\n{out}");
    }
    assert!(out.contains("signing key: imported ed25519:0"), "{out}");
    assert!(!out.contains(&access_token), "a token was printed");
    // Again, spelled as the issue does: `--config sydent.conf` (the sydent.conf is recognised
    // and configures Oxident too; its storage comes from the environment here).
    let sqlite = data.join("oxident.sqlite");
    let key = data.join("signing.key");
    let (ok, again, err) = sydent_peer::oxident_with_env(
        &[
            "import-sydent",
            "--db",
            db.to_str().expect("path"),
            "--config",
            conf.to_str().expect("path"),
        ],
        &[
            ("OXIDENT_STORAGE__SQLITE_PATH", &sqlite),
            ("OXIDENT_KEYS__SIGNING_KEY_PATH", &key),
        ],
    );
    assert!(ok, "second import failed: {err}");
    assert!(!again.contains("warning: sydent signed as"), "{again}");
    for line in [
        "lookup pepper: already present",
        "signing key: already present",
        "associations: 0 imported, 2 already present",
        "invites: 0 imported, 1 already present",
        "accounts: 0 imported, 1 already present",
        "access tokens: 0 imported, 1 already present",
        "accepted terms: 0 imported, 1 already present",
    ] {
        assert!(again.contains(line), "missing `{line}` in:\n{again}");
    }

    // Serve and find every row.
    let server = sydent_peer::start_oxident(&config, port, dir.path()).await;
    let ox = server.base.clone();
    let get = |op: &'static str, path: String, token: Option<String>| {
        let client = client.clone();
        let url = format!("{ox}{path}");
        async move {
            let mut req = client.get(url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let reply = read_reply(req.send().await.expect("request")).await;
            check_against_spec(op, &reply);
            reply
        }
    };
    let post = |op: &'static str, path: String, body: Value, token: Option<String>| {
        let client = client.clone();
        let url = format!("{ox}{path}");
        async move {
            let mut req = client.post(url).json(&body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let reply = read_reply(req.send().await.expect("request")).await;
            check_against_spec(op, &reply);
            reply
        }
    };

    // v1 lookup: the same signed association sydent served, verifying with sydent's key.
    let alice = get(
        "lookupUser",
        "/_matrix/identity/api/v1/lookup?medium=email&address=alice@example.org".into(),
        None,
    )
    .await;
    assert_eq!(alice.status, 200, "{}", alice.text);
    assert_eq!(alice.json, alice_sydent, "the signed association changed");
    let sydent_key =
        SigningKey::from_base64_seed("0", SYDENT_KEY.rsplit(' ').next().expect("seed"))
            .expect("key");
    verify_json(
        &alice.json,
        SYDENT_SERVER_NAME,
        "ed25519:0",
        &sydent_key.public_key(),
    )
    .expect("signature verifies with sydent's key");
    let bob = get(
        "lookupUser",
        "/_matrix/identity/api/v1/lookup?medium=email&address=BOB@example.org".into(),
        None,
    )
    .await;
    assert_eq!(bob.json["mxid"], "@bob:hs.test", "{}", bob.text);

    // v2: the imported token works (its terms acceptance came along: the same YAML terms
    // gate v2 here), the pepper and the hashes are sydent's.
    let terms = get("getTerms", "/_matrix/identity/v2/terms".into(), None).await;
    assert_eq!(
        terms.json["policies"]["privacy_policy"]["en"]["url"], TERMS_URL,
        "{}",
        terms.text
    );
    let account = get(
        "getAccount",
        "/_matrix/identity/v2/account".into(),
        Some(access_token.clone()),
    )
    .await;
    assert_eq!(
        account.json["user_id"],
        v2_user.as_str(),
        "{}",
        account.text
    );
    let details = get(
        "getHashDetails",
        "/_matrix/identity/v2/hash_details".into(),
        Some(access_token.clone()),
    )
    .await;
    assert_eq!(details.json["lookup_pepper"], pepper.as_str());
    let alice_hash = lookup_hash("alice@example.org", "email", &pepper);
    let bob_hash = lookup_hash("bob@example.org", "email", &pepper);
    let found = post(
        "lookupUsersV2",
        "/_matrix/identity/v2/lookup".into(),
        json!({"algorithm": "sha256", "pepper": pepper, "addresses": [alice_hash, bob_hash]}),
        Some(access_token.clone()),
    )
    .await;
    assert_eq!(
        found.json["mappings"],
        json!({alice_hash.clone(): "@alice:hs.test", bob_hash: "@bob:hs.test"}),
        "{}",
        found.text
    );

    // The invite: its ephemeral key is valid and signs with the key from the mail.
    let valid = get(
        "isEphemeralPubKeyValid",
        format!(
            "/_matrix/identity/api/v1/pubkey/ephemeral/isvalid?public_key={}",
            urlencode(&ephemeral_public)
        ),
        None,
    )
    .await;
    assert_eq!(valid.json["valid"], true, "{}", valid.text);
    let signed = post(
        "blindlySignStuff",
        "/_matrix/identity/api/v1/sign-ed25519".into(),
        json!({"mxid": "@carol:hs.test", "token": invite_token, "private_key": private_key}),
        None,
    )
    .await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    assert_eq!(signed.json["sender"], "@alice:hs.test");
    let ephemeral = PublicKey::from_base64(&ephemeral_public).expect("public key");
    verify_json(&signed.json, SYDENT_SERVER_NAME, "ed25519:0", &ephemeral)
        .expect("signed with the invite's ephemeral key");
    drop(server);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A database of another schema version is refused with the reason, and nothing is written.
#[test]
fn an_unknown_sydent_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("old.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        use sqlx::ConnectOptions as _;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true)
            .connect()
            .await
            .expect("create db");
        sqlx::query("PRAGMA user_version = 3")
            .execute(&mut conn)
            .await
            .expect("pragma");
    });
    let config = dir.path().join("oxident.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\nsqlite_path = \"{}\"\n",
            dir.path().join("ox.sqlite").display()
        ),
    )
    .expect("config");
    let (ok, _, err) = sydent_peer::oxident(
        &config,
        &["import-sydent", "--db", db.to_str().expect("path")],
    );
    assert!(!ok);
    assert!(err.contains("unknown sydent schema version 3"), "{err}");
    assert!(!dir.path().join("ox.sqlite").exists(), "nothing is written");
}

/// A binding sydent got from a replication peer carries the peer's signature, which cannot be
/// made again here: after import, a v1 lookup answers the object as sydent served it, with
/// this server's signature added (as sydent adds its own).
#[tokio::test]
async fn replicated_associations_keep_their_original_signatures() {
    use crate::common::{SERVER_NAME, TestApp, test_key};
    use oxident::domain::{Medium, Timestamp, UserId};
    use oxident::store::import::{ImportedAssociation, OriginalSignature};
    use oxident::store::sqlite::SqliteStore;
    use oxident::store::{Association, Threepid};

    // Imports write SQLite only: this test stays on SQLite when the suite runs on PostgreSQL.
    let mut app = TestApp::start_with(|c| c.database.url = None).await;
    let peer = SigningKey::from_seed("1", &[3u8; 32]).expect("peer key");
    let association = Association {
        medium: Medium::Email,
        address: "ivy@example.org".into(),
        mxid: UserId::parse("@ivy:hs.test").expect("a user ID"),
        ts: Timestamp::from_millis(1_700_000_000_000),
        not_before: Timestamp::from_millis(1_700_000_000_000),
        not_after: Timestamp::from_millis(4_853_600_000_000),
    };
    let mut original = json!({
        "medium": "email", "address": "ivy@example.org", "mxid": "@ivy:hs.test",
        "ts": association.ts, "not_before": association.not_before,
        "not_after": association.not_after,
    });
    oxident::crypto::sign_json(&mut original, "peer.test", &peer).expect("sign");
    {
        let store = SqliteStore::open(&app.config.storage.sqlite_path)
            .await
            .expect("open");
        let rows = [ImportedAssociation {
            association: association.clone(),
            signed: Some(OriginalSignature {
                origin_server: "peer.test".into(),
                origin_id: 7,
                signed_json: original.to_string(),
            }),
        }];
        let count = store.import_associations(&rows).await.expect("import");
        assert_eq!((count.written, count.unchanged), (1, 0));
        let again = store.import_associations(&rows).await.expect("import");
        assert_eq!((again.written, again.unchanged), (0, 1));
        store.close().await;
    }
    app.restart().await;
    let found = app
        .store()
        .get_association(&Threepid::new(Medium::Email, "ivy@example.org"))
        .await
        .expect("read")
        .expect("imported association is found");
    assert_eq!(found, association);
    let answer = app
        .state()
        .services
        .lookup
        .lookup_signed(oxident::domain::Medium::Email, "ivy@example.org")
        .await
        .expect("signed");
    verify_json(&answer, "peer.test", "ed25519:1", &peer.public_key()).expect("peer's signature");
    verify_json(&answer, SERVER_NAME, "ed25519:0", &test_key().public_key())
        .expect("our signature added");

    // A binding made here is signed afresh.
    let own = Association {
        address: "jo@example.org".into(),
        mxid: UserId::parse("@jo:hs.test").expect("a user ID"),
        ..association
    };
    app.store().bind(&own).await.expect("bind");
    let answer = app
        .state()
        .services
        .lookup
        .lookup_signed(oxident::domain::Medium::Email, "jo@example.org")
        .await
        .expect("signed");
    assert!(answer["signatures"].get("peer.test").is_none(), "{answer}");
    verify_json(&answer, SERVER_NAME, "ed25519:0", &test_key().public_key()).expect("ours");
}
