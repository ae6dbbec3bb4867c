//! Every association, in memory, keyed by its v2 lookup hash: lookup hash → mxid and the
//! association's timestamps.
//!
//! Why: a v2 lookup is the hottest read an identity server serves, up to 1000 hashes a request.
//! In SQLite each hash is a B-tree search (~1 µs with every page cached, plus the statement and
//! JSON plumbing around it); here it is one hash-table probe (docs/benchmarks.md). A v1
//! (clear-text) lookup hashes the address it is given and probes the same table: with the
//! timestamps here too, it needs no SQL either — through sqlx every query is a round trip to a
//! connection's worker thread, which was most of a v1 lookup's latency. The index is
//! private to [`super::sqlite::SqliteStore`], which owns its database file: it is loaded at
//! open and changed by the same store calls that change associations, so it never disagrees
//! with the committed data. A backend shared by several server processes (PostgreSQL) must not
//! keep one.
//!
//! Memory is what this costs, so the layout is compact: one byte arena holds, per
//! association, the 32 decoded digest bytes (not the 43-character base64 text), the mxid's
//! localpart, the number of its server name — server names are few and shared, kept once
//! in a small table — the timestamp `ts`, and the number of its validity shape (`not_before`
//! and `not_after` relative to `ts`: every bind this server makes has the same one). The hash
//! table holds only 4-byte offsets into the arena (no allocation per entry). About 57 bytes
//! per association (docs/benchmarks.md).

use super::digest_hash::DigestHashKey;
use super::{Association, Threepid};
use crate::crypto::hashing::lookup_digest;
use crate::domain::{Timestamp, UserId};
use hashbrown::HashTable;

/// A SHA-256 digest as stored in the table.
type Digest = [u8; 32];

const DIGEST_LEN: usize = 32;

/// Decodes a lookup hash as the store writes it (unpadded URL-safe base64 of 32 bytes).
/// Anything else — padding, non-canonical trailing bits, another length — is `None`, so a
/// probe matches exactly the strings an exact text comparison would.
///
/// Hand-written rather than the base64 crate's general decoder: this runs for every address
/// of a 1000-address lookup, and one fixed shape (ten 4-character groups, then 3 characters
/// for the last 2 bytes) decodes in a third of the time. A test checks it against the crate.
pub(super) fn decode_digest(text: &str) -> Option<Digest> {
    // Fixed sizes from here on: no bounds checks in the loop.
    let text: &[u8; 43] = text.as_bytes().try_into().ok()?;
    let sextet = |i: usize| u32::from(URL_SAFE_SEXTETS[usize::from(text[i])]);
    let mut out = [0u8; DIGEST_LEN];
    // Valid sextets are below 64; `INVALID` is not, and neither is the OR of any set that
    // holds one.
    let mut seen = 0u32;
    for group in 0..10 {
        let (a, b, c, d) = (
            sextet(4 * group),
            sextet(4 * group + 1),
            sextet(4 * group + 2),
            sextet(4 * group + 3),
        );
        seen |= a | b | c | d;
        let n = a << 18 | b << 12 | c << 6 | d;
        out[3 * group] = (n >> 16) as u8;
        out[3 * group + 1] = (n >> 8) as u8;
        out[3 * group + 2] = n as u8;
    }
    let (a, b, c) = (sextet(40), sextet(41), sextet(42));
    seen |= a | b | c;
    // The last character carries 4 bits of data and 2 that must be zero (canonical form).
    if seen >= 64 || c & 0b11 != 0 {
        return None;
    }
    let n = a << 12 | b << 6 | c;
    out[30] = (n >> 10) as u8;
    out[31] = (n >> 2) as u8;
    Some(out)
}

const INVALID: u8 = 0xff;

