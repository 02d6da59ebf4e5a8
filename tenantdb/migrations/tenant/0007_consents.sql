-- Consent per client, purpose and channel ('' covers every channel): the
-- current state here, every change in consent_changes, which is never
-- edited (a trigger refuses it).
CREATE TABLE consents (
	client_id  TEXT NOT NULL REFERENCES clients (id),
	purpose    TEXT NOT NULL,
	channel    TEXT NOT NULL DEFAULT '',
	state      TEXT NOT NULL CHECK (state IN ('not_requested', 'pending', 'granted', 'denied', 'revoked', 'expired')),
	source     TEXT NOT NULL,
	expires_at DATETIME,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (client_id, purpose, channel)
) WITHOUT ROWID;
CREATE INDEX consents_by_purpose ON consents (purpose, state, channel);
CREATE INDEX consents_expiring ON consents (expires_at) WHERE state = 'granted' AND expires_at IS NOT NULL;

CREATE TABLE consent_changes (
	seq        INTEGER PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	client_id  TEXT NOT NULL,
	purpose    TEXT NOT NULL,
	channel    TEXT NOT NULL,
	from_state TEXT NOT NULL,
	to_state   TEXT NOT NULL,
	source     TEXT NOT NULL,
	actor_type TEXT NOT NULL,
	actor_id   TEXT NOT NULL DEFAULT '',
	actor_name TEXT NOT NULL DEFAULT '',
	note       TEXT NOT NULL DEFAULT '',
	expires_at DATETIME,
	at         DATETIME NOT NULL
);
CREATE INDEX consent_changes_by_client ON consent_changes (client_id, seq);
CREATE TRIGGER consent_changes_immutable BEFORE UPDATE ON consent_changes
BEGIN
	SELECT RAISE(ABORT, 'consent history is immutable');
END;

-- The suppression list: contact values (hashed with the workspace's salt)
-- that asked for no more messages. It outlives the client, so an erased
-- client who opted out is not messaged again when re-imported.
CREATE TABLE suppressions (
	hash       TEXT PRIMARY KEY,
	type       TEXT NOT NULL,
	reason     TEXT NOT NULL,
	created_at DATETIME NOT NULL
) WITHOUT ROWID;
ALTER TABLE workspace_settings ADD COLUMN suppression_salt TEXT NOT NULL DEFAULT '';
UPDATE workspace_settings SET suppression_salt = lower(hex(randomblob(16)));
