-- 004_walklists.sql - what a canvasser needs offline (issue 5): read-only
-- caches of the server's reference data, walk-list membership with a geo
-- index for "next doors", per-campaign fraud settings, and the GPS fix and
-- fraud signals of each interaction.

-- Cached reference records, whole envelopes as the server sent them (or as
-- an import made them). Tombstones stay so that a stale copy never comes
-- back from an older page.
CREATE TABLE ref_records (
    resource TEXT NOT NULL,               -- campaigns, surveys, lists, households,
                                          -- contacts, contact-households
    id TEXT NOT NULL,
    envelope TEXT NOT NULL,               -- sealed in an encrypted store
    modified TEXT NOT NULL DEFAULT '',
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    PRIMARY KEY (resource, id)
) STRICT, WITHOUT ROWID;

-- Where each live household is (data.address.data.coords), for distances.
-- The coordinates stay clear: the geo index below is built on them.
CREATE TABLE ref_households (
    id TEXT PRIMARY KEY,
    lat REAL,                             -- NULL when the household has no coordinates
    lng REAL,
    address TEXT                          -- formatted address, for display (sealed)
) STRICT, WITHOUT ROWID;

-- Contact-household links (an interaction's contactHouseholdId).
CREATE TABLE ref_contact_households (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL,
    household_id TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX ref_contact_households_pair ON ref_contact_households (contact_id, household_id);

-- Walk lists (Polis lists and walklistIds). `wid` is a small integer: the
-- walk list's coordinate in walklist_geo, so one index serves every list
-- and a search never touches another list's doors.
CREATE TABLE ref_walklists (
    wid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    campaign_id TEXT
) STRICT;

-- Households on each walk list. `rid` is the row of walklist_geo (absent
-- while the household has no coordinates).
CREATE TABLE ref_walklist_households (
    rid INTEGER PRIMARY KEY,
    wid INTEGER NOT NULL,
    household_id TEXT NOT NULL,
    UNIQUE (wid, household_id)
) STRICT;
CREATE INDEX ref_walklist_households_household ON ref_walklist_households (household_id);

-- R*Tree over (walk list, earth-centred x, y, z in metres). A straight line
-- is never longer than the geodesic, so a cube of half-side r around a
-- point holds every door within geodesic distance r: no special cases at
-- the poles or the antimeridian.
CREATE VIRTUAL TABLE walklist_geo USING rtree(rid, w0, w1, x0, x1, y0, y1, z0, z1);

-- Per-campaign fraud thresholds and validation mode (JSON object).
CREATE TABLE campaign_settings (
    campaign_id TEXT PRIMARY KEY,
    settings TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- The fix an interaction was recorded with, its distance to the door, the
-- fraud signals raised and the validation warnings (JSON arrays).
CREATE TABLE interaction_fixes (
    local_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,               -- fix time, else data.timestamp (for speed)
    fix TEXT,                             -- sealed JSON {"lat","lng","accuracy","time",
                                          -- "distanceMetres"}; NULL: no fix
    signals TEXT NOT NULL DEFAULT '[]',   -- signal names: no personal value
    warnings TEXT NOT NULL DEFAULT '[]'   -- findings name fields and ids, never values
) STRICT, WITHOUT ROWID;
CREATE INDEX interaction_fixes_user ON interaction_fixes (user_id, at_ms) WHERE fix IS NOT NULL;

-- One row per (signal, interaction): "which knocks were too far" is an
-- index range, not a scan of JSON.
CREATE TABLE interaction_signals (
    signal TEXT NOT NULL,
    local_id TEXT NOT NULL,
    PRIMARY KEY (signal, local_id)
) STRICT, WITHOUT ROWID;

-- Purged tombstones take their fix and signals with them.
CREATE TRIGGER interactions_purge_fixes AFTER DELETE ON interactions BEGIN
    DELETE FROM interaction_fixes WHERE local_id = old.local_id;
    DELETE FROM interaction_signals WHERE local_id = old.local_id;
END;

-- Breadcrumb track of the canvasser's fixes during a shift.
-- `seq` is the row key bound into the sealed point: an INTEGER PRIMARY KEY,
-- which VACUUM never renumbers.
CREATE TABLE breadcrumbs (
    seq INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    point TEXT NOT NULL                   -- sealed JSON {"lat","lng","accuracy"}
) STRICT;
CREATE INDEX breadcrumbs_user ON breadcrumbs (user_id, at_ms);
