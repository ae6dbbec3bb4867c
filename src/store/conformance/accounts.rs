//! Access tokens and accepted terms.

use super::*;

/// Access tokens: stored by digest, owner lookup, logout.
pub async fn accounts(store: &dyn AccountStore) {
    store
        .create_access_token("tok-a", &u("@user:hs"), t(10))
        .await
        .expect("create");
    store
        .create_access_token("tok-b", &u("@user:hs"), t(20))
        .await
        .expect("second token, same user");
    assert_eq!(
        store.access_token_owner("tok-a").await.expect("owner"),
        Some(AccessTokenOwner {
            user_id: u("@user:hs"),
            created_at: t(10),
            last_used_at: t(10),
        })
    );
    assert_eq!(
        store.access_token_owner("tok-A").await.expect("owner"),
        None,
        "exact match"
    );
    assert_eq!(store.access_token_owner("").await.expect("owner"), None);
    let dup = store
        .create_access_token("tok-a", &u("@other:hs"), t(30))
        .await;
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
        Some(u("@user:hs"))
    );
}

/// Bounded growth (issue 21): an account's oldest tokens are trimmed, a use moves
/// `last_used_at` forward only, unused tokens are purged, and none of it survives in a cache.
pub async fn token_lifetimes(store: &dyn AccountStore) {
    let owner = |t: &'static str| async move { store.access_token_owner(t).await.expect("owner") };
    const T: [&str; 5] = ["many-0", "many-1", "many-2", "many-3", "many-4"];
    for (i, token) in (0..).zip(T) {
        store
            .create_access_token(token, &u("@many:hs"), t(1_000_000 + i))
            .await
            .expect("create");
    }
    store
        .create_access_token("lone", &u("@lone:hs"), t(1_000_000))
        .await
        .expect("create");
    // Cached before the trim: the trim must reach the cache too.
    assert!(owner("many-0").await.is_some());
    assert_eq!(
        store
            .trim_access_tokens(&u("@many:hs"), 3)
            .await
            .expect("trim"),
        2
    );
    assert_eq!(owner("many-0").await, None, "the oldest go");
    assert_eq!(owner("many-1").await, None);
    assert!(owner("many-2").await.is_some());
    assert!(owner("lone").await.is_some(), "other accounts keep theirs");
    assert_eq!(
        store
            .trim_access_tokens(&u("@many:hs"), 3)
            .await
            .expect("trim"),
        0
    );

    assert_eq!(
        owner("many-2").await.map(|o| o.last_used_at.ms()),
        Some(1_000_002)
    );
    store
        .touch_access_token("many-2", t(2_000_000))
        .await
        .expect("touch");
    assert_eq!(
        owner("many-2")
            .await
            .map(|o| (o.created_at.ms(), o.last_used_at.ms())),
        Some((1_000_002, 2_000_000)),
        "a use is seen at once, through the cache"
    );
    store
        .touch_access_token("many-2", t(1_500_000))
        .await
        .expect("touch");
    assert_eq!(
        owner("many-2").await.map(|o| o.last_used_at.ms()),
        Some(2_000_000),
        "never backwards"
    );
    store
        .touch_access_token("no-such-token", t(1))
        .await
        .expect("touching nothing");

    assert!(owner("many-3").await.is_some(), "cached before the purge");
    let purged = store
        .purge_unused_access_tokens(t(1_800_000))
        .await
        .expect("purge");
    assert!(purged >= 3, "many-3, many-4 and lone at least: {purged}");
    assert_eq!(owner("many-3").await, None);
    assert_eq!(owner("many-4").await, None);
    assert_eq!(owner("lone").await, None);
    assert!(owner("many-2").await.is_some(), "used since: kept");
    assert_eq!(
        store
            .purge_unused_access_tokens(t(1_800_000))
            .await
            .expect("purge"),
        0
    );
}

/// Accepted terms: a per-user, append-only set.
pub async fn terms(store: &dyn AccountStore) {
    let who = u("@terms:hs");
    let urls = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        store.accepted_terms(&who).await.expect("list"),
        Vec::<String>::new()
    );
    store
        .accept_terms(&who, &urls(&["https://x/b", "https://x/a"]), t(1))
        .await
        .expect("accept");
    store
        .accept_terms(
            &who,
            &urls(&["https://x/a", "https://x/c", "https://x/c"]),
            t(2),
        )
        .await
        .expect("accept more");
    store
        .accept_terms(&who, &[], t(3))
        .await
        .expect("accept nothing");
    assert_eq!(
        store.accepted_terms(&who).await.expect("list"),
        urls(&["https://x/a", "https://x/b", "https://x/c"])
    );
    assert_eq!(
        store
            .accepted_terms(&u("@someone-else:hs"))
            .await
            .expect("list"),
        Vec::<String>::new()
    );
}
