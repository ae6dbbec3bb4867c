//! Rows → domain structs, once for every backend: each backend's schema has the same column
//! names and types (text, 64-bit integers), so only the row type differs. The `*_select!`
//! macros name the columns the mappers read (macros, so SQL strings stay `&'static str`).

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::crypto::SecretString;
use crate::store::{Association, EphemeralKey, Invite, StoreError, StoreResult, ValidationSession};

/// The columns [`session_from_row`] reads (a macro so SQL strings stay `&'static str`).
macro_rules! session_select {
    () => {
        "SELECT sid, medium, address, client_secret, token, send_attempt, next_link, \
         created_ms, modified_ms, validated_ms, failed_submits FROM validation_sessions "
    };
}

pub(super) fn session_from_row<R>(row: &R) -> StoreResult<ValidationSession>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: for<'a> Decode<'a, R::Database> + Type<R::Database>,
    i64: for<'a> Decode<'a, R::Database> + Type<R::Database>,
{
    (|| {
        Ok::<_, sqlx::Error>(ValidationSession {
            sid: row.try_get("sid")?,
            medium: row.try_get("medium")?,
            address: row.try_get("address")?,
            client_secret: row.try_get("client_secret")?,
            token: row.try_get("token")?,
            send_attempt: row.try_get("send_attempt")?,
            next_link: row.try_get("next_link")?,
            created_ms: row.try_get("created_ms")?,
            modified_ms: row.try_get("modified_ms")?,
            validated_ms: row.try_get("validated_ms")?,
            failed_submits: row.try_get("failed_submits")?,
        })
    })()
    .map_err(|_| StoreError::Corrupt("validation_sessions"))
}

pub(super) fn association_from_row<R>(row: &R) -> StoreResult<Association>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: for<'a> Decode<'a, R::Database> + Type<R::Database>,
    i64: for<'a> Decode<'a, R::Database> + Type<R::Database>,
{
    (|| {
        Ok::<_, sqlx::Error>(Association {
            medium: row.try_get("medium")?,
            address: row.try_get("address")?,
            mxid: row.try_get("mxid")?,
            ts: row.try_get("ts")?,
            not_before: row.try_get("not_before")?,
            not_after: row.try_get("not_after")?,
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

pub(super) fn invite_from_row<R>(row: &R) -> StoreResult<Invite>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: for<'a> Decode<'a, R::Database> + Type<R::Database>,
    i64: for<'a> Decode<'a, R::Database> + Type<R::Database>,
{
    let corrupt = |_| StoreError::Corrupt("invites");
    let private_key: Option<String> = row.try_get("private_key").map_err(corrupt)?;
    Ok(Invite {
        token: row.try_get("token").map_err(corrupt)?,
        medium: row.try_get("medium").map_err(corrupt)?,
        address: row.try_get("address").map_err(corrupt)?,
        room_id: row.try_get("room_id").map_err(corrupt)?,
        sender: row.try_get("sender").map_err(corrupt)?,
        created_ms: row.try_get("created_ms").map_err(corrupt)?,
        delivered_ms: row.try_get("delivered_ms").map_err(corrupt)?,
        delivery_attempts: row.try_get("delivery_attempts").map_err(corrupt)?,
        next_attempt_ms: row.try_get("next_attempt_ms").map_err(corrupt)?,
        delivery_started_ms: row.try_get("delivery_started_ms").map_err(corrupt)?,
        ephemeral_key: EphemeralKey {
            public_key: row.try_get("public_key").map_err(corrupt)?,
            private_key: private_key.map(SecretString::from),
            created_ms: row.try_get("key_created_ms").map_err(corrupt)?,
            expires_ms: row.try_get("key_expires_ms").map_err(corrupt)?,
        },
    })
}
