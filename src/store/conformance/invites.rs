//! Invites, ephemeral keys, delivery on bind and delivery retries.

use super::*;

/// store-invite, ephemeral keys, delivery on bind and delivery retries.
pub async fn invites(store: &dyn Store) {
    let dave = tp("email", "dave@example.com");
    store
        .store_invite(
            &new_invite("inv1", "dave@example.com"),
            &new_key("pk-1_-", None),
            t(100),
        )
        .await
        .expect("inv1");
    store
        .store_invite(
            &new_invite("inv2", "dave@example.com"),
            &new_key("pk2+/", Some(1_000)),
            t(200),
        )
        .await
        .expect("inv2");
    store
        .store_invite(
            &new_invite("inv3", "erin@example.com"),
            &new_key("pk3", None),
            t(150),
        )
        .await
        .expect("inv3");

    // Duplicate token or duplicate key: conflict, and the transaction leaves nothing behind.
    let dup_token = store
        .store_invite(
            &new_invite("inv1", "x@example.com"),
            &new_key("pk-new", None),
            t(250),
        )
        .await;
    assert!(
        matches!(dup_token, Err(StoreError::Conflict(_))),
        "{dup_token:?}"
    );
    assert!(
        !store
            .is_ephemeral_key_valid("pk-new", t(250))
            .await
            .expect("valid")
    );
    let dup_key = store
        .store_invite(
            &new_invite("inv-new", "x@example.com"),
            &new_key("pk3", None),
            t(250),
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
        (
            inv1.created_at.ms(),
            inv1.delivered_at.ms(),
            inv1.delivery_attempts,
            inv1.next_attempt_at.ms()
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
        (
            inv1.ephemeral_key.created_at.ms(),
            inv1.ephemeral_key.expires_at.ms()
        ),
        (100, None)
    );
    assert_eq!(store.get_invite("nope").await.expect("get"), None);

    // Ephemeral key validity: verbatim comparison, optional expiry.
    assert!(
        store
            .is_ephemeral_key_valid("pk-1_-", t(1_000_000))
            .await
            .expect("valid")
    );
    assert!(
        !store
            .is_ephemeral_key_valid("pk+1/-", t(0))
            .await
            .expect("other alphabet is another string")
    );
    assert!(
        store
            .is_ephemeral_key_valid("pk2+/", t(999))
            .await
            .expect("valid")
    );
    assert!(
        !store
            .is_ephemeral_key_valid("pk2+/", t(1_000))
            .await
            .expect("expired")
    );
    assert!(
        !store
            .is_ephemeral_key_valid("unknown", t(0))
            .await
            .expect("unknown")
    );

    let tokens = |v: Vec<crate::store::Invite>| v.into_iter().map(|i| i.token).collect::<Vec<_>>();
    assert_eq!(
        tokens(store.undelivered_invites(&dave).await.expect("undelivered")),
        ["inv1", "inv2"]
    );

    // Nothing to deliver until the 3PID is bound.
    assert_eq!(
        store.pending_deliveries(t(300), 10).await.expect("pending"),
        vec![]
    );
    store
        .bind(&assoc("email", "dave@example.com", "@dave:hs", 300))
        .await
        .expect("bind");
    let pending = store.pending_deliveries(t(300), 10).await.expect("pending");
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.invite.token.as_str(), p.mxid.as_str()))
            .collect::<Vec<_>>(),
        [("inv1", "@dave:hs"), ("inv2", "@dave:hs")]
    );
    assert_eq!(
        store
            .pending_deliveries(t(300), 1)
            .await
            .expect("pending")
            .len(),
        1,
        "limit"
    );

    // A failure postpones the invite.
    assert_eq!(
        store
            .record_delivery_failure(&["inv1".to_owned()], t(500))
            .await
            .expect("fail"),
        1
    );
    let due = |v: Vec<crate::store::PendingDelivery>| {
        v.into_iter().map(|p| p.invite.token).collect::<Vec<_>>()
    };
    assert_eq!(
        due(store.pending_deliveries(t(499), 10).await.expect("pending")),
        ["inv2"]
    );
    assert_eq!(
        due(store.pending_deliveries(t(500), 10).await.expect("pending")),
        ["inv1", "inv2"]
    );
    let inv1 = store
        .get_invite("inv1")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (inv1.delivery_attempts, inv1.next_attempt_at.ms()),
        (1, Some(500))
    );

    // Deferring (in flight, a busy homeserver) postpones without counting an attempt.
    assert_eq!(
        store
            .defer_deliveries(&["inv2".to_owned(), "nope".to_owned()], t(550), t(320))
            .await
            .expect("defer"),
        1
    );
    assert_eq!(
        due(store.pending_deliveries(t(549), 10).await.expect("pending")),
        ["inv1"]
    );
    assert_eq!(
        due(store.pending_deliveries(t(550), 10).await.expect("pending")),
        ["inv1", "inv2"]
    );
    let inv2 = store
        .get_invite("inv2")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (
            inv2.delivery_attempts,
            inv2.next_attempt_at.ms(),
            inv2.delivery_started_at.ms()
        ),
        (0, Some(550), Some(320))
    );
    store
        .defer_deliveries(&["inv2".to_owned()], t(550), t(400))
        .await
        .expect("defer again");
    assert_eq!(
        store
            .get_invite("inv2")
            .await
            .expect("get")
            .and_then(|i| i.delivery_started_at.ms()),
        Some(320),
        "delivery starts once"
    );
    assert_eq!(
        store.defer_deliveries(&[], t(1), t(1)).await.expect("none"),
        0
    );

    // Given up: never listed again, and only once.
    store
        .store_invite(
            &new_invite("inv-old", "dave@example.com"),
            &new_key("pk-old", None),
            t(1),
        )
        .await
        .expect("store");
    assert_eq!(
        due(store.pending_deliveries(t(550), 10).await.expect("pending")),
        ["inv-old", "inv1", "inv2"]
    );
    let old = ["inv-old".to_owned()];
    assert_eq!(
        store
            .abandon_deliveries(&old, t(560))
            .await
            .expect("abandon"),
        1
    );
    assert_eq!(
        store.abandon_deliveries(&old, t(560)).await.expect("again"),
        0
    );
    assert_eq!(
        due(store
            .pending_deliveries(t(10_000), 10)
            .await
            .expect("pending")),
        ["inv1", "inv2"]
    );
    assert_eq!(
        store
            .get_invite("inv-old")
            .await
            .expect("get")
            .map(|i| i.token),
        Some("inv-old".to_owned()),
        "still known (sign-ed25519, key validity)"
    );

    // Delivery.
    let delivered = store
        .mark_invites_delivered(
            &["inv1".to_owned(), "inv2".to_owned(), "nope".to_owned()],
            t(600),
        )
        .await
        .expect("deliver");
    assert_eq!(delivered, 2);
    assert_eq!(
        store
            .mark_invites_delivered(&["inv1".to_owned()], t(700))
            .await
            .expect("again"),
        0
    );
    assert_eq!(
        store
            .mark_invites_delivered(&[], t(700))
            .await
            .expect("none"),
        0
    );
    assert_eq!(
        store
            .get_invite("inv1")
            .await
            .expect("get")
            .expect("exists")
            .delivered_at
            .ms(),
        Some(600)
    );
    assert_eq!(
        store.undelivered_invites(&dave).await.expect("undelivered"),
        vec![]
    );
    assert_eq!(
        store
            .pending_deliveries(t(10_000), 10)
            .await
            .expect("pending"),
        vec![]
    );
    assert_eq!(
        store
            .record_delivery_failure(&["inv1".to_owned()], t(900))
            .await
            .expect("fail"),
        0
    );
    assert!(
        store
            .is_ephemeral_key_valid("pk-1_-", t(700))
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
