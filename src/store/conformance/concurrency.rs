//! Many writers at once: no busy/locked error reaches a caller, no acknowledged write is lost.

use super::*;

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
                let ms = (t * 1_000 + o) as i64;
                let now = Timestamp::from_millis(ms);
                let user = UserId::parse(format!("@c{t}:hs")).expect("a user ID");
                let address = format!("c{t}-{o}@example.com");
                store
                    .bind(&assoc("email", &address, &format!("@c{t}:hs"), ms))
                    .await
                    .expect("bind");
                // Hot rows: everybody rebinds the same 3PID and hits the same session scope.
                store
                    .bind(&assoc("email", "hot@example.com", &format!("@c{t}:hs"), ms))
                    .await
                    .expect("hot bind");
                store
                    .request_session(
                        &session(
                            &format!("c-sid-{t}-{o}"),
                            "hot@example.com",
                            "hot",
                            "tok",
                            ms,
                        ),
                        Timestamp::EPOCH,
                        now,
                    )
                    .await
                    .expect("hot session");
                let sid = format!("c-own-{t}-{o}");
                store
                    .request_session(
                        &session(&sid, &address, "s", "tok", 1),
                        Timestamp::EPOCH,
                        now,
                    )
                    .await
                    .expect("session");
                store
                    .mark_session_validated(&self::sid(&sid), now, 10)
                    .await
                    .expect("validate");
                store
                    .create_access_token(&format!("c-tok-{t}-{o}"), &user, now)
                    .await
                    .expect("token");
                store
                    .accept_terms(&user, &[format!("https://terms/{o}")], now)
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
        .map(|t| lookup_hash(&t.address, t.medium.as_str(), &pepper))
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
                .accepted_terms(&u(&format!("@c{t}:hs")))
                .await
                .expect("terms")
                .len(),
            OPS
        );
    }
    assert!(
        store
            .find_session(&tp("email", "hot@example.com"), &secret("hot"))
            .await
            .expect("find")
            .is_some()
    );
}
