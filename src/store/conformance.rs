//! The store conformance suite: one story per area, written against `&dyn Store` only, so
//! every backend (SQLite now, PostgreSQL later) runs exactly the same checks. Each backend's
//! tests call [`run_all`] on a fresh, empty store, plus the restart pair
//! ([`write_every_kind`] → reopen → [`check_every_kind`]) and [`concurrent_writes`].
//!
//! The functions panic on the first violated expectation (they are test code that lives in
//! the library so other crates' and backends' tests can call them).

use std::sync::Arc;

use serde_json::json;

use super::{
    AccessTokenOwner, Association, HashMatch, NewEphemeralKey, NewInvite, NewSession,
    SessionRequestOutcome, Store, StoreError, Threepid,
};
use crate::crypto::SecretString;
use crate::crypto::hashing::lookup_hash;

/// Runs every story. `store` must be empty (freshly created); stories run in order.
pub async fn run_all(store: &dyn Store) {
    pepper_created_after_bindings(store).await;
    sessions(store).await;
    associations(store).await;
    invites(store).await;
    accounts(store).await;
    terms(store).await;
}

fn session(sid: &str, address: &str, secret: &str, token: &str, attempt: i64) -> NewSession {
    NewSession {
        sid: sid.to_owned(),
        medium: "email".to_owned(),
        address: address.to_owned(),
        client_secret: secret.to_owned(),
        token: token.to_owned(),
        send_attempt: attempt,
        next_link: None,
    }
}

fn assoc(medium: &str, address: &str, mxid: &str, ts: i64) -> Association {
    Association {
        medium: medium.to_owned(),
        address: address.to_owned(),
        mxid: mxid.to_owned(),
        ts,
        not_before: ts,
        not_after: ts + 100 * 365 * 24 * 3600 * 1000,
    }
}

fn tp(medium: &str, address: &str) -> Threepid {
    Threepid::new(medium, address)
}

/// A store without a pepper stores bindings without a hash; creating the pepper hashes them.
/// Needs a store on which no pepper was ever created.
pub async fn pepper_created_after_bindings(store: &dyn Store) {
    assert_eq!(store.lookup_pepper().await.expect("pepper"), None);
    store
        .bind(&assoc("email", "early@example.com", "@early:hs", 1))
        .await
        .expect("bind");
    let pepper = store
        .get_or_create_lookup_pepper("pepper-1")
        .await
        .expect("create");
    assert_eq!(pepper, "pepper-1");
    assert_eq!(
        store
            .get_or_create_lookup_pepper("pepper-other")
            .await
            .expect("get"),
        "pepper-1",
        "the first persisted pepper wins"
    );
    assert_eq!(
        store.lookup_pepper().await.expect("pepper").as_deref(),
        Some("pepper-1")
    );
    let hash = lookup_hash("early@example.com", "email", "pepper-1");
    assert_eq!(
        store
            .lookup_hashes("pepper-1", vec![hash.clone()])
            .await
            .expect("lookup"),
        Some(vec![HashMatch {
            lookup_hash: hash,
            mxid: "@early:hs".to_owned()
        }]),
        "bindings made before the pepper existed are hashed when it is created"
    );
    assert!(
        store
            .unbind(&tp("email", "early@example.com"), "@early:hs")
            .await
            .expect("unbind")
    );
}

