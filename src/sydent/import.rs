//! Maps a sydent database onto Oxident's data and writes it through the SQLite store.
//!
//! What sydent serves, Oxident serves afterwards:
//! * **Associations**: sydent answers lookups from `global_threepid_associations` (its own
//!   binds, pushed there from `local_threepid_associations`, and replicated ones); per 3PID the
//!   newest row wins, as in sydent's lookup. Local binds not yet pushed are taken from the local
//!   table. Timestamps are kept, so an association re-signed here with the imported key under
//!   the same server name is byte-identical to sydent's; the original signed objects are kept
//!   too (`imported_signed_associations`).
//! * **Invites** keep their tokens and times (`sent_ts` = delivered). sydent does not link an
//!   invite to its ephemeral key; store-invite writes the key and then the invite in one
//!   synchronous step, so in time order each invite directly follows its key. Keys left
//!   unpaired stay valid for `isvalid`.
//! * **Accounts**: tokens are stored as digests; accepted policy URLs as a set.
//! * **The lookup pepper** is imported before the associations, so v2 hashes stay the same.
//!
//! Rows this server could not serve are skipped and listed in the report: an association or
//! invite of a medium other than email and msisdn (sydent validates only those two; another
//! could only have come from a replication peer, and no request here can bind, look up or
//! deliver it), or an association whose mxid is not a Matrix user ID.

use std::collections::BTreeMap;

use crate::domain::{Medium, Timestamp, UserId};
use crate::service::signed::VALIDITY;
use crate::store::import::{
    ImportCount, ImportedAccount, ImportedAssociation, ImportedInvite, OriginalSignature,
    UnownedEphemeralKey,
};
use crate::store::sqlite::SqliteStore;
use crate::store::sydent_db::{EphemeralKeyRow, InviteRow, SydentData};
use crate::store::{Association, AssociationStore, NewInvite, StoreResult, Threepid};

/// What an import wrote, area by area, for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub pepper: PepperOutcome,
    pub associations: ImportCount,
    pub invites: ImportCount,
    pub unowned_keys: ImportCount,
    pub accounts: ImportCount,
    pub tokens: ImportCount,
    pub accepted_terms: ImportCount,
    /// sydent rows not carried over, with the reason (one line each).
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PepperOutcome {
    /// sydent had none (it creates one on first start, so this is rare).
    #[default]
    None,
    Imported,
    Unchanged,
    /// Oxident had another pepper: replaced, every association rehashed.
    Replaced,
}

impl ImportReport {
    /// One line per area: `<what>: <n> imported, <m> already present`.
    pub fn lines(&self) -> Vec<String> {
        let count = |name: &str, c: &ImportCount| {
            format!(
                "{name}: {} imported, {} already present",
                c.written, c.unchanged
            )
        };
        let mut lines = vec![
            format!(
                "lookup pepper: {}",
                match self.pepper {
                    PepperOutcome::None => "none in the sydent database",
                    PepperOutcome::Imported => "imported",
                    PepperOutcome::Unchanged => "already present",
                    PepperOutcome::Replaced => "imported (replaced Oxident's; hashes recomputed)",
                }
            ),
            count("associations", &self.associations),
            count("invites", &self.invites),
            count("ephemeral keys without an invite", &self.unowned_keys),
            count("accounts", &self.accounts),
            count("access tokens", &self.tokens),
            count("accepted terms", &self.accepted_terms),
        ];
        lines.extend(self.skipped.iter().map(|s| format!("skipped: {s}")));
        lines
    }
}

/// Writes `data` into `store` (each area one transaction; running it again writes nothing).
pub async fn import(
    store: &SqliteStore,
    data: SydentData,
    now_ms: i64,
) -> StoreResult<ImportReport> {
    let mut report = ImportReport {
        pepper: import_pepper(store, data.lookup_pepper.as_deref()).await?,
        ..ImportReport::default()
    };
    let associations = associations(&data, &mut report.skipped);
    report.associations = store.import_associations(&associations).await?;
    let (invites, unowned) = pair_invites(&data.invites, &data.ephemeral_keys, &mut report.skipped);
    (report.invites, report.unowned_keys) = store.import_invites(&invites, &unowned).await?;
    let accounts = accounts(&data, now_ms);
    [report.accounts, report.tokens, report.accepted_terms] =
        store.import_accounts(&accounts, now_ms).await?;
    Ok(report)
}

async fn import_pepper(store: &SqliteStore, pepper: Option<&str>) -> StoreResult<PepperOutcome> {
    let Some(pepper) = pepper else {
        return Ok(PepperOutcome::None);
    };
    match store.lookup_pepper().await? {
        Some(current) if current == pepper => Ok(PepperOutcome::Unchanged),
        Some(_) => {
            store.rotate_lookup_pepper(pepper).await?;
            Ok(PepperOutcome::Replaced)
        }
        None => {
            let stored = store.get_or_create_lookup_pepper(pepper).await?;
            Ok(if stored == pepper {
                PepperOutcome::Imported
            } else {
                store.rotate_lookup_pepper(pepper).await?;
                PepperOutcome::Replaced
            })
        }
    }
}

