-- 002_tombstones.sql - purging tombstones finds the settled ones by delete
-- time without scanning the table.
CREATE INDEX interactions_tombstones ON interactions (deleted_at) WHERE deleted = 1 AND state = 1;
