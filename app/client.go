package app

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
)

// ClientStatus is where a client is in its lifecycle.
type ClientStatus string

// Client lifecycle statuses.
const (
	ClientLead     ClientStatus = "lead"
	ClientActive   ClientStatus = "active"
	ClientInactive ClientStatus = "inactive"
	ClientArchived ClientStatus = "archived"
)

// ClientStatuses lists every status in lifecycle order.
var ClientStatuses = []ClientStatus{ClientLead, ClientActive, ClientInactive, ClientArchived}

// clientTransitions says which status may follow which. A client never goes
// back to being a lead: once it was more, that history is what counts.
var clientTransitions = map[ClientStatus][]ClientStatus{
	ClientLead:     {ClientActive, ClientInactive, ClientArchived},
	ClientActive:   {ClientInactive, ClientArchived},
	ClientInactive: {ClientActive, ClientArchived},
	ClientArchived: {ClientActive, ClientInactive},
}

// Label is the status as shown to people.
func (s ClientStatus) Label() string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

// Colour is the badge colour of the status.
func (s ClientStatus) Colour() string {
	switch s {
	case ClientLead:
		return "blue"
	case ClientActive:
		return "green"
	case ClientInactive:
		return "amber"
	}
	return "gray"
}

// Next lists the statuses a client in s may move to.
func (s ClientStatus) Next() []ClientStatus { return clientTransitions[s] }

// CheckTransition returns nil if a client may move from s to to.
func (s ClientStatus) CheckTransition(to ClientStatus) error {
	if !slices.Contains(ClientStatuses, to) {
		return InvalidField("status", "Choose a status: lead, active, inactive or archived.")
	}
	if s != to && !slices.Contains(clientTransitions[s], to) {
		return InvalidField("status", "A client that is "+string(s)+" cannot become "+string(to)+".")
	}
	return nil
}

// Genders a client may have; empty means not given.
var Genders = []string{"female", "male", "other"}

// Preferences are how a client likes to be served.
type Preferences struct {
	Language string `json:"language"` // BCP 47 tag, e.g. en-GB
	Timezone string `json:"timezone"` // IANA name, e.g. Europe/London
	Currency string `json:"currency"` // ISO 4217 code, e.g. EUR
	Channel  string `json:"preferred_channel"`
}

