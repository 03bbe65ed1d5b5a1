-- 010_saved_token.sql - the bearer token a host app asked the store to keep.
--
-- Tokens live in memory only unless the app calls wb_store_save_token (or
-- `walkbook sync --save-token`). Then the token is kept here, sealed like
-- a personal field (crypto.h: a BLOB bound to "saved_token.token:1") in an
-- encrypted store, as TEXT in a plain one (the user chose no encryption).
-- One row; no row when no token is saved. Rekey, encrypt and decrypt
-- re-seal it with the other sealed columns (crypto.c, sealed_columns).
-- IF NOT EXISTS: a store whose user_version was set back below 10 (as the
-- tests of earlier migrations do) keeps its saved token.
CREATE TABLE IF NOT EXISTS saved_token (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token ANY NOT NULL,                   -- sealed BLOB; TEXT in a plain store
    saved TEXT NOT NULL                   -- when it was saved (Polis timestamp)
) STRICT;
