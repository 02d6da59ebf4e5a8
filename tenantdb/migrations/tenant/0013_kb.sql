-- The knowledge base: the help center's categories and articles.

-- Categories, in the order the team puts them (position, then name).
CREATE TABLE kb_categories (
	id          TEXT PRIMARY KEY,
	slug        TEXT NOT NULL UNIQUE,
	name        TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	position    INTEGER NOT NULL DEFAULT 0,
	created_at  DATETIME NOT NULL,
	updated_at  DATETIME NOT NULL
);
CREATE INDEX kb_categories_order ON kb_categories (position, name);

-- Articles. An article has a draft (what the team edits) and a published
-- version (what the help center shows while published = 1): publishing
-- copies the draft over, so editing never changes the public page.
--
-- Translations share a translation_group (the id of the article they
-- translate), one article per locale. Slugs are unique across locales:
-- an article's URL does not carry its locale. seq keys the search index
-- and the texts.
CREATE TABLE kb_articles (
	seq                   INTEGER PRIMARY KEY,
	id                    TEXT NOT NULL UNIQUE,
	translation_group     TEXT NOT NULL,
	locale                TEXT NOT NULL,
	slug                  TEXT NOT NULL UNIQUE,
	category_id           TEXT REFERENCES kb_categories (id) ON DELETE SET NULL,
	published             INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1)),
	helpful_votes         INTEGER NOT NULL DEFAULT 0 CHECK (helpful_votes >= 0),
	unhelpful_votes       INTEGER NOT NULL DEFAULT 0 CHECK (unhelpful_votes >= 0),
	first_published_at    DATETIME,
	published_at          DATETIME,
	created_at            DATETIME NOT NULL,
	updated_at            DATETIME NOT NULL,
	updated_by            TEXT NOT NULL DEFAULT '',
	title                 TEXT NOT NULL,
	description           TEXT NOT NULL DEFAULT '',
	published_title       TEXT NOT NULL DEFAULT '',
	published_description TEXT NOT NULL DEFAULT '',
	-- The published description, or the start of the published text.
	published_summary     TEXT NOT NULL DEFAULT '',
	UNIQUE (translation_group, locale)
);

-- The long texts of an article, apart, so that the rows above stay small:
-- lists, search ranking and lookups read a few pages, not the bodies.
-- Publishing stores the rendered, sanitised HTML, its plain text and
-- headings, made by app.RenderMarkdown version render_version; a row made
-- by an older renderer is rendered again when read.
CREATE TABLE kb_article_texts (
	seq                INTEGER PRIMARY KEY REFERENCES kb_articles (seq) ON DELETE CASCADE,
	render_version     INTEGER NOT NULL DEFAULT 0,
	published_headings TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(published_headings)),
	body               TEXT NOT NULL DEFAULT '',
	published_body     TEXT NOT NULL DEFAULT '',
	published_html     TEXT NOT NULL DEFAULT '',
	published_text     TEXT NOT NULL DEFAULT ''
);

-- The public pages: a locale's published articles by category and title
-- (the front page's first few of each), and the published locales, from
-- the index alone.
CREATE INDEX kb_articles_public ON kb_articles (published, locale, category_id, published_title COLLATE NOCASE, slug, id);
-- The team's lists by category; the editor's by locale.
CREATE INDEX kb_articles_category ON kb_articles (category_id, id);
CREATE INDEX kb_articles_locale ON kb_articles (locale, id);

-- "Was this helpful?" votes: one per visitor (the SHA-256 of a random id
-- kept in a cookie) and article. A visitor may change their answer; the
-- counts on kb_articles move with it.
CREATE TABLE kb_votes (
	article_id TEXT NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
	voter_hash TEXT NOT NULL,
	helpful    INTEGER NOT NULL CHECK (helpful IN (0, 1)),
	voted_at   DATETIME NOT NULL,
	PRIMARY KEY (article_id, voter_hash)
) WITHOUT ROWID;

-- Images the team uploads for articles, served publicly under
-- /help/files/{id}/{name}; the bytes are in the tenant's files directory
-- (kb/{id}).
CREATE TABLE kb_files (
	id           TEXT PRIMARY KEY,
	filename     TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL,
	sha256       TEXT NOT NULL,
	created_at   DATETIME NOT NULL,
	created_by   TEXT NOT NULL DEFAULT ''
);

-- Search over the published version only (title and plain text), with the
-- article's seq as rowid. Rows are written and removed by Go in the
-- transaction that publishes, unpublishes or deletes, so search never shows
-- a draft. The prefix indexes make search-as-you-type prefixes a lookup.
CREATE VIRTUAL TABLE kb_fts USING fts5 (
	title, body,
	tokenize = 'unicode61 remove_diacritics 2',
	prefix = '2 3 4'
);
