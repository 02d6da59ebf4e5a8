package tenantdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"parley/app"
)

// The knowledge base (app/kb.go): categories, articles with a draft and a
// published version, votes, images, and the public help center's reads.
// Functions named Published… or KBHelpCenter/SearchKBArticles/KBSitemap
// only ever see published articles: they are what the public site calls.
// The others are the team's (editor and API) and see drafts.

// ---------- Categories ----------

const kbCategoryColumns = `id, slug, name, description, position, created_at, updated_at`

func scanKBCategory(row rowScanner) (app.KBCategory, error) {
	var c app.KBCategory
	err := row.Scan(&c.ID, &c.Slug, &c.Name, &c.Description, &c.Position, &c.CreatedAt, &c.UpdatedAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

func errKBCategoryNotFound() error { return app.Errorf(app.ENOTFOUND, "Category not found.") }

// KBCategories returns every category in the team's order.
func (db *DB) KBCategories(ctx context.Context) ([]app.KBCategory, error) {
	cs, err := queryAll(ctx, db.reader(), scanKBCategory, `SELECT `+kbCategoryColumns+` FROM kb_categories
		ORDER BY position, name COLLATE NOCASE`)
	if err != nil {
		return nil, fmt.Errorf("list kb categories: %w", err)
	}
	return cs, nil
}

// KBCategoryByID returns a category, or ENOTFOUND.
func (db *DB) KBCategoryByID(ctx context.Context, id string) (app.KBCategory, error) {
	c, err := scanKBCategory(db.reader().QueryRowContext(ctx, `SELECT `+kbCategoryColumns+` FROM kb_categories WHERE id = ?`, id))
	if err != nil {
		return c, notFound(err, "Category not found.")
	}
	return c, nil
}

// CreateKBCategory adds a category at the end of the order. Its slug is
// derived from its name (made unique) unless given.
func (db *DB) CreateKBCategory(ctx context.Context, in app.KBCategoryInput, actor app.Actor) (app.KBCategory, error) {
	if err := in.Normalize(); err != nil {
		return app.KBCategory{}, err
	}
	now := db.Now()
	c := app.KBCategory{ID: newID(), Name: in.Name, Description: in.Description, CreatedAt: now, UpdatedAt: now}
	err := db.update(ctx, func(tx *sql.Tx) error {
		var err error
		if c.Slug, err = uniqueSlug(ctx, tx, "kb_categories", in.Slug, app.KBSlug(in.Name, "category"), ""); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(position), 0) + 1 FROM kb_categories`).Scan(&c.Position); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO kb_categories (`+kbCategoryColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Slug, c.Name, c.Description, c.Position, now, now); err != nil {
			return fmt.Errorf("insert kb category: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventKBCategoryCreated, "kb_category", c.ID, actor,
			map[string]any{"name": c.Name, "slug": c.Slug}))
	})
	return c, err
}

// UpdateKBCategory changes a category's name, description or slug; nil
// fields stay. A slug given that another category has is refused.
func (db *DB) UpdateKBCategory(ctx context.Context, id string, u app.KBCategoryUpdate, actor app.Actor) (app.KBCategory, error) {
	var c app.KBCategory
	err := db.update(ctx, func(tx *sql.Tx) error {
		old, err := scanKBCategory(tx.QueryRowContext(ctx, `SELECT `+kbCategoryColumns+` FROM kb_categories WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "Category not found.")
		}
		in := app.KBCategoryInput{Name: old.Name, Description: old.Description, Slug: old.Slug}
		if u.Name != nil {
			in.Name = *u.Name
		}
		if u.Description != nil {
			in.Description = *u.Description
		}
		if u.Slug != nil {
			if in.Slug = *u.Slug; strings.TrimSpace(in.Slug) == "" {
				return app.InvalidField("slug", "Enter the category's address, for example billing.")
			}
		}
		if err := in.Normalize(); err != nil {
			return err
		}
		c = old
		c.Name, c.Description, c.Slug = in.Name, in.Description, in.Slug
		if c == old {
			return nil
		}
		if c.Slug != old.Slug {
			if _, err := uniqueSlug(ctx, tx, "kb_categories", c.Slug, "", id); err != nil {
				return err
			}
		}
		c.UpdatedAt = db.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE kb_categories SET name = ?, description = ?, slug = ?, updated_at = ? WHERE id = ?`,
			c.Name, c.Description, c.Slug, c.UpdatedAt, id); err != nil {
			return fmt.Errorf("update kb category: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventKBCategoryUpdated, "kb_category", id, actor, map[string]any{
			"name": [2]string{old.Name, c.Name}, "description": [2]string{old.Description, c.Description},
			"slug": [2]string{old.Slug, c.Slug}}))
	})
	return c, err
}

// DeleteKBCategory removes a category; its articles stay, in no category.
func (db *DB) DeleteKBCategory(ctx context.Context, id string, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		c, err := scanKBCategory(tx.QueryRowContext(ctx, `SELECT `+kbCategoryColumns+` FROM kb_categories WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "Category not found.")
		}
		res, err := tx.ExecContext(ctx, `UPDATE kb_articles SET category_id = NULL WHERE category_id = ?`, id)
		if err != nil {
			return fmt.Errorf("uncategorise articles: %w", err)
		}
		moved, _ := res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `DELETE FROM kb_categories WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete kb category: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventKBCategoryDeleted, "kb_category", id, actor,
			map[string]any{"name": c.Name, "slug": c.Slug, "articles_uncategorised": moved}))
	})
}

