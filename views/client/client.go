// Package client renders the client pages: the searchable list, the
// profile (the 360 view), the create and edit forms and the merge screen.
package client

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/a-h/templ"

	"parley/app"
	"parley/views/layout"
	"parley/views/ui"
)

// ListFilter is the list's filter as typed in its form.
type ListFilter struct {
	Q      string
	Status string
	Owner  string
	Tag    string
	From   string
	To     string
	Sort   string
}

// Active reports whether anything narrows the list.
func (f ListFilter) Active() bool {
	return f.Q != "" || f.Status != "" || f.Owner != "" || f.Tag != "" || f.From != "" || f.To != ""
}

// ListPage is the clients page.
type ListPage struct {
	Shell     layout.Shell
	Filter    ListFilter
	Owners    []ui.Option
	Tags      []string
	Results   Results
	CanCreate bool
}

// Results is one page of the list, rendered alone for search-as-you-type
// and "load more".
type Results struct {
	Hits   []app.ClientHit
	Filter ListFilter
	// NextHref is the next page as a full page; MoreHref the same rows as a
	// fragment appended by htmx. Both are empty on the last page.
	NextHref string
	MoreHref string
	Error    string
	// RowsOnly renders only the rows and the next "load more" row.
	RowsOnly bool
}

// ProfilePage is a client's 360 view.
type ProfilePage struct {
	Shell     layout.Shell
	P         *app.ClientProfile
	Percent   int
	Missing   []string
	CanManage bool
	CanNote   bool
	// Me is who is looking: notes show Edit to their author (and to
	// those who manage clients).
	Me           app.Actor
	ContactForm  ui.Form
	AddressForm  ui.Form
	NoteForm     ui.Form
	NextStatuses []app.ClientStatus
	Timeline     Timeline
	Consents     ConsentSection
	// Conflict is set after a contact was refused because another client
	// has it: that client, to link and offer a merge.
	Conflict *Conflict
	// ContactDuplicates are clients that look like this one by the contact
	// being added; the form asks before adding it.
	ContactDuplicates []app.Duplicate
}

// Conflict names the client that already has a contact value.
type Conflict struct {
	ClientID string
	Message  string
}

// Timeline is a page of a client's events with its filter.
type Timeline struct {
	ClientID string
	Events   []app.Event
	Type     string
	MoreHref string
}

// FormPage is the create or edit form of a client.
type FormPage struct {
	Shell  layout.Shell
	Client *app.Client // nil when creating
	Form   ui.Form
	Fields []app.CustomField
	Owners []ui.Option
	// Duplicates are existing clients that look like this one; when set on
	// create, the form asks to confirm before saving.
	Duplicates []app.Duplicate
	Conflict   *Conflict
}

// Creating reports whether the form makes a new client.
func (p FormPage) Creating() bool { return p.Client == nil }

// MergePage compares a client with another before merging them.
type MergePage struct {
	Shell      layout.Shell
	Survivor   *app.ClientProfile
	Other      *app.ClientProfile
	Query      string
	Candidates []app.Duplicate
	Rows       []MergeRow
	Error      string
}

// MergeRow is one profile field as the two clients have it.
type MergeRow struct {
	Field  string
	Label  string
	Mine   string
	Theirs string
}

// Differs reports whether the user has a choice to make for the row: both
// have a value and they differ. Where only the merged client has one, the
// survivor takes it.
func (r MergeRow) Differs() bool { return r.Mine != "" && r.Theirs != "" && r.Mine != r.Theirs }

// FillsBlank reports whether the survivor takes the merged client's value
// because it has none.
func (r MergeRow) FillsBlank() bool { return r.Mine == "" && r.Theirs != "" }

// DuplicatesPanel lists likely duplicates while a client is being typed.
type DuplicatesPanel struct {
	Duplicates []app.Duplicate
}

func clientHref(id string) templ.SafeURL { return templ.SafeURL("/clients/" + id) }

func statusOptions(withAny bool) []ui.Option {
	var out []ui.Option
	if withAny {
		out = append(out, ui.Option{Value: "", Label: "Any status"})
	}
	for _, s := range app.ClientStatuses {
		out = append(out, ui.Option{Value: string(s), Label: s.Label()})
	}
	return out
}

