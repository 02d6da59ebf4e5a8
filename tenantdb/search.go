package tenantdb

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"parley/app"
)

// refreshClientSearch rewrites a client's search row from its name, live
// contacts and notes. Every change to those calls it in its own
// transaction, so search never disagrees with what was committed.
func refreshClientSearch(ctx context.Context, tx *sql.Tx, clientID string) error {
	var rowid int64
	c := &app.Client{}
	if err := tx.QueryRowContext(ctx, `SELECT rowid, first_name, middle_name, last_name FROM clients WHERE id = ?`,
		clientID).Scan(&rowid, &c.FirstName, &c.MiddleName, &c.LastName); err != nil {
		return fmt.Errorf("search row of %s: %w", clientID, err)
	}
	contacts, err := queryAll(ctx, tx, scanContact, `SELECT `+contactColumns+` FROM contacts WHERE client_id = ? AND active = 1`, clientID)
	if err != nil {
		return err
	}
	notes, err := queryAll(ctx, tx, scanString, `SELECT body FROM notes WHERE client_id = ? ORDER BY created_at`, clientID)
	if err != nil {
		return err
	}
	var shown, keys []string
	for _, k := range contacts {
		shown = append(shown, k.Display())
		if k.Type == app.ContactPhone || k.Type == app.ContactWhatsApp {
			keys = append(keys, app.PhoneSearchKeys(k.Value)...)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM clients_fts WHERE rowid = ?`, rowid); err != nil {
		return fmt.Errorf("clear search row: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO clients_fts (rowid, name, contacts, notes, keys) VALUES (?, ?, ?, ?, ?)`,
		rowid, c.Name(), strings.Join(shown, " · "), strings.Join(notes, "\n"), strings.Join(keys, " "))
	if err != nil {
		return fmt.Errorf("write search row: %w", err)
	}
	return nil
}

// searchQuery turns what a person typed into an FTS5 query: every word must
// match as a prefix ("ann" finds "Anna"). Input that looks like a phone
// number ("+44 77", "07700-900") is matched as digits against the phone keys.
// Words are quoted, so FTS5 syntax typed by a user is only ever text.
func searchQuery(q string) (match string, words []string) {
	// Control characters (a NUL ends an SQL string early) are spaces here.
	q = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, q))
	if q == "" {
		return "", nil
	}
	if digits, ok := phoneLike(q); ok {
		// Any fragment of a phone number, or a number written in a note.
		return `keys : "` + digits + `"* OR "` + digits + `"*`, []string{digits}
	}
	var parts []string
	for _, w := range strings.Fields(q) {
		if !strings.ContainsFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			continue
		}
		words = append(words, w)
		parts = append(parts, `"`+strings.ReplaceAll(w, `"`, `""`)+`"*`)
	}
	if len(parts) == 0 {
		return "", nil
	}
	return strings.Join(parts, " "), words
}

// phoneLike reports whether q is made only of the characters of a phone
// number with at least three digits, and returns the digits.
func phoneLike(q string) (string, bool) {
	var digits strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case strings.ContainsRune("+-() .", r):
		default:
			return "", false
		}
	}
	return digits.String(), digits.Len() >= 3
}

// listCursor is the position after the last row of a page.
type listCursor struct {
	Key string `json:"k"`
	ID  string `json:"i"`
}

func encodeCursor(c listCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (listCursor, error) {
	var c listCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" {
		return c, app.InvalidField("cursor", "This page cursor is not valid; start from the first page.")
	}
	return c, nil
}

// SearchClients returns one page of live clients matching f, in f's order,
// with the matched words marked. Pages are keyset-paginated, so a deep page
// costs what the first does. A search in the default order lists the
// newest matches first.
func (db *DB) SearchClients(ctx context.Context, f app.ClientFilter) (app.ClientPage, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	if !slices.Contains([]app.ClientSort{"", app.SortName, app.SortCreated, app.SortActivity}, f.Sort) {
		return app.ClientPage{}, app.InvalidField("sort", "Sort by name, created or activity.")
	}
	var cursor *listCursor
	if f.Cursor != "" {
		cur, err := decodeCursor(f.Cursor)
		if err != nil {
			return app.ClientPage{}, err
		}
		cursor = &cur
	}
	match, words := searchQuery(f.Query)
	q := []rune(app.Fold(strings.TrimSpace(f.Query)))
	switch {
	case len(q) == 1 && unicode.IsLetter(q[0]):
		// One letter (the first keystroke of search as you type) is a name
		// prefix: a range of the name index, where FTS5 would have to merge
		// the posting lists of every word starting with that letter.
		return db.listClients(ctx, f, limit, cursor, "", nil, clientCond{
			"c.sort_name >= ? AND c.sort_name < ?", []any{string(q), string(q[0] + 1)}})
	case match == "" && len(q) > 0:
		return app.ClientPage{}, nil // only punctuation: nothing can match
	case match != "" && (f.Sort == "" || f.Sort == app.SortCreated):
		return db.searchNewest(ctx, f, limit, cursor, match, words)
	}
	return db.listClients(ctx, f, limit, cursor, match, words)
}

