package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"

	"parley/app"
	"parley/tenantdb"
)

// apiClient calls one workspace's /api/v1 with one token.
type apiClient struct {
	t     testing.TB
	e     *env
	db    *tenantdb.DB
	host  string
	token string
}

// apiClient makes a token with role on ws and returns a client that uses it.
func (e *env) apiClient(ws *tenantdb.Workspace, role app.Role) apiClient {
	e.t.Helper()
	db := e.db(ws)
	_, secret, err := db.CreateToken(context.Background(), app.NewAPIToken{Name: "sync " + string(role), Role: role}, app.CLIActor)
	if err != nil {
		e.t.Fatal(err)
	}
	return apiClient{t: e.t, e: e, db: db, host: ws.Tenant.Slug, token: secret}
}

// call sends method to path with body: nil sends none, a string is sent as
// it is, anything else as JSON.
func (a apiClient) call(method, path string, body any) response {
	a.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			a.t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(method, hostURL(a.host, path), bytes.NewReader(raw))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	return a.e.browser().do(req)
}

// decode reads a response body as T, failing the test if it is not.
func decode[T any](t testing.TB, res response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(res.Body), &v); err != nil {
		t.Fatalf("decode %T: %v; body: %s", v, err, snippet(res.Body))
	}
	return v
}

// Shapes the tests read; the conformance test checks the full shapes.
type (
	apiErrorRes struct {
		Error struct {
			Code    string           `json:"code"`
			Message string           `json:"message"`
			Fields  []app.FieldError `json:"fields"`
			Ref     string           `json:"ref"`
		} `json:"error"`
	}
	clientRes struct {
		ID           string            `json:"id"`
		Name         string            `json:"name"`
		FirstName    string            `json:"first_name"`
		LastName     string            `json:"last_name"`
		Status       string            `json:"status"`
		Tags         []string          `json:"tags"`
		CustomFields map[string]string `json:"custom_fields"`
		Contacts     []app.Contact     `json:"contacts"`
		Addresses    []app.Address     `json:"addresses"`
		Notes        []app.Note        `json:"notes"`
		MergedIDs    []string          `json:"merged_ids"`
		Completeness struct {
			Percent int      `json:"percent"`
			Missing []string `json:"missing"`
		} `json:"completeness"`
	}
	clientListRes struct {
		Data []struct {
			ID        string        `json:"id"`
			Name      string        `json:"name"`
			Contacts  []app.Contact `json:"contacts"`
			Highlight *struct {
				Name    string `json:"name"`
				Snippet string `json:"snippet"`
			} `json:"highlight"`
		} `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}
	eventRes struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		ClientID string `json:"client_id"`
		Actor    struct {
			Type string `json:"type"`
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"actor"`
		Payload map[string]any `json:"payload"`
	}
	eventListRes struct {
		Data       []eventRes `json:"data"`
		NextCursor *string    `json:"next_cursor"`
	}
)

// create makes a client through the API and fails the test if it cannot.
func (a apiClient) create(body map[string]any) clientRes {
	a.t.Helper()
	res := a.call("POST", "/api/v1/clients", body)
	if res.Status != http.StatusCreated {
		a.t.Fatalf("create client: got %d, want 201; body: %s", res.Status, snippet(res.Body))
	}
	return decode[clientRes](a.t, res)
}

// state is everything a refused request must leave as it was: the newest
// event (every change writes one), the client list, and the named clients.
func (a apiClient) state(ids ...string) string {
	a.t.Helper()
	evs, err := a.db.ListEvents(context.Background(), app.EventFilter{Limit: 1})
	if err != nil {
		a.t.Fatal(err)
	}
	out := []string{evs[0].ID, a.call("GET", "/api/v1/clients?limit=200", nil).Body}
	for _, id := range ids {
		out = append(out, a.call("GET", "/api/v1/clients/"+id, nil).Body)
	}
	return strings.Join(out, "\n")
}

// apiCase is one request and what it must answer.
type apiCase struct {
	name   string
	method string
	path   string
	body   any
	status int
	field  string // a field the error names
	ref    string // the error's ref
	text   string // a part of the body
}

// run sends each case in turn. A refused request must change nothing: the
// state of the clients in watch is compared before and after.
func (a apiClient) run(t *testing.T, cases []apiCase, watch ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := ""
			if tc.status >= 400 {
				before = a.state(watch...)
			}
			res := a.call(tc.method, tc.path, tc.body)
			if res.Status != tc.status {
				t.Fatalf("%s %s: got %d, want %d; body: %s", tc.method, tc.path, res.Status, tc.status, snippet(res.Body))
			}
			if tc.text != "" && !strings.Contains(res.Body, tc.text) {
				t.Errorf("body: got %s, want it to contain %q", snippet(res.Body), tc.text)
			}
			if tc.status >= 400 {
				e := decode[apiErrorRes](t, res)
				if tc.field != "" && !slices.ContainsFunc(e.Error.Fields, func(f app.FieldError) bool { return f.Field == tc.field }) {
					t.Errorf("error fields: got %+v, want one naming %q", e.Error.Fields, tc.field)
				}
				if e.Error.Ref != tc.ref {
					t.Errorf("error ref: got %q, want %q", e.Error.Ref, tc.ref)
				}
				if after := a.state(watch...); after != before {
					t.Errorf("a refused request changed something:\nbefore: %s\nafter:  %s", snippet(before), snippet(after))
				}
			}
		})
	}
}