/// requestToken idempotency, validation, failures, expiry and clean-up.
pub async fn sessions(store: &dyn Store) {
    let addr = "sess@example.com";
    let first = store
        .request_session(&session("s1", addr, "secret", "tok1", 1), 0, 1_000)
        .await
        .expect("create");
    assert_eq!(first.outcome, SessionRequestOutcome::Created);
    assert!(first.should_send());
    let s = &first.session;
    assert_eq!(
        (
            s.sid.as_str(),
            s.medium.as_str(),
            s.address.as_str(),
            s.client_secret.as_str()
        ),
        ("s1", "email", addr, "secret")
    );
    assert_eq!(
        (s.token.as_str(), s.send_attempt, s.next_link.as_deref()),
        ("tok1", 1, None)
    );
    assert_eq!(
        (
            s.created_ms,
            s.modified_ms,
            s.validated_ms,
            s.failed_submits
        ),
        (1_000, 1_000, None, 0)
    );
    assert_eq!(
        store.get_session("s1").await.expect("get").as_ref(),
        Some(s)
    );

    // Same scope, same or lower send_attempt: same session, nothing sent, nothing changed.
    for attempt in [1, 0, -5] {
        let again = store
            .request_session(&session("s2", addr, "secret", "tok2", attempt), 0, 2_000)
            .await
            .expect("repeat");
        assert_eq!(again.outcome, SessionRequestOutcome::Unchanged);
        assert!(!again.should_send());
        assert_eq!(&again.session, s, "sid, token and timestamps unchanged");
    }
    assert_eq!(
        store.get_session("s2").await.expect("get"),
        None,
        "candidate discarded"
    );

    // A higher send_attempt: resend the same token; the session is modified.
    let mut with_link = session("s2", addr, "secret", "tok2", 2);
    with_link.next_link = Some("https://example.org/next".to_owned());
    let resend = store
        .request_session(&with_link, 0, 3_000)
        .await
        .expect("resend");
    assert_eq!(resend.outcome, SessionRequestOutcome::Resend);
    assert!(resend.should_send());
    assert_eq!(
        (
            resend.session.sid.as_str(),
            resend.session.token.as_str(),
            resend.session.send_attempt
        ),
        ("s1", "tok1", 2)
    );
    assert_eq!(
        (resend.session.created_ms, resend.session.modified_ms),
        (1_000, 3_000)
    );
    assert_eq!(
        resend.session.next_link.as_deref(),
        Some("https://example.org/next")
    );
    assert_eq!(
        store.get_session("s1").await.expect("get"),
        Some(resend.session.clone())
    );
    // A later resend without next_link keeps the stored one.
    let keep = store
        .request_session(&session("s2", addr, "secret", "tok2", 3), 0, 3_100)
        .await
        .expect("resend");
    assert_eq!(
        keep.session.next_link.as_deref(),
        Some("https://example.org/next")
    );

    // Lookups.
    let found = store
        .find_session("email", addr, "secret")
        .await
        .expect("find");
    assert_eq!(found, Some(keep.session.clone()));
    assert_eq!(
        store
            .find_session("email", addr, "other")
            .await
            .expect("find"),
        None
    );
    assert_eq!(
        store
            .find_session("msisdn", addr, "secret")
            .await
            .expect("find"),
        None
    );
    assert_eq!(store.get_session("nope").await.expect("get"), None);

    // Another client secret for the same address is another session.
    let other = store
        .request_session(&session("s3", addr, "secret-2", "tok3", 1), 0, 3_500)
        .await
        .expect("second scope");
    assert_eq!(
        (other.outcome, other.session.sid.as_str()),
        (SessionRequestOutcome::Created, "s3")
    );

    // Wrong tokens are counted up to the cap, and not past it.
    assert_eq!(
        store.record_failed_submit("s1", 3).await.expect("fail"),
        Some(1)
    );
    assert_eq!(
        store.record_failed_submit("s1", 3).await.expect("fail"),
        Some(2)
    );
    assert_eq!(
        store.record_failed_submit("s1", 2).await.expect("fail"),
        None
    );
    assert_eq!(
        store.record_failed_submit("nope", 3).await.expect("fail"),
        None
    );
    // A session at its cap cannot be validated.
    assert!(
        !store
            .mark_session_validated("s1", 4_000, 2)
            .await
            .expect("validate locked")
    );

    // Validation keeps the first validation time and refreshes the modification time.
    assert!(
        store
            .mark_session_validated("s1", 4_000, 10)
            .await
            .expect("validate")
    );
    assert!(
        store
            .mark_session_validated("s1", 5_000, 10)
            .await
            .expect("validate again")
    );
    assert!(
        !store
            .mark_session_validated("nope", 5_000, 10)
            .await
            .expect("validate unknown")
    );
    let v = store.get_session("s1").await.expect("get").expect("exists");
    assert_eq!(
        (v.validated_ms, v.modified_ms, v.failed_submits),
        (Some(4_000), 5_000, 2)
    );

    // An expired session (modified before stale_before_ms) is replaced by the candidate.
    let fresh = store
        .request_session(&session("s4", addr, "secret", "tok4", 1), 6_000, 7_000)
        .await
        .expect("replace stale");
    assert_eq!(fresh.outcome, SessionRequestOutcome::Created);
    assert_eq!(
        (fresh.session.sid.as_str(), fresh.session.validated_ms),
        ("s4", None)
    );
    assert_eq!(
        store.get_session("s1").await.expect("get"),
        None,
        "stale session removed"
    );

    // A colliding sid is a conflict, and nothing is written.
    let collision = store
        .request_session(&session("s4", "other@example.com", "x", "t", 1), 0, 7_100)
        .await;
    assert!(
        matches!(collision, Err(StoreError::Conflict(_))),
        "{collision:?}"
    );
    assert_eq!(
        store
            .find_session("email", "other@example.com", "x")
            .await
            .expect("find"),
        None
    );

    // Clean-up by modification time: s3 (3_500) goes, s4 (7_000) stays.
    assert_eq!(
        store
            .delete_sessions_modified_before(4_000)
            .await
            .expect("delete"),
        1
    );
    assert_eq!(store.get_session("s3").await.expect("get"), None);
    assert!(store.get_session("s4").await.expect("get").is_some());
    assert_eq!(
        store
            .delete_sessions_modified_before(4_000)
            .await
            .expect("delete"),
        0
    );
}

