-- Provisioning's MQTT users: the PostgreSQL form of the SQLite schema in
-- app/provision/service.py (docs/database.md). In schema people, beside the volunteers
-- whose sites a volunteer app's ACL follows (read in the same transaction), as the table
-- sits in the people database's file on SQLite. Times are epoch milliseconds (BIGINT).

CREATE TABLE mqtt_users (
    username TEXT PRIMARY KEY, role TEXT NOT NULL, site TEXT, resident TEXT, kind TEXT,
    hash TEXT NOT NULL, created_at BIGINT NOT NULL, rotated_at BIGINT, revoked_at BIGINT
);
CREATE INDEX mqtt_users_resident ON mqtt_users (site, resident);
