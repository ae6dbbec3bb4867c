-- Data carried over from sydent (`oxident import-sydent`).

-- sydent keeps ephemeral invite keys apart from invites; a key no imported invite could be
-- paired with stays valid for /pubkey/ephemeral/isvalid, as it was in sydent, but signs
-- nothing here (its private half was mailed, never stored).
CREATE TABLE unowned_ephemeral_keys (
    public_key TEXT    NOT NULL PRIMARY KEY,
    created_ms INTEGER NOT NULL
) STRICT;

-- sydent's signed association objects (`sgAssoc`), verbatim, as signed by the server that
-- made them (this one before the move, or a replication peer): their signatures cannot be
-- made again here when the origin is another server.
CREATE TABLE imported_signed_associations (
    origin_server TEXT    NOT NULL,
    origin_id     INTEGER NOT NULL,
    medium        TEXT    NOT NULL,
    address       TEXT    NOT NULL,
    mxid          TEXT    NOT NULL,
    ts            INTEGER NOT NULL,
    signed_json   TEXT    NOT NULL CHECK (json_valid(signed_json)),
    PRIMARY KEY (origin_server, origin_id)
) STRICT;
CREATE INDEX imported_signed_associations_threepid
    ON imported_signed_associations (medium, address);
