package app

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// ContactType is the kind of a client's contact value.
type ContactType string

// Contact types.
const (
	ContactEmail     ContactType = "email"
	ContactPhone     ContactType = "phone"
	ContactTelegram  ContactType = "telegram"
	ContactWhatsApp  ContactType = "whatsapp"
	ContactInstagram ContactType = "instagram"
	ContactOther     ContactType = "other"
	// ContactWebsite is a web chat visitor: a random id the widget keeps in
	// a signed cookie. Parley makes it when a visitor first writes; it is
	// not among ContactTypes, so nobody can type one into a form or the API.
	ContactWebsite ContactType = "website"
)

// ContactTypes lists every contact type in the order forms offer them.
var ContactTypes = []ContactType{ContactEmail, ContactPhone, ContactWhatsApp, ContactTelegram, ContactInstagram, ContactOther}

// Label is the type's name as shown to people.
func (t ContactType) Label() string {
	switch t {
	case ContactEmail:
		return "Email"
	case ContactPhone:
		return "Phone"
	case ContactTelegram:
		return "Telegram"
	case ContactWhatsApp:
		return "WhatsApp"
	case ContactInstagram:
		return "Instagram"
	case ContactOther:
		return "Other"
	case ContactWebsite:
		return "Web chat"
	}
	return string(t)
}

