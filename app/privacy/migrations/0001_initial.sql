-- Erasure receipts: the PostgreSQL form of the SQLite schema in app/privacy/receipts.py
-- (docs/database.md). Times are epoch milliseconds (BIGINT); the body is the sealed JSON.

CREATE TABLE erasure_receipts (
    id TEXT PRIMARY KEY, site TEXT NOT NULL, resident TEXT NOT NULL,
    erased_at BIGINT NOT NULL, erased_by TEXT NOT NULL, body TEXT NOT NULL,
    sha256 TEXT NOT NULL
);
