//! Validation sessions: idempotent requests, validation, the failure cap, expiry.

use super::*;

/// requestToken idempotency, validation, failures, expiry and clean-up.
pub async fn sessions(store: &dyn SessionStore) {
    let addr = "sess@example.com";
    let first = store
        .request_session(&session("s1", addr, "secret", "tok1", 1), t(0), t(1_000))
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
            s.created_at.ms(),
            s.modified_at.ms(),
            s.validated_at.ms(),
            s.failed_submits
        ),
        (1_000, 1_000, None, 0)
    );
    assert_eq!(
        store.get_session(&sid("s1")).await.expect("get").as_ref(),
        Some(s)
    );

    // Same scope, same or lower send_attempt: same session, nothing sent, nothing changed.
    for attempt in [1, 0, -5] {
        let again = store
            .request_session(
                &session("s2", addr, "secret", "tok2", attempt),
                t(0),
                t(2_000),
            )
            .await
            .expect("repeat");
        assert_eq!(again.outcome, SessionRequestOutcome::Unchanged);
        assert!(!again.should_send());
        assert_eq!(&again.session, s, "sid, token and timestamps unchanged");
    }
    assert_eq!(
        store.get_session(&sid("s2")).await.expect("get"),
        None,
        "candidate discarded"
    );

    // A higher send_attempt: resend the same token; the session is modified.
    let mut with_link = session("s2", addr, "secret", "tok2", 2);
    with_link.next_link = Some("https://example.org/next".to_owned());
    let resend = store
        .request_session(&with_link, t(0), t(3_000))
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
        (
            resend.session.created_at.ms(),
            resend.session.modified_at.ms()
        ),
        (1_000, 3_000)
    );
    assert_eq!(
        resend.session.next_link.as_deref(),
        Some("https://example.org/next")
    );
    assert_eq!(
        store.get_session(&sid("s1")).await.expect("get"),
        Some(resend.session.clone())
    );
    // A later resend without next_link keeps the stored one.
    let keep = store
        .request_session(&session("s2", addr, "secret", "tok2", 3), t(0), t(3_100))
        .await
        .expect("resend");
    assert_eq!(
        keep.session.next_link.as_deref(),
        Some("https://example.org/next")
    );

    // Lookups.
    let found = store
        .find_session(&tp("email", addr), &secret("secret"))
        .await
        .expect("find");
    assert_eq!(found, Some(keep.session.clone()));
    assert_eq!(
        store
            .find_session(&tp("email", addr), &secret("other"))
            .await
            .expect("find"),
        None
    );
    assert_eq!(
        store
            .find_session(&tp("msisdn", addr), &secret("secret"))
            .await
            .expect("find"),
        None
    );
    assert_eq!(store.get_session(&sid("nope")).await.expect("get"), None);

    // Another client secret for the same address is another session.
    let other = store
        .request_session(&session("s3", addr, "secret-2", "tok3", 1), t(0), t(3_500))
        .await
        .expect("second scope");
    assert_eq!(
        (other.outcome, other.session.sid.as_str()),
        (SessionRequestOutcome::Created, "s3")
    );

    // Wrong tokens are counted up to the cap, and not past it.
    assert_eq!(
        store
            .record_failed_submit(&sid("s1"), 3)
            .await
            .expect("fail"),
        Some(1)
    );
    assert_eq!(
        store
            .record_failed_submit(&sid("s1"), 3)
            .await
            .expect("fail"),
        Some(2)
    );
    assert_eq!(
        store
            .record_failed_submit(&sid("s1"), 2)
            .await
            .expect("fail"),
        None
    );
    assert_eq!(
        store
            .record_failed_submit(&sid("nope"), 3)
            .await
            .expect("fail"),
        None
    );
    // A session at its cap cannot be validated.
    assert!(
        !store
            .mark_session_validated(&sid("s1"), t(4_000), 2)
            .await
            .expect("validate locked")
    );

    // The first validation sets the validation and modification times; a second one changes
    // nothing.
    assert!(
        store
            .mark_session_validated(&sid("s1"), t(4_000), 10)
            .await
            .expect("validate")
    );
    assert!(
        store
            .mark_session_validated(&sid("s1"), t(5_000), 10)
            .await
            .expect("validate again")
    );
    assert!(
        !store
            .mark_session_validated(&sid("nope"), t(5_000), 10)
            .await
            .expect("validate unknown")
    );
    let v = store
        .get_session(&sid("s1"))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (v.validated_at.ms(), v.modified_at.ms(), v.failed_submits),
        (Some(4_000), 4_000, 2)
    );

    // An expired session (validated before stale_before_ms) is replaced by the candidate.
    let fresh = store
        .request_session(
            &session("s4", addr, "secret", "tok4", 1),
            t(6_000),
            t(7_000),
        )
        .await
        .expect("replace stale");
    assert_eq!(fresh.outcome, SessionRequestOutcome::Created);
    assert_eq!(
        (fresh.session.sid.as_str(), fresh.session.validated_at.ms()),
        ("s4", None)
    );
    assert_eq!(
        store.get_session(&sid("s1")).await.expect("get"),
        None,
        "stale session removed"
    );

    // A colliding sid is a conflict, and nothing is written.
    let collision = store
        .request_session(
            &session("s4", "other@example.com", "x", "t", 1),
            t(0),
            t(7_100),
        )
        .await;
    assert!(
        matches!(collision, Err(StoreError::Conflict(_))),
        "{collision:?}"
    );
    assert_eq!(
        store
            .find_session(&tp("email", "other@example.com"), &secret("x"))
            .await
            .expect("find"),
        None
    );

    // Clean-up by modification time: s3 (3_500) goes, s4 (7_000) stays.
    assert_eq!(
        store
            .delete_sessions_modified_before(t(4_000))
            .await
            .expect("delete"),
        1
    );
    assert_eq!(store.get_session(&sid("s3")).await.expect("get"), None);
    assert!(store.get_session(&sid("s4")).await.expect("get").is_some());
    assert_eq!(
        store
            .delete_sessions_modified_before(t(4_000))
            .await
            .expect("delete"),
        0
    );
}

