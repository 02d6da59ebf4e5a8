-- Retention policy, per workspace. 0 keeps everything, the default until
-- an admin sets a policy.
ALTER TABLE workspace_settings ADD COLUMN retain_messages_days INTEGER NOT NULL DEFAULT 0 CHECK (retain_messages_days >= 0);
ALTER TABLE workspace_settings ADD COLUMN retain_messages_mode TEXT NOT NULL DEFAULT 'delete'
	CHECK (retain_messages_mode IN ('delete', 'anonymise'));
ALTER TABLE workspace_settings ADD COLUMN retain_attachments_days INTEGER NOT NULL DEFAULT 0 CHECK (retain_attachments_days >= 0);
ALTER TABLE workspace_settings ADD COLUMN purge_deleted_clients_days INTEGER NOT NULL DEFAULT 0 CHECK (purge_deleted_clients_days >= 0);

-- A client on legal hold is exempt from every sweep and from erasure.
ALTER TABLE clients ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;

-- Anonymising a message blanks what it said and who said it, keeping that
-- it happened (its chat, transport, direction and time): the one change
-- the immutability trigger allows. Search forgets the old words.
ALTER TABLE messages ADD COLUMN redacted_at DATETIME;
DROP TRIGGER messages_immutable;
CREATE TRIGGER messages_immutable BEFORE UPDATE OF kind, direction, transport, sender_type, sender_id,
	sender_name, body, template_id, created_at, subject, html, meta ON messages
	WHEN NOT (NEW.redacted_at IS NOT NULL AND NEW.body = '' AND NEW.subject = '' AND NEW.html = '' AND NEW.meta = '{}'
		AND NEW.sender_name = '' AND NEW.kind = OLD.kind AND NEW.direction = OLD.direction AND NEW.transport = OLD.transport
		AND NEW.sender_type = OLD.sender_type AND NEW.sender_id = OLD.sender_id AND NEW.template_id = OLD.template_id
		AND NEW.created_at = OLD.created_at)
BEGIN
	SELECT RAISE(ABORT, 'messages are immutable');
END;
CREATE TRIGGER messages_fts_redact AFTER UPDATE OF body ON messages BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.seq, OLD.body);
	INSERT INTO messages_fts (rowid, body) VALUES (NEW.seq, NEW.body);
END;
-- The sweep walks messages by age, skipping those already anonymised.
CREATE INDEX messages_age ON messages (created_at) WHERE redacted_at IS NULL;
CREATE INDEX attachments_age ON attachments (created_at);
