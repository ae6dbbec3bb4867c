//! Pepper rotation in batches (issue 22): binds are not held up for the whole rotation, the
//! old pepper answers completely until the switch and is refused after it, binds made
//! meanwhile are found under the new pepper, a later rotation replaces one in progress, and a
//! rotation stopped half-way (a crash) loses nothing and is completed by the next one.

use std::ops::ControlFlow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::*;
use crate::store::{Rotation, StoreError};

/// `count` associations `{prefix}{i}@example.org` → `@{prefix}{i}:hs`, bound.
async fn bind_many(store: &dyn AssociationStore, prefix: &str, count: usize) -> Vec<String> {
    let mut addresses = Vec::with_capacity(count);
    for i in 0..count {
        let address = format!("{prefix}{i}@example.org");
        store
            .bind(&assoc(
                "email",
                &address,
                &format!("@{prefix}{i}:hs"),
                1_000,
            ))
            .await
            .expect("bind");
        addresses.push(address);
    }
    addresses
}

/// The owner `@{local}:hs` of `{local}@example.org`, as [`bind_many`] and the stories bind.
fn owner(address: &str) -> String {
    let local = address.split('@').next().unwrap_or(address);
    format!("@{local}:hs")
}

/// Asserts that `pepper` is current and finds every one of `addresses` with its owner, through
/// v2 (one batch) and v1 (each).
async fn all_found(store: &dyn AssociationStore, pepper: &str, addresses: &[String]) {
    let hashes: Vec<String> = addresses
        .iter()
        .map(|a| lookup_hash(a, "email", pepper))
        .collect();
    let found = store
        .lookup_hashes(pepper, hashes.clone())
        .await
        .expect("lookup")
        .unwrap_or_else(|| panic!("{pepper} is not the current pepper"));
    let mut expected: Vec<HashMatch> = hashes
        .into_iter()
        .zip(addresses)
        .map(|(lookup_hash, a)| HashMatch {
            lookup_hash,
            mxid: owner(a),
        })
        .collect();
    expected.sort_by(|a, b| a.lookup_hash.cmp(&b.lookup_hash));
    assert_eq!(found.len(), expected.len(), "every address is found");
    assert_eq!(found, expected);
    for a in addresses {
        let bound = store
            .get_association(&tp("email", a))
            .await
            .expect("v1 lookup");
        assert_eq!(bound.map(|b| b.mxid.to_string()), Some(owner(a)), "{a}");
    }
}

