-- 007_signature_uploads.sql - which signed log entry went out with which
-- create (walkbook sync --send-signatures, core/log.c).
--
-- A create sent with its signature carries the log entry that signed its
-- data (`seq`) and the hashes of the entries between the last entry the
-- server is known to hold and that one ("links"). The server holds an
-- entry once the create that carried it is acknowledged (the record then
-- has a server_id), so the next create's links start after the highest
-- such `seq`. Only ids and sequence numbers: nothing personal.
CREATE TABLE signature_uploads (
    local_id TEXT PRIMARY KEY,            -- the interaction (its create)
    seq INTEGER NOT NULL                  -- interaction_log.seq sent with it
) STRICT, WITHOUT ROWID;
CREATE INDEX signature_uploads_seq ON signature_uploads (seq);
