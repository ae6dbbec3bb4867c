//! [`SqliteStore`]'s writes for carrying data over from sydent: one transaction per area,
//! idempotent by natural key (a second run writes nothing), original values kept.

use std::sync::atomic::Ordering;

use super::{SqliteStore, db_err, json_array};
use crate::crypto::SecretString;
use crate::crypto::tokens::access_token_digest;
use crate::store::import::{
    ImportCount, ImportedAccount, ImportedAssociation, ImportedInvite, UnownedEphemeralKey,
};
use crate::store::sql::associations::pepper_state;
use crate::store::{Association, StoreResult};

impl SqliteStore {
    /// Stores bindings with their original timestamps, each hashed under the current pepper
    /// (import the pepper first) and, if a rotation is in progress, the next one. A binding already here with a newer `ts` (made after an
    /// earlier import) wins. Original signed objects are kept by `(origin_server, origin_id)`.
    /// The lookup index is rebuilt from the database afterwards.
    pub async fn import_associations(
        &self,
        rows: &[ImportedAssociation],
    ) -> StoreResult<ImportCount> {
        let _order = self.association_writes.lock().await;
        let mut tx = self.write_tx().await?;
        let state = pepper_state::<Self>(&mut tx).await?;
        let mut written = 0;
        for row in rows {
            let a = &row.association;
            let (hash, next_hash) = state.hashes(a.medium, &a.address);
            let [hash_0, hash_1] = state.columns(hash.as_deref(), next_hash.as_deref());
            let done = sqlx::query(
                "INSERT INTO associations \
                 (medium, address, mxid, ts, not_before, not_after, lookup_hash_0, \
                 lookup_hash_1) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT (medium, address) DO UPDATE SET mxid = excluded.mxid, \
                 ts = excluded.ts, not_before = excluded.not_before, \
                 not_after = excluded.not_after, lookup_hash_0 = excluded.lookup_hash_0, \
                 lookup_hash_1 = excluded.lookup_hash_1 \
                 WHERE excluded.ts > associations.ts",
            )
            .bind(a.medium.as_str())
            .bind(&a.address)
            .bind(a.mxid.as_str())
            .bind(a.ts.as_millis())
            .bind(a.not_before.as_millis())
            .bind(a.not_after.as_millis())
            .bind(hash_0)
            .bind(hash_1)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            written += done.rows_affected();
            if let Some(signed) = &row.signed {
                sqlx::query(
                    "INSERT INTO imported_signed_associations \
                     (origin_server, origin_id, medium, address, mxid, ts, signed_json) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                     ON CONFLICT (origin_server, origin_id) DO UPDATE SET \
                     medium = excluded.medium, address = excluded.address, mxid = excluded.mxid, \
                     ts = excluded.ts, signed_json = excluded.signed_json \
                     WHERE excluded.signed_json != imported_signed_associations.signed_json",
                )
                .bind(&signed.origin_server)
                .bind(signed.origin_id)
                .bind(a.medium.as_str())
                .bind(&a.address)
                .bind(a.mxid.as_str())
                .bind(a.ts.as_millis())
                .bind(&signed.signed_json)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
        }
        self.commit_associations(tx).await?;
        self.note_imported_signatures().await?;
        if written > 0 {
            self.reload_index().await;
        }
        Ok(ImportCount::of(rows.len(), written))
    }

    /// Remembers whether any signed association was imported (checked at open and after an
    /// import), so v1 lookups of a server that never imported cost no extra query.
    pub(super) async fn note_imported_signatures(&self) -> StoreResult<()> {
        let any: i64 =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM imported_signed_associations)")
                .fetch_one(&self.reader)
                .await
                .map_err(db_err)?;
        self.imported_signatures.store(any != 0, Ordering::Release);
        Ok(())
    }

