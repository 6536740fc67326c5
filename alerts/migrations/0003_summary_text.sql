-- An alert keeps its need's explanation as catalog text (careloop/i18n/summary.py): the
-- summary key and its arguments as JSON, so each reader gets it in their language. NULL for
-- alerts of needs that carried none (the English summary is shown). The same columns are in
-- the SQLite schema.
ALTER TABLE alerts ADD COLUMN summary_key TEXT;
ALTER TABLE alerts ADD COLUMN summary_args TEXT;
