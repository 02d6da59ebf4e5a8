package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"parley/app"
)

// TestClientMergePage: merging from the page moves the other client's
// contacts to the survivor and sends its links there; a merge that cannot
// be done says why and changes nothing.
func TestClientMergePage(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	keep := mustClient(t, e, ws, app.ClientInput{FirstName: "Ann", LastName: "Smith", Contacts: []app.ContactInput{email("ann@example.com")}})
	gone := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna", LastName: "Smith", BirthDate: "1990-04-01",
		Contacts: []app.ContactInput{email("anna@example.com"), phone("+44 7911 123456")}})
	p := "/clients/" + keep.ID
	unchanged := func(t *testing.T) {
		t.Helper()
		if pr := mustProfile(t, e, ws, keep.ID); pr.Client.FirstName != "Ann" || len(pr.Contacts) != 1 {
			t.Errorf("survivor: got %q with %d contacts, want Ann with 1", pr.Client.FirstName, len(pr.Contacts))
		}
		if _, err := e.db(ws).ClientByID(context.Background(), gone.ID); err != nil {
			t.Errorf("other client: got %v, want it still there", err)
		}
	}
	merge := func(kv ...string) url.Values {
		f := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	runClientCases(t, admin, "acme", []clientCase{
		{name: "ErrMergeWithItself", method: "POST", path: p + "/merge", form: merge("other_id", keep.ID), status: 422,
			sel: "[data-testid=alert]", text: "A client cannot be merged with itself.", absent: "[data-testid=merge-form]", check: unchanged},
		{name: "ErrMergeMissing", method: "POST", path: p + "/merge", form: merge("other_id", "01JAAAAAAAAAAAAAAAAAAAAAAA"), status: 422,
			sel: "[data-testid=alert]", text: "Client not found.", absent: "[data-testid=merge-form]", check: unchanged},
		{name: "ErrMergeNoOther", method: "POST", path: p + "/merge", form: merge(), status: 422,
			sel: "[data-testid=alert]", text: "Choose the client to merge into this one.", check: unchanged},
		{name: "ErrMergeUnknownField", method: "POST", path: p + "/merge", form: merge("other_id", gone.ID, "pick_shoe_size", "theirs"), status: 422,
			sel: "[data-testid=alert]", text: "There is no field", check: unchanged},
		{name: "ComparePage", path: p + "/merge?other=" + gone.ID, status: 200,
			sel: "[data-testid=merge-row][data-field=first_name] input[name=pick_first_name][value=theirs]"},
		{name: "OK", method: "POST", path: p + "/merge", form: merge("other_id", gone.ID, "pick_first_name", "theirs", "pick_last_name", "mine"),
			status: 303, location: p, flash: "Anna Smith was merged into Anna Smith.", sel: "[data-testid=contacts]", text: "+44 7911 123456",
			check: func(t *testing.T) {
				pr := mustProfile(t, e, ws, keep.ID)
				if pr.Client.FirstName != "Anna" || pr.Client.BirthDate != "1990-04-01" || len(pr.Contacts) != 3 {
					t.Errorf("survivor: got %q born %q with %d contacts, want Anna born 1990-04-01 with 3", pr.Client.FirstName, pr.Client.BirthDate, len(pr.Contacts))
				}
				wantEvent(t, e, ws, keep.ID, app.EventClientMerged, "merged_id", gone.ID)
			}},
		{name: "MergedRedirects", path: "/clients/" + gone.ID, status: http.StatusMovedPermanently, location: p},
		{name: "MergedEditRedirects", path: "/clients/" + gone.ID + "/edit", status: http.StatusMovedPermanently, location: p},
		{name: "MergedPostGoesToSurvivor", method: "POST", path: "/clients/" + gone.ID + "/notes", form: merge("body", "Hello"),
			status: 303, location: p, flash: "That client was merged into this one."},
		{name: "ErrMergeAgain", method: "POST", path: p + "/merge", form: merge("other_id", gone.ID), status: 422,
			sel: "[data-testid=alert]", text: "merged already"},
	})
}