var sortOptions = []ui.Option{
	{Value: "", Label: "Default order"}, // by name; a search lists the newest matches first
	{Value: "name", Label: "Name (A–Z)"},
	{Value: "created", Label: "Newest first"},
	{Value: "activity", Label: "Recently active"},
}

var genderOptions = []ui.Option{{Value: "", Label: "Not given"}, {Value: "female", Label: "Female"},
	{Value: "male", Label: "Male"}, {Value: "other", Label: "Other"}}

func channelOptions() []ui.Option {
	out := []ui.Option{{Value: "", Label: "No preference"}}
	for _, t := range app.Transports {
		out = append(out, ui.Option{Value: string(t), Label: t.Label()})
	}
	return out
}

func contactTypeOptions() []ui.Option {
	var out []ui.Option
	for _, t := range app.ContactTypes {
		out = append(out, ui.Option{Value: string(t), Label: t.Label()})
	}
	return out
}

func addressTypeOptions() []ui.Option {
	var out []ui.Option
	for _, t := range app.AddressTypes {
		out = append(out, ui.Option{Value: string(t), Label: t.Label()})
	}
	return out
}

func noteTypeOptions() []ui.Option {
	var out []ui.Option
	for _, t := range app.NoteTypes {
		out = append(out, ui.Option{Value: string(t), Label: t.Label()})
	}
	return out
}

// countryOptions renders the address form's country list.
var countryOptions = sync.OnceValue(func() func(selected string) templ.Component {
	out := []ui.Option{{Value: "", Label: "Choose a country"}}
	for _, c := range app.Countries() {
		out = append(out, ui.Option{Value: c.Code, Label: c.Name})
	}
	return ui.CachedOptions(out)
})

func timelineTypeOptions() []ui.Option {
	out := []ui.Option{{Value: "", Label: "All activity"}}
	for _, t := range app.ClientEventTypes {
		out = append(out, ui.Option{Value: t, Label: eventTitle(t)})
	}
	return out
}

// eventTitle names an event type for people.
func eventTitle(typ string) string {
	switch typ {
	case app.EventClientCreated:
		return "Created"
	case app.EventProfileUpdated:
		return "Profile updated"
	case app.EventStatusChanged:
		return "Status changed"
	case app.EventContactInfoChanged:
		return "Contact details"
	case app.EventAddressChanged:
		return "Addresses"
	case app.EventNoteAdded:
		return "Note added"
	case app.EventNoteEdited:
		return "Note edited"
	case app.EventNoteDeleted:
		return "Note deleted"
	case app.EventClientMerged:
		return "Merged"
	case app.EventClientDeleted:
		return "Deleted"
	case app.EventConsentChanged:
		return "Consent"
	case app.EventContactOptOut:
		return "Opt-out"
	case app.EventLegalHoldChanged:
		return "Legal hold"
	case app.EventExportRequested:
		return "Data export requested"
	case app.EventExportDownloaded:
		return "Data export downloaded"
	case app.EventClientErasureStarted, app.EventClientErased:
		return "Erasure"
	case app.EventPortalLinkRequested, app.EventPortalLinkSent, app.EventPortalLinkFailed:
		return "Portal sign-in link"
	case app.EventPortalSignedIn:
		return "Signed in to the portal"
	case app.EventPortalSignedOut:
		return "Signed out of the portal"
	}
	return typ
}

// fieldLabels name profile fields in event descriptions and the merge screen.
var fieldLabels = map[string]string{
	"first_name": "first name", "middle_name": "middle name", "last_name": "last name", "gender": "gender",
	"birth_date": "date of birth", "passport_number": "passport number", "tax_pin": "tax PIN",
	"comments": "comments", "status": "status", "owner_id": "owner", "language": "language",
	"timezone": "time zone", "currency": "currency", "preferred_channel": "preferred channel", "tags": "tags",
}

func fieldLabel(f string) string {
	if l, ok := fieldLabels[f]; ok {
		return l
	}
	return strings.ReplaceAll(strings.TrimPrefix(f, "custom_fields."), "_", " ")
}

