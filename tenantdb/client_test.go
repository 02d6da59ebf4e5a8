package tenantdb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"parley/app"
	"parley/tenantdb"
)

// clientDB returns an open tenant with a default country of GB.
func clientDB(t *testing.T) *tenantdb.DB {
	t.Helper()
	_, db := providerDB(t)
	return db
}

func mustCreate(t *testing.T, db *tenantdb.DB, in app.ClientInput) *app.Client {
	t.Helper()
	c, err := db.CreateClient(context.Background(), in, app.CLIActor)
	if err != nil {
		t.Fatalf("create %s: %v (fields %v)", in.FirstName, err, app.ErrorFields(err))
	}
	return c
}

func TestCreateClientNormalisesContacts(t *testing.T) {
	db := clientDB(t)
	ctx := context.Background()
	c := mustCreate(t, db, app.ClientInput{FirstName: " Anna ", LastName: "Lee", Tags: []string{"VIP", " vip", "#b2b"},
		Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: " Anna@Example.COM "}, {Type: app.ContactPhone, Value: "07911 123456"}}})
	p, err := db.ClientProfile(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range p.Contacts {
		got = append(got, string(k.Type)+":"+k.Value)
	}
	if want := "email:anna@example.com phone:+447911123456"; strings.Join(got, " ") != want {
		t.Errorf("contacts: got %v, want %s", got, want)
	}
	if want := "b2b vip"; strings.Join(c.Tags, " ") != want {
		t.Errorf("tags: got %v, want %s", c.Tags, want)
	}
	if c.FirstName != "Anna" || c.Status != app.ClientLead {
		t.Errorf("got %q %q, want Anna lead", c.FirstName, c.Status)
	}

	// The same phone typed in international form belongs to Anna already.
	_, err = db.CreateClient(ctx, app.ClientInput{FirstName: "Bob",
		Contacts: []app.ContactInput{{Type: app.ContactPhone, Value: "+44 7911 123456"}}}, app.CLIActor)
	if app.ErrorCode(err) != app.ECONFLICT || app.ErrorRef(err) != c.ID {
		t.Fatalf("duplicate phone: got %v (ref %q), want conflict naming %s", err, app.ErrorRef(err), c.ID)
	}
	page, err := db.SearchClients(ctx, app.ClientFilter{Query: "bob"})
	if err != nil || len(page.Hits) != 0 {
		t.Errorf("refused client was written: %d hits, err %v", len(page.Hits), err)
	}
}

func TestSearchClients(t *testing.T) {
	db := clientDB(t)
	ctx := context.Background()
	anna := mustCreate(t, db, app.ClientInput{FirstName: "Anna", LastName: "Kowalska",
		Contacts: []app.ContactInput{{Type: app.ContactPhone, Value: "+44 7911 123456"}}})
	mustCreate(t, db, app.ClientInput{FirstName: "Joanna", LastName: "Smith"})
	ben := mustCreate(t, db, app.ClientInput{FirstName: "Ben", LastName: "Über"})
	if _, err := db.AddNote(ctx, ben.ID, app.NoteInput{Body: "Prefers invoices by post"}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"ann", "Anna Kowalska"},
		{"+4479", "Anna Kowalska"},
		{"07911 123", "Anna Kowalska"},
		{"123456", "Anna Kowalska"},
		{"uber", "Ben Über"},
		{"invoic", "Ben Über"},
		{`"; DROP TABLE clients; --`, ""},
		{"*", ""},
	} {
		page, err := db.SearchClients(ctx, app.ClientFilter{Query: tc.q})
		if err != nil {
			t.Fatalf("search %q: %v", tc.q, err)
		}
		var names []string
		for _, h := range page.Hits {
			names = append(names, h.Client.Name())
		}
		if got := strings.Join(names, ", "); got != tc.want {
			t.Errorf("search %q: got %q, want %q", tc.q, got, tc.want)
		}
	}
	page, _ := db.SearchClients(ctx, app.ClientFilter{Query: "ann"})
	if h := page.Hits[0]; h.NameMarked != app.MarkStart+"Anna"+app.MarkEnd+" Kowalska" {
		t.Errorf("marked name: got %q", h.NameMarked)
	}
	_ = anna
}

