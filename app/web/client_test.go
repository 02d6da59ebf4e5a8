package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"parley/app"
	"parley/tenantdb"
)

// clientCase is one request of a client scenario and what it must answer.
type clientCase struct {
	name   string
	method string // GET when empty
	path   string
	form   url.Values
	header map[string]string
	status int
	// location is the start of the Location header a redirect must carry.
	location string
	// sel must match an element of the page; text must be in its text (in
	// the page's text when sel is empty).
	sel  string
	text string
	// absent must match no element of the page.
	absent string
	// flash is the message the page after a 303 must show.
	flash string
	// check looks at what was stored after the request.
	check func(t *testing.T)
}

// runClientCases runs cases in order, as subtests, with one browser: each
// case sees what the earlier ones changed.
func runClientCases(t *testing.T, b *browser, host string, cases []clientCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.do(b, host)
			tt.assert(t, b, host, res)
		})
	}
}

func (tt clientCase) do(b *browser, host string) response {
	method := tt.method
	if method == "" {
		method = http.MethodGet
	}
	req, _ := http.NewRequest(method, hostURL(host, tt.path), strings.NewReader(tt.form.Encode()))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range tt.header {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

func (tt clientCase) assert(t *testing.T, b *browser, host string, res response) {
	t.Helper()
	if res.Status != tt.status {
		t.Fatalf("%s: got status %d, want %d; page: %s", tt.path, res.Status, tt.status, snippet(pageText(t, res)))
	}
	loc := res.Header.Get("Location")
	if tt.location != "" && !strings.HasPrefix(loc, tt.location) {
		t.Errorf("Location: got %q, want %q", loc, tt.location)
	}
	page := res
	if res.Status == http.StatusSeeOther && strings.HasPrefix(loc, "/") {
		page = b.get(host, loc) // also takes the flash, so it cannot leak into the next case
		if tt.flash != "" && !strings.Contains(page.Text(t, "[data-testid=alert]"), tt.flash) {
			t.Errorf("flash after %s: got %q, want %q", loc, page.Text(t, "[data-testid=alert]"), tt.flash)
		}
	}
	doc := page.Doc(t)
	switch {
	case tt.sel != "" && doc.Find(tt.sel).Length() == 0:
		t.Errorf("no %s in the page: %s", tt.sel, snippet(pageText(t, page)))
	case tt.sel != "" && !strings.Contains(doc.Find(tt.sel).Text(), tt.text):
		t.Errorf("%s: got %q, want it to contain %q", tt.sel, strings.TrimSpace(doc.Find(tt.sel).Text()), tt.text)
	case tt.sel == "" && !strings.Contains(doc.Text(), tt.text):
		t.Errorf("page text: got %s, want it to contain %q", snippet(pageText(t, page)), tt.text)
	}
	if tt.absent != "" && doc.Find(tt.absent).Length() > 0 {
		t.Errorf("got %s in the page, want none", tt.absent)
	}
	if tt.check != nil {
		tt.check(t)
	}
}

// pageText is the visible text of a page, squeezed, for failure messages.
func pageText(t *testing.T, res response) string {
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(res.Body))
	if err != nil {
		return res.Body
	}
	doc.Find("script, style, head").Remove()
	return strings.Join(strings.Fields(doc.Text()), " ")
}

// clientEnv starts the router with workspace acme and its admin signed in.
func clientEnv(t *testing.T) (*env, *tenantdb.Workspace, *browser) {
	t.Helper()
	e := setup(t)
	ws := e.workspace("acme")
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	return e, ws, admin
}

// mustClient saves a client straight into ws's file.
func mustClient(t *testing.T, e *env, ws *tenantdb.Workspace, in app.ClientInput) *app.Client {
	t.Helper()
	c, err := e.db(ws).CreateClient(context.Background(), in, app.CLIActor)
	if err != nil {
		t.Fatalf("create %s: %v (fields %v)", in.FirstName, err, app.ErrorFields(err))
	}
	return c
}

func mustProfile(t *testing.T, e *env, ws *tenantdb.Workspace, id string) *app.ClientProfile {
	t.Helper()
	p, err := e.db(ws).ClientProfile(context.Background(), id)
	if err != nil {
		t.Fatalf("profile %s: %v", id, err)
	}
	return p
}

// clientTotal counts ws's live clients.
func clientTotal(t *testing.T, e *env, ws *tenantdb.Workspace) int {
	t.Helper()
	page, err := e.db(ws).SearchClients(context.Background(), app.ClientFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Hits)
}

// wantClients is a check that ws has n live clients.
func wantClients(e *env, ws *tenantdb.Workspace, n int) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		if got := clientTotal(t, e, ws); got != n {
			t.Errorf("clients stored: got %d, want %d", got, n)
		}
	}
}

