-- 003_sync.sql - bookkeeping of the sync engine.
--
-- create_attempted: a POST of this record was (or may have been) sent and
-- its outcome is not known yet. It is committed before the request goes
-- out, so after a crash or a lost response the engine asks the server
-- whether the record exists before posting again (exactly once).
ALTER TABLE interactions ADD COLUMN create_attempted INTEGER NOT NULL DEFAULT 0;
-- The server's envelope of a record parked in `conflict`, and the pointers
-- both sides changed, for the app to show and resolve.
ALTER TABLE interactions ADD COLUMN conflict_remote TEXT;
ALTER TABLE interactions ADD COLUMN conflict_paths TEXT;

-- Pull watermarks: per resource and scope (e.g. a campaign), the meta.modified
-- of the last fully applied page, and the ids already applied at exactly that
-- value, so that a `gte` pull repeats nothing and, with ties across a page
-- boundary, loses nothing.
CREATE TABLE sync_watermarks (
    resource TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    modified TEXT NOT NULL,
    seen TEXT NOT NULL DEFAULT '[]',      -- JSON array of "id:etag" at `modified`
    PRIMARY KEY (resource, scope)
) STRICT;
