-- 011_create_marks.sql - the mark of a create whose POST may have reached
-- the server, in a small table of its own.
--
-- The push marks each create before its request leaves (DESIGN.md, "Sync
-- contract"). Until 011 the mark set interactions.create_attempted and
-- next_attempt, which rewrote the record's whole row (about 1 KB of the
-- clustered WITHOUT ROWID table) for two integers. A row here is the mark:
-- `settle` (ms since epoch) is when the server is surely done with the
-- request; before it the record is neither posted again nor looked up. A
-- mark counts only while the record has no server id: an acknowledgement
-- deletes it, and a push sweeps the marks of records acknowledged by a
-- pull. interactions.create_attempted is no longer read (always 0).
-- IF NOT EXISTS / OR IGNORE: a store whose user_version was set back (as
-- the tests of earlier migrations do) runs this again.
CREATE TABLE IF NOT EXISTS create_marks (
    local_id TEXT PRIMARY KEY NOT NULL,
    settle INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT OR IGNORE INTO create_marks (local_id, settle)
    SELECT local_id, COALESCE(next_attempt, 0) FROM interactions
    WHERE create_attempted = 1 AND server_id IS NULL;
UPDATE interactions SET create_attempted = 0 WHERE create_attempted = 1;
