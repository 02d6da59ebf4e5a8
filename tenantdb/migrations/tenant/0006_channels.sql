-- Real providers. A channel's credentials (and the webhook secret Parley
-- generates) are sealed with AES-GCM under the operator's key: the file and
-- its replicas never hold them in the clear. cursor is a poller's position
-- (IMAP UIDVALIDITY:UID). A removed channel keeps its row, so its messages
-- still name it, but loses its credentials.
ALTER TABLE channels ADD COLUMN secrets TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN cursor TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN deleted_at DATETIME;

-- Email keeps its subject and sanitised HTML part; meta keeps what else is
-- worth showing (a call's duration and recording, an email's Message-ID).
-- Like the body, they never change.
ALTER TABLE messages ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN html TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN meta TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta));
DROP TRIGGER messages_immutable;
CREATE TRIGGER messages_immutable BEFORE UPDATE OF kind, direction, transport, sender_type, sender_id,
	sender_name, body, template_id, created_at, subject, html, meta ON messages
BEGIN
	SELECT RAISE(ABORT, 'messages are immutable');
END;
-- Email threading looks a reply's In-Reply-To and References up among the
-- Message-IDs of the chat's mail, in both directions.
CREATE INDEX messages_provider_any ON messages (provider_message_id) WHERE provider_message_id != '';

-- The token in an email's Reply-To (support+TOKEN@acme.com) that threads a
-- reply into its chat whoever sends it.
ALTER TABLE chats ADD COLUMN reply_token TEXT;
CREATE UNIQUE INDEX chats_reply_token ON chats (reply_token) WHERE reply_token IS NOT NULL;

-- A client's STOP on one contact (SMS, WhatsApp): nothing is sent to it
-- until they write START.
ALTER TABLE contacts ADD COLUMN opted_out_at DATETIME;

-- Digests of the provider requests already handled, per channel: an exact
-- replay of a signed request is refused. Rows older than a week are pruned.
CREATE TABLE webhook_receipts (
	channel_id  TEXT NOT NULL,
	digest      TEXT NOT NULL,
	received_at DATETIME NOT NULL,
	PRIMARY KEY (channel_id, digest)
) WITHOUT ROWID;
CREATE INDEX webhook_receipts_age ON webhook_receipts (received_at);

-- The channel a contact last wrote in on answers them by default.
CREATE INDEX messages_contact_in ON messages (contact_id, seq) WHERE direction = 'in';
