-- Oxident PostgreSQL schema, version 1: the SQLite schema's tables, plus what several
-- instances on one database need (the association change log, invite delivery claims).
-- Times are milliseconds since the Unix epoch. Text is compared and ordered bytewise
-- (COLLATE "C"), as in SQLite, whatever the database's default collation.
-- Migrations are append-only: never edit a released file, add a new one.

-- requestToken / submitToken sessions. One live session per (medium, address, client_secret).
CREATE TABLE validation_sessions (
    sid            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    medium         TEXT COLLATE "C" NOT NULL,
    address        TEXT COLLATE "C" NOT NULL,
    client_secret  TEXT COLLATE "C" NOT NULL,
    token          TEXT COLLATE "C" NOT NULL,
    send_attempt   BIGINT NOT NULL,
    next_link      TEXT,
    created_ms     BIGINT NOT NULL,
    modified_ms    BIGINT NOT NULL,
    validated_ms   BIGINT,
    failed_submits BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX validation_sessions_scope
    ON validation_sessions (medium, address, client_secret);
CREATE INDEX validation_sessions_modified ON validation_sessions (modified_ms);

-- Bindings 3PID -> mxid. lookup_hash = sha256 lookup hash under the current pepper
-- (NULL only while no pepper exists yet).
CREATE TABLE associations (
    medium      TEXT COLLATE "C" NOT NULL,
    address     TEXT COLLATE "C" NOT NULL,
    mxid        TEXT COLLATE "C" NOT NULL,
    ts          BIGINT NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    lookup_hash TEXT COLLATE "C",
    PRIMARY KEY (medium, address)
);
CREATE INDEX associations_lookup_hash ON associations (lookup_hash) INCLUDE (mxid);

-- The single current lookup pepper.
CREATE TABLE lookup_pepper (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    pepper TEXT COLLATE "C" NOT NULL
);

-- Every committed change to the lookup hashes, in commit order (writers hold one advisory
-- lock from BEGIN to COMMIT, so `seq` order is commit order): each instance polls the rows
-- after the last `seq` it applied to its in-memory lookup index. mxid NULL = removed;
-- reload = every hash changed (pepper created or rotated): rebuild the index.
CREATE TABLE association_changes (
    seq         BIGSERIAL PRIMARY KEY,
    lookup_hash TEXT COLLATE "C",
    mxid        TEXT COLLATE "C",
    ts          BIGINT,
    not_before  BIGINT,
    not_after   BIGINT,
    reload      BOOLEAN NOT NULL DEFAULT FALSE
);
-- Rows up to `upto` were pruned: an instance that applied less rebuilds its index.
CREATE TABLE association_changes_pruned (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    upto BIGINT  NOT NULL
);
INSERT INTO association_changes_pruned (id, upto) VALUES (1, 0);

-- store-invite. params = the request body as JSON text (kept as sent, not re-encoded).
-- claimed_by/claimed_until_ms: the instance delivering it, so no two deliver it at once.
CREATE TABLE invites (
    token             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    medium            TEXT COLLATE "C" NOT NULL,
    address           TEXT COLLATE "C" NOT NULL,
    room_id           TEXT COLLATE "C" NOT NULL,
    sender            TEXT COLLATE "C" NOT NULL,
    params            TEXT NOT NULL,
    created_ms        BIGINT NOT NULL,
    delivered_ms      BIGINT,
    delivery_attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms   BIGINT,
    claimed_by        BIGINT,
    claimed_until_ms  BIGINT
);
CREATE INDEX invites_undelivered ON invites (medium, address, created_ms)
    WHERE delivered_ms IS NULL;

-- One ephemeral key per invite; public_key is the exact string issued.
CREATE TABLE ephemeral_keys (
    public_key   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    invite_token TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES invites (token) ON DELETE CASCADE,
    private_key  TEXT,
    created_ms   BIGINT NOT NULL,
    expires_ms   BIGINT
);

CREATE TABLE accounts (
    user_id    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    created_ms BIGINT NOT NULL
);

-- token_hash = URL-safe unpadded base64 of SHA-256(token); the token itself is never stored.
CREATE TABLE access_tokens (
    token_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
    created_ms BIGINT NOT NULL
);
CREATE INDEX access_tokens_user ON access_tokens (user_id);

-- Accepted policy URLs: a per-user set, append-only.
CREATE TABLE accepted_terms (
    user_id     TEXT COLLATE "C" NOT NULL,
    url         TEXT COLLATE "C" NOT NULL,
    accepted_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, url)
);

-- Each opened store takes a number: the owner of its invite delivery claims.
CREATE SEQUENCE store_instances;