// ReorderKBCategories puts the categories in the order of ids, which must
// name every category once.
func (db *DB) ReorderKBCategories(ctx context.Context, ids []string, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		have, err := queryAll(ctx, tx, scanString, `SELECT id FROM kb_categories ORDER BY position, name COLLATE NOCASE`)
		if err != nil {
			return err
		}
		sorted := slices.Clone(ids)
		slices.Sort(sorted)
		want := slices.Clone(have)
		slices.Sort(want)
		if !slices.Equal(sorted, want) {
			return app.InvalidField("ids", "List every category once, in the new order.")
		}
		if slices.Equal(have, ids) {
			return nil
		}
		now := db.Now()
		for i, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE kb_categories SET position = ?, updated_at = ? WHERE id = ?`, i+1, now, id); err != nil {
				return fmt.Errorf("reorder kb categories: %w", err)
			}
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventKBCategoriesReordered, "kb_category", "", actor,
			map[string]any{"from": have, "to": ids}))
	})
}

// uniqueSlug returns the slug to store in table: the one asked for (refused
// if another row than self has it), or else derived made unique with a
// number ("billing-2").
func uniqueSlug(ctx context.Context, tx *sql.Tx, table, asked, derived, self string) (string, error) {
	taken := func(s string) (bool, error) {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE slug = ? AND id != ?`, s, self).Scan(&n)
		return n > 0, err
	}
	if asked != "" {
		t, err := taken(asked)
		if err != nil {
			return "", err
		} else if t {
			return "", app.InvalidField("slug", "Another page already has the address “"+asked+"”; choose another.")
		}
		return asked, nil
	}
	for i := 1; ; i++ {
		s := derived
		if i > 1 {
			s = fmt.Sprintf("%s-%d", derived, i)
		}
		t, err := taken(s)
		if err != nil {
			return "", err
		} else if !t {
			return s, nil
		}
	}
}

// ---------- Articles (the team's side) ----------

// kbArticleColumns are read FROM kbArticleTables.
const kbArticleColumns = `a.id, a.translation_group, a.locale, a.slug, coalesce(a.category_id, ''), a.published,
	a.helpful_votes, a.unhelpful_votes, a.first_published_at, a.published_at, a.created_at, a.updated_at, a.updated_by,
	a.title, a.description, a.published_title, a.published_description, t.body, t.published_body`

const kbArticleTables = `kb_articles a JOIN kb_article_texts t ON t.seq = a.seq`

func scanKBArticle(row rowScanner) (app.KBArticle, error) {
	var a app.KBArticle
	var first, pub sql.NullTime
	err := row.Scan(&a.ID, &a.TranslationGroup, &a.Locale, &a.Slug, &a.CategoryID, &a.Published, &a.HelpfulVotes,
		&a.UnhelpfulVotes, &first, &pub, &a.CreatedAt, &a.UpdatedAt, &a.UpdatedBy, &a.Draft.Title, &a.Draft.Description,
		&a.Live.Title, &a.Live.Description, &a.Draft.BodyMarkdown, &a.Live.BodyMarkdown)
	a.FirstPublishedAt, a.PublishedAt = nullTime(first), nullTime(pub)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, err
}

func kbArticleIn(ctx context.Context, q querier, id string) (app.KBArticle, error) {
	a, err := scanKBArticle(q.QueryRowContext(ctx, `SELECT `+kbArticleColumns+` FROM `+kbArticleTables+` WHERE a.id = ?`, id))
	if err != nil {
		return a, notFound(err, "Article not found.")
	}
	return a, nil
}

// KBArticleByID returns an article, draft or published, or ENOTFOUND.
func (db *DB) KBArticleByID(ctx context.Context, id string) (app.KBArticle, error) {
	return kbArticleIn(ctx, db.reader(), id)
}

// KBTranslations returns the articles of a translation group (an article
// and its translations, drafts included), by locale.
func (db *DB) KBTranslations(ctx context.Context, group string) ([]app.KBArticle, error) {
	as, err := queryAll(ctx, db.reader(), scanKBArticle, `SELECT `+kbArticleColumns+` FROM `+kbArticleTables+`
		WHERE a.translation_group = ? ORDER BY a.locale`, group)
	if err != nil {
		return nil, fmt.Errorf("kb translations: %w", err)
	}
	return as, nil
}

