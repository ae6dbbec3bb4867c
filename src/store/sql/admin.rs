//! [`AdminStore`], once for both backends: the statements are the same on both, so there is
//! no dialect trait; what a backend keeps beyond the shared tables (SQLite's copies of
//! imported signed associations) it names in [`AssociationSql::THREEPID_COPIES`].
//!
//! A user's 3PIDs are found by scanning `associations` for its mxid (there is no index on
//! `mxid`: binds would pay for one on every write, and this runs on an operator's request).

use async_trait::async_trait;
use sqlx::Database;

use super::accounts::AccountSql;
use super::associations::{AssociationSql, Change, hash_columns, pepper_state};
use super::{Affected as _, Backend, Bind as _, Columns as _, Exec as _, conn};
use crate::domain::{Timestamp, UserId};
use crate::store::admin::{
    AccountRecords, AdminStore, Erased, SessionSummary, Subject, SubjectRecords, TokenUse,
};
use crate::store::rows::{association_from_row, invite_from_row};
use crate::store::{StoreResult, Threepid};

type Connection<B> = <<B as Backend>::Db as Database>::Connection;

/// Whether every key of `subject` can be stored at all (else nothing matches it).
fn storable<B: Backend>(subject: &Subject) -> bool {
    match subject {
        Subject::User(user) => B::storable(user.as_str()),
        Subject::Threepid(t) => B::storable(&t.address),
    }
}

/// The 3PIDs concerned: the subject's own, or those bound to the user, by `(medium, address)`.
async fn threepids_of<B: Backend>(
    c: &mut Connection<B>,
    subject: &Subject,
) -> StoreResult<Vec<Threepid>> {
    match subject {
        Subject::Threepid(t) => Ok(vec![t.clone()]),
        Subject::User(user) => sqlx::query(
            "SELECT medium, address FROM associations WHERE mxid = $1 ORDER BY medium, address",
        )
        .text(user.as_str())
        .fetch_all(c.ex())
        .await
        .map_err(B::db_err)?
        .iter()
        .map(|row| {
            Ok(Threepid::new(
                row.medium("medium").map_err(B::db_err)?,
                row.text("address").map_err(B::db_err)?,
            ))
        })
        .collect(),
    }
}

/// The rows `statement` (`$1` medium, `$2` address) reads for `t`.
async fn rows_of<B: Backend>(
    c: &mut Connection<B>,
    statement: &'static str,
    t: &Threepid,
) -> StoreResult<Vec<<B::Db as Database>::Row>> {
    sqlx::query(statement)
        .medium(t.medium)
        .text(&t.address)
        .fetch_all(c.ex())
        .await
        .map_err(B::db_err)
}

/// Runs a `DELETE` (or anything else that changes rows); how many it changed.
async fn delete<B: Backend>(
    c: &mut Connection<B>,
    statement: &'static str,
    keys: &[&str],
) -> StoreResult<u64> {
    let mut query = sqlx::query(statement);
    for key in keys {
        query = query.text(key);
    }
    Ok(query.execute(c.ex()).await.map_err(B::db_err)?.affected())
}

/// The `RETURNING` column of a `DELETE … RETURNING column`, one per deleted row.
async fn delete_returning<B: Backend>(
    c: &mut Connection<B>,
    statement: &'static str,
    key: &str,
    column: &'static str,
) -> StoreResult<Vec<Option<String>>> {
    sqlx::query(statement)
        .text(key)
        .fetch_all(c.ex())
        .await
        .map_err(B::db_err)?
        .iter()
        .map(|row| row.opt_text(column).map_err(B::db_err))
        .collect()
}