// TestClientPermissions: an agent sees clients and writes notes but does
// not manage them; sales manage clients but not the workspace's fields.
func TestClientPermissions(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	ctx := context.Background()
	db := e.db(ws)
	anna := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna", LastName: "Smith"})
	twin := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna", LastName: "Smyth"})
	users := map[app.Role]*browser{}
	for _, role := range []app.Role{app.RoleAgent, app.RoleSales} {
		addr := string(role) + "@acme.example"
		if _, err := db.CreateUser(ctx, app.NewUser{Email: addr, Name: role.Label() + " Person", Password: "a good long password", Role: role}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
		users[role] = e.browser()
		users[role].login("acme", addr, "a good long password")
	}
	p := "/clients/" + anna.ID
	forbidden := func(name, method, path string, form url.Values) clientCase {
		return clientCase{name: name, method: method, path: path, form: form, status: 403, sel: "[data-testid=error-page]",
			text: "does not allow this", check: func(t *testing.T) {
				if n := clientTotal(t, e, ws); n != 2 {
					t.Errorf("clients: got %d, want the 2 there were", n)
				}
			}}
	}
	t.Run("Agent", func(t *testing.T) {
		runClientCases(t, users[app.RoleAgent], "acme", []clientCase{
			{name: "ListOK", path: "/clients", status: 200, sel: "[data-testid=client-row]", text: "Anna Smith", absent: "[data-testid=new-client]"},
			{name: "ProfileOK", path: p, status: 200, sel: "[data-testid=note-form]", absent: "[data-testid=edit-client], [data-testid=contact-form]"},
			{name: "AddNoteOK", method: "POST", path: p + "/notes", form: url.Values{"body": {"Called back"}}, status: 303,
				flash: "Note added.", sel: "[data-testid=notes]", text: "Called back"},
			forbidden("ErrNewForm", "GET", "/clients/new", nil),
			forbidden("ErrCreate", "POST", "/clients", url.Values{"first_name": {"Eve"}}),
			forbidden("ErrEditForm", "GET", p+"/edit", nil),
			forbidden("ErrSave", "POST", p, url.Values{"first_name": {"Eve"}}),
			forbidden("ErrStatus", "POST", p+"/status", url.Values{"status": {"active"}}),
			forbidden("ErrAddContact", "POST", p+"/contacts", url.Values{"type": {"email"}, "value": {"eve@example.com"}}),
			forbidden("ErrMergePage", "GET", p+"/merge", nil),
			forbidden("ErrMerge", "POST", p+"/merge", url.Values{"other_id": {twin.ID}}),
			forbidden("ErrDelete", "POST", p+"/delete", nil),
			forbidden("ErrCustomFields", "GET", "/settings/fields", nil),
			forbidden("ErrWorkspaceSettings", "GET", "/settings/workspace", nil),
		})
		if _, err := db.ClientByID(ctx, twin.ID); err != nil {
			t.Errorf("after the agent's refused merge: got %v, want the other client intact", err)
		}
	})
	t.Run("Sales", func(t *testing.T) {
		runClientCases(t, users[app.RoleSales], "acme", []clientCase{
			forbidden("ErrCustomFields", "GET", "/settings/fields", nil),
			forbidden("ErrCreateField", "POST", "/settings/fields", url.Values{"label": {"Shoe size"}, "type": {"number"}}),
			{name: "NewFormOK", path: "/clients/new", status: 200, sel: "[data-testid=client-form]"},
			{name: "CreateOK", method: "POST", path: "/clients", form: url.Values{"first_name": {"Sam"}}, status: 303, location: "/clients/",
				flash: "Client created.", check: wantClients(e, ws, 3)},
		})
	})
	t.Run("AdminNavigation", func(t *testing.T) {
		res := admin.get("acme", p)
		if res.Doc(t).Find("[data-testid=edit-client], [data-testid=merge-client], [data-testid=delete-client]").Length() != 3 {
			t.Error("admin's profile: want the edit, merge and delete actions")
		}
	})
}

// TestClientIsolation: another workspace's client id is answered exactly
// like an id that never existed, and search stays in its workspace.
func TestClientIsolation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alpha, bravo := e.workspace("alpha"), e.workspace("bravo")
	alice := mustClient(t, e, alpha, app.ClientInput{FirstName: "Alice", LastName: "Alpha", Contacts: []app.ContactInput{email("alice@example.com")}})
	bruno := mustClient(t, e, bravo, app.ClientInput{FirstName: "Bruno", LastName: "Bravo"})
	ab, bb := e.browser(), e.browser()
	ab.login("alpha", "admin@alpha.example", "correct horse battery")
	bb.login("bravo", "admin@bravo.example", "correct horse battery")
	const missing = "01JAAAAAAAAAAAAAAAAAAAAAAA"

	for _, tt := range []struct {
		name, method, suffix string
		form                 url.Values
		status               int
	}{
		{"Profile", "GET", "", nil, 404},
		{"Edit", "GET", "/edit", nil, 404},
		{"Merge", "GET", "/merge", nil, 404},
		{"Timeline", "GET", "/timeline", nil, 404},
		{"Save", "POST", "", url.Values{"first_name": {"Mallory"}}, 404},
		{"AddContact", "POST", "/contacts", url.Values{"type": {"email"}, "value": {"mallory@example.com"}}, 404},
		{"AddAddress", "POST", "/addresses", url.Values{"type": {"billing"}, "city": {"Paris"}, "country": {"FR"}}, 404},
		{"AddNote", "POST", "/notes", url.Values{"body": {"Gotcha"}}, 404},
		{"Status", "POST", "/status", url.Values{"status": {"archived"}}, 404},
		{"Delete", "POST", "/delete", nil, 404},
		{"MergeInto", "POST", "/merge", url.Values{"other_id": {bruno.ID}}, 404},
	} {
		t.Run("ForeignIDLooksMissing/"+tt.name, func(t *testing.T) {
			foreign := clientCase{method: tt.method, path: "/clients/" + alice.ID + tt.suffix, form: tt.form}.do(bb, "bravo")
			absent := clientCase{method: tt.method, path: "/clients/" + missing + tt.suffix, form: tt.form}.do(bb, "bravo")
			if foreign.Status != tt.status || absent.Status != tt.status {
				t.Fatalf("got statuses %d (foreign) and %d (missing), want %d for both", foreign.Status, absent.Status, tt.status)
			}
			if f, m := stripNonce(foreign.Body), stripNonce(absent.Body); f != m {
				t.Errorf("foreign id answer differs from missing id answer:\n%s\n---\n%s", snippet(pageText(t, foreign)), snippet(pageText(t, absent)))
			}
		})
	}
	t.Run("ForeignIDLooksMissing/MergeOther", func(t *testing.T) {
		path := "/clients/" + bruno.ID + "/merge"
		foreign := bb.post("bravo", path, url.Values{"other_id": {alice.ID}})
		absent := bb.post("bravo", path, url.Values{"other_id": {missing}})
		if foreign.Status != http.StatusUnprocessableEntity || absent.Status != foreign.Status {
			t.Fatalf("got statuses %d (foreign) and %d (missing), want 422 for both", foreign.Status, absent.Status)
		}
		if f, m := stripNonce(foreign.Body), stripNonce(absent.Body); f != m {
			t.Errorf("foreign id answer differs from missing id answer:\n%s\n---\n%s", snippet(pageText(t, foreign)), snippet(pageText(t, absent)))
		}
	})
	t.Run("ForeignClientUntouched", func(t *testing.T) {
		pr := mustProfile(t, e, alpha, alice.ID)
		if pr.Client.FirstName != "Alice" || pr.Client.Status != app.ClientLead || len(pr.Contacts) != 1 || len(pr.Notes) != 0 || len(pr.Addresses) != 0 {
			t.Errorf("alice after bravo's attempts: got %q %s with %d contacts, %d notes, %d addresses",
				pr.Client.FirstName, pr.Client.Status, len(pr.Contacts), len(pr.Notes), len(pr.Addresses))
		}
	})
	t.Run("SearchStaysHome", func(t *testing.T) {
		for _, tt := range []struct {
			b          *browser
			host, path string
			want       []string
		}{
			{ab, "alpha", "/clients", []string{alice.ID}},
			{ab, "alpha", "/clients?q=bru", nil},
			{ab, "alpha", "/clients?q=bravo", nil},
			{bb, "bravo", "/clients", []string{bruno.ID}},
			{bb, "bravo", "/clients?q=alice%40example.com", nil},
		} {
			if got := rowIDs(t, tt.b.get(tt.host, tt.path)); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("%s %s: got rows %v, want %v", tt.host, tt.path, got, tt.want)
			}
		}
		// The duplicate check does not look across workspaces either.
		res := bb.post("bravo", "/clients/duplicates", url.Values{"contact_email": {"alice@example.com"}})
		if strings.Contains(res.Body, "Alice") {
			t.Errorf("bravo's duplicate panel names alpha's client: %s", snippet(res.Body))
		}
	})
}