func email(v string) app.ContactInput { return app.ContactInput{Type: app.ContactEmail, Value: v} }
func phone(v string) app.ContactInput { return app.ContactInput{Type: app.ContactPhone, Value: v} }

// TestClientPagesRender: every client page and the client settings render
// for an admin, and each full page is a valid document (unique ids).
func TestClientPagesRender(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	runClientCases(t, admin, "acme", []clientCase{
		{name: "ListEmpty", path: "/clients", status: 200, sel: "[data-testid=empty]", text: "No clients yet"},
	})
	anna := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna", LastName: "Smith", BirthDate: "1990-04-01",
		Contacts: []app.ContactInput{email("anna@example.com"), phone("+44 7911 123456")}})
	twin := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna", LastName: "Smith", BirthDate: "1990-04-01"})
	if _, err := e.db(ws).AddNote(context.Background(), anna.ID, app.NoteInput{Body: "Likes tea"}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	id := anna.ID
	cases := []clientCase{
		{name: "List", path: "/clients", status: 200, sel: "[data-testid=client-row]", text: "Anna Smith", absent: "[data-testid=empty]"},
		{name: "New", path: "/clients/new", status: 200, sel: "[data-testid=client-form] input[name=first_name]"},
		{name: "Profile", path: "/clients/" + id, status: 200, sel: "[data-testid=contact][data-contact-type=phone]", text: "+44 7911 123456"},
		{name: "Edit", path: "/clients/" + id + "/edit", status: 200, sel: "[data-testid=client-form] input[name=first_name][value=Anna]"},
		{name: "MergeCandidates", path: "/clients/" + id + "/merge", status: 200,
			sel: `[data-testid=merge-candidates] a[data-testid=compare][href="/clients/` + id + `/merge?other=` + twin.ID + `"]`},
		{name: "MergeCompare", path: "/clients/" + id + "/merge?other=" + twin.ID, status: 200,
			sel: `[data-testid=merge-form] input[name=other_id][value="` + twin.ID + `"]`},
		{name: "TimelinePage", path: "/clients/" + id + "/timeline", status: 200, sel: "[data-testid=profile-header]"},
		{name: "CustomFields", path: "/settings/fields", status: 200, sel: "[data-testid=custom-field-form]"},
		{name: "WorkspaceSettings", path: "/settings/workspace", status: 200, sel: "[data-testid=workspace-form] select[name=default_country]"},
	}
	runClientCases(t, admin, "acme", cases)
	for _, tt := range cases {
		t.Run(tt.name+"/UniqueIDs", func(t *testing.T) {
			seen := map[string]int{}
			tt.do(admin, "acme").Doc(t).Find("[id]").Each(func(_ int, s *goquery.Selection) {
				seen[s.AttrOr("id", "")]++
			})
			for id, n := range seen {
				if n > 1 {
					t.Errorf("id %q is used %d times, want once (a label's for= then names the wrong input)", id, n)
				}
			}
		})
	}

	t.Run("TimelineFragment", func(t *testing.T) {
		res := clientCase{path: "/clients/" + id + "/timeline?type=NoteAdded", header: map[string]string{"HX-Request": "true"}}.do(admin, "acme")
		if res.Status != 200 || strings.Contains(res.Body, "<html") {
			t.Fatalf("got %d with a whole page (%t), want 200 and the fragment only", res.Status, strings.Contains(res.Body, "<html"))
		}
		doc := res.Doc(t)
		if doc.Find("[data-testid=timeline]").Length() != 1 || doc.Find("[data-testid=profile-header]").Length() != 0 {
			t.Errorf("fragment: want the timeline and no profile header; got %s", snippet(res.Body))
		}
		items := doc.Find("[data-testid=timeline-item]")
		if items.Length() != 1 || items.AttrOr("data-event-type", "") != app.EventNoteAdded || !strings.Contains(items.Text(), "Likes tea") {
			t.Errorf("timeline of type NoteAdded: got %d items %q, want the one note", items.Length(), strings.TrimSpace(items.Text()))
		}
	})
}

// createForm is a valid create form for the custom fields of
// TestClientCreate, with kv pairs set over it ("" deletes a key).
func createForm(kv ...string) url.Values {
	f := url.Values{"first_name": {"Maria"}, "last_name": {"Garcia"}, "status": {"lead"},
		"contact_email": {"maria@example.com"}, "contact_phone": {"+44 7400 123456"}, "cf_loyalty_tier": {"gold"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
		} else {
			f.Set(kv[i], kv[i+1])
		}
	}
	return f
}

