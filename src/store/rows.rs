//! Rows → domain structs, once for every backend: each backend's schema has the same column
//! names and types (text, 64-bit integers), read through [`Columns`]. The `*_select!`
//! macros name the columns the mappers read (macros, so SQL strings stay `&'static str`).

use crate::crypto::SecretString;
use crate::domain::{ClientSecret, Sid, UserId};
use crate::store::sql::Columns;
use crate::store::{Association, EphemeralKey, Invite, StoreError, StoreResult, ValidationSession};

/// The columns [`session_from_row`] reads (a macro so SQL strings stay `&'static str`).
macro_rules! session_select {
    () => {
        "SELECT sid, medium, address, client_secret, token, send_attempt, next_link, \
         created_ms, modified_ms, validated_ms, failed_submits FROM validation_sessions "
    };
}

pub(super) fn session_from_row(row: &impl Columns) -> StoreResult<ValidationSession> {
    (|| {
        Ok::<_, sqlx::Error>(ValidationSession {
            sid: row.parsed("sid", Sid::parse)?,
            medium: row.medium("medium")?,
            address: row.text("address")?,
            client_secret: row.parsed("client_secret", ClientSecret::parse)?,
            token: row.text("token")?,
            send_attempt: row.int("send_attempt")?,
            next_link: row.opt_text("next_link")?,
            created_at: row.time("created_ms")?,
            modified_at: row.time("modified_ms")?,
            validated_at: row.opt_time("validated_ms")?,
            failed_submits: row.int("failed_submits")?,
        })
    })()
    .map_err(|_| StoreError::Corrupt("validation_sessions"))
}

pub(super) fn association_from_row(row: &impl Columns) -> StoreResult<Association> {
    (|| {
        Ok::<_, sqlx::Error>(Association {
            medium: row.medium("medium")?,
            address: row.text("address")?,
            mxid: row.parsed("mxid", UserId::parse)?,
            ts: row.time("ts")?,
            not_before: row.time("not_before")?,
            not_after: row.time("not_after")?,
        })
    })()
    .map_err(|_| StoreError::Corrupt("associations"))
}

/// Columns of `invites i JOIN ephemeral_keys e`, as read by [`invite_from_row`].
macro_rules! invite_columns {
    () => {
        "SELECT i.token, i.medium, i.address, i.room_id, i.sender, i.created_ms, \
         i.delivered_ms, i.delivery_attempts, i.next_attempt_ms, i.delivery_started_ms, e.public_key, e.private_key, \
         e.created_ms AS key_created_ms, e.expires_ms AS key_expires_ms "
    };
}
macro_rules! invite_from {
    () => {
        "FROM invites AS i JOIN ephemeral_keys AS e ON e.invite_token = i.token "
    };
}
macro_rules! invite_select {
    () => {
        concat!(invite_columns!(), invite_from!())
    };
}

pub(super) fn invite_from_row(row: &impl Columns) -> StoreResult<Invite> {
    let corrupt = |_| StoreError::Corrupt("invites");
    let private_key = row.opt_text("private_key").map_err(corrupt)?;
    Ok(Invite {
        token: row.text("token").map_err(corrupt)?,
        medium: row.medium("medium").map_err(corrupt)?,
        address: row.text("address").map_err(corrupt)?,
        room_id: row.text("room_id").map_err(corrupt)?,
        sender: row.text("sender").map_err(corrupt)?,
        created_at: row.time("created_ms").map_err(corrupt)?,
        delivered_at: row.opt_time("delivered_ms").map_err(corrupt)?,
        delivery_attempts: row.int("delivery_attempts").map_err(corrupt)?,
        next_attempt_at: row.opt_time("next_attempt_ms").map_err(corrupt)?,
        delivery_started_at: row.opt_time("delivery_started_ms").map_err(corrupt)?,
        ephemeral_key: EphemeralKey {
            public_key: row.text("public_key").map_err(corrupt)?,
            private_key: private_key.map(SecretString::from),
            created_at: row.time("key_created_ms").map_err(corrupt)?,
            expires_at: row.opt_time("key_expires_ms").map_err(corrupt)?,
        },
    })
}
