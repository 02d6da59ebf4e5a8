-- Workspace admins add their own custom domains, and a domain is served only
-- once verified: the workspace proves it controls the domain's DNS with a TXT
-- record _parley-challenge.<domain> holding verify_token. Until then a claim
-- is only pending, and pending claims must not block anyone: a workspace that
-- adds a domain it does not own must not keep its real owner from adding it.
-- So a domain may be claimed by several workspaces (the key is the pair), but
-- served, that is verified, by one at most (the partial unique index).
--
-- SQLite cannot change a primary key in place, so the table is rebuilt.
-- Domains mapped before this migration could only have been mapped by the
-- operator, who vouched for them, and they were being served: they are kept
-- verified (since they were mapped) so nothing stops answering.
CREATE TABLE custom_domains_v2 (
	domain       TEXT NOT NULL,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	created_at   DATETIME NOT NULL,
	verified_at  DATETIME,
	-- verify_token is the random value the TXT record must hold; shown to the
	-- workspace's admins, meaningless anywhere else.
	verify_token TEXT NOT NULL,
	PRIMARY KEY (domain, tenant_id)
);

INSERT INTO custom_domains_v2 (domain, tenant_id, created_at, verified_at, verify_token)
SELECT domain, tenant_id, created_at, coalesce(verified_at, created_at), lower(hex(randomblob(16)))
FROM custom_domains;

DROP TABLE custom_domains;
ALTER TABLE custom_domains_v2 RENAME TO custom_domains;

CREATE UNIQUE INDEX custom_domains_served ON custom_domains (domain) WHERE verified_at IS NOT NULL;
CREATE INDEX custom_domains_tenant ON custom_domains (tenant_id, domain);
