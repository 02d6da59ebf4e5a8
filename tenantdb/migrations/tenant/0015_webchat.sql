-- Web chat: a visitor of the workspace's site is a client (a lead) with a
-- contact of type 'website' whose value is their random visitor id. The
-- type list is a CHECK constraint, which SQLite cannot alter, so the table
-- is rebuilt with the same columns in the same order (no table references
-- contacts, so nothing else changes).
CREATE TABLE contacts_new (
	id           TEXT PRIMARY KEY,
	client_id    TEXT NOT NULL REFERENCES clients (id),
	type         TEXT NOT NULL CHECK (type IN ('email', 'phone', 'telegram', 'whatsapp', 'instagram', 'other', 'website')),
	value        TEXT NOT NULL,
	label        TEXT NOT NULL DEFAULT '',
	verified     INTEGER NOT NULL DEFAULT 0,
	active       INTEGER NOT NULL DEFAULT 1,
	created_at   DATETIME NOT NULL,
	updated_at   DATETIME NOT NULL,
	opted_out_at DATETIME
);
INSERT INTO contacts_new (id, client_id, type, value, label, verified, active, created_at, updated_at, opted_out_at)
	SELECT id, client_id, type, value, label, verified, active, created_at, updated_at, opted_out_at FROM contacts;
DROP TABLE contacts;
ALTER TABLE contacts_new RENAME TO contacts;
CREATE UNIQUE INDEX contacts_unique_value ON contacts (type, value) WHERE active = 1;
CREATE INDEX contacts_by_client ON contacts (client_id, created_at);