/// Bind, rebind, unbind, single and bulk lookup, hashed lookup and pepper rotation.
/// Expects the current pepper to be `pepper-1` (after [`pepper_created_after_bindings`]).
pub async fn associations(store: &dyn Store) {
    let pepper = store
        .get_or_create_lookup_pepper("pepper-1")
        .await
        .expect("pepper");
    let alice = tp("email", "alice@example.com");
    let bob = tp("msisdn", "18005552067");

    assert_eq!(
        store
            .bind(&assoc("email", "alice@example.com", "@alice:hs", 10))
            .await
            .expect("bind"),
        None
    );
    assert_eq!(
        store.get_association(&alice).await.expect("get"),
        Some(assoc("email", "alice@example.com", "@alice:hs", 10))
    );

    let h_alice = lookup_hash("alice@example.com", "email", &pepper);
    let h_unknown = lookup_hash("nobody@example.com", "email", &pepper);
    assert_eq!(
        store
            .lookup_hashes(&pepper, vec![h_unknown.clone(), h_alice.clone()])
            .await
            .expect("lookup"),
        Some(vec![HashMatch {
            lookup_hash: h_alice.clone(),
            mxid: "@alice:hs".to_owned()
        }])
    );
    assert_eq!(
        store
            .lookup_hashes("wrong-pepper", vec![h_alice.clone()])
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        store
            .lookup_hashes(&pepper, Vec::new())
            .await
            .expect("lookup"),
        Some(vec![])
    );

    // Rebinding replaces and reports the previous binding.
    let previous = store
        .bind(&assoc("email", "alice@example.com", "@alice2:hs", 20))
        .await
        .expect("rebind");
    assert_eq!(
        previous,
        Some(assoc("email", "alice@example.com", "@alice:hs", 10))
    );
    assert_eq!(
        store
            .lookup_hashes(&pepper, vec![h_alice.clone()])
            .await
            .expect("lookup"),
        Some(vec![HashMatch {
            lookup_hash: h_alice.clone(),
            mxid: "@alice2:hs".to_owned()
        }])
    );

    store
        .bind(&assoc("msisdn", "18005552067", "@bob:hs", 30))
        .await
        .expect("bind bob");
    let bulk = store
        .get_associations(&[
            bob.clone(),
            tp("email", "nobody@example.com"),
            alice.clone(),
            alice.clone(),
        ])
        .await
        .expect("bulk");
    assert_eq!(
        bulk,
        vec![
            assoc("email", "alice@example.com", "@alice2:hs", 20),
            assoc("msisdn", "18005552067", "@bob:hs", 30)
        ],
        "known ones only, each once, ordered by (medium, address)"
    );
    assert_eq!(store.get_associations(&[]).await.expect("bulk"), vec![]);
    // Exact matching: no case folding or trimming in the store.
    assert_eq!(
        store
            .get_association(&tp("email", "Alice@example.com"))
            .await
            .expect("get"),
        None
    );

    // Unbind only with the matching mxid.
    assert!(
        !store
            .unbind(&alice, "@alice:hs")
            .await
            .expect("unbind wrong mxid")
    );
    assert!(store.get_association(&alice).await.expect("get").is_some());
    assert!(store.unbind(&alice, "@alice2:hs").await.expect("unbind"));
    assert!(
        !store
            .unbind(&alice, "@alice2:hs")
            .await
            .expect("unbind twice")
    );
    assert_eq!(store.get_association(&alice).await.expect("get"), None);
    assert_eq!(
        store
            .lookup_hashes(&pepper, vec![h_alice.clone()])
            .await
            .expect("lookup"),
        Some(vec![])
    );

    // Rotation: old pepper refused, every binding rehashed, later binds use the new pepper.
    let rehashed = store
        .rotate_lookup_pepper("pepper-2")
        .await
        .expect("rotate");
    assert!(rehashed >= 1, "bob at least: {rehashed}");
    assert_eq!(
        store.lookup_pepper().await.expect("pepper").as_deref(),
        Some("pepper-2")
    );
    let h_bob_old = lookup_hash("18005552067", "msisdn", &pepper);
    let h_bob = lookup_hash("18005552067", "msisdn", "pepper-2");
    assert_eq!(
        store
            .lookup_hashes(&pepper, vec![h_bob_old.clone()])
            .await
            .expect("old"),
        None
    );
    assert_eq!(
        store
            .lookup_hashes("pepper-2", vec![h_bob_old])
            .await
            .expect("stale hash"),
        Some(vec![])
    );
    assert_eq!(
        store
            .lookup_hashes("pepper-2", vec![h_bob.clone()])
            .await
            .expect("new"),
        Some(vec![HashMatch {
            lookup_hash: h_bob,
            mxid: "@bob:hs".to_owned()
        }])
    );
    store
        .bind(&assoc("email", "carol@example.com", "@carol:hs", 40))
        .await
        .expect("bind carol");
    let h_carol = lookup_hash("carol@example.com", "email", "pepper-2");
    assert_eq!(
        store
            .lookup_hashes("pepper-2", vec![h_carol.clone()])
            .await
            .expect("carol"),
        Some(vec![HashMatch {
            lookup_hash: h_carol,
            mxid: "@carol:hs".to_owned()
        }])
    );
}

