-- The tenant registry. A tenant's data lives in tenants/<id>.db; this table
-- says which tenants exist, whether they may be served and where they are homed.
CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	slug       TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
	created_at DATETIME NOT NULL,
	-- Placement, for when Parley runs on more than one node or region.
	region     TEXT NOT NULL DEFAULT '',
	node       TEXT NOT NULL DEFAULT ''
);

-- Custom domains map a host (for example help.acme.com) to a tenant's portal.
CREATE TABLE custom_domains (
	domain      TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	created_at  DATETIME NOT NULL,
	verified_at DATETIME
);
CREATE INDEX custom_domains_tenant ON custom_domains (tenant_id);
