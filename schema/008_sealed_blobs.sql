-- 008_sealed_blobs.sql - sealed values stored as BLOBs.
--
-- Until 005, an encrypted store kept each sealed value as base64url TEXT;
-- decoding it cost about as much as a read of the plain value, on every
-- read. From 008 the sealed columns are declared ANY: an encrypted store
-- keeps the raw bytes there (0x01 | nonce | XChaCha20-Poly1305 ciphertext
-- and tag, the same bytes the base64 spelled), a plain store its TEXT as
-- before. STRICT tables cannot change a column's type in place, so each
-- table with a sealed column is rebuilt; the whole migration is one
-- transaction (store.c), so a crash leaves the 005 store untouched.
--
-- wb_unbase64(x) is registered on the connection by crypto.c: base64url
-- TEXT to BLOB, and anything that does not decode unchanged, so a damaged
-- value stays damaged (WB_ETAMPER on read) instead of failing the upgrade.
-- Plain stores (no store_keys row, or encrypted = 0) are copied as they are.

CREATE TEMP TABLE wb_008_mode AS
    SELECT coalesce((SELECT encrypted FROM store_keys WHERE id = 1), 0) AS enc;

-- compact_pending: `wb_store_encrypt` sealed the values of a plain store
-- and committed, but the VACUUM that rewrites the pages which held the
-- plaintext has not finished yet; the next writable open finishes it.
CREATE TABLE store_keys_008 (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    encrypted INTEGER NOT NULL CHECK (encrypted IN (0, 1)),
    kdf TEXT,
    kdf_salt BLOB,
    kdf_opslimit INTEGER,
    kdf_memlimit INTEGER,
    key_check BLOB,
    sign_public BLOB NOT NULL,            -- Ed25519 device key
    sign_secret ANY NOT NULL,             -- sealed BLOB; hex TEXT in a plain store
    created TEXT NOT NULL,
    rekeyed TEXT,
    compact_pending INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO store_keys_008 (id, encrypted, kdf, kdf_salt, kdf_opslimit, kdf_memlimit, key_check,
                            sign_public, sign_secret, created, rekeyed)
    SELECT id, encrypted, kdf, kdf_salt, kdf_opslimit, kdf_memlimit, key_check, sign_public,
           CASE WHEN encrypted THEN wb_unbase64(sign_secret) ELSE sign_secret END, created,
           rekeyed
    FROM store_keys;
DROP TABLE store_keys;
ALTER TABLE store_keys_008 RENAME TO store_keys;

CREATE TABLE interactions_008 (
    campaign_id TEXT NOT NULL,
    ts TEXT NOT NULL,
    local_id TEXT NOT NULL,
    server_id TEXT,
    contact_id TEXT NOT NULL,
    household_id TEXT,
    walklist_id TEXT,
    data ANY NOT NULL,                    -- compact JSON TEXT, or sealed BLOB
    base ANY,                             -- likewise; NULL before the first ack
    base_etag TEXT,
    etag TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    security_group_id TEXT,
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    deleted_at INTEGER,
    state INTEGER NOT NULL CHECK (state IN (1, 2, 4, 8, 16, 32)),
    version INTEGER NOT NULL DEFAULT 1,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER,
    last_error ANY,                       -- sealed like data
    create_attempted INTEGER NOT NULL DEFAULT 0,
    conflict_remote ANY,                  -- sealed like data
    conflict_paths ANY,                   -- sealed like data
    PRIMARY KEY (campaign_id, ts, local_id)
) STRICT, WITHOUT ROWID;
INSERT INTO interactions_008
    SELECT campaign_id, ts, local_id, server_id, contact_id, household_id, walklist_id,
           CASE WHEN m.enc THEN wb_unbase64(data) ELSE data END,
           CASE WHEN m.enc THEN wb_unbase64(base) ELSE base END,
           base_etag, etag, created, created_by, modified, modified_by, customer_id,
           security_group_id, deleted, deleted_at, state, version, attempts, next_attempt,
           CASE WHEN m.enc THEN wb_unbase64(last_error) ELSE last_error END,
           create_attempted,
           CASE WHEN m.enc THEN wb_unbase64(conflict_remote) ELSE conflict_remote END,
           CASE WHEN m.enc THEN wb_unbase64(conflict_paths) ELSE conflict_paths END
    FROM interactions, wb_008_mode AS m;
DROP TABLE interactions;
ALTER TABLE interactions_008 RENAME TO interactions;
CREATE UNIQUE INDEX interactions_local_id ON interactions (local_id);
CREATE UNIQUE INDEX interactions_server_id ON interactions (server_id) WHERE server_id IS NOT NULL;
CREATE INDEX interactions_state ON interactions (state) WHERE state <> 1;
CREATE INDEX interactions_contact ON interactions (contact_id, ts);
CREATE INDEX interactions_household ON interactions (household_id, ts) WHERE household_id IS NOT NULL;
CREATE INDEX interactions_walklist ON interactions (walklist_id, ts) WHERE walklist_id IS NOT NULL;
CREATE INDEX interactions_ts ON interactions (ts, local_id);
CREATE INDEX interactions_modified ON interactions (modified, local_id);
CREATE INDEX interactions_tombstones ON interactions (deleted_at) WHERE deleted = 1 AND state = 1;

CREATE TABLE ref_records_008 (
    resource TEXT NOT NULL,
    id TEXT NOT NULL,
    envelope ANY NOT NULL,                -- sealed in an encrypted store
    modified TEXT NOT NULL DEFAULT '',
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    PRIMARY KEY (resource, id)
) STRICT, WITHOUT ROWID;
INSERT INTO ref_records_008
    SELECT resource, id, CASE WHEN m.enc THEN wb_unbase64(envelope) ELSE envelope END, modified,
           deleted
    FROM ref_records, wb_008_mode AS m;
DROP TABLE ref_records;
ALTER TABLE ref_records_008 RENAME TO ref_records;

CREATE TABLE ref_households_008 (
    id TEXT PRIMARY KEY,
    lat REAL,
    lng REAL,
    address ANY                           -- formatted address, for display (sealed)
) STRICT, WITHOUT ROWID;
INSERT INTO ref_households_008
    SELECT id, lat, lng, CASE WHEN m.enc THEN wb_unbase64(address) ELSE address END
    FROM ref_households, wb_008_mode AS m;
DROP TABLE ref_households;
ALTER TABLE ref_households_008 RENAME TO ref_households;

CREATE TABLE interaction_fixes_008 (
    local_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    fix ANY,                              -- sealed JSON; NULL: no fix
    signals TEXT NOT NULL DEFAULT '[]',
    warnings TEXT NOT NULL DEFAULT '[]'
) STRICT, WITHOUT ROWID;
INSERT INTO interaction_fixes_008
    SELECT local_id, user_id, at_ms, CASE WHEN m.enc THEN wb_unbase64(fix) ELSE fix END, signals,
           warnings
    FROM interaction_fixes, wb_008_mode AS m;
DROP TABLE interaction_fixes;
ALTER TABLE interaction_fixes_008 RENAME TO interaction_fixes;
CREATE INDEX interaction_fixes_user ON interaction_fixes (user_id, at_ms) WHERE fix IS NOT NULL;

CREATE TABLE breadcrumbs_008 (
    seq INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    point ANY NOT NULL                    -- sealed JSON {"lat","lng","accuracy"}
) STRICT;
INSERT INTO breadcrumbs_008
    SELECT seq, user_id, at_ms, CASE WHEN m.enc THEN wb_unbase64(point) ELSE point END
    FROM breadcrumbs, wb_008_mode AS m;
DROP TABLE breadcrumbs;
ALTER TABLE breadcrumbs_008 RENAME TO breadcrumbs;
CREATE INDEX breadcrumbs_user ON breadcrumbs (user_id, at_ms);

-- Dropping interactions dropped its trigger: the same again.
CREATE TRIGGER interactions_purge_fixes AFTER DELETE ON interactions BEGIN
    DELETE FROM interaction_fixes WHERE local_id = old.local_id;
    DELETE FROM interaction_signals WHERE local_id = old.local_id;
END;

DROP TABLE temp.wb_008_mode;
