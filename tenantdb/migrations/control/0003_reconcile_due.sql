-- When a closed tenant next needs the periodic reconciler (a snoozed chat to
-- wake, a consent to expire, a queued message or erasure to re-enqueue, a
-- mailbox to poll), so the reconciler opens only the tenants that have work
-- instead of every tenant every minute.
--
-- NULL means unknown, so due now: every tenant before this migration, and a
-- tenant while it is open (the manager clears it on open, so a crash while
-- open means a visit after restart). A clean close writes the earliest time
-- the tenant file asks for, or 9999-12-31 when it asks for none.
ALTER TABLE tenants ADD COLUMN reconcile_due_at DATETIME;
