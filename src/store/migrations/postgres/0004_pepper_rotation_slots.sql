-- Pepper rotation in batches (issue 22): two lookup hash columns per association, so that a
-- new pepper's hashes can be written a batch at a time beside the current ones while lookups
-- go on reading the current column, and the switch is one short update of `lookup_pepper`
-- (which column is current) instead of rewriting every row.
--
-- lookup_hash_0 / lookup_hash_1: `lookup_pepper.slot` names the one that holds every
-- association's hash under `lookup_pepper.pepper` (NULL only while no pepper exists). The
-- other holds hashes under `next_pepper` while a rotation runs (each bind writes both, the
-- rotation's batches fill the rest in key order); otherwise it is NULL or a leftover of the
-- previous pepper, which nothing reads.

-- The column keeps its index, `associations_lookup_hash` (slot 0's), named as on SQLite.
ALTER TABLE associations RENAME COLUMN lookup_hash TO lookup_hash_0;
ALTER TABLE associations ADD COLUMN lookup_hash_1 TEXT COLLATE "C";
CREATE INDEX associations_lookup_hash_1 ON associations (lookup_hash_1) INCLUDE (mxid);

-- slot: which lookup_hash_N is current. next_pepper: the pepper a rotation in progress
-- switches to. rotation: the number of the latest rotation begun; a rotation's batches go on
-- only while it is the latest (a second one, or a restart after a crash, replaces it).
ALTER TABLE lookup_pepper ADD COLUMN slot BIGINT NOT NULL DEFAULT 0 CHECK (slot IN (0, 1));
ALTER TABLE lookup_pepper ADD COLUMN next_pepper TEXT COLLATE "C";
ALTER TABLE lookup_pepper ADD COLUMN rotation BIGINT NOT NULL DEFAULT 0;
