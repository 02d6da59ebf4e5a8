-- Erasure as a job: a request is committed first (who asked, when), the
-- client leaves the app at once (deleted_at), and a job erases them. The
-- request columns are cleared when the erasure is done (the erased row keeps
-- id, status and creation time only; the event log keeps who asked and when),
-- so a set erasure_requested_at means "erasure pending". The requester is
-- stored as the exports and the event log store an actor.
ALTER TABLE clients ADD COLUMN erasure_requested_at DATETIME;
ALTER TABLE clients ADD COLUMN erasure_requested_by_type TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN erasure_requested_by_id TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN erasure_requested_by_name TEXT NOT NULL DEFAULT '';

-- The reconciler looks for pending erasures whose job may have been lost;
-- there are almost never any, so the index is nearly empty.
CREATE INDEX clients_erasure_pending ON clients (erasure_requested_at) WHERE erasure_requested_at IS NOT NULL;
