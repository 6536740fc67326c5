-- Outbox rows are leased to the alert service replica sending them (docs/scale-alerts.md):
-- until when (wall-clock epoch ms) and by whom (its MQTT client id). The same columns are in
-- the SQLite schema.
ALTER TABLE deliveries ADD COLUMN lease_until BIGINT;
ALTER TABLE deliveries ADD COLUMN leased_by TEXT;