#[async_trait]
impl<B: AssociationSql + AccountSql> AdminStore for B {
    async fn subject_records(&self, subject: &Subject) -> StoreResult<SubjectRecords> {
        let mut records = SubjectRecords {
            associations: Vec::new(),
            invites: Vec::new(),
            sessions: Vec::new(),
            account: None,
        };
        if !storable::<B>(subject) {
            return Ok(records);
        }
        let mut c = conn::<B>(self.reads()?).await?;
        let threepids = threepids_of::<B>(&mut c, subject).await?;
        for t in &threepids {
            let found = rows_of::<B>(
                &mut c,
                "SELECT medium, address, mxid, ts, not_before, not_after FROM associations \
                 WHERE medium = $1 AND address = $2",
                t,
            )
            .await?;
            for row in &found {
                records.associations.push(association_from_row(row)?);
            }
            let invites = rows_of::<B>(
                &mut c,
                concat!(invite_select!(), "WHERE i.medium = $1 AND i.address = $2"),
                t,
            )
            .await?;
            for row in &invites {
                records.invites.push(invite_from_row(row)?);
            }
            let sessions = rows_of::<B>(
                &mut c,
                "SELECT sid, medium, address, created_ms, validated_ms FROM validation_sessions \
                 WHERE medium = $1 AND address = $2",
                t,
            )
            .await?;
            for row in &sessions {
                records.sessions.push(SessionSummary {
                    sid: row.text("sid").map_err(B::db_err)?,
                    medium: row.medium("medium").map_err(B::db_err)?,
                    address: row.text("address").map_err(B::db_err)?,
                    created_at: row.time("created_ms").map_err(B::db_err)?,
                    validated_at: row.opt_time("validated_ms").map_err(B::db_err)?,
                });
            }
        }
        if let Subject::User(user) = subject {
            let sent = sqlx::query(concat!(invite_select!(), "WHERE i.sender = $1"))
                .text(user.as_str())
                .fetch_all(c.ex())
                .await
                .map_err(B::db_err)?;
            for row in &sent {
                records.invites.push(invite_from_row(row)?);
            }
            records.account = account::<B>(&mut c, user).await?;
        }
        records
            .invites
            .sort_by(|a, b| (a.created_at, &a.token).cmp(&(b.created_at, &b.token)));
        records.invites.dedup_by(|a, b| a.token == b.token);
        records
            .sessions
            .sort_by(|a, b| (a.created_at, &a.sid).cmp(&(b.created_at, &b.sid)));
        Ok(records)
    }

    async fn erase_subject(&self, subject: &Subject) -> StoreResult<Erased> {
        let mut erased = Erased::default();
        if !storable::<B>(subject) {
            return Ok(erased);
        }
        let (_order, mut tx) = self.begin_association_write().await?;
        let c: &mut Connection<B> = &mut tx;
        let threepids = threepids_of::<B>(c, subject).await?;
        let state = pepper_state::<B>(c).await?;
        let (mut hashes, mut next_hashes) = (Vec::new(), Vec::new());
        for t in &threepids {
            let keys = [t.medium.as_str(), t.address.as_str()];
            erased.ephemeral_keys += delete::<B>(
                c,
                "DELETE FROM ephemeral_keys WHERE invite_token IN \
                 (SELECT token FROM invites WHERE medium = $1 AND address = $2)",
                &keys,
            )
            .await?;
            erased.invites += delete::<B>(
                c,
                "DELETE FROM invites WHERE medium = $1 AND address = $2",
                &keys,
            )
            .await?;
            erased.sessions += delete::<B>(
                c,
                "DELETE FROM validation_sessions WHERE medium = $1 AND address = $2",
                &keys,
            )
            .await?;
            for statement in B::THREEPID_COPIES {
                delete::<B>(c, statement, &keys).await?;
            }
            let removed = sqlx::query(
                "DELETE FROM associations WHERE medium = $1 AND address = $2 \
                 RETURNING lookup_hash_0, lookup_hash_1",
            )
            .medium(t.medium)
            .text(&t.address)
            .fetch_all(c.ex())
            .await
            .map_err(B::db_err)?;
            for row in &removed {
                erased.associations += 1;
                let (hash, next_hash) = state.split(hash_columns(row).map_err(B::db_err)?);
                hashes.extend(hash);
                next_hashes.extend(next_hash);
            }
        }
        let mut tokens = Vec::new();
        if let Subject::User(user) = subject {
            let user = [user.as_str()];
            erased.ephemeral_keys += delete::<B>(
                c,
                "DELETE FROM ephemeral_keys WHERE invite_token IN \
                 (SELECT token FROM invites WHERE sender = $1)",
                &user,
            )
            .await?;
            erased.invites +=
                delete::<B>(c, "DELETE FROM invites WHERE sender = $1", &user).await?;
            tokens = delete_returning::<B>(
                c,
                "DELETE FROM access_tokens WHERE user_id = $1 RETURNING token_hash",
                user[0],
                "token_hash",
            )
            .await?
            .into_iter()
            .flatten()
            .collect();
            erased.tokens = tokens.len() as u64;
            erased.accepted_terms =
                delete::<B>(c, "DELETE FROM accepted_terms WHERE user_id = $1", &user).await?;
            delete::<B>(c, "DELETE FROM accounts WHERE user_id = $1", &user).await?;
        }
        let change = if hashes.is_empty() && next_hashes.is_empty() {
            Change::None
        } else {
            Change::UnboundAll {
                hashes: &hashes,
                next_hashes: &next_hashes,
            }
        };
        self.commit_change(tx, change).await?;
        self.tokens().remove_all_stored(&tokens);
        Ok(erased)
    }