fn new_invite(token: &str, address: &str) -> NewInvite {
    NewInvite {
        token: token.to_owned(),
        medium: "email".to_owned(),
        address: address.to_owned(),
        room_id: "!room:hs".to_owned(),
        sender: "@inviter:hs".to_owned(),
        params: json!({
            "medium": "email",
            "address": address,
            "room_id": "!room:hs",
            "sender": "@inviter:hs",
            "room_name": "Ünïcode room",
            "org.example.extra": { "nested": [1, 2, 3] }
        }),
    }
}

fn new_key(public_key: &str, expires_ms: Option<i64>) -> NewEphemeralKey {
    NewEphemeralKey {
        public_key: public_key.to_owned(),
        private_key: Some(SecretString::new(format!("private-of-{public_key}"))),
        expires_ms,
    }
}

/// store-invite, ephemeral keys, delivery on bind and delivery retries.
pub async fn invites(store: &dyn Store) {
    let dave = tp("email", "dave@example.com");
    store
        .store_invite(
            &new_invite("inv1", "dave@example.com"),
            &new_key("pk-1_-", None),
            100,
        )
        .await
        .expect("inv1");
    store
        .store_invite(
            &new_invite("inv2", "dave@example.com"),
            &new_key("pk2+/", Some(1_000)),
            200,
        )
        .await
        .expect("inv2");
    store
        .store_invite(
            &new_invite("inv3", "erin@example.com"),
            &new_key("pk3", None),
            150,
        )
        .await
        .expect("inv3");

    // Duplicate token or duplicate key: conflict, and the transaction leaves nothing behind.
    let dup_token = store
        .store_invite(
            &new_invite("inv1", "x@example.com"),
            &new_key("pk-new", None),
            250,
        )
        .await;
    assert!(
        matches!(dup_token, Err(StoreError::Conflict(_))),
        "{dup_token:?}"
    );
    assert!(
        !store
            .is_ephemeral_key_valid("pk-new", 250)
            .await
            .expect("valid")
    );
    let dup_key = store
        .store_invite(
            &new_invite("inv-new", "x@example.com"),
            &new_key("pk3", None),
            250,
        )
        .await;
    assert!(
        matches!(dup_key, Err(StoreError::Conflict(_))),
        "{dup_key:?}"
    );
    assert_eq!(
        store.get_invite("inv-new").await.expect("get"),
        None,
        "invite rolled back with its key"
    );

    let inv1 = store
        .get_invite("inv1")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (
            inv1.token.as_str(),
            inv1.medium.as_str(),
            inv1.address.as_str(),
            inv1.room_id.as_str(),
            inv1.sender.as_str()
        ),
        (
            "inv1",
            "email",
            "dave@example.com",
            "!room:hs",
            "@inviter:hs"
        )
    );
    assert_eq!(
        inv1.params,
        new_invite("inv1", "dave@example.com").params,
        "params round-trip"
    );
    assert_eq!(
        (
            inv1.created_ms,
            inv1.delivered_ms,
            inv1.delivery_attempts,
            inv1.next_attempt_ms
        ),
        (100, None, 0, None)
    );
    assert_eq!(inv1.ephemeral_key.public_key, "pk-1_-");
    assert_eq!(
        inv1.ephemeral_key
            .private_key
            .as_ref()
            .map(SecretString::expose),
        Some("private-of-pk-1_-")
    );
    assert_eq!(
        (inv1.ephemeral_key.created_ms, inv1.ephemeral_key.expires_ms),
        (100, None)
    );
    assert_eq!(store.get_invite("nope").await.expect("get"), None);

    // Ephemeral key validity: verbatim comparison, optional expiry.
    assert!(
        store
            .is_ephemeral_key_valid("pk-1_-", 1_000_000)
            .await
            .expect("valid")
    );
    assert!(
        !store
            .is_ephemeral_key_valid("pk+1/-", 0)
            .await
            .expect("other alphabet is another string")
    );
    assert!(
        store
            .is_ephemeral_key_valid("pk2+/", 999)
            .await
            .expect("valid")
    );
    assert!(
        !store
            .is_ephemeral_key_valid("pk2+/", 1_000)
            .await
            .expect("expired")
    );
    assert!(
        !store
            .is_ephemeral_key_valid("unknown", 0)
            .await
            .expect("unknown")
    );

    let tokens = |v: Vec<super::Invite>| v.into_iter().map(|i| i.token).collect::<Vec<_>>();
    assert_eq!(
        tokens(store.undelivered_invites(&dave).await.expect("undelivered")),
        ["inv1", "inv2"]
    );

    // Nothing to deliver until the 3PID is bound.
    assert_eq!(
        store.pending_deliveries(300, 10).await.expect("pending"),
        vec![]
    );
    store
        .bind(&assoc("email", "dave@example.com", "@dave:hs", 300))
        .await
        .expect("bind");
    let pending = store.pending_deliveries(300, 10).await.expect("pending");
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.invite.token.as_str(), p.mxid.as_str()))
            .collect::<Vec<_>>(),
        [("inv1", "@dave:hs"), ("inv2", "@dave:hs")]
    );
    assert_eq!(
        store
            .pending_deliveries(300, 1)
            .await
            .expect("pending")
            .len(),
        1,
        "limit"
    );

    // A failure postpones the invite.
    assert_eq!(
        store
            .record_delivery_failure(&["inv1".to_owned()], 500)
            .await
            .expect("fail"),
        1
    );
    let due =
        |v: Vec<super::PendingDelivery>| v.into_iter().map(|p| p.invite.token).collect::<Vec<_>>();
    assert_eq!(
        due(store.pending_deliveries(499, 10).await.expect("pending")),
        ["inv2"]
    );
    assert_eq!(
        due(store.pending_deliveries(500, 10).await.expect("pending")),
        ["inv1", "inv2"]
    );
    let inv1 = store
        .get_invite("inv1")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (inv1.delivery_attempts, inv1.next_attempt_ms),
        (1, Some(500))
    );

    // Delivery.
    let delivered = store
        .mark_invites_delivered(
            &["inv1".to_owned(), "inv2".to_owned(), "nope".to_owned()],
            600,
        )
        .await
        .expect("deliver");
    assert_eq!(delivered, 2);
    assert_eq!(
        store
            .mark_invites_delivered(&["inv1".to_owned()], 700)
            .await
            .expect("again"),
        0
    );
    assert_eq!(
        store.mark_invites_delivered(&[], 700).await.expect("none"),
        0
    );
    assert_eq!(
        store
            .get_invite("inv1")
            .await
            .expect("get")
            .expect("exists")
            .delivered_ms,
        Some(600)
    );
    assert_eq!(
        store.undelivered_invites(&dave).await.expect("undelivered"),
        vec![]
    );
    assert_eq!(
        store.pending_deliveries(10_000, 10).await.expect("pending"),
        vec![]
    );
    assert_eq!(
        store
            .record_delivery_failure(&["inv1".to_owned()], 900)
            .await
            .expect("fail"),
        0
    );
    assert!(
        store
            .is_ephemeral_key_valid("pk-1_-", 700)
            .await
            .expect("keys outlive delivery")
    );
    assert_eq!(
        tokens(
            store
                .undelivered_invites(&tp("email", "erin@example.com"))
                .await
                .expect("erin")
        ),
        ["inv3"]
    );
}