/// One association per 3PID (canonical address): the newest global row, else a local bind
/// that was not pushed to the global table yet.
fn associations(data: &SydentData, skipped: &mut Vec<String>) -> Vec<ImportedAssociation> {
    let mut chosen: BTreeMap<Threepid, ImportedAssociation> = BTreeMap::new();
    for row in &data.global_associations {
        let (threepid, mxid) = match bindable(&row.medium, &row.address, &row.mxid) {
            Ok(bound) => bound,
            Err(why) => {
                skipped.push(format!("global association {} ({why})", row.id));
                continue;
            }
        };
        if serde_json::from_str::<serde_json::Value>(&row.sg_assoc).is_err() {
            skipped.push(format!(
                "global association {} (its signed object is not JSON)",
                row.id
            ));
            continue;
        }
        let candidate = ImportedAssociation {
            association: Association {
                medium: threepid.medium,
                address: threepid.address.clone(),
                mxid,
                ts: Timestamp::from_millis(row.ts),
                not_before: Timestamp::from_millis(row.not_before),
                not_after: Timestamp::from_millis(row.not_after),
            },
            signed: Some(OriginalSignature {
                origin_server: row.origin_server.clone(),
                origin_id: row.origin_id,
                signed_json: row.sg_assoc.clone(),
            }),
        };
        match chosen.get(&threepid) {
            // Rows come in id order: at equal ts the later row wins, as sydent's newest.
            Some(existing) if existing.association.ts.as_millis() > row.ts => {}
            _ => {
                chosen.insert(threepid, candidate);
            }
        }
    }
    for row in &data.local_associations {
        let (Some(mxid), Some(ts)) = (&row.mxid, row.ts) else {
            continue; // unbound in sydent
        };
        let (threepid, mxid) = match bindable(&row.medium, &row.address, mxid) {
            Ok(bound) => bound,
            Err(why) => {
                skipped.push(format!("local association {} ({why})", row.id));
                continue;
            }
        };
        let ts = Timestamp::from_millis(ts);
        chosen
            .entry(threepid.clone())
            .or_insert(ImportedAssociation {
                association: Association {
                    medium: threepid.medium,
                    address: threepid.address,
                    mxid,
                    ts,
                    not_before: row.not_before.map_or(ts, Timestamp::from_millis),
                    not_after: row.not_after.map_or(ts + VALIDITY, Timestamp::from_millis),
                },
                signed: None,
            });
    }
    chosen.into_values().collect()
}

/// Pairs each invite with the key stored just before it (see the module doc); invites
/// without one are skipped (nothing could sign for them), keys without one are kept apart.
fn pair_invites(
    invites: &[InviteRow],
    keys: &[EphemeralKeyRow],
    skipped: &mut Vec<String>,
) -> (Vec<ImportedInvite>, Vec<UnownedEphemeralKey>) {
    enum Event<'a> {
        Key(&'a EphemeralKeyRow),
        Invite(&'a InviteRow),
    }
    // Time order; at equal times a key comes before an invite (it was written first).
    let mut events: Vec<(i64, u8, i64, Event)> = keys
        .iter()
        .map(|k| (k.persistence_ts.unwrap_or(0), 0, k.id, Event::Key(k)))
        .chain(
            invites
                .iter()
                .map(|i| (i.received_ts.unwrap_or(0), 1, i.id, Event::Invite(i))),
        )
        .collect();
    events.sort_by_key(|(ts, kind, id, _)| (*ts, *kind, *id));

    let mut paired = Vec::new();
    let mut unowned = Vec::new();
    let mut waiting: Option<&EphemeralKeyRow> = None;
    for (_, _, _, event) in events {
        match event {
            Event::Key(key) => {
                if let Some(previous) = waiting.replace(key) {
                    unowned.push(unowned_key(previous));
                }
            }
            Event::Invite(invite) => match waiting.take() {
                Some(key) => match imported_invite(invite, key) {
                    Ok(imported) => paired.push(imported),
                    Err(why) => {
                        skipped.push(format!(
                            "invite {} to {} in {} ({why})",
                            invite.id, invite.address, invite.room_id
                        ));
                        // Its key stays valid for `isvalid`, as sydent's did.
                        unowned.push(unowned_key(key));
                    }
                },
                None => skipped.push(format!(
                    "invite {} to {} in {} (no ephemeral key was stored with it)",
                    invite.id, invite.address, invite.room_id
                )),
            },
        }
    }
    if let Some(key) = waiting {
        unowned.push(unowned_key(key));
    }
    (paired, unowned)
}

fn unowned_key(key: &EphemeralKeyRow) -> UnownedEphemeralKey {
    UnownedEphemeralKey {
        public_key: key.public_key.clone(),
        created_ms: key.persistence_ts.unwrap_or(0),
    }
}

fn imported_invite(row: &InviteRow, key: &EphemeralKeyRow) -> Result<ImportedInvite, String> {
    let threepid = threepid(&row.medium, &row.address)?;
    Ok(ImportedInvite {
        invite: NewInvite {
            token: row.token.clone(),
            medium: threepid.medium,
            address: threepid.address,
            room_id: row.room_id.clone(),
            sender: row.sender.clone(),
        },
        created_ms: row.received_ts.unwrap_or(0),
        delivered_ms: row.sent_ts,
        public_key: key.public_key.clone(),
    })
}

fn accounts(data: &SydentData, now_ms: i64) -> Vec<ImportedAccount> {
    let mut by_user: BTreeMap<String, ImportedAccount> = BTreeMap::new();
    for a in &data.accounts {
        account(&mut by_user, &a.user_id, a.created_ts);
    }
    // A token or an acceptance without its account row (not written by sydent, but possible
    // in a hand-edited database) gets an account created now.
    for (token, user) in &data.tokens {
        account(&mut by_user, user, now_ms)
            .tokens
            .push(token.clone());
    }
    for (user, url) in &data.accepted_terms {
        account(&mut by_user, user, now_ms)
            .accepted_terms
            .push(url.clone());
    }
    by_user.into_values().collect()
}

fn account<'a>(
    by_user: &'a mut BTreeMap<String, ImportedAccount>,
    user: &str,
    created_ms: i64,
) -> &'a mut ImportedAccount {
    by_user
        .entry(user.to_owned())
        .or_insert_with(|| ImportedAccount {
            user_id: user.to_owned(),
            created_ms,
            tokens: Vec::new(),
            accepted_terms: Vec::new(),
        })
}