/// Character → its 6-bit value in the URL-safe base64 alphabet, [`INVALID`] for the rest.
static URL_SAFE_SEXTETS: [u8; 256] = {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The timestamps of an association, as the signed v1 answer carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Times {
    pub ts: i64,
    pub not_before: i64,
    pub not_after: i64,
}

/// `not_before` and `not_after` as offsets from `ts` (wrapping, so any `i64`s round-trip).
type Shape = (i64, i64);

impl Times {
    pub(super) fn of(a: &Association) -> Self {
        Self {
            ts: a.ts.as_millis(),
            not_before: a.not_before.as_millis(),
            not_after: a.not_after.as_millis(),
        }
    }

    fn shape(self) -> Shape {
        (
            self.not_before.wrapping_sub(self.ts),
            self.not_after.wrapping_sub(self.ts),
        )
    }

    fn from_shape(ts: i64, (before, after): Shape) -> Self {
        Self {
            ts,
            not_before: ts.wrapping_add(before),
            not_after: ts.wrapping_add(after),
        }
    }
}

/// What the index holds for one lookup hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub mxid: String,
    pub times: Times,
}

/// Lookup hash → mxid and timestamps for every association that has a lookup hash, and the
/// pepper those hashes were computed with.
#[derive(Default)]
pub(super) struct LookupIndex {
    pepper: Option<String>,
    /// This index's secret table-hash key, drawn when it is made (`super::digest_hash`:
    /// the pepper is public, so unkeyed buckets could be flooded with ground addresses).
    key: DigestHashKey,
    /// Offsets into `arena`, one per association, hashed by `key`.
    table: HashTable<u32>,
    /// Entries: the digest, the length of the mxid's `@localpart` (LEB128), the localpart,
    /// the server name's number in `servers` (LEB128; 0 for an mxid without `:`), `ts`
    /// (zigzag LEB128), the shape's number in `shapes` (LEB128).
    arena: Vec<u8>,
    /// Server names by number − 1, and numbers by name.
    servers: Vec<Box<str>>,
    server_numbers: std::collections::HashMap<Box<str>, usize>,
    /// Validity shapes by number, and numbers by shape.
    shapes: Vec<Shape>,
    shape_numbers: std::collections::HashMap<Shape, usize>,
    /// Bytes of `arena` no offset points at any more (replaced or removed bindings).
    garbage: usize,
}

impl std::fmt::Debug for LookupIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the pepper nor the mappings: counts only.
        f.debug_struct("LookupIndex")
            .field("entries", &self.table.len())
            .field("arena_bytes", &self.arena.len())
            .finish_non_exhaustive()
    }
}

/// The arena is rebuilt when at least this many of its bytes are garbage and they are more
/// than half of it. (Small in unit tests, so they reach it.)
const COMPACT_AFTER: usize = if cfg!(test) { 4096 } else { 1 << 20 };

/// The arena would outgrow `u32` offsets.
#[derive(Debug)]
pub(super) struct IndexFull;

/// Appends `value` as LEB128.
fn push_number(arena: &mut Vec<u8>, mut value: u64) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            arena.push(low);
            return;
        }
        arena.push(low | 0x80);
    }
}

/// Reads a LEB128 number at `at`: `(value, bytes it took)`.
fn read_number(arena: &[u8], at: usize) -> (u64, usize) {
    let mut value = 0u64;
    let mut used = 0usize;
    for (i, byte) in arena[at..].iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        used = i + 1;
        if byte & 0x80 == 0 {
            break;
        }
    }
    (value, used)
}

/// Appends `value` zigzag-encoded: timestamps near zero of either sign stay short.
fn push_signed(arena: &mut Vec<u8>, value: i64) {
    push_number(arena, ((value << 1) ^ (value >> 63)) as u64);
}

fn read_signed(arena: &[u8], at: usize) -> (i64, usize) {
    let (zigzag, used) = read_number(arena, at);
    (((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64), used)
}

/// A number read back from the arena as an index. Only this module writes the arena, from
/// `usize` values, so the conversion cannot fail on the platforms that wrote it.
fn read_index(arena: &[u8], at: usize) -> (usize, usize) {
    let (value, used) = read_number(arena, at);
    (usize::try_from(value).unwrap_or(usize::MAX), used)
}

/// The digest of the entry at `offset`: all a probe compares.
fn digest_at(arena: &[u8], offset: u32) -> &[u8] {
    let start = offset as usize;
    &arena[start..start + DIGEST_LEN]
}

/// One decoded arena entry.
struct Entry<'a> {
    local: &'a [u8],
    /// In `servers`, plus one; 0 for an mxid without `:`.
    server: usize,
    ts: i64,
    shape: usize,
    /// Bytes the entry takes in the arena.
    size: usize,
}