func TestClientPagination(t *testing.T) {
	db := clientDB(t)
	ctx := context.Background()
	for _, n := range []string{"Eve", "Dan", "Cat", "Bea", "Amy"} {
		mustCreate(t, db, app.ClientInput{FirstName: n})
	}
	for _, sort := range []app.ClientSort{app.SortName, app.SortCreated, app.SortActivity} {
		var got []string
		cursor := ""
		for range 5 {
			page, err := db.SearchClients(ctx, app.ClientFilter{Sort: sort, Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range page.Hits {
				got = append(got, h.Client.FirstName)
			}
			if cursor = page.Next; cursor == "" {
				break
			}
		}
		if len(got) != 5 {
			t.Errorf("sort %s: got %v, want 5 clients once each", sort, got)
		}
		if sort == app.SortName && strings.Join(got, " ") != "Amy Bea Cat Dan Eve" {
			t.Errorf("sort by name: got %v", got)
		}
	}
}

func TestMergeClients(t *testing.T) {
	db := clientDB(t)
	ctx := context.Background()
	s := mustCreate(t, db, app.ClientInput{FirstName: "Anna", LastName: "Lee", Tags: []string{"vip"},
		Contacts:  []app.ContactInput{{Type: app.ContactEmail, Value: "anna@example.com"}},
		Addresses: []app.AddressInput{{Type: app.AddressShipping, Street: "1 High St", City: "London", PostalCode: "SW1A 1AA", Country: "GB"}}})
	o := mustCreate(t, db, app.ClientInput{FirstName: "Ann", LastName: "Lee", BirthDate: "1990-04-01", Tags: []string{"b2b"},
		Contacts:  []app.ContactInput{{Type: app.ContactPhone, Value: "+447911123456"}},
		Addresses: []app.AddressInput{{Type: app.AddressShipping, Street: "2 Low St", City: "Leeds", Country: "GB"}}})
	if _, err := db.AddNote(ctx, o.ID, app.NoteInput{Body: "Met at the fair", Pinned: true}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	got, err := db.MergeClients(ctx, s.ID, app.MergeInput{OtherID: o.ID, TakeOther: []string{"first_name"}}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if got.FirstName != "Ann" || got.BirthDate != "1990-04-01" || strings.Join(got.Tags, ",") != "b2b,vip" {
		t.Errorf("merged profile: got %q %q %v", got.FirstName, got.BirthDate, got.Tags)
	}
	p, err := db.ClientProfile(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Contacts) != 2 || len(p.Addresses) != 2 || len(p.Notes) != 1 {
		t.Errorf("moved children: got %d contacts, %d addresses, %d notes; want 2, 2, 1", len(p.Contacts), len(p.Addresses), len(p.Notes))
	}
	defaults := 0
	for _, a := range p.Addresses {
		if a.IsDefault {
			defaults++
		}
	}
	if defaults != 1 {
		t.Errorf("default shipping addresses: got %d, want 1", defaults)
	}
	if _, err := db.ClientByID(ctx, o.ID); app.ErrorCode(err) != app.EMOVED || app.ErrorRef(err) != s.ID {
		t.Errorf("merged-away client: got %v, want moved to %s", err, s.ID)
	}
	evs, _, err := db.ClientTimeline(ctx, s.ID, app.TimelineFilter{})
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, e := range evs {
		types[e.Type]++
	}
	if types[app.EventClientCreated] != 2 || types[app.EventClientMerged] != 1 || types[app.EventNoteAdded] != 1 {
		t.Errorf("timeline after merge: got %v", types)
	}
	page, _ := db.SearchClients(ctx, app.ClientFilter{Query: "+4479"})
	if len(page.Hits) != 1 || page.Hits[0].Client.ID != s.ID {
		t.Errorf("search after merge: got %d hits", len(page.Hits))
	}
}

func TestListTags(t *testing.T) {
	db := clientDB(t)
	ctx := context.Background()
	mustCreate(t, db, app.ClientInput{FirstName: "A", Tags: []string{"vip", "b2b"}})
	mustCreate(t, db, app.ClientInput{FirstName: "B", Tags: []string{"vip", "churn-risk"}})
	got, err := db.ListTags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := "b2b churn-risk vip"; strings.Join(got, " ") != want {
		t.Errorf("tags: got %v, want %s", got, want)
	}
}

// TestSearchManyMatches: a search matching more than denseMatches clients
// walks the list's order instead of sorting every match; the pages still
// hold every match once, in order. One letter searches names by prefix.
func TestSearchManyMatches(t *testing.T) {
	db := clientDB(t)
	ctx := context.Background()
	const n = 1100
	for i := range n {
		mustCreate(t, db, app.ClientInput{FirstName: fmt.Sprintf("Zed%04d", n-i), LastName: "Common"})
	}
	mustCreate(t, db, app.ClientInput{FirstName: "Ann", LastName: "Other"})
	for _, sort := range []app.ClientSort{app.SortName, app.SortCreated} {
		var got []string
		cursor := ""
		for {
			page, err := db.SearchClients(ctx, app.ClientFilter{Query: "common", Sort: sort, Limit: 200, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range page.Hits {
				got = append(got, h.Client.FirstName)
			}
			if cursor = page.Next; cursor == "" {
				break
			}
		}
		if len(got) != n {
			t.Fatalf("sort %s: got %d matches, want %d", sort, len(got), n)
		}
		// Zed0001 is first by name and, created last, first by newest too.
		if got[0] != "Zed0001" || got[n-1] != fmt.Sprintf("Zed%04d", n) {
			t.Errorf("sort %s: got %s … %s, want Zed0001 … Zed%04d", sort, got[0], got[n-1], n)
		}
	}
	page, err := db.SearchClients(ctx, app.ClientFilter{Query: "a"})
	if err != nil || len(page.Hits) != 1 || page.Hits[0].Client.FirstName != "Ann" {
		t.Errorf("one-letter search: got %d hits (%v), want Ann only", len(page.Hits), err)
	}
}

// TestMergeKeepsTheRules: a merge cannot move the status backwards, and
// its event keeps what it overwrote and the merged client as it was.
func TestMergeKeepsTheRules(t *testing.T) {
	db := clientDB(t)
	ctx := context.Background()
	s := mustCreate(t, db, app.ClientInput{FirstName: "Anna", Status: app.ClientActive, PassportNumber: "P-KEEP"})
	o := mustCreate(t, db, app.ClientInput{FirstName: "Ann", Status: app.ClientLead, PassportNumber: "P-OTHER"})
	if _, err := db.MergeClients(ctx, s.ID, app.MergeInput{OtherID: o.ID, TakeOther: []string{"status"}}, app.CLIActor); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("taking a lead status onto an active client: got %v, want invalid", err)
	}
	if _, err := db.ClientByID(ctx, o.ID); err != nil {
		t.Fatalf("a refused merge changed the other client: %v", err)
	}
	if _, err := db.MergeClients(ctx, s.ID, app.MergeInput{OtherID: o.ID, TakeOther: []string{"passport_number"}}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	evs, _, err := db.ClientTimeline(ctx, s.ID, app.TimelineFilter{Type: app.EventClientMerged})
	if err != nil || len(evs) != 1 {
		t.Fatalf("merge events: got %d (%v), want 1", len(evs), err)
	}
	for _, want := range []string{`"passport_number":["P-KEEP","P-OTHER"]`, `"merged_client":{`, `"first_name":"Ann"`} {
		if !strings.Contains(string(evs[0].Payload), want) {
			t.Errorf("merge event payload lacks %s: %s", want, evs[0].Payload)
		}
	}
}

func TestClientInputChecks(t *testing.T) {
	db := clientDB(t)
	ctx := context.Background()
	if _, err := db.CreateClient(ctx, app.ClientInput{FirstName: strings.Repeat("鈴", 40)}, app.CLIActor); err != nil {
		t.Errorf("a 40-character Japanese name: got %v, want it accepted", err)
	}
	for name, in := range map[string]app.ClientInput{
		"EmailWithQuery":  {FirstName: "A", Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "a@b.co?subject=x"}}},
		"EmailWithComma":  {FirstName: "A", Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "x,y@z.com"}}},
		"NameWithControl": {FirstName: "A" + app.MarkStart + "B"},
	} {
		if _, err := db.CreateClient(ctx, in, app.CLIActor); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("%s: got %v, want invalid", name, err)
		}
	}
	if _, err := db.CreateCustomField(ctx, app.CustomFieldInput{Label: "Score", Type: app.FieldNumber}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"NaN", "Inf", "-Inf"} {
		if _, err := db.CreateClient(ctx, app.ClientInput{FirstName: "N", CustomFields: map[string]string{"score": v}}, app.CLIActor); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("score %s: got %v, want invalid", v, err)
		}
	}
	if _, err := db.SearchClients(ctx, app.ClientFilter{Query: "ab\x00c"}); err != nil {
		t.Errorf("a NUL in the search: got %v, want no error", err)
	}
}

// TestSearchOneLetterFolds: the first keystroke finds names by their first
// letter as search folds it, "u" finding "Über".
func TestSearchOneLetterFolds(t *testing.T) {
	db := clientDB(t)
	mustCreate(t, db, app.ClientInput{FirstName: "Über", LastName: "Näme"})
	for _, q := range []string{"u", "Ü", "ub"} {
		page, err := db.SearchClients(context.Background(), app.ClientFilter{Query: q})
		if err != nil || len(page.Hits) != 1 {
			t.Errorf("search %q: got %d hits (%v), want Über Näme", q, len(page.Hits), err)
		}
	}
}
