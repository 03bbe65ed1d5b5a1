-- 009_pull_cost.sql - log entries covered by a later signature,
-- and a CHECK on interactions.state that costs nothing per row.
--
-- Both make a pulled record cheaper (issue 4); both tables are rebuilt,
-- since a STRICT table cannot change a column's constraints in place. The
-- migration is one transaction with the others (store.c): a crash leaves
-- the 008 store untouched.
--
-- Until 008 every entry of interaction_log carried its own Ed25519
-- signature. A pull page applies hundreds of server versions in one
-- transaction, and signing each one was about half of a pulled record's
-- cost. Each digest commits to the whole chain before it, so a signed
-- entry vouches for every entry before it: from 009 a server version
-- applied in the middle of a transaction (kind 4) is stored with a NULL
-- signature, and the transaction's last entry is always signed before it
-- commits (core/log.c). The device's own changes (kinds 1-3) are still
-- signed each, since a create's entry travels to the server on its own.
-- Verification accepts an unsigned entry only when a later signed entry
-- covers it.
CREATE TABLE interaction_log_009 (
    seq INTEGER PRIMARY KEY,              -- 1, 2, 3 and so on, without gaps
    local_id TEXT NOT NULL,
    kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 4),
    content BLOB NOT NULL,
    digest BLOB NOT NULL,
    signature BLOB                        -- NULL: covered by the next signed entry
) STRICT;
INSERT INTO interaction_log_009 (seq, local_id, kind, content, digest, signature)
    SELECT seq, local_id, kind, content, digest, signature FROM interaction_log;
DROP TABLE interaction_log;
ALTER TABLE interaction_log_009 RENAME TO interaction_log;
CREATE INDEX interaction_log_local_id ON interaction_log (local_id, seq);

-- interactions.state: SQLite (3.40) checks `state IN (1, 2, 4, 8, 16, 32)`
-- by building a temporary b-tree of the six values for every row written
-- (lists of more than two values), about 1.7 us per INSERT or UPDATE of
-- the state here. The same set as arithmetic: a power of two from 1 to 32.
-- Everything else is as 008 made it.
CREATE TABLE interactions_009 (
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
    state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 32 AND (state & (state - 1)) = 0),
    version INTEGER NOT NULL DEFAULT 1,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER,
    last_error ANY,                       -- sealed like data
    create_attempted INTEGER NOT NULL DEFAULT 0,
    conflict_remote ANY,                  -- sealed like data
    conflict_paths ANY,                   -- sealed like data
    PRIMARY KEY (campaign_id, ts, local_id)
) STRICT, WITHOUT ROWID;
INSERT INTO interactions_009
    SELECT campaign_id, ts, local_id, server_id, contact_id, household_id, walklist_id, data,
           base, base_etag, etag, created, created_by, modified, modified_by, customer_id,
           security_group_id, deleted, deleted_at, state, version, attempts, next_attempt,
           last_error, create_attempted, conflict_remote, conflict_paths
    FROM interactions;
DROP TABLE interactions;
ALTER TABLE interactions_009 RENAME TO interactions;
CREATE UNIQUE INDEX interactions_local_id ON interactions (local_id);
CREATE UNIQUE INDEX interactions_server_id ON interactions (server_id) WHERE server_id IS NOT NULL;
CREATE INDEX interactions_state ON interactions (state) WHERE state <> 1;
CREATE INDEX interactions_contact ON interactions (contact_id, ts);
CREATE INDEX interactions_household ON interactions (household_id, ts) WHERE household_id IS NOT NULL;
CREATE INDEX interactions_walklist ON interactions (walklist_id, ts) WHERE walklist_id IS NOT NULL;
CREATE INDEX interactions_ts ON interactions (ts, local_id);
CREATE INDEX interactions_modified ON interactions (modified, local_id);
CREATE INDEX interactions_tombstones ON interactions (deleted_at) WHERE deleted = 1 AND state = 1;

-- Dropping interactions dropped its trigger: the same again.
CREATE TRIGGER interactions_purge_fixes AFTER DELETE ON interactions BEGIN
    DELETE FROM interaction_fixes WHERE local_id = old.local_id;
    DELETE FROM interaction_signals WHERE local_id = old.local_id;
END;