// TestClientCreate: a valid form creates the client; each refused form says
// what is wrong next to the field and writes nothing.
func TestClientCreate(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	ctx := context.Background()
	for _, in := range []app.CustomFieldInput{
		{Key: "visits", Label: "Visits", Type: app.FieldNumber},
		{Key: "loyalty_tier", Label: "Loyalty tier", Type: app.FieldText, Required: true},
	} {
		if _, err := e.db(ws).CreateCustomField(ctx, in, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	taken := mustClient(t, e, ws, app.ClientInput{FirstName: "Tomas", LastName: "Taken", CustomFields: map[string]string{"loyalty_tier": "gold"},
		Contacts: []app.ContactInput{email("taken@example.com")}})
	invalid := func(name, field, msg string, kv ...string) clientCase {
		return clientCase{name: name, method: "POST", path: "/clients", form: createForm(kv...), status: http.StatusUnprocessableEntity,
			sel: "[data-testid=client-form] [data-testid=error-" + field + "]", text: msg, check: wantClients(e, ws, 1)}
	}
	runClientCases(t, admin, "acme", []clientCase{
		invalid("ErrFirstNameRequired", "first_name", "Enter a first name.", "first_name", ""),
		invalid("ErrEmailInvalid", "contact_email", "Enter a valid email address", "contact_email", "maria@nowhere"),
		invalid("ErrPhoneUnparsable", "contact_phone", "Enter a phone number with its country code", "contact_phone", "call me maybe"),
		invalid("ErrPhoneTooShort", "contact_phone", "too few or too many digits", "contact_phone", "12"),
		invalid("ErrBirthDateFormat", "birth_date", "Enter a date as YYYY-MM-DD.", "birth_date", "01/02/1990"),
		invalid("ErrBirthDateFuture", "birth_date", "between 1900 and today", "birth_date", "2027-01-01"),
		invalid("ErrLanguage", "language", "Use a language tag like en", "language", "!!"),
		invalid("ErrTimezone", "timezone", "Use a time zone name like Europe/London.", "timezone", "Mars/Olympus"),
		invalid("ErrCurrency", "currency", "three-letter currency code", "currency", "QQQ"),
		invalid("ErrOwnerUnknown", "owner_id", "Choose an active team member as owner.", "owner_id", "01JAAAAAAAAAAAAAAAAAAAAAAA"),
		invalid("ErrCustomFieldNumber", "cf_visits", "Visits must be a number.", "cf_visits", "abc"),
		invalid("ErrCustomFieldRequired", "cf_loyalty_tier", "Loyalty tier is required.", "cf_loyalty_tier", ""),
		{name: "ContactTakenAsksFirst", method: "POST", path: "/clients", status: 200, form: createForm("contact_email", "taken@example.com"),
			sel: `[data-testid=confirm-duplicates] [data-testid=duplicate] a[href="/clients/` + taken.ID + `"]`, text: "Tomas Taken",
			check: wantClients(e, ws, 1)},
		{name: "ErrContactTaken", method: "POST", path: "/clients", status: http.StatusConflict,
			form: createForm("contact_email", "Taken@Example.com", "confirm_duplicates", "true"),
			sel:  `[data-testid=conflict-link][href="/clients/` + taken.ID + `"]`, check: wantClients(e, ws, 1)},
		{name: "ErrContactTakenMessage", method: "POST", path: "/clients", status: http.StatusConflict,
			form: createForm("contact_email", "taken@example.com", "confirm_duplicates", "true"),
			sel:  "[data-testid=client-form] [data-testid=error-contact_email]", text: "This email already belongs to Tomas Taken."},
		{name: "OK", method: "POST", path: "/clients", status: http.StatusSeeOther, location: "/clients/",
			form: createForm("cf_visits", "3", "language", "en-gb", "currency", "eur"), flash: "Client created.",
			sel: "[data-testid=contact][data-contact-type=phone]", text: "+44 7400 123456", check: wantClients(e, ws, 2)},
	})

	t.Run("OKProfile", func(t *testing.T) {
		page, err := e.db(ws).SearchClients(ctx, app.ClientFilter{Query: "maria"})
		if err != nil || len(page.Hits) != 1 {
			t.Fatalf("search maria: got %d hits, %v; want 1", len(page.Hits), err)
		}
		res := admin.get("acme", "/clients/"+page.Hits[0].Client.ID)
		if got := res.Text(t, "[data-testid=client-details]"); !strings.Contains(got, "Maria Garcia") {
			t.Errorf("details: got %q, want the name Maria Garcia", got)
		}
		if got := res.Text(t, "[data-testid=custom-visits]"); got != "3" {
			t.Errorf("custom field visits: got %q, want 3", got)
		}
		c := page.Hits[0].Client
		if c.Preferences.Language != "en-GB" || c.Preferences.Currency != "EUR" || c.Status != app.ClientLead {
			t.Errorf("stored: got %q %q %q, want en-GB EUR lead", c.Preferences.Language, c.Preferences.Currency, c.Status)
		}
	})
}

// TestClientDuplicateQuestion: a client that looks like an existing one is
// only created once the user confirms it is someone else.
func TestClientDuplicateQuestion(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	anna := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna", LastName: "Smith", BirthDate: "1990-04-01",
		Contacts: []app.ContactInput{email("anna@example.com")}})
	same := url.Values{"first_name": {"anna"}, "last_name": {"Smith"}, "birth_date": {"1990-04-01"}}
	confirmed := url.Values{"first_name": {"Anna"}, "last_name": {"Smith"}, "birth_date": {"1990-04-01"}, "confirm_duplicates": {"true"}}
	dupLink := `[data-testid=duplicate] a[href="/clients/` + anna.ID + `"]`
	runClientCases(t, admin, "acme", []clientCase{
		{name: "Asked", method: "POST", path: "/clients", form: same, status: 200,
			sel: "[data-testid=confirm-duplicates] " + dupLink, text: "Anna Smith", check: wantClients(e, ws, 1)},
		{name: "AskedFormKept", method: "POST", path: "/clients", form: same, status: 200,
			sel: "[data-testid=confirm-duplicates] input[name=confirm_duplicates][value=true]", check: wantClients(e, ws, 1)},
		{name: "PanelByName", method: "POST", path: "/clients/duplicates", form: same, status: 200,
			sel: "[data-testid=duplicates-panel] " + dupLink, text: "Anna Smith"},
		{name: "PanelByEmail", method: "POST", path: "/clients/duplicates", form: url.Values{"contact_email": {" ANNA@example.com"}}, status: 200,
			sel: "[data-testid=duplicates-panel] [data-testid=duplicate]", text: "same email anna@example.com"},
		{name: "PanelNone", method: "POST", path: "/clients/duplicates", form: url.Values{"first_name": {"Zoe"}}, status: 200,
			absent: "[data-testid=duplicates-panel]"},
		{name: "Confirmed", method: "POST", path: "/clients", form: confirmed, status: http.StatusSeeOther, location: "/clients/",
			flash: "Client created.", check: wantClients(e, ws, 2)},
	})
	t.Run("PanelIsAFragment", func(t *testing.T) {
		if res := admin.post("acme", "/clients/duplicates", same); strings.Contains(res.Body, "<html") {
			t.Errorf("duplicates panel: got a whole page, want the fragment only")
		}
	})
}