// clientCond is one condition of a client query with its arguments.
type clientCond struct {
	sql  string
	args []any
}

// filterConds are the conditions of f's filters other than the search. In
// plus mode they only check rows (SQLite's unary + keeps a condition from
// choosing the index), for plans driven by the order or by the search.
func filterConds(f app.ClientFilter, plus bool) []clientCond {
	p := ""
	if plus {
		p = "+"
	}
	var out []clientCond
	if f.Status != nil {
		out = append(out, clientCond{p + "c.status = ?", []any{*f.Status}})
	}
	if f.OwnerID != nil {
		out = append(out, clientCond{p + "c.owner_id = ?", []any{*f.OwnerID}})
	}
	if f.CreatedFrom != nil {
		out = append(out, clientCond{p + "c.created_at >= ?", []any{f.CreatedFrom.UTC()}})
	}
	if f.CreatedTo != nil {
		out = append(out, clientCond{p + "c.created_at < ?", []any{f.CreatedTo.UTC()}})
	}
	return out
}

// tagCond selects clients with f's tag, checked row by row.
func tagCond(tag string) clientCond {
	return clientCond{"EXISTS (SELECT 1 FROM client_tags t WHERE t.client_id = c.id AND t.tag = ?)", []any{strings.ToLower(tag)}}
}

// searchNewest pages through a search's matches newest first, in the order
// FTS5 keeps them (by rowid, which grows as clients are created), so it
// stops reading at a page however many clients match.
func (db *DB) searchNewest(ctx context.Context, f app.ClientFilter, limit int, cursor *listCursor, match string, words []string) (app.ClientPage, error) {
	conds := append([]clientCond{{"clients_fts MATCH ?", []any{match}}, {"c.deleted_at IS NULL", nil}}, filterConds(f, true)...)
	if f.Tag != nil {
		conds = append(conds, tagCond(*f.Tag))
	}
	if cursor != nil {
		conds = append(conds, clientCond{"f.rowid < (SELECT rowid FROM clients WHERE id = ?)", []any{cursor.ID}})
	}
	where, args := joinConds(conds)
	rows, err := queryAll(ctx, db.reader(), scanClient, `SELECT `+clientColumns+` FROM clients_fts f
		JOIN clients c ON c.rowid = f.rowid LEFT JOIN users u ON u.id = c.owner_id
		WHERE `+where+` ORDER BY f.rowid DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return app.ClientPage{}, fmt.Errorf("search clients: %w", err)
	}
	return db.clientPage(ctx, rows, limit, words, func(c *app.Client) string { return "" })
}

// listClients pages through clients in f's order. A narrowing condition (a
// search, a tag) that selects few clients is looked up and its rows sorted;
// one that selects many is checked while walking the index of the list's
// order, so a page costs about limit × clients/matches rows and never a
// sort of them all. Status and owner have indexes ordered by name, so they
// choose the plan only in that order.
func (db *DB) listClients(ctx context.Context, f app.ClientFilter, limit int, cursor *listCursor, match string, words []string, extra ...clientCond) (app.ClientPage, error) {
	col, index, desc := "c.sort_name", "clients_by_name", false
	switch f.Sort {
	case app.SortCreated:
		col, index, desc = "c.created_at", "clients_by_created", true
	case app.SortActivity:
		col, index, desc = "c.last_activity_at", "clients_by_activity", true
	}
	conds := append([]clientCond{{"c.deleted_at IS NULL", nil}}, extra...)
	conds = append(conds, filterConds(f, col != "c.sort_name")...)
	walk := false
	narrow := func(countQuery, cond string, arg any) error {
		dense, err := db.moreThan(ctx, denseMatches, countQuery, arg)
		if err != nil {
			return err
		}
		if dense {
			walk, cond = true, "+"+cond
		}
		conds = append(conds, clientCond{cond, []any{arg}})
		return nil
	}
	if match != "" {
		if err := narrow(`SELECT rowid FROM clients_fts WHERE clients_fts MATCH ?`,
			"c.rowid IN (SELECT rowid FROM clients_fts WHERE clients_fts MATCH ?)", match); err != nil {
			return app.ClientPage{}, err
		}
	}
	if f.Tag != nil {
		if err := narrow(`SELECT client_id FROM client_tags WHERE tag = ?`,
			"c.id IN (SELECT client_id FROM client_tags WHERE tag = ?)", strings.ToLower(*f.Tag)); err != nil {
			return app.ClientPage{}, err
		}
	}
	if cursor != nil {
		var key any = cursor.Key
		if col != "c.sort_name" {
			t, err := time.Parse(time.RFC3339Nano, cursor.Key)
			if err != nil {
				return app.ClientPage{}, app.InvalidField("cursor", "This page cursor is not valid; start from the first page.")
			}
			key = t.UTC()
		}
		op := map[bool]string{false: ">", true: "<"}[desc]
		conds = append(conds, clientCond{"(" + col + ", c.id) " + op + " (?, ?)", []any{key, cursor.ID}})
	}
	order := col + ", c.id"
	if desc {
		order = col + " DESC, c.id DESC"
	}
	from := clientFrom
	if walk {
		from = ` FROM clients c INDEXED BY ` + index + ` LEFT JOIN users u ON u.id = c.owner_id `
	}
	where, args := joinConds(conds)
	rows, err := queryAll(ctx, db.reader(), scanClient, `SELECT `+clientColumns+from+
		`WHERE `+where+` ORDER BY `+order+` LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return app.ClientPage{}, fmt.Errorf("list clients: %w", err)
	}
	return db.clientPage(ctx, rows, limit, words, func(c *app.Client) string {
		switch f.Sort {
		case app.SortCreated:
			return c.CreatedAt.Format(time.RFC3339Nano)
		case app.SortActivity:
			return c.LastActivityAt.Format(time.RFC3339Nano)
		}
		return sortName(c)
	})
}

