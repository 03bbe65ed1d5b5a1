-- 012_server_id_index.sql - the server-id index holds only the records
-- whose server id differs from their local id.
--
-- A record pulled from the server takes the server's id as its local id,
-- and a create acknowledged by a server that keeps client ids gets its own
-- local id back: for those the server id says nothing that local_id (and
-- its unique index) does not. Until 011 every one of them still had an
-- entry here, one b-tree write in eight of a pulled record and a twelfth
-- of the store's bytes (issue 4). Only a server that assigns its own ids
-- puts records in this index now.
--
-- Lookups by a server id S ask for "local_id = S, or server_id = S AND
-- server_id <> local_id" (that term lets SQLite use this partial index),
-- which finds the same rows as "server_id = S" did.
--
-- Uniqueness: two records with the same server id S were refused, and
-- still are where both ids differ from their local ones. The case left is
-- a record whose local id is S beside another whose server id is S: the
-- pull finds a record by its server id before its local id (syncstore.c,
-- find_local), so it updates the second and never inserts the first.
DROP INDEX interactions_server_id;
CREATE UNIQUE INDEX interactions_server_id ON interactions (server_id)
    WHERE server_id <> local_id;