// ListKBArticles returns one page of articles matching f, newest first.
func (db *DB) ListKBArticles(ctx context.Context, f app.KBArticleFilter) (app.KBArticlePage, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	where, args := []string{"1 = 1"}, []any{}
	if f.CategoryID != nil && *f.CategoryID == "" {
		where = append(where, "a.category_id IS NULL")
	} else if f.CategoryID != nil {
		where, args = append(where, "a.category_id = ?"), append(args, *f.CategoryID)
	}
	if f.Locale != nil {
		where, args = append(where, "a.locale = ?"), append(args, *f.Locale)
	}
	if f.Published != nil {
		where, args = append(where, "a.published = ?"), append(args, *f.Published)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		// Drafts are not in the search index; a workspace's articles are
		// few enough to scan.
		for _, w := range strings.Fields(q) {
			where, args = append(where, "(instr(lower(a.title), ?) > 0 OR instr(lower(t.body), ?) > 0)"),
				append(args, strings.ToLower(w), strings.ToLower(w))
		}
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return app.KBArticlePage{}, err
		}
		where, args = append(where, "a.id < ?"), append(args, c.ID)
	}
	as, err := queryAll(ctx, db.reader(), scanKBArticle, `SELECT `+kbArticleColumns+` FROM `+kbArticleTables+`
		WHERE `+strings.Join(where, " AND ")+` ORDER BY a.id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return app.KBArticlePage{}, fmt.Errorf("list kb articles: %w", err)
	}
	page := app.KBArticlePage{Articles: as}
	if len(as) > limit {
		page.Articles = as[:limit]
		page.NextCursor = encodeCursor(listCursor{ID: as[limit-1].ID})
	}
	return page, nil
}

// CreateKBArticle saves a new article as a draft, published at once when
// in.Published (the caller checks the permission). Its slug is derived
// from its title unless given; a translation joins the group of the
// article it translates, in a locale that group does not have yet.
func (db *DB) CreateKBArticle(ctx context.Context, in app.KBArticleInput, actor app.Actor) (app.KBArticle, error) {
	if err := in.Normalize(); err != nil {
		return app.KBArticle{}, err
	}
	now := db.Now()
	a := app.KBArticle{ID: newID(), Locale: in.Locale, CategoryID: in.CategoryID,
		Draft:     app.KBContent{Title: in.Title, Description: in.Description, BodyMarkdown: in.BodyMarkdown},
		CreatedAt: now, UpdatedAt: now, UpdatedBy: actor.Name}
	a.TranslationGroup = a.ID
	err := db.update(ctx, func(tx *sql.Tx) error {
		if in.TranslationOf != "" {
			src, err := kbArticleIn(ctx, tx, in.TranslationOf)
			if err != nil {
				return app.InvalidField("translation_of", "There is no article with this id to translate.")
			}
			a.TranslationGroup = src.TranslationGroup
			if a.CategoryID == "" {
				a.CategoryID = src.CategoryID
			}
		}
		if err := checkKBFiling(ctx, tx, a, ""); err != nil {
			return err
		}
		var err error
		if a.Slug, err = uniqueSlug(ctx, tx, "kb_articles", in.Slug, app.KBSlug(in.Title, "article"), ""); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO kb_articles (id, translation_group, locale, slug, category_id,
			title, description, created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.TranslationGroup, a.Locale, a.Slug, nullString(a.CategoryID), a.Draft.Title, a.Draft.Description,
			now, now, a.UpdatedBy)
		if err != nil {
			return fmt.Errorf("insert kb article: %w", err)
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO kb_article_texts (seq, body) VALUES (?, ?)`, seq, a.Draft.BodyMarkdown); err != nil {
			return fmt.Errorf("insert kb article text: %w", err)
		}
		if err := db.appendEvent(ctx, tx, app.NewEvent(app.EventKBArticleCreated, "kb_article", a.ID, actor, map[string]any{
			"title": a.Draft.Title, "slug": a.Slug, "locale": a.Locale, "category_id": a.CategoryID,
			"translation_group": a.TranslationGroup})); err != nil {
			return err
		}
		if in.Published {
			return db.publishKBArticle(ctx, tx, &a, actor)
		}
		return nil
	})
	if err != nil {
		return app.KBArticle{}, err
	}
	return db.KBArticleByID(ctx, a.ID)
}

// checkKBFiling checks an article's category exists and that no other
// article of its translation group (than self) has its locale.
func checkKBFiling(ctx context.Context, tx *sql.Tx, a app.KBArticle, self string) error {
	var n int
	if a.CategoryID != "" {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM kb_categories WHERE id = ?`, a.CategoryID).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return app.InvalidField("category_id", "There is no category with this id.")
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM kb_articles WHERE translation_group = ? AND locale = ? AND id != ?`,
		a.TranslationGroup, a.Locale, self).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return app.InvalidField("locale", "This article already has a version in “"+a.Locale+"”; edit that one instead.")
	}
	return nil
}

// UpdateKBArticle changes an article's draft and filing. The help center
// goes on showing the published version until the article is published
// again; u.Published publishes (true) or unpublishes (false) in the same
// transaction (the caller checks the permission). A change that changes
// nothing writes nothing.
func (db *DB) UpdateKBArticle(ctx context.Context, id string, u app.KBArticleUpdate, actor app.Actor) (app.KBArticle, error) {
	if err := u.Normalize(); err != nil {
		return app.KBArticle{}, err
	}
	err := db.update(ctx, func(tx *sql.Tx) error {
		old, err := kbArticleIn(ctx, tx, id)
		if err != nil {
			return err
		}
		a := u.Apply(old)
		if a.Draft != old.Draft || a.CategoryID != old.CategoryID || a.Locale != old.Locale || a.Slug != old.Slug {
			if err := db.saveKBDraft(ctx, tx, old, a, actor); err != nil {
				return err
			}
		}
		switch {
		case u.Published == nil:
		case *u.Published && (!old.Published || a.Draft != old.Live):
			return db.publishKBArticle(ctx, tx, &a, actor)
		case !*u.Published && old.Published:
			return db.unpublishKBArticle(ctx, tx, &a, actor)
		}
		return nil
	})
	if err != nil {
		return app.KBArticle{}, err
	}
	return db.KBArticleByID(ctx, id)
}

