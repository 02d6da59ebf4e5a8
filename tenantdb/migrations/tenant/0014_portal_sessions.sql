-- Customer portal sign-in: the throttle log of link requests, the magic
-- links, and portal sessions. Secrets and tokens are kept only as SHA-256.
-- No foreign keys: erasure deletes a client's contacts, and these rows
-- (ids and times, no personal data) must never stand in its way.

-- The key of the salted hashes in portal_link_requests, random per
-- workspace, never shown.
ALTER TABLE workspace_settings ADD COLUMN portal_salt TEXT NOT NULL DEFAULT '';
UPDATE workspace_settings SET portal_salt = lower(hex(randomblob(16)));

-- Every link request, for a client's address or not: the per-address and
-- per-client-IP throttles count these. Only salted hashes of the address
-- and IP are kept, so the log does not say who asked or for whom. Rows
-- older than a day are deleted as new requests come in.
CREATE TABLE portal_link_requests (
	id         TEXT PRIMARY KEY,
	email_hash TEXT NOT NULL,
	ip_hash    TEXT NOT NULL,
	created_at DATETIME NOT NULL
);
CREATE INDEX portal_link_requests_email ON portal_link_requests (email_hash, created_at);
CREATE INDEX portal_link_requests_ip ON portal_link_requests (ip_hash, created_at);
CREATE INDEX portal_link_requests_age ON portal_link_requests (created_at);

-- A sign-in link, made when a request names a client's email contact (its
-- id is the request's). The mail job sets secret_hash when it sends the
-- link; a retried send replaces it, so only the last mailed link works.
-- origin is the scheme and host the link was asked on (the workspace host
-- or a custom domain): the link goes back there. The address itself is
-- read from the contact when the link is sent.
CREATE TABLE portal_links (
	id          TEXT PRIMARY KEY,
	secret_hash TEXT UNIQUE,
	client_id   TEXT NOT NULL,
	contact_id  TEXT NOT NULL,
	origin      TEXT NOT NULL,
	site_name   TEXT NOT NULL,
	created_at  DATETIME NOT NULL,
	expires_at  DATETIME NOT NULL,
	sent_at     DATETIME,
	sent_via    TEXT NOT NULL DEFAULT '',
	used_at     DATETIME
);
CREATE INDEX portal_links_client ON portal_links (client_id, created_at);
CREATE INDEX portal_links_expiry ON portal_links (expires_at);

-- A signed-in client. It ends PortalSessionIdle after last_seen_at, at
-- expires_at (PortalSessionLifetime after sign-in), or when revoked
-- (sign-out, a newer sign-in in the same browser).
CREATE TABLE portal_sessions (
	id           TEXT PRIMARY KEY,
	token_hash   TEXT NOT NULL UNIQUE,
	client_id    TEXT NOT NULL,
	contact_id   TEXT NOT NULL,
	link_id      TEXT NOT NULL,
	created_at   DATETIME NOT NULL,
	last_seen_at DATETIME NOT NULL,
	expires_at   DATETIME NOT NULL,
	revoked_at   DATETIME
);
CREATE INDEX portal_sessions_client ON portal_sessions (client_id, created_at);
CREATE INDEX portal_sessions_expiry ON portal_sessions (expires_at);