// TestClientCrossOriginCreateRefused: a create posted from another site is
// refused and writes nothing.
func TestClientCrossOriginCreateRefused(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	anna := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna"})
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site"}
	runClientCases(t, admin, "acme", []clientCase{
		{name: "ErrCrossSiteCreate", method: "POST", path: "/clients", form: url.Values{"first_name": {"Mallory"}},
			header: crossSite, status: 403, text: "sent from another site", check: wantClients(e, ws, 1)},
		{name: "ErrCrossSiteDelete", method: "POST", path: "/clients/" + anna.ID + "/delete",
			header: crossSite, status: 403, text: "sent from another site", check: wantClients(e, ws, 1)},
		{name: "ErrForeignOrigin", method: "POST", path: "/clients", form: url.Values{"first_name": {"Mallory"}},
			header: map[string]string{"Sec-Fetch-Site": "", "Origin": "http://evil.example"}, status: 403, check: wantClients(e, ws, 1)},
	})
}

// TestAddContactLikelyDuplicate: a WhatsApp number that another client has
// as a phone is asked about before it is added; confirmed, it is added.
func TestAddContactLikelyDuplicate(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	mustClient(t, e, ws, app.ClientInput{FirstName: "Anna", Contacts: []app.ContactInput{phone("+44 7911 123456")}})
	ann := mustClient(t, e, ws, app.ClientInput{FirstName: "Ann"})
	form := url.Values{"type": {"whatsapp"}, "value": {"+447911123456"}}
	res := admin.post("acme", "/clients/"+ann.ID+"/contacts", form)
	if res.Status != http.StatusOK {
		t.Fatalf("first try: got %d, want 200 with the question", res.Status)
	}
	if got := res.Text(t, "[data-testid=contact-duplicates] [data-testid=duplicate] a"); got != "Anna" {
		t.Errorf("likely duplicate: got %q, want Anna", got)
	}
	if p, _ := e.db(ws).ClientProfile(context.Background(), ann.ID); len(p.Contacts) != 0 {
		t.Fatalf("contact added before the question was answered: %v", p.Contacts)
	}
	form.Set("confirm_duplicates", "true")
	if res := admin.post("acme", "/clients/"+ann.ID+"/contacts", form); res.Status != http.StatusSeeOther {
		t.Fatalf("confirmed: got %d, want 303", res.Status)
	}
	if p, _ := e.db(ws).ClientProfile(context.Background(), ann.ID); len(p.Contacts) != 1 {
		t.Errorf("contacts after confirming: got %d, want 1", len(p.Contacts))
	}
	// The same number as a phone again is refused outright, with a merge offer.
	res = admin.post("acme", "/clients/"+ann.ID+"/contacts", url.Values{"type": {"phone"}, "value": {"+44 7911 123456"}})
	if res.Status != http.StatusConflict || res.Doc(t).Find("[data-testid=offer-merge]").Length() != 1 {
		t.Errorf("same phone: got %d, want 409 with a merge offer", res.Status)
	}
}