// saveKBDraft writes a's draft and filing over old's.
func (db *DB) saveKBDraft(ctx context.Context, tx *sql.Tx, old, a app.KBArticle, actor app.Actor) error {
	if err := checkKBFiling(ctx, tx, a, a.ID); err != nil {
		return err
	}
	if a.Slug != old.Slug {
		if _, err := uniqueSlug(ctx, tx, "kb_articles", a.Slug, "", a.ID); err != nil {
			return err
		}
	}
	a.UpdatedAt, a.UpdatedBy = db.Now(), actor.Name
	if _, err := tx.ExecContext(ctx, `UPDATE kb_articles SET title = ?, description = ?, category_id = ?,
		locale = ?, slug = ?, updated_at = ?, updated_by = ? WHERE id = ?`, a.Draft.Title, a.Draft.Description,
		nullString(a.CategoryID), a.Locale, a.Slug, a.UpdatedAt, a.UpdatedBy, a.ID); err != nil {
		return fmt.Errorf("update kb article: %w", err)
	}
	if a.Draft.BodyMarkdown != old.Draft.BodyMarkdown {
		if _, err := tx.ExecContext(ctx, `UPDATE kb_article_texts SET body = ? WHERE seq = (SELECT seq FROM kb_articles WHERE id = ?)`,
			a.Draft.BodyMarkdown, a.ID); err != nil {
			return fmt.Errorf("update kb article text: %w", err)
		}
	}
	changes := map[string]any{}
	for k, v := range map[string][2]string{"title": {old.Draft.Title, a.Draft.Title},
		"description": {old.Draft.Description, a.Draft.Description}, "category_id": {old.CategoryID, a.CategoryID},
		"locale": {old.Locale, a.Locale}, "slug": {old.Slug, a.Slug}} {
		if v[0] != v[1] {
			changes[k] = v
		}
	}
	if a.Draft.BodyMarkdown != old.Draft.BodyMarkdown {
		changes["body_changed"] = true
	}
	return db.appendEvent(ctx, tx, app.NewEvent(app.EventKBArticleUpdated, "kb_article", a.ID, actor, changes))
}

// PublishKBArticle copies an article's draft to its published version and
// shows it on the help center.
func (db *DB) PublishKBArticle(ctx context.Context, id string, actor app.Actor) (app.KBArticle, error) {
	t := true
	return db.UpdateKBArticle(ctx, id, app.KBArticleUpdate{Published: &t}, actor)
}

// UnpublishKBArticle takes an article off the help center; its published
// version is kept, so its page and search come back when it is published
// again.
func (db *DB) UnpublishKBArticle(ctx context.Context, id string, actor app.Actor) (app.KBArticle, error) {
	f := false
	return db.UpdateKBArticle(ctx, id, app.KBArticleUpdate{Published: &f}, actor)
}