/// Access tokens: stored by digest, owner lookup, logout.
pub async fn accounts(store: &dyn Store) {
    store
        .create_access_token("tok-a", "@user:hs", 10)
        .await
        .expect("create");
    store
        .create_access_token("tok-b", "@user:hs", 20)
        .await
        .expect("second token, same user");
    assert_eq!(
        store.access_token_owner("tok-a").await.expect("owner"),
        Some(AccessTokenOwner {
            user_id: "@user:hs".to_owned(),
            created_ms: 10
        })
    );
    assert_eq!(
        store.access_token_owner("tok-A").await.expect("owner"),
        None,
        "exact match"
    );
    assert_eq!(store.access_token_owner("").await.expect("owner"), None);
    let dup = store.create_access_token("tok-a", "@other:hs", 30).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    assert!(store.delete_access_token("tok-a").await.expect("logout"));
    assert!(
        !store
            .delete_access_token("tok-a")
            .await
            .expect("logout twice")
    );
    assert_eq!(
        store.access_token_owner("tok-a").await.expect("owner"),
        None
    );
    assert_eq!(
        store
            .access_token_owner("tok-b")
            .await
            .expect("owner")
            .map(|o| o.user_id),
        Some("@user:hs".to_owned())
    );
}

/// Accepted terms: a per-user, append-only set.
pub async fn terms(store: &dyn Store) {
    let u = "@terms:hs";
    let urls = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        store.accepted_terms(u).await.expect("list"),
        Vec::<String>::new()
    );
    store
        .accept_terms(u, &urls(&["https://x/b", "https://x/a"]), 1)
        .await
        .expect("accept");
    store
        .accept_terms(u, &urls(&["https://x/a", "https://x/c", "https://x/c"]), 2)
        .await
        .expect("accept more");
    store.accept_terms(u, &[], 3).await.expect("accept nothing");
    assert_eq!(
        store.accepted_terms(u).await.expect("list"),
        urls(&["https://x/a", "https://x/b", "https://x/c"])
    );
    assert_eq!(
        store
            .accepted_terms("@someone-else:hs")
            .await
            .expect("list"),
        Vec::<String>::new()
    );
}

