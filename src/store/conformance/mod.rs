//! The store conformance suite: one story per area, written against `&dyn Store` only, so
//! every backend (SQLite now, PostgreSQL later) runs exactly the same checks. Each backend's
//! tests call [`run_all`] on a fresh, empty store, plus the restart pairs
//! ([`write_every_kind`] → reopen → [`check_every_kind`], [`rotation_stopped_half_way`] →
//! reopen → [`rotation_completed_after_restart`]) and [`concurrent_writes`].
//!
//! The functions panic on the first violated expectation (they are test code that lives in
//! the library so other crates' and backends' tests can call them).

use std::sync::Arc;

use super::{
    AccessTokenOwner, AccountStore, Association, AssociationStore, HashMatch, NewEphemeralKey,
    NewInvite, NewSession, SessionRequestOutcome, SessionStore, Store, StoreError, Threepid,
};
use crate::crypto::SecretString;
use crate::crypto::hashing::lookup_hash;
use crate::domain::{ClientSecret, Medium, Sid, Timestamp, UserId};

mod accounts;
mod associations;
mod concurrency;
mod invites;
mod restart;
mod rotation;
mod sessions;

pub use accounts::{accounts, terms, token_lifetimes};
pub use associations::{associations, pepper_created_after_bindings};
pub use concurrency::concurrent_writes;
pub use invites::invites;
pub use restart::{check_every_kind, write_every_kind};
pub use rotation::{
    MIGRATED_ADDRESS, MIGRATED_PEPPER, a_later_rotation_replaces_one_in_progress, migrated_hash,
    migrated_row_is_found, migrated_row_is_rotated, rotation_completed_after_restart,
    rotation_goes_on_beside_binds, rotation_stopped_half_way,
};
pub use sessions::{sessions, validation_is_counted_once};

/// Runs every story. `store` must be empty (freshly created); stories run in order.
pub async fn run_all(store: &dyn Store) {
    pepper_created_after_bindings(store).await;
    sessions(store).await;
    validation_is_counted_once(store).await;
    associations(store).await;
    invites(store).await;
    accounts(store).await;
    token_lifetimes(store).await;
    terms(store).await;
    unstorable_keys_match_nothing(store).await;
    rotation_goes_on_beside_binds(store).await;
    a_later_rotation_replaces_one_in_progress(store).await;
}

/// Stored times as the milliseconds the stories write their expectations in.
trait Millis {
    type Out;
    fn ms(self) -> Self::Out;
}

impl Millis for Timestamp {
    type Out = i64;
    fn ms(self) -> i64 {
        self.as_millis()
    }
}

impl Millis for Option<Timestamp> {
    type Out = Option<i64>;
    fn ms(self) -> Option<i64> {
        self.map(Timestamp::as_millis)
    }
}

/// The instant `ms` milliseconds after the epoch.
fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn u(id: &str) -> UserId {
    UserId::parse(id).expect("a user ID")
}

fn sid(s: &str) -> Sid {
    Sid::parse(s).expect("a sid")
}

fn secret(s: &str) -> ClientSecret {
    ClientSecret::parse(s).expect("a client secret")
}

fn medium(m: &str) -> Medium {
    Medium::parse(m).expect("a medium")
}

fn session(sid: &str, address: &str, secret: &str, token: &str, attempt: i64) -> NewSession {
    NewSession {
        sid: self::sid(sid),
        medium: Medium::Email,
        address: address.to_owned(),
        client_secret: self::secret(secret),
        token: token.to_owned(),
        send_attempt: attempt,
        next_link: None,
    }
}

fn assoc(medium: &str, address: &str, mxid: &str, ts: i64) -> Association {
    Association {
        medium: self::medium(medium),
        address: address.to_owned(),
        mxid: u(mxid),
        ts: t(ts),
        not_before: t(ts),
        not_after: t(ts + 100 * 365 * 24 * 3600 * 1000),
    }
}

fn tp(medium: &str, address: &str) -> Threepid {
    Threepid::new(self::medium(medium), address)
}

fn new_invite(token: &str, address: &str) -> NewInvite {
    NewInvite {
        token: token.to_owned(),
        medium: Medium::Email,
        address: address.to_owned(),
        room_id: "!room:hs".to_owned(),
        sender: "@inviter:hs".to_owned(),
    }
}

fn new_key(public_key: &str, expires_ms: Option<i64>) -> NewEphemeralKey {
    NewEphemeralKey {
        public_key: public_key.to_owned(),
        private_key: Some(SecretString::new(format!("private-of-{public_key}"))),
        expires_at: expires_ms.map(t),
    }
}

/// Keys no backend can hold (a NUL character: PostgreSQL's `text` refuses it) match nothing
/// and are no error: a client may send any string (schemathesis found a pepper `"#\u0000"`
/// answered 500 on PostgreSQL).
pub async fn unstorable_keys_match_nothing(store: &dyn Store) {
    let nul = "a\0b";
    let pepper = store
        .get_or_create_lookup_pepper("conformance-pepper")
        .await
        .expect("pepper");
    assert!(
        store
            .lookup_hashes(nul, vec!["h".into()])
            .await
            .expect("no error")
            .is_none()
    );
    assert_eq!(
        store
            .lookup_hashes(&pepper, vec![nul.into()])
            .await
            .expect("no error"),
        Some(Vec::new())
    );
    assert!(
        store
            .get_association(&tp("email", nul))
            .await
            .expect("no error")
            .is_none()
    );
    assert!(
        store
            .get_associations(&[tp("msisdn", nul)])
            .await
            .expect("no error")
            .is_empty()
    );
    assert!(store.get_invite(nul).await.expect("no error").is_none());
    assert!(
        store
            .undelivered_invites(&tp("email", nul))
            .await
            .expect("no error")
            .is_empty()
    );
    assert!(
        !store
            .is_ephemeral_key_valid(nul, t(0))
            .await
            .expect("no error")
    );
    assert!(
        store
            .find_session(&tp("email", nul), &secret("s"))
            .await
            .expect("no error")
            .is_none()
    );
}
