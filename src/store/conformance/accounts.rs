//! Access tokens and accepted terms.

use super::*;

/// Access tokens: stored by digest, owner lookup, logout.
pub async fn accounts(store: &dyn AccountStore) {
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
pub async fn terms(store: &dyn AccountStore) {
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
