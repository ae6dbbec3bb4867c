//! Bindings, lookups (clear-text and hashed) and the lookup pepper.

use super::*;

/// A store without a pepper stores bindings without a hash; creating the pepper hashes them.
/// Needs a store on which no pepper was ever created.
pub async fn pepper_created_after_bindings(store: &dyn AssociationStore) {
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
            .unbind(&tp("email", "early@example.com"), &u("@early:hs"))
            .await
            .expect("unbind")
    );
}

/// Bind, rebind, unbind, single and bulk lookup, hashed lookup and pepper rotation.
/// Expects the current pepper to be `pepper-1` (after [`pepper_created_after_bindings`]).
pub async fn associations(store: &dyn AssociationStore) {
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
            .unbind(&alice, &u("@alice:hs"))
            .await
            .expect("unbind wrong mxid")
    );
    assert!(store.get_association(&alice).await.expect("get").is_some());
    assert!(
        store
            .unbind(&alice, &u("@alice2:hs"))
            .await
            .expect("unbind")
    );
    assert!(
        !store
            .unbind(&alice, &u("@alice2:hs"))
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