// Contact is one way to reach a client. Its value is stored normalised, so
// that the same phone typed two ways is recognised as one.
type Contact struct {
	ID        string      `json:"id"`
	ClientID  string      `json:"-"`
	Type      ContactType `json:"type"`
	Value     string      `json:"value"`
	Label     string      `json:"label"`
	Verified  bool        `json:"verified"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	// OptedOutAt is set while the client has asked (SMS STOP) for no more
	// messages on this contact.
	OptedOutAt *time.Time `json:"opted_out_at"`
}

// Display is the value formatted for reading (phones in international format).
func (c Contact) Display() string { return DisplayContact(c.Type, c.Value) }

// Href is a link that opens the contact in the right app, or "".
func (c Contact) Href() string { return ContactHref(c.Type, c.Value) }

// ContactInput is a contact as a form or the API gives it.
type ContactInput struct {
	Type     ContactType `json:"type"`
	Value    string      `json:"value"`
	Label    string      `json:"label"`
	Verified bool        `json:"verified"`
}

var (
	handlePattern = regexp.MustCompile(`^[a-z0-9_.]{1,64}$`)
	// visitorIDPattern is the shape of a web chat visitor id.
	visitorIDPattern = regexp.MustCompile(`^[a-z0-9]{16,64}$`)
)

// Normalize checks the input and puts its value in canonical form: emails
// trimmed and lower-cased, phones (and WhatsApp numbers) in E.164 using
// defaultCountry for numbers typed without a country code, handles without
// their @. Errors name field+".type" or field+".value".
func (in *ContactInput) Normalize(field, defaultCountry string) error {
	in.Label = strings.TrimSpace(in.Label)
	if utf8.RuneCountInString(in.Label) > 40 || hasControl(in.Label, false) {
		return InvalidField(field+".label", "Must be at most 40 characters, with no control characters.")
	}
	v := strings.TrimSpace(in.Value)
	if v == "" {
		return InvalidField(field+".value", "Enter a value.")
	}
	if utf8.RuneCountInString(v) > 254 || hasControl(v, false) {
		return InvalidField(field+".value", "Must be at most 254 characters, with no control characters.")
	}
	switch in.Type {
	case ContactEmail:
		v = NormalizeEmail(strings.TrimPrefix(strings.ToLower(v), "mailto:"))
		// The validator's email rule (as for team members), and no
		// characters that would change a mailto: link.
		if validate.Var(v, "email") != nil || strings.ContainsAny(v, "?&,;:/\\ ") {
			return InvalidField(field+".value", "Enter a valid email address, like anna@example.com.")
		}
	case ContactPhone, ContactWhatsApp:
		e164, err := NormalizePhone(v, defaultCountry)
		if err != nil {
			return InvalidField(field+".value", err.Error())
		}
		v = e164
	case ContactTelegram, ContactInstagram:
		v = strings.ToLower(strings.TrimPrefix(v, "@"))
		if !handlePattern.MatchString(v) {
			return InvalidField(field+".value", "Enter a user name of letters, digits, dots and underscores.")
		}
	case ContactOther:
	default:
		return InvalidField(field+".type", "Choose a type: email, phone, whatsapp, telegram, instagram or other.")
	}
	in.Value = v
	return nil
}

// phoneError is a phone-number problem worded for the person who typed it.
type phoneError string

func (e phoneError) Error() string { return string(e) }

// NormalizePhone parses s as a phone number, using defaultCountry (ISO 3166
// alpha-2) for numbers without a country code, and returns it in E.164.
func NormalizePhone(s, defaultCountry string) (string, error) {
	num, err := phonenumbers.Parse(s, strings.ToUpper(defaultCountry))
	if err != nil {
		return "", phoneError("Enter a phone number with its country code, like +44 7911 123456.")
	}
	if !phonenumbers.IsPossibleNumber(num) {
		return "", phoneError("This phone number has too few or too many digits.")
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", phoneError("This is not a valid phone number for its country.")
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// e164 is the shape providers give numbers in.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// NormalizeReceived normalises the address a provider says a message came
// from. It is Normalize, except that a number in E.164 form is kept even
// when the phone library thinks it invalid for its country (new ranges,
// test ranges, numbers the library's data lags behind): the person did
// write from it, and refusing it would lose their message.
//
// It also accepts a web chat visitor's contact (ContactWebsite), which
// only this inbound path may carry: the value is the visitor id the
// server made.
func (in *ContactInput) NormalizeReceived(field, defaultCountry string) error {
	if in.Type == ContactWebsite {
		in.Value, in.Label = strings.TrimSpace(in.Value), ""
		if !visitorIDPattern.MatchString(in.Value) {
			return InvalidField(field+".value", "A web chat visitor id is 16 to 64 lower-case letters and digits.")
		}
		return nil
	}
	err := in.Normalize(field, defaultCountry)
	if err == nil || (in.Type != ContactPhone && in.Type != ContactWhatsApp) {
		return err
	}
	v := strings.Join(strings.Fields(in.Value), "")
	if !e164.MatchString(v) {
		return err
	}
	in.Value = v
	return nil
}

// DisplayContact formats a stored contact value for reading.
func DisplayContact(t ContactType, value string) string {
	switch t {
	case ContactPhone, ContactWhatsApp:
		if num, err := phonenumbers.Parse(value, ""); err == nil {
			return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
		}
	case ContactTelegram, ContactInstagram:
		return "@" + value
	case ContactWebsite:
		return "visitor " + ShortVisitorID(value)
	}
	return value
}

// ShortVisitorID is the few characters of a web chat visitor id that the
// team reads ("Website visitor k3f9q2").
func ShortVisitorID(id string) string {
	if len(id) > 6 {
		return id[:6]
	}
	return id
}

// ContactHref returns a link that opens a contact: mailto:, tel:, or the
// messenger's web address. Other contacts have none.
func ContactHref(t ContactType, value string) string {
	switch t {
	case ContactEmail:
		return "mailto:" + value
	case ContactPhone:
		return "tel:" + value
	case ContactWhatsApp:
		return "https://wa.me/" + strings.TrimPrefix(value, "+")
	case ContactTelegram:
		return "https://t.me/" + value
	case ContactInstagram:
		return "https://instagram.com/" + value
	}
	return ""
}

// PhoneSearchKeys returns the digit strings under which a phone number is
// found by search: its E.164 digits, its national form with trunk prefix, and
// every suffix of at least four digits, so that any fragment of the number a
// person remembers ("+4477", "07700", "900123") is a prefix of some key.
func PhoneSearchKeys(e164 string) []string {
	digits := strings.TrimPrefix(e164, "+")
	keys := []string{digits}
	if num, err := phonenumbers.Parse(e164, ""); err == nil {
		national := onlyDigits(phonenumbers.Format(num, phonenumbers.NATIONAL))
		if national != "" && national != digits {
			keys = append(keys, national)
		}
	}
	for i := 1; i+4 <= len(digits); i++ {
		keys = append(keys, digits[i:])
	}
	return keys
}

// onlyDigits returns the ASCII digits of s.
func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// DuplicateContactError says that a contact value already belongs to another
// client. It carries that client so the UI can link it and offer a merge.
type DuplicateContactError struct {
	Field      string
	Type       ContactType
	Value      string
	ClientID   string
	ClientName string
}

func (e *DuplicateContactError) Error() string { return e.domain().Error() }

// Unwrap lets ErrorCode and ErrorMessage see the conflict.
func (e *DuplicateContactError) Unwrap() error { return e.domain() }

func (e *DuplicateContactError) domain() *Error {
	msg := "This " + strings.ToLower(e.Type.Label()) + " already belongs to " + e.ClientName + "."
	return &Error{Code: ECONFLICT, Message: msg, Fields: []FieldError{{Field: e.Field, Message: msg}}, Ref: e.ClientID}
}