// apiSetup starts a workspace "acme" with custom fields and an admin token.
func apiSetup(t *testing.T) (*env, *tenantdb.Workspace, apiClient) {
	t.Helper()
	e := setup(t)
	ws := e.workspace("acme")
	db := e.db(ws)
	for _, in := range []app.CustomFieldInput{
		{Label: "Tier", Type: app.FieldSelect, Options: []string{"gold", "silver"}},
		{Label: "Score", Type: app.FieldNumber},
		{Label: "VIP", Type: app.FieldCheckbox},
	} {
		if _, err := db.CreateCustomField(context.Background(), in, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	return e, ws, e.apiClient(ws, app.RoleAdmin)
}

func TestClientAPICreate(t *testing.T) {
	t.Parallel()
	_, _, a := apiSetup(t)
	anna := a.create(map[string]any{"first_name": "Anna", "last_name": "Smith",
		"contacts": []map[string]any{{"type": "email", "value": "anna@example.com"}}})

	valid := func(change func(m map[string]any)) map[string]any {
		m := map[string]any{"first_name": "Bob", "contacts": []map[string]any{{"type": "email", "value": "bob@example.com"}},
			"addresses": []map[string]any{{"type": "billing", "street": "1 High St", "city": "London", "postal_code": "SW1A 1AA", "country": "GB"}}}
		change(m)
		return m
	}
	const path = "/api/v1/clients"
	a.run(t, []apiCase{
		{name: "ErrFirstNameRequired", method: "POST", path: path, body: valid(func(m map[string]any) { m["first_name"] = "  " }),
			status: 422, field: "first_name"},
		{name: "ErrBadEmail", method: "POST", path: path, body: valid(func(m map[string]any) {
			m["contacts"] = []map[string]any{{"type": "email", "value": "bob@"}}
		}), status: 422, field: "contacts.0.value"},
		{name: "ErrBadPhone", method: "POST", path: path, body: valid(func(m map[string]any) {
			m["contacts"] = []map[string]any{{"type": "phone", "value": "12"}}
		}), status: 422, field: "contacts.0.value"},
		{name: "ErrDuplicateContact", method: "POST", path: path, body: valid(func(m map[string]any) {
			m["contacts"] = []map[string]any{{"type": "email", "value": " ANNA@example.com "}}
		}), status: 409, field: "contacts.0.value", ref: anna.ID, text: "already belongs to Anna Smith"},
		{name: "ErrUnknownCustomField", method: "POST", path: path, body: valid(func(m map[string]any) {
			m["custom_fields"] = map[string]any{"tier": "gold", "shoe_size": 42}
		}), status: 422, field: "custom_fields.shoe_size"},
		{name: "ErrCustomFieldBadChoice", method: "POST", path: path, body: valid(func(m map[string]any) {
			m["custom_fields"] = map[string]any{"tier": "bronze"}
		}), status: 422, field: "custom_fields.tier"},
		{name: "ErrCustomFieldNotScalar", method: "POST", path: path, body: valid(func(m map[string]any) {
			m["custom_fields"] = map[string]any{"tier": []string{"gold"}}
		}), status: 422, field: "custom_fields.tier"},
		{name: "ErrBadCountry", method: "POST", path: path, body: valid(func(m map[string]any) {
			m["addresses"] = []map[string]any{{"type": "billing", "city": "Atlantis", "country": "XX"}}
		}), status: 422, field: "addresses.0.country"},
		{name: "ErrBadPostalCode", method: "POST", path: path, body: valid(func(m map[string]any) {
			m["addresses"] = []map[string]any{{"type": "billing", "city": "London", "postal_code": "12345", "country": "GB"}}
		}), status: 422, field: "addresses.0.postal_code"},
		{name: "ErrBadStatus", method: "POST", path: path, body: valid(func(m map[string]any) { m["status"] = "vip" }),
			status: 422, field: "status"},
		{name: "ErrUnknownJSONField", method: "POST", path: path, body: valid(func(m map[string]any) { m["nickname"] = "Bobby" }),
			status: 422, field: "nickname"},
		{name: "ErrUnknownNestedJSONField", method: "POST", path: path, body: valid(func(m map[string]any) {
			m["contacts"] = []map[string]any{{"type": "email", "value": "bob@example.com", "primary": true}}
		}), status: 422, field: "primary"},
		{name: "ErrWrongJSONType", method: "POST", path: path, body: valid(func(m map[string]any) { m["first_name"] = 7 }),
			status: 422, field: "first_name", text: "Must be a string."},
		{name: "ErrMalformedJSON", method: "POST", path: path, body: `{"first_name": "Bob",`, status: 422, text: "not valid JSON"},
		{name: "ErrSyntax", method: "POST", path: path, body: `{first_name: "Bob"}`, status: 422, text: "not valid JSON"},
		{name: "ErrTrailingData", method: "POST", path: path, body: `{"first_name": "Bob"} {}`, status: 422, text: "not valid JSON"},
		{name: "ErrEmptyBody", method: "POST", path: path, body: "", status: 422, text: "body is empty"},
		{name: "ErrNotAnObject", method: "POST", path: path, body: `["Bob"]`, status: 422, text: "must be a JSON object"},
		{name: "ErrTooLarge", method: "POST", path: path, body: `{"comments": "` + strings.Repeat("x", 1<<20) + `"}`,
			status: 422, text: "larger than 1 MiB"},
		{name: "OK", method: "POST", path: path, status: 201, text: `"first_name":"Bob"`, body: valid(func(m map[string]any) {
			m["tags"] = []string{" VIP", "#north", "vip"}
			m["preferences"] = map[string]any{"language": "en-gb", "currency": "eur", "preferred_channel": "email"}
			m["custom_fields"] = map[string]any{"tier": "gold", "score": 7.50, "vip": true}
		})},
	}, anna.ID)

	t.Run("CreatedAsSent", func(t *testing.T) {
		list := decode[clientListRes](t, a.call("GET", "/api/v1/clients?q=bob", nil))
		if len(list.Data) != 1 {
			t.Fatalf("clients named Bob: got %d, want 1", len(list.Data))
		}
		res := a.call("GET", "/api/v1/clients/"+list.Data[0].ID, nil)
		c := decode[clientRes](t, res)
		if want := []string{"north", "vip"}; !slices.Equal(c.Tags, want) {
			t.Errorf("tags: got %v, want %v", c.Tags, want)
		}
		if want := map[string]string{"tier": "gold", "score": "7.5", "vip": "true"}; !equalMaps(c.CustomFields, want) {
			t.Errorf("custom fields: got %v, want %v", c.CustomFields, want)
		}
		if c.Status != "lead" || len(c.Contacts) != 1 || len(c.Addresses) != 1 || c.Addresses[0].PostalCode != "SW1A 1AA" {
			t.Errorf("client: got status %q, %d contacts, addresses %+v", c.Status, len(c.Contacts), c.Addresses)
		}
		if !strings.Contains(res.Body, `"preferences":{"language":"en-GB","timezone":"","currency":"EUR","preferred_channel":"email"}`) {
			t.Errorf("preferences not normalised: %s", snippet(res.Body))
		}
	})
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestClientAPIGetAndDelete(t *testing.T) {
	t.Parallel()
	_, _, a := apiSetup(t)
	c := a.create(map[string]any{"first_name": "Cleo", "last_name": "Park", "gender": "female",
		"contacts": []map[string]any{{"type": "phone", "value": "+44 7911 123456"}}})

	res := a.call("GET", "/api/v1/clients/"+c.ID, nil)
	got := decode[clientRes](t, res)
	if res.Status != http.StatusOK || got.Name != "Cleo Park" || len(got.Contacts) != 1 || got.Contacts[0].Value != "+447911123456" {
		t.Fatalf("get: got %d %+v", res.Status, got)
	}
	// first name, last name, gender and phone of ten core fields.
	if got.Completeness.Percent != 40 || !slices.Contains(got.Completeness.Missing, "email") {
		t.Errorf("completeness: got %+v, want 40%% missing email", got.Completeness)
	}
	for _, key := range []string{`"notes":[]`, `"addresses":[]`, `"merged_ids":[]`, `"custom_fields":{"vip":"false"}`} {
		if !strings.Contains(res.Body, key) {
			t.Errorf("body lacks %s: %s", key, snippet(res.Body))
		}
	}

	missing := a.call("GET", "/api/v1/clients/01JNEVEREXISTEDAAAAAAAAAAA", nil)
	a.run(t, []apiCase{
		{name: "DeleteOK", method: "DELETE", path: "/api/v1/clients/" + c.ID, status: 204},
		{name: "GetDeleted", method: "GET", path: "/api/v1/clients/" + c.ID, status: 404, text: `"code":"not_found"`},
		{name: "DeleteAgain", method: "DELETE", path: "/api/v1/clients/" + c.ID, status: 404},
	})
	if deleted := a.call("GET", "/api/v1/clients/"+c.ID, nil); deleted.Body != missing.Body || missing.Status != 404 {
		t.Errorf("deleted id answers differently from a missing one:\n%s\n%s", deleted.Body, missing.Body)
	}
	// The deleted client's phone is free for another client.
	a.create(map[string]any{"first_name": "Dan", "contacts": []map[string]any{{"type": "phone", "value": "+447911123456"}}})
}

func TestClientAPIUpdate(t *testing.T) {
	t.Parallel()
	_, _, a := apiSetup(t)
	c := a.create(map[string]any{"first_name": "Eve", "custom_fields": map[string]any{"tier": "silver"}})
	path := "/api/v1/clients/" + c.ID
	a.run(t, []apiCase{
		{name: "ErrFirstNameEmpty", method: "PATCH", path: path, body: map[string]any{"first_name": ""}, status: 422, field: "first_name"},
		{name: "ErrBadGender", method: "PATCH", path: path, body: map[string]any{"gender": "robot"}, status: 422, field: "gender"},
		{name: "ErrBadBirthDate", method: "PATCH", path: path, body: map[string]any{"birth_date": "2999-01-01"}, status: 422, field: "birth_date"},
		{name: "ErrBadTimezone", method: "PATCH", path: path, body: map[string]any{"timezone": "Mars/Olympus"}, status: 422, field: "timezone"},
		{name: "ErrUnknownCustomField", method: "PATCH", path: path, body: map[string]any{"custom_fields": map[string]any{"shoe_size": 42}},
			status: 422, field: "custom_fields.shoe_size"},
		{name: "ErrCustomNumber", method: "PATCH", path: path, body: map[string]any{"custom_fields": map[string]any{"score": "lots"}},
			status: 422, field: "custom_fields.score"},
		{name: "ErrUnknownJSONField", method: "PATCH", path: path, body: map[string]any{"nickname": "Evie"}, status: 422, field: "nickname"},
		{name: "ErrUnknownPreference", method: "PATCH", path: path, body: map[string]any{"preferences": map[string]any{"colour": "blue"}}, status: 422, field: "colour"},
		{name: "ErrUnknownStatus", method: "PATCH", path: path, body: map[string]any{"status": "gone"}, status: 422, field: "status"},
		// Staying in one's status is no transition at all.
		{name: "OKSameStatus", method: "PATCH", path: path, body: map[string]any{"first_name": "Evelyn", "status": "lead"},
			status: 200, text: `"first_name":"Evelyn"`},
		{name: "OKActivate", method: "PATCH", path: path, body: map[string]any{"status": "active"}, status: 200, text: `"status":"active"`},
		// The status is refused, and the name sent with it is not saved either.
		{name: "ErrForbiddenTransition", method: "PATCH", path: path, body: map[string]any{"last_name": "Lead", "status": "lead"},
			status: 422, field: "status", text: "cannot become lead"},
		{name: "OK", method: "PATCH", path: path, status: 200, body: map[string]any{"last_name": "Stone", "middle_name": nil,
			"tags": []string{"b", "a"}, "preferences": map[string]any{"currency": "usd"}, "custom_fields": map[string]any{"tier": nil, "score": 3, "vip": false}},
			text: `"last_name":"Stone"`},
		{name: "ErrNotFound", method: "PATCH", path: "/api/v1/clients/nope", body: map[string]any{}, status: 404},
	}, c.ID)

	got := decode[clientRes](t, a.call("GET", path, nil))
	if got.FirstName != "Evelyn" || got.LastName != "Stone" || got.Status != "active" || !slices.Equal(got.Tags, []string{"a", "b"}) {
		t.Errorf("after update: got %+v", got)
	}
	if want := map[string]string{"score": "3", "vip": "false"}; !equalMaps(got.CustomFields, want) {
		t.Errorf("custom fields: got %v, want %v", got.CustomFields, want)
	}
	tl := decode[eventListRes](t, a.call("GET", path+"/timeline?type=StatusChanged", nil))
	if len(tl.Data) != 1 || tl.Data[0].Payload["to"] != "active" || tl.Data[0].Actor.Type != app.ActorToken {
		t.Errorf("status events: got %+v, want one to active by the token", tl.Data)
	}
}

func TestClientAPISubresources(t *testing.T) {
	t.Parallel()
	_, _, a := apiSetup(t)
	other := a.create(map[string]any{"first_name": "Olga", "contacts": []map[string]any{{"type": "email", "value": "olga@example.com"}}})
	c := a.create(map[string]any{"first_name": "Finn"})
	base := "/api/v1/clients/" + c.ID
	a.run(t, []apiCase{
		{name: "ContactErrBadEmail", method: "POST", path: base + "/contacts", body: map[string]any{"type": "email", "value": "finn@@x"},
			status: 422, field: "value"},
		{name: "ContactErrBadPhone", method: "POST", path: base + "/contacts", body: map[string]any{"type": "phone", "value": "call me"},
			status: 422, field: "value"},
		{name: "ContactErrBadType", method: "POST", path: base + "/contacts", body: map[string]any{"type": "fax", "value": "1"},
			status: 422, field: "type"},
		{name: "ContactErrDuplicate", method: "POST", path: base + "/contacts", body: map[string]any{"type": "email", "value": "Olga@Example.com"},
			status: 409, field: "value", ref: other.ID},
		{name: "ContactErrUnknownField", method: "POST", path: base + "/contacts", body: map[string]any{"type": "email", "value": "f@x.io", "primary": true},
			status: 422, field: "primary"},
		{name: "ContactOK", method: "POST", path: base + "/contacts", body: map[string]any{"type": "whatsapp", "value": "+44 7911 123456", "label": "mobile"},
			status: 201, text: `"value":"+447911123456"`},
		{name: "ContactErrSameClient", method: "POST", path: base + "/contacts", body: map[string]any{"type": "whatsapp", "value": "+447911123456"},
			status: 422, field: "value"},
		{name: "AddressErrBadCountry", method: "POST", path: base + "/addresses", body: map[string]any{"type": "shipping", "city": "Oz", "country": "ZZ"},
			status: 422, field: "country"},
		{name: "AddressErrBadPostalCode", method: "POST", path: base + "/addresses", body: map[string]any{"type": "shipping", "city": "Berlin", "postal_code": "1234", "country": "DE"},
			status: 422, field: "postal_code"},
		{name: "AddressErrNoStreetOrCity", method: "POST", path: base + "/addresses", body: map[string]any{"type": "shipping", "country": "DE"},
			status: 422, field: "street"},
		{name: "AddressOK", method: "POST", path: base + "/addresses", body: map[string]any{"type": "shipping", "city": "Berlin", "postal_code": "10115", "country": "de"},
			status: 201, text: `"country":"DE"`},
		{name: "NoteErrEmpty", method: "POST", path: base + "/notes", body: map[string]any{"body": "  "}, status: 422, field: "body"},
		{name: "NoteErrBadType", method: "POST", path: base + "/notes", body: map[string]any{"body": "hi", "type": "gossip"}, status: 422, field: "type"},
		{name: "NoteOK", method: "POST", path: base + "/notes", body: map[string]any{"body": "Prefers mornings."}, status: 201, text: `"author_name":"sync admin"`},
		{name: "RemoveContactErrUnknown", method: "DELETE", path: base + "/contacts/nope", status: 404, text: "Contact not found."},
		{name: "RemoveAddressErrUnknown", method: "DELETE", path: base + "/addresses/nope", status: 404, text: "Address not found."},
		{name: "DeleteNoteErrUnknown", method: "DELETE", path: base + "/notes/nope", status: 404, text: "Note not found."},
		// Another client's contact is not this client's to remove.
		{name: "RemoveContactErrOtherClient", method: "DELETE", path: base + "/contacts/" + other.Contacts[0].ID, status: 404},
	}, c.ID, other.ID)

	got := decode[clientRes](t, a.call("GET", base, nil))
	if len(got.Contacts) != 1 || len(got.Addresses) != 1 || len(got.Notes) != 1 || got.Notes[0].AuthorID == "" {
		t.Fatalf("after adding: got %+v", got)
	}
	a.run(t, []apiCase{
		{name: "RemoveContact", method: "DELETE", path: base + "/contacts/" + got.Contacts[0].ID, status: 204},
		{name: "RemoveAddress", method: "DELETE", path: base + "/addresses/" + got.Addresses[0].ID, status: 204},
		{name: "DeleteNote", method: "DELETE", path: base + "/notes/" + got.Notes[0].ID, status: 204},
	})
	got = decode[clientRes](t, a.call("GET", base, nil))
	if len(got.Contacts)+len(got.Addresses)+len(got.Notes) != 0 {
		t.Errorf("after removing: got %+v, want no children", got)
	}
}

func TestClientAPIList(t *testing.T) {
	t.Parallel()
	e, _, a := apiSetup(t)
	var ids []string
	for _, c := range []map[string]any{
		{"first_name": "Zoe", "last_name": "<b>Bold</b>", "status": "active", "tags": []string{"north"}},
		{"first_name": "Adam", "last_name": "Ant", "contacts": []map[string]any{{"type": "phone", "value": "+44 7911 123457"}}},
		{"first_name": "Mia", "last_name": "Moss", "tags": []string{"north"}},
	} {
		ids = append(ids, a.create(c).ID)
		e.clock.Advance(24 * time.Hour)
	}
	a.call("POST", "/api/v1/clients/"+ids[2]+"/notes", map[string]any{"body": "Met at the <Zoetrope> fair & bought two."})

	names := func(q string) []string {
		t.Helper()
		res := a.call("GET", "/api/v1/clients?"+q, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("list %s: got %d %s", q, res.Status, res.Body)
		}
		var out []string
		for _, d := range decode[clientListRes](t, res).Data {
			out = append(out, d.Name)
		}
		return out
	}
	for _, tc := range []struct{ q, want string }{
		{"", "Adam Ant,Mia Moss,Zoe <b>Bold</b>"},
		{"sort=created", "Mia Moss,Adam Ant,Zoe <b>Bold</b>"},
		{"status=active", "Zoe <b>Bold</b>"},
		{"tag=NORTH&sort=name", "Mia Moss,Zoe <b>Bold</b>"},
		{"created_from=2026-11-24&created_to=2026-11-24", "Adam Ant"},
		{"q=07911%2012", "Adam Ant"},
		{"q=zoe", "Mia Moss,Zoe <b>Bold</b>"},
	} {
		if got := strings.Join(names(tc.q), ","); got != tc.want {
			t.Errorf("list %q: got %q, want %q", tc.q, got, tc.want)
		}
	}

	t.Run("Highlight", func(t *testing.T) {
		list := decode[clientListRes](t, a.call("GET", "/api/v1/clients?q=zoe", nil))
		for _, d := range list.Data {
			switch d.ID {
			case ids[0]:
				if d.Highlight == nil || d.Highlight.Name != "<mark>Zoe</mark> &lt;b&gt;Bold&lt;/b&gt;" || d.Highlight.Snippet != "" {
					t.Errorf("name highlight: got %+v", d.Highlight)
				}
			case ids[2]:
				if d.Highlight == nil || d.Highlight.Name != "" || !strings.Contains(d.Highlight.Snippet, "&lt;<mark>Zoetrope</mark>&gt; fair &amp; bought") {
					t.Errorf("note highlight: got %+v", d.Highlight)
				}
			}
		}
		res := a.call("GET", "/api/v1/clients", nil)
		if strings.Contains(res.Body, `"highlight"`) {
			t.Errorf("a plain list has highlights: %s", snippet(res.Body))
		}
	})

	t.Run("Pages", func(t *testing.T) {
		for _, sort := range []string{"name", "created", "activity"} {
			var got []string
			cursor := ""
			for range 5 {
				res := decode[clientListRes](t, a.call("GET", "/api/v1/clients?limit=2&sort="+sort+"&cursor="+url.QueryEscape(cursor), nil))
				for _, d := range res.Data {
					got = append(got, d.ID)
				}
				if res.NextCursor == nil {
					break
				}
				cursor = *res.NextCursor
			}
			if len(got) != 3 || len(slices.Compact(slices.Sorted(slices.Values(got)))) != 3 {
				t.Errorf("sort %s: pages gave %v, want each of 3 clients once", sort, got)
			}
		}
	})

	bad := func(name, q, field string) apiCase {
		return apiCase{name: name, method: "GET", path: "/api/v1/clients?" + q, status: 422, field: field}
	}
	a.run(t, []apiCase{
		bad("ErrStatus", "status=vip", "status"),
		bad("ErrSort", "sort=age", "sort"),
		bad("ErrCreatedFrom", "created_from=yesterday", "created_from"),
		bad("ErrCreatedTo", "created_to=2026-13-01", "created_to"),
		bad("ErrDateOrder", "created_from=2026-11-25&created_to=2026-11-24", "created_to"),
		bad("ErrLimitZero", "limit=0", "limit"),
		bad("ErrLimitBig", "limit=201", "limit"),
		bad("ErrLimitWord", "limit=ten", "limit"),
		bad("ErrCursor", "cursor=not-a-cursor", "cursor"),
		bad("ErrCursorOfOtherSort", "sort=created&cursor="+mustNameCursor(t, a), "cursor"),
	})
}

// mustNameCursor returns the cursor after the first client by name.
func mustNameCursor(t *testing.T, a apiClient) string {
	t.Helper()
	res := decode[clientListRes](t, a.call("GET", "/api/v1/clients?limit=1&sort=name", nil))
	if res.NextCursor == nil {
		t.Fatal("no next cursor")
	}
	return url.QueryEscape(*res.NextCursor)
}

func TestClientAPITimeline(t *testing.T) {
	t.Parallel()
	_, _, a := apiSetup(t)
	c := a.create(map[string]any{"first_name": "Gus"})
	base := "/api/v1/clients/" + c.ID
	for i := range 3 {
		a.call("POST", base+"/notes", map[string]any{"body": "note " + string(rune('a'+i))})
	}
	var types []string
	cursor := ""
	for range 5 {
		res := a.call("GET", base+"/timeline?limit=3&before="+cursor, nil)
		page := decode[eventListRes](t, res)
		for _, ev := range page.Data {
			types = append(types, ev.Type)
			if ev.ClientID != c.ID || ev.Actor.Type != app.ActorToken || ev.Actor.Name != "sync admin" {
				t.Errorf("event %+v: want client %s by the token", ev, c.ID)
			}
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if want := "NoteAdded,NoteAdded,NoteAdded,ClientCreated"; strings.Join(types, ",") != want {
		t.Errorf("timeline: got %v, want %s", types, want)
	}
	a.run(t, []apiCase{
		{name: "OKType", method: "GET", path: base + "/timeline?type=ClientCreated", status: 200, text: `"type":"ClientCreated"`},
		{name: "ErrType", method: "GET", path: base + "/timeline?type=Nonsense", status: 422, field: "type"},
		{name: "ErrLimit", method: "GET", path: base + "/timeline?limit=-1", status: 422, field: "limit"},
		{name: "ErrNotFound", method: "GET", path: "/api/v1/clients/nope/timeline", status: 404},
	})
}

func TestClientAPIRoles(t *testing.T) {
	t.Parallel()
	e, ws, admin := apiSetup(t)
	c := admin.create(map[string]any{"first_name": "Hana"})
	other := admin.create(map[string]any{"first_name": "Ivo"})
	agent := e.apiClient(ws, app.RoleAgent)
	base := "/api/v1/clients/" + c.ID
	agent.run(t, []apiCase{
		{name: "List", method: "GET", path: "/api/v1/clients", status: 200},
		{name: "Get", method: "GET", path: base, status: 200},
		{name: "Timeline", method: "GET", path: base + "/timeline", status: 200},
		{name: "AddNote", method: "POST", path: base + "/notes", body: map[string]any{"body": "Called back."}, status: 201, text: `"author_name":"sync agent"`},
		{name: "ErrCreate", method: "POST", path: "/api/v1/clients", body: map[string]any{"first_name": "X"}, status: 403, text: `"code":"forbidden"`},
		{name: "ErrMerge", method: "POST", path: base + "/merge", body: map[string]any{"other_id": other.ID}, status: 403},
		{name: "ErrPatch", method: "PATCH", path: base, body: map[string]any{"first_name": "X"}, status: 403},
		{name: "ErrDelete", method: "DELETE", path: base, status: 403},
		{name: "ErrAddContact", method: "POST", path: base + "/contacts", body: map[string]any{"type": "email", "value": "h@x.io"}, status: 403},
	}, c.ID, other.ID)

	nobody := apiClient{t: t, e: e, db: agent.db, host: "acme"}
	if res := nobody.call("GET", "/api/v1/clients", nil); res.Status != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: got %d %v, want 401 with WWW-Authenticate", res.Status, res.Header)
	}
}

func TestClientAPIMerge(t *testing.T) {
	t.Parallel()
	_, _, a := apiSetup(t)
	keep := a.create(map[string]any{"first_name": "Jo", "last_name": "King", "tags": []string{"a"},
		"contacts": []map[string]any{{"type": "email", "value": "jo@example.com"}}})
	gone := a.create(map[string]any{"first_name": "Joanna", "last_name": "King", "gender": "female", "tags": []string{"b"},
		"contacts":  []map[string]any{{"type": "phone", "value": "+44 7911 123456"}},
		"addresses": []map[string]any{{"type": "billing", "city": "Leeds", "country": "GB"}}})
	a.call("POST", "/api/v1/clients/"+gone.ID+"/notes", map[string]any{"body": "Old note."})

	a.run(t, []apiCase{
		{name: "ErrSelf", method: "POST", path: "/api/v1/clients/" + keep.ID + "/merge", body: map[string]any{"other_id": keep.ID}, status: 422, field: "other_id"},
		{name: "ErrOtherMissing", method: "POST", path: "/api/v1/clients/" + keep.ID + "/merge", body: map[string]any{"other_id": "nope"}, status: 422, field: "other_id"},
		{name: "ErrTakeUnknown", method: "POST", path: "/api/v1/clients/" + keep.ID + "/merge", body: map[string]any{"other_id": gone.ID, "take_other": []string{"shoe"}},
			status: 422, field: "take_other"},
		{name: "ErrUnknownField", method: "POST", path: "/api/v1/clients/" + keep.ID + "/merge", body: map[string]any{"other": gone.ID}, status: 422, field: "other"},
	}, keep.ID, gone.ID)

	res := a.call("POST", "/api/v1/clients/"+keep.ID+"/merge", map[string]any{"other_id": gone.ID, "take_other": []string{"first_name"}})
	if res.Status != http.StatusOK {
		t.Fatalf("merge: got %d %s", res.Status, res.Body)
	}
	got := decode[clientRes](t, res)
	if got.ID != keep.ID || got.FirstName != "Joanna" || len(got.Contacts) != 2 || len(got.Addresses) != 1 || len(got.Notes) != 1 ||
		!slices.Equal(got.Tags, []string{"a", "b"}) || !slices.Equal(got.MergedIDs, []string{gone.ID}) {
		t.Errorf("survivor: got %+v", got)
	}

	moved := a.call("GET", "/api/v1/clients/"+gone.ID, nil)
	if moved.Status != http.StatusMovedPermanently || moved.Header.Get("Location") != "/api/v1/clients/"+keep.ID {
		t.Errorf("old id: got %d Location %q, want 301 to the survivor", moved.Status, moved.Header.Get("Location"))
	}
	if e := decode[apiErrorRes](t, moved); e.Error.Code != "moved" || e.Error.Ref != keep.ID {
		t.Errorf("old id body: got %+v", e)
	}
	if res := a.call("GET", "/api/v1/clients/"+gone.ID+"/timeline?limit=5", nil); res.Status != http.StatusMovedPermanently ||
		res.Header.Get("Location") != "/api/v1/clients/"+keep.ID+"/timeline?limit=5" {
		t.Errorf("old timeline: got %d Location %q", res.Status, res.Header.Get("Location"))
	}
	// A write to the old id is refused with the survivor's id, but no
	// Location that an HTTP client would follow as a GET.
	if res := a.call("POST", "/api/v1/clients/"+gone.ID+"/notes", map[string]any{"body": "late"}); res.Status != http.StatusMovedPermanently ||
		res.Header.Get("Location") != "" || !strings.Contains(res.Body, `"ref":"`+keep.ID+`"`) {
		t.Errorf("write to old id: got %d Location %q %s", res.Status, res.Header.Get("Location"), res.Body)
	}

	tl := decode[eventListRes](t, a.call("GET", "/api/v1/clients/"+keep.ID+"/timeline?type=ClientMerged", nil))
	if len(tl.Data) != 1 || tl.Data[0].Payload["survivor_id"] != keep.ID || tl.Data[0].Payload["merged_id"] != gone.ID {
		t.Fatalf("merge events: got %+v, want one naming both ids", tl.Data)
	}
	// The merged client's history is part of the survivor's.
	all := decode[eventListRes](t, a.call("GET", "/api/v1/clients/"+keep.ID+"/timeline", nil))
	if !slices.ContainsFunc(all.Data, func(ev eventRes) bool { return ev.ClientID == gone.ID && ev.Type == "NoteAdded" }) {
		t.Errorf("survivor timeline lacks the merged client's note: %+v", all.Data)
	}
}

// TestClientAPIIsolation: another workspace's client id answers exactly as
// an id that never existed, on every route, and is left untouched.
func TestClientAPIIsolation(t *testing.T) {
	t.Parallel()
	e, _, alpha := apiSetup(t)
	bravo := e.apiClient(e.workspace("bravo"), app.RoleAdmin)
	theirs := alpha.create(map[string]any{"first_name": "Kim",
		"contacts":  []map[string]any{{"type": "email", "value": "kim@example.com"}},
		"addresses": []map[string]any{{"type": "billing", "city": "Paris", "country": "FR"}}})
	alpha.call("POST", "/api/v1/clients/"+theirs.ID+"/notes", map[string]any{"body": "secret"})
	theirs = decode[clientRes](t, alpha.call("GET", "/api/v1/clients/"+theirs.ID, nil))
	ours := bravo.create(map[string]any{"first_name": "Lou"})
	before := alpha.state(theirs.ID)

	const never = "01JNEVEREXISTEDAAAAAAAAAAA"
	for _, tc := range []struct {
		name, method, path string
		body               func(id string) any
	}{
		{"Get", "GET", "/api/v1/clients/%s", nil},
		{"Timeline", "GET", "/api/v1/clients/%s/timeline", nil},
		{"Patch", "PATCH", "/api/v1/clients/%s", func(string) any { return map[string]any{"first_name": "Mallory"} }},
		{"Delete", "DELETE", "/api/v1/clients/%s", nil},
		{"AddContact", "POST", "/api/v1/clients/%s/contacts", func(string) any { return map[string]any{"type": "email", "value": "m@x.io"} }},
		{"RemoveContact", "DELETE", "/api/v1/clients/%s/contacts/" + theirs.Contacts[0].ID, nil},
		{"AddAddress", "POST", "/api/v1/clients/%s/addresses", func(string) any { return map[string]any{"type": "other", "city": "Rome", "country": "IT"} }},
		{"RemoveAddress", "DELETE", "/api/v1/clients/%s/addresses/" + theirs.Addresses[0].ID, nil},
		{"AddNote", "POST", "/api/v1/clients/%s/notes", func(string) any { return map[string]any{"body": "hi"} }},
		{"DeleteNote", "DELETE", "/api/v1/clients/%s/notes/" + theirs.Notes[0].ID, nil},
		{"MergeAsID", "POST", "/api/v1/clients/%s/merge", func(string) any { return map[string]any{"other_id": ours.ID} }},
		{"MergeAsOtherID", "POST", "/api/v1/clients/" + ours.ID + "/merge%s", func(id string) any { return map[string]any{"other_id": id} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ask := func(id string) response {
				path := strings.Replace(tc.path, "%s", id, 1)
				if tc.name == "MergeAsOtherID" {
					path = strings.Replace(tc.path, "%s", "", 1)
				}
				var body any
				if tc.body != nil {
					body = tc.body(id)
				}
				return bravo.call(tc.method, path, body)
			}
			foreign, missing := ask(theirs.ID), ask(never)
			if foreign.Status != missing.Status || foreign.Body != missing.Body {
				t.Errorf("foreign id: got %d %s\nmissing id: got %d %s", foreign.Status, foreign.Body, missing.Status, missing.Body)
			}
			if foreign.Status != http.StatusNotFound && foreign.Status != http.StatusUnprocessableEntity {
				t.Errorf("foreign id: got %d, want 404 (or 422 on other_id)", foreign.Status)
			}
		})
	}
	if after := alpha.state(theirs.ID); after != before {
		t.Errorf("bravo's requests changed alpha's client:\n%s\n%s", snippet(before), snippet(after))
	}
	if got := decode[clientRes](t, bravo.call("GET", "/api/v1/clients/"+ours.ID, nil)); len(got.MergedIDs) != 0 || got.FirstName != "Lou" {
		t.Errorf("bravo's own client after the attempts: %+v", got)
	}
}

// TestOpenAPIConformance validates real responses of every client route
// against the served OpenAPI document, so a handler cannot drift from it.
func TestOpenAPIConformance(t *testing.T) {
	t.Parallel()
	e, ws, a := apiSetup(t)
	ctx := context.Background()

	res := a.call("GET", "/api/v1/openapi.json", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("openapi.json: got %d", res.Status)
	}
	if unauth := (apiClient{t: t, e: e, host: "acme"}).call("GET", "/api/v1/openapi.json", nil); unauth.Status != http.StatusOK {
		t.Errorf("openapi.json without a token: got %d, want 200", unauth.Status)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData([]byte(res.Body))
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	router, err := legacyrouter.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, c apiClient, method, path string, body any, want int) response {
		t.Helper()
		res := c.call(method, path, body)
		if res.Status != want {
			t.Fatalf("%s %s: got %d, want %d; body %s", method, path, res.Status, want, snippet(res.Body))
		}
		if err := validateExchange(ctx, router, c, method, path, body, res); err != nil {
			t.Errorf("%s %s → %d does not conform to openapi.json: %v", method, path, res.Status, err)
		}
		return res
	}

	other := a.create(map[string]any{"first_name": "Nina", "contacts": []map[string]any{{"type": "email", "value": "nina@example.com"}}})
	oscar := decode[clientRes](t, check(t, a, "POST", "/api/v1/clients", map[string]any{
		"first_name": "Oscar", "last_name": "Wilde", "gender": "male", "birth_date": "1990-10-16", "status": "active",
		"tags": []string{"poet"}, "preferences": map[string]any{"language": "en", "timezone": "Europe/Dublin", "currency": "EUR", "preferred_channel": "email"},
		"custom_fields": map[string]any{"tier": "gold", "score": 9.5, "vip": true},
		"contacts":      []map[string]any{{"type": "email", "value": "oscar@example.com", "label": "work", "verified": true}},
		"addresses":     []map[string]any{{"type": "shipping", "street": "1 Merrion Sq", "city": "Dublin", "country": "IE", "is_default": true}},
	}, http.StatusCreated))
	base := "/api/v1/clients/" + oscar.ID

	check(t, a, "GET", "/api/v1/me", nil, http.StatusOK)
	check(t, a, "GET", base, nil, http.StatusOK)
	check(t, a, "PATCH", base, map[string]any{"comments": "Witty.", "status": "inactive", "custom_fields": map[string]any{"score": "10"}}, http.StatusOK)
	check(t, a, "POST", base+"/contacts", map[string]any{"type": "telegram", "value": "@oscar_w"}, http.StatusCreated)
	check(t, a, "POST", base+"/contacts", map[string]any{"type": "email", "value": "nina@example.com"}, http.StatusConflict)
	check(t, a, "POST", base+"/contacts", map[string]any{"type": "email", "value": "nope"}, http.StatusUnprocessableEntity)
	addr := decode[app.Address](t, check(t, a, "POST", base+"/addresses", map[string]any{"type": "billing", "street": "2 Main St", "city": "Cork", "country": "IE"}, http.StatusCreated))
	note := decode[app.Note](t, check(t, a, "POST", base+"/notes", map[string]any{"type": "sales", "body": "Oscar likes lilies.", "pinned": true}, http.StatusCreated))
	check(t, a, "GET", "/api/v1/clients", nil, http.StatusOK)
	check(t, a, "GET", "/api/v1/clients?q=oscar&limit=1&sort=activity", nil, http.StatusOK)
	check(t, a, "GET", "/api/v1/clients?q=lilies", nil, http.StatusOK)
	check(t, a, "GET", "/api/v1/clients?status=vip&limit=0", nil, http.StatusUnprocessableEntity)
	check(t, a, "GET", base+"/timeline", nil, http.StatusOK)
	check(t, a, "GET", base+"/timeline?limit=2&type=NoteAdded", nil, http.StatusOK)
	check(t, a, "GET", "/api/v1/clients/nope", nil, http.StatusNotFound)
	check(t, a, "DELETE", base+"/addresses/"+addr.ID, nil, http.StatusNoContent)
	check(t, a, "DELETE", base+"/notes/"+note.ID, nil, http.StatusNoContent)
	check(t, a, "DELETE", base+"/contacts/"+oscar.Contacts[0].ID, nil, http.StatusNoContent)
	check(t, a, "POST", base+"/merge", map[string]any{"other_id": other.ID, "take_other": []string{"custom_fields.tier", "tags"}}, http.StatusOK)
	moved := check(t, a, "GET", "/api/v1/clients/"+other.ID, nil, http.StatusMovedPermanently)
	// kin-openapi skips 3xx bodies, so the 301 is held to its schema here.
	if err := validateBody(router, "GET", "/api/v1/clients/"+other.ID, moved); err != nil {
		t.Errorf("301 body does not conform: %v", err)
	}
	check(t, apiClient{t: t, e: e, host: "acme", token: "prl_wrong"}, "GET", base, nil, http.StatusUnauthorized)
	check(t, e.apiClient(ws, app.RoleAgent), "POST", "/api/v1/clients", map[string]any{"first_name": "X"}, http.StatusForbidden)
	check(t, a, "DELETE", base, nil, http.StatusNoContent)

	tpl := decode[app.Template](t, check(t, a, "POST", "/api/v1/templates", map[string]any{"name": "Hours", "body": "Open 9–17."}, http.StatusCreated))
	check(t, a, "POST", "/api/v1/templates", map[string]any{"name": "hours", "body": "again"}, http.StatusUnprocessableEntity)
	check(t, a, "GET", "/api/v1/templates?q=open", nil, http.StatusOK)
	check(t, e.apiClient(ws, app.RoleAgent), "GET", "/api/v1/templates/"+tpl.ID, nil, http.StatusOK)
	check(t, e.apiClient(ws, app.RoleAgent), "PATCH", "/api/v1/templates/"+tpl.ID, map[string]any{"name": "X", "body": "Y"}, http.StatusForbidden)
	check(t, a, "PATCH", "/api/v1/templates/"+tpl.ID, map[string]any{"name": "Opening hours", "body": "Open 9–18."}, http.StatusOK)
	check(t, a, "DELETE", "/api/v1/templates/"+tpl.ID, nil, http.StatusNoContent)
	check(t, a, "GET", "/api/v1/templates/"+tpl.ID, nil, http.StatusNotFound)

	// The validator itself must catch drift: a field the document does not
	// know, and a required one missing.
	got := a.call("GET", "/api/v1/clients/"+oscar.ID, nil)
	if got.Status != http.StatusNotFound {
		t.Fatalf("deleted client: got %d", got.Status)
	}
	live := a.create(map[string]any{"first_name": "Pia"})
	good := a.call("GET", "/api/v1/clients/"+live.ID, nil)
	for name, tamper := range map[string]func(m map[string]any){
		"ExtraField":      func(m map[string]any) { m["nickname"] = "P" },
		"MissingRequired": func(m map[string]any) { delete(m, "completeness") },
		"WrongEnum":       func(m map[string]any) { m["status"] = "vip" },
		"WrongNested":     func(m map[string]any) { m["preferences"].(map[string]any)["preferred_channel"] = "pigeon" },
	} {
		m := decode[map[string]any](t, good)
		tamper(m)
		b, _ := json.Marshal(m)
		bad := response{Status: good.Status, Header: good.Header, Body: string(b)}
		if err := validateExchange(ctx, router, a, "GET", "/api/v1/clients/"+live.ID, nil, bad); err == nil {
			t.Errorf("%s: a tampered response passed validation", name)
		}
	}
}

// validateExchange checks a response, and the request of a successful
// one, against the document's route for method and path.
func validateExchange(ctx context.Context, router routers.Router, c apiClient, method, path string, body any, res response) error {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, hostURL(c.host, path), bytes.NewReader(raw))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	route, params, err := router.FindRoute(req)
	if err != nil {
		return err
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if res.Status < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return err
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.Status, Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes([]byte(res.Body))
	return openapi3filter.ValidateResponse(ctx, out)
}

// validateBody checks a response body against its schema directly, for
// the statuses openapi3filter does not check.
func validateBody(router routers.Router, method, path string, res response) error {
	req, _ := http.NewRequest(method, hostURL("acme", path), nil)
	route, _, err := router.FindRoute(req)
	if err != nil {
		return err
	}
	r := route.Operation.Responses.Status(res.Status)
	if r == nil || r.Value == nil {
		return errorString("no response documented for this status")
	}
	mt := r.Value.Content.Get("application/json")
	if mt == nil {
		return errorString("no JSON body documented for this status")
	}
	var v any
	if err := json.Unmarshal([]byte(res.Body), &v); err != nil {
		return err
	}
	return mt.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}

type errorString string

func (e errorString) Error() string { return string(e) }
