-- 001_init.sql - the first walkbook schema.
--
-- One row per interaction keeps everything the sync engine needs without
-- reading history: the current data, the base (last version both sides
-- agreed on) with its etag, server meta, the sync state and a version counter
-- that tells an in-flight upload the record changed meanwhile.

-- The store's identity: one customer, one user, the security groups it may see.
CREATE TABLE identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    customer_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    security_groups TEXT NOT NULL,        -- JSON array of UUID strings
    created TEXT NOT NULL
) STRICT;

-- Clustered by (campaign, time): the app's hot read, "this campaign's
-- knocks in time order", walks one contiguous range of the table instead of
-- fetching rows scattered over the file, and keyset paging continues from
-- (ts, local_id) within it.
CREATE TABLE interactions (
    campaign_id TEXT NOT NULL,            -- copies of data members, for indexes
    ts TEXT NOT NULL,                     -- data.timestamp (device clock)
    local_id TEXT NOT NULL,               -- UUID v4 made on the device
    server_id TEXT,                       -- NULL until the server acknowledged it
    contact_id TEXT NOT NULL,
    household_id TEXT,
    walklist_id TEXT,
    data TEXT NOT NULL,                   -- current data object, compact JSON
    base TEXT,                            -- last agreed data; NULL before the first ack
    base_etag TEXT,                       -- server etag of base
    etag TEXT NOT NULL DEFAULT '',        -- meta.etag as last seen from the server
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    modified TEXT NOT NULL,
    modified_by TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    security_group_id TEXT,
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    deleted_at INTEGER,                   -- ms since epoch of the local delete
    state INTEGER NOT NULL CHECK (state IN (1, 2, 4, 8, 16, 32)),
    version INTEGER NOT NULL DEFAULT 1,   -- bumped by every local change
    attempts INTEGER NOT NULL DEFAULT 0,  -- failed push attempts since the last success
    next_attempt INTEGER,                 -- ms since epoch; NULL = now
    last_error TEXT,                      -- server message of a rejection
    PRIMARY KEY (campaign_id, ts, local_id)
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX interactions_local_id ON interactions (local_id);
CREATE UNIQUE INDEX interactions_server_id ON interactions (server_id) WHERE server_id IS NOT NULL;
CREATE INDEX interactions_state ON interactions (state) WHERE state <> 1;
CREATE INDEX interactions_contact ON interactions (contact_id, ts);
CREATE INDEX interactions_household ON interactions (household_id, ts) WHERE household_id IS NOT NULL;
CREATE INDEX interactions_walklist ON interactions (walklist_id, ts) WHERE walklist_id IS NOT NULL;
CREATE INDEX interactions_ts ON interactions (ts, local_id);
CREATE INDEX interactions_modified ON interactions (modified, local_id);