func (db *DB) publishKBArticle(ctx context.Context, tx *sql.Tx, a *app.KBArticle, actor app.Actor) error {
	if a.Draft.BodyMarkdown == "" {
		return app.InvalidField("body_markdown", "Write the article before publishing it.")
	}
	r := app.ParseMarkdown(a.Draft.BodyMarkdown)
	headings, err := json.Marshal(nonNilHeadings(r.Headings))
	if err != nil {
		return err
	}
	summary := a.Draft.Description
	if summary == "" {
		summary = app.Excerpt(r.Text, 160)
	}
	now := db.Now()
	if _, err := tx.ExecContext(ctx, `UPDATE kb_articles SET published = 1, published_title = ?, published_description = ?,
		published_summary = ?, first_published_at = coalesce(first_published_at, ?), published_at = ? WHERE id = ?`,
		a.Draft.Title, a.Draft.Description, summary, now, now, a.ID); err != nil {
		return fmt.Errorf("publish kb article: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE kb_article_texts SET published_body = ?, published_html = ?, published_text = ?,
		published_headings = ?, render_version = ? WHERE seq = (SELECT seq FROM kb_articles WHERE id = ?)`,
		a.Draft.BodyMarkdown, r.HTML, r.Text, string(headings), app.MarkdownVersion, a.ID); err != nil {
		return fmt.Errorf("publish kb article text: %w", err)
	}
	if err := db.refreshKBSearch(ctx, tx, a.ID); err != nil {
		return err
	}
	return db.appendEvent(ctx, tx, app.NewEvent(app.EventKBArticlePublished, "kb_article", a.ID, actor,
		map[string]any{"title": a.Draft.Title, "slug": a.Slug, "locale": a.Locale}))
}

func nonNilHeadings(h []app.Heading) []app.Heading {
	if h == nil {
		return []app.Heading{}
	}
	return h
}

func (db *DB) unpublishKBArticle(ctx context.Context, tx *sql.Tx, a *app.KBArticle, actor app.Actor) error {
	if _, err := tx.ExecContext(ctx, `UPDATE kb_articles SET published = 0 WHERE id = ?`, a.ID); err != nil {
		return fmt.Errorf("unpublish kb article: %w", err)
	}
	if err := db.refreshKBSearch(ctx, tx, a.ID); err != nil {
		return err
	}
	return db.appendEvent(ctx, tx, app.NewEvent(app.EventKBArticleUnpublished, "kb_article", a.ID, actor,
		map[string]any{"title": a.Live.Title, "slug": a.Slug, "locale": a.Locale}))
}

// refreshKBSearch rewrites an article's search row from its published
// version, or removes it when the article is not published.
func (db *DB) refreshKBSearch(ctx context.Context, tx *sql.Tx, id string) error {
	var seq int64
	var published bool
	var title, text string
	if err := tx.QueryRowContext(ctx, `SELECT a.seq, a.published, a.published_title, t.published_text FROM `+kbArticleTables+`
		WHERE a.id = ?`, id).Scan(&seq, &published, &title, &text); err != nil {
		return fmt.Errorf("kb search row of %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM kb_fts WHERE rowid = ?`, seq); err != nil {
		return fmt.Errorf("clear kb search row: %w", err)
	}
	if !published {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO kb_fts (rowid, title, body) VALUES (?, ?, ?)`, seq, title, text); err != nil {
		return fmt.Errorf("write kb search row: %w", err)
	}
	return nil
}

// DeleteKBArticle removes an article, its votes and its search row. Its
// translations stay.
func (db *DB) DeleteKBArticle(ctx context.Context, id string, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		a, err := kbArticleIn(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kb_fts WHERE rowid = (SELECT seq FROM kb_articles WHERE id = ?)`, id); err != nil {
			return fmt.Errorf("delete kb search row: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kb_article_texts WHERE seq = (SELECT seq FROM kb_articles WHERE id = ?)`, id); err != nil {
			return fmt.Errorf("delete kb article text: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kb_votes WHERE article_id = ?`, id); err != nil {
			return fmt.Errorf("delete kb votes: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kb_articles WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete kb article: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventKBArticleDeleted, "kb_article", id, actor, map[string]any{
			"title": a.Draft.Title, "slug": a.Slug, "locale": a.Locale, "was_published": a.Published}))
	})
}

// ---------- The public help center: published articles only ----------

// kbRefColumns are what a link to a published article needs, from the
// short columns at the start of its row.
const kbRefColumns = `a.id, a.slug, a.locale, coalesce(a.category_id, ''), a.published_title, a.published_summary, a.published_at`

func scanKBRef(row rowScanner, extra ...any) (app.KBArticleRef, error) {
	var r app.KBArticleRef
	var pub sql.NullTime
	err := row.Scan(append([]any{&r.ID, &r.Slug, &r.Locale, &r.CategoryID, &r.Title, &r.Description, &pub}, extra...)...)
	if pub.Valid {
		r.PublishedAt = pub.Time.UTC()
	}
	return r, err
}

func scanKBRefOnly(row rowScanner) (app.KBArticleRef, error) { return scanKBRef(row) }

// KBPublishedLocales returns the locales that have published articles,
// the one with the most first.
func (db *DB) KBPublishedLocales(ctx context.Context) ([]string, error) {
	ls, err := queryAll(ctx, db.reader(), scanString, `SELECT locale FROM kb_articles WHERE published = 1
		GROUP BY locale ORDER BY count(*) DESC, locale`)
	if err != nil {
		return nil, fmt.Errorf("kb locales: %w", err)
	}
	return ls, nil
}