// describeEvent says in one line what an event changed. It returns plain
// text; the template escapes it.
func describeEvent(ev app.Event) string {
	var p map[string]any
	_ = json.Unmarshal(ev.Payload, &p)
	str := func(k string) string { s, _ := p[k].(string); return s }
	switch ev.Type {
	case app.EventClientCreated:
		return "Created as " + str("status") + "."
	case app.EventStatusChanged:
		return "Status changed from " + str("from") + " to " + str("to") + "."
	case app.EventContactInfoChanged:
		verb := map[string]string{"added": "Added", "removed": "Removed"}[str("action")]
		return fmt.Sprintf("%s %s %s.", verb, app.ContactType(str("type")).Label(), app.DisplayContact(app.ContactType(str("type")), str("value")))
	case app.EventAddressChanged:
		verb := map[string]string{"added": "Added", "removed": "Removed", "made_default": "Made default:"}[str("action")]
		var lines []string
		if ls, ok := p["lines"].([]any); ok {
			for _, l := range ls {
				if s, ok := l.(string); ok {
					lines = append(lines, s)
				}
			}
		}
		return fmt.Sprintf("%s %s address %s.", verb, str("type"), strings.Join(lines, ", "))
	case app.EventNoteAdded:
		return "Added a " + str("type") + " note: " + shorten(str("body"), 140)
	case app.EventNoteEdited:
		if b := str("body"); b != "" {
			return "Edited a note, now: " + shorten(b, 100) + " (was: " + shorten(str("previous_body"), 60) + ")"
		}
		return "Changed a note's type or pin."
	case app.EventNoteDeleted:
		return "Deleted a note: " + shorten(str("previous_body"), 100)
	case app.EventClientMerged:
		return "Merged " + str("merged_name") + " into this client."
	case app.EventClientDeleted:
		return "Deleted."
	case app.EventConsentChanged:
		channel := "all channels"
		if c := str("channel"); c != "" {
			channel = app.Transport(c).Label()
		}
		return fmt.Sprintf("%s consent on %s: %s (%s).", app.ConsentPurpose(str("purpose")).Label(), channel,
			strings.ToLower(app.ConsentState(str("state")).Label()), str("source"))
	case app.EventContactOptOut:
		if optedOut, _ := p["opted_out"].(bool); optedOut {
			return "Replied STOP on " + app.ContactType(str("type")).Label() + ": no more messages there until START."
		}
		return "Replied START on " + app.ContactType(str("type")).Label() + ": messages may go there again."
	case app.EventExportRequested:
		return "A copy of everything held about the client was requested."
	case app.EventExportDownloaded:
		return "The client's data export was downloaded."
	case app.EventClientErasureStarted:
		return "Erasure of the client's personal data was requested; it runs in the background."
	case app.EventPortalLinkRequested:
		return "A sign-in link to the customer portal was asked for."
	case app.EventPortalLinkSent:
		return "The portal sign-in link was sent."
	case app.EventPortalLinkFailed:
		return "The portal sign-in link could not be sent."
	case app.EventPortalSignedIn:
		return "The client signed in to the customer portal."
	case app.EventPortalSignedOut:
		return "The client signed out of the customer portal."
	case app.EventClientErased:
		return "The client's personal data was erased."
	case app.EventLegalHoldChanged:
		if hold, _ := p["legal_hold"].(bool); hold {
			return "Put on legal hold: retention sweeps and erasure leave this client alone."
		}
		return "Legal hold lifted."
	case app.EventProfileUpdated:
		changes, _ := p["changes"].(map[string]any)
		keys := make([]string, 0, len(changes))
		for k := range changes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			pair, _ := changes[k].([]any)
			if len(pair) == 2 && k != "comments" && k != "owner_id" {
				parts = append(parts, fmt.Sprintf("%s from “%v” to “%v”", fieldLabel(k), show(pair[0]), show(pair[1])))
			} else {
				parts = append(parts, fieldLabel(k))
			}
		}
		return "Changed " + strings.Join(parts, ", ") + "."
	}
	return ""
}

func show(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []any:
		var s []string
		for _, e := range x {
			s = append(s, fmt.Sprint(e))
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprint(v)
}

func shorten(s string, n int) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n]) + "…"
}

func customValue(c *app.Client, f app.CustomField) string {
	v, ok := c.CustomValues[f.Key]
	if !ok {
		return ""
	}
	return f.Display(v)
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func itoa(n int) string { return fmt.Sprint(n) }

// ChatLink is the client's conversation as the profile's button shows it:
// ChatID is empty when the user sees no chat of the client.
type ChatLink struct {
	ClientID string
	ChatID   string
	Unread   int
	CanStart bool
}
