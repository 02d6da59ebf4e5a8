-- Team members of this tenant.
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
	name          TEXT NOT NULL,
	role          TEXT NOT NULL CHECK (role IN ('admin', 'lead', 'agent', 'sales')),
	status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
	password_hash TEXT NOT NULL DEFAULT '',
	created_at    DATETIME NOT NULL,
	updated_at    DATETIME NOT NULL,
	last_login_at DATETIME
);

-- Invitations; the link's secret is stored only as its SHA-256.
CREATE TABLE invites (
	id          TEXT PRIMARY KEY,
	email       TEXT NOT NULL COLLATE NOCASE,
	name        TEXT NOT NULL DEFAULT '',
	role        TEXT NOT NULL CHECK (role IN ('admin', 'lead', 'agent', 'sales')),
	secret_hash TEXT NOT NULL UNIQUE,
	invited_by  TEXT NOT NULL DEFAULT '',
	created_at  DATETIME NOT NULL,
	expires_at  DATETIME NOT NULL,
	accepted_at DATETIME,
	revoked_at  DATETIME
);
CREATE INDEX invites_email ON invites (email);

-- scs sessions. A session lives in the file of the tenant that issued it, so
-- it cannot be valid on another tenant.
CREATE TABLE sessions (
	token  TEXT PRIMARY KEY,
	data   BLOB NOT NULL,
	expiry DATETIME NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);

-- One-time links that sign a user in (used right after sign-up, to carry the
-- new admin from the base domain to the workspace's own host).
CREATE TABLE login_links (
	secret_hash TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id),
	expires_at  DATETIME NOT NULL,
	used_at     DATETIME
);

-- API tokens, stored as SHA-256 of the secret.
CREATE TABLE api_tokens (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	role         TEXT NOT NULL CHECK (role IN ('admin', 'lead', 'agent', 'sales')),
	secret_hash  TEXT NOT NULL UNIQUE,
	hint         TEXT NOT NULL,
	created_by   TEXT NOT NULL DEFAULT '',
	created_at   DATETIME NOT NULL,
	last_used_at DATETIME,
	revoked_at   DATETIME
);

-- The append-only event log: audit trail, timeline, live-update feed and
-- source of outbound webhooks. Ids are ULIDs, so they sort by time.
CREATE TABLE events (
	id             TEXT PRIMARY KEY,
	type           TEXT NOT NULL,
	aggregate_type TEXT NOT NULL,
	aggregate_id   TEXT NOT NULL,
	actor_type     TEXT NOT NULL,
	actor_id       TEXT NOT NULL DEFAULT '',
	actor_name     TEXT NOT NULL DEFAULT '',
	occurred_at    DATETIME NOT NULL,
	payload        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload))
);
CREATE INDEX events_aggregate ON events (aggregate_type, aggregate_id, id);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_actor ON events (actor_id, id);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
	SELECT RAISE(ABORT, 'the event log is append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
	SELECT RAISE(ABORT, 'the event log is append-only');
END;