/// A rotation in small batches beside a stream of binds and old-pepper lookups: some bind
/// starts after the first batch and ends before a later one (so binds wait for a batch, not
/// for the rotation); every old-pepper lookup is complete until the switch and refused after
/// it; afterwards the new pepper finds everything, the binds made meanwhile included.
pub async fn rotation_goes_on_beside_binds(store: &dyn AssociationStore) {
    const ROWS: usize = 240;
    const BATCH: u32 = 8;
    let old = store
        .get_or_create_lookup_pepper("rot-pepper-1")
        .await
        .expect("pepper");
    let mut addresses = bind_many(store, "rot", ROWS).await;
    let batches = AtomicU64::new(0);
    let rotated = AtomicBool::new(false);
    let progress = |_: u64| {
        batches.fetch_add(1, Ordering::AcqRel);
        ControlFlow::Continue(())
    };
    let rotation = async {
        let outcome = store
            .rotate_lookup_pepper_with("rot-pepper-2", BATCH, &progress)
            .await;
        rotated.store(true, Ordering::Release);
        outcome
    };
    // Each bind's batch count when it began and when it returned.
    let spans = Mutex::new(Vec::new());
    let meanwhile = async {
        let mut bound = Vec::new();
        let mut switched = false;
        for i in 0..10_000 {
            if rotated.load(Ordering::Acquire) {
                break;
            }
            let began = batches.load(Ordering::Acquire);
            let address = format!("meanwhile{i}@example.org");
            store
                .bind(&assoc("email", &address, &owner(&address), 2_000))
                .await
                .expect("bind during the rotation");
            let ended = batches.load(Ordering::Acquire);
            spans.lock().expect("spans").push((began, ended));
            bound.push(address);
            let hashes = addresses[..ROWS]
                .iter()
                .map(|a| lookup_hash(a, "email", &old))
                .collect();
            match store.lookup_hashes(&old, hashes).await.expect("lookup") {
                Some(found) => {
                    assert!(!switched, "once refused, the old pepper stays refused");
                    assert_eq!(found.len(), ROWS, "an old-pepper answer is complete");
                }
                None => switched = true,
            }
        }
        bound
    };
    let (outcome, bound) = tokio::join!(rotation, meanwhile);
    let reported = batches.load(Ordering::Acquire);
    let rows = u64::try_from(ROWS).expect("small");
    assert!(
        matches!(outcome, Ok(Rotation::Switched(rehashed)) if rehashed >= rows),
        "the batches rehashed at least the rows bound before the rotation: {outcome:?}"
    );
    assert!(
        reported >= rows / u64::from(BATCH),
        "one report per batch before the switch: {reported}"
    );
    let spans = spans.into_inner().expect("spans");
    assert!(
        spans
            .iter()
            .any(|&(began, ended)| began >= 1 && ended < reported),
        "some bind went between two batches (batch counts at each bind's start and end, \
         {reported} batches): {spans:?}"
    );
    assert_eq!(
        store.lookup_pepper().await.expect("pepper").as_deref(),
        Some("rot-pepper-2")
    );
    assert_eq!(
        store.lookup_hashes(&old, Vec::new()).await.expect("lookup"),
        None,
        "the old pepper is refused"
    );
    addresses.extend(bound);
    all_found(store, "rot-pepper-2", &addresses).await;
    // Binds after the switch hash under the new pepper only; a further rotation covers them.
    addresses.extend(bind_many(store, "after", 3).await);
    all_found(store, "rot-pepper-2", &addresses).await;
    let rehashed = store
        .rotate_lookup_pepper("rot-pepper-3")
        .await
        .expect("rotate again");
    assert!(rehashed >= u64::try_from(addresses.len()).expect("small"));
    all_found(store, "rot-pepper-3", &addresses).await;
    for a in &addresses {
        assert!(
            store
                .unbind(&tp("email", a), &u(&owner(a)))
                .await
                .expect("unbind")
        );
    }
    assert_eq!(
        store
            .lookup_hashes(
                "rot-pepper-3",
                addresses
                    .iter()
                    .map(|a| lookup_hash(a, "email", "rot-pepper-3"))
                    .collect()
            )
            .await
            .expect("lookup"),
        Some(Vec::new())
    );
}

/// A rotation begun while another runs replaces it: the first fails with a conflict at its
/// next batch, the second completes, and its pepper finds everything.
pub async fn a_later_rotation_replaces_one_in_progress(store: &dyn AssociationStore) {
    store
        .get_or_create_lookup_pepper("later-pepper-0")
        .await
        .expect("pepper");
    let addresses = bind_many(store, "later", 60).await;
    let batches = AtomicU64::new(0);
    let progress = |_: u64| {
        batches.fetch_add(1, Ordering::AcqRel);
        ControlFlow::Continue(())
    };
    let first = store.rotate_lookup_pepper_with("later-pepper-1", 2, &progress);
    let second = async {
        while batches.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        store.rotate_lookup_pepper("later-pepper-2").await
    };
    let (first, second) = tokio::join!(first, second);
    assert!(
        matches!(first, Err(StoreError::Conflict(_))),
        "the replaced rotation says so: {first:?}"
    );
    second.expect("the later rotation completes");
    assert_eq!(
        store.lookup_pepper().await.expect("pepper").as_deref(),
        Some("later-pepper-2")
    );
    all_found(store, "later-pepper-2", &addresses).await;
    for a in &addresses {
        store
            .unbind(&tp("email", a), &u(&owner(a)))
            .await
            .expect("unbind");
    }
}

/// The associations [`rotation_stopped_half_way`] leaves, for [`rotation_completed_after_restart`].
fn stopped_addresses() -> Vec<String> {
    (0..50)
        .map(|i| format!("stopped{i}@example.org"))
        .chain(["during-stop@example.org".to_owned()])
        .collect()
}

