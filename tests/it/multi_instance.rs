//! Two `oxident` processes on one PostgreSQL database, as behind a load balancer: a session
//! started on one is completed on the other, a bind on one is found by the other's lookups
//! (v1 and v2) within the stated delay, an invite stored on one is known to the other and
//! delivered once, both serve the same signing key and pepper, and concurrent binds of one
//! address leave one association that both instances agree on.
//!
//! Needs `TEST_POSTGRES_URL` (an admin URL: `scripts/pg-cluster.sh start DIR`); without it the
//! test prints one SKIPPED line, and fails when `CI` is set.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oxident::store::{AccountStore as _, PostgresStore, SessionStore as _};
use serde_json::{Value, json};

use crate::common::{
    Reply, at, check_against_spec, fresh_postgres_database, read_reply, sid as sid_of, user,
};
use crate::fake_homeserver::FakeHomeserver;
use crate::sydent_peer::free_port;

/// The delay bound stated in ARCHITECTURE.md for a bind or unbind made on one instance to
/// reach the lookups of another (poll interval 100 ms, plus the query and slack).
const FOLLOW_BOUND: Duration = Duration::from_secs(1);

/// One `oxident serve` process; killed on drop.
struct Instance {
    base: String,
    child: Child,
    client: reqwest::Client,
    log: std::path::PathBuf,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    async fn start(dir: &std::path::Path, name: &str, database_url: &str) -> Self {
        let port = free_port();
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[server]\nbind = \"127.0.0.1:{port}\"\npublic_base_url = \"http://127.0.0.1:{port}\"\n\
                 server_name = \"is.test\"\n\
                 [database]\nurl = \"{database_url}\"\nmax_connections = 4\n\
                 [storage]\nsqlite_path = \"{sqlite}\"\n\
                 [keys]\nsigning_key_path = \"{key}\"\n\
                 [email]\noutbox_dir = \"{outbox}\"\n\
                 [federation]\nallow_private_addresses = true\naccept_invalid_certs = true\n\
                 [ratelimit]\nrequest_token_per_ip_per_minute = 1000\n\
                 request_token_per_address_per_hour = 1000\ninvite_per_ip_per_minute = 1000\n\
                 invite_per_address_per_hour = 1000\nlookup_per_ip_per_second = 100000\n",
                // Never opened (database.url wins); a distinct path proves it.
                sqlite = dir.join(format!("{name}-unused.sqlite")).display(),
                // One key file for both: the shared signing key.
                key = dir.join("signing.key").display(),
                outbox = dir.join(format!("outbox-{name}")).display(),
            ),
        )
        .expect("write config");
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_oxident"))
            .env("OXIDENT_CONFIG", &config)
            .stdout(Stdio::from(out.try_clone().expect("log file")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("spawn oxident");
        let instance = Self {
            base: format!("http://127.0.0.1:{port}"),
            child,
            client: reqwest::Client::new(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = instance
                .client
                .get(format!("{}/_matrix/identity/v2", instance.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return instance;
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not start: {}",
                std::fs::read_to_string(&instance.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn call(
        &self,
        op: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let reply = read_reply(req.send().await.expect("request sent")).await;
        check_against_spec(op, &reply);
        reply
    }

    async fn get(&self, op: &str, path: &str, token: Option<&str>) -> Reply {
        self.call(op, reqwest::Method::GET, path, None, token).await
    }

    async fn post(&self, op: &str, path: &str, body: Value, token: &str) -> Reply {
        self.call(op, reqwest::Method::POST, path, Some(body), Some(token))
            .await
    }

    /// Starts a session for `email` here; returns its sid.
    async fn request_token(&self, token: &str, email: &str, secret: &str) -> String {
        let r = self
            .post(
                "emailRequestTokenV2",
                "/_matrix/identity/v2/validate/email/requestToken",
                json!({"client_secret": secret, "email": email, "send_attempt": 1}),
                token,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["sid"].as_str().expect("sid").to_owned()
    }

    async fn submit_token(&self, token: &str, sid: &str, secret: &str, mail_token: &str) {
        let r = self
            .post(
                "emailSubmitTokenPostV2",
                "/_matrix/identity/v2/validate/email/submitToken",
                json!({"sid": sid, "client_secret": secret, "token": mail_token}),
                token,
            )
            .await;
        assert_eq!(
            (r.status, &r.json),
            (200, &json!({"success": true})),
            "{}",
            r.text
        );
    }

    async fn bind(&self, token: &str, sid: &str, secret: &str, mxid: &str) -> Reply {
        self.post(
            "bindV2",
            "/_matrix/identity/v2/3pid/bind",
            json!({"sid": sid, "client_secret": secret, "mxid": mxid}),
            token,
        )
        .await
    }

    async fn pepper(&self, token: &str) -> String {
        let r = self
            .get(
                "getHashDetails",
                "/_matrix/identity/v2/hash_details",
                Some(token),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["lookup_pepper"].as_str().expect("pepper").to_owned()
    }

    /// The v2 (hashed) and v1 (clear-text) answers for `email`.
    async fn lookups(
        &self,
        token: &str,
        pepper: &str,
        email: &str,
    ) -> (Option<String>, Option<String>) {
        let hash = oxident::crypto::lookup_hash(email, "email", pepper);
        let r = self
            .post(
                "lookupUsersV2",
                "/_matrix/identity/v2/lookup",
                json!({"addresses": [hash], "algorithm": "sha256", "pepper": pepper}),
                token,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let v2 = r.json["mappings"][&hash].as_str().map(str::to_owned);
        let r = self
            .get(
                "lookupUser",
                &format!("/_matrix/identity/api/v1/lookup?medium=email&address={email}"),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let v1 = r.json["mxid"].as_str().map(str::to_owned);
        (v2, v1)
    }

    /// Polls until both lookups answer `expected`; returns how long that took.
    async fn wait_for_lookups(
        &self,
        token: &str,
        pepper: &str,
        email: &str,
        expected: Option<&str>,
    ) -> Duration {
        let start = Instant::now();
        loop {
            let (v2, v1) = self.lookups(token, pepper, email).await;
            if v2.as_deref() == expected && v1.as_deref() == expected {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < FOLLOW_BOUND * 5,
                "{email}: lookups answer {v2:?} / {v1:?}, expected {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The instances' time (they run on the system clock): a token issued at 1 would have gone
/// unused for decades, past `[auth] token_unused_lifetime`.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// An access token for `user_id`, written straight into the database.
async fn token_for(db: &PostgresStore, user_id: &str) -> String {
    let token = format!("tok-{}", user_id.replace([':', '@', '.'], "-"));
    db.create_access_token(&token, &user(user_id), at(now_ms()))
        .await
        .expect("token");
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_postgres_database() {
    let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty()),
            "CI is set but TEST_POSTGRES_URL is not: the multi-instance test must run in CI"
        );
        // Straight to stderr: libtest captures `eprintln!` of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED multi_instance (and the PostgreSQL half of the suite): no PostgreSQL; \
             to run it: scripts/test-postgres.sh"
        );
        return;
    };
    let url = fresh_postgres_database(&admin, "multi").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let homeserver = FakeHomeserver::start().await;
    // A starts first (it creates the key file and the schema), then B.
    let a = Instance::start(dir.path(), "a", &url).await;
    let b = Instance::start(dir.path(), "b", &url).await;
    assert!(
        !dir.path().join("a-unused.sqlite").exists(),
        "database.url wins over storage.sqlite_path"
    );
    // The test's own view of the database (tokens, session tokens, row counts).
    let db = PostgresStore::open(&url).await.expect("open database");
    db.create_access_token("tok", &user("@alice:is.test"), at(now_ms()))
        .await
        .expect("token");
    let token = "tok";

    // Same signing key and pepper on both.
    let key_a = a
        .get("getPubKeyV2", "/_matrix/identity/v2/pubkey/ed25519:0", None)
        .await;
    let key_b = b
        .get("getPubKeyV2", "/_matrix/identity/v2/pubkey/ed25519:0", None)
        .await;
    assert_eq!(key_a.status, 200, "{}", key_a.text);
    assert_eq!(key_a.json, key_b.json, "one signing key");
    let pepper = a.pepper(token).await;
    assert_eq!(b.pepper(token).await, pepper, "one pepper");

    // A session started on A is completed on B, and its binding made on A.
    let sid = a
        .request_token(token, "alice@example.org", "secret-a")
        .await;
    let session = db
        .get_session(&sid_of(&sid))
        .await
        .expect("read")
        .expect("stored");
    b.submit_token(token, &sid, "secret-a", &session.token)
        .await;
    let r = a.bind(token, &sid, "secret-a", "@alice:is.test").await;
    assert_eq!(r.status, 200, "{}", r.text);
    // B finds it (v2 and v1) within the bound.
    let delay = b
        .wait_for_lookups(token, &pepper, "alice@example.org", Some("@alice:is.test"))
        .await;
    println!(
        "bind on A seen by lookups on B after {} ms",
        delay.as_millis()
    );
    assert!(delay < FOLLOW_BOUND, "took {delay:?}");

    // An unbind on B disappears from A's lookups within the bound.
    let r = b
        .post(
            "unbindV2",
            "/_matrix/identity/v2/3pid/unbind",
            json!({"sid": sid, "client_secret": "secret-a", "mxid": "@alice:is.test",
                   "threepid": {"medium": "email", "address": "alice@example.org"}}),
            token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let delay = a
        .wait_for_lookups(token, &pepper, "alice@example.org", None)
        .await;
    println!(
        "unbind on B seen by lookups on A after {} ms",
        delay.as_millis()
    );
    assert!(delay < FOLLOW_BOUND, "took {delay:?}");

    // An invite stored on A: B knows its ephemeral key, and it is delivered once.
    let r = a
        .post(
            "storeInviteV2",
            "/_matrix/identity/v2/store-invite",
            json!({"medium": "email", "address": "ivy@example.org", "room_id": "!room:is.test",
                   "sender": "@alice:is.test"}),
            token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ephemeral = r.json["public_keys"][1]["public_key"]
        .as_str()
        .expect("ephemeral key")
        .to_owned();
    let r = b
        .get(
            "isEphemeralPubKeyValidV2",
            &format!("/_matrix/identity/v2/pubkey/ephemeral/isvalid?public_key={ephemeral}"),
            None,
        )
        .await;
    assert_eq!(
        (r.status, &r.json),
        (200, &json!({"valid": true})),
        "{}",
        r.text
    );
    let ivy = format!("@ivy:{}", homeserver.server_name());
    let sid = b.request_token(token, "ivy@example.org", "secret-i").await;
    let session = db
        .get_session(&sid_of(&sid))
        .await
        .expect("read")
        .expect("stored");
    b.submit_token(token, &sid, "secret-i", &session.token)
        .await;
    let ivy_token = token_for(&db, &ivy).await;
    let r = b.bind(&ivy_token, &sid, "secret-i", &ivy).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let onbinds = homeserver.wait_for_onbinds(1).await;
    assert_eq!(onbinds[0]["address"], "ivy@example.org");

    // Concurrent binds of one address on A and B leave one association, and both instances'
    // lookups agree with it.
    let sid_a = a.request_token(token, "race@example.org", "race-a").await;
    let sid_b = b.request_token(token, "race@example.org", "race-b").await;
    for (instance, sid, secret) in [(&a, &sid_a, "race-a"), (&b, &sid_b, "race-b")] {
        let session = db
            .get_session(&sid_of(sid))
            .await
            .expect("read")
            .expect("stored");
        instance
            .submit_token(token, sid, secret, &session.token)
            .await;
    }
    let (racer_a, racer_b) = (
        token_for(&db, "@racer-a:is.test").await,
        token_for(&db, "@racer-b:is.test").await,
    );
    let (ra, rb) = tokio::join!(
        a.bind(&racer_a, &sid_a, "race-a", "@racer-a:is.test"),
        b.bind(&racer_b, &sid_b, "race-b", "@racer-b:is.test"),
    );
    assert_eq!(
        (ra.status, rb.status),
        (200, 200),
        "{} {}",
        ra.text,
        rb.text
    );
    let admin_pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT mxid FROM associations WHERE address = 'race@example.org'")
            .fetch_all(&admin_pool)
            .await
            .expect("count");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let winner = rows[0].0.clone();
    for instance in [&a, &b] {
        instance
            .wait_for_lookups(token, &pepper, "race@example.org", Some(&winner))
            .await;
    }

    // Those binds woke both delivery workers; the invite stays delivered once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(homeserver.onbinds().len(), 1, "{:?}", homeserver.onbinds());
    let delivered: Vec<(Option<i64>, i64)> = sqlx::query_as(
        "SELECT delivered_ms, delivery_attempts FROM invites WHERE address = 'ivy@example.org'",
    )
    .fetch_all(&admin_pool)
    .await
    .expect("invites");
    assert!(
        matches!(delivered.as_slice(), [(Some(_), 0)]),
        "{delivered:?}"
    );
    admin_pool.close().await;
    db.close().await;
}
