-- Subject access exports (GDPR art. 15): one row per request. The archive
-- is built by a job into <tenant>.files/exports/<id>.zip, downloaded by the
-- team, and deleted when it expires (7 days after it was built). The row
-- stays as the record that the request was made and answered; it holds no
-- personal data of its own.
CREATE TABLE exports (
	id           TEXT PRIMARY KEY,
	client_id    TEXT NOT NULL,
	status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'failed', 'expired')),
	actor_type   TEXT NOT NULL,
	actor_id     TEXT NOT NULL DEFAULT '',
	actor_name   TEXT NOT NULL DEFAULT '',
	created_at   DATETIME NOT NULL,
	completed_at DATETIME,
	expires_at   DATETIME,
	size         INTEGER NOT NULL DEFAULT 0,
	sha256       TEXT NOT NULL DEFAULT '',
	error        TEXT NOT NULL DEFAULT '',
	downloads    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX exports_by_client ON exports (client_id, created_at);
CREATE INDEX exports_expiring ON exports (expires_at) WHERE status = 'ready';

-- Erasure (GDPR art. 17) blanks a client's row instead of deleting it: the
-- id keeps answering "not found" (never someone else), clients merged into
-- it keep a valid reference, and the anonymised events still name an id.
ALTER TABLE clients ADD COLUMN erased_at DATETIME;

-- The event log stays append-only with one exception: erasure anonymises
-- the events about the erased client once, blanking what their payload
-- said (and a system actor's name, which may be the client's) and keeping
-- the type, aggregate, actor and time, so counts and the audit trail
-- survive and the content does not. Rows are never deleted.
ALTER TABLE events ADD COLUMN redacted_at DATETIME;
DROP TRIGGER events_no_update;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
	WHEN NOT (OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL AND NEW.id = OLD.id AND NEW.type = OLD.type
		AND NEW.aggregate_type = OLD.aggregate_type AND NEW.aggregate_id = OLD.aggregate_id
		AND NEW.actor_type = OLD.actor_type AND NEW.actor_id = OLD.actor_id
		AND NEW.actor_name IN (OLD.actor_name, '') AND NEW.occurred_at = OLD.occurred_at)
BEGIN
	SELECT RAISE(ABORT, 'the event log is append-only');
END;