// ---------------------------------------------------------------------------------------------
// Restart
// ---------------------------------------------------------------------------------------------

/// Writes one record of every kind (on an empty store). Pair with [`check_every_kind`] after
/// closing and reopening the same database.
pub async fn write_every_kind(store: &dyn Store) {
    let mut s = session("r-sid", "restart@example.com", "r-secret", "r-token", 3);
    s.next_link = Some("https://example.org/after".to_owned());
    store.request_session(&s, 0, 1_000).await.expect("session");
    store.record_failed_submit("r-sid", 10).await.expect("fail");
    store
        .mark_session_validated("r-sid", 2_000, 10)
        .await
        .expect("validate");

    store
        .get_or_create_lookup_pepper("r-pepper")
        .await
        .expect("pepper");
    store
        .bind(&assoc("email", "restart@example.com", "@restart:hs", 3_000))
        .await
        .expect("bind");

    store
        .store_invite(
            &new_invite("r-inv", "later@example.com"),
            &new_key("r-pk", Some(9_000)),
            4_000,
        )
        .await
        .expect("invite");
    store
        .record_delivery_failure(&["r-inv".to_owned()], 4_500)
        .await
        .expect("failure");

    store
        .create_access_token("r-access", "@restart:hs", 5_000)
        .await
        .expect("token");
    store
        .accept_terms("@restart:hs", &["https://terms/v1".to_owned()], 6_000)
        .await
        .expect("terms");
}

