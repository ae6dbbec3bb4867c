-- Oxident SQLite schema, version 1. Times are milliseconds since the Unix epoch.
-- Migrations are append-only: never edit a released file, add a new one.

-- requestToken / submitToken sessions. One live session per (medium, address, client_secret).
CREATE TABLE validation_sessions (
    sid            TEXT    NOT NULL PRIMARY KEY,
    medium         TEXT    NOT NULL,
    address        TEXT    NOT NULL,
    client_secret  TEXT    NOT NULL,
    token          TEXT    NOT NULL,
    send_attempt   INTEGER NOT NULL,
    next_link      TEXT,
    created_ms     INTEGER NOT NULL,
    modified_ms    INTEGER NOT NULL,
    validated_ms   INTEGER,
    failed_submits INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX validation_sessions_scope
    ON validation_sessions (medium, address, client_secret);
CREATE INDEX validation_sessions_modified ON validation_sessions (modified_ms);

-- Bindings 3PID -> mxid. lookup_hash = sha256 lookup hash under the current pepper
-- (NULL only while no pepper exists yet).
CREATE TABLE associations (
    medium      TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    mxid        TEXT    NOT NULL,
    ts          INTEGER NOT NULL,
    not_before  INTEGER NOT NULL,
    not_after   INTEGER NOT NULL,
    lookup_hash TEXT,
    PRIMARY KEY (medium, address)
) STRICT, WITHOUT ROWID;
CREATE INDEX associations_lookup_hash ON associations (lookup_hash);

-- The single current lookup pepper.
CREATE TABLE lookup_pepper (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    pepper TEXT    NOT NULL
) STRICT;

-- store-invite. params = the request body as JSON text.
CREATE TABLE invites (
    token             TEXT    NOT NULL PRIMARY KEY,
    medium            TEXT    NOT NULL,
    address           TEXT    NOT NULL,
    room_id           TEXT    NOT NULL,
    sender            TEXT    NOT NULL,
    params            TEXT    NOT NULL CHECK (json_valid(params)),
    created_ms        INTEGER NOT NULL,
    delivered_ms      INTEGER,
    delivery_attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms   INTEGER
) STRICT;
CREATE INDEX invites_undelivered ON invites (medium, address, created_ms)
    WHERE delivered_ms IS NULL;

-- One ephemeral key per invite; public_key is the exact string issued.
CREATE TABLE ephemeral_keys (
    public_key   TEXT    NOT NULL PRIMARY KEY,
    invite_token TEXT    NOT NULL UNIQUE REFERENCES invites (token) ON DELETE CASCADE,
    private_key  TEXT,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER
) STRICT;

CREATE TABLE accounts (
    user_id    TEXT    NOT NULL PRIMARY KEY,
    created_ms INTEGER NOT NULL
) STRICT;

-- token_hash = URL-safe unpadded base64 of SHA-256(token); the token itself is never stored.
CREATE TABLE access_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
    created_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX access_tokens_user ON access_tokens (user_id);

-- Accepted policy URLs: a per-user set, append-only.
CREATE TABLE accepted_terms (
    user_id     TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    accepted_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, url)
) STRICT, WITHOUT ROWID;