/// The owner of the entry at `offset`: `(localpart, server number, where the rest starts)`.
/// Apart from [`entry_at`] because a v2 lookup needs no more than this.
fn owner_at(arena: &[u8], offset: u32) -> (&[u8], usize, usize) {
    let mut at = offset as usize + DIGEST_LEN;
    let (length, used) = read_index(arena, at);
    at += used;
    let local = &arena[at..at + length];
    at += length;
    let (server, used) = read_index(arena, at);
    (local, server, at + used)
}

fn entry_at(arena: &[u8], offset: u32) -> Entry<'_> {
    let start = offset as usize;
    let (local, server, mut at) = owner_at(arena, offset);
    let (ts, used) = read_signed(arena, at);
    at += used;
    let (shape, used) = read_index(arena, at);
    at += used;
    Entry {
        local,
        server,
        ts,
        shape,
        size: at - start,
    }
}

impl LookupIndex {
    pub(super) fn new(pepper: Option<String>) -> Self {
        Self {
            pepper,
            ..Self::default()
        }
    }

    /// With room for `count` entries whose localparts take about `name_bytes` bytes.
    pub(super) fn with_capacity(pepper: Option<String>, count: usize, name_bytes: usize) -> Self {
        let mut index = Self::new(pepper);
        index.table.reserve(count, |_| 0);
        // Per entry besides the localpart: two length and number bytes, a 6-byte `ts` (a
        // millisecond time of this century), one shape byte.
        index
            .arena
            .reserve(count * (DIGEST_LEN + 2 + 7) + name_bytes);
        index
    }

    pub(super) fn pepper(&self) -> Option<&str> {
        self.pepper.as_deref()
    }

    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// The number of `server`, added to the table if new.
    fn server_number(&mut self, server: &str) -> usize {
        if let Some(&n) = self.server_numbers.get(server) {
            return n;
        }
        self.servers.push(server.into());
        let n = self.servers.len();
        self.server_numbers.insert(server.into(), n);
        n
    }

    /// The number of `shape`, added to the table if new.
    fn shape_number(&mut self, shape: Shape) -> usize {
        if let Some(&n) = self.shape_numbers.get(&shape) {
            return n;
        }
        self.shapes.push(shape);
        let n = self.shapes.len() - 1;
        self.shape_numbers.insert(shape, n);
        n
    }

    fn find(&self, digest: &[u8]) -> Option<u32> {
        let arena = &self.arena;
        self.table
            .find(self.key.hash(digest), |&offset| {
                digest_at(arena, offset) == digest
            })
            .copied()
    }

    /// The mxid of `local` and server number `server`, whole again.
    fn mxid(&self, local: &[u8], server: usize) -> Option<String> {
        // Every localpart was cut from a `&str` at a `:`, so it is valid UTF-8.
        let local = std::str::from_utf8(local).ok()?;
        let Some(server) = server.checked_sub(1).and_then(|n| self.servers.get(n)) else {
            return Some(local.to_owned());
        };
        // Not `format!`: this runs for every match of a 1000-address lookup.
        let mut mxid = String::with_capacity(local.len() + 1 + server.len());
        mxid.push_str(local);
        mxid.push(':');
        mxid.push_str(server);
        Some(mxid)
    }

    /// The mxid bound to `hash` (in its stored text form), if any.
    pub(super) fn get(&self, hash: &str) -> Option<String> {
        let offset = self.find(&decode_digest(hash)?)?;
        let (local, server, _) = owner_at(&self.arena, offset);
        self.mxid(local, server)
    }

    /// The association of the 3PID whose lookup hash (under this index's pepper) is
    /// `digest`: its owner and timestamps.
    pub(super) fn get_digest(&self, digest: &Digest) -> Option<Found> {
        let offset = self.find(digest)?;
        let entry = entry_at(&self.arena, offset);
        let shape = *self.shapes.get(entry.shape)?;
        Some(Found {
            mxid: self.mxid(entry.local, entry.server)?,
            times: Times::from_shape(entry.ts, shape),
        })
    }