/// A rotation stopped after three batches, as a crash between batches leaves it, then another
/// one killed inside a batch (its future dropped with the batch's transaction open, as a lost
/// process leaves it: rolled back): the old pepper is still current and answers completely,
/// and binds still work. Needs a store without a pepper. Pair with
/// [`rotation_completed_after_restart`] after closing and reopening the same database.
pub async fn rotation_stopped_half_way(store: &dyn AssociationStore) {
    let old = store
        .get_or_create_lookup_pepper("stop-pepper-0")
        .await
        .expect("pepper");
    assert_eq!(old, "stop-pepper-0", "needs a store without a pepper");
    bind_many(store, "stopped", 50).await;
    let stop_after_three = |rehashed: u64| {
        if rehashed >= 3 * 7 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    assert_eq!(
        store
            .rotate_lookup_pepper_with("stop-pepper-1", 7, &stop_after_three)
            .await
            .expect("rotation"),
        Rotation::Stopped(21)
    );
    let two_done = tokio::sync::Notify::new();
    let report = |rehashed: u64| {
        if rehashed >= 2 * 7 {
            two_done.notify_one();
        }
        ControlFlow::Continue(())
    };
    tokio::select! {
        outcome = store.rotate_lookup_pepper_with("stop-pepper-k", 7, &report) => {
            panic!("the rotation was to be killed in its third batch: {outcome:?}")
        }
        // The rotation's future is dropped where it waits next: in its third batch.
        () = two_done.notified() => {}
    }
    store
        .bind(&assoc(
            "email",
            "during-stop@example.org",
            "@during-stop:hs",
            1,
        ))
        .await
        .expect("bind");
    assert_eq!(
        store.lookup_pepper().await.expect("pepper").as_deref(),
        Some("stop-pepper-0")
    );
    for stopped in ["stop-pepper-1", "stop-pepper-k"] {
        assert_eq!(
            store
                .lookup_hashes(stopped, Vec::new())
                .await
                .expect("lookup"),
            None,
            "a stopped rotation's pepper is not current"
        );
    }
    all_found(store, "stop-pepper-0", &stopped_addresses()).await;
}

/// After [`rotation_stopped_half_way`] and a restart: the old pepper still answers
/// completely; the next rotation (to another pepper: it starts over, so no row keeps the
/// stopped rotation's hash) completes, and its pepper finds everything.
pub async fn rotation_completed_after_restart(store: &dyn AssociationStore) {
    let addresses = stopped_addresses();
    all_found(store, "stop-pepper-0", &addresses).await;
    assert_eq!(
        store
            .rotate_lookup_pepper_with("stop-pepper-2", 7, &|_| ControlFlow::Continue(()))
            .await
            .expect("rotation"),
        Rotation::Switched(u64::try_from(addresses.len()).expect("small"))
    );
    assert_eq!(
        store
            .lookup_hashes("stop-pepper-0", Vec::new())
            .await
            .expect("lookup"),
        None
    );
    all_found(store, "stop-pepper-2", &addresses).await;
}

/// The row every "before the hash slots" migration test writes in the old schema: an email
/// association of `@old:hs` hashed under [`MIGRATED_PEPPER`].
pub const MIGRATED_ADDRESS: &str = "old@example.org";
pub const MIGRATED_PEPPER: &str = "old-pepper";

/// Its lookup hash under the old pepper, as the old schema's `lookup_hash` held it.
pub fn migrated_hash() -> String {
    crate::crypto::hashing::lookup_hash(MIGRATED_ADDRESS, "email", MIGRATED_PEPPER)
}

/// After the migration: the migrated row answers its old-pepper hash (and v1) on `store`.
pub async fn migrated_row_is_found(store: &dyn AssociationStore) {
    let hash = migrated_hash();
    assert_eq!(
        store
            .lookup_hashes(MIGRATED_PEPPER, vec![hash.clone()])
            .await
            .expect("lookup"),
        Some(vec![HashMatch {
            lookup_hash: hash,
            mxid: "@old:hs".to_owned(),
        }])
    );
    let threepid = Threepid::new(Medium::Email, MIGRATED_ADDRESS);
    assert!(
        store
            .get_association(&threepid)
            .await
            .expect("v1")
            .is_some()
    );
}

/// ...and the next rotation covers it: it answers under the new pepper.
pub async fn migrated_row_is_rotated(store: &dyn AssociationStore) {
    assert_eq!(
        store
            .rotate_lookup_pepper("new-pepper")
            .await
            .expect("rotates"),
        1
    );
    let hash = crate::crypto::hashing::lookup_hash(MIGRATED_ADDRESS, "email", "new-pepper");
    assert_eq!(
        store
            .lookup_hashes("new-pepper", vec![hash.clone()])
            .await
            .expect("lookup"),
        Some(vec![HashMatch {
            lookup_hash: hash,
            mxid: "@old:hs".to_owned(),
        }])
    );
}