/// Checks everything [`write_every_kind`] wrote.
pub async fn check_every_kind(store: &dyn Store) {
    let s = store
        .get_session("r-sid")
        .await
        .expect("get")
        .expect("session survived");
    assert_eq!(
        (
            s.address.as_str(),
            s.client_secret.as_str(),
            s.token.as_str()
        ),
        ("restart@example.com", "r-secret", "r-token")
    );
    assert_eq!(
        (s.send_attempt, s.next_link.as_deref()),
        (3, Some("https://example.org/after"))
    );
    assert_eq!(
        (
            s.created_ms,
            s.modified_ms,
            s.validated_ms,
            s.failed_submits
        ),
        (1_000, 2_000, Some(2_000), 1)
    );

    assert_eq!(
        store.lookup_pepper().await.expect("pepper").as_deref(),
        Some("r-pepper")
    );
    assert_eq!(
        store
            .get_association(&tp("email", "restart@example.com"))
            .await
            .expect("get"),
        Some(assoc("email", "restart@example.com", "@restart:hs", 3_000))
    );
    let h = lookup_hash("restart@example.com", "email", "r-pepper");
    assert_eq!(
        store
            .lookup_hashes("r-pepper", vec![h.clone()])
            .await
            .expect("lookup"),
        Some(vec![HashMatch {
            lookup_hash: h,
            mxid: "@restart:hs".to_owned()
        }])
    );

    let inv = store
        .get_invite("r-inv")
        .await
        .expect("get")
        .expect("invite survived");
    assert_eq!(inv.params, new_invite("r-inv", "later@example.com").params);
    assert_eq!(
        (inv.created_ms, inv.delivery_attempts, inv.next_attempt_ms),
        (4_000, 1, Some(4_500))
    );
    assert_eq!(
        inv.ephemeral_key
            .private_key
            .as_ref()
            .map(SecretString::expose),
        Some("private-of-r-pk")
    );
    assert!(
        store
            .is_ephemeral_key_valid("r-pk", 8_999)
            .await
            .expect("valid")
    );

    assert_eq!(
        store.access_token_owner("r-access").await.expect("owner"),
        Some(AccessTokenOwner {
            user_id: "@restart:hs".to_owned(),
            created_ms: 5_000
        })
    );
    assert_eq!(
        store.accepted_terms("@restart:hs").await.expect("terms"),
        ["https://terms/v1"]
    );
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

/// Many tasks writing at once (distinct rows, hot rows, a pepper rotation and readers in
/// between): every call must succeed — no busy/locked error may reach a caller — and every
/// acknowledged write must be readable afterwards.
pub async fn concurrent_writes(store: Arc<dyn Store>) {
    const TASKS: usize = 24;
    const OPS: usize = 15;
    store
        .get_or_create_lookup_pepper("c-pepper")
        .await
        .expect("pepper");

    let mut handles = Vec::new();
    for t in 0..TASKS {
        let store = Arc::clone(&store);
        handles.push(tokio::spawn(async move {
            for o in 0..OPS {
                let now = (t * 1_000 + o) as i64;
                let address = format!("c{t}-{o}@example.com");
                store
                    .bind(&assoc("email", &address, &format!("@c{t}:hs"), now))
                    .await
                    .expect("bind");
                // Hot rows: everybody rebinds the same 3PID and hits the same session scope.
                store
                    .bind(&assoc(
                        "email",
                        "hot@example.com",
                        &format!("@c{t}:hs"),
                        now,
                    ))
                    .await
                    .expect("hot bind");
                store
                    .request_session(
                        &session(
                            &format!("c-sid-{t}-{o}"),
                            "hot@example.com",
                            "hot",
                            "tok",
                            now,
                        ),
                        0,
                        now,
                    )
                    .await
                    .expect("hot session");
                let sid = format!("c-own-{t}-{o}");
                store
                    .request_session(&session(&sid, &address, "s", "tok", 1), 0, now)
                    .await
                    .expect("session");
                store
                    .mark_session_validated(&sid, now, 10)
                    .await
                    .expect("validate");
                store
                    .create_access_token(&format!("c-tok-{t}-{o}"), &format!("@c{t}:hs"), now)
                    .await
                    .expect("token");
                store
                    .accept_terms(&format!("@c{t}:hs"), &[format!("https://terms/{o}")], now)
                    .await
                    .expect("terms");
                store
                    .store_invite(
                        &new_invite(&format!("c-inv-{t}-{o}"), &address),
                        &new_key(&format!("c-pk-{t}-{o}"), None),
                        now,
                    )
                    .await
                    .expect("invite");
                // Readers interleaved with the writers.
                store
                    .get_association(&tp("email", &address))
                    .await
                    .expect("read");
                let pepper = store
                    .lookup_pepper()
                    .await
                    .expect("pepper")
                    .expect("exists");
                store
                    .lookup_hashes(&pepper, vec![lookup_hash(&address, "email", &pepper)])
                    .await
                    .expect("lookup");
            }
        }));
    }
    // A long write transaction in the middle of it all.
    let rotator = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            store
                .rotate_lookup_pepper("c-pepper-2")
                .await
                .expect("rotate");
        })
    };
    for handle in handles {
        handle.await.expect("task did not panic");
    }
    rotator.await.expect("rotation did not panic");

    // Everything acknowledged is there, and hashed with the final pepper.
    let all: Vec<Threepid> = (0..TASKS)
        .flat_map(|t| (0..OPS).map(move |o| tp("email", &format!("c{t}-{o}@example.com"))))
        .collect();
    assert_eq!(
        store.get_associations(&all).await.expect("bulk").len(),
        TASKS * OPS
    );
    let pepper = store
        .lookup_pepper()
        .await
        .expect("pepper")
        .expect("exists");
    assert_eq!(pepper, "c-pepper-2");
    let hashes: Vec<String> = all
        .iter()
        .map(|t| lookup_hash(&t.address, &t.medium, &pepper))
        .collect();
    let found = store
        .lookup_hashes(&pepper, hashes.clone())
        .await
        .expect("lookup")
        .expect("current pepper");
    assert_eq!(
        found.len(),
        TASKS * OPS,
        "every binding hashed with the final pepper"
    );
    for t in 0..TASKS {
        for o in 0..OPS {
            assert!(
                store
                    .access_token_owner(&format!("c-tok-{t}-{o}"))
                    .await
                    .expect("owner")
                    .is_some()
            );
            assert!(
                store
                    .get_invite(&format!("c-inv-{t}-{o}"))
                    .await
                    .expect("invite")
                    .is_some()
            );
        }
        assert_eq!(
            store
                .accepted_terms(&format!("@c{t}:hs"))
                .await
                .expect("terms")
                .len(),
            OPS
        );
    }
    assert!(
        store
            .find_session("email", "hot@example.com", "hot")
            .await
            .expect("find")
            .is_some()
    );
}