    /// The association of `threepid`, from its lookup hash under this index's pepper: `None`
    /// when the index cannot say (no pepper yet, so no association has a hash), else the
    /// answer — every association has its hash under the current pepper, so a miss means
    /// unbound. A hash match is the 3PID itself: `"<address> <medium> <pepper>"` with a
    /// medium without spaces splits one way only, and SHA-256 has no known collisions.
    ///
    /// An owner that is not a user ID (a corrupt row) is not answered here either: the
    /// database is asked, and says it is corrupt.
    pub(super) fn association(&self, threepid: &Threepid) -> Option<Option<Association>> {
        let digest = lookup_digest(&threepid.address, threepid.medium.as_str(), self.pepper()?);
        let Some(found) = self.get_digest(&digest) else {
            return Some(None);
        };
        Some(Some(Association {
            medium: threepid.medium,
            address: threepid.address.clone(),
            mxid: UserId::parse(found.mxid).ok()?,
            ts: Timestamp::from_millis(found.times.ts),
            not_before: Timestamp::from_millis(found.times.not_before),
            not_after: Timestamp::from_millis(found.times.not_after),
        }))
    }

    /// Binds `hash` to `mxid` with `times`, replacing any earlier owner. A `hash` that is not
    /// a digest in the stored form is ignored: no lookup could ask for it.
    pub(super) fn insert(&mut self, hash: &str, mxid: &str, times: Times) -> Result<(), IndexFull> {
        let Some(digest) = decode_digest(hash) else {
            return Ok(());
        };
        let offset = u32::try_from(self.arena.len()).map_err(|_| IndexFull)?;
        // `@localpart:server.name[:port]`: localparts have no `:`, server names may.
        let (local, server) = match mxid.split_once(':') {
            Some((local, server)) => (local, self.server_number(server)),
            None => (mxid, 0),
        };
        let shape = self.shape_number(times.shape());
        self.arena.extend_from_slice(&digest);
        push_number(&mut self.arena, local.len() as u64);
        self.arena.extend_from_slice(local.as_bytes());
        push_number(&mut self.arena, server as u64);
        push_signed(&mut self.arena, times.ts);
        push_number(&mut self.arena, shape as u64);
        let arena = &self.arena;
        let key = self.key;
        let hash = key.hash(&digest);
        let eq = |&o: &u32| o != offset && digest_at(arena, o) == digest;
        match self.table.find_mut(hash, eq) {
            Some(slot) => {
                self.garbage += entry_at(arena, *slot).size;
                *slot = offset;
            }
            None => {
                self.table
                    .insert_unique(hash, offset, |&o| key.hash(digest_at(arena, o)));
            }
        }
        self.maybe_compact();
        Ok(())
    }

    /// Forgets `hash`.
    pub(super) fn remove(&mut self, hash: &str) {
        let Some(digest) = decode_digest(hash) else {
            return;
        };
        let arena = &self.arena;
        if let Ok(found) = self
            .table
            .find_entry(self.key.hash(&digest), |&o| digest_at(arena, o) == digest)
        {
            let (offset, _) = found.remove();
            self.garbage += entry_at(arena, offset).size;
            self.maybe_compact();
        }
    }

    fn maybe_compact(&mut self) {
        if self.garbage < COMPACT_AFTER || self.garbage * 2 < self.arena.len() {
            return;
        }
        let mut arena = Vec::with_capacity(self.arena.len() - self.garbage);
        for offset in &mut self.table {
            let size = entry_at(&self.arena, *offset).size;
            let start = *offset as usize;
            // The new arena is smaller than the old one, whose offsets fit in u32.
            *offset = u32::try_from(arena.len()).unwrap_or(u32::MAX);
            arena.extend_from_slice(&self.arena[start..start + size]);
        }
        self.arena = arena;
        self.garbage = 0;
    }

