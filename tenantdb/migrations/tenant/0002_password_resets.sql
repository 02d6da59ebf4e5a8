-- A session remembers the epoch its user signed in at; bumping the epoch (on a
-- password change, reset or deactivation) signs that user out everywhere.
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;

-- Password-reset links issued by an admin; the secret is stored as SHA-256.
CREATE TABLE password_resets (
	secret_hash TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id),
	created_by  TEXT NOT NULL DEFAULT '',
	created_at  DATETIME NOT NULL,
	expires_at  DATETIME NOT NULL,
	used_at     DATETIME
);
CREATE INDEX password_resets_user ON password_resets (user_id);