/// A sydent row's 3PID, its address in our canonical form, if its medium is one this server
/// serves; else why the row is skipped.
fn threepid(medium: &str, address: &str) -> Result<Threepid, String> {
    let medium = Medium::parse(medium)
        .ok_or_else(|| format!("medium `{medium}` is not one this server serves"))?;
    Ok(Threepid::canonical(medium, address))
}

/// The 3PID and the owner of a sydent association, or why it cannot be served here.
fn bindable(medium: &str, address: &str, mxid: &str) -> Result<(Threepid, UserId), String> {
    let threepid = threepid(medium, address)?;
    let mxid = UserId::parse(mxid).map_err(|_| format!("`{mxid}` is not a Matrix user ID"))?;
    Ok((threepid, mxid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: i64, ts: i64) -> EphemeralKeyRow {
        EphemeralKeyRow {
            id,
            public_key: format!("key{id}"),
            persistence_ts: Some(ts),
        }
    }

    fn invite(id: i64, ts: i64) -> InviteRow {
        InviteRow {
            id,
            medium: "email".into(),
            address: format!("Person{id}@Example.org"),
            room_id: "!r:hs".into(),
            sender: "@s:hs".into(),
            token: format!("tok{id}"),
            received_ts: Some(ts),
            sent_ts: None,
        }
    }

    #[test]
    fn each_invite_takes_the_key_stored_just_before_it() {
        // Key 2 had no invite (its store-invite failed after the key was written); invite 9
        // has no key before it.
        let keys = [key(1, 100), key(2, 200), key(3, 300), key(4, 300)];
        let invites = [invite(7, 100), invite(8, 300), invite(9, 50)];
        let mut skipped = Vec::new();
        let (paired, unowned) = pair_invites(&invites, &keys, &mut skipped);
        let pairs: Vec<(&str, &str)> = paired
            .iter()
            .map(|p| (p.invite.token.as_str(), p.public_key.as_str()))
            .collect();
        assert_eq!(pairs, [("tok7", "key1"), ("tok8", "key4")]);
        let unowned: Vec<&str> = unowned.iter().map(|k| k.public_key.as_str()).collect();
        assert_eq!(unowned, ["key2", "key3"]);
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(paired[0].invite.address, "person7@example.org");
    }

    #[test]
    fn tokens_and_terms_join_their_accounts() {
        let data = SydentData {
            accounts: vec![crate::store::sydent_db::AccountRow {
                user_id: "@a:hs".into(),
                created_ts: 5,
            }],
            tokens: vec![
                ("t1".to_owned().into(), "@a:hs".into()),
                ("t2".to_owned().into(), "@b:hs".into()),
            ],
            accepted_terms: vec![("@a:hs".into(), "https://t/1".into())],
            ..SydentData::default()
        };
        let all = accounts(&data, 99);
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].user_id.as_str(), all[0].created_ms), ("@a:hs", 5));
        assert_eq!(all[0].tokens.len(), 1);
        assert_eq!(all[0].accepted_terms, ["https://t/1"]);
        assert_eq!((all[1].user_id.as_str(), all[1].created_ms), ("@b:hs", 99));
    }
}