    /// Bytes held (table and arena), for the log line at start.
    pub(super) fn heap_bytes(&self) -> usize {
        self.table.capacity() * (size_of::<u32>() + 1) + self.arena.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::lookup_hash;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    /// The hand-written decoder against the base64 crate's strict URL-safe decoder: real
    /// hashes, every single-character change of one, and other shapes.
    #[test]
    fn digest_decoding_agrees_with_the_base64_crate() {
        let reference = |text: &str| -> Option<Digest> {
            let mut out = [0u8; DIGEST_LEN];
            match URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
                Ok(DIGEST_LEN) if text.len() == 43 => Some(out),
                _ => None,
            }
        };
        let mut cases: Vec<String> = (0..64).map(hash).collect();
        let base = hash(7);
        for position in 0..43 {
            for c in (0u8..=255).step_by(3) {
                let mut bytes = base.clone().into_bytes();
                bytes[position] = c;
                if let Ok(text) = String::from_utf8(bytes) {
                    cases.push(text);
                }
            }
        }
        cases.extend(
            [
                &base[..42],
                &format!("{base}="),
                &format!("{base}A"),
                "",
                "+/",
            ]
            .map(str::to_owned),
        );
        let mut accepted = 0;
        for text in &cases {
            assert_eq!(decode_digest(text), reference(text), "{text:?}");
            accepted += usize::from(decode_digest(text).is_some());
        }
        assert!(
            accepted > 64 * 2,
            "most real-shaped cases decode ({accepted})"
        );
    }

    const TIMES: Times = Times {
        ts: 1_700_000_000_000,
        not_before: 1_700_000_000_000,
        not_after: 1_700_000_000_000 + 100 * 365 * 86_400_000,
    };

    fn hash(i: usize) -> String {
        lookup_hash(&format!("user{i}@example.org"), "email", "pepper")
    }

    #[test]
    fn finds_exactly_what_was_inserted() {
        let mut index = LookupIndex::new(Some("pepper".into()));
        index
            .insert(&hash(1), "@one:example.org", TIMES)
            .expect("room");
        index
            .insert(&hash(2), "@two:example.org", TIMES)
            .expect("room");
        assert_eq!(index.get(&hash(1)).as_deref(), Some("@one:example.org"));
        assert_eq!(index.get(&hash(2)).as_deref(), Some("@two:example.org"));
        assert_eq!(index.get(&hash(3)), None);
        assert_eq!(index.pepper(), Some("pepper"));
        // Only the exact stored text matches: padding or another alphabet does not.
        assert_eq!(index.get(&format!("{}=", hash(1))), None);
        assert_eq!(index.get(""), None);
        assert_eq!(
            index.get("not base64 at all, but 43 characters long!!"),
            None
        );
    }

    #[test]
    fn two_indexes_place_the_same_digest_in_different_buckets() {
        // Hash flooding: with the pepper public, an unkeyed bucket function lets anyone
        // grind addresses whose digests share a bucket. Each index draws its own key.
        let digest = decode_digest(&hash(1)).expect("a stored hash");
        let (a, b) = (LookupIndex::new(None), LookupIndex::new(None));
        assert_ne!(a.key.hash(&digest), b.key.hash(&digest));
        // Answers do not depend on the key.
        let (mut a, mut b) = (a, b);
        for i in 0..200 {
            a.insert(&hash(i), &format!("@u{i}:hs"), TIMES)
                .expect("room");
            b.insert(&hash(i), &format!("@u{i}:hs"), TIMES)
                .expect("room");
        }
        for i in 0..220 {
            assert_eq!(a.get(&hash(i)), b.get(&hash(i)));
        }
    }

    #[test]
    fn non_canonical_trailing_bits_do_not_match() {
        let mut index = LookupIndex::new(None);
        let stored = hash(7);
        index
            .insert(&stored, "@seven:example.org", TIMES)
            .expect("room");
        // The last character carries 4 data bits and 2 padding bits; flipping a padding bit
        // decodes (leniently) to the same digest, which an exact comparison would reject.
        let last = stored.as_bytes()[42];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let position = alphabet.iter().position(|&c| c == last).expect("alphabet");
        let twin = char::from(alphabet[position ^ 1]);
        let mut other = stored[..42].to_owned();
        other.push(twin);
        assert_ne!(other, stored);
        assert_eq!(index.get(&other), None);
    }

