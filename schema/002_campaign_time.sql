-- 002_campaign_time.sql - the campaign index orders by time and covers the
-- ordering key, so "one campaign's interactions by time" reads the index in
-- order instead of sorting, and pages by (ts, local_id) cursors.
CREATE INDEX interactions_campaign_ts ON interactions (campaign_id, ts, local_id);
