//! Nothing acknowledged is lost: one record of every kind, written, then read back after
//! the backend reopened the same database.

use super::*;

/// Writes one record of every kind (on an empty store). Pair with [`check_every_kind`] after
/// closing and reopening the same database.
pub async fn write_every_kind(store: &dyn Store) {
    let mut s = session("r-sid", "restart@example.com", "r-secret", "r-token", 3);
    s.next_link = Some("https://example.org/after".to_owned());
    store
        .request_session(&s, t(0), t(1_000))
        .await
        .expect("session");
    store
        .record_failed_submit(&sid("r-sid"), 10)
        .await
        .expect("fail");
    store
        .mark_session_validated(&sid("r-sid"), t(2_000), 10)
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
            t(4_000),
        )
        .await
        .expect("invite");
    store
        .record_delivery_failure(&["r-inv".to_owned()], t(4_500))
        .await
        .expect("failure");

    store
        .create_access_token("r-access", &u("@restart:hs"), t(5_000))
        .await
        .expect("token");
    store
        .accept_terms(
            &u("@restart:hs"),
            &["https://terms/v1".to_owned()],
            t(6_000),
        )
        .await
        .expect("terms");
}

/// Checks everything [`write_every_kind`] wrote.
pub async fn check_every_kind(store: &dyn Store) {
    let s = store
        .get_session(&sid("r-sid"))
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
            s.created_at.ms(),
            s.modified_at.ms(),
            s.validated_at.ms(),
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
    assert_eq!(
        (inv.room_id.as_str(), inv.sender.as_str()),
        ("!room:hs", "@inviter:hs")
    );
    assert_eq!(
        (
            inv.created_at.ms(),
            inv.delivery_attempts,
            inv.next_attempt_at.ms()
        ),
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
            .is_ephemeral_key_valid("r-pk", t(8_999))
            .await
            .expect("valid")
    );

    assert_eq!(
        store.access_token_owner("r-access").await.expect("owner"),
        Some(AccessTokenOwner {
            user_id: u("@restart:hs"),
            created_at: t(5_000),
            last_used_at: t(5_000),
        })
    );
    assert_eq!(
        store
            .accepted_terms(&u("@restart:hs"))
            .await
            .expect("terms"),
        ["https://terms/v1"]
    );
}