    async fn revoke_access_tokens(&self, user_id: &UserId) -> StoreResult<u64> {
        if !B::storable(user_id.as_str()) {
            return Ok(0);
        }
        let gone = delete_returning::<B>(
            &mut *conn::<B>(self.writes()?).await?,
            "DELETE FROM access_tokens WHERE user_id = $1 RETURNING token_hash",
            user_id.as_str(),
            "token_hash",
        )
        .await?;
        let gone: Vec<String> = gone.into_iter().flatten().collect();
        self.tokens().remove_all_stored(&gone);
        Ok(gone.len() as u64)
    }
}

/// A user's account, tokens and accepted terms; `None` if it never registered.
async fn account<B: Backend>(
    c: &mut Connection<B>,
    user: &UserId,
) -> StoreResult<Option<AccountRecords>> {
    let created = sqlx::query("SELECT created_ms FROM accounts WHERE user_id = $1")
        .text(user.as_str())
        .fetch_optional(c.ex())
        .await
        .map_err(B::db_err)?
        .map(|row| row.time("created_ms").map_err(B::db_err))
        .transpose()?;
    let tokens = sqlx::query(
        "SELECT created_ms, last_used_ms FROM access_tokens WHERE user_id = $1 \
         ORDER BY created_ms, token_hash",
    )
    .text(user.as_str())
    .fetch_all(c.ex())
    .await
    .map_err(B::db_err)?
    .iter()
    .map(|row| {
        Ok(TokenUse {
            created_at: row.time("created_ms").map_err(B::db_err)?,
            last_used_at: row.time("last_used_ms").map_err(B::db_err)?,
        })
    })
    .collect::<StoreResult<Vec<_>>>()?;
    let accepted_terms =
        sqlx::query("SELECT url FROM accepted_terms WHERE user_id = $1 ORDER BY url")
            .text(user.as_str())
            .fetch_all(c.ex())
            .await
            .map_err(B::db_err)?
            .iter()
            .map(|row| row.text("url").map_err(B::db_err))
            .collect::<StoreResult<Vec<_>>>()?;
    if created.is_none() && accepted_terms.is_empty() {
        return Ok(None);
    }
    Ok(Some(AccountRecords {
        user_id: user.clone(),
        created_at: created.unwrap_or(Timestamp::from_millis(0)),
        tokens,
        accepted_terms,
    }))
}
