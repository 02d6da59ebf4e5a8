-- The workspace's own settings: one row.
CREATE TABLE workspace_settings (
	id              INTEGER PRIMARY KEY CHECK (id = 1),
	default_country TEXT NOT NULL DEFAULT 'US'
);
INSERT INTO workspace_settings (id) VALUES (1);

-- Clients: the aggregate root of the CRM. Deletion is soft (deleted_at); a
-- client merged into another keeps its row with merged_into set, so old
-- links and events still resolve to the survivor.
CREATE TABLE clients (
	-- seq is the rowid, named so that VACUUM keeps it: the search index
	-- (clients_fts) is keyed by it.
	seq              INTEGER PRIMARY KEY,
	id               TEXT NOT NULL UNIQUE,
	first_name       TEXT NOT NULL,
	middle_name      TEXT NOT NULL DEFAULT '',
	last_name        TEXT NOT NULL DEFAULT '',
	gender           TEXT NOT NULL DEFAULT '' CHECK (gender IN ('', 'female', 'male', 'other')),
	birth_date       TEXT NOT NULL DEFAULT '',
	passport_number  TEXT NOT NULL DEFAULT '',
	tax_pin          TEXT NOT NULL DEFAULT '',
	comments         TEXT NOT NULL DEFAULT '',
	status           TEXT NOT NULL DEFAULT 'lead' CHECK (status IN ('lead', 'active', 'inactive', 'archived')),
	owner_id         TEXT REFERENCES users (id),
	language         TEXT NOT NULL DEFAULT '',
	timezone         TEXT NOT NULL DEFAULT '',
	currency         TEXT NOT NULL DEFAULT '',
	preferred_channel TEXT NOT NULL DEFAULT '',
	-- sort_name orders the list by name without a function over every row.
	sort_name        TEXT NOT NULL,
	created_at       DATETIME NOT NULL,
	updated_at       DATETIME NOT NULL,
	last_activity_at DATETIME NOT NULL,
	deleted_at       DATETIME,
	merged_into      TEXT REFERENCES clients (id)
);
-- The list's three orders, over live clients only; ids break ties.
CREATE INDEX clients_by_name ON clients (sort_name, id) WHERE deleted_at IS NULL;
CREATE INDEX clients_by_created ON clients (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX clients_by_activity ON clients (last_activity_at, id) WHERE deleted_at IS NULL;
CREATE INDEX clients_by_status ON clients (status, sort_name, id) WHERE deleted_at IS NULL;
CREATE INDEX clients_by_owner ON clients (owner_id, sort_name, id) WHERE deleted_at IS NULL;
CREATE INDEX clients_merged_into ON clients (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE client_tags (
	client_id TEXT NOT NULL REFERENCES clients (id),
	tag       TEXT NOT NULL,
	PRIMARY KEY (client_id, tag)
) WITHOUT ROWID;
CREATE INDEX client_tags_by_tag ON client_tags (tag, client_id);

-- Contacts. A value is unique within its type across the live clients of
-- the tenant; a deleted client's contacts are released (active = 0).
CREATE TABLE contacts (
	id         TEXT PRIMARY KEY,
	client_id  TEXT NOT NULL REFERENCES clients (id),
	type       TEXT NOT NULL CHECK (type IN ('email', 'phone', 'telegram', 'whatsapp', 'instagram', 'other')),
	value      TEXT NOT NULL,
	label      TEXT NOT NULL DEFAULT '',
	verified   INTEGER NOT NULL DEFAULT 0,
	active     INTEGER NOT NULL DEFAULT 1,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX contacts_unique_value ON contacts (type, value) WHERE active = 1;
CREATE INDEX contacts_by_client ON contacts (client_id, created_at);

CREATE TABLE addresses (
	id          TEXT PRIMARY KEY,
	client_id   TEXT NOT NULL REFERENCES clients (id),
	type        TEXT NOT NULL CHECK (type IN ('shipping', 'billing', 'business', 'other')),
	label       TEXT NOT NULL DEFAULT '',
	street      TEXT NOT NULL DEFAULT '',
	city        TEXT NOT NULL DEFAULT '',
	region      TEXT NOT NULL DEFAULT '',
	postal_code TEXT NOT NULL DEFAULT '',
	country     TEXT NOT NULL,
	is_default  INTEGER NOT NULL DEFAULT 0,
	created_at  DATETIME NOT NULL,
	updated_at  DATETIME NOT NULL
);
CREATE INDEX addresses_by_client ON addresses (client_id, created_at);
CREATE UNIQUE INDEX addresses_one_default ON addresses (client_id, type) WHERE is_default = 1;

CREATE TABLE notes (
	id          TEXT PRIMARY KEY,
	client_id   TEXT NOT NULL REFERENCES clients (id),
	type        TEXT NOT NULL CHECK (type IN ('general', 'sales', 'support', 'compliance')),
	body        TEXT NOT NULL,
	pinned      INTEGER NOT NULL DEFAULT 0,
	author_id   TEXT NOT NULL DEFAULT '',
	author_name TEXT NOT NULL DEFAULT '',
	created_at  DATETIME NOT NULL,
	updated_at  DATETIME NOT NULL
);
CREATE INDEX notes_by_client ON notes (client_id, pinned DESC, created_at DESC);

-- Custom fields defined by admins, and their values per client.
CREATE TABLE custom_fields (
	id         TEXT PRIMARY KEY,
	key        TEXT NOT NULL UNIQUE,
	label      TEXT NOT NULL,
	type       TEXT NOT NULL CHECK (type IN ('text', 'number', 'date', 'select', 'checkbox')),
	options    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(options)),
	required   INTEGER NOT NULL DEFAULT 0,
	position   INTEGER NOT NULL DEFAULT 0,
	created_at DATETIME NOT NULL
);

CREATE TABLE client_custom_values (
	client_id TEXT NOT NULL REFERENCES clients (id),
	field_id  TEXT NOT NULL REFERENCES custom_fields (id) ON DELETE CASCADE,
	value     TEXT NOT NULL,
	PRIMARY KEY (client_id, field_id)
) WITHOUT ROWID;

-- Search over names, contact values and notes. The row of a client has the
-- client's rowid and is rewritten in the same transaction as every change
-- to what it indexes. "keys" holds phone digit variants (see
-- app.PhoneSearchKeys) so any fragment of a number is a prefix match.
CREATE VIRTUAL TABLE clients_fts USING fts5 (
	name, contacts, notes, keys,
	tokenize = 'unicode61 remove_diacritics 2',
	prefix = '2 3 4'
);