    #[test]
    fn replacing_and_removing_keeps_answers_and_compacts() {
        let mut index = LookupIndex::new(None);
        let long = format!("@{}:example.org", "x".repeat(300));
        for round in 0..40 {
            for i in 0..1000 {
                let mxid = if i % 10 == 0 {
                    long.clone()
                } else {
                    format!("@user{i}-{round}:example.org")
                };
                index.insert(&hash(i), &mxid, TIMES).expect("room");
            }
        }
        assert_eq!(index.len(), 1000);
        assert_eq!(
            index.get(&hash(5)).as_deref(),
            Some("@user5-39:example.org")
        );
        assert_eq!(index.get(&hash(10)), Some(long.clone()));
        // 40 rounds of ~86 kB each: compaction must have kept the arena near one round.
        assert!(
            index.arena.len() < 3 * 90_000,
            "arena {} bytes",
            index.arena.len()
        );
        for i in (0..1000).step_by(2) {
            index.remove(&hash(i));
        }
        assert_eq!(index.len(), 500);
        assert_eq!(index.get(&hash(4)), None);
        assert_eq!(
            index.get(&hash(5)).as_deref(),
            Some("@user5-39:example.org")
        );
    }

    #[test]
    fn server_names_are_stored_once_and_mxids_come_back_whole() {
        let mut index = LookupIndex::new(None);
        let mxids = [
            "@a:example.org",
            "@b:example.org",
            "@c:matrix.example.com:8448",
            "@d:[2001:db8::1]:8448",
            "no-colon-at-all",
            "@e:",
            "@ü:exämple.org",
        ];
        for (i, mxid) in mxids.iter().enumerate() {
            index.insert(&hash(i), mxid, TIMES).expect("room");
        }
        for (i, mxid) in mxids.iter().enumerate() {
            assert_eq!(index.get(&hash(i)).as_deref(), Some(*mxid));
        }
        assert_eq!(
            index.servers.len(),
            5,
            "example.org once: {:?}",
            index.servers
        );
    }

    #[test]
    fn hashes_not_in_stored_form_are_ignored() {
        let mut index = LookupIndex::new(None);
        index
            .insert("short", "@a:example.org", TIMES)
            .expect("room");
        assert_eq!(index.len(), 0);
    }

    #[test]
    fn timestamps_come_back_exactly_and_shapes_are_stored_once() {
        let mut index = LookupIndex::new(None);
        let cases = [
            TIMES,
            Times {
                ts: 0,
                not_before: 0,
                not_after: 0,
            },
            Times {
                ts: -5,
                not_before: 7,
                not_after: -9,
            },
            Times {
                ts: i64::MIN,
                not_before: i64::MAX,
                not_after: i64::MIN,
            },
            Times {
                ts: i64::MAX,
                not_before: i64::MIN,
                not_after: 0,
            },
        ];
        for (i, times) in cases.iter().enumerate() {
            index
                .insert(&hash(i), "@a:example.org", *times)
                .expect("room");
        }
        // Many binds of this server's own shape (not_before = ts, a fixed validity).
        for i in 100..200 {
            let ts = 1_700_000_000_000 + i64::try_from(i).expect("small") * 977;
            let times = Times {
                ts,
                not_before: ts,
                not_after: ts + 100 * 365 * 86_400_000,
            };
            index
                .insert(&hash(i), "@b:example.org", times)
                .expect("room");
            assert_eq!(
                index.get_digest(&decode_digest(&hash(i)).expect("digest")),
                Some(Found {
                    mxid: "@b:example.org".into(),
                    times
                })
            );
        }
        for (i, times) in cases.iter().enumerate() {
            let found = index.get_digest(&decode_digest(&hash(i)).expect("digest"));
            assert_eq!(found.map(|f| f.times), Some(*times), "case {i}");
        }
        assert_eq!(index.shapes.len(), cases.len(), "{:?}", index.shapes);
        assert_eq!(index.get_digest(&[0u8; DIGEST_LEN]), None);
    }
}