// TestClientProfileActions: each change made from the profile works, and
// each refused one says why and changes nothing.
func TestClientProfileActions(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	ctx := context.Background()
	db := e.db(ws)
	anna := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna", LastName: "Smith",
		Contacts: []app.ContactInput{email("anna@example.com"), phone("+44 7911 123456")}})
	bob := mustClient(t, e, ws, app.ClientInput{FirstName: "Bob", LastName: "Other", Contacts: []app.ContactInput{email("bob@example.com")}})
	home, err := db.AddAddress(ctx, anna.ID, app.AddressInput{Type: app.AddressShipping, Street: "1 High St", City: "Leeds", Country: "GB"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	work, err := db.AddAddress(ctx, anna.ID, app.AddressInput{Type: app.AddressShipping, Street: "2 Mill Rd", City: "York", Country: "GB"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	note, err := db.AddNote(ctx, anna.ID, app.NoteInput{Body: "Prefers calls"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	bobNote, err := db.AddNote(ctx, bob.ID, app.NoteInput{Body: "Bob's note"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	var annaPhone, bobEmail string
	for _, k := range mustProfile(t, e, ws, anna.ID).Contacts {
		if k.Type == app.ContactPhone {
			annaPhone = k.ID
		}
	}
	bobEmail = mustProfile(t, e, ws, bob.ID).Contacts[0].ID

	p := "/clients/" + anna.ID
	count := func(what string, want int) func(t *testing.T) {
		return func(t *testing.T) {
			pr := mustProfile(t, e, ws, anna.ID)
			got := map[string]int{"contacts": len(pr.Contacts), "addresses": len(pr.Addresses), "notes": len(pr.Notes)}[what]
			if got != want {
				t.Errorf("%s of Anna: got %d, want %d", what, got, want)
			}
		}
	}
	defaultIs := func(id string) func(t *testing.T) {
		return func(t *testing.T) {
			for _, a := range mustProfile(t, e, ws, anna.ID).Addresses {
				if a.Type == app.AddressShipping && a.IsDefault != (a.ID == id) {
					t.Errorf("address %s: default %t, want only %s default", a.Street, a.IsDefault, id)
				}
			}
		}
	}
	statusIs := func(want app.ClientStatus) func(t *testing.T) {
		return func(t *testing.T) {
			if c, err := db.ClientByID(ctx, anna.ID); err != nil || c.Status != want {
				t.Errorf("status: got %v (%v), want %s", c, err, want)
			}
		}
	}
	form := func(kv ...string) url.Values {
		f := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	addr := func(kv ...string) url.Values {
		return form(append([]string{"type", "billing", "street", "5 Main St", "city", "Springfield", "country", "US"}, kv...)...)
	}
	runClientCases(t, admin, "acme", []clientCase{
		{name: "AddContactOK", method: "POST", path: p + "/contacts", form: form("type", "email", "value", " Anna.Work@Example.com", "label", "Work"),
			status: 303, location: p + "#contacts", flash: "Contact added.", sel: "[data-testid=contacts]", text: "anna.work@example.com", check: count("contacts", 3)},
		{name: "ErrContactValue", method: "POST", path: p + "/contacts", form: form("type", "email", "value", "not-an-email"), status: 422,
			sel: "[data-testid=contact-form] [data-testid=error-contact-value]", text: "Enter a valid email address", check: count("contacts", 3)},
		{name: "ErrContactTaken", method: "POST", path: p + "/contacts", form: form("type", "email", "value", "BOB@example.com"), status: 409,
			sel: `[data-testid=contact-form] [data-testid=offer-merge][href="` + p + `/merge?other=` + bob.ID + `"]`, check: count("contacts", 3)},
		{name: "ErrContactTakenMessage", method: "POST", path: p + "/contacts", form: form("type", "email", "value", "bob@example.com"), status: 409,
			sel: "[data-testid=contact-form] [data-testid=alert]", text: "This email already belongs to Bob Other."},
		{name: "RemoveContactOK", method: "POST", path: p + "/contacts/" + annaPhone + "/delete", status: 303, location: p + "#contacts",
			flash: "Contact removed.", absent: "[data-testid=contact][data-contact-type=phone]", check: count("contacts", 2)},
		{name: "ErrRemoveOthersContact", method: "POST", path: p + "/contacts/" + bobEmail + "/delete", status: 404, text: "Contact not found.",
			check: func(t *testing.T) {
				if n := len(mustProfile(t, e, ws, bob.ID).Contacts); n != 1 {
					t.Errorf("Bob's contacts: got %d, want 1", n)
				}
			}},
		{name: "AddAddressOK", method: "POST", path: p + "/addresses", form: addr("postal_code", "62701"), status: 303, location: p + "#addresses",
			flash: "Address added.", sel: "[data-testid=addresses]", text: "62701 Springfield", check: count("addresses", 3)},
		{name: "ErrAddressCountry", method: "POST", path: p + "/addresses", form: addr("country", "XX"), status: 422,
			sel: "[data-testid=address-form] [data-testid=error-country]", text: "two-letter ISO 3166 country code", check: count("addresses", 3)},
		{name: "ErrAddressPostalCode", method: "POST", path: p + "/addresses", form: addr("postal_code", "ABC"), status: 422,
			sel: "[data-testid=address-form] [data-testid=error-postal_code]", text: "does not look right for United States", check: count("addresses", 3)},
		{name: "ErrAddressStreetOrCity", method: "POST", path: p + "/addresses", form: addr("street", "", "city", ""), status: 422,
			sel: "[data-testid=address-form] [data-testid=error-street]", text: "Enter a street or a city.", check: count("addresses", 3)},
		{name: "MakeDefaultOK", method: "POST", path: p + "/addresses/" + work.ID + "/default", status: 303, location: p + "#addresses",
			flash: "Default address changed.", check: defaultIs(work.ID)},
		{name: "RemoveDefaultAddressOK", method: "POST", path: p + "/addresses/" + work.ID + "/delete", status: 303, location: p + "#addresses",
			flash: "Address removed.", check: defaultIs(home.ID)},
		{name: "AddNoteOK", method: "POST", path: p + "/notes", form: form("type", "sales", "body", "Asked about the renewal"), status: 303,
			location: p + "#notes", flash: "Note added.", sel: "[data-testid=notes]", text: "Asked about the renewal", check: count("notes", 2)},
		{name: "ErrNoteEmpty", method: "POST", path: p + "/notes", form: form("body", "   "), status: 422,
			sel: "[data-testid=note-form] [data-testid=error-note-body]", text: "Write something first.", check: count("notes", 2)},
		{name: "EditNoteOK", method: "POST", path: p + "/notes/" + note.ID, form: form("type", "general", "body", "Prefers email"), status: 303,
			location: p + "#notes", flash: "Note saved.", sel: "[data-testid=notes]", text: "Prefers email", check: func(t *testing.T) {
				wantEvent(t, e, ws, anna.ID, app.EventNoteEdited, "previous_body", "Prefers calls")
			}},
		{name: "ErrEditNoteEmpty", method: "POST", path: p + "/notes/" + note.ID, form: form("body", ""), status: 303,
			flash: "Write something first.", sel: "[data-testid=notes]", text: "Prefers email"},
		{name: "ErrDeleteOthersNote", method: "POST", path: p + "/notes/" + bobNote.ID + "/delete", status: 404, text: "Note not found."},
		{name: "DeleteNoteOK", method: "POST", path: p + "/notes/" + note.ID + "/delete", status: 303, location: p + "#notes",
			flash: "Note deleted.", check: func(t *testing.T) {
				count("notes", 1)(t)
				wantEvent(t, e, ws, anna.ID, app.EventNoteDeleted, "previous_body", "Prefers email")
			}},
		{name: "StatusOK", method: "POST", path: p + "/status", form: form("status", "active"), status: 303, location: p,
			flash: "Status changed.", sel: "[data-testid=client-status]", text: "Active", check: statusIs(app.ClientActive)},
		{name: "ErrStatusBackToLead", method: "POST", path: p + "/status", form: form("status", "lead"), status: 303, location: p,
			flash: "A client that is active cannot become lead.", sel: "[data-testid=client-status]", text: "Active", check: statusIs(app.ClientActive)},
		{name: "ErrStatusUnknown", method: "POST", path: p + "/status", form: form("status", "vip"), status: 303,
			flash: "Choose a status", check: statusIs(app.ClientActive)},
		{name: "DeleteOK", method: "POST", path: p + "/delete", status: 303, location: "/clients", flash: "Client deleted.", check: wantClients(e, ws, 1)},
		{name: "DeletedIsNotFound", path: p, status: 404, sel: "[data-testid=error-page]", text: "Client not found."},
	})
}

// wantEvent checks that a client's timeline has an event of typ whose
// payload has key set to want.
func wantEvent(t *testing.T, e *env, ws *tenantdb.Workspace, clientID, typ, key, want string) {
	t.Helper()
	evs, _, err := e.db(ws).ClientTimeline(context.Background(), clientID, app.TimelineFilter{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, ev := range evs {
		var p map[string]any
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p[key] == want {
			return
		}
		seen = append(seen, fmt.Sprint(p[key]))
	}
	t.Errorf("%s events: %s got %q, want one with %q", typ, key, seen, want)
}

// rowIDs lists the client ids of the rows in a page or a fragment of rows.
func rowIDs(t *testing.T, res response) []string {
	t.Helper()
	body := res.Body
	if !strings.Contains(body, "<table") {
		body = "<table><tbody>" + body + "</tbody></table>" // bare rows only parse inside a table
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc.Find("[data-testid=client-row]").Map(func(_ int, s *goquery.Selection) string {
		return s.AttrOr("data-client-id", "")
	})
}

// TestClientSearch: the list searches as you type, marks what matched,
// escapes what clients typed, and filters.
func TestClientSearch(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	anna := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna", LastName: "Smith", OwnerID: ws.Admin.ID,
		Contacts: []app.ContactInput{phone("+44 7911 123456")}})
	annabel := mustClient(t, e, ws, app.ClientInput{FirstName: "Annabel", LastName: "Jones", Tags: []string{"vip"}})
	bob := mustClient(t, e, ws, app.ClientInput{FirstName: "Bob", LastName: "Brown", Status: app.ClientActive})
	evil := mustClient(t, e, ws, app.ClientInput{FirstName: "<script>x</script>", LastName: "Hacker"})
	hx := map[string]string{"HX-Request": "true", "HX-Target": "client-results"}
	all := []*app.Client{evil, anna, annabel, bob} // by name
	for _, tt := range []struct {
		name     string
		path     string
		header   map[string]string
		fragment bool
		rows     []*app.Client
		sel      string
		text     string
		absent   string
	}{
		// A search lists the newest matches first, unless a sort is chosen.
		{name: "PrefixPage", path: "/clients?q=ann", rows: []*app.Client{annabel, anna}, sel: "[data-testid=client-search][value=ann]"},
		{name: "PrefixPageByName", path: "/clients?q=ann&sort=name", rows: all[1:3]},
		{name: "PrefixFragment", path: "/clients?q=ann&sort=name", header: hx, fragment: true, rows: all[1:3], absent: "[data-testid=client-filters]"},
		{name: "HXRequestOtherTarget", path: "/clients?q=ann&sort=name", header: map[string]string{"HX-Request": "true"}, rows: all[1:3],
			sel: "[data-testid=client-filters]"},
		{name: "PrefixMarked", path: "/clients?q=ann&sort=name", header: hx, fragment: true, rows: all[1:3],
			sel: `[data-client-id="` + anna.ID + `"] [data-testid=client-link] mark`, text: "Ann"},
		{name: "TwoWords", path: "/clients?q=ann+smi", rows: []*app.Client{anna}},
		{name: "PhoneFragment", path: "/clients?q=7911", header: hx, fragment: true, rows: []*app.Client{anna}},
		{name: "PhoneInternational", path: "/clients?q=%2B44+7911+12", rows: []*app.Client{anna}},
		{name: "PhoneNational", path: "/clients?q=07911+123", rows: []*app.Client{anna}},
		{name: "HTMLEscapedFragment", path: "/clients?q=script", header: hx, fragment: true, rows: []*app.Client{evil},
			sel: "[data-testid=client-link]", text: "<script>x</script>", absent: "script"},
		{name: "HTMLEscapedPage", path: "/clients?q=script", rows: []*app.Client{evil},
			sel: "#client-results [data-testid=client-link]", text: "<script>x</script>", absent: "#client-results script"},
		{name: "HTMLEscapedList", path: "/clients", rows: all, absent: "#client-results script"},
		{name: "NoMatch", path: "/clients?q=zzz", header: hx, fragment: true, sel: "[data-testid=empty]", text: "No clients match"},
		{name: "OnlyPunctuation", path: "/clients?q=%22%29*", sel: "[data-testid=empty]", text: "No clients match"},
		{name: "FilterStatus", path: "/clients?status=active", rows: []*app.Client{bob}},
		{name: "FilterOwner", path: "/clients?owner_id=" + ws.Admin.ID, rows: []*app.Client{anna}},
		{name: "FilterTag", path: "/clients?tag=vip", rows: []*app.Client{annabel}},
		{name: "FilterTagAndQuery", path: "/clients?tag=vip&q=smith", sel: "[data-testid=empty]", text: "No clients match"},
		{name: "FilterFromTomorrow", path: "/clients?created_from=2026-11-24", sel: "[data-testid=empty]", text: "No clients match"},
		{name: "FilterToday", path: "/clients?created_from=2026-11-23&created_to=2026-11-23", rows: all},
		{name: "FilterToYesterday", path: "/clients?created_to=2026-11-22", sel: "[data-testid=empty]", text: "No clients match"},
		{name: "ErrFromDate", path: "/clients?created_from=yesterday", sel: "#client-results [data-testid=alert]", text: "Enter a date as YYYY-MM-DD.",
			absent: "[data-testid=empty]"},
		{name: "ErrFromDateFragment", path: "/clients?created_from=2026-13-01", header: hx, fragment: true, sel: "[data-testid=alert]",
			text: "Enter a date as YYYY-MM-DD."},
		{name: "ErrSort", path: "/clients?sort=shoe", sel: "#client-results [data-testid=alert]", text: "Sort by name, created or activity."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := clientCase{path: tt.path, header: tt.header}.do(admin, "acme")
			if res.Status != http.StatusOK {
				t.Fatalf("got status %d, want 200", res.Status)
			}
			if whole := strings.Contains(res.Body, "<html"); whole == tt.fragment {
				t.Errorf("whole page: got %t, want %t", whole, !tt.fragment)
			}
			var want []string
			for _, c := range tt.rows {
				want = append(want, c.ID)
			}
			if got := rowIDs(t, res); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("rows: got %v, want %v", got, want)
			}
			clientCase{status: 200, sel: tt.sel, text: tt.text, absent: tt.absent}.assert(t, admin, "acme", res)
			if strings.Contains(res.Body, "<script>x</script>") {
				t.Error("the client's name is in the page unescaped")
			}
		})
	}
}

// TestClientListPages: the list shows 50 clients and loads the rest with
// "load more", as rows for htmx and as a page without JavaScript.
func TestClientListPages(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	for i := range 60 {
		mustClient(t, e, ws, app.ClientInput{FirstName: "Client", LastName: fmt.Sprintf("%02d", i)})
	}
	first := admin.get("acme", "/clients")
	more := first.Doc(t).Find("[data-testid=load-more]")
	if got := len(rowIDs(t, first)); got != 50 || more.Length() != 1 {
		t.Fatalf("first page: got %d rows and %d load-more links, want 50 and 1", got, more.Length())
	}
	seen := map[string]bool{}
	for _, id := range rowIDs(t, first) {
		seen[id] = true
	}
	for name, href := range map[string]string{"Fragment": more.AttrOr("hx-get", ""), "Page": more.AttrOr("href", "")} {
		t.Run(name, func(t *testing.T) {
			if !strings.HasPrefix(href, "/clients?") {
				t.Fatalf("link: got %q, want a /clients URL", href)
			}
			res := admin.get("acme", href)
			rows := rowIDs(t, res)
			if res.Status != 200 || len(rows) != 10 {
				t.Fatalf("got status %d and %d rows, want 200 and 10", res.Status, len(rows))
			}
			for _, id := range rows {
				if seen[id] {
					t.Errorf("client %s is on both pages", id)
				}
			}
			if strings.Contains(res.Body, `data-testid="load-more"`) {
				t.Error("the last page has a load-more link")
			}
			if whole := strings.Contains(res.Body, "<html"); whole != (name == "Page") {
				t.Errorf("whole page: got %t, want %t", whole, name == "Page")
			}
		})
	}
}

// TestClientEdit: the edit form saves the profile, and a refused save says
// what is wrong next to the field and keeps what was stored.
func TestClientEdit(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	anna := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna", LastName: "Smith", Tags: []string{"vip"}})
	p := "/clients/" + anna.ID
	stored := func(first, last string) func(t *testing.T) {
		return func(t *testing.T) {
			if c := mustProfile(t, e, ws, anna.ID).Client; c.FirstName != first || c.LastName != last {
				t.Errorf("stored name: got %q %q, want %q %q", c.FirstName, c.LastName, first, last)
			}
		}
	}
	runClientCases(t, admin, "acme", []clientCase{
		{name: "ErrFirstNameRequired", method: "POST", path: p, form: url.Values{"first_name": {" "}, "last_name": {"Jones"}}, status: 422,
			sel: "[data-testid=client-form] [data-testid=error-first_name]", text: "Enter a first name.", check: stored("Anna", "Smith")},
		{name: "ErrFormKeepsInput", method: "POST", path: p, form: url.Values{"first_name": {""}, "last_name": {"Jones"}}, status: 422,
			sel: "[data-testid=client-form] input[name=last_name][value=Jones]"},
		{name: "ErrBirthDateFuture", method: "POST", path: p, form: url.Values{"first_name": {"Anna"}, "birth_date": {"2030-01-01"}}, status: 422,
			sel: "[data-testid=error-birth_date]", text: "between 1900 and today", check: stored("Anna", "Smith")},
		{name: "OK", method: "POST", path: p, form: url.Values{"first_name": {"Anna"}, "last_name": {"Jones"}, "tags": {"vip, b2b"}}, status: 303,
			location: p, flash: "Changes saved.", sel: "[data-testid=client-details]", text: "Anna Jones", check: stored("Anna", "Jones")},
		{name: "OKTimeline", path: p, status: 200, sel: "[data-testid=timeline-item][data-event-type=ProfileUpdated]", text: "last name from “Smith” to “Jones”"},
	})
}

// TestClientTimelinePages: the timeline shows 30 events and fetches older
// ones as items for htmx, or as the whole profile without JavaScript.
func TestClientTimelinePages(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	anna := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna"})
	for i := range 35 {
		if _, err := e.db(ws).AddNote(context.Background(), anna.ID, app.NoteInput{Body: fmt.Sprintf("Note %d", i)}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	res := admin.get("acme", "/clients/"+anna.ID)
	doc := res.Doc(t)
	more := doc.Find("[data-testid=timeline-more]")
	if n := doc.Find("[data-testid=timeline-item]").Length(); n != 30 || more.Length() != 1 {
		t.Fatalf("profile timeline: got %d items and %d older links, want 30 and 1", n, more.Length())
	}
	older := clientCase{path: more.AttrOr("hx-get", ""), header: map[string]string{"HX-Request": "true"}}.do(admin, "acme")
	items, _ := goquery.NewDocumentFromReader(strings.NewReader("<ol>" + older.Body + "</ol>"))
	if n := items.Find("[data-testid=timeline-item]").Length(); older.Status != 200 || n != 6 || strings.Contains(older.Body, "<html") {
		t.Errorf("older items: got status %d, %d items, whole page %t; want 200, 6 items, a fragment", older.Status, n, strings.Contains(older.Body, "<html"))
	}
	if items.Find("[data-testid=timeline-more]").Length() != 0 {
		t.Error("the oldest items have an older link")
	}
	page := admin.get("acme", more.AttrOr("href", ""))
	if n := page.Doc(t).Find("[data-testid=timeline-item]").Length(); page.Status != 200 || n != 6 || page.Doc(t).Find("[data-testid=profile-header]").Length() != 1 {
		t.Errorf("older page without htmx: got status %d with %d items, want 200, the profile and 6 items", page.Status, n)
	}
}