    /// The original signed object of exactly this binding (3PID, mxid and `ts`), if one was
    /// imported (the newest, when several servers signed it).
    pub async fn imported_signed_association(
        &self,
        association: &Association,
    ) -> StoreResult<Option<String>> {
        sqlx::query_scalar::<_, String>(
            "SELECT signed_json FROM imported_signed_associations \
             WHERE medium = ?1 AND address = ?2 AND mxid = ?3 AND ts = ?4 \
             ORDER BY origin_id DESC LIMIT 1",
        )
        .bind(association.medium.as_str())
        .bind(&association.address)
        .bind(association.mxid.as_str())
        .bind(association.ts.as_millis())
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)
    }

    /// Stores invites with their tokens, times and ephemeral public keys (no private key:
    /// the source never kept it), and the keys no invite owns. An invite whose token or key
    /// exists already is left as it is. Returns (invites, unowned keys) written.
    pub async fn import_invites(
        &self,
        invites: &[ImportedInvite],
        unowned: &[UnownedEphemeralKey],
    ) -> StoreResult<(ImportCount, ImportCount)> {
        let mut tx = self.write_tx().await?;
        let mut written = 0;
        for row in invites {
            let i = &row.invite;
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM invites WHERE token = ?1 \
                 UNION ALL SELECT 1 FROM ephemeral_keys WHERE public_key = ?2 LIMIT 1",
            )
            .bind(&i.token)
            .bind(&row.public_key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
            if exists.is_some() {
                continue;
            }
            sqlx::query(
                "INSERT INTO invites \
                 (token, medium, address, room_id, sender, params, created_ms, delivered_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .bind(&i.token)
            .bind(i.medium.as_str())
            .bind(&i.address)
            .bind(&i.room_id)
            .bind(&i.sender)
            .bind("{}")
            .bind(row.created_ms)
            .bind(row.delivered_ms)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            sqlx::query(
                "INSERT INTO ephemeral_keys (public_key, invite_token, private_key, created_ms) \
                 VALUES (?1, ?2, NULL, ?3)",
            )
            .bind(&row.public_key)
            .bind(&i.token)
            .bind(row.created_ms)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            written += 1;
        }
        let mut keys_written = 0;
        for key in unowned {
            let done = sqlx::query(
                "INSERT INTO unowned_ephemeral_keys (public_key, created_ms) \
                 SELECT ?1, ?2 WHERE NOT EXISTS \
                 (SELECT 1 FROM ephemeral_keys WHERE public_key = ?1) \
                 ON CONFLICT (public_key) DO NOTHING",
            )
            .bind(&key.public_key)
            .bind(key.created_ms)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            keys_written += done.rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok((
            ImportCount::of(invites.len(), written),
            ImportCount::of(unowned.len(), keys_written),
        ))
    }

    /// Stores accounts, the digests of their access tokens and their accepted policy URLs
    /// (`accepted_ms = now_ms`: the source did not record when). Returns (accounts, tokens,
    /// acceptances) written.
    pub async fn import_accounts(
        &self,
        accounts: &[ImportedAccount],
        now_ms: i64,
    ) -> StoreResult<[ImportCount; 3]> {
        let mut tx = self.write_tx().await?;
        let (mut new_accounts, mut new_tokens, mut new_terms) = (0, 0, 0);
        let (mut tokens_total, mut terms_total) = (0, 0);
        for account in accounts {
            new_accounts += sqlx::query(
                "INSERT INTO accounts (user_id, created_ms) VALUES (?1, ?2) \
                 ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(&account.user_id)
            .bind(account.created_ms)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            for token in &account.tokens {
                new_tokens += sqlx::query(
                    "INSERT INTO access_tokens (token_hash, user_id, created_ms, last_used_ms) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (token_hash) DO NOTHING",
                )
                .bind(access_token_digest(SecretString::expose(token)))
                .bind(&account.user_id)
                .bind(account.created_ms)
                // sydent never recorded use: an imported token counts as used at the move.
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
            }
            tokens_total += account.tokens.len();
            if !account.accepted_terms.is_empty() {
                new_terms += sqlx::query(
                    "INSERT INTO accepted_terms (user_id, url, accepted_ms) \
                     SELECT ?1, value, ?2 FROM json_each(?3) WHERE true \
                     ON CONFLICT (user_id, url) DO NOTHING",
                )
                .bind(&account.user_id)
                .bind(now_ms)
                .bind(json_array(&account.accepted_terms)?)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
                terms_total += account.accepted_terms.len();
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok([
            ImportCount::of(accounts.len(), new_accounts),
            ImportCount::of(tokens_total, new_tokens),
            ImportCount::of(terms_total, new_terms),
        ])
    }
}
