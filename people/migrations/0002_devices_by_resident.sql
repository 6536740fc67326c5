-- A resident's devices are looked up by (site, resident) when a resident is erased and when
-- the speaking devices are listed; the same index is in the SQLite schema.
CREATE INDEX devices_resident ON devices (site, resident);