/// A validated session's lifetime runs from its first validation (issue 21): submitting the
/// token again moves no timestamp, a resend does not move the lifetime's start, and once the
/// lifetime counted from the validation is over, `request_session` replaces the session even
/// though it was modified later.
pub async fn validation_is_counted_once(store: &dyn SessionStore) {
    let addr = "once@example.com";
    let created = store
        .request_session(
            &session("once-1", addr, "secret", "tokA", 1),
            t(0),
            t(10_000),
        )
        .await
        .expect("create");
    assert_eq!(created.outcome, SessionRequestOutcome::Created);
    assert_eq!(created.session.lifetime_start().ms(), 10_000);
    assert!(
        store
            .mark_session_validated(&sid("once-1"), t(11_000), 10)
            .await
            .expect("validate")
    );
    let validated = store
        .get_session(&sid("once-1"))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (
            validated.validated_at.ms(),
            validated.modified_at.ms(),
            validated.lifetime_start().ms()
        ),
        (Some(11_000), 11_000, 11_000)
    );
    for later in [12_000, 13_000, 1_000_000] {
        assert!(
            store
                .mark_session_validated(&sid("once-1"), t(later), 10)
                .await
                .expect("validate again"),
            "the right token is still accepted"
        );
        assert_eq!(
            store
                .get_session(&sid("once-1"))
                .await
                .expect("get")
                .as_ref(),
            Some(&validated),
            "re-submitting at {later} changed nothing"
        );
    }

    // A resend records the send but does not move the lifetime's start.
    let resend = store
        .request_session(
            &session("once-2", addr, "secret", "tokB", 2),
            t(0),
            t(14_000),
        )
        .await
        .expect("resend");
    assert_eq!(resend.outcome, SessionRequestOutcome::Resend);
    assert_eq!(
        (
            resend.session.sid.as_str(),
            resend.session.modified_at.ms(),
            resend.session.lifetime_start().ms()
        ),
        ("once-1", 14_000, 11_000)
    );

    // Expired counted from the validation (11 000 < 11 001), though modified at 14 000.
    let replaced = store
        .request_session(
            &session("once-3", addr, "secret", "tokC", 1),
            t(11_001),
            t(15_000),
        )
        .await
        .expect("replace");
    assert_eq!(
        (replaced.outcome, replaced.session.sid.as_str()),
        (SessionRequestOutcome::Created, "once-3")
    );
    assert_eq!(store.get_session(&sid("once-1")).await.expect("get"), None);
}