// Client is a person or company a team talks to: the aggregate root that
// every contact, address, note and conversation hangs off.
type Client struct {
	ID             string            `json:"id"`
	FirstName      string            `json:"first_name"`
	MiddleName     string            `json:"middle_name"`
	LastName       string            `json:"last_name"`
	Gender         string            `json:"gender"`
	BirthDate      string            `json:"birth_date"` // YYYY-MM-DD or ""
	PassportNumber string            `json:"passport_number"`
	TaxPIN         string            `json:"tax_pin"`
	Comments       string            `json:"comments"`
	Status         ClientStatus      `json:"status"`
	OwnerID        string            `json:"owner_id"`
	OwnerName      string            `json:"owner_name"`
	Tags           []string          `json:"tags"`
	Preferences    Preferences       `json:"preferences"`
	CustomValues   map[string]string `json:"custom_fields"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	LastActivityAt time.Time         `json:"last_activity_at"`
}

// Name is the client's full name.
func (c *Client) Name() string {
	return strings.Join(nonEmpty(c.FirstName, c.MiddleName, c.LastName), " ")
}

// Initials returns up to two letters for an avatar.
func (c *Client) Initials() string {
	out := []rune(strings.ToUpper(c.FirstName))[:min(1, len(c.FirstName))]
	if c.LastName != "" {
		out = append(out, []rune(strings.ToUpper(c.LastName))[0])
	}
	return string(out)
}

// ClientProfile is a client with everything the profile page shows.
type ClientProfile struct {
	Client       *Client
	Contacts     []Contact
	Addresses    []Address
	Notes        []Note // pinned first, then newest first
	CustomFields []CustomField
	// MergedIDs are the clients merged into this one.
	MergedIDs []string
}

// completenessChecks are the core fields whose share makes up a profile's
// completeness score, each with what to tell the team when it is missing.
var completenessChecks = []struct {
	missing string
	filled  func(p *ClientProfile) bool
}{
	{"last name", func(p *ClientProfile) bool { return p.Client.LastName != "" }},
	{"gender", func(p *ClientProfile) bool { return p.Client.Gender != "" }},
	{"date of birth", func(p *ClientProfile) bool { return p.Client.BirthDate != "" }},
	{"email", func(p *ClientProfile) bool { return p.hasContact(ContactEmail) }},
	{"phone", func(p *ClientProfile) bool { return p.hasContact(ContactPhone) || p.hasContact(ContactWhatsApp) }},
	{"address", func(p *ClientProfile) bool { return len(p.Addresses) > 0 }},
	{"owner", func(p *ClientProfile) bool { return p.Client.OwnerID != "" }},
	{"language", func(p *ClientProfile) bool { return p.Client.Preferences.Language != "" }},
	{"preferred channel", func(p *ClientProfile) bool { return p.Client.Preferences.Channel != "" }},
}

func (p *ClientProfile) hasContact(t ContactType) bool {
	return slices.ContainsFunc(p.Contacts, func(c Contact) bool { return c.Type == t })
}

// Completeness returns the share of core fields filled, in percent (the
// first name, always there, counts too), and the names of those missing.
func (p *ClientProfile) Completeness() (percent int, missing []string) {
	filled := 1
	for _, c := range completenessChecks {
		if c.filled(p) {
			filled++
		} else {
			missing = append(missing, c.missing)
		}
	}
	return filled * 100 / (len(completenessChecks) + 1), missing
}

// ClientInput is a new client as a form or the API gives it.
type ClientInput struct {
	FirstName      string            `json:"first_name"`
	MiddleName     string            `json:"middle_name"`
	LastName       string            `json:"last_name"`
	Gender         string            `json:"gender"`
	BirthDate      string            `json:"birth_date"`
	PassportNumber string            `json:"passport_number"`
	TaxPIN         string            `json:"tax_pin"`
	Comments       string            `json:"comments"`
	Status         ClientStatus      `json:"status"`
	OwnerID        string            `json:"owner_id"`
	Tags           []string          `json:"tags"`
	Preferences    Preferences       `json:"preferences"`
	CustomFields   map[string]string `json:"custom_fields"`
	Contacts       []ContactInput    `json:"contacts"`
	Addresses      []AddressInput    `json:"addresses"`
}

// Update returns the input as an update that sets every profile field, so
// creating and editing share one set of rules.
func (in *ClientInput) Update() ClientUpdate {
	return ClientUpdate{FirstName: &in.FirstName, MiddleName: &in.MiddleName, LastName: &in.LastName,
		Gender: &in.Gender, BirthDate: &in.BirthDate, PassportNumber: &in.PassportNumber, TaxPIN: &in.TaxPIN,
		Comments: &in.Comments, OwnerID: &in.OwnerID, Tags: &in.Tags, CustomFields: in.CustomFields,
		Preferences: PreferencesUpdate{Language: &in.Preferences.Language, Timezone: &in.Preferences.Timezone,
			Currency: &in.Preferences.Currency, Channel: &in.Preferences.Channel}}
}

// PreferencesUpdate changes a client's preferences; nil fields are left alone.
type PreferencesUpdate struct {
	Language *string `json:"language"`
	Timezone *string `json:"timezone"`
	Currency *string `json:"currency"`
	Channel  *string `json:"preferred_channel"`
}

// ClientUpdate changes a client's profile; nil fields are left alone. A
// custom field set to "" is cleared. Status moves the client along its
// lifecycle, refused where the lifecycle does not allow it.
type ClientUpdate struct {
	Status         *ClientStatus     `json:"status"`
	FirstName      *string           `json:"first_name"`
	MiddleName     *string           `json:"middle_name"`
	LastName       *string           `json:"last_name"`
	Gender         *string           `json:"gender"`
	BirthDate      *string           `json:"birth_date"`
	PassportNumber *string           `json:"passport_number"`
	TaxPIN         *string           `json:"tax_pin"`
	Comments       *string           `json:"comments"`
	OwnerID        *string           `json:"owner_id"`
	Tags           *[]string         `json:"tags"`
	Preferences    PreferencesUpdate `json:"preferences"`
	CustomFields   map[string]string `json:"custom_fields"`
}

// Apply checks the update and writes it onto c, returning the names of the
// fields that changed. Owner and custom fields need the database and are
// checked by the caller; Apply only normalises them. now bounds the birth date.
func (u ClientUpdate) Apply(c *Client, now time.Time) (changed []string, err error) {
	e := &Error{Code: EINVALID, Message: "Please correct the highlighted fields."}
	fail := func(field, msg string) { e.Fields = append(e.Fields, FieldError{Field: field, Message: msg}) }
	set := func(field string, dst *string, v *string, maxLen int) {
		if v == nil {
			return
		}
		s := strings.TrimSpace(*v)
		if utf8.RuneCountInString(s) > maxLen {
			fail(field, "Must be at most "+strconv.Itoa(maxLen)+" characters.")
		} else if hasControl(s, field == "comments") {
			fail(field, "Remove the control characters.")
		}
		if *dst != s {
			*dst = s
			changed = append(changed, field)
		}
	}
	set("first_name", &c.FirstName, u.FirstName, 100)
	set("middle_name", &c.MiddleName, u.MiddleName, 100)
	set("last_name", &c.LastName, u.LastName, 100)
	if u.Gender != nil {
		g := strings.ToLower(strings.TrimSpace(*u.Gender))
		u.Gender = &g
	}
	set("gender", &c.Gender, u.Gender, 10)
	set("birth_date", &c.BirthDate, u.BirthDate, 10)
	set("passport_number", &c.PassportNumber, u.PassportNumber, 50)
	set("tax_pin", &c.TaxPIN, u.TaxPIN, 50)
	set("comments", &c.Comments, u.Comments, 5000)
	set("owner_id", &c.OwnerID, u.OwnerID, 40)
	set("language", &c.Preferences.Language, u.Preferences.Language, 35)
	set("timezone", &c.Preferences.Timezone, u.Preferences.Timezone, 64)
	set("currency", &c.Preferences.Currency, u.Preferences.Currency, 3)
	set("preferred_channel", &c.Preferences.Channel, u.Preferences.Channel, 20)
	if u.Status != nil && *u.Status != c.Status {
		if err := c.Status.CheckTransition(*u.Status); err != nil {
			fail("status", ErrorMessage(err))
		} else {
			c.Status = *u.Status
			changed = append(changed, "status")
		}
	}
	if c.FirstName == "" {
		fail("first_name", "Enter a first name.")
	}
	if c.Gender != "" && !slices.Contains(Genders, c.Gender) {
		fail("gender", "Choose female, male or other, or leave it empty.")
	}
	if c.BirthDate != "" {
		if d, perr := time.Parse(time.DateOnly, c.BirthDate); perr != nil {
			fail("birth_date", "Enter a date as YYYY-MM-DD.")
		} else if d.After(now) || d.Year() < 1900 {
			fail("birth_date", "Enter a date of birth between 1900 and today.")
		}
	}
	if msg := normalizePreferences(&c.Preferences); msg != nil {
		fail(msg.Field, msg.Message)
	}
	if u.Tags != nil {
		tags, msg := normalizeTags(*u.Tags)
		if msg != "" {
			fail("tags", msg)
		}
		if !slices.Equal(tags, c.Tags) {
			c.Tags = tags
			changed = append(changed, "tags")
		}
	}
	if err := e.OrNil(); err != nil {
		return nil, err
	}
	return changed, nil
}

// normalizePreferences puts each preference in canonical form, or names the bad one.
func normalizePreferences(p *Preferences) *FieldError {
	if p.Language != "" {
		tag, err := language.Parse(p.Language)
		if err != nil {
			return &FieldError{"language", "Use a language tag like en, en-GB or de."}
		}
		p.Language = tag.String()
	}
	if p.Timezone != "" {
		if _, err := time.LoadLocation(p.Timezone); err != nil || p.Timezone == "Local" {
			return &FieldError{"timezone", "Use a time zone name like Europe/London."}
		}
	}
	if p.Currency != "" {
		cur, err := currency.ParseISO(strings.ToUpper(p.Currency))
		if err != nil {
			return &FieldError{"currency", "Use a three-letter currency code like EUR or USD."}
		}
		p.Currency = cur.String()
	}
	if p.Channel != "" && !slices.Contains(Transports, Transport(p.Channel)) {
		return &FieldError{"preferred_channel", "Choose one of: email, sms, whatsapp, telegram, instagram, website, phone."}
	}
	return nil
}

// MaxTags is how many tags a client can have.
const MaxTags = 20

// normalizeTags trims, lower-cases, de-duplicates and sorts tags.
func normalizeTags(in []string) ([]string, string) {
	out := []string{}
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "#")))
		if t == "" || slices.Contains(out, t) {
			continue
		}
		if utf8.RuneCountInString(t) > 40 || hasControl(t, false) {
			return nil, "A tag is at most 40 characters, with no control characters."
		}
		out = append(out, t)
	}
	if len(out) > MaxTags {
		return nil, "A client can have at most " + strconv.Itoa(MaxTags) + " tags."
	}
	slices.Sort(out)
	return out, ""
}

// SplitTags splits a comma-separated list of tags as typed in a form.
func SplitTags(s string) []string { return strings.Split(s, ",") }

// ClientSort orders the client list.
type ClientSort string

// Client list orders. The zero value is by name, except that a search
// lists the newest matches first.
const (
	SortName     ClientSort = "name"     // A to Z
	SortCreated  ClientSort = "created"  // newest first
	SortActivity ClientSort = "activity" // most recently active first
)

// ClientFilter selects clients for the list and the API. Cursor is opaque:
// the Next of the previous page.
type ClientFilter struct {
	Query       string
	Status      *ClientStatus
	OwnerID     *string
	Tag         *string
	CreatedFrom *time.Time
	CreatedTo   *time.Time
	Sort        ClientSort
	Cursor      string
	Limit       int
}

// ClientHit is one client of a list, with what the search matched. Marked
// strings carry the match between MarkStart and MarkEnd.
type ClientHit struct {
	Client   *Client
	Contacts []Contact
	// NameMarked is the name with the matched words marked, or "".
	NameMarked string
	// Snippet is a marked excerpt of a matching note, or "".
	Snippet string
}

// Marks around the matched part of a search result's text.
const (
	MarkStart = "\x02"
	MarkEnd   = "\x03"
)

// ClientPage is one page of a client list; Next is "" on the last page.
type ClientPage struct {
	Hits []ClientHit
	Next string
}

// DuplicateQuery describes a client about to be saved, to find likely
// duplicates of it. Emails and phones are normalised contact values.
type DuplicateQuery struct {
	ExcludeID string
	FirstName string
	LastName  string
	BirthDate string
	Contacts  []ContactInput
}

// Duplicate is an existing client that looks like the one being saved.
type Duplicate struct {
	Client *Client
	Reason string
	// SameContact is set when the client has one of the contacts with the
	// same type: saving it would be refused, not just questioned.
	SameContact bool
}

// MergeFields are the profile fields a merge lets the user take from the
// other client instead of the survivor.
var MergeFields = []string{"first_name", "middle_name", "last_name", "gender", "birth_date",
	"passport_number", "tax_pin", "comments", "status", "owner_id", "language", "timezone",
	"currency", "preferred_channel"}

// MergeInput says which client's value to keep per field: field names in
// TakeOther take the other client's value; every other field keeps the
// survivor's (or the other's when the survivor has none).
type MergeInput struct {
	OtherID   string   `json:"other_id"`
	TakeOther []string `json:"take_other"`
}

// TimelineFilter selects a client's events. Before is the id of the last
// event of the previous page.
type TimelineFilter struct {
	Type   string
	Before string
	Limit  int
}

// Client event types.
const (
	EventClientCreated      = "ClientCreated"
	EventProfileUpdated     = "ProfileUpdated"
	EventStatusChanged      = "StatusChanged"
	EventContactInfoChanged = "ContactInfoChanged"
	EventAddressChanged     = "AddressChanged"
	EventNoteAdded          = "NoteAdded"
	EventNoteEdited         = "NoteEdited"
	EventNoteDeleted        = "NoteDeleted"
	EventClientDeleted      = "ClientDeleted"
	EventClientMerged       = "ClientMerged"
	EventCustomFieldDefined = "CustomFieldDefined"
	EventCustomFieldRemoved = "CustomFieldRemoved"
	EventSettingsChanged    = "WorkspaceSettingsChanged"
)

// ClientEventTypes lists the event types a client's timeline can show.
var ClientEventTypes = []string{EventClientCreated, EventProfileUpdated, EventStatusChanged,
	EventContactInfoChanged, EventAddressChanged, EventNoteAdded, EventNoteEdited, EventNoteDeleted,
	EventClientMerged, EventClientDeleted, EventPortalSignedIn}

// WorkspaceSettings are a workspace's own settings, kept in its file.
type WorkspaceSettings struct {
	// DefaultCountry (ISO 3166 alpha-2) reads phone numbers typed without
	// a country code.
	DefaultCountry string
}

// hasControl reports whether s holds control characters (which include the
// search marks MarkStart and MarkEnd); multiline text may hold line breaks
// and tabs.
func hasControl(s string, multiline bool) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t'))
	})
}