func joinConds(conds []clientCond) (string, []any) {
	var sqls []string
	var args []any
	for _, c := range conds {
		sqls, args = append(sqls, c.sql), append(args, c.args...)
	}
	return strings.Join(sqls, " AND "), args
}

// clientPage cuts rows (read one past limit) into a page with the cursor
// of its last row, and fills in the hits.
func (db *DB) clientPage(ctx context.Context, rows []clientRow, limit int, words []string, key func(*app.Client) string) (app.ClientPage, error) {
	var page app.ClientPage
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1].Client
		page.Next = encodeCursor(listCursor{Key: key(last), ID: last.ID})
	}
	if len(rows) == 0 {
		return page, nil
	}
	return page, db.fillHits(ctx, &page, rows, words)
}

// denseMatches is the number of clients a search or tag must select for a
// page to be found by walking the list's order rather than by sorting them.
const denseMatches = 1000

// moreThan reports whether query (one column, one argument) returns more
// than n rows. It stops reading there, so it costs little however many
// rows there are.
func (db *DB) moreThan(ctx context.Context, n int, query string, arg any) (bool, error) {
	var got int
	err := db.reader().QueryRowContext(ctx, `SELECT count(*) FROM (`+query+` LIMIT ?)`, arg, n+1).Scan(&got)
	if err != nil {
		return false, fmt.Errorf("count matches: %w", err)
	}
	return got > n, nil
}

