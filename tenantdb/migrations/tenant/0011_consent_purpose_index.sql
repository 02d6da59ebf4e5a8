-- Consents queried by purpose (Settings → Consents, GET /api/v1/consents).
-- A page of one purpose in one state, the most recent change first, walks
-- consents_by_purpose in that order from its cursor (a channel is checked
-- in the index), and expires_at rides along so that a grant past its
-- expiry is told from a live one without reading the row. The counts of
-- clients per purpose and state read consents_by_state in client order,
-- so each client is counted once without sorting. (An index of this
-- WITHOUT ROWID table holds the whole primary key, channel included.)
-- They replace consents_by_purpose (purpose, state, channel), whose rows
-- had to be sorted for every page.
DROP INDEX consents_by_purpose;
CREATE INDEX consents_by_purpose ON consents (purpose, state, updated_at, client_id, channel, expires_at);
CREATE INDEX consents_by_state ON consents (purpose, state, client_id);

-- Deleted clients (merged and erased ones are deleted too) are few, and
-- clients_by_* index only the live ones: the consent counts take the
-- deleted clients' consents out through this index, and the retention
-- sweep and its preview find those past their grace by it instead of
-- reading every client.
CREATE INDEX clients_deleted ON clients (deleted_at, id) WHERE deleted_at IS NOT NULL;

-- Clients on legal hold, whom every sweep skips: the retention preview
-- counts what they keep from a sweep through their chats, not every message.
CREATE INDEX clients_on_hold ON clients (id) WHERE legal_hold = 1;