// TestNoteAuthorship: an agent edits and deletes their own notes but not
// an admin's; the admin may change any note.
func TestNoteAuthorship(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	ctx := context.Background()
	db := e.db(ws)
	c := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna"})
	if _, err := db.CreateUser(ctx, app.NewUser{Email: "agent@acme.example", Name: "Agent", Password: "a good long password", Role: app.RoleAgent}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	agent := e.browser()
	agent.login("acme", "agent@acme.example", "a good long password")
	admin.post("acme", "/clients/"+c.ID+"/notes", url.Values{"body": {"Asked for her data under GDPR art. 15"}, "type": {"compliance"}})
	agent.post("acme", "/clients/"+c.ID+"/notes", url.Values{"body": {"Called back"}})
	p, _ := db.ClientProfile(ctx, c.ID)
	byBody := map[string]string{}
	for _, n := range p.Notes {
		byBody[n.Body] = n.ID
	}
	adminNote, agentNote := byBody["Asked for her data under GDPR art. 15"], byBody["Called back"]
	if res := agent.get("acme", "/clients/"+c.ID); strings.Count(res.Body, `class="note-edit"`) != 1 {
		t.Errorf("agent's profile: got %d note edit controls, want 1 (their own note)", strings.Count(res.Body, `class="note-edit"`))
	}
	agent.post("acme", "/clients/"+c.ID+"/notes/"+adminNote, url.Values{"body": {"nothing here"}, "type": {"general"}})
	agent.post("acme", "/clients/"+c.ID+"/notes/"+adminNote+"/delete", nil)
	agent.post("acme", "/clients/"+c.ID+"/notes/"+agentNote, url.Values{"body": {"Called back twice"}, "type": {"general"}})
	p, _ = db.ClientProfile(ctx, c.ID)
	var bodies []string
	for _, n := range p.Notes {
		bodies = append(bodies, n.Body)
	}
	if got := strings.Join(bodies, " | "); !strings.Contains(got, "GDPR art. 15") || !strings.Contains(got, "Called back twice") {
		t.Errorf("notes: got %q, want the admin's untouched and the agent's edited", got)
	}
	if res := admin.post("acme", "/clients/"+c.ID+"/notes/"+agentNote+"/delete", nil); res.Status != http.StatusSeeOther {
		t.Errorf("admin deleting the agent's note: got %d, want 303", res.Status)
	}
	if p, _ = db.ClientProfile(ctx, c.ID); len(p.Notes) != 1 {
		t.Errorf("notes after the admin's delete: got %d, want 1", len(p.Notes))
	}
}