// fillHits loads the contacts and tags of a page of clients and, for a
// search, the marked name and note snippet of each.
func (db *DB) fillHits(ctx context.Context, page *app.ClientPage, rows []clientRow, words []string) error {
	ids := make([]any, len(rows))
	byID := make(map[string]*app.ClientHit, len(rows))
	page.Hits = make([]app.ClientHit, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		page.Hits[i] = app.ClientHit{Client: r.Client}
		byID[r.ID] = &page.Hits[i]
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")"
	contacts, err := queryAll(ctx, db.reader(), scanContact, `SELECT `+contactColumns+` FROM contacts
		WHERE active = 1 AND client_id IN `+in+` ORDER BY type, created_at`, ids...)
	if err != nil {
		return fmt.Errorf("hit contacts: %w", err)
	}
	for _, k := range contacts {
		byID[k.ClientID].Contacts = append(byID[k.ClientID].Contacts, k)
	}
	tags, err := db.reader().QueryContext(ctx, `SELECT client_id, tag FROM client_tags WHERE client_id IN `+in+` ORDER BY tag`, ids...)
	if err != nil {
		return fmt.Errorf("hit tags: %w", err)
	}
	defer tags.Close()
	for tags.Next() {
		var id, tag string
		if err := tags.Scan(&id, &tag); err != nil {
			return err
		}
		byID[id].Client.Tags = append(byID[id].Client.Tags, tag)
	}
	if err := tags.Err(); err != nil || len(words) == 0 {
		return err
	}
	// Marks are placed here rather than by FTS5's highlight(), which would
	// evaluate the search again over every match to mark fifty rows.
	folded := app.SearchWords(strings.Join(words, " "))
	for i := range page.Hits {
		h := &page.Hits[i]
		if marked, ok := app.MarkPrefixes(h.Client.Name(), folded); ok {
			h.NameMarked = marked
		}
	}
	// A note excerpt explains a match that is not in the name; only those
	// clients' notes are read.
	var unexplained []any
	for _, h := range page.Hits {
		if h.NameMarked == "" {
			unexplained = append(unexplained, h.Client.ID)
		}
	}
	if len(unexplained) == 0 {
		return nil
	}
	notes, err := db.reader().QueryContext(ctx, `SELECT client_id, body FROM notes WHERE client_id IN (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(unexplained)), ", ")+`) ORDER BY pinned DESC, created_at DESC`, unexplained...)
	if err != nil {
		return fmt.Errorf("hit notes: %w", err)
	}
	defer notes.Close()
	for notes.Next() {
		var id, body string
		if err := notes.Scan(&id, &body); err != nil {
			return err
		}
		if h := byID[id]; h.Snippet == "" {
			h.Snippet = app.Snippet(body, folded, 16)
		}
	}
	return notes.Err()
}

// FindDuplicates returns live clients that look like the one described:
// one that already has one of its contacts (a phone matches a WhatsApp
// number too), or has the same name and date of birth.
func (db *DB) FindDuplicates(ctx context.Context, q app.DuplicateQuery) ([]app.Duplicate, error) {
	country, err := defaultCountry(ctx, db.reader())
	if err != nil {
		return nil, err
	}
	var out []app.Duplicate
	seen := map[string]int{}
	add := func(rows []clientRow, reason string, same map[string]bool) {
		for _, r := range rows {
			if r.ID == q.ExcludeID {
				continue
			}
			i, ok := seen[r.ID]
			if ok {
				out[i].Reason += "; " + reason
			} else {
				i, seen[r.ID] = len(out), len(out)
				out = append(out, app.Duplicate{Client: r.Client, Reason: reason})
			}
			out[i].SameContact = out[i].SameContact || same[r.ID]
		}
	}
	for _, in := range q.Contacts {
		if in.Normalize("contact", country) != nil {
			continue
		}
		types := []any{in.Type}
		if in.Type == app.ContactPhone || in.Type == app.ContactWhatsApp {
			types = []any{app.ContactPhone, app.ContactWhatsApp}
		}
		rows, err := queryAll(ctx, db.reader(), scanClient, `SELECT `+clientColumns+clientFrom+`
			WHERE c.deleted_at IS NULL AND c.id IN (SELECT client_id FROM contacts
			WHERE active = 1 AND value = ? AND type IN (?`+strings.Repeat(", ?", len(types)-1)+`)) LIMIT 10`,
			append([]any{in.Value}, types...)...)
		if err != nil {
			return nil, fmt.Errorf("duplicates by contact: %w", err)
		}
		holders, err := queryAll(ctx, db.reader(), scanString, `SELECT client_id FROM contacts
			WHERE active = 1 AND type = ? AND value = ?`, in.Type, in.Value)
		if err != nil {
			return nil, fmt.Errorf("duplicates by contact: %w", err)
		}
		same := map[string]bool{}
		for _, id := range holders {
			same[id] = true
		}
		add(rows, "same "+strings.ToLower(in.Type.Label())+" "+app.DisplayContact(in.Type, in.Value), same)
	}
	if strings.TrimSpace(q.BirthDate) != "" && strings.TrimSpace(q.FirstName) != "" {
		name := sortName(&app.Client{FirstName: strings.TrimSpace(q.FirstName), LastName: strings.TrimSpace(q.LastName)})
		rows, err := queryAll(ctx, db.reader(), scanClient, `SELECT `+clientColumns+clientFrom+`
			WHERE c.deleted_at IS NULL AND c.birth_date = ? AND c.sort_name = ? LIMIT 10`,
			strings.TrimSpace(q.BirthDate), name)
		if err != nil {
			return nil, fmt.Errorf("duplicates by name: %w", err)
		}
		add(rows, "same name and date of birth", nil)
	}
	return out, nil
}
