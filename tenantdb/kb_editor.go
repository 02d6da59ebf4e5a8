package tenantdb

import (
	"context"
	"fmt"

	"parley/app"
)

// What the team's knowledge-base editor (app/web/kb_edit.go) needs beyond
// kb.go: the articles changed since they were published, the languages in
// use and how many articles each category holds.

// ListKBArticlesChanged returns one page of published articles whose draft
// differs from what the help center shows, newest first, matching f
// otherwise (f.Published is ignored). Its cursor works like
// ListKBArticles's.
func (db *DB) ListKBArticlesChanged(ctx context.Context, f app.KBArticleFilter) (app.KBArticlePage, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	published := true
	f.Published, f.Limit = &published, 200
	var out app.KBArticlePage
	for {
		page, err := db.ListKBArticles(ctx, f)
		if err != nil {
			return app.KBArticlePage{}, err
		}
		for _, a := range page.Articles {
			if !a.HasChanges() {
				continue
			}
			if len(out.Articles) == limit {
				out.NextCursor = encodeCursor(listCursor{ID: out.Articles[limit-1].ID})
				return out, nil
			}
			out.Articles = append(out.Articles, a)
		}
		if page.NextCursor == "" {
			return out, nil
		}
		f.Cursor = page.NextCursor
	}
}

// KBArticleLocales returns the languages the workspace's articles are
// written in, drafts included, in order.
func (db *DB) KBArticleLocales(ctx context.Context) ([]string, error) {
	ls, err := queryAll(ctx, db.reader(), scanString, `SELECT DISTINCT locale FROM kb_articles ORDER BY locale`)
	if err != nil {
		return nil, fmt.Errorf("kb article locales: %w", err)
	}
	return ls, nil
}

// KBCategoryArticleCounts returns how many articles (drafts included) each
// category holds, by category id; "" counts the articles in none.
func (db *DB) KBCategoryArticleCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.reader().QueryContext(ctx, `SELECT coalesce(category_id, ''), count(*) FROM kb_articles GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("kb category counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}