// KBHelpCenter returns the front page of the help center in locale: the
// categories with published articles in it, in order, each with its first
// perCategory articles by title and its total, and as many of the
// published articles in no category. Each list is a range of one index,
// so the page costs the same with 100 articles or 10,000.
func (db *DB) KBHelpCenter(ctx context.Context, locale string, perCategory int) (app.KBHelpCenter, error) {
	hc := app.KBHelpCenter{Locale: locale}
	var err error
	if hc.Locales, err = db.KBPublishedLocales(ctx); err != nil {
		return hc, err
	}
	cats, err := db.KBCategories(ctx)
	if err != nil {
		return hc, err
	}
	totals := map[string]int{}
	rows, err := db.reader().QueryContext(ctx, `SELECT coalesce(category_id, ''), count(*) FROM kb_articles
		WHERE published = 1 AND locale = ? GROUP BY category_id`, locale)
	if err != nil {
		return hc, fmt.Errorf("kb help center: %w", err)
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return hc, err
		}
		totals[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return hc, err
	}
	// One statement, prepared once, for every category ('' is none).
	stmt, err := db.reader().PrepareContext(ctx, `SELECT id, slug, coalesce(category_id, ''), published_title
		FROM kb_articles WHERE published = 1 AND locale = ?1 AND category_id IS ?2
		ORDER BY published_title COLLATE NOCASE LIMIT ?3`)
	if err != nil {
		return hc, fmt.Errorf("kb help center: %w", err)
	}
	defer stmt.Close()
	first := func(category string) (app.KBCategoryArticles, error) {
		out := app.KBCategoryArticles{Total: totals[category]}
		rows, err := stmt.QueryContext(ctx, locale, nullString(category), perCategory)
		if err != nil {
			return out, fmt.Errorf("kb help center: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			r := app.KBArticleRef{Locale: locale}
			if err := rows.Scan(&r.ID, &r.Slug, &r.CategoryID, &r.Title); err != nil {
				return out, err
			}
			out.Articles = append(out.Articles, r)
		}
		return out, rows.Err()
	}
	for _, c := range cats {
		if totals[c.ID] == 0 {
			continue
		}
		as, err := first(c.ID)
		if err != nil {
			return hc, err
		}
		as.Category = c
		hc.Categories = append(hc.Categories, as)
	}
	if totals[""] > 0 {
		if hc.Uncategorised, err = first(""); err != nil {
			return hc, err
		}
	}
	return hc, nil
}

// PublishedKBCategory returns a category and its published articles in
// locale. A category with no published article in any locale is
// ENOTFOUND, as one that does not exist.
func (db *DB) PublishedKBCategory(ctx context.Context, slug, locale string) (app.KBCategoryArticles, error) {
	c, err := scanKBCategory(db.reader().QueryRowContext(ctx, `SELECT `+kbCategoryColumns+` FROM kb_categories WHERE slug = ?`, slug))
	if err != nil {
		return app.KBCategoryArticles{}, notFound(err, "Category not found.")
	}
	refs, err := queryAll(ctx, db.reader(), scanKBRefOnly, `SELECT `+kbRefColumns+` FROM kb_articles a
		WHERE a.category_id = ? AND a.published = 1 ORDER BY a.published_title COLLATE NOCASE`, c.ID)
	if err != nil {
		return app.KBCategoryArticles{}, fmt.Errorf("kb category articles: %w", err)
	}
	if len(refs) == 0 {
		return app.KBCategoryArticles{}, errKBCategoryNotFound()
	}
	out := app.KBCategoryArticles{Category: c}
	for _, r := range refs {
		if r.Locale == locale {
			out.Articles = append(out.Articles, r)
		}
	}
	if len(out.Articles) == 0 {
		out.Articles = refs // nothing in this locale: show what there is
	}
	return out, nil
}

// PublishedKBArticle returns the published version of the article with
// slug. A draft, an unpublished article and a missing one are all
// ENOTFOUND, alike.
func (db *DB) PublishedKBArticle(ctx context.Context, slug string) (app.KBPublicArticle, error) {
	var a app.KBPublicArticle
	var version int
	var headings string
	ref, err := scanKBRef(db.reader().QueryRowContext(ctx, `SELECT `+kbRefColumns+`, a.translation_group, a.helpful_votes,
		a.unhelpful_votes, t.render_version, t.published_headings, t.published_html FROM `+kbArticleTables+`
		WHERE a.slug = ? AND a.published = 1`, slug), &a.TranslationGroup, &a.HelpfulVotes, &a.UnhelpfulVotes,
		&version, &headings, &a.HTML)
	if err != nil {
		return a, notFound(err, "Article not found.")
	}
	a.KBArticleRef = ref
	if version != app.MarkdownVersion {
		// Published by an older renderer: render again, with today's policy.
		var body string
		if err := db.reader().QueryRowContext(ctx, `SELECT t.published_body FROM `+kbArticleTables+` WHERE a.id = ?`, a.ID).Scan(&body); err != nil {
			return a, err
		}
		a.HTML, a.Headings = app.RenderMarkdown(body)
		return a, nil
	}
	if err := json.Unmarshal([]byte(headings), &a.Headings); err != nil {
		return a, fmt.Errorf("kb headings of %s: %w", a.ID, err)
	}
	return a, nil
}

// PublishedKBTranslations returns the published articles of a translation
// group, by locale (the article itself included).
func (db *DB) PublishedKBTranslations(ctx context.Context, group string) ([]app.KBArticleRef, error) {
	refs, err := queryAll(ctx, db.reader(), scanKBRefOnly, `SELECT `+kbRefColumns+` FROM kb_articles a
		WHERE a.translation_group = ? AND a.published = 1 ORDER BY a.locale`, group)
	if err != nil {
		return nil, fmt.Errorf("kb translations: %w", err)
	}
	return refs, nil
}

// RelatedKBArticles returns up to limit published articles in a's locale
// to read next: first those of its category, then those whose text best
// matches the words of its title.
func (db *DB) RelatedKBArticles(ctx context.Context, a app.KBArticleRef, limit int) ([]app.KBArticleRef, error) {
	var out []app.KBArticleRef
	if a.CategoryID != "" {
		refs, err := queryAll(ctx, db.reader(), scanKBRefOnly, `SELECT `+kbRefColumns+` FROM kb_articles a
			WHERE a.published = 1 AND a.locale = ? AND a.category_id = ? AND a.id != ?
			ORDER BY a.published_at DESC LIMIT ?`, a.Locale, a.CategoryID, a.ID, limit)
		if err != nil {
			return nil, fmt.Errorf("related kb articles: %w", err)
		}
		out = refs
	}
	if len(out) >= limit {
		return out, nil
	}
	var words []string
	for _, w := range app.SearchWords(a.Title) {
		if len([]rune(w)) >= 3 {
			words = append(words, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
		}
	}
	if len(words) == 0 {
		return out, nil
	}
	exclude := []any{a.ID}
	marks := "?"
	for _, r := range out {
		exclude, marks = append(exclude, r.ID), marks+", ?"
	}
	args := append([]any{strings.Join(words, " OR "), a.Locale}, exclude...)
	refs, err := queryAll(ctx, db.reader(), scanKBRefOnly, `SELECT `+kbRefColumns+` FROM kb_fts f
		JOIN kb_articles a ON a.seq = f.rowid
		WHERE kb_fts MATCH ? AND a.published = 1 AND a.locale = ? AND a.id NOT IN (`+marks+`)
		ORDER BY bm25(kb_fts, 5.0, 1.0) LIMIT ?`, append(args, limit-len(out))...)
	if err != nil {
		return nil, fmt.Errorf("related kb articles by words: %w", err)
	}
	return append(out, refs...), nil
}

// SearchKBArticles finds published articles having every word of q (as
// word prefixes), in locale unless it is "", best match first (a match in
// the title weighs five times one in the text). The title and a snippet of
// the text come with the matched words between app.MarkStart and
// app.MarkEnd. It returns one more hit than limit when there are more.
func (db *DB) SearchKBArticles(ctx context.Context, q, locale string, limit, offset int) ([]app.KBSearchHit, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	match, words := messageSearchQuery(q)
	if match == "" {
		return nil, nil
	}
	cond, args := "", []any{match}
	if locale != "" {
		cond, args = " AND a.locale = ?", append(args, locale)
	}
	// Rank every match from the index and the short rows, then read the
	// text of one page of them only, for its snippets. (FTS5's snippet()
	// would read the text of every match before the page is cut.) The
	// snippets mark the same folded prefixes the query matched.
	rows, err := db.reader().QueryContext(ctx, `WITH page AS (
			SELECT f.rowid AS seq, bm25(kb_fts, 5.0, 1.0) AS score FROM kb_fts f JOIN kb_articles a ON a.seq = f.rowid
			WHERE kb_fts MATCH ? AND a.published = 1`+cond+` ORDER BY score LIMIT ? OFFSET ?)
		SELECT `+kbRefColumns+`, t.published_text FROM page JOIN kb_articles a ON a.seq = page.seq
		JOIN kb_article_texts t ON t.seq = page.seq ORDER BY page.score, page.seq`, append(args, limit+1, max(offset, 0))...)
	if err != nil {
		return nil, fmt.Errorf("search kb: %w", err)
	}
	defer rows.Close()
	var hits []app.KBSearchHit
	for rows.Next() {
		var h app.KBSearchHit
		var text string
		if h.KBArticleRef, err = scanKBRef(rows, &text); err != nil {
			return nil, err
		}
		h.TitleMarked, _ = app.MarkPrefixes(h.Title, words)
		if h.Snippet = app.Snippet(text, words, 24); h.Snippet == "" {
			h.Snippet = app.Excerpt(text, 160)
		}
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

// KBSitemap lists the help center's public pages: every published
// article with its published translations, and every category with a
// published article, with when each last changed.
func (db *DB) KBSitemap(ctx context.Context) ([]app.KBSitemapEntry, error) {
	var groupOf []string
	refs, err := queryAll(ctx, db.reader(), func(row rowScanner) (app.KBArticleRef, error) {
		var g string
		r, err := scanKBRef(row, &g)
		groupOf = append(groupOf, g)
		return r, err
	}, `SELECT `+kbRefColumns+`, a.translation_group FROM kb_articles a WHERE a.published = 1 ORDER BY a.published_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("kb sitemap: %w", err)
	}
	groups := map[string][]app.KBArticleRef{}
	catMod := map[string]time.Time{}
	for i, r := range refs {
		groups[groupOf[i]] = append(groups[groupOf[i]], r)
		if r.CategoryID != "" && r.PublishedAt.After(catMod[r.CategoryID]) {
			catMod[r.CategoryID] = r.PublishedAt
		}
	}
	var out []app.KBSitemapEntry
	for i, r := range refs {
		e := app.KBSitemapEntry{Kind: "article", Slug: r.Slug, Locale: r.Locale, Group: groupOf[i], LastMod: r.PublishedAt}
		if alts := groups[groupOf[i]]; len(alts) > 1 {
			e.Alternates = alts
		}
		out = append(out, e)
	}
	cats, err := db.KBCategories(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cats {
		if mod, ok := catMod[c.ID]; ok {
			out = append(out, app.KBSitemapEntry{Kind: "category", Slug: c.Slug, LastMod: mod})
		}
	}
	return out, nil
}

// VoteKBArticle records a visitor's answer to "Was this helpful?" on a
// published article. voterID identifies the visitor (a random id from a
// cookie); only its SHA-256 is stored, and one visitor counts once per
// article: answering again changes their answer.
func (db *DB) VoteKBArticle(ctx context.Context, articleID, voterID string, helpful bool) (app.KBVote, error) {
	sum := sha256.Sum256([]byte("kb-vote\x00" + voterID))
	voter := hex.EncodeToString(sum[:])
	v := app.KBVote{Helpful: helpful}
	err := db.update(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT helpful_votes, unhelpful_votes FROM kb_articles WHERE id = ? AND published = 1`,
			articleID).Scan(&v.HelpfulVotes, &v.UnhelpfulVotes); err != nil {
			return notFound(err, "Article not found.")
		}
		var before sql.NullBool
		err := tx.QueryRowContext(ctx, `SELECT helpful FROM kb_votes WHERE article_id = ? AND voter_hash = ?`, articleID, voter).Scan(&before)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if before.Valid && before.Bool == helpful {
			return nil
		}
		v.Changed = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO kb_votes (article_id, voter_hash, helpful, voted_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (article_id, voter_hash) DO UPDATE SET helpful = excluded.helpful, voted_at = excluded.voted_at`,
			articleID, voter, helpful, db.Now()); err != nil {
			return fmt.Errorf("record kb vote: %w", err)
		}
		up, down := 0, 0
		if helpful {
			up = 1
		} else {
			down = 1
		}
		if before.Valid { // the other answer, taken back
			up, down = up-down, down-up
		}
		v.HelpfulVotes, v.UnhelpfulVotes = v.HelpfulVotes+up, v.UnhelpfulVotes+down
		if _, err := tx.ExecContext(ctx, `UPDATE kb_articles SET helpful_votes = ?, unhelpful_votes = ? WHERE id = ?`,
			v.HelpfulVotes, v.UnhelpfulVotes, articleID); err != nil {
			return fmt.Errorf("count kb vote: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventKBArticleVoted, "kb_article", articleID, app.VisitorActor,
			map[string]any{"helpful": helpful, "changed": before.Valid}))
	})
	return v, err
}

// ---------- Images ----------

const kbFileColumns = `id, filename, content_type, size, sha256, created_at`

func scanKBFile(row rowScanner) (app.KBFile, error) {
	var f app.KBFile
	err := row.Scan(&f.ID, &f.Filename, &f.ContentType, &f.Size, &f.SHA256, &f.CreatedAt)
	f.CreatedAt = f.CreatedAt.UTC()
	return f, err
}

// kbFilePath is where an image's bytes are: kb/ in the tenant's files
// directory, named by id.
func (db *DB) kbFilePath(id string) string {
	return filepath.Join(db.FilesDir(), filepath.FromSlash(kbFileRel(id)))
}

// kbFileRel is an image's path in the files directory, as replicated.
func kbFileRel(id string) string { return "kb/" + filepath.Base(id) }

// UploadKBFile stores an image for articles (PNG, JPEG, GIF or WebP,
// sniffed from its bytes, at most app.MaxKBFileBytes). Its URL() is public.
func (db *DB) UploadKBFile(ctx context.Context, u app.Upload, actor app.Actor) (app.KBFile, error) {
	if err := app.CheckKBImage(&u); err != nil {
		return app.KBFile{}, err
	}
	sum := sha256.Sum256(u.Data)
	f := app.KBFile{ID: newID(), Filename: u.Filename, ContentType: u.ContentType, Size: int64(len(u.Data)),
		SHA256: hex.EncodeToString(sum[:]), CreatedAt: db.Now()}
	path := db.kbFilePath(f.ID)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return app.KBFile{}, fmt.Errorf("kb files directory: %w", err)
	}
	if err := writeSynced(path, u.Data); err != nil {
		return app.KBFile{}, fmt.Errorf("store kb file: %w", err)
	}
	db.replicateFiles(kbFileRel(f.ID))
	err := db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kb_files (`+kbFileColumns+`, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			f.ID, f.Filename, f.ContentType, f.Size, f.SHA256, f.CreatedAt, actor.Name); err != nil {
			return fmt.Errorf("insert kb file: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventKBFileUploaded, "kb_file", f.ID, actor,
			map[string]any{"filename": f.Filename, "content_type": f.ContentType, "size": f.Size}))
	})
	if err != nil {
		os.Remove(path)
		db.replicateFiles(kbFileRel(f.ID))
		return app.KBFile{}, err
	}
	return f, nil
}

// KBFileByID returns an uploaded image and the path of its bytes, or ENOTFOUND.
func (db *DB) KBFileByID(ctx context.Context, id string) (app.KBFile, string, error) {
	f, err := scanKBFile(db.reader().QueryRowContext(ctx, `SELECT `+kbFileColumns+` FROM kb_files WHERE id = ?`, id))
	if err != nil {
		return f, "", notFound(err, "File not found.")
	}
	return f, db.kbFilePath(f.ID), nil
}

// KBFiles returns the uploaded images, newest first.
func (db *DB) KBFiles(ctx context.Context) ([]app.KBFile, error) {
	return queryAll(ctx, db.reader(), scanKBFile, `SELECT `+kbFileColumns+` FROM kb_files ORDER BY id DESC`)
}

// DeleteKBFile removes an uploaded image; articles that show it show its
// description instead.
func (db *DB) DeleteKBFile(ctx context.Context, id string, actor app.Actor) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		f, err := scanKBFile(tx.QueryRowContext(ctx, `SELECT `+kbFileColumns+` FROM kb_files WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "File not found.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kb_files WHERE id = ?`, id); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventKBFileDeleted, "kb_file", id, actor,
			map[string]any{"filename": f.Filename}))
	})
	if err == nil {
		os.Remove(db.kbFilePath(id))
		db.replicateFiles(kbFileRel(id))
	}
	return err
}
