-- 009_log_signature_optional.sql - log entries covered by a later signature.
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
-- covers it. STRICT tables cannot drop NOT NULL in place: the table is
-- rebuilt (one transaction with the other migrations, store.c).
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
