-- Message templates: static text anyone may send; admins and leads write them.
CREATE TABLE templates (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE COLLATE NOCASE,
	body         TEXT NOT NULL,
	uses         INTEGER NOT NULL DEFAULT 0,
	last_used_at DATETIME,
	created_at   DATETIME NOT NULL,
	updated_at   DATETIME NOT NULL
);
