-- 005_crypto.sql - keys of an encrypted store and the signed interaction log.
--
-- Sealed personal fields stay in their TEXT columns (interactions.data,
-- base, conflict_remote, last_error): an encrypted store keeps base64url
-- XChaCha20-Poly1305 ciphertext there (core/crypto.h). Ids, timestamps and
-- sync state stay clear so that indexes and the sync bookkeeping work
-- without the key.

-- One row. `encrypted` = 0: a plain store (the signing key is stored clear).
-- The store key itself is never stored: `key_check` is a keyed BLAKE2b of a
-- constant under a subkey of it, so a wrong key is told apart from a
-- tampered value before anything is written. `kdf` is NULL when the host
-- app supplies the 32-byte key, else 'argon2id13' with its salt and cost.
CREATE TABLE store_keys (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    encrypted INTEGER NOT NULL CHECK (encrypted IN (0, 1)),
    kdf TEXT,
    kdf_salt BLOB,
    kdf_opslimit INTEGER,
    kdf_memlimit INTEGER,
    key_check BLOB,
    sign_public BLOB NOT NULL,            -- Ed25519 device key
    sign_secret TEXT NOT NULL,            -- sealed like a personal field
    created TEXT NOT NULL,
    rekeyed TEXT
) STRICT;

-- The tamper-evident log: one signed entry per change of an interaction's
-- data on this device (record, update, delete, server version applied).
-- content = BLAKE2b of (id, timestamp, fix, distance, accuracy, data hash);
-- digest = BLAKE2b(previous digest, seq, kind, content), signed with the
-- device key. No personal value is stored here, only hashes.
CREATE TABLE interaction_log (
    seq INTEGER PRIMARY KEY,              -- 1, 2, 3 and so on, without gaps
    local_id TEXT NOT NULL,
    kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 4),
    content BLOB NOT NULL,
    digest BLOB NOT NULL,
    signature BLOB NOT NULL
) STRICT;
CREATE INDEX interaction_log_local_id ON interaction_log (local_id, seq);
